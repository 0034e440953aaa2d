"""Chapter 1's report layer: its results (from `ntkbook.experiments.gram_kernel`, via the cache) turned into
glued numbers, display tables and verdicts on the paper's claims (Theorems 4.1, 4.2, Proposition 4.5).

Every tolerance here follows from a rounding-error bound (u = 2^-53 per float64 operation, dot products of length
k are accurate to k u relative to the sum of absolute values); none is tuned to what was measured.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ntkbook import claims, notebook, paper
from ntkbook.claims import Verdict
from ntkbook.experiments import gram_kernel as gk
from ntkbook.labels import dataset_label, model_label

__all__ = ["CHAPTER", "SECTIONS", "EPS64", "linearization_status", "theorem_4_1_tolerance", "theorem_4_2_tolerance",
           "sensitivity_slack", "growth_status", "claim_verdicts", "verdicts_from_results", "chapter_numbers",
           "sensitivity_readings_table", "growth_slope_table", "COLUMN_LABELS", "display_table"]

CHAPTER = "01_gram_induced_kernel"
#: MyST labels of the sections that decide each claim (defined in the chapter's markdown).
SECTIONS = {"linearization": "gram-softmax", "thm4.1": "gram-thm41", "thm4.2": "gram-thm42",
            "prop4.5": "gram-prop45", "growth": "gram-growth"}
EPS64 = float(np.finfo(np.float64).eps)
#: the slope of the linearization error against T the first-order expansion predicts, and the margin within
#: which a fit over T >= 10 (where the O(1/T^2) term is at most a tenth of the O(1/T) one) counts as that slope.
LINEAR_SLOPE, LINEAR_SLOPE_TOL = -1.0, 0.1
#: a sensitivity bound "does not depend on n" when its log-log slope in n lies within this margin of 0: the largest
#: of n terms that are each bounded (p |x_i . x_j|^(p-1) <= p) may creep up with n, but by less than a quarter of the
#: n^2 growth expected of the G^3 bound.
FLAT_SLOPE_TOL = 0.5


def linearization_status(slopes) -> str:
    """`holds` iff every fitted slope (T >= 10) is within LINEAR_SLOPE_TOL of -1 (`claims.interval_vs_value` per
    slope, combined); `does not hold` if none is, `partly` if some are."""
    return claims.combine(claims.interval_vs_value(LINEAR_SLOPE, (s, s), tol=LINEAR_SLOPE_TOL) for s in slopes)


def theorem_4_1_tolerance(n: int, d: int) -> float:
    """Largest relative deviation rounding explains between G^3 computed two ways: 4 (n + d) eps64.

    Each entry of Phi Phi^T and of G(GG) is a chain of three dot products of length <= max(n, d); with
    non-negative data (images) |G| = G, so the forward error of each is <= (n + d) u |G|^3 = (n + d) u G^3
    entrywise (u = eps / 2); a factor 4 covers the two computations and the normalisation by max |G^3|."""
    return 4.0 * (int(n) + int(d)) * EPS64


def theorem_4_2_tolerance(d: int) -> float:
    """Largest difference rounding explains between two evaluations of (pi - theta)/(2 pi) <z, z'>: sqrt(2 d eps)/pi.

    theta = arccos(<z, z'>) near theta = 0 turns a rounding error delta <= d eps of the cosine into an angle error
    sqrt(2 delta) (arccos(1 - delta) ~ sqrt(2 delta)); divided by 2 pi, times a factor 2 for two evaluations."""
    return math.sqrt(2.0 * int(d) * EPS64) / math.pi


def sensitivity_slack(n: int, d: int) -> float:
    """Rounding allowance of a ratio |change| / bound that is <= 1 in exact arithmetic: 4 (n + d) eps64."""
    return 4.0 * (int(n) + int(d)) * EPS64


def growth_status(bound_interval, poly_interval) -> str:
    """Proposition 4.5's remark for one data set: the G^3 bound increases with n (the 95% interval of its log-log
    slope lies above 0) while the polynomial kernel's is flat (within FLAT_SLOPE_TOL of 0)."""
    return claims.combine([claims.trend_rule("increasing", bound_interval),
                           claims.trend_rule("flat", poly_interval, tol=FLAT_SLOPE_TOL)])


def _slope_intervals(growth: pd.DataFrame) -> pd.DataFrame:
    per_target = gk.growth_target_slopes(growth)
    rows = []
    for name, g in per_target.groupby("dataset", sort=False):
        row = {"dataset": name}
        for col in ("bound", "worst", "poly"):
            mean, lo, hi = claims.t_interval(g[col])
            row.update({col: mean, f"{col}_lo": lo, f"{col}_hi": hi})
        rows.append(row)
    return pd.DataFrame(rows)


def _dims(res: dict) -> dict:
    return dict(zip(res["theorem41"].dataset, res["theorem41"].d, strict=True))


def verdicts_from_results(res: dict, spec: gk.GramKernelSpec) -> list[Verdict]:
    """The chapter's verdicts from its result tables (`gk.results(spec)`); see `claim_verdicts`."""
    profile = spec.profile
    dims = _dims(res)
    d_max = max(dims.values())
    out = []

    def verdict(claim, key, status, paper_value, ours, interval, rule, config, section, beyond=False, text=None):
        out.append(Verdict(claim=claim, statement=text or paper.statement(key).text, status=status,
                           paper_value=paper_value, ours=None if ours is None else float(ours),
                           interval=interval, rule=rule, profile=profile, config=config,
                           section=SECTIONS[section], chapter=CHAPTER, beyond_paper=beyond))

    slopes = gk.linearization_slopes(res["linearization"], t_min=10)
    worst = float(slopes.iloc[int(np.argmax(np.abs(slopes.to_numpy() - LINEAR_SLOPE)))])
    verdict("linearization.slope", "linearization", linearization_status(slopes), "first order in 1/T", worst,
            (float(slopes.min()), float(slopes.max())),
            f"error $O(1/T)$: every log-log slope of the error against $T$ ($T \\ge 10$; softmax and unnormalised, "
            f"each data set) within {LINEAR_SLOPE_TOL:g} of $-1$; ours is the slope farthest from $-1$, the interval "
            "the range",
            {"n_attention": spec.n_attention, "temperatures": len(spec.temperatures)}, "linearization")

    t41 = res["theorem41"]
    worst41 = gk.theorem_4_1_worst(t41)
    tol41 = theorem_4_1_tolerance(spec.n_theorem, d_max)
    verdict("thm4.1.identity", "thm4.1", claims.tolerance_rule(worst41, tol41), "exact identity", worst41, None,
            r"largest relative deviation of $(GX)(GX)^\top$ and of the triple sum from $G^3$ $\le$ "
            rf"$4(n + d)\,\varepsilon_{{64}}$ = {notebook.number(tol41)}",
            {"n_theorem": spec.n_theorem, "n_triple": spec.n_triple}, "thm4.1")

    t42 = res["theorem42"]
    diff = float(t42["max |NT - closed form|"].max())
    tol42 = theorem_4_2_tolerance(d_max)
    verdict("thm4.2.closed_form", "thm4.2", claims.tolerance_rule(diff, tol42), "closed form", diff, None,
            r"largest $|$neural-tangents NTK $-$ closed form$|$ over both models and data sets $\le$ "
            rf"$\sqrt{{2d\,\varepsilon_{{64}}}}/\pi$ = {notebook.number(tol42)}", {"n_ntk": spec.n_ntk, "n_ntk_test": spec.n_ntk_test}, "thm4.2")

    by = gk.sensitivity_by_dataset(res["sensitivity"])
    slack = sensitivity_slack(spec.n_sens, d_max)
    for r in by.itertuples():
        config = {"dataset": r.dataset, "n_sens": spec.n_sens, "n_targets": spec.n_targets, "n_random": spec.n_random}
        label = _label(r.dataset)
        verdict(f"prop4.5.literal.{r.dataset}", "prop4.5", claims.bound_rule(r.max_ratio_literal, slack=slack),
                "bound (no numbers)", r.max_ratio_literal, None,
                r"largest $|$first-order change$|\,/\,(\|G e_j\|_1\,\varepsilon)$ over random, sign and gradient "
                r"directions (the gradient attains the supremum) is $\le 1$", config, "prop4.5",
                text=rf"Proposition 4.5 as printed, $x_j$ read as column $j$ of $G$: "
                     rf"$|\Delta K| \le \|G e_j\|_1\,\varepsilon$ ({label})")
        verdict(f"prop4.5.corrected.{r.dataset}", "prop4.5", claims.bound_rule(r.max_ratio_corrected, slack=slack),
                "bound (no numbers)", r.max_ratio_corrected, None,
                r"largest $|$first-order change$|\,/\,(\|G X x_j\|_1\,\varepsilon)$ over random, sign and "
                r"gradient directions (the gradient attains the supremum) is $\le 1$", config, "prop4.5",
                text=rf"Proposition 4.5, first-order reading: $|\Delta K| \le \|G X x_j\|_1\,\varepsilon$ ({label})")

    iv = _slope_intervals(res["growth"])
    statuses = [growth_status((r.bound_lo, r.bound_hi), (r.poly_lo, r.poly_hi)) for r in iv.itertuples()]
    low = iv.loc[iv.bound.idxmin()]
    verdict("prop4.5.growth", "prop4.5.growth", claims.combine(statuses), "qualitative", low.bound,
            (low.bound_lo, low.bound_hi),
            r"on every data set the 95% t-interval (over targets) of the log-log slope of $\|G X x_j\|_1$ against "
            f"$n$ lies "
            f"above 0 and that of the degree-{spec.poly_degree} polynomial kernel's bound within ±{FLAT_SLOPE_TOL:g} of "
            "0; ours is the smaller $G^3$ slope", {"growth_ns": list(spec.growth_ns), "n_targets": spec.n_targets},
            "growth")
    return out


#: Headers of the chapter's result columns as the book shows them (math typeset by `ntkbook.notebook.table`).
COLUMN_LABELS = {
    "dataset": "data set", "form": "form", "n": "$n$", "d": "$d$", "dtype": "precision",
    "PhiPhi^T vs G^3": r"$\Phi\Phi^\top$ vs $G^3$", "n (triple sum)": "$n$ (triple sum)",
    "triple sum vs G^3": r"triple sum vs $G^3$", "arch": "model", "kernel shape": "kernel shape",
    "max |NT - closed form|": r"largest $|\Theta_{\mathrm{NT}} - \Theta|$",
    "off-diagonal max": r"largest off-diagonal $|\Theta_{\mathrm{NT}} - \Theta|$",
    "median angle (deg)": "median angle (°)",
}


def display_table(frame: pd.DataFrame, *, formats: dict | None = None) -> notebook.Table:
    """One of the chapter's result tables as the book shows it (`ntkbook.notebook.table`): headers from
    `COLUMN_LABELS` ("fitted slope (T >= 10)" as math), data set names as "MNIST"/"CIFAR-10", every float column
    through `ntkbook.notebook.number` (errors near 1e-16: scientific notation, typeset) unless `formats` (keyed by
    the result's column names) says otherwise."""
    labels = dict(COLUMN_LABELS)
    for c in frame.columns:
        if isinstance(c, str) and c.startswith("fitted slope (T >= "):
            labels[c] = "fitted slope ($T \\ge " + c.removeprefix("fitted slope (T >= ").rstrip(")") + "$)"
    fmt = {labels.get(c, c): notebook.number for c in frame.columns if pd.api.types.is_float_dtype(frame[c])}
    fmt.update({labels.get(c, c): f for c, f in (formats or {}).items()})
    shown = frame.copy()
    if "dataset" in shown.columns:
        shown["dataset"] = shown["dataset"].map(_label)
    if "arch" in shown.columns:
        shown["arch"] = shown["arch"].map(model_label)
    return notebook.table(shown.rename(columns=lambda c: labels.get(c, c)), formats=fmt)


def _label(dataset: str) -> str:
    return dataset_label(dataset)


def verdicts(spec: gk.GramKernelSpec, results: dict) -> list[Verdict]:
    """The chapter's verdicts from `results`, what `experiments.gram_kernel.results(spec)` returned (the contract every chapter's report
    speaks: `verdicts(spec, results)` and `numbers(spec, results)`)."""
    return verdicts_from_results(results, spec)


def numbers(spec: gk.GramKernelSpec, results: dict) -> dict:
    """The numbers the chapter's prose glues, keyed by their glue names (plain Python values), from the same
    `results`."""
    return {**chapter_numbers(results), **{k: getattr(spec, k) for k in (
        "n_theorem", "n_triple", "n_attention", "n_ntk", "n_sens", "n_targets", "n_random", "n_heatmap",
        "poly_degree")}}


def claim_verdicts(profile: str = "default", *, cache_dir=None, **overrides) -> list[Verdict]:
    """Chapter 1's verdicts for `profile` (and any knob overrides), from the cached results (computed if absent).

    Claims: the softmax linearization (slope -1), Theorem 4.1, Theorem 4.2, Proposition 4.5 under the printed
    reading ||G e_j||_1 and the first-order reading ||G X x_j||_1 (per data set) and its growth remark.
    """
    spec = gk.GramKernelSpec.resolve(profile, **overrides)
    return verdicts(spec, gk.results(spec, cache_dir=cache_dir))


def chapter_numbers(res: dict) -> dict:
    """The numbers the chapter's prose quotes, keyed by their glue names (plain Python numbers)."""
    out = {}
    for (name, form), value in gk.linearization_slopes(res["linearization"], t_min=10).items():
        out[f"slope_{name}_{form}"] = float(value)
    for r in res["sqrtd"].itertuples():
        out[f"sqrtd_err_{r.dataset}"] = float(r.rel_error)
    out["thm41_worst"] = gk.theorem_4_1_worst(res["theorem41"])
    t42 = res["theorem42"]
    out["thm42_maxdiff"] = float(t42["max |NT - closed form|"].max())
    out["thm42_offdiff"] = float(t42["off-diagonal max"].max())
    for r in t42.itertuples(index=False):
        out[f"angle_{r.dataset}_{r.arch}"] = float(r[t42.columns.get_loc("median angle (deg)")])
    summary = gk.sensitivity_summary(res["sensitivity"])
    out.update({k: (int(v) if k == "n_deltas" else float(v)) for k, v in summary.items()})
    for r in gk.sensitivity_by_dataset(res["sensitivity"]).itertuples():
        out[f"literal_max_{r.dataset}"] = float(r.max_ratio_literal)
        out[f"corrected_max_{r.dataset}"] = float(r.max_ratio_corrected)
    slopes = gk.growth_slopes(res["growth"])
    at_max = gk.growth_at_max(res["growth"])
    for name in slopes.index:
        out[f"growth_bound_{name}"] = float(slopes.loc[name, "bound"])
        out[f"growth_worst_{name}"] = float(slopes.loc[name, "worst"])
        out[f"growth_poly_{name}"] = float(slopes.loc[name, "poly"])
        out[f"bound_at_max_{name}"] = float(at_max.loc[name, "g3_bound"])
        out[f"poly_at_max_{name}"] = float(at_max.loc[name, "poly_bound_max"])
    out["growth_n_max"] = int(res["growth"].n.max())
    return out


def sensitivity_readings_table(verdicts: list[Verdict]) -> pd.DataFrame:
    """Proposition 4.5 under both readings, side by side per data set: the largest ratio of the measured change to
    each bound and its status. Columns: data set, printed: ||G e_j||_1 (largest ratio), status, first order:
    ||G X x_j||_1 (largest ratio), status (the second status column is named "status " to keep names unique)."""
    by = {v.claim: v for v in verdicts}
    rows = []
    for claim, v in by.items():
        if not claim.startswith("prop4.5.literal."):
            continue
        name = claim.rsplit(".", 1)[1]
        c = by[f"prop4.5.corrected.{name}"]
        rows.append({"data set": _label(name), r"printed: $\|Ge_j\|_1\varepsilon$, largest ratio": v.ours,
                     "status": v.status, r"first order: $\|GXx_j\|_1\varepsilon$, largest ratio": c.ours,
                     "status ": c.status})
    return pd.DataFrame(rows)


def growth_slope_table(res: dict, degree: int) -> pd.DataFrame:
    """Log-log slopes against n (mean over targets with 95% t-interval) per data set, display names."""
    iv = _slope_intervals(res["growth"])

    def fmt(r, col):
        return f"{getattr(r, col):.2f} [{getattr(r, col + '_lo'):.2f}, {getattr(r, col + '_hi'):.2f}]"

    return pd.DataFrame([{"data set": _label(r.dataset), r"slope of $\|GXx_j\|_1$": fmt(r, "bound"),
                          r"slope of the $G^3$ worst change": fmt(r, "worst"),
                          f"slope of the $(x^\\top y)^{degree}$ worst change": fmt(r, "poly"),
                          "status": growth_status((r.bound_lo, r.bound_hi), (r.poly_lo, r.poly_hi))}
                         for r in iv.itertuples()])
