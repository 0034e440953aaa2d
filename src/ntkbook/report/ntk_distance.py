"""Chapter 3's report layer: the sweep's rows (`ntkbook.experiments.ntk_distance`, via the cache) turned into
trend intervals, statuses, the rendered Table 1, glued numbers and verdicts on the paper's Table 1.

Rules (in `ntkbook.report.ntk_distance_rules`, re-exported here; tests drive every status):

- `slope_interval`: the log-log slope of a distance against width is fitted per seed; its mean over the seeds and
  the 95 % Student-t interval of that mean (n_seeds - 1 degrees of freedom) summarise it. A direction is called
  only when the interval excludes 0 (`ntkbook.claims.trend_from_interval`), otherwise it is "not resolved".
- `trained`: a model has trained at a width when the 95 % t-interval of its *train* accuracy over seeds lies above
  chance (1 / number of classes); test accuracy is shown beside it. A trend over widths is evaluable only when the
  model trained at every width.
- `trend_status`: the paper's direction against our slope interval -> holds / does not hold / not resolved, or
  not evaluable when the model has not trained (or fewer than 2 seeds), not run when the sweep has no rows.
- Design gate: each trend verdict passes `claims.gated` with the simulated design of the rule
  (`report.verdict_tests.design_at("trend", ...)`) at the chapter's seeds and widths, whose noise is measured from
  the chapter's own results: the pooled seed-to-seed SD of the per-seed log-log slopes (`slope_noise`). The claim
  counts as true at a slope of `operating.NOISE.effect` (a declared knob) and false at 0.
- `contrast_verdicts`: "MLP-Attn grows where 2L-ReLU shrinks" is decided on the paired per-seed slope difference
  MLP-Attn - 2L-ReLU over the seeds both ran (`claims.paired_difference`, one-sided `claims.one_sided_rule` above
  0), gated by the design "slope-difference" with the pooled SD of those differences.
- `flat_status` ("flat": the slope interval inside +-`FLAT_MARGIN`, `claims.equivalence_rule`) is shown beside
  each trend; `shape_verdicts` tests the paper's "non-monotonic, then increasing" (MLP-Attn, MNIST) on the
  per-seed slopes over the smaller and the larger half of the widths (`shape_status`).
- `reference_verdicts`: the linearised network's distance to the infinite-width counterpart (`lin_dist_inf`, the
  finite-width kernel fluctuation) shrinks like m^(-1/2): its slope interval within `known_answers.RATE_MARGIN`
  of -1/2 (`claims.equivalence_rule` centred at -1/2); `early_lin_rate_verdicts`
  (`report.ntk_distance_known`) reads the same rule where m^(-1/2) is the known answer: GD's first T, the larger
  widths.
- Without the penalty, cross-entropy has no finite minimiser, so no lazy-limit counterpart exists: those trends
  are not evaluable, with that reason in the rule (`penalty_verdicts`).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ntkbook import claims, paper
from ntkbook import operating as op
from ntkbook.claims import Verdict
from ntkbook.experiments import ntk_distance as nd
from ntkbook.labels import DATASET_LABELS
from ntkbook.models import MODEL_LABELS
from ntkbook.report.ntk_distance_known import early_lin_rate_verdicts
from ntkbook.report.ntk_distance_rules import (  # noqa: F401  # noqa: F401
    _GROUP,
    CHAPTER,
    COLLAPSE_FORMATS,
    COUNTERPART_WORDS,
    DIST_TEX,
    FLAT_MARGIN,
    KAPPA_NTK_TEX,
    LEVEL,
    PENALTY_TEX,
    PROTOCOL_LABELS,
    SECTIONS,
    _gate_words,
    _noise,
    _ordered,
    _status_for,
    _trend_rows,
    accuracy_table,
    claimed_direction,
    contrast_status,
    design_sd,
    difference_noise,
    flat_status,
    format_interval,
    half_slopes_per_seed,
    mean_interval,
    paired_slopes,
    pooled_sd,
    shape_status,
    slope_interval,
    slope_noise,
    slope_table,
    trained,
    trend_design,
    trend_status,
)
from ntkbook.report.ntk_distance_tables import (  # noqa: F401
    REFERENCE_COLUMNS,
    centring_table,
    collapse_table,
    distance_readings_table,
    equal_time_table,
    gd_criterion_table,
    lin_rate_by_time,
    lin_rate_numbers,
    lin_rate_time_table,
    penalty_table,
    reference_table,
)

__all__ = ["CHAPTER", "SECTIONS", "LEVEL", "DATASET_LABELS", "PROTOCOL_LABELS", "DIST_TEX", "KAPPA_NTK_TEX", "PENALTY_TEX", "COLLAPSE_FORMATS", "mean_interval",
           "slope_interval", "slope_table", "accuracy_table", "trained", "claimed_direction", "trend_status",
           "table1", "table1_accuracy", "centring_table", "distance_readings_table", "collapse_table",
           "gd_criterion_table", "penalty_table", "penalty_verdicts",
           "claim_verdicts", "verdicts_from_results", "chapter_numbers", "format_interval", "pooled_sd",
           "slope_noise", "difference_noise", "trend_design", "cached_runs", "measured_noise",
           "paired_slopes", "contrast_status", "contrast_verdicts", "equal_time_table", "reference_table",
           "REFERENCE_COLUMNS", "COUNTERPART_WORDS", "NO_PENALTY_REASON", "FLAT_MARGIN", "flat_status", "shape_status",
           "half_slopes_per_seed", "shape_verdicts", "reference_verdicts", "lin_rate_by_time", "lin_rate_time_table", "lin_rate_numbers"]



# ----------------------------------------------------------------------------------------------------------
# intervals and rules
# ----------------------------------------------------------------------------------------------------------


# ----------------------------------------------------------------------------------------------------------
# tables
# ----------------------------------------------------------------------------------------------------------


def table1(runs: pd.DataFrame, spec=None) -> pd.DataFrame:
    """Table 1 as the book shows it: one row per (model, data set) of the paper's table; the paper's distances
    (16 → 1024 → 4096) and trend; our mean log-log slope of ||f_m − f_NTK|| with its 95 % interval (marked "flat"
    where `flat_status` holds: the interval inside +-`FLAT_MARGIN`) and status, under
    the paper's protocol (Adam) and under GD with its exact kernel counterpart (raw inputs). With `spec`, each status
    passes the trend design's gate as the verdicts do (`verdicts_from_results`)."""
    rows = _trend_rows(runs)
    design = trend_design(spec, slope_noise(runs)) if spec is not None else None
    out = []
    for _, p in paper.TABLE1.iterrows():
        arch = {v: k for k, v in MODEL_LABELS.items()}[p["model"]]
        claimed = claimed_direction(p["trend"])
        row = {"Model": p["model"], "Data": DATASET_LABELS.get(p["dataset"], p["dataset"]),
               "Paper, $m$ = 16 → 1024 → 4096": f"{p['m=16']:g} → {p['m=1024']:g} → {p['m=4096']:g}",
               "Paper trend": p["trend"]}
        for protocol in ("adam", "gd"):
            status, mean, iv = _status_for(rows, p["dataset"], arch, protocol, claimed)
            status = claims.gated(status, design) if design is not None else status
            label = PROTOCOL_LABELS[protocol]
            ok = rows.get((p["dataset"], arch, protocol), (None, False))[1]
            flat = flat_status(iv, trained_everywhere=ok) == claims.HOLDS
            row[f"Slope, {label}"] = format_interval(mean, *(iv or (math.nan, math.nan))) + (" flat" if flat else "")
            row[f"{label}"] = status
        out.append(row)
    return pd.DataFrame(out)


def table1_accuracy(runs: pd.DataFrame, protocol: str, *, centred: bool = False) -> pd.DataFrame:
    """Did both models train? One row per (data set, model): at every width 'train % (test %)' means over seeds,
    with ✗ when the train-accuracy interval reaches chance (the gate); the last column is the range over widths of
    the mean gap between the network's objective and the linearised network's minimum (Adam) or final training
    MSE (GD)."""
    acc = accuracy_table(runs)
    acc = acc[(acc["protocol"] == protocol) & (acc["centred"] == centred)]
    out = []
    for (dataset, arch), g in acc.groupby(["dataset", "arch"], sort=False):
        row = {"Data": DATASET_LABELS.get(dataset, dataset), "Model": MODEL_LABELS[arch]}
        for _, r in g.sort_values("width").iterrows():
            mark = "" if r["trained"] else " ✗"
            row[f"$m$ = {int(r['width'])}"] = f"{100 * r['train_acc']:.0f} ({100 * r['test_acc']:.0f}){mark}"
        if protocol == "adam" and g["objective_gap"].notna().any():
            row["Objective gap"] = f"{g['objective_gap'].min():+.3f} to {g['objective_gap'].max():+.3f}"
        else:
            row["Train loss"] = f"{g['train_loss'].min():.3f}–{g['train_loss'].max():.3f}"
        out.append(row)
    return pd.DataFrame(out)


def cached_runs(spec, cache_dir=None) -> pd.DataFrame | None:
    """The sweep's rows of `spec` read from the result cache or store only (nothing computed): None unless every
    unit is there."""
    from ntkbook import runner

    return runner.read_only([u for u in nd.units(spec) if u.kind == nd.KIND_RUN], cache_dir=cache_dir)


def measured_noise(profile: str = "default", cache_dir=None) -> dict:
    """{rule: (noise, where from)} for the chapter's two rules at `profile`: the SDs measured from its cached
    results where every unit is cached, else the stated knob `operating.NOISE.slope_sd` (said so in words)."""
    runs = cached_runs(nd.resolve(profile), cache_dir=cache_dir)
    out = {}
    for rule, fn, what in (("trend", slope_noise, "per-seed slopes"),
                           ("slope-difference", difference_noise, "paired per-seed slope differences")):
        noise = _noise(fn(runs)) if runs is not None else None
        out[rule] = ((noise, f"measured: pooled SD of the chapter's {what} at this profile")
                     if noise is not None else (op.NOISE, "stated knob (the chapter's results are not computed)"))
    return out


# ----------------------------------------------------------------------------------------------------------
# verdicts
# ----------------------------------------------------------------------------------------------------------


def _config(spec) -> dict:
    keys = ("n_train", "n_test", "widths", "seeds", "learning_rate", "l2", "l2_form", "plateau_window",
            "plateau_tol", "gd_rate", "gd_fraction")
    return {k: getattr(spec, k) for k in keys}


def _protocol_words(kind: str, protocol: str) -> tuple[str, str]:
    """(claim-id tag, words added to the statement) of a Table 1 verdict under `protocol`: the paper's Adam
    protocol as is, full-batch GD (beyond the paper) tagged "gd-" and said so."""
    if protocol == "adam":
        return kind, ""
    return f"gd-{kind}", " under full-batch GD with the exact kernel counterpart"


def verdicts_from_results(spec, runs: pd.DataFrame) -> list[Verdict]:
    """Table 1's trend claims under the paper's protocol (Adam, raw inputs), and the same claims under GD with the
    exact kernel counterpart (beyond the paper), each gated by the trend rule's design with the measured slope
    noise; then `contrast_verdicts`. Data sets the profile did not run get `not run`."""
    rows = _trend_rows(runs) if len(runs) else {}
    design = trend_design(spec, slope_noise(runs))
    rule = (f"mean over seeds of the per-seed log-log slope of {DIST_TEX} against $m$, 95 % t-interval; "
            f"{COUNTERPART_WORDS}; a direction only if the interval excludes 0; not evaluable unless the "
            f"train-accuracy interval lies above chance at every width; true at a slope of {op.NOISE.effect:g} in the "
            "claimed direction, simulated with the pooled seed-to-seed SD of the slopes"
            + (f" ({design_sd(design, runs)})" if design is not None else "") + _gate_words(design))
    out = []
    for _, p in paper.TABLE1.iterrows():
        arch = {v: k for k, v in MODEL_LABELS.items()}[p["model"]]
        claimed = claimed_direction(p["trend"])
        for protocol, beyond in (("adam", False), ("gd", True)):
            status, mean, iv = _status_for(rows, p["dataset"], arch, protocol, claimed)
            if design is not None:
                status = claims.gated(status, design)
            tag, where = _protocol_words("trend", protocol)
            out.append(Verdict(
                claim=f"table1.{tag}.{p['dataset']}.{p['model']}",
                statement=(f"{DIST_TEX} of {p['model']} on {DATASET_LABELS[p['dataset']]} is {claimed} in the "
                           f"width m{where}"),
                status=status, paper_value=p["trend"], ours=None if not np.isfinite(mean) else float(mean),
                interval=None if iv is None else (float(iv[0]), float(iv[1])), rule=rule, profile=spec.profile,
                config={**_config(spec), "protocol": protocol}, section=SECTIONS["table1"], chapter=CHAPTER,
                beyond_paper=beyond, design=design.name if design is not None and status != claims.NOT_RUN
                else ""))
    return (out + contrast_verdicts(spec, runs) + shape_verdicts(spec, runs) + reference_verdicts(spec, runs)
            + early_lin_rate_verdicts(spec, runs, _config(spec)))


def shape_verdicts(spec, runs: pd.DataFrame) -> list[Verdict]:
    """The paper's shape "non-monotonic, then increasing" (Table 1's MLP-Attn rows that state it) from the per-seed
    slopes over the smaller and the larger half of the widths (`half_slopes_per_seed`, `shape_status`), under Adam
    and under GD; not evaluable with fewer than 4 widths or where the model has not trained."""
    rows = _trend_rows(runs) if len(runs) else {}
    halves = half_slopes_per_seed(runs[runs["centred"] == False]) if len(runs) else half_slopes_per_seed(runs)  # noqa: E712
    design = trend_design(spec, slope_noise(runs), "shape") if len(spec.widths) >= 4 else None
    rule = ("per-seed log-log slopes of " + DIST_TEX + " over the smaller and the larger half of the widths (the "
            "middle width in both), 95 % t-intervals over seeds: holds if the late interval lies above 0 and the "
            "early one below 0 (a sign change of the local slope), does not hold if the late one lies below 0 or "
            "both above 0 (monotone), else not resolved; not evaluable with fewer than 4 widths or where the "
            "train-accuracy interval reaches chance; true at early and late slopes of -/+ "
            f"{op.NOISE.effect:g}, simulated with the pooled SD of the slopes"
            + (f" ({design_sd(design, runs)})" if design is not None else "") + _gate_words(design))
    out = []
    for _, p in paper.TABLE1[paper.TABLE1["trend"].str.startswith("non-monotonic")].iterrows():
        arch = {v: k for k, v in MODEL_LABELS.items()}[p["model"]]
        for protocol, beyond in (("adam", False), ("gd", True)):
            got = rows.get((p["dataset"], arch, protocol))
            h = halves[(halves["dataset"] == p["dataset"]) & (halves["arch"] == arch)
                       & (halves["protocol"] == protocol)] if len(halves) else halves
            early, late = mean_interval(h["early"]) if len(h) else (math.nan, None), (
                mean_interval(h["late"]) if len(h) else (math.nan, None))
            status = (claims.NOT_RUN if got is None else
                      shape_status(early[1], late[1], trained_everywhere=got[1], evaluable=len(spec.widths) >= 4))
            if design is not None:
                status = claims.gated(status, design)
            tag, where = _protocol_words("shape", protocol)
            out.append(Verdict(
                claim=f"table1.{tag}.{p['dataset']}.{p['model']}",
                statement=(f"{DIST_TEX} of {p['model']} on {DATASET_LABELS[p['dataset']]} is non-monotonic in m, "
                           f"then increasing{where}"),
                status=status, paper_value=p["trend"],
                ours=None if not np.isfinite(late[0]) else float(late[0]),
                interval=None if late[1] is None else (float(late[1][0]), float(late[1][1])), rule=rule,
                profile=spec.profile, config={**_config(spec), "protocol": protocol,
                                              "early_slope": None if not np.isfinite(early[0]) else float(early[0])},
                section=SECTIONS["table1"], chapter=CHAPTER, beyond_paper=beyond,
                design=design.name if design is not None and status != claims.NOT_RUN else ""))
    return out


def gd_step_numbers(gd: pd.DataFrame) -> dict:
    """How often the GD step was capped by the network's own kernel at initialisation (`gd_step_capped`, see
    `experiments.ntk_distance.OWN_STEP_CAP`): `gd_step_own_runs` of the GD runs, the widest of them at
    `gd_step_own_max_width` (0 if none), and `gd_lambda_ratio_max` the largest ratio lambda_max(Theta_0) /
    lambda_max(K_inf) (NaN without the columns)."""
    if not len(gd) or "gd_step_capped" not in gd:
        return {"gd_step_own_runs": 0, "gd_step_own_max_width": 0, "gd_lambda_ratio_max": math.nan,
                "gd_own_cap": nd.OWN_STEP_CAP, "gd_own_cap_pct": 50 * nd.OWN_STEP_CAP}
    ratio = gd["lambda_max_own"] / gd["lambda_max_inf"]
    own = gd[gd["gd_step_capped"] > 0]
    return {"gd_step_own_runs": int(len(own)), "gd_step_own_max_width": int(own["width"].max()) if len(own) else 0,
            "gd_lambda_ratio_max": float(ratio.max()), "gd_own_cap": nd.OWN_STEP_CAP,
            "gd_own_cap_pct": 50 * nd.OWN_STEP_CAP}


def diverged_linearised(runs: pd.DataFrame) -> pd.DataFrame:
    """The GD rows whose linearised network diverged: its final training MSE (`lin_objective`) above the initial
    one (`train_loss_init`, shared with the network, f_lin(0) = f(0)). Gradient descent on a quadratic with a step
    below 2 / lambda_max never raises the loss, and the step is capped below Theta_0's bound, so a rise would mean a
    broken iteration, not a property of the model. Rows: width, seed."""
    if not len(runs) or "lin_objective" not in runs:
        return pd.DataFrame(columns=["width", "seed"])
    gd = runs[runs["protocol"] == "gd"]
    bad = gd[~(gd["lin_objective"] <= gd["train_loss_init"])]
    return bad[["width", "seed"]].sort_values(["width", "seed"]).reset_index(drop=True)


def reference_verdicts(spec, runs: pd.DataFrame) -> list[Verdict]:
    """Known answer, measured on the chapter's own runs: the linearised network's distance to the infinite-width
    counterpart shrinks like m^(-1/2), per (protocol, data set, model) on raw inputs: the slope interval of
    `lin_dist_inf` inside -1/2 +- `known_answers.RATE_MARGIN` (`claims.equivalence_rule`), gated by the design at
    the group's own seed-to-seed SD. No training gate: the
    linearised network's distance is a property of the kernels at initialisation and the objective."""
    from ntkbook.known_answers import RATE_MARGIN

    raw = runs[runs["centred"] == False] if len(runs) else runs  # noqa: E712
    tab = slope_table(raw, "lin_dist_inf") if len(raw) else pd.DataFrame()
    out = []
    for _, r in tab.iterrows():
        # each group's own seed-to-seed SD: the groups differ by orders of magnitude (a pooled SD set by the
        # noisiest group left every other group "not resolved")
        group = raw[(raw["protocol"] == r["protocol"]) & (raw["dataset"] == r["dataset"]) & (raw["arch"] == r["arch"])]
        sd = slope_noise(group, "lin_dist_inf")
        design = trend_design(spec, sd, "lin-rate")
        rule = (f"per-seed log-log slope of {REFERENCE_COLUMNS['lin_dist_inf']} against m, 95 % t-interval; holds if "
                f"it lies within -1/2 +- {RATE_MARGIN:g} (equivalence), does not hold if wholly outside; simulated "
                "with this model's seed-to-seed SD of these slopes" + (f" (SD {sd:.3f})" if design else "")
                + _gate_words(design))
        iv = (r["lo"], r["hi"]) if np.isfinite(r["lo"]) else None
        status = claims.equivalence_rule(iv, RATE_MARGIN, centre=-0.5) if iv is not None else claims.NOT_EVALUABLE
        if design is not None:
            status = claims.gated(status, design)
        unstable = diverged_linearised(group)
        if len(unstable):
            status = claims.NOT_EVALUABLE
            rule += ("; not evaluable: the linearised network's gradient descent diverges at "
                     + ", ".join(f"m = {int(u.width)} (seed {int(u.seed)})" for u in unstable.itertuples())
                     + " (its training loss ends above its start, impossible for a step below 2 / lambda_max of its "
                     "own kernel, which the step is set to respect)")
        out.append(Verdict(
            claim=f"table1.lin-rate.{r['protocol']}.{r['dataset']}.{MODEL_LABELS[r['arch']]}",
            statement=(f"the linearised {MODEL_LABELS[r['arch']]} ({PROTOCOL_LABELS[r['protocol']]}, "
                       f"{DATASET_LABELS[r['dataset']]}) approaches the infinite-width counterpart like m^(-1/2)"),
            status=status, paper_value="m^(-1/2) (finite-width NTK fluctuation)",
            ours=None if not np.isfinite(r["slope"]) else float(r["slope"]),
            interval=None if iv is None else (float(iv[0]), float(iv[1])), rule=rule, profile=spec.profile,
            config={**_config(spec), "protocol": r["protocol"]}, section=SECTIONS["table1"], chapter=CHAPTER,
            beyond_paper=True, design=design.name if design is not None else ""))
    return out


def contrast_verdicts(spec, runs: pd.DataFrame) -> list[Verdict]:
    """The comparison the paper draws from Table 1, "MLP-Attn's distance grows with width where 2L-ReLU's
    shrinks", per data set: the paired per-seed slope difference MLP-Attn - 2L-ReLU on the seeds both ran
    (`claims.paired_difference`, 95 % t-interval), one-sided above 0 (`contrast_status`), gated by the design
    "slope-difference" simulated with the pooled SD of the paired differences. Under Adam (the paper's protocol)
    and under GD (beyond the paper)."""
    rows = _trend_rows(runs) if len(runs) else {}
    design = trend_design(spec, difference_noise(runs), "slope-difference")
    rule = (f"paired per-seed difference of the log-log slopes of {DIST_TEX} (MLP-Attn minus 2L-ReLU) over the "
            "seeds both ran, 95 % t-interval; one-sided: holds if it lies above 0, does not hold if below; true at "
            f"a difference of {op.NOISE.effect:g}, simulated with the pooled SD of the differences"
            + (f" ({design_sd(design, runs)})" if design is not None else "") + _gate_words(design))
    out = []
    for dataset in paper.TABLE1["dataset"].drop_duplicates():
        for protocol, beyond in (("adam", False), ("gd", True)):
            ran = (dataset, "attn", protocol) in rows and (dataset, "relu", protocol) in rows
            ok = ran and rows[(dataset, "attn", protocol)][1] and rows[(dataset, "relu", protocol)][1]
            pair = paired_slopes(runs, dataset, protocol) if ran else pd.DataFrame(columns=["attn", "relu"])
            mean, iv = math.nan, None
            if len(pair) >= 2:
                mean, lo, hi = claims.paired_difference(pair["attn"].to_numpy(), pair["relu"].to_numpy())
                iv = (lo, hi)
            elif len(pair) == 1:
                mean = float(pair["attn"].iloc[0] - pair["relu"].iloc[0])
            status = contrast_status(iv, trained_everywhere=ok, ran=ran)
            if design is not None:
                status = claims.gated(status, design)
            tag, where = _protocol_words("contrast", protocol)
            out.append(Verdict(
                claim=f"table1.{tag}.{dataset}",
                # what the paired difference decides: the comparison only (whether MLP-Attn's distance itself
                # rises is its own trend verdict, table1.trend.*.MLP-Attn)
                statement=(f"on {DATASET_LABELS[dataset]}, {DIST_TEX} of MLP-Attn falls more slowly with the width m "
                           f"than 2L-ReLU's, or rises: MLP-Attn's slope exceeds 2L-ReLU's{where}"),
                status=status, paper_value="MLP-Attn increasing, 2L-ReLU decreasing",
                ours=None if not np.isfinite(mean) else float(mean), interval=iv, rule=rule, profile=spec.profile,
                config={**_config(spec), "protocol": protocol, "seeds_paired": len(pair)},
                section=SECTIONS["table1"], chapter=CHAPTER, beyond_paper=beyond,
                design=design.name if design is not None and status != claims.NOT_RUN else ""))
    return out


#: why the no-penalty trends are not evaluable (the rule of their verdicts)
NO_PENALTY_REASON = ("not evaluable by construction: cross-entropy without a penalty has no finite minimiser (the "
                     "logits grow without bound as training goes on), so the lazy limit of the trained objective "
                     "does not exist and a distance to it measures the epoch budget, not the width")


def penalty_verdicts(spec, runs_none: pd.DataFrame) -> list[Verdict]:
    """Table 1's trend claims under Adam without the penalty (beyond the paper): not evaluable, with the reason
    (`NO_PENALTY_REASON`) as the rule; not run where the penalty check has no rows."""
    out = []
    for _, p in paper.TABLE1.iterrows():
        if not len(runs_none) or p["dataset"] not in set(runs_none["dataset"]):
            continue
        out.append(Verdict(
            claim=f"table1.trend-no-penalty.{p['dataset']}.{p['model']}",
            statement=(f"{DIST_TEX} of {p['model']} on {DATASET_LABELS[p['dataset']]} is "
                       f"{claimed_direction(p['trend'])} in the width m (Adam without the L2 penalty)"),
            status=claims.NOT_EVALUABLE, paper_value=p["trend"], ours=None, interval=None, rule=NO_PENALTY_REASON,
            profile=spec.profile, config={**_config(spec), "l2_form": "none"}, section=SECTIONS["table1"],
            chapter=CHAPTER, beyond_paper=True, design=""))
    return out


def verdicts(spec: nd.NtkDistanceSpec, results) -> list[Verdict]:
    """The chapter's verdicts from `results`, what `experiments.ntk_distance.results(spec)` returned (the contract
    every chapter's report speaks: `verdicts(spec, results)` and `numbers(spec, results)`): Table 1's from the runs,
    then the no-penalty check's (`penalty_verdicts`) from its own runs."""
    return verdicts_from_results(spec, results["runs"]) + penalty_verdicts(spec, results["penalty"])


def numbers(spec: nd.NtkDistanceSpec, results) -> dict:
    """The numbers the chapter's prose glues, keyed by their glue names (plain Python values), from the same
    `results`."""
    return chapter_numbers(spec, results["runs"], results["collapse"])


def claim_verdicts(profile: str = "default", *, scheduler=None, cache_dir=None, **overrides) -> list[Verdict]:
    """The chapter's verdicts for `profile`, from the chapter's results (`nd.results`: read from the result cache
    or the store, computed where missing)."""
    spec = nd.resolve(profile, **overrides)
    return verdicts(spec, nd.results(spec, scheduler=scheduler, cache_dir=cache_dir))


def chapter_numbers(spec, runs: pd.DataFrame, collapse: pd.DataFrame) -> dict:
    """Plain numbers the prose quotes (glued by the notebook): collapse statistics per data set, GD criterion
    counts, and each Table 1 slope."""
    out = {"n_train": spec.n_train, "n_test": spec.n_test, "n_seeds": len(spec.seeds),
           "m_min": min(spec.widths), "m_max": max(spec.widths), "gd_fraction_pct": 100 * spec.gd_fraction,
           "plateau_tol_pct": 100 * spec.plateau_tol, "plateau_window": spec.plateau_window}
    for _, r in collapse.iterrows():
        key = f"{r['dataset']}_{r['arch']}_{'centred' if r['centred'] else 'raw'}"
        out[f"cos_{key}"] = float(r["mean_cosine"])
        out[f"erank_{key}"] = float(r["effective_rank"])
        out[f"top_{key}"] = float(r["top_share"])
    gd = runs[runs["protocol"] == "gd"]
    for (dataset, arch, centred), g in gd.groupby(["dataset", "arch", "centred"]):
        key = f"{dataset}_{arch}_{'centred' if centred else 'raw'}"
        out[f"ksteps_{key}"] = float(np.median(g["kernel_steps"]))
        top = g[g["width"] == g["width"].max()]
        out[f"gd_acc_{key}"] = 100 * float(top["test_acc"].mean())
        out[f"gd_ntk_acc_{key}"] = 100 * float(top["ntk_test_acc"].mean())
        if "ntk0_test_acc" in top:
            out[f"gd_ntk0_acc_{key}"] = 100 * float(top["ntk0_test_acc"].mean())
    out["gd_reached"] = int(gd["criterion_met"].sum())
    out["gd_steps"] = int(max(spec.gd_times))
    out["gd_times"] = ", ".join(str(t) for t in spec.gd_times)
    out["gd_runs"] = int(len(gd))
    out.update(gd_step_numbers(gd))
    adam = runs[runs["protocol"] == "adam"]
    out["adam_plateaued"] = int(adam["criterion_met"].sum())
    out["adam_runs"] = int(len(adam))
    out["adam_gap_max"] = float(adam["objective_gap"].max()) if len(adam) else math.nan
    out["adam_gap_min"] = float(adam["objective_gap"].min()) if len(adam) else math.nan
    out["ntk_residual_max"] = float(adam["ntk_residual"].max()) if len(adam) else math.nan
    for key, col in (("lin", "lin_dist_inf"), ("beyond", "dist_lin")):
        for _, r in slope_table(runs[runs["centred"] == False], col).iterrows():  # noqa: E712
            out[f"{key}_slope_{r['protocol']}_{r['dataset']}_{r['arch']}"] = float(r["slope"])
    for t in spec.gd_times:
        col = f"dist_t{int(t)}"
        if col in runs:
            for _, r in slope_table(runs[runs["centred"] == False], col).iterrows():  # noqa: E712
                if r["protocol"] == "gd":
                    out[f"slope_t{int(t)}_{r['dataset']}_{r['arch']}"] = float(r["slope"])
                    if int(t) == min(spec.gd_times):  # the grid's first time, named whatever the profile's grid
                        out[f"slope_tfirst_{r['dataset']}_{r['arch']}"] = float(r["slope"])
    out["gd_first_time"] = int(min(spec.gd_times))
    out.update(lin_rate_numbers(runs))
    s = slope_table(runs)
    for _, r in s.iterrows():
        key = f"{r['protocol']}_{r['dataset']}_{r['arch']}_{'centred' if r['centred'] else 'raw'}"
        out[f"slope_{key}"] = float(r["slope"])
    # a profile without the centred control (or a data set) still glues every number the prose names: NaN
    for key in [k for k in out if k.endswith("_raw")]:
        out.setdefault(key[: -len("_raw")] + "_centred", math.nan)
    return out
