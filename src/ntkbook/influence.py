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

Two readings of "the influence with the trained network's NTK" (the paper leaves it open):

- **kernel reading** (`influence_on_test_loss`): the exact leave-one-out of the kernel regressor above, whose
  outputs `f = k α` are fitted to the targets (for one-hot targets they are near 0 and 1, not the logits of a
  cross-entropy network);
- **network reading** (`network_influence_on_test_loss`): the influence function (Koh & Liang, 2017) of the
  trained network's linearisation, at the network's *own* outputs: its training residual / logit gradient
  `g_j = ∂L/∂f(x_j)` says how hard point j pulls, the NTK says where the pull lands.
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


def output_hessian(f: np.ndarray, loss: str) -> np.ndarray:
    """Per-example Hessian of `pointwise_loss` in the outputs, `B_j = ∂²L/∂f²` at f (n, C) -> (n, C, C).

    mse: `I_C`; xent: `diag(p_j) − p_j p_jᵀ` with `p_j = softmax(f_j)` (positive semi-definite, null vector 1).
    """
    f = np.asarray(f, dtype=np.float64)
    if f.ndim != 2:
        raise ValueError(f"f must have shape (n, C); got {f.shape}")
    if loss == "mse":
        return np.broadcast_to(np.eye(f.shape[1]), (f.shape[0], f.shape[1], f.shape[1])).copy()
    if loss == "xent":
        p = special.softmax(f, axis=-1)
        return np.einsum("jc,cd->jcd", p, np.eye(f.shape[1])) - p[:, :, None] * p[:, None, :]
    raise ValueError(f"loss must be one of {LOSSES}; got {loss!r}")


def network_influence_on_test_loss(
    k_test: np.ndarray,
    k_train: np.ndarray,
    f_train: np.ndarray,
    y_train: np.ndarray,
    f_test: np.ndarray,
    y_test: np.ndarray,
    ridge: float,
    loss: str,
    *,
    per_test: bool = False,
) -> np.ndarray:
    r"""Influence of each training point on the test loss through the trained network's own outputs.

    The network is replaced by its linearisation around the trained weights, `f(x) ≈ f̂(x) + J(x) Δθ`, one linear
    model per output with the shared per-output NTK block `K = J Jᵀ` (`models.empirical_ntk`). Its training
    objective is `O(θ) = Σ_j L(f(x_j), y_j) + (λ/2)‖Δθ‖²`. Removing point j from a stationary point moves the
    parameters, to first order (the influence function of Koh & Liang, 2017, with the Gauss–Newton Hessian
    `H = Σ_j J_jᵀ B_j J_j + λ I`, `B_j = output_hessian`), by `Δθ = H^{-1} J_iᵀ g_i` with the network's own
    output gradient `g_i = ∂L/∂f(x_i)` (`loss_gradient`: `f_i − y_i` for mse, `softmax(f_i) − y_i` for xent).
    By the push-through identity `(JᵀBJ + λI)^{-1} Jᵀ = Jᵀ (B K + λ I)^{-1}`, in function space

    .. math::

        Δf_{-i}(x) = (I_C ⊗ k(x, X)) \, M^{-1} (e_i ⊗ g_i),  \qquad  M = \tilde B (K ⊗ I_C) + λ I_{nC},

    with `B̃` block-diagonal (the `B_j`), and the influence on the test loss (same sign convention as
    `influence_on_test_loss`) is

    .. math::

        I_i = Σ_x ∇_f L(f̂(x), y_x) · Δf_{-i}(x) = u_iᵀ g_i,  \qquad  Mᵀ u = v,\;  v_j = Σ_x k(x, x_j) ∇_f L(f̂(x), y_x).

    For mse `M = (K + λI) ⊗ I_C`, so `Δf_{-i}(x) = [k(x) A]_i g_i` with `A = (K + λI)^{-1}`: the kernel reading's
    leave-one-out formula with the network's residual in place of the regressor's, without its `1/(λ A_ii)`
    leave-one-out factor. Exact as a derivative: `I_i = −d L_test / d w_i` at `w_i = 1` for a linear model at its
    optimum with point i weighted by `w_i` (tests check it by finite differences).

    Shapes: `k_test` (t, n), `k_train` (n, n), `f_train` (n, C) and `f_test` (t, C) the network's outputs,
    `y_train`/`y_test` the targets (one-hot for xent, ±1 or one-hot for mse); returns (n,), or (t, n) with
    `per_test=True`. The xent case solves one (nC, nC) system (LU once, then one right-hand side per test point).
    """
    if not ridge > 0:
        raise ValueError(f"ridge must be > 0 (it keeps the Hessian invertible); got {ridge}")
    k = np.asarray(k_train, dtype=np.float64)
    k_test = np.asarray(k_test, dtype=np.float64)
    n = k.shape[0]
    if k.ndim != 2 or k.shape != (n, n) or k_test.ndim != 2 or k_test.shape[1] != n:
        raise ValueError(f"k_train must be (n, n) and k_test (t, n); got {k.shape} and {k_test.shape}")
    f_train, y_train = _as_targets(f_train, n), _as_targets(y_train, n)
    f_test, y_test = _as_targets(f_test, k_test.shape[0]), _as_targets(y_test, k_test.shape[0])
    if not (f_train.shape == y_train.shape and f_test.shape == y_test.shape and f_train.shape[1] == f_test.shape[1]):
        raise ValueError("outputs and targets must have matching shapes (n, C) and (t, C)")
    g = loss_gradient(f_train, y_train, loss)  # (n, C)
    gt = loss_gradient(f_test, y_test, loss)  # (t, C)
    k = 0.5 * (k + k.T)
    if loss == "mse":
        a = linalg.inv(k + ridge * np.eye(n))
        a = 0.5 * (a + a.T)
        # u_x = A v_x with v_x[j, c] = k(x, x_j) gt[x, c]; I[x, i] = sum_c u_x[i, c] g[i, c]
        per = (k_test @ a) * (gt @ g.T)  # (t, n): [k(x) A]_i (gt_x . g_i)
    else:
        c = g.shape[1]
        b = output_hessian(f_train, loss)  # (n, C, C)
        m = np.einsum("jcd,jl->jcld", b, k).reshape(n * c, n * c) + ridge * np.eye(n * c)
        lu = linalg.lu_factor(m.T)
        v = (k_test[:, :, None] * gt[:, None, :]).reshape(k_test.shape[0], n * c)  # (t, nC)
        u = linalg.lu_solve(lu, v.T).T.reshape(k_test.shape[0], n, c)
        per = np.einsum("tnc,nc->tn", u, g)
    return per if per_test else per.sum(axis=0)
