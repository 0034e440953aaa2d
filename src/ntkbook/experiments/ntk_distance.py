"""Chapter 3's sweep: how far a trained width-m network is from its infinite-width NTK predictor (Table 1).

The sweep is a list of units (`units(spec)`), one per data set x model x width x seed x input centring, each a call
of the module-level `run_unit` that returns that unit's rows (one per training protocol), plus one `collapse_unit`
per data set x centring that measures how collapsed the attention features are. `sweep(spec)` and
`collapse(spec)` run them through `ntkbook.runner.run` (result cache, any executor).

Protocols, both started from the same initialisation W0 (`models.init_network(PRNGKey(seed), ...)`):

- "adam" (the paper's): Adam with learning rate `learning_rate`, minibatches of `batch_size`, softmax
  cross-entropy on one-hot targets plus the L2 penalty (l2 / 2) R(W) of form `l2_form` (`ntkbook.train`; "w-w0",
  the NTK reading, penalises W - W0; "w" is the paper's literal ||W||^2). Trained until the objective plateaus:
  every `plateau_window` epochs the full training objective L is evaluated, and training stops at the first
  window whose relative decrease (L_prev - L) / L_prev is below `plateau_tol` (or after `adam_max_epochs`;
  `criterion_met` says which; `ntkbook.train.fit` with `stop=Plateau(...)`). Kernel counterpart: kernel ridge regression with K_inf on one-hot targets,
  f_NTK(x) = f0(x) + K_inf(x, X) (K_inf(X, X) + r I)^(-1) (Y - f0(X)) with r = `adam_ridge` (n C l2: the minimiser
  of the linearised network under MSE with the penalty on W - W0; 0 without a penalty), started from the network's
  own initial outputs f0.
- "gd" (the exact check): full-batch gradient descent on 0.5 mean (f - y)^2 with one-hot targets, no penalty,
  step eta = gd_rate n C / lambda_max(K_inf), until the training MSE is at most `gd_fraction` of its initial value
  (or `gd_max_steps`; `criterion_met` says which). Its kernel counterpart is exact in the kernel regime: discrete
  kernel gradient descent for the same number of steps from the same f0,
  F_T = Y + (I - eta K / (n C))^T (F_0 - Y), extended to test points through K_inf(x, X) K_inf^(-1). `kernel_steps`
  is the number of steps that kernel dynamics needs to reach the same criterion (inf if never): a measurement of
  the conditioning. Because only W is trained and every gradient lies in the row space of the training features Z,
  W_T = W0 + Z^T A_T; the iteration runs on A (n x m), which costs n^2 m per step instead of n d m.

Metrics per row (test set unless stated): `dist_abs = ||f_m - f_NTK||_F` over test points x outputs (comparable with
Table 1); `dist_learned = ||f_NTK - f0||_F` (what the kernel predictor learned) and `dist_rel_learned = dist_abs /
dist_learned`; `dist_abs_zero_init` (counterpart started from zero outputs); `init_output_norm = ||f0||_F`; on the
training set `kernel_dist_init/final = ||K_m - K_inf||_F / ||K_inf||_F` (per-output block, before/after training) and
`kernel_movement = ||K_m(T) - K_m(0)||_F / ||K_m(0)||_F`; `train_loss_init`, `train_loss` (the protocol's data loss,
no penalty), `train_acc`, `test_acc`, `ntk_test_acc` (of f_NTK), `ntk0_test_acc` (of the counterpart started from
zero outputs), `steps`, `criterion_met`, `seconds`.

Centring (`centred=True`, the control): the inputs are unit-normalised, the mean of the training rows is
subtracted from training and test rows, and the result goes through the same features (normalised again, then
attention for MLP-Attn). It removes the common direction that makes all attention outputs nearly parallel.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from ntkbook import kernel_predict, models, train
from ntkbook.kernel_limits import kernel_gd_predictor
from ntkbook.spec import Spec, knob, require
from ntkbook.stats import loglog_fit

__all__ = ["NtkDistanceSpec", "Spec", "resolve", "units", "sweep", "collapse", "run_unit", "collapse_unit",
           "PROTOCOLS", "adam_ridge", "relative_frobenius", "ntk_ridge_predictor", "ntk_gd_predictor", "kernel_gd_predictor",
           "kernel_steps_to_fraction", "infinite_kernels", "prepare_features", "effective_rank",
           "train_gd_span", "width_slopes_per_seed", "results", "penalty_variant", "penalty_results"]

PROTOCOLS = ("adam", "gd")
DATASETS = ("mnist", "cifar10")
KIND_RUN, KIND_COLLAPSE = "ntk-distance", "ntk-distance-collapse"


@dataclasses.dataclass(frozen=True)
class NtkDistanceSpec(Spec):
    """The knobs of chapter 3 (see the module docstring for what each protocol does with them; each knob is
    documented where it is declared)."""

    datasets: tuple = knob(DATASETS, type=str, choices=DATASETS, doc='("mnist", "cifar10")')
    archs: tuple = knob(models.ARCHITECTURES, type=str, choices=models.ARCHITECTURES,
                        doc='("relu", "attn"): 2L-ReLU, MLP-Attn')
    widths: tuple = knob((16, 64, 256), type=int, low=1, high=65536, min_len=2, distinct=True,
                         doc="hidden widths m")
    seeds: tuple = knob((0, 1, 2, 3, 4), type=int, low=0, doc="initialisation (and minibatch order) seeds; a trend "
                        "needs at least 2, the book uses 5")
    centred: tuple = knob((False, True), type=bool,
                          doc="(False, True): raw inputs (the paper) and the centred-input control")
    protocols: tuple = knob(PROTOCOLS, type=str, choices=PROTOCOLS, doc='("adam", "gd")')
    n_train: int = knob(100, type=int, low=20, high=5000,
                        doc="training points per data set (the same split for every run)")
    n_test: int = knob(200, type=int, low=10, high=5000, doc="test points")
    data_seed: int = knob(0, type=int, low=0, doc="seed of the train/test split")
    learning_rate: float = knob(1e-3, type=float, low=0, low_open=True, doc="Adam learning rate (the paper: 1e-3)")
    batch_size: int = knob(128, type=int, low=1, doc="Adam minibatch size (the paper: 128)")
    l2: float = knob(1e-3, type=float, low=0, doc="L2 penalty strength lambda (the paper: 1e-3)")
    l2_form: str = knob("w-w0", type=str, choices=train.L2_FORMS, doc='"w-w0" (penalty on W - W0, the NTK reading) '
                        '| "w" (the paper\'s words) | "none"')
    adam_max_epochs: int = knob(2000, type=int, low=1, doc="Adam budget in epochs")
    plateau_window: int = knob(100, type=int, low=1, doc="Adam: epochs between two evaluations of the objective")
    plateau_tol: float = knob(0.005, type=float, low=0, high=1, low_open=True, high_open=True,
                              doc="Adam stops when one window lowers the objective by less than this fraction")
    gd_rate: float = knob(0.5, type=float, low=0, high=2, low_open=True, high_open=True,
                          doc="GD step as a fraction of the kernel's stability scale n C / lambda_max(K_inf)")
    gd_fraction: float = knob(0.1, type=float, low=0, high=1, low_open=True, high_open=True,
                              doc="GD stops when the training MSE is below this fraction of its initial value")
    gd_max_steps: int = knob(4000, type=int, low=1, doc="GD budget in steps")

    PROFILES: ClassVar[dict[str, dict]] = {
        # CI's re-execution: seconds, not a measurement (two seeds cannot decide a trend)
        "quick": dict(datasets=("mnist",), widths=(16, 64), seeds=(0, 1), n_train=30, n_test=30,
                      adam_max_epochs=100, plateau_window=50, gd_max_steps=200),
        # the book build on a 2-core CPU
        "default": dict(),
        # the paper's widths 4..4096, five seeds, more data and longer budgets (hours on a CPU)
        "paper": dict(widths=tuple(2**k for k in range(2, 13)), n_train=1000, n_test=500, adam_max_epochs=20000,
                      gd_max_steps=200_000),
    }

    #: Wall seconds on the 2-core development machine while five other jobs shared it (1-minute load 10-12):
    #: quick = the whole notebook under papermill; default = the sweep plus its no-penalty check (688 + 206 s; the
    #: processes used 207 + 84 = 291 s of CPU time, the uncontended-equivalent), 2026-11-30.
    MEASURED_SECONDS: ClassVar[dict[str, float]] = {"quick": 70.0, "default": 894.0}

    def check(self) -> None:
        require(self.plateau_window <= self.adam_max_epochs, "plateau_window", "an integer in 1..adam_max_epochs",
                self.plateau_window)


Spec = NtkDistanceSpec  # noqa: F811  (the name the sweep registry looks up)
resolve = NtkDistanceSpec.resolve


# ----------------------------------------------------------------------------------------------------------
# kernel predictors (float64)
# ----------------------------------------------------------------------------------------------------------


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


# ----------------------------------------------------------------------------------------------------------
# data and features
# ----------------------------------------------------------------------------------------------------------


def _split(dataset: str, n_train: int, n_test: int, data_seed: int):
    from ntkbook import data

    return data.train_test_split(dataset, n_train, n_test, seed=data_seed, allow_split_from_test=True)


def prepare_features(arch: str, x_train, x_test, *, centred: bool) -> tuple[jnp.ndarray, jnp.ndarray]:
    """The network inputs `(z_train (n, d), z_test (N, d))`, float32 unit rows, for raw pixels x (float64).

    centred=False: `models.features(arch, x, x_train)` (the paper). centred=True: unit rows first, then the
    training rows' mean is subtracted from both sets, then `models.features` (which normalises again and, for
    "attn", attends over the centred training set).
    """
    x_train, x_test = np.asarray(x_train, np.float64), np.asarray(x_test, np.float64)
    if centred:
        x_train = x_train / np.linalg.norm(x_train, axis=1, keepdims=True)
        x_test = x_test / np.linalg.norm(x_test, axis=1, keepdims=True)
        mu = x_train.mean(axis=0)
        x_train, x_test = x_train - mu, x_test - mu
    xt = jnp.asarray(x_train, jnp.float32)
    return models.features(arch, xt, xt), models.features(arch, jnp.asarray(x_test, jnp.float32), xt)


# ----------------------------------------------------------------------------------------------------------
# training to a criterion
# ----------------------------------------------------------------------------------------------------------


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


def _accuracy(f, y) -> float:
    return float(np.mean(np.argmax(np.asarray(f), axis=1) == np.asarray(y)))


# ----------------------------------------------------------------------------------------------------------
# units
# ----------------------------------------------------------------------------------------------------------


def run_unit(dataset: str, arch: str, width: int, seed: int, centred: bool, *, n_train: int, n_test: int,
             data_seed: int, protocols: list, learning_rate: float, batch_size: int, l2: float, l2_form: str,
             adam_max_epochs: int, plateau_window: int, plateau_tol: float, gd_rate: float, gd_fraction: float,
             gd_max_steps: int) -> pd.DataFrame:
    """One unit of the sweep: both protocols for one (data set, model, width, seed, centring); one row each.

    Columns: see the module docstring, plus dataset, arch, centred, width, seed, protocol, n_train, n_test,
    n_classes (plain types only, for the Parquet cache).
    """
    split = _split(dataset, n_train, n_test, data_seed)
    z_train, z_test = prepare_features(arch, split.x_train, split.x_test, centred=centred)
    ktt, kst = infinite_kernels(z_train, z_test)
    y_train, y_test = np.asarray(split.y_train), np.asarray(split.y_test)
    n_classes = len(split.classes)
    n, d = z_train.shape
    params0, signs = models.init_network(jax.random.PRNGKey(seed), d, width, n_classes)
    k0 = np.asarray(models.empirical_ntk(params0, z_train), np.float64)
    f0_train = np.asarray(models.apply_network(params0, signs, z_train), np.float64)
    f0_test = np.asarray(models.apply_network(params0, signs, z_test), np.float64)
    y1 = np.asarray(jax.nn.one_hot(y_train, n_classes), np.float64)
    base = {"dataset": dataset, "arch": arch, "centred": bool(centred), "width": int(width), "seed": int(seed),
            "n_train": int(n), "n_test": int(len(y_test)), "n_classes": int(n_classes),
            "kernel_dist_init": relative_frobenius(k0, ktt), "init_output_norm": float(np.linalg.norm(f0_test))}
    rows = []
    for protocol in protocols:
        start = time.perf_counter()
        t = jnp.asarray(y1, jnp.float32)
        if protocol == "adam":
            cfg = train.TrainConfig(epochs=adam_max_epochs, batch_size=batch_size, learning_rate=learning_rate,
                                    l2=l2, loss="xent", seed=seed, l2_form=l2_form)
            loss_init = train.objective(params0, signs, z_train, t, cfg, params0["W"])[1]
            fitted = train.fit(params0, signs, z_train, t, cfg, stop=train.Plateau(plateau_window, plateau_tol))
            params, steps, met = fitted.params, fitted.epochs, fitted.plateaued
            loss = train.objective(params, signs, z_train, t, cfg, params0["W"])[1]
            ridge = adam_ridge(n, n_classes, l2, l2_form)
            f_ntk = ntk_ridge_predictor(ktt, kst, y1, ridge, f0_train, f0_test)
            f_krr = ntk_ridge_predictor(ktt, kst, y1, ridge)
            k_steps = math.nan
        elif protocol == "gd":
            eta = gd_rate * n * n_classes / float(np.linalg.eigvalsh(ktt)[-1])
            params, steps, met, loss, loss_init = train_gd_span(params0, signs, z_train, t, learning_rate=eta,
                                                                fraction=gd_fraction, max_steps=gd_max_steps)
            _, f_ntk = kernel_gd_predictor(ktt, kst, y1, f0_train, f0_test, eta, steps)
            _, f_krr = kernel_gd_predictor(ktt, kst, y1, np.zeros_like(f0_train), np.zeros_like(f0_test), eta, steps)
            k_steps = kernel_steps_to_fraction(ktt, y1, f0_train, eta, gd_fraction)
        else:
            raise ValueError(f"unknown protocol {protocol!r}; choose from {PROTOCOLS}")
        f_m = np.asarray(models.apply_network(params, signs, z_test), np.float64)
        f_m_train = np.asarray(models.apply_network(params, signs, z_train), np.float64)
        k_t = np.asarray(models.empirical_ntk(params, z_train), np.float64)
        dist = float(np.linalg.norm(f_m - f_ntk))
        learned = float(np.linalg.norm(f_ntk - f0_test))
        rows.append({
            **base, "protocol": protocol, "steps": int(steps), "criterion_met": bool(met),
            "kernel_steps": float(k_steps), "train_loss_init": float(loss_init), "train_loss": float(loss),
            "train_acc": _accuracy(f_m_train, y_train), "test_acc": _accuracy(f_m, y_test),
            "ntk_test_acc": _accuracy(f_ntk, y_test), "ntk0_test_acc": _accuracy(f_krr, y_test), "dist_abs": dist, "dist_learned": learned,
            "dist_rel_learned": dist / learned if learned > 0 else math.inf,
            "dist_abs_zero_init": float(np.linalg.norm(f_m - f_krr)),
            "kernel_dist_final": relative_frobenius(k_t, ktt), "kernel_movement": relative_frobenius(k_t, k0),
            "seconds": time.perf_counter() - start,
        })
    return pd.DataFrame(rows)


def collapse_unit(dataset: str, centred: bool, *, n_train: int, n_test: int, data_seed: int) -> pd.DataFrame:
    """How collapsed each model's features are on the training set: one row per model (float64).

    Columns: dataset, centred, arch, `mean_cosine` (mean off-diagonal <z_i, z_j> of the unit features),
    `effective_rank` and `top_share` (lambda_1 / trace) of their linear kernel Z Z^T (for MLP-Attn: the attention
    kernel, G^3 with normalised rows), the same two for K_inf (`ntk_effective_rank`, `ntk_top_share`), `kappa_ntk`
    (lambda_1 / lambda_n of K_inf, inf if singular in float64) and n_train.
    """
    from ntkbook import kernels

    split = _split(dataset, n_train, n_test, data_seed)
    rows = []
    for arch in models.ARCHITECTURES:
        z, _ = prepare_features(arch, split.x_train, split.x_test[:1], centred=centred)
        z = np.asarray(z, np.float64)
        z = z / np.linalg.norm(z, axis=1, keepdims=True)
        lin = z @ z.T
        k = models.infinite_ntk(z)
        lam_lin, lam_k = kernels.eigenvalues(lin), kernels.eigenvalues(k)
        try:
            kappa = kernels.condition_number(k)
        except ValueError:  # singular in float64
            kappa = math.inf
        n = len(z)
        rows.append({"dataset": dataset, "centred": bool(centred), "arch": arch, "n_train": int(n),
                     "mean_cosine": float((lin.sum() - np.trace(lin)) / (n * (n - 1))),
                     "effective_rank": effective_rank(lin), "top_share": float(lam_lin[0] / lam_lin.sum()),
                     "ntk_effective_rank": effective_rank(k), "ntk_top_share": float(lam_k[0] / lam_k.sum()),
                     "kappa_ntk": float(kappa)})
    return pd.DataFrame(rows)


_TRAIN_KNOBS = ("n_train", "n_test", "data_seed", "learning_rate", "batch_size", "l2", "l2_form", "adam_max_epochs",
                "plateau_window", "plateau_tol", "gd_rate", "gd_fraction", "gd_max_steps")


def units(spec: NtkDistanceSpec) -> list:
    """The sweep's units: `run_unit` per (data set, model, width, seed, centring), then `collapse_unit` per
    (data set, centring). Each unit's params are the knobs that affect it (JSON-friendly)."""
    from ntkbook import data
    from ntkbook.runner import Unit

    shared = {k: getattr(spec, k) for k in _TRAIN_KNOBS}
    out = [Unit(KIND_RUN, {"dataset": ds, "arch": arch, "width": int(w), "seed": int(s), "centred": bool(c),
                           "protocols": list(spec.protocols), **shared}, run_unit, reads=data.split_reads(ds))
           for ds in spec.datasets for c in spec.centred for arch in spec.archs for w in spec.widths
           for s in spec.seeds]
    out += [Unit(KIND_COLLAPSE, {"dataset": ds, "centred": bool(c), "n_train": spec.n_train, "n_test": spec.n_test,
                                 "data_seed": spec.data_seed}, collapse_unit, reads=data.split_reads(ds))
            for ds in spec.datasets for c in spec.centred]
    return out


def _run(spec: NtkDistanceSpec, kind: str, scheduler, cache_dir, refresh) -> pd.DataFrame:
    from ntkbook import runner

    todo = [u for u in units(spec) if u.kind == kind]
    return runner.run(todo, scheduler=scheduler, cache_dir=cache_dir, refresh=refresh, desc=kind).frame


def sweep(spec: NtkDistanceSpec, scheduler: str | None = None, *, cache_dir=None, refresh: bool = False
          ) -> pd.DataFrame:
    """All `run_unit` rows of the spec (one per unit and protocol), through `ntkbook.runner.run` and its cache."""
    return _run(spec, KIND_RUN, scheduler, cache_dir, refresh)


def collapse(spec: NtkDistanceSpec, scheduler: str | None = None, *, cache_dir=None, refresh: bool = False
             ) -> pd.DataFrame:
    """All `collapse_unit` rows of the spec (one per data set, centring and model)."""
    return _run(spec, KIND_COLLAPSE, scheduler, cache_dir, refresh)


# ----------------------------------------------------------------------------------------------------------
# per-seed slopes (numbers only; the report layer turns them into intervals and statuses)
# ----------------------------------------------------------------------------------------------------------


def width_slopes_per_seed(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Least-squares slope of log(column) against log(width) for each seed, per (dataset, arch, centred, protocol).

    Returns columns dataset, arch, centred, protocol, seed, slope, n_widths. Rows with a non-positive or non-finite
    value are left out of that seed's fit (a seed with fewer than two widths gives NaN).
    """
    rows = []
    for key, g in frame.groupby(["dataset", "arch", "centred", "protocol", "seed"], sort=True):
        g = g[np.isfinite(g[column]) & (g[column] > 0)]
        slope = (loglog_fit(g["width"].to_numpy(float), g[column].to_numpy(float), base=math.e)[0]
                 if g["width"].nunique() >= 2 else math.nan)
        rows.append(dict(zip(["dataset", "arch", "centred", "protocol", "seed"], key, strict=True), slope=slope,
                         n_widths=int(g["width"].nunique())))
    return pd.DataFrame(rows)


def results(spec: NtkDistanceSpec, *, scheduler: str | None = None, cache_dir=None
            ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The chapter's results `(runs, collapse)`: `sweep(spec)` and `collapse(spec)`, each unit read from the result
    cache or computed (on `scheduler`, see `ntkbook.runner`) and stored there."""
    return sweep(spec, scheduler, cache_dir=cache_dir), collapse(spec, scheduler, cache_dir=cache_dir)


def penalty_variant(spec: NtkDistanceSpec) -> NtkDistanceSpec:
    """The penalty check: the same Adam runs (raw inputs, the spec's first data set) without the L2 penalty."""
    return spec.replace(l2_form="none", protocols=("adam",), centred=(False,), datasets=spec.datasets[:1])


def penalty_results(spec: NtkDistanceSpec, *, scheduler: str | None = None, cache_dir=None) -> pd.DataFrame:
    """The rows of `penalty_variant(spec)`, through the runner and its cache (like `results`)."""
    return sweep(penalty_variant(spec), scheduler, cache_dir=cache_dir)
