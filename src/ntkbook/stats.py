"""Statistics shared by every chapter: log-log fits, Student-t, Wilson and bootstrap intervals.

One implementation of each, so that two chapters never fit or bound the same quantity two ways. Pure functions of
arrays; randomness (the bootstrap) only through an explicit seed.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

__all__ = ["fit_power_law", "loglog_fit", "ratio_interval", "wilson_interval"]


def loglog_fit(x, y, *, base: float = 10) -> tuple[float, float]:
    """Least-squares line through the points in log-log coordinates: `log_b y = slope * log_b x + intercept`.

    x, y: positive, the same shape (k,), k >= 2; base: 10 or `math.e` (the slope does not depend on it, the
    intercept does). Returns (slope, intercept). Raises ValueError for other shapes, fewer than two points or a
    non-positive value.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.size < 2:
        raise ValueError(f"x and y must have the same shape with >= 2 points, got {x.shape} and {y.shape}")
    if np.any(x <= 0) or np.any(y <= 0):
        raise ValueError("a log-log fit needs positive x and y")
    if base == 10:
        lx, ly = np.log10(x), np.log10(y)
    elif base == math.e:
        lx, ly = np.log(x), np.log(y)
    else:
        raise ValueError(f"base must be 10 or math.e, got {base!r}")
    slope, intercept = np.polyfit(lx, ly, 1)
    return float(slope), float(intercept)


def fit_power_law(x, y, *, level: float = 0.95) -> dict:
    """Least-squares fit of log10 y = a + b log10 x: the exponent b with a `level` confidence interval.

    x, y: (k,) positive; non-finite pairs are dropped (counted in n_dropped). The interval is
    b +- t_{k-2, (1+level)/2} * se(b) (scipy.stats.linregress). Needs at least 3 usable points.
    A constant y gives exponent 0 with the empty interval [0, 0] (r2 nan).
    Returns dict(exponent, lo, hi, log10_prefactor, r2, n_points, n_dropped).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-D of the same length, got {x.shape} and {y.shape}")
    ok = np.isfinite(x) & np.isfinite(y)
    if np.any(ok & ((x <= 0) | (y <= 0))):
        raise ValueError("a power-law fit needs positive x and y")
    if ok.sum() < 3:
        raise ValueError(f"a power-law fit with an interval needs at least 3 finite points, got {int(ok.sum())}")
    lx, ly = np.log10(x[ok]), np.log10(y[ok])
    if np.ptp(lx) == 0:
        raise ValueError("x must take at least two distinct values")
    k = int(ok.sum())
    if np.ptp(ly) == 0:  # a constant y (e.g. the same power-of-two width everywhere): slope exactly 0
        return {"exponent": 0.0, "lo": 0.0, "hi": 0.0, "log10_prefactor": float(ly[0]), "r2": float("nan"),
                "n_points": k, "n_dropped": int((~ok).sum())}
    res = stats.linregress(lx, ly)
    half = float(stats.t.ppf(0.5 + level / 2, k - 2) * res.stderr) if k > 2 else float("nan")
    return {"exponent": float(res.slope), "lo": float(res.slope - half), "hi": float(res.slope + half),
            "log10_prefactor": float(res.intercept), "r2": float(res.rvalue**2), "n_points": k,
            "n_dropped": int((~ok).sum())}


def wilson_interval(successes: int, trials: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion, inside [0, 1]; (nan, nan) without trials.

    `(p̂ + z²/2k ± z √(p̂(1−p̂)/k + z²/4k²)) / (1 + z²/k)` with k trials and z the normal quantile of `level`.
    """
    if trials < 0 or not 0 <= successes <= max(trials, 0):
        raise ValueError(f"need 0 <= successes <= trials; got {successes}, {trials}")
    if trials == 0:
        return float("nan"), float("nan")
    z = stats.norm.ppf(0.5 + level / 2)
    p, k = successes / trials, trials
    centre = (p + z * z / (2 * k)) / (1 + z * z / k)
    half = z * math.sqrt(p * (1 - p) / k + z * z / (4 * k * k)) / (1 + z * z / k)
    # the bounds are exactly 0 (no successes) and 1 (all): do not let rounding move them off
    return (0.0 if successes == 0 else max(0.0, centre - half)), (1.0 if successes == trials else min(1.0, centre + half))


def ratio_interval(attn, relu, *, level: float = 0.95, resamples: int = 4000, seed: int = 0
                   ) -> tuple[float, float, float]:
    """`(ratio, low, high)`: mean(attn) / mean(relu) over seeds, with a percentile bootstrap interval that
    resamples the seeds of each model independently (`resamples` draws, seeded). A zero denominator gives inf
    (and a NaN ratio when the numerator is 0 too); fewer than two seeds of a model give an infinite interval."""
    a, r = np.asarray(attn, np.float64), np.asarray(relu, np.float64)
    if a.size == 0 or r.size == 0:
        return float("nan"), float("nan"), float("nan")

    def quotient(num, den):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.where(num > 0, np.inf, np.nan))

    ratio = float(quotient(np.array(a.mean()), np.array(r.mean())))
    if a.size < 2 or r.size < 2:
        return ratio, 0.0, float("inf")
    rng = np.random.default_rng(seed)
    boot_a = a[rng.integers(0, a.size, (resamples, a.size))].mean(axis=1)
    boot_r = r[rng.integers(0, r.size, (resamples, r.size))].mean(axis=1)
    q = quotient(boot_a, boot_r)
    q = np.where(np.isnan(q), 1.0, q)  # 0/0: neither model flips in this draw; no evidence either way
    # inverted_cdf picks order statistics (no interpolation), so an infinite draw gives an infinite bound, not NaN
    lo, hi = np.quantile(q, [0.5 - level / 2, 0.5 + level / 2], method="inverted_cdf")
    return ratio, float(lo), float(hi)
