"""Tests for ntkbook.experiments.spectral and ntkbook.plotting.spectral (chapter 2)."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from ntkbook import data, kernels
from ntkbook.experiments import spectral as sp


def _gaussian(n, d, seed=0):
    return np.random.default_rng(seed).standard_normal((n, d))


# ------------------------------------------------------------------------------------------- spectra of data


@pytest.mark.parametrize("n,d", [(12, 30), (40, 9)])
@pytest.mark.parametrize("normalise", [True, False])
def test_gram_spectrum_fast_path_matches_full_eigendecomposition(n, d, normalise):
    x = np.abs(_gaussian(n, d)) + 0.1
    fast = sp.gram_spectrum(x, normalise=normalise)
    xx = data.unit_rows(x) if normalise else x
    slow = kernels.eigenvalues(kernels.gram(xx))[: min(n, d)]
    assert fast.shape == (min(n, d),)
    np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=1e-12 * slow[0])


def test_spectrum_summary_agrees_with_kernels_and_flags_rank_deficiency():
    x = data.unit_rows(_gaussian(20, 50, seed=1))
    s = sp.spectrum_summary(sp.gram_spectrum(x), 20, 50)
    assert s["kappa"] == pytest.approx(kernels.condition_number(kernels.gram(x)), rel=1e-8)
    assert s["numerical_rank"] == 20
    # n > d: plain kappa infinite, kappa_d finite and equal to kernels.effective_condition_number
    y = data.unit_rows(_gaussian(30, 8, seed=2))
    s = sp.spectrum_summary(sp.gram_spectrum(y), 30, 8)
    assert s["kappa"] == np.inf
    assert s["kappa_d"] == pytest.approx(kernels.effective_condition_number(kernels.gram(y), 8), rel=1e-8)
    # data of rank 5 < d = 8 (like always-black pixels): kappa_d infinite, numerical rank 5
    z = _gaussian(30, 5, seed=3) @ _gaussian(5, 8, seed=4)
    s = sp.spectrum_summary(sp.gram_spectrum(z, normalise=False), 30, 8)
    assert s["kappa_d"] == np.inf and s["numerical_rank"] == 5 and np.isfinite(s["kappa_numerical"])
    with pytest.raises(ValueError, match="top min"):
        sp.spectrum_summary(np.ones(3), 30, 8)


def test_kappa_vs_n_shapes_nesting_and_determinism():
    pool = np.abs(_gaussian(60, 20, seed=5)) + 0.05
    t1 = sp.kappa_vs_n(pool, [5, 10, 40], seeds=(0, 1), dataset="toy", progress_bar=False)
    t2 = sp.kappa_vs_n(pool, [5, 10, 40], seeds=(0, 1), dataset="toy", progress_bar=False)
    assert len(t1) == 2 * 2 * 3
    pd.testing.assert_frame_equal(t1, t2)
    one = t1[(t1["normalised"]) & (t1["seed"] == 0)].set_index("n")
    assert one.loc[40, "kappa"] == np.inf and np.isfinite(one.loc[40, "kappa_d"])
    # nested subsets: the first n rows of one permutation, so lambda_1 grows with n
    assert one.loc[5, "lambda_1"] <= one.loc[10, "lambda_1"] <= one.loc[40, "lambda_1"]
    perm = np.random.default_rng(0).permutation(60)
    expect = sp.spectrum_summary(sp.gram_spectrum(pool[perm[:10]]), 10, 20)["kappa"]
    assert one.loc[10, "kappa"] == pytest.approx(expect, rel=1e-12)
    with pytest.raises(ValueError, match="pool size"):
        sp.kappa_vs_n(pool, [100], progress_bar=False)


def test_n_at_kappa_interpolates_in_log_log():
    ns = np.array([10.0, 100.0, 1000.0])
    kap = ns**2  # kappa = n^2
    assert sp.n_at_kappa(ns, kap, 1e3) == pytest.approx(10**1.5, rel=1e-12)
    assert np.isnan(sp.n_at_kappa(ns, kap, 1e9))
    assert sp.n_at_kappa(ns, kap, 5.0) == 10.0
    assert sp.n_at_kappa(ns, np.array([1.0, 10.0, np.inf]), 100.0) == 1000.0


# ------------------------------------------------------------------------------- Theorem 4.7, depth, precision


def _spd_with_kappa(n, kappa, seed=0):
    q, _ = np.linalg.qr(_gaussian(n, n, seed))
    return (q * np.geomspace(1.0, 1.0 / kappa, n)) @ q.T


def test_power_table_checks_theorem_4_7_in_float64_and_float32_fails():
    G = _spd_with_kappa(20, 1e3, seed=1)
    t = sp.power_condition_table(G, [1, 3], dtypes=("float64", "float32")).set_index(["dtype", "p"])
    assert t.loc[("float64", 3), "predicted"] == pytest.approx(1e9, rel=1e-6)
    assert t.loc[("float64", 3), "rel_error"] < 1e-4
    assert t.loc[("float64", 3), "resolvable"]
    # kappa^3 = 1e9 is far beyond float32's 1/(n eps32) ~ 4e5: the measurement is wrong by orders of magnitude
    assert not t.loc[("float32", 3), "resolvable"]
    assert t.loc[("float32", 3), "rel_error"] > 0.5
    assert t.loc[("float32", 1), "rel_error"] < 1e-2
    with pytest.raises(ValueError, match="symmetric"):
        sp.power_condition_table(np.triu(G), [3])
    with pytest.raises(ValueError, match="float64"):
        sp.power_condition_table(G, [3], dtypes=("float16",))


def test_depth_table_kappa_grows_monotonically_as_kappa_to_2k_plus_1():
    G = _spd_with_kappa(16, 10.0, seed=2)
    t = sp.depth_table(G, [0, 1, 2, 3])
    assert list(t["p"]) == [1, 3, 5, 7]
    assert np.all(np.diff(t["measured"]) > 0)
    np.testing.assert_allclose(t["measured"], 10.0 ** t["p"], rtol=1e-6)
    with pytest.raises(ValueError):
        sp.depth_table(G, [-1])


def test_truncation_table_measured_matches_formula():
    x = np.abs(_gaussian(30, 60, seed=3)) + 0.1
    t = sp.truncation_table(x, [1, 2, 5, 10, 30])
    assert t["resolvable"].all()
    np.testing.assert_allclose(t["kappa_kernel_measured"], t["kappa_kernel_predicted"], rtol=1e-6)
    assert t["kappa_G_r"].iloc[0] == 1.0 and np.all(np.diff(t["kappa_G_r"]) > 0)
    np.testing.assert_allclose(t["width_v1"], t["kappa_G_r"] ** 6)
    with pytest.raises(ValueError, match="between 1"):
        sp.truncation_table(x, [31])


# ------------------------------------------------------------------------------------------------ width law


def test_kernel_conditions_attention_features_cube_kappa():
    x = data.synthetic_gram_data(12, 24, 30.0, seed=0)
    t = sp.kernel_conditions(x).set_index("arch")
    kg = data.gram_condition_number(x)
    assert t.loc["relu", "kappa_features"] == pytest.approx(kg, rel=1e-8)
    # MLP-Attn normalises rows after attention, so kappa(ZZ^T) is kappa(G)^3 only up to that rescaling
    assert 0.3 < t.loc["attn", "kappa_features"] / kg**3 < 3.0
    z = sp.feature_matrix("attn", x)
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), 1.0, atol=1e-12)
    assert t.loc["attn", "kappa_K_inf"] == pytest.approx(
        kernels.condition_number(kernels.first_layer_ntk(z, z)), rel=1e-10)


@pytest.mark.parametrize("kappa", [3.0, 100.0, 1e4])
def test_ntk_condition_bounded_by_schur(kappa):
    """kappa(A * C) <= min(kappa(C), kappa(A)) for PSD A with constant diagonal and C with unit diagonal."""
    x = data.synthetic_gram_data(16, 32, kappa, seed=3)
    t = sp.kernel_conditions(x)
    bound = np.minimum(t["kappa_features"], t["kappa_arccos"])
    assert np.all(t["kappa_K_inf"] <= bound * (1 + 1e-9))
    # the bound is not vacuous for MLP-Attn: its NTK is far better conditioned than its features' kernel
    attn = t.set_index("arch").loc["attn"]
    if kappa >= 100:
        assert attn["kappa_K_inf"] < 1e-3 * attn["kappa_features"]


@pytest.mark.parametrize("arch", ["relu", "attn"])
def test_error_curve_fast_path_matches_bruteforce(arch):
    x = data.synthetic_gram_data(10, 20, 50.0, seed=1)
    z = sp.feature_matrix(arch, x)
    widths = [1, 2, 8, 32, 128, 512]
    fast = sp.ntk_error_curve(z, widths, seed=4)
    slow = sp.ntk_error_curve_bruteforce(z, widths, seed=4)
    pd.testing.assert_frame_equal(fast, slow, rtol=1e-9, atol=1e-12)
    # the error shrinks like m^{-1/2}: well below its m = 1 value at m = 512
    assert fast["err_op"].iloc[-1] < 0.25 * fast["err_op"].iloc[0]
    assert np.all(fast["err_eig"] >= fast["err_op"])


def test_m_star_search_matches_bruteforce_scan():
    x = data.synthetic_gram_data(8, 16, 20.0, seed=2)
    z = sp.feature_matrix("attn", x)
    widths = [2**k for k in range(0, 12)]
    slow = sp.ntk_error_curve_bruteforce(z, widths, seed=7)
    for tol in (0.3, 0.1, 0.05, 1e-6):
        expect = next((m for m, e in zip(slow["width"], slow["err_op"], strict=True) if e <= tol), None)
        got = sp.first_width_below(widths, sp.ntk_error_curve(z, widths, seed=7)["err_op"], tol)
        assert (np.isnan(got) and expect is None) or got == expect
    rng = np.random.default_rng(0)
    for _ in range(50):
        e = rng.uniform(0, 1, size=6)
        tol = rng.uniform(0, 1)
        expect = next((w for w, v in zip([1, 2, 4, 8, 16, 32], e, strict=True) if v <= tol), np.nan)
        got = sp.first_width_below([1, 2, 4, 8, 16, 32], e, tol)
        assert (np.isnan(got) and np.isnan(expect)) or got == expect


def test_width_law_sweep_summary_and_fits_are_deterministic():
    kw = dict(n=8, d=16, kappas=[3.0, 30.0, 300.0], seeds=[0, 1, 2], widths=[4, 16, 64, 256, 1024],
              progress_bar=False)
    c1, c2 = sp.width_law_sweep(**kw), sp.width_law_sweep(**kw)
    pd.testing.assert_frame_equal(c1, c2)
    assert len(c1) == 3 * 2 * 3 * 5
    s = sp.width_law_summary(c1, tol_op=0.2, tol_eig=2.0)
    assert len(s) == 6 and set(s["arch"]) == {"relu", "attn"}
    # a tolerance no width meets: censored, m* nan
    s0 = sp.width_law_summary(c1, tol_op=1e-9, tol_eig=1e-9)
    assert s0["censored_op"].all() and s0["m_star_op"].isna().all()
    # the medians: recompute one by hand
    g = c1[(c1["arch"] == "attn") & (c1["kappa_nominal"] == 30.0)]
    per_seed = [sp.first_width_below(h["width"], h["err_op"], 0.2) for _, h in g.groupby("seed")]
    row = s[(s["arch"] == "attn") & (s["kappa_nominal"] == 30.0)].iloc[0]
    assert row["m_star_op"] == np.median(np.where(np.isnan(per_seed), np.inf, per_seed))
    f = sp.width_law_fits(s)
    attn = f[(f["arch"] == "attn") & (f["y"] == "kappa_features")].iloc[0]
    assert 2.5 < attn["exponent"] < 3.5  # Theorem 4.7 on the actual (row-normalised) features


def test_fit_power_law_recovers_known_exponent():
    rng = np.random.default_rng(3)
    x = np.geomspace(1, 1e4, 12)
    y = 5.0 * x**2.5 * np.exp(rng.normal(0, 0.05, size=x.size))
    f = sp.fit_power_law(x, y)
    assert f["lo"] < 2.5 < f["hi"] and abs(f["exponent"] - 2.5) < 0.05
    assert f["hi"] - f["lo"] < 0.1
    exact = sp.fit_power_law(x, 3.0 * x**6)
    assert exact["exponent"] == pytest.approx(6.0) and exact["log10_prefactor"] == pytest.approx(np.log10(3.0))
    withnan = sp.fit_power_law(np.append(x, 2.0), np.append(y, np.nan))
    assert withnan["n_dropped"] == 1 and withnan["n_points"] == 12
    with pytest.raises(ValueError, match="at least 3"):
        sp.fit_power_law([1.0, 2.0], [1.0, 4.0])
    with pytest.raises(ValueError, match="positive"):
        sp.fit_power_law([1.0, 2.0, 3.0], [1.0, -4.0, 2.0])


def test_figures_are_built():
    from ntkbook.plotting import spectral as ps

    pool = np.abs(_gaussian(40, 10, seed=6)) + 0.05
    t = pd.concat([sp.kappa_vs_n(pool, [5, 10, 20, 40], dataset=nm, progress_bar=False) for nm in ("a", "b")])
    assert ps.plot_kappa_vs_n(t, {"a": 100.0}).axes
    dt = sp.depth_table(_spd_with_kappa(8, 10.0), [0, 1, 2]).assign(dataset="a", n=8)
    assert ps.plot_depth(dt).axes
    tt = sp.truncation_table(pool[:10], [1, 2, 5, 10]).assign(dataset="a")
    assert ps.plot_truncation(tt).axes
    c = sp.width_law_sweep(n=6, d=12, kappas=[3.0, 30.0, 300.0], seeds=[0], widths=[4, 64, 1024],
                           progress_bar=False)
    s = sp.width_law_summary(c, tol_op=0.3, tol_eig=3.0)
    assert len(ps.plot_width_law(c, s, sp.width_law_fits(s)).axes) == 4


@pytest.mark.realdata
def test_real_mnist_small_subset_kappa_and_rank_deficiency(real_data_dir):
    x = data.flatten(data.load("mnist", "test", data_dir=real_data_dir).images)
    t = sp.kappa_vs_n(x, [100, 2000], normalise=(True,), dataset="mnist", progress_bar=False).set_index("n")
    # a 100-image subset has kappa of the order the paper reports (1.2e3) ...
    assert 1e2 < t.loc[100, "kappa"] < 1e5
    # ... while 2000 images span fewer than d = 784 directions (always-black pixels): kappa_d is infinite
    assert t.loc[2000, "kappa_d"] == np.inf and t.loc[2000, "numerical_rank"] < 784


# --- the chapter's assembly: profiles, per-dataset runs, quoted numbers, the 'Paper vs this book' table ---


def _pools():
    """Two small non-negative pools (like images), d = 10: n <= d and n > d both occur."""
    return {"mnist": np.abs(_gaussian(60, 10, seed=11)) + 0.05, "cifar10": np.abs(_gaussian(60, 10, seed=12)) + 0.05}


def test_spec_fills_only_the_none_knobs_and_builds_the_width_grid():
    p = sp.SpectralSpec.resolve("quick", n_depth=7, ranks=None)
    assert p.n_depth == 7 and p.ranks == tuple(sp.SpectralSpec.PROFILES["quick"]["ranks"])
    assert p.widths == [2**k for k in range(2, 16)] and p.widths[0] == 4 and p.widths[-1] == 2**15
    assert sp.SpectralSpec.resolve("default").n_real_ntk == 100
    assert sp.SpectralSpec.PROFILES["quick"]["n_depth"] == 16  # the profile itself is not modified
    with pytest.raises(ValueError, match="unknown profile"):
        sp.SpectralSpec.resolve("fast")
    with pytest.raises(ValueError, match="n_depth"):
        sp.SpectralSpec.resolve("quick", n_dpeth=3)
    with pytest.raises(ValueError, match="ranks must be"):
        sp.SpectralSpec.resolve("quick", ranks=[1, 500])
    with pytest.raises(ValueError, match="width_n must be"):
        sp.SpectralSpec.resolve("quick", width_n=100)
    with pytest.raises(ValueError, match="unknown result parts"):
        sp.results(p, ["nope"])


def test_results_are_cached_and_reread(tmp_path, monkeypatch):
    pools = _pools()
    monkeypatch.setattr(sp, "load_pools", lambda datasets, split: pools)
    spec = sp.SpectralSpec.resolve("quick", ns_small=[4, 6], seeds_small=[0], ns_large=[20], ns_raw=[6],
                                   n_precision=8, n_depth=6, depths=[0, 1], n_trunc=8, ranks=[1, 2, 4],
                                   n_real_ntk=8)
    first = sp.results(spec, ["precision", "depth"], cache_dir=tmp_path)
    monkeypatch.setattr(sp, "load_pools", lambda *a: (_ for _ in ()).throw(AssertionError("recomputed")))
    again = sp.results(spec, ["precision", "depth"], cache_dir=tmp_path)
    for part in first:
        pd.testing.assert_frame_equal(first[part], again[part])
    # the units are the cache entries results() reads: a sweep run elsewhere fills what the chapter reads
    units = sp.units(spec, ["precision"])
    assert [u.kind for u in units] == ["spectral-precision"] and units[0].params["n_precision"] == 8
    from ntkbook import cache
    assert cache.load(units[0].kind, units[0].params, cache_dir=tmp_path, key=units[0].key) is not None
    with pytest.raises(ValueError, match="unknown result part"):
        sp.part_unit("nope")
    with pytest.raises(ValueError, match="needs the knobs"):
        sp.part_unit("depth", datasets=["mnist"], split="test")


def test_seeded_subset_is_the_start_of_a_seeded_permutation_and_nested():
    x = np.arange(40.0).reshape(20, 2)
    s = sp.seeded_subset(x, 5, seed=3)
    np.testing.assert_array_equal(s, x[np.random.default_rng(3).permutation(20)[:5]])
    np.testing.assert_array_equal(sp.seeded_subset(x, 12, seed=3)[:5], s)
    with pytest.raises(ValueError, match="pool size"):
        sp.seeded_subset(x, 21)


def test_precision_tables_and_numbers_match_a_direct_computation():
    pools = _pools()
    prec = sp.precision_tables(pools, 8)
    assert list(prec.columns) == ["dataset", "dtype", "p", "kappa_G", "predicted", "measured", "rel_error",
                                  "resolvable"]
    assert len(prec) == 2 * 2 * 2 and list(prec.dataset.unique()) == ["mnist", "cifar10"]
    G = kernels.gram(data.unit_rows(pools["cifar10"][np.random.default_rng(0).permutation(60)[:8]]))
    ref = sp.power_condition_table(G, [1, 3], dtypes=("float64", "float32")).set_index(["dtype", "p"])
    mine = prec[prec.dataset == "cifar10"].set_index(["dtype", "p"])
    assert mine.loc[("float64", 3), "predicted"] == ref.loc[("float64", 3), "predicted"]
    assert mine.loc[("float32", 3), "rel_error"] == ref.loc[("float32", 3), "rel_error"]


def test_kappa_tables_medians_and_normalisation_ratio():
    pools = _pools()
    kn = sp.kappa_vs_n_tables(pools, ns_small=[4, 6, 8], seeds_small=[0, 1], ns_large=[20, 60, 500], ns_raw=[6, 20])
    # ns_large beyond the pool (500) is dropped; raw rows are seed 0 only
    assert kn.n.max() == 60 and set(kn[~kn.normalised].n) == {6, 20}
    med = sp.kappa_medians(kn)
    assert list(med.columns) == ["dataset", "n", "kappa", "kappa_d", "numerical_rank", "kappa_numerical"]
    g = kn[kn.normalised & (kn.dataset == "mnist") & (kn.n == 6)]
    assert med[(med.dataset == "mnist") & (med.n == 6)].kappa.iloc[0] == pytest.approx(g.kappa.median())
    # raw / unit ratio by hand
    raw = kn[~kn.normalised].set_index(["dataset", "n"]).kappa_d
    unit = kn[kn.normalised & (kn.seed == 0)].groupby(["dataset", "n"]).kappa_d.median()
    r = [raw[k] / unit[k] for k in raw.index if np.isfinite(raw[k] / unit[k])]
    assert sp.normalisation_ratio(kn) == (pytest.approx(min(r)), pytest.approx(max(r)))


def test_depth_and_truncation_tables():
    pools = _pools()
    dep = sp.depth_tables(pools, 6, [0, 1, 2])
    assert set(dep.columns) >= {"dataset", "k", "p", "rel_error", "resolvable", "n"} and (dep.n == 6).all()
    assert list(dep[dep.dataset == "mnist"].p) == [1, 3, 5]
    tr = sp.truncation_tables(pools, 8, [1, 2, 4, 8])
    assert len(tr) == 2 * 4 and list(tr.dataset.unique()) == ["mnist", "cifar10"]


def test_width_law_fits_carry_no_paper_values():
    c = sp.width_law_sweep(n=6, d=12, kappas=[3.0, 30.0, 300.0], seeds=[0, 1], widths=[4, 64, 1024, 16384],
                           progress_bar=False)
    fits = sp.width_law_fits(sp.width_law_summary(c, tol_op=0.3, tol_eig=3.0))
    assert not {"theory", "consistent"} & set(fits.columns)
    assert len(fits) == 2 * 5
    with pytest.raises(ValueError, match="no fit"):
        sp.fit_row(fits, "attn", "kappa_G")


def test_real_kernel_tables():
    real = sp.real_kernel_tables({"mnist": _pools()["mnist"]}, 8)
    assert len(real) == 2 and set(real.arch) == {"relu", "attn"} and (real.dataset == "mnist").all()
    assert "model" not in real.columns  # ids only: the words are the report's (ntkbook.labels)
