"""Chapter 3's figures: distance to the NTK predictor, and kernel distance, against width."""

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import pandas as pd
import seaborn as sns

DATASET_LABELS = {"mnist": "MNIST", "cifar10": "CIFAR-10"}
SEED_BAND = ("pi", 100)  # the band spans the seeds' minimum to maximum (stays positive on a log axis)


def _plain_log_ticks(ax) -> None:
    """Label a log y axis at 1, 2, 5 x 10^k with plain numbers (0.5, 1, 2) instead of 5x10^-1."""
    fmt = mticker.FuncFormatter(lambda v, _: f"{v:g}")
    ax.yaxis.set_major_locator(mticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(fmt)
    ax.yaxis.set_minor_formatter(mticker.NullFormatter())


PROTOCOL_LABELS = {"adam": "paper protocol (Adam, cross-entropy)", "gd": "equal-time full-batch GD (MSE)"}


def distance_vs_width(frame: pd.DataFrame, y: str = "dist_abs", *, ylabel: str | None = None,
                      logy: bool = True) -> plt.Figure:
    """One panel per (protocol row, data set column): `y` against width m for both models, mean over seeds with a
    band from the smallest to the largest seed. frame: `ntk_distance_sweep` output."""
    protocols = [p for p in PROTOCOL_LABELS if p in set(frame["protocol"])]
    datasets = [d for d in frame["dataset"].drop_duplicates()]
    fig, axes = plt.subplots(len(protocols), len(datasets), figsize=(5.2 * len(datasets), 3.6 * len(protocols)),
                             squeeze=False, sharex=True)
    for i, protocol in enumerate(protocols):
        for j, dataset in enumerate(datasets):
            ax = axes[i, j]
            sub = frame[(frame["protocol"] == protocol) & (frame["dataset"] == dataset)]
            sns.lineplot(data=sub, x="width", y=y, hue="model", style="model", markers=True, dashes=False,
                         errorbar=SEED_BAND, ax=ax, hue_order=["2L-ReLU", "MLP-Attn"],
                         style_order=["2L-ReLU", "MLP-Attn"])
            ax.set_xscale("log", base=2)
            if logy:
                ax.set_yscale("log")
                _plain_log_ticks(ax)
            ax.set_title(f"{DATASET_LABELS.get(dataset, dataset)}: {PROTOCOL_LABELS[protocol]}", fontsize=10)
            ax.set_xlabel("width m (hidden units)")
            ax.set_ylabel(ylabel or y)
            if (i, j) != (0, 0) and ax.get_legend() is not None:
                ax.get_legend().remove()
    fig.tight_layout()
    return fig


def kernel_distance_vs_width(frame: pd.DataFrame) -> plt.Figure:
    """Relative kernel distance ||K_m - K_inf||_F / ||K_inf||_F at initialisation and after training (paper protocol
    and GD), against width, one panel per data set, mean over seeds with min-max bands; legend to the right."""
    init = frame[frame["protocol"] == frame["protocol"].iloc[0]].assign(
        stage="at initialisation", value=lambda f: f["kernel_dist_init"])
    final = frame.assign(stage=lambda f: "after training (" + f["protocol"].map(
        {"adam": "Adam", "gd": "GD"}) + ")", value=lambda f: f["kernel_dist_final"])
    long = pd.concat([init, final], ignore_index=True)
    datasets = list(frame["dataset"].drop_duplicates())
    fig, axes = plt.subplots(1, len(datasets), figsize=(5.0 * len(datasets) + 2.2, 3.8), squeeze=False, sharey=True)
    for j, dataset in enumerate(datasets):
        ax = axes[0, j]
        sns.lineplot(data=long[long["dataset"] == dataset], x="width", y="value", hue="model", style="stage",
                     markers=True, errorbar=SEED_BAND, ax=ax, hue_order=["2L-ReLU", "MLP-Attn"])
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        _plain_log_ticks(ax)
        ax.set_title(DATASET_LABELS.get(dataset, dataset), fontsize=10)
        ax.set_xlabel("width m (hidden units)")
        ax.set_ylabel(r"$\|K_m - K_\infty\|_F / \|K_\infty\|_F$ (train set)")
        if j < len(datasets) - 1 and ax.get_legend() is not None:
            ax.get_legend().remove()
        elif ax.get_legend() is not None:
            sns.move_legend(ax, "upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    fig.tight_layout()
    return fig


__all__ = ["distance_vs_width", "kernel_distance_vs_width"]
