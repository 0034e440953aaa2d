"""Chapter 4's rules and its specification curve: the labels of the grid's choices, the status rules (one
configuration's ratio against the paper's band, the grid's joint test, Table 4's rise, poisoning), the curve of a task
with its literal and deciding configurations, which choices decide, and a curve's numbers. `ntkbook.report.malleability`
re-exports all of it beside the verdicts."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ntkbook import claims, operating, paper
from ntkbook.experiments import malleability as mx
from ntkbook.report import malleability_summary as summary

CHAPTER = "04_influence_malleability"
#: MyST labels of the sections that decide each claim (defined in the chapter's markdown).
SECTIONS = {"table2": "mall-grid", "table3": "mall-binary", "table4": "mall-adversarial",
            "poisoning": "mall-poisoning", "trained": "mall-trained"}
#: a choice decides the outcome when the share of evaluable configurations where the claim holds differs by at
#: least this much between two of its values (half of the configurations change their answer with it).
DECIDES = 0.5
TEN_CLASS = ("mnist", "cifar10")
BINARY = ("mnist-3v8", "cifar10-auto-air")
CHOICE_LABELS = {"loss": "influence loss", "l2_form": "L2 form", "width": "width m", "n_train": "n",
                 "reading": "influence reading", "protocol": "protocol", "attack": "attack"}
VALUE_LABELS = {"xent": "cross-entropy", "mse": "MSE", "w": "λ‖W‖²", "w-w0": "λ‖W−W₀‖²", "none": "none",
                "kernel": "kernel", "network": "network", "a": "(a) same weights", "b": "(b) retrained",
                "pgd": "PGD", "fgsm": "FGSM", "mim": "MIM", "random": "random"}
#: the same for the tables, typeset: math where the name is math (`ntkbook.notebook.table` renders ``$...$``)
TEX_CHOICE_LABELS = {"loss": "influence loss", "l2_form": "L2 penalty", "width": "$m$", "n_train": "$n$",
                     "reading": "reading", "protocol": "protocol", "attack": "attack"}
TEX_VALUE_LABELS = {**VALUE_LABELS, "w": r"$\lambda\lVert W\rVert^2$", "w-w0": r"$\lambda\lVert W-W_0\rVert^2$",
                    "a": "(a)", "b": "(b)"}
WEIGHT_RATIO = r"$\lVert W\rVert/\lVert W_0\rVert$"


# -- rules ----------------------------------------------------------------------------------------------------


def configuration_status(evaluable: bool, ratio: float, low: float, high: float, claimed) -> str:
    """One configuration's status: "not evaluable" unless both models learned (`evaluable`) and the ratio is
    defined (a NaN ratio: neither model flips); else `claims.band_rule` of the ratio's interval (low, high) against
    the paper's range widened by `operating.BAND_FACTOR` either way: "holds" only if the whole interval lies in that
    band, "does not hold" if it misses it, "not resolved" otherwise. The point estimate alone never decides; an
    infinite upper end (2L-ReLU never flips in some draw) is a valid interval."""
    if not evaluable or ratio is None or math.isnan(float(ratio)):
        return claims.NOT_EVALUABLE
    lo, hi = (float(v) for v in claimed)
    return claims.band_rule((low, high), (lo / operating.BAND_FACTOR, hi * operating.BAND_FACTOR))


def grid_status(statuses) -> str:
    """The claim over a grid from the statuses of its evaluable configurations ("not evaluable" when none is):
    "holds" if every one holds, "does not hold" if every one fails, otherwise "not resolved" (configurations
    deciding both ways do not make a claim hold in part; `claims.grid_counts` says how many decide each way, and
    `claims.sign_flip_count_test` is the joint test where per-seed effects are kept). The verdict passes it through
    the grid's design (`claims.gated`)."""
    kept = [s for s in statuses if s != claims.NOT_EVALUABLE]
    if not kept:
        return claims.NOT_EVALUABLE
    if all(s == claims.HOLDS for s in kept):
        return claims.HOLDS
    if all(s == claims.DOES_NOT_HOLD for s in kept):
        return claims.DOES_NOT_HOLD
    return claims.NOT_RESOLVED


def seed_counts(grid: pd.DataFrame) -> pd.DataFrame:
    """The per-seed flip counts behind the configurations: the unit rows (`experiments.malleability.sweep`'s
    "grid") that enter a ratio (evaluable, `n_flips` >= 0), columns `CONFIG_KEYS`, arch, seed, n_flips, n_top."""
    need = {*mx.CONFIG_KEYS, "arch", "seed", "n_flips", "n_top"}
    missing = need - set(grid.columns)
    if missing:
        raise ValueError(f"the grid rows lack {sorted(missing)}; pass the unit rows of mx.sweep(spec)['grid']")
    f = summary.with_evaluability(grid)
    f = f[f.evaluable & (f.n_flips >= 0)]
    return f[[*mx.CONFIG_KEYS, "arch", "seed", "n_flips", "n_top"]].reset_index(drop=True)


def seed_effects(grid: pd.DataFrame, task: str, training: str = "standard") -> tuple[pd.DataFrame, np.ndarray]:
    """(configurations, effects): per configuration of `task` (random-sign control excluded) whose every seed is
    evaluable for both models, the per-seed log ratio log(p_attn,i / p_relu,i) of continuity-corrected flip
    proportions (x + 1/2) / (n + 1); effects has shape (configurations, seeds), the same seeds in every row (the
    seeds all those configurations share)."""
    counts = seed_counts(grid)
    counts = counts[(counts.task == task) & (counts.training == training) & (counts.attack != "random")]
    if counts.empty:
        return pd.DataFrame(columns=list(mx.CONFIG_KEYS)), np.zeros((0, 0))
    p = (counts.n_flips + 0.5) / (counts.n_top + 1.0)
    wide = counts.assign(logp=np.log(p)).pivot_table(index=list(mx.CONFIG_KEYS) + ["seed"], columns="arch",
                                                     values="logp")
    if not {"attn", "relu"} <= set(wide.columns):
        return pd.DataFrame(columns=list(mx.CONFIG_KEYS)), np.zeros((0, 0))
    eff = (wide["attn"] - wide["relu"]).unstack("seed")
    seeds = sorted(set(counts.seed))
    eff = eff.reindex(columns=seeds).dropna()  # configurations with every seed evaluable for both models
    return eff.index.to_frame(index=False), eff.to_numpy(np.float64)


def grid_joint_status(effects: np.ndarray, claimed, alpha: float = 0.05) -> tuple[str, dict]:
    """The ratio claim over a grid by the joint test against the null curve, at both edges of the band
    (claimed widened by `operating.BAND_FACTOR`): `claims.sign_flip_count_test` of effects - log(low) (side "above")
    and of effects - log(high) (side "below"), each decided by `claims.grid_rule`. Holds if both hold, does not hold
    if either does not hold, else not resolved; not evaluable with fewer than two configurations' or seeds' rows.
    Returns (status, {"low": test, "high": test})."""
    e = np.asarray(effects, np.float64)
    if e.ndim != 2 or e.shape[0] < 1 or e.shape[1] < 2:
        return claims.NOT_EVALUABLE, {}
    lo, hi = (float(v) for v in claimed)
    band = (lo / operating.BAND_FACTOR, hi * operating.BAND_FACTOR)
    tests = {"low": claims.sign_flip_count_test(e - math.log(band[0])),
             "high": claims.sign_flip_count_test(e - math.log(band[1]))}
    above_low = claims.grid_rule(tests["low"], side="above", alpha=alpha)
    below_high = claims.grid_rule(tests["high"], side="below", alpha=alpha)
    if claims.DOES_NOT_HOLD in (above_low, below_high):
        return claims.DOES_NOT_HOLD, tests
    if above_low == below_high == claims.HOLDS:
        return claims.HOLDS, tests
    return claims.NOT_RESOLVED, tests


def rise_effects(grid: pd.DataFrame, task: str) -> tuple[pd.DataFrame, np.ndarray]:
    """(rows, effects) for Table 4: per configuration of `task` run under both trainings and per model, whose every
    seed is evaluable in both, the per-seed log(p_adversarial,i / p_standard,i) of continuity-corrected flip
    proportions (x + 1/2) / (n + 1); effects has shape (rows, seeds)."""
    counts = seed_counts(grid)
    counts = counts[(counts.task == task) & (counts.attack != "random")]
    if counts.empty or set(counts.training) < {"standard", "adversarial"}:
        return pd.DataFrame(), np.zeros((0, 0))
    keys = [c for c in mx.CONFIG_KEYS if c != "training"] + ["arch"]
    logp = np.log((counts.n_flips + 0.5) / (counts.n_top + 1.0))
    wide = counts.assign(logp=logp).pivot_table(index=keys + ["seed"], columns="training", values="logp")
    eff = (wide["adversarial"] - wide["standard"]).unstack("seed")
    eff = eff.reindex(columns=sorted(set(counts.seed))).dropna()
    return eff.index.to_frame(index=False), eff.to_numpy(np.float64)


def rise_grid_status(effects: np.ndarray) -> tuple[str, dict]:
    """Table 4 over a grid ("adversarial training raises the flip rate of both models"): the joint test against
    the null curve on the per-seed log flip-rate rises of every (configuration, model) row
    (`claims.sign_flip_count_test`, `claims.grid_rule` side "above"); not evaluable without two seeds."""
    e = np.asarray(effects, np.float64)
    if e.ndim != 2 or e.shape[0] < 1 or e.shape[1] < 2:
        return claims.NOT_EVALUABLE, {}
    test = claims.sign_flip_count_test(e)
    return claims.grid_rule(test, side="above"), test


def rise_status(std: tuple[float, float], adv: tuple[float, float]) -> str:
    """Does a flip rate rise from standard to adversarial training? Intervals (low, high) of both: "holds" if the
    adversarial interval lies above the standard one, "does not hold" if below, else "not resolved"; "not
    evaluable" if either is missing (NaN)."""
    return _separated(adv, std)


def adversarial_status(row) -> str:
    """Table 4 for one configuration (a row of `experiments.malleability.adversarial_pairs`): both models' flip
    rates rise under adversarial training (`rise_status` per model, the conjunction `claims.all_of`); "not
    evaluable" unless both the standard and the adversarial configuration are evaluable."""
    if not (bool(row["evaluable_std"]) and bool(row["evaluable_adv"])):
        return claims.NOT_EVALUABLE
    return claims.all_of(
        rise_status((row[f"{a}_flip_low_std"], row[f"{a}_flip_high_std"]),
                    (row[f"{a}_flip_low_adv"], row[f"{a}_flip_high_adv"])) for a in ("relu", "attn"))


def _separated(a: tuple[float, float], b: tuple[float, float]) -> str:
    """"holds" if interval a lies above b, "does not hold" if below, "not resolved" if they overlap."""
    if any(not math.isfinite(v) for v in (*a, *b)):
        return claims.NOT_EVALUABLE
    if a[0] > b[1]:
        return claims.HOLDS
    if a[1] < b[0]:
        return claims.DOES_NOT_HOLD
    return claims.NOT_RESOLVED


def poisoning_status(attack: tuple[float, float], control: tuple[float, float], evaluable: bool = True) -> str:
    """Poisoning works: its success interval (Wilson) lies above that of random signs on the same rows."""
    return _separated(attack, control) if evaluable else claims.NOT_EVALUABLE


# -- the specification curve ----------------------------------------------------------------------------------


def literal_mask(configs: pd.DataFrame) -> pd.Series:
    """The paper's most literal reading of its protocol, per task: the task's paper loss as the influence loss, the
    penalty `λ‖W‖²` as written, the kernel reading (`(K_m + λI)⁻¹`, no retraining), protocol a ("recompute the
    influences" with the trained network), PGD (its headline attack), the largest width and n of the grid."""
    return _mask(configs, "w", "pgd")


#: The deciding configuration of a task, fixed before any run: the literal reading with no penalty, where both
#: models learn (under the literal λ‖W‖², MLP-Attn stays near chance: see the training table), at the largest width
#: and n of the grid; the headline attack PGD decides, FGSM and MIM are shown beside it.
DECIDING = {"l2_form": "none", "reading": "kernel", "protocol": "a", "attack": "pgd"}


def ratio_text(v: float) -> str:
    """A ratio in the verdicts' words: two significant digits, ±∞ and "–" for NaN."""
    return "∞" if v == math.inf else "−∞" if v == -math.inf else "–" if math.isnan(v) else f"{v:.2g}"


def _mask(configs: pd.DataFrame, l2_form: str, attack: str | None) -> pd.Series:
    loss = configs.task.map(lambda t: mx.TASKS[t]["loss"])
    m = ((configs.loss == loss) & (configs.l2_form == l2_form) & (configs.reading == "kernel")
         & (configs.protocol == "a") & (configs.width == configs.width.max())
         & (configs.n_train == configs.n_train.max()))
    return m & (configs.attack == attack) if attack is not None else m & (configs.attack != "random")


def deciding_mask(configs: pd.DataFrame, attack: str | None = "pgd") -> pd.Series:
    """The deciding configuration (`DECIDING`) of each task in `configs`; `attack=None` keeps every attack."""
    return _mask(configs, DECIDING["l2_form"], attack)


def band_counts(cur: pd.DataFrame, claimed) -> dict:
    """The grid as counts: of the evaluable configurations of a curve, how many have their decided ratio interval
    wholly above the band (`claimed` widened by `operating.BAND_FACTOR`), wholly below it, wholly inside it, or
    straddling an edge; and how many are not evaluable."""
    lo, hi = (float(v) for v in claimed)
    band = (lo / operating.BAND_FACTOR, hi * operating.BAND_FACTOR)
    ev = cur[cur.status != claims.NOT_EVALUABLE]
    above = int((ev.ratio_low > band[1]).sum())
    below = int((ev.ratio_high < band[0]).sum())
    inside = int((ev.status == claims.HOLDS).sum())
    return {"above": above, "below": below, "inside": inside, "straddles": len(ev) - above - below - inside,
            "not_evaluable": len(cur) - len(ev)}


def curve(configs: pd.DataFrame, task: str, training: str = "standard", claimed=None) -> pd.DataFrame:
    """The specification curve of one task: its configurations (random-sign control excluded: the paper's claim is
    about attacks) with `status` (`configuration_status` of the decided ratio, of control-excess flips, against
    `claimed`, default `paper.RATIO_CLAIMS[task]`), `raw_status` (the same rule on the raw ratio), `literal` and
    `deciding` marks, evaluable ones sorted by ratio first, then the not evaluable ones."""
    sel = configs[(configs.task == task) & (configs.training == training) & (configs.attack != "random")].copy()
    if sel.empty:
        return sel.assign(status=pd.Series(dtype=str), raw_status=pd.Series(dtype=str),
                          literal=pd.Series(dtype=bool), deciding=pd.Series(dtype=bool))
    if claimed is None:
        if task not in paper.RATIO_CLAIMS:
            raise ValueError(f"the paper states no ratio for {task!r}; pass claimed=(low, high)")
        claimed = paper.RATIO_CLAIMS[task]
    sel["status"] = [configuration_status(e, r, lo, hi, claimed) for e, r, lo, hi in
                     zip(sel.evaluable, sel.ratio, sel.ratio_low, sel.ratio_high, strict=True)]
    sel["raw_status"] = [configuration_status(e, r, lo, hi, claimed) for e, r, lo, hi in
                         zip(sel.evaluable, sel.raw_ratio, sel.raw_ratio_low, sel.raw_ratio_high, strict=True)]
    sel["literal"] = literal_mask(sel)
    sel["deciding"] = deciding_mask(sel)
    sel["_order"] = np.where(sel.evaluable, sel.ratio.fillna(np.inf), np.inf)
    return sel.sort_values(["evaluable", "_order"], ascending=[False, True], kind="stable").drop(
        columns="_order").reset_index(drop=True)


def deciding_choices(cur: pd.DataFrame) -> pd.DataFrame:
    """Which choices decide the outcome. Per choice and value, over the evaluable configurations: how many there
    are, how many hold the claim (`share`), how many have MLP-Attn flipping more with the whole ratio interval above
    1 (`share_above`), and the median ratio. Per choice, `spread` is the largest change of either share between
    two of its values and `decides` is `spread >= DECIDES`. Choices with a single value in the grid are left out."""
    ev = cur[cur.status != claims.NOT_EVALUABLE]
    rows = []
    for choice in mx.CHOICES:
        values = sorted(cur[choice].unique(), key=str)
        if len(values) < 2:
            continue
        block = []
        for v in values:
            g = ev[ev[choice] == v]
            held = int((g.status == claims.HOLDS).sum())
            above = int((g.ratio_low > 1).sum())
            block.append({"choice": choice, "value": v, "configurations": len(g), "holds": held,
                          "share": held / len(g) if len(g) else float("nan"), "above": above,
                          "share_above": above / len(g) if len(g) else float("nan"),
                          "median_ratio": float(g.ratio.median()) if len(g) else float("nan")})
        spreads = []
        for key in ("share", "share_above"):
            finite = [b[key] for b in block if math.isfinite(b[key])]
            if len(finite) >= 2:
                spreads.append(max(finite) - min(finite))
        spread = max(spreads) if spreads else float("nan")
        for b in block:
            b["spread"], b["decides"] = spread, bool(math.isfinite(spread) and spread >= DECIDES)
        rows += block
    return pd.DataFrame(rows, columns=["choice", "value", "configurations", "holds", "share", "above",
                                       "share_above", "median_ratio", "spread", "decides"])


def curve_summary(cur: pd.DataFrame) -> dict:
    """Numbers of one curve: configurations, evaluable ones (both models learned and a defined ratio), how many
    hold / partly / do not hold / not resolved, the share holding, the median of the evaluable ratios and the range
    of the finite positive ones, the grid status, the literal row's ratio, interval and status (NaN / "not run"
    when absent)."""
    ev = cur[cur.status != claims.NOT_EVALUABLE]
    lit = cur[cur.literal]
    dec = cur[cur.deciding] if "deciding" in cur else cur.iloc[:0]
    counts = {s: int((ev.status == s).sum()) for s in claims.STATUSES}
    pos = ev.ratio[np.isfinite(ev.ratio) & (ev.ratio > 0)]
    out = {
        "configurations": len(cur), "evaluable": len(ev), "holds": counts[claims.HOLDS],
        "partly": counts[claims.PARTLY], "does_not_hold": counts[claims.DOES_NOT_HOLD],
        "not_resolved": counts[claims.NOT_RESOLVED],
        "share_holds": counts[claims.HOLDS] / len(ev) if len(ev) else float("nan"),
        "median_ratio": float(ev.ratio.median()) if len(ev) else float("nan"),
        "min_ratio": float(pos.min()) if len(pos) else float("nan"),
        "max_ratio": float(pos.max()) if len(pos) else float("nan"),
        "status": grid_status(cur.status) if len(cur) else claims.NOT_RUN,
        "literal_ratio": float(lit.ratio.iloc[0]) if len(lit) else float("nan"),
        "literal_low": float(lit.ratio_low.iloc[0]) if len(lit) else float("nan"),
        "literal_high": float(lit.ratio_high.iloc[0]) if len(lit) else float("nan"),
        "literal_status": str(lit.status.iloc[0]) if len(lit) else claims.NOT_RUN,
        "deciding_ratio": float(dec.ratio.iloc[0]) if len(dec) else float("nan"),
        "deciding_low": float(dec.ratio_low.iloc[0]) if len(dec) else float("nan"),
        "deciding_high": float(dec.ratio_high.iloc[0]) if len(dec) else float("nan"),
        "deciding_raw_ratio": float(dec.raw_ratio.iloc[0]) if len(dec) else float("nan"),
        "deciding_raw_low": float(dec.raw_ratio_low.iloc[0]) if len(dec) else float("nan"),
        "deciding_raw_high": float(dec.raw_ratio_high.iloc[0]) if len(dec) else float("nan"),
        "deciding_status": str(dec.status.iloc[0]) if len(dec) else claims.NOT_RUN,
        "raw_holds": int((ev.raw_status == claims.HOLDS).sum()) if "raw_status" in ev else 0,
    }
    return out
