"""Chapter 3's sweep: how far a trained width-m network is from its infinite-width NTK predictor (Table 1).

The sweep is a list of units (`units(spec)`), one per data set x model x width x seed x input centring, each a call
of the module-level `run_unit` that returns that unit's rows (one per training protocol), plus one `collapse_unit`
per data set x centring that measures how collapsed the attention features are. `sweep(spec)` and
`collapse(spec)` run them through `ntkbook.runner.run` (result cache, any executor).

Protocols, both started from the same initialisation W0 (`models.init_network(PRNGKey(seed), ...)`); each is
compared with the exact lazy limit of what it trains, the same training run on the linearised network
`f0 + J0 (w - w0)` (`ntkbook.linearized`), built from the infinite-width kernel K_inf (`f_NTK`, Table 1's
counterpart) and from the network's own full empirical NTK at initialisation Theta_0 (`f_lin`: the linearised
network itself, its finite-width kernel fluctuation):

- "adam" (the paper's): Adam with learning rate `learning_rate`, minibatches of `batch_size`, softmax
  cross-entropy on one-hot targets plus the L2 penalty (l2 / 2) R(W) of form `l2_form` (`ntkbook.train`; "w-w0",
  the NTK reading, penalises W - W0; "w" is the paper's literal ||W||^2). Trained until the objective plateaus:
  every `plateau_window` epochs the full training objective L is evaluated, and training stops at the first
  window whose relative decrease (L_prev - L) / L_prev is below `plateau_tol` (or after `adam_max_epochs`;
  `criterion_met` says which; `ntkbook.train.fit` with `stop=Plateau(...)`). Counterpart: the minimiser of the
  same objective for the linearised network, kernel multinomial logistic regression F = F0 + K beta with
  P(F) - Y + n l2 beta = 0 (`ntkbook.kernel_logistic`, damped Newton in float64 to the stationarity residual
  `kernel_logistic.TOL`, recorded as `ntk_residual`); for "w" it starts from zero outputs (the networks are
  1-homogeneous, so J0 W0 = F0). `objective` is the network's final L, `lin_objective` and `ntk_objective` the
  minima of the linearised objective with Theta_0 and K_inf; `objective_gap = objective - lin_objective` says how
  far Adam is from the lazy optimum (negative when training beyond the linear regime does better). Without a
  penalty ("none") cross-entropy has no finite minimiser: no counterpart (its distance columns are NaN).
- "gd" (the exact check): full-batch gradient descent on 0.5 mean (f - y)^2 with one-hot targets, no penalty,
  step eta = min(gd_rate n C / lambda_max(K_inf), OWN_STEP_CAP n C / lambda_max(Theta_0)): the same step at every
  width of a split, except where it would bring the linearised network (kernel Theta_0) near its stability bound
  2 n C / lambda_max(Theta_0) -- at m = 16, where Theta_0's top eigenvalue reaches about 4 times K_inf's (the
  cross-output blocks of the finite-width kernel), a step set from K_inf alone made it diverge. `gd_step`,
  `gd_step_capped`, `lambda_max_inf` and `lambda_max_own` record it. For exactly max(`gd_times`) steps at every
  width and seed, read at
  each T in `gd_times` (equal times: `dist_t{T}`, `dist_lin_t{T}`, `lin_dist_inf_t{T}`; the row's other columns
  are at the last T). Counterpart: discrete kernel gradient descent for the same T steps from the same f0,
  F_T = Y + (I - eta K / (n C))^T (F_0 - Y), extended to test points through K(x, X) K^(-1)
  (`lazy_counterparts.kernel_gd_at_times`). `criterion_met`: the training MSE at the last T is at most
  `gd_fraction` of its initial value; `kernel_steps` is the number of steps that kernel dynamics needs to reach it
  (inf if never): a measurement of the conditioning. Because only W is trained and every gradient lies in the row
  space of the training features Z, W_T = W0 + Z^T A_T; the iteration runs on A (n x m), which costs n^2 m per step
  instead of n d m.

Metrics per row (test set unless stated): `dist_abs = ||f_m - f_NTK||_F` over test points x outputs (comparable with
Table 1); `dist_lin = ||f_m - f_lin||_F` (what training beyond the linear regime adds) and
`lin_dist_inf = ||f_lin - f_NTK||_F` (what the kernel's randomness at initialisation explains: shrinks like
m^(-1/2)); `dist_learned = ||f_NTK - f0||_F` (what the kernel predictor learned) and `dist_rel_learned = dist_abs /
dist_learned`; `dist_abs_zero_init` (counterpart started from zero outputs); `init_output_norm = ||f0||_F`; on the
training set `kernel_dist_init/final = ||K_m - K_inf||_F / ||K_inf||_F` (per-output block, before/after training) and
`kernel_movement = ||K_m(T) - K_m(0)||_F / ||K_m(0)||_F`; `train_loss_init`, `train_loss` (the protocol's data loss,
no penalty), `train_acc`, `test_acc`, `ntk_train_acc`, `ntk_test_acc` (of f_NTK), `lin_test_acc` (of f_lin),
`ntk0_test_acc` (of the counterpart started from zero outputs), `steps`, `criterion_met`, `split_seed` (the
train/test split: `data_seed`, plus the seed when `resample_splits`), `seconds`.

Centring (`centred=True`, the control): the inputs are unit-normalised, the mean of the training rows is
subtracted from training and test rows, and the result goes through the same features (normalised again, then
attention for MLP-Attn). It removes the common direction that makes all attention outputs nearly parallel.
"""

from __future__ import annotations

import math
import time

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from ntkbook import kernel_logistic, linearized, models, train
from ntkbook import lazy_counterparts as lc
from ntkbook.kernel_limits import kernel_gd_predictor
from ntkbook.lazy_counterparts import (
    adam_ridge,
    effective_rank,
    infinite_kernels,
    kernel_steps_to_fraction,
    ntk_gd_predictor,
    ntk_ridge_predictor,
    relative_frobenius,
    train_gd_span,
)
from ntkbook.result_tables import ResultTables
from ntkbook.specs.ntk_distance import DATASETS, PROTOCOLS, NtkDistanceSpec
from ntkbook.stats import loglog_fit

__all__ = ["DATASETS", "NtkDistanceSpec", "Spec", "resolve", "units", "sweep", "collapse", "run_unit", "collapse_unit",
           "PROTOCOLS", "adam_ridge", "relative_frobenius", "ntk_ridge_predictor", "ntk_gd_predictor", "kernel_gd_predictor",
           "kernel_steps_to_fraction", "infinite_kernels", "prepare_features", "effective_rank",
           "train_gd_span", "split_seed", "width_slopes_per_seed", "results", "penalty_variant", "penalty_results"]

#: GD's step never exceeds this fraction of n C / lambda_max(Theta_0): 90 % of the linearised network's stability
#: bound 2 n C / lambda_max, so its top mode still contracts by a factor 0.8 per step.
OWN_STEP_CAP = 1.8
KIND_RUN, KIND_COLLAPSE, KIND_PENALTY = "ntk-distance", "ntk-distance-collapse", "ntk-distance-penalty"


Spec = NtkDistanceSpec  # noqa: F811  (the name the sweep registry looks up)
resolve = NtkDistanceSpec.resolve


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


def _accuracy(f, y) -> float:
    """Argmax accuracy of outputs f (N, C) against class indices y; NaN when f has NaN (no counterpart)."""
    f = np.asarray(f)
    if np.isnan(f).any():
        return math.nan
    return float(np.mean(np.argmax(f, axis=1) == np.asarray(y)))


# ----------------------------------------------------------------------------------------------------------
# units
# ----------------------------------------------------------------------------------------------------------


def _gd_rows(params0, signs, z_train, z_test, y1, ktt, kst, theta0, theta0_s, f0_train, f0_test, *,
             gd_rate: float, gd_fraction: float, gd_times) -> dict:
    """The GD protocol at the equal-time grid `gd_times` (see the module docstring): the row's columns."""
    n, c = y1.shape
    times = [int(x) for x in gd_times]
    lam_inf = float(np.linalg.eigvalsh(ktt)[-1])
    lam_own = float(np.linalg.eigvalsh(theta0.reshape(n * c, n * c))[-1])
    eta_inf, eta_cap = gd_rate * n * c / lam_inf, OWN_STEP_CAP * n * c / lam_own
    eta = min(eta_inf, eta_cap)
    t = jnp.asarray(y1, jnp.float32)
    snaps, mse0 = lc.train_gd_times(params0, signs, z_train, t, learning_rate=eta, times=times)
    inf = lc.kernel_gd_at_times(ktt, kst, y1, f0_train, f0_test, eta, times)
    own = lc.kernel_gd_at_times(theta0.reshape(n * c, n * c), theta0_s.reshape(-1, n * c), y1.reshape(-1, 1),
                                f0_train.reshape(-1, 1), f0_test.reshape(-1, 1), eta, times)
    row = {}
    for T, p, (_, fk_test), (_, fl_test) in zip(times, snaps, inf, own, strict=True):
        f_m = np.asarray(models.apply_network(p, signs, z_test), np.float64)
        fl_test = fl_test.reshape(-1, c)
        row[f"dist_t{T}"] = float(np.linalg.norm(f_m - fk_test))
        row[f"dist_lin_t{T}"] = float(np.linalg.norm(f_m - fl_test))
        row[f"lin_dist_inf_t{T}"] = float(np.linalg.norm(fl_test - fk_test))
    f_ntk, f_lin_train, f_ntk_train = fk_test, own[-1][0].reshape(-1, c), inf[-1][0]
    _, f_krr = kernel_gd_predictor(ktt, kst, y1, np.zeros_like(f0_train), np.zeros_like(f0_test), eta, times[-1])
    f_m_train = np.asarray(models.apply_network(p, signs, z_train), np.float64)
    loss = _mse(f_m_train, y1)
    return {"params": p, "f_ntk": f_ntk, "f_krr": f_krr, "f_lin": fl_test, "steps": times[-1],
            "criterion_met": loss <= gd_fraction * mse0,
            "kernel_steps": lc.kernel_steps_to_fraction(ktt, y1, f0_train, eta, gd_fraction),
            "train_loss_init": mse0, "train_loss": loss, "objective": loss, "lin_objective": _mse(f_lin_train, y1),
            "ntk_objective": _mse(f_ntk_train, y1), "ntk_train": f_ntk_train, "ntk_residual": 0.0,
            "gd_step": eta, "gd_step_capped": float(eta_cap < eta_inf), "lambda_max_inf": lam_inf,
            "lambda_max_own": lam_own, **row}


def _mse(f, y) -> float:
    return float(0.5 * np.mean((np.asarray(f, np.float64) - y) ** 2))


def _adam_rows(params0, signs, z_train, z_test, y1, ktt, kst, theta0, theta0_s, f0_train, f0_test, *, seed: int,
               learning_rate: float, batch_size: int, l2: float, l2_form: str, adam_max_epochs: int,
               plateau_window: int, plateau_tol: float) -> dict:
    """The Adam protocol and its lazy limit, kernel logistic regression (see the module docstring)."""
    t = jnp.asarray(y1, jnp.float32)
    cfg = train.TrainConfig(epochs=adam_max_epochs, batch_size=batch_size, learning_rate=learning_rate,
                            l2=l2, loss="xent", seed=seed, l2_form=l2_form)
    obj_init, loss_init = train.objective(params0, signs, z_train, t, cfg, params0["W"])
    fitted = train.fit(params0, signs, z_train, t, cfg, stop=train.Plateau(plateau_window, plateau_tol))
    obj, loss = train.objective(fitted.params, signs, z_train, t, cfg, params0["W"])
    out = {"params": fitted.params, "steps": fitted.epochs, "criterion_met": fitted.plateaued,
           "kernel_steps": math.nan, "train_loss_init": loss_init, "train_loss": loss, "objective": obj}
    nan = np.full((len(z_test), y1.shape[1]), math.nan)
    if train.check_l2_form(l2_form) == "none":  # no finite minimiser: no lazy-limit counterpart (the report says so)
        return {**out, "f_ntk": nan, "f_krr": nan, "f_lin": nan, "lin_objective": math.nan,
                "ntk_objective": math.nan, "ntk_train": np.full_like(y1, math.nan), "ntk_residual": math.nan}
    # "w": W = J^T alpha, and J W0 = F0 for these 1-homogeneous networks, so the lazy limit starts from zero outputs
    g_train, g_test = (f0_train, f0_test) if l2_form == "w-w0" else (0 * f0_train, 0 * f0_test)
    inf = kernel_logistic.solve(ktt, g_train, y1, l2)
    own = kernel_logistic.solve(theta0, g_train, y1, l2)
    zero = kernel_logistic.solve(ktt, 0 * f0_train, y1, l2)
    return {**out, "f_ntk": kernel_logistic.predict(kst, g_test, inf.alpha),
            "f_krr": kernel_logistic.predict(kst, 0 * f0_test, zero.alpha),
            "f_lin": kernel_logistic.predict(theta0_s, g_test, own.alpha), "lin_objective": own.objective,
            "ntk_objective": inf.objective, "ntk_train": inf.f_train,
            "ntk_residual": max(inf.residual, own.residual, zero.residual)}


def split_seed(data_seed: int, seed: int, resample_splits: bool) -> int:
    """The train/test split of a unit: `data_seed` for every seed, or `data_seed + seed` when resampled."""
    return int(data_seed) + (int(seed) if resample_splits else 0)


def run_unit(dataset: str, arch: str, width: int, seed: int, centred: bool, *, n_train: int, n_test: int,
             data_seed: int, protocols: list, learning_rate: float, batch_size: int, l2: float, l2_form: str,
             adam_max_epochs: int, plateau_window: int, plateau_tol: float, gd_rate: float, gd_fraction: float,
             gd_times: list, resample_splits: bool = False) -> pd.DataFrame:
    """One unit of the sweep: both protocols for one (data set, model, width, seed, centring); one row each.

    Columns: see the module docstring, plus dataset, arch, centred, width, seed, split_seed, protocol, n_train,
    n_test, n_classes (plain types only, for the Parquet cache).
    """
    split = _split(dataset, n_train, n_test, split_seed(data_seed, seed, resample_splits))
    z_train, z_test = prepare_features(arch, split.x_train, split.x_test, centred=centred)
    ktt, kst = lc.infinite_kernels(z_train, z_test)
    y_train, y_test = np.asarray(split.y_train), np.asarray(split.y_test)
    n_classes = len(split.classes)
    n, d = z_train.shape
    params0, signs = models.init_network(jax.random.PRNGKey(seed), d, width, n_classes)
    theta0 = linearized.full_empirical_ntk(params0, signs, z_train)
    theta0_s = linearized.full_empirical_ntk(params0, signs, z_test, z_train)
    k0 = np.asarray(models.empirical_ntk(params0, z_train), np.float64)
    f0_train = np.asarray(models.apply_network(params0, signs, z_train), np.float64)
    f0_test = np.asarray(models.apply_network(params0, signs, z_test), np.float64)
    y1 = np.asarray(jax.nn.one_hot(y_train, n_classes), np.float64)
    base = {"dataset": dataset, "arch": arch, "centred": bool(centred), "width": int(width), "seed": int(seed),
            "split_seed": split_seed(data_seed, seed, resample_splits),
            "n_train": int(n), "n_test": int(len(y_test)), "n_classes": int(n_classes),
            "kernel_dist_init": lc.relative_frobenius(k0, ktt), "init_output_norm": float(np.linalg.norm(f0_test))}
    common = (params0, signs, z_train, z_test, y1, ktt, kst, theta0, theta0_s, f0_train, f0_test)
    rows = []
    for protocol in protocols:
        start = time.perf_counter()
        if protocol == "adam":
            r = _adam_rows(*common, seed=seed, learning_rate=learning_rate, batch_size=batch_size, l2=l2,
                           l2_form=l2_form, adam_max_epochs=adam_max_epochs, plateau_window=plateau_window,
                           plateau_tol=plateau_tol)
        elif protocol == "gd":
            r = _gd_rows(*common, gd_rate=gd_rate, gd_fraction=gd_fraction, gd_times=gd_times)
        else:
            raise ValueError(f"unknown protocol {protocol!r}; choose from {PROTOCOLS}")
        params, f_ntk, f_krr, f_lin = r.pop("params"), r.pop("f_ntk"), r.pop("f_krr"), r.pop("f_lin")
        ntk_train = r.pop("ntk_train")
        f_m = np.asarray(models.apply_network(params, signs, z_test), np.float64)
        f_m_train = np.asarray(models.apply_network(params, signs, z_train), np.float64)
        k_t = np.asarray(models.empirical_ntk(params, z_train), np.float64)
        dist = float(np.linalg.norm(f_m - f_ntk))
        learned = float(np.linalg.norm(f_ntk - f0_test))
        rows.append({
            **base, "protocol": protocol, "steps": int(r.pop("steps")), "criterion_met": bool(r.pop("criterion_met")),
            **{k: float(v) for k, v in r.items()},
            "objective_gap": float(r["objective"] - r["lin_objective"]),
            "train_acc": _accuracy(f_m_train, y_train), "test_acc": _accuracy(f_m, y_test),
            "ntk_train_acc": _accuracy(ntk_train, y_train), "ntk_test_acc": _accuracy(f_ntk, y_test),
            "ntk0_test_acc": _accuracy(f_krr, y_test), "lin_test_acc": _accuracy(f_lin, y_test),
            "dist_abs": dist, "dist_learned": learned,
            "dist_rel_learned": dist / learned if learned > 0 else math.inf,
            "dist_abs_zero_init": float(np.linalg.norm(f_m - f_krr)),
            "dist_lin": float(np.linalg.norm(f_m - f_lin)), "lin_dist_inf": float(np.linalg.norm(f_lin - f_ntk)),
            "kernel_dist_final": lc.relative_frobenius(k_t, ktt), "kernel_movement": lc.relative_frobenius(k_t, k0),
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
                "plateau_window", "plateau_tol", "gd_rate", "gd_fraction", "gd_times", "resample_splits")


def _run_units(spec: NtkDistanceSpec, kind: str) -> list:
    from ntkbook import data
    from ntkbook.runner import Unit

    shared = {k: list(getattr(spec, k)) if isinstance(getattr(spec, k), tuple) else getattr(spec, k)
              for k in _TRAIN_KNOBS}
    return [Unit(kind, {"dataset": ds, "arch": arch, "width": int(w), "seed": int(s), "centred": bool(c),
                        "protocols": list(spec.protocols), **shared}, run_unit, reads=data.split_reads(ds))
            for s in spec.seeds for ds in spec.datasets for c in spec.centred for arch in spec.archs
            for w in spec.widths]  # seed-major: a partly finished run holds whole seeds of every cell


def units(spec: NtkDistanceSpec) -> list:
    """The sweep's units: `run_unit` per (data set, model, width, seed, centring), then `collapse_unit` per
    (data set, centring), then (when `penalty_check`) the no-penalty Adam runs of `penalty_variant(spec)` under
    their own kind. Each unit's params are the knobs that affect it (JSON-friendly)."""
    from ntkbook import data
    from ntkbook.runner import Unit

    out = _run_units(spec, KIND_RUN)
    out += [Unit(KIND_COLLAPSE, {"dataset": ds, "centred": bool(c), "n_train": spec.n_train, "n_test": spec.n_test,
                                 "data_seed": spec.data_seed}, collapse_unit, reads=data.split_reads(ds))
            for ds in spec.datasets for c in spec.centred]
    if spec.penalty_check:
        out += _run_units(penalty_variant(spec), KIND_PENALTY)
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


def results(spec: NtkDistanceSpec, *, scheduler: str | None = None, cache_dir=None) -> ResultTables:
    """The chapter's results, tables `runs` (`sweep(spec)`), `collapse` (`collapse(spec)`) and `penalty` (the
    no-penalty Adam runs of `penalty_variant(spec)`; no rows when `penalty_check` is off), each unit read from the
    result cache or computed (on `scheduler`, see `ntkbook.runner`) and stored there."""
    penalty = _run(spec, KIND_PENALTY, scheduler, cache_dir, False) if spec.penalty_check else pd.DataFrame()
    return ResultTables(runs=sweep(spec, scheduler, cache_dir=cache_dir),
                        collapse=collapse(spec, scheduler, cache_dir=cache_dir), penalty=penalty)


def penalty_variant(spec: NtkDistanceSpec) -> NtkDistanceSpec:
    """The penalty check: the same Adam runs (raw inputs, the spec's first data set) without the L2 penalty."""
    return spec.replace(l2_form="none", protocols=("adam",), centred=(False,), datasets=spec.datasets[:1])


def penalty_results(spec: NtkDistanceSpec, *, scheduler: str | None = None, cache_dir=None) -> pd.DataFrame:
    """The rows of `penalty_variant(spec)` alone (`results(spec)["penalty"]` without the rest)."""
    if not spec.penalty_check:
        raise ValueError(f"profile {spec.profile!r} runs no penalty check (penalty_check=False): pass "
                         "penalty_check=True to compute it")
    return _run(spec, KIND_PENALTY, scheduler, cache_dir, False)
