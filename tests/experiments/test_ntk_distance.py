"""ntkbook.experiments.ntk_distance (chapter 3's compute layer) and ntkbook.plotting.ntk_distance.

Tolerances: float64 comparisons of two evaluations of the same linear-algebra expression use bounds of the form
c (n + k) u64 kappa, stated at each assert; float32 network training is compared only with float32 training.
"""

import dataclasses
import json
import math

import matplotlib

matplotlib.use("Agg")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from ntkbook import data, models, train  # noqa: E402
from ntkbook.experiments import ntk_distance as E  # noqa: E402

U64 = 2.0**-53


def _kernels(n=25, n_test=7, d=9, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(n, d))
    q = rng.uniform(size=(n_test, d))
    z, zq = models.features("attn", x, x), models.features("attn", q, x)
    return E.infinite_kernels(z, zq), rng


def test_infinite_kernels_are_float64_and_psd():
    (ktt, kst), _ = _kernels()
    assert ktt.dtype == np.float64 and kst.shape == (7, 25)
    # eigenvalues of a PSD matrix computed in float64 are >= -n u ||K|| (backward-stable eigh)
    assert np.linalg.eigvalsh(ktt).min() >= -25 * U64 * 4 * np.abs(ktt).max()
    np.testing.assert_array_equal(ktt, ktt.T)  # the closed form is symmetric entry by entry
    # rows renormalised in float64: <z, z> = 1 within gamma_{d+2} + gamma_d, and the arc-cosine factor is exactly 1/2
    assert np.abs(np.diag(ktt) - 0.5).max() <= 0.5 * (2 * 9 + 2) * U64 * 1.01


def test_ridge_predictor_equals_direct_solve():
    (ktt, kst), rng = _kernels()
    y = rng.normal(size=(25, 3))
    ours = E.ntk_ridge_predictor(ktt, kst, y, ridge=0.3)
    ref = kst @ np.linalg.solve(ktt + 0.3 * np.eye(25), y)
    # two backward-stable solves of K + 0.3 I (kappa <= (lambda_max + 0.3) / 0.3 ~ 40): relative error
    # <= c n u kappa ~ 25 * 1.1e-16 * 40 * c; 1e-10 leaves c ~ 1e3
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-10 * np.abs(ref).max())


def test_discrete_kernel_gd_equals_explicit_iteration_and_flow_in_the_limit():
    (ktt, kst), rng = _kernels()
    y, f0, f0t = rng.normal(size=(25, 2)), rng.normal(size=(25, 2)), rng.normal(size=(7, 2))
    nc = y.size
    eta = 0.9 * nc / np.linalg.eigvalsh(ktt)[-1]
    f, ft = f0.copy(), f0t.copy()
    for _ in range(40):
        r = f - y
        f, ft = f - eta / nc * ktt @ r, ft - eta / nc * kst @ r
    tr, te = E.kernel_gd_predictor(ktt, kst, y, f0, f0t, eta, 40)
    # both are float64 evaluations of the same contraction (spectral radius < 1): errors stay at a few
    # 40 (n + 2) u |values|; the eigenbasis route adds K^-1 K, whose error is <= n u kappa(K) relative
    scale = np.abs(y).max() + np.abs(f0).max() + np.abs(f0t).max()
    kappa = np.linalg.cond(ktt)
    np.testing.assert_allclose(tr, f, rtol=0, atol=40 * 27 * U64 * scale * 10)
    np.testing.assert_allclose(te, ft, rtol=0, atol=25 * U64 * kappa * scale * 100)
    # small steps: the discrete result approaches gradient flow (NT's formula) at the same time eta T, with
    # an error O(eta lambda_max / (n C)) of the learned part
    small = eta / 1000
    _, te_small = E.kernel_gd_predictor(ktt, kst, y, f0, f0t, small, 40_000)
    flow = E.ntk_gd_predictor(ktt, kst, y, f0, f0t, small, 40_000)
    assert np.abs(te_small - flow).max() <= 2e-3 * np.abs(flow - f0t).max()


def test_kernel_steps_to_fraction_is_the_first_step_meeting_the_criterion():
    (ktt, _), rng = _kernels(n=12)
    y, f0 = rng.normal(size=(12, 2)), rng.normal(size=(12, 2))
    eta = 0.5 * y.size / np.linalg.eigvalsh(ktt)[-1]
    r0 = np.sum((f0 - y) ** 2)
    f, first = f0.copy(), None
    for step in range(1, 20000):
        f = f - eta / y.size * ktt @ (f - y)
        if np.sum((f - y) ** 2) <= 0.3 * r0:
            first = step
            break
    assert first is not None
    assert E.kernel_steps_to_fraction(ktt, y, f0, eta, 0.3) == first
    assert E.kernel_steps_to_fraction(ktt, y, f0, eta, 0.999999) <= 1
    # a singular kernel cannot remove the mass outside its range: never reached
    v = rng.normal(size=(12, 1))
    assert math.isinf(E.kernel_steps_to_fraction(v @ v.T, y, f0, 0.5 * y.size / float((v.T @ v)[0, 0]), 1e-3))


def test_gd_in_the_row_space_equals_train_gd():
    rng = np.random.default_rng(4)
    x = rng.uniform(size=(30, 8))
    y = np.arange(30) % 3
    with jax.enable_x64(True):
        z = jnp.asarray(models.features("relu", jnp.asarray(x)), jnp.float64)
        t = jnp.asarray(np.eye(3)[y], jnp.float64)
        params0, signs = models.init_network(jax.random.PRNGKey(0), 8, 64, 3)
        params0 = {"W": jnp.asarray(params0["W"], jnp.float64)}
        signs = jnp.asarray(signs, jnp.float64)
        ours, steps, reached, mse, mse0 = E.train_gd_span(params0, signs, z, t, learning_rate=2.0, fraction=1e-9,
                                                          max_steps=20, check_every=10)
        ref, hist = train.train_gd(params0, signs, z, t, learning_rate=2.0, steps=20)
    assert steps == 20 and not reached and mse < mse0
    # same iteration in exact arithmetic; 20 float64 steps of a map with Lipschitz constant <= 1 + eta L
    # (L <= lambda_max / (n C) ~ 0.1 here) keep the difference at O(20 (n + d) u |W|) ~ 1e-12
    w = np.asarray(ours["W"])
    np.testing.assert_allclose(w, np.asarray(ref["W"]), rtol=0, atol=1e-10 * np.abs(w).max())
    assert mse == pytest.approx(float(hist["data_loss"].iloc[-1]), rel=1e-9)


def test_adam_to_a_plateau_is_the_paper_protocol_and_stops_by_its_rule():
    """run_unit's Adam protocol is `train.fit` with `stop=Plateau(window, tol)`: compared with the fixed budget."""
    rng = np.random.default_rng(5)
    x = rng.uniform(size=(40, 8))
    y = np.argmax(x[:, :3], 1)
    z = models.features("relu", jnp.asarray(x, jnp.float32))
    t = jax.nn.one_hot(y, 3)
    params0, signs = models.init_network(jax.random.PRNGKey(1), 8, 32, 3)
    cfg = train.TrainConfig(epochs=6, batch_size=16, learning_rate=1e-2, l2=1e-3, loss="xent", seed=3,
                            l2_form="w-w0")
    fitted = train.fit(params0, signs, z, t, cfg, stop=train.Plateau(window=6, tol=1e-12))
    ref, _ = train.train(params0, signs, z, t, cfg, show_progress=False)
    # identical float32 operations in the same order (run_epoch under an outer scan): equal to float32 rounding
    # of 6 epochs x 3 batches of updates of size lr; 1e-5 * lr * 18 bounds the drift
    np.testing.assert_allclose(np.asarray(fitted.params["W"]), np.asarray(ref["W"]), rtol=0, atol=1e-5)
    assert fitted.epochs == 6 and not fitted.plateaued
    # a tolerance of 100 % of the objective is met by the first window
    fitted = train.fit(params0, signs, z, t, dataclasses.replace(cfg, epochs=50), stop=train.Plateau(5, 0.99))
    assert (fitted.epochs, fitted.plateaued) == (5, True)


def test_effective_rank():
    assert E.effective_rank(np.eye(6)) == pytest.approx(6.0, rel=1e-12)
    v = np.arange(1.0, 5.0)[:, None]
    assert E.effective_rank(v @ v.T) == pytest.approx(1.0, abs=1e-6)


def test_relative_frobenius():
    a = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert E.relative_frobenius(2 * a, a) == 1.0
    with pytest.raises(ValueError, match="shapes"):
        E.relative_frobenius(a, a[:1])


# ---------------------------------------------------------------- the spec and the units


def test_spec_profiles_and_validation():
    q, d, p = E.resolve("quick"), E.resolve("default"), E.resolve("paper")
    assert len(d.seeds) >= 5 and len(p.seeds) >= 5 and max(p.widths) == 4096
    assert d.centred == (False, True) and E.resolve("default", widths=None).widths == d.widths
    assert E.resolve("default", widths=[8, 32]).widths == (8, 32)
    assert q.as_dict()["widths"] == list(q.widths)
    with pytest.raises(ValueError, match="valid parameters"):
        E.resolve("default", width=3)
    with pytest.raises(ValueError, match="unknown profile"):
        E.resolve("huge")
    for bad in [dict(widths=(16,)), dict(gd_rate=2.5), dict(datasets=("svhn",)), dict(centred=(1,)),
                dict(n_train=5), dict(gd_fraction=1.0)]:
        with pytest.raises(ValueError, match="must be"):
            E.resolve("quick", **bad)


def test_units_cover_the_grid_once_with_json_params():
    spec = E.resolve("quick")
    units = E.units(spec)
    runs = [u for u in units if u.kind == E.KIND_RUN]
    assert len(runs) == len(spec.datasets) * len(spec.archs) * len(spec.widths) * len(spec.seeds) * len(spec.centred)
    assert len({u.key for u in units}) == len(units)
    for u in units:
        json.dumps(u.params)
        assert u.fn in (E.run_unit, E.collapse_unit)
    penalty = [u for u in units if u.kind == E.KIND_PENALTY]
    # the no-penalty check is part of the registered sweep: Adam only, raw inputs, first data set, l2_form "none"
    assert len(penalty) == len(spec.archs) * len(spec.widths) * len(spec.seeds)
    assert {u.params["l2_form"] for u in penalty} == {"none"} and {u.params["centred"] for u in penalty} == {False}
    assert len(units) - len(runs) - len(penalty) == len(spec.datasets) * len(spec.centred)
    assert not [u for u in E.units(spec.replace(penalty_check=False)) if u.kind == E.KIND_PENALTY]
    with pytest.raises(ValueError, match="penalty_check"):
        E.penalty_results(spec.replace(penalty_check=False))


def _fake_split(monkeypatch, n=40, n_test=20, d=16):
    rng = np.random.default_rng(6)
    x, xt = rng.uniform(size=(n, d)), rng.uniform(size=(n_test, d))
    w = rng.normal(size=(d, 3))
    split = data.Split(x_train=x, y_train=np.argmax((x - 0.5) @ w, 1), x_test=xt, y_test=np.argmax((xt - 0.5) @ w, 1),
                       classes=("a", "b", "c"), name="fake")
    monkeypatch.setattr(E, "_split", lambda *a, **k: split)
    return split


def _unit(**over):
    kw = dict(n_train=40, n_test=20, data_seed=0, protocols=["adam", "gd"], learning_rate=1e-2, batch_size=128,
              l2=1e-3, l2_form="w-w0", adam_max_epochs=40, plateau_window=20, plateau_tol=0.005, gd_rate=0.5,
              gd_fraction=0.2, gd_times=[50, 500])
    kw.update(over)
    return kw


def test_run_unit_rows_are_plain_typed_and_deterministic(monkeypatch):
    _fake_split(monkeypatch)
    a = E.run_unit("mnist", "attn", 16, 0, True, **_unit())
    b = E.run_unit("mnist", "attn", 16, 0, True, **_unit())
    assert list(a["protocol"]) == ["adam", "gd"]
    assert all(a[c].dtype != object for c in a.columns)
    pd.testing.assert_frame_equal(a.drop(columns="seconds"), b.drop(columns="seconds"), check_exact=True)
    gd = a[a["protocol"] == "gd"].iloc[0]
    # equal times: GD runs the whole grid, and the flag says whether the MSE criterion was met by its end
    assert gd["steps"] == 500 and gd["dist_t500"] == gd["dist_abs"] and np.isfinite(gd["dist_t50"])
    assert gd["criterion_met"] == (gd["train_loss"] <= 0.2 * gd["train_loss_init"])
    assert gd["dist_rel_learned"] == pytest.approx(gd["dist_abs"] / gd["dist_learned"], rel=1e-15)
    adam = a[a["protocol"] == "adam"].iloc[0]
    # the logistic counterpart is solved to its stated tolerance; the gap is measured against the own-kernel minimum
    assert adam["ntk_residual"] <= E.kernel_logistic.TOL
    assert adam["objective_gap"] == pytest.approx(adam["objective"] - adam["lin_objective"], rel=1e-12)
    assert np.isnan(adam["dist_t50"])
    with pytest.raises(ValueError, match="protocol"):
        E.run_unit("mnist", "relu", 8, 0, False, **_unit(protocols=["sgd"]))


def test_gd_distance_to_the_exact_kernel_prediction_shrinks_with_width(monkeypatch):
    """In the GD protocol the network approaches the exact kernel prediction as m grows (2L-ReLU)."""
    _fake_split(monkeypatch)
    dist = {m: np.mean([E.run_unit("mnist", "relu", m, s, False, **_unit(protocols=["gd"]))["dist_rel_learned"].item()
                        for s in range(3)]) for m in (32, 2048)}
    # lazy training: the distance falls like m^(-1/2) (8x over this range); 0.35 leaves a factor 2.8 for noise
    assert dist[2048] < 0.35 * dist[32], dist


def test_collapse_unit_sees_attention_align_and_centring_undo_it(monkeypatch):
    _fake_split(monkeypatch)
    raw = E.collapse_unit("mnist", False, n_train=40, n_test=20, data_seed=0).set_index("arch")
    cen = E.collapse_unit("mnist", True, n_train=40, n_test=20, data_seed=0).set_index("arch")
    # positive data: attention averages over the data set, so its features are more aligned than the inputs
    assert raw.loc["attn", "mean_cosine"] > raw.loc["relu", "mean_cosine"] > 0.5
    assert raw.loc["attn", "top_share"] > raw.loc["relu", "top_share"]
    assert raw.loc["attn", "effective_rank"] < raw.loc["relu", "effective_rank"]
    # centring removes the common direction: mean cosine near 0 (the centred rows sum to zero before normalising)
    assert abs(cen.loc["relu", "mean_cosine"]) < 0.1 and cen.loc["attn", "effective_rank"] > raw.loc[
        "attn", "effective_rank"]


def test_width_slopes_per_seed_recover_known_slopes():
    rows = [{"dataset": "mnist", "arch": a, "centred": False, "protocol": "gd", "seed": s, "width": w,
             "dist_abs": (1 + s) * w ** (-0.5 if a == "relu" else 0.25)}
            for a in ("relu", "attn") for s in range(3) for w in (16, 64, 256)]
    out = E.width_slopes_per_seed(pd.DataFrame(rows), "dist_abs")
    assert len(out) == 6
    np.testing.assert_allclose(out[out.arch == "relu"]["slope"], -0.5, atol=1e-12)
    np.testing.assert_allclose(out[out.arch == "attn"]["slope"], 0.25, atol=1e-12)


def test_sweep_runs_through_the_runner_and_cache(monkeypatch, tmp_path):
    _fake_split(monkeypatch)
    spec = E.resolve("quick", widths=(8, 16), seeds=(0,), centred=(False,), protocols=("gd",), gd_times=(10, 50))
    first = E.sweep(spec, cache_dir=tmp_path)
    assert len(first) == 2 * 2 and set(first["arch"]) == {"relu", "attn"}
    again = E.sweep(spec, cache_dir=tmp_path)
    pd.testing.assert_frame_equal(first, again)
    c = E.collapse(spec, cache_dir=tmp_path)
    assert len(c) == 2 and set(c["arch"]) == {"relu", "attn"}


def test_adam_ridge_follows_the_penalty_form():
    assert E.adam_ridge(100, 10, 1e-3, "w-w0") == pytest.approx(1.0)
    assert E.adam_ridge(100, 10, 1e-3, "w") == pytest.approx(1.0)
    assert E.adam_ridge(100, 10, 1e-3, "none") == 0.0
    with pytest.raises(ValueError, match="l2_form"):
        E.adam_ridge(100, 10, 1e-3, "l1")


def _figure_rows(seeds=3, widths=(16, 64, 256)):
    """Synthetic sweep-shaped rows (both data sets, models, input forms and protocols) for the figures."""
    rng = np.random.default_rng(3)
    rows = [{"dataset": ds, "arch": arch, "centred": c, "protocol": p, "width": w, "seed": s,
             "dist_abs": 5.0 * w**-0.3 * (1 + 0.1 * rng.normal()), "kernel_dist_init": 0.3 * w**-0.5,
             "kernel_dist_final": 0.4 * w**-0.5 * (1 + 0.1 * rng.random())}
            for ds in ("mnist", "cifar10") for arch in ("relu", "attn") for c in (False, True)
            for p in ("adam", "gd") for s in range(seeds) for w in widths]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("which", ["distance", "kernel", "equal-time", "references"])
def test_chapter3_figures_read_at_9pt_within_the_column(which):
    """As tests/plotting/test_plotting.py for chapters 1-2: the smallest text as the book shows it is >= 9 pt, and the
    figure is no wider than the column (so it is not scaled down)."""
    import matplotlib.pyplot as plt

    from ntkbook import plotting as P
    from ntkbook.plotting import ntk_distance as F

    rows = _figure_rows()
    rows = rows.assign(lin_dist_inf=rows["dist_abs"] * 0.7, dist_lin=rows["dist_abs"] * 0.5,
                       dist_t100=rows["dist_abs"] * 0.3, dist_t1000=rows["dist_abs"])
    fig = {"distance": lambda: F.distance_vs_width(rows, "dist_abs", ylabel=r"$\|f_m - f_{\mathrm{NTK}}\|_F$"),
           "kernel": lambda: F.kernel_distance_vs_width(rows), "equal-time": lambda: F.equal_time_curves(rows),
           "references": lambda: F.references_vs_width(rows)}[which]()
    assert fig.get_size_inches()[0] <= P.COLUMN_INCHES + 1e-9
    shown = P.rendered_text_pt(fig)
    assert shown >= P.MIN_TEXT_PT, f"smallest text {P.smallest_font_pt(fig)} pt reads as {shown:.2f} pt"
    plt.close(fig)


def test_chapter3_bands_are_the_seed_range_clipped_at_zero():
    """The band spans the seeds' min..max and never goes below 0 (a distance), on a linear axis too."""
    import matplotlib.pyplot as plt

    from ntkbook.plotting import ntk_distance as F

    rows = _figure_rows(seeds=2, widths=(16, 64))
    rows.loc[rows["seed"] == 0, "dist_abs"] = -1.0  # a (corrupt) negative value: the band must stop at 0
    fig = F.distance_vs_width(rows, "dist_abs", logy=False)
    for ax in fig.axes[:4]:
        assert ax.get_ylim()[0] >= 0.0
        for band in ax.collections:
            ys = np.concatenate([p.vertices[:, 1] for p in band.get_paths()])
            assert ys.min() >= 0.0
    plt.close(fig)


def test_no_penalty_adam_has_no_counterpart(monkeypatch):
    """Cross-entropy without a penalty has no finite minimiser: the row carries the network's numbers and NaN
    distances (the report calls it not evaluable)."""
    _fake_split(monkeypatch)
    row = E.run_unit("mnist", "relu", 16, 0, False, **_unit(protocols=["adam"], l2_form="none")).iloc[0]
    assert np.isnan(row["dist_abs"]) and np.isnan(row["ntk_test_acc"]) and np.isfinite(row["train_acc"])


def test_resampled_splits_differ_per_seed(monkeypatch):
    split = _fake_split(monkeypatch)
    seen = []
    monkeypatch.setattr(E, "_split", lambda ds, n, nt, s: seen.append(s) or split)
    for seed in (0, 2):
        row = E.run_unit("mnist", "relu", 8, seed, False, **_unit(protocols=["gd"], data_seed=3,
                                                                   resample_splits=True)).iloc[0]
        assert row["split_seed"] == 3 + seed
    assert seen == [3, 5]
    assert E.split_seed(3, 4, True) == 7 and E.split_seed(3, 4, False) == 3
    spec = E.resolve("quick", resample_splits=True)
    assert {u.params["resample_splits"] for u in E.units(spec) if u.kind == E.KIND_RUN} == {True}


def test_kernel_gd_at_times_equals_kernel_predict_and_the_explicit_iteration():
    """One eigendecomposition for several T equals `kernel_predict.gradient_descent` per T (same formula: a few
    eps64 kappa), and where a mode overshoots (c > 1, which kernel_predict clips) the explicit iteration."""
    from ntkbook import kernel_predict
    from ntkbook.lazy_counterparts import kernel_gd_at_times

    (ktt, kst), rng = _kernels()
    y, f0, f0t = rng.normal(size=(25, 2)), rng.normal(size=(25, 2)), rng.normal(size=(7, 2))
    lam_max = np.linalg.eigvalsh(ktt)[-1]
    for rate, times in ((0.9, (1, 7, 40)), (1.6, (3, 11))):
        eta = rate * y.size / lam_max
        got = kernel_gd_at_times(ktt, kst, y, f0, f0t, eta, times)
        f = f0.copy()
        for T, (ft, fs) in zip(times, got, strict=True):
            if rate < 1:
                ref = kernel_predict.gradient_descent(ktt, kst, y, eta, T, f0, f0t)
                np.testing.assert_allclose(ft, ref[0], rtol=0, atol=1e-10 * np.abs(ref[0]).max())
                np.testing.assert_allclose(fs, ref[1], rtol=0, atol=1e-10 * np.abs(ref[1]).max())
        for _ in range(times[-1]):
            f = f - eta / y.size * ktt @ (f - y)
        # T explicit steps accumulate T (n + 2) u64 ||F|| of rounding; 1e-9 relative covers T <= 40 by far
        np.testing.assert_allclose(got[-1][0], f, rtol=0, atol=1e-9 * np.abs(f).max())


def test_gd_step_is_set_by_k_inf_and_capped_below_the_own_kernels_bound(monkeypatch):
    """The step is gd_rate n C / lambda_max(K_inf) unless that exceeds OWN_STEP_CAP n C / lambda_max(Theta_0); with
    the cap the linearised network's loss never rises (gradient descent on a quadratic below its bound)."""
    _fake_split(monkeypatch)
    n, c = 40, 3
    for rate in (0.5, 1.99):  # 1.99: so large that the cap must bind whenever Theta_0's top eigenvalue is larger
        row = E.run_unit("mnist", "attn", 8, 0, False, **_unit(protocols=["gd"], gd_rate=rate)).iloc[0]
        free, cap = rate * n * c / row["lambda_max_inf"], E.OWN_STEP_CAP * n * c / row["lambda_max_own"]
        assert row["gd_step"] == pytest.approx(min(free, cap), rel=1e-12)
        assert bool(row["gd_step_capped"]) == (cap < free)
        assert row["lin_objective"] <= row["train_loss_init"]
    assert row["lambda_max_own"] > row["lambda_max_inf"] and row["gd_step_capped"]  # m = 8: the cap binds
