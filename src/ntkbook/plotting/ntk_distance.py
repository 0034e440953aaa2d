"""Chapter 3's figures: distances to the NTK predictor and kernel distances against width, raw and centred inputs.

Each takes the sweep's rows (`ntkbook.experiments.ntk_distance.sweep`) and draws the mean over seeds with a band
from the smallest to the largest seed (clipped to the quantity's range: a distance is >= 0); model labels come from
`ntkbook.models.MODEL_LABELS`. Figures are at most `ntkbook.plotting.COLUMN_INCHES` wide and use the book style's
font sizes, so their text reads at >= 9 pt where the book shows them; one legend sits below the panels.
"""

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import pandas as pd
from matplotlib.lines import Line2D

from ntkbook.labels import DATASET_LABELS
from ntkbook.models import MODEL_LABELS
from ntkbook.plotting import COLUMN_INCHES, clip_interval, nonnegative

#: short panel titles; the caption says what each protocol is
PROTOCOL_LABELS = {"adam": "Adam to a plateau", "gd": "GD at equal steps"}
INPUT_LABELS = {False: "raw inputs", True: "centred inputs"}
_LINESTYLES = ("-", "--", ":", "-.")
_MARKERS = ("o", "s", "^", "D")
_REQUIRED = {"dataset", "arch", "centred", "protocol", "width", "seed"}


def _plain_log_ticks(ax) -> None:
    """Label a log y axis at 1, 2, 5 x 10^k with plain numbers (0.5, 1, 2) instead of 5x10^-1."""
    fmt = mticker.FuncFormatter(lambda v, _: f"{v:g}")
    ax.yaxis.set_major_locator(mticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(fmt)
    ax.yaxis.set_minor_formatter(mticker.NullFormatter())


def _labelled(frame: pd.DataFrame, needed: set) -> pd.DataFrame:
    missing = (_REQUIRED | needed) - set(frame.columns)
    if missing:
        raise ValueError(f"the frame lacks columns {sorted(missing)}; pass ntk_distance.sweep(...) rows")
    return frame.assign(model=frame["arch"].map(MODEL_LABELS), inputs=frame["centred"].map(INPUT_LABELS))


def _colours() -> dict:
    palette = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    return {label: palette[i % len(palette)] for i, label in enumerate(MODEL_LABELS.values())}


def _draw(ax, frame: pd.DataFrame, y: str, style_col: str, styles: list) -> None:
    """Mean over seeds of `y` against width per (model, style) with a min-max band clipped to [0, inf)."""
    colours = _colours()
    for model in MODEL_LABELS.values():
        for k, style in enumerate(styles):
            sub = frame[(frame["model"] == model) & (frame[style_col] == style)]
            if sub.empty:
                continue
            stats = sub.groupby("width")[y].agg(["mean", "min", "max"]).sort_index()
            lo, hi = clip_interval(stats["min"], stats["max"], 0.0, None)
            ax.fill_between(stats.index, lo, hi, color=colours[model], alpha=0.18, linewidth=0)
            ax.plot(stats.index, stats["mean"], color=colours[model], linestyle=_LINESTYLES[k % len(_LINESTYLES)],
                    marker=_MARKERS[k % len(_MARKERS)], markersize=4)


def _axes_style(ax, logy: bool) -> None:
    ax.set_xscale("log", base=2)
    if logy:
        ax.set_yscale("log")
        _plain_log_ticks(ax)
    nonnegative(ax)  # a distance is >= 0 (no-op on a log axis)


def _legend(fig, styles: list) -> None:
    """One legend for the figure, below the panels: models by colour, `styles` by line style and marker."""
    colours = _colours()
    handles = [Line2D([], [], color=c, linewidth=2, label=m) for m, c in colours.items()]
    handles += [Line2D([], [], color="0.3", linestyle=_LINESTYLES[k % len(_LINESTYLES)],
                       marker=_MARKERS[k % len(_MARKERS)], markersize=4, label=s) for k, s in enumerate(styles)]
    ncol = len(handles) if len(handles) <= 4 else -(-len(handles) // 2)  # at most two balanced rows
    fig.legend(handles=handles, loc="lower center", ncol=ncol, frameon=False,
               bbox_to_anchor=(0.5, 0.0))


def distance_vs_width(frame: pd.DataFrame, y: str = "dist_abs", *, ylabel: str | None = None,
                      logy: bool = True) -> plt.Figure:
    """One panel per (protocol row, data set column): `y` against width m for both models (colour), raw inputs
    solid and centred inputs dashed; mean over seeds with a min-max band."""
    frame = _labelled(frame, {y})
    protocols = [p for p in PROTOCOL_LABELS if p in set(frame["protocol"])]
    datasets = list(frame["dataset"].drop_duplicates())
    inputs = [v for v in INPUT_LABELS.values() if v in set(frame["inputs"])]
    fig, axes = plt.subplots(len(protocols), len(datasets), squeeze=False, sharex=True,
                             figsize=(COLUMN_INCHES, 2.5 * len(protocols) + 0.6))
    for i, protocol in enumerate(protocols):
        for j, dataset in enumerate(datasets):
            ax = axes[i, j]
            _draw(ax, frame[(frame["protocol"] == protocol) & (frame["dataset"] == dataset)], y, "inputs", inputs)
            _axes_style(ax, logy)
            ax.set_title(f"{DATASET_LABELS.get(dataset, dataset)}: {PROTOCOL_LABELS[protocol]}")
            ax.set_xlabel("width m" if i == len(protocols) - 1 else "")
            ax.set_ylabel((ylabel or y) if j == 0 else "")
    fig.tight_layout(rect=(0, 0.06 if len(protocols) > 1 else 0.12, 1, 1))
    _legend(fig, inputs)
    return fig


def kernel_distance_vs_width(frame: pd.DataFrame, *, centred: bool = False) -> plt.Figure:
    """Relative kernel distance ||K_m - K_inf||_F / ||K_inf||_F on the training set at initialisation and after
    training (Adam, GD), against width, one panel per data set; raw (or centred) inputs."""
    frame = _labelled(frame, {"kernel_dist_init", "kernel_dist_final"})
    frame = frame[frame["centred"] == centred]
    first = frame["protocol"].iloc[0]
    init = frame[frame["protocol"] == first].assign(stage="at initialisation", value=lambda f: f["kernel_dist_init"])
    final = frame.assign(stage=lambda f: "after " + f["protocol"].map({"adam": "Adam", "gd": "GD"}),
                         value=lambda f: f["kernel_dist_final"])
    long = pd.concat([init, final], ignore_index=True)
    stages = list(long["stage"].drop_duplicates())
    datasets = list(frame["dataset"].drop_duplicates())
    fig, axes = plt.subplots(1, len(datasets), figsize=(COLUMN_INCHES, 3.3), squeeze=False, sharey=True)
    for j, dataset in enumerate(datasets):
        ax = axes[0, j]
        _draw(ax, long[long["dataset"] == dataset], "value", "stage", stages)
        _axes_style(ax, True)
        ax.set_title(DATASET_LABELS.get(dataset, dataset))
        ax.set_xlabel("width m")
        ax.set_ylabel(r"$\|K_m - K_\infty\|_F / \|K_\infty\|_F$" if j == 0 else "")
    fig.tight_layout(rect=(0, 0.17, 1, 1))
    _legend(fig, stages)
    return fig


def equal_time_curves(frame: pd.DataFrame, *, centred: bool = False) -> plt.Figure:
    """GD at equal times: ||f_m − f_NTK||_F against the step count T (the grid's columns `dist_t{T}`), one panel
    per data set, one line per (model: colour, width: shade from light (small m) to dark); mean over seeds with a
    min-max band."""
    frame = _labelled(frame, set())
    frame = frame[(frame["protocol"] == "gd") & (frame["centred"] == centred)]
    cols = sorted((c for c in frame.columns if c.startswith("dist_t") and frame[c].notna().any()),
                  key=lambda c: int(c[6:]))
    if not cols:
        raise ValueError("no equal-time columns dist_t{T} with values: pass GD rows of ntk_distance.sweep(...)")
    times = [int(c[6:]) for c in cols]
    long = frame.melt(id_vars=["dataset", "model", "width", "seed"], value_vars=cols, var_name="T", value_name="d")
    long["T"] = long["T"].str[6:].astype(int)
    datasets = list(frame["dataset"].drop_duplicates())
    widths = sorted(frame["width"].unique())
    colours = _colours()
    fig, axes = plt.subplots(1, len(datasets), figsize=(COLUMN_INCHES, 3.4), squeeze=False, sharey=False)
    for j, dataset in enumerate(datasets):
        ax = axes[0, j]
        for model, colour in colours.items():
            for k, w in enumerate(widths):
                sub = long[(long["dataset"] == dataset) & (long["model"] == model) & (long["width"] == w)]
                if sub.empty:
                    continue
                stats = sub.groupby("T")["d"].agg(["mean", "min", "max"]).sort_index()
                shade = 0.35 + 0.65 * (k + 1) / len(widths)
                ax.fill_between(stats.index, stats["min"], stats["max"], color=colour, alpha=0.08, linewidth=0)
                ax.plot(stats.index, stats["mean"], color=colour, alpha=shade, marker=_MARKERS[k % len(_MARKERS)],
                        markersize=3, linewidth=1.2)
        ax.set_xscale("log")
        ax.set_yscale("log")
        _plain_log_ticks(ax)
        ax.set_xticks(times, [f"{t:g}" for t in times])
        ax.set_title(DATASET_LABELS.get(dataset, dataset))
        ax.set_xlabel("GD steps T")
        ax.set_ylabel(r"$\|f_m - f_{\mathrm{NTK}}\|_F$" if j == 0 else "")
    fig.tight_layout(rect=(0, 0.2, 1, 1))
    handles = [Line2D([], [], color=c, linewidth=2, label=m) for m, c in colours.items()]
    handles += [Line2D([], [], color="0.3", linestyle="", marker=_MARKERS[k % len(_MARKERS)], markersize=4,
                       label=f"m = {w}") for k, w in enumerate(widths)]
    fig.legend(handles=handles, loc="lower center", ncol=-(-len(handles) // 2), frameon=False,
               bbox_to_anchor=(0.5, 0.0))
    return fig


def references_vs_width(frame: pd.DataFrame, protocol: str = "adam") -> plt.Figure:
    """The trained network's distance beside its references, raw inputs, one panel per data set: ||f_m − f_NTK||
    (solid), the linearised network's ||f_lin − f_NTK|| (dashed: the finite-width kernel fluctuation) and
    ||f_m − f_lin|| (dotted: beyond the linear regime), against width; mean over seeds with a min-max band."""
    frame = _labelled(frame, {"dist_abs", "lin_dist_inf", "dist_lin"})
    frame = frame[(frame["protocol"] == protocol) & (frame["centred"] == False)]  # noqa: E712
    names = {"dist_abs": "trained vs NTK", "lin_dist_inf": "linearised vs NTK", "dist_lin": "trained vs linearised"}
    long = pd.concat([frame.assign(reading=name, value=frame[col]) for col, name in names.items()],
                     ignore_index=True)
    datasets = list(frame["dataset"].drop_duplicates())
    styles = list(names.values())
    fig, axes = plt.subplots(1, len(datasets), figsize=(COLUMN_INCHES, 3.4), squeeze=False)
    for j, dataset in enumerate(datasets):
        ax = axes[0, j]
        _draw(ax, long[long["dataset"] == dataset], "value", "reading", styles)
        _axes_style(ax, True)
        ax.set_title(f"{DATASET_LABELS.get(dataset, dataset)}: {protocol.upper() if protocol == 'gd' else 'Adam'}")
        ax.set_xlabel("width m")
        ax.set_ylabel("distance (test outputs)" if j == 0 else "")
    fig.tight_layout(rect=(0, 0.2, 1, 1))
    _legend(fig, styles)
    return fig


__all__ = ["distance_vs_width", "kernel_distance_vs_width", "equal_time_curves", "references_vs_width"]
