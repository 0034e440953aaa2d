"""ntkbook.report.spectral: chapter 2's rules driven to each status, its quoted numbers and its verdicts."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pandas as pd
import pytest

from ntkbook import paper
from ntkbook.claims import DOES_NOT_HOLD, HOLDS, NOT_EVALUABLE, NOT_RESOLVED, STATUSES
from ntkbook.experiments import spectral as sp
from ntkbook.report import spectral as R

matplotlib.use("Agg")
EPS = np.finfo(np.float64).eps


def _pools():
    rng = np.random.default_rng(11)
    return {"mnist": np.abs(rng.standard_normal((60, 10))) + 0.05,
            "cifar10": np.abs(np.random.default_rng(12).standard_normal((60, 10))) + 0.05}


@pytest.fixture(scope="module")
def toy():
    pools = _pools()
    spec = sp.SpectralSpec.resolve("quick", ns_small=[4, 6, 8], seeds_small=[0, 1], ns_large=[20, 60],
                                   ns_raw=[6, 20], n_precision=8, n_depth=6, depths=[0, 1, 2], n_trunc=8,
                                   ranks=[1, 2, 4, 8], n_real_ntk=8, width_n=6, width_d=12,
                                   width_kappas=[3.0, 30.0, 300.0], width_seeds=[0, 1], max_width_log2=14,
                                   tol_op=0.3, tol_eig=3.0)
    res = {"precision": sp.precision_tables(pools, 8),
           "kappa_n": sp.kappa_vs_n_tables(pools, ns_small=[4, 6, 8], seeds_small=[0, 1], ns_large=[20, 60],
                                           ns_raw=[6, 20]),
           "depth": sp.depth_tables(pools, 6, [0, 1, 2]), "truncation": sp.truncation_tables(pools, 8, [1, 2, 4, 8]),
           "real_kernels": sp.real_kernel_tables(pools, 8),
           "width_curves": sp.width_law_sweep(n=6, d=12, kappas=[3.0, 30.0, 300.0], seeds=[0, 1],
                                              widths=spec.widths, progress_bar=False)}
    return res, spec


@pytest.mark.parametrize("kappa_big, expected", [
    (1.2e3, HOLDS), (1.24e3, HOLDS), (1.3e3, DOES_NOT_HOLD), (5e6, DOES_NOT_HOLD), (math.inf, DOES_NOT_HOLD)])
def test_kappa_status_can_fail(kappa_big, expected):
    # the paper's 1.2e3 stands for [1150, 1250]; an infinite kappa_d is >= 1/(n eps) = 4.5e11 at n = 1e4
    assert R.kappa_status(1.2e3, kappa_big, 10_000) == expected


def test_kappa_status_with_an_interval_reaching_the_band_is_not_resolved():
    # an infinite kappa_d at an n so large that 1/(n eps) < 1.2e3 cannot decide
    assert R.kappa_status(1.2e3, math.inf, int(1e13)) == NOT_RESOLVED


def test_stated_band():
    assert R.stated_band(1.2e3) == pytest.approx((1150, 1250))
    assert R.stated_band(8.7e3) == pytest.approx((8650, 8750))
    assert R.stated_band(1e18) == pytest.approx((0.5e18, 1.5e18))


def test_threshold_status_is_one_sided():
    assert R.threshold_status(1e18, 1e40) == HOLDS  # a value far above the paper's supports "m >> 1e18"
    assert R.threshold_status(1e18, 1e12) == DOES_NOT_HOLD
    assert R.threshold_status(1e18, 1e12, (1e12, math.inf)) == NOT_RESOLVED


def test_kappa_interval_of_an_infinite_kappa_is_the_noise_floor():
    assert R.kappa_interval(math.inf, 1000) == (1 / (1000 * EPS), math.inf)
    assert R.kappa_interval(5.0, 1000) is None


@pytest.mark.parametrize("expected_exp, lo, hi, status", [
    (3.0, 2.989, 2.9999, HOLDS),          # nearer 3 than any other integer
    (3.0, 2.0, 2.4, DOES_NOT_HOLD),
    (6.0, 1.0, 7.0, NOT_RESOLVED),
    (0.0, 0.2, 0.4, HOLDS),               # no kappa factor
    (0.0, 0.38, 0.78, NOT_RESOLVED),      # the measured 2L-ReLU interval no longer passes by a chosen tolerance
    (0.0, 0.6, 0.7, DOES_NOT_HOLD)])
def test_exponent_status(expected_exp, lo, hi, status):
    assert R.exponent_status(expected_exp, lo, hi) == status


def test_difference_fit_of_identical_architectures_is_zero():
    import pandas as pd
    k = [3.0, 30.0, 300.0, 3000.0]
    rows = [{"kappa_nominal": x, "arch": a, "kappa_G": x, "m_star_eig": 2.0 ** (i + 4)} for i, x in enumerate(k)
            for a in ("attn", "relu")]
    d = R.difference_fit(pd.DataFrame(rows))
    assert d["exponent"] == 0.0 and d["lo"] < 0 < d["hi"]


def test_identity_status_is_not_evaluable_beyond_float64():
    assert R._identity_status(1e-9, 100, 3, 1e6) == HOLDS
    assert R._identity_status(1e-2, 100, 3, 1e6) == DOES_NOT_HOLD  # tol = 3 * 100 * eps * 1e6 = 6.7e-8
    assert R._identity_status(1e-9, 100, 3, 1e14) == NOT_EVALUABLE
    assert R.identity_tolerance(100, 3, 1e6) == pytest.approx(300 * EPS * 1e6)


def test_identity_tolerance_bounds_the_measured_error_on_a_nonnegative_gram_matrix():
    # G^3 of non-negative unit rows with a known kappa: the float64 error stays inside p n eps kappa^p
    rng = np.random.default_rng(0)
    x = np.abs(rng.standard_normal((40, 60))) + 0.1
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    t = sp.power_condition_table(x @ x.T, [1, 3])
    for r in t.itertuples():
        assert r.rel_error <= R.identity_tolerance(40, r.p, r.predicted)


def test_kd_sentence_names_the_measured_rank():
    s = {"n_big": 10_000, "kappa_big": np.inf, "rank_big": 712, "kappa_big_num": 3.0e7}
    assert "span only 712 of the $d$ = 784" in R.kd_sentence(s, 784) and "3.00e+07" in R.kd_sentence(s, 784)
    assert "full rank $d$ = 3072" in R.kd_sentence({**s, "kappa_big": 2.5e6}, 3072)
    assert "still $\\le d$ = 784" in R.kd_sentence({**s, "n_big": 300, "kappa_big": 4e3}, 784)


def test_numbers_match_the_tables(toy):
    res, spec = toy
    nums = R.chapter_numbers(res, spec)
    prec = res["precision"]
    r = prec[(prec.dataset == "cifar10") & (prec.p == 3) & (prec.dtype == "float64")].iloc[0]
    assert nums["prec_err64_cifar10"] == r.rel_error and nums["prec_k3_cifar10"] == r.predicted
    dep = res["depth"]
    ok = dep[dep.resolvable & (dep.k > 0)]
    assert nums["depth_max_err"] == ok.rel_error.max() and nums["depth_kmax_ok"] == ok.k.max()
    med = sp.kappa_medians(res["kappa_n"])
    gm = med[med.dataset == "mnist"].sort_values("n")
    assert nums["n_match_mnist"] == sp.n_at_kappa(gm.n, gm.kappa, paper.KAPPA["mnist"])
    assert nums["n_big_mnist"] == 60 and nums["d_mnist"] == 10 and math.isnan(nums["kappa_100_mnist"])
    summary, fits = R.fits_and_summary(res, spec)
    f = sp.fit_row(fits, "attn", "kappa_features")
    assert nums["fit_feat_attn"] == f.exponent and nums["fit_feat_attn_lo"] == f.lo
    assert nums["cap_ratio"] == R.cap_ratio(summary) <= 1
    k = res["real_kernels"][res["real_kernels"].dataset == "mnist"].set_index("arch")
    assert nums["real_ratio_mnist"] == k.loc["attn", "kappa_K_inf"] / k.loc["relu", "kappa_K_inf"]
    tr = res["truncation"]
    assert nums["trunc_r10"] == 4 and nums["trunc_unres"] == int((~tr.resolvable).sum())


def test_verdicts_from_toy_results(toy):
    res, spec = toy
    verdicts = R.verdicts_from_results(res, spec)
    by = {v.claim: v for v in verdicts}
    expected = {f"{k}.{d}" for k in ("kappa", "threshold.v1", "threshold.v2", "thm4.7.identity")
                for d in ("mnist", "cifar10")}
    expected |= {"depth.identity", "truncation.identity", "width.arccos_cap", "thm4.7.width.difference"}
    expected |= {c for *_, c, _, _ in R.EXPECTED_EXPONENTS.values() if c}
    assert set(by) == expected
    assert all(v.status in STATUSES and v.section in R.SECTIONS.values() for v in verdicts)
    assert by["thm4.7.identity.mnist"].status == HOLDS and by["width.arccos_cap"].status == HOLDS
    assert by["thm4.7.features"].status in (HOLDS, NOT_RESOLVED)
    # a measured identity off by 1% flips the verdict; a broken cap does too
    broken = dict(res, precision=res["precision"].assign(rel_error=0.01))
    assert {v.claim: v for v in R.verdicts_from_results(broken, spec)}["thm4.7.identity.mnist"].status == \
        DOES_NOT_HOLD
    table = R.fits_table(R.fits_and_summary(res, spec)[1])
    assert set(table.status) <= set(STATUSES) and len(table) == len(R.EXPECTED_EXPONENTS)
    summ = R.kappa_summary(sp.kappa_medians(res["kappa_n"]), ["mnist", "cifar10"])
    thr = R.threshold_table(summ)
    assert len(thr) == 4 and thr["paper"].tolist() == [1e18, 1e24, 1e24, 1e29]


def test_cap_ratio_above_one_fails_the_bound():
    s = pd.DataFrame({"kappa_K_inf": [10.0, 40.0], "kappa_features": [20.0, 30.0], "kappa_arccos": [50.0, 35.0]})
    assert R.cap_ratio(s) == pytest.approx(40 / 30)


def test_tex_sci():
    assert R.tex_sci(1.2e3) == r"1.2\times10^{3}" and R.tex_sci(1e18) == "10^{18}" and R.tex_sci(8.7e3, 1) == "9\\times10^{3}"


def test_display_tables_typeset_headers_and_numbers():
    frame = pd.DataFrame({"dataset": ["mnist", "cifar10"], "p": [3, 3], "kappa_G": [1.2e3, 8.7e3],
                          "predicted": [1.7e9, 6.6e11], "rel_error": [2e-13, 5e-12], "resolvable": [True, True]})
    shown = R.display_frame(frame)
    assert list(shown.columns) == ["data set", "$p$", r"$\kappa(G)$", r"$\kappa(G)^p$", "relative error", "resolvable"]
    assert list(shown["data set"]) == ["MNIST", "CIFAR-10"]
    page = R.display_table(frame, ["dataset", "kappa_G", "predicted", "rel_error"],
                           formats={"rel_error": ".1e"})._repr_html_()
    assert r"\(\kappa(G)\)" in page and r"\(1.70\times10^{9}\)" in page and r"\(2.0\times10^{-13}\)" in page
    assert "kappa_G" not in page and "e+" not in page and "e-1" not in page and ">1200<" in page
    fits = pd.DataFrame([{"arch": "attn", "fit": "m*_eig vs kappa(G)", "y": "m_star_eig", "x": "kappa_G",
                          "exponent": 6.1, "lo": 5.8, "hi": 6.4, "n_points": 5, "n_dropped": 0}])
    assert R.fits_table(fits).iloc[0]["fit"] == r"$m^*_{\mathrm{eig}}$ vs $\kappa(G)$"
    assert set(R.FIT_LABELS) >= set(fits["fit"])


def test_threshold_table_headers_are_math():
    summary = {"mnist": {"kappa_big": 1.0e3, "kappa_big_num": 1.0e3, "n_big": 5000}}
    cols = list(R.threshold_table(summary).columns)
    assert r"with the paper's $\kappa(G)$" in cols and any(r"$\kappa_d(G)$" in c for c in cols)
    assert not any("κ" in c for c in cols)
