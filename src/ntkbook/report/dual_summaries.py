"""Chapter 5's summaries: per-seed quantities and means with 95 % Student-t intervals over seeds, from
`ntkbook.experiments.dual`'s frames (labels for readers included). No verdicts here (`ntkbook.report.dual`).

Power: errors of the fits whose ridge was chosen by leave-one-out (`ridge_rule` "loo") unless a rule is named.
Widths: `m*`, the width at which the empirical NTK's operator error would reach the smallest eigenvalue of its limit,
from every measured width (at least `MIN_WIDTHS`) with the m^(-1/2) law, and how far beyond the widest measured width
that extrapolation reaches (`decades`).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ntkbook import claims
from ntkbook.experiments import dual as ex
from ntkbook.labels import DATASET_LABELS
from ntkbook.stats import loglog_fit

MODEL_LABELS = {"relu": "2L-ReLU", "attn": "MLP-Attn", "qkv": "trainable QKV (standard param.)",
                "qkv-ntk": "trainable QKV (NTK param.)", "attn-centred": "Attn centred (linearized)"}
KERNEL_LABELS = {"linear": "linear", "G3": "$G^3$", "attn-ntk": "MLP-Attn NTK", "relu-ntk": "2L-ReLU NTK",
                 "pca-linear": "PCA-truncated linear"}
QKV_MODELS = ("qkv", "qkv-ntk")
"""Models without a deterministic infinite-width NTK: no m* is computed for them."""
#: the fewest widths m* is fitted from
MIN_WIDTHS = 3
#: learned: the lower end of the test-accuracy interval lies above chance + LEARNED_SHARE (1 - chance), half the way
#: from chance to a perfect score (0.55 on ten balanced classes)
LEARNED_SHARE = 0.5


def model_label(model: str) -> str:
    """A model name of `experiments.dual` as a reader's label ("truncated:5" -> "Attn, rank 5")."""
    if model in MODEL_LABELS:
        return MODEL_LABELS[model]
    family, _, value = model.partition(":")
    return {"truncated": f"Attn, rank {value}", "softmax": f"Softmax, T={value}",
            "softmax-centred": f"Softmax centred, T={value}", "stacked": f"Attn ×{value} (input G)",
            "stacked-recomputed": f"Attn ×{value} (recomputed G)"}.get(family, model)


def ds_label(name: str) -> str:
    return DATASET_LABELS.get(name, name)


def ci(values) -> tuple[float, float, float]:
    """(mean, low, high): the 95 % Student-t interval of the mean over seeds (`claims.t_interval`)."""
    return claims.t_interval(list(values))


def learned_floor(chance: float) -> float:
    """The test accuracy a model must exceed (its interval's lower end) to count as having learned."""
    return chance + LEARNED_SHARE * (1.0 - chance)


def evaluable(test_accuracy, chance: float) -> bool:
    """A model has learned when the lower end of its test-accuracy interval over seeds lies above
    `learned_floor(chance)`."""
    _, lo, _ = claims.t_interval(test_accuracy)
    return bool(lo > learned_floor(chance))


# ----------------------------------------------------------------------------------------------------------
# power
# ----------------------------------------------------------------------------------------------------------


def _tuned(power: pd.DataFrame, spec: ex.DualSpec, noise=None, rule: str = "loo", n=None) -> pd.DataFrame:
    noise = spec.noise if noise is None else noise
    sub = power[(power["n"] == (max(spec.ns) if n is None else n)) & np.isclose(power["noise"], noise)
                & (power["ridge_rule"] == rule)]
    if rule == "fixed":
        sub = sub[np.isclose(sub["ridge"], spec.ridge)]
    return sub


def power_ratios(power: pd.DataFrame, spec: ex.DualSpec, attention: str = "G3", baseline: str = "linear", *,
                 noise=None, target: str = "mode", rule: str = "loo") -> pd.DataFrame:
    """Per data set and seed at n = max(ns), label noise `noise` (default the spec's) and ridge rule `rule`: the
    log of the ratio of mean test errors, attention / baseline, over the aligned (the `top_modes` smallest j) and
    the unaligned (the `bottom_modes` largest j) targets of family `target` ("mode" or "square"). Columns:
    dataset, seed, aligned, unaligned (natural logs)."""
    sub = _tuned(power, spec, noise, rule)
    sub = sub[sub["target"] == target]
    modes = sorted(spec.modes)
    top, bottom = modes[: spec.top_modes], modes[-spec.bottom_modes:]
    rows = []
    for (ds, seed), g in sub.groupby(["dataset", "seed"], sort=False):
        err = g.pivot_table(index="mode", columns="kernel", values="error")
        if attention not in err or baseline not in err:
            continue
        rows.append({"dataset": ds, "seed": int(seed),
                     "aligned": float(np.log(err.loc[top, attention].mean() / err.loc[top, baseline].mean())),
                     "unaligned": float(np.log(err.loc[bottom, attention].mean() / err.loc[bottom, baseline].mean()))})
    return pd.DataFrame(rows, columns=["dataset", "seed", "aligned", "unaligned"])


def crossover(power: pd.DataFrame, spec: ex.DualSpec, attention: str = "G3", baseline: str = "linear", *,
              noise=None, rule: str = "loo") -> dict:
    """{data set: how many of the leading modes (in the order of `modes`) have a lower mean error (over seeds) with
    `attention` than with `baseline`} at n = max(ns), the given noise and ridge rule (0: not even the top one)."""
    sub = _tuned(power, spec, noise, rule)
    sub = sub[sub["target"] == "mode"]
    out = {}
    for ds, g in sub.groupby("dataset", sort=False):
        err = g.groupby(["mode", "kernel"])["error"].mean().unstack()
        wins = (err[attention] < err[baseline]).loc[sorted(spec.modes)].to_numpy()
        out[ds] = int(np.argmin(wins)) if not wins.all() else int(wins.size)
    return out


def power_summary(power: pd.DataFrame, spec: ex.DualSpec, rule: str = "loo") -> pd.DataFrame:
    """Mean and 95 % interval over seeds per (dataset, noise, n, kernel, target class) of the relative error and
    the absolute mse (and accuracy for the labels), ridge rule `rule` (fixed: the spec's ridge). Classes: "aligned"
    / "unaligned" (top / bottom modes, linear targets), "square-aligned" / "square-unaligned" (the non-linear
    family), "labels", "random"."""
    modes = sorted(spec.modes)
    top, bottom = modes[: spec.top_modes], modes[-spec.bottom_modes:]
    sub = power[power["ridge_rule"] == rule].copy()
    if rule == "fixed":
        sub = sub[np.isclose(sub["ridge"], spec.ridge)]
    side = np.where(sub["mode"].isin(top), "aligned", np.where(sub["mode"].isin(bottom), "unaligned", "middle"))
    sub["class"] = np.where(sub["target"] == "mode", side,
                            np.where(sub["target"] == "square", np.char.add("square-", side.astype(str)),
                                     sub["target"]))
    keys = ["dataset", "noise", "n", "kernel", "class"]
    per_seed = sub.groupby([*keys, "seed"], as_index=False)[["error", "mse", "zero_mse", "accuracy"]].mean()
    rows = []
    for k, g in per_seed.groupby(keys, sort=False):
        row = dict(zip(keys, k, strict=True))
        for col in ("error", "mse", "zero_mse", "accuracy"):
            v = g[col].dropna()
            m, lo, hi = ci(v) if len(v) else (math.nan, math.nan, math.nan)
            row.update({col: m, f"{col}_low": lo, f"{col}_high": hi})
        rows.append(row)
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------------------------
# widths
# ----------------------------------------------------------------------------------------------------------


def width_needed(kernel: pd.DataFrame) -> pd.DataFrame:
    """Per (dataset, seed, model) with a deterministic limit (not `QKV_MODELS`): the m^(-1/2) law fitted to every
    width, `log err_eig(m) = c - log(m) / 2` (c the mean of `log err_eig + log(m) / 2`), gives `m_star = exp(2 c)`
    (where the error would reach lambda_min of the limit); NaN with fewer than `MIN_WIDTHS` widths. Also `decades`
    = log10(m_star / m_max), how far beyond the widest width that reaches; `slope`, the free log-log slope of
    err_eig (the law says -1/2); `n_widths`; kappa_ntk, kappa_linear at m_max."""
    rows = []
    for (ds, seed, model), g in kernel.groupby(["dataset", "seed", "model"], sort=False):
        if model in QKV_MODELS:
            continue
        g = g[g["err_eig"] > 0]
        last = g.loc[g["width"].idxmax()]
        ok = g["width"].nunique() >= MIN_WIDTHS
        c = float(np.mean(np.log(g["err_eig"]) + 0.5 * np.log(g["width"]))) if ok else math.nan
        log10_m = 2 * c / math.log(10) if ok else math.nan
        rows.append({"dataset": ds, "seed": int(seed), "model": model, "m_star": 10**log10_m if ok else math.nan,
                     "log10_m_star": log10_m, "decades": log10_m - math.log10(float(last["width"])),
                     "slope": loglog_fit(g["width"], g["err_eig"], base=math.e)[0] if ok else math.nan,
                     "n_widths": int(g["width"].nunique()), "kappa_ntk": float(last["kappa_ntk"]),
                     "kappa_linear": float(last["kappa_linear"])})
    return pd.DataFrame(rows, columns=["dataset", "seed", "model", "m_star", "log10_m_star", "decades", "slope",
                                       "n_widths", "kappa_ntk", "kappa_linear"])


def decay_slopes(kernel: pd.DataFrame, column: str = "err_op") -> pd.DataFrame:
    """Least-squares slope of log `column` against log width per (dataset, seed, model): -1/2 for an error that
    falls as m^(-1/2) (what `width_needed` assumes), 0 for one that does not fall."""
    rows = []
    for (ds, seed, model), g in kernel.groupby(["dataset", "seed", "model"], sort=False):
        ok = g[column] > 0
        slope = loglog_fit(g.loc[ok, "width"], g.loc[ok, column], base=math.e)[0] if ok.sum() >= 2 \
            else math.nan
        rows.append({"dataset": ds, "seed": int(seed), "model": model, "column": column, "slope": slope})
    return pd.DataFrame(rows)


def spread_exponents(kernel: pd.DataFrame, model: str = "qkv") -> pd.DataFrame:
    """Per (dataset, seed) of `model` ("qkv" or "qkv-ntk"): the least-squares exponent in the width of the relative
    distance between two readout draws' NTKs, over every width with a positive spread (NaN with fewer than two)."""
    q = kernel[kernel["model"] == model]
    rows = []
    for (ds, seed), g in q.groupby(["dataset", "seed"], sort=False):
        g = g[np.isfinite(g["spread"]) & (g["spread"] > 0)]
        slope = loglog_fit(g["width"], g["spread"], base=math.e)[0] if g["width"].nunique() >= 2 else math.nan
        rows.append({"dataset": ds, "seed": int(seed), "exponent": slope,
                     "share": float(g.loc[g["width"].idxmax(), "attn_share"]) if len(g) else math.nan})
    return pd.DataFrame(rows, columns=["dataset", "seed", "exponent", "share"])


# ----------------------------------------------------------------------------------------------------------
# trained variants and function space
# ----------------------------------------------------------------------------------------------------------


def variant_summary(variant: pd.DataFrame) -> pd.DataFrame:
    """Per (dataset, model): mean and interval of train/test accuracy, flip rate and aligned error, chance, the
    learned floor and `evaluable` (the model learned: test accuracy interval above the floor)."""
    rows = []
    for (ds, model), g in variant.groupby(["dataset", "model"], sort=False):
        row = {"dataset": ds, "model": model, "chance": float(g["chance"].max())}
        for col in ("train_accuracy", "test_accuracy", "flip_rate", "aligned_error", "spearman"):
            m, lo, hi = ci(g[col])
            row.update({col: m, f"{col}_low": lo, f"{col}_high": hi})
        row["floor"] = learned_floor(row["chance"])
        row["evaluable"] = evaluable(g["test_accuracy"], row["chance"])
        rows.append(row)
    return pd.DataFrame(rows)


def function_slopes(function: pd.DataFrame) -> pd.DataFrame:
    """Per (dataset, seed, model): least-squares slope of log dist_rel against log width (negative: the trained
    network approaches its kernel predictor as the width grows), and dist_rel at the smallest and largest width."""
    rows = []
    for (ds, seed, model), g in function.groupby(["dataset", "seed", "model"], sort=False):
        g = g.sort_values("width")
        rows.append({"dataset": ds, "seed": int(seed), "model": model,
                     "slope": loglog_fit(g["width"], g["dist_rel"], base=math.e)[0],
                     "dist_first": float(g["dist_rel"].iloc[0]), "dist_last": float(g["dist_rel"].iloc[-1]),
                     "test_acc_last": float(g["test_acc"].iloc[-1]),
                     "ntk_test_acc_last": float(g["ntk_test_acc"].iloc[-1])})
    return pd.DataFrame(rows)


def diff_values(frame: pd.DataFrame, a: str, b: str, value: str, by=("dataset", "seed")) -> dict:
    """{dataset: per-seed differences value(a) - value(b) (paired by seed)}."""
    piv = frame.pivot_table(index=list(by), columns="model", values=value)
    if a not in piv or b not in piv:
        return {}
    diff = (piv[a] - piv[b]).dropna()
    return {ds: g.to_numpy() for ds, g in diff.groupby(level=0)}


def diff_interval(frame: pd.DataFrame, a: str, b: str, value: str, by=("dataset", "seed")) -> dict:
    """{dataset: (mean, low, high)} of the per-seed difference value(a) - value(b) (paired by seed)."""
    return {ds: ci(v) for ds, v in diff_values(frame, a, b, value, by).items() if len(v) >= 2}
