"""FGSM, PGD and MIM: they stay inside the ε-ball and [0, 1], raise the loss they attack, and (for MLP-Attn) see
through the attention to the rest of the training set. PGD adversarial training lowers the adversarial loss."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ntkbook import attacks, models, train


def linear_loss(x, w):
    return jnp.sum(x * w)


def bowl_loss(x, c):
    return jnp.sum((x - c) ** 2)


def _data(n=12, d=16, seed=0):
    rng = np.random.default_rng(seed)
    return jnp.asarray(rng.uniform(0.05, 0.95, size=(n, d)), dtype=jnp.float32)


def _all_attacks(loss_fn, x, eps, args):
    return {
        "fgsm": attacks.fgsm(loss_fn, x, eps, args),
        "pgd": attacks.pgd(loss_fn, x, eps, steps=7, args=args),
        "pgd-random-start": attacks.pgd(loss_fn, x, eps, steps=7, args=args, key=jax.random.PRNGKey(1)),
        "mim": attacks.mim(loss_fn, x, eps, steps=7, decay=0.9, args=args),
    }


@pytest.mark.parametrize("eps", [0.05, 0.3])
def test_attacks_stay_in_ball_and_box_and_raise_the_loss(eps):
    x = _data()
    c = jnp.asarray(np.random.default_rng(1).uniform(size=x.shape), dtype=jnp.float32)
    before = bowl_loss(x, c)
    for name, x_adv in _all_attacks(bowl_loss, x, eps, (c,)).items():
        assert x_adv.shape == x.shape
        assert float(jnp.max(jnp.abs(x_adv - x))) <= eps + 1e-6, name
        assert float(x_adv.min()) >= 0.0 and float(x_adv.max()) <= 1.0, name
        assert float(bowl_loss(x_adv, c)) > float(before) + 1e-3, name
        assert float(jnp.max(jnp.abs(x_adv - x))) > 0.5 * eps, name  # it really moved


def test_linear_loss_is_maximised_exactly():
    """For L = <w, x> the maximiser over the ball-box is clip(x + ε sign w, 0, 1); every attack finds it."""
    x = _data(seed=2)
    w = jnp.asarray(np.random.default_rng(3).normal(size=x.shape), dtype=jnp.float32)
    best = jnp.clip(x + 0.2 * jnp.sign(w), 0, 1)
    for name, x_adv in _all_attacks(linear_loss, x, 0.2, (w,)).items():
        np.testing.assert_allclose(np.asarray(x_adv), np.asarray(best), atol=1e-6, err_msg=name)


def test_projection_and_validation():
    x = jnp.full((2, 3), 0.9)
    out = attacks.project(x + jnp.array([[0.5, -0.05, -2.0], [0.05, 0.0, 1.0]]), x, 0.1)
    np.testing.assert_allclose(np.asarray(out), [[1.0, 0.85, 0.8], [0.95, 0.9, 1.0]], atol=1e-6)
    with pytest.raises(ValueError, match="eps"):
        attacks.fgsm(linear_loss, x, -0.1, (x,))
    with pytest.raises(ValueError, match="steps"):
        attacks.pgd(linear_loss, x, 0.1, steps=0, args=(x,))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        attacks.pgd(linear_loss, x * 3, 0.1, args=(x,))
    with pytest.raises(ValueError, match="unknown attack"):
        attacks.attack("cw", linear_loss, x, 0.1, args=(x,))


def _class_data(n, d, c, seed):
    """Learnable toy data: class k lights up its own block of pixels, plus uniform noise; in [0, 1]."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % c
    x = 0.3 * rng.uniform(size=(n, d))
    for k in range(c):
        x[y == k, k * (d // c) : (k + 1) * (d // c)] += 0.6
    return jnp.asarray(x, dtype=jnp.float32), y


def _trained(arch, n=16, d=20, loss="xent", c=3, epochs=30, seed=0):
    x, y = _class_data(n, d, c, seed)
    t = train.targets(y, c, loss)
    params, signs = models.init_network(jax.random.PRNGKey(seed), d, 64, t.shape[1])
    cfg = train.TrainConfig(epochs=epochs, batch_size=8, learning_rate=1e-2, loss=loss)
    params, _ = train.train(params, signs, models.features(arch, x, x), t, cfg)
    return x, t, params, signs, cfg


@pytest.mark.parametrize("arch", models.ARCHITECTURES)
@pytest.mark.parametrize("loss", ["xent", "mse"])
def test_training_data_attacks_raise_the_training_loss(arch, loss):
    x, t, params, signs, _ = _trained(arch, loss=loss, c=3 if loss == "xent" else 2)
    fn = attacks.training_loss(arch, loss)
    assert attacks.training_loss(arch, loss) is fn  # one object, so the jitted attack compiles once
    before = float(fn(x, params, signs, t))
    for name in attacks.ATTACKS:
        x_adv = attacks.attack(name, fn, x, 0.1, steps=5, args=(params, signs, t))
        assert float(jnp.max(jnp.abs(x_adv - x))) <= 0.1 + 1e-6
        assert float(fn(x_adv, params, signs, t)) > before, (arch, loss, name)


def test_attention_gradient_reaches_other_training_points():
    """d loss(point 0) / d x_1 is zero for 2L-ReLU and non-zero for MLP-Attn (attention over the training set)."""
    x, t, params, signs, _ = _trained("attn")

    def loss_of_first(arch):
        def fn(xx):
            z = models.features(arch, xx, xx)
            return train.loss_fn(params, signs, z[:1], t[:1], "xent", 0.0)

        return fn

    g_relu = jax.grad(loss_of_first("relu"))(x)
    g_attn = jax.grad(loss_of_first("attn"))(x)
    assert float(jnp.abs(g_relu[1:]).max()) == 0.0
    assert float(jnp.abs(g_attn[1:]).max()) > 1e-6


@pytest.mark.parametrize("arch", ["relu"])
def test_adversarial_training_lowers_the_adversarial_loss(arch):
    """For 2L-ReLU PGD training lowers the PGD loss. (For MLP-Attn on this toy set it does not: the attack moves
    the whole training set, hence every point's attention features at once; the chapter reports what happens.)"""
    x, t, _, _, cfg = _trained(arch, epochs=0)
    params0, signs = models.init_network(jax.random.PRNGKey(0), x.shape[1], 64, t.shape[1])
    cfg = train.TrainConfig(epochs=60, batch_size=8, learning_rate=3e-2, loss="xent")
    std, _ = train.train(params0, signs, models.features(arch, x, x), t, cfg)
    adv, x_last = attacks.adversarial_train(arch, params0, signs, x, t, cfg, eps=0.1, steps=5, rounds=20)
    assert float(jnp.max(jnp.abs(x_last - x))) <= 0.1 + 1e-6
    fn = attacks.training_loss(arch, "xent")

    def robust_loss(p):
        return float(fn(attacks.pgd(fn, x, 0.1, steps=10, args=(p, signs, t)), p, signs, t))

    assert robust_loss(adv) < robust_loss(std)
    with pytest.raises(ValueError, match="rounds"):
        attacks.adversarial_train(arch, params0, signs, x, t, cfg, eps=0.1, rounds=61)


def test_per_row_budget_moves_only_chosen_rows():
    x = _data()
    c = jnp.asarray(np.random.default_rng(4).uniform(size=x.shape), dtype=jnp.float32)
    budget = np.zeros((x.shape[0], 1))
    budget[[1, 5]] = 0.2
    for name in attacks.ATTACKS:
        x_adv = attacks.attack(name, bowl_loss, x, budget, steps=5, args=(c,))
        moved = np.flatnonzero(np.abs(np.asarray(x_adv - x)).max(axis=1) > 0)
        assert moved.tolist() == [1, 5], name
        assert float(jnp.max(jnp.abs(x_adv - x))) <= 0.2 + 1e-6
