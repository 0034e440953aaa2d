"""Chapter 3's report layer: the sweep's rows (`ntkbook.experiments.ntk_distance`, via the cache) turned into
trend intervals, statuses, the rendered Table 1, glued numbers and verdicts on the paper's Table 1.

Rules (each a function of measured numbers and their uncertainty; tests drive every status):

- `slope_interval`: the log-log slope of a distance against width is fitted per seed; its mean over the seeds and
  the 95 % Student-t interval of that mean (n_seeds - 1 degrees of freedom) summarise it. A direction is called
  only when the interval excludes 0 (`ntkbook.claims.trend_from_interval`), otherwise it is "not resolved".
- `trained`: a model has trained at a width when the 95 % t-interval of its test accuracy over seeds lies above
  chance (1 / number of classes). A trend over widths is evaluable only when the model trained at every width.
- `trend_status`: the paper's direction against our slope interval -> holds / does not hold / not resolved, or
  not evaluable when the model has not trained (or fewer than 2 seeds), not run when the sweep has no rows.
- Design gate: each trend verdict passes `claims.gated` with the simulated design of the rule
  (`report.verdict_tests.design_at("trend", ...)`) at the chapter's seeds and widths, whose noise is measured from
  the chapter's own results: the pooled seed-to-seed SD of the per-seed log-log slopes (`slope_noise`). The claim
  counts as true at a slope of `operating.NOISE.effect` (a declared knob) and false at 0.
- `contrast_verdicts`: "MLP-Attn grows where 2L-ReLU shrinks" is decided on the paired per-seed slope difference
  MLP-Attn - 2L-ReLU over the seeds both ran (`claims.paired_difference`, one-sided `claims.one_sided_rule` above
  0), gated by the design "slope-difference" with the pooled SD of those differences. No claim of the chapter is
  "flat"; a flat statement would need `claims.equivalence_rule` with a stated margin.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable

import numpy as np
import pandas as pd

from ntkbook import claims, notebook, paper
from ntkbook import operating as op
from ntkbook.claims import Verdict
from ntkbook.experiments import ntk_distance as nd
from ntkbook.labels import DATASET_LABELS
from ntkbook.models import MODEL_LABELS

__all__ = ["CHAPTER", "SECTIONS", "LEVEL", "DATASET_LABELS", "PROTOCOL_LABELS", "DIST_TEX", "KAPPA_NTK_TEX", "PENALTY_TEX", "COLLAPSE_FORMATS", "mean_interval",
           "slope_interval", "slope_table", "accuracy_table", "trained", "claimed_direction", "trend_status",
           "table1", "table1_accuracy", "centring_table", "distance_readings_table", "collapse_table",
           "gd_criterion_table", "penalty_table", "penalty_verdicts",
           "claim_verdicts", "verdicts_from_results", "chapter_numbers", "format_interval", "pooled_sd",
           "slope_noise", "difference_noise", "trend_design", "cached_runs", "measured_noise",
           "paired_slopes", "contrast_status", "contrast_verdicts"]

CHAPTER = "03_ntk_distance"
#: MyST labels of the sections that decide the claims (defined in the chapter's markdown).
SECTIONS = {"table1": "ntk-table1", "gd": "ntk-gd", "collapse": "ntk-collapse"}
LEVEL = 0.95
PROTOCOL_LABELS = {"adam": "Adam", "gd": "GD"}
#: the quantities the tables and verdicts name, as math (typeset by `ntkbook.notebook.table` and the book)
DIST_TEX = r"$\|f_m - f_{\mathrm{NTK}}\|$"
KAPPA_NTK_TEX = r"$\kappa(K_\infty)$"
PENALTY_TEX = r"$\frac{\lambda}{2}\|W - W_0\|^2$"
#: `collapse_table`'s formats for `ntkbook.notebook.table` (kappa spans decades: scientific notation, typeset)
COLLAPSE_FORMATS = {"Mean cosine": ".4f", "Effective rank": ".3g", "Top share": ".3f", KAPPA_NTK_TEX: notebook.number}
_GROUP = ["dataset", "arch", "centred", "protocol"]


def _ordered(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows in reading order: MNIST before CIFAR-10, raw before centred, 2L-ReLU before MLP-Attn, Adam before GD,
    then by width and seed (whatever order the units came back in)."""
    keys = {"dataset": list(nd.DATASETS), "arch": list(MODEL_LABELS), "protocol": list(nd.PROTOCOLS)}
    cols = [c for c in ("dataset", "centred", "arch", "protocol", "width", "seed") if c in frame.columns]
    frame = frame.reset_index(drop=True)
    rank = {c: frame[c].map({v: i for i, v in enumerate(keys[c])}) if c in keys else frame[c] for c in cols}
    order = pd.DataFrame(rank).sort_values(cols, kind="stable").index
    return frame.iloc[order].reset_index(drop=True)



# ----------------------------------------------------------------------------------------------------------
# intervals and rules
# ----------------------------------------------------------------------------------------------------------


def mean_interval(values: Iterable[float], level: float = LEVEL) -> tuple[float, tuple[float, float] | None]:
    """Mean and its Student-t interval at `level` (NaN values dropped); (nan, None) for no values, (mean, None)
    for one value (no spread to estimate)."""
    from scipy import stats

    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=np.float64)
    if v.size == 0:
        return math.nan, None
    mean = float(v.mean())
    if v.size < 2:
        return mean, None
    half = float(stats.t.ppf(0.5 + level / 2, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    return mean, (mean - half, mean + half)


def slope_interval(per_seed: Iterable[float], level: float = LEVEL):
    """`(mean slope, interval, direction)`: direction is "increasing" / "decreasing" when the interval lies above /
    below 0 and "not resolved" otherwise (or with fewer than two seeds)."""
    mean, iv = mean_interval(per_seed, level)
    direction = claims.trend_from_interval(iv) if iv is not None else "unresolved"
    return mean, iv, ("not resolved" if direction == "unresolved" else direction)


def slope_table(runs: pd.DataFrame, column: str = "dist_abs") -> pd.DataFrame:
    """One row per (dataset, arch, centred, protocol): slope (mean of per-seed log-log slopes of `column` against
    width), lo, hi (95 % t-interval), direction, n_seeds."""
    per_seed = _ordered(nd.width_slopes_per_seed(runs, column))
    rows = []
    for key, g in per_seed.groupby(_GROUP, sort=False):
        mean, iv, direction = slope_interval(g["slope"])
        rows.append({**dict(zip(_GROUP, key, strict=True)), "slope": mean, "lo": iv[0] if iv else math.nan,
                     "hi": iv[1] if iv else math.nan, "direction": direction, "n_seeds": int(g["slope"].notna().sum())})
    return pd.DataFrame(rows)


def accuracy_table(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (dataset, arch, centred, protocol, width): means over seeds of train_loss, train_acc, test_acc,
    the test accuracy's 95 % t-interval (acc_lo, acc_hi), chance (1 / classes), the fraction of seeds whose
    training met its criterion, and `trained` (acc_lo > chance)."""
    rows = []
    for key, g in _ordered(runs).groupby(_GROUP + ["width"], sort=False):
        mean, iv = mean_interval(g["test_acc"])
        chance = 1.0 / float(g["n_classes"].iloc[0])
        rows.append({**dict(zip(_GROUP + ["width"], key, strict=True)),
                     "train_loss": float(g["train_loss"].mean()), "train_acc": float(g["train_acc"].mean()),
                     "test_acc": mean, "acc_lo": iv[0] if iv else math.nan, "acc_hi": iv[1] if iv else math.nan,
                     "chance": chance, "criterion_met": float(g["criterion_met"].mean()),
                     "steps": float(g["steps"].mean()), "trained": trained(iv, chance)})
    return pd.DataFrame(rows)


def trained(acc_interval, chance: float) -> bool:
    """True when the accuracy interval lies wholly above chance (False without an interval)."""
    return acc_interval is not None and float(acc_interval[0]) > chance


def claimed_direction(paper_trend: str) -> str:
    """The direction a Table 1 trend states at large width: its last word ("increasing" / "decreasing")."""
    word = str(paper_trend).split()[-1]
    if word not in ("increasing", "decreasing"):
        raise ValueError(f"cannot read a direction from the trend {paper_trend!r}")
    return word


def trend_status(claimed: str, interval, *, trained_everywhere: bool, ran: bool = True) -> str:
    """The paper's direction against our slope interval (see the module docstring)."""
    if not ran:
        return claims.NOT_RUN
    if not trained_everywhere or interval is None:
        return claims.NOT_EVALUABLE
    return claims.trend_rule(claimed, interval)


def format_interval(mean: float, lo: float, hi: float) -> str:
    """'+0.12 [+0.05, +0.19]' (signed, two decimals); '–' for NaN."""
    if not np.isfinite(mean):
        return "–"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return f"{mean:+.2f}"
    return f"{mean:+.2f} [{lo:+.2f}, {hi:+.2f}]"


# ----------------------------------------------------------------------------------------------------------
# tables
# ----------------------------------------------------------------------------------------------------------


def _trend_rows(runs: pd.DataFrame, centred: bool = False):
    """(dataset, arch, protocol, slope row, all-trained flag) for every group of the uncentred (or centred) runs."""
    slopes = slope_table(runs)
    acc = accuracy_table(runs)
    out = {}
    for _, s in slopes[slopes["centred"] == centred].iterrows():
        a = acc[(acc["dataset"] == s["dataset"]) & (acc["arch"] == s["arch"]) & (acc["centred"] == centred)
                & (acc["protocol"] == s["protocol"])]
        out[(s["dataset"], s["arch"], s["protocol"])] = (s, bool(a["trained"].all()) and len(a) > 0)
    return out


def _status_for(rows, dataset, arch, protocol, claimed):
    got = rows.get((dataset, arch, protocol))
    if got is None:
        return claims.NOT_RUN, math.nan, None
    s, ok = got
    iv = (s["lo"], s["hi"]) if np.isfinite(s["lo"]) else None
    return trend_status(claimed, iv, trained_everywhere=ok), s["slope"], iv


def table1(runs: pd.DataFrame, spec=None) -> pd.DataFrame:
    """Table 1 as the book shows it: one row per (model, data set) of the paper's table; the paper's distances
    (16 → 1024 → 4096) and trend; our mean log-log slope of ||f_m − f_NTK|| with its 95 % interval and status, under
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
            row[f"Slope, {label}"] = format_interval(mean, *(iv or (math.nan, math.nan)))
            row[f"{label}"] = status
        out.append(row)
    return pd.DataFrame(out)


def table1_accuracy(runs: pd.DataFrame, protocol: str, *, centred: bool = False) -> pd.DataFrame:
    """Did both models train? One row per (data set, model): at every width 'test % (train %)' means over seeds,
    with ✗ when the test-accuracy interval reaches chance; the last column is the final training loss range."""
    acc = accuracy_table(runs)
    acc = acc[(acc["protocol"] == protocol) & (acc["centred"] == centred)]
    out = []
    for (dataset, arch), g in acc.groupby(["dataset", "arch"], sort=False):
        row = {"Data": DATASET_LABELS.get(dataset, dataset), "Model": MODEL_LABELS[arch]}
        for _, r in g.sort_values("width").iterrows():
            mark = "" if r["trained"] else " ✗"
            row[f"$m$ = {int(r['width'])}"] = f"{100 * r['test_acc']:.0f} ({100 * r['train_acc']:.0f}){mark}"
        row["Train loss"] = f"{g['train_loss'].min():.2f}–{g['train_loss'].max():.2f}"
        out.append(row)
    return pd.DataFrame(out)


def centring_table(runs: pd.DataFrame, column: str = "dist_abs") -> pd.DataFrame:
    """The centred-input control: per (protocol, data set, model) the slope interval and direction of `column`
    with raw inputs beside centred inputs (rows only where both ran)."""
    s = slope_table(runs, column)
    acc = accuracy_table(runs)
    out = []
    for (protocol, dataset, arch), g in s.groupby(["protocol", "dataset", "arch"], sort=False):
        row = {"Protocol": PROTOCOL_LABELS[protocol], "Data": DATASET_LABELS.get(dataset, dataset),
               "Model": MODEL_LABELS[arch]}
        for centred, name in ((False, "Raw inputs"), (True, "Centred inputs")):
            r = g[g["centred"] == centred]
            a = acc[(acc["protocol"] == protocol) & (acc["dataset"] == dataset) & (acc["arch"] == arch)
                    & (acc["centred"] == centred)]
            if r.empty:
                row[name] = "–"
                continue
            r = r.iloc[0]
            tag = r["direction"] if a["trained"].all() else "not trained"
            row[name] = f"{format_interval(r['slope'], r['lo'], r['hi'])} {_ARROWS.get(tag, tag)}"
        out.append(row)
    return pd.DataFrame(out)


_ARROWS = {"increasing": "↑", "decreasing": "↓", "not resolved": "·"}


def distance_readings_table(runs: pd.DataFrame, *, centred: bool = False) -> pd.DataFrame:
    """The readings of "NTK distance" side by side: per (protocol, data set, model) the slope intervals of the
    absolute function distance, the distance relative to the learned part, and the kernel distance after
    training (arrows: direction decided by the interval; · not resolved)."""
    cols = {"dist_abs": DIST_TEX, "dist_rel_learned": r"$\div\, \|f_{\mathrm{NTK}} - f_0\|$",
            "kernel_dist_final": r"$\|K_m - K_\infty\| / \|K_\infty\|$ (trained)"}
    tabs = {c: slope_table(runs, c) for c in cols}
    base = tabs["dist_abs"]
    out = []
    for _, b in base[base["centred"] == centred].iterrows():
        row = {"Protocol": PROTOCOL_LABELS[b["protocol"]], "Data": DATASET_LABELS.get(b["dataset"], b["dataset"]),
               "Model": MODEL_LABELS[b["arch"]]}
        for c, name in cols.items():
            t = tabs[c]
            r = t[(t["dataset"] == b["dataset"]) & (t["arch"] == b["arch"]) & (t["centred"] == centred)
                  & (t["protocol"] == b["protocol"])].iloc[0]
            row[name] = f"{format_interval(r['slope'], r['lo'], r['hi'])} {_ARROWS[r['direction']]}"
        out.append(row)
    return pd.DataFrame(out)


def gd_criterion_table(runs: pd.DataFrame) -> pd.DataFrame:
    """GD to the stated criterion: per (data set, inputs, model, width) the fraction of seeds that reached it, the
    mean steps the network used and the median steps the infinite-width kernel needs (inf: never)."""
    g = _ordered(runs[runs["protocol"] == "gd"])
    out = []
    for (dataset, centred, arch, width), r in g.groupby(["dataset", "centred", "arch", "width"], sort=False):
        ks = float(np.median(r["kernel_steps"]))
        out.append({"Data": DATASET_LABELS.get(dataset, dataset), "Inputs": "centred" if centred else "raw",
                    "Model": MODEL_LABELS[arch], "$m$": int(width),
                    "Reached": f"{int(r['criterion_met'].sum())}/{len(r)}",
                    "Steps (network)": float(r["steps"].mean()),
                    "Steps (kernel)": ks})
    return pd.DataFrame(out)


def collapse_table(collapse: pd.DataFrame) -> pd.DataFrame:
    """The collapse of the features per data set: mean cosine, effective rank and top-eigenvalue share of the
    features' linear kernel (for MLP-Attn: the attention kernel), raw and centred inputs."""
    out = []
    for _, r in _ordered(collapse).iterrows():
        out.append({"Data": DATASET_LABELS.get(r["dataset"], r["dataset"]),
                    "Inputs": "centred" if r["centred"] else "raw", "Model": MODEL_LABELS[r["arch"]],
                    "Mean cosine": float(r["mean_cosine"]), "Effective rank": float(r["effective_rank"]),
                    "Top share": float(r["top_share"]), KAPPA_NTK_TEX: float(r["kappa_ntk"])})
    return pd.DataFrame(out)


# ----------------------------------------------------------------------------------------------------------
# the noise of the chapter's own results and the designs that gate its verdicts
# ----------------------------------------------------------------------------------------------------------


pooled_sd = claims.pooled_sd


def slope_noise(runs: pd.DataFrame, column: str = "dist_abs") -> float:
    """The seed-to-seed spread of the per-seed log-log slopes of `column`: their SD within each (data set, model,
    inputs, protocol), pooled over those groups (`pooled_sd`); nan without two seeds anywhere."""
    if not len(runs):
        return math.nan
    per_seed = nd.width_slopes_per_seed(runs, column)
    return pooled_sd(g["slope"] for _, g in per_seed.groupby(_GROUP))


def paired_slopes(runs: pd.DataFrame, dataset: str, protocol: str, *, centred: bool = False,
                  column: str = "dist_abs") -> pd.DataFrame:
    """Per-seed slopes of MLP-Attn and 2L-ReLU (columns attn, relu, indexed by seed) on the seeds both ran with a
    finite slope, for one data set and protocol."""
    per_seed = nd.width_slopes_per_seed(runs, column) if len(runs) else pd.DataFrame(columns=_GROUP + ["seed"])
    sel = per_seed[(per_seed["dataset"] == dataset) & (per_seed["protocol"] == protocol)
                   & (per_seed["centred"] == centred)] if len(per_seed) else per_seed
    wide = sel.pivot_table(index="seed", columns="arch", values="slope") if len(sel) else pd.DataFrame()
    if not {"attn", "relu"} <= set(wide.columns):
        return pd.DataFrame(columns=["attn", "relu"])
    return wide[["attn", "relu"]].dropna()


def difference_noise(runs: pd.DataFrame, column: str = "dist_abs") -> float:
    """The seed-to-seed SD of the paired slope differences MLP-Attn - 2L-ReLU, pooled over (data set, inputs,
    protocol) (`pooled_sd`); nan without two shared seeds anywhere."""
    if not len(runs):
        return math.nan
    groups = []
    for (dataset, centred, protocol), _ in runs.groupby(["dataset", "centred", "protocol"]):
        p = paired_slopes(runs, dataset, protocol, centred=bool(centred), column=column)
        groups.append((p["attn"] - p["relu"]).to_numpy())
    return pooled_sd(groups)


def _noise(sd: float) -> op.Noise | None:
    # rounded, so that the chapter and the page simulate the same design (and share its cached table)
    return dataclasses.replace(op.NOISE, slope_sd=round(float(sd), 3)) if math.isfinite(sd) and sd > 0 else None


def trend_design(spec, sd: float, rule: str = "trend") -> claims.Design | None:
    """The `claims.Design` of the trend rule ("trend": one model's mean slope; "slope-difference": the paired
    difference) at the spec's seeds and widths with the measured per-seed SD `sd` (`slope_noise` or
    `difference_noise`); None when no spread could be measured (then no interval exists either)."""
    from ntkbook.report import verdict_tests as vt

    noise = _noise(sd)
    if noise is None:
        return None
    size = {"seeds": len(spec.seeds), "widths": len(spec.widths)}
    return vt.design_at(rule, size, sims=vt.SIMS.get(spec.profile, vt.SIMS["default"]), noise=noise)[1]


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


def _gate_words(design: claims.Design | None) -> str:
    if design is None:
        return ""
    if design.decides:
        return (f"; the design at these seeds decides (power {design.power:.2f}, false holds "
                f"{design.false_holds:.2f})")
    return f"; the design at these seeds cannot decide (power {design.power:.2f}): {design.needed}"


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
            "a direction only if the interval excludes 0; not evaluable unless the test-accuracy interval "
            f"lies above chance at every width; true at a slope of {op.NOISE.effect:g} in the claimed direction, "
            "simulated with the pooled seed-to-seed SD of the slopes"
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
    return out + contrast_verdicts(spec, runs)


def design_sd(design: claims.Design, runs: pd.DataFrame) -> str:
    """The measured SD the design was simulated with, in words."""
    sd = slope_noise(runs) if design.name == "trend" else difference_noise(runs)
    return f"SD {sd:.3f}"


def contrast_status(diff_interval, *, trained_everywhere: bool, ran: bool = True) -> str:
    """"MLP-Attn's slope exceeds 2L-ReLU's" against the interval of the paired slope difference: one-sided above
    0 (`claims.one_sided_rule`); not evaluable unless both models trained at every width and two seeds are
    shared, not run without rows."""
    if not ran:
        return claims.NOT_RUN
    if not trained_everywhere or diff_interval is None:
        return claims.NOT_EVALUABLE
    return claims.one_sided_rule(diff_interval, 0.0, side="above")


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
                statement=(f"on {DATASET_LABELS[dataset]}, {DIST_TEX} of MLP-Attn grows with the width m where "
                           f"2L-ReLU's shrinks: MLP-Attn's slope exceeds 2L-ReLU's{where}"),
                status=status, paper_value="MLP-Attn increasing, 2L-ReLU decreasing",
                ours=None if not np.isfinite(mean) else float(mean), interval=iv, rule=rule, profile=spec.profile,
                config={**_config(spec), "protocol": protocol, "seeds_paired": len(pair)},
                section=SECTIONS["table1"], chapter=CHAPTER, beyond_paper=beyond,
                design=design.name if design is not None and status != claims.NOT_RUN else ""))
    return out


def penalty_table(runs: pd.DataFrame, runs_none: pd.DataFrame) -> pd.DataFrame:
    """Adam on raw inputs with the penalty (l2/2)||W − W0||² beside no penalty: per (data set, model) the slope of
    ||f_m − f_NTK|| (95 % interval) with the status of the paper's direction, and the test accuracy at the largest
    width (each against its own kernel counterpart: ridge n C l2, resp. 0)."""
    out = []
    for _, p in paper.TABLE1.iterrows():
        arch = {v: k for k, v in MODEL_LABELS.items()}[p["model"]]
        if p["dataset"] not in set(runs_none["dataset"]):
            continue
        row = {"Model": p["model"], "Data": DATASET_LABELS.get(p["dataset"], p["dataset"])}
        for frame, name in ((runs, PENALTY_TEX), (runs_none, "no penalty")):
            frame = frame[(frame["protocol"] == "adam") & (frame["centred"] == False)]  # noqa: E712
            status, mean, iv = _status_for(_trend_rows(frame), p["dataset"], arch, "adam", claimed_direction(p["trend"]))
            top = frame[(frame["dataset"] == p["dataset"]) & (frame["arch"] == arch)]
            top = top[top["width"] == top["width"].max()]
            row[f"Slope, {name}"] = format_interval(mean, *(iv or (math.nan, math.nan)))
            row[f"Status, {name}"] = status
            row[f"Test %, {name}"] = f"{100 * top['test_acc'].mean():.0f}"
        out.append(row)
    return pd.DataFrame(out)


def penalty_verdicts(spec, runs_none: pd.DataFrame) -> list[Verdict]:
    """Table 1's trend claims under Adam without the penalty (beyond the paper: the dependence on the penalty)."""
    variant = nd.penalty_variant(spec)
    out = []
    for v in verdicts_from_results(variant, runs_none):
        if ".trend." not in v.claim or v.status == claims.NOT_RUN:
            continue
        out.append(dataclasses.replace(v, claim=v.claim.replace(".trend.", ".trend-no-penalty."),
                                       statement=v.statement + " (Adam without the L2 penalty)", beyond_paper=True))
    return out


def claim_verdicts(profile: str = "default", *, scheduler=None, cache_dir=None, **overrides) -> list[Verdict]:
    """The chapter's verdicts for `profile`, from the chapter's results (`nd.results`, `nd.penalty_results`: read
    from the result cache, computed where missing)."""
    spec = nd.resolve(profile, **overrides)
    runs, _ = nd.results(spec, scheduler=scheduler, cache_dir=cache_dir)
    return verdicts_from_results(spec, runs) + penalty_verdicts(
        spec, nd.penalty_results(spec, scheduler=scheduler, cache_dir=cache_dir))


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
    out["gd_runs"] = int(len(gd))
    adam = runs[runs["protocol"] == "adam"]
    out["adam_plateaued"] = int(adam["criterion_met"].sum())
    out["adam_runs"] = int(len(adam))
    s = slope_table(runs)
    for _, r in s.iterrows():
        key = f"{r['protocol']}_{r['dataset']}_{r['arch']}_{'centred' if r['centred'] else 'raw'}"
        out[f"slope_{key}"] = float(r["slope"])
    return out
