"""Chapter 3's figures: distances to the NTK predictor and kernel distances against width, raw and centred inputs.

Each takes the sweep's rows (`ntkbook.experiments.ntk_distance.sweep`) and draws the mean over seeds with a band
from the smallest to the largest seed; model labels come from `ntkbook.models.MODEL_LABELS`.
"""

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import pandas as pd
import seaborn as sns

from ntkbook.models import MODEL_LABELS

DATASET_LABELS = {"mnist": "MNIST", "cifar10": "CIFAR-10"}
PROTOCOL_LABELS = {"adam": "Adam to a plateau (cross-entropy)", "gd": "GD to the MSE criterion"}
SEED_BAND = ("pi", 100)  # the band spans the seeds' minimum to maximum (stays positive on a log axis)
INPUT_LABELS = {False: "raw inputs", True: "centred inputs"}
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


def distance_vs_width(frame: pd.DataFrame, y: str = "dist_abs", *, ylabel: str | None = None,
                      logy: bool = True) -> plt.Figure:
    """One panel per (protocol row, data set column): `y` against width m for both models (colour), raw inputs
    solid and centred inputs dashed; mean over seeds with a min-max band."""
    frame = _labelled(frame, {y})
    protocols = [p for p in PROTOCOL_LABELS if p in set(frame["protocol"])]
    datasets = list(frame["dataset"].drop_duplicates())
    fig, axes = plt.subplots(len(protocols), len(datasets), figsize=(4.6 * len(datasets) + 1.8,
                                                                    3.3 * len(protocols)),
                             squeeze=False, sharex=True)
    inputs = [v for v in INPUT_LABELS.values() if v in set(frame["inputs"])]
    for i, protocol in enumerate(protocols):
        for j, dataset in enumerate(datasets):
            ax = axes[i, j]
            sub = frame[(frame["protocol"] == protocol) & (frame["dataset"] == dataset)]
            sns.lineplot(data=sub, x="width", y=y, hue="model", style="inputs", markers=True, errorbar=SEED_BAND,
                         ax=ax, hue_order=list(MODEL_LABELS.values()), style_order=inputs)
            ax.set_xscale("log", base=2)
            if logy:
                ax.set_yscale("log")
                _plain_log_ticks(ax)
            ax.set_title(f"{DATASET_LABELS.get(dataset, dataset)}: {PROTOCOL_LABELS[protocol]}", fontsize=9)
            ax.set_xlabel("width m")
            ax.set_ylabel(ylabel or y)
            legend = ax.get_legend()
            if legend is not None:
                if (i, j) == (0, len(datasets) - 1):
                    sns.move_legend(ax, "upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, fontsize=8)
                else:
                    legend.remove()
    fig.tight_layout()
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
    datasets = list(frame["dataset"].drop_duplicates())
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.6 * len(datasets) + 1.8, 3.4), squeeze=False,
                             sharey=True)
    for j, dataset in enumerate(datasets):
        ax = axes[0, j]
        sns.lineplot(data=long[long["dataset"] == dataset], x="width", y="value", hue="model", style="stage",
                     markers=True, errorbar=SEED_BAND, ax=ax, hue_order=list(MODEL_LABELS.values()))
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        _plain_log_ticks(ax)
        ax.set_title(DATASET_LABELS.get(dataset, dataset), fontsize=9)
        ax.set_xlabel("width m")
        ax.set_ylabel(r"$\|K_m - K_\infty\|_F / \|K_\infty\|_F$")
        legend = ax.get_legend()
        if legend is not None:
            if j == len(datasets) - 1:
                sns.move_legend(ax, "upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, fontsize=8)
            else:
                legend.remove()
    fig.tight_layout()
    return fig


__all__ = ["distance_vs_width", "kernel_distance_vs_width"]
