"""Chapter 2's figures: condition numbers of real data against n, depth and truncation, and the width law.

Each function takes the tidy tables of `ntkbook.experiments.spectral` and returns a `matplotlib.figure.Figure`.
Figures are `ntkbook.plotting.COLUMN_INCHES` wide and use the book style's font sizes, so that their text reads at
>= 9 pt in the book (tests/plotting/test_plotting.py checks every figure); long legends sit below the axes.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import LogLocator, NullFormatter

from ntkbook.plotting import COLUMN_INCHES

__all__ = ["plot_kappa_vs_n", "plot_depth", "plot_truncation", "plot_width_law"]

_MODEL_ORDER = ("2L-ReLU", "MLP-Attn")


def _slope_text(r) -> str:
    """'model: slope b [lo, hi]' for a `width_law_fits` row, or why there is no fit."""
    if not np.isfinite(r.exponent):
        return f"{r.model}: no fit ({r.n_points} uncensored points)"
    return f"{r.model}: slope {r.exponent:.2f} [{r.lo:.2f}, {r.hi:.2f}]"


def _legend_below(fig: plt.Figure, axes, ncol: int = 1) -> None:
    """One legend for all `axes` (each label once, in order of appearance), centred below them."""
    seen: dict[str, object] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(label, handle)
    fig.legend(list(seen.values()), list(seen), loc="outside lower center", ncol=ncol, frameon=False)


def plot_kappa_vs_n(table: pd.DataFrame, paper: Mapping[str, float] | None = None) -> plt.Figure:
    """kappa(G) against n, one panel per data set (log-log), from `kappa_vs_n` tables concatenated.

    Solid: unit rows (the paper's inputs); dashed: raw pixels. Markers: kappa_d (top min(n, d) eigenvalues), drawn
    where finite; crosses: kappa over the numerical rank (where kappa_d is infinite, i.e. the data's rank is below
    d). Medians over seeds. A dotted vertical line marks n = d (the panel title gives d), a dash-dotted horizontal
    line the paper's value (`paper`, dataset -> kappa). One legend below the panels.
    """
    datasets = list(dict.fromkeys(table["dataset"]))
    fig, axes = plt.subplots(1, len(datasets), figsize=(COLUMN_INCHES, 5.2), squeeze=False, layout="constrained")
    for ax, name in zip(axes[0], datasets, strict=True):
        sub = table[table["dataset"] == name]
        for norm, style in ((True, "-"), (False, "--")):
            g = sub[sub["normalised"] == norm]
            if g.empty:
                continue
            med = g.replace(np.inf, np.nan).groupby("n")[["kappa_d", "kappa_numerical"]].median()
            label = "unit rows" if norm else "raw pixels"
            ax.plot(med.index, med["kappa_d"], style, marker="o", color="C0" if norm else "C1",
                    label=f"$\\kappa_d(G)$, {label}")
            inf = g.groupby("n")["kappa_d"].apply(lambda s: bool(np.isinf(s).any()))
            ninf = med.index[inf.reindex(med.index).to_numpy()]
            if len(ninf):
                ax.plot(ninf, med.loc[ninf, "kappa_numerical"], style, marker="x", color="C2" if norm else "C3",
                        label=f"numerical rank only ($\\kappa_d=\\infty$), {label}")
        d = int(sub["d"].iloc[0])
        ax.axvline(d, color="grey", ls=":", lw=1, label="n = d (input dimension)")
        if paper and name in paper:
            ax.axhline(paper[name], color="k", ls="-.", lw=1, label="the paper's $\\kappa(G)$")
        ax.set(xscale="log", yscale="log", xlabel="number of examples n",
               ylabel="condition number of G" if ax is axes[0, 0] else "", title=f"{name} (d = {d})")
        ax.xaxis.set_major_locator(LogLocator(base=10))
        ax.xaxis.set_minor_formatter(NullFormatter())
    _legend_below(fig, axes[0])
    return fig


def plot_depth(table: pd.DataFrame) -> plt.Figure:
    """kappa(G^(2k+1)) measured in float64 against kappa(G)^(2k+1), versus the depth k (`depth_table`, with a
    `dataset` column when several). The shaded band is where kappa exceeds 1/(n eps64): float64 cannot
    resolve lambda_min there."""
    fig, ax = plt.subplots(figsize=(COLUMN_INCHES, 4.0))
    groups = table.groupby("dataset", sort=False) if "dataset" in table else [("", table)]
    for i, (name, g) in enumerate(groups):
        ax.plot(g["k"], g["predicted"], "--", color=f"C{i}", label=f"{name}: $\\kappa(G)^{{2k+1}}$")
        ok = g[np.isfinite(g["measured"])]
        ax.plot(ok["k"], ok["measured"], "o", color=f"C{i}", label=f"{name}: measured on $G^{{2k+1}}$")
        bad = g[~np.isfinite(g["measured"])]
        if len(bad):
            ax.plot(bad["k"], bad["predicted"], "x", color=f"C{i}", ms=9,
                    label=f"{name}: $\\lambda_{{min}} \\leq 0$ in float64")
    if "n" in table:
        floor = 1.0 / (float(table["n"].max()) * np.finfo(np.float64).eps)
        ax.axhspan(floor, ax.get_ylim()[1] * 10, color="grey", alpha=0.15, lw=0)
        ax.text(table["k"].min(), floor * 2, "beyond float64 resolution", color="dimgrey")
    ax.set(yscale="log", xlabel="stacked attention layers k", ylabel="condition number of $G^{2k+1}$",
           xticks=sorted(table["k"].unique()))
    ax.legend()
    fig.tight_layout()
    return fig


def plot_truncation(table: pd.DataFrame) -> plt.Figure:
    """kappa of the rank-r attention kernel K_r = G_r G G_r against r (`truncation_table` rows with a
    `dataset` column): predicted (lines) and measured on the matrix (markers); the right axis reads the
    implied v1 width kappa(G_r)^6 (eps = 1)."""
    fig, ax = plt.subplots(figsize=(COLUMN_INCHES, 4.0))
    for i, (name, g) in enumerate(table.groupby("dataset", sort=False)):
        ax.plot(g["r"], g["kappa_kernel_predicted"], "-", color=f"C{i}", label=f"{name}: $\\kappa(G_r)^3$")
        if "kappa_kernel_measured" in g:
            ax.plot(g["r"], g["kappa_kernel_measured"], "o", color=f"C{i}", ms=4,
                    label=f"{name}: measured $\\kappa(K_r)$")
    ax.set(xscale="log", yscale="log", xlabel="rank r kept in the attention",
           ylabel="condition number of the kernel $K_r$")
    right = ax.secondary_yaxis("right", functions=(lambda k: np.power(np.maximum(k, 1e-300), 2.0),
                                                   lambda m: np.power(np.maximum(m, 1e-300), 0.5)))
    right.set_ylabel("v1 width $\\kappa(G_r)^6$ (neurons)")
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig


def plot_width_law(curves: pd.DataFrame, summary: pd.DataFrame, fits: pd.DataFrame | None = None) -> plt.Figure:
    """Four panels (a)-(d), stacked, from `width_law_sweep`, `width_law_summary` and `width_law_fits`.

    (a) median over seeds of ||K_m - K_inf||_op / ||K_inf||_op (solid) and / lambda_min(K_inf) (dotted) against
    the width m, MLP-Attn, one colour per kappa(G); (b) kappa(Z Z^T) and kappa(K_inf) against kappa(G), with the
    slope-3 line of Theorem 4.7; (c) m* for both criteria against kappa(G), with a slope-6 guide; (d) m*_eig
    against kappa(K_inf), with a slope-2 guide (the mechanism m ~ kappa(K)^2 / eps^2).
    """
    from ntkbook.labels import with_model_labels

    summary = with_model_labels(summary)  # the legends name the architectures
    fits = None if fits is None else with_model_labels(fits)
    fig, axes = plt.subplots(4, 1, figsize=(COLUMN_INCHES, 15.0), layout="constrained")
    axes = axes.ravel()
    ax = axes[0]
    attn = curves[curves["arch"] == "attn"]
    kappas = sorted(attn["kappa_nominal"].unique())
    cmap = plt.get_cmap("viridis")
    for i, k in enumerate(kappas):
        g = attn[attn["kappa_nominal"] == k].groupby("width")[["err_op", "err_eig"]].median()
        c = cmap(i / max(len(kappas) - 1, 1))
        kg = float(attn.loc[attn["kappa_nominal"] == k, "kappa_G"].iloc[0])
        ax.plot(g.index, g["err_op"], "-", color=c, label=f"$\\kappa(G)$ = {kg:.2g}")
        ax.plot(g.index, g["err_eig"], ":", color=c)
    ax.set(xscale="log", yscale="log", xlabel="width m (neurons)",
           ylabel="$\\|K_m - K_\\infty\\|_{op}$ / scale",
           title="(a) MLP-Attn: solid / $\\|K_\\infty\\|$, dotted / $\\lambda_{min}$")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)

    ax = axes[1]
    for j, model in enumerate(m for m in _MODEL_ORDER if m in set(summary["model"])):
        g = summary[summary["model"] == model].sort_values("kappa_G")
        ax.plot(g["kappa_G"], g["kappa_features"], "s--", color=f"C{j}", label=f"{model}: $\\kappa(ZZ^T)$")
        ax.plot(g["kappa_G"], g["kappa_K_inf"], "o-", color=f"C{j}", label=f"{model}: $\\kappa(K_\\infty)$")
    kg = np.geomspace(summary["kappa_G"].min(), summary["kappa_G"].max(), 20)
    ax.plot(kg, kg**3, "k:", lw=1, label="$\\kappa(G)^3$")
    ax.set(xscale="log", yscale="log", xlabel="$\\kappa(G)$ of the unit-norm data",
           ylabel="condition number", title="(b) amplification: features vs NTK")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)

    ax = axes[2]
    for j, model in enumerate(m for m in _MODEL_ORDER if m in set(summary["model"])):
        g = summary[summary["model"] == model].sort_values("kappa_G")
        ax.plot(g["kappa_G"], g["m_star_op"], "o-", color=f"C{j}", label=f"{model}: $m^*$, rel. to $\\|K_\\infty\\|$")
        ax.plot(g["kappa_G"], g["m_star_eig"], "s--", color=f"C{j}",
                label=f"{model}: $m^*$, rel. to $\\lambda_{{min}}$")
    lo = np.nanmin(summary[["m_star_op", "m_star_eig"]].to_numpy())
    ax.plot(kg, lo * (kg / kg[0]) ** 6, "k:", lw=1, label="slope 6 ($\\kappa^6$)")
    top = float(summary["max_width"].max())
    ax.axhline(top, color="grey", lw=1, ls="-.", label=f"largest width tried ({top:.0f})")
    ax.set(xscale="log", yscale="log", xlabel="$\\kappa(G)$ of the unit-norm data", ylabel="$m^*$ (neurons)",
           ylim=(max(lo / 4, 1), top * 30), title="(c) the width needed")
    if fits is not None:
        f = fits[(fits["y"] == "m_star_eig") & (fits["x"] == "kappa_G")]
        txt = "\n".join(_slope_text(r) for r in f.itertuples())
        ax.text(0.98, 0.03, "$m^*$ rel. to $\\lambda_{min}$:\n" + txt, transform=ax.transAxes, ha="right",
                va="bottom", bbox={"fc": "white", "alpha": 0.8, "lw": 0})
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)

    ax = axes[3]
    for j, model in enumerate(m for m in _MODEL_ORDER if m in set(summary["model"])):
        g = summary[summary["model"] == model].sort_values("kappa_K_inf")
        ax.plot(g["kappa_K_inf"], g["m_star_eig"], "s--", color=f"C{j}", label=f"{model}")
    kk = np.geomspace(summary["kappa_K_inf"].min(), summary["kappa_K_inf"].max(), 20)
    ok = summary.dropna(subset=["m_star_eig"])
    if len(ok):
        c = float(np.median(ok["m_star_eig"] / ok["kappa_K_inf"] ** 2))
        ax.plot(kk, c * kk**2, "k:", lw=1, label="slope 2 ($\\kappa(K_\\infty)^2$)")
    ax.axhline(top, color="grey", lw=1, ls="-.", label=f"largest width tried ({top:.0f})")
    ax.set(xscale="log", yscale="log", xlabel="$\\kappa(K_\\infty)$ of the infinite-width NTK",
           ylabel="$m^*$ rel. to $\\lambda_{min}$ (neurons)", title="(d) the mechanism: $m^* \\sim \\kappa(K)^2$")
    if fits is not None:
        f = fits[(fits["y"] == "m_star_eig") & (fits["x"] == "kappa_K_inf")]
        txt = "\n".join(_slope_text(r) for r in f.itertuples())
        ax.text(0.98, 0.03, txt, transform=ax.transAxes, ha="right", va="bottom",
                bbox={"fc": "white", "alpha": 0.8, "lw": 0})
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return fig
