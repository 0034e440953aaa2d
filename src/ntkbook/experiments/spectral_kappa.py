"""Chapter 2's spectra of real data: the spectrum of G = X X^T as a function of n, with and without unit rows
(`gram_spectrum`, `kappa_vs_n`), and the n at which kappa(G) reaches a given value (`n_at_kappa`).

Part of the chapter's compute (`ntkbook.experiments.spectral` re-exports every name): tidy frames, float64.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ntkbook import data as _data
from ntkbook.kernel_limits import as_rows as _rows

__all__ = ["gram_spectrum", "spectrum_summary", "kappa_vs_n", "n_at_kappa"]

_EPS64 = np.finfo(np.float64).eps


def gram_spectrum(x, *, normalise: bool = True) -> np.ndarray:
    """The top r = min(n, d) eigenvalues of G = X X^T, largest first, float64.

    x: (n, d) -> (r,). normalise=True applies `ntkbook.data.unit_rows` first (the paper's inputs).
    Fast path: the non-zero eigenvalues of X X^T (n, n) and X^T X (d, d) coincide, so the smaller of the two is
    diagonalised (eigvalsh). Cost O(n d min(n, d) + min(n, d)^3) instead of O(n^3); checked against
    `ntkbook.kernels.eigenvalues(gram(x))` in the tests.
    """
    x = _rows(x)
    if normalise:
        x = _data.unit_rows(x)
    n, d = x.shape
    small = x @ x.T if n <= d else x.T @ x
    return np.linalg.eigvalsh(small)[::-1]


def spectrum_summary(lam, n: int, d: int) -> dict:
    """Condition numbers read off the top-min(n, d) eigenvalues `lam` (largest first) of an (n, n) Gram matrix.

    Returns a dict with
    - kappa: lambda_1 / lambda_n, the plain condition number (inf when n > d, where G is singular, or when
      lambda_n is below the float64 noise floor rtol * lambda_1, rtol = n eps, as in `kernels.condition_number`);
    - kappa_d: lambda_1 / lambda_r, r = min(n, d), the effective condition number of the rank-r truncation
      (inf when lambda_r is below the noise floor: data whose rank is below d, e.g. always-black pixels);
    - numerical_rank: how many eigenvalues exceed the noise floor; kappa_numerical: lambda_1 over the smallest
      of those (finite by construction: the condition number over the part of G float64 can see);
    - lambda_1, lambda_r.
    """
    lam = np.asarray(lam, dtype=np.float64)
    r = min(int(n), int(d))
    if lam.ndim != 1 or lam.size != r:
        raise ValueError(f"lam must hold the top min(n, d) = {r} eigenvalues, got shape {lam.shape}")
    if lam[0] <= 0:
        raise ValueError(f"the largest eigenvalue is {lam[0]:.3g} <= 0; not a Gram matrix of non-zero data")
    floor = int(n) * _EPS64 * lam[0]
    visible = lam > floor
    rank = int(visible.sum())
    kappa_d = float(lam[0] / lam[r - 1]) if lam[r - 1] > floor else np.inf
    kappa = kappa_d if int(n) <= int(d) else np.inf
    return {
        "kappa": kappa,
        "kappa_d": kappa_d,
        "numerical_rank": rank,
        "kappa_numerical": float(lam[0] / lam[rank - 1]),
        "lambda_1": float(lam[0]),
        "lambda_r": float(lam[r - 1]),
    }


def kappa_vs_n(
    x,
    ns: Sequence[int],
    *,
    normalise: Sequence[bool] = (True, False),
    seeds: Sequence[int] = (0,),
    dataset: str = "",
    progress_bar: bool = True,
) -> pd.DataFrame:
    """kappa(G), kappa_d(G) and the numerical rank of random n-subsets of the rows of x, for each n.

    x: (N, d) pool of flattened examples. For each seed, one random permutation of the pool is drawn
    (numpy default_rng(seed)) and the first n rows are used, so the subsets are nested in n.
    Returns one row per (normalised, seed, n) with the columns of `spectrum_summary` and dataset, n, d,
    normalised, seed.
    """
    from ntkbook.progress import progress

    x = _rows(x)
    N, d = x.shape
    ns = [int(n) for n in ns]
    if not ns or min(ns) < 2 or max(ns) > N:
        raise ValueError(f"every n must be between 2 and the pool size {N}, got {ns}")
    rows = []
    jobs = [(norm, seed, n) for norm in normalise for seed in seeds for n in ns]
    for norm, seed, n in progress(jobs, desc=f"kappa vs n {dataset}", **({} if progress_bar else {"disable": True})):
        perm = np.random.default_rng(seed).permutation(N)
        lam = gram_spectrum(x[perm[:n]], normalise=norm)
        rows.append({"dataset": dataset, "normalised": bool(norm), "seed": int(seed), "n": n, "d": d,
                     **spectrum_summary(lam, n, d)})
    return pd.DataFrame(rows)


def n_at_kappa(ns, kappas, target: float) -> float:
    """The n at which kappa(n) first reaches `target`, by linear interpolation of log kappa in log n.

    ns: (k,) increasing; kappas: (k,) finite or inf. Returns nan when kappa never reaches the target within
    the grid, and ns[0] when it is already above at the smallest n (the value is then only an upper bound).
    """
    ns = np.asarray(ns, dtype=np.float64)
    kap = np.asarray(kappas, dtype=np.float64)
    if ns.shape != kap.shape or ns.ndim != 1 or ns.size < 1:
        raise ValueError(f"ns and kappas must be 1-D of the same length, got {ns.shape} and {kap.shape}")
    if np.any(np.diff(ns) <= 0):
        raise ValueError("ns must be strictly increasing")
    if not target > 0:
        raise ValueError(f"target must be > 0, got {target}")
    above = np.flatnonzero(kap >= target)
    if above.size == 0:
        return float("nan")
    i = int(above[0])
    if i == 0:
        return float(ns[0])
    k0, k1 = kap[i - 1], kap[i]
    if not np.isfinite(k1):
        return float(ns[i])
    t = (np.log(target) - np.log(k0)) / (np.log(k1) - np.log(k0))
    return float(np.exp(np.log(ns[i - 1]) + t * (np.log(ns[i]) - np.log(ns[i - 1]))))
