"""Chapter 1's Proposition 4.5: the sensitivity of the Gram-induced kernel to a moved point, and its growth with n.

Part of the chapter's compute (`ntkbook.experiments.gram_kernel` re-exports every name): plain numbers and tidy
frames keyed by ids, numpy float64. The bound is read two ways: the printed ||G x_j||_1 as column j of G,
||G e_j||_1 (`literal_sensitivity_bound`), and the first-order ||G X x_j||_1 (`ntkbook.kernels.sensitivity_bound`);
each is compared with the first-order change of K = G^3 over random and adversarial unit perturbations, with the
data fixed and with the moved point part of the data (transductive).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ntkbook.kernels import (
    _g_times_col,
    _matrix,
    gram_kernel_gradient,
    gram_kernel_transductive_gradient,
    sensitivity_bound,
)
from ntkbook.stats import loglog_fit

__all__ = [
    "literal_sensitivity_bound",
    "sensitivity_table",
    "sensitivity_frame",
    "sensitivity_summary",
    "sensitivity_by_dataset",
    "sensitivity_max_ratios",
    "sensitivity_growth_table",
    "growth_frame",
    "growth_slopes",
    "growth_target_slopes",
    "growth_at_max",
]


def _slope(x, y) -> float:
    """The slope of `ntkbook.stats.loglog_fit(x, y)` (log10 y against log10 x)."""
    return loglog_fit(x, y)[0]


# ----------------------------------------------------------------------------------------------------------
# Proposition 4.5: sensitivity
# ----------------------------------------------------------------------------------------------------------


def _unit_directions(rng: np.random.Generator, count: int, d: int) -> np.ndarray:
    z = rng.normal(size=(count, d))
    return z / np.linalg.norm(z, axis=1, keepdims=True)


def literal_sensitivity_bound(X, j: int, eps: float = 1.0) -> float:
    """Proposition 4.5's bound as printed, ||G x_j||_1 eps, with x_j read as column j of G: ||G e_j||_1 eps.

    G e_j = X x_j holds the similarities of x_j with every point of the data, so the bound is
    eps sum_k |x_k . x_j|. This is the only reading under which the printed product type-checks (G is n x n, x_j
    a d-vector). X: (n, d) unit rows; j: a row index. Returns a float.
    """
    X = _matrix(X, "X")
    if not 0 <= int(j) < len(X):
        raise ValueError(f"j must index a row of X (0..{len(X) - 1}), got {j}")
    return float(np.abs(X @ X[int(j)]).sum() * eps)


def sensitivity_table(X, targets, *, n_random: int = 100, seed: int = 0) -> pd.DataFrame:
    """Proposition 4.5 checked for each target j: |dK(x_i, x_j)| against both readings of the bound, eps = 1.

    X: (n, d) unit rows; targets: indices j into X; for each j the moved point is a different training row
    i (drawn with `seed`). Perturbations, all with ||delta||_2 = 1 (ratios do not depend on eps, the changes being
    linear in delta): `random` (n_random Gaussian directions), and for each reading its adversarial pair: `sign`
    (sign of the gradient / sqrt(d), the l_inf-style attack) and `gradient` (the gradient direction, the l2
    worst case, which attains the supremum of the first-order change). Readings of the change: `data fixed`
    (K(x, x_j) as a function of x, the paper's) and `transductive` (x_i moves inside X, so G moves too:
    `kernels.gram_kernel_transductive_gradient`). Bounds: `bound` = ||G X x_j||_1 (`kernels.sensitivity_bound`,
    the first-order reading) and `bound_literal` = ||G e_j||_1 (`literal_sensitivity_bound`, the printed one).
    Columns: j, i, reading, delta, change, bound, ratio (= |change| / bound), bound_literal, ratio_literal.
    """
    X = _matrix(X, "X")
    n, d = X.shape
    rng = np.random.default_rng(seed)
    rows = []
    for j in np.asarray(targets, dtype=int).ravel():
        i = int((j + 1 + rng.integers(n - 1)) % n)  # any row but j
        bound = sensitivity_bound(X, X[j], eps=1.0)
        literal = literal_sensitivity_bound(X, int(j))
        randoms = _unit_directions(rng, n_random, d)
        for reading, grad in (("data fixed", gram_kernel_gradient(X, X[j])),
                              ("transductive", gram_kernel_transductive_gradient(X, i, int(j)))):
            deltas = {"random": randoms, "sign": (np.sign(grad) / math.sqrt(d))[None],
                      "gradient": (grad / np.linalg.norm(grad))[None]}
            for kind, ds in deltas.items():
                for change in ds @ grad:
                    rows.append({"j": int(j), "i": i, "reading": reading, "delta": kind,
                                 "change": float(change), "bound": bound, "ratio": abs(float(change)) / bound,
                                 "bound_literal": literal, "ratio_literal": abs(float(change)) / literal})
    return pd.DataFrame(rows)


def sensitivity_frame(Xs: dict, n: int, n_targets: int, *, n_random: int, seed: int) -> pd.DataFrame:
    """`sensitivity_table` of the first n rows of each data set with targets 0..n_targets-1, stacked.

    Columns: j, i, reading, delta, change, bound, ratio, dataset; 2 * n_targets * (n_random + 2) rows per data set.
    """
    return pd.concat([sensitivity_table(X[:n], np.arange(n_targets), n_random=n_random, seed=seed)
                      .assign(dataset=name) for name, X in Xs.items()], ignore_index=True)


def sensitivity_summary(sens: pd.DataFrame) -> dict:
    """Largest ratios over a `sensitivity_frame`: {"fixed_max" (data fixed, bound ||G X x_j||_1), "trans_max"
    (transductive, same bound), "literal_max" (data fixed, the printed bound ||G e_j||_1), "n_deltas" (rows)}."""
    fixed = sens[sens.reading == "data fixed"]
    return {"fixed_max": float(fixed.ratio.max()),
            "trans_max": float(sens[sens.reading == "transductive"].ratio.max()),
            "literal_max": float(fixed.ratio_literal.max()),
            "n_deltas": len(sens)}


def sensitivity_by_dataset(sens: pd.DataFrame) -> pd.DataFrame:
    """Per data set of a `sensitivity_frame`, the largest ratio of the data-fixed change to each bound, and
    of the transductive change to ||G X x_j||_1. Columns: dataset, n, max_ratio_corrected, max_ratio_literal,
    max_ratio_transductive, n_deltas (in order of appearance)."""
    rows = []
    for name, g in sens.groupby("dataset", sort=False):
        fixed = g[g.reading == "data fixed"]
        rows.append({"dataset": name, "max_ratio_corrected": float(fixed.ratio.max()),
                     "max_ratio_literal": float(fixed.ratio_literal.max()),
                     "max_ratio_transductive": float(g[g.reading == "transductive"].ratio.max()),
                     "n_deltas": int(len(g))})
    return pd.DataFrame(rows)


def sensitivity_max_ratios(sens: pd.DataFrame) -> pd.DataFrame:
    """Largest ratio per (dataset, reading) and perturbation kind; columns "max ratio, random|sign|gradient"."""
    return (sens.pivot_table(index=["dataset", "reading"], columns="delta", values="ratio", aggfunc="max")
            [["random", "sign", "gradient"]].add_prefix("max ratio, "))


# ----------------------------------------------------------------------------------------------------------
# Proposition 4.5: growth with n
# ----------------------------------------------------------------------------------------------------------


def sensitivity_growth_table(X, ns, *, n_targets: int = 10, degree: int = 3, seed: int = 0) -> pd.DataFrame:
    """How the sensitivity of K = G^3 grows with the data-set size n, beside a polynomial kernel's (eps = 1).

    X: (N, d) unit rows; ns: sizes <= N (the first n rows of a seeded permutation, nested). For n_targets rows j
    of each subset: `g3_bound` = ||G X x_j||_1 (Proposition 4.5), `g3_worst` = ||X^T G X x_j||_2 (the largest
    first-order change over ||delta||_2 = 1), and for the polynomial kernel (x . x_j)^p over the other points x of
    the subset `poly_bound_max` = max_i p |x_i . x_j|^(p-1) (attained by delta = x_j, so also the worst change) and
    `poly_bound_mean`. Columns: n, j, g3_bound, g3_worst, poly_bound_max, poly_bound_mean. O(n d) per row.
    """
    X = _matrix(X, "X")
    N = X.shape[0]
    ns = sorted({int(v) for v in np.asarray(ns).ravel()})
    if ns[0] < 2 or ns[-1] > N:
        raise ValueError(f"every n must be between 2 and the {N} rows of X, got {ns}")
    if n_targets > ns[0]:
        raise ValueError(f"n_targets = {n_targets} exceeds the smallest n = {ns[0]}")
    rng = np.random.default_rng(seed)
    perm = rng.permutation(N)
    targets = perm[:n_targets]
    rows = []
    for n in ns:
        Xn = X[perm[:n]]
        for t, j in enumerate(targets):
            w = _g_times_col(Xn, Xn @ X[j])
            poly = degree * np.abs(np.delete(Xn @ X[j], t)) ** (degree - 1)
            rows.append({"n": n, "j": int(j), "g3_bound": float(np.abs(w).sum()),
                         "g3_worst": float(np.linalg.norm(Xn.T @ w)),
                         "poly_bound_max": float(poly.max()), "poly_bound_mean": float(poly.mean())})
    return pd.DataFrame(rows)


def growth_frame(Xs: dict, ns, *, n_targets: int, degree: int, seed: int) -> pd.DataFrame:
    """`sensitivity_growth_table` of each whole data set, stacked; columns as there plus dataset."""
    return pd.concat([sensitivity_growth_table(X, ns, n_targets=n_targets, degree=degree, seed=seed)
                      .assign(dataset=name) for name, X in Xs.items()], ignore_index=True)


_GROWTH_COLUMNS = (("bound", "g3_bound"), ("worst", "g3_worst"), ("poly", "poly_bound_max"))


def _growth_means(growth: pd.DataFrame) -> pd.DataFrame:
    return growth.groupby(["dataset", "n"])[["g3_bound", "g3_worst", "poly_bound_max"]].mean()


def growth_slopes(growth: pd.DataFrame) -> pd.DataFrame:
    """Log-log slope against n of the target-mean g3_bound, g3_worst and poly_bound_max, per data set.

    growth: `growth_frame` output. Returns a frame indexed by dataset (in order of appearance), columns bound,
    worst, poly. Theory: ~2 for the G^3 columns on correlated data, ~0 for the polynomial kernel.
    """
    means = _growth_means(growth)
    return pd.DataFrame({name: {short: _slope(means.loc[name].index, means.loc[name][col])
                                for short, col in _GROWTH_COLUMNS}
                         for name in growth.dataset.unique()}).T.rename_axis("dataset")


def growth_target_slopes(growth: pd.DataFrame) -> pd.DataFrame:
    """Log-log slope against n of g3_bound, g3_worst and poly_bound_max for each target j separately, so that the
    spread over targets gives the slopes' uncertainty. growth: `growth_frame` output. Columns: dataset, j, bound,
    worst, poly (one row per (dataset, j), in order of appearance)."""
    rows = []
    for (name, j), g in growth.groupby(["dataset", "j"], sort=False):
        g = g.sort_values("n")
        rows.append({"dataset": name, "j": int(j),
                     **{short: _slope(g.n, g[col]) for short, col in _GROWTH_COLUMNS}})
    return pd.DataFrame(rows)


def growth_at_max(growth: pd.DataFrame) -> pd.DataFrame:
    """Target-mean g3_bound and poly_bound_max at the largest n, indexed by dataset (in order of appearance)."""
    means = _growth_means(growth)
    return pd.DataFrame({name: {"g3_bound": float(means.loc[name].g3_bound.iloc[-1]),
                                "poly_bound_max": float(means.loc[name].poly_bound_max.iloc[-1])}
                         for name in growth.dataset.unique()}).T.rename_axis("dataset")
