"""The claims page's figure: for every quantitative claim, our value relative to the paper's, with its interval."""

from __future__ import annotations

import math
from collections.abc import Iterable

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

__all__ = ["quantitative_frame", "paper_vs_ours_figure"]

#: face colours of the status markers: the badge backgrounds' hues, darker so markers read on white.
STATUS_MARKER = {"holds": "#1b7a3a", "partly": "#b07d00", "does not hold": "#b42020", "not resolved": "#3553a0",
                 "not evaluable": "#777777", "not run": "#aaaaaa"}


def quantitative_frame(verdicts: Iterable) -> pd.DataFrame:
    """The verdicts with a positive numeric paper value and a positive (possibly infinite) value of ours, as
    ratios to the paper's. Columns: claim, statement, status, ratio, low, high (ours / paper; the interval's
    ends, nan without one; a non-positive end becomes nan), one row per such verdict in order."""
    rows = []
    for v in verdicts:
        p = v.paper_value
        if isinstance(p, bool) or not isinstance(p, int | float) or not (p > 0 and math.isfinite(p)):
            continue
        if v.ours is None or math.isnan(v.ours) or v.ours <= 0:
            continue
        lo, hi = v.interval if v.interval is not None else (math.nan, math.nan)
        rows.append({"claim": v.claim, "statement": v.statement, "status": v.status, "ratio": v.ours / p,
                     "low": lo / p if lo > 0 else math.nan, "high": hi / p if hi > 0 else math.nan})
    return pd.DataFrame(rows, columns=["claim", "statement", "status", "ratio", "low", "high"])


def paper_vs_ours_figure(verdicts: Iterable, *, labels: dict | None = None) -> plt.Figure:
    """One row per quantitative claim: ours / paper on a log axis (dot, coloured by status) with our interval
    (bar); the vertical line is agreement (ratio 1) and the band a factor 10 either way. Infinite values and
    interval ends beyond the axis are drawn as arrows at its edge. labels: {claim id: row label} (default: ids).
    With no quantitative verdict, a figure that says so."""
    q = quantitative_frame(verdicts)
    if q.empty:  # e.g. no chapter's results recorded at this profile: the figure says so instead of an empty axis
        fig, ax = plt.subplots(figsize=(6.0, 1.2))
        ax.set_axis_off()
        ax.text(0.5, 0.5, "No quantitative verdict to plot: no verdict has both a numeric paper value\n"
                "and a positive value of ours (the chapters' results are not recorded at this profile).",
                ha="center", va="center", fontsize=9, transform=ax.transAxes)
        return fig
    labels = labels or {}
    finite = np.concatenate([q.ratio.to_numpy(), q.low.to_numpy(), q.high.to_numpy()])
    finite = finite[np.isfinite(finite) & (finite > 0)]
    lo_edge = 10 ** (math.floor(math.log10(min(finite.min(), 0.1))) - 0.5)
    hi_edge = 10 ** (math.ceil(math.log10(max(finite.max(), 10.0))) + 0.5)
    fig, ax = plt.subplots(figsize=(6.0, 0.38 * len(q) + 1.4))  # fits the book column: no downscaling of text
    ax.axvspan(0.1, 10, color="#e8f3ea", zorder=0, label="within a factor 10")
    ax.axvline(1.0, color="#333333", lw=1, zorder=1)
    for y, r in enumerate(q.itertuples()):
        colour = STATUS_MARKER.get(r.status, "#000000")
        has_interval = not (np.isnan(r.low) and np.isnan(r.high))
        if has_interval:  # an end that is non-positive (nan here) or beyond the axis is drawn as an edge arrow
            lo = r.low if np.isfinite(r.low) and r.low > lo_edge else lo_edge
            hi = r.high if np.isfinite(r.high) and r.high < hi_edge else hi_edge
            ax.plot([lo, hi], [y, y], color=colour, lw=2.2, solid_capstyle="butt", zorder=2)
            if lo == lo_edge:
                ax.plot(lo_edge, y, marker="<", color=colour, ms=7, zorder=3)
            if hi == hi_edge:
                ax.plot(hi_edge, y, marker=">", color=colour, ms=7, zorder=3)
        x = r.ratio if math.isfinite(r.ratio) else hi_edge
        ax.plot(x, y, marker=">" if not math.isfinite(r.ratio) else "o", color=colour, ms=7, zorder=4,
                markeredgecolor="white")
    ax.set_xscale("log")
    ax.set_xlim(lo_edge, hi_edge)
    ax.set_yticks(range(len(q)), [labels.get(c, c) for c in q.claim])
    ax.invert_yaxis()
    ax.set_xlabel("ours / paper (log scale)")
    handles = [plt.Line2D([], [], marker="o", ls="", color=c, label=s) for s, c in STATUS_MARKER.items()
               if s in set(q.status)]
    ax.legend(handles=handles, loc="lower right", framealpha=0.9)
    ax.grid(axis="y", visible=False)
    fig.tight_layout()
    return fig
