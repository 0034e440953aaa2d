"""ntkbook.experiments.ntk_distance and ntkbook.plotting.ntk_distance."""

import matplotlib

matplotlib.use("Agg")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import scipy.linalg  # noqa: E402

import ntkbook  # noqa: F401, E402
from ntkbook import models, train  # noqa: E402
from ntkbook.experiments import ntk_distance as E  # noqa: E402


def _kernels(n=25, n_test=7, d=9, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(n, d))
    q = rng.uniform(size=(n_test, d))
    z, zq = models.features("attn", x, x), models.features("attn", q, x)
    return E.infinite_kernels(z, zq), rng


def test_infinite_kernels_are_float64_and_psd():
    (ktt, kst), _ = _kernels()
    assert ktt.dtype == np.float64 and kst.shape == (7, 25)
    assert np.linalg.eigvalsh(ktt).min() > -1e-10
    np.testing.assert_allclose(ktt, ktt.T, atol=1e-14)


def test_ridge_predictor_equals_direct_solve():
    (ktt, kst), rng = _kernels()
    y = rng.normal(size=(25, 3))
    ours = E.ntk_ridge_predictor(ktt, kst, y, ridge=0.3)
    ref = kst @ np.linalg.solve(ktt + 0.3 * np.eye(25), y)
    np.testing.assert_allclose(ours, ref, rtol=1e-8, atol=1e-10)


def test_gd_predictor_equals_eigenbasis_closed_form():
    (ktt, kst), rng = _kernels()
    y, f0, f0t = rng.normal(size=(25, 2)), rng.normal(size=(25, 2)), rng.normal(size=(7, 2))
    eta, steps = 3.0, 40
    ours = E.ntk_gd_predictor(ktt, kst, y, f0, f0t, eta, steps)
    # f_test(t) = f0_test + K_sX K^-1 (I - exp(-eta t K / (n C))) (y - f0)
    decay = scipy.linalg.expm(-eta * steps * ktt / y.size)
    ref = f0t + kst @ np.linalg.solve(ktt, (np.eye(25) - decay) @ (y - f0))
    np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-8)


def test_gd_protocol_distance_shrinks_with_width():
    """In the equal-time GD protocol the network approaches the exact kernel prediction as m grows (2L-ReLU)."""
    rng = np.random.default_rng(1)
    x, q = rng.uniform(size=(40, 10)), rng.uniform(size=(10, 10))
    y, yq = np.argmax(x[:, :3], 1), np.argmax(q[:, :3], 1)
    z, zq = models.features("relu", x), models.features("relu", q)
    k_inf = E.infinite_kernels(z, zq)
    dist = {}
    for m in (32, 4096):
        rows = [E.run_width(z, y, zq, yq, k_inf, width=m, seed=s, epochs=1, gd_steps=30, protocols=("gd",))[0]
                for s in range(3)]
        dist[m] = np.mean([r["dist_rel"] for r in rows])
        assert all(r["protocol"] == "gd" and np.isfinite(r["dist_abs"]) for r in rows)
    assert dist[4096] < 0.35 * dist[32], dist


def test_run_width_rows_and_determinism():
    rng = np.random.default_rng(2)
    x, q = rng.uniform(size=(30, 8)), rng.uniform(size=(6, 8))
    y, yq = np.arange(30) % 3, np.arange(6) % 3
    z, zq = models.features("attn", x, x), models.features("attn", q, x)
    k_inf = E.infinite_kernels(z, zq)
    a = E.run_width(z, y, zq, yq, k_inf, width=16, seed=0, epochs=2, gd_steps=5, batch_size=8)
    b = E.run_width(z, y, zq, yq, k_inf, width=16, seed=0, epochs=2, gd_steps=5, batch_size=8)
    assert [r["protocol"] for r in a] == ["adam", "gd"]
    for ra, rb in zip(a, b, strict=True):
        for key in ra:
            if key != "seconds":
                assert ra[key] == rb[key], key
    assert a[0]["kernel_dist_init"] == a[1]["kernel_dist_init"] > 0
    with pytest.raises(ValueError, match="protocol"):
        E.run_width(z, y, zq, yq, k_inf, width=4, seed=0, epochs=1, gd_steps=1, protocols=("sgd",))


def test_adam_protocol_counterpart_is_the_ridge_regressor_with_n_c_l2():
    """The adam row's f_NTK is K(x,X)(K + n C l2 I)^-1 Y on one-hot targets (checked by its accuracy column)."""
    rng = np.random.default_rng(3)
    x, q = rng.uniform(size=(30, 8)), rng.uniform(size=(12, 8))
    y, yq = np.argmax(x[:, :3], 1), np.argmax(q[:, :3], 1)
    z, zq = models.features("relu", x), models.features("relu", q)
    ktt, kst = E.infinite_kernels(z, zq)
    f = kst @ np.linalg.solve(ktt + 30 * 3 * 1e-3 * np.eye(30), np.eye(3)[y])
    row = E.run_width(z, y, zq, yq, (ktt, kst), width=8, seed=0, epochs=1, gd_steps=1, protocols=("adam",))[0]
    f0 = models.apply_network(*models.init_network(jax.random.PRNGKey(0), 8, 8, 3), zq)
    f0x = models.apply_network(*models.init_network(jax.random.PRNGKey(0), 8, 8, 3), z)
    f_coupled = f0 + kst @ np.linalg.solve(ktt + 30 * 3 * 1e-3 * np.eye(30), np.eye(3)[y] - f0x)
    assert row["ntk_test_acc"] == np.mean(np.argmax(f_coupled, 1) == yq)
    f_m_minus = row["dist_abs_zero_init"]
    assert f_m_minus > 0 and row["init_output_norm"] == pytest.approx(float(np.linalg.norm(f0)), rel=1e-5)
    del f


def test_trend_classification():
    w = [16, 64, 256, 1024]
    assert E.trend(w, [4, 3, 2, 1]) == "decreasing"
    assert E.trend(w, [1, 2, 3, 4]) == "increasing"
    assert E.trend(w, [3, 1, 2, 4]) == "non-monotonic, then increasing"
    assert E.trend(w, [1, 3, 2, 1.5]) == "non-monotonic, then decreasing"
    assert E.trend(w, [1, 1.01, 0.99, 1.0]) == "flat"
    assert E.trend(w[::-1], [1, 2, 3, 4]) == "decreasing"  # widths are sorted first
    with pytest.raises(ValueError):
        E.trend([16], [1.0])


def test_relative_frobenius():
    a = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert E.relative_frobenius(2 * a, a) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="shapes"):
        E.relative_frobenius(a, a[:1])


def _fake_frame():
    import pandas as pd

    rows = []
    for model, vals in [("2L-ReLU", [5.0, 4.0, 3.0]), ("MLP-Attn", [1.0, 2.0, 3.0])]:
        for w, v in zip([16, 1024, 4096], vals, strict=True):
            for seed in (0, 1):
                for protocol in ("adam", "gd"):
                    rows.append({"dataset": "mnist", "arch": "relu", "model": model, "width": w, "seed": seed,
                                 "protocol": protocol, "dist_abs": v + 0.1 * seed, "dist_rel": 0.1 * v,
                                 "kernel_dist_init": 1 / w, "kernel_dist_final": 2 / w,
                                 "kernel_movement": 0.5 / w, "dist_abs_zero_init": v * (-1) ** (w == 1024),
                                 "test_acc": 0.5, "ntk_test_acc": 0.6, "train_loss": 1.0})
    return pd.DataFrame(rows)


def test_table1_sets_ours_beside_the_paper():
    t = E.table1(_fake_frame())
    relu = t[t["model"] == "2L-ReLU"].iloc[0]
    assert relu["ours m=16"] == pytest.approx(5.05) and relu["paper m=16"] == 45.1
    assert relu["our trend"] == "decreasing" and relu["verdict"] == "trend agrees"
    attn = t[t["model"] == "MLP-Attn"].iloc[0]
    assert attn["our trend"] == "increasing" and attn["verdict"] == "trend agrees"  # paper: "... then increasing"
    assert attn["trend under equal-time GD"] == "increasing" and attn["GD verdict"] == "trend agrees"
    assert relu["trend vs KRR from f0=0"].startswith("non-monotonic")
    assert relu["ours m=4096"] == pytest.approx(3.05)


def test_slopes_and_summary():
    f = _fake_frame()
    slopes = E.loglog_slopes(f)
    assert slopes.loc[("mnist", "relu", "adam"), "kernel_dist_init"] == pytest.approx(-1.0)
    s = E.summary_at_width(f, 1024)
    assert set(s.index.get_level_values("model")) == {"2L-ReLU", "MLP-Attn"}
    with pytest.raises(ValueError, match="width 7"):
        E.summary_at_width(f, 7)


def test_figures_draw():
    from ntkbook.plotting import ntk_distance as P

    fig = P.distance_vs_width(_fake_frame())
    assert len(fig.axes) == 2 and fig.axes[0].get_xlabel().startswith("width")
    fig2 = P.kernel_distance_vs_width(_fake_frame())
    assert len(fig2.axes) == 1


def test_sweep_on_digits_is_tidy_and_cached(tmp_path):
    frame, notes = E.ntk_distance_sweep(("digits",), widths=(8, 32), seeds=(0,), n_train=60, n_test=20, epochs=1,
                                        gd_steps=3, cache_dir=tmp_path)
    assert len(frame) == 2 * 2 * 1 * 2  # archs x widths x seeds x protocols
    assert set(frame["model"]) == {"2L-ReLU", "MLP-Attn"} and np.all(np.isfinite(frame["dist_abs"]))
    assert "digits" in notes
    again, _ = E.ntk_distance_sweep(("digits",), widths=(8, 32), seeds=(0,), n_train=60, n_test=20, epochs=1,
                                    gd_steps=3, cache_dir=tmp_path)
    assert again.drop(columns="seconds").equals(frame.drop(columns="seconds"))
    assert len(list(tmp_path.glob("ntk_distance-*.pkl"))) == 1


@pytest.mark.realdata
def test_sweep_on_real_mnist(real_data_dir, tmp_path):
    frame, notes = E.ntk_distance_sweep(("mnist",), widths=(16,), seeds=(0,), n_train=64, n_test=16, epochs=1,
                                        gd_steps=2, data_dir=real_data_dir, cache_dir=tmp_path)
    assert len(frame) == 4 and frame["kappa_G"].iloc[0] > 1
    assert "test split" in notes["mnist"]


def test_train_helpers_used_here_are_consistent():
    """The GD learning rate rule eta = rate n C / lambda_max keeps full-batch GD stable (loss decreases)."""
    rng = np.random.default_rng(4)
    x = rng.uniform(size=(30, 8))
    z = models.features("attn", x, x)
    ktt, _ = E.infinite_kernels(z, z)
    t = train.targets(np.arange(30) % 3, 3, "mse")
    eta = 0.5 * 30 * 3 / np.linalg.eigvalsh(ktt)[-1]
    params, signs = models.init_network(jax.random.PRNGKey(0), 8, 256, 3)
    _, hist = train.train_gd(params, signs, jnp.asarray(z), t, learning_rate=eta, steps=50)
    assert np.all(np.diff(hist["data_loss"]) <= 1e-7)


def test_kernel_spectrum_table_on_digits():
    t = E.kernel_spectrum_table(("digits",), n_train=50, n_test=10)
    assert list(t["model"]) == ["2L-ReLU", "MLP-Attn"]
    assert np.all((t["top_share"] > 0) & (t["top_share"] <= 1)) and np.all(t["kappa_K"] >= 1)
    # attention averages over the data set: its features are more aligned than the inputs
    relu, attn = t.iloc[0], t.iloc[1]
    assert attn["mean_cosine"] > relu["mean_cosine"] and attn["top_share"] > relu["top_share"]
    assert relu["kappa_G"] == attn["kappa_G"] > 1


def test_estimate_seconds_scales_with_work():
    import pandas as pd

    frame = pd.DataFrame({"dataset": "d", "arch": "relu", "protocol": ["adam", "gd"], "width": [256, 256],
                          "seconds": [2.0, 4.0]})
    est = E.estimate_seconds(frame, n_train_run=100, epochs_run=10, gd_steps_run=10, widths=[512], seeds=2,
                             n_train=200, epochs=10, gd_steps=20)
    # adam: 2 s x (2 widths x 2 n x 1) x 2 seeds = 16; gd: 4 s x (2 x 2 x 2) x 2 = 64
    assert est == pytest.approx(80.0)


def test_resolve_profile_fills_only_missing_knobs():
    from ntkbook.experiments import ntk_distance as nd

    chosen = nd.resolve_profile("default", epochs=7, widths=None)
    assert chosen["epochs"] == 7
    assert chosen["widths"] == nd.PROFILES["default"]["widths"]
    assert chosen is not nd.PROFILES["default"]
    with pytest.raises(ValueError, match="profile must be one of"):
        nd.resolve_profile("huge")
    with pytest.raises(ValueError, match="unknown knobs"):
        nd.resolve_profile("quick", width=3)
