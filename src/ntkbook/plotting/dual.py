"""Chapter 5's figures: power on aligned targets, widths needed by the attention variants, power against fragility.

Every function takes the chapter's tidy frames (`ntkbook.experiments.dual`) or the report's summaries
(`ntkbook.report.dual`) and returns a matplotlib Figure at most `ntkbook.plotting.COLUMN_INCHES` wide, in the book
style's font sizes (so its text reads at >= 9 pt where the book shows it), with one legend below the panels.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd

from ntkbook.labels import DATASET_LABELS
from ntkbook.plotting import COLUMN_INCHES

KERNEL_STYLE = {"linear": ("linear kernel", "tab:gray", "o"), "G3": ("$G^3$", "tab:blue", "s"),
                "attn-ntk": ("MLP-Attn NTK", "tab:orange", "^"), "relu-ntk": ("2L-ReLU NTK", "tab:green", "v"),
                "pca-linear": ("PCA-truncated linear", "tab:purple", "D")}


def _below(fig, rows: int) -> float:
    """The fraction of the figure's height a legend of `rows` rows takes below the panels (about 0.21 in a row)."""
    return min(0.5, (0.12 + 0.21 * rows) / fig.get_figheight())


def _legend_below(fig, ax, ncol: int = 2, rows: int = 1) -> None:
    """One legend for the figure from `ax`'s lines, centred below the panels (`rows` of entries reserved)."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=ncol, frameon=False)
    fig.tight_layout(rect=(0, _below(fig, rows), 1, 1))


def _band(ax, x, g, label, color, marker):
    ax.plot(x, g["error"], marker=marker, color=color, label=label)
    ax.fill_between(x, g["error_low"].clip(lower=1e-6), g["error_high"], color=color, alpha=0.15, linewidth=0)


def power_by_mode(power: pd.DataFrame, noise: float, n: int) -> plt.Figure:
    """Test error (unexplained energy) against the eigen-index j of the target, one panel per data set, one line
    per kernel (ridges chosen by leave-one-out, label noise `noise`); mean over seeds with its min–max band.
    power: `power_unit` rows (target "mode")."""
    sub = power[(power["target"] == "mode") & (power["ridge_rule"] == "loo") & np.isclose(power["noise"], noise)
                & (power["n"] == n)]
    datasets = list(dict.fromkeys(sub["dataset"]))
    fig, axes = plt.subplots(1, len(datasets), figsize=(COLUMN_INCHES, 3.9), squeeze=False, sharey=True)
    for ax, ds in zip(axes[0], datasets, strict=True):
        for kernel, (label, color, marker) in KERNEL_STYLE.items():
            g = sub[(sub["dataset"] == ds) & (sub["kernel"] == kernel)].groupby("mode")["error"]
            stats = pd.DataFrame({"error": g.mean(), "error_low": g.min(), "error_high": g.max()})
            _band(ax, stats.index, stats, label, color, marker)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.axhline(1.0, color="black", linewidth=0.8, linestyle=":")
        ax.set_title(DATASET_LABELS.get(ds, ds))
        ax.set_xlabel("eigenvector j of G (1 = top)")
    axes[0, 0].set_ylabel("test error (unexplained energy)")
    _legend_below(fig, axes[0, 0], ncol=2, rows=3)
    return fig


def power_by_n(summary: pd.DataFrame, noise: float) -> plt.Figure:
    """Test error against the training size n, aligned (solid) and unaligned (dashed) targets, per kernel, at label
    noise `noise`; one panel per data set. summary: `report.dual.power_summary` (mean and 95% interval over
    seeds)."""
    summary = summary[np.isclose(summary["noise"], noise)]
    datasets = list(dict.fromkeys(summary["dataset"]))
    fig, axes = plt.subplots(1, len(datasets), figsize=(COLUMN_INCHES, 4.2), squeeze=False, sharey=True)
    for ax, ds in zip(axes[0], datasets, strict=True):
        for kernel, (label, color, marker) in KERNEL_STYLE.items():
            for cls, style in (("aligned", "-"), ("unaligned", "--")):
                g = summary[(summary["dataset"] == ds) & (summary["kernel"] == kernel) & (summary["class"] == cls)]
                g = g.sort_values("n")
                ax.errorbar(g["n"], g["error"], yerr=[g["error"] - g["error_low"].clip(lower=1e-6),
                                                      g["error_high"] - g["error"]],
                            color=color, marker=marker, linestyle=style, capsize=2,
                            label=f"{label}, {cls}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ns = sorted(summary.loc[summary["dataset"] == ds, "n"].unique())
        ax.set_xticks(ns, [f"{n:g}" for n in ns])  # the sizes run, as plain numbers (no crowded 3x10^2 labels)
        ax.xaxis.set_minor_formatter(mticker.NullFormatter())
        ax.set_title(DATASET_LABELS.get(ds, ds))
        ax.set_xlabel("training points n")
    axes[0, 0].set_ylabel("test error (unexplained energy)")
    _legend_below(fig, axes[0, 0], ncol=2, rows=5)
    return fig


def width_needed(widths: pd.DataFrame, label) -> plt.Figure:
    """log10 m* (the width where the NTK's error reaches lambda_min of its limit) per model, one dot per seed and
    the mean; one panel per data set. widths: `report.dual.width_needed`; label: model name -> reader's label."""
    datasets = list(dict.fromkeys(widths["dataset"]))
    models = list(dict.fromkeys(widths["model"]))
    fig, axes = plt.subplots(len(datasets), 1, figsize=(COLUMN_INCHES, len(datasets) * (0.3 * len(models) + 1.1)),
                             squeeze=False, sharex=True)
    for ax, ds in zip(axes[:, 0], datasets, strict=True):
        sub = widths[widths["dataset"] == ds]
        for i, model in enumerate(models):
            v = sub[sub["model"] == model]["log10_m_star"]
            ax.scatter(v, np.full(len(v), i), color="tab:blue", alpha=0.5, s=18)
            if len(v):
                ax.scatter([v.mean()], [i], color="black", marker="|", s=200)
        ax.set_yticks(range(len(models)), [label(m) for m in models])
        ax.invert_yaxis()
        ax.set_title(DATASET_LABELS.get(ds, ds))
    axes[-1, 0].set_xlabel("log$_{10}$ of the width needed, $m^*$")
    fig.tight_layout()
    return fig


def power_vs_fragility(summary: pd.DataFrame, label) -> plt.Figure:
    """Error on aligned targets (lower = more power) against the influence flip rate (higher = more fragile), one
    point per model variant with its 95% intervals; hollow markers: the model did not learn (not evaluable).
    summary: `report.dual.variant_summary`; label: model name -> reader's label."""
    datasets = list(dict.fromkeys(summary["dataset"]))
    n_models = summary["model"].nunique()
    fig, axes = plt.subplots(len(datasets), 1, figsize=(COLUMN_INCHES, 2.9 * len(datasets) + 0.21 * ((n_models + 1) // 2) + 0.3),
                             squeeze=False)
    colors = plt.get_cmap("tab10")
    for ax, ds in zip(axes[:, 0], datasets, strict=True):
        sub = summary[summary["dataset"] == ds].reset_index(drop=True)
        for i, r in sub.iterrows():
            c = colors(i % 10)
            ax.errorbar(r["flip_rate"], r["aligned_error"],
                        xerr=[[r["flip_rate"] - r["flip_rate_low"]], [r["flip_rate_high"] - r["flip_rate"]]],
                        yerr=[[max(r["aligned_error"] - r["aligned_error_low"], 0)],
                              [r["aligned_error_high"] - r["aligned_error"]]],
                        fmt="o", color=c, mfc=c if r["evaluable"] else "white", capsize=2,
                        label=label(r["model"]) + ("" if r["evaluable"] else " (did not learn)"))
        ax.set_yscale("log")
        ax.set_xlabel("influence flip rate (fragility)")
        ax.set_ylabel("aligned-target error")
        ax.set_title(DATASET_LABELS.get(ds, ds))
    handles: dict = {}
    for ax in axes[:, 0]:  # every model once, hollow where it did not learn on some data set
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(lab, h)
    fig.legend(list(handles.values()), list(handles), loc="lower center", ncol=2, frameon=False)
    fig.tight_layout(rect=(0, _below(fig, (len(handles) + 1) // 2), 1, 1))
    return fig


def function_distance(function: pd.DataFrame, label) -> plt.Figure:
    """Relative function-space distance ||f_m - f_NTK|| / ||f_NTK|| against the width, one line per model (mean
    over seeds, band from the smallest to the largest seed), one panel per data set. function: `function_unit`
    rows; label: model name -> reader's label."""
    datasets = list(dict.fromkeys(function["dataset"]))
    fig, axes = plt.subplots(1, len(datasets), figsize=(COLUMN_INCHES, 3.6), squeeze=False)
    colors = plt.get_cmap("tab10")
    for ax, ds in zip(axes[0], datasets, strict=True):
        sub = function[function["dataset"] == ds]
        for i, model in enumerate(dict.fromkeys(sub["model"])):
            g = sub[sub["model"] == model].groupby("width")["dist_rel"]
            ax.plot(g.mean().index, g.mean(), marker="o", color=colors(i), label=label(model))
            ax.fill_between(g.mean().index, g.min(), g.max(), color=colors(i), alpha=0.15, linewidth=0)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("width m")
        ax.set_title(DATASET_LABELS.get(ds, ds))
    axes[0, 0].set_ylabel(r"$\|f_m - f_{\mathrm{NTK}}\| / \|f_{\mathrm{NTK}}\|$")
    _legend_below(fig, axes[0, 0], ncol=2, rows=max(1, (sub["model"].nunique() + 1) // 2))
    return fig
