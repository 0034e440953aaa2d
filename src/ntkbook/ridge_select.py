"""Ridge selection for kernel ridge regression by closed-form leave-one-out (LOO) and generalised cross-validation.

With `K = Q diag(mu) Q^T` (eigh, float64) and a spectral filter `h_k = w_k mu_k / (mu_k + lambda)` (w_k = 1 keeps
mode k, w_k = 0 drops it: PCA truncation), the in-sample fit is `yhat = H y`, `H = Q diag(h) Q^T`, and the
prediction at test points is `k_test Q diag(w / (mu + lambda)) Q^T y`. For such a linear smoother the leave-one-out
residual has the closed form (Allen 1974; Golub, Heath & Wahba 1979)

    y_i - yhat_(-i)(x_i) = (y_i - yhat_i) / (1 - H_ii),

exact for kernel ridge regression (the refit without point i is the ridge fit on the other n - 1 rows with the same
lambda). GCV replaces H_ii by its mean: `GCV = n ||(I - H) y||^2 / (n - tr H)^2`. One eigendecomposition serves
every lambda, rank and target column: O(n^2) per lambda after the O(n^3) eigh.

Ridges are relative: `lambda = rho tr(K) / n` (scale-free across kernels). Selection is per target column; the
chosen rho is the grid point of smallest LOO (or GCV) mean squared residual, ties to the larger rho.
"""

from __future__ import annotations

import numpy as np

__all__ = ["RHO_GRID", "Eigen", "eigen", "filters", "loo_mse", "gcv_mse", "select", "predict", "loo_bruteforce"]

#: relative ridges searched: 1e-8 .. 1e2, 41 points (4 per decade)
RHO_GRID = tuple(float(v) for v in np.logspace(-8, 2, 41))


class Eigen:
    """`K = Q diag(mu) Q^T` of a training kernel, float64, eigenvalues ascending and clipped at 0, with
    `scale = tr(K) / n` (the unit of relative ridges)."""

    def __init__(self, k_train):
        k = np.asarray(k_train, np.float64)
        if k.ndim != 2 or k.shape[0] != k.shape[1]:
            raise ValueError(f"k_train must be a square (n, n) kernel matrix, got shape {k.shape}")
        mu, q = np.linalg.eigh(0.5 * (k + k.T))
        self.mu, self.q = np.clip(mu, 0.0, None), q
        self.scale = float(np.trace(k)) / len(k)
        if not self.scale > 0:
            raise ValueError("k_train has zero trace; a relative ridge needs a kernel with tr(K) > 0")
        self.q2 = q**2


def eigen(k_train) -> Eigen:
    """`Eigen(k_train)`."""
    return Eigen(k_train)


def filters(e: Eigen, rho: float, rank: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(w / (mu + lambda), h = w mu / (mu + lambda)) for relative ridge rho; `rank` keeps only the top `rank`
    eigen-directions (w = 0 on the others), None keeps all."""
    lam = rho * e.scale
    w = np.ones_like(e.mu)
    if rank is not None:
        if not 1 <= rank <= len(e.mu):
            raise ValueError(f"rank must lie in 1..n = {len(e.mu)}, got {rank}")
        w[: len(e.mu) - rank] = 0.0  # ascending order: the top `rank` are the last ones
    inv = w / (e.mu + lam)
    return inv, inv * e.mu


def loo_mse(e: Eigen, y, rhos, rank: int | None = None) -> np.ndarray:
    """Closed-form leave-one-out mean squared residual, (len(rhos), k) for y (n, k)."""
    y = np.asarray(y, np.float64).reshape(len(e.mu), -1)
    qy = e.q.T @ y
    out = np.empty((len(rhos), y.shape[1]))
    for i, rho in enumerate(rhos):
        _, h = filters(e, rho, rank)
        resid = y - e.q @ (h[:, None] * qy)
        diag = e.q2 @ h
        if np.any(diag >= 1.0 - 1e-12):
            out[i] = np.inf  # an interpolating fit: leave-one-out is undefined (a 0/0)
            continue
        out[i] = np.mean((resid / (1.0 - diag)[:, None]) ** 2, axis=0)
    return out


def gcv_mse(e: Eigen, y, rhos, rank: int | None = None) -> np.ndarray:
    """Generalised cross-validation `n ||(I-H)y||^2 / (n - tr H)^2` per rho and column, (len(rhos), k)."""
    y = np.asarray(y, np.float64).reshape(len(e.mu), -1)
    n, qy = len(e.mu), e.q.T @ y
    out = np.empty((len(rhos), y.shape[1]))
    for i, rho in enumerate(rhos):
        _, h = filters(e, rho, rank)
        resid = y - e.q @ (h[:, None] * qy)
        out[i] = n * np.sum(resid**2, axis=0) / max(n - float(h.sum()), 1e-300) ** 2
    return out


def select(scores: np.ndarray, rhos) -> np.ndarray:
    """Per column, the rho of the smallest score (ties to the larger rho: the smoother fit). (k,)"""
    s = np.asarray(scores)[::-1]
    return np.asarray(rhos, np.float64)[::-1][np.argmin(s, axis=0)]


def predict(e: Eigen, k_test, y, rho, rank: int | None = None) -> np.ndarray:
    """Predictions at the test points, (N, k); rho a scalar or one per column."""
    y = np.asarray(y, np.float64).reshape(len(e.mu), -1)
    kq, qy = np.asarray(k_test, np.float64) @ e.q, e.q.T @ y
    rho = np.broadcast_to(np.asarray(rho, np.float64), (y.shape[1],))
    out = np.empty((kq.shape[0], y.shape[1]))
    for r in np.unique(rho):
        cols = rho == r
        inv, _ = filters(e, float(r), rank)
        out[:, cols] = kq @ (inv[:, None] * qy[:, cols])
    return out


def loo_bruteforce(k_train, y, rho: float, rank: int | None = None) -> np.ndarray:
    """Slow reference: refit without each point i (the same absolute ridge lambda = rho tr(K)/n of the full set, and
    for `rank` the same kept eigen-directions of the full K) and predict it; mean squared residual per column."""
    k = np.asarray(k_train, np.float64)
    y = np.asarray(y, np.float64).reshape(len(k), -1)
    e = Eigen(k)
    lam = rho * e.scale
    n = len(k)
    if rank is not None:  # the truncated kernel K_r = Q_r diag(mu_r) Q_r^T, refit as a kernel in its own right
        keep = slice(n - rank, n)
        k = (e.q[:, keep] * e.mu[keep]) @ e.q[:, keep].T
    res = np.empty_like(y)
    for i in range(n):
        idx = np.delete(np.arange(n), i)
        alpha = np.linalg.solve(k[np.ix_(idx, idx)] + lam * np.eye(n - 1), y[idx])
        res[i] = y[i] - k[i, idx] @ alpha
    return np.mean(res**2, axis=0)
