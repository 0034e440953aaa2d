"""Operating characteristics of the book's empirical decision rules: each rule run on simulated data where the
truth is known, at the sample sizes a profile actually uses.

For a rule R, a design (seeds, counted points, widths, ...) and a true value theta, the simulation draws `sims`
data sets of that design, computes the interval the chapter computes and the status R gives, and returns

    P(status | theta)   for every status,      coverage = P(interval contains theta).

Two scenarios per rule: the claim true (theta at the claimed value) and the claim false by a stated margin
(theta the margin away, on the side that refutes it). `claims.Design` turns these into the gate every empirical
verdict passes: power = P(holds | true) >= `claims.MIN_POWER` and P(holds | false) <= `claims.MAX_FALSE_HOLDS`.

Numbers only (DataFrames and floats); seeded (the same seed gives the same table); vectorised numpy, one
interval per simulated data set. Noise levels are knobs (`Noise`), stated on the page beside each table.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
from scipy import stats

from ntkbook import claims

__all__ = ["Noise", "NOISE", "BAND_FACTOR", "FALSE_FACTOR", "EXPONENT_MARGIN", "FLAT_MARGIN", "status_rates",
           "simulate_ratio_band", "simulate_trend", "simulate_exponent_difference", "simulate_flat_exponent",
           "simulate_grid", "simulate_poisoning", "simulate_paired_sides", "oc_frame", "design_of",
           "smallest_deciding", "binomial_tolerance", "HALF_SLOPE_FACTOR", "simulate_slope_equivalence",
           "simulate_shape", "simulate_excess_ratio_band"]

#: the paper's ratio range counts as reproduced inside [low / BAND_FACTOR, high * BAND_FACTOR] (a declared knob:
#: a quarter either way is the least a 2-3 seed design could hope to resolve, and still excludes 2x and 20x)
BAND_FACTOR = 1.25
#: a ratio claim is "false by the stated margin" when the true ratio is this factor below the band's low edge
FALSE_FACTOR = 2.0
#: the paper states integer exponents: one counts as reproduced when it is nearer that integer than any other,
#: i.e. within half a unit (TOST margin); "no kappa(G) factor" is the integer 0. False by the margin: the next
#: integer (off by 2 * EXPONENT_MARGIN)
EXPONENT_MARGIN = 0.5
FLAT_MARGIN = EXPONENT_MARGIN


@dataclasses.dataclass(frozen=True)
class Noise:
    """Noise levels of the simulations (knobs, shown on the page).

    flip_rate_relu: 2L-ReLU's flip rate (chapter 4 reports about 5 %); seed_logit_sd: seed-to-seed spread of a
    flip rate on the logit scale; slope_sd: per-seed spread of a log-log slope (chapters 3 and 5); effect: the
    slope the claim is true at (its size in slope units); width_log10_sd: scatter of log10 m* about its power law
    (chapter 2); config_sd: spread between configurations of a grid (log scale); power_sd, power_effect: spread and
    size of chapter 5's per-seed log error ratios; poison_rate: the control's success rate, poison_effect: how much
    higher the attack's is when the claim is true."""

    flip_rate_relu: float = 0.05
    seed_logit_sd: float = 0.3
    slope_sd: float = 0.1
    effect: float = 0.2
    width_log10_sd: float = 0.15
    config_sd: float = 0.3
    power_sd: float = 0.3
    power_effect: float = 0.5
    poison_rate: float = 0.2
    poison_effect: float = 0.3
    excess_relu: float = 0.10
    control_rate: float = 0.10


NOISE = Noise()


def binomial_tolerance(p: float, sims: int, z: float = 4.0) -> float:
    """z standard errors of a simulated rate: z sqrt(p (1 - p) / sims), at least z / (2 sims) (for p near 0 or 1
    the rate still moves by whole counts). Tests compare simulated rates within this."""
    return max(z * math.sqrt(max(p * (1 - p), 0.0) / sims), z / (2 * sims))


def status_rates(statuses) -> dict:
    """{status: share} over simulated statuses (every status of `claims.STATUSES`)."""
    s = list(statuses)
    return {k: s.count(k) / len(s) for k in claims.STATUSES}


def _rates(statuses, covered, truth: float, scenario: str) -> dict:
    r = status_rates(statuses)
    return {"scenario": scenario, "truth": float(truth), "holds": r[claims.HOLDS],
            "not resolved": r[claims.NOT_RESOLVED] + r[claims.NOT_EVALUABLE],
            "partly": r[claims.PARTLY], "does not hold": r[claims.DOES_NOT_HOLD],
            "coverage": float(np.mean(covered)) if covered is not None else math.nan, "sims": len(statuses)}


# -- chapter 4: a ratio of flip rates in a band ------------------------------------------------------------


def simulate_ratio_band(ratio: float, *, seeds: int, points: int, band: tuple[float, float], sims: int = 2000,
                        noise: Noise = NOISE, seed: int = 0, level: float = 0.95, scenario: str = "") -> dict:
    """`claims.band_rule` on `claims.log_ratio_interval` for a true MLP-Attn / 2L-ReLU flip-rate ratio `ratio`.

    Per simulated data set and model, `seeds` seeds each count flips among `points` top points; seed i's rate is
    logistic(logit(p) + N(0, seed_logit_sd^2)) with p = flip_rate_relu (2L-ReLU) or ratio * flip_rate_relu
    (MLP-Attn); counts ~ Binomial(points, rate_i). Coverage is of `ratio` = p_a / p_b (with seed spread the ratio
    of mean rates differs from it by a few per cent at seed_logit_sd = 0.3)."""
    rng = np.random.default_rng(seed)
    p_b = noise.flip_rate_relu
    p_a = ratio * p_b
    if not 0 < p_a < 1:
        raise ValueError(f"ratio * flip_rate_relu must lie in (0, 1), got {p_a}")

    def counts(p):
        logit = np.log(p / (1 - p)) + noise.seed_logit_sd * rng.standard_normal((sims, seeds))
        return rng.binomial(points, 1 / (1 + np.exp(-logit)))

    tot = np.full((sims, seeds), points)
    _, lo, hi = claims.log_ratio_interval(counts(p_a), tot, counts(p_b), tot, level=level)
    st = [claims.band_rule((a, b), band) for a, b in zip(lo, hi, strict=True)]
    return _rates(st, (lo <= ratio) & (ratio <= hi), ratio, scenario)


# -- chapters 3 and 5: a direction from per-seed slopes ---------------------------------------------------


def simulate_trend(slope: float, *, seeds: int, sims: int = 2000, noise: Noise = NOISE, seed: int = 0,
                   level: float = 0.95, claimed: str = "increasing", scenario: str = "") -> dict:
    """`claims.trend_rule(claimed, t-interval)` on `seeds` per-seed slopes ~ N(slope, slope_sd^2)."""
    rng = np.random.default_rng(seed)
    x = slope + noise.slope_sd * rng.standard_normal((sims, seeds))
    m, s = x.mean(1), x.std(1, ddof=1)
    half = stats.t.ppf(0.5 + level / 2, seeds - 1) * s / math.sqrt(seeds)
    lo, hi = m - half, m + half
    st = [claims.trend_rule(claimed, (a, b)) for a, b in zip(lo, hi, strict=True)]
    return _rates(st, (lo <= slope) & (slope <= hi), slope, scenario)


# -- chapter 2: exponents of m* against kappa(G) ------------------------------------------------------------


def _quantised_log10_widths(rng, log10_kappas, exponent, sims, sd):
    """log10 m* on the factor-2 width grid: the first power of two at or above 10^(exponent log10 kappa + noise)."""
    y = 1.0 + exponent * log10_kappas[None, :] + sd * rng.standard_normal((sims, log10_kappas.size))
    return np.ceil(y / np.log10(2.0)) * np.log10(2.0)


def _slope_interval(x, y, level):
    """OLS slope of each row of y on x with its t interval widened by the grid resolution log10(2) / ptp(x)
    (as `experiments.spectral.width_law_fits` does); y: (sims, p)."""
    xc = x - x.mean()
    b = (y - y.mean(1, keepdims=True)) @ xc / (xc @ xc)
    resid = y - y.mean(1, keepdims=True) - b[:, None] * xc[None, :]
    se = np.sqrt((resid**2).sum(1) / (x.size - 2) / (xc @ xc))
    half = stats.t.ppf(0.5 + level / 2, x.size - 2) * se
    return b, half


def simulate_exponent_difference(diff: float, *, log10_kappas, sims: int = 2000, noise: Noise = NOISE,
                                 seed: int = 0, level: float = 0.95, scenario: str = "") -> dict:
    """`claims.one_sided_rule(interval, 0, side="above")` on the exponent of m*(MLP-Attn) / m*(2L-ReLU) against
    kappa(G): both widths drawn on the factor-2 grid (2L-ReLU exponent 0, MLP-Attn `diff`, scatter
    width_log10_sd each), the log ratio fitted on log10 kappa, its (level) interval widened by 2 log10(2) / ptp
    (two quantised widths). The chapter's level 0.95 makes it a one-sided 0.025 test."""
    rng = np.random.default_rng(seed)
    x = np.asarray(log10_kappas, np.float64)
    ya = _quantised_log10_widths(rng, x, diff, sims, noise.width_log10_sd)
    yb = _quantised_log10_widths(rng, x, 0.0, sims, noise.width_log10_sd)
    b, half = _slope_interval(x, ya - yb, level)
    half = half + 2 * np.log10(2.0) / np.ptp(x)
    lo, hi = b - half, b + half
    st = [claims.one_sided_rule((a, c), 0.0, side="above") for a, c in zip(lo, hi, strict=True)]
    return _rates(st, (lo <= diff) & (diff <= hi), diff, scenario)


def simulate_flat_exponent(exponent: float, *, log10_kappas, sims: int = 2000, noise: Noise = NOISE, seed: int = 0,
                           margin: float = FLAT_MARGIN, level: float = 0.95, scenario: str = "") -> dict:
    """`claims.equivalence_rule(interval, margin)` (TOST, 0.025 each side with the chapter's 95 % interval) on the exponent of one
    model's m* against kappa(G), drawn on the factor-2 grid; its interval widened by log10(2) / ptp."""
    rng = np.random.default_rng(seed)
    x = np.asarray(log10_kappas, np.float64)
    b, half = _slope_interval(x, _quantised_log10_widths(rng, x, exponent, sims, noise.width_log10_sd), level)
    half = half + np.log10(2.0) / np.ptp(x)
    lo, hi = b - half, b + half
    st = [claims.equivalence_rule((a, c), margin) for a, c in zip(lo, hi, strict=True)]
    return _rates(st, (lo <= exponent) & (exponent <= hi), exponent, scenario)


# -- a specification grid ----------------------------------------------------------------------------------


def simulate_grid(effect: float, *, configurations: int, seeds: int, sims: int = 500, noise: Noise = NOISE,
                  seed: int = 0, alpha: float = 0.05, scenario: str = "") -> dict:
    """`claims.grid_rule` on `claims.sign_flip_count_test` for a grid of `configurations` sharing `seeds` seeds:
    effect[c, i] = effect exp(config_sd z_c) + seed_logit_sd (u_i + v_ci): configurations differ in the size of
    the effect, not its sign (with effect = 0 every configuration is null), plus a shared seed term and own noise.
    Coverage is not defined for a count test (nan)."""
    rng = np.random.default_rng(seed)
    st = []
    for _ in range(sims):
        e = (effect * np.exp(noise.config_sd * rng.standard_normal((configurations, 1)))
             + noise.seed_logit_sd * (rng.standard_normal((1, seeds)) + rng.standard_normal((configurations, seeds))))
        st.append(claims.grid_rule(claims.sign_flip_count_test(e), side="above", alpha=alpha))
    return _rates(st, None, effect, scenario)


# -- chapter 4's poisoning comparison and chapter 5's two-sided comparisons ------------------------------


def _wilson(k, n, level=0.95):
    z = stats.norm.ppf(0.5 + level / 2)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def simulate_poisoning(diff: float, *, trials: int, sims: int = 2000, noise: Noise = NOISE, seed: int = 0,
                       scenario: str = "") -> dict:
    """The poisoning rules (report.malleability `_separated` on Wilson intervals): `trials` targets pooled over
    seeds; the control succeeds with poison_rate, the attack with poison_rate + diff; holds when the attack's
    Wilson interval lies above the control's."""
    rng = np.random.default_rng(seed)
    p0 = noise.poison_rate
    p1 = p0 + diff
    if not 0 <= p1 <= 1:
        raise ValueError(f"poison_rate + diff must lie in [0, 1], got {p1}")
    k1, k0 = rng.binomial(trials, p1, sims), rng.binomial(trials, p0, sims)
    a, b = _wilson(k1, trials), _wilson(k0, trials)
    st = np.where(a[0] > b[1], claims.HOLDS, np.where(a[1] < b[0], claims.DOES_NOT_HOLD, claims.NOT_RESOLVED))
    return _rates(list(st), None, diff, scenario)


def simulate_paired_sides(effect: float, *, seeds: int, sims: int = 2000, noise: Noise = NOISE, seed: int = 0,
                          scenario: str = "") -> dict:
    """Chapter 5's power rule (`report.dual.power_status`): per seed a log error ratio on aligned targets
    ~ N(-effect, power_sd^2) and on unaligned ones ~ N(+effect, power_sd^2); t-intervals over seeds; holds when
    the aligned one lies below 0 and the unaligned above. Coverage: of the aligned interval."""
    from ntkbook.report import dual

    rng = np.random.default_rng(seed)
    q = stats.t.ppf(0.975, seeds - 1)

    def iv(mean):
        x = mean + noise.power_sd * rng.standard_normal((sims, seeds))
        m, h = x.mean(1), q * x.std(1, ddof=1) / math.sqrt(seeds)
        return m - h, m + h

    al, un = iv(-effect), iv(effect)
    st = [dual.power_status((a, b), (c, d)) for a, b, c, d in zip(*al, *un, strict=True)]
    return _rates(st, (al[0] <= -effect) & (-effect <= al[1]), effect, scenario)


# -- tables and designs ------------------------------------------------------------------------------------


def oc_frame(rows) -> pd.DataFrame:
    """The rows of two scenarios (claim true, claim false by the margin) as one table."""
    return pd.DataFrame(list(rows), columns=["scenario", "truth", "holds", "partly", "not resolved",
                                             "does not hold", "coverage", "sims"])


def design_of(name: str, table: pd.DataFrame, needed: str = "") -> claims.Design:
    """A `claims.Design` from an OC table: power = P(holds) in the "true" row, false_holds = P(holds) in the
    "false" row."""
    t = table.set_index("scenario")
    return claims.Design(name, float(t.loc["true", "holds"]), float(t.loc["false", "holds"]), needed)


def smallest_deciding(simulate, sizes, **kwargs) -> int | None:
    """The first size in `sizes` at which simulate(size, scenario) (returning an OC row for "true" and "false")
    decides (power >= MIN_POWER and false holds <= MAX_FALSE_HOLDS); None if none does."""
    for size in sizes:
        t, f = simulate(size, "true", **kwargs), simulate(size, "false", **kwargs)
        if claims.Design("", t["holds"], f["holds"]).decides:
            return int(size)
    return None


# -- chapter 4: a ratio of control-excess flip rates in a band ------------------------------------------------


def simulate_excess_ratio_band(ratio: float, *, seeds: int, points: int, band: tuple[float, float],
                               sims: int = 2000, noise: Noise = NOISE, seed: int = 0, level: float = 0.95,
                               scenario: str = "") -> dict:
    """`claims.band_rule` on `ntkbook.excess.excess_ratio_interval` for a true ratio `ratio` of MLP-Attn's to
    2L-ReLU's flip rate in excess of the random-sign control.

    Per simulated data set, model and seed, the attack flips Binomial(points, a_i) and the control
    Binomial(points, c_i) of the same `points` top points (drawn independently: the variance the rule must cover
    is then the largest the pairing allows), with a_i, c_i the rates c + e and c (control_rate, and
    excess_relu for 2L-ReLU, ratio * excess_relu for MLP-Attn) moved per seed by N(0, seed_logit_sd²) on the
    logit scale. Coverage is of `ratio`."""
    from ntkbook import excess

    rng = np.random.default_rng(seed)
    c, e_b = noise.control_rate, noise.excess_relu
    e_a = ratio * e_b
    if not (0 < c + e_a < 1 and 0 < c + e_b < 1 and 0 < c < 1):
        raise ValueError(f"control_rate + ratio * excess_relu must lie in (0, 1); got {c} + {e_a}")

    def counts(p):
        logit = np.log(p / (1 - p)) + noise.seed_logit_sd * rng.standard_normal((sims, seeds))
        return rng.binomial(points, 1 / (1 + np.exp(-logit)))

    tot = [points] * seeds
    xa, ca, xb, cb = counts(c + e_a), counts(c), counts(c + e_b), counts(c)
    st, covered = [], []
    for i in range(sims):
        _, lo, hi = excess.excess_ratio_interval(xa[i], ca[i], tot, xb[i], cb[i], tot, level=level)
        st.append(claims.band_rule((lo, hi), band))
        covered.append(lo <= ratio <= hi)
    return _rates(st, np.asarray(covered), ratio, scenario)
# -- chapter 3: "flat" / a rate by equivalence, and the non-monotone shape ----------------------------------

#: a slope fitted on half the widths spreads this many times more between seeds than one fitted on all of them
#: (half the log-range, about half the points: 2 x sqrt(2) ~ 2.8 for evenly spaced widths; 2.5 stated)
HALF_SLOPE_FACTOR = 2.5


def simulate_slope_equivalence(slope: float, *, seeds: int, centre: float, margin: float, sims: int = 2000,
                               noise: Noise = NOISE, seed: int = 0, level: float = 0.95, scenario: str = "") -> dict:
    """`claims.equivalence_rule(t-interval, margin, centre=centre)` on `seeds` per-seed slopes ~ N(slope,
    slope_sd^2): chapter 3's "flat" (centre 0) and the linearised network's m^(-1/2) rate (centre -1/2)."""
    rng = np.random.default_rng(seed)
    x = slope + noise.slope_sd * rng.standard_normal((sims, seeds))
    m, s = x.mean(1), x.std(1, ddof=1)
    half = stats.t.ppf(0.5 + level / 2, seeds - 1) * s / math.sqrt(seeds)
    lo, hi = m - half, m + half
    st = [claims.equivalence_rule((a, b), margin, centre=centre) for a, b in zip(lo, hi, strict=True)]
    return _rates(st, (lo <= slope) & (slope <= hi), slope, scenario)


def simulate_shape(early: float, late: float, *, seeds: int, sims: int = 2000, noise: Noise = NOISE, seed: int = 0,
                   level: float = 0.95, scenario: str = "") -> dict:
    """Chapter 3's "non-monotonic, then increasing" (`report.ntk_distance_rules.shape_status`) on `seeds` per-seed
    early and late half-width slopes ~ N(early, (f sd)^2), N(late, (f sd)^2), f = HALF_SLOPE_FACTOR; coverage is of
    the late slope."""
    rng = np.random.default_rng(seed)
    sd = HALF_SLOPE_FACTOR * noise.slope_sd
    t = stats.t.ppf(0.5 + level / 2, seeds - 1) / math.sqrt(seeds)
    out, covered = [], []
    for _ in range(sims):
        e = early + sd * rng.standard_normal(seeds)
        la = late + sd * rng.standard_normal(seeds)
        ie = (e.mean() - t * e.std(ddof=1), e.mean() + t * e.std(ddof=1))
        il = (la.mean() - t * la.std(ddof=1), la.mean() + t * la.std(ddof=1))
        de, dl = claims.trend_from_interval(ie), claims.trend_from_interval(il)
        if dl == "decreasing" or (dl == "increasing" and de == "increasing"):
            out.append(claims.DOES_NOT_HOLD)
        elif dl == "increasing" and de == "decreasing":
            out.append(claims.HOLDS)
        else:
            out.append(claims.NOT_RESOLVED)
        covered.append(il[0] <= late <= il[1])
    return _rates(out, np.asarray(covered), late, scenario)
