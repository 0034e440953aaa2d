"""Chapter 3's kernel-regime counterparts and trainers (float64 predictors; the GD trainer on the row space).

Split from `ntkbook.experiments.ntk_distance` (which re-exports every public name): kernel ridge regression and
kernel GD/flow predictors, the number of kernel GD steps to a criterion, the infinite-width kernels of the
chapter's features, an effective rank, and full-batch GD on the row space of the training features with snapshots
at a grid of steps (`train_gd_span`, `train_gd_times`). `kernel_gd_at_times` evaluates exact kernel GD at several
step counts from one eigendecomposition.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from ntkbook import kernel_predict, models, train

__all__ = ["relative_frobenius", "ntk_ridge_predictor", "ntk_gd_predictor", "kernel_steps_to_fraction",
           "adam_ridge", "infinite_kernels", "effective_rank", "train_gd_span", "train_gd_times",
           "kernel_gd_at_times"]



def relative_frobenius(a, b) -> float:
    """`||a - b||_F / ||b||_F` in float64; a, b arrays of the same shape."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def ntk_ridge_predictor(k_train, k_test_train, y, ridge: float, f0_train=None, f0_test=None) -> np.ndarray:
    """Kernel ridge regression: `f0(x) + K(x, X) (K(X, X) + ridge I)^(-1) (Y - f0(X))`, float64 (`kernel_predict`).

    k_train (n, n), k_test_train (N, n), y and f0_train (n, C), f0_test (N, C) -> (N, C); f0 = None means zero
    initial outputs (plain KRR). The infinite-time limit of (ridge-regularised) gradient flow on MSE in the kernel
    regime (neural-tangents' `gradient_descent_mse(..., diag_reg=ridge)` at `t=None`, checked in the tests).
    """
    return kernel_predict.ridge(k_train, k_test_train, y, ridge, f0_train, f0_test)[1]


def ntk_gd_predictor(k_train, k_test_train, y, f0_train, f0_test, learning_rate: float, steps: float) -> np.ndarray:
    """Gradient *flow* on `0.5 mean (f - y)^2` in the kernel regime at time `learning_rate * steps`.

    `f(t) = f0 + K(x, X) K^(-1) (I - exp(-eta t K / (n C))) (Y - f0(X))`; k_train (n, n), k_test_train (N, n),
    y and f0_train (n, C), f0_test (N, C) -> test outputs (N, C) (`kernel_predict.gradient_flow`). The
    continuous-time reference for `kernel_gd_predictor`, which both agree with as eta -> 0.
    """
    return kernel_predict.gradient_flow(k_train, k_test_train, y, learning_rate, steps, f0_train, f0_test)[1]



def kernel_steps_to_fraction(k_train, y, f0_train, learning_rate: float, fraction: float,
                             max_steps: float = 1e15) -> float:
    """Fewest steps T of kernel GD (see `kernel_gd_predictor`) with ||F_T - Y||^2 <= fraction ||F_0 - Y||^2.

    ||F_T - Y||^2 = sum_k (1 - c_k)^(2T) ||q_k^T (F_0 - Y)||^2 is decreasing in T, so a bisection on T finds it;
    returns inf when the criterion is not reached by `max_steps` (the mass on eigenvalues near 0 exceeds the
    fraction: the kernel is too ill-conditioned for the target). float64.
    """
    k = np.asarray(k_train, np.float64)
    y = np.asarray(y, np.float64)
    n, c_out = y.shape
    lam, q = np.linalg.eigh(0.5 * (k + k.T))
    c = np.clip(learning_rate * np.maximum(lam, 0.0) / (n * c_out), 0.0, 1.0 - 1e-16)
    mass = np.sum((q.T @ (np.asarray(f0_train, np.float64) - y)) ** 2, axis=1)
    total = mass.sum()
    log_keep = np.log1p(-c)

    def ratio(t: float) -> float:
        return float(np.sum(mass * np.exp(2.0 * t * log_keep)) / total)

    if ratio(0) <= fraction:
        return 0.0
    if ratio(max_steps) > fraction:
        return math.inf
    lo, hi = 0.0, 1.0
    while ratio(hi) > fraction:
        lo, hi = hi, 2.0 * hi
    while hi - lo > 1:
        mid = math.floor((lo + hi) / 2)
        lo, hi = (mid, hi) if ratio(mid) > fraction else (lo, mid)
    return float(hi)


def adam_ridge(n: int, n_classes: int, l2: float, l2_form: str) -> float:
    """The ridge of the Adam protocol's kernel counterpart: n C l2 for a penalty (l2/2)||W - W0||^2 (the exact
    minimiser of the linearised network under 0.5 mean squared error), also used for the literal (l2/2)||W||^2
    (no exact counterpart: it also shrinks f0), and 0 without a penalty (the kernel interpolant from f0)."""
    return 0.0 if train.check_l2_form(l2_form) == "none" else float(n * n_classes * l2)


def infinite_kernels(z_train, z_test) -> tuple[np.ndarray, np.ndarray]:
    """`(K_inf(X, X), K_inf(X_test, X))` in float64 from `models.infinite_ntk` (rows renormalised in float64)."""
    zt = np.asarray(z_train, np.float64)
    zs = np.asarray(z_test, np.float64)
    zt = zt / np.linalg.norm(zt, axis=1, keepdims=True)
    zs = zs / np.linalg.norm(zs, axis=1, keepdims=True)
    return models.infinite_ntk(zt, zt), models.infinite_ntk(zs, zt)


def effective_rank(k) -> float:
    """Effective rank exp(H(p)) of a PSD matrix, p_k = lambda_k / sum lambda (Roy and Vetterli, 2007), float64.

    1 for a rank-one matrix, n for a multiple of the identity; negative rounding-level eigenvalues are set to 0.
    """
    lam = np.clip(np.linalg.eigvalsh(np.asarray(k, np.float64)), 0.0, None)
    p = lam[lam > 0] / lam.sum()
    return float(np.exp(-np.sum(p * np.log(p))))



@jax.jit
def _gd_span_steps(a, p0, kz, signs, t, eta, steps_arr):
    """`len(steps_arr)` GD steps on A, with W = W0 + Z^T A: P = P0 + (Z Z^T) A; returns A."""
    m = signs.shape[0]
    n, c = t.shape

    def body(a, _):
        p = p0 + kz @ a
        f = jax.nn.relu(p) @ signs / jnp.sqrt(m)
        g_f = (f - t) / (n * c)  # d/dF of 0.5 mean (F - T)^2
        g_p = (g_f @ signs.T) / jnp.sqrt(m) * (p > 0)
        return a - eta * g_p, None

    a, _ = jax.lax.scan(body, a, steps_arr)
    return a


def _mse(f, t) -> float:
    return float(0.5 * jnp.mean((f - t) ** 2))


def train_gd_span(params0, signs, z, t, *, learning_rate: float, fraction: float, max_steps: int,
                  check_every: int = 50) -> tuple[dict, int, bool, float, float]:
    """Full-batch GD on 0.5 mean (f - t)^2 (no penalty) until MSE <= fraction MSE_0 or `max_steps`.

    Runs on A with W = W0 + Z^T A (every gradient Z^T g lies in the row space of Z), checking the criterion every
    `check_every` steps (so `steps` is a multiple of it, or max_steps). Equals `ntkbook.train.train_gd(...,
    l2=0)` in exact arithmetic. Returns (params, steps, reached, mse, mse_0).
    """
    w0 = params0["W"]
    p0 = z @ w0
    kz = z @ z.T
    a = jnp.zeros((z.shape[0], w0.shape[1]), w0.dtype)
    f = models.apply_network(params0, signs, z)
    mse0 = mse = _mse(f, t)
    done, reached = 0, mse <= fraction * mse0
    while done < max_steps and not reached:
        k = min(check_every, max_steps - done)
        a = _gd_span_steps(a, p0, kz, signs, t, learning_rate, jnp.zeros(k))
        done += k
        mse = _mse(jax.nn.relu(p0 + kz @ a) @ signs / jnp.sqrt(signs.shape[0]), t)
        reached = mse <= fraction * mse0
    return {"W": w0 + z.T @ a}, done, bool(reached), mse, mse0


def train_gd_times(params0, signs, z, t, *, learning_rate: float, times) -> tuple[list[dict], float]:
    """Full-batch GD on 0.5 mean (f - t)^2 (no penalty) for exactly `max(times)` steps, with the parameters after
    each step count in `times` (strictly increasing positive integers): `([params at T for T in times], mse_0)`.

    The same iteration as `train_gd_span` (W = W0 + Z^T A, every gradient in the row space of Z), without a
    stopping rule: every width and seed is read at the same steps.
    """
    times = [int(x) for x in times]
    if not times or times[0] < 1 or any(b <= a for a, b in zip(times, times[1:], strict=False)):
        raise ValueError(f"times must be strictly increasing positive step counts, got {times}")
    w0 = params0["W"]
    p0 = z @ w0
    kz = z @ z.T
    a = jnp.zeros((z.shape[0], w0.shape[1]), w0.dtype)
    mse0 = _mse(models.apply_network(params0, signs, z), t)
    out, done = [], 0
    for target in times:
        a = _gd_span_steps(a, p0, kz, signs, t, learning_rate, jnp.zeros(target - done))
        done = target
        out.append({"W": w0 + z.T @ a})
    return out, mse0


def kernel_gd_at_times(k_train, k_test_train, y, f0_train, f0_test, learning_rate: float, times
                       ) -> list[tuple[np.ndarray, np.ndarray]]:
    """`[kernel_predict.gradient_descent(..., steps=T) for T in times]` from one eigendecomposition, float64.

    Same arguments as `kernel_predict.gradient_descent` (k_train (n, n), y (n, C)); the gain per eigenvalue is
    `(1 - (1 - c)^T) / lambda` with `c = eta lambda / (n C)`, evaluated with expm1/log1p as there where c < 1
    (checked against it in the tests) and as the exact power where c >= 1, which `kernel_predict` clips: a
    finite-width kernel's top eigenvalue can exceed the infinite-width one that sets eta, and then GD on the
    linearised network overshoots that mode exactly like this.
    """
    k = 0.5 * (np.asarray(k_train, np.float64) + np.asarray(k_train, np.float64).T)
    ks = np.asarray(k_test_train, np.float64)
    y = np.asarray(y, np.float64)
    f0_train, f0_test = np.asarray(f0_train, np.float64), np.asarray(f0_test, np.float64)
    n_c = y.size
    lam, q = np.linalg.eigh(k)
    lam = np.maximum(lam, 0.0)
    r = q.T @ (y - f0_train)
    c = learning_rate * lam / n_c
    small = c < 1
    log_keep = np.log1p(-np.where(small, c, 0.0))
    out = []
    for steps in times:
        # (1 - (1 - c)^T) / lambda, exact for every c: expm1/log1p where 1 - c > 0 (no cancellation), the plain
        # power where 1 - c <= 0 (a mode GD overshoots: it oscillates for c < 2 and diverges beyond, as GD does)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            g = np.where(small, -np.expm1(steps * log_keep), 1.0 - (1.0 - c) ** steps)
            g = np.where(lam > 0, g / lam, steps * learning_rate / n_c)
        out.append((f0_train + q @ ((lam * g)[:, None] * r), f0_test + ks @ (q @ (g[:, None] * r))))
    return out
