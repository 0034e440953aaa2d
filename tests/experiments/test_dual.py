"""ntkbook.experiments.dual: the spec, the kernels and targets of the power experiment against references, and
each unit on the offline 8x8 digits (no download) as a tidy, plain-typed, deterministic frame."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from ntkbook import data, influence, kernels
from ntkbook.experiments import dual as ex


def _x(n, d=12, seed=0):
    return np.random.default_rng(seed).uniform(size=(n, d)) + 0.01


# ---- spec -----------------------------------------------------------------------------------------------------


def test_profiles_resolve_and_bad_knobs_are_refused():
    for p in ("quick", "default", "decisive", "paper"):
        spec = ex.DualSpec.resolve(p)
        assert spec.profile == p and len(ex.units(spec)) > 0
    with pytest.raises(ValueError, match="unknown parameter"):
        ex.DualSpec.resolve("quick", temperature=1.0)
    for knob, bad, match in (("temperatures", (0.0,), "temperatures"), ("ranks", (-1,), "ranks"),
                             ("width", 0, "width"), ("widths", (12, 16, 32), "powers of two"), ("widths", (16, 32), "at least 3"),
                                 ("noise", 0.3, "noise"), ("seeds", (0,), "seeds"),
                             ("ridge", 0.5, "ridge"), ("depths", (0,), "depths"), ("modes", (10_000,), "modes"),
                             ("mal_families", ("lstm",), "mal_families")):
        with pytest.raises(ValueError, match=match):
            ex.DualSpec.resolve("quick", **{knob: bad})


def test_units_are_plain_and_keyed():
    spec = ex.DualSpec.resolve("default")
    units = ex.units(spec)
    kinds = {u.kind for u in units}
    assert kinds == {"dual-power", "dual-kernel", "dual-variant", "dual-function"}
    for u in units:
        json.dumps(u.params, allow_nan=False)
    assert len({u.key for u in units}) == len(units)
    variants = [u for u in units if u.kind == "dual-variant"]
    assert len(variants) == len(spec.mal_datasets) * len(spec.seeds) * len(spec.variant_models(spec.mal_families, spec.mal_temperatures))


def test_parse_model_and_features_dispatch():
    assert ex.parse_model("truncated:5") == ("truncated", {"rank": 5})
    assert ex.parse_model("softmax-centred:0.5") == ("softmax", {"temperature": 0.5, "centered": True})
    assert ex.parse_model("stacked-recomputed:2") == ("stacked", {"depth": 2, "mode": "recomputed"})
    for bad in ("truncated:x", "lstm", "softmax"):
        with pytest.raises(ValueError, match="unknown model"):
            ex.parse_model(bad)
    x = _x(10)
    # stacked:1 is MLP-Attn; features64 are unit rows
    np.testing.assert_allclose(ex.features64("stacked:1", x, x), ex.features64("attn", x, x), atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(ex.features64("truncated:3", x, x), axis=1), 1.0, atol=1e-12)
    assert ex.training_loss("attn", "xent") is ex.training_loss("attn", "xent")  # jitted attacks compile once


# ---- the power experiment's pieces against references ------------------------------------------------------------


def test_power_kernels_against_their_definitions():
    x, q = _x(15), _x(6, seed=1)
    k = ex.power_kernels(x, q)
    xu, qu = data.unit_rows(x), data.unit_rows(q)
    G = xu @ xu.T
    # float64 products of unit rows: entries of G^3 are at most n^2, rounding at most ~ 3 n u |G^3| (Higham)
    np.testing.assert_allclose(k["G3"][0], kernels.gram_induced_kernel(xu), rtol=1e-12)
    phi = kernels.attention_feature_map(xu, qu)
    np.testing.assert_allclose(k["G3"][1], phi @ kernels.attention_feature_map(xu, xu).T, rtol=1e-12)
    np.testing.assert_allclose(k["linear"][0], G, rtol=1e-12)
    z = data.unit_rows(kernels.attention_feature_map(xu, xu))
    np.testing.assert_allclose(k["attn-ntk"][0], kernels.first_layer_ntk_nt(z, z), atol=1e-7)
    np.testing.assert_allclose(k["relu-ntk"][1], kernels.first_layer_ntk_nt(qu, xu), atol=1e-7)


def test_krr_errors_match_direct_kernel_ridge_regression():
    x, q = _x(20), _x(7, seed=2)
    k_tr, k_te = ex.power_kernels(x, q)["relu-ntk"]
    rng = np.random.default_rng(3)
    y_tr, y_te = rng.standard_normal((20, 3)), rng.standard_normal((7, 3))
    ridges = [1e-3, 1e-1]
    got = ex.krr_errors(k_tr, k_te, y_tr, y_te, ridges)
    for i, rho in enumerate(ridges):
        pred = influence.krr_predict(k_te, k_tr, y_tr, rho * np.trace(k_tr) / 20)
        np.testing.assert_allclose(got[i], np.sum((pred - y_te) ** 2, 0) / np.sum(y_te**2, 0), rtol=1e-8)


def test_mode_targets_are_the_eigenvectors_of_the_reference_gram_matrix():
    x_ref = _x(30)
    y, s = ex.mode_targets(x_ref, [1, 2, 5], x_ref)
    xu = data.unit_rows(x_ref)
    lam, U = np.linalg.eigh(xu @ xu.T)
    lam, U = lam[::-1], U[:, ::-1]
    np.testing.assert_allclose(s**2, lam[: s.size], rtol=1e-10, atol=1e-12)
    for i, j in enumerate((1, 2, 5)):
        # y = sqrt(n) u_j up to sign: unit mean square and |<y, u_j>| = sqrt(n)
        assert math.isclose(np.mean(y[:, i] ** 2), 1.0, rel_tol=1e-10)
        assert math.isclose(abs(y[:, i] @ U[:, j - 1]), math.sqrt(30), rel_tol=1e-8)
    with pytest.raises(ValueError, match="modes must lie"):
        ex.mode_targets(x_ref, [13], x_ref)  # d = 12: at most 12 directions


def test_alignment_is_one_for_the_top_eigenvector_direction_of_a_rank_one_g():
    v = np.ones((5, 1))
    G = v @ v.T
    assert math.isclose(ex.alignment(G, v[:, 0]), 1.0)
    assert math.isclose(ex.alignment(G, np.array([1.0, -1.0, 0, 0, 0])), 0.0, abs_tol=1e-15)


# ---- units on the offline digits -------------------------------------------------------------------------------


def _plain(frame: pd.DataFrame) -> None:
    assert len(frame) > 0
    assert all(frame[c].dtype != object or frame[c].map(type).eq(str).all() for c in frame.columns)


def test_power_unit_on_digits():
    kw = dict(dataset="digits", seed=0, n_ref=100, ns=[30, 60], n_test=40, modes=[1, 2, 20, 40],
              noises=[0.0, 0.5], ridges=[1e-2])
    f = ex.power_unit(**kw)
    _plain(f)
    assert set(f["kernel"]) == {*ex.KERNELS, ex.CONTROL}
    assert set(f["target"]) == {"mode", "square", "labels", "random"}
    per_fit = 4 + 4 + 1  # mode, square, random targets
    # per n: 4 kernels x (2 noises x (loo + 1 fixed) x per_fit + (loo + 1 fixed) labels) + the control (loo only)
    assert len(f) == 2 * (4 * (2 * 2 * per_fit + 2) + (2 * per_fit + 1))
    pd.testing.assert_frame_equal(f, ex.power_unit(**kw))  # deterministic
    lab = f[f["target"] == "labels"]
    assert (lab["accuracy"] > 0.2).all()  # every kernel learns the 10 digit classes above twice chance (0.1)
    loo = f[f["ridge_rule"] == "loo"]
    assert (loo["ridge"] > 0).all() and (f.loc[f["kernel"] == ex.CONTROL, "rank"] >= 1).all()
    # the absolute error is the relative one times the zero predictor's
    np.testing.assert_allclose(f["mse"], f["error"] * f["zero_mse"], rtol=1e-12)


def test_kernel_unit_on_digits():
    f = ex.kernel_unit(dataset="digits", seed=0, n=30, models=["relu", "attn", "truncated:3", "softmax:1",
                                                               "stacked:2", "attn-centred", "qkv"],
                       widths=[16, 64, 256])
    _plain(f)
    assert set(f["model"]) == {"relu", "attn", "truncated:3", "softmax:1", "stacked:2", "attn-centred", "qkv",
                               "qkv-ntk"}
    t = f[f["model"] == "truncated:3"]
    assert (t["rank_linear"] == 3).all()
    q = f[f["model"] == "qkv"]
    assert q["attn_share"].between(0, 1).all() and q["spread"].notna().all() and len(q) == 3
    qn = f[f["model"] == "qkv-ntk"]
    # the NTK parameterisation divides the Q, K, V blocks by d = 64: their share of the NTK is smaller
    assert (qn["attn_share"].to_numpy() < q["attn_share"].to_numpy()).all()
    r = f[f["model"] == "relu"].set_index("width")
    assert r.loc[256, "err_op"] < r.loc[16, "err_op"]  # 16x the width: about 1/4 of the error (law m^-1/2)


def test_variant_unit_on_digits():
    kw = dict(dataset="digits", seed=0, model="truncated:5", n_train=60, n_test=30, width=32, epochs=20,
              learning_rate=5e-2, l2=1e-3, eps=0.3, steps=2, tau=0.1, krr_ridge=1e-3, n_ref=100, top_modes=[1, 2],
              noise=0.5)
    f = ex.variant_unit(**kw)
    _plain(f)
    assert len(f) == 1
    row = f.iloc[0]
    assert 0 <= row["flip_rate"] <= 1 and -1 <= row["spearman"] <= 1 and row["attack_gain"] > 0
    assert row["train_accuracy"] > row["chance"]
    g = ex.variant_unit(**kw)
    pd.testing.assert_frame_equal(f.drop(columns="seconds"), g.drop(columns="seconds"))


def test_the_chapter_parameters_cell_lists_exactly_the_spec_knobs():
    import ast
    from pathlib import Path

    nb = json.loads((Path(__file__).resolve().parents[2] / "book" / "05_dual_implication.ipynb").read_text())
    cells = [c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", [])]
    assert len(cells) == 1
    names = [t.id for node in ast.parse("".join(cells[0]["source"])).body for t in node.targets]
    assert sorted(names) == sorted(("profile", *ex.DualSpec.knobs()))
    assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")  # committed without outputs


def test_function_unit_on_digits():
    f = ex.function_unit(dataset="digits", seed=0, model="attn", widths=[16, 256], n_train=40, n_test=30,
                         gd_steps=5)
    _plain(f)
    assert list(f["width"]) == [16, 256] and (f["dist_rel"] > 0).all()
    # law of large numbers: sixteen times the width, a smaller distance to the kernel predictor
    assert f["dist_rel"].iloc[1] < f["dist_rel"].iloc[0]
