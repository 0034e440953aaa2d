"""Chapter 3's rules and the noise that gates them: intervals over seeds, the statuses of Table 1's trends, of the
paired ReLU - Attn contrast, of "flat" (an equivalence margin) and of the paper's non-monotone shape, and the
designs simulated with the chapter's own seed-to-seed spread (split from `ntkbook.report.ntk_distance`, which
re-exports every public name).

- `trained`: a model has trained at a width when the 95 % t-interval over seeds of its *train* accuracy lies above
  chance (1 / classes): the gate is on the training side (test accuracy is shown beside it).
- `flat_status`: the slope interval (95 %, i.e. two one-sided tests at 0.025) inside +-`FLAT_MARGIN`
  (`claims.equivalence_rule`).
- `shape_status`: the paper's "non-monotonic, then increasing" from the per-seed local slopes on the small and the
  large half of the widths: holds when the late slope's interval lies above 0 and the early one's below 0 (a sign
  change of the local slope), does not hold when the late interval lies below 0 or both lie above 0 (monotone),
  not resolved otherwise; not evaluable with fewer than 4 widths.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable

import numpy as np
import pandas as pd

from ntkbook import claims, models, notebook
from ntkbook import operating as op
from ntkbook.experiments import ntk_distance as nd

__all__ = ["LEVEL", "FLAT_MARGIN", "mean_interval", "slope_interval", "trained", "claimed_direction",
           "trend_status", "format_interval", "slope_table", "accuracy_table", "pooled_sd", "slope_noise", "paired_slopes", "difference_noise",
           "trend_design", "design_sd", "contrast_status", "flat_status", "shape_status", "half_slopes_per_seed", "CHAPTER", "SECTIONS", "PROTOCOL_LABELS",
           "COUNTERPART_WORDS", "DIST_TEX", "KAPPA_NTK_TEX", "PENALTY_TEX", "COLLAPSE_FORMATS"]

LEVEL = 0.95
CHAPTER = "03_ntk_distance"
#: MyST labels of the sections that decide the claims (defined in the chapter's markdown).
SECTIONS = {"table1": "ntk-table1", "gd": "ntk-gd", "collapse": "ntk-collapse"}
PROTOCOL_LABELS = {"adam": "Adam", "gd": "GD"}
#: the counterpart of each protocol, named in every Table 1 rule
COUNTERPART_WORDS = ("f_NTK is the exact lazy limit of the trained objective with the infinite-width kernel: kernel "
                     "multinomial logistic regression (cross-entropy + ridge, solved to its stationarity condition) "
                     "for Adam, kernel gradient descent after the same T steps from the same f0 for GD")
#: the quantities the tables and verdicts name, as math (typeset by `ntkbook.notebook.table` and the book)
DIST_TEX = r"$\|f_m - f_{\mathrm{NTK}}\|$"
KAPPA_NTK_TEX = r"$\kappa(K_\infty)$"
PENALTY_TEX = r"$\frac{\lambda}{2}\|W - W_0\|^2$"
#: `collapse_table`'s formats for `ntkbook.notebook.table` (kappa spans decades: scientific notation, typeset)
COLLAPSE_FORMATS = {"Mean cosine": ".4f", "Effective rank": ".3g", "Top share": ".3f", KAPPA_NTK_TEX: notebook.number}
#: a slope of at most this size (in log-log units, either way) counts as flat: over the 2.4 decades of 16..4096
#: it is a change of the distance by less than a factor 4096^0.1 / 16^0.1 = 1.74
FLAT_MARGIN = 0.1
_GROUP = ["dataset", "arch", "centred", "protocol"]


def _ordered(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows in reading order: MNIST before CIFAR-10, raw before centred, 2L-ReLU before MLP-Attn, Adam before GD,
    then by width and seed (whatever order the units came back in)."""
    keys = {"dataset": list(nd.DATASETS), "arch": list(models.ARCHITECTURES), "protocol": list(nd.PROTOCOLS)}
    cols = [c for c in ("dataset", "centred", "arch", "protocol", "width", "seed") if c in frame.columns]
    frame = frame.reset_index(drop=True)
    rank = {c: frame[c].map({v: i for i, v in enumerate(keys[c])}) if c in keys else frame[c] for c in cols}
    order = pd.DataFrame(rank).sort_values(cols, kind="stable").index
    return frame.iloc[order].reset_index(drop=True)




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
    the 95 % t-intervals of the train accuracy (train_lo, train_hi: the gate) and of the test accuracy (acc_lo,
    acc_hi: shown beside it), chance (1 / classes), the fraction of seeds whose training met its criterion, the
    mean objective gap to the linearised optimum (`objective_gap`, NaN where not measured) and `trained`
    (train_lo > chance)."""
    rows = []
    for key, g in _ordered(runs).groupby(_GROUP + ["width"], sort=False):
        mean, iv = mean_interval(g["test_acc"])
        train_mean, train_iv = mean_interval(g["train_acc"])
        chance = 1.0 / float(g["n_classes"].iloc[0])
        gap = g["objective_gap"] if "objective_gap" in g else pd.Series(dtype=float)
        rows.append({**dict(zip(_GROUP + ["width"], key, strict=True)),
                     "train_loss": float(g["train_loss"].mean()), "train_acc": train_mean,
                     "train_lo": train_iv[0] if train_iv else math.nan,
                     "train_hi": train_iv[1] if train_iv else math.nan,
                     "test_acc": mean, "acc_lo": iv[0] if iv else math.nan, "acc_hi": iv[1] if iv else math.nan,
                     "chance": chance, "criterion_met": float(g["criterion_met"].mean()),
                     "objective_gap": float(gap.mean()) if gap.notna().any() else math.nan,
                     "steps": float(g["steps"].mean()), "trained": trained(train_iv, chance)})
    return pd.DataFrame(rows)


def trained(acc_interval, chance: float) -> bool:
    """True when the (train) accuracy interval lies wholly above chance (False without an interval)."""
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


def _gate_words(design: claims.Design | None) -> str:
    """The design gate in a verdict's rule: whether the design decides, with its power and false holds."""
    if design is None:
        return ""
    if design.decides:
        return (f"; the design at these seeds decides (power {design.power:.2f}, false holds "
                f"{design.false_holds:.2f})")
    return f"; the design at these seeds cannot decide (power {design.power:.2f}): {design.needed}"


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



def flat_status(interval, *, trained_everywhere: bool = True, margin: float = FLAT_MARGIN) -> str:
    """"The distance is flat in m": `claims.equivalence_rule(interval, margin)` on the slope interval; not
    evaluable without an interval or when the model has not trained."""
    if not trained_everywhere or interval is None:
        return claims.NOT_EVALUABLE
    return claims.equivalence_rule(interval, margin)


def larger_half(widths) -> list:
    """The ceil(k/2) largest of k sorted widths (the middle one included when k is odd); none below 4 widths,
    too few for two halves with a slope each."""
    return list(widths[len(widths) // 2:]) if len(widths) >= 4 else []


def half_slopes_per_seed(runs: pd.DataFrame, column: str = "dist_abs") -> pd.DataFrame:
    """Per seed and group, the log-log slope of `column` on the smaller half of the widths (`early`: the
    ceil(k/2) smallest) and on the larger half (`late`: the ceil(k/2) largest; with an odd k the middle width is
    in both). Columns: the group, seed, early, late. Needs k >= 4 widths (else empty)."""
    widths = sorted(runs["width"].unique()) if len(runs) else []
    if len(widths) < 4:
        return pd.DataFrame(columns=_GROUP + ["seed", "early", "late"])
    h = len(larger_half(widths))
    early = nd.width_slopes_per_seed(runs[runs["width"].isin(widths[:h])], column).rename(columns={"slope": "early"})
    late = nd.width_slopes_per_seed(runs[runs["width"].isin(widths[-h:])], column).rename(columns={"slope": "late"})
    keys = _GROUP + ["seed"]
    return early[keys + ["early"]].merge(late[keys + ["late"]], on=keys)


def shape_status(early_interval, late_interval, *, trained_everywhere: bool = True, evaluable: bool = True) -> str:
    """The paper's "non-monotonic, then increasing" against the early and late slope intervals (module docstring)."""
    if not evaluable or not trained_everywhere or early_interval is None or late_interval is None:
        return claims.NOT_EVALUABLE
    late = claims.trend_from_interval(late_interval)
    early = claims.trend_from_interval(early_interval)
    if late == "decreasing" or (late == "increasing" and early == "increasing"):
        return claims.DOES_NOT_HOLD
    if late == "increasing" and early == "decreasing":
        return claims.HOLDS
    return claims.NOT_RESOLVED


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
