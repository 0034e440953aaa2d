"""NTK leave-one-out influence: the exact effect of removing one training point from kernel ridge regression.

The trained network is replaced by kernel ridge regression (KRR) with its *empirical* NTK `K_m` (no refitting,
no retraining). With training kernel `K` (n, n), test kernel `k(x, X)` (t, n), targets `Y` (n, C) and ridge `λ`:

    A = (K + λ I)^{-1},   α = A Y,   f(x) = k(x, X) α.

Removing training point i changes a test prediction by the closed form (a rank-one update of `A`)

    f_{-i}(x) − f(x) = −[k(x, X) A]_i · α_i / A_ii            (α_i is the i-th row of α, one entry per output),

and the influence of i on a test loss follows from the loss at the left-out predictions. Sign convention used
throughout the book: the influence of point i on the total test loss is

    I_i = Σ_x [ L(f_{-i}(x), y_x) − L(f(x), y_x) ],

so I_i > 0 means point i *helps* (removing it raises the test loss) and I_i < 0 means it hurts. Everything here is
numpy float64.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg, special

LOSSES = ("xent", "mse")


def _as_targets(y: np.ndarray, n: int) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim != 2 or y.shape[0] != n:
        raise ValueError(f"targets must have shape (n,) or (n, C) with n = {n}; got {y.shape}")
    return y


def krr_fit(k_train: np.ndarray, y_train: np.ndarray, ridge: float) -> tuple[np.ndarray, np.ndarray]:
    """Kernel ridge regression: `A = (K + λI)^{-1}` (n, n) and `α = A Y` (n, C), in float64.

    `k_train` (n, n) symmetric PSD; `y_train` (n,) or (n, C) real targets (one-hot or ±1); `ridge` = λ > 0.
    """
    k = np.asarray(k_train, dtype=np.float64)
    if k.ndim != 2 or k.shape[0] != k.shape[1]:
        raise ValueError(f"k_train must be a square (n, n) matrix; got shape {k.shape}")
    if not ridge > 0:
        raise ValueError(f"ridge must be > 0 (it keeps K + ridge*I invertible); got {ridge}")
    y = _as_targets(y_train, k.shape[0])
    a = linalg.inv(0.5 * (k + k.T) + ridge * np.eye(k.shape[0]))
    a = 0.5 * (a + a.T)
    return a, a @ y


def krr_predict(k_test: np.ndarray, k_train: np.ndarray, y_train: np.ndarray, ridge: float) -> np.ndarray:
    """KRR predictions `f(x) = k(x, X) (K + λI)^{-1} Y` for test kernel `k_test` (t, n); returns (t, C)."""
    _, alpha = krr_fit(k_train, y_train, ridge)
    return np.asarray(k_test, dtype=np.float64) @ alpha


def loo_prediction_change(
    k_test: np.ndarray, k_train: np.ndarray, y_train: np.ndarray, ridge: float
) -> np.ndarray:
    """Closed-form leave-one-out change of every test prediction, `Δ[x, i, c] = f_{-i}(x)_c − f(x)_c`.

    `Δ[x, i, c] = −[k(x, X) A]_{x i} · α_{i c} / A_ii` with `A = (K + λI)^{-1}`, `α = A Y`.
    Shapes: `k_test` (t, n), `k_train` (n, n), `y_train` (n,) or (n, C); returns (t, n, C).
    """
    a, alpha = krr_fit(k_train, y_train, ridge)
    k_test = np.asarray(k_test, dtype=np.float64)
    if k_test.ndim != 2 or k_test.shape[1] != a.shape[0]:
        raise ValueError(f"k_test must have shape (t, n) with n = {a.shape[0]}; got {k_test.shape}")
    ka = k_test @ a  # (t, n)
    return -ka[:, :, None] * (alpha / np.diag(a)[:, None])[None, :, :]


def loo_prediction_change_refit(
    k_test: np.ndarray, k_train: np.ndarray, y_train: np.ndarray, ridge: float
) -> np.ndarray:
    """Slow reference for `loo_prediction_change`: refit KRR n times, each time without one point. (t, n, C)."""
    k_train = np.asarray(k_train, dtype=np.float64)
    k_test = np.asarray(k_test, dtype=np.float64)
    y = _as_targets(y_train, k_train.shape[0])
    n = k_train.shape[0]
    full = krr_predict(k_test, k_train, y, ridge)
    out = np.empty((k_test.shape[0], n, y.shape[1]))
    for i in range(n):
        keep = np.arange(n) != i
        out[:, i, :] = krr_predict(k_test[:, keep], k_train[np.ix_(keep, keep)], y[keep], ridge) - full
    return out


def pointwise_loss(f: np.ndarray, targets: np.ndarray, loss: str) -> np.ndarray:
    """Per-example loss of predictions `f` (..., C) against `targets` (..., C).

    `"xent"`: `−Σ_c t_c log softmax(f)_c` (targets one-hot); `"mse"`: `½ Σ_c (f_c − t_c)²`. Returns shape (...).
    """
    f = np.asarray(f, dtype=np.float64)
    t = np.asarray(targets, dtype=np.float64)
    if loss == "xent":
        return -np.sum(t * special.log_softmax(f, axis=-1), axis=-1)
    if loss == "mse":
        return 0.5 * np.sum((f - t) ** 2, axis=-1)
    raise ValueError(f"loss must be one of {LOSSES}; got {loss!r}")


def loss_gradient(f: np.ndarray, targets: np.ndarray, loss: str) -> np.ndarray:
    """`∂L/∂f` of `pointwise_loss`, same shape as `f`: `softmax(f) − t` (xent) or `f − t` (mse)."""
    f = np.asarray(f, dtype=np.float64)
    t = np.asarray(targets, dtype=np.float64)
    if loss == "xent":
        return special.softmax(f, axis=-1) - t
    if loss == "mse":
        return f - t
    raise ValueError(f"loss must be one of {LOSSES}; got {loss!r}")


def influence_on_predictions(
    k_test: np.ndarray, k_train: np.ndarray, y_train: np.ndarray, ridge: float
) -> np.ndarray:
    """Influence of each training point on each test prediction, `f_{-i}(x) − f(x)`; shape (t, n, C)."""
    return loo_prediction_change(k_test, k_train, y_train, ridge)


def influence_on_test_loss(
    k_test: np.ndarray,
    k_train: np.ndarray,
    y_train: np.ndarray,
    y_test: np.ndarray,
    ridge: float,
    loss: str,
    *,
    linearize: bool = False,
    per_test: bool = False,
) -> np.ndarray:
    """Influence of each training point on the test loss, `I_i = Σ_x [L(f_{-i}(x)) − L(f(x))]`.

    `y_train` (n, C) and `y_test` (t, C) are the real-valued targets the KRR fits (one-hot for `"xent"`, ±1 for
    `"mse"`). `linearize=True` uses the chain rule to first order, `I_i ≈ Σ_x ∇_f L(f(x)) · Δ[x, i]`, instead of
    the exact loss at the left-out prediction. Returns (n,), or (t, n) with `per_test=True`.
    """
    a, alpha = krr_fit(k_train, y_train, ridge)
    k_test = np.asarray(k_test, dtype=np.float64)
    y_test = _as_targets(y_test, k_test.shape[0])
    if y_test.shape[1] != alpha.shape[1]:
        raise ValueError(f"y_test has {y_test.shape[1]} outputs but y_train has {alpha.shape[1]}")
    f = k_test @ alpha  # (t, C)
    delta = loo_prediction_change(k_test, k_train, y_train, ridge)  # (t, n, C)
    if linearize:
        per = np.einsum("tc,tnc->tn", loss_gradient(f, y_test, loss), delta)
    else:
        per = pointwise_loss(f[:, None, :] + delta, y_test[:, None, :], loss) - pointwise_loss(f, y_test, loss)[:, None]
    return per if per_test else per.sum(axis=0)
