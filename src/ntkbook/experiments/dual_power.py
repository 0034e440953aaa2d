"""Chapter 5's power experiment: kernel ridge regression on targets aligned with the data geometry or not, with the
ridge chosen per kernel and target by closed-form leave-one-out (`ntkbook.ridge_select`).

Kernels (`power_kernels`): the linear kernel `<xhat, xhat'>`, G^3 (the linear kernel of the linearized-attention
features `phi(x) = X^T X xhat`), the MLP-Attn and 2L-ReLU NTKs, and the control "pca-linear": linear ridge on the
top-r principal directions of the training rows (kernel `U_r diag(lambda_1..r) U_r^T` of G, test kernel
`k(x, X) U_r U_r^T`), r and the ridge chosen together by leave-one-out. The control shrinks the bottom directions
without any data-dependent kernel; if G^3's advantage on the aligned targets is no larger than the control's, what G^3
buys is that shrinkage. For targets linear in `xhat`, G^3 regression is linear ridge regression with the prior
covariance `(X^T X)^2` on the weights: mode k of G is kept in the fraction `lambda_k^3 / (lambda_k^3 + r)` instead of
`lambda_k / (lambda_k + r)`, a steeper spectral filter.

Targets (on a reference sample disjoint from train and test, `mode_targets`): mode j, `<xhat, v_j>` scaled to unit
mean square on the reference rows (linear in xhat); "square" j, `(mode_j^2 - 1)` scaled to unit mean square there
(a non-linear family along the same directions); the real labels (one-hot, centred); random signs. Gaussian label
noise of standard deviation sigma (absolute, in the targets' unit mean square) is added to the training targets only,
the same draw scaled for every sigma (common random numbers). Errors: `error`, the unexplained fraction
`sum (yhat - y)^2 / sum y^2` on the test points; `mse`, the absolute test mean squared error; `zero_mse`, that of
predicting 0.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from ntkbook import data as _data
from ntkbook import influence as _influence
from ntkbook import kernels as _kernels
from ntkbook import ridge_select as _rs

KERNELS = ("linear", "G3", "attn-ntk", "relu-ntk")
"""The kernels of the power experiment: linear `<x, x'>`, `G^3` (attention features), the MLP-Attn and 2L-ReLU NTKs."""
CONTROL = "pca-linear"
"""The control: PCA-truncated linear ridge (rank and ridge chosen by leave-one-out)."""
TARGETS = ("mode", "square", "labels", "random")
PCA_RANKS = (1, 2, 3, 5, 10, 20, 50, 100, 200, 400, 800)
"""Ranks the control searches (those <= n)."""


def sample_split(dataset: str, n_train: int, n_test: int, seed: int, data_dir=None) -> _data.Split:
    """The seeded split every experiment of the chapter draws (`ntkbook.data.train_test_split`, from the test split
    when there is no train split)."""
    return _data.train_test_split(dataset, n_train, n_test, seed=seed, allow_split_from_test=True, data_dir=data_dir)


def mode_targets(x_ref, modes, x) -> tuple[np.ndarray, np.ndarray]:
    """Targets aligned with the eigenvectors of the reference Gram matrix, and the singular values.

    x_ref (n_ref, d) pixels; modes (k,) 1-based indices j; x (N, d) points. Returns `Y` (N, k) with
    `Y[:, i] = <xhat, v_j> / s_j * sqrt(n_ref)` (unit mean square over the reference rows, where it equals
    `sqrt(n_ref) u_j`, the j-th eigenvector of `G_ref`) and the singular values s (min(n_ref, d),) of `Xhat_ref`.
    Signs follow numpy's SVD (a target's sign does not change any error).
    """
    xr = _data.unit_rows(x_ref)
    _, s, vt = np.linalg.svd(xr, full_matrices=False)
    modes = np.asarray(modes, int)
    if modes.min() < 1 or modes.max() > s.size or s[modes.max() - 1] <= s[0] * s.size * np.finfo(float).eps:
        raise ValueError(f"modes must lie in 1..numerical rank of the reference sample ({s.size} at most), got {modes}")
    xu = _data.unit_rows(x)
    return xu @ vt[modes - 1].T / s[modes - 1] * math.sqrt(len(xr)), s


def square_targets(x_ref, modes, x) -> np.ndarray:
    """The non-linear family: `(y_j^2 - 1) / c_j` with y_j the mode target (`mode_targets`, unit mean square on the
    reference rows, so `y_j^2 - 1` has mean 0 there) and c_j the reference root mean square of `y_j^2 - 1`."""
    y_ref, _ = mode_targets(x_ref, modes, x_ref)
    y, _ = mode_targets(x_ref, modes, x)
    c = np.sqrt(np.mean((y_ref**2 - 1.0) ** 2, axis=0))
    return (y**2 - 1.0) / c


def power_kernels(x_train, x_test) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """`{kernel: (K (n, n), k(test, train) (N, n))}` for `KERNELS`, float64, on unit rows.

    linear: `Xhat Xhat^T`; G3: `phi phi'^T` with `phi(x) = xhat Xhat^T Xhat` (on training rows `G^3`,
    Theorem 4.1); attn-ntk / relu-ntk: `kernels.first_layer_ntk` of the MLP-Attn / 2L-ReLU features.
    """
    xt, xs = _data.unit_rows(x_train), _data.unit_rows(x_test)
    g = xt @ xt.T
    pt, ps = g @ xt, (xs @ xt.T) @ xt  # O(n^2 d) rather than forming X^T X (d, d)
    zt, zs = _data.unit_rows(pt), _data.unit_rows(ps)
    return {
        "linear": (g, xs @ xt.T),
        "G3": (pt @ pt.T, ps @ pt.T),
        "attn-ntk": (_kernels.first_layer_ntk(zt, zt), _kernels.first_layer_ntk(zs, zt)),
        "relu-ntk": (_kernels.first_layer_ntk(xt, xt), _kernels.first_layer_ntk(xs, xt)),
    }


def krr_errors(k_train, k_test, y_train, y_test, ridges) -> np.ndarray:
    """Unexplained energy `sum_x (yhat - y)^2 / sum_x y^2` per target column and relative ridge, float64.

    k_train (n, n), k_test (N, n), y_train (n, k), y_test (N, k); ridge `rho tr(K) / n`. One eigendecomposition
    serves every ridge and target. Returns (len(ridges), k).
    """
    e = _rs.eigen(k_train)
    out = np.empty((len(ridges), np.shape(y_train)[1]))
    for i, rho in enumerate(ridges):
        pred = _rs.predict(e, k_test, y_train, rho)
        out[i] = np.sum((pred - y_test) ** 2, axis=0) / np.sum(y_test**2, axis=0)
    return out


def krr_accuracy(k_train, k_test, y_train_onehot, y_test_idx, ridge: float) -> float:
    """Test accuracy (argmax) of kernel ridge regression on one-hot targets, ridge `rho tr(K)/n`."""
    reg = ridge * np.trace(k_train) / len(k_train)
    pred = _influence.krr_predict(k_test, k_train, y_train_onehot, reg)
    return float(np.mean(np.argmax(pred, axis=1) == y_test_idx))


def alignment(G, y) -> float:
    """Kernel-target alignment `y^T G y / (||G||_F ||y||^2)` in [0, 1] for PSD G (n, n), y (n,)."""
    return float(y @ G @ y / (np.linalg.norm(G) * (y @ y)))


def tuned_fit(e: _rs.Eigen, k_test, y_train, ranks=(None,), rhos=_rs.RHO_GRID, joint: bool = False
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Leave-one-out choice of (rank, rho) per target column (joint=True: one choice for all columns, by the summed
    LOO), and the predictions. Returns (pred (N, k), rho (k,), rank (k,), 0 for no truncation)."""
    k = np.shape(y_train)[1]
    best = np.full(k, np.inf)
    rho_at, rank_at = np.zeros(k), np.zeros(k, int)
    for r in ranks:
        loo = _rs.loo_mse(e, y_train, rhos, r)
        if joint:
            loo = np.repeat(loo.sum(axis=1, keepdims=True), k, axis=1)
        rho = _rs.select(loo, rhos)
        score = np.min(loo, axis=0)
        better = score < best
        best[better], rho_at[better], rank_at[better] = score[better], rho[better], 0 if r is None else r
    pred = np.empty((np.shape(k_test)[0], k))
    for rk in np.unique(rank_at):
        cols = rank_at == rk
        pred[:, cols] = _rs.predict(e, k_test, np.asarray(y_train)[:, cols], rho_at[cols], None if rk == 0 else int(rk))
    return pred, rho_at, rank_at


def _rows(base: dict, targets: list[tuple], pred, y_test, rho, rank) -> list[dict]:
    err = np.sum((pred - y_test) ** 2, axis=0)
    energy = np.sum(y_test**2, axis=0)
    out = []
    for i, (target, mode, extra) in enumerate(targets):
        out.append({**base, "target": target, "mode": int(mode), "ridge": float(rho[i]), "rank": int(rank[i]),
                    "error": float(err[i] / energy[i]), "mse": float(err[i] / len(y_test)),
                    "zero_mse": float(energy[i] / len(y_test)), **extra})
    return out


def power_unit(*, dataset: str, seed: int, n_ref: int, ns: list, n_test: int, modes: list, noises: list,
               ridges: list, data_dir: str | None = None) -> pd.DataFrame:
    """One (data set, seed) of the power experiment. Rows: n, kernel (`KERNELS` and `CONTROL`), noise (sigma),
    ridge_rule ("loo": chosen per target by leave-one-out; "fixed": each relative ridge of `ridges`, not for the
    control), target ("mode", "square", "random"; "labels" at noise 0 only), mode (j, 0 otherwise), ridge (rho
    used), rank (the control's; 0 otherwise), error, mse, zero_mse, accuracy (labels only), alignment (with the
    training G; mode and square targets), s_ratio (`s_j / s_1` of the reference sample).

    Sample: `train_test_split(dataset, n_ref + max(ns), n_test, seed)`; its first n_ref training rows are the
    reference, the next n (nested prefixes) the training set.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        split = sample_split(dataset, n_ref + max(ns), n_test, seed, data_dir)
        x_ref, pool, y_pool = split.x_train[:n_ref], split.x_train[n_ref:], split.y_train[n_ref:]
        both = np.concatenate([pool, split.x_test])
        y_lin, s = mode_targets(x_ref, modes, both)  # one SVD of the reference
        y_all = np.concatenate([y_lin, square_targets(x_ref, modes, both)], axis=1)
        n_classes = len(split.classes)
        rng = np.random.default_rng([seed, 5])
        rand_all = rng.choice([-1.0, 1.0], size=(len(both), 1))
        y_all = np.concatenate([y_all, rand_all], axis=1)
        y_pool, y_test = y_all[: len(pool)], y_all[len(pool):]
        z_pool = rng.standard_normal(y_pool.shape)
        targets = ([("mode", j, {"s_ratio": float(s[j - 1] / s[0])}) for j in modes]
                   + [("square", j, {"s_ratio": float(s[j - 1] / s[0])}) for j in modes]
                   + [("random", 0, {"s_ratio": np.nan})])
        lab_y = split.y_train[n_ref:]
        onehot_test = np.eye(n_classes)[split.y_test]
        rows = []
        for n in ns:
            onehot = np.eye(n_classes)[lab_y[:n]]
            centre = onehot.mean(axis=0)
            kern = power_kernels(pool[:n], split.x_test)
            g = kern["linear"][0]
            align = {t: (alignment(g, y_pool[:n, i]) if t[0] != "random" else np.nan)
                     for i, t in enumerate((tt[0], tt[1]) for tt in targets)}
            eig = {name: _rs.eigen(k_tr) for name, (k_tr, _) in kern.items()}
            kern[CONTROL], eig[CONTROL] = kern["linear"], eig["linear"]
            for name, (_, k_te) in kern.items():
                e = eig[name]
                ranks = [r for r in PCA_RANKS if r <= n] if name == CONTROL else [None]
                for sigma in noises:
                    y_tr = y_pool[:n] + sigma * z_pool[:n]
                    base = {"n": n, "kernel": name, "noise": float(sigma)}
                    tg = [(t, j, {**x, "alignment": align[(t, j)], "accuracy": np.nan}) for t, j, x in targets]
                    pred, rho, rank = tuned_fit(e, k_te, y_tr, ranks)
                    rows += _rows({**base, "ridge_rule": "loo"}, tg, pred, y_test, rho, rank)
                    if name != CONTROL:
                        for r in ridges:
                            pred = _rs.predict(e, k_te, y_tr, r)
                            rows += _rows({**base, "ridge_rule": "fixed"}, tg, pred, y_test,
                                          np.full(len(tg), r), np.zeros(len(tg), int))
                # the real labels (no added noise): one ridge for the ten columns
                lab_tr, lab_te = onehot - centre, onehot_test - centre
                lab_align = float(np.mean([alignment(g, c) for c in lab_tr.T if c @ c > 0]))
                fits = [("loo", *tuned_fit(e, k_te, lab_tr, ranks, joint=True))]
                if name != CONTROL:
                    fits += [("fixed", _rs.predict(e, k_te, lab_tr, r), np.full(n_classes, r),
                              np.zeros(n_classes, int)) for r in ridges]
                for rule, pred, rho, rank in fits:
                    err = float(np.sum((pred - lab_te) ** 2))
                    rows.append({"n": n, "kernel": name, "noise": 0.0, "ridge_rule": rule, "target": "labels",
                                 "mode": 0, "ridge": float(rho[0]), "rank": int(rank[0]),
                                 "error": err / float(np.sum(lab_te**2)), "mse": err / len(lab_te),
                                 "zero_mse": float(np.sum(lab_te**2)) / len(lab_te), "s_ratio": np.nan,
                                 "alignment": lab_align,
                                 "accuracy": float(np.mean(np.argmax(pred + centre, 1) == split.y_test))})
    frame = pd.DataFrame(rows)
    frame.insert(0, "seed", int(seed))
    frame.insert(0, "dataset", dataset)
    return frame
