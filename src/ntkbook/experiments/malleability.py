"""Chapter 4: influence malleability (the paper's Tables 2–4) as a specification grid, and training-data poisoning.

The paper fixes the training loss (softmax cross-entropy on the 10-class tasks, squared error on the binary ones,
`TASKS`); its ratio "MLP-Attn flips 6–9× more often than 2L-ReLU" rests on choices it leaves open. This module runs
the protocol over every combination of them:

- **influence loss** (`loss`): the loss whose change the influence scores measure, softmax cross-entropy ("xent")
  or squared error ("mse"), separate from the training loss (a one-output binary network has no softmax: "mse"
  only there);
- **L2 form** (`ntkbook.train.L2_FORMS`): the literal `λ‖W‖²` ("w"), `λ‖W − W₀‖²` ("w-w0", the NTK reading) or none;
- **width** m and **n**, the number of training points;
- **influence reading** (`ntkbook.influence`): "kernel" (exact leave-one-out of kernel ridge regression with the
  trained network's empirical NTK, fitted to the targets) or "network" (the influence function at the network's own
  outputs: its residual / logit gradient). Both use the per-output block `K ⊗ I_C` of the empirical NTK: the
  cross-output blocks of a C-output network's NTK (nonzero through the shared hidden layer) are dropped;
- **protocol** of recomputing the influences after the attack: "a" keeps the trained weights (only the data, hence
  the features and the empirical NTK, change); "b" retrains from the same initialisation and minibatch order;
- **attack** on the training pixels: FGSM, PGD, MIM (ascending the training loss, `ntkbook.attacks.training_loss`)
  or "random" (uniform random signs at the same ℓ∞ budget: the control without a gradient, on the same top points).

One *unit* (`unit_frame`) is one trained network: (task, model, seed, L2 form, width, n, training). It trains with
the task's paper loss, records the network's and its kernel regressor's train/test accuracy and `‖W‖/‖W₀‖`, scores
every training point in each reading and influence loss, then for each attack and protocol recomputes the scores and
counts the sign flips of the top τ (`ntkbook.malleability`); protocol b also records the retrained network's test
accuracy, so that every network a flip rate comes from can be screened for having learned. `units(spec)` lists the
units of a `MalleabilitySpec` (seeds outermost, so a partial run holds whole seeds), `sweep(spec)` runs them through
`ntkbook.runner` and the result cache. Numbers only: the summaries per configuration live in
`ntkbook.report.malleability_summary`, the verdicts in `ntkbook.report.malleability`. The poisoning experiment is
`ntkbook.experiments.malleability_poisoning`; the building blocks `ntkbook.experiments.malleability_blocks`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from ntkbook import attacks as _attacks
from ntkbook import data as _data
from ntkbook import influence as _influence
from ntkbook import malleability as _mal
from ntkbook import models as _models
from ntkbook import runner as _runner
from ntkbook import train as _train
from ntkbook.experiments import malleability_blocks as _blocks
from ntkbook.experiments.malleability_blocks import ATTACKS, READINGS, TASKS, TRAININGS, load_task
from ntkbook.experiments.malleability_poisoning import (
    POISON_COLUMNS,
    krr_target_objective,
    margin_objective,
    poisoning_frame,
)
from ntkbook.result_tables import ResultTables
from ntkbook.specs.malleability import PROTOCOLS, MalleabilitySpec

__all__ = [
    "ATTACKS", "CHOICES", "CONFIG_KEYS", "EPS_KIND", "KIND", "POISON_COLUMNS", "POISON_KIND", "PROTOCOLS", "READINGS", "TASKS",
    "TRAININGS", "UNIT_COLUMNS", "MalleabilitySpec", "influence_losses", "load_task",
    "krr_target_objective", "margin_objective",
    "poisoning_frame", "poisoning_units", "resolve", "results", "sweep",
    "eps_units", "unit_frame", "unit_params", "units",
]

#: The choices of the grid, in the order the specification curve marks them (column names of the configurations);
#: "loss" is the influence loss (the training loss is the task's, `TASKS`).
CHOICES = ("loss", "l2_form", "width", "n_train", "reading", "protocol", "attack")
CONFIG_KEYS = ("task", "training", *CHOICES)
KIND = "malleability-unit"
EPS_KIND = "malleability-eps"
POISON_KIND = "malleability-poisoning"


def resolve(profile: str = "default", **overrides) -> MalleabilitySpec:
    """`MalleabilitySpec.resolve(profile, **overrides)`: the chapter's spec, validated."""
    return MalleabilitySpec.resolve(profile, **overrides)


# -- one unit -------------------------------------------------------------------------------------------------


UNIT_COLUMNS = (
    "task", "arch", "seed", "training", "train_loss", "loss", "l2_form", "width", "n_train", "n_test", "n_classes",
    "train_accuracy", "test_accuracy", "krr_train_accuracy", "krr_test_accuracy", "test_correct", "krr_test_correct",
    "weight_ratio", "attack", "protocol", "reading", "flip_rate", "n_top", "n_flips", "spearman", "topk_overlap",
    "attack_gain", "retrained_test_accuracy", "retrained_test_correct", "unit_seconds",
)


def influence_losses(task: str, losses: Sequence[str]) -> tuple[str, ...]:
    """The influence losses `task`'s units are scored with: the axis `losses` for a network with C >= 2 outputs;
    squared error for a one-output binary network whatever the axis says, because it is the only influence loss
    defined on one output (no softmax over one output): the axis has the single value "mse" there, which the rows'
    `loss` column states."""
    one_output = TASKS[task]["loss"] == "mse" and TASKS[task]["classes"] is not None
    return ("mse",) if one_output else tuple(losses)


@_blocks.single_threaded_blas
def unit_frame(
    task: str, arch: str, seed: int, training: str, l2_form: str, width: int, n_train: int, *,
    losses: Sequence[str], n_test: int, epochs: int, batch_size: int, learning_rate: float, l2: float,
    ridge: float, tau: float, eps: float, attacks: Sequence[str], protocols: Sequence[str],
    readings: Sequence[str] = READINGS, steps: int = 10, step_size: float | None = None, decay: float = 1.0,
    adv_rounds: int = 5, data_dir=None,
) -> pd.DataFrame:
    """One unit of the grid: train one network with the task's paper loss (`TASKS`), then every (attack, protocol,
    influence loss, reading). One row each.

    Columns (`UNIT_COLUMNS`): the unit's choices (`train_loss` the training loss, `loss` the influence loss); the
    trained network's `train_accuracy` / `test_accuracy` and its kernel regressor's (`krr_*`,
    `k(x, X)(K_m + λI)⁻¹ T`), with `test_correct` / `krr_test_correct` counts (for intervals); `weight_ratio`
    `‖W‖/‖W₀‖`; per row `flip_rate` (of the top `n_top = ⌈τ n⌉` by |I| before the attack, `n_flips` of them changed
    sign; the same top points for every attack, the random-sign control included), `spearman`, `topk_overlap`
    (`ntkbook.malleability.measures_or_nan`: NaN, and `n_flips` −1, when the scores before the attack are constant,
    e.g. all units dead), `attack_gain` (rise of the mean training loss the attack ascends, under the trained
    weights), `retrained_test_accuracy` / `retrained_test_correct` (protocol b's network after retraining on the
    perturbed data, on the clean test set; NaN / −1 under a) and `unit_seconds`. Plain-typed columns.
    """
    start = time.perf_counter()
    losses = influence_losses(task, losses)
    train_loss = TASKS[task]["loss"]
    split = load_task(task, n_train, n_test, seed, data_dir=data_dir)
    t, t_test = _blocks.task_targets(split, train_loss)
    targets = {lo: _blocks.influence_targets(split, train_loss, lo) for lo in losses}
    x, x_test = np.asarray(split.x_train, np.float64), np.asarray(split.x_test, np.float64)
    params0, signs = _models.init_network(jax.random.PRNGKey(seed), x.shape[1], width, t.shape[1])
    tcfg = _train.TrainConfig(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, l2=l2,
                              loss=train_loss, seed=seed, l2_form=l2_form)
    adv = {"eps": eps, "steps": steps, "step_size": step_size, "rounds": adv_rounds}
    params = _blocks.fit(arch, params0, signs, x, t, tcfg, training=training, **adv)

    def score(p, xx):
        return {lo: _blocks.influence_scores(arch, p, signs, xx, tt, x_test, tt_test, ridge=ridge, loss=lo,
                                     readings=readings) for lo, (tt, tt_test) in targets.items()}

    k_train, k_test = _blocks.ntk_kernels(arch, params, x, x_test)
    t64 = np.asarray(t, np.float64)
    ok_test = _blocks.correct(_blocks.network_outputs(arch, params, signs, x, x_test), t_test)
    krr_ok = _blocks.correct(_influence.krr_predict(k_test, k_train, t64, ridge), t_test)
    base = {
        "task": task, "arch": arch, "seed": int(seed), "training": training, "train_loss": train_loss,
        "l2_form": l2_form, "width": int(width), "n_train": int(n_train), "n_test": int(len(x_test)),
        "n_classes": len(split.classes),
        "train_accuracy": float(np.mean(_blocks.correct(_blocks.network_outputs(arch, params, signs, x, x), t64))),
        "test_accuracy": float(np.mean(ok_test)),
        "krr_train_accuracy": float(np.mean(_blocks.correct(_influence.krr_predict(k_train, k_train, t64, ridge), t64))),
        "krr_test_accuracy": float(np.mean(krr_ok)),
        "test_correct": int(ok_test.sum()), "krr_test_correct": int(krr_ok.sum()),
        "weight_ratio": _train.weight_ratio(params["W"], params0["W"]),
    }
    before = score(params, x)
    fn = _attacks.training_loss(arch, train_loss)
    clean_loss = float(fn(jnp.asarray(x, jnp.float32), params, signs, t))
    rows = []
    for attack in attacks:
        x_new = _blocks.perturb(attack, arch, params, signs, x, t, eps, loss=train_loss, steps=steps, step_size=step_size,
                        decay=decay, seed=seed)
        gain = float(fn(jnp.asarray(x_new, jnp.float32), params, signs, t)) - clean_loss
        for protocol in protocols:
            retrained = {"retrained_test_accuracy": float("nan"), "retrained_test_correct": -1}
            if protocol == "a":
                p = params
            else:
                p = _blocks.fit(arch, params0, signs, x_new, t, tcfg, training=training, **adv)
                ok = _blocks.correct(_blocks.network_outputs(arch, p, signs, x_new, x_test), t_test)
                retrained = {"retrained_test_accuracy": float(np.mean(ok)), "retrained_test_correct": int(ok.sum())}
            after = score(p, x_new)
            for lo in losses:
                for reading in readings:
                    b, a = before[lo][reading], after[lo][reading]
                    m = _mal.measures_or_nan(b, a, tau)
                    top = _mal.top_indices(b, _mal.top_count(len(x), tau))
                    flips = int(np.sum(np.sign(a[top]) != np.sign(b[top])))
                    if not np.isfinite(m["flip_rate"]):
                        flips = -1  # no most-influential points to count (constant scores): the row's rates are NaN
                    rows.append({**base, "loss": lo, "attack": attack, "protocol": protocol, "reading": reading, **m,
                                 "n_top": len(top), "n_flips": flips, "attack_gain": gain, **retrained})
    frame = pd.DataFrame(rows, columns=[c for c in UNIT_COLUMNS if c != "unit_seconds"])
    frame["unit_seconds"] = time.perf_counter() - start
    return frame


def unit_params(spec: MalleabilitySpec, task: str, arch: str, seed: int, training: str, l2_form: str,
                width: int, n_train: int) -> dict:
    """The JSON-plain keyword arguments of `unit_frame` for one configuration of `spec` (a unit's `params`)."""
    return {
        "task": task, "arch": arch, "seed": int(seed), "training": training, "l2_form": l2_form,
        "width": int(width), "n_train": int(n_train), "losses": list(influence_losses(task, spec.losses)),
        "n_test": spec.n_test, "epochs": spec.epochs,
        "batch_size": spec.batch_size, "learning_rate": spec.learning_rate, "l2": spec.l2, "ridge": spec.ridge,
        "tau": spec.tau, "eps": spec.eps, "attacks": list(spec.attacks), "protocols": list(spec.protocols),
        "readings": list(spec.readings), "steps": spec.steps, "step_size": spec.step_size, "decay": spec.decay,
        "adv_rounds": spec.adv_rounds,
    }


def units(spec: MalleabilitySpec) -> list[_runner.Unit]:
    """One `ntkbook.runner.Unit` per (seed, training, task, L2 form, width, n, model) of the grid: standard training
    on `spec.tasks`, PGD adversarial training on `spec.adv_tasks`; then the poisoning units (`poisoning_units`). The
    influence losses, readings, protocols and attacks are rows inside a unit. Seeds are the outermost loop, so a
    sweep stopped part-way holds every configuration at its first seeds."""
    out = []
    for seed in spec.seeds:
        for training, tasks in (("standard", spec.tasks), ("adversarial", spec.adv_tasks)):
            for task in tasks:
                for l2_form in spec.l2_forms:
                    for width in spec.widths:
                        for n_train in spec.n_trains:
                            for arch in spec.archs:
                                params = unit_params(spec, task, arch, seed, training, l2_form, width, n_train)
                                out.append(_runner.Unit(KIND, params, unit_frame,
                                                        reads=_data.split_reads(TASKS[task]["name"])))
    return out + eps_units(spec) + poisoning_units(spec)


def eps_units(spec: MalleabilitySpec) -> list[_runner.Unit]:
    """The eps sweep: the grid's first configuration (first task, L2 form, width and n; standard training) at each
    budget of `spec.eps_sweep` other than `spec.eps` (the grid has that one), on the first `spec.eps_sweep_seeds`
    seeds, both models. Same unit function as the grid; only the budget differs."""
    out = []
    task = spec.tasks[0]
    for eps in spec.eps_sweep:
        if eps == spec.eps:
            continue
        for seed in spec.seeds[:spec.eps_sweep_seeds]:
            for arch in spec.archs:
                params = unit_params(spec, task, arch, seed, "standard", spec.l2_forms[0], spec.widths[0],
                                     spec.n_trains[0])
                out.append(_runner.Unit(EPS_KIND, {**params, "eps": float(eps)}, unit_frame,
                                        reads=_data.split_reads(TASKS[task]["name"])))
    return out


def sweep(spec: MalleabilitySpec, scheduler: str | None = None, *, refresh: bool = False, cache_dir=None
          ) -> dict[str, pd.DataFrame]:
    """Run every unit of `spec` through `ntkbook.runner.run` (cache first, then the scheduler); returns
    {"grid": the rows of `unit_frame`, "eps": the eps sweep's rows of `unit_frame` with their budget in a column
    `eps`, "poisoning": the rows of `poisoning_frame`} (empty where none was run)."""
    def run(todo, name):
        if not todo:
            return pd.DataFrame()
        return _runner.run(todo, scheduler=scheduler, refresh=refresh, cache_dir=cache_dir,
                           desc=f"chapter 4 {name} units").frame

    out = {"grid": run([u for u in units(spec) if u.kind == KIND], "grid")}
    by_budget = {}
    for unit in eps_units(spec):
        by_budget.setdefault(unit.params["eps"], []).append(unit)
    frames = [run(todo, f"eps = {eps:g}").assign(eps=eps) for eps, todo in by_budget.items()]
    out["eps"] = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    out["poisoning"] = run(poisoning_units(spec), "poisoning")
    return out


def results(spec: MalleabilitySpec, *, scheduler: str | None = None, cache_dir=None) -> ResultTables:
    """The chapter's results, tables `grid`, `eps` and `poisoning`: `sweep(spec)`, each unit read from the result cache or
    computed (on `scheduler`, see `ntkbook.runner`) and stored there."""
    return ResultTables(sweep(spec, scheduler, cache_dir=cache_dir))


def poisoning_units(spec: MalleabilitySpec) -> list[_runner.Unit]:
    """One unit per (poison task, model, seed) over the first `spec.poison_seeds` seeds (every seed if None):
    trained with the task's paper loss, `spec.poison_l2_form`, the largest width and the first n of the grid."""
    out = []
    for task in spec.poison_tasks:
        for arch in spec.archs:
            for seed in spec.poisoning_seeds:
                params = {
                    "task": task, "arch": arch, "seed": int(seed), "loss": TASKS[task]["loss"],
                    "l2_form": spec.poison_l2_form, "width": int(max(spec.widths)), "n_train": int(spec.n_trains[0]),
                    "n_test": spec.n_test, "epochs": spec.epochs, "batch_size": spec.batch_size,
                    "learning_rate": spec.learning_rate, "l2": spec.l2, "ridge": spec.ridge, "eps": spec.eps,
                    "steps": spec.steps, "step_size": spec.step_size, "fractions": list(spec.poison_fractions),
                    "targets": spec.poison_targets, "protocols": list(spec.poison_protocols),
                }
                out.append(_runner.Unit(POISON_KIND, params, poisoning_frame,
                                        reads=_data.split_reads(TASKS[task]["name"])))
    return out


