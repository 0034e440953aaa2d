"""ntkbook.plotting: the book style, the readable-text rule (>= 9 pt as shown), ranges of bounded quantities.

Every figure of chapters 1 and 2 (plotting.attention, plotting.spectral) is built from small synthetic tables
and must show its smallest text at >= MIN_TEXT_PT in the book's column (`rendered_text_pt`).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from ntkbook import kernels  # noqa: E402
from ntkbook import plotting as P  # noqa: E402
from ntkbook.experiments import gram_kernel as GK  # noqa: E402
from ntkbook.experiments import spectral as sp  # noqa: E402
from ntkbook.plotting import attention as figs1  # noqa: E402
from ntkbook.plotting import spectral as figs2  # noqa: E402


def _unit_rows(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


# ---- the rule itself -------------------------------------------------------------------------------------


def test_style_is_applied_on_import():
    assert matplotlib.rcParams["figure.dpi"] == P.DPI
    assert matplotlib.rcParams["legend.fontsize"] >= P.MIN_TEXT_PT * 96 / P.DPI


def test_rendered_text_pt_follows_the_scale_to_the_column():
    fig, ax = plt.subplots(figsize=(P.COLUMN_INCHES / 2, 2), dpi=P.DPI)
    ax.set_xlabel("x", fontsize=12)
    ax.tick_params(labelsize=10)
    ax.set_ylabel("y", fontsize=8)
    assert P.smallest_font_pt(fig) == 8
    # narrower than the column: shown at natural size, 8 pt at 110 dpi reads as 8 * 110 / 96 pt
    assert P.rendered_text_pt(fig) == pytest.approx(8 * P.DPI / 96)
    # four times the column: shown at about a quarter
    wide, ax = plt.subplots(figsize=(4 * P.COLUMN_INCHES, 2), dpi=P.DPI)
    ax.set_xlabel("x", fontsize=12)
    width = P.saved_width_px(wide)
    assert P.rendered_text_pt(wide) == pytest.approx(P.smallest_font_pt(wide) * P.DPI / 96 * P.COLUMN_PX / width)
    assert P.rendered_text_pt(wide) < 4
    plt.close("all")


def test_hidden_text_does_not_count():
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.text(0.5, 0.5, "tiny", fontsize=4, visible=False)
    ax.text(0.5, 0.2, "", fontsize=3)
    assert P.smallest_font_pt(fig) >= 9
    plt.close(fig)


def test_nonnegative_and_clipped_intervals():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [-20, 80])
    P.nonnegative(ax)
    assert ax.get_ylim()[0] == 0 and ax.get_ylim()[1] >= 80
    ax.set_xlim(2, 5)
    P.nonnegative(ax, "x")
    assert ax.get_xlim() == (2, 5)
    with pytest.raises(ValueError):
        P.nonnegative(ax, "z")
    lo, hi = P.clip_interval([-51.2, 10.0], [140.0, 30.0], 0, 100)
    np.testing.assert_array_equal(lo, [0.0, 10.0])
    np.testing.assert_array_equal(hi, [100.0, 30.0])
    yerr = P.clipped_yerr([44.4, 20.0], [-51.2, 10.0], [140.0, 30.0], 0, 100)
    np.testing.assert_allclose(yerr, [[44.4, 10.0], [55.6, 10.0]])
    with pytest.raises(ValueError, match="lower <= upper"):
        P.clip_interval(0, 1, 2, 1)
    plt.close(fig)


# ---- every figure of chapters 1 and 2 reads at >= 9 pt --------------------------------------------------


def _chapter1_figures():
    X = _unit_rows(np.random.default_rng(0).random((20, 50)))
    lin = pd.concat([GK.softmax_linearization_table(X, [1.0, 10.0, 100.0]).assign(dataset=d)
                     for d in ("mnist", "cifar10")])
    sens = pd.concat([GK.sensitivity_table(X, [0], n_random=5).assign(dataset=d) for d in ("mnist", "cifar10")])
    growth = pd.concat([GK.sensitivity_growth_table(X, [5, 10, 20], n_targets=2).assign(dataset=d)
                        for d in ("mnist", "cifar10")])
    rng = np.random.default_rng(1)
    angles = pd.DataFrame({"dataset": np.repeat(["mnist", "cifar10"], 40),
                           "arch": np.tile(np.repeat(["relu", "attn"], 20), 2),
                           "angle_deg": rng.uniform(0.5, 60, 80)})
    G = kernels.gram(X)
    return {
        "softmax_linearization": figs1.softmax_linearization_figure(lin),
        "sensitivity_ratio": figs1.sensitivity_ratio_figure(sens),
        "sensitivity_growth": figs1.sensitivity_growth_figure(growth),
        "feature_angle": figs1.feature_angle_figure(angles),
        "gram_heatmaps": figs1.gram_heatmaps_figure({"G": G, "G$^3$": G @ G @ G}, np.arange(20) % 3,
                                                    title="mnist"),
    }


def _chapter2_figures():
    rng = np.random.default_rng(6)
    pool = np.abs(rng.standard_normal((40, 10))) + 0.05
    t = pd.concat([sp.kappa_vs_n(pool, [5, 10, 20, 40], dataset=nm, progress_bar=False)
                   for nm in ("mnist", "cifar10")])
    Q, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    spd = (Q * np.geomspace(1, 0.1, 8)) @ Q.T
    dt = sp.depth_table(spd, [0, 1, 2]).assign(dataset="mnist", n=8)
    tt = sp.truncation_table(pool[:10], [1, 2, 5, 10]).assign(dataset="mnist")
    c = sp.width_law_sweep(n=6, d=12, kappas=[3.0, 30.0, 300.0], seeds=[0], widths=[4, 64, 1024],
                           progress_bar=False)
    s = sp.width_law_summary(c, tol_op=0.3, tol_eig=3.0)
    return {
        "kappa_vs_n": figs2.plot_kappa_vs_n(t, {"mnist": 1.2e3}),
        "depth": figs2.plot_depth(dt),
        "truncation": figs2.plot_truncation(tt),
        "width_law": figs2.plot_width_law(c, s, sp.width_law_fits(s)),
    }


def _chapter5_figures():
    from ntkbook.plotting import dual as figs5

    rng = np.random.default_rng(7)
    ds, kernels5 = ("mnist", "cifar10"), list(figs5.KERNEL_STYLE)
    power = pd.DataFrame([{"dataset": d, "kernel": k, "target": "mode", "ridge_rule": "loo", "noise": 0.25, "n": 200,
                           "mode": j, "seed": s, "error": rng.uniform(0.01, 1.0)}
                          for d in ds for k in kernels5 for j in (1, 2, 4, 8, 16, 32) for s in (0, 1)])
    summary = pd.DataFrame([{"dataset": d, "kernel": k, "class": c, "n": n, "noise": 0.25, "error": e,
                             "error_low": 0.8 * e,
                             "error_high": 1.2 * e}
                            for d in ds for k in kernels5 for c in ("aligned", "unaligned") for n in (50, 100, 200)
                            for e in [rng.uniform(0.05, 1.0)]])
    models = ["relu", "attn", "softmax:10", "trunc:5", "depth:2", "qkv"]
    widths = pd.DataFrame([{"dataset": d, "model": m, "seed": s, "log10_m_star": rng.uniform(2, 12)}
                           for d in ds for m in models for s in (0, 1, 2)])
    variants = pd.DataFrame([{"dataset": d, "model": m, "flip_rate": f, "flip_rate_low": f - 0.05,
                              "flip_rate_high": f + 0.05, "aligned_error": e, "aligned_error_low": 0.8 * e,
                              "aligned_error_high": 1.2 * e, "evaluable": m != "qkv"}
                             for d in ds for m in models for f, e in [(rng.uniform(0.1, 0.6), rng.uniform(0.05, 1))]])
    function = pd.DataFrame([{"dataset": d, "model": m, "width": w, "seed": s, "dist_rel": rng.uniform(0.01, 1)}
                             for d in ds for m in ("relu", "attn") for w in (64, 256, 1024) for s in (0, 1)])
    label = str
    return {
        "dual_power_modes": figs5.power_by_mode(power, 0.25, 200),
        "dual_power_n": figs5.power_by_n(summary, 0.25),
        "dual_widths": figs5.width_needed(widths, label),
        "dual_power_fragility": figs5.power_vs_fragility(variants, label),
        "dual_function": figs5.function_distance(function, label),
    }


@pytest.fixture(scope="module")
def chapter_figures():
    figures = {**_chapter1_figures(), **_chapter2_figures(), **_chapter5_figures()}
    yield figures
    plt.close("all")


FIGURES = ["softmax_linearization", "sensitivity_ratio", "sensitivity_growth", "feature_angle", "gram_heatmaps",
           "kappa_vs_n", "depth", "truncation", "width_law", "dual_power_modes", "dual_power_n", "dual_widths",
           "dual_power_fragility", "dual_function"]


@pytest.mark.parametrize("name", FIGURES)
def test_figure_text_is_at_least_9pt_as_shown(chapter_figures, name):
    fig = chapter_figures[name]
    shown = P.rendered_text_pt(fig)
    assert shown >= P.MIN_TEXT_PT, (f"{name}: smallest text {P.smallest_font_pt(fig):.1f} pt on a "
                                    f"{P.saved_width_px(fig)} px image reads as {shown:.1f} pt in the column")


def test_no_plain_text_norms_in_axis_labels(chapter_figures):
    for name, fig in chapter_figures.items():
        for ax in fig.axes:
            for label in (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()):
                assert "||" not in label.replace("\\|", ""), f"{name}: plain-text norm in {label!r} (use mathtext)"
