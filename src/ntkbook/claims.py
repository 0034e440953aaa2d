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
    chapter: the document name of that section; beyond_paper: True for our own results beyond the paper's claims.
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


def combine(statuses) -> str:
    """One status for a claim with several parts: all `holds` -> holds; none holds and at least one
    `does not hold` -> does not hold; some hold and some do not -> partly; otherwise (a part not resolved, not
    evaluable or not run, and nothing failed) the weakest of those parts."""
    statuses = list(statuses)
    if not statuses:
        raise ValueError("combine needs at least one status")
    for s in statuses:
        if s not in STATUSES:
            raise ValueError(f"unknown status {s!r}; use one of {STATUSES}")
    if all(s == HOLDS for s in statuses):
        return HOLDS
    held, failed = HOLDS in statuses or PARTLY in statuses, DOES_NOT_HOLD in statuses
    if failed:
        return PARTLY if held else DOES_NOT_HOLD
    if PARTLY in statuses and all(s in (HOLDS, PARTLY) for s in statuses):
        return PARTLY
    return max((s for s in statuses if s not in (HOLDS, PARTLY)), key=STATUSES.index)


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
