"""Chapter 1 (the Gram-induced kernel): its spec, per-dataset computations and the cached results.

Every function returns plain numbers or a tidy `pandas.DataFrame` and never words, verdicts or paper numbers (those
live in `ntkbook.report.gram_kernel` and `ntkbook.paper`). Data are dicts {dataset name: X (n, d) float64 with unit
rows}; every experiment uses a prefix of each X (the loader's sample is shuffled, so a prefix is a random subset).
All arithmetic is numpy float64, or JAX inside `jax.enable_x64(True)`.

Computations: the softmax -> linearized attention expansion (error O(1/T)), Theorem 4.1 (K = (GX)(GX)^T = G^3),
Theorem 4.2 (first-layer NTK = arc-cosine-0 kernel times <x~, x~'>, neural-tangents against the closed form),
Proposition 4.5 under both readings of its bound (the printed ||G x_j||_1 read as column j of G, ||G e_j||_1, and
the first-order ||G X x_j||_1, in `ntkbook.experiments.gram_sensitivity`) and the growth of the bound with n.
`results(spec)` runs them all through `ntkbook.runner.run` (the result cache, then the result store), so the
chapter and the claims page share one computation. Frames hold ids ("relu", "attn"); their words are the report's.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from ntkbook import kernels
from ntkbook.experiments.gram_sensitivity import (  # noqa: F401  (re-exported: chapter 1's compute in one place)
    _slope,
    growth_at_max,
    growth_frame,
    growth_slopes,
    growth_target_slopes,
    literal_sensitivity_bound,
    sensitivity_by_dataset,
    sensitivity_frame,
    sensitivity_growth_table,
    sensitivity_max_ratios,
    sensitivity_summary,
    sensitivity_table,
)
from ntkbook.kernels import _linearization_errors, _matrix
from ntkbook.result_tables import ResultTables
from ntkbook.specs.gram_kernel import GramKernelSpec

__all__ = [
    "GramKernelSpec",
    "RESULT_PARTS",
    "load_unit_data",
    "load_samples",
    "part_unit",
    "units",
    "results",
    "softmax_linearization_table",
    "linearization_frame",
    "linearization_slopes",
    "sqrt_d_linearization_error",
    "sqrt_d_frame",
    "theorem_4_1_row",
    "theorem_4_1_table",
    "theorem_4_1_worst",
    "top_eigen_share",
    "theorem_4_2_check",
    "theorem_4_2_table",
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
    "mean_similarity",
]


def load_unit_data(name: str, n_train: int, n_test: int, *, seed: int, data_dir=None) -> dict:
    """One seeded, class-stratified split of `name`, flattened, in [0, 1], rows scaled to unit l2 norm.

    Returns {"x": (n_train, d) float64, "y": (n_train,) labels, "x_test": (n_test, d) float64,
    "note": the loader's note (non-empty when train and test were both drawn from the test split, which the
    chapter must print), "n_classes": int}. Train and test are disjoint. Raises what `data.train_test_split` raises.
    """
    from ntkbook import data

    split = data.train_test_split(name, n_train, n_test, seed=seed, allow_split_from_test=True,
                                  data_dir=data_dir)
    return {"x": data.unit_rows(split.x_train), "y": split.y_train, "x_test": data.unit_rows(split.x_test),
            "note": split.note, "n_classes": len(split.classes)}


def load_samples(spec: GramKernelSpec) -> dict:
    """{dataset: `load_unit_data(dataset, spec.n_max, spec.n_ntk_test, seed=spec.seed)`} for every data set of
    the spec (memoised: the chapter and `results` share one load)."""
    return _load(tuple(spec.datasets), spec.n_max, spec.n_ntk_test, spec.seed)


@functools.lru_cache(maxsize=4)
def _load(datasets: tuple, n_max: int, n_ntk_test: int, seed: int) -> dict:
    return {name: load_unit_data(name, n_max, n_ntk_test, seed=seed) for name in datasets}


@functools.lru_cache(maxsize=4)
def _theorem_4_2(datasets: tuple, n_max: int, n_ntk_test: int, seed: int, n_ntk: int):
    d = _load(datasets, n_max, n_ntk_test, seed)
    table, angles = theorem_4_2_table({k: v["x"] for k, v in d.items()}, {k: v["x_test"] for k, v in d.items()}, n_ntk)
    return table.reset_index(), angles


#: part -> the knobs it depends on besides the sample (seed, datasets, n_max, n_ntk_test: every part's data).
RESULT_PARTS = {
    "linearization": ("n_attention", "temperatures"),
    "sqrtd": ("n_attention",),
    "theorem41": ("n_theorem", "n_triple"),
    "theorem42": ("n_ntk",),
    "angles": ("n_ntk",),
    "sensitivity": ("n_sens", "n_targets", "n_random"),
    "growth": ("growth_ns", "n_targets", "poly_degree"),
}


def part_unit(part: str, *, seed: int, datasets: list, n_max: int, n_ntk_test: int, **knobs) -> pd.DataFrame:
    """One result table of the chapter (a sweep unit): `part` of `RESULT_PARTS` computed on the seeded sample of
    n_max training and n_ntk_test test points per data set, with the part's knobs. See `results` for the tables."""
    if part not in RESULT_PARTS:
        raise ValueError(f"unknown result part {part!r}; choose from {list(RESULT_PARTS)}")
    missing = sorted(set(RESULT_PARTS[part]) - set(knobs))
    if missing:
        raise ValueError(f"part {part!r} needs the knobs {missing}")
    key = (tuple(datasets), int(n_max), int(n_ntk_test), int(seed))
    if part in ("theorem42", "angles"):
        return _theorem_4_2(*key, int(knobs["n_ntk"]))[0 if part == "theorem42" else 1]
    X = {name: s["x"] for name, s in _load(*key).items()}
    k = knobs
    if part == "linearization":
        return linearization_frame(X, k["n_attention"], k["temperatures"])
    if part == "sqrtd":
        return sqrt_d_frame(X, k["n_attention"])
    if part == "theorem41":
        return theorem_4_1_table(X, k["n_theorem"], k["n_triple"]).reset_index()
    if part == "sensitivity":
        return sensitivity_frame(X, k["n_sens"], k["n_targets"], n_random=k["n_random"], seed=int(seed))
    return growth_frame(X, k["growth_ns"], n_targets=k["n_targets"], degree=k["poly_degree"], seed=int(seed))


def units(spec: GramKernelSpec, parts=None) -> list:
    """The chapter's sweep units (`ntkbook.runner.Unit`), one per result part: kind "gram_kernel-<part>", params
    {part, seed, datasets, n_max, n_ntk_test, and the part's knobs} (JSON-plain), fn `part_unit`."""
    from ntkbook.runner import Unit

    parts = list(RESULT_PARTS) if parts is None else list(parts)
    unknown = sorted(set(parts) - set(RESULT_PARTS))
    if unknown:
        raise ValueError(f"unknown result parts {unknown}; choose from {list(RESULT_PARTS)}")
    base = {"seed": spec.seed, "datasets": list(spec.datasets), "n_max": spec.n_max, "n_ntk_test": spec.n_ntk_test}

    def plain(v):
        return list(v) if isinstance(v, tuple) else v

    from ntkbook.data import split_reads

    return [Unit(f"gram_kernel-{part}", {"part": part, **base, **{k: plain(getattr(spec, k)) for k in RESULT_PARTS[part]}},
                 part_unit, reads=split_reads(*spec.datasets)) for part in parts]


def results(spec: GramKernelSpec, parts=None, *, scheduler: str | None = None, cache_dir=None,
            refresh: bool = False) -> ResultTables:
    """The chapter's result tables, each read from the result cache or the result store, or computed (on
    `scheduler`, `ntkbook.runner.run`) and stored in the cache.

    spec: a resolved `GramKernelSpec`; parts: names of `RESULT_PARTS` (default all). Returns {part: DataFrame}:
    linearization (`linearization_frame`), sqrtd (`sqrt_d_frame`), theorem41 (`theorem_4_1_table`, dataset as a
    column), theorem42 (`theorem_4_2_table`, dataset and arch as columns), angles, sensitivity
    (`sensitivity_frame`), growth (`growth_frame`). Data are loaded only when some part is not cached. The cache
    entries are those of `units(spec)`, so a sweep run elsewhere (`ntkbook.runner`) fills what the chapter reads.
    """
    from ntkbook import runner

    todo = units(spec, parts)
    runner.run(todo, scheduler=scheduler, cache_dir=cache_dir, refresh=refresh, desc="gram-kernel")
    return ResultTables({u.params["part"]: runner.read_only([u], cache_dir=cache_dir) for u in todo})


# ----------------------------------------------------------------------------------------------------------
# softmax -> linearized attention
# ----------------------------------------------------------------------------------------------------------


def softmax_linearization_table(X, temperatures) -> pd.DataFrame:
    """`kernels.softmax_linearization_error` of X against itself for each temperature, both forms.

    X: (n, d); temperatures: 1-D, > 0. Columns: temperature, form ("normalised" softmax or "unnormalised" exp),
    rel_error. Cost O(n^2 d) once, then O(n^3) per temperature.
    """
    X = _matrix(X, "X")
    temps = np.asarray(temperatures, dtype=np.float64).ravel()
    frames = [pd.DataFrame({"temperature": temps, "form": "normalised" if norm else "unnormalised",
                            "rel_error": _linearization_errors(X, X, temps, norm)}) for norm in (True, False)]
    return pd.concat(frames, ignore_index=True)


def linearization_frame(Xs: dict, n: int, temperatures) -> pd.DataFrame:
    """`softmax_linearization_table` of the first n rows of each data set, stacked.

    Xs: {dataset: (N, d)}. Columns: temperature, form, rel_error, dataset; 2 * len(temperatures) rows per data set.
    """
    return pd.concat([softmax_linearization_table(X[:n], temperatures).assign(dataset=name)
                      for name, X in Xs.items()], ignore_index=True)


def linearization_slopes(lin: pd.DataFrame, *, t_min: float = 10.0) -> pd.Series:
    """Log-log slope of rel_error against temperature for T >= t_min, per (dataset, form); theory: -1.

    lin: `linearization_frame` output. Returns a Series named "fitted slope (T >= 10)" (t_min as given),
    indexed by (dataset, form), sorted.
    """
    slopes = {key: _slope(g.temperature, g.rel_error)
              for key, g in lin[lin.temperature >= t_min].groupby(["dataset", "form"])}
    return pd.Series(slopes, name=f"fitted slope (T >= {t_min:g})").rename_axis(["dataset", "form"])


def sqrt_d_linearization_error(X) -> float:
    """Relative error of the normalised (softmax) linear form at the usual temperature T = sqrt(d). X: (n, d)."""
    X = _matrix(X, "X")
    return kernels.softmax_linearization_error(X, temperature=np.sqrt(X.shape[1]))


def sqrt_d_frame(Xs: dict, n: int) -> pd.DataFrame:
    """`sqrt_d_linearization_error` of the first n rows of each data set: columns dataset, d, rel_error."""
    return pd.DataFrame([{"dataset": name, "d": int(X.shape[1]), "rel_error": sqrt_d_linearization_error(X[:n])}
                         for name, X in Xs.items()])


# ----------------------------------------------------------------------------------------------------------
# Theorem 4.1 and the heatmaps
# ----------------------------------------------------------------------------------------------------------


def theorem_4_1_row(X, n_triple: int) -> dict:
    """Theorem 4.1 on X (n, d): Phi = G X from the JAX `kernels.linearized_attention` (float64) against G^3.

    "PhiPhi^T vs G^3" = max |Phi Phi^T - G^3| / max |G^3| (G^3 = `kernels.gram_induced_kernel`), and on the first
    n_triple rows "triple sum vs G^3" = the same for the O(n^4) entrywise `gram_induced_kernel_triple_sum`.
    Returns {"n", "d", "dtype", "PhiPhi^T vs G^3", "n (triple sum)", "triple sum vs G^3"}.
    """
    import jax

    X = _matrix(X, "X")
    with jax.enable_x64(True):
        phi = np.asarray(kernels.linearized_attention(X))  # G X, float64
    G3 = kernels.gram_induced_kernel(X)
    small = X[:n_triple]
    ref = kernels.gram_induced_kernel_triple_sum(small, max_n=max(40, n_triple))
    return {"n": len(X), "d": X.shape[1], "dtype": str(phi.dtype),
            "PhiPhi^T vs G^3": np.abs(phi @ phi.T - G3).max() / np.abs(G3).max(),
            "n (triple sum)": n_triple,
            "triple sum vs G^3": np.abs(ref - kernels.gram_induced_kernel(small)).max() / np.abs(ref).max()}


def theorem_4_1_table(Xs: dict, n: int, n_triple: int) -> pd.DataFrame:
    """`theorem_4_1_row` for the first n rows of each data set; indexed by dataset (columns: see the row)."""
    return pd.DataFrame([{"dataset": name, **theorem_4_1_row(X[:n], n_triple)}
                         for name, X in Xs.items()]).set_index("dataset")


def theorem_4_1_worst(table: pd.DataFrame) -> float:
    """Largest relative deviation in a `theorem_4_1_table` (both "... vs G^3" columns)."""
    return float(table[["PhiPhi^T vs G^3", "triple sum vs G^3"]].to_numpy().max())


def top_eigen_share(X) -> float:
    """Share of the trace of G^3 carried by the top eigenvalue of G = X X^T: lambda_1^3 / sum_k lambda_k^3."""
    lam = kernels.eigenvalues(kernels.gram(X))
    return float(lam[0] ** 3 / np.sum(lam**3))


# ----------------------------------------------------------------------------------------------------------
# Theorem 4.2
# ----------------------------------------------------------------------------------------------------------


def theorem_4_2_check(X_train, X_test) -> tuple[list[dict], pd.DataFrame]:
    """Theorem 4.2 for both feature maps: neural-tangents' first-layer NTK against the arc-cosine closed form.

    X_train: (n, d), X_test: (m, d) unit rows; test points attend over the training points
    (`models.features("attn", ., X_train)`). The kernels are (n + m, n) (all points against the training ones).
    Returns (rows, angles): one row per feature map {"arch" (its id, "relu" or "attn"), "kernel shape",
    "max |NT - closed form|", "off-diagonal max" (entries off the leading diagonal), "median angle (deg)"}, and a
    frame with columns arch, angle_deg: the n(n-1)/2 pairwise angles between the training features.
    """
    import jax

    from ntkbook import models

    X_train, X_test = _matrix(X_train, "X_train"), _matrix(X_test, "X_test")
    n = len(X_train)
    upper = np.triu_indices(n, 1)
    points = np.vstack([X_train, X_test])
    with jax.enable_x64(True):
        feats = {"relu": np.asarray(models.features("relu", points)),
                 "attn": np.asarray(models.features("attn", points, X_train))}
    rows, angles = [], []
    for arch, Z in feats.items():
        closed = kernels.first_layer_ntk(Z, Z[:n])
        nt = kernels.first_layer_ntk_nt(Z, Z[:n])
        diff = np.abs(nt - closed)
        angle = np.degrees(np.arccos(np.clip((Z[:n] @ Z[:n].T)[upper], -1, 1)))
        rows.append({"arch": arch, "kernel shape": str(closed.shape),
                     "max |NT - closed form|": diff.max(),
                     "off-diagonal max": diff[~np.eye(*diff.shape, dtype=bool)].max(),
                     "median angle (deg)": np.median(angle)})
        angles.append(pd.DataFrame({"arch": arch, "angle_deg": angle}))
    return rows, pd.concat(angles, ignore_index=True)


def theorem_4_2_table(Xs: dict, X_tests: dict, n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`theorem_4_2_check` with the first n rows of each data set as training points.

    Returns (table indexed by (dataset, arch), angles with columns dataset, arch, angle_deg).
    """
    rows, angles = [], []
    for name, X in Xs.items():
        r, a = theorem_4_2_check(X[:n], X_tests[name])
        rows += [{"dataset": name, **row} for row in r]
        angles.append(a.assign(dataset=name)[["dataset", "arch", "angle_deg"]])
    return (pd.DataFrame(rows).set_index(["dataset", "arch"]), pd.concat(angles, ignore_index=True))


def mean_similarity(X) -> float:
    """Mean off-diagonal entry of G = X X^T (mean cosine similarity for unit rows). X: (n, d), n >= 2."""
    X = _matrix(X, "X")
    if len(X) < 2:
        raise ValueError(f"mean_similarity needs at least 2 rows, got {len(X)}")
    return float(kernels.gram(X)[np.triu_indices(len(X), 1)].mean())
