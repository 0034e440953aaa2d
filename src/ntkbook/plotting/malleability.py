"""Chapter 4's figures: influence flip rate against the attack budget ε, and poisoning success against the
fraction of training points poisoned. Each function returns a `matplotlib.figure.Figure`."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ntkbook.plotting import use_book_style

ARCH_LABELS = {"relu": "2L-ReLU", "attn": "MLP-Attn"}
PROTOCOL_TITLES = {"a": "(a) same weights, NTK on the perturbed data", "b": "(b) retrained from the same init"}
_MARKERS = {"relu": "o", "attn": "s"}


def flip_rate_vs_eps(sweep: pd.DataFrame, *, task_labels: dict | None = None) -> plt.Figure:
    """Flip rate (%) of the top-τ influences against ε, one panel per protocol, a line per (task, model), with the
    95 % interval over seeds as error bars. `sweep`: columns task, arch, protocol, eps, mean, ci
    (`ntkbook.experiments.malleability.eps_sweep_frame`); tasks with a single ε are left out."""
    use_book_style()
    task_labels = task_labels or {}
    multi = sweep.groupby("task").eps.nunique()
    data = sweep[sweep.task.isin(multi[multi > 1].index)]
    if data.empty:
        raise ValueError("the sweep holds no task with more than one ε; nothing to plot")
    protocols = [p for p in ("a", "b") if p in set(data.protocol)]
    fig, axes = plt.subplots(1, len(protocols), figsize=(5.2 * len(protocols), 3.8), sharey=True, squeeze=False)
    for ax, protocol in zip(axes[0], protocols, strict=True):
        for (task, arch), g in data[data.protocol == protocol].groupby(["task", "arch"], sort=False):
            g = g.sort_values("eps")
            ci = np.nan_to_num(g.ci.to_numpy(), nan=0.0)
            ax.errorbar(g.eps, 100 * g["mean"], yerr=100 * ci, marker=_MARKERS.get(arch, "o"), capsize=3,
                        label=f"{ARCH_LABELS.get(arch, arch)}, {task_labels.get(task, task)}")
        ax.set_title(PROTOCOL_TITLES[protocol], fontsize=10)
        ax.set_xlabel("ℓ∞ budget ε (pixel scale, images in [0, 1])")
        ax.set_xticks(sorted(data.eps.unique()))
    axes[0, 0].set_ylabel("influence flip rate, top 10 % (%)")
    axes[0, -1].legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def poisoning_success(poison: pd.DataFrame, *, task_labels: dict | None = None) -> plt.Figure:
    """Poisoning success rate (%) against the fraction of training points poisoned, one panel per protocol, a line
    per (task, model); error bars: 95 % t-interval over seeds of the per-seed success rates. `poison`: the rows of
    `ntkbook.experiments.malleability.run_poisoning`."""
    from ntkbook.experiments.malleability import mean_ci

    use_book_style()
    task_labels = task_labels or {}
    per_seed = poison.groupby(["task", "arch", "seed", "fraction"], as_index=False)[["success_a", "success_b"]].mean()
    fig, axes = plt.subplots(1, 2, figsize=(10.4, 3.8), sharey=True)
    for ax, protocol in zip(axes, ("a", "b"), strict=True):
        for (task, arch), g in per_seed.groupby(["task", "arch"], sort=False):
            stats = [(frac, *mean_ci(h[f"success_{protocol}"])[:2]) for frac, h in g.groupby("fraction")]
            frac, mean, ci = (np.array(v, dtype=float) for v in zip(*stats, strict=True))
            ax.errorbar(100 * frac, 100 * mean, yerr=100 * np.nan_to_num(ci, nan=0.0), marker=_MARKERS.get(arch, "o"),
                        capsize=3, label=f"{ARCH_LABELS.get(arch, arch)}, {task_labels.get(task, task)}")
        ax.set_title(PROTOCOL_TITLES[protocol], fontsize=10)
        ax.set_xlabel("training points poisoned (% of the training set)")
        ax.set_ylim(-5, 105)
    axes[0].set_ylabel("targets misclassified after poisoning (%)")
    axes[-1].legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig
