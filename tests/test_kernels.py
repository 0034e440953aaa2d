"""ntkbook.kernels: Theorem 4.1 (G^3), condition numbers, thresholds, Theorem 4.2 (NT vs closed form),
the softmax -> linear limit, and Proposition 4.5's sensitivity bound.

Tolerances follow from IEEE-754 error bounds (u = 2^-53, gamma_k = k u / (1 - k u)), valid on any machine:

- SAME-SIGN LINEAR ALGEBRA. The fixture's data are non-negative (like images), so every sum in G = X X^T, G X, G^2,
  G^3, X^T G X x has terms of one sign and a chain of k products of length <= L is accurate to k gamma_L relative,
  entry by entry (Higham, Accuracy and Stability, 3.1). With n = 20, d = 50 (L <= 70, k <= 3) that is <= 2.4e-14;
  two evaluations differ by <= 4.7e-14 < 1e-13, and a fourth product or an fsum reference stays below 1e-12.
- EIGENVALUES (Weyl + backward-stable eigh): |d lambda| <= c n u ||K||; for a known spectrum built as Q diag Q^T
  (Q from Householder QR, orthogonal to n u) the relative error of lambda_k is <= c n u lambda_1 / lambda_k, i.e.
  <= 8 * 1.1e-16 * 1e3 * c ~ 1e-12 c for kappa = 1e3; rel=1e-9 allows c = 1000.
- SCALAR ARITHMETIC (width thresholds): a handful of correctly rounded operations, relative error <= 10 u ~ 1e-15.
- FINITE DIFFERENCES: truncation O(h^2) plus rounding u |f| / h; stated at each use.
"""

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
def X():
    """20 unit rows in R^50 with positive entries (correlated, like images), float64."""
    return unit_rows(np.random.default_rng(0).random((20, 50)))


def spd_with_eigenvalues(lam, seed=0):
    n = len(lam)
    Q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(n, n)))
    return (Q * np.asarray(lam)) @ Q.T


# ---------------------------------------------------------------- Theorem 4.1


def test_linear_kernel_of_attention_features_is_G_cubed(X):
    import jax

    G3 = K.gram_induced_kernel(X)
    with jax.enable_x64(True):
        phi = np.asarray(K.linearized_attention(X))
    assert phi.dtype == np.float64
    np.testing.assert_allclose(phi, K.gram(X) @ X, rtol=1e-13, atol=0)
    # SAME-SIGN LINEAR ALGEBRA (module docstring): two evaluations of a 3-product chain differ by <= 4.7e-14
    assert np.max(np.abs(phi @ phi.T - G3)) <= 1e-13 * np.max(np.abs(G3))
    assert np.max(np.abs(G3 - np.linalg.matrix_power(K.gram(X), 3))) <= 1e-13 * np.max(np.abs(G3))


def test_triple_sum_equals_matrix_form(X):
    ref = K.gram_induced_kernel_triple_sum(X[:12])
    fast = K.gram_induced_kernel(X[:12])
    assert np.max(np.abs(ref - fast)) <= 1e-13 * np.max(np.abs(ref))
    with pytest.raises(ValueError, match="max_n"):
        K.gram_induced_kernel_triple_sum(np.ones((41, 2)))


def test_linearized_attention_queries_and_gradient(X):
    import jax

    q = unit_rows(np.random.default_rng(1).random((3, 50)))
    with jax.enable_x64(True):
        out = np.asarray(K.linearized_attention(X, q))
        np.testing.assert_allclose(out, K.attention_feature_map(X, q), rtol=1e-13)
        # d/dq sum(out) = 1^T X^T X summed over output columns: X^T X 1
        g = np.asarray(jax.grad(lambda qq: K.linearized_attention(X, qq).sum())(q))
    # same-sign sums of <= 2 products of length <= 50 (jax and numpy each 2 gamma_50 ~ 1.1e-14): < 1e-12
    np.testing.assert_allclose(g, np.tile(X.T @ X @ np.ones(50), (3, 1)), rtol=1e-12)
    with pytest.raises(ValueError, match="features"):
        K.linearized_attention(X, np.ones((2, 7)))
    with pytest.raises(ValueError, match="2-D"):
        K.linearized_attention(X[0])


def test_gram_rejects_bad_input():
    with pytest.raises(ValueError, match="2-D"):
        K.gram(np.ones(5))
    with pytest.raises(ValueError, match="NaN"):
        K.gram(np.array([[1.0, np.nan]]))


# ---------------------------------------------------------------- condition numbers


def test_condition_number_of_known_spectrum():
    lam = np.geomspace(1.0, 1e-3, 8)
    # EIGENVALUES (module docstring): relative error <= c n u kappa ~ 1e-12 c
    assert K.condition_number(spd_with_eigenvalues(lam)) == pytest.approx(1e3, rel=1e-9)
    assert K.condition_number(spd_with_eigenvalues(lam), rank=4) == pytest.approx(lam[0] / lam[3], rel=1e-12)
    np.testing.assert_allclose(K.eigenvalues(spd_with_eigenvalues(lam)), lam, rtol=1e-9)


@pytest.mark.parametrize("k", [2, 3, 5])
def test_condition_number_of_powers(X, k):
    G = K.gram(X[:10])  # n = 10 < d = 50: positive definite
    kappa = K.condition_number(G)
    assert 10 < kappa < 1e4  # the data are correlated: a non-trivial test
    # kappa(G^k) = kappa(G)^k; float64 matrix powers keep ~1e-9 relative accuracy while kappa^k << 1e16
    assert K.condition_number(np.linalg.matrix_power(G, k)) == pytest.approx(kappa**k, rel=1e-7)


def test_effective_condition_number_on_rank_deficient_gram():
    rng = np.random.default_rng(2)
    X = unit_rows(rng.normal(size=(40, 10)))  # n = 40 > d = 10: rank(G) = 10
    G = K.gram(X)
    with pytest.raises(ValueError, match="singular"):
        K.condition_number(G)
    s = np.linalg.svd(X, compute_uv=False)
    # eigh of G vs svd of X: each relative error <= c n u kappa_d (kappa_d <= 1e2 here) ~ 1e-13 c
    assert K.effective_condition_number(G, 10) == pytest.approx((s[0] / s[9]) ** 2, rel=1e-10)
    assert K.numerical_rank(G) == 10
    # n <= d: kappa_d is the plain condition number
    Gs = K.gram(X[:8])
    # the same eigenvalues of the same matrix: identical up to one division (u)
    assert K.effective_condition_number(Gs, 10) == pytest.approx(K.condition_number(Gs), rel=1e-14)
    # data whose rank is below d: kappa_d is infinite and says so
    Xl = np.hstack([X[:, :6], np.zeros((40, 4))])
    with pytest.raises(ValueError, match="numerical rank 6"):
        K.effective_condition_number(K.gram(Xl), 10)


def test_condition_number_errors():
    with pytest.raises(ValueError, match="square"):
        K.condition_number(np.ones((2, 3)))
    with pytest.raises(ValueError, match="symmetric"):
        K.condition_number(np.array([[1.0, 2.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="positive semi-definite"):
        K.condition_number(-np.eye(3))
    with pytest.raises(ValueError, match="rank must be"):
        K.condition_number(np.eye(3), rank=4)
    with pytest.raises(ValueError, match="singular"):
        K.condition_number(spd_with_eigenvalues([1.0, 0.5, -1e-3]))
    with pytest.raises(ValueError, match="d must be"):
        K.effective_condition_number(np.eye(3), 0)
    # rtol=0 accepts a tiny positive eigenvalue
    assert K.condition_number(np.diag([1.0, 1e-17]), rtol=0) == pytest.approx(1e17)


# ---------------------------------------------------------------- width thresholds


def test_width_thresholds_arithmetic():
    # SCALAR ARITHMETIC (module docstring): <= 10 u relative; the log10 checks compare with the paper's 2-decimal
    # values, so abs=0.01 is the paper's own rounding
    assert K.width_threshold_v1(10.0, 0.1) == pytest.approx(1e8, rel=1e-14)
    assert K.width_threshold_v2(10.0, math.e) == pytest.approx(1e6 * math.e, rel=1e-14)
    # the paper's v1 numbers: kappa = 1.2e3 (MNIST) -> 3.0e18, 8.7e3 (CIFAR-10) -> 4.3e23 at eps = 1
    assert K.width_threshold_v1(1.2e3, 1.0) == pytest.approx(2.985984e18, rel=1e-12)
    assert math.log10(K.width_threshold_v1(8.7e3, 1.0)) == pytest.approx(23.64, abs=0.01)
    # v2 with n = 60,000 / 50,000 gives about 2e24 and 2e29 (the paper)
    assert K.width_threshold_v2(1.2e3, 60_000) == pytest.approx(2.985984e18 * 60_000 * math.log(60_000), rel=1e-12)
    assert math.log10(K.width_threshold_v2(1.2e3, 60_000)) == pytest.approx(24.29, abs=0.01)
    assert math.log10(K.width_threshold_v2(8.7e3, 50_000)) == pytest.approx(29.37, abs=0.01)
    out = K.width_threshold_v1(np.array([1.0, 2.0]), 0.5)
    np.testing.assert_allclose(out, [4.0, 256.0])
    for bad in [(0.5, 1.0), (2.0, 0.0), (np.nan, 1.0)]:
        with pytest.raises(ValueError):
            K.width_threshold_v1(*bad)
    with pytest.raises(ValueError, match="n must be"):
        K.width_threshold_v2(2.0, 1)


# ---------------------------------------------------------------- Theorem 4.2


#: Unit roundoff of float64 (half the machine epsilon): fl(a op b) = (a op b)(1 + delta), |delta| <= U64.
U64 = 2.0**-53


def gamma(k: int, u: float = U64) -> float:
    """Higham's gamma_k = k u / (1 - k u): the relative error bound of a k-term float sum / dot product."""
    return k * u / (1 - k * u)


def angle_bound(d: int) -> float:
    """Bound on |arccos0 - exact| for rows in R^d (any IEEE-754 double machine), from `kernels.angles`.

    Unit rows u_hat = fl(z / fl(||z||)) differ from z/||z|| by <= gamma_{d+2} in norm (a d-term sum of squares, a
    square root, a division). The explicit difference and sum then carry an absolute error <= (2 + A) gamma_{d+2}
    and (2 + B) gamma_{d+2} (A = ||u - v|| = 2 sin(theta/2), B = ||u + v|| = 2 cos(theta/2), A^2 + B^2 = 4), and
    atan2 moves by <= (B |dA| + A |dB|) / 4 <= 2 gamma_{d+2} plus its own rounding (<= 2 u, times pi/2). Hence
    |d theta| <= 4 gamma_{d+2} + 2 pi u, and (pi - theta) / (2 pi) with the rounded pi and 2 pi adds <= 3 u:
    |d k| <= (4 gamma_{d+2} + 2 pi u) / (2 pi) + 3 u <= (d + 7) u for d >= 1 (first order; doubled for safety).
    The arccos branch (|cos| <= 0.9) has |d theta| <= 2.3 |d cos| <= 2.3 (gamma_d + 2 gamma_{d+2}), inside the
    same bound.
    """
    return 2 * (d + 7) * U64


def exactly_unit_rows() -> np.ndarray:
    """Rows whose float64 squared norm is exactly 1 (entries +-1, +-1/2, +-1/4 over 1, 4, 16 coordinates)."""
    rng = np.random.default_rng(10)
    rows = [np.eye(16)[3]]
    for k, a in [(4, 0.5), (16, 0.25)]:
        r = np.zeros(16)
        r[rng.choice(16, k, replace=False)] = a * rng.choice([-1.0, 1.0], k)
        rows.append(r)
    return np.array(rows)


def test_arccos_kernel_is_exactly_one_half_on_the_diagonal(X):
    # identical rows give u - v = 0 exactly, so theta = 2 atan2(0, b) = 0 and (pi - 0) / (2 pi) = 1/2 exactly
    np.testing.assert_array_equal(np.diag(K.arccos0(X, X)), 0.5)
    k = K.first_layer_ntk(X, X)
    # K(z, z) = 1/2 <z, z> exactly: multiplying by 1/2 is exact, so the diagonal is half the computed Gram diagonal
    np.testing.assert_array_equal(np.diag(k), 0.5 * np.diag(X @ X.T))
    # rows of exactly unit norm: <z, z> = 1 exactly (sums of powers of 2), so the diagonal is 0.5 to 1e-15 (in fact 0)
    Z = exactly_unit_rows()
    assert np.max(np.abs(np.diag(K.first_layer_ntk(Z, Z)) - 0.5)) <= 1e-15
    # generic rows normalised in float64: <z, z> = 1 within gamma_{d+2} + gamma_d (normalisation, then dot product)
    assert np.max(np.abs(np.diag(k) - 0.5)) <= 0.5 * (gamma(52) + gamma(50))


def _mp_reference(z1: np.ndarray, z2: np.ndarray) -> tuple[float, float]:
    """(arccos0, first_layer_ntk) of two float64 vectors evaluated in 60-digit arithmetic from their exact values."""
    import mpmath

    with mpmath.workdps(60):
        a = [mpmath.mpf(float(t)) for t in z1]
        b = [mpmath.mpf(float(t)) for t in z2]
        na = mpmath.sqrt(mpmath.fsum(t * t for t in a))
        nb = mpmath.sqrt(mpmath.fsum(t * t for t in b))
        diff = mpmath.sqrt(mpmath.fsum((s / na - t / nb) ** 2 for s, t in zip(a, b, strict=True)))
        summ = mpmath.sqrt(mpmath.fsum((s / na + t / nb) ** 2 for s, t in zip(a, b, strict=True)))
        theta = 2 * mpmath.atan2(diff, summ)
        k0 = (mpmath.pi - theta) / (2 * mpmath.pi)
        dot = mpmath.fsum(s * t for s, t in zip(a, b, strict=True))
        return float(k0), float(k0 * dot)


@pytest.mark.parametrize("theta", [1e-8, 3e-7, 1e-5, 1e-4, 0.5, 2.0, math.pi - 1e-6])
@pytest.mark.parametrize("d", [3, 40])
def test_arccos_kernel_at_small_angles_matches_high_precision(theta, d):
    rng = np.random.default_rng(int(d + 1e6 * theta) % 2**32)
    u = unit_rows(rng.normal(size=(1, d)))[0]
    w = rng.normal(size=d)
    w = unit_rows((w - (w @ u) * u)[None])[0]
    z1 = 3.7 * u  # non-unit rows: the normalisation is part of what is checked
    z2 = 0.41 * (math.cos(theta) * u + math.sin(theta) * w)
    k0_ref, k_ref = _mp_reference(z1, z2)
    k0 = K.arccos0(z1[None], z2[None])[0, 0]
    assert abs(k0 - k0_ref) <= angle_bound(d)
    # first_layer_ntk = arccos0 * fl(<z1, z2>): |<z1, z2>| <= ||z1|| ||z2|| and its dot product errs by gamma_d
    # ||z1|| ||z2||; the product adds one rounding.
    scale = float(np.linalg.norm(z1) * np.linalg.norm(z2))
    assert abs(K.first_layer_ntk(z1[None], z2[None])[0, 0] - k_ref) <= scale * (angle_bound(d) + gamma(d + 1))
    if theta == 1e-8:
        # the old evaluation, arccos of the rounded cosine: cos(1e-8) = 1 - 5e-17 rounds to 1 or to 1 - 2^-53, whose
        # arccos is 0 or 1.49e-8, so it misses theta by >= 0.49e-8 (>= 7.8e-10 in the kernel) on any IEEE machine
        cos = np.clip((z1 @ z2) / (np.linalg.norm(z1) * np.linalg.norm(z2)), -1, 1)
        assert abs((np.pi - np.arccos(cos)) / (2 * np.pi) - k0_ref) > 100 * angle_bound(d)


def test_neural_tangents_matches_arccos_closed_form(X):
    Z = X[:12]
    Z2 = unit_rows(np.random.default_rng(3).normal(size=(5, 50)))
    Zb = np.vstack([Z[:3], Z2])
    nt = K.first_layer_ntk_nt(Z, Zb)
    cf = K.first_layer_ntk(Z, Zb)
    assert nt.dtype == np.float64
    d = Z.shape[1]
    # NT takes arccos of its rounded cosine c~ (a dot product, two norms, a square root and a division):
    # |c~ - c| <= eta = 4 gamma_{d+5}. arccos is Hoelder-1/2, |arccos x - arccos y| <= (pi / sqrt 2) sqrt|x - y|,
    # so near theta = 0 NT's arc-cosine factor may be off by sqrt(eta) / (2 sqrt 2); where |cos| <= 0.9 the
    # derivative of arccos is < 2.3, so the error is <= 2.3 eta / (2 pi). Both times |<z, z'>| <= 1, plus ours.
    eta = 4 * gamma(d + 5)
    cos = Z @ Zb.T
    near = np.abs(cos) > 0.9
    err = np.abs(nt - cf)
    assert np.max(err[~near]) <= 2.3 * eta / (2 * np.pi) + angle_bound(d) + gamma(d + 1)
    assert np.max(err[near]) <= math.sqrt(eta) / (2 * math.sqrt(2)) + angle_bound(d) + gamma(d + 1)
    np.testing.assert_array_equal(np.diag(K.arccos0(Z[:3], Z[:3])), 0.5)


def test_arccos_kernels_match_monte_carlo():
    rng = np.random.default_rng(4)
    Z = unit_rows(rng.normal(size=(4, 6)))
    W = rng.normal(size=(6, 400_000))
    P = Z @ W
    mc0 = (P > 0).astype(float) @ (P > 0).T.astype(float) / W.shape[1]
    mc1 = np.maximum(P, 0) @ np.maximum(P, 0).T / W.shape[1]
    # Monte Carlo: each entry is a mean of 4e5 i.i.d. terms in [0, 1] (order 0) or with variance <= 3 (order 1,
    # unit rows: E relu^4 <= 3/2 each factor), standard error <= 0.5/sqrt(4e5) ~ 8e-4 resp. sqrt(3/4e5) ~ 2.7e-3 /
    # ... ; 4e-3 is 5 sigma for order 0 and > 1.4 sigma for order 1 (the draw is fixed by the seed)
    assert np.max(np.abs(mc0 - K.arccos0(Z, Z))) < 4e-3
    assert np.max(np.abs(mc1 - K.arccos1(Z, Z))) < 4e-3
    with pytest.raises(ValueError, match="zero rows"):
        K.arccos0(np.zeros((1, 6)), Z)
    with pytest.raises(ValueError, match="features"):
        K.first_layer_ntk(Z, Z[:, :3])


# ---------------------------------------------------------------- softmax -> linearized attention


@pytest.mark.parametrize("normalize", [True, False])
def test_softmax_error_falls_as_one_over_temperature(X, normalize):
    temps = np.array([1e2, 1e3, 1e4])
    err = np.array([K.softmax_linearization_error(X, temperature=t, normalize=normalize) for t in temps])
    slopes = np.diff(np.log10(err)) / np.diff(np.log10(temps))
    # O(1/T): slope -1 within 2 %
    np.testing.assert_allclose(slopes, -1.0, atol=0.02)
    assert err[-1] < 1e-3


@pytest.mark.parametrize("normalize", [True, False])
def test_expm1_path_matches_direct_softmax(X, normalize):
    t, n = 10.0, X.shape[0]
    A = K.softmax_attention(X, temperature=t, normalize=normalize)
    if normalize:
        S = n * t * (A - X.mean(axis=0))
    else:
        S = t * (A - X.sum(axis=0))
    L = K.softmax_linear_limit(X, normalize=normalize)
    direct = np.linalg.norm(S - L) / np.linalg.norm(L)
    # the direct formula subtracts the constant part: cancellation by |A| / |A - mean| <= n T = 200, so its error
    # is <= 200 (n + d) u ~ 1.6e-12 relative (the expm1 path has none); rel=1e-8 is far above both
    assert K.softmax_linearization_error(X, temperature=t, normalize=normalize) == pytest.approx(direct, rel=1e-8)
    # the normalised softmax is a Nadaraya-Watson average: rows are convex combinations of the keys
    if normalize:
        w = np.exp(X @ X.T / t)
        # positive weights and data: same-sign sums, <= (n + d + 4) u ~ 1e-14 relative for each evaluation
        np.testing.assert_allclose(A, (w / w.sum(1, keepdims=True)) @ X, rtol=1e-12)
    with pytest.raises(ValueError, match="temperature"):
        K.softmax_attention(X, temperature=0.0)


# ---------------------------------------------------------------- Proposition 4.5


def test_sensitivity_bound_holds_for_random_and_adversarial_delta(X):
    rng = np.random.default_rng(5)
    j = 7
    bound = K.sensitivity_bound(X, X[j], eps=1.0)
    # SAME-SIGN LINEAR ALGEBRA: two same-sign 2-product chains and an n-term sum: <= 2 (2 gamma_70 + gamma_20)
    assert bound == pytest.approx(np.abs(np.linalg.matrix_power(K.gram(X), 2)[:, j]).sum(), rel=1e-13)
    g = K.gram_kernel_gradient(X, X[j])
    deltas = [unit_rows(rng.normal(size=(200, 50))), [g / np.linalg.norm(g)], [np.sign(g) / math.sqrt(50)]]
    ratios = [abs(K.gram_kernel_first_order_change(X, X[j], d)) / bound for d in np.vstack(deltas)]
    # ratio <= 1 exactly; numerator and bound each carry <= 4 gamma_70 ~ 3e-14 relative error
    assert max(ratios) <= 1.0 + 1e-12
    # gradient-aligned delta is the worst case in l2: ratio = ||X^T G X x_j||_2 / ||G X x_j||_1
    assert ratios[200] == pytest.approx(max(ratios), rel=1e-12)
    # the change is exact (K is linear in its first argument): compare with phi features
    d = deltas[0][0]
    phi = lambda x: K.attention_feature_map(X, x)  # noqa: E731
    exact = phi(X[3] + d) @ phi(X[j]) - phi(X[3]) @ phi(X[j])
    # the feature-based difference cancels: |phi(x + d) phi - phi(x) phi| vs |phi(x) phi| ~ 1/10 here, so its
    # error is <= 10 * 2 * 3 gamma_70 ~ 5e-13 relative to the change; 1e-10 covers a cancellation up to 1e3
    assert K.gram_kernel_first_order_change(X, X[j], d) == pytest.approx(exact, rel=1e-10)
    with pytest.raises(ValueError, match="unit rows"):
        K.sensitivity_bound(2 * X, X[j])


def test_transductive_change_matches_finite_difference(X):
    d = unit_rows(np.random.default_rng(6).normal(size=(1, 50)))[0]
    h = 1e-5
    for i, j in [(3, 5), (4, 4)]:
        Xp, Xm = X.copy(), X.copy()
        Xp[i] += h * d
        Xm[i] -= h * d
        fd = (K.gram_induced_kernel(Xp) - K.gram_induced_kernel(Xm))[i, j] / (2 * h)
        # central difference of a cubic: error O(h^2) ~ 1e-10 relative
        assert K.gram_kernel_transductive_change(X, i, j, d) == pytest.approx(fd, rel=1e-7)
    with pytest.raises(ValueError, match="index rows"):
        K.gram_kernel_transductive_change(X, 20, 0, d)


def test_polynomial_kernel_sensitivity_is_local(X):
    d = unit_rows(np.random.default_rng(7).normal(size=(1, 50)))[0]
    h = 1e-6
    fd = (K.polynomial_kernel((X[0] + h * d)[None], X[1:2]) - K.polynomial_kernel((X[0] - h * d)[None], X[1:2]))
    first = K.polynomial_kernel_first_order_change(X[0], X[1], d, degree=3)
    # central difference with h = 1e-6: truncation ~ h^2 |f^(3)| ~ 1e-12, rounding ~ u |f| / h ~ 1e-10 (|f| <= 1)
    assert first == pytest.approx(fd[0, 0] / (2 * h), rel=1e-7)
    assert abs(first) <= K.polynomial_sensitivity_bound(X[0], X[1], eps=1.0, degree=3) <= 3.0
    with pytest.raises(ValueError, match="degree"):
        K.polynomial_kernel(X, X, degree=0)


# ---------------------------------------------------------------- chapter-1 tables (ntkbook.experiments.gram_kernel)


def test_softmax_linearization_table(X):
    df = GK.softmax_linearization_table(X, [10.0, 100.0])
    assert len(df) == 4 and set(df.form) == {"normalised", "unnormalised"}
    row = df[(df.form == "unnormalised") & (df.temperature == 100.0)].rel_error.item()
    assert row == K.softmax_linearization_error(X, temperature=100.0, normalize=False)


def test_sensitivity_table_against_direct_formulas(X):
    df = GK.sensitivity_table(X, [2, 9], n_random=50, seed=1)
    assert len(df) == 2 * 2 * (50 + 2)
    fixed = df[df.reading == "data fixed"]
    assert fixed.ratio.max() <= 1.0 + 1e-12  # Proposition 4.5, paper's reading
    for j, grp in fixed.groupby("j"):
        g = K.gram_kernel_gradient(X, X[j])
        worst = grp[grp.delta == "gradient"].ratio.item()
        assert worst == pytest.approx(np.linalg.norm(g) / K.sensitivity_bound(X, X[j]), rel=1e-12)
        assert worst == pytest.approx(grp.ratio.max(), rel=1e-12)
    tr = df[(df.reading == "transductive") & (df.delta == "gradient")].iloc[0]
    g = K.gram_kernel_transductive_gradient(X, int(tr.i), int(tr.j))
    assert abs(tr.change) == pytest.approx(np.linalg.norm(g), rel=1e-12)
    assert (df.i != df.j).all()


def test_sensitivity_growth_table_matches_slow_reference():
    rng = np.random.default_rng(8)
    X = unit_rows(rng.random((120, 30)))
    df = GK.sensitivity_growth_table(X, [20, 60, 120], n_targets=4, seed=3)
    perm = np.random.default_rng(3).permutation(120)
    for _, r in df.iterrows():
        Xn = X[perm[: int(r.n)]]
        j = int(r.j)
        assert r.g3_bound == pytest.approx(K.sensitivity_bound(Xn, X[j]), rel=1e-12)
        G2 = np.linalg.matrix_power(K.gram(Xn), 2)
        t = int(np.flatnonzero(perm[: int(r.n)] == j)[0])
        assert r.g3_bound == pytest.approx(np.abs(G2[:, t]).sum(), rel=1e-12)
        assert r.g3_worst <= r.g3_bound
        assert r.poly_bound_max <= 3.0
    # positive, correlated data: the G^3 bound grows like n^2 (slope in [1.8, 2.2]); the polynomial one does not
    means = df.groupby("n")[["g3_bound", "poly_bound_max"]].mean()
    slope = np.polyfit(np.log(means.index.to_numpy(float)), np.log(means.g3_bound.to_numpy()), 1)[0]
    assert 1.8 < slope < 2.2
    assert means.poly_bound_max.max() / means.poly_bound_max.min() < 1.5
    with pytest.raises(ValueError, match="between 2"):
        GK.sensitivity_growth_table(X, [500])


# ---------------------------------------------------------------- chapter-1 figures (ntkbook.plotting.attention)


def test_loglog_slope_and_figures(X):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from ntkbook.plotting import attention as figs

    x = np.array([1.0, 10.0, 100.0])
    assert loglog_fit(x, 3 * x**-1.5) == pytest.approx((-1.5, math.log10(3)), rel=1e-12)
    with pytest.raises(ValueError, match="positive"):
        loglog_fit(x, -x)
    lin = GK.softmax_linearization_table(X, [1.0, 10.0, 100.0]).assign(dataset="toy")
    sens = GK.sensitivity_table(X, [0], n_random=5).assign(dataset="toy")
    growth = GK.sensitivity_growth_table(X, [5, 10, 20], n_targets=2).assign(dataset="toy")
    pd_frame = pd.DataFrame({"dataset": "toy", "arch": "attn", "angle_deg": [1.0, 2.0]})
    for fig in (figs.softmax_linearization_figure(lin), figs.sensitivity_ratio_figure(sens),
                figs.sensitivity_growth_figure(growth), figs.feature_angle_figure(pd_frame),
                figs.gram_heatmaps_figure({"G": K.gram(X)}, np.arange(20) % 3)):
        assert isinstance(fig, Figure) and fig.axes[0].get_xlabel()
    with pytest.raises(ValueError, match="lacks columns"):
        figs.softmax_linearization_figure(lin.drop(columns="dataset"))
    with pytest.raises(ValueError, match="shape"):
        figs.gram_heatmaps_figure({"G": np.eye(3)}, np.arange(4))


# ---------------------------------------------------------------- real data (MNIST / CIFAR-10 test splits)


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["mnist", "cifar10"])
def test_theorem_4_1_and_bound_on_real_images(real_data_dir, name):
    from ntkbook import data

    split = data.train_test_split(name, 150, 5, seed=0, allow_split_from_test=True, data_dir=real_data_dir)
    X = data.unit_rows(split.x_train)
    phi = K.gram(X) @ X
    G3 = K.gram_induced_kernel(X)
    assert np.max(np.abs(phi @ phi.T - G3)) <= 1e-13 * np.max(np.abs(G3))
    ref = K.gram_induced_kernel_triple_sum(X[:8])
    assert np.max(np.abs(ref - K.gram_induced_kernel(X[:8]))) <= 1e-13 * np.max(np.abs(ref))
    df = GK.sensitivity_table(X, [0, 1], n_random=20)
    assert df[df.reading == "data fixed"].ratio.max() <= 1.0 + 1e-12
    # images are positively correlated: the bound is a sizeable fraction of n^2
    assert K.sensitivity_bound(X, X[0]) > 0.05 * len(X) ** 2
