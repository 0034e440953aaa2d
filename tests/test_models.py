"""ntkbook.models: features, network, and the fast empirical NTK against neural-tangents' generic ones."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import enable_x64

import ntkbook  # noqa: F401  (silences TensorFlow before neural_tangents is imported)
from ntkbook import models


def _data(n=40, d=12, seed=0):
    return jax.random.uniform(jax.random.PRNGKey(seed), (n, d))


def _arccos0_ntk(z1, z2):
    """Closed form of Theorem 4.2 for unit rows, numpy float64: (pi - theta)/(2 pi) * <z, z'>."""
    z1, z2 = np.asarray(z1, np.float64), np.asarray(z2, np.float64)
    z1 = z1 / np.linalg.norm(z1, axis=1, keepdims=True)
    z2 = z2 / np.linalg.norm(z2, axis=1, keepdims=True)
    cos = np.clip(z1 @ z2.T, -1.0, 1.0)
    return (np.pi - np.arccos(cos)) / (2 * np.pi) * cos


@pytest.mark.parametrize("arch", models.ARCHITECTURES)
def test_features_are_unit_rows(arch):
    x = _data()
    z = models.features(arch, x, x)
    assert z.shape == x.shape
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), 1.0, rtol=1e-6)


def test_attn_features_on_training_rows_are_normalised_gram_times_x():
    x = np.asarray(_data(), np.float64)
    xh = x / np.linalg.norm(x, axis=1, keepdims=True)
    gx = (xh @ xh.T) @ xh
    expected = gx / np.linalg.norm(gx, axis=1, keepdims=True)
    np.testing.assert_allclose(models.features("attn", x, x), expected, rtol=1e-5, atol=1e-6)
    # a new point attends to the training set: x_hat X^T X, normalised
    q = np.asarray(_data(5, seed=1), np.float64)
    qh = q / np.linalg.norm(q, axis=1, keepdims=True)
    u = qh @ xh.T @ xh
    np.testing.assert_allclose(
        models.features("attn", q, x), u / np.linalg.norm(u, axis=1, keepdims=True), rtol=1e-5, atol=1e-6
    )


def test_attn_features_depend_on_the_training_set_and_are_differentiable():
    x, q = _data(), _data(3, seed=2)
    g_train = jax.grad(lambda xt: jnp.sum(models.features("attn", q, xt)[:, 0]))(x)
    g_query = jax.grad(lambda xq: jnp.sum(models.features("attn", xq, x)[:, 0]))(q)
    assert np.all(np.isfinite(g_train)) and np.abs(g_train).max() > 0
    assert np.all(np.isfinite(g_query)) and np.abs(g_query).max() > 0
    # relu features do not see the training set
    assert np.allclose(models.features("relu", q, x), models.features("relu", q, x * 0.5 + 0.1))


def test_features_reject_bad_input():
    x = _data()
    with pytest.raises(ValueError, match="unknown architecture"):
        models.features("softmax", x, x)
    with pytest.raises(ValueError, match="x_train"):
        models.features("attn", x)
    with pytest.raises(ValueError, match="all-zero row"):
        models.features("relu", x.at[3].set(0.0))
    with pytest.raises(ValueError, match="2-D"):
        models.features("relu", x[0])


def test_init_network_shapes_and_distribution():
    params, signs = models.init_network(jax.random.PRNGKey(0), 50, 400, 10)
    assert params["W"].shape == (50, 400) and signs.shape == (400, 10)
    assert set(np.unique(np.asarray(signs))) == {-1.0, 1.0}
    w = np.asarray(params["W"])
    assert abs(w.mean()) < 0.02 and abs(w.std() - 1.0) < 0.02  # w_r ~ N(0, I)
    p2, s2 = models.init_network(jax.random.PRNGKey(0), 50, 400, 10)
    assert np.array_equal(w, p2["W"]) and np.array_equal(signs, s2)


def test_apply_network_matches_nt_stax_network():
    x = _data()
    z = models.features("relu", x)
    params, signs = models.init_network(jax.random.PRNGKey(3), 12, 64, 3)
    ours = models.apply_network(params, signs, z)
    nt_f = models.nt_apply_fn(signs, 12)
    np.testing.assert_allclose(ours, nt_f(params, z), rtol=1e-6, atol=1e-6)
    manual = np.maximum(np.asarray(z) @ np.asarray(params["W"]), 0) @ np.asarray(signs) / 8.0
    np.testing.assert_allclose(ours, manual, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("implementation", ["ntk_vector_products", "jacobian_contraction"])
@pytest.mark.parametrize("arch", models.ARCHITECTURES)
def test_fast_empirical_ntk_matches_neural_tangents(arch, implementation):
    x, q = _data(30), _data(7, seed=5)
    z_train, z_test = models.features(arch, x, x), models.features(arch, q, x)
    params, signs = models.init_network(jax.random.PRNGKey(4), 12, 96, 4)
    for z1, z2 in [(z_train, None), (z_test, z_train)]:
        fast = models.empirical_ntk(params, z1, z2)
        ref = models.empirical_ntk_nt(params, signs, z1, z2, implementation=implementation)
        assert fast.shape == ref.shape
        rel = float(jnp.max(jnp.abs(fast - ref)) / jnp.max(jnp.abs(ref)))
        assert rel < 1e-5, rel


def test_fast_ntk_equals_every_output_block_of_the_full_ntk():
    """With trace_axes=() NT gives (N1, N2, C, C); each diagonal output block is the fast one."""
    import neural_tangents as nt

    z = models.features("relu", _data(20))
    params, signs = models.init_network(jax.random.PRNGKey(6), 12, 32, 3)
    full = nt.empirical_ntk_fn(models.nt_apply_fn(signs, 12), trace_axes=(), vmap_axes=0)(z, None, params)
    fast = models.empirical_ntk(params, z)
    for c in range(3):
        np.testing.assert_allclose(full[:, :, c, c], fast, rtol=1e-5, atol=1e-6)


def test_structured_derivatives_still_fails_on_the_pinned_jax():
    """NT's STRUCTURED_DERIVATIVES breaks on JAX 0.5.3; if this starts passing, the pin changed: update the docs."""
    z = models.features("relu", _data(5))
    params, signs = models.init_network(jax.random.PRNGKey(0), 12, 8, 2)
    with pytest.raises(AttributeError, match="source_info_util"):
        models.empirical_ntk_nt(params, signs, z, implementation="structured_derivatives")


def test_infinite_ntk_matches_arc_cosine_closed_form():
    x, q = _data(25), _data(6, seed=9)
    for arch in models.ARCHITECTURES:
        z1, z2 = models.features(arch, q, x), models.features(arch, x, x)
        # renormalise in float64 so that both sides see exactly unit rows
        z1 = np.asarray(z1, np.float64) / np.linalg.norm(np.asarray(z1, np.float64), axis=1, keepdims=True)
        z2 = np.asarray(z2, np.float64) / np.linalg.norm(np.asarray(z2, np.float64), axis=1, keepdims=True)

        with enable_x64():
            k = models.infinite_ntk(jnp.asarray(z1, jnp.float64), jnp.asarray(z2, jnp.float64))
            assert k.dtype == jnp.float64
        np.testing.assert_allclose(np.asarray(k), _arccos0_ntk(z1, z2), rtol=1e-6, atol=1e-9)
        # float32: arccos near cos = 1 loses ~sqrt(eps) accuracy on the diagonal
        np.testing.assert_allclose(models.infinite_ntk(z2), _arccos0_ntk(z2, z2), rtol=0, atol=5e-4)


def test_infinite_ntk_matches_kernels_first_layer_ntk():
    from ntkbook import kernels

    z = np.asarray(models.features("attn", _data(15, seed=3), _data(20)), np.float64)
    z = z / np.linalg.norm(z, axis=1, keepdims=True)
    with enable_x64():
        ours = np.asarray(models.infinite_ntk(jnp.asarray(z, jnp.float64)))
    np.testing.assert_allclose(ours, kernels.first_layer_ntk(z, z), rtol=1e-9, atol=1e-8)  # arccos at cos~1: ~sqrt(eps)


def test_empirical_ntk_converges_to_infinite_ntk_as_one_over_sqrt_width():
    """||K_m - K_inf||_F / ||K_inf||_F at initialisation falls like m^(-1/2) (a Monte Carlo average over m units)."""
    z = models.features("relu", _data(30, 12, seed=11))
    k_inf = np.asarray(models.infinite_ntk(z))
    widths = [64, 256, 1024, 4096, 16384]
    errors = []
    for m in widths:
        errs = []
        for s in range(6):
            params, _ = models.init_network(jax.random.PRNGKey(100 * m + s), 12, m, 1)
            k_m = np.asarray(models.empirical_ntk(params, z))
            errs.append(np.linalg.norm(k_m - k_inf) / np.linalg.norm(k_inf))
        errors.append(np.mean(errs))
    slope = np.polyfit(np.log(widths), np.log(errors), 1)[0]
    assert -0.6 < slope < -0.4, (slope, errors)
    assert errors[-1] < 0.02


def test_features_and_network_work_under_jit_and_grad():
    """Attacks differentiate the loss through the features of a perturbed training set, under jit."""
    x = _data(20)
    params, signs = models.init_network(jax.random.PRNGKey(1), 12, 16, 2)

    @jax.jit
    def out(xt):
        return jnp.sum(models.apply_network(params, signs, models.features("attn", xt, xt)) ** 2)

    np.testing.assert_allclose(out(x), jnp.sum(models.apply_network(params, signs, models.features("attn", x, x)) ** 2),
                               rtol=1e-5)
    g = jax.jit(jax.grad(out))(x)
    assert g.shape == x.shape and np.all(np.isfinite(g)) and np.abs(g).max() > 0
