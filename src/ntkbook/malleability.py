"""Influence malleability: how much the influence scores of training points change when the training data moves.

Given influence scores before (`I`, shape (n,)) and after (`I'`) an intervention on the training data:

- **flip rate** (the paper's Definition 3.4): among the top τ most influential points (the `ceil(τ n)` largest
  `|I_i|`), the fraction whose influence changes sign, `#{i in top: sign(I'_i) != sign(I_i)} / #top`;
- **Spearman ρ** between the scores `I` and `I'` (rank correlation of the signed influences);
- **top-K overlap**: `|top_K(|I|) ∩ top_K(|I'|)| / K`.

The three interventions on the training set (arrays (n, d) of pixels):

- **Curated**: remove the top-τ points (the scores of the remaining points are compared, and the flip rate is
  taken over the top-τ of the *remaining* points, ranked by their original influence);
- **Transformed**: replace the top-τ points by adversarial versions (only those rows move);
- **Adversarial**: perturb every training point.

`INTERVENTIONS` names them; `row_budget` gives the per-row ℓ∞ budget that makes an attack move only chosen rows.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

INTERVENTIONS = ("curated", "transformed", "adversarial")


def _vector(name: str, v) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    if v.ndim != 1 or v.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of influence scores, got shape {v.shape}")
    return v


def _pair(before, after) -> tuple[np.ndarray, np.ndarray]:
    b, a = _vector("before", before), _vector("after", after)
    if b.shape != a.shape:
        raise ValueError(f"before and after must score the same points; got shapes {b.shape} and {a.shape}")
    return b, a


def top_count(n: int, tau: float) -> int:
    """`ceil(τ n)`, at least 1: how many points 'the top τ' holds. τ in (0, 1]."""
    if not 0 < tau <= 1:
        raise ValueError(f"tau must be in (0, 1]; got {tau}")
    return max(1, math.ceil(tau * n - 1e-9))


def top_indices(scores, k: int) -> np.ndarray:
    """Indices of the k largest `|scores|`, most influential first (ties: lower index first). (n,) -> (k,)."""
    s = _vector("scores", scores)
    if not 1 <= k <= s.size:
        raise ValueError(f"k must be in 1..{s.size}; got {k}")
    return np.argsort(-np.abs(s), kind="stable")[:k]


def flip_rate(before, after, tau: float = 0.1) -> float:
    """Fraction of the top-τ points by `|before|` whose influence changes sign: `mean_{i in top} [sign I'_i != sign I_i]`."""
    b, a = _pair(before, after)
    top = top_indices(b, top_count(b.size, tau))
    return float(np.mean(np.sign(a[top]) != np.sign(b[top])))


def spearman(before, after) -> float:
    """Spearman rank correlation ρ between the two score vectors (scipy.stats.spearmanr); in [-1, 1]."""
    b, a = _pair(before, after)
    if np.ptp(b) == 0 or np.ptp(a) == 0:
        raise ValueError("Spearman's rho is undefined when either score vector is constant")
    return float(stats.spearmanr(b, a).statistic)


def top_k_overlap(before, after, k: int) -> float:
    """`|top_K(|before|) ∩ top_K(|after|)| / K`, in [0, 1]."""
    b, a = _pair(before, after)
    return len(set(top_indices(b, k).tolist()) & set(top_indices(a, k).tolist())) / k


def measures(before, after, tau: float = 0.1) -> dict:
    """`{"flip_rate", "spearman", "topk_overlap"}` with K = the size of the top τ."""
    b, a = _pair(before, after)
    return {
        "flip_rate": flip_rate(b, a, tau),
        "spearman": spearman(b, a),
        "topk_overlap": top_k_overlap(b, a, top_count(b.size, tau)),
    }


def row_budget(n: int, rows, eps: float) -> np.ndarray:
    """Per-row ℓ∞ budget (n, 1): ε on `rows`, 0 elsewhere, so an attack given it moves only those rows."""
    budget = np.zeros((n, 1))
    budget[np.asarray(rows, dtype=int)] = eps
    return budget


def curated(x: np.ndarray, scores, tau: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Curated intervention: drop the top-τ points by |scores|. Returns `(x[keep], keep)`, keep (n − k,) sorted."""
    s = _vector("scores", scores)
    if len(x) != s.size:
        raise ValueError(f"x has {len(x)} rows but there are {s.size} scores")
    keep = np.setdiff1d(np.arange(s.size), top_indices(s, top_count(s.size, tau)))
    return np.asarray(x)[keep], keep


def transformed(x: np.ndarray, x_adv: np.ndarray, scores, tau: float = 0.1) -> np.ndarray:
    """Transformed intervention: the top-τ rows of x by |scores| replaced by the same rows of x_adv; (n, d)."""
    s = _vector("scores", scores)
    x, x_adv = np.asarray(x), np.asarray(x_adv)
    if x.shape != x_adv.shape or len(x) != s.size:
        raise ValueError(f"x {x.shape}, x_adv {x_adv.shape} and scores ({s.size},) must describe the same points")
    out = x.copy()
    top = top_indices(s, top_count(s.size, tau))
    out[top] = x_adv[top]
    return out


def curated_flip_rate(before, after_kept, keep, tau: float = 0.1) -> dict:
    """Measures for the Curated intervention: compare `before[keep]` with the recomputed `after_kept` (the scores of
    the kept points on the reduced set); the flip rate is over the top τ of the kept points by `|before|`."""
    b = _vector("before", before)
    return measures(b[np.asarray(keep, dtype=int)], after_kept, tau)


def measures_or_nan(before, after, tau: float = 0.1) -> dict:
    """`measures`, with NaN where a measure is undefined instead of an error (for sweeps that must record every unit).

    A constant `before` (e.g. a network whose units all went dead gives zero influences) has no "most influential"
    points: every measure is NaN. A constant `after` leaves the flip rate and the top-K overlap defined but not
    Spearman's ρ (NaN).
    """
    b, a = _pair(before, after)
    if np.ptp(b) == 0:
        return {"flip_rate": float("nan"), "spearman": float("nan"), "topk_overlap": float("nan")}
    if np.ptp(a) == 0:
        return {"flip_rate": flip_rate(b, a, tau), "spearman": float("nan"),
                "topk_overlap": top_k_overlap(b, a, top_count(b.size, tau))}
    return measures(b, a, tau)
