"""Finite-width kernels against their limits, shared by the chapters that measure them.

`ntk_error_curve`: how far the empirical first-layer NTK of nested networks of growing width is from its
infinite-width limit (chapters 2 and 5). `kernel_gd_predictor`: the exact outputs of discrete kernel gradient
descent, the lazy limit of a network trained by full-batch GD (chapters 3 and 5). Float64 throughout.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ntkbook import kernel_predict
from ntkbook import kernels as _kernels

__all__ = ["as_rows", "first_layer", "increasing_widths", "kernel_gd_predictor", "ntk_error_curve", "op_errors"]


def as_rows(x, name: str = "x") -> np.ndarray:
    """`x` as a finite, non-empty (n, d) float64 array; ValueError naming `name` otherwise."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"{name} must be a non-empty 2-D array (n, d), got shape {a.shape}; flatten images first")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or infinite entries")
    return a


def increasing_widths(widths: Sequence[int]) -> np.ndarray:
    """`widths` as a strictly increasing int64 array of positive widths; ValueError otherwise."""
    w = np.asarray(list(widths), dtype=np.int64)
    if w.ndim != 1 or w.size == 0:
        raise ValueError("widths must be a non-empty sequence of positive integers")
    if np.any(w < 1) or np.any(np.diff(w) <= 0):
        raise ValueError(f"widths must be positive and strictly increasing, got {w.tolist()}")
    return w


def first_layer(z: np.ndarray, width: int, seed: int) -> np.ndarray:
    """W (d, width) from `ntkbook.models.init_network(PRNGKey(seed), d, width, 1)`, in its own dtype (float32
    unless x64 is on); callers cast the columns they use to float64."""
    import jax

    from ntkbook import models

    params, _ = models.init_network(jax.random.PRNGKey(int(seed)), z.shape[1], int(width), 1)
    return np.asarray(params["W"])


def op_errors(D: np.ndarray, lam: np.ndarray) -> tuple[float, float]:
    """`(||D||_op / lam[0], ||D||_op / lam[-1])` for a symmetric D and eigenvalues lam, largest first."""
    op = float(np.max(np.abs(np.linalg.eigvalsh(0.5 * (D + D.T)))))
    return op / lam[0], op / lam[-1]


def ntk_error_curve(z, widths: Sequence[int], *, seed: int = 0) -> pd.DataFrame:
    """||K_m - K_inf||_op for the nested networks of each width m, relative to ||K_inf|| and to lambda_min(K_inf).

    z: (n, d) unit-norm features (`ntkbook.experiments.spectral.feature_matrix`). One network of the largest width M is drawn
    (`models.init_network`, key PRNGKey(seed)); the network of width m is its first m neurons, so each width has
    exactly the distribution of a fresh initialisation and the widths share their randomness (a coupling that
    makes the sweep cost one width-M kernel). Fast path: with A = 1[z W > 0] (n, M),
    K_m = (A_{:, :m} A_{:, :m}^T / m) * (z z^T), accumulated block by block between consecutive widths (A is
    formed one block at a time, in float64).
    K_inf = `kernels.first_layer_ntk(z, z)`. Checked against `ntk_error_curve_bruteforce`.
    Returns columns width, err_op = ||K_m - K_inf||_op / ||K_inf||_op, err_eig = ||K_m - K_inf||_op / lambda_min.
    """
    z = as_rows(z, "z")
    w = increasing_widths(widths)
    K_inf = _kernels.first_layer_ntk(z, z)
    lam = _kernels.eigenvalues(K_inf)
    C = z @ z.T
    W = first_layer(z, int(w[-1]), seed)
    S = np.zeros_like(C)
    prev, rows = 0, []
    for m in w:
        block = (z @ W[:, prev:m].astype(np.float64) > 0).astype(np.float64)  # one block at a time: O(n M) memory
        S += block @ block.T
        prev = int(m)
        err_op, err_eig = op_errors(S / m * C - K_inf, lam)
        rows.append({"width": int(m), "err_op": err_op, "err_eig": err_eig})
    return pd.DataFrame(rows)


def kernel_gd_predictor(k_train, k_test_train, y, f0_train, f0_test, learning_rate: float, steps: int):
    """Discrete kernel gradient descent, exact: `(train outputs (n, C), test outputs (N, C))` after `steps` steps.

    F_{t+1} = F_t - (eta / (n C)) K (F_t - Y) on the training set (the linearised network's GD on
    0.5 mean (f - y)^2), so F_T = Y + (I - c)^T (F_0 - Y) with c = eta K / (n C); test points follow
    f_T(x) = f_0(x) + K(x, X) K^(-1) (I - (I - c)^T) (Y - F_0). In K's eigenbasis (lambda_k) the factor
    (1 - (1 - c_k)^T) / lambda_k is evaluated without cancellation (`ntkbook.kernel_predict.gradient_descent`), so a
    singular K is fine. float64 throughout; needs c_k < 1 for a monotone decay
    (eta <= n C / lambda_max).
    """
    return kernel_predict.gradient_descent(k_train, k_test_train, y, learning_rate, steps, f0_train, f0_test)
