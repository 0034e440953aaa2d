"""ntkbook.experiments.gram_kernel: Chapter 1's profiles, per-dataset checks and verdict table."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ntkbook import kernels as K
from ntkbook.experiments import gram_kernel as GK
from ntkbook.stats import loglog_fit


def unit_rows(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture
def Xs():
    """Two toy 'data sets' with positive entries (correlated, like images), unit rows."""
    rng = np.random.default_rng(5)
    return {"a": unit_rows(rng.random((60, 12))), "b": unit_rows(rng.random((60, 9)) + 0.5)}


# ---------------------------------------------------------------- profiles


def test_spec_profiles_and_validation():
    spec = GK.GramKernelSpec.resolve("quick", n_theorem=None, n_sens=123)
    assert spec.n_theorem == 200 and spec.n_sens == 123 and spec.profile == "quick"
    assert GK.GramKernelSpec.resolve("default").growth_ns[-1] == 3200
    assert GK.GramKernelSpec.resolve("default").n_max == 3200
    assert isinstance(spec.temperatures, tuple) and hash(spec)  # hashable: results and loads are memoised on it
    with pytest.raises(ValueError, match="unknown profile"):
        GK.GramKernelSpec.resolve("fast")
    with pytest.raises(ValueError, match="n_theorem"):
        GK.GramKernelSpec.resolve("quick", n_tehorem=5)
    with pytest.raises(ValueError, match="n_targets must be"):
        GK.GramKernelSpec.resolve("quick", n_targets=1000)
    with pytest.raises(ValueError, match="temperatures must be"):
        GK.GramKernelSpec.resolve("quick", temperatures=[1.0, 2.0])
    from ntkbook.specs.gram_kernel import sample_size

    assert sample_size(n_theorem=10, n_attention=5, n_ntk=3, n_sens=7, growth_ns=[4, 40], n_heatmap=20) == 40
    with pytest.raises(ValueError, match="unknown result parts"):
        GK.results(spec, ["nope"])


def test_units_key_the_sample_and_the_parts_knobs(tmp_path, monkeypatch, Xs):
    spec = GK.GramKernelSpec.resolve("quick", datasets=["a"], n_theorem=20, n_triple=4, n_sens=20, n_targets=2,
                                     n_random=3, n_attention=20, n_ntk=10, growth_ns=[10, 20], n_heatmap=10)
    units = {u.params["part"]: u for u in GK.units(spec)}
    assert set(units) == set(GK.RESULT_PARTS)
    # every part depends on the sample (its size, the held-out test points, the seed), and on its own knobs only
    for u in units.values():
        assert {"seed", "datasets", "n_max", "n_ntk_test"} <= set(u.params)
    assert "n_sens" in units["sensitivity"].params and "n_sens" not in units["theorem41"].params
    assert units["linearization"].key != GK.units(spec.replace(n_ntk_test=5), ["linearization"])[0].key
    sample = {"a": {"x": Xs["a"], "x_test": Xs["a"][:3], "y": np.zeros(60), "note": "", "n_classes": 1}}
    monkeypatch.setattr(GK, "_load", lambda *args: sample)
    monkeypatch.setattr(GK, "_theorem_4_2", lambda *args: (pd.DataFrame({"x": [1.0]}), pd.DataFrame({"y": [2.0]})))
    res = GK.results(spec, ["theorem41", "angles"], cache_dir=tmp_path)
    assert res["theorem41"].n.tolist() == [20] and res["angles"].y.tolist() == [2.0]
    with pytest.raises(ValueError, match="needs the knobs"):
        GK.part_unit("sensitivity", seed=0, datasets=["a"], n_max=60, n_ntk_test=3, n_sens=20)


def test_loglog_slope_matches_plotting_helper():

    x = np.array([1.0, 3.0, 10.0, 100.0])
    y = 2.5 * x**-1.3 * (1 + 0.01 * np.array([1, -1, 1, -1]))
    assert GK._slope(x, y) == loglog_fit(x, y)[0]
    assert loglog_fit(x, 4 * x**2)[0] == pytest.approx(2.0, rel=1e-12)
    with pytest.raises(ValueError, match="positive"):
        loglog_fit(x, -x)
    with pytest.raises(ValueError, match="same shape"):
        loglog_fit(x, x[:2])


# ---------------------------------------------------------------- softmax -> linear


def test_linearization_frame_and_slopes(Xs):
    temps = np.logspace(0, 4, 9)
    lin = GK.linearization_frame(Xs, 30, temps)
    assert len(lin) == 2 * 2 * len(temps) and set(lin.columns) == {"temperature", "form", "rel_error", "dataset"}
    one = lin[(lin.dataset == "b") & (lin.form == "normalised") & (lin.temperature == temps[3])].rel_error.item()
    assert one == K.softmax_linearization_error(Xs["b"][:30], temperature=temps[3])
    slopes = GK.linearization_slopes(lin)
    assert slopes.name == "fitted slope (T >= 10)" and list(slopes.index.names) == ["dataset", "form"]
    assert len(slopes) == 4 and np.all(np.abs(slopes.to_numpy() + 1) < 0.05)  # error O(1/T)
    g = lin[(lin.dataset == "a") & (lin.form == "unnormalised") & (lin.temperature >= 10)]
    ref = np.polyfit(np.log10(g.temperature), np.log10(g.rel_error), 1)[0]
    assert slopes[("a", "unnormalised")] == pytest.approx(ref, rel=1e-12)
    X = Xs["a"]
    assert GK.sqrt_d_linearization_error(X) == K.softmax_linearization_error(X, temperature=math.sqrt(12))


# ---------------------------------------------------------------- Theorem 4.1


def test_theorem_4_1_table_against_explicit_products(Xs):
    table = GK.theorem_4_1_table(Xs, 40, 6)
    assert list(table.index) == ["a", "b"] and table.loc["a", "d"] == 12 and table.loc["b", "n"] == 40
    assert (table.dtype == "float64").all() and (table["n (triple sum)"] == 6).all()
    worst = GK.theorem_4_1_worst(table)
    assert worst == max(table["PhiPhi^T vs G^3"].max(), table["triple sum vs G^3"].max())
    assert 0 <= worst < 1e-12
    fake = table.copy()
    fake.loc["b", "triple sum vs G^3"] = 0.5
    assert GK.theorem_4_1_worst(fake) == 0.5


def test_top_eigen_share_against_G_cubed(Xs):
    X = Xs["a"]
    G3 = np.linalg.matrix_power(X @ X.T, 3)
    assert GK.top_eigen_share(X) == pytest.approx(np.linalg.eigvalsh(G3).max() / np.trace(G3), rel=1e-10)
    assert GK.mean_similarity(X) == pytest.approx(
        np.mean([X[i] @ X[j] for i in range(60) for j in range(i + 1, 60)]), rel=1e-12)
    with pytest.raises(ValueError, match="at least 2"):
        GK.mean_similarity(X[:1])


# ---------------------------------------------------------------- Theorem 4.2


def test_theorem_4_2_table_against_slow_angles(Xs):
    import jax

    from ntkbook import models

    small = {"a": Xs["a"][:15]}
    table, angles = GK.theorem_4_2_table(small, {"a": Xs["a"][50:53]}, 10)
    assert list(table.index) == [("a", "relu"), ("a", "attn")]  # ids: the words are the report's
    assert (table["kernel shape"] == "(13, 10)").all()
    assert (table["max |NT - closed form|"] < 1e-7).all()
    assert (table["off-diagonal max"] <= table["max |NT - closed form|"]).all()
    assert list(angles.columns) == ["dataset", "arch", "angle_deg"] and len(angles) == 2 * 45
    with jax.enable_x64(True):
        Z = np.asarray(models.features("attn", Xs["a"][:10], Xs["a"][:10]))
    slow = [math.degrees(math.acos(min(1.0, float(Z[i] @ Z[j])))) for i in range(10) for j in range(i + 1, 10)]
    got = angles[angles.arch == "attn"].angle_deg.to_numpy()
    assert np.sort(got) == pytest.approx(np.sort(slow), abs=1e-6)
    assert table.loc[("a", "attn"), "median angle (deg)"] == pytest.approx(np.median(slow), abs=1e-6)
    # attention pulls the features together (positive data)
    assert table.loc[("a", "attn"), "median angle (deg)"] < table.loc[("a", "relu"), "median angle (deg)"]


# ---------------------------------------------------------------- Proposition 4.5


def test_sensitivity_frame_summary_and_pivot(Xs):
    sens = GK.sensitivity_frame(Xs, 40, 3, n_random=20, seed=2)
    assert len(sens) == 2 * 2 * 3 * (20 + 2)
    direct = GK.sensitivity_table(Xs["b"][:40], np.arange(3), n_random=20, seed=2)
    pd.testing.assert_frame_equal(sens[sens.dataset == "b"].drop(columns="dataset").reset_index(drop=True), direct)
    summary = GK.sensitivity_summary(sens)
    assert summary["n_deltas"] == len(sens)
    assert summary["fixed_max"] == max(r for r, rd in zip(sens.ratio, sens.reading, strict=True) if rd == "data fixed")
    assert 0 < summary["fixed_max"] <= 1 + 1e-12  # Proposition 4.5
    piv = GK.sensitivity_max_ratios(sens)
    assert list(piv.columns) == ["max ratio, random", "max ratio, sign", "max ratio, gradient"]
    assert piv.loc[("a", "transductive"), "max ratio, sign"] == sens[
        (sens.dataset == "a") & (sens.reading == "transductive") & (sens.delta == "sign")].ratio.max()
    # the gradient direction is the l2 worst case
    assert (piv["max ratio, gradient"] >= piv["max ratio, random"]).all()


def test_growth_slopes_and_values_against_direct_means(Xs):
    ns = [10, 20, 40, 60]
    growth = GK.growth_frame(Xs, ns, n_targets=3, degree=3, seed=4)
    assert len(growth) == 2 * len(ns) * 3
    slopes = GK.growth_slopes(growth)
    assert list(slopes.index) == ["a", "b"] and list(slopes.columns) == ["bound", "worst", "poly"]
    g = growth[growth.dataset == "b"]
    means = g.groupby("n").g3_worst.mean()
    ref = np.polyfit(np.log10(means.index.to_numpy(float)), np.log10(means.to_numpy()), 1)[0]
    assert slopes.loc["b", "worst"] == pytest.approx(ref, rel=1e-12)
    assert (slopes.bound > 1.5).all() and (slopes.poly.abs() < 0.5).all()  # ~n^2 against ~n^0
    at_max = GK.growth_at_max(growth)
    assert at_max.loc["a", "g3_bound"] == pytest.approx(
        growth[(growth.dataset == "a") & (growth.n == 60)].g3_bound.mean(), rel=1e-12)
    per_target = GK.growth_target_slopes(growth)
    assert len(per_target) == 2 * 3 and list(per_target.columns) == ["dataset", "j", "bound", "worst", "poly"]
    one = growth[(growth.dataset == "a") & (growth.j == per_target.j.iloc[0])].sort_values("n")
    assert per_target.bound.iloc[0] == pytest.approx(loglog_fit(one.n, one.g3_bound)[0], rel=1e-12)


# ---------------------------------------------------------------- Proposition 4.5, the printed reading


def test_literal_bound_is_column_j_of_G_and_fails_where_the_corrected_one_holds(Xs):
    X = Xs["a"][:40]
    G = X @ X.T
    for j in (0, 7):
        assert GK.literal_sensitivity_bound(X, j) == pytest.approx(np.abs(G[:, j]).sum(), rel=1e-12)
        assert GK.literal_sensitivity_bound(X, j, eps=0.5) == pytest.approx(0.5 * np.abs(G[:, j]).sum(), rel=1e-12)
    with pytest.raises(ValueError, match="index a row"):
        GK.literal_sensitivity_bound(X, 40)
    df = GK.sensitivity_table(X, [0, 7], n_random=10, seed=0)
    assert np.allclose(df.ratio_literal * df.bound_literal, df.ratio * df.bound, rtol=1e-12)
    by = GK.sensitivity_by_dataset(df.assign(dataset="a"))
    # correlated positive data: the corrected bound holds, the printed one is exceeded (by about lambda_1)
    assert by.max_ratio_corrected.item() <= 1 + 1e-12 < by.max_ratio_literal.item()
    summary = GK.sensitivity_summary(df)
    assert summary["literal_max"] == by.max_ratio_literal.item()


def test_sensitivity_by_dataset_orthonormal_data_where_both_readings_hold():
    # orthonormal rows: G = I, so ||G e_j||_1 = ||G X x_j||_1 = 1 and the change is exactly delta . x_j
    X = np.eye(6)[:4]
    by = GK.sensitivity_by_dataset(GK.sensitivity_table(X, [0, 1], n_random=5, seed=0).assign(dataset="o"))
    assert by.max_ratio_literal.item() == pytest.approx(1.0, rel=1e-12)
    assert by.max_ratio_corrected.item() == pytest.approx(1.0, rel=1e-12)


# ---------------------------------------------------------------- real data


@pytest.mark.realdata
def test_chapter_checks_on_real_images(real_data_dir):
    Xs = {}
    for name in ("mnist", "cifar10"):
        d = GK.load_unit_data(name, 120, 4, seed=0, data_dir=real_data_dir)
        assert d["x"].shape[0] == 120 and d["x_test"].shape[0] == 4 and d["n_classes"] == 10
        assert np.allclose(np.linalg.norm(d["x"], axis=1), 1.0)
        assert d["note"]  # only the test splits are available: the loader says so
        Xs[name] = d["x"]
    assert GK.theorem_4_1_worst(GK.theorem_4_1_table(Xs, 120, 6)) < 1e-12
    summary = GK.sensitivity_summary(GK.sensitivity_frame(Xs, 120, 2, n_random=10, seed=0))
    assert summary["fixed_max"] <= 1 + 1e-12
    assert GK.mean_similarity(Xs["cifar10"]) > GK.mean_similarity(Xs["mnist"]) > 0
