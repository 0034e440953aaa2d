"""Chapter 4's report layer: the specification grid of `ntkbook.experiments.malleability` turned into statuses,
display tables, glued numbers and verdicts on the paper's Tables 2–4 (and on our poisoning experiment).

Rules (each a function of measured numbers and their uncertainty, returning one of `ntkbook.claims.STATUSES`):

- `configuration_status`: one configuration's MLP-Attn / 2L-ReLU ratio interval against the paper's claimed range
  (`ntkbook.paper.RATIO_CLAIMS`) widened by `operating.BAND_FACTOR`, by `ntkbook.claims.band_rule`; "not evaluable" when a model has fewer than two
  seeds whose network and kernel regressor both beat chance (Wilson 95 % interval of the test accuracy).
- `pooled_ratios`: each configuration's ratio from the flip counts pooled over its evaluable seeds, with the
  seed-clustered interval of `claims.log_ratio_interval` (per-seed counts `n_flips` of `n_top` from the unit rows).
- `grid_joint_status`: the claim over the whole grid by the joint test against the null curve
  (`claims.sign_flip_count_test`, Simonsohn et al. 2020) on the per-seed log ratios of the configurations that share
  all seeds, at both edges of the band: holds if the count of configurations significantly above the band's low
  edge and the count significantly below its high edge are both significant (`claims.grid_rule`), does not hold if
  the count below the low edge or above the high edge is, else not resolved; `claims.grid_counts` says how many
  configurations decide each way. `grid_status` is the plain tally (holds if every evaluable configuration holds,
  does not hold if every one fails, else not resolved), shown beside it. Every verdict passes through its design's
  gate (`claims.gated` with the design simulated at the profile by `report.verdict_tests`): an underpowered design
  says "not resolved".
- `adversarial_status`: Table 4, "PGD adversarial training raises the flip rate of both models", per model by
  the flip-rate intervals (t, 95 %) of standard and adversarial training, combined over the two models.
- `poisoning_status` (beyond the paper): poisoning succeeds more often than its random control, and
  `easier_to_poison_status`: MLP-Attn is poisoned more often than 2L-ReLU, both by disjoint Wilson intervals.
- `deciding_choices`: per choice of the grid, the share of evaluable configurations where the claim holds for each
  value; a choice *decides* the outcome when that share moves by at least `DECIDES` between its values.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ntkbook import claims, operating, paper
from ntkbook.claims import Verdict
from ntkbook.experiments import malleability as mx
from ntkbook.models import MODEL_LABELS
from ntkbook.notebook import number

CHAPTER = "04_influence_malleability"
#: MyST labels of the sections that decide each claim (defined in the chapter's markdown).
SECTIONS = {"table2": "mall-grid", "table3": "mall-binary", "table4": "mall-adversarial",
            "poisoning": "mall-poisoning", "trained": "mall-trained"}
#: a choice decides the outcome when the share of evaluable configurations where the claim holds differs by at
#: least this much between two of its values (half of the configurations change their answer with it).
DECIDES = 0.5
TEN_CLASS = ("mnist", "cifar10")
BINARY = ("mnist-3v8", "cifar10-auto-air")
CHOICE_LABELS = {"loss": "loss", "l2_form": "L2 form", "width": "width m", "n_train": "n",
                 "reading": "influence reading", "protocol": "protocol", "attack": "attack"}
VALUE_LABELS = {"xent": "cross-entropy", "mse": "MSE", "w": "λ‖W‖²", "w-w0": "λ‖W−W₀‖²", "none": "none",
                "kernel": "kernel", "network": "network", "a": "(a) same weights", "b": "(b) retrained",
                "pgd": "PGD", "fgsm": "FGSM", "mim": "MIM", "random": "random"}
#: the same for the tables, typeset: math where the name is math (`ntkbook.notebook.table` renders ``$...$``)
TEX_CHOICE_LABELS = {"loss": "loss", "l2_form": "L2 penalty", "width": "$m$", "n_train": "$n$",
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
    f = mx.with_evaluability(grid)
    f = f[f.evaluable & (f.n_flips >= 0)]
    return f[[*mx.CONFIG_KEYS, "arch", "seed", "n_flips", "n_top"]].reset_index(drop=True)


def pooled_ratios(configs: pd.DataFrame, grid: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """`configs` with `ratio`, `ratio_low`, `ratio_high` of every evaluable configuration replaced by the ratio of
    the flip counts pooled over its evaluable seeds and its seed-clustered `level` interval
    (`claims.log_ratio_interval`: binomial or between-seed variance, whichever is larger); `ratio_from` names it."""
    counts = seed_counts(grid)
    out = configs.copy()
    groups = {k: g for k, g in counts.groupby(list(mx.CONFIG_KEYS), sort=False)}
    for i, row in out.iterrows():
        g = groups.get(tuple(row[k] for k in mx.CONFIG_KEYS))
        if not bool(row["evaluable"]) or g is None:
            continue
        a, r = g[g.arch == "attn"], g[g.arch == "relu"]
        if len(a) < 2 or len(r) < 2:
            continue
        out.loc[i, ["ratio", "ratio_low", "ratio_high"]] = claims.log_ratio_interval(
            a.n_flips.to_numpy(), a.n_top.to_numpy(), r.n_flips.to_numpy(), r.n_top.to_numpy(), level=level)
    out["ratio_from"] = "pooled counts, seeds clustered"
    return out


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


def easier_to_poison_status(attn: tuple[float, float], relu: tuple[float, float], evaluable: bool = True) -> str:
    """MLP-Attn is easier to poison than 2L-ReLU: its success interval lies above 2L-ReLU's."""
    return _separated(attn, relu) if evaluable else claims.NOT_EVALUABLE


# -- the specification curve ----------------------------------------------------------------------------------


def literal_mask(configs: pd.DataFrame) -> pd.Series:
    """The paper's most literal reading of its protocol, per task: the task's paper loss, the penalty `λ‖W‖²` as
    written, the kernel reading (`(K_m + λI)⁻¹`, no retraining), protocol a ("recompute the influences" with the
    trained network), PGD (its headline attack), the largest width and n of the grid."""
    loss = configs.task.map(lambda t: mx.TASKS[t]["loss"])
    return ((configs.loss == loss) & (configs.l2_form == "w") & (configs.reading == "kernel")
            & (configs.protocol == "a") & (configs.attack == "pgd") & (configs.width == configs.width.max())
            & (configs.n_train == configs.n_train.max()))


def curve(configs: pd.DataFrame, task: str, training: str = "standard", claimed=None) -> pd.DataFrame:
    """The specification curve of one task: its configurations (random-sign control excluded: the paper's claim is
    about attacks) with `status` (`configuration_status` against `claimed`, default `paper.RATIO_CLAIMS[task]`)
    and `literal`, evaluable ones sorted by ratio first, then the not evaluable ones."""
    sel = configs[(configs.task == task) & (configs.training == training) & (configs.attack != "random")].copy()
    if sel.empty:
        return sel.assign(status=pd.Series(dtype=str), literal=pd.Series(dtype=bool))
    if claimed is None:
        if task not in paper.RATIO_CLAIMS:
            raise ValueError(f"the paper states no ratio for {task!r}; pass claimed=(low, high)")
        claimed = paper.RATIO_CLAIMS[task]
    sel["status"] = [configuration_status(e, r, lo, hi, claimed) for e, r, lo, hi in
                     zip(sel.evaluable, sel.ratio, sel.ratio_low, sel.ratio_high, strict=True)]
    sel["literal"] = literal_mask(sel)
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
    }
    return out


# -- display tables -------------------------------------------------------------------------------------------


def _choices(r, skip=()) -> dict:
    """The choice cells of one configuration row, typeset headers and values."""
    return {TEX_CHOICE_LABELS[c]: TEX_VALUE_LABELS.get(r[c], r[c]) for c in mx.CHOICES if c not in skip}


def _pct(v: float) -> str:
    return "–" if not math.isfinite(v) else f"{100 * v:.0f}"


def _rate(mean: float, lo: float, hi: float) -> str:
    if not math.isfinite(mean):
        return "–"
    return f"{100 * mean:.0f} [{100 * lo:.0f}, {100 * hi:.0f}]"


def _ratio_text(r: float, lo: float, hi: float) -> str:
    if math.isnan(r):
        return "–"

    def fmt(v):  # two digits; below 0.01 in typeset scientific notation
        return number(v, 2)

    return f"{fmt(r)} [{fmt(lo)}, {fmt(hi)}]"


def literal_penalty_at_init(l2: float, d: int, width: int) -> float:
    """`E[(λ/2)‖W₀‖²] = λ d m / 2` for W₀ with i.i.d. N(0, 1) entries (d inputs, m units): what the literal penalty
    adds to the objective at initialisation, against a data loss of order one."""
    return 0.5 * float(l2) * int(d) * int(width)


def control_table(configs: pd.DataFrame, task: str, training: str = "standard") -> pd.DataFrame:
    """The random-sign control (same ℓ∞ budget, no gradient) per configuration of `task`: choices, flip rates of
    both models (%, mean [95 %]) with test accuracies (network / kernel) beside, and their ratio; no status (the
    paper claims nothing about it)."""
    sel = configs[(configs.task == task) & (configs.training == training) & (configs.attack == "random")]
    rows = []
    for _, r in sel.iterrows():
        row = _choices(r, skip=("attack",))
        for arch in ("relu", "attn"):
            lab = MODEL_LABELS[arch]
            row[f"{lab} flips (%)"] = _rate(r[f"{arch}_flip"], r[f"{arch}_flip_low"], r[f"{arch}_flip_high"])
            row[f"{lab} test acc. (%) net / kernel"] = (f"{_pct(r[f'{arch}_test_acc'])} / "
                                                        f"{_pct(r[f'{arch}_krr_test_acc'])}")
        row["ratio"] = _ratio_text(r.ratio, r.ratio_low, r.ratio_high) if r.evaluable else "not evaluable"
        rows.append(row)
    return pd.DataFrame(rows)


def curve_table(cur: pd.DataFrame) -> pd.DataFrame:
    """The specification curve as a table, one row per configuration: the choices, flip rates (%, mean [95 %
    interval] over evaluable seeds) of both models with their network test accuracy and their kernel regressor's
    (%) beside, the ratio [bootstrap 95 %], the status badge, and "literal" marking the paper's literal reading."""
    rows = []
    for _, r in cur.iterrows():
        row = _choices(r)
        for arch in ("relu", "attn"):
            lab = MODEL_LABELS[arch]
            row[f"{lab} flips (%)"] = _rate(r[f"{arch}_flip"], r[f"{arch}_flip_low"], r[f"{arch}_flip_high"])
            row[f"{lab} test acc. (%) net / kernel"] = (f"{_pct(r[f'{arch}_test_acc'])} / "
                                                        f"{_pct(r[f'{arch}_krr_test_acc'])}")
        row["ratio"] = _ratio_text(r.ratio, r.ratio_low, r.ratio_high)
        row["status"] = r.status
        row["literal"] = "◆" if r.literal else ""
        rows.append(row)
    return pd.DataFrame(rows)


def deciding_table(dec: pd.DataFrame) -> pd.DataFrame:
    """`deciding_choices` for display: choice, value, configurations, holding (count and %), share with MLP-Attn
    above 1× (%), median ratio, and whether the choice decides."""
    out = pd.DataFrame({
        "choice": dec.choice.map(TEX_CHOICE_LABELS), "value": dec.value.map(lambda v: TEX_VALUE_LABELS.get(v, v)),
        "evaluable configs": dec.configurations, "claim holds": dec.holds,
        "holding (%)": (100 * dec.share).round(0), "MLP-Attn above 1× (%)": (100 * dec.share_above).round(0),
        "median ratio": dec.median_ratio.map(lambda v: number(v, 2)),
        "decides": dec.decides.map({True: "yes", False: "no"}),
    })
    return out


def training_table(frame: pd.DataFrame) -> pd.DataFrame:
    """How well every unit configuration learned: per task, training, loss, L2 form, width, n and model, the mean
    network train / test accuracy, the kernel regressor's, `‖W‖/‖W₀‖`, and how many seeds are evaluable."""
    f = mx.with_evaluability(frame.drop_duplicates(["task", "arch", "seed", "training", "loss", "l2_form", "width",
                                                    "n_train"]))
    keys = ["task", "training", "loss", "l2_form", "width", "n_train", "arch"]
    rows = []
    for k, g in f.groupby(keys, sort=True):
        r = dict(zip(keys, k, strict=True))
        rows.append({
            "task": mx.TASKS[r["task"]]["label"], "training": r["training"], "loss": TEX_VALUE_LABELS[r["loss"]],
            "L2 penalty": TEX_VALUE_LABELS[r["l2_form"]], "$m$": r["width"], "$n$": r["n_train"],
            "model": MODEL_LABELS[r["arch"]],
            "net train (%)": round(100 * g.train_accuracy.mean()), "net test (%)": round(100 * g.test_accuracy.mean()),
            "kernel test (%)": round(100 * g.krr_test_accuracy.mean()),
            WEIGHT_RATIO: number(float(g.weight_ratio.mean()), 3),
            "evaluable seeds": f"{int(g.evaluable.sum())} of {len(g)}",
            "status": claims.HOLDS if g.evaluable.all() else (claims.NOT_EVALUABLE if not g.evaluable.any()
                                                              else claims.PARTLY),
        })
    return pd.DataFrame(rows)


def adversarial_table(configs: pd.DataFrame) -> pd.DataFrame:
    """Table 4 per configuration where both trainings ran (random control excluded): flip rates (%) of both models
    under standard → adversarial training, accuracies beside, and the `adversarial_status` badge."""
    pairs = mx.adversarial_pairs(configs[configs.attack != "random"])
    rows = []
    for _, r in pairs.iterrows():
        row = _choices(r, skip=tuple(c for c in mx.CHOICES if c not in ("loss", "l2_form", "reading", "protocol")))
        row["task"] = mx.TASKS[r.task]["label"]
        for arch in ("relu", "attn"):
            lab = MODEL_LABELS[arch]
            row[f"{lab} flips (%) std → adv"] = f"{_pct(r[f'{arch}_flip_std'])} → {_pct(r[f'{arch}_flip_adv'])}"
            row[f"{lab} test acc. (%) std → adv"] = f"{_pct(r[f'{arch}_test_acc_std'])} → {_pct(r[f'{arch}_test_acc_adv'])}"
        row["status"] = adversarial_status(r)
        rows.append(row)
    return pd.DataFrame(rows)


def poisoning_table(rates: pd.DataFrame) -> pd.DataFrame:
    """Poisoning per task, fraction and protocol: success (%) [Wilson 95 %] of the attack and of random signs on
    the same rows, for both models, with test accuracies, `poisoning_status` per model and
    `easier_to_poison_status`."""
    rows = []
    for (task, frac, protocol), g in rates.groupby(["task", "fraction", "protocol"], sort=True):
        row = {"task": mx.TASKS[task]["label"], "poisoned (%)": round(100 * frac, 1),
               "protocol": TEX_VALUE_LABELS[protocol]}
        iv = {}
        for arch in ("relu", "attn"):
            lab = MODEL_LABELS[arch]
            h = g[g.arch == arch]
            for kind in ("pgd", "random"):
                k = h[h.perturbation == kind]
                iv[arch, kind] = (float(k.low.iloc[0]), float(k.high.iloc[0])) if len(k) else (math.nan, math.nan)
                row[f"{lab} {VALUE_LABELS[kind]} (%)"] = (
                    f"{100 * k.rate.iloc[0]:.0f} [{100 * k.low.iloc[0]:.0f}, {100 * k.high.iloc[0]:.0f}] "
                    f"of {int(k.targets.iloc[0])}" if len(k) else "–")
            row[f"{lab} test acc. (%)"] = _pct(float(h.test_accuracy.mean())) if len(h) else "–"
            row[f"{lab} beats control"] = poisoning_status(iv[arch, "pgd"], iv[arch, "random"])
        row["MLP-Attn easier"] = easier_to_poison_status(iv["attn", "pgd"], iv["relu", "pgd"])
        rows.append(row)
    return pd.DataFrame(rows)


# -- numbers for the prose ------------------------------------------------------------------------------------


#: a machine path in text: an absolute or home-relative POSIX path, a Windows drive path, or a file URL
_PATH = re.compile(r"(?:^|[\s(\"'=:])(?:~?/[\w.-]+/|[A-Za-z]:\\|file:/)")


def no_path(text: str) -> str:
    """`text` unchanged, or ValueError when it holds a machine path (the book must never show one)."""
    if _PATH.search(text):
        raise ValueError(f"text meant for the book holds a machine path; say it in words instead: {text!r}")
    return text


def _listing(values, labels: dict | None = None) -> str:
    labels = labels or {}
    return ", ".join(str(labels.get(v, v)) for v in values) or "none"


def grid_description(spec: mx.MalleabilitySpec) -> str:
    """The part of the grid `spec` runs, in words for the chapter (tasks, adversarial training, every choice's
    values, seeds and the training protocol), e.g. "tasks MNIST; adversarial training none; loss cross-entropy,
    MSE; ...; 3 seeds, 100 epochs of Adam at learning rate 0.01"."""
    tasks = {k: v["label"] for k, v in mx.TASKS.items()}
    parts = [f"tasks {_listing(spec.tasks, tasks)}", f"adversarial training {_listing(spec.adv_tasks, tasks)}",
             f"{CHOICE_LABELS['loss']} {_listing(spec.losses, VALUE_LABELS)}",
             f"{CHOICE_LABELS['l2_form']} {_listing(spec.l2_forms, VALUE_LABELS)}",
             f"{CHOICE_LABELS['width']} {_listing(spec.widths)}", f"n {_listing(spec.n_trains)}",
             f"{CHOICE_LABELS['reading']} {_listing(spec.readings, VALUE_LABELS)}",
             f"{CHOICE_LABELS['protocol']} {_listing(spec.protocols, VALUE_LABELS)}",
             f"{CHOICE_LABELS['attack']} {_listing(spec.attacks, VALUE_LABELS)}"]
    return no_path("; ".join(parts) + f"; {len(spec.seeds)} seeds, {spec.epochs} epochs of Adam at learning rate "
                   f"{spec.learning_rate:g}")


def data_notes(spec: mx.MalleabilitySpec, *, data_dir=None) -> str:
    """What the reader must know about the data splits of every task `spec` runs (`ntkbook.data.Split.note`, one
    sentence per distinct note, in words), or "" when nothing; ValueError if a note would show a machine path."""
    notes = []
    for task in dict.fromkeys(spec.tasks + spec.adv_tasks + spec.poison_tasks):
        note = mx.load_task(task, spec.n_trains[0], spec.n_test, spec.seeds[0], data_dir=data_dir).note
        if note and note not in notes:
            notes.append(note)
    return no_path(" ".join(notes))



def chapter_numbers(configs: pd.DataFrame, rates: pd.DataFrame | None = None,
                    verdicts: Sequence[Verdict] = ()) -> dict:
    """Named numbers and statuses for the chapter's prose (glued), defined at every profile: per task k with a
    ratio claim ("-" as "_"), `<k>_<field>` for every field of `curve_summary` (standard training; NaN and "not run"
    when the task was not run), `<k>_deciding` (the deciding choices, or "none"), `adv_<k>_status` (Table 4 over the
    configurations), `paper_low_<k>` / `paper_high_<k>`; on MNIST (standard training) per L2 form f ("w", "w_w0",
    "none") and model a: `weight_ratio_<f>_<a>` (mean ‖W‖/‖W₀‖) and `acc_<a>_<loss>_<f>` (mean network test
    accuracy, %); and, with poisoning rates, `poison_targets_min` (fewest targets behind one rate) and
    `poison_halfwidth_max` (widest half-interval, in points). Plain Python types.

    With the chapter's `verdicts` (`verdicts_from`), `<k>_literal_status` and `adv_<k>_status` are the statuses of
    the literal-reading and Table 4 verdicts (after their designs' gates), so the prose says what the claims say."""
    out: dict = {}
    empty = {k: (claims.NOT_RUN if isinstance(v, str) else (0 if isinstance(v, int) else math.nan))
             for k, v in curve_summary(_EMPTY_CURVE).items()}
    for task in paper.RATIO_CLAIMS:
        k = task.replace("-", "_")
        out[f"paper_low_{k}"], out[f"paper_high_{k}"] = map(float, paper.RATIO_CLAIMS[task])
        cur = curve(configs, task)
        summary = curve_summary(cur) if len(cur) else empty
        for name, value in summary.items():
            out[f"{k}_{name}"] = value
        out[f"{k}_deciding"] = claims.NOT_RUN
        if len(cur):
            dec = deciding_choices(cur)
            deciding = dec[dec.decides].choice.drop_duplicates().map(CHOICE_LABELS).tolist()
            out[f"{k}_deciding"] = ", ".join(deciding) if deciding else "none"
        adv = adversarial_table(configs[configs.task == task]) if task in TEN_CLASS else pd.DataFrame()
        out[f"adv_{k}_status"] = grid_status(adv.status) if len(adv) else claims.NOT_RUN
        decided = {v.claim: v.status for v in verdicts}
        key = _statement(task)[0]
        if f"{key}.ratio.{task}.literal" in decided:
            out[f"{k}_literal_status"] = decided[f"{key}.ratio.{task}.literal"]
        if f"table4.rise.{task}" in decided:
            out[f"adv_{k}_status"] = decided[f"table4.rise.{task}"]
    for form in ("w", "w-w0", "none"):
        fk = form.replace("-", "_")
        std = configs[(configs.task == "mnist") & (configs.training == "standard") & (configs.l2_form == form)]
        for arch in ("relu", "attn"):
            out[f"weight_ratio_{fk}_{arch}"] = float(std[f"{arch}_weight_ratio"].mean()) if len(std) else math.nan
            for loss in ("xent", "mse"):
                g = std[std.loss == loss]
                out[f"acc_{arch}_{loss}_{fk}"] = float(100 * g[f"{arch}_test_acc"].mean()) if len(g) else math.nan
    if rates is not None and len(rates):
        out["poison_targets_min"] = int(rates.targets.min())
        out["poison_halfwidth_max"] = float(100 * ((rates.high - rates.low) / 2).max())
    else:
        out["poison_targets_min"], out["poison_halfwidth_max"] = 0, math.nan
    return {key: (float(v) if isinstance(v, np.floating) else int(v) if isinstance(v, np.integer) else v)
            for key, v in out.items()}


_EMPTY_CURVE = pd.DataFrame({c: pd.Series(dtype=t) for c, t in (
    ("evaluable", bool), ("literal", bool), ("status", str), ("ratio", float), ("ratio_low", float),
    ("ratio_high", float))})


# -- verdicts -------------------------------------------------------------------------------------------------


def _design(rule: str, profile: str) -> claims.Design:
    """The simulated design of `rule` at `profile` (`report.verdict_tests.design`); a profile the page does not
    know (a custom one) gets a design that cannot decide."""
    from ntkbook.report import verdict_tests

    try:
        return verdict_tests.design(rule, profile)
    except ValueError:
        return claims.Design(rule, 0.0, 1.0, "a named profile")


def _grid_design(profile: str, seeds: int, configurations: int) -> claims.Design:
    """The design of the joint grid test at `seeds` seeds and `configurations` rows (`report.verdict_tests`)."""
    from ntkbook.report import verdict_tests

    sims = verdict_tests.SIMS.get(profile, verdict_tests.SIMS["default"])
    return verdict_tests.design_at("grid", {"seeds": int(seeds), "configurations": int(configurations)},
                                   sims=sims)[1]


def _gate_note(design: claims.Design) -> str:
    if design.decides:
        return f"; the design decides (power {design.power:.2f}, false holds {design.false_holds:.2f})"
    return (f"; this design cannot decide (power {design.power:.2f}, false holds {design.false_holds:.2f}), so it "
            f"says not resolved; it would decide with {design.needed}")


def _statement(task: str) -> tuple[str, str]:
    key = "table2" if task in TEN_CLASS else "table3"
    return key, paper.statement(key).text


def verdicts_from(configs: pd.DataFrame, rates: pd.DataFrame | None, profile: str, spec_items: tuple = (),
                  grid: pd.DataFrame | None = None) -> list[Verdict]:
    """Verdicts from the configuration table (and the poisoning rates): per task with a ratio claim, one over the
    grid (status `grid_joint_status` on the per-seed counts of the unit rows `grid`, not evaluable without them;
    ours the median evaluable ratio, interval the range of evaluable ratios; the rule names how many
    configurations decide each way, `claims.grid_counts`) and one for the literal reading (its ratio and interval,
    `configuration_status`); Table 4 per adversarially trained task; poisoning (beyond the paper) per task and
    fraction under protocol a. Pass `configs` through `pooled_ratios` for the pooled-count intervals."""
    out = []
    for task in mx.TASKS:
        if task not in paper.RATIO_CLAIMS:
            continue
        key, text = _statement(task)
        section = SECTIONS["table2" if task in TEN_CLASS else "table3"]
        cur = curve(configs, task)
        lo, hi = paper.RATIO_CLAIMS[task]
        paper_value = f"{lo:g}–{hi:g}×"
        if cur.empty:
            out.append(Verdict(f"{key}.ratio.{task}.grid", text, claims.NOT_RUN, paper_value, None, None,
                               "not run in this profile", profile, spec_items, section, CHAPTER))
            continue
        s = curve_summary(cur)
        ev = cur[(cur.status != claims.NOT_EVALUABLE) & np.isfinite(cur.ratio)]
        grid_design = _design("grid", profile)
        if grid is not None:
            keys, effects = seed_effects(grid, task)
            joint, tests = grid_joint_status(effects, (lo, hi))
        else:
            keys, effects, joint, tests = [], np.zeros((0, 0)), claims.NOT_EVALUABLE, {}
        counts = claims.grid_counts(cur.status)
        joint_words = (f"joint test on {len(keys)} configurations sharing {effects.shape[1]} seeds: "
                       f"{tests['low']['above']} significantly above the band's low edge (p = "
                       f"{tests['low']['p_above']:.2g}), {tests['high']['below']} below its high edge (p = "
                       f"{tests['high']['p_below']:.2g}); smallest attainable p {tests['low']['smallest_p']:.2g}"
                       if tests else "the joint test needs every seed's flip counts of at least one configuration")
        out.append(Verdict(
            f"{key}.ratio.{task}.grid", text, claims.gated(joint, grid_design), paper_value,
            s["median_ratio"] if math.isfinite(s["median_ratio"]) else None,
            (float(ev.ratio.min()), float(ev.ratio.max())) if len(ev) else None,
            f"per configuration the ratio of pooled flip counts with its 95 % interval (seeds clustered) against "
            f"the paper's range widened by a factor {operating.BAND_FACTOR:g}: holds in {counts[claims.HOLDS]}, "
            f"does not hold in {counts[claims.DOES_NOT_HOLD]}, not resolved in {counts[claims.NOT_RESOLVED]} of "
            f"the {s['evaluable']} evaluable of {s['configurations']} configurations. Over the grid, the count of "
            "configurations whose per-seed log ratios lie significantly inside the band against the null curve of "
            "seed sign flips (Simonsohn et al. 2020), at both edges (p <= 0.05 each): holds if both counts are "
            "significant, does not hold if significantly many lie outside an edge, else not resolved; "
            f"{joint_words}; ours = median ratio, interval = their range"
            + _gate_note(grid_design), profile, spec_items, section, CHAPTER, design=grid_design.name))
        lit = cur[cur.literal]
        if len(lit):
            r = lit.iloc[0]
            finite = math.isfinite(r.ratio_low) and math.isfinite(r.ratio) and not math.isnan(r.ratio_high)
            band_design = _design("ratio-band", profile)
            out.append(Verdict(
                f"{key}.ratio.{task}.literal", text, claims.gated(str(r.status), band_design), paper_value,
                float(r.ratio) if math.isfinite(r.ratio) else None,
                (float(r.ratio_low), float(r.ratio_high)) if finite else None,
                "the literal reading (paper loss, λ‖W‖², kernel reading, protocol a, PGD, largest m and n): its "
                f"ratio's 95 % interval ({r.get('ratio_from', 'bootstrap over seeds')}) inside the paper's range widened by a factor "
                f"{operating.BAND_FACTOR:g} (holds), outside it (does not hold); not evaluable if a model is at chance"
                + _gate_note(band_design), profile, spec_items + (("literal", True),), section, CHAPTER,
                design=band_design.name))
    for task in TEN_CLASS:
        adv = adversarial_table(configs[configs.task == task])
        if len(adv):
            t4 = (paper.TABLE4[(task, "relu")]["adversarial"], paper.TABLE4[(task, "attn")]["adversarial"])
            rows, effects = rise_effects(grid, task) if grid is not None else (pd.DataFrame(), np.zeros((0, 0)))
            status, test = rise_grid_status(effects)
            design = (_grid_design(profile, effects.shape[1], effects.shape[0]) if test
                      else claims.Design("grid", 0.0, 1.0, "the per-seed flip counts"))
            counts = claims.grid_counts(adv.status)
            out.append(Verdict(
                f"table4.rise.{task}", paper.statement("table4").text, claims.gated(status, design),
                f"{t4[0]:g} % / {t4[1]:g} %", None, None,
                f"per configuration: both models' flip-rate t-intervals (95 %) rise from standard to adversarial "
                f"training (holds in {counts[claims.HOLDS]}, fails in {counts[claims.DOES_NOT_HOLD]}); over the grid "
                "the count of (configuration, model) rows whose per-seed log flip-rate rise is significantly above 0, "
                "against the null curve of seed sign flips: holds if significant (p <= 0.05), does not hold if the "
                "count of significant falls is"
                + (f" ({test['above']} rises, {test['below']} falls of {test['configurations']} rows, p = "
                   f"{test['p_above']:.2g})" if test else "; the joint test needs the per-seed flip counts")
                + _gate_note(design), profile, spec_items, SECTIONS["table4"], CHAPTER,
                design=design.name if test else ""))
    if rates is not None and len(rates):
        tab = poisoning_table(rates[rates.protocol == "a"])
        poison_design = _design("poisoning", profile)
        for _, r in tab.iterrows():
            task = next(t for t, v in mx.TASKS.items() if v["label"] == r["task"])
            out.append(Verdict(
                f"poisoning.easier.{task}.{r['poisoned (%)']:g}", "MLP-Attn, the more malleable model in the paper, "
                "is also easier to poison (targeted, same ℓ∞ budget)", claims.gated(r["MLP-Attn easier"], poison_design),
                None, None, None,
                "Wilson 95 % intervals of the success rates (protocol a) are disjoint" + _gate_note(poison_design),
                profile, spec_items + (("fraction", float(r["poisoned (%)"]) / 100),), SECTIONS["poisoning"], CHAPTER,
                beyond_paper=True, design=poison_design.name))
    return out


def cached_results(spec: mx.MalleabilitySpec, cache_dir=None) -> dict[str, pd.DataFrame] | None:
    """The chapter's results for `spec` read from the result cache or store only ({"grid", "poisoning"},
    `runner.read_only`), or None when a unit is missing (the chapter has not run at this profile)."""
    from ntkbook import runner

    units = mx.units(spec)
    frames = {}
    for name, mine in (("grid", [u for u in units if u.kind == mx.KIND]),
                       ("poisoning", [u for u in units if u.kind != mx.KIND])):
        frame = runner.read_only(mine, cache_dir=cache_dir) if mine else pd.DataFrame()
        if frame is None:
            return None
        frames[name] = frame
    return frames


def claim_verdicts(profile: str = "default", *, cache_dir=None) -> list[Verdict]:
    """The chapter's verdicts at `profile`, from the result cache; "not run" verdicts when the chapter has not run
    there yet (nothing is computed here)."""
    spec = mx.resolve(profile)
    items = claims.config_items({k: v for k, v in spec.as_dict().items() if k != "profile"})
    res = cached_results(spec, cache_dir=cache_dir)
    if res is None:
        out = []
        for task in spec.tasks:
            if task in paper.RATIO_CLAIMS:
                key, text = _statement(task)
                lo, hi = paper.RATIO_CLAIMS[task]
                out.append(Verdict(f"{key}.ratio.{task}.grid", text, claims.NOT_RUN, f"{lo:g}–{hi:g}×", None, None,
                                   "the chapter has not run at this profile", profile, items,
                                   SECTIONS["table2" if task in TEN_CLASS else "table3"], CHAPTER))
        return out
    configs = pooled_ratios(mx.configurations(res["grid"]), res["grid"])
    rates = mx.poisoning_rates(res["poisoning"]) if len(res["poisoning"]) else None
    return verdicts_from(configs, rates, profile, items, grid=res["grid"])
