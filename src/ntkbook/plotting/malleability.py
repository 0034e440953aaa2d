"""Chapter 4's figures: the specification curve of the MLP-Attn / 2L-ReLU flip-rate ratio, and poisoning success
against the fraction of training points poisoned. Each function returns a `matplotlib.figure.Figure`."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter

from ntkbook.models import MODEL_LABELS
from ntkbook.notebook import STATUS_COLOURS
from ntkbook.plotting import use_book_style

PROTOCOL_TITLES = {"a": "(a) same weights", "b": "(b) retrained from the same init"}
_MARKERS = {"relu": "o", "attn": "s"}


def specification_curve(cur: pd.DataFrame, *, claimed: tuple[float, float] | None = None, choices=None,
                        choice_labels: dict | None = None, value_labels: dict | None = None,
                        title: str | None = None) -> plt.Figure:
    """The specification curve (Simonsohn, Simmons & Nelson): one column per configuration, sorted by ratio.

    Top: the MLP-Attn / 2L-ReLU ratio of mean flip rates with its 95 % interval, on a log axis (a ratio is
    positive), coloured by status, the claimed range shaded, 1× dashed; the paper's literal reading marked ◆;
    not-evaluable configurations as grey crosses on the lower edge; an infinite ratio (2L-ReLU never flips) as a
    triangle at the upper edge, a zero ratio (MLP-Attn never flips) at the lower edge. Bottom: one row per choice, a dot at the value
    each configuration uses. `cur`: `ntkbook.report.malleability.curve` (columns ratio, ratio_low, ratio_high,
    evaluable, status, literal and the choices).
    """
    use_book_style()
    if cur.empty:
        raise ValueError("the curve holds no configuration; nothing to plot")
    choices = [c for c in (choices or []) if cur[c].nunique() > 1] or [c for c in cur.columns[:0]]
    choice_labels, value_labels = choice_labels or {}, value_labels or {}
    rows = sum(cur[c].nunique() for c in choices)
    fig, (ax, bx) = plt.subplots(2, 1, figsize=(max(6.0, 0.22 * len(cur) + 2.5), 3.6 + 0.22 * rows), sharex=True,
                                 gridspec_kw={"height_ratios": [3.0, max(1.0, 0.3 * rows)]})
    x = np.arange(len(cur))
    ev = cur.evaluable.to_numpy(bool)
    finite = cur.ratio.where(ev & np.isfinite(cur.ratio) & (cur.ratio > 0))
    positive = np.concatenate([finite.dropna().to_numpy(), cur.ratio_low[ev].to_numpy(),
                               cur.ratio_high[ev].replace(np.inf, np.nan).to_numpy()])
    positive = positive[np.isfinite(positive) & (positive > 0)]
    lo_axis = min([*positive, claimed[0] if claimed else 1.0, 1.0]) / 1.6 if len(positive) else 0.1
    hi_axis = max([*positive, claimed[1] if claimed else 1.0, 1.0]) * 1.6 if len(positive) else 10.0
    if claimed:
        ax.axhspan(claimed[0], claimed[1], color="#c9ecd3", alpha=0.6, label=f"paper: {claimed[0]:g}–{claimed[1]:g}×")
    ax.axhline(1.0, color="0.4", ls="--", lw=0.8)
    for i, (_, r) in enumerate(cur.iterrows()):
        if r.evaluable and r.ratio == math.inf:  # 2L-ReLU never flips: an arrow at the top, interval from its low end
            colour = STATUS_COLOURS.get(r.status, ("k",))[0]
            ax.vlines(i, max(r.ratio_low, lo_axis), hi_axis, color=colour, lw=1.2)
            ax.plot(i, hi_axis / 1.15, marker="^", color=colour, ms=6)
            continue
        if r.evaluable and r.ratio == 0:  # MLP-Attn never flips: an arrow at the bottom
            colour = STATUS_COLOURS.get(r.status, ("k",))[0]
            ax.vlines(i, lo_axis, min(r.ratio_high, hi_axis), color=colour, lw=1.2)
            ax.plot(i, lo_axis * 1.15, marker="v", color=colour, ms=6)
            continue
        if not r.evaluable or not math.isfinite(r.ratio):
            ax.plot(i, lo_axis * 1.15, marker="x", color="0.55", ms=5)
            continue
        colour = STATUS_COLOURS[r.status][0] if r.status in STATUS_COLOURS else "k"
        low = max(r.ratio_low, lo_axis)
        high = min(r.ratio_high, hi_axis) if math.isfinite(r.ratio_high) else hi_axis
        ax.vlines(i, low, high, color=colour, lw=1.2)
        ax.plot(i, r.ratio, marker="D" if r.literal else "o", color=colour, ms=7 if r.literal else 4,
                mec="k" if r.literal else colour)
    ax.set_yscale("log")
    ax.set_ylim(lo_axis, hi_axis)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}×"))
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
    ax.set_ylabel("flip-rate ratio MLP-Attn / 2L-ReLU")
    if title:
        ax.set_title(title, fontsize=10)
    handles = [plt.Line2D([], [], color=STATUS_COLOURS[s][0], marker="o", ls="", label=s)
               for s in STATUS_COLOURS if s in set(cur.status) and s != "not evaluable"]
    handles.append(plt.Line2D([], [], color="k", marker="D", ls="", label="literal reading"))
    if (~ev).any():
        handles.append(plt.Line2D([], [], color="0.55", marker="x", ls="", label="not evaluable"))
    ax.legend(handles=handles, fontsize=7, loc="upper left", ncol=2)
    ticks, labels, y = [], [], 0
    for c in choices:
        for v in sorted(cur[c].unique(), key=str):
            used = (cur[c] == v).to_numpy()
            bx.plot(x[used], np.full(used.sum(), y), "s", color="0.2", ms=3.5)
            ticks.append(y)
            labels.append(f"{choice_labels.get(c, c)}: {value_labels.get(v, v)}")
            y -= 1
        y -= 0.5
    bx.set_yticks(ticks, labels, fontsize=7)
    bx.set_ylim(y + 0.5, 0.8)
    bx.set_xticks([])
    bx.set_xlabel("configurations, sorted by ratio (not evaluable at the right)")
    for spine in ("top", "right"):
        bx.spines[spine].set_visible(False)
    fig.tight_layout()
    return fig


def poisoning_success(rates: pd.DataFrame, *, task_labels: dict | None = None) -> plt.Figure:
    """Poisoning success (%) against the fraction of training points poisoned, one panel per protocol, a line per
    (task, model) for the attack and a dotted one for random signs on the same rows; error bars: Wilson 95 %
    intervals over the pooled targets (inside [0, 100]). `rates`: `experiments.malleability.poisoning_rates`."""
    use_book_style()
    task_labels = task_labels or {}
    protocols = [p for p in ("a", "b") if p in set(rates.protocol)]
    if not protocols:
        raise ValueError("no poisoning rates to plot")
    fig, axes = plt.subplots(1, len(protocols), figsize=(5.2 * len(protocols), 3.8), sharey=True, squeeze=False)
    for ax, protocol in zip(axes[0], protocols, strict=True):
        for (task, arch, kind), g in rates[rates.protocol == protocol].groupby(["task", "arch", "perturbation"]):
            g = g.sort_values("fraction")
            err = np.vstack([g.rate - g.low, g.high - g.rate]) * 100
            ax.errorbar(100 * g.fraction, 100 * g.rate, yerr=err, marker=_MARKERS.get(arch, "o"), capsize=3,
                        ls="-" if kind == "pgd" else ":", alpha=1.0 if kind == "pgd" else 0.7,
                        label=f"{MODEL_LABELS.get(arch, arch)}, {task_labels.get(task, task)}, {kind}")
        ax.set_title(PROTOCOL_TITLES[protocol], fontsize=10)
        ax.set_xlabel("training points poisoned (% of the training set)")
        ax.set_ylim(0, 100)
        ax.set_xlim(left=0)
    axes[0, 0].set_ylabel("targets misclassified after poisoning (%)")
    axes[0, -1].legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig
