"""Chapter 4's figures: the specification curve of the MLP-Attn / 2L-ReLU flip-rate ratio, and poisoning success
against the fraction of training points poisoned. Each function returns a `matplotlib.figure.Figure`.

Both are at most `ntkbook.plotting.COLUMN_INCHES` wide and use the book's font sizes (no smaller overrides), so
their text reads at >= `ntkbook.plotting.MIN_TEXT_PT` as the book shows them (tests/plotting/test_plotting_malleability.py);
more configurations or protocols make a figure taller, never wider. Rates are drawn in [0, 100] %.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter

from ntkbook.models import MODEL_LABELS
from ntkbook.notebook import STATUS_COLOURS
from ntkbook.plotting import COLUMN_INCHES, clipped_yerr, nonnegative, use_book_style

PROTOCOL_TITLES = {"a": "(a) same weights", "b": "(b) retrained from the same init"}
_MARKERS = {"relu": "o", "attn": "s"}


def specification_curve(cur: pd.DataFrame, *, claimed: tuple[float, float] | None = None, choices=None,
                        choice_labels: dict | None = None, value_labels: dict | None = None,
                        title: str | None = None) -> plt.Figure:
    """The specification curve (Simonsohn, Simmons & Nelson): one column per configuration, sorted by ratio.

    Top: the decided MLP-Attn / 2L-ReLU ratio (of flips in excess of the random-sign control) with its 95 %
    interval, on a symmetric log axis (logarithmic beyond ±0.1, linear inside: a ratio of excesses can be zero or
    negative, when an attack flips no more than random signs), coloured by status, the claimed range shaded, 1×
    dashed; the paper's literal reading marked ◆; not-evaluable configurations as grey crosses on the lower edge; an
    infinite ratio as a triangle at the upper edge; an unbounded interval end is drawn to the axis' edge. Bottom:
    one row per choice, a dot at the value each configuration uses. `cur`: `ntkbook.report.malleability.curve` (columns ratio, ratio_low, ratio_high,
    evaluable, status, literal and the choices).
    """
    use_book_style()
    if cur.empty:
        raise ValueError("the curve holds no configuration; nothing to plot")
    choices = [c for c in (choices or []) if cur[c].nunique() > 1] or [c for c in cur.columns[:0]]
    choice_labels, value_labels = choice_labels or {}, value_labels or {}
    rows = sum(cur[c].nunique() for c in choices)
    # column-wide whatever the number of configurations (markers shrink instead); each choice row gets 0.2 in
    fig, (ax, bx) = plt.subplots(2, 1, figsize=(COLUMN_INCHES, 4.2 + 0.2 * rows), sharex=True,
                                 gridspec_kw={"height_ratios": [3.0, max(1.0, 0.3 * rows)]})
    ms = float(np.clip(160.0 / len(cur), 2.0, 6.0))  # marker size (pt) for the column's share of one configuration
    x = np.arange(len(cur))
    ev = cur.evaluable.to_numpy(bool)
    ends = np.concatenate([cur.ratio[ev].to_numpy(), cur.ratio_low[ev].to_numpy(), cur.ratio_high[ev].to_numpy()])
    ends = ends[np.isfinite(ends)]
    top = max([*ends, claimed[1] if claimed else 1.0, 1.0])
    bottom = min([*ends, claimed[0] if claimed else 1.0, 1.0])
    hi_axis = top * 1.6
    lo_axis = bottom / 1.6 if bottom > 0 else bottom * 1.6 - 0.05
    if claimed:
        ax.axhspan(claimed[0], claimed[1], color="#c9ecd3", alpha=0.6, label=f"paper: {claimed[0]:g}–{claimed[1]:g}×")
    ax.axhline(1.0, color="0.4", ls="--", lw=0.8)
    for i, (_, r) in enumerate(cur.iterrows()):
        if r.evaluable and r.ratio == math.inf:  # 2L-ReLU never flips: an arrow at the top, interval from its low end
            colour = STATUS_COLOURS.get(r.status, ("k",))[0]
            ax.vlines(i, max(r.ratio_low, lo_axis), hi_axis, color=colour, lw=1.2)
            ax.plot(i, hi_axis / 1.15, marker="^", color=colour, ms=ms)
            continue
        if not r.evaluable or not math.isfinite(r.ratio):
            ax.plot(i, lo_axis, marker="x", color="0.55", ms=ms, clip_on=False)
            continue
        colour = STATUS_COLOURS[r.status][0] if r.status in STATUS_COLOURS else "k"
        low = max(r.ratio_low, lo_axis) if math.isfinite(r.ratio_low) else lo_axis
        high = min(r.ratio_high, hi_axis) if math.isfinite(r.ratio_high) else hi_axis
        ax.vlines(i, low, high, color=colour, lw=1.2)
        ax.plot(i, r.ratio, marker="D" if r.literal else "o", color=colour, ms=ms + 2 if r.literal else ms,
                mec="k" if r.literal else colour)
    ax.set_yscale("symlog", linthresh=0.1, linscale=0.5)
    ax.set_ylim(lo_axis, hi_axis)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}×"))
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
    ax.set_ylabel("ratio of excess flips\nMLP-Attn / 2L-ReLU")
    handles = [plt.Line2D([], [], color=STATUS_COLOURS[s][0], marker="o", ls="", label=s)
               for s in STATUS_COLOURS if s in set(cur.status) and s != "not evaluable"]
    if cur.literal.any():
        handles.append(plt.Line2D([], [], color="k", marker="D", ls="", label="literal reading"))
    if (~ev).any():
        handles.append(plt.Line2D([], [], color="0.55", marker="x", ls="", label="not evaluable"))
    # above the axes, not on the points: a row of at most three entries fits the column at the book's size
    # (the task's name, when given, is the legend's title: one block above the plot)
    ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.02), ncol=3, frameon=False,
              borderaxespad=0.0, handletextpad=0.3, columnspacing=1.0, title=title, alignment="left")
    ticks, labels, y = [], [], 0
    for c in choices:
        for v in sorted(cur[c].unique(), key=str):
            used = (cur[c] == v).to_numpy()
            bx.plot(x[used], np.full(used.sum(), y), "s", color="0.2", ms=min(ms, 3.5))
            ticks.append(y)
            labels.append(f"{choice_labels.get(c, c)}: {value_labels.get(v, v)}")
            y -= 1
        y -= 0.5
    bx.set_yticks(ticks, labels)
    bx.set_ylim(y + 0.5, 0.8)
    bx.set_xticks([])
    bx.set_xlabel("configurations, sorted by ratio\n(not evaluable at the right)")
    for spine in ("top", "right"):
        bx.spines[spine].set_visible(False)
    fig.tight_layout()
    return fig


def poisoning_success(rates: pd.DataFrame, *, task_labels: dict | None = None) -> plt.Figure:
    """Poisoning success (%) against the fraction of training points poisoned, one panel per protocol (stacked:
    the figure grows taller, not wider), a line per (task, model) for the attack and a dotted one for random signs
    on the same rows; error bars: Wilson 95 % intervals over the pooled targets, clipped to [0, 100] %.
    `rates`: `report.malleability_summary.poisoning_rates` (rate, low, high as fractions)."""
    use_book_style()
    task_labels = task_labels or {}
    protocols = [p for p in ("a", "b") if p in set(rates.protocol)]
    if not protocols:
        raise ValueError("no poisoning rates to plot")
    fig, axes = plt.subplots(len(protocols), 1, figsize=(COLUMN_INCHES, 3.0 * len(protocols) + 0.8), sharex=True,
                             squeeze=False)
    axes = axes[:, 0]
    for ax, protocol in zip(axes, protocols, strict=True):
        for (task, arch, kind), g in rates[rates.protocol == protocol].groupby(["task", "arch", "perturbation"]):
            g = g.sort_values("fraction")
            rate = 100 * g.rate.to_numpy(float)
            err = clipped_yerr(rate, 100 * g.low.to_numpy(float), 100 * g.high.to_numpy(float), 0, 100)
            ax.errorbar(100 * g.fraction, rate, yerr=err, marker=_MARKERS.get(arch, "o"), capsize=3,
                        ls="-" if kind == "pgd" else ":", alpha=1.0 if kind == "pgd" else 0.7,
                        label=f"{MODEL_LABELS.get(arch, arch)}, {task_labels.get(task, task)}, {kind}")
        ax.set_title(PROTOCOL_TITLES[protocol])
        ax.set_ylabel("targets misclassified (%)")
        ax.set_ylim(0, 100)
        ax.set_xlim(left=0)
        nonnegative(ax, "x")
    axes[-1].set_xlabel("training points poisoned (% of the training set)")
    fig.tight_layout()
    # below the figure (the saved image's tight box takes it in), one entry a line: the labels name task and model
    # in full, two columns would not fit the column
    handles, labels = axes[-1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper left", bbox_to_anchor=(0.03, 0.0), bbox_transform=fig.transFigure,
               ncol=1, frameon=False, borderaxespad=0.0)
    return fig
