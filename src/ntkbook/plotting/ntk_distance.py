"""Chapter 3's figures: distance to the NTK predictor, and kernel distance, against width."""

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

DATASET_LABELS = {"mnist": "MNIST", "cifar10": "CIFAR-10"}
PROTOCOL_LABELS = {"adam": "paper protocol (Adam, cross-entropy)", "gd": "equal-time full-batch GD (MSE)"}


def distance_vs_width(frame: pd.DataFrame, y: str = "dist_abs", *, ylabel: str | None = None,
                      logy: bool = True) -> plt.Figure:
    """One panel per (protocol row, data set column): `y` against width m for both models, mean over seeds with a
    band of +-1 standard deviation (seaborn `errorbar="sd"`). frame: `ntk_distance_sweep` output."""
    protocols = [p for p in PROTOCOL_LABELS if p in set(frame["protocol"])]
    datasets = [d for d in frame["dataset"].drop_duplicates()]
    fig, axes = plt.subplots(len(protocols), len(datasets), figsize=(5.2 * len(datasets), 3.6 * len(protocols)),
                             squeeze=False, sharex=True)
    for i, protocol in enumerate(protocols):
        for j, dataset in enumerate(datasets):
            ax = axes[i, j]
            sub = frame[(frame["protocol"] == protocol) & (frame["dataset"] == dataset)]
            sns.lineplot(data=sub, x="width", y=y, hue="model", style="model", markers=True, dashes=False,
                         errorbar="sd", ax=ax, hue_order=["2L-ReLU", "MLP-Attn"], style_order=["2L-ReLU", "MLP-Attn"])
            ax.set_xscale("log", base=2)
            if logy:
                ax.set_yscale("log")
            ax.set_title(f"{DATASET_LABELS.get(dataset, dataset)}: {PROTOCOL_LABELS[protocol]}", fontsize=10)
            ax.set_xlabel("width m (hidden units)")
            ax.set_ylabel(ylabel or y)
            if (i, j) != (0, 0) and ax.get_legend() is not None:
                ax.get_legend().remove()
    fig.tight_layout()
    return fig


def kernel_distance_vs_width(frame: pd.DataFrame) -> plt.Figure:
    """Relative kernel distance ||K_m - K_inf||_F / ||K_inf||_F at initialisation and after training (paper protocol
    and GD), against width, one panel per data set, mean over seeds with +-1 sd bands."""
    init = frame[frame["protocol"] == frame["protocol"].iloc[0]].assign(
        stage="at initialisation", value=lambda f: f["kernel_dist_init"])
    final = frame.assign(stage=lambda f: "after training (" + f["protocol"].map(
        {"adam": "Adam", "gd": "GD"}) + ")", value=lambda f: f["kernel_dist_final"])
    long = pd.concat([init, final], ignore_index=True)
    datasets = list(frame["dataset"].drop_duplicates())
    fig, axes = plt.subplots(1, len(datasets), figsize=(5.2 * len(datasets), 3.8), squeeze=False, sharey=True)
    for j, dataset in enumerate(datasets):
        ax = axes[0, j]
        sns.lineplot(data=long[long["dataset"] == dataset], x="width", y="value", hue="model", style="stage",
                     markers=True, errorbar="sd", ax=ax, hue_order=["2L-ReLU", "MLP-Attn"])
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_title(DATASET_LABELS.get(dataset, dataset), fontsize=10)
        ax.set_xlabel("width m (hidden units)")
        ax.set_ylabel(r"$\|K_m - K_\infty\|_F / \|K_\infty\|_F$ (train set)")
        if j > 0 and ax.get_legend() is not None:
            ax.get_legend().remove()
    fig.tight_layout()
    return fig


__all__ = ["distance_vs_width", "kernel_distance_vs_width"]
