"""ntkbook.models: features, network, and the fast empirical NTK against neural-tangents' generic ones."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ntkbook import models, nt_compat


def _data(n=40, d=12, seed=0):
    return jax.random.uniform(jax.random.PRNGKey(seed), (n, d))


#: Unit roundoffs: fl(a op b) = (a op b)(1 + delta) with |delta| <= u, on any IEEE-754 machine.
U32, U64 = 2.0**-24, 2.0**-53


def gamma(k: int, u: float) -> float:
    """Higham's gamma_k = k u / (1 - k u): relative error bound of a k-term sum or dot product of same-sign terms,
    and the bound relative to sum |terms| in general."""
    return k * u / (1 - k * u)


def _mp_first_layer_ntk(z1, z2):
    """Theorem 4.2's kernel of the exact float64 values of z1 (N1, d), z2 (N2, d), in 40-digit arithmetic."""
    import mpmath

    z1, z2 = np.asarray(z1, np.float64), np.asarray(z2, np.float64)
    out = np.empty((len(z1), len(z2)))
    with mpmath.workdps(40):
        a = [[mpmath.mpf(float(t)) for t in r] for r in z1]
        b = [[mpmath.mpf(float(t)) for t in r] for r in z2]
        na = [mpmath.sqrt(mpmath.fsum(t * t for t in r)) for r in a]
        nb = [mpmath.sqrt(mpmath.fsum(t * t for t in r)) for r in b]
        for i, r in enumerate(a):
            for j, s in enumerate(b):
                diff = mpmath.sqrt(mpmath.fsum((x / na[i] - y / nb[j]) ** 2 for x, y in zip(r, s, strict=True)))
                summ = mpmath.sqrt(mpmath.fsum((x / na[i] + y / nb[j]) ** 2 for x, y in zip(r, s, strict=True)))
                theta = 2 * mpmath.atan2(diff, summ)
                out[i, j] = float((mpmath.pi - theta) / (2 * mpmath.pi) * mpmath.fsum(x * y for x, y in zip(r, s, strict=True)))
    return out


@pytest.mark.parametrize("arch", models.ARCHITECTURES)
def test_features_are_unit_rows(arch):
    x = _data()
    z = models.features(arch, x, x)
    assert z.shape == x.shape
    # float32 x / ||x||: each entry within gamma_{d+2}(u32) of exact (d = 12: 8.3e-7); the float64 norm of the
    # rounded rows is then 1 within that, < 1e-6 (for attn the rows of G x are normalised the same way)
    assert gamma(14, U32) < 1e-6
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), 1.0, rtol=1e-6)


def test_attn_features_on_training_rows_are_normalised_gram_times_x():
    x = np.asarray(_data(), np.float64)
    xh = x / np.linalg.norm(x, axis=1, keepdims=True)
    gx = (xh @ xh.T) @ xh
    expected = gx / np.linalg.norm(gx, axis=1, keepdims=True)
    # positive data: every sum in x_hat X^T X has terms of one sign, so float32 keeps each entry within
    # (gamma_{d+2} + gamma_d + gamma_n + gamma_{d+2})(u32) relative (normalise, two products, normalise):
    # (n + 3d + 4) u32 = 80 * 6e-8 = 4.8e-6 < 1e-5; atol covers float64 -> float32 input rounding (u32 * 1)
    tol = gamma(x.shape[0] + 3 * x.shape[1] + 4, U32)
    assert tol < 1e-5
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
    # w_r ~ N(0, I): 20,000 draws, standard errors 0.0071 (mean) and 0.005 (std); 0.02 is > 2.8 of them (fixed key)
    assert abs(w.mean()) < 0.02 and abs(w.std() - 1.0) < 0.02
    p2, s2 = models.init_network(jax.random.PRNGKey(0), 50, 400, 10)
    assert np.array_equal(w, p2["W"]) and np.array_equal(signs, s2)


def test_apply_network_matches_nt_stax_network():
    x = _data()
    z = models.features("relu", x)
    params, signs = models.init_network(jax.random.PRNGKey(3), 12, 64, 3)
    ours = models.apply_network(params, signs, z)
    nt_f = models.nt_apply_fn(signs, 12)
    # each implementation errs by <= e = [gamma_d |z| |W| @ |a| + gamma_m |relu(zW)| @ |a|] / sqrt(m) + u |f|
    # (float32 products with sums of mixed signs), so two of them differ by <= 2 e, entry by entry
    zz, w, a = np.abs(np.asarray(z, np.float64)), np.abs(np.asarray(params["W"], np.float64)), np.asarray(signs)
    h = np.maximum(np.asarray(z, np.float64) @ np.asarray(params["W"], np.float64), 0)
    e = (gamma(12, U32) * (zz @ w) @ np.abs(a) + gamma(64, U32) * h @ np.abs(a)) / 8.0 + U32 * np.abs(ours)
    assert np.all(np.abs(np.asarray(ours) - np.asarray(nt_f(params, z))) <= 2 * e)
    manual = np.maximum(np.asarray(z) @ np.asarray(params["W"]), 0) @ np.asarray(signs) / 8.0
    assert np.all(np.abs(np.asarray(ours) - manual) <= 2 * e)


def _assert_no_sign_ambiguity(params, z1, z2):
    """Every pre-activation w_r . z is farther from 0 than its float32 error gamma_d |w_r| . |z|, so every
    implementation computes the same activation pattern 1[w_r . z > 0] (otherwise kernels may differ by 1/m)."""
    w = np.asarray(params["W"], np.float64)
    for z in (z1, z1 if z2 is None else z2):
        z = np.asarray(z, np.float64)
        assert np.all(np.abs(z @ w) > 2 * gamma(z.shape[1] + 1, U32) * (np.abs(z) @ np.abs(w)))


@pytest.mark.parametrize("implementation", ["ntk_vector_products", "jacobian_contraction"])
@pytest.mark.parametrize("arch", models.ARCHITECTURES)
def test_fast_empirical_ntk_matches_neural_tangents(arch, implementation):
    x, q = _data(30), _data(7, seed=5)
    z_train, z_test = models.features(arch, x, x), models.features(arch, q, x)
    params, signs = models.init_network(jax.random.PRNGKey(4), 12, 96, 4)
    for z1, z2 in [(z_train, None), (z_test, z_train)]:
        _assert_no_sign_ambiguity(params, z1, z2)
        fast = models.empirical_ntk(params, z1, z2)
        ref = models.empirical_ntk_nt(params, signs, z1, z2, implementation=implementation)
        assert fast.shape == ref.shape
        # same activation patterns (checked above), positive features: both are sums of m non-negative terms
        # 1 1 <z, z'> / m with a d-term dot product, so each is within gamma_{m+d+2}(u32) of exact, relative
        # (m = 96, d = 12: 6.6e-6 < 1e-5)
        assert gamma(96 + 12 + 2, U32) < 1e-5
        rel = float(jnp.max(jnp.abs(fast - ref) / jnp.abs(ref)))
        assert rel < 2 * gamma(96 + 12 + 2, U32), rel


def test_fast_ntk_equals_every_output_block_of_the_full_ntk():
    """With trace_axes=() NT gives (N1, N2, C, C); each diagonal output block is the fast one."""
    nt = nt_compat.load()
    z = models.features("relu", _data(20))
    params, signs = models.init_network(jax.random.PRNGKey(6), 12, 32, 3)
    full = nt.empirical_ntk_fn(models.nt_apply_fn(signs, 12), trace_axes=(), vmap_axes=0)(z, None, params)
    fast = models.empirical_ntk(params, z)
    _assert_no_sign_ambiguity(params, z, z)
    for c in range(3):
        # as above: sums of non-negative terms, relative error <= gamma_{m+d+2}(u32) for each, m = 32, d = 12
        np.testing.assert_allclose(full[:, :, c, c], fast, rtol=2 * gamma(32 + 12 + 2, U32), atol=0)


@pytest.mark.filterwarnings("ignore:linear_util.wrap_init is missing a DebugInfo:DeprecationWarning")
def test_structured_derivatives_still_fails_on_the_pinned_jax():
    """NT's STRUCTURED_DERIVATIVES reaches into JAX internals that changed after NT's last release (JAX 0.5.3:
    `ad.source_info_util` is gone; 0.12: `ad.linearize` returns a different object). The message differs between
    versions, so the check is where it fails: inside NT's `_src/empirical.py`, with an AttributeError or TypeError.
    If this starts passing, the pin changed: update ntkbook.models and the benchmark notes."""
    z = models.features("relu", _data(5))
    params, signs = models.init_network(jax.random.PRNGKey(0), 12, 8, 2)
    with pytest.raises((AttributeError, TypeError)) as info:
        models.empirical_ntk_nt(params, signs, z, implementation="structured_derivatives")
    frames = [entry.path.as_posix() for entry in info.traceback]
    assert any(f.endswith("neural_tangents/_src/empirical.py") for f in frames), frames


def test_infinite_ntk_matches_high_precision_closed_form():
    x, q = _data(25), _data(6, seed=9)
    for arch in models.ARCHITECTURES:
        z1, z2 = models.features(arch, q, x), models.features(arch, x, x)
        k = models.infinite_ntk(z1, z2)
        assert k.dtype == np.float64
        ref = _mp_first_layer_ntk(z1, z2)
        # ntkbook.kernels' bound (tests/test_kernels.py::angle_bound): the arc-cosine factor is within 2 (d + 7) u64,
        # and <z, z'> within gamma_{d+1} ||z|| ||z'|| (||z|| = 1 +- 1e-6 for these float32 unit rows; use 2)
        d = x.shape[1]
        assert np.max(np.abs(k - ref)) <= 2 * (2 * (d + 7) * U64 + gamma(d + 1, U64))
        # the diagonal: exactly <z, z> / 2
        kk = models.infinite_ntk(z2)
        z64 = np.asarray(z2, np.float64)
        np.testing.assert_array_equal(np.diag(kk), 0.5 * np.diag(z64 @ z64.T))


def test_neural_tangents_kernel_fn_agrees_within_its_arccos_error():
    """NT's kernel_fn takes arccos of a rounded cosine; it agrees with ours within what that rounding allows."""
    x = _data(25)
    d = x.shape[1]
    for arch in models.ARCHITECTURES:
        z = np.asarray(models.features(arch, x, x), np.float64)
        ours = models.infinite_ntk(z)
        cos = np.clip(z @ z.T / np.outer(np.linalg.norm(z, axis=1), np.linalg.norm(z, axis=1)), -1, 1)
        near = np.abs(cos) > 0.9
        for dtype, u in [(jnp.float64, U64), (jnp.float32, U32)]:
            with jax.enable_x64(dtype == jnp.float64):
                nt_k = np.asarray(models.infinite_ntk_nt(jnp.asarray(z, dtype)), np.float64)
            # NT's cosine errs by eta <= 4 gamma_{d+5}(u) (dot product, norms, sqrt, division; float32 input
            # rounding adds u). arccos is Hoelder-1/2 with constant pi/sqrt(2), Lipschitz 2.3 where |cos| <= 0.9:
            # kernel error <= sqrt(eta)/(2 sqrt 2) near theta = 0, <= 2.3 eta / (2 pi) elsewhere, times
            # |<z, z'>| <= 1 + gamma_d, plus the product's own rounding (gamma_{d+1}) and ours (negligible here).
            eta = 4 * gamma(d + 5, u) + u
            err = np.abs(nt_k - ours)
            assert np.max(err[near]) <= 1.01 * (math.sqrt(eta) / (2 * math.sqrt(2)) + 2 * gamma(d + 1, u))
            if (~near).any():
                assert np.max(err[~near]) <= 1.01 * (2.3 * eta / (2 * math.pi) + 2 * gamma(d + 1, u))


def test_empirical_ntk_converges_to_infinite_ntk_as_one_over_sqrt_width():
    """||K_m - K_inf||_F / ||K_inf||_F at initialisation falls like m^(-1/2) (a Monte Carlo average over m units)."""
    z = models.features("relu", _data(30, 12, seed=11))
    k_inf = models.infinite_ntk(z)
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

    # jit may fuse and reorder float32 sums; the output is a sum of squares (same-sign terms) of outputs whose
    # every stage (attention features, z W, readout over m = 16) has relative error <= gamma_k(u32) with
    # k <= n + 3d + 4 + d + m = 112 for positive data (tests above), so the two evaluations agree to
    # 2 * 2 * gamma_112 * (1 + cancellation in the readout); 1e-4 allows a readout cancellation factor of 3.
    np.testing.assert_allclose(out(x), jnp.sum(models.apply_network(params, signs, models.features("attn", x, x)) ** 2),
                               rtol=1e-4)
    g = jax.jit(jax.grad(out))(x)
    assert g.shape == x.shape and np.all(np.isfinite(g)) and np.abs(g).max() > 0
