"""Chapter 2: spectral amplification (Theorem 4.7) and the width it demands, measured.

Everything here returns tidy `pandas.DataFrame`s and works in float64 unless a function says otherwise.

- Real data: the spectrum of G = X X^T as a function of n, with and without unit rows (`gram_spectrum`,
  `kappa_vs_n`), and the n at which kappa(G) reaches a given value (`n_at_kappa`).
- Theorem 4.7 and its depth remark: kappa(G^p) measured from the matrix power against kappa(G)^p, in float64
  and float32 (`power_condition_table`, `depth_table`); the truncated attention kernel (`truncation_table`).
- Beyond the paper, the width law on synthetic data with a chosen kappa(G): the distance of the finite-width
  empirical NTK from its infinite-width limit as a function of the width m (`ntk_error_curve`, with the brute
  force `ntk_error_curve_bruteforce`), the smallest width that meets a tolerance (`first_width_below`), the
  sweep over kappa, architectures and seeds (`width_law_sweep`, `width_law_summary`) and log-log exponent fits
  with confidence intervals (`fit_power_law`, `width_law_fits`).
- The chapter's spec (`SpectralSpec`), its per-dataset runs on seeded subsets (`precision_tables`,
  `kappa_vs_n_tables`, `depth_tables`, `truncation_tables`, `real_kernel_tables`) and `results(spec)`, which runs
  them and the width-law sweep (`ntkbook.experiments.spectral_width`) through `ntkbook.runner.run` (the result cache,
  then the result store). Frames hold ids ("relu", "attn"): the words are `ntkbook.labels`', applied by the report. Numbers only: the wording, the numbers the prose quotes,
  the paper's values and the verdicts live in `ntkbook.report.spectral`.

Two error criteria for ||K_m - K_inf||_op, both reported:
- "op": relative to ||K_inf||_op (the kernel is close in the usual relative sense);
- "eig": relative to lambda_min(K_inf) (the perturbation is smaller than the smallest eigenvalue, the
  requirement behind the paper's kappa^6: by Weyl's inequality it keeps every eigenvalue of K_m within that
  fraction of lambda_min(K_inf), so K_m stays positive definite with kappa(K_m) <= (1+t)/(1-t) kappa(K_inf)).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ntkbook import data as _data
from ntkbook import kernels as _kernels
from ntkbook.experiments.spectral_kappa import gram_spectrum, kappa_vs_n, n_at_kappa, spectrum_summary
from ntkbook.experiments.spectral_width import (
    feature_matrix,
    first_width_below,
    kernel_conditions,
    ntk_error_curve_bruteforce,
    width_law_fits,
    width_law_summary,
    width_law_sweep,
)
from ntkbook.kernel_limits import as_rows as _rows
from ntkbook.kernel_limits import ntk_error_curve
from ntkbook.result_tables import ResultTables
from ntkbook.specs.spectral import SpectralSpec
from ntkbook.stats import fit_power_law

__all__ = [
    "SpectralSpec",
    "RESULT_PARTS",
    "results",
    "part_unit",
    "units",
    "load_pools",
    "seeded_subset",
    "precision_tables",
    "kappa_vs_n_tables",
    "kappa_medians",
    "normalisation_ratio",
    "depth_tables",
    "truncation_tables",
    "real_kernel_tables",
    "width_constant",
    "fit_row",
    "gram_spectrum",
    "spectrum_summary",
    "kappa_vs_n",
    "n_at_kappa",
    "power_condition_table",
    "depth_table",
    "truncation_table",
    "feature_matrix",
    "kernel_conditions",
    "ntk_error_curve",
    "ntk_error_curve_bruteforce",
    "first_width_below",
    "width_law_sweep",
    "width_law_summary",
    "fit_power_law",
    "width_law_fits",
]

_EPS64 = np.finfo(np.float64).eps


# ---------------------------------------------------------------------------------------------------------
# Theorem 4.7, depth and precision
# ---------------------------------------------------------------------------------------------------------


def _kappa_in(K: np.ndarray, dtype) -> float:
    """lambda_max / lambda_min of symmetric K by eigvalsh in `dtype`; inf when lambda_min <= 0 there."""
    lam = np.linalg.eigvalsh(np.asarray(K, dtype=dtype))
    if lam[0] <= 0:
        return float("inf")
    return float(lam[-1]) / float(lam[0])


def power_condition_table(G, powers: Sequence[int], *, dtypes: Sequence[str] = ("float64",)) -> pd.DataFrame:
    """kappa(G^p) measured on the matrix power against the prediction kappa(G)^p (Theorem 4.7 for p = 3).

    G: (n, n) symmetric positive definite. For each dtype in `dtypes` ("float64", "float32") and p in `powers`,
    G is cast to that dtype, raised to the p-th power by repeated products in that dtype, and its condition
    number is read from eigvalsh in that dtype ("measured"; inf when the computed lambda_min <= 0, i.e. the
    matrix is not even positive definite at that precision). "predicted" is kappa(G)^p with kappa(G) from
    float64. "resolvable" says whether predicted * n * eps(dtype) < 1, i.e. whether lambda_min(G^p) is above
    the rounding noise of that precision. rel_error = |measured / predicted - 1|.
    Columns: dtype, p, kappa_G, predicted, measured, rel_error, resolvable.
    """
    G = _rows(G, "G")
    n = G.shape[0]
    if G.shape != (n, n) or not np.allclose(G, G.T, rtol=0, atol=1e-12 * np.abs(G).max()):
        raise ValueError(f"G must be a symmetric (n, n) matrix, got shape {G.shape}; pass a Gram matrix X X^T")
    G = 0.5 * (G + G.T)
    kappa_G = _kernels.condition_number(G, rtol=0)
    rows = []
    for name in dtypes:
        if name not in ("float64", "float32"):
            raise ValueError(f"dtypes must be 'float64' or 'float32', got {name!r}")
        dt = np.dtype(name)
        Gd = G.astype(dt)
        for p in powers:
            p = int(p)
            if p < 1:
                raise ValueError(f"powers must be positive integers, got {p}")
            Gp = Gd.copy()
            for _ in range(p - 1):
                Gp = Gp @ Gd
            Gp = 0.5 * (Gp + Gp.T)
            measured = _kappa_in(Gp, dt)
            predicted = kappa_G**p
            rows.append({
                "dtype": name, "p": p, "kappa_G": kappa_G, "predicted": predicted, "measured": measured,
                "rel_error": abs(measured / predicted - 1.0) if np.isfinite(measured) else float("inf"),
                "resolvable": bool(predicted * n * np.finfo(dt).eps < 1.0),
            })
    return pd.DataFrame(rows)


def depth_table(G, depths: Sequence[int], *, dtype: str = "float64") -> pd.DataFrame:
    """k stacked linearized-attention layers: kernel G^(2k+1), condition number kappa(G)^(2k+1).

    The linear kernel of k stacked parameter-free attention layers X -> G X -> G^2 X ... -> G^k X is
    (G^k X)(G^k X)^T = G^(2k+1). G: (n, n); depths: k = 0, 1, 2, ... Returns `power_condition_table` rows
    (p = 2k + 1) with a column k.
    """
    ks = [int(k) for k in depths]
    if any(k < 0 for k in ks):
        raise ValueError(f"depths must be >= 0, got {ks}")
    table = power_condition_table(G, [2 * k + 1 for k in ks], dtypes=(dtype,))
    table.insert(0, "k", ks)
    return table


def truncation_table(x, ranks: Sequence[int], *, normalise: bool = True, measure: bool = True) -> pd.DataFrame:
    """Truncated (rank-r) linearized attention: how much of the amplification survives.

    x: (n, d), unit rows if normalise. G = X X^T = U diag(lambda) U^T; the rank-r attention uses
    G_r = U_r diag(lambda_1..r) U_r^T in place of G, so Phi_r = G_r X and its linear kernel
    K_r = Phi_r Phi_r^T = G_r G G_r = U_r diag(lambda^3) U_r^T has condition number (on its rank r)
    kappa(K_r) = (lambda_1 / lambda_r)^3 = kappa(G_r)^3, and the v1 width requirement kappa(G_r)^6.
    measure=True also builds K_r as a matrix and reads lambda_1 / lambda_r of it (float64 eigvalsh): the check of
    the formula (meaningful where `resolvable`: kappa(G_r)^3 n eps64 < 1). Columns: r, kappa_G_r,
    kappa_kernel_predicted, width_v1 (eps = 1), resolvable, kappa_kernel_measured.
    """
    x = _rows(x)
    if normalise:
        x = _data.unit_rows(x)
    n = x.shape[0]
    rmax = min(n, x.shape[1])
    G = _kernels.gram(x)
    lam, U = np.linalg.eigh(G)
    lam, U = lam[::-1], U[:, ::-1]
    rows = []
    for r in ranks:
        r = int(r)
        if not 1 <= r <= rmax:
            raise ValueError(f"ranks must be between 1 and min(n, d) = {rmax}, got {r}")
        if lam[r - 1] <= n * _EPS64 * lam[0]:
            raise ValueError(f"lambda_{r} of G is at the float64 noise floor; choose r <= the numerical rank "
                             f"({int(np.sum(lam > n * _EPS64 * lam[0]))})")
        kappa_r = float(lam[0] / lam[r - 1])
        row = {"r": r, "kappa_G_r": kappa_r, "kappa_kernel_predicted": kappa_r**3,
               "width_v1": _kernels.width_threshold_v1(kappa_r, 1.0),
               "resolvable": bool(kappa_r**3 * n * _EPS64 < 1.0)}
        if measure:
            Gr = (U[:, :r] * lam[:r]) @ U[:, :r].T
            phi = Gr @ x
            mu = _kernels.eigenvalues(phi @ phi.T)
            row["kappa_kernel_measured"] = float(mu[0] / mu[r - 1])
        rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------------------
# The chapter: its spec, per-dataset runs and the cached results
# ---------------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=2)
def load_pools(datasets: tuple, split: str) -> dict:
    """{name: the `split` images of `name`, flattened to (N, d) float64 in [0, 1]} (memoised)."""
    return {name: _data.flatten(_data.load(name, split).images).astype(np.float64) for name in datasets}


#: part -> the knobs it depends on.
RESULT_PARTS = {
    "precision": ("datasets", "split", "n_precision"),
    "kappa_n": ("datasets", "split", "ns_small", "seeds_small", "ns_large", "ns_raw"),
    "depth": ("datasets", "split", "n_depth", "depths"),
    "truncation": ("datasets", "split", "n_trunc", "ranks"),
    "real_kernels": ("datasets", "split", "n_real_ntk"),
    "width_curves": ("width_n", "width_d", "width_kappas", "width_seeds", "max_width_log2", "data_seed"),
}


def part_unit(part: str, **knobs) -> pd.DataFrame:
    """One result table of the chapter (a sweep unit): `part` of `RESULT_PARTS` computed from its knobs.

    The image parts read the pools `load_pools(datasets, split)`; width_curves is the synthetic sweep
    `width_law_sweep` over the widths 4 ... 2**max_width_log2. See `results` for the tables."""
    if part not in RESULT_PARTS:
        raise ValueError(f"unknown result part {part!r}; choose from {list(RESULT_PARTS)}")
    missing = sorted(set(RESULT_PARTS[part]) - set(knobs))
    if missing:
        raise ValueError(f"part {part!r} needs the knobs {missing}")
    k = knobs
    if part == "width_curves":
        widths = [2**e for e in range(2, int(k["max_width_log2"]) + 1)]
        return width_law_sweep(n=k["width_n"], d=k["width_d"], kappas=k["width_kappas"], seeds=k["width_seeds"],
                               widths=widths, data_seed=k["data_seed"])
    pools = load_pools(tuple(k["datasets"]), k["split"])
    if part == "precision":
        return precision_tables(pools, k["n_precision"])
    if part == "kappa_n":
        return kappa_vs_n_tables(pools, ns_small=k["ns_small"], seeds_small=k["seeds_small"], ns_large=k["ns_large"],
                                 ns_raw=k["ns_raw"])
    if part == "depth":
        return depth_tables(pools, k["n_depth"], k["depths"])
    if part == "truncation":
        return truncation_tables(pools, k["n_trunc"], k["ranks"])
    return real_kernel_tables(pools, k["n_real_ntk"])


def units(spec: SpectralSpec, parts=None) -> list:
    """The chapter's sweep units (`ntkbook.runner.Unit`), one per result part: kind "spectral-<part>", params
    {part and the part's knobs} (JSON-plain), fn `part_unit`."""
    from ntkbook.runner import Unit

    parts = list(RESULT_PARTS) if parts is None else list(parts)
    unknown = sorted(set(parts) - set(RESULT_PARTS))
    if unknown:
        raise ValueError(f"unknown result parts {unknown}; choose from {list(RESULT_PARTS)}")

    def plain(v):
        return list(v) if isinstance(v, tuple) else v

    def reads(part):  # the image parts read the pools; width_curves is synthetic
        return tuple((name, spec.split) for name in spec.datasets) if "datasets" in RESULT_PARTS[part] else ()

    return [Unit(f"spectral-{part}", {"part": part, **{k: plain(getattr(spec, k)) for k in RESULT_PARTS[part]}},
                 part_unit, reads=reads(part)) for part in parts]


def results(spec: SpectralSpec, parts=None, *, scheduler: str | None = None, cache_dir=None,
            refresh: bool = False) -> ResultTables:
    """The chapter's result tables, each read from the result cache or the result store, or computed (on
    `scheduler`, `ntkbook.runner.run`) and stored in the cache.

    spec: a resolved `SpectralSpec`; parts: names of `RESULT_PARTS` (default all). Returns {part: DataFrame}:
    precision (`precision_tables`), kappa_n (`kappa_vs_n_tables`), depth (`depth_tables`), truncation
    (`truncation_tables`), real_kernels (`real_kernel_tables`), width_curves (`width_law_sweep`). The summary and
    fits of the width law are cheap and derived from width_curves (`width_law_summary`, `width_law_fits`).
    Images are loaded only when some part is not cached. The cache entries are those of `units(spec)`, so a sweep
    run elsewhere (`ntkbook.runner`) fills what the chapter reads.
    """
    from ntkbook import runner

    todo = units(spec, parts)
    runner.run(todo, scheduler=scheduler, cache_dir=cache_dir, refresh=refresh, desc="spectral")
    return ResultTables({u.params["part"]: runner.read_only([u], cache_dir=cache_dir) for u in todo})


def seeded_subset(x, n: int, seed: int = 0) -> np.ndarray:
    """The first n rows of x (N, d) in the order of `np.random.default_rng(seed).permutation(N)`: (n, d).

    Subsets of one seed are nested (the n-subset is the start of the n'-subset for n < n').
    """
    x = np.asarray(x)
    if not 1 <= n <= x.shape[0]:
        raise ValueError(f"n must be between 1 and the pool size {x.shape[0]}, got {n}")
    return x[np.random.default_rng(seed).permutation(x.shape[0])[:n]]


def precision_tables(pools: dict, n: int, *, seed: int = 0) -> pd.DataFrame:
    """Theorem 4.7 in float64 and float32 on a seeded subset of n unit rows of each pool (name -> (N, d)).

    One `power_condition_table(G, [1, 3], dtypes=("float64", "float32"))` per data set, concatenated.
    Columns: dataset, dtype, p, kappa_G, predicted, measured, rel_error, resolvable.
    """
    out = []
    for name, pool in pools.items():
        G = _kernels.gram(_data.unit_rows(seeded_subset(pool, n, seed)))
        out.append(power_condition_table(G, [1, 3], dtypes=("float64", "float32")).assign(dataset=name))
    return pd.concat(out, ignore_index=True)[["dataset", "dtype", "p", "kappa_G", "predicted", "measured",
                                              "rel_error", "resolvable"]]


def kappa_vs_n_tables(pools: dict, *, ns_small, seeds_small, ns_large, ns_raw) -> pd.DataFrame:
    """`kappa_vs_n` for each pool (name -> (N, d)): unit rows at ns_small x seeds_small, unit rows at the ns_large
    that fit in the pool (seed 0), raw pixels at ns_raw (seed 0), concatenated (columns of `kappa_vs_n`)."""
    tables = []
    for name, x in pools.items():
        tables.append(kappa_vs_n(x, ns_small, normalise=(True,), seeds=seeds_small, dataset=name))
        tables.append(kappa_vs_n(x, [n for n in ns_large if n <= len(x)], normalise=(True,), seeds=(0,),
                                 dataset=name))
        tables.append(kappa_vs_n(x, ns_raw, normalise=(False,), seeds=(0,), dataset=name))
    return pd.concat(tables, ignore_index=True)


def kappa_medians(kappa_n: pd.DataFrame) -> pd.DataFrame:
    """Median over seeds of the unit-row rows of `kappa_vs_n_tables`, per (dataset, n).

    Columns: dataset, n, kappa, kappa_d, numerical_rank, kappa_numerical."""
    cols = ["kappa", "kappa_d", "numerical_rank", "kappa_numerical"]
    return kappa_n[kappa_n.normalised].groupby(["dataset", "n"])[cols].median().reset_index()


def normalisation_ratio(kappa_n: pd.DataFrame) -> tuple[float, float]:
    """(min, max) over (dataset, n) of kappa_d(raw pixels) / kappa_d(unit rows, seed 0), finite ratios only."""
    raw = kappa_n[~kappa_n.normalised].groupby(["dataset", "n"]).kappa_d.median()
    unit = kappa_n[kappa_n.normalised & (kappa_n.seed == 0)].groupby(["dataset", "n"]).kappa_d.median()
    ratio = (raw / unit).dropna()
    ratio = ratio[np.isfinite(ratio)]
    if ratio.empty:
        raise ValueError("no (dataset, n) has both a raw and a unit-row finite kappa_d: add ns_raw that are also "
                         "in ns_small or ns_large")
    return float(ratio.min()), float(ratio.max())


def depth_tables(pools: dict, n: int, depths: Sequence[int], *, seed: int = 0) -> pd.DataFrame:
    """`depth_table` on a seeded subset of n unit rows of each pool, concatenated.

    Columns: dataset, k, p, kappa_G, predicted, measured, rel_error, resolvable, n."""
    out = []
    for name, pool in pools.items():
        G = _kernels.gram(_data.unit_rows(seeded_subset(pool, n, seed)))
        out.append(depth_table(G, depths).assign(dataset=name, n=n))
    return pd.concat(out, ignore_index=True)


def truncation_tables(pools: dict, n: int, ranks: Sequence[int], *, seed: int = 0) -> pd.DataFrame:
    """`truncation_table` on a seeded subset of n rows of each pool, concatenated (plus a dataset column)."""
    out = [truncation_table(seeded_subset(pool, n, seed), ranks).assign(dataset=name) for name, pool in pools.items()]
    return pd.concat(out, ignore_index=True)


def fit_row(fits: pd.DataFrame, arch: str, y: str, x: str = "kappa_G") -> pd.Series:
    """The row of `width_law_fits` for (arch, y, x) (arch: "relu" or "attn"); ValueError if it is missing."""
    sel = fits[(fits.arch == arch) & (fits.y == y) & (fits.x == x)]
    if sel.empty:
        raise ValueError(f"no fit of {y} against {x} for {arch} in the table")
    return sel.iloc[0]


def real_kernel_tables(pools: dict, n: int, *, seed: int = 0) -> pd.DataFrame:
    """`kernel_conditions` on a seeded subset of n rows of each pool, concatenated (plus a dataset column)."""
    out = [kernel_conditions(seeded_subset(pool, n, seed)).assign(dataset=name) for name, pool in pools.items()]
    return pd.concat(out, ignore_index=True)


def width_constant(summary: pd.DataFrame) -> float:
    """c = median of m*_eig / kappa(K_inf)^2 over the uncensored rows of `width_law_summary` (the constant of
    the measured law m*_eig ~ c kappa(K_inf)^2). ValueError if every m*_eig is censored."""
    unc = summary[~summary.censored_eig]
    if unc.empty:
        raise ValueError("every m*_eig is censored (beyond the largest width): raise max_width_log2")
    return float(np.median(unc.m_star_eig / unc.kappa_K_inf**2))
