"""Flips in excess of a control: the ratio of two models' control-excess flip proportions, seeds clustered.

An attack flips `x_i` of the `n_i` most influential points of seed i; the random-sign control (same ℓ∞ budget, the
same top points) flips `c_i` of them. The flips the attack causes beyond what any perturbation of that size causes
are the excess `e_i = x_i − c_i`, pooled over seeds as

    E = Σ_i e_i / N,   N = Σ_i n_i,

with variance the larger of the cluster-robust (ratio-estimator) one, `k/(k−1) Σ_i (e_i − E n_i)² / N²`, and a
binomial floor for a paired difference, `(Σ x_i + Σ c_i + 1) / N²` (the discordant pairs are at most x + c; the 1
keeps zero counts from claiming certainty). The ratio of two models' excesses `R = E_a / E_b` gets Fieller's
interval (Fieller 1954): the set of R with `(E_a − R E_b)² <= q² (V_a + R² V_b)`, q the Student-t quantile with
k_a + k_b − 2 degrees of freedom. It is bounded only when E_b is significantly non-zero (`E_b² > q² V_b`);
otherwise it is reported as (−∞, ∞): the data cannot bound the ratio. Numbers only, float64.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

__all__ = ["pooled_excess", "excess_ratio_interval", "rate_interval", "excess_interval"]


def pooled_excess(attack, control, totals) -> tuple[float, float, int]:
    """(E, V, k): the pooled excess proportion `Σ(x_i − c_i) / Σ n_i`, its variance (cluster-robust or binomial
    floor, whichever is larger) and the number of seeds k. attack, control, totals: (k,) counts per seed."""
    x, c, n = (np.asarray(v, np.float64) for v in (attack, control, totals))
    if not (x.shape == c.shape == n.shape) or x.ndim != 1 or x.size < 1:
        raise ValueError(f"attack, control and totals must be 1-D of one length >= 1 (one per seed); got "
                         f"{x.shape}, {c.shape}, {n.shape}")
    if np.any(x < 0) or np.any(c < 0) or np.any(x > n) or np.any(c > n):
        raise ValueError("counts must satisfy 0 <= count <= total per seed")
    big_n = float(n.sum())
    if big_n <= 0:
        raise ValueError("the totals must not all be zero")
    e = x - c
    est = float(e.sum() / big_n)
    var = (x.sum() + c.sum() + 1.0) / big_n**2
    k = x.size
    if k > 1:
        var = max(var, k / (k - 1) * float(((e - est * n) ** 2).sum()) / big_n**2)
    return est, float(var), k


def excess_ratio_interval(attack_a, control_a, totals_a, attack_b, control_b, totals_b, *,
                          level: float = 0.95) -> tuple[float, float, float]:
    """(R, low, high): the ratio of model a's pooled control-excess flip proportion to model b's, with Fieller's
    `level` interval (module docstring). R is NaN when b's excess is 0; (low, high) = (−inf, inf) when b's excess
    is not significantly non-zero at `level` (the interval is unbounded)."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    ea, va, ka = pooled_excess(attack_a, control_a, totals_a)
    eb, vb, kb = pooled_excess(attack_b, control_b, totals_b)
    df = ka + kb - 2
    q = float(stats.t.ppf(0.5 + level / 2, df)) if df > 0 else float(stats.norm.ppf(0.5 + level / 2))
    ratio = ea / eb if eb != 0 else math.nan
    a = eb**2 - q**2 * vb
    if a <= 0:
        return ratio, -math.inf, math.inf
    half = q * math.sqrt(max(ea**2 * vb + eb**2 * va - q**2 * va * vb, 0.0))
    return ratio, (ea * eb - half) / a, (ea * eb + half) / a


def rate_interval(counts, totals, *, level: float = 0.95) -> tuple[float, float, float]:
    """(p, low, high): the pooled proportion `Σ x_i / Σ n_i` of per-seed counts with a seed-clustered Student-t
    `level` interval (the variance of `pooled_excess` with no control), clipped to [0, 1]."""
    counts = np.asarray(counts, np.float64)
    est, var, k = pooled_excess(counts, np.zeros_like(counts), totals)
    q = float(stats.t.ppf(0.5 + level / 2, k - 1)) if k > 1 else float(stats.norm.ppf(0.5 + level / 2))
    half = q * math.sqrt(var)
    return est, max(0.0, est - half), min(1.0, est + half)


def excess_interval(attack, control, totals, *, level: float = 0.95) -> tuple[float, float, float]:
    """(E, low, high): the pooled control-excess proportion (`pooled_excess`) with its Student-t `level` interval
    over the seeds (in [−1, 1])."""
    est, var, k = pooled_excess(attack, control, totals)
    q = float(stats.t.ppf(0.5 + level / 2, k - 1)) if k > 1 else float(stats.norm.ppf(0.5 + level / 2))
    half = q * math.sqrt(var)
    return est, max(-1.0, est - half), min(1.0, est + half)
