"""ntkbook.attention_variants: each variant against a slow or independent reference, determinism, bad input.

Tolerances. All references run in float64 (unit round-off u = 2^-53 ~ 1.1e-16). A product of k matrices of size
<= N with entries bounded by B has forward error <= k N u B^k |.| (Higham, Thm 3.5); our data are unit rows, so
entries of G are in [-1, 1] and every product below stays far under 1e-10 relative. Eigenvector-based
quantities (the truncated attention) are perturbed by at most ||dG|| / gap (Davis-Kahan), ||dG|| <= n u ||G||;
the data below are built with an eigengap of at least 0.1 lambda_1, so 1e-10 is a bound with room to spare.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ntkbook import attention_variants as av
from ntkbook import kernels, models


def _unit(a):
    a = np.asarray(a, np.float64)
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def _spread_data(n=10, d=8, seed=0):
    """Unit rows whose Gram matrix has well-separated eigenvalues (gaps >= 0.1 lambda_1 between the top 5)."""
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.standard_normal((n, n)))
    v, _ = np.linalg.qr(rng.standard_normal((d, d)))
    s = np.array([3.0, 2.2, 1.6, 1.1, 0.7, 0.4, 0.25, 0.15])[: min(n, d)]
    x = (u[:, : s.size] * s) @ v[:, : s.size].T + 0.0
    return np.abs(x) + 0.05 * rng.uniform(size=x.shape)  # pixel-like, positive, no zero row


def _x64(fn, *arrays):
    with jax.enable_x64(True):
        return np.asarray(fn(*[jnp.asarray(np.asarray(a, np.float64)) for a in arrays]), np.float64)


# ----------------------------------------------------------------------------------------------------------
# truncated attention
# ----------------------------------------------------------------------------------------------------------


def test_truncated_attention_equals_svd_truncation_of_the_keys():
    x, q = _spread_data(), _spread_data(4, seed=1)
    xu, qu = _unit(x), _unit(q)
    u, s, vt = np.linalg.svd(xu, full_matrices=False)
    for r in (1, 3, 5):
        xr = (u[:, :r] * s[:r]) @ vt[:r]  # best rank-r approximation of Xhat (slow reference: numpy's SVD)
        lam = s**2
        if r < s.size and (lam[r - 1] - lam[r]) < 1e-3 * lam[0]:
            continue  # no gap: the rank-r subspace is not defined; the data are built to avoid this
        expected = qu @ xr.T @ xr
        got = _x64(lambda a, b, r=r: av.attention_output("truncated", a, b, rank=r), q, x)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10 * np.abs(expected).max())


def test_truncated_at_full_rank_is_linearized_attention_and_its_kernel_is_lambda_cubed():
    x = _spread_data()
    xu = _unit(x)
    r = np.linalg.matrix_rank(xu)
    full = _x64(lambda a: av.attention_output("truncated", a, a, rank=int(r)), x)
    np.testing.assert_allclose(full, xu @ xu.T @ xu, rtol=0, atol=1e-10)
    lam, U = np.linalg.eigh(xu @ xu.T)
    lam, U = lam[::-1], U[:, ::-1]
    K = av.induced_linear_kernel("truncated", x, rank=3)
    expected = (U[:, :3] * lam[:3] ** 3) @ U[:, :3].T  # G_r G G_r = U_r diag(lambda^3) U_r^T
    np.testing.assert_allclose(K, expected, rtol=0, atol=1e-10 * np.abs(expected).max())


def test_truncated_attention_is_differentiable_in_the_training_set():
    x, q = _spread_data(), _spread_data(3, seed=2)
    g = jax.grad(lambda xt: jnp.sum(av.variant_features("truncated", jnp.asarray(q), xt, rank=3)[:, 0]))(
        jnp.asarray(x, jnp.float32))
    assert np.all(np.isfinite(g)) and np.abs(g).max() > 0


# ----------------------------------------------------------------------------------------------------------
# softmax attention
# ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("temperature", [0.05, 1.0, 20.0])
def test_softmax_equals_the_numpy_reference(temperature):
    x, q = _spread_data(), _spread_data(4, seed=3)
    got = _x64(lambda a, b: av.attention_output("softmax", a, b, temperature=temperature), q, x)
    expected = kernels.softmax_attention(_unit(x), _unit(q), temperature=temperature)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_centred_softmax_tends_to_the_centred_linear_limit_at_rate_one_over_t():
    """unit(softmax(a/T) X - xbar) -> unit(Q X^T X_c) (kernels.softmax_linear_limit); the gap is O(1/T)."""
    x = _spread_data()
    limit = _unit(kernels.softmax_linear_limit(_unit(x)))
    gaps = []
    for t in (1e2, 1e3):
        z = _x64(lambda a, t=t: av.variant_features("softmax", a, a, temperature=t, centered=True), x)
        gaps.append(np.abs(z - limit).max())
    # O(1/T): ten times the temperature, about a tenth of the gap (between 1/20 and 1/5 allows the O(1/T^2) term)
    assert 0.05 < gaps[1] / gaps[0] < 0.2
    # plain softmax collapses onto the mean direction instead
    z = _x64(lambda a: av.variant_features("softmax", a, a, temperature=1e4), x)
    mean_dir = _unit(_unit(x).mean(axis=0, keepdims=True))
    assert np.abs(z - mean_dir).max() < 1e-3


def test_softmax_at_low_temperature_attends_to_itself():
    x = _spread_data()
    z = _x64(lambda a: av.variant_features("softmax", a, a, temperature=1e-3), x)
    np.testing.assert_allclose(z, _unit(x), atol=1e-9)


# ----------------------------------------------------------------------------------------------------------
# stacked attention
# ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_stacked_paper_mode_gives_g_to_the_2k_plus_1(depth):
    x = _spread_data()
    xu = _unit(x)
    n = len(xu)
    G = xu @ xu.T
    phi = _x64(lambda a: av.attention_output("stacked", a, a, depth=depth), x)
    np.testing.assert_allclose(phi, np.linalg.matrix_power(G, depth) @ xu / n**depth, rtol=0, atol=1e-12)
    K = av.induced_linear_kernel("stacked", x, depth=depth)
    expected = np.linalg.matrix_power(G, 2 * depth + 1) / n ** (2 * depth)
    np.testing.assert_allclose(K, expected, rtol=0, atol=1e-10 * np.abs(expected).max())
    if depth == 1:  # one layer is MLP-Attn
        np.testing.assert_allclose(_x64(lambda a: av.variant_features("stacked", a, a, depth=1), x),
                                   _x64(lambda a: models.features("attn", a, a), x), atol=1e-12)


def test_stacked_recomputed_mode_gives_g_to_the_3_to_the_k():
    x = _spread_data()
    xu = _unit(x)
    G = xu @ xu.T
    K = av.induced_linear_kernel("stacked", x, depth=2, mode="recomputed")
    expected = np.linalg.matrix_power(G, 9)
    # equal up to the positive per-layer scale: compare the normalised matrices
    np.testing.assert_allclose(K / np.abs(K).max(), expected / np.abs(expected).max(), rtol=0, atol=1e-10)


# ----------------------------------------------------------------------------------------------------------
# infinite-width NTK of the parameter-free variants: neural-tangents against the closed form
# ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant,options", [("truncated", {"rank": 3}), ("softmax", {"temperature": 0.5}),
                                             ("softmax", {"temperature": 2.0, "centered": True}),
                                             ("stacked", {"depth": 2})])
def test_variant_infinite_ntk_is_theorem_4_2_on_the_features(variant, options):
    x, q = _spread_data(), _spread_data(4, seed=4)
    got = av.variant_infinite_ntk(variant, q, x, x, **options)
    zq = _x64(lambda a, b: av.variant_features(variant, a, b, **options), q, x)
    zx = _x64(lambda a: av.variant_features(variant, a, a, **options), x)
    # NT's arc-cosine kernel vs kernels.first_layer_ntk (arccos of a clipped cosine): the arccos near cos = 1
    # amplifies a rounding error u of the cosine to sqrt(2u) ~ 1.5e-8 in the angle, hence 1e-7.
    np.testing.assert_allclose(got, kernels.first_layer_ntk(zq, zx), rtol=0, atol=1e-7)


# ----------------------------------------------------------------------------------------------------------
# trainable Q, K, V
# ----------------------------------------------------------------------------------------------------------


def test_qkv_ntk_blocks_equal_the_jacobian_reference():
    x, q = _spread_data(8, 6), _spread_data(3, 6, seed=5)
    attn = av.init_qkv(jax.random.PRNGKey(0), 6)
    params, signs = models.init_network(jax.random.PRNGKey(1), 6, 16, 3)
    fast = av.qkv_ntk_blocks(attn, params, signs, q, x, x)
    slow = av.qkv_ntk_reference(attn, params, signs, q, x, x)
    for name in ("W", "WQ", "WK", "WV", "total"):
        scale = np.abs(slow[name]).max()
        np.testing.assert_allclose(fast[name], slow[name], rtol=0, atol=1e-10 * max(scale, 1.0), err_msg=name)
    # the W block is models.empirical_ntk of the QKV features
    z = _x64(lambda a, b: av.qkv_features({k: jnp.asarray(np.asarray(v, np.float64)) for k, v in attn.items()}, a, b),
             x, x)
    zq = _x64(lambda a, b: av.qkv_features({k: jnp.asarray(np.asarray(v, np.float64)) for k, v in attn.items()}, a, b),
              q, x)
    with jax.enable_x64(True):
        w = {"W": jnp.asarray(np.asarray(params["W"], np.float64))}
        np.testing.assert_allclose(fast["W"], np.asarray(models.empirical_ntk(w, jnp.asarray(zq), jnp.asarray(z))),
                                   atol=1e-12)


def test_qkv_init_is_standard_and_deterministic():
    a = av.init_qkv(jax.random.PRNGKey(3), 400)
    b = av.init_qkv(jax.random.PRNGKey(3), 400)
    for k in ("WQ", "WK", "WV"):
        np.testing.assert_array_equal(a[k], b[k])
        # entries N(0, 1/d): the sample variance of 160000 entries is within 2% of 1/d (std error 0.35%)
        assert abs(float(np.var(np.asarray(a[k]))) * 400 - 1.0) < 0.02
    c = av.init_qkv(jax.random.PRNGKey(4), 400)
    assert not np.allclose(a["WQ"], c["WQ"])


def test_features_are_deterministic_unit_rows():
    x = _spread_data()
    for variant, options in (("truncated", {"rank": 2}), ("softmax", {"temperature": 1.0}), ("stacked", {"depth": 2})):
        z1 = av.variant_features(variant, jnp.asarray(x, jnp.float32), jnp.asarray(x, jnp.float32), **options)
        z2 = av.variant_features(variant, jnp.asarray(x, jnp.float32), jnp.asarray(x, jnp.float32), **options)
        np.testing.assert_array_equal(z1, z2)
        np.testing.assert_allclose(np.linalg.norm(z1, axis=1), 1.0, rtol=1e-5)


# ----------------------------------------------------------------------------------------------------------
# bad input
# ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("options,match", [
    ({"rank": -1}, "rank must be >= 1"), ({"rank": 0}, "rank must be >= 1"), ({"rank": 2.5}, "positive integer"),
    ({"rank": 9}, "min\\(n, d\\)"), ({}, "needs rank"),
])
def test_truncated_rejects_bad_rank(options, match):
    x = _spread_data()
    with pytest.raises(ValueError, match=match):
        av.variant_features("truncated", x, x, **options)


def test_rank_above_the_numerical_rank_is_refused():
    x = _spread_data()
    low = np.repeat(x[:1], 10, axis=0) * np.linspace(1, 2, 10)[:, None]  # rank 1 (unit rows all equal)
    with pytest.raises(ValueError, match="numerical rank 1"):
        av.variant_features("truncated", low, low, rank=2)


@pytest.mark.parametrize("t", [0.0, -1.0, float("inf"), float("nan")])
def test_softmax_rejects_bad_temperature(t):
    x = _spread_data()
    with pytest.raises(ValueError, match="temperature must be"):
        av.variant_features("softmax", x, x, temperature=t)


@pytest.mark.parametrize("options,match", [({"depth": 0}, "depth must be"), ({"depth": 1.5}, "depth must be"),
                                           ({"depth": 2, "mode": "deep"}, "mode must be"), ({}, "needs depth")])
def test_stacked_rejects_bad_depth(options, match):
    x = _spread_data()
    with pytest.raises(ValueError, match=match):
        av.variant_features("stacked", x, x, **options)


def test_other_bad_input():
    x = _spread_data()
    with pytest.raises(ValueError, match="unknown variant"):
        av.variant_features("linear", x, x)
    with pytest.raises(ValueError, match="same d|d="):
        av.variant_features("softmax", x[:, :5], x, temperature=1.0)
    with pytest.raises(ValueError, match="zero row"):
        av.variant_features("softmax", np.zeros((2, 8)), x, temperature=1.0)
    with pytest.raises(ValueError, match="d must be a positive integer"):
        av.init_qkv(jax.random.PRNGKey(0), 0)
    with pytest.raises(ValueError, match="positive"):
        models.init_network(jax.random.PRNGKey(0), 8, 0, 1)  # width 0: the shared MLP refuses it


def test_centred_variant_is_the_centred_linear_limit_of_softmax():
    """The control "centred" is exactly unit(xhat Xhat^T Xhat_c), the T -> infinity limit of centred softmax: with
    b_k = a_k - mean(a), |b_k| <= 2, softmax_k(a/T) = (1 + b_k / T) / n + O(T^-2), so after normalisation the two
    differ by O(1/T) (relative to the limit's row norms); checked at two T: the gap falls tenfold with T."""
    x = _spread_data()
    limit = _unit(kernels.softmax_linear_limit(_unit(x)))
    z = _x64(lambda a: av.variant_features("centred", a, a), x)
    np.testing.assert_allclose(z, limit, rtol=0, atol=1e-12)
    gaps = [np.abs(_x64(lambda a, t=t: av.variant_features("softmax", a, a, temperature=t, centered=True), x)
                   - z).max() for t in (50.0, 500.0)]
    assert 0.05 < gaps[1] / gaps[0] < 0.2
    assert gaps[0] * 50.0 < 10.0  # T * gap bounded: the O(1/T) constant (|b| <= 2, row norms of the limit >= 0.2)


def test_qkv_ntk_parameterisation_divides_the_attention_blocks_by_d():
    """W_Q = Wtilde_Q / sqrt(d) with Wtilde_Q trained: the Jacobian in Wtilde is d^-1/2 that in W_Q (chain rule),
    checked against jax.jacrev of the network written in Wtilde."""
    d = 6
    x = _spread_data(6, d)
    attn = av.init_qkv(jax.random.PRNGKey(0), d)
    params, signs = models.init_network(jax.random.PRNGKey(1), d, 16, 2)
    std = av.qkv_ntk_blocks(attn, params, signs, x, x)
    ntk = av.qkv_parameterised(std, "ntk", d)
    with jax.enable_x64(True):
        tilde = {k: jnp.asarray(np.asarray(v, np.float64)) * np.sqrt(d) for k, v in attn.items()}
        xt = jnp.asarray(np.asarray(x, np.float64))
        w = {"W": jnp.asarray(np.asarray(params["W"], np.float64))}
        sg = jnp.asarray(np.asarray(signs, np.float64))

        def f(th):
            z = av.qkv_features({k: v / np.sqrt(d) for k, v in th.items()}, xt, xt)
            return models.apply_network(w, sg, z)

        jac = jax.jacrev(f)(tilde)
        for name in ("WQ", "WK", "WV"):
            j = jac[name].reshape(jac[name].shape[0], jac[name].shape[1], -1)
            ref = np.asarray(jnp.einsum("ncp,kcp->nk", j, j) / sg.shape[1])
            np.testing.assert_allclose(ntk[name], ref, rtol=0, atol=1e-10 * max(np.abs(ref).max(), 1.0))
    np.testing.assert_array_equal(ntk["W"], std["W"])
    with pytest.raises(ValueError, match="parameterisation"):
        av.qkv_parameterised(std, "mup", d)
