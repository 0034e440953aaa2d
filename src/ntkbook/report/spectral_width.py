"""Chapter 2's report on the width law: the log-log fits of the width-law sweep (`ntkbook.experiments.spectral`),
the exponents they are compared with, the rules' designs and the numbers the prose quotes.

Part of `ntkbook.report.spectral`, which re-exports every name. Exponents: the paper states integers, so an
exponent is reproduced when its interval lies nearer that integer than any other (TOST margin
`ntkbook.operating.EXPONENT_MARGIN` = 1/2), refuted when the interval lies wholly beyond that margin; the design
of each rule is simulated at the chapter's kappa points with the scatter measured from the fit (an underpowered
design says "not resolved"). Frames hold architecture ids; `ntkbook.labels.with_model_labels` adds the words.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd

from ntkbook import claims, operating, paper
from ntkbook.claims import NOT_EVALUABLE
from ntkbook.experiments import spectral as sp
from ntkbook.labels import model_label

__all__ = ["EXPECTED_EXPONENTS", "EXPONENT_LEVEL", "FIT_LABELS", "cap_ratio", "difference_fit", "exponent_status", "fit_scatter",
           "fits_and_summary", "fits_table", "width_design", "width_law_numbers"]


#: Exponent intervals are 95 % (two one-sided 2.5 % tests, conservative), widened by the factor-2 width grid for m*.
EXPONENT_LEVEL = 0.95

#: The width-law fits (`experiments.spectral.width_law_fits`, column "fit") as the book writes them.
FIT_LABELS = {
    "kappa(ZZ^T) vs kappa(G)": r"$\kappa(ZZ^\top)$ vs $\kappa(G)$",
    "kappa(K_inf) vs kappa(G)": r"$\kappa(K_\infty)$ vs $\kappa(G)$",
    "m*_op vs kappa(G)": r"$m^*_{\mathrm{op}}$ vs $\kappa(G)$",
    "m*_eig vs kappa(G)": r"$m^*_{\mathrm{eig}}$ vs $\kappa(G)$",
    "m*_eig vs kappa(K_inf)": r"$m^*_{\mathrm{eig}}$ vs $\kappa(K_\infty)$",
}


#: (y, x, glue tag) of the width-law exponents the chapter quotes.
_FIT_TAGS = (("kappa_features", "kappa_G", "feat"), ("kappa_K_inf", "kappa_G", "kinf"),
             ("m_star_op", "kappa_G", "mop"), ("m_star_eig", "kappa_G", "meig"),
             ("m_star_eig", "kappa_K_inf", "meigk"))


def width_law_numbers(fits: pd.DataFrame, summary: pd.DataFrame) -> dict:
    """Numbers the chapter quotes from the width-law sweep.

    fit_<tag>_<arch>, fit_<tag>_<arch>_lo, fit_<tag>_<arch>_hi: exponent and interval of each fit in `_FIT_TAGS`
    (arch attn / relu); cap_ratio: the largest kappa(K_inf) / min(kappa(ZZ^T), kappa(A)) over the rows of
    `summary` (<= 1 is the bound of the chapter's proposition); n_arccos_binds: MLP-Attn rows where
    kappa(A) < kappa(ZZ^T); n_kappas: MLP-Attn rows."""
    out = {}
    for key in ("attn", "relu"):
        for y, x, tag in _FIT_TAGS:
            f = sp.fit_row(fits, key, y, x)
            out[f"fit_{tag}_{key}"] = float(f.exponent)
            out[f"fit_{tag}_{key}_lo"] = float(f.lo)
            out[f"fit_{tag}_{key}_hi"] = float(f.hi)
    attn = summary[summary.arch == "attn"]
    out["n_arccos_binds"] = int((attn.kappa_arccos < attn.kappa_features).sum())
    out["n_kappas"] = len(attn)
    out["cap_ratio"] = cap_ratio(summary)
    return out


def cap_ratio(summary: pd.DataFrame) -> float:
    """Largest kappa(K_inf) / min(kappa(ZZ^T), kappa(A)) over the rows of `width_law_summary` (<= 1: the bound of
    the chapter's proposition holds on every point)."""
    return float((summary.kappa_K_inf / np.minimum(summary.kappa_features, summary.kappa_arccos)).max())


def fits_and_summary(res: dict, spec: sp.SpectralSpec) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(summary, fits) of the width-law sweep in `res["width_curves"]` under the spec's tolerances."""
    summary = sp.width_law_summary(res["width_curves"], tol_op=spec.tol_op, tol_eig=spec.tol_eig)
    return summary, sp.width_law_fits(summary)


#: The exponent each width-law fit is compared with: (arch, y, x) -> (value, source, claim id, statement, beyond).
EXPECTED_EXPONENTS = {
    ("attn", "kappa_features", "kappa_G"): (
        paper.EXPONENTS["kernel"], "Theorem 4.7", "thm4.7.features",
        r"Theorem 4.7 on the attention features: $\kappa(ZZ^\top) \propto \kappa(G)^3$ (synthetic data)", False),
    ("attn", "kappa_K_inf", "kappa_G"): (
        paper.EXPONENTS["kernel"], "Theorem 4.7 applied to the NTK", "thm4.7.ntk",
        r"The step behind the width bound: the NTK's $\kappa(K_\infty) \propto \kappa(G)^3$ (synthetic data)", False),
    ("attn", "m_star_eig", "kappa_G"): (
        paper.EXPONENTS["width.attn"], "Theorem 4.7", "thm4.7.width.attn.eig",
        r"MLP-Attn's width $m^*_{eig} \propto \kappa(G)^6$ (synthetic data)", False),
    ("attn", "m_star_op", "kappa_G"): (
        paper.EXPONENTS["width.attn"], "Theorem 4.7", "thm4.7.width.attn.op",
        r"MLP-Attn's width $m^*_{op} \propto \kappa(G)^6$ (synthetic data)", False),
    ("relu", "m_star_eig", "kappa_G"): (
        paper.EXPONENTS["width.relu"], "Theorem 4.7", "thm4.7.width.relu",
        r"2L-ReLU's width $m^*_{eig}$ has no $\kappa(G)$ factor (synthetic data)", False),
    ("attn", "m_star_eig", "kappa_K_inf"): (
        2.0, r"concentration, $m \sim \kappa(K)^2/\varepsilon^2$", "width.mechanism.attn",
        r"MLP-Attn's width $m^*_{eig} \propto \kappa(K_\infty)^2$ (synthetic data)", True),
    ("relu", "m_star_eig", "kappa_K_inf"): (
        2.0, r"concentration, $m \sim \kappa(K)^2/\varepsilon^2$", "width.mechanism.relu",
        r"2L-ReLU's width $m^*_{eig} \propto \kappa(K_\infty)^2$ (synthetic data)", True),
    ("relu", "kappa_features", "kappa_G"): (
        1.0, "2L-ReLU's features are the data", None, None, True),
}


def exponent_status(expected: float, lo: float, hi: float) -> str:
    """An exponent interval (95 %) against the integer the paper (or theory) expects: `claims.equivalence_rule`
    with margin `operating.EXPONENT_MARGIN` around it (TOST); not evaluable without a finite interval."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return NOT_EVALUABLE
    return claims.equivalence_rule((lo, hi), operating.EXPONENT_MARGIN, centre=expected)


def difference_fit(summary: pd.DataFrame, y: str = "m_star_eig", a: str = "attn", b: str = "relu", *,
                   level: float = EXPONENT_LEVEL) -> dict:
    """The exponent of y(a) / y(b) against kappa(G), paired by synthetic data set (the same G for both
    architectures): `experiments.spectral.fit_power_law` of the ratio, its interval widened by 2 log10(2) / ptp(log10
    kappa) (both widths are known to a factor 2). Returns dict(exponent, lo, hi, n_points, resid_sd) (resid_sd: the
    scatter of each model's log10 y about its own fit, pooled; the simulations' noise)."""
    pa = summary[summary.arch == a].set_index("kappa_nominal")
    pb = summary[summary.arch == b].set_index("kappa_nominal")
    j = pa[["kappa_G", y]].merge(pb[[y]], left_index=True, right_index=True, suffixes=("", "_b")).dropna()
    if len(j) < 3:
        return {"exponent": math.nan, "lo": math.nan, "hi": math.nan, "n_points": len(j), "resid_sd": math.nan}
    f = sp.fit_power_law(j.kappa_G, j[y] / j[f"{y}_b"], level=level)
    grid = 2 * math.log10(2.0) / float(np.ptp(np.log10(j.kappa_G)))
    lx = np.log10(j.kappa_G.to_numpy())
    resid = []
    for col in (y, f"{y}_b"):
        ly = np.log10(j[col].to_numpy())
        resid.append(ly - np.polyval(np.polyfit(lx, ly, 1), lx))
    sd = float(np.sqrt(np.sum(np.concatenate(resid) ** 2) / max(2 * len(j) - 4, 1)))
    return {"exponent": f["exponent"], "lo": f["lo"] - grid, "hi": f["hi"] + grid, "n_points": len(j),
            "resid_sd": sd}


def fit_scatter(summary: pd.DataFrame, arch: str, y: str, x: str) -> float:
    """The residual standard deviation of log10 y about its least-squares line in log10 x (one architecture's rows
    of `width_law_summary`, censored rows dropped): the scatter the width-law simulations use. nan below 3 points."""
    g = summary[summary.arch == arch][[x, y]].replace([np.inf, -np.inf], np.nan).dropna()
    if len(g) < 3:
        return math.nan
    lx, ly = np.log10(g[x].to_numpy()), np.log10(g[y].to_numpy())
    r = ly - np.polyval(np.polyfit(lx, ly, 1), lx)
    return float(np.sqrt(np.sum(r**2) / (len(g) - 2)))


def width_design(spec: sp.SpectralSpec, rule: str, resid_sd: float) -> claims.Design:
    """The `claims.Design` of an exponent rule ("exponent-value" or "exponent-difference") at the chapter's kappa
    points, with the scatter measured from its fits (at least the grid's own resolution, log10(2) / 2)."""
    from ntkbook.report import verdict_tests

    sd = max(float(resid_sd) if math.isfinite(resid_sd) else 0.0, math.log10(2.0) / 2)
    noise = dataclasses.replace(operating.NOISE, width_log10_sd=round(sd, 3))
    size = {"log10_kappas": tuple(np.log10(spec.width_kappas).tolist())}
    return verdict_tests.design_at(rule, size, noise=noise)[1]


def fits_table(fits: pd.DataFrame) -> pd.DataFrame:
    """The width-law fits that have an expected exponent (the paper's, or one derived here), with the status of each.

    Columns: model, fit, exponent, 95% interval, expected, from, status, points (dropped). Fits without an
    expectation (e.g. 2L-ReLU's kappa(K_inf)) are left out; their exponents are quoted in the prose."""
    rows = []
    for f in fits.itertuples():
        exp = EXPECTED_EXPONENTS.get((f.arch, f.y, f.x))
        if exp is None:
            continue
        rows.append({"model": model_label(f.arch), "fit": FIT_LABELS.get(f.fit, f.fit), "exponent": f.exponent,
                     "95% interval": f"[{f.lo:.2f}, {f.hi:.2f}]" if np.isfinite(f.lo) else "–",
                     "expected": exp[0], "from": exp[1], "status": exponent_status(exp[0], f.lo, f.hi),
                     "points (dropped)": f"{f.n_points} ({f.n_dropped})"})
    return pd.DataFrame(rows)
