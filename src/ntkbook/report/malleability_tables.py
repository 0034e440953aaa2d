"""Chapter 4's display tables and the words of its grid: the specification curve with raw and control-excess flip
rates and accuracies beside every ratio, the random-sign control, which choices decide, how well every unit
learned, Table 4's pairs, poisoning, and the paper's Tables 2–4 beside ours at the deciding configuration.
Statuses come from the rules of `ntkbook.report.malleability`; nothing here decides."""

from __future__ import annotations

import math
import re

import pandas as pd

from ntkbook import claims, paper
from ntkbook.experiments import malleability as mx
from ntkbook.models import MODEL_LABELS
from ntkbook.notebook import number
from ntkbook.report import malleability_summary as summary
from ntkbook.report.malleability_rules import CHOICE_LABELS as CHOICE_LABELS
from ntkbook.report.malleability_rules import (
    TEX_CHOICE_LABELS,
    TEX_VALUE_LABELS,
    VALUE_LABELS,
    WEIGHT_RATIO,
    adversarial_status,
    deciding_mask,
    poisoning_status,
)

# -- display tables -------------------------------------------------------------------------------------------


def _choices(r, skip=()) -> dict:
    """The choice cells of one configuration row, typeset headers and values."""
    return {TEX_CHOICE_LABELS[c]: TEX_VALUE_LABELS.get(r[c], r[c]) for c in mx.CHOICES if c not in skip}


def _pct(v: float) -> str:
    if not math.isfinite(v):
        return "–"
    text = f"{100 * v:.0f}"
    return "0" if text == "-0" else text  # a rate that rounds to zero has no sign


def rate_text(mean: float, lo: float, hi: float) -> str:
    """A rate and its interval in %: "12 [10, 14]" ("–" without a rate)."""
    if not math.isfinite(mean):
        return "–"
    return f"{_pct(mean)} [{_pct(lo)}, {_pct(hi)}]"


_rate = rate_text


def _ratio_text(r: float, lo: float, hi: float) -> str:
    if math.isnan(r):
        return "–"

    def fmt(v):  # two digits; below 0.01 in typeset scientific notation
        return number(v, 2)

    return f"{fmt(r)} [{fmt(lo)}, {fmt(hi)}]"


def literal_penalty_at_init(l2: float, d: int, width: int) -> float:
    """`E[(λ/2)‖W₀‖²] = λ d m / 2` for W₀ with i.i.d. N(0, 1) entries (d inputs, m units): what the literal penalty
    adds to the objective at initialisation, against a data loss of order one."""
    return 0.5 * float(l2) * int(d) * int(width)


def _accuracies(r) -> str:
    return f"{_pct(r['relu_test_acc'])} / {_pct(r['attn_test_acc'])}"


def control_table(configs: pd.DataFrame, task: str, training: str = "standard") -> pd.DataFrame:
    """The random-sign control (same ℓ∞ budget, no gradient, the same top points) per configuration of `task`:
    choices, both models' pooled flip rates (%, [95 %, seeds clustered]), their test accuracies (network / kernel)
    and counted seeds, and the raw ratio; no status (the paper claims nothing about it)."""
    sel = configs[(configs.task == task) & (configs.training == training) & (configs.attack == "random")]
    rows = []
    for _, r in sel.iterrows():
        row = _choices(r, skip=("attack",))
        for arch in ("relu", "attn"):
            lab = MODEL_LABELS[arch]
            row[f"{lab} flips (%)"] = _rate(r[f"{arch}_flip"], r[f"{arch}_flip_low"], r[f"{arch}_flip_high"])
            row[f"{lab} test acc. (%) net / kernel"] = (f"{_pct(r[f'{arch}_test_acc'])} / "
                                                        f"{_pct(r[f'{arch}_krr_test_acc'])}")
            row[f"{lab} seeds counted"] = f"{r[f'{arch}_counted']} of {r[f'{arch}_seeds']}"
        row["ratio"] = _ratio_text(r.ratio, r.ratio_low, r.ratio_high) if r.evaluable else "not evaluable"
        rows.append(row)
    return pd.DataFrame(rows)


def curve_table(cur: pd.DataFrame) -> pd.DataFrame:
    """The specification curve as a table, one row per configuration: the choices; per model the raw flip rate and
    its excess over the random-sign control (%, pooled [95 %, seeds clustered]); the test accuracies of both
    networks (2L-ReLU / MLP-Attn, %) and the seeds counted by the learned screen; the decided ratio (of the excesses,
    Fieller 95 %) and the raw ratio; the status badge, and "literal" / "deciding" marks."""
    rows = []
    for _, r in cur.iterrows():
        row = _choices(r)
        for arch in ("relu", "attn"):
            lab = MODEL_LABELS[arch]
            row[f"{lab} flips (%)"] = _rate(r[f"{arch}_flip"], r[f"{arch}_flip_low"], r[f"{arch}_flip_high"])
            row[f"{lab} excess (%)"] = _rate(r[f"{arch}_excess"], r[f"{arch}_excess_low"], r[f"{arch}_excess_high"])
        row["test acc. (%) 2L-ReLU / MLP-Attn"] = _accuracies(r)
        row["seeds counted"] = f"{r['relu_counted']} / {r['attn_counted']} of {r['relu_seeds']}"
        row["ratio of excesses"] = (_ratio_text(r.ratio, r.ratio_low, r.ratio_high) if r.decided == "excess"
                                    else "–")
        row["raw ratio"] = _ratio_text(r.raw_ratio, r.raw_ratio_low, r.raw_ratio_high)
        row["status"] = r.status
        row["mark"] = ("◆" if r.literal else "") + ("●" if r.get("deciding", False) else "")
        rows.append(row)
    return pd.DataFrame(rows)


def paper_table(configs: pd.DataFrame, task: str, table: str = "table2") -> pd.DataFrame:
    """The paper's Table 2 or 3 (`ntkbook.paper.TABLE2` / `TABLE3`) beside ours at the deciding configuration of
    `task` (`report.malleability.deciding_mask`): per model and attack the paper's flip rate (%) and ours, raw and
    in excess of the random-sign control (%, pooled [95 %, seeds clustered]), with the test accuracy and the
    seeds counted; "not run" where the attack is not in this profile."""
    tab = {"table2": paper.TABLE2, "table3": paper.TABLE3}[table]
    sel = configs[(configs.task == task) & (configs.training == "standard")]
    sel = sel[deciding_mask(sel, attack=None)] if len(sel) else sel
    rows = []
    for arch in ("relu", "attn"):
        for attack in ("fgsm", "pgd", "mim"):
            if (task, arch) not in tab:
                continue
            r = sel[sel.attack == attack]
            row = {"model": MODEL_LABELS[arch], "attack": VALUE_LABELS[attack],
                   "paper (%)": f"{tab[(task, arch)][attack]:g}"}
            if len(r):
                r = r.iloc[0]
                row["ours, raw (%)"] = _rate(r[f"{arch}_flip"], r[f"{arch}_flip_low"], r[f"{arch}_flip_high"])
                row["ours, excess (%)"] = _rate(r[f"{arch}_excess"], r[f"{arch}_excess_low"],
                                                r[f"{arch}_excess_high"])
                row["random signs (%)"] = _pct(r[f"{arch}_control"])
                row["test acc. (%)"] = _pct(r[f"{arch}_test_acc"])
                row["seeds counted"] = f"{r[f'{arch}_counted']} of {r[f'{arch}_seeds']}"
            else:
                row["ours, raw (%)"] = "not run"
            rows.append(row)
    return pd.DataFrame(rows).fillna("–")


def paper_table4(configs: pd.DataFrame, task: str) -> pd.DataFrame:
    """The paper's Table 4 (PGD flip rate, standard vs adversarial training) beside ours at the deciding
    configuration of `task` where both trainings ran; "not run" otherwise."""
    sel = configs[(configs.task == task) & (configs.attack == "pgd")]
    sel = sel[deciding_mask(sel, attack="pgd")] if len(sel) else sel
    rows = []
    for arch in ("relu", "attn"):
        for training in ("standard", "adversarial"):
            r = sel[sel.training == training]
            row = {"model": MODEL_LABELS[arch], "training": training,
                   "paper (%)": f"{paper.TABLE4[(task, arch)][training]:g}"}
            row["ours, raw (%)"] = (_rate(r.iloc[0][f"{arch}_flip"], r.iloc[0][f"{arch}_flip_low"],
                                          r.iloc[0][f"{arch}_flip_high"]) if len(r) else "not run")
            rows.append(row)
    return pd.DataFrame(rows)


def band_counts_table(counts: dict) -> pd.DataFrame:
    """The grid as counts of evaluable configurations whose decided ratio interval lies wholly above the band,
    wholly below it, wholly inside it, or straddles an edge (`report.malleability.band_counts`)."""
    return pd.DataFrame([{"above the band": counts["above"], "inside the band": counts["inside"],
                          "below the band": counts["below"], "straddles an edge": counts["straddles"],
                          "not evaluable": counts["not_evaluable"]}])


def deciding_table(dec: pd.DataFrame) -> pd.DataFrame:
    """`deciding_choices` for display: choice, value, configurations, holding (count and %), share with MLP-Attn
    above 1× (%), median ratio, and whether the choice decides."""
    out = pd.DataFrame({
        "choice": dec.choice.map(TEX_CHOICE_LABELS), "value": dec.value.map(lambda v: TEX_VALUE_LABELS.get(v, v)),
        "evaluable configs": dec.configurations, "claim holds": dec.holds,
        "holding (%)": (100 * dec.share).round(0), "MLP-Attn above 1× (%)": (100 * dec.share_above).round(0),
        "median ratio": dec.median_ratio.map(lambda v: number(v, 2)),
        "decides": dec.decides.map({True: "yes", False: "no"}),
    })
    return out


def training_table(frame: pd.DataFrame) -> pd.DataFrame:
    """How well every network learned, against the learned floor (`malleability_summary.learned_floor`): per task,
    training, L2 form, width, n and model, the training loss, the mean network train / test accuracy, the kernel
    regressor's, `‖W‖/‖W₀‖`, how many trained networks reach the floor (with a kernel regressor above chance), and
    how many of the networks retrained under protocol (b) do (one per attack and seed; "–" where b was not run)."""
    f = summary.with_evaluability(frame)
    unit_keys = ["task", "arch", "seed", "training", "l2_form", "width", "n_train"]
    keys = ["task", "training", "l2_form", "width", "n_train", "arch"]
    rows = []
    for k, g in f.groupby(keys, sort=True):
        r = dict(zip(keys, k, strict=True))
        units = g.drop_duplicates(unit_keys)
        trained = units.net_learned & units.krr_evaluable
        b = g[g.protocol == "b"].drop_duplicates([*unit_keys, "attack"])
        rows.append({
            "task": mx.TASKS[r["task"]]["label"], "training": r["training"],
            "training loss": TEX_VALUE_LABELS[mx.TASKS[r["task"]]["loss"]],
            "L2 penalty": TEX_VALUE_LABELS[r["l2_form"]], "$m$": r["width"], "$n$": r["n_train"],
            "model": MODEL_LABELS[r["arch"]],
            "net train (%)": round(100 * units.train_accuracy.mean()),
            "net test (%)": round(100 * units.test_accuracy.mean()),
            "kernel test (%)": round(100 * units.krr_test_accuracy.mean()),
            WEIGHT_RATIO: number(float(units.weight_ratio.mean()), 3),
            "trained: learned": f"{int(trained.sum())} of {len(units)}",
            "retrained (b): learned": (f"{int(b.retrained_learned.sum())} of {len(b)}, mean "
                                       f"{round(100 * b.retrained_test_accuracy.mean())} %" if len(b) else "–"),
            "status": claims.HOLDS if trained.all() else (claims.NOT_EVALUABLE if not trained.any()
                                                          else claims.PARTLY),
        })
    return pd.DataFrame(rows)


def adversarial_table(configs: pd.DataFrame) -> pd.DataFrame:
    """Table 4 per configuration where both trainings ran (random control excluded): flip rates (%) of both models
    under standard → adversarial training, accuracies beside, and the `adversarial_status` badge."""
    pairs = summary.adversarial_pairs(configs[configs.attack != "random"])
    rows = []
    for _, r in pairs.iterrows():
        row = _choices(r, skip=tuple(c for c in mx.CHOICES if c not in ("loss", "l2_form", "reading", "protocol")))
        row["task"] = mx.TASKS[r.task]["label"]
        for arch in ("relu", "attn"):
            lab = MODEL_LABELS[arch]
            row[f"{lab} flips (%) std → adv"] = f"{_pct(r[f'{arch}_flip_std'])} → {_pct(r[f'{arch}_flip_adv'])}"
            row[f"{lab} test acc. (%) std → adv"] = f"{_pct(r[f'{arch}_test_acc_std'])} → {_pct(r[f'{arch}_test_acc_adv'])}"
        row["status"] = adversarial_status(r)
        rows.append(row)
    return pd.DataFrame(rows)


def poisoning_table(rates: pd.DataFrame, pairs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Poisoning per task, fraction and protocol: success (%) [Wilson 95 %] of the attack and of random signs on
    the same rows, for both models, with test accuracies and `poisoning_status` per model; with `pairs`
    (`summary.poisoning_pairs`) the per-seed paired difference MLP-Attn − 2L-ReLU of the attack's success rate
    (percentage points, Student-t 95 %), the quantity the link "easier to poison" is decided on."""
    rows = []
    for (task, frac, protocol), g in rates.groupby(["task", "fraction", "protocol"], sort=True):
        row = {"task": mx.TASKS[task]["label"], "poisoned (%)": round(100 * frac, 1),
               "protocol": TEX_VALUE_LABELS[protocol]}
        iv = {}
        for arch in ("relu", "attn"):
            lab = MODEL_LABELS[arch]
            h = g[g.arch == arch]
            for kind in ("pgd", "random"):
                k = h[h.perturbation == kind]
                iv[arch, kind] = (float(k.low.iloc[0]), float(k.high.iloc[0])) if len(k) else (math.nan, math.nan)
                row[f"{lab} {VALUE_LABELS[kind]} (%)"] = (
                    f"{100 * k.rate.iloc[0]:.0f} [{100 * k.low.iloc[0]:.0f}, {100 * k.high.iloc[0]:.0f}] "
                    f"of {int(k.targets.iloc[0])}" if len(k) else "–")
            row[f"{lab} test acc. (%)"] = _pct(float(h.test_accuracy.mean())) if len(h) else "–"
            row[f"{lab} beats control"] = poisoning_status(iv[arch, "pgd"], iv[arch, "random"])
        if pairs is not None:
            p = pairs[(pairs.task == task) & (pairs.fraction == frac) & (pairs.protocol == protocol)]
            row["MLP-Attn − 2L-ReLU, paired by seed (pp)"] = (
                f"{100 * p['diff'].iloc[0]:+.0f} [{100 * p['low'].iloc[0]:+.0f}, {100 * p['high'].iloc[0]:+.0f}] "
                f"over {int(p['seeds'].iloc[0])} seeds" if len(p) and math.isfinite(p["low"].iloc[0]) else "–")
        rows.append(row)
    return pd.DataFrame(rows)


# -- numbers for the prose ------------------------------------------------------------------------------------


#: a machine path in text: an absolute or home-relative POSIX path, a Windows drive path, or a file URL
_PATH = re.compile(r"(?:^|[\s(\"'=:])(?:~?/[\w.-]+/|[A-Za-z]:\\|file:/)")


def no_path(text: str) -> str:
    """`text` unchanged, or ValueError when it holds a machine path (the book must never show one)."""
    if _PATH.search(text):
        raise ValueError(f"text meant for the book holds a machine path; say it in words instead: {text!r}")
    return text


def _listing(values, labels: dict | None = None) -> str:
    labels = labels or {}
    return ", ".join(str(labels.get(v, v)) for v in values) or "none"


def grid_description(spec: mx.MalleabilitySpec) -> str:
    """The part of the grid `spec` runs, in words for the chapter (tasks, adversarial training, every choice's
    values, seeds and the training protocol), e.g. "tasks MNIST; adversarial training none; loss cross-entropy,
    MSE; ...; 3 seeds, 100 epochs of Adam at learning rate 0.01"."""
    tasks = {k: v["label"] for k, v in mx.TASKS.items()}
    parts = [f"tasks {_listing(spec.tasks, tasks)}", f"adversarial training {_listing(spec.adv_tasks, tasks)}",
             f"{CHOICE_LABELS['loss']} {_listing(spec.losses, VALUE_LABELS)}",
             f"{CHOICE_LABELS['l2_form']} {_listing(spec.l2_forms, VALUE_LABELS)}",
             f"{CHOICE_LABELS['width']} {_listing(spec.widths)}", f"n {_listing(spec.n_trains)}",
             f"{CHOICE_LABELS['reading']} {_listing(spec.readings, VALUE_LABELS)}",
             f"{CHOICE_LABELS['protocol']} {_listing(spec.protocols, VALUE_LABELS)}",
             f"{CHOICE_LABELS['attack']} {_listing(spec.attacks, VALUE_LABELS)}"]
    return no_path("; ".join(parts) + f"; {len(spec.seeds)} seeds, {spec.epochs} epochs of Adam at learning rate "
                   f"{spec.learning_rate:g}")


def data_notes(spec: mx.MalleabilitySpec, *, data_dir=None) -> str:
    """What the reader must know about the data splits of every task `spec` runs (`ntkbook.data.Split.note`, one
    sentence per distinct note, in words), or "" when nothing; ValueError if a note would show a machine path."""
    notes = []
    for task in dict.fromkeys(spec.tasks + spec.adv_tasks + spec.poison_tasks):
        note = mx.load_task(task, spec.n_trains[0], spec.n_test, spec.seeds[0], data_dir=data_dir).note
        if note and note not in notes:
            notes.append(note)
    return no_path(" ".join(notes))





def choice_tests_table(tests: pd.DataFrame) -> pd.DataFrame:
    """`report.malleability_choices.choice_tests` for display: choice, values, model degrees of freedom, F, p and
    whether the choice decides (p <= 0.05)."""
    return pd.DataFrame({
        "choice": tests.choice.map(TEX_CHOICE_LABELS), "values": tests["values"], "df": tests.df,
        "F": tests.F.map(lambda v: number(v, 3)), "p": tests.p.map(lambda v: number(v, 2)),
        "decides": tests.decides.map({True: "yes", False: "no"}),
    })
