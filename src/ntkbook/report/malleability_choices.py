"""Which of chapter 4's open choices decide the ratio: a linear model of the per-seed log ratio on all choices with
their pairwise interactions, and one F test per choice.

Observations are the per-seed log ratios `y_{c,s} = log(p_attn / p_relu)` of the configurations c whose every seed s
counts for both models (`report.malleability_rules.seed_effects`). The model is

    y_{c,s} = μ + Σ_j a_j[v_j(c)] + Σ_{j<l} b_jl[v_j(c), v_l(c)] + σ_s + ε_{c,s},

with a main effect per value of each choice j that varies in the grid (treatment coding), the pairwise interactions,
and a fixed effect per seed (the seeds share a split, an initialisation and a minibatch order across configurations).
A choice decides when dropping its main effect and every interaction it enters raises the residual sum of squares
significantly: the partial F test `F = ((RSS_reduced − RSS_full) / Δdf) / (RSS_full / df_full)`, p <= `ALPHA`.
Least squares in float64 (`numpy.linalg.lstsq`, ranks from its singular values), so aliased columns of an incomplete
grid cost nothing but their degrees of freedom.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from scipy import stats

from ntkbook.experiments import malleability as mx
from ntkbook.report.malleability_rules import seed_effects

ALPHA = 0.05
COLUMNS = ["choice", "values", "df", "F", "p", "decides"]


def _dummies(values: pd.Series) -> np.ndarray:
    levels = sorted(values.unique(), key=str)
    return np.stack([(values == v).to_numpy(np.float64) for v in levels[1:]], axis=1)


def _fit(x: np.ndarray, y: np.ndarray) -> tuple[float, int]:
    """(residual sum of squares, rank) of the least-squares fit of y on the columns of x."""
    coef, _, rank, _ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ coef
    return float(resid @ resid), int(rank)


def choice_tests(grid: pd.DataFrame, task: str, training: str = "standard", alpha: float = ALPHA) -> pd.DataFrame:
    """One row per choice that varies among the configurations of `task` with every seed counted: its number of
    `values`, the model degrees of freedom its terms add (`df`), the partial `F` and its `p`, and `decides`
    (p <= alpha). Empty when fewer than two such configurations or seeds exist, or no residual degree of freedom."""
    keys, effects = seed_effects(grid, task, training)
    c, k = effects.shape if effects.size else (0, 0)
    if c < 2 or k < 2:
        return pd.DataFrame(columns=COLUMNS)
    varying = [ch for ch in mx.CHOICES if keys[ch].nunique() > 1]
    mains = {ch: _dummies(keys[ch].astype(str)) for ch in varying}
    inter = {(a, b): np.einsum("ci,cj->cij", mains[a], mains[b]).reshape(c, -1)
             for a, b in itertools.combinations(varying, 2)}
    seeds = np.kron(np.ones((c, 1)), np.eye(k)[:, 1:])  # rows ordered (configuration, seed)
    y = effects.reshape(-1)

    def design(drop: str | None) -> np.ndarray:
        blocks = [np.ones((c, 1))] + [m for ch, m in mains.items() if ch != drop]
        blocks += [m for pair, m in inter.items() if drop not in pair]
        return np.hstack([np.repeat(np.hstack(blocks), k, axis=0), seeds])

    rss, rank = _fit(design(None), y)
    df_resid = c * k - rank
    if df_resid < 1 or rss <= 0:
        return pd.DataFrame(columns=COLUMNS)
    rows = []
    for ch in varying:
        rss_red, rank_red = _fit(design(ch), y)
        df = rank - rank_red
        f = ((rss_red - rss) / df) / (rss / df_resid) if df > 0 else float("nan")
        p = float(stats.f.sf(f, df, df_resid)) if df > 0 else float("nan")
        rows.append({"choice": ch, "values": int(keys[ch].nunique()), "df": int(df), "F": float(f), "p": p,
                     "decides": bool(df > 0 and p <= alpha)})
    return pd.DataFrame(rows, columns=COLUMNS)
