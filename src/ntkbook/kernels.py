"""Kernels of linearized attention: the Gram matrix, the Gram-induced kernel G^3, condition numbers, width laws.

Notation of arXiv 2603.13085 (section 4): data X of shape (n, d), one example per row (unit rows in the paper);
G = X X^T (n, n); parameter-free linearized attention f_att(X) = X X^T X = G X; its linear kernel is
K = (GX)(GX)^T = G^3 (Theorem 4.1). The infinite-width NTK of the first-layer-only two-layer ReLU network on
unit-norm features z is the arc-cosine kernel of order 0 times <z, z'> (Theorem 4.2).

Everything here is numpy float64 except `linearized_attention`, which is jax.numpy (differentiable; its dtype is
the caller's) and `first_layer_ntk_nt`, which calls neural-tangents with JAX's 64-bit mode on.
Nothing here knows about trained models.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "gram",
    "gram_induced_kernel",
    "gram_induced_kernel_triple_sum",
    "linearized_attention",
    "softmax_attention",
    "softmax_linear_limit",
    "softmax_linearization_error",
    "eigenvalues",
    "numerical_rank",
    "condition_number",
    "effective_condition_number",
    "angles",
    "arccos0",
    "arccos1",
    "first_layer_ntk",
    "first_layer_ntk_nt",
    "width_threshold_v1",
    "width_threshold_v2",
    "attention_feature_map",
    "gram_kernel_gradient",
    "gram_kernel_first_order_change",
    "gram_kernel_transductive_gradient",
    "gram_kernel_transductive_change",
    "sensitivity_bound",
    "polynomial_kernel",
    "polynomial_kernel_first_order_change",
    "polynomial_sensitivity_bound",
]


# ----------------------------------------------------------------------------------------------------------
# input checks
# ----------------------------------------------------------------------------------------------------------


def _matrix(x, name: str) -> np.ndarray:
    """`x` as a finite float64 2-D array, or a ValueError naming `name`."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (rows = examples), got shape {a.shape}; "
                         "flatten images first (ntkbook.data.flatten)")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {a.shape})")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or infinite entries")
    return a


def _vector(x, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D vector, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or infinite entries")
    return a


def _same_width(a: np.ndarray, b: np.ndarray, na: str, nb: str) -> None:
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"{na} has {a.shape[-1]} features per row but {nb} has {b.shape[-1]}; they must match")


def _symmetric(K, name: str = "K") -> np.ndarray:
    """`K` as a float64 symmetric matrix ((K + K^T)/2), after checking it is square and symmetric to 1e-8."""
    K = _matrix(K, name)
    if K.shape[0] != K.shape[1]:
        raise ValueError(f"{name} must be square, got shape {K.shape}")
    scale = float(np.max(np.abs(K))) or 1.0
    asym = float(np.max(np.abs(K - K.T)))
    if asym > 1e-8 * scale:
        raise ValueError(f"{name} is not symmetric (max |K - K^T| = {asym:.3g}, max |K| = {scale:.3g}); "
                         "condition numbers here are for symmetric positive (semi-)definite kernels")
    return 0.5 * (K + K.T)


def _nonzero_rows(a: np.ndarray, name: str) -> np.ndarray:
    norms = np.linalg.norm(a, axis=1)
    if np.any(norms == 0):
        raise ValueError(f"{name} has zero rows {np.flatnonzero(norms == 0)[:5].tolist()}...; "
                         "the angle to a zero vector is undefined")
    return norms


# ----------------------------------------------------------------------------------------------------------
# Gram matrix and the Gram-induced kernel (Theorem 4.1)
# ----------------------------------------------------------------------------------------------------------


def gram(X) -> np.ndarray:
    """The Gram matrix G = X X^T.

    X: (n, d) -> G: (n, n) float64, G_ij = <x_i, x_j>.
    """
    X = _matrix(X, "X")
    return X @ X.T


def gram_induced_kernel(X) -> np.ndarray:
    """The Gram-induced kernel K = G^3 = (G X)(G X)^T, the linear kernel of the attention features Phi = G X.

    X: (n, d) -> K: (n, n) float64, computed as the matrix power G (G G) of G = X X^T.
    K_ij = sum_{k, l} <x_i, x_k> <x_k, x_l> <x_l, x_j> (Theorem 4.1).
    """
    G = gram(X)
    return G @ (G @ G)


def gram_induced_kernel_triple_sum(X, *, max_n: int = 40) -> np.ndarray:
    """Slow reference for Theorem 4.1: K_ij = sum_k sum_l (x_i . x_k)(x_k . x_l)(x_l . x_j), entry by entry.

    X: (n, d) with n <= max_n -> K: (n, n) float64. The similarities x_a . x_b are computed row by row (no
    matrix product), and the double sum over (k, l) runs as Python loops with math.fsum, so nothing here shares
    code with `gram_induced_kernel`. Cost O(n^4): keep n small.
    """
    X = _matrix(X, "X")
    n = X.shape[0]
    if n > max_n:
        raise ValueError(f"the triple-sum reference costs O(n^4); n = {n} > max_n = {max_n}. "
                         "Use a small subset, or raise max_n knowingly")
    rows = [X[a] for a in range(n)]
    s = [[float(np.dot(rows[a], rows[b])) for b in range(n)] for a in range(n)]
    K = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            K[i, j] = math.fsum(s[i][k] * s[k][l] * s[l][j] for k in range(n) for l in range(n))
    return K


def linearized_attention(keys, queries=None):
    """Parameter-free linearized attention: queries @ keys^T @ keys (jax.numpy, differentiable).

    keys: (n, d) the data attended to (keys = values = the training rows); queries: (q, d), default keys.
    Returns (q, d); row t is X^T X q_t = sum_k <q_t, x_k> x_k. With queries=None this is f_att(X) = G X.
    This is softmax attention with W_Q = W_K = W_V = I and exp(a) replaced by its linear part a, unnormalised.
    Works under jit and grad in both arguments; the dtype is the caller's (enable x64 for float64).
    """
    import jax.numpy as jnp

    keys = jnp.asarray(keys)
    queries = keys if queries is None else jnp.asarray(queries)
    if keys.ndim != 2 or queries.ndim != 2:
        raise ValueError(f"keys and queries must be 2-D (rows = examples), got {keys.shape} and {queries.shape}")
    if keys.shape[1] != queries.shape[1]:
        raise ValueError(f"keys have {keys.shape[1]} features but queries have {queries.shape[1]}")
    return (queries @ keys.T) @ keys


# ----------------------------------------------------------------------------------------------------------
# From softmax attention to its linearisation
# ----------------------------------------------------------------------------------------------------------


def softmax_attention(keys, queries=None, *, temperature: float = 1.0, normalize: bool = True) -> np.ndarray:
    """Dot-product attention with identity Q, K, V and logits a_tk = <q_t, x_k> / temperature (float64).

    keys: (n, d), queries: (q, d) (default keys) -> (q, d).
    normalize=True: softmax attention, row t = sum_k softmax_k(a_t) x_k, a Nadaraya-Watson smoother with the
    exponential kernel exp(<q, x>/T). normalize=False: the unnormalised sum_k exp(a_tk) x_k.
    """
    K = _matrix(keys, "keys")
    Q = K if queries is None else _matrix(queries, "queries")
    _same_width(K, Q, "keys", "queries")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    a = (Q @ K.T) / temperature
    if normalize:
        w = np.exp(a - a.max(axis=1, keepdims=True))
        return (w / w.sum(axis=1, keepdims=True)) @ K
    return np.exp(a) @ K


def softmax_linear_limit(keys, queries=None, *, normalize: bool = True) -> np.ndarray:
    """The first-order (large-temperature) term of `softmax_attention`, which it approaches as T grows.

    keys X: (n, d), queries Q: (q, d) (default X) -> (q, d).
    Unnormalised: exp(a/T) = 1 + a/T + O(T^-2), so T (A_T - 1 1^T X) -> Q X^T X (linearized attention, G X).
    Normalised: softmax_k(a/T) = (1 + (a_k - mean a)/T)/n + O(T^-2), so
    n T (A_T - 1 xbar^T) -> Q X^T (X - 1 xbar^T), i.e. G X_c with centred values X_c.
    """
    K = _matrix(keys, "keys")
    Q = K if queries is None else _matrix(queries, "queries")
    _same_width(K, Q, "keys", "queries")
    V = K - K.mean(axis=0, keepdims=True) if normalize else K
    return (Q @ K.T) @ V


def _linearization_errors(Q: np.ndarray, K: np.ndarray, temperatures, normalize: bool) -> np.ndarray:
    """Relative errors for several temperatures, sharing the logits and the value Gram matrix.

    Both S_T and L are (weights) @ V with V = K (unnormalised) or the centred K_c (normalised; the softmax weight
    deviations sum to zero over each row, so they annihilate the mean). ||M V||_F^2 = sum((M (V V^T)) * M), so
    each temperature costs O(q n^2) instead of O(q n d).
    """
    temps = np.asarray(temperatures, dtype=np.float64).ravel()
    if temps.size == 0 or np.any(~(temps > 0)):
        raise ValueError(f"temperatures must be > 0, got {temps}")
    n = K.shape[0]
    V = K - K.mean(axis=0, keepdims=True) if normalize else K
    GV = V @ V.T
    A = Q @ K.T
    ref = math.sqrt(max(float(np.sum((A @ GV) * A)), 0.0))
    out = np.empty(temps.size)
    for t_idx, t in enumerate(temps):
        e = np.expm1(A / t)
        if normalize:
            M = n * t * (e - e.mean(axis=1, keepdims=True)) / (n + e.sum(axis=1, keepdims=True)) - A
        else:
            M = t * e - A
        out[t_idx] = math.sqrt(max(float(np.sum((M @ GV) * M)), 0.0)) / ref
    return out


def softmax_linearization_error(keys, queries=None, *, temperature: float, normalize: bool = True) -> float:
    """Relative error of the rescaled, de-constanted softmax attention against its linear limit (float64).

    Returns ||S_T - L||_F / ||L||_F, where L = softmax_linear_limit(...) and
    S_T = T (A_T - 1 1^T X) (unnormalised) or n T (A_T - 1 xbar^T) (normalised), A_T = softmax_attention.
    The constant part is removed with expm1, so no cancellation: S_T is computed as
    T expm1(a/T) X, or n T [softmax(a/T) - 1/n] X with softmax - 1/n = (e - mean e)/(n + sum e), e = expm1(a/T).
    Theory: the error is O(1/T) (slope -1 on a log-log plot) as T -> infinity.
    """
    K = _matrix(keys, "keys")
    Q = K if queries is None else _matrix(queries, "queries")
    _same_width(K, Q, "keys", "queries")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    return float(_linearization_errors(Q, K, [temperature], normalize)[0])


# ----------------------------------------------------------------------------------------------------------
# Spectra and condition numbers (float64)
# ----------------------------------------------------------------------------------------------------------


def eigenvalues(K) -> np.ndarray:
    """Eigenvalues of a symmetric matrix, largest first (numpy.linalg.eigvalsh, float64). K: (n, n) -> (n,)."""
    return np.linalg.eigvalsh(_symmetric(K))[::-1]


def numerical_rank(K, *, rtol: float | None = None) -> int:
    """Number of eigenvalues of the symmetric PSD matrix K above rtol * lambda_1 (default rtol = n * eps64)."""
    lam = eigenvalues(K)
    rtol = K.shape[0] * np.finfo(np.float64).eps if rtol is None else rtol
    return int(np.sum(lam > rtol * lam[0]))


def condition_number(K, rank: int | None = None, *, rtol: float | None = None) -> float:
    """kappa = lambda_1 / lambda_rank of a symmetric positive (semi-)definite matrix, in float64.

    K: (n, n). rank=None uses the smallest eigenvalue lambda_n (the plain condition number); rank=r uses the
    r-th largest. Raises ValueError if that eigenvalue is <= rtol * lambda_1 (default rtol = n * eps64, numpy's
    matrix_rank tolerance): below it the eigenvalue is rounding noise and kappa is not finite in float64. Pass
    rtol=0 to accept any positive eigenvalue. For a rank-deficient Gram matrix (n > d) use
    `effective_condition_number`.
    """
    lam = eigenvalues(K)
    n = lam.size
    r = n if rank is None else int(rank)
    if not 1 <= r <= n:
        raise ValueError(f"rank must be between 1 and n = {n}, got {rank}")
    if lam[0] <= 0:
        raise ValueError(f"the largest eigenvalue is {lam[0]:.3g} <= 0; K is not positive semi-definite")
    tol = (n * np.finfo(np.float64).eps if rtol is None else float(rtol)) * lam[0]
    if lam[r - 1] <= tol:
        raise ValueError(
            f"eigenvalue {r} of {n} is {lam[r - 1]:.3g} <= {tol:.3g} (rtol * lambda_1): K is singular at that rank "
            f"in float64 (numerical rank {int(np.sum(lam > tol))}). Use effective_condition_number(G, d) or a "
            "smaller rank=, or rtol=0 to accept any positive eigenvalue")
    return float(lam[0] / lam[r - 1])


def effective_condition_number(G, d: int, *, rtol: float | None = None) -> float:
    """kappa_d(G) = lambda_1 / lambda_r with r = min(n, d): the condition number of the rank-r truncation of G.

    G: (n, n) Gram matrix of n points in R^d; for n > d, G has rank at most d and its plain condition number is
    infinite (v2 of the paper). Raises like `condition_number` when lambda_r is numerically zero (data whose rank
    is below d, e.g. images with always-black pixels).
    """
    if int(d) < 1:
        raise ValueError(f"d must be a positive integer, got {d}")
    n = np.asarray(G).shape[0]
    return condition_number(G, rank=min(n, int(d)), rtol=rtol)


# ----------------------------------------------------------------------------------------------------------
# Infinite-width NTK of the first-layer-only two-layer ReLU network (Theorem 4.2)
# ----------------------------------------------------------------------------------------------------------


#: Pairs with |cos| above this use the explicit-difference angle (see `angles`); below it arccos is well conditioned:
#: |d arccos(c) / dc| = 1 / sqrt(1 - c^2) <= 1 / sqrt(1 - 0.9^2) < 2.3.
_NEAR_COS = 0.9


def _unit(Z: np.ndarray, name: str) -> np.ndarray:
    """Rows of Z divided by their float64 norms (ValueError on zero rows)."""
    return Z / _nonzero_rows(Z, name)[:, None]


def angles(Z1, Z2, *, chunk: int = 1 << 20) -> np.ndarray:
    """Angles theta_ij between the rows of Z1 and Z2, evaluated stably at every angle, float64 in [0, pi].

    Z1: (n1, d), Z2: (n2, d), non-zero rows -> (n1, n2). With u, v the unit rows,
    theta = 2 atan2(||u - v||, ||u + v||) (both norms computed from the explicit difference and sum, so no
    cancellation): an absolute error of a few (d + 3) eps64 at every angle, and exactly 0 for identical rows.
    `arccos(<u, v>)` of the rounded cosine loses about half the digits as theta -> 0 (arccos(1 - e) ~ sqrt(2 e)), so
    it is used only where |cos| <= 0.9, where its derivative is below 2.3. The explicit pairs are processed in
    chunks of `chunk` numbers (memory O(chunk)); their number is that of the near pairs (the diagonal, duplicates,
    and every pair of strongly aligned features).
    """
    Z1, Z2 = _matrix(Z1, "Z1"), _matrix(Z2, "Z2")
    _same_width(Z1, Z2, "Z1", "Z2")
    U, V = _unit(Z1, "Z1"), _unit(Z2, "Z2")
    cos = U @ V.T
    theta = np.arccos(np.clip(cos, -1.0, 1.0))
    ii, jj = np.nonzero(np.abs(cos) > _NEAR_COS)
    step = max(1, chunk // U.shape[1])
    for s in range(0, ii.size, step):
        a, b = U[ii[s:s + step]], V[jj[s:s + step]]
        theta[ii[s:s + step], jj[s:s + step]] = 2.0 * np.arctan2(np.linalg.norm(a - b, axis=1),
                                                                 np.linalg.norm(a + b, axis=1))
    return theta


def arccos0(Z1, Z2) -> np.ndarray:
    """Arc-cosine kernel of order 0: E_w[1(w.z > 0) 1(w.z' > 0)] = (pi - theta) / (2 pi), w ~ N(0, I).

    Z1: (n1, d), Z2: (n2, d), non-zero rows (unit rows in the paper) -> (n1, n2); theta = angle(z, z') from
    `angles` (stable at small angles; exactly 1/2 for identical rows).
    """
    return (np.pi - angles(Z1, Z2)) / (2 * np.pi)


def arccos1(Z1, Z2) -> np.ndarray:
    """Arc-cosine kernel of order 1: E_w[relu(w.z) relu(w.z')] = |z||z'| (sin t + (pi - t) cos t) / (2 pi).

    Z1: (n1, d), Z2: (n2, d), non-zero rows -> (n1, n2). This is the NNGP of the ReLU layer (the readout's
    contribution to the two-layer NTK), following Cho and Saul (2009) up to their factor 2. The angle t comes from
    `angles` and cos t = cos(t), so sin t and cos t are consistent at small angles.
    """
    Z1, Z2 = _matrix(Z1, "Z1"), _matrix(Z2, "Z2")
    t = angles(Z1, Z2)
    n1, n2 = np.linalg.norm(Z1, axis=1), np.linalg.norm(Z2, axis=1)
    return np.outer(n1, n2) * (np.sin(t) + (np.pi - t) * np.cos(t)) / (2 * np.pi)


def first_layer_ntk(Z1, Z2) -> np.ndarray:
    """Infinite-width NTK of f(z) = m^{-1/2} sum_r a_r relu(w_r . z), trained in w only: arccos0(z, z') <z, z'>.

    Z1: (n1, d), Z2: (n2, d) -> (n1, n2) float64. Theorem 4.2: K(z, z') = E_w[s'(w.z) s'(w.z')] <z, z'>, w ~ N(0, I),
    applied to z = x (2L-ReLU) or z = normalised attention output (MLP-Attn). On the diagonal (identical rows)
    the arc-cosine factor is exactly 1/2, so K(z, z) = <z, z> / 2 exactly as computed by the product Z1 Z2^T.
    """
    Z1, Z2 = _matrix(Z1, "Z1"), _matrix(Z2, "Z2")
    return arccos0(Z1, Z2) * (Z1 @ Z2.T)


def first_layer_ntk_nt(Z1, Z2) -> np.ndarray:
    """The same kernel as `first_layer_ntk`, computed by neural-tangents (the independent reference).

    Network: stax.serial(Dense(512, W_std=sqrt(d)), Relu(), Dense(1, W_std=1)), NTK parameterisation, no biases.
    NT's kernel_fn gives ntk = nngp_out + E[s's'] <z, z'> (W_std^2 / d = 1 for the first layer), and
    nngp_out = E[relu relu] is the readout layer's own contribution, so the first-layer-only NTK is
    kernel_fn(..., "ntk") - kernel_fn(..., "nngp"). The width given to Dense does not enter kernel_fn.
    Runs with JAX's 64-bit mode on (`jax.enable_x64(True)`), float64. Z1: (n1, d), Z2: (n2, d) -> (n1, n2).
    """
    import jax

    from ntkbook import nt_compat

    stax = nt_compat.load().stax

    Z1, Z2 = _matrix(Z1, "Z1"), _matrix(Z2, "Z2")
    _same_width(Z1, Z2, "Z1", "Z2")
    d = Z1.shape[1]
    _, _, kernel_fn = stax.serial(
        stax.Dense(512, W_std=math.sqrt(d), b_std=None, parameterization="ntk"),
        stax.Relu(),
        stax.Dense(1, W_std=1.0, b_std=None, parameterization="ntk"),
    )
    with jax.enable_x64(True):
        z1, z2 = jax.numpy.asarray(Z1, dtype=jax.numpy.float64), jax.numpy.asarray(Z2, dtype=jax.numpy.float64)
        k = kernel_fn(z1, z2, ("ntk", "nngp"))
        out = np.asarray(k.ntk, dtype=np.float64) - np.asarray(k.nngp, dtype=np.float64)
    return out


# ----------------------------------------------------------------------------------------------------------
# Width thresholds (Theorem 4.7, v1 and v2)
# ----------------------------------------------------------------------------------------------------------


def width_threshold_v1(kappa, eps):
    """v1 width requirement m = kappa(G)^6 / eps^2 (the Omega(.) without its constant). Broadcasts; float64."""
    kappa, eps = np.asarray(kappa, dtype=np.float64), np.asarray(eps, dtype=np.float64)
    if np.any(~(kappa >= 1)):
        raise ValueError(f"a condition number is >= 1, got {kappa}")
    if np.any(~(eps > 0)):
        raise ValueError(f"eps must be > 0, got {eps}")
    out = kappa**6 / eps**2
    return float(out) if out.ndim == 0 else out


def width_threshold_v2(kappa_d, n):
    """v2 width requirement m = kappa_d(G)^6 n ln n (natural log; the Omega(.) without its constant). Broadcasts."""
    kappa_d, n = np.asarray(kappa_d, dtype=np.float64), np.asarray(n, dtype=np.float64)
    if np.any(~(kappa_d >= 1)):
        raise ValueError(f"a condition number is >= 1, got {kappa_d}")
    if np.any(~(n >= 2)):
        raise ValueError(f"n must be >= 2 (n ln n vanishes at n = 1), got {n}")
    out = kappa_d**6 * n * np.log(n)
    return float(out) if out.ndim == 0 else out


# ----------------------------------------------------------------------------------------------------------
# Sensitivity of the Gram-induced kernel (Proposition 4.5) and of a polynomial kernel
# ----------------------------------------------------------------------------------------------------------


def _g_times_col(X: np.ndarray, v: np.ndarray) -> np.ndarray:
    """G v = X (X^T v) in O(n d), without forming G. X: (n, d), v: (n,) -> (n,)."""
    return X @ (X.T @ v)


def attention_feature_map(X, x) -> np.ndarray:
    """phi(x) = X^T X x, the linearized-attention feature of a point x against the data X (float64).

    X: (n, d), x: (d,) or (q, d) -> (d,) or (q, d). K(x, x') = <phi(x), phi(x')>, and K(x_i, x_j) = (G^3)_ij.
    """
    X = _matrix(X, "X")
    x = np.asarray(x, dtype=np.float64)
    if x.shape[-1] != X.shape[1]:
        raise ValueError(f"x has {x.shape[-1]} features but X has {X.shape[1]}")
    return (x @ X.T) @ X


def gram_kernel_gradient(X, x_j) -> np.ndarray:
    """Gradient in x of K(x, x_j) = <phi(x), phi(x_j)> with the data X held fixed: X^T G X x_j, shape (d,).

    K(., x_j) is linear in its first argument, so K(x + delta, x_j) - K(x, x_j) = delta . gradient exactly.
    """
    X = _matrix(X, "X")
    x_j = _vector(x_j, "x_j")
    _same_width(X, x_j[None], "X", "x_j")
    return X.T @ _g_times_col(X, X @ x_j)


def gram_kernel_first_order_change(X, x_j, delta) -> float:
    """Change of K(x_i, x_j) when its first argument moves by delta, data X held fixed (the paper's reading).

    = sum_{k,l} (delta . x_k)(x_k . x_l)(x_l . x_j) = (X delta) . (G X x_j); exact, since K is linear in x_i.
    X: (n, d), x_j: (d,), delta: (d,) -> float.
    """
    return float(_vector(delta, "delta") @ gram_kernel_gradient(X, x_j))


def sensitivity_bound(X, x_j, eps: float = 1.0) -> float:
    """Proposition 4.5's bound ||G X x_j||_1 eps on |K(x_i + delta, x_j) - K(x_i, x_j)| for ||delta||_2 <= eps.

    We read the paper's "G x_j" as G (X x_j): G applied to x_j's similarities with the data (for x_j = x_j in X,
    column j of G^2), the shape-consistent reading under which the bound holds. Proof: the change is
    sum_k (delta . x_k) (G X x_j)_k and |delta . x_k| <= eps for unit rows x_k. Needs unit rows of X (raises
    otherwise). X: (n, d), x_j: (d,) -> float. Grows with n and with how correlated the data are.
    """
    X = _matrix(X, "X")
    norms = np.linalg.norm(X, axis=1)
    if not np.allclose(norms, 1.0, rtol=0, atol=1e-9):
        raise ValueError("the bound assumes unit rows (|delta . x_k| <= eps); normalise X with ntkbook.data.unit_rows")
    x_j = _vector(x_j, "x_j")
    _same_width(X, x_j[None], "X", "x_j")
    if not eps >= 0:
        raise ValueError(f"eps must be >= 0, got {eps}")
    return float(np.abs(_g_times_col(X, X @ x_j)).sum() * eps)


def gram_kernel_transductive_gradient(X, i: int, j: int) -> np.ndarray:
    """Gradient of (G^3)_ij with respect to training row x_i itself (G recomputed), shape (d,).

    With v = X delta, dG = e_i v^T + v e_i^T and dK = dG G^2 + G dG G + G^2 dG, so dK_ij = c . v with
    c = G^2 e_j + (G^2)_ij e_i + G_ii G e_j + G_ij G e_i + (G^2)_ii e_j + [i = j] G^2 e_i, and the gradient is X^T c.
    The first term of c gives `gram_kernel_gradient` (data held fixed); the others are the paths through the moved
    x_i inside the data set, which Proposition 4.5's bound does not cover. X: (n, d).
    """
    X = _matrix(X, "X")
    n = X.shape[0]
    if not (0 <= i < n and 0 <= j < n):
        raise ValueError(f"i and j must index rows of X (0..{n - 1}), got {i}, {j}")
    gi, gj = X @ X[i], X @ X[j]  # columns i and j of G
    g2i, g2j = _g_times_col(X, gi), _g_times_col(X, gj)  # columns i and j of G^2
    c = g2j + gi[i] * gj + gi[j] * gi
    c[i] += g2j[i]
    c[j] += g2i[i]
    if i == j:
        c += g2i
    return X.T @ c


def gram_kernel_transductive_change(X, i: int, j: int, delta) -> float:
    """First-order change of (G^3)_ij when training row x_i itself moves by delta (G is recomputed).

    = delta . gram_kernel_transductive_gradient(X, i, j); see there for the formula. X: (n, d), delta: (d,).
    """
    delta = _vector(delta, "delta")
    X = _matrix(X, "X")
    _same_width(X, delta[None], "X", "delta")
    return float(delta @ gram_kernel_transductive_gradient(X, i, j))


def polynomial_kernel(X1, X2, degree: int = 3) -> np.ndarray:
    """Polynomial kernel (x . y)^p, entrywise. X1: (n1, d), X2: (n2, d) -> (n1, n2) float64."""
    X1, X2 = _matrix(X1, "X1"), _matrix(X2, "X2")
    _same_width(X1, X2, "X1", "X2")
    if int(degree) != degree or degree < 1:
        raise ValueError(f"degree must be a positive integer, got {degree}")
    return (X1 @ X2.T) ** int(degree)


def polynomial_kernel_first_order_change(x_i, x_j, delta, degree: int = 3) -> float:
    """First-order change of (x_i . x_j)^p when x_i moves by delta: p (x_i . x_j)^(p-1) (delta . x_j)."""
    x_i, x_j, delta = _vector(x_i, "x_i"), _vector(x_j, "x_j"), _vector(delta, "delta")
    if not x_i.shape == x_j.shape == delta.shape:
        raise ValueError(f"x_i, x_j, delta must have the same length, got {x_i.shape}, {x_j.shape}, {delta.shape}")
    return float(degree * (x_i @ x_j) ** (degree - 1) * (delta @ x_j))


def polynomial_sensitivity_bound(x_i, x_j, eps: float = 1.0, degree: int = 3) -> float:
    """Bound p |x_i . x_j|^(p-1) ||x_j||_2 eps on the first-order change of (x_i . x_j)^p, ||delta||_2 <= eps.

    It involves only the two points, not the data set: at most p eps for unit vectors, whatever n is.
    """
    x_i, x_j = _vector(x_i, "x_i"), _vector(x_j, "x_j")
    if x_i.shape != x_j.shape:
        raise ValueError(f"x_i and x_j must have the same length, got {x_i.shape}, {x_j.shape}")
    return float(degree * abs(x_i @ x_j) ** (degree - 1) * np.linalg.norm(x_j) * eps)
