"""Kernel multinomial logistic regression: the exact lazy limit of a network trained on cross-entropy + ridge.

A linearised network `f(x) = f0(x) + J(x) (w - w0)` trained on the objective of `ntkbook.train` with softmax
cross-entropy and the penalty on `W - W0`,

.. math::

    L(w) = \\frac1n \\sum_{i=1}^n \\mathrm{CE}(f(x_i), y_i) + \\frac{\\lambda}{2}\\|w - w_0\\|^2,

is strictly convex in w (lambda > 0). Its minimiser lies in `w0 + range(J^T)`: with `w - w0 = J^T alpha`
(alpha (n, C), the kernel `Theta = J J^T` (n C x n C)) the training outputs are `F = F0 + Theta alpha` and the
stationarity condition `J^T [(P(F) - Y) / n + lambda alpha] = 0` (P the row-wise softmax) holds when

.. math::

    g(\\alpha) = \\frac{P(F_0 + \\Theta\\alpha) - Y}{n} + \\lambda\\,\\alpha = 0,

which has exactly one solution (the map alpha -> F is a bijection onto the minimiser's outputs). Test points
follow `f(x) = f0(x) + Theta(x, X) alpha`; the minimum value is `mean CE(F) + (lambda / 2) alpha^T Theta alpha`
(`alpha^T Theta alpha = ||w - w0||^2`).

`solve` finds alpha by damped Newton in float64: the step solves `(H Theta / n + lambda I) delta = -g`, H the
block-diagonal softmax Hessian `diag(p_i) - p_i p_i^T`; `Theta delta` is then the Newton step of the convex
objective `h(alpha) = L(w0 + J^T alpha)` (whose Hessian is `Theta (H Theta / n + lambda I)`), so an Armijo
backtracking on h makes it globally convergent and quadratic near the solution; where h changes by less than its
own rounding (about |h| eps64), a step that lowers the stationarity residual is accepted instead. It stops when the stationarity
residual `max |n g|` (in units of the per-example gradient `P - Y`, whose entries lie in [-1, 1]) is at most
`tol`.

The kernel is either one (n, n) block shared by every output and no coupling between outputs (`K (x) I_C`: the
infinite-width NTK of `ntkbook.models`) or the full (n, C, n, C) kernel of a finite-width network
(`ntkbook.linearized.full_empirical_ntk`).

With the literal penalty `(lambda / 2) ||W||^2` (l2_form "w") the same algebra gives `w = J^T alpha`, so
`F = F0 - J w0 + Theta alpha`; for the positively homogeneous networks of `ntkbook.models` `J w0 = F0` (Euler), so
the lazy limit is this regression started from zero outputs: pass `f0 = 0`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["Solution", "as_full", "solve", "predict", "objective", "residual", "TOL"]

#: default stationarity tolerance: max |P - Y + n lambda alpha| (entries of P - Y lie in [-1, 1])
TOL = 1e-10


@dataclasses.dataclass(frozen=True)
class Solution:
    """`alpha` (n, C), training outputs `f_train` (n, C), the minimum `objective`, its data part `data_loss`
    (mean cross-entropy), the final stationarity `residual` (max |n g|), Newton `iterations`."""

    alpha: np.ndarray
    f_train: np.ndarray
    objective: float
    data_loss: float
    residual: float
    iterations: int


def as_full(k, n: int, n_classes: int) -> np.ndarray:
    """The kernel as an (n C, n C) float64 matrix in (example, output) order: (n, n) -> `kron(K, I_C)`;
    (n, C, n, C) -> reshaped. ValueError for any other shape."""
    k = np.asarray(k, np.float64)
    if k.shape == (n, n):
        return np.kron(k, np.eye(n_classes))
    if k.shape == (n, n_classes, n, n_classes):
        return k.reshape(n * n_classes, n * n_classes)
    raise ValueError(f"kernel must be ({n}, {n}) (shared by the outputs) or ({n}, {n_classes}, {n}, {n_classes}) "
                     f"(full), got {k.shape}")


def _softmax(f: np.ndarray) -> np.ndarray:
    e = np.exp(f - f.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _cross_entropy(f: np.ndarray, y: np.ndarray) -> float:
    shift = f.max(axis=1, keepdims=True)
    lse = shift[:, 0] + np.log(np.exp(f - shift).sum(axis=1))
    return float(np.mean(lse - np.sum(y * f, axis=1)))


def objective(theta_alpha: np.ndarray, alpha: np.ndarray, f0: np.ndarray, y: np.ndarray, l2: float
              ) -> tuple[float, float]:
    """`(L, data loss)` of the linearised network with outputs `F0 + Theta alpha` (theta_alpha = Theta alpha)."""
    data = _cross_entropy(f0 + theta_alpha, y)
    return data + 0.5 * l2 * float(np.sum(alpha * theta_alpha)), data


def residual(f_train: np.ndarray, alpha: np.ndarray, y: np.ndarray, l2: float) -> float:
    """The stationarity residual `max |P(F) - Y + n lambda alpha|` (0 exactly at the minimiser)."""
    n = len(y)
    return float(np.max(np.abs(_softmax(f_train) - y + n * l2 * alpha)))


def _check(f0, y, l2):
    y = np.asarray(y, np.float64)
    f0 = np.asarray(f0, np.float64)
    if y.ndim != 2 or f0.shape != y.shape:
        raise ValueError(f"y (one-hot) and f0 must both be (n, C), got {y.shape} and {f0.shape}")
    if not np.allclose(y.sum(axis=1), 1.0) or np.any(y < 0):
        raise ValueError("y must be one-hot (or probability) rows summing to 1")
    if not (np.isfinite(l2) and l2 > 0):
        raise ValueError(f"l2 must be > 0 (without a penalty cross-entropy has no finite minimiser), got {l2!r}")
    return f0, y


def solve(k_train, f0_train, y, l2: float, *, tol: float = TOL, max_iter: int = 100) -> Solution:
    """The minimiser of the linearised cross-entropy + ridge objective (module docstring), damped Newton, float64.

    k_train (n, n) or (n, C, n, C) PSD; f0_train and y (n, C) (y one-hot); l2 > 0 the penalty strength lambda of
    `(lambda / 2) ||w - w0||^2`. Raises RuntimeError if the residual is still above `tol` after `max_iter` steps.
    """
    f0, y = _check(f0_train, y, l2)
    n, c = y.shape
    theta = as_full(k_train, n, c)
    theta = 0.5 * (theta + theta.T)
    alpha = np.zeros((n, c))
    ta = np.zeros((n, c))
    h, _ = objective(ta, alpha, f0, y, l2)
    eye = np.eye(n * c)
    for it in range(max_iter + 1):
        p = _softmax(f0 + ta)
        g = (p - y) / n + l2 * alpha
        res = float(np.max(np.abs(n * g)))
        if res <= tol:
            data = objective(ta, alpha, f0, y, l2)
            return Solution(alpha, f0 + ta, data[0], data[1], res, it)
        if it == max_iter:
            break
        # block-diagonal softmax Hessian applied to Theta: rows (i, c) of H Theta = p_ic (Theta_ic - sum_c' p_ic' Theta_ic')
        t3 = theta.reshape(n, c, n * c)
        h_theta = p[:, :, None] * (t3 - np.einsum("ic,icj->ij", p, t3)[:, None, :])
        delta = np.linalg.solve(h_theta.reshape(n * c, n * c) / n + l2 * eye, -g.reshape(-1)).reshape(n, c)
        t_delta = (theta @ delta.reshape(-1)).reshape(n, c)
        slope = float(np.sum(g * t_delta))  # directional derivative of h along delta (<= 0)
        step = 1.0
        while True:
            h_new, _ = objective(ta + step * t_delta, alpha + step * delta, f0, y, l2)
            if h_new <= h + 1e-4 * step * slope or step < 1e-12:
                break
            # near the minimiser h changes by less than its rounding (|h| eps), so Armijo cannot tell a good step:
            # there accept a step that lowers the stationarity residual instead (Newton's own merit function)
            p_new = _softmax(f0 + ta + step * t_delta)
            res_new = float(np.max(np.abs(p_new - y + n * l2 * (alpha + step * delta))))
            if res_new < res and abs(h_new - h) <= 1e3 * np.finfo(np.float64).eps * max(abs(h), 1.0):
                break
            step *= 0.5
        alpha, ta, h = alpha + step * delta, ta + step * t_delta, h_new
    raise RuntimeError(f"kernel logistic regression: residual {res:.3g} > tol {tol:g} after {max_iter} Newton steps; "
                       "raise max_iter or check that the kernel is PSD and finite")


def predict(k_test_train, f0_test, alpha) -> np.ndarray:
    """Test outputs `f0(x) + Theta(x, X) alpha`, (N, C): k_test_train (N, n) (shared by the outputs) or
    (N, C, n, C) (full)."""
    k = np.asarray(k_test_train, np.float64)
    alpha = np.asarray(alpha, np.float64)
    f0 = np.asarray(f0_test, np.float64)
    n, c = alpha.shape
    if k.ndim == 2 and k.shape[1] == n:
        return f0 + k @ alpha
    if k.ndim == 4 and k.shape[1:] == (c, n, c):
        return f0 + np.einsum("acjd,jd->ac", k, alpha)
    raise ValueError(f"k_test_train must be (N, {n}) or (N, {c}, {n}, {c}), got {k.shape}")
