"""Chapter 5's display tables and the numbers its prose quotes (glued), from `ntkbook.experiments.dual`'s results.

Every statistic is named in its column: "mean [95% interval]" over seeds (Student-t), "median" where a median is
shown, "geometric mean" for ratios averaged on the log scale.
"""

from __future__ import annotations

import math

import pandas as pd

from ntkbook.experiments import dual as ex
from ntkbook.report.dual_summaries import (
    KERNEL_LABELS,
    QKV_MODELS,
    ci,
    crossover,
    decay_slopes,
    ds_label,
    function_slopes,
    model_label,
    power_ratios,
    power_summary,
    spread_exponents,
    variant_summary,
    width_needed,
)


def data_notes(spec: ex.DualSpec, *, data_dir=None) -> dict[str, str]:
    """{data set: where the points come from, in words} ("" when they come from the train and test splits as
    usual). Built from the loader's split (not its note, which names the files on this machine)."""
    out = {}
    for ds in spec.datasets:
        split = ex.sample_split(ds, spec.n_ref + max(spec.ns), spec.n_test, spec.seeds[0], data_dir)
        from_test = bool(split.note)
        out[ds] = (f"{ds_label(ds)}: its train split is not used here; the reference ({spec.n_ref}), training (up to "
                   f"{max(spec.ns)}; {spec.n_train} for the trained models) and test ({spec.n_test}; "
                   f"{spec.n_mal_test} for the trained models) points are drawn, disjointly and per seed, from its "
                   "test split." if from_test else "")
    return out


def roles(spec: ex.DualSpec, trained: bool = False) -> dict[str, str]:
    """{role: model name}: the models the prose names by role (relu, attn, the smallest rank, the largest and
    smallest temperature plain / centred, the centred linearized control, the deepest stack in both modes);
    trained=True: the temperatures of the trained variants (`mal_temperatures`)."""
    temps = spec.mal_temperatures if trained else spec.temperatures
    t_max, t_min, k = ex.num_label(max(temps)), ex.num_label(min(temps)), max(spec.depths)
    out = {"relu": "relu", "attn": "attn", "trunc": f"truncated:{min(spec.ranks)}", "softmax": f"softmax:{t_max}",
           "softmax_low": f"softmax:{t_min}", "centred": f"softmax-centred:{t_max}",
           "centred_low": f"softmax-centred:{t_min}", "control": "attn-centred"}
    if k > 1:
        out.update(stacked=f"stacked:{k}", recomputed=f"stacked-recomputed:{k}")
    return out


def _words(items: list[str]) -> str:
    """"a", "a and b", "a, b and c"."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _num(v) -> str:
    return f"{v:g}".replace(".", "_")


def chapter_numbers(spec: ex.DualSpec, res: dict) -> dict:
    """Plain numbers the prose quotes (glued): sizes; per data set the tuned power ratios (geometric means over
    seeds) of every comparison at every noise level and the crossover under both ridge rules; per data set and role
    (see `roles`) the mean log10 m*, its extrapolation distance and the median kappas; QKV's spread exponents and
    attention shares; per role the mean test accuracy and flip rate of the trained models."""
    from ntkbook.report import dual as rd

    out = {"n_max": int(max(spec.ns)), "n_ref": spec.n_ref, "n_test": spec.n_test, "noise": spec.noise,
           "ridge": spec.ridge, "n_seeds": len(spec.seeds), "top_modes": spec.top_modes,
           "bottom_modes": spec.bottom_modes, "n_kernel": spec.n_kernel, "width_max": int(max(spec.widths)),
           "width_min": int(min(spec.widths)), "n_widths": len(spec.widths),
           "n_train": spec.n_train, "n_mal_test": spec.n_mal_test, "width": spec.width, "epochs": spec.epochs,
           "eps": spec.eps, "steps": spec.steps, "tau": spec.tau, "rank_min": int(min(spec.ranks)),
           "t_max": float(max(spec.temperatures)), "t_min": float(min(spec.temperatures)),
           "depth": int(max(spec.depths)), "learning_rate": spec.learning_rate,
           "cap": rd.EXTRAPOLATION_CAP, "learned_share": rd.LEARNED_SHARE,
           "counted": max(1, int(round(spec.tau * spec.n_train))),
           "noises_text": _words([f"{v:g}" for v in spec.noises]),
           "temperatures_text": _words([f"{v:g}" for v in spec.temperatures])}
    for key, attention, baseline, target, _ in rd.POWER_COMPARISONS:
        tag = key.replace("-", "_")
        for noise in spec.noises:
            ratios = power_ratios(res["power"], spec, attention, baseline, noise=noise, target=target)
            for ds, g in ratios.groupby("dataset"):
                suffix = "" if noise == spec.noise else f"_s{_num(noise)}"
                out[f"{ds}_{tag}_aligned{suffix}"] = float(math.exp(g["aligned"].mean()))
                out[f"{ds}_{tag}_unaligned{suffix}"] = float(math.exp(g["unaligned"].mean()))
    if 0.0 in spec.noises:  # noise-free targets: how closely every kernel fits the aligned modes
        aligned = power_summary(res["power"], spec)
        summ0 = aligned[(aligned["n"] == max(spec.ns)) & (aligned["noise"] == 0.0) & (aligned["class"] == "aligned")]
        for ds, g in summ0.groupby("dataset"):
            out[f"{ds}_aligned_mse_max_s0"] = float(g["mse"].max())
    for rule in ("loo", "fixed"):
        for ds, k in crossover(res["power"], spec, rule=rule).items():
            out[f"{ds}_crossover_{rule}"] = k
    summ = power_summary(res["power"], spec)
    top = summ[(summ["n"] == max(spec.ns))]
    for _, r in top.iterrows():
        kern = r["kernel"].replace("-", "_")
        if r["class"] == "labels":
            out[f"{r['dataset']}_labels_acc_{kern}"] = float(r["accuracy"])
        if r["class"] == "random" and r["noise"] == spec.noise:
            out[f"{r['dataset']}_random_mse_{kern}"] = float(r["mse"])
    wn = width_needed(res["kernel"])
    means = wn.groupby(["dataset", "model"])[["log10_m_star", "decades"]].mean()
    medians = wn.groupby(["dataset", "model"])[["kappa_ntk", "kappa_linear"]].median()
    for role, model in roles(spec).items():
        for ds in spec.datasets:
            if (ds, model) in means.index:
                out[f"{ds}_log10_m_{role}"] = float(means.loc[(ds, model), "log10_m_star"])
                out[f"{ds}_decades_{role}"] = float(means.loc[(ds, model), "decades"])
                out[f"{ds}_kappa_ntk_{role}"] = float(medians.loc[(ds, model), "kappa_ntk"])
                out[f"{ds}_kappa_lin_{role}"] = float(medians.loc[(ds, model), "kappa_linear"])
    out["decades_max"] = float(wn["decades"].max()) if len(wn) else math.nan
    for model in QKV_MODELS:
        sp = spread_exponents(res["kernel"], model)
        for ds, g in sp.groupby("dataset"):
            tag = model.replace("-", "_")
            out[f"{ds}_{tag}_exponent"] = float(g["exponent"].mean())
            out[f"{ds}_{tag}_share"] = float(g["share"].mean())
    fn = res.get("function", pd.DataFrame())
    if len(fn):
        fs = function_slopes(fn).groupby(["dataset", "model"])[["slope", "dist_last"]].mean()
        for role, model in roles(spec).items():
            for ds in spec.mal_datasets:
                if (ds, model) in fs.index:
                    out[f"{ds}_fs_slope_{role}"] = float(fs.loc[(ds, model), "slope"])
                    out[f"{ds}_fs_dist_{role}"] = float(fs.loc[(ds, model), "dist_last"])
        out["gd_steps"] = spec.gd_steps
    slopes = decay_slopes(res["kernel"])
    out["slope_median"] = float(slopes[~slopes["model"].isin(QKV_MODELS)]["slope"].median())
    if len(res.get("variant", ())):
        vs = variant_summary(res["variant"]).set_index(["dataset", "model"])
        out["t_mal_max"], out["t_mal_min"] = float(max(spec.mal_temperatures)), float(min(spec.mal_temperatures))
        for role, model in roles(spec, trained=True).items():
            for ds in spec.mal_datasets:
                if (ds, model) in vs.index:
                    r = vs.loc[(ds, model)]
                    out[f"{ds}_test_acc_{role}"] = float(r["test_accuracy"])
                    out[f"{ds}_train_acc_{role}"] = float(r["train_accuracy"])
                    out[f"{ds}_flip_{role}"] = float(r["flip_rate"])
                    out[f"{ds}_aligned_err_{role}"] = float(r["aligned_error"])
                    out[f"{ds}_floor"] = float(r["floor"])
        out["n_not_evaluable"] = int((~vs["evaluable"]).sum())
        out["n_variants"] = int(len(vs))
    out["softmax_trained_sentence"] = softmax_trained_sentence(out, spec)
    return out


def softmax_trained_sentence(numbers: dict, spec: ex.DualSpec, ds: str = "mnist") -> str:
    """The chapter's sentence on the trained softmax variants (plain at the highest and lowest training temperature,
    centred at the highest) from `chapter_numbers`' values, or that the profile trains none of them."""
    keys = [f"{ds}_test_acc_softmax", f"{ds}_test_acc_softmax_low", f"{ds}_test_acc_centred"]
    if not all(k in numbers for k in keys):
        return ("This profile trains no softmax variant, so their test accuracies are not measured here "
                f"(trained families: {_words(list(spec.mal_families))}).")
    hi, lo = max(spec.mal_temperatures), min(spec.mal_temperatures)
    a, b, c = (numbers[k] for k in keys)
    return (f"Trained, plain softmax at T = {hi:g} reaches a mean test accuracy of {a:.2f} (every point is mapped near "
            f"the mean image), while at T = {lo:g} it reaches {b:.2f} and the centred version at T = {hi:g} {c:.2f}.")


def _fmt_ci(m, lo, hi, digits: int = 3) -> str:
    if not math.isfinite(m):
        return "–"
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return f"{m:.{digits}g}"
    return f"{m:.{digits}g} [{lo:.{digits}g}, {hi:.{digits}g}]"


def power_table(power: pd.DataFrame, spec: ex.DualSpec) -> pd.DataFrame:
    """Display: per data set, noise level and kernel at n = max(ns), ridges chosen by leave-one-out: the absolute
    test mean squared error on the aligned, unaligned and squared-aligned targets (the targets have unit mean
    square; predicting 0 scores about 1) and the accuracy on the real labels (at noise 0), each as mean [95%
    interval] over seeds."""
    s = power_summary(power, spec)
    s = s[s["n"] == max(spec.ns)]
    labels = s[s["class"] == "labels"].set_index(["dataset", "kernel"])
    rows = []
    for (ds, noise, kernel), g in s[s["class"] != "labels"].groupby(["dataset", "noise", "kernel"], sort=False):
        g = g.set_index("class")
        row = {"data set": ds_label(ds), "noise σ": f"{noise:g}", "kernel": KERNEL_LABELS[kernel]}
        for cls, name in (("aligned", "MSE, aligned"), ("unaligned", "MSE, unaligned"),
                          ("square-aligned", "MSE, squared aligned")):
            row[f"{name} (mean [95%])"] = (_fmt_ci(g.loc[cls, "mse"], g.loc[cls, "mse_low"], g.loc[cls, "mse_high"])
                                           if cls in g.index else "–")
        lab = labels.loc[(ds, kernel)] if (ds, kernel) in labels.index else None
        row["accuracy, real labels (mean [95%])"] = ("–" if lab is None or noise != spec.noises[0] else
                                                     _fmt_ci(lab["accuracy"], lab["accuracy_low"],
                                                             lab["accuracy_high"]))
        rows.append(row)
    return pd.DataFrame(rows)


def power_decision_table(power: pd.DataFrame, spec: ex.DualSpec) -> pd.DataFrame:
    """Display: every power comparison at every noise level, decided on the tuned fits: the aligned and unaligned
    error ratios (geometric mean [95% interval] over seeds) and the status of the power rule."""
    from ntkbook.report import dual as rd

    dec = rd.power_decisions(spec, power)
    rows = []
    for r in dec.to_dict("records"):
        rows.append({"data set": ds_label(r["dataset"]), "noise σ": f"{r['noise']:g}",
                     "comparison": f"{KERNEL_LABELS[r['attention']]} / {KERNEL_LABELS[r['baseline']]}"
                                   + (" (squared targets)" if r["target"] == "square" else ""),
                     "ratio, aligned (geom. mean [95%])": _fmt_ci(r["aligned"], r["aligned_low"], r["aligned_high"]),
                     "ratio, unaligned (geom. mean [95%])": _fmt_ci(r["unaligned"], r["unaligned_low"],
                                                                    r["unaligned_high"]),
                     "status": r["status"]})
    return pd.DataFrame(rows)


def width_table(kernel: pd.DataFrame) -> pd.DataFrame:
    """Display: per data set and model, the median κ of the induced linear kernel and of the NTK, the mean log10
    m* (with its range over seeds), the fitted error exponent (mean) and how far m* lies beyond the widest width."""
    wn = width_needed(kernel)
    rows = []
    for (ds, model), g in wn.groupby(["dataset", "model"], sort=False):
        rows.append({"data set": ds_label(ds), "model": model_label(model),
                     "κ(linear kernel), median": f"{g['kappa_linear'].median():.3g}"
                     if g["kappa_linear"].notna().all() else "–",
                     "κ(NTK), median": f"{g['kappa_ntk'].median():.3g}",
                     "log10 m*, mean (range)": f"{g['log10_m_star'].mean():.1f} ({g['log10_m_star'].min():.1f}–"
                                               f"{g['log10_m_star'].max():.1f})",
                     "error exponent, mean": f"{g['slope'].mean():.2f}",
                     "decades beyond widest, mean": f"{g['decades'].mean():.1f}"})
    return pd.DataFrame(rows)


def qkv_table(kernel: pd.DataFrame) -> pd.DataFrame:
    """Display: per data set and parameterisation, the attention share of the NTK and the exponent of the spread
    between readout draws in the width (mean [95% interval] over seeds)."""
    rows = []
    for model in QKV_MODELS:
        for ds, g in spread_exponents(kernel, model).groupby("dataset", sort=False):
            rows.append({"data set": ds_label(ds), "parameterisation": model_label(model),
                         "attention share (mean [95%])": _fmt_ci(*ci(g["share"])),
                         "spread exponent (mean [95%])": _fmt_ci(*ci(g["exponent"].dropna()), 2)})
    return pd.DataFrame(rows)


def variant_table(variant: pd.DataFrame) -> pd.DataFrame:
    """Display: per model, mean train accuracy, test accuracy, flip rate and aligned error (mean [95%
    interval]), chance, the learned floor and whether it learned."""
    vs = variant_summary(variant)
    rows = []
    for _, r in vs.iterrows():
        rows.append({"data set": ds_label(r["dataset"]), "model": model_label(r["model"]),
                     "train acc. (mean)": f"{r['train_accuracy']:.2f}",
                     "test acc. (mean [95%])": _fmt_ci(r["test_accuracy"], r["test_accuracy_low"],
                                                       r["test_accuracy_high"], 2),
                     "chance / floor": f"{r['chance']:.2f} / {r['floor']:.2f}",
                     "flip rate (mean [95%])": _fmt_ci(r["flip_rate"], r["flip_rate_low"], r["flip_rate_high"], 2),
                     "error, aligned (mean [95%])": _fmt_ci(r["aligned_error"], r["aligned_error_low"],
                                                            r["aligned_error_high"], 2),
                     "learned": "yes" if r["evaluable"] else "no"})
    return pd.DataFrame(rows)


def function_table(function: pd.DataFrame) -> pd.DataFrame:
    """Display: per model, the mean function-space distance at the smallest and largest width, the fitted exponent
    in the width (mean [95% interval] over seeds) and the mean test accuracy of network and kernel predictor at the
    largest width."""
    fs = function_slopes(function)
    w0, w1 = int(function["width"].min()), int(function["width"].max())
    rows = []
    for (ds, model), g in fs.groupby(["dataset", "model"], sort=False):
        m, lo, hi = ci(g["slope"])
        rows.append({"data set": ds_label(ds), "model": model_label(model),
                     f"distance, m={w0} (mean)": f"{g['dist_first'].mean():.3g}",
                     f"distance, m={w1} (mean)": f"{g['dist_last'].mean():.3g}",
                     "exponent in m (mean [95%])": _fmt_ci(m, lo, hi, 2),
                     f"test acc. network / kernel, m={w1} (mean)":
                         f"{g['test_acc_last'].mean():.2f} / {g['ntk_test_acc_last'].mean():.2f}"})
    return pd.DataFrame(rows)
