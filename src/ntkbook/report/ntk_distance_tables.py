"""Chapter 3's tables beside Table 1 (split from `ntkbook.report.ntk_distance`, which re-exports them): GD at
equal times, the two references of the trained network's distance (the linearised network), the centred-input
control, the readings of "NTK distance", the GD criterion and conditioning, the collapse of the features and the
penalty check. Pure functions of the sweep's rows."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ntkbook import claims, paper
from ntkbook.experiments import ntk_distance as nd
from ntkbook.labels import DATASET_LABELS
from ntkbook.models import MODEL_LABELS
from ntkbook.report.ntk_distance_rules import (
    DIST_TEX,
    KAPPA_NTK_TEX,
    PENALTY_TEX,
    PROTOCOL_LABELS,
    _ordered,
    _status_for,
    _trend_rows,
    accuracy_table,
    claimed_direction,
    format_interval,
    half_slopes_per_seed,
    larger_half,
    mean_interval,
    slope_table,
)

__all__ = ["REFERENCE_COLUMNS", "equal_time_table", "lin_rate_by_time", "lin_rate_time_table", "lin_rate_numbers", "reference_table", "centring_table", "distance_readings_table",
           "gd_criterion_table", "collapse_table", "penalty_table"]


def _times(gd: pd.DataFrame, prefix: str) -> list[int]:
    """The step counts T of the columns `{prefix}_t{T}` that have values, in order."""
    head = f"{prefix}_t"
    return sorted(int(c[len(head):]) for c in gd.columns
                  if c.startswith(head) and c[len(head):].isdigit() and gd[c].notna().any())


def equal_time_table(runs: pd.DataFrame) -> pd.DataFrame:
    """GD at equal times: per (data set, model) on raw inputs, the slope interval of ||f_m − f_NTK|| against m at
    each step count T of the grid (columns `dist_t{T}`), all widths and seeds read at the same T."""
    gd = runs[(runs["protocol"] == "gd") & (runs["centred"] == False)]  # noqa: E712
    times = _times(gd, "dist")
    tabs = {t: slope_table(gd, f"dist_t{t}") for t in times}
    out = []
    for _, b in (tabs[times[0]].iterrows() if times else []):
        row = {"Data": DATASET_LABELS.get(b["dataset"], b["dataset"]), "Model": MODEL_LABELS[b["arch"]]}
        for t in times:
            r = tabs[t][(tabs[t]["dataset"] == b["dataset"]) & (tabs[t]["arch"] == b["arch"])].iloc[0]
            row[f"$T$ = {t}"] = f"{format_interval(r['slope'], r['lo'], r['hi'])} {_ARROWS[r['direction']]}"
        out.append(row)
    return pd.DataFrame(out)


def lin_rate_by_time(runs: pd.DataFrame) -> pd.DataFrame:
    """How the linearised network's distance to the infinite-width counterpart, ||f_lin(T) − f_NTK(T)||, scales with
    m at each step count T of the GD grid (raw inputs), per (data set, model): the mean per-seed log-log slope over
    all widths with its 95 % t-interval (slope, lo, hi), the same over the larger half of the widths (late, late_lo,
    late_hi; `half_slopes_per_seed`), and the paired per-seed change of the all-width slope from the grid's first
    T to this one (change, change_lo, change_hi; 0 at the first T). Numbers only."""
    gd = runs[(runs["protocol"] == "gd") & (runs["centred"] == False)] if len(runs) else runs  # noqa: E712
    times = _times(gd, "lin_dist_inf") if len(gd) else []
    keys = ["dataset", "arch"]
    per_seed = {t: nd.width_slopes_per_seed(gd, f"lin_dist_inf_t{t}") for t in times}
    first = {key: g.set_index("seed")["slope"] for key, g in per_seed[times[0]].groupby(keys)} if times else {}
    nan2 = (math.nan, math.nan)
    out = []
    for t in times:
        halves = half_slopes_per_seed(gd, f"lin_dist_inf_t{t}")
        for key, g in per_seed[t].groupby(keys, sort=False):
            mean, iv = mean_interval(g["slope"])
            late = halves[(halves["dataset"] == key[0]) & (halves["arch"] == key[1])]["late"] if len(halves) else []
            late_mean, late_iv = mean_interval(late)
            change_mean, change_iv = mean_interval((g.set_index("seed")["slope"] - first[key]).dropna())
            out.append({"dataset": key[0], "arch": key[1], "T": int(t), "slope": mean, "lo": (iv or nan2)[0],
                        "hi": (iv or nan2)[1], "late": late_mean, "late_lo": (late_iv or nan2)[0],
                        "late_hi": (late_iv or nan2)[1], "change": change_mean,
                        "change_lo": (change_iv or nan2)[0], "change_hi": (change_iv or nan2)[1],
                        "n_seeds": int(g["slope"].notna().sum())})
    frame = pd.DataFrame(out, columns=keys + ["T", "slope", "lo", "hi", "late", "late_lo", "late_hi", "change",
                                             "change_lo", "change_hi", "n_seeds"])
    return _ordered(frame)  # a stable sort by data set and model: T stays in grid order within each


def lin_rate_time_table(runs: pd.DataFrame) -> pd.DataFrame:
    """`lin_rate_by_time` for reading: per (data set, model) and T, the slope over all widths and over the larger
    half of the widths (95 % t-intervals), against the first-order value −1/2."""
    tab = lin_rate_by_time(runs)
    half = larger_half(sorted(runs["width"].unique()) if len(runs) else [])
    late_name = f"slope, m = {half[0]}–{half[-1]}" if half else "slope, larger widths"
    out = []
    for _, r in tab.iterrows():
        out.append({"Data": DATASET_LABELS.get(r["dataset"], r["dataset"]), "Model": MODEL_LABELS[r["arch"]],
                    "$T$": int(r["T"]), "slope, all widths": format_interval(r["slope"], r["lo"], r["hi"]),
                    late_name: format_interval(r["late"], r["late_lo"], r["late_hi"])})
    return pd.DataFrame(out)


def lin_rate_numbers(runs: pd.DataFrame) -> dict:
    """Numbers the prose quotes on how the linearised network's GD distance to the infinite-width counterpart
    scales with m at each time (`lin_rate_by_time`): per (data set, model) the slope over the larger half of the
    widths at the grid's first T (`lin_late_tfirst_*`) and over all widths at its last (`lin_all_tlast_*`); how many
    groups flatten from the first T to the last (paired change interval above 0; `lin_flatter`, of `lin_groups`)
    and the range of those changes; the range of the slopes of the kernel distance at initialisation
    (`kinit_slope_min/max`, raw inputs)."""
    tab = lin_rate_by_time(runs)
    out = {}
    if len(tab):
        first, last = tab["T"].min(), tab["T"].max()
        for _, r in tab[tab["T"] == first].iterrows():
            out[f"lin_late_tfirst_{r['dataset']}_{r['arch']}"] = float(r["late"])
        end = tab[tab["T"] == last]
        for _, r in end.iterrows():
            out[f"lin_all_tlast_{r['dataset']}_{r['arch']}"] = float(r["slope"])
        out["lin_groups"] = int(len(end))
        # which groups read -1/2 (the lin-rate verdict's equivalence rule) late in the grid of widths at the first T,
        # and over all widths at the last T (what the verdicts read)
        from ntkbook.known_answers import RATE_MARGIN

        def near(lo, hi) -> bool:
            return bool(np.isfinite(lo) and np.isfinite(hi)
                        and claims.equivalence_rule((lo, hi), RATE_MARGIN, centre=-0.5) == claims.HOLDS)

        def names(rows):
            return ", ".join(f"{MODEL_LABELS[r['arch']]} on {DATASET_LABELS[r['dataset']]}" for r in rows) or "none"

        early = {(r["dataset"], r["arch"]): near(r["late_lo"], r["late_hi"])
                 for _, r in tab[tab["T"] == first].iterrows()}
        late = {(r["dataset"], r["arch"]): near(r["lo"], r["hi"]) for _, r in end.iterrows()}
        rows = {(r["dataset"], r["arch"]): r for _, r in end.iterrows()}
        out["lin_near_last"] = names([rows[k] for k in rows if late[k]])
        out["lin_far_last"] = names([rows[k] for k in rows if not late[k]])
        out["lin_recovered"] = names([rows[k] for k in rows if early.get(k) and not late[k]])
        out["lin_flatter"] = int((end["change_lo"] > 0).sum())
        out["lin_change_min"], out["lin_change_max"] = float(end["change"].min()), float(end["change"].max())
    raw = runs[runs["centred"] == False] if len(runs) else runs  # noqa: E712
    if len(raw) and "kernel_dist_init" in raw:
        k = slope_table(raw, "kernel_dist_init")["slope"]
        out["kinit_slope_min"], out["kinit_slope_max"] = float(k.min()), float(k.max())
    return out


REFERENCE_COLUMNS = {"dist_abs": DIST_TEX, "lin_dist_inf": r"$\|f_{\mathrm{lin}} - f_{\mathrm{NTK}}\|$",
                     "dist_lin": r"$\|f_m - f_{\mathrm{lin}}\|$"}


def reference_table(runs: pd.DataFrame) -> pd.DataFrame:
    """The trained network's distance read against its two references, per (protocol, data set, model) on raw
    inputs: slope intervals in m of ||f_m − f_NTK|| (Table 1's), of the linearised network's distance to the
    infinite-width counterpart ||f_lin − f_NTK|| (the kernel's randomness at initialisation; m^(-1/2) expected)
    and of ||f_m − f_lin|| (what training beyond the linear regime adds), each with its mean at the largest width
    in brackets."""
    raw = runs[runs["centred"] == False]  # noqa: E712
    tabs = {c: slope_table(raw, c) for c in REFERENCE_COLUMNS}
    top = raw[raw["width"] == raw["width"].max()]
    out = []
    for _, b in tabs["dist_abs"].iterrows():
        row = {"Protocol": PROTOCOL_LABELS[b["protocol"]], "Data": DATASET_LABELS.get(b["dataset"], b["dataset"]),
               "Model": MODEL_LABELS[b["arch"]]}
        sel = top[(top["dataset"] == b["dataset"]) & (top["arch"] == b["arch"]) & (top["protocol"] == b["protocol"])]
        for c, name in REFERENCE_COLUMNS.items():
            t = tabs[c]
            r = t[(t["dataset"] == b["dataset"]) & (t["arch"] == b["arch"]) & (t["protocol"] == b["protocol"])]
            slope = format_interval(*r.iloc[0][["slope", "lo", "hi"]]) if len(r) else "–"
            row[name] = f"{slope} ({sel[c].mean():.3g})"
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


def penalty_table(runs: pd.DataFrame, runs_none: pd.DataFrame) -> pd.DataFrame:
    """Adam on raw inputs with the penalty (l2/2)||W − W0||² beside no penalty: per (data set, model) the slope of
    ||f_m − f_NTK|| (95 % interval) with the status of the paper's direction under the penalty (against kernel
    logistic regression), and train (test) accuracy at the largest width under each; without the penalty no
    counterpart exists (`ntk_distance.NO_PENALTY_REASON`)."""
    out = []
    for _, p in paper.TABLE1.iterrows():
        arch = {v: k for k, v in MODEL_LABELS.items()}[p["model"]]
        if not len(runs_none) or p["dataset"] not in set(runs_none["dataset"]):
            continue
        row = {"Model": p["model"], "Data": DATASET_LABELS.get(p["dataset"], p["dataset"])}
        frame = runs[(runs["protocol"] == "adam") & (runs["centred"] == False)]  # noqa: E712
        status, mean, iv = _status_for(_trend_rows(frame), p["dataset"], arch, "adam", claimed_direction(p["trend"]))
        row[f"Slope, {PENALTY_TEX}"] = format_interval(mean, *(iv or (math.nan, math.nan)))
        row[f"Status, {PENALTY_TEX}"] = status
        for frame, name in ((runs, PENALTY_TEX), (runs_none, "no penalty")):
            top = frame[(frame["protocol"] == "adam") & (frame["centred"] == False)  # noqa: E712
                        & (frame["dataset"] == p["dataset"]) & (frame["arch"] == arch)]
            top = top[top["width"] == top["width"].max()]
            row[f"Train % (test %), {name}"] = (f"{100 * top['train_acc'].mean():.0f} "
                                                f"({100 * top['test_acc'].mean():.0f})")
        row["Status, no penalty"] = claims.NOT_EVALUABLE
        out.append(row)
    return pd.DataFrame(out)
