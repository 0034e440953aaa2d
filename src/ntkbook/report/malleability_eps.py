"""Chapter 4's ε sweep: does MLP-Attn keep the higher flip rate at every perturbation budget?

The paper's v1 supplement says that for ε ∈ {0.1, 0.2, 0.3, 0.5} MLP-Attn keeps the higher flip rate. The sweep
attacks the grid's first configuration again at each budget of `MalleabilitySpec.eps_sweep` on the first
`eps_sweep_seeds` seeds (`experiments.malleability.eps_units`); the grid supplies the same seeds at its own ε.

- `eps_rows`: those unit rows, one frame with the budget in a column `eps`.
- `eps_configurations`: per budget and attack, `report.malleability_summary.configurations` (pooled flips, the
  random-sign control, the ratio of MLP-Attn's to 2L-ReLU's control-excess flips with its Fieller interval).
- `direction_status`: one budget's interval against [1, ∞) (`claims.band_rule`): above 1 holds, below 1 does not.
- `eps_sweep_verdict`: every budget's PGD ratio (the deciding attack) by `direction_status`, combined: holds if it
  holds at every budget, does not hold if it fails at one, else not resolved; gated by the rule's simulated design
  ("excess-ratio-direction" of `report.verdict_tests`) at the fewest seeds counted at any budget.
- `eps_table`: the sweep for display, both models' raw and excess flip rates, the ratios and accuracies.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ntkbook import claims, paper
from ntkbook.claims import Verdict
from ntkbook.experiments import malleability as mx
from ntkbook.report import malleability_summary as summary
from ntkbook.report.malleability_rules import CHAPTER, DECIDING, SECTIONS, ratio_text
from ntkbook.report.malleability_tables import rate_text

__all__ = ["RULE", "direction_status", "eps_configurations", "eps_design", "eps_numbers", "eps_rows", "eps_sweep_verdict",
           "eps_table"]

RULE = "excess-ratio-direction"


def eps_rows(res: dict, spec: mx.MalleabilitySpec) -> pd.DataFrame:
    """The ε sweep's unit rows (`res["eps"]`, from `experiments.malleability.sweep`) with the grid's rows of the same
    configuration and seeds at `spec.eps`, one frame with a column `eps`; empty when the profile runs no sweep."""
    extra = res.get("eps", pd.DataFrame())
    if extra is None or not len(extra):
        return pd.DataFrame()
    grid = res["grid"]
    same = ((grid.task == spec.tasks[0]) & (grid.training == "standard") & (grid.l2_form == spec.l2_forms[0])
            & (grid.width == spec.widths[0]) & (grid.n_train == spec.n_trains[0])
            & grid.seed.isin(spec.seeds[:spec.eps_sweep_seeds]))
    return pd.concat([grid[same].assign(eps=float(spec.eps)), extra], ignore_index=True)


def eps_configurations(rows: pd.DataFrame) -> pd.DataFrame:
    """`summary.configurations` per budget (column `eps`), the control rows left out, sorted by budget."""
    if not len(rows):
        return pd.DataFrame()
    parts = [summary.configurations(g.drop(columns="eps")).assign(eps=eps) for eps, g in rows.groupby("eps")]
    out = pd.concat(parts, ignore_index=True)
    return out[out.attack != "random"].sort_values(["eps", "attack"], kind="stable").reset_index(drop=True)


def direction_status(evaluable: bool, low: float, high: float) -> str:
    """One budget: the ratio's interval against [1, ∞): holds above 1, does not hold below 1, else not resolved;
    not evaluable without an interval."""
    if not evaluable or math.isnan(low) or math.isnan(high):
        return claims.NOT_EVALUABLE
    return claims.band_rule((low, high), (1.0, math.inf))


def eps_design(configs: pd.DataFrame, profile: str) -> tuple[claims.Design, dict]:
    """(design, size) of rule "excess-ratio-direction" at the sweep's own size: the fewest seeds counted for
    either model at any budget, and the top points per seed."""
    from ntkbook.report import verdict_tests

    seeds = int(min(configs.relu_counted.min(), configs.attn_counted.min())) if len(configs) else 0
    if seeds < 2:
        return claims.Design(RULE, 0.0, 1.0, "two counted seeds of each model"), {"seeds": seeds, "points": 0}
    points = int(round(configs.relu_top.iloc[0] / max(int(configs.relu_counted.iloc[0]), 1)))
    size = {"seeds": seeds, "points": points}
    sims = verdict_tests.SIMS.get(profile, verdict_tests.SIMS["default"])
    return verdict_tests.design_at(RULE, size, sims=sims)[1], size


_ratio = ratio_text


def _deciding(rows: pd.DataFrame | None, task: str | None = None) -> pd.DataFrame:
    """`eps_configurations` of `rows` (of `task` if given) under the deciding attack only (PGD)."""
    if rows is None or not len(rows):
        return pd.DataFrame()
    configs = eps_configurations(rows if task is None else rows[rows.task == task])
    return configs[configs.attack == DECIDING["attack"]] if len(configs) else configs


def eps_sweep_verdict(rows: pd.DataFrame | None, task: str, profile: str, spec_items: tuple = ()) -> Verdict:
    """The ε-sweep claim for `task` from `eps_rows` (see the module docstring); "not run" without a sweep."""
    statement = paper.statement("eps_sweep").text
    paper_value = "ε ∈ {" + ", ".join(f"{e:g}" for e in paper.EPS_SWEEP) + "}"
    section = SECTIONS["table2"]
    configs = _deciding(rows, task)
    if len(configs) < 2:
        return Verdict(f"eps_sweep.{task}", statement, claims.NOT_RUN, paper_value, None, None,
                       f"this profile runs no ε sweep on {task} (the decisive profile runs one on the first task's "
                       "deciding configuration)", profile, spec_items, section, CHAPTER)
    per = [direction_status(bool(r.evaluable), r.ratio_low, r.ratio_high) for r in configs.itertuples()]
    if claims.NOT_EVALUABLE in per:
        status = claims.NOT_EVALUABLE
    elif all(s == claims.HOLDS for s in per):
        status = claims.HOLDS
    elif claims.DOES_NOT_HOLD in per:
        status = claims.DOES_NOT_HOLD
    else:
        status = claims.NOT_RESOLVED
    design, size = eps_design(configs, profile)
    worst = configs.iloc[int(np.nanargmin(configs.ratio.to_numpy()))] if configs.ratio.notna().any() else None
    budgets = "; ".join(f"ε = {r.eps:g}: {_ratio(r.ratio)} [{_ratio(r.ratio_low)}, {_ratio(r.ratio_high)}] ({s}; "
                        f"raw {_ratio(r.raw_ratio)})" for r, s in zip(configs.itertuples(), per, strict=True))
    gate = ("" if design.decides else f"; the design ({size['seeds']} seeds) is underpowered: not resolved"
            + (f" (needs {design.needed})" if design.needed else ""))
    return Verdict(
        f"eps_sweep.{task}", statement, claims.gated(status, design), paper_value,
        float(worst.ratio) if worst is not None and math.isfinite(worst.ratio) else None,
        (float(worst.ratio_low), float(worst.ratio_high)) if worst is not None else None,
        f"at each budget, the deciding configuration under PGD ({size['seeds']} seeds counted, {size['points']} top "
        "points each): the ratio of MLP-Attn's to 2L-ReLU's flips in excess of the random-sign control, Fieller 95 % "
        "interval with seed-clustered variances; holds if above 1 at every budget, does not hold if below 1 at one; "
        f"ours = the smallest ratio. {budgets}; power {design.power:.2f} at a ratio of 2, false holds "
        f"{design.false_holds:.2f} at 1" + gate, profile, spec_items + (("configuration", "deciding"),), section,
        CHAPTER, design=design.name)


def eps_table(rows: pd.DataFrame) -> pd.DataFrame:
    """The ε sweep for display: per budget and attack, both models' raw flip rate and their excess over the
    random-sign control (%, 95 % intervals), the decided excess ratio and the raw ratio, test accuracies (%)."""
    configs = eps_configurations(rows)
    if not len(configs):
        return pd.DataFrame()

    def rate(r, arch, what):
        return rate_text(*(getattr(r, f"{arch}_{what}{s}") for s in ("", "_low", "_high")))

    out = []
    for r in configs.itertuples():
        out.append({
            "ε": f"{r.eps:g}", "attack": r.attack.upper(),
            "2L-ReLU flips (%)": rate(r, "relu", "flip"), "MLP-Attn flips (%)": rate(r, "attn", "flip"),
            "2L-ReLU excess (%)": rate(r, "relu", "excess"), "MLP-Attn excess (%)": rate(r, "attn", "excess"),
            "excess ratio": f"{_ratio(r.ratio)} [{_ratio(r.ratio_low)}, {_ratio(r.ratio_high)}]",
            "raw ratio": f"{_ratio(r.raw_ratio)} [{_ratio(r.raw_ratio_low)}, {_ratio(r.raw_ratio_high)}]",
            "status": direction_status(bool(r.evaluable), r.ratio_low, r.ratio_high),
            "test acc. (%)": f"{100 * r.relu_test_acc:.0f} / {100 * r.attn_test_acc:.0f}",
            "seeds": f"{int(r.relu_counted)} / {int(r.attn_counted)}",
        })
    return pd.DataFrame(out)


def eps_numbers(rows: pd.DataFrame, verdict: Verdict, profile: str) -> dict:
    """The values the chapter's ε-sweep section glues: `eps_status`, `eps_budgets` (the budgets run) and
    `eps_design_text` (the design's size and operating characteristics, or that the profile runs no sweep)."""
    configs = _deciding(rows)
    if len(configs) < 2:
        return {"eps_status": verdict.status, "eps_budgets": "–",
                "eps_design_text": "This profile runs no ε sweep (the decisive profile does)."}
    design, size = eps_design(configs, profile)
    text = (f"The design counts {size['seeds']} seeds of {size['points']} top points at each budget; there the rule "
            f"says “holds” with probability {design.power:.2f} when the true ratio is 2 (the low edge of the "
            f"paper's later 2–9×) and with probability {design.false_holds:.2f} when it is 1.")
    if not design.decides:
        text += f" That design cannot decide, so the verdict is not resolved (it would decide with {design.needed})."
    return {"eps_status": verdict.status, "eps_budgets": ", ".join(f"{e:g}" for e in sorted(configs.eps.unique())),
            "eps_design_text": text}
