"""Verdicts as data: the status vocabulary, the `Verdict` record and generic decision rules.

A verdict is the outcome of a *rule* applied to measured numbers and their uncertainty. It carries the paper's
value, ours with its interval, the rule in words, the profile and configuration it was measured under and the
section of the book that shows it. Words for readers come from the report layer (`ntkbook.report`), which formats
verdicts; computation modules never build one.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import numpy as np

#: The one status vocabulary of the book, strongest to weakest evidence.
HOLDS, PARTLY, DOES_NOT_HOLD = "holds", "partly", "does not hold"
NOT_RESOLVED, NOT_EVALUABLE, NOT_RUN = "not resolved", "not evaluable", "not run"
STATUSES = (HOLDS, PARTLY, DOES_NOT_HOLD, NOT_RESOLVED, NOT_EVALUABLE, NOT_RUN)


@dataclasses.dataclass(frozen=True)
class Verdict:
    """One claim's verdict.

    claim: stable id (e.g. "table1.trend.mnist.MLP-Attn"); statement: what is claimed; status: one of `STATUSES`;
    paper_value: the paper's number or wording (None if it states none); ours: our point estimate; interval: our
    interval (its level is named in `rule`); rule: the decision rule in words; profile: the profile measured under;
    config: ((knob, value), ...) of the configuration; section: the MyST label of the section that decides it;
    chapter: the document name of that section; beyond_paper: True for our own results beyond the paper's claims;
    design: the id of the operating-characteristics table of the rule's design on the page "How the verdicts are
    tested" (`ntkbook.report.verdict_tests.PAGE`, anchor ``design-<id>``), "" where the rule is not empirical.
    """

    claim: str
    statement: str
    status: str
    paper_value: float | str | None
    ours: float | None
    interval: tuple[float, float] | None
    rule: str
    profile: str
    config: tuple = ()
    section: str = ""
    chapter: str = ""
    beyond_paper: bool = False
    design: str = ""

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")
        if self.interval is not None:
            lo, hi = self.interval
            if not lo <= hi:
                raise ValueError(f"interval must satisfy low <= high, got {self.interval}")
            object.__setattr__(self, "interval", (float(lo), float(hi)))
        if isinstance(self.config, Mapping):
            object.__setattr__(self, "config", config_items(self.config))

    def as_row(self) -> dict:
        """The verdict as a flat dict (one row of the claims table)."""
        row = dataclasses.asdict(self)
        row["interval_low"], row["interval_high"] = self.interval if self.interval is not None else (None, None)
        row.pop("interval")
        row["config"] = ", ".join(f"{k}={v}" for k, v in self.config)
        return row


def config_items(config: Mapping) -> tuple:
    """A mapping of knobs as a sorted tuple of (name, value) pairs, hashable and stable; lists become tuples."""
    return tuple(sorted((str(k), tuple(v) if isinstance(v, list) else v) for k, v in config.items()))


# ----------------------------------------------------------------------------------------------------------
# Generic rules: measured numbers (and their uncertainty) in, one status out
# ----------------------------------------------------------------------------------------------------------


def _finite(*values) -> bool:
    return all(v is not None and math.isfinite(float(v)) for v in values)


def _interval(interval) -> tuple[float, float] | None:
    if interval is None:
        return None
    lo, hi = (float(v) for v in interval)
    if math.isnan(lo) or math.isnan(hi):
        return None
    if lo > hi:
        raise ValueError(f"interval must satisfy low <= high, got {interval}")
    return lo, hi


def tolerance_rule(error: float, tol: float, *, resolvable: bool = True) -> str:
    """An exact identity checked numerically: `holds` if error <= tol, else `does not hold`.

    error: the measured deviation (>= 0); tol: the largest deviation rounding can explain (from an error bound,
    not from what was seen). `not evaluable` when the error is not a finite number or the precision used cannot
    resolve the quantity at all (resolvable=False, e.g. a condition number beyond 1/(n eps)).
    """
    if not tol > 0:
        raise ValueError(f"tol must be > 0, got {tol}")
    if not resolvable or not _finite(error):
        return NOT_EVALUABLE
    return HOLDS if abs(float(error)) <= tol else DOES_NOT_HOLD


def bound_rule(ratio: float, *, slack: float = 0.0) -> str:
    """An upper bound checked by its largest measured ratio (change / bound): `holds` if ratio <= 1 + slack,
    `does not hold` above; `not evaluable` when the ratio is not finite (e.g. a zero bound). slack >= 0 is the
    rounding allowance."""
    if slack < 0:
        raise ValueError(f"slack must be >= 0, got {slack}")
    if not _finite(ratio):
        return NOT_EVALUABLE
    return HOLDS if float(ratio) <= 1.0 + slack else DOES_NOT_HOLD


def interval_vs_value(value: float, interval, *, tol: float = 0.0, resolution: float = math.inf) -> str:
    """A claimed value against our interval for it.

    `does not hold` if the interval misses [value - tol, value + tol] (tol: how precisely the claim is meant);
    otherwise `holds` if the interval's half-width is <= resolution (narrow enough to tell the claim from its
    alternatives), else `not resolved`; `not evaluable` without a finite value or interval.
    """
    iv = _interval(interval)
    if iv is None or not _finite(value) or not (math.isfinite(iv[0]) or math.isfinite(iv[1])):
        return NOT_EVALUABLE
    if tol < 0:
        raise ValueError(f"tol must be >= 0, got {tol}")
    lo, hi = iv
    if hi < value - tol or lo > value + tol:
        return DOES_NOT_HOLD
    return HOLDS if (hi - lo) / 2 <= resolution else NOT_RESOLVED


def trend_from_interval(interval, *, tol: float = 0.0) -> str:
    """The direction an interval for a slope (or a difference) supports: "increasing" if it lies above tol,
    "decreasing" if below -tol, "flat" if inside [-tol, tol] (only for tol > 0), else "unresolved"."""
    iv = _interval(interval)
    if iv is None:
        return "unresolved"
    lo, hi = iv
    if lo > tol:
        return "increasing"
    if hi < -tol:
        return "decreasing"
    if tol > 0 and -tol <= lo and hi <= tol:
        return "flat"
    return "unresolved"


_TRENDS = ("increasing", "decreasing", "flat")


def trend_rule(claimed: str, interval, *, tol: float = 0.0) -> str:
    """A claimed direction ("increasing", "decreasing" or "flat") against the interval of the measured slope.

    `holds` if `trend_from_interval(interval, tol=tol)` is the claimed direction, `does not hold` if it is another
    direction, `not resolved` if the interval does not decide, `not evaluable` without an interval.
    """
    if claimed not in _TRENDS:
        raise ValueError(f"claimed must be one of {_TRENDS}, got {claimed!r}")
    if claimed == "flat" and not tol > 0:
        raise ValueError("a 'flat' claim needs tol > 0 (the slope that still counts as flat)")
    if _interval(interval) is None:
        return NOT_EVALUABLE
    ours = trend_from_interval(interval, tol=tol)
    if ours == "unresolved":
        return NOT_RESOLVED
    return HOLDS if ours == claimed else DOES_NOT_HOLD


def ratio_rule(ratio: float, interval, claimed: tuple[float, float]) -> str:
    """A claimed ratio range [low, high] (e.g. MLP-Attn flips 6–9× more) against our ratio and its interval.

    `holds` if the point estimate is in [low, high]; `does not hold` if the interval misses the range and, when the
    range lies on one side of 1, also misses that side (the direction is wrong too); `partly` if the interval
    misses the range but lies on the claimed side of 1 (the direction holds, the size does not); `not resolved`
    if the point is outside the range but the interval still reaches it; `not evaluable` without a finite ratio.
    """
    low, high = (float(v) for v in claimed)
    if not 0 <= low <= high:
        raise ValueError(f"claimed must be a range 0 <= low <= high, got {claimed}")
    iv = _interval(interval)
    if not _finite(ratio) or iv is None:
        return NOT_EVALUABLE
    if low <= ratio <= high:
        return HOLDS
    lo, hi = iv
    if hi >= low and lo <= high:
        return NOT_RESOLVED
    side_above, side_below = low > 1, high < 1
    if (side_above and lo > 1) or (side_below and hi < 1):
        return PARTLY
    return DOES_NOT_HOLD


def magnitude_rule(paper_value: float, ours: float, interval=None, *, decades: float = 1.0) -> str:
    """An order-of-magnitude claim (a stated value such as κ ≈ 1.2×10³): `holds` if our value is within
    `decades` powers of ten of the paper's; otherwise `does not hold` if the interval (default: the point) lies
    wholly outside that band, `not resolved` if it reaches into it. `not evaluable` without a positive paper value
    or any estimate. An infinite `ours` is a valid measurement (a singular matrix) and lies outside every band."""
    if not (_finite(paper_value) and float(paper_value) > 0):
        return NOT_EVALUABLE
    if ours is None or math.isnan(float(ours)) or float(ours) <= 0:
        return NOT_EVALUABLE
    lo_band, hi_band = math.log10(paper_value) - decades, math.log10(paper_value) + decades

    def log(v):
        return math.inf if math.isinf(v) else (-math.inf if v <= 0 else math.log10(v))

    if lo_band <= log(float(ours)) <= hi_band:
        return HOLDS
    iv = _interval(interval) or (float(ours), float(ours))
    if log(iv[1]) < lo_band or log(iv[0]) > hi_band:
        return DOES_NOT_HOLD
    return NOT_RESOLVED


def _parts(statuses, who: str) -> list[str]:
    """The statuses of a claim's parts as a list, each checked against `STATUSES` (ValueError naming `who`)."""
    statuses = list(statuses)
    if not statuses:
        raise ValueError(f"{who} needs at least one status")
    for s in statuses:
        if s not in STATUSES:
            raise ValueError(f"unknown status {s!r}; use one of {STATUSES}")
    return statuses


def combine(statuses) -> str:
    """One status for a claim with several parts: all `holds` -> holds; none holds and at least one
    `does not hold` -> does not hold; some hold and some do not -> partly; otherwise (a part not resolved, not
    evaluable or not run, and nothing failed) the weakest of those parts."""
    statuses = _parts(statuses, "combine")
    if all(s == HOLDS for s in statuses):
        return HOLDS
    held, failed = HOLDS in statuses or PARTLY in statuses, DOES_NOT_HOLD in statuses
    if failed:
        return PARTLY if held else DOES_NOT_HOLD
    if PARTLY in statuses and all(s in (HOLDS, PARTLY) for s in statuses):
        return PARTLY
    return max((s for s in statuses if s not in (HOLDS, PARTLY)), key=STATUSES.index)


def all_of(statuses) -> str:
    """One status for a conjunction ("both models' rates rise"): `holds` if every part holds, `does not hold` if any
    part does not hold (one failing part refutes a conjunction), otherwise the weakest remaining part (not
    resolved, not evaluable, not run; a part that is itself "partly" counts as not resolved). Never "partly": a
    conjunction is true or false."""
    statuses = _parts(statuses, "all_of")
    if all(s == HOLDS for s in statuses):
        return HOLDS
    if DOES_NOT_HOLD in statuses:
        return DOES_NOT_HOLD
    rest = [NOT_RESOLVED if s == PARTLY else s for s in statuses if s != HOLDS]  # a part that partly holds: open
    return max(rest, key=STATUSES.index)


def t_interval(values, level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): the mean of `values` with its Student-t `level` interval (mean ± t·s/√k).

    k = 1 gives an infinite interval (one value says nothing about its spread); NaNs are dropped; an empty input
    raises ValueError."""
    from scipy import stats

    v = [float(x) for x in values if not math.isnan(float(x))]
    if not v:
        raise ValueError("t_interval needs at least one number")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    k, mean = len(v), sum(v) / len(v)
    if k == 1:
        return mean, -math.inf, math.inf
    sd = math.sqrt(sum((x - mean) ** 2 for x in v) / (k - 1))
    half = float(stats.t.ppf(0.5 + level / 2, k - 1)) * sd / math.sqrt(k)
    return mean, mean - half, mean + half


def quotient_interval(num: tuple[float, float], den: tuple[float, float]) -> tuple[float, float]:
    """The interval of a / b for a in num = (low, high) and b in den = (low, high), all >= 0 (e.g. rates):
    (num_low / den_high, num_high / den_low), with x / 0 = inf."""
    (a_lo, a_hi), (b_lo, b_hi) = num, den
    if min(a_lo, b_lo) < 0:
        raise ValueError(f"quotient_interval needs non-negative intervals, got {num} and {den}")

    def div(a, b):
        return a / b if b > 0 else (math.inf if a > 0 else 0.0)

    return div(a_lo, b_hi), div(a_hi, b_lo)


def verdicts_frame(verdicts):
    """Verdicts as a tidy DataFrame (`Verdict.as_row` per verdict, in order); plain-typed columns."""
    import pandas as pd

    rows = [v.as_row() for v in verdicts]
    cols = [f.name for f in dataclasses.fields(Verdict) if f.name != "interval"] + ["interval_low", "interval_high"]
    return pd.DataFrame(rows, columns=cols)


# ----------------------------------------------------------------------------------------------------------
# Rules that can fail: declared inputs, one-sided where the claim is, equivalence for "flat", grid aggregation,
# and a design gate (issue: how we know the verdicts work; operating characteristics in `ntkbook.operating`)
# ----------------------------------------------------------------------------------------------------------

#: a design decides only if its simulated power to say "holds" when the claim is true is at least this ...
MIN_POWER = 0.8
#: ... and its chance of saying "holds" when the claim is false by the stated margin is at most this
MAX_FALSE_HOLDS = 0.05


def band_rule(interval, band: tuple[float, float]) -> str:
    """A quantity claimed to lie in `band` = (low, high), against our interval for it.

    `holds` if the interval lies inside the band, `does not hold` if it lies wholly outside (misses it), `not
    resolved` otherwise (it straddles an edge); `not evaluable` without a finite-ended interval. The band is the
    paper's range widened by a stated margin (declared by the caller); a point estimate alone never decides.
    """
    low, high = (float(v) for v in band)
    if not low <= high:
        raise ValueError(f"band must satisfy low <= high, got {band}")
    iv = _interval(interval)
    if iv is None:
        return NOT_EVALUABLE
    lo, hi = iv
    if low <= lo and hi <= high:
        return HOLDS
    if hi < low or lo > high:
        return DOES_NOT_HOLD
    return NOT_RESOLVED


def log_ratio_interval(counts_a, totals_a, counts_b, totals_b, *, level: float = 0.95) -> tuple[float, float, float]:
    """(ratio, low, high) of the ratio of two pooled proportions p_a / p_b from per-seed counts, seeds clustered.

    counts_*, totals_*: (k,) events and trials per seed. With x = sum counts + 1/2, N = sum totals + 1 (a
    continuity correction, so that zero counts give a finite bound), p = x / N, the variance of log p is the larger
    of the binomial one, (1 - p) / x, and the cluster-robust (ratio-estimator) one,
    k / (k - 1) sum_i (x_i - p n_i)^2 / (N p)^2, so that seed-to-seed spread beyond binomial widens the interval
    and too few seeds cannot shrink it below binomial. The interval is exp(log(p_a / p_b) ± t z) with
    z = sqrt(var_a + var_b) and t the Student-t quantile with k_a + k_b - 2 degrees of freedom (normal with one
    seed each). Vectorised: arrays of shape (..., k) give results of shape (...).
    """
    from scipy import stats

    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")

    def log_p(c, t):
        c, t = np.asarray(c, np.float64), np.asarray(t, np.float64)
        if c.shape != t.shape or c.shape[-1] < 1:
            raise ValueError(f"counts and totals must have the same shape (..., k >= 1), got {c.shape}, {t.shape}")
        if np.any(c < 0) or np.any(c > t):
            raise ValueError("counts must satisfy 0 <= count <= total")
        k = c.shape[-1]
        x, n = c.sum(-1) + 0.5, t.sum(-1) + 1.0
        p = x / n
        var = (1 - p) / x
        if k > 1:
            resid = c - p[..., None] * t
            var = np.maximum(var, k / (k - 1) * (resid**2).sum(-1) / (n * p) ** 2)
        return np.log(p), var, k

    la, va, ka = log_p(counts_a, totals_a)
    lb, vb, kb = log_p(counts_b, totals_b)
    df = ka + kb - 2
    q = float(stats.t.ppf(0.5 + level / 2, df)) if df > 0 else float(stats.norm.ppf(0.5 + level / 2))
    d, half = la - lb, q * np.sqrt(va + vb)
    out = np.exp(d), np.exp(d - half), np.exp(d + half)
    return tuple(float(v) for v in out) if np.ndim(d) == 0 else out


def pooled_sd(groups) -> float:
    """The pooled standard deviation sqrt(sum_g (k_g - 1) s_g^2 / sum_g (k_g - 1)) of several groups of values
    (NaNs dropped; groups with fewer than two values add nothing); nan when no group has two values."""
    num = den = 0.0
    for g in groups:
        v = np.asarray([x for x in g if x is not None and np.isfinite(x)], dtype=np.float64)
        if v.size >= 2:
            num += (v.size - 1) * float(v.var(ddof=1))
            den += v.size - 1
    return math.sqrt(num / den) if den > 0 else math.nan


def paired_difference(a, b, *, level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high) of the per-seed paired differences a_i - b_i with their Student-t `level` interval
    (`t_interval`); a and b are (k,) values of the same seeds."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"a and b must be 1-D of the same length (one value per seed), got {a.shape}, {b.shape}")
    return t_interval(a - b, level)


def one_sided_rule(interval, threshold: float = 0.0, *, side: str = "above") -> str:
    """A one-sided claim ("the quantity is above threshold", side="above"; or "below") against a two-sided
    (1 - 2 alpha) interval, i.e. two one-sided alpha tests: `holds` if the interval lies on the claimed side of the
    threshold, `does not hold` if it lies wholly on the other side, `not resolved` otherwise. A claim such as
    "m >> 10^18" is one-sided: a value far above the threshold supports it, it does not refute it."""
    if side not in ("above", "below"):
        raise ValueError(f"side must be 'above' or 'below', got {side!r}")
    iv = _interval(interval)
    if iv is None or not _finite(threshold):
        return NOT_EVALUABLE
    lo, hi = iv
    if side == "below":
        lo, hi, threshold = -hi, -lo, -float(threshold)
    if lo > threshold:
        return HOLDS
    if hi < threshold:
        return DOES_NOT_HOLD
    return NOT_RESOLVED


def equivalence_rule(interval, margin: float, *, centre: float = 0.0) -> str:
    """"Flat" (or "equal to centre") by an equivalence test (TOST): with a (1 - 2 alpha) interval, `holds` if it
    lies inside (centre - margin, centre + margin) (both one-sided tests reject a difference of margin or more),
    `does not hold` if it lies wholly outside that band (a difference beyond the margin is shown), else `not
    resolved`. margin > 0 is the largest difference that still counts as none, declared by the caller."""
    if not margin > 0:
        raise ValueError(f"margin must be > 0, got {margin}")
    iv = _interval(interval)
    if iv is None:
        return NOT_EVALUABLE
    lo, hi = iv
    if centre - margin < lo and hi < centre + margin:
        return HOLDS
    if hi <= centre - margin or lo >= centre + margin:
        return DOES_NOT_HOLD
    return NOT_RESOLVED


def grid_counts(statuses) -> dict:
    """How many configurations of a specification grid decide each way: {holds, does not hold, not resolved,
    not evaluable, ...} (every status of `STATUSES`, zeros included)."""
    statuses = list(statuses)
    for s in statuses:
        if s not in STATUSES:
            raise ValueError(f"unknown status {s!r}; use one of {STATUSES}")
    return {s: statuses.count(s) for s in STATUSES}


def sign_flip_count_test(effects, *, level: float = 0.95, max_draws: int = 4096, seed: int = 0) -> dict:
    """The joint test of a specification grid against its null curve (Simonsohn, Simmons & Nelson 2020), by
    sign flips of the seeds.

    effects: (c, k) per-configuration, per-seed effects (e.g. log MLP-Attn flip rate minus log 2L-ReLU's, or the
    difference from a claimed value), the same k seeds in every configuration (configurations share seeds, so a
    seed's sign is flipped in all of them at once, which keeps their dependence). Per configuration the one-sample
    t statistic; a configuration counts as significant above (below) 0 when its t exceeds the two-sided `level`
    quantile (is below its negative). The null curve: the effects with each configuration's mean removed (the
    null made true), under all 2^k sign patterns when 2^k <= max_draws, else max_draws
    seeded random patterns. Returns {"above", "below": observed counts; "p_above", "p_below":
    (1 + #null patterns with at least as many significant configurations that way) / (1 + patterns); "patterns";
    and "smallest_p": 1 / (1 + patterns) (with 3 seeds no grid can be significant at 0.05: 8 patterns)}.
    """
    from scipy import stats

    e = np.asarray(effects, np.float64)
    if e.ndim != 2 or e.shape[1] < 2:
        raise ValueError(f"effects must be (configurations, seeds >= 2), got shape {e.shape}")
    c, k = e.shape
    if k <= int(math.log2(max_draws)):
        signs = 1 - 2 * ((np.arange(2**k)[:, None] >> np.arange(k)) & 1)
    else:
        signs = np.random.default_rng(seed).choice([-1.0, 1.0], size=(max_draws, k))
        signs[0] = 1.0
    q = float(stats.t.ppf(0.5 + level / 2, k - 1))

    def counts(x):  # x: (..., c, k) -> (above, below) counts over c
        m, s = x.mean(-1), x.std(-1, ddof=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(s > 0, m * math.sqrt(k) / np.where(s > 0, s, 1.0), np.sign(m) * np.inf)
        return (t > q).sum(-1), (t < -q).sum(-1)

    above, below = counts(e)
    # the null curve from data made to satisfy the null (each configuration's mean effect removed, as Simonsohn et
    # al. do), seeds' signs flipped jointly: it keeps the seed-to-seed spread and the dependence between configurations
    null = e - e.mean(1, keepdims=True)
    null_above, null_below = counts(null[None] * signs[:, None, :])
    return {"above": int(above), "below": int(below), "configurations": c,
            "p_above": float((1 + np.sum(null_above >= above)) / (1 + signs.shape[0])),
            "p_below": float((1 + np.sum(null_below >= below)) / (1 + signs.shape[0])),
            "patterns": int(signs.shape[0]), "smallest_p": 1.0 / (1 + signs.shape[0])}


def grid_rule(test: dict, *, side: str = "above", alpha: float = 0.05) -> str:
    """A claim over a specification grid from `sign_flip_count_test`: `holds` if the count of configurations
    significant on the claimed side is itself significant against the null curve (p <= alpha), `does not hold` if
    the count on the other side is, else `not resolved` (with one configuration holding and one failing the grid
    says neither, unless the joint test decides)."""
    if side not in ("above", "below"):
        raise ValueError(f"side must be 'above' or 'below', got {side!r}")
    other = "below" if side == "above" else "above"
    yes = test[side] > 0 and test[f"p_{side}"] <= alpha
    no = test[other] > 0 and test[f"p_{other}"] <= alpha
    if yes and not no:
        return HOLDS
    if no and not yes:
        return DOES_NOT_HOLD
    return NOT_RESOLVED


@dataclasses.dataclass(frozen=True)
class Design:
    """A decision design and its simulated operating characteristics (`ntkbook.operating`).

    name: the id of its table on the page "How the verdicts are tested"; power: P("holds" | claim true);
    false_holds: P("holds" | claim false by the stated margin); needed: the smallest design (in words, e.g.
    "8 seeds") that meets the thresholds, or "" if this one does."""

    name: str
    power: float
    false_holds: float
    needed: str = ""

    @property
    def decides(self) -> bool:
        """True when power >= MIN_POWER and false_holds <= MAX_FALSE_HOLDS."""
        return self.power >= MIN_POWER and self.false_holds <= MAX_FALSE_HOLDS


def gated(status: str, design: Design) -> str:
    """A rule's status passed through its design: an underpowered design (`Design.decides` False) turns
    `holds`, `partly` and `does not hold` into `not resolved` by construction; other statuses pass."""
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}; use one of {STATUSES}")
    if design.decides or status not in (HOLDS, PARTLY, DOES_NOT_HOLD):
        return status
    return NOT_RESOLVED
