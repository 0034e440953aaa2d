"""Figures for Chapter 1 (linearized attention is a Gram-induced kernel). Each function returns a Figure.

Inputs are the tidy tables of `ntkbook.kernels` (with a `dataset` column added by the chapter) or matrices.
Figures are at most `ntkbook.plotting.COLUMN_INCHES` wide and use the book style's font sizes, so that their text
reads at >= 9 pt in the book (tests/plotting/test_plotting.py checks every figure).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ntkbook.plotting import COLUMN_INCHES
from ntkbook.stats import loglog_fit

__all__ = [
    "softmax_linearization_figure",
    "gram_heatmaps_figure",
    "feature_angle_figure",
    "sensitivity_ratio_figure",
    "sensitivity_growth_figure",
]



def _palette(names) -> dict:
    """The same colour for the same data set in every figure (colour-blind palette, names sorted)."""
    names = sorted(set(names))
    return dict(zip(names, sns.color_palette("colorblind", len(names)), strict=True))


def _plain_log_ticks(ax) -> None:
    """No labels on minor log ticks (they collide on short decades)."""
    from matplotlib.ticker import NullFormatter

    for axis in (ax.xaxis, ax.yaxis):
        axis.set_minor_formatter(NullFormatter())


def _need(df: pd.DataFrame, cols) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"the table lacks columns {missing}; it has {list(df.columns)}")


def softmax_linearization_figure(df: pd.DataFrame, *, fit_from: float = 10.0):
    """Relative error of the rescaled softmax attention against X X^T X (or G X_c) vs temperature, log-log.

    df: columns dataset, temperature, form, rel_error (experiments.gram_kernel.softmax_linearization_table + dataset). The legend
    gives each line's slope fitted over temperature >= fit_from; a dashed guide shows slope -1.
    """
    _need(df, ["dataset", "temperature", "form", "rel_error"])
    fig, ax = plt.subplots(figsize=(COLUMN_INCHES, 4.2))
    palette = _palette(df.dataset)
    styles = {"normalised": "-", "unnormalised": "--"}
    for (name, form), g in df.groupby(["dataset", "form"]):
        g = g.sort_values("temperature")
        fit = g[g.temperature >= fit_from]
        slope, _ = loglog_fit(fit.temperature, fit.rel_error)
        ax.plot(g.temperature, g.rel_error, styles.get(form, ":"), marker="o", ms=3, color=palette[name],
                label=f"{name}, {form} (slope {slope:.2f})")
    t = np.array([df.temperature.min(), df.temperature.max()])
    ax.plot(t, 0.5 * df.rel_error.max() * (t / t[0]) ** -1.0, color="grey", lw=1, ls=":", label="slope -1 guide")
    ax.set(xscale="log", yscale="log",
           xlabel="temperature $T$ (logits $\\langle x_i, x_k\\rangle / T$, dimensionless)",
           ylabel="relative error vs linear limit\n(Frobenius)")
    ax.legend()
    _plain_log_ticks(ax)
    fig.tight_layout()
    return fig


def gram_heatmaps_figure(mats: dict[str, np.ndarray], labels, *, title: str = ""):
    """Side-by-side heatmaps of kernels (e.g. G and G^3) on class-sorted points, each divided by its largest entry.

    mats: {name: (n, n)}; labels: (n,) class of each row (the rows are sorted by it for display).
    """
    labels = np.asarray(labels)
    order = np.argsort(labels, kind="stable")
    fig, axes = plt.subplots(1, len(mats), figsize=(COLUMN_INCHES, COLUMN_INCHES / len(mats) + 0.6),
                             squeeze=False, layout="constrained")
    bounds = np.flatnonzero(np.diff(labels[order])) + 0.5
    for col, (ax, (name, M)) in enumerate(zip(axes[0], mats.items(), strict=True)):
        M = np.asarray(M, dtype=np.float64)
        if M.shape != (labels.size, labels.size):
            raise ValueError(f"{name} has shape {M.shape}, expected ({labels.size}, {labels.size})")
        im = ax.imshow(M[np.ix_(order, order)] / np.abs(M).max(), cmap="viridis", vmin=0, vmax=1)
        ax.set_title(f"{name} / max")
        for b in bounds:
            ax.axhline(b, color="white", lw=0.4)
            ax.axvline(b, color="white", lw=0.4)
        ax.set_xlabel("example (sorted by class)")
        if col == 0:
            ax.set_ylabel("example (sorted by class)")
        ax.grid(False)
    fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8, label="entry / largest entry")
    if title:
        fig.suptitle(title)
    return fig


def feature_angle_figure(df: pd.DataFrame):
    """Empirical CDF of pairwise angles (degrees, log axis) between the MLP's inputs, per data set and feature.

    df: columns dataset, arch (the features' architecture id, shown by its `ntkbook.labels.model_label`), angle_deg.
    """
    from ntkbook.labels import model_label

    _need(df, ["dataset", "arch", "angle_deg"])
    df = df.assign(features=df["arch"].map(model_label))
    fig, ax = plt.subplots(figsize=(COLUMN_INCHES, 4.0))
    palette = _palette(df.dataset)
    styles = dict(zip(dict.fromkeys(df.features), ["-", "--", ":", "-."], strict=False))
    for (name, feat), g in df.groupby(["dataset", "features"], sort=False):
        a = np.sort(g.angle_deg.to_numpy())
        ax.step(a, np.arange(1, a.size + 1) / a.size, where="post", ls=styles[feat], color=palette[name],
                label=f"{name}: {feat}")
    ax.set(xscale="log", xlabel="angle between two examples' features (degrees, log scale)",
           ylabel="fraction of pairs (empirical CDF)")
    ax.legend(loc="upper left")  # a fixed place: "best" is slow with 10^5+ points
    fig.tight_layout()
    return fig


def sensitivity_ratio_figure(df: pd.DataFrame):
    """|dK| / (||G X x_j||_1 eps) by perturbation kind, reading and data set; the dashed line is the bound (1).

    df: columns dataset, reading, delta, ratio (experiments.gram_kernel.sensitivity_table + dataset).
    """
    _need(df, ["dataset", "reading", "delta", "ratio"])
    readings = list(dict.fromkeys(df.reading))
    palette = _palette(df.dataset)
    fig, axes = plt.subplots(1, len(readings), figsize=(COLUMN_INCHES, 4.0), sharey=True, squeeze=False)
    for ax, reading in zip(axes[0], readings, strict=True):
        sub = df[df.reading == reading]
        np.random.seed(0)  # noqa: NPY002 -- seaborn jitters strip plots with numpy's global generator: same data, same picture
        sns.stripplot(data=sub, x="delta", y="ratio", hue="dataset", dodge=True, size=2.5, alpha=0.6, ax=ax,
                      order=["random", "sign", "gradient"], hue_order=sorted(palette), palette=palette)
        ax.axhline(1.0, color="k", ls="--", lw=1)
        ax.set(yscale="log", title=f"reading: {reading}",
               xlabel="perturbation $\\delta$ ($\\|\\delta\\|_2 = \\varepsilon$)",
               ylabel="|first-order change| / bound\n(dimensionless)" if ax is axes[0, 0] else "")
        ax.legend(loc="lower right")
        _plain_log_ticks(ax)
    fig.tight_layout()
    return fig


def sensitivity_growth_figure(df: pd.DataFrame):
    """Sensitivity against n (log-log): the G^3 bound ||G X x_j||_1 and its worst case, vs a polynomial kernel.

    df: columns dataset, n, g3_bound, g3_worst, poly_bound_max (experiments.gram_kernel.sensitivity_growth_table + dataset);
    means over targets j are plotted, the G^3 bound's fitted slope is in the legend.
    """
    _need(df, ["dataset", "n", "g3_bound", "g3_worst", "poly_bound_max"])
    means = df.groupby(["dataset", "n"], as_index=False)[["g3_bound", "g3_worst", "poly_bound_max"]].mean()
    palette = _palette(means.dataset)
    fig, ax = plt.subplots(figsize=(COLUMN_INCHES, 4.4))
    for name, g in means.groupby("dataset"):
        slope, _ = loglog_fit(g.n, g.g3_bound)
        c = palette[name]
        ax.plot(g.n, g.g3_bound, "-o", ms=3, color=c, label=f"{name}: G$^3$ bound $\\|GXx_j\\|_1$ (slope {slope:.2f})")
        ax.plot(g.n, g.g3_worst, "--", color=c, label=f"{name}: G$^3$ worst change (gradient $\\delta$)")
        ax.plot(g.n, g.poly_bound_max, ":", marker="s", ms=3, color=c, label=f"{name}: $(x^\\top y)^3$ worst change")
    ax.set(xscale="log", yscale="log", xlabel="data-set size n (examples)",
           ylabel="first-order change of K per unit $\\|\\delta\\|_2$")
    _plain_log_ticks(ax)
    # six entries: below the axes, where they hide no data
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=1, frameon=False)
    fig.tight_layout()
    return fig
