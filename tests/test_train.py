"""ntkbook.train: the Adam protocol and full-batch gradient descent."""

import dataclasses

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


def _fit_problem(form):
    z, y, params, signs = _problem(n=50)
    cfg = train.TrainConfig(epochs=7, batch_size=16, learning_rate=1e-2, l2=1e-2, seed=4, l2_form=form)
    return z, train.targets(y, 3, "xent"), params, signs, cfg


@pytest.mark.parametrize("form", train.L2_FORMS)
def test_fit_fixed_budget_is_exactly_the_epoch_loop(form):
    """`fit` with no stop rule: bit for bit the hand-written loop of `run_epoch` over `epoch_key(config, e)` from
    Adam's initial state, W0 = the params passed in (the same float32 operations in the same order)."""
    z, t, params, signs, cfg = _fit_problem(form)
    seen = []
    fitted = train.fit(params, signs, z, t, cfg, on_epoch=lambda e, p, loss: seen.append((e, float(loss))))
    p, s, ref = params, optax.adam(cfg.learning_rate).init(params), []
    for epoch in range(cfg.epochs):
        p, s, loss = train.run_epoch(p, s, signs, z, t, jax.random.fold_in(jax.random.PRNGKey(4), epoch), cfg,
                                     params["W"])
        ref.append((epoch, float(loss)))
    np.testing.assert_array_equal(np.asarray(fitted.params["W"]), np.asarray(p["W"]))
    assert seen == ref
    assert (fitted.epochs, fitted.plateaued, fitted.objective) == (7, False, None)
    # and train.train is fit plus a history: the same weights
    trained, hist = train.train(params, signs, z, t, cfg, show_progress=False)
    np.testing.assert_array_equal(np.asarray(trained["W"]), np.asarray(p["W"]))
    assert hist["batch_loss"].tolist() == [loss for _, loss in ref]


@pytest.mark.parametrize(("form", "tol", "expected"), [("w-w0", 1e-12, (7, False)), ("w", 0.99, (3, True)),
                                                        ("none", 0.05, None)])
def test_fit_to_a_plateau_is_exactly_the_window_loop(form, tol, expected):
    """`stop=Plateau(3, tol)`: bit for bit a hand-written loop of windows (a jitted scan of `run_epoch` over the
    epochs' keys) that measures L = mean cross-entropy + (l2/2) R(W) after each window and stops after the first
    whole window with L_prev - L < tol L_prev."""
    z, t, params, signs, cfg = _fit_problem(form)
    fitted = train.fit(params, signs, z, t, cfg, stop=train.Plateau(3, tol))
    w0 = params["W"]

    def objective(p):
        data = float(jnp.mean(optax.softmax_cross_entropy(models.apply_network(p, signs, z), t)))
        r = {"w": jnp.sum(p["W"] ** 2), "w-w0": jnp.sum((p["W"] - w0) ** 2), "none": 0.0}[form]
        return data + 0.5 * cfg.l2 * float(r)

    @jax.jit
    def window(p, s, keys):
        def body(carry, key):
            q, st, _ = train.run_epoch(*carry, signs, z, t, key, dataclasses.replace(cfg, seed=0), w0)
            return (q, st), None
        return jax.lax.scan(body, (p, s), keys)[0]

    p, s = params, optax.adam(cfg.learning_rate).init(params)
    keys = [jax.random.fold_in(jax.random.PRNGKey(4), e) for e in range(cfg.epochs)]
    prev, done, stopped = objective(p), 0, False
    while done < cfg.epochs and not stopped:
        k = min(3, cfg.epochs - done)
        p, s = window(p, s, jnp.stack(keys[done:done + k]))
        done += k
        cur = objective(p)
        stopped = k == 3 and prev - cur < tol * prev
        prev = cur
    np.testing.assert_array_equal(np.asarray(fitted.params["W"]), np.asarray(p["W"]))
    assert (fitted.epochs, fitted.plateaued, fitted.objective) == (done, stopped, cur)
    if expected is not None:
        assert (done, stopped) == expected


def test_fit_refuses_what_it_cannot_do():
    z, t, params, signs, cfg = _fit_problem("w")
    with pytest.raises(ValueError, match="exceeds the budget"):
        train.fit(params, signs, z, t, cfg, stop=train.Plateau(8, 0.1))
    with pytest.raises(ValueError, match="on_epoch"):
        train.fit(params, signs, z, t, cfg, stop=train.Plateau(3, 0.1), on_epoch=print)
    with pytest.raises(ValueError, match="same n"):
        train.fit(params, signs, z, t[:-1], cfg)
    for window, tol in [(0, 0.1), (2.5, 0.1), (3, -1.0), (3, float("nan"))]:
        with pytest.raises(ValueError, match="Plateau"):
            train.Plateau(window, tol)
    # the one check of the penalty form, shared by TrainConfig, penalty and the chapters
    with pytest.raises(ValueError, match="l2_form must be one of"):
        train.penalty(params["W"], "l1")
    assert train.check_l2_form("w-w0") == "w-w0"
