"""Chapter 4's report layer: the specification grid of `ntkbook.experiments.malleability` turned into verdicts on
the paper's Tables 2–4, the ε sweep and v2's "2–9×" (and on our poisoning experiment), and the numbers the prose
glues. The rules and the curve live in `ntkbook.report.malleability_rules` (re-exported here), the summaries per
configuration in `ntkbook.report.malleability_summary`, the display tables in `ntkbook.report.malleability_tables`.

- `deciding_verdicts`: the claim as the chapter decides it. At the task's deciding configuration (`DECIDING`: the
  paper's loss, no penalty, kernel reading, protocol a, PGD, the largest m and n; fixed in advance), the ratio of
  MLP-Attn's to 2L-ReLU's flips in excess of the random-sign control with Fieller's 95 % interval
  (`ntkbook.excess`), by `configuration_status` (inside the paper's band widened by `operating.BAND_FACTOR`: holds;
  outside: does not hold), gated by the rule's simulated design at the configuration's own counted seeds
  (`deciding_design`, rule "excess-ratio-band" of `report.verdict_tests`); v2's "2–9×" on the same interval.
- the grid verdict (`grid_joint_status` on the per-seed raw log ratios against the null curve, Simonsohn et al.
  2020) and the literal reading's (`configuration_status`), shown as variants beneath the deciding one; the grid
  also as counts of configurations above, inside and below the band (`band_counts`).
- Table 4 (`rise_grid_status` on per-seed rises; "not run" without adversarial training), the ε sweep
  (`report.malleability_eps`: the control-excess ratio above 1 at every budget; "not run" where no sweep ran),
  poisoning (`poisoning_status`; `poisoning_verdicts` on per-seed paired differences, beyond the paper).

Every verdict passes through its design's gate (`claims.gated`): an underpowered design says "not resolved".
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ntkbook import claims, operating, paper
from ntkbook.claims import Verdict
from ntkbook.experiments import malleability as mx
from ntkbook.report import malleability_summary as summary
from ntkbook.report.malleability_eps import eps_rows as eps_rows_of
from ntkbook.report.malleability_eps import eps_sweep_verdict
from ntkbook.report.malleability_rules import (  # noqa: F401  (the chapter's rules, re-exported)
    BINARY,
    CHAPTER,
    CHOICE_LABELS,
    DECIDES,
    DECIDING,
    SECTIONS,
    TEN_CLASS,
    TEX_CHOICE_LABELS,
    TEX_VALUE_LABELS,
    VALUE_LABELS,
    WEIGHT_RATIO,
    adversarial_status,
    band_counts,
    configuration_status,
    curve,
    curve_summary,
    deciding_choices,
    deciding_mask,
    grid_joint_status,
    grid_status,
    literal_mask,
    poisoning_status,
    ratio_text,
    rise_effects,
    rise_grid_status,
    rise_status,
    seed_counts,
    seed_effects,
)


def chapter_numbers(configs: pd.DataFrame, rates: pd.DataFrame | None = None,
                    verdicts: Sequence[Verdict] = ()) -> dict:
    """Named numbers and statuses for the chapter's prose (glued), defined at every profile: per task k with a
    ratio claim ("-" as "_"), `<k>_<field>` for every field of `curve_summary` (standard training; NaN and "not run"
    when the task was not run), `<k>_deciding` (the deciding choices, or "none"), `adv_<k>_status` (Table 4 over the
    configurations), `paper_low_<k>` / `paper_high_<k>`; on MNIST (standard training) per L2 form f ("w", "w_w0",
    "none") and model a: `weight_ratio_<f>_<a>` (mean ‖W‖/‖W₀‖) and `acc_<a>_<loss>_<f>` (mean network test
    accuracy, %); and, with poisoning rates, `poison_targets_min` (fewest targets behind one rate) and
    `poison_halfwidth_max` (widest half-interval, in points); `<k>_deciding_text` the deciding configuration's ratio
    of excess flips with its interval and the raw ratio, in words ("not run at this profile" where it was not run).
    Plain Python types.

    With the chapter's `verdicts` (`verdicts_from`), `<k>_literal_status` and `adv_<k>_status` are the statuses of
    the literal-reading and Table 4 verdicts (after their designs' gates), so the prose says what the claims say."""
    from ntkbook.report import malleability_tables as tables

    out: dict = {}
    empty = {k: (claims.NOT_RUN if isinstance(v, str) else (0 if isinstance(v, int) else math.nan))
             for k, v in curve_summary(_EMPTY_CURVE).items()}
    for task in paper.RATIO_CLAIMS:
        k = task.replace("-", "_")
        out[f"paper_low_{k}"], out[f"paper_high_{k}"] = map(float, paper.RATIO_CLAIMS[task])
        cur = curve(configs, task)
        numbers = curve_summary(cur) if len(cur) else empty
        for name, value in numbers.items():
            out[f"{k}_{name}"] = value
        out[f"{k}_deciding"] = claims.NOT_RUN
        if len(cur):
            dec = deciding_choices(cur)
            deciding = dec[dec.decides].choice.drop_duplicates().map(CHOICE_LABELS).tolist()
            out[f"{k}_deciding"] = ", ".join(deciding) if deciding else "none"
        adv = tables.adversarial_table(configs[configs.task == task]) if task in TEN_CLASS else pd.DataFrame()
        out[f"adv_{k}_status"] = grid_status(adv.status) if len(adv) else claims.NOT_RUN
        decided = {v.claim: v.status for v in verdicts}
        key = _statement(task)[0]
        if f"{key}.ratio.{task}.literal" in decided:
            out[f"{k}_literal_status"] = decided[f"{key}.ratio.{task}.literal"]
        if f"table4.rise.{task}" in decided:
            out[f"adv_{k}_status"] = decided[f"table4.rise.{task}"]
        out[f"{k}_verdict"] = decided.get(f"{key}.ratio.{task}.deciding", out[f"{k}_deciding_status"])
        out[f"{k}_v2_verdict"] = decided.get(f"ratio.v2.{task}", claims.NOT_RUN)
        dec = cur[cur.deciding] if len(cur) else cur
        bounded = math.isfinite(out[f"{k}_deciding_low"]) and math.isfinite(out[f"{k}_deciding_high"])
        out[f"{k}_deciding_text"] = (
            (f"{_num(out[f'{k}_deciding_ratio'])}× [{_num(out[f'{k}_deciding_low'])}, "
             f"{_num(out[f'{k}_deciding_high'])}]" if bounded else "unbounded (its 95 % interval has an infinite end)")
            + f" (raw ratio {_num(out[f'{k}_deciding_raw_ratio'])}×)" + excess_words(dec.iloc[0])
            if len(dec) else "not run at this profile")
        counts = band_counts(cur, paper.RATIO_CLAIMS[task]) if len(cur) else dict.fromkeys(
            ("above", "below", "inside", "straddles", "not_evaluable"), 0)
        for name, value in counts.items():
            out[f"{k}_band_{name}"] = value
        out[f"{k}_excluded"] = int(sum(cur[f"{a}_excluded"].sum() for a in ("relu", "attn"))) if len(cur) else 0
        out[f"{k}_rows"] = int(sum(cur[f"{a}_seeds"].sum() for a in ("relu", "attn"))) if len(cur) else 0
    for form in ("w", "w-w0", "none"):
        fk = form.replace("-", "_")
        std = configs[(configs.task == "mnist") & (configs.training == "standard") & (configs.l2_form == form)]
        for arch in ("relu", "attn"):
            out[f"weight_ratio_{fk}_{arch}"] = float(std[f"{arch}_weight_ratio"].mean()) if len(std) else math.nan
            out[f"acc_{arch}_{fk}"] = float(100 * std[f"{arch}_test_acc"].mean()) if len(std) else math.nan
    out["floor_ten_pct"], out["floor_two_pct"] = 100 * summary.learned_floor(10), 100 * summary.learned_floor(2)
    if rates is not None and len(rates):
        out["poison_targets_min"] = int(rates.targets.min())
        out["poison_halfwidth_max"] = float(100 * ((rates.high - rates.low) / 2).max())
    else:
        out["poison_targets_min"], out["poison_halfwidth_max"] = 0, math.nan
    return {key: (float(v) if isinstance(v, np.floating) else int(v) if isinstance(v, np.integer) else v)
            for key, v in out.items()}


_EMPTY_CURVE = pd.DataFrame({c: pd.Series(dtype=t) for c, t in (
    ("evaluable", bool), ("literal", bool), ("deciding", bool), ("status", str), ("raw_status", str),
    ("raw_ratio", float), ("raw_ratio_low", float), ("raw_ratio_high", float), ("ratio", float), ("ratio_low", float),
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


def deciding_design(row, profile: str, band: tuple[float, float] | None = None
                    ) -> tuple[claims.Design, pd.DataFrame, dict]:
    """(design, OC table, size) of the interval-in-band rule on the control-excess ratio (rule
    "excess-ratio-band" of `report.verdict_tests`) at the deciding configuration's own size: the seeds counted for
    both models (the fewer of the two), the top points per seed and the claimed `band` (the task's
    `paper.RATIO_CLAIMS`; None: MNIST's), true at its geometric centre. `row`: a row of `curve` (None: no design)."""
    from ntkbook.report import verdict_tests

    if row is None or not int(min(row["relu_counted"], row["attn_counted"])) >= 2:
        size = {"seeds": 0, "points": 0}
        return claims.Design("excess-ratio-band", 0.0, 1.0, "two counted seeds of each model"), pd.DataFrame(), size
    seeds = int(min(row["relu_counted"], row["attn_counted"]))
    points = int(round(row["relu_top"] / max(int(row["relu_counted"]), 1)))
    size = {"seeds": seeds, "points": points}
    if band is not None and tuple(band) != tuple(paper.RATIO_CLAIMS["mnist"]):
        size |= {"band_low": float(band[0]), "band_high": float(band[1])}
    sims = verdict_tests.SIMS.get(profile, verdict_tests.SIMS["default"])
    table, design = verdict_tests.design_at("excess-ratio-band", size, sims=sims)
    return design, table, size


def _interval_or_none(lo: float, hi: float):
    return (float(lo), float(hi)) if not (math.isnan(lo) or math.isnan(hi)) else None


def deciding_verdicts(configs: pd.DataFrame, task: str, profile: str, spec_items: tuple = ()) -> list[Verdict]:
    """The task's ratio claim decided at its deciding configuration (`DECIDING`, PGD) by the interval-in-band rule
    on the ratio of control-excess flips (`configuration_status`), gated by that rule's simulated design at the
    configuration's counted seeds (`deciding_design`); for the 10-class tasks also v2's "2–9×"
    (`paper.RATIO_CLAIMS_V2`) on the same interval and design. "not run" where the configuration was not run."""
    key, text = _statement(task)
    lo, hi = paper.RATIO_CLAIMS[task]
    section = SECTIONS["table2" if task in TEN_CLASS else "table3"]
    cur = curve(configs, task) if len(configs) else pd.DataFrame()
    dec = cur[cur.deciding] if len(cur) else cur
    claims_here = [(f"{key}.ratio.{task}.deciding", text, (lo, hi))]
    if task in TEN_CLASS:
        claims_here.append((f"ratio.v2.{task}", paper.statement("ratio.v2").text, paper.RATIO_CLAIMS_V2))
    out = []
    for claim, statement, band in claims_here:
        paper_value = f"{band[0]:g}–{band[1]:g}×"
        if not len(dec):
            out.append(Verdict(claim, statement, claims.NOT_RUN, paper_value, None, None,
                               "the deciding configuration (paper loss, no penalty, kernel reading, protocol a, PGD) "
                               "is not run in this profile", profile, spec_items, section, CHAPTER))
            continue
        r = dec.iloc[0]
        design, table, size = deciding_design(r, profile, band)
        status = configuration_status(r.evaluable, r.ratio, r.ratio_low, r.ratio_high, band)
        coverage = (f", coverage {float(table.set_index('scenario').loc['true', 'coverage']):.2f}"
                    if len(table) else "")
        out.append(Verdict(
            claim, statement, claims.gated(status, design), paper_value,
            # a point value whose interval is the whole line (2L-ReLU's excess not above 0) identifies no ratio
            float(r.ratio) if math.isfinite(r.ratio) and (math.isfinite(r.ratio_low) or math.isfinite(r.ratio_high))
            else None, _interval_or_none(r.ratio_low, r.ratio_high),
            f"at the deciding configuration ({VALUE_LABELS[r.loss]} training and influence loss, no penalty, kernel "
            f"reading, protocol (a), PGD, m = {int(r.width)}, n = {int(r.n_train)}; {size['seeds']} seeds counted "
            f"of {size['points']} top points each): the ratio of MLP-Attn's to 2L-ReLU's flips in excess of the "
            "random-sign control, pooled over seeds, Fieller 95 % interval with seed-clustered variances, against "
            f"the paper's range widened by a factor {operating.BAND_FACTOR:g}: holds if inside, does not hold if "
            f"outside; raw ratio {_num(r.raw_ratio)} [{_num(r.raw_ratio_low)}, {_num(r.raw_ratio_high)}]; test "
            f"accuracy {100 * r.relu_test_acc:.0f} % (2L-ReLU), {100 * r.attn_test_acc:.0f} % (MLP-Attn)"
            + coverage + _gate_note(design) + excess_words(r), profile, spec_items + (("configuration", "deciding"),),
            section, CHAPTER, design=design.name))
    return out


def excess_words(row) -> str:
    """Both models' control-excess flip rates (percentage points, 95 % intervals) at a configuration, and, when
    2L-ReLU's interval does not exclude 0, that no ratio is identified there (the rule's design assumes 2L-ReLU's
    excess at `operating.NOISE.excess_relu`)."""
    def pp(x):
        return f"{100 * x:.1f}".replace("-", "−")

    words = "; excess flips over the random-sign control: " + ", ".join(
        f"{pp(row[f'{a}_excess'])} [{pp(row[f'{a}_excess_low'])}, {pp(row[f'{a}_excess_high'])}] points ({label})"
        for a, label in (("relu", "2L-ReLU"), ("attn", "MLP-Attn")))
    if row["relu_excess_low"] <= 0 <= row["relu_excess_high"]:
        words += (f"; 2L-ReLU's excess does not exclude 0 (the design assumes {100 * operating.NOISE.excess_relu:.0f} "
                  "points), so the ratio of excesses is not identified here")
    return words


_num = ratio_text


def verdicts_from(configs: pd.DataFrame, rates: pd.DataFrame | None, profile: str, spec_items: tuple = (),
                  grid: pd.DataFrame | None = None, eps_rows: pd.DataFrame | None = None,
                  poison: pd.DataFrame | None = None) -> list[Verdict]:
    """Verdicts from the configuration table (and the poisoning rates): per task with a ratio claim, one over the
    grid (status `grid_joint_status` on the per-seed counts of the unit rows `grid`, not evaluable without them;
    ours the median evaluable ratio, interval the range of evaluable ratios; the rule names how many
    configurations decide each way, `claims.grid_counts`) and one for the literal reading (its ratio and interval,
    `configuration_status`); Table 4 per adversarially trained task; poisoning (beyond the paper) per task and
    fraction under protocol a (decided on the per-seed paired differences of `poison`, the poisoning unit rows:
    `poisoning_verdicts`); and per task the verdicts at the deciding configuration (`deciding_verdicts`: the
    claim as the chapter decides it, and v2's "2–9×") and the ε sweep (`report.malleability_eps.eps_sweep_verdict` on
    `eps_rows`, "not run" without them). `configs`: `report.malleability_summary.configurations` (pooled counts,
    control-excess ratios)."""
    from ntkbook.report.malleability_tables import adversarial_table

    out = []
    for task in mx.TASKS:
        if task not in paper.RATIO_CLAIMS:
            continue
        out += deciding_verdicts(configs, task, profile, spec_items)
        if task in TEN_CLASS:
            out.append(eps_sweep_verdict(eps_rows, task, profile, spec_items))
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
            s["median_ratio"] if math.isfinite(s["median_ratio"]) else None, None,
            f"per configuration the ratio of pooled flip counts with its 95 % interval (seeds clustered) against "
            f"the paper's range widened by a factor {operating.BAND_FACTOR:g}: holds in {counts[claims.HOLDS]}, "
            f"does not hold in {counts[claims.DOES_NOT_HOLD]}, not resolved in {counts[claims.NOT_RESOLVED]} of "
            f"the {s['evaluable']} evaluable of {s['configurations']} configurations. Over the grid, the count of "
            "configurations whose per-seed log ratios lie significantly inside the band against the null curve of "
            "seed sign flips (Simonsohn et al. 2020), at both edges (p <= 0.05 each): holds if both counts are "
            "significant, does not hold if significantly many lie outside an edge, else not resolved; "
            f"{joint_words}; ours = the median ratio (no interval: the configurations' ratios range from "
            f"{_num(float(ev.ratio.min())) if len(ev) else '–'} to {_num(float(ev.ratio.max())) if len(ev) else '–'})"
            + _gate_note(grid_design), profile, spec_items, section, CHAPTER, design=grid_design.name))
        lit = cur[cur.literal]
        if len(lit):
            r = lit.iloc[0]
            finite = math.isfinite(r.ratio_low) and math.isfinite(r.ratio) and not math.isnan(r.ratio_high)
            band_design = (deciding_design(r, profile, (lo, hi))[0] if r.get("decided") == "excess"
                           else _design("ratio-band", profile))
            out.append(Verdict(
                f"{key}.ratio.{task}.literal", text, claims.gated(str(r.status), band_design), paper_value,
                float(r.ratio) if math.isfinite(r.ratio) else None,
                (float(r.ratio_low), float(r.ratio_high)) if finite else None,
                "the literal reading (paper loss, λ‖W‖², kernel reading, protocol a, PGD, largest m and n): its "
                f"decided ratio's 95 % interval (of {'control-excess' if r.decided == 'excess' else 'raw'} flips, "
                f"pooled, seeds clustered) inside the paper's range widened by a factor {operating.BAND_FACTOR:g} "
                "(holds), outside it (does not hold); not evaluable unless both models have two seeds above the "
                "learned floor"
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
        else:
            out.append(Verdict(f"table4.rise.{task}", paper.statement("table4").text, claims.NOT_RUN,
                               f"{paper.TABLE4[(task, 'relu')]['adversarial']:g} % / "
                               f"{paper.TABLE4[(task, 'attn')]['adversarial']:g} %", None, None,
                               "adversarial training is not run in this profile", profile, spec_items,
                               SECTIONS["table4"], CHAPTER))
    if poison is not None and len(poison):
        out += poisoning_verdicts(poison, profile, spec_items)
    return out


#: the words and claim-id prefix of each poisoning protocol: (a) the same weights' kernel regressor, (b) the
#: network retrained on the poisoned set (protocol (a)'s ids are the ones earlier builds used)
_POISON_PROTOCOLS = {"a": ("protocol a, same weights", "poisoning.easier"),
                     "b": ("protocol b, retrained on the poisoned set", "poisoning.easier-retrained")}


def poisoning_verdicts(poison: pd.DataFrame, profile: str, spec_items: tuple = ()) -> list[Verdict]:
    """Beyond the paper, per poisoned task, fraction and protocol: "MLP-Attn, the more malleable model in the
    paper, is also easier to poison", decided on the per-seed paired differences of the attack's success rate
    (`summary.poisoning_pairs`: holds if the t-interval lies above 0, does not hold if below), gated by rule
    "paired-poisoning" of `report.verdict_tests` at the seeds counted. Protocol (a) scores the same weights' kernel
    regressor, protocol (b) the network retrained on the poisoned set (claim ids `_POISON_PROTOCOLS`)."""
    from ntkbook.report import verdict_tests

    out = []
    pairs = summary.poisoning_pairs(poison)
    for r in pairs.itertuples():
        if r.protocol not in _POISON_PROTOCOLS:
            continue
        words, prefix = _POISON_PROTOCOLS[r.protocol]
        design = verdict_tests.design_at("paired-poisoning", {"seeds": int(r.seeds)})[1]
        interval = _interval_or_none(r.low, r.high)
        status = claims.one_sided_rule(interval, 0.0, side="above") if interval else claims.NOT_EVALUABLE
        retrained = " after retraining" if r.protocol == "b" else ""
        out.append(Verdict(
            f"{prefix}.{r.task}.{100 * r.fraction:g}", "MLP-Attn, the more malleable model in the paper, is "
            f"also easier to poison{retrained} (targeted, same ℓ∞ budget)", claims.gated(status, design), None,
            float(r.diff), interval,
            f"per seed, MLP-Attn's success rate of the targeted poisoning ({words}, {100 * r.fraction:g} % of the "
            f"training set moved) minus 2L-ReLU's, on the same split and budget; Student-t 95 % interval of the mean "
            f"over {int(r.seeds)} seeds: holds if above 0, does not hold if below" + _gate_note(design), profile,
            spec_items + (("fraction", float(r.fraction)), ("protocol", r.protocol)), SECTIONS["poisoning"],
            CHAPTER, beyond_paper=True, design=design.name))
    return out


def _rates(results: dict) -> pd.DataFrame | None:
    return summary.poisoning_rates(results["poisoning"]) if len(results["poisoning"]) else None


def verdicts(spec: mx.MalleabilitySpec, results: dict) -> list[Verdict]:
    """The chapter's verdicts from `results`, what `experiments.malleability.results(spec)` returned (the contract
    every chapter's report speaks: `verdicts(spec, results)` and `numbers(spec, results)`)."""
    return _verdicts(spec, results)


def _verdicts(spec: mx.MalleabilitySpec, results: dict, spec_items: tuple = ()) -> list[Verdict]:
    """`verdicts`, each labelled with the configuration `spec_items` (the claims page's call)."""
    return verdicts_from(summary.configurations(results["grid"]), _rates(results), spec.profile, spec_items,
                         grid=results["grid"], eps_rows=eps_rows_of(results, spec), poison=results["poisoning"])


def numbers(spec: mx.MalleabilitySpec, results: dict) -> dict:
    """The numbers the chapter's prose glues, keyed by their glue names (plain Python values), from the same
    `results`."""
    return chapter_numbers(summary.configurations(results["grid"]), _rates(results), verdicts(spec, results))


def cached_results(spec: mx.MalleabilitySpec, cache_dir=None) -> dict[str, pd.DataFrame] | None:
    """The chapter's results for `spec` read from the result cache or store only ({"grid", "eps", "poisoning"} as
    `experiments.malleability.sweep` returns them, via `runner.read_only`), or None when a unit is missing (the
    chapter has not run at this profile)."""
    from ntkbook import runner

    units = mx.units(spec)
    frames = {}
    for name, mine in (("grid", [u for u in units if u.kind == mx.KIND]),
                       ("poisoning", [u for u in units if u.kind == mx.POISON_KIND])):
        frame = runner.read_only(mine, cache_dir=cache_dir) if mine else pd.DataFrame()
        if frame is None:
            return None
        frames[name] = frame
    budgets = {}
    for unit in mx.eps_units(spec):
        budgets.setdefault(unit.params["eps"], []).append(unit)
    parts = []
    for eps, mine in budgets.items():
        frame = runner.read_only(mine, cache_dir=cache_dir)
        if frame is None:
            return None
        parts.append(frame.assign(eps=eps))
    frames["eps"] = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
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
    return _verdicts(spec, res, items)
