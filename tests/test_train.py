"""ntkbook.train: the Adam protocol and full-batch gradient descent."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from ntkbook import models, nt_compat, train


def _problem(n=60, d=10, width=32, n_classes=3, arch="relu", seed=0, n_out=None):
    """Inputs with learnable labels (the class is the largest of the first C coordinates)."""
    x = jax.random.uniform(jax.random.PRNGKey(seed), (n, d))
    y = np.asarray(jnp.argmax(x[:, :n_classes], axis=1))
    z = models.features(arch, x, x)
    n_out = n_classes if n_out is None else n_out
    params, signs = models.init_network(jax.random.PRNGKey(seed + 1), d, width, n_out)
    return z, y, params, signs


def test_targets():
    y = np.array([0, 1, 1, 0])
    np.testing.assert_array_equal(train.targets(y, 2, "mse"), [[-1.0], [1.0], [1.0], [-1.0]])
    np.testing.assert_array_equal(train.targets(y, 2, "xent"), np.eye(2)[y])
    assert train.targets(np.array([0, 9]), 10, "mse").shape == (2, 10)
    with pytest.raises(ValueError, match="class indices"):
        train.targets(np.array([0, 3]), 3, "xent")
    with pytest.raises(ValueError, match="loss"):
        train.targets(y, 2, "hinge")


def test_loss_fn_matches_hand_computation():
    z, y, params, signs = _problem()
    t = train.targets(y, 3, "xent")
    f = np.asarray(models.apply_network(params, signs, z), np.float64)
    logp = f - np.log(np.exp(f).sum(1, keepdims=True))
    pen = 0.5 * 0.01 * np.sum(np.asarray(params["W"], np.float64) ** 2)
    expected = -np.mean(np.sum(np.asarray(t) * logp, 1)) + pen
    np.testing.assert_allclose(train.loss_fn(params, signs, z, t, "xent", 0.01), expected, rtol=1e-5)
    tm = train.targets(y, 3, "mse")
    np.testing.assert_allclose(
        train.loss_fn(params, signs, z, tm, "mse", 0.0), 0.5 * np.mean((f - np.asarray(tm)) ** 2), rtol=1e-5
    )
    # weights: a zero-weight row does not count
    w = jnp.ones(z.shape[0]).at[0].set(0.0)
    np.testing.assert_allclose(
        train.loss_fn(params, signs, z, tm, "mse", 0.0, w), train.loss_fn(params, signs, z[1:], tm[1:], "mse", 0.0),
        rtol=1e-6,
    )


def test_batches_cover_every_example_once_per_epoch():
    idx, w = train._batches(300, 128, jax.random.PRNGKey(0))
    assert idx.shape == (3, 128) and w.shape == (3, 128)
    used = np.asarray(idx)[np.asarray(w) > 0]
    assert sorted(used.tolist()) == list(range(300))


def test_run_epoch_equals_a_plain_python_adam_loop():
    z, y, params, signs = _problem(n=50)
    t = train.targets(y, 3, "xent")
    cfg = train.TrainConfig(epochs=1, batch_size=16, learning_rate=1e-2, l2=1e-3)
    key = train.epoch_key(cfg, 0)
    p_fast, _, _ = train.run_epoch(params, train.init_opt_state(params, cfg), signs, z, t, key, cfg)
    idx, w = train._batches(50, 16, key)
    opt = optax.adam(1e-2)
    p, s = params, opt.init(params)
    for bi, bw in zip(np.asarray(idx), np.asarray(w), strict=True):
        keep = bi[bw > 0]
        g = jax.grad(train.loss_fn)(p, signs, z[keep], t[keep], "xent", 1e-3)
        u, s = opt.update(g, s, p)
        p = optax.apply_updates(p, u)
    np.testing.assert_allclose(p_fast["W"], p["W"], rtol=1e-5, atol=1e-6)


def t_cols(n_classes, loss):
    return 1 if (loss == "mse" and n_classes == 2) else n_classes


@pytest.mark.parametrize("loss,n_classes", [("xent", 3), ("mse", 2)])
def test_training_lowers_the_loss(loss, n_classes):
    z, y, params, signs = _problem(n_classes=n_classes, width=64, n_out=t_cols(n_classes, loss))
    t = train.targets(y, n_classes, loss)
    cfg = train.TrainConfig(epochs=30, batch_size=16, learning_rate=2e-2, l2=1e-5, loss=loss)
    before = train.evaluate(params, signs, z, t, cfg)["data_loss"]
    trained, hist = train.train(params, signs, z, t, cfg)
    assert list(hist.columns) == ["epoch", "batch_loss", "loss", "data_loss", "accuracy", "weight_ratio"]
    assert len(hist) == 30 and hist["epoch"].tolist() == list(range(1, 31))
    assert hist["data_loss"].iloc[-1] < 0.7 * before
    assert not np.array_equal(trained["W"], params["W"])


def test_loss_fn_rejects_mismatched_outputs():
    z, y, params, signs = _problem(n_classes=2)  # two outputs
    with pytest.raises(ValueError, match="n_out"):
        train.loss_fn(params, signs, z, train.targets(y, 2, "mse"), "mse", 0.0)


def test_same_seed_identical_different_seed_differs():
    z, y, params, signs = _problem()
    t = train.targets(y, 3, "xent")
    cfg = train.TrainConfig(epochs=3, batch_size=16, seed=7)
    a, ha = train.train(params, signs, z, t, cfg)
    b, hb = train.train(params, signs, z, t, cfg)
    c, _ = train.train(params, signs, z, t, train.TrainConfig(epochs=3, batch_size=16, seed=8))
    assert np.array_equal(a["W"], b["W"]) and ha.equals(hb)
    assert not np.array_equal(a["W"], c["W"])
    # evaluating less often changes nothing but the NaN columns
    d, hd = train.train(params, signs, z, t, cfg, eval_every=2)
    assert np.array_equal(a["W"], d["W"]) and hd["batch_loss"].equals(ha["batch_loss"])
    assert hd["loss"].isna().tolist() == [True, False, False] and hd["loss"].iloc[-1] == ha["loss"].iloc[-1]


def test_train_config_validation():
    with pytest.raises(ValueError, match="loss"):
        train.TrainConfig(epochs=1, loss="hinge")
    with pytest.raises(ValueError, match="invalid"):
        train.TrainConfig(epochs=1, batch_size=0)


def test_train_gd_follows_the_linearised_dynamics_at_large_width():
    """Wide network + full-batch GD on MSE ~= NT's closed-form gradient flow with the NTK at init (equal time)."""
    z, y, params, signs = _problem(n=30, d=10, width=8192, n_classes=2, n_out=1)
    t = train.targets(y, 2, "mse")
    lr, steps = 2.0, 200
    trained, hist = train.train_gd(params, signs, z, t, learning_rate=lr, steps=steps)
    assert hist["data_loss"].iloc[-1] < hist["data_loss"].iloc[0]
    k = models.empirical_ntk(params, z)
    predict = nt_compat.load().predict.gradient_descent_mse(k, t, learning_rate=lr)
    f_lin = predict(steps, models.apply_network(params, signs, z), None, None)
    f_net = models.apply_network(trained, signs, z)
    moved = float(jnp.linalg.norm(f_net - models.apply_network(params, signs, z)))
    gap = float(jnp.linalg.norm(f_net - f_lin))
    assert moved > 0.1 and gap < 0.05 * moved, (gap, moved)


def test_penalty_forms():
    w, w0 = jnp.array([[1.0, 2.0], [0.0, -1.0]]), jnp.array([[1.0, 0.0], [1.0, -1.0]])
    assert float(train.penalty(w, "w")) == 6.0
    assert float(train.penalty(w, "w-w0", w0)) == 5.0
    assert float(train.penalty(w, "none")) == 0.0
    with pytest.raises(ValueError, match="w0"):
        train.penalty(w, "w-w0")
    with pytest.raises(ValueError, match="l2_form"):
        train.TrainConfig(epochs=1, l2_form="l1")
    z, y, params, signs = _problem()
    t = train.targets(y, 3, "xent")
    data = float(train.loss_fn(params, signs, z, t, "xent", 0.0))
    got = float(train.loss_fn(params, signs, z, t, "xent", 0.1, l2_form="w-w0", w0=params["W"] + 1.0))
    np.testing.assert_allclose(got, data + 0.5 * 0.1 * params["W"].size, rtol=1e-5)


def test_l2_forms_change_the_weight_norm_ratio_as_documented():
    """The literal penalty shrinks W (||W||/||W0|| well below 1 when l2 d m / 2 dominates the data loss); the penalty
    on W - W0 keeps W nearer its initialisation than no penalty does; the history reports the ratio."""
    z, y, params, signs = _problem(n=60, d=10, width=256)
    t = train.targets(y, 3, "xent")
    ratios, moved = {}, {}
    for form in train.L2_FORMS:
        cfg = train.TrainConfig(epochs=40, batch_size=16, learning_rate=2e-2, l2=0.05, loss="xent", l2_form=form)
        trained, hist = train.train(params, signs, z, t, cfg, eval_every=40)
        ratios[form] = hist.weight_ratio.iloc[-1]
        assert ratios[form] == pytest.approx(train.weight_ratio(trained["W"], params["W"]), rel=1e-6)
        moved[form] = float(jnp.linalg.norm(trained["W"] - params["W"]))
    # initial penalty 0.05 * 10 * 256 / 2 = 64 against a data loss of about 1: Adam shrinks W
    assert ratios["w"] < 0.8
    assert abs(ratios["w-w0"] - 1) < 0.1 and abs(ratios["none"] - 1) < 0.2
    assert moved["w-w0"] < moved["none"]
