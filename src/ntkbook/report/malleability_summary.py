"""Chapter 4's summaries per configuration: the unit rows of `ntkbook.experiments.malleability` screened for having
learned, pooled over seeds, and read against the random-sign control.

**Learned.** A flip rate of a network that has not learned the task decides nothing. A unit row counts only if

- the trained network's test accuracy reaches `learned_floor(C)` = 1/C + `LEARNED_SHARE` (1 − 1/C), halfway from
  chance to perfect (55 % on 10 classes, 75 % on two),
- under protocol (b), the network retrained on the perturbed data reaches the same floor on the clean test set,
- and its kernel regressor beats chance (Wilson 95 % interval of its test accuracy above 1/C),

and its flip count is defined. Rows below are excluded and counted (`<arch>_excluded` per configuration).

**Raw and control-excess flips.** Per configuration and model, the flip counts of the counted seeds are pooled
(`ntkbook.excess.rate_interval`, seeds clustered). For an attack, the random-sign control of the same unit flipped
`c_i` of the same top points; the *excess* `Σ(x_i − c_i)/Σ n_i` over the seeds counted in both is what the attack
adds to any perturbation of its size (`ntkbook.excess.excess_interval`). The decided quantity of a configuration is
the ratio of MLP-Attn's excess to 2L-ReLU's (`ratio`, Fieller's interval, `ntkbook.excess.excess_ratio_interval`);
the ratio of the raw pooled counts (`raw_ratio`, `claims.log_ratio_interval`) is shown beside it. A configuration
whose control was not run is decided on its raw ratio (`decided` says which).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ntkbook import claims, excess
from ntkbook.experiments import malleability as mx
from ntkbook.stats import wilson_interval

#: the learned floor lies this share of the way from chance (1/C) to perfect accuracy
LEARNED_SHARE = 0.5
ARCHS = ("relu", "attn")


def learned_floor(n_classes: int) -> float:
    """`1/C + LEARNED_SHARE (1 − 1/C)`: the test accuracy a network must reach to count as having learned."""
    if n_classes < 2:
        raise ValueError(f"a classification task has at least 2 classes; got {n_classes}")
    return 1.0 / n_classes + LEARNED_SHARE * (1.0 - 1.0 / n_classes)


def evaluable(test_correct: int, n_test: int, n_classes: int, level: float = 0.95) -> bool:
    """True when the Wilson interval of a test accuracy (`test_correct` of `n_test`) lies above chance, 1/C."""
    lo, _ = wilson_interval(int(test_correct), int(n_test), level)
    return bool(lo > 1.0 / n_classes)


def with_evaluability(frame: pd.DataFrame) -> pd.DataFrame:
    """Add per row `floor` (`learned_floor`), `net_learned` (the trained network reaches it), `retrained_learned`
    (protocol b: the retrained network reaches it; protocol a: True), `krr_evaluable` (the kernel regressor beats
    chance) and `evaluable` (all three, and a defined flip count)."""
    out = frame.copy()
    out["floor"] = out.n_classes.map(learned_floor)
    out["net_learned"] = out.test_accuracy >= out.floor
    retrained = out.retrained_test_accuracy if "retrained_test_accuracy" in out else np.nan
    out["retrained_learned"] = (out.protocol == "a") | (pd.Series(retrained, index=out.index) >= out.floor)
    out["krr_evaluable"] = [evaluable(c, n, k) for c, n, k in zip(out.krr_test_correct, out.n_test, out.n_classes,
                                                                   strict=True)]
    out["evaluable"] = out.net_learned & out.retrained_learned & out.krr_evaluable & (out.n_flips >= 0)
    return out


def _mean(v) -> float:
    v = np.asarray(v, np.float64)
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else math.nan


def _control_of(keys: dict) -> tuple:
    return tuple("random" if k == "attack" else keys[k] for k in mx.CONFIG_KEYS)


def configurations(frame: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """One row per configuration (`experiments.malleability.CONFIG_KEYS`). Per model `<arch>_`: `seeds` run,
    `counted` (rows that pass `with_evaluability`), `excluded` (the rest); `flip`, `flip_low`, `flip_high` (pooled
    raw flip rate, seed-clustered interval); `control`, `excess`, `excess_low`, `excess_high` (the random-sign
    control's pooled rate and the attack's excess over it, on the seeds counted in both); `flips`, `top`; mean
    `test_acc`, `krr_test_acc`, `retrained_acc` (protocol b), `train_acc`, `krr_train_acc`, `weight_ratio` over
    all seeds, and `min_test_acc`. Then `raw_ratio` (+ `_low`, `_high`: pooled counts, log scale, seeds clustered),
    the decided `ratio` (+ `_low`, `_high`: of the excesses, Fieller), `decided` ("excess" or "raw") and
    `evaluable` (each model has >= 2 counted seeds)."""
    f = with_evaluability(frame)
    groups = {k: g for k, g in f.groupby(list(mx.CONFIG_KEYS), sort=True)}
    rows = []
    for keys, g in groups.items():
        row = dict(zip(mx.CONFIG_KEYS, keys, strict=True))
        control = groups.get(_control_of(row)) if row["attack"] != "random" else None
        paired = {}
        for arch in ARCHS:
            h = g[g.arch == arch]
            e = h[h.evaluable]
            x = e.set_index("seed")
            stats = {"seeds": len(h), "counted": len(e), "excluded": len(h) - len(e),
                     "flips": int(e.n_flips.sum()), "top": int(e.n_top.sum()),
                     "test_acc": _mean(h.test_accuracy), "min_test_acc": float(h.test_accuracy.min()) if len(h)
                     else math.nan, "krr_test_acc": _mean(h.krr_test_accuracy),
                     "train_acc": _mean(h.train_accuracy), "krr_train_acc": _mean(h.krr_train_accuracy),
                     "retrained_acc": _mean(h.retrained_test_accuracy) if "retrained_test_accuracy" in h
                     else math.nan, "weight_ratio": _mean(h.weight_ratio)}
            stats["flip"], stats["flip_low"], stats["flip_high"] = (
                excess.rate_interval(e.n_flips, e.n_top, level=level) if len(e) else (math.nan,) * 3)
            stats.update(control=math.nan, excess=math.nan, excess_low=math.nan, excess_high=math.nan)
            if control is not None:
                c = control[(control.arch == arch) & control.evaluable].set_index("seed")
                both = x.index.intersection(c.index)
                paired[arch] = (x.loc[both, "n_flips"].to_numpy(), c.loc[both, "n_flips"].to_numpy(),
                                x.loc[both, "n_top"].to_numpy())
                if len(both):
                    stats["control"] = float(paired[arch][1].sum() / paired[arch][2].sum())
                    stats["excess"], stats["excess_low"], stats["excess_high"] = excess.excess_interval(
                        *paired[arch], level=level)
            paired.setdefault(f"raw_{arch}", (e.n_flips.to_numpy(), e.n_top.to_numpy()))
            row.update({f"{arch}_{k}": v for k, v in stats.items()})
        raw_a, raw_r = paired["raw_attn"], paired["raw_relu"]
        row["evaluable"] = bool(len(raw_a[0]) >= 2 and len(raw_r[0]) >= 2)
        row["raw_ratio"], row["raw_ratio_low"], row["raw_ratio_high"] = (
            claims.log_ratio_interval(raw_a[0], raw_a[1], raw_r[0], raw_r[1], level=level) if row["evaluable"]
            else (math.nan,) * 3)
        with_control = control is not None and all(len(paired.get(a, ((),))[0]) >= 2 for a in ARCHS)
        if with_control:
            row["evaluable"] = True
            row["ratio"], row["ratio_low"], row["ratio_high"] = excess.excess_ratio_interval(
                *paired["attn"], *paired["relu"], level=level)
            row["decided"] = "excess"
        else:
            row["ratio"], row["ratio_low"], row["ratio_high"] = (row["raw_ratio"], row["raw_ratio_low"],
                                                                 row["raw_ratio_high"])
            row["decided"] = "raw"
            row["evaluable"] = row["evaluable"] and control is None
        rows.append(row)
    return pd.DataFrame(rows)


def adversarial_pairs(configs: pd.DataFrame) -> pd.DataFrame:
    """Table 4 per configuration: the standard and the adversarially trained row of the same task and choices side
    by side (suffixes `_std`, `_adv`), only where both were run."""
    keys = ["task", *mx.CHOICES]
    std = configs[configs.training == "standard"].drop(columns="training")
    adv = configs[configs.training == "adversarial"].drop(columns="training")
    return std.merge(adv, on=keys, suffixes=("_std", "_adv"))


def poisoning_pairs(poison: pd.DataFrame) -> pd.DataFrame:
    """The poisoning link decided on paired differences: per (task, fraction, protocol), each seed's success rate
    of the attack (over its targets) for both models, and the mean per-seed difference MLP-Attn − 2L-ReLU with its
    Student-t 95 % interval (`claims.paired_difference`) over the seeds where both models were poisoned. Columns:
    task, fraction, protocol, seeds, diff, low, high (NaN with fewer than 2 seeds)."""
    rows = []
    attack = poison[poison.perturbation != "random"]
    for (task, frac), g in attack.groupby(["task", "fraction"], sort=True):
        for protocol in mx.PROTOCOLS:
            col = f"success_{protocol}"
            per_seed = g.dropna(subset=[col]).groupby(["seed", "arch"])[col].mean().unstack("arch")
            per_seed = per_seed.dropna() if set(ARCHS) <= set(per_seed.columns) else per_seed.iloc[0:0]
            if per_seed.empty:
                continue
            n = len(per_seed)
            diff, lo, hi = (claims.paired_difference(per_seed["attn"], per_seed["relu"]) if n >= 2
                            else (float(per_seed["attn"].iloc[0] - per_seed["relu"].iloc[0]), math.nan, math.nan))
            rows.append({"task": task, "fraction": float(frac), "protocol": protocol, "seeds": n, "diff": diff,
                         "low": lo, "high": hi})
    return pd.DataFrame(rows, columns=["task", "fraction", "protocol", "seeds", "diff", "low", "high"])


def poisoning_rates(poison: pd.DataFrame) -> pd.DataFrame:
    """Success rates pooled over seeds and targets per (task, model, fraction, perturbation, protocol): `successes`
    of `targets`, `rate` and its Wilson 95 % interval (`low`, `high`, inside [0, 1]), beside the mean test accuracy
    of the network and of its kernel regressor. Protocols that were not run (NaN) are left out."""
    rows = []
    for (task, arch, frac, kind), g in poison.groupby(["task", "arch", "fraction", "perturbation"], sort=True):
        for protocol in mx.PROTOCOLS:
            s = g[f"success_{protocol}"].dropna()
            if s.empty:
                continue
            k, n = int(s.sum()), len(s)
            lo, hi = wilson_interval(k, n)
            rows.append({"task": task, "arch": arch, "fraction": float(frac), "perturbation": kind,
                         "protocol": protocol, "successes": k, "targets": n, "rate": k / n, "low": lo, "high": hi,
                         "test_accuracy": float(g.test_accuracy.mean()),
                         "krr_test_accuracy": float(g.krr_test_accuracy.mean())})
    return pd.DataFrame(rows)
