"""Chapter 5's verdicts: the dual implication and the open questions, from `ntkbook.experiments.dual`'s results
(read through the cache). Summaries are in `ntkbook.report.dual_summaries`, display tables and glued numbers in
`ntkbook.report.dual_tables` (both re-exported here).

Rules (each a function of measured numbers and their 95 % Student-t intervals over seeds; tests drive each to
every status it can return):

- `power_status`: the paper's power side, decided on fits whose ridge was chosen per kernel and target by
  leave-one-out. With `a` the interval of the mean log error ratio (attention kernel / baseline kernel) over the
  aligned targets and `u` the same over the unaligned ones: holds if a < 0 and u > 0 (better where aligned, worse
  where not); does not hold if either is decided the other way; not resolved otherwise. Applied to G^3 against the
  linear kernel (the paper's comparison), against the PCA-truncated linear control (is the advantage more than
  shrinking the bottom directions?), on the non-linear (squared) targets, and to the two NTKs; at every noise level.
- `pair_status`: power and fragility together for MLP-Attn against 2L-ReLU, on the paired per-seed differences:
  `p` the interval of the aligned-error gain (relu error - attn error), `f` the flip-rate difference (attn - relu).
  holds if both are > 0; does not hold if either is < 0; not resolved otherwise; not evaluable unless both models
  learned (test accuracy interval above `dual_summaries.learned_floor`).
- widths: `width_ratio_status` compares log10 m* between two models (`dual_summaries.width_needed`, fitted from
  every width) with `ntkbook.claims.one_sided_rule` against the factor the statements claim ("at least ten
  times": `CLAIMED_DECADES`); where either model's m* lies more than `EXTRAPOLATION_CAP` decades beyond the widest
  width measured, the status is "not resolved" (`capped`): the m^(-1/2) law is not trusted that far.
- `qkv_status`: trainable Q, K, V under standard and NTK parameterisation. Its attention share of the NTK is
  1 - O(1/d) under standard parameterisation whatever the data (a count of parameters, not a finding), so it is
  reported, not decided. Decided is "a part that does not become deterministic with width": the exponent in the
  width of the spread between two readout draws' NTKs (a converging kernel: -1/2; one that stays random: 0),
  one-sided at the midpoint -1/4.
- designs: `seed_design`, `power_design`, `pair_design` (`report.verdict_tests`); an underpowered design turns the
  verdict "not resolved".
"""

from __future__ import annotations

import math

import pandas as pd

from ntkbook import claims, operating, paper
from ntkbook.claims import DOES_NOT_HOLD, HOLDS, NOT_EVALUABLE, NOT_RESOLVED, Verdict
from ntkbook.experiments import dual as ex
from ntkbook.report.dual_summaries import (  # noqa: F401  (re-exported: the chapter's report in one place)
    KERNEL_LABELS,
    LEARNED_SHARE,
    MIN_WIDTHS,
    MODEL_LABELS,
    QKV_MODELS,
    ci,
    crossover,
    decay_slopes,
    diff_interval,
    diff_values,
    ds_label,
    evaluable,
    function_slopes,
    learned_floor,
    model_label,
    power_ratios,
    power_summary,
    spread_exponents,
    variant_summary,
    width_needed,
)

CHAPTER = "05_dual_implication"
SECTIONS = {"power": "dual-power", "truncation": "dual-truncation", "softmax": "dual-softmax",
            "depth": "dual-depth", "qkv": "dual-qkv", "pair": "dual-pair"}
#: the width statements claim a factor of "at least ten times": one decade of m*, part of the claim itself
CLAIMED_DECADES = 1.0
#: m* further than this many decades beyond the widest width measured is not trusted: status "not resolved"
EXTRAPOLATION_CAP = 2.0
#: the power comparisons: (claim key, attention kernel, baseline kernel, target family, beyond the paper)
POWER_COMPARISONS = (("G3", "G3", "linear", "mode", False), ("G3-vs-pca", "G3", "pca-linear", "mode", True),
                     ("G3-square", "G3", "linear", "square", True), ("attn-ntk", "attn-ntk", "relu-ntk", "mode", True))
_ci = ci
_ds = ds_label


# ----------------------------------------------------------------------------------------------------------
# rules
# ----------------------------------------------------------------------------------------------------------


def _side(iv) -> str:
    """"below" if the interval lies below 0, "above" if above, "undecided" otherwise (also for None / NaN)."""
    if iv is None or any(not math.isfinite(v) and not math.isinf(v) for v in iv):
        return "undecided"
    lo, hi = iv
    if hi < 0:
        return "below"
    if lo > 0:
        return "above"
    return "undecided"


def power_status(aligned, unaligned) -> str:
    """Status of "attention's kernel is better on aligned targets and worse on unaligned ones" from the intervals
    of the mean log error ratios (attention / baseline) over aligned and unaligned targets (module docstring)."""
    if aligned is None or unaligned is None:
        return NOT_EVALUABLE
    a, u = _side(aligned), _side(unaligned)
    if a == "below" and u == "above":
        return HOLDS
    if a == "above" or u == "below":
        return DOES_NOT_HOLD
    return NOT_RESOLVED


def pair_status(power_gain, flip_gain, *, evaluable: bool = True) -> str:  # noqa: F811 (a flag, not the function)
    """Status of "the model that is more powerful on aligned targets is also the more malleable" (MLP-Attn vs
    2L-ReLU) from the intervals of the aligned-error gain and the flip-rate difference (module docstring)."""
    if not evaluable:
        return NOT_EVALUABLE
    p, f = _side(power_gain), _side(flip_gain)
    if "below" in (p, f):
        return DOES_NOT_HOLD
    if p == f == "above":
        return HOLDS
    return NOT_RESOLVED


def width_ratio_status(claimed: str, interval) -> str:
    """A claim that one model needs a width at least ten times larger ("increasing") or smaller ("decreasing")
    than another, against the interval of log10 of the width ratio: `claims.one_sided_rule` at +-CLAIMED_DECADES
    (holds if the interval lies beyond the claimed factor, does not hold if it lies wholly short of it)."""
    if claimed not in ("increasing", "decreasing"):
        raise ValueError(f"claimed must be 'increasing' or 'decreasing', got {claimed!r}")
    if interval is None:
        return NOT_EVALUABLE
    if claimed == "increasing":
        return claims.one_sided_rule(interval, CLAIMED_DECADES, side="above")
    return claims.one_sided_rule(interval, -CLAIMED_DECADES, side="below")


def power_design(seeds: int, spread: float) -> claims.Design:
    """The design of `power_status` with `seeds` seeds and the per-seed spread of the log error ratios measured
    from the results (`spread`, the pooled standard deviation; the effect size is `operating.NOISE.power_effect`)."""
    import dataclasses

    from ntkbook.report import verdict_tests

    sd = float(spread) if math.isfinite(spread) else operating.NOISE.power_sd
    noise = dataclasses.replace(operating.NOISE, power_sd=max(round(sd, 4), 1e-6))
    return verdict_tests.design_at("power", {"seeds": int(seeds)}, noise=noise)[1]


#: the spread exponent that separates a kernel that converges (-1/2) from one that stays random (0): the midpoint
DETERMINISTIC_EXPONENT = -0.25


def qkv_status(interval) -> str:
    """"Trainable QKV's NTK does not become deterministic with width" against the interval of the mean per-seed
    spread exponent: `claims.one_sided_rule` above `DETERMINISTIC_EXPONENT`."""
    if interval is None:
        return NOT_EVALUABLE
    return claims.one_sided_rule(interval, DETERMINISTIC_EXPONENT, side="above")


def seed_design(rule: str, seeds: int, sd: float) -> claims.Design | None:
    """The design of a one-sided rule on a mean of per-seed values ("width-ratio", "function-trend",
    "spread-exponent" of `report.verdict_tests.RULES`) at `seeds` seeds with the measured per-seed SD `sd`; None
    without a measured spread (then there is no interval either)."""
    import dataclasses

    from ntkbook.report import verdict_tests

    if not math.isfinite(sd) or seeds < 2:
        return None
    # seeds that agree exactly (sd 0) are simulated at a spread far below any effect, as `power_design` does
    noise = dataclasses.replace(operating.NOISE, slope_sd=max(round(float(sd), 4), 1e-6))
    return verdict_tests.design_at(rule, {"seeds": int(seeds)}, noise=noise)[1]


def pair_design(seeds: int) -> claims.Design:
    """The design of `pair_status` at `seeds` seeds: two one-sided means in units of their seed SD, true at one SD
    on both sides (`report.verdict_tests` rule "pair")."""
    from ntkbook.report import verdict_tests

    return verdict_tests.design_at("pair", {"seeds": int(seeds)})[1]


def _gated(status: str, design: claims.Design | None) -> tuple[str, str, str]:
    """(status through the gate, design name, words for the rule)."""
    if design is None:
        return status, "", ""
    words = (f"; design at these seeds: power {design.power:.2f}, false holds {design.false_holds:.2f}"
             + ("" if design.decides else f", cannot decide: not resolved; it would decide with {design.needed}"))
    return claims.gated(status, design), design.name, words



def capped(status: str, decades) -> str:
    """`status` unless some m* of the comparison lies more than `EXTRAPOLATION_CAP` decades beyond the widest width
    measured (or could not be fitted), then "not resolved"."""
    d = [float(v) for v in decades]
    if status == NOT_EVALUABLE:
        return status
    if not d or any(not math.isfinite(v) or v > EXTRAPOLATION_CAP for v in d):
        return NOT_RESOLVED
    return status


# ----------------------------------------------------------------------------------------------------------
# verdicts
# ----------------------------------------------------------------------------------------------------------


def _config(spec: ex.DualSpec, *knobs) -> tuple:
    return claims.config_items({k: getattr(spec, k) for k in knobs})


def power_decisions(spec: ex.DualSpec, power: pd.DataFrame) -> pd.DataFrame:
    """Every power comparison (`POWER_COMPARISONS`) per data set and noise level, decided on the tuned fits:
    columns key, attention, baseline, target, beyond, dataset, noise, aligned / unaligned (geometric-mean ratio
    with its 95 % interval, low / high), spread (pooled per-seed SD of the log ratios), status (gated by the
    design at these seeds), design (a `claims.Design`)."""
    rows = []
    for key, attention, baseline, target, beyond in POWER_COMPARISONS:
        for noise in spec.noises:
            ratios = power_ratios(power, spec, attention, baseline, noise=noise, target=target)
            for ds, g in ratios.groupby("dataset", sort=False):
                a, u = _ci(g["aligned"]), _ci(g["unaligned"])
                spread = (math.sqrt((g["aligned"].var(ddof=1) + g["unaligned"].var(ddof=1)) / 2) if len(g) > 1
                          else math.nan)
                design = power_design(len(g), spread)
                rows.append({"key": key, "attention": attention, "baseline": baseline, "target": target,
                             "beyond": beyond, "dataset": ds, "noise": float(noise),
                             "aligned": math.exp(a[0]), "aligned_low": math.exp(a[1]), "aligned_high": math.exp(a[2]),
                             "unaligned": math.exp(u[0]), "unaligned_low": math.exp(u[1]),
                             "unaligned_high": math.exp(u[2]), "spread": spread,
                             "status": claims.gated(power_status(a[1:], u[1:]), design), "design": design})
    return pd.DataFrame(rows)


def _power_verdicts(spec: ex.DualSpec, power: pd.DataFrame) -> list[Verdict]:
    out = []
    dual_text = paper.statement("dual")
    cfg = _config(spec, "ns", "n_ref", "n_test", "modes", "top_modes", "bottom_modes", "noise", "seeds")
    dec = power_decisions(spec, power)
    for r in dec[dec["noise"] == spec.noise].to_dict("records"):
        design, ds = r["design"], r["dataset"]
        base = KERNEL_LABELS[r["baseline"]] + (" kernel" if r["baseline"] in ("linear", "pca-linear") else "")
        family = "along" if r["target"] == "mode" else "given by the squares of the projections on"
        out.append(Verdict(
            claim=f"dual.power.{r['key']}.{ds}",
            statement=(f"{_ds(ds)}: kernel regression with {KERNEL_LABELS[r['attention']]} has a lower test error than "
                       f"with the {base} on targets {family} the top eigenvectors of G and a higher one on targets "
                       f"{family} the bottom eigenvectors (ridges chosen by leave-one-out, label noise "
                       f"{spec.noise:g})"),
            status=r["status"], design=design.name, paper_value=None if r["beyond"] else dual_text.text,
            ours=r["aligned"], interval=(r["aligned_low"], r["aligned_high"]),
            rule=("ours: ratio of the mean test errors over the aligned targets, each kernel's ridge chosen per target "
                  "by leave-one-out (95% t-interval over seeds, on the log scale); holds if that interval lies below "
                  f"1 and the unaligned ratio's ({r['unaligned']:.3g} [{r['unaligned_low']:.3g}, "
                  f"{r['unaligned_high']:.3g}]) above 1; does not hold if either lies on the other side"
                  + (f"; design at these seeds: power {design.power:.2f}, false holds {design.false_holds:.2f}"
                     if design.decides else f"; the design cannot decide (power {design.power:.2f} at a log ratio of "
                     f"{operating.NOISE.power_effect:g}, seed spread {r['spread']:.2g}): not resolved; it would "
                     f"decide with {design.needed}")),
            profile=spec.profile, config=cfg, section=SECTIONS["power"], chapter=CHAPTER, beyond_paper=r["beyond"]))
    return out


def _pair_verdicts(spec: ex.DualSpec, var: pd.DataFrame) -> list[Verdict]:
    out = []
    summ = variant_summary(var)
    power_gain = diff_interval(var, "relu", "attn", "aligned_error")
    flip_gain = diff_interval(var, "attn", "relu", "flip_rate")
    counted = max(1, int(round(spec.tau * spec.n_train)))
    for ds in spec.mal_datasets:
        s = summ[summ["dataset"] == ds].set_index("model")
        ok = all(m in s.index and bool(s.loc[m, "evaluable"]) for m in ("relu", "attn"))
        p, f = power_gain.get(ds), flip_gain.get(ds)
        status, name, words = _gated(
            pair_status(None if p is None else p[1:], None if f is None else f[1:], evaluable=ok),
            pair_design(len(spec.seeds)))
        out.append(Verdict(
            claim=f"dual.pair.{ds}",
            statement=(f"{_ds(ds)}: MLP-Attn has both the lower error on aligned targets and the higher influence "
                       "flip rate than 2L-ReLU"),
            status=status, design=name, paper_value=paper.statement("dual").text, ours=None if f is None else f[0],
            interval=None if f is None else f[1:],
            rule=(f"ours: paired per-seed flip-rate difference MLP-Attn - 2L-ReLU ({counted} counted points per seed; "
                  "95% t-interval over seeds); holds if it and the paired aligned-error gain 2L-ReLU - MLP-Attn both "
                  "lie above 0, does not hold if either lies below; not evaluable unless both models learned (the "
                  f"lower end of the test-accuracy interval above chance + {LEARNED_SHARE:g} (1 - chance)); true at "
                  "one seed SD on both sides" + words),
            profile=spec.profile, config=_config(spec, "n_train", "width", "epochs", "eps", "steps", "tau", "seeds"),
            section=SECTIONS["pair"], chapter=CHAPTER))
    return out


def width_comparisons(spec: ex.DualSpec) -> list[tuple]:
    """(claim key, model, reference, claimed direction, beyond the paper, section, words) of the width verdicts."""
    out = []
    ranks = sorted(r for r in spec.ranks if r <= spec.n_kernel)
    if ranks:
        out.append(("truncation", f"truncated:{ranks[0]}", "attn", "decreasing", False, "truncation",
                    f"attention truncated to rank {ranks[0]} needs a width at least ten times smaller than MLP-Attn "
                    "to approach its kernel"))
    deep = [k for k in spec.depths if k > 1]
    if deep:
        out.append(("depth", f"stacked:{deep[0]}", "attn", "increasing", False, "depth",
                    f"{deep[0]} stacked linearized-attention layers need a width at least ten times larger than one "
                    "layer to approach their kernel"))
    for t in spec.temperatures:
        model = f"softmax-centred:{ex.num_label(t)}"
        out.append((f"softmax.centred-T{ex.num_label(t)}", model, "relu", "increasing", True, "softmax",
                    f"{model_label(model)} attention needs a width at least ten times larger than 2L-ReLU to "
                    "approach its kernel"))
    out.append(("softmax.control", "attn-centred", "relu", "increasing", True, "softmax",
                "centred linearized attention (the large-T limit of centred softmax) needs a width at least ten times "
                "larger than 2L-ReLU to approach its kernel"))
    t_min = ex.num_label(min(spec.temperatures))
    out.append((f"softmax.plain-T{t_min}", f"softmax:{t_min}", "relu", "increasing", True, "softmax",
                f"{model_label(f'softmax:{t_min}')} attention needs a width at least ten times larger than 2L-ReLU "
                "to approach its kernel"))
    return out


def _width_verdicts(spec: ex.DualSpec, kernel: pd.DataFrame) -> list[Verdict]:
    out = []
    wn = width_needed(kernel)
    k_cfg = _config(spec, "n_kernel", "widths", "seeds")
    logm = wn.rename(columns={"log10_m_star": "value"})
    for key, model, ref, claimed, beyond, section, text in width_comparisons(spec):
        values = diff_values(logm, model, ref, "value")
        d = {ds: _ci(v) for ds, v in values.items() if len(v) >= 2}
        design = seed_design("width-ratio", len(spec.seeds), claims.pooled_sd(values.values()))
        for ds in spec.datasets:
            iv = d.get(ds)
            reach = wn[(wn["dataset"] == ds) & wn["model"].isin([model, ref])]["decades"]
            status, name, words = _gated(capped(width_ratio_status(claimed, None if iv is None else iv[1:]), reach),
                                         design)
            out.append(Verdict(
                claim=f"open.{key}.{ds}", statement=f"{_ds(ds)}: {text}",
                status=status, design=name if iv is not None else "",
                paper_value=None if beyond else paper.statement(key).text, ours=None if iv is None else iv[0],
                interval=None if iv is None else iv[1:],
                rule=(f"ours: log10 of the width ratio m*({model_label(model)}) / m*({model_label(ref)}), m* from the "
                      f"m^-1/2 law fitted to {len(spec.widths)} widths (at least {MIN_WIDTHS}) where the error "
                      "reaches lambda_min (95% t-interval over seeds); one-sided: holds if it lies beyond the claimed "
                      f"factor of ten ({CLAIMED_DECADES:g} decade), does not hold if wholly short of it; not resolved "
                      f"if either m* lies more than {EXTRAPOLATION_CAP:g} decades beyond the widest width measured "
                      f"(here up to {reach.max() if len(reach) else math.nan:.1f})" + words),
                profile=spec.profile, config=k_cfg, section=SECTIONS[section], chapter=CHAPTER, beyond_paper=beyond))
    return out


def _function_verdicts(spec: ex.DualSpec, fn: pd.DataFrame) -> list[Verdict]:
    out = []
    fs = function_slopes(fn)
    design = seed_design("function-trend", len(spec.seeds),
                         claims.pooled_sd(g["slope"] for _, g in fs.groupby(["dataset", "model"])))
    for (ds, model), g in fs.groupby(["dataset", "model"], sort=False):
        sl = _ci(g["slope"])
        status, name, words = _gated(claims.trend_rule("decreasing", sl[1:]), design)
        out.append(Verdict(
            claim=f"open.function.{model.replace(':', '-')}.{ds}",
            statement=(f"{_ds(ds)}: trained by full-batch gradient descent, {model_label(model)} approaches its "
                       "infinite-width kernel predictor in function space as the width grows"),
            status=status, design=name, paper_value=None, ours=sl[0], interval=sl[1:],
            rule=("ours: exponent of the relative distance ||f_m - f_NTK|| / ||f_NTK|| in the width (least-squares "
                  "slope on log-log axes, 95% t-interval over seeds); holds if it lies below 0" + words),
            profile=spec.profile, config=_config(spec, "n_kernel", "n_mal_test", "widths", "gd_steps", "seeds"),
            section=SECTIONS["truncation"], chapter=CHAPTER, beyond_paper=True))
    return out


def _qkv_verdicts(spec: ex.DualSpec, kernel: pd.DataFrame) -> list[Verdict]:
    out = []
    k_cfg = _config(spec, "n_kernel", "widths", "seeds")
    for model, words_par in (("qkv", "standard"), ("qkv-ntk", "NTK")):
        spread = spread_exponents(kernel, model)
        design = seed_design("spread-exponent", len(spec.seeds),
                             claims.pooled_sd(g["exponent"].dropna() for _, g in spread.groupby("dataset")))
        for ds, g in spread.groupby("dataset", sort=False):
            e = g["exponent"].dropna()
            share = _ci(g["share"])
            ex_ci = _ci(e) if len(e) >= 2 else None
            iv = None if ex_ci is None or not all(math.isfinite(v) for v in ex_ci) else ex_ci[1:]
            status, name, words = _gated(qkv_status(iv), design)
            out.append(Verdict(
                claim=f"open.{model}.{ds}",
                statement=(f"{_ds(ds)}: with trainable Q, K, V under {words_par} parameterisation, the NTK keeps a "
                           "part that does not become deterministic with width: its spread between readout draws "
                           "does not fall like the m^-1/2 of a kernel that converges"),
                status=status, design=name if iv is not None else "",
                paper_value=None, ours=None if ex_ci is None else ex_ci[0], interval=iv,
                rule=("ours: per seed the least-squares exponent in the width of the relative distance between two "
                      "readout draws' NTKs, mean with its 95% t-interval over seeds; one-sided: holds if it lies "
                      f"above {DETERMINISTIC_EXPONENT:g} (midway between 0, a part that stays random, and -1/2, a "
                      "kernel that converges), does not hold if below. The attention share "
                      f"||Theta_QKV||_F / ||Theta||_F, {share[0]:.3g} [{share[1]:.3g}, {share[2]:.3g}], is reported, "
                      "not decided" + words),
                profile=spec.profile, config=k_cfg, section=SECTIONS["qkv"], chapter=CHAPTER, beyond_paper=True))
    return out


def verdicts_from_results(spec: ex.DualSpec, res: dict) -> list[Verdict]:
    """Every verdict of the chapter from its results (see the module docstring for the rules)."""
    out = _power_verdicts(spec, res["power"])
    if len(res.get("variant", ())):
        out += _pair_verdicts(spec, res["variant"])
    out += _width_verdicts(spec, res["kernel"])
    if len(res.get("function", ())):
        out += _function_verdicts(spec, res["function"])
    out += _qkv_verdicts(spec, res["kernel"])
    return out


def verdicts(spec: ex.DualSpec, results: dict) -> list[Verdict]:
    """The chapter's verdicts from `results`, what `experiments.dual.results(spec)` returned (the contract every chapter's report
    speaks: `verdicts(spec, results)` and `numbers(spec, results)`)."""
    return verdicts_from_results(spec, results)


def numbers(spec: ex.DualSpec, results: dict) -> dict:
    """The numbers the chapter's prose glues, keyed by their glue names (plain Python values), from the same
    `results`."""
    return chapter_numbers(spec, results)


def claim_verdicts(profile: str = "default", *, cache_dir=None, **overrides) -> list[Verdict]:
    """The chapter's verdicts for `profile` (results through the cache: cheap after the chapter ran)."""
    spec = ex.DualSpec.resolve(profile, **overrides)
    return verdicts(spec, ex.results(spec, cache_dir=cache_dir))


from ntkbook.report.dual_tables import (  # noqa: E402, F401  (re-exported; imports this module's names)
    chapter_numbers,
    data_notes,
    function_table,
    power_decision_table,
    power_table,
    qkv_table,
    roles,
    variant_table,
    width_table,
)
