"""Kernel-regime predictors of a network trained on the squared loss: ridge, gradient flow at time t, T steps of GD.

A linearised network `f(x) = f0(x) + J(x) (w - w0)` trained on `0.5 mean_{i,c} (f_c(x_i) - y_ic)^2` (the
normalisation of neural-tangents' `predict.gradient_descent_mse`) with kernel `K = J J^T` moves only along the
training residual, and every predictor below has the same spectral form. With `K(X, X) = Q diag(lambda) Q^T`
(n training points, C outputs, residual `R0 = Y - F0` with F0 the initial training outputs):

.. math::

    f(x) = f_0(x) + K(x, X)\\, Q\\, \\mathrm{diag}(g(\\lambda_k))\\, Q^T (Y - F_0), \\qquad
    F = F_0 + Q\\, \\mathrm{diag}(\\lambda_k g(\\lambda_k))\\, Q^T (Y - F_0),

- kernel ridge regression with ridge rho (the t -> infinity limit of gradient flow on the loss plus
  `(rho / (2 n C)) ||w - w0||^2`): `g(lambda) = 1 / (lambda + rho)`;
- gradient flow at time t with learning rate eta: `g(lambda) = (1 - exp(-eta t lambda / (n C))) / lambda`;
- T steps of gradient descent with learning rate eta:
  `g(lambda) = (1 - (1 - eta lambda / (n C))^T) / lambda`.

The flow and GD gains are evaluated as `-expm1(.) / lambda` (no cancellation) and tend to `eta t / (n C)` and
`T eta / (n C)` as lambda -> 0, so a singular kernel is fine for them. Everything is numpy float64; `K` is
symmetrised and its rounding-level negative eigenvalues set to 0. These are the book's engine; neural-tangents'
`predict.gradient_descent_mse` is the independent reference the tests compare them with.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ridge", "gradient_flow", "gradient_descent", "spectral_predict"]


def _as_problem(k_train, k_test_train, y, f0_train, f0_test):
    k = np.asarray(k_train, np.float64)
    ks = np.asarray(k_test_train, np.float64)
    y = np.asarray(y, np.float64)
    if y.ndim != 2:
        raise ValueError(f"y must be (n, C), got shape {y.shape}")
    n, c = y.shape
    if k.shape != (n, n):
        raise ValueError(f"k_train must be ({n}, {n}) for y of shape {y.shape}, got {k.shape}")
    if ks.ndim != 2 or ks.shape[1] != n:
        raise ValueError(f"k_test_train must be (N, {n}), got {ks.shape}")
    f0_train = np.zeros((n, c)) if f0_train is None else np.asarray(f0_train, np.float64)
    f0_test = np.zeros((len(ks), c)) if f0_test is None else np.asarray(f0_test, np.float64)
    if f0_train.shape != (n, c) or f0_test.shape != (len(ks), c):
        raise ValueError(f"f0_train must be {(n, c)} and f0_test {(len(ks), c)}, got {f0_train.shape} and "
                         f"{f0_test.shape}")
    return k, ks, y, f0_train, f0_test


def spectral_predict(k_train, k_test_train, y, gain, f0_train=None, f0_test=None):
    """`(F (n, C), f (N, C))` for the spectral gain `gain(lambda) -> g` (numpy, elementwise), float64.

    k_train (n, n) PSD, k_test_train (N, n), y and f0_train (n, C), f0_test (N, C); f0 = None means zero initial
    outputs. Computes `F0 + Q diag(lambda g) Q^T (Y - F0)` and `f0 + K(x, X) Q diag(g) Q^T (Y - F0)`.
    """
    k, ks, y, f0_train, f0_test = _as_problem(k_train, k_test_train, y, f0_train, f0_test)
    lam, q = np.linalg.eigh(0.5 * (k + k.T))
    lam = np.maximum(lam, 0.0)
    g = np.asarray(gain(lam), np.float64)
    r = q.T @ (y - f0_train)
    f_train = f0_train + q @ ((lam * g)[:, None] * r)
    f_test = f0_test + ks @ (q @ (g[:, None] * r))
    return f_train, f_test


def ridge(k_train, k_test_train, y, ridge: float, f0_train=None, f0_test=None):
    """Kernel ridge regression from f0: `f(x) = f0(x) + K(x, X) (K + rho I)^(-1) (Y - F0)`, float64.

    Returns `(train outputs (n, C), test outputs (N, C))`. `ridge = 0` is the kernel interpolant and needs K
    positive definite; otherwise ValueError.
    """
    rho = float(ridge)
    if not rho >= 0:
        raise ValueError(f"ridge must be >= 0, got {ridge!r}")

    def gain(lam):
        if rho == 0 and np.min(lam) <= 0:
            raise ValueError("ridge = 0 needs a positive definite kernel (the interpolant); this one is singular "
                             "to float64: pass ridge > 0")
        return 1.0 / (lam + rho)

    return spectral_predict(k_train, k_test_train, y, gain, f0_train, f0_test)


def _check_rate(learning_rate: float, time: float, name: str) -> None:
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be > 0, got {learning_rate!r}")
    if not time >= 0:
        raise ValueError(f"{name} must be >= 0, got {time!r}")


def gradient_flow(k_train, k_test_train, y, learning_rate: float, time: float, f0_train=None, f0_test=None):
    """Gradient flow on `0.5 mean (f - y)^2` in the kernel regime at time t, float64.

    `dF/dt = -(eta / (n C)) K (F - Y)`, so `F(t) = Y + exp(-eta t K / (n C)) (F0 - Y)` and
    `f_t(x) = f0(x) + K(x, X) K^+ (I - exp(-eta t K / (n C))) (Y - F0)`. `time` is in steps of size eta
    (`t = time`, the flow at `learning_rate * time`). Returns `(train outputs (n, C), test outputs (N, C))`.
    """
    _check_rate(learning_rate, time, "time")
    n_c = np.size(y)

    def gain(lam):
        a = learning_rate * float(time) / n_c
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(lam > 0, -np.expm1(-a * lam) / lam, a)

    return spectral_predict(k_train, k_test_train, y, gain, f0_train, f0_test)


def gradient_descent(k_train, k_test_train, y, learning_rate: float, steps: int, f0_train=None, f0_test=None):
    """T steps of full-batch gradient descent on `0.5 mean (f - y)^2` in the kernel regime, exact, float64.

    `F_{s+1} = F_s - (eta / (n C)) K (F_s - Y)`, so `F_T = Y + (I - c)^T (F0 - Y)` with `c = eta K / (n C)`; test
    points follow `f_T(x) = f0(x) + K(x, X) K^+ (I - (I - c)^T) (Y - F0)`. Needs `c_k < 1` on every eigenvalue for
    a monotone decay (`eta < n C / lambda_max`); larger c_k are clipped just below 1 (that mode is then learned
    in one step). Returns `(train outputs (n, C), test outputs (N, C))`.
    """
    _check_rate(learning_rate, steps, "steps")
    n_c = np.size(y)

    def gain(lam):
        log_keep = np.log1p(-np.minimum(learning_rate * lam / n_c, 1.0 - 1e-300))
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(lam > 0, -np.expm1(steps * log_keep) / lam, steps * learning_rate / n_c)

    return spectral_predict(k_train, k_test_train, y, gain, f0_train, f0_test)
