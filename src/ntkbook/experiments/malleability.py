"""Chapter 4: influence malleability (the paper's Tables 2–4) as a specification grid, and training-data poisoning.

The paper's ratio "MLP-Attn flips 6–9× more often than 2L-ReLU" rests on choices it leaves open. This module runs
the protocol over every combination of them:

- **loss** the network is trained with: softmax cross-entropy ("xent") or squared error ("mse");
- **L2 form** (`ntkbook.train.L2_FORMS`): the literal `λ‖W‖²` ("w"), `λ‖W − W₀‖²` ("w-w0", the NTK reading) or none;
- **width** m and **n**, the number of training points;
- **influence reading** (`ntkbook.influence`): "kernel" (exact leave-one-out of kernel ridge regression with the
  trained network's empirical NTK, fitted to the targets) or "network" (the influence function at the network's own
  outputs: its residual / logit gradient);
- **protocol** of recomputing the influences after the attack: "a" keeps the trained weights (only the data, hence
  the features and the empirical NTK, change); "b" retrains from the same initialisation and minibatch order;
- **attack** on the training pixels: FGSM, PGD, MIM (ascending the training loss, `ntkbook.attacks.training_loss`)
  or "random" (uniform random signs at the same ℓ∞ budget: a control without a gradient).

One *unit* (`unit_frame`) is one trained network: (task, model, seed, loss, L2 form, width, n, training). It trains,
records the network's and its kernel regressor's train/test accuracy and `‖W‖/‖W₀‖`, scores every training point in
both readings, then for each attack and protocol recomputes the scores and measures the flip rate of the top τ
(`ntkbook.malleability`). The readings and protocols share the unit's training, so they cost no extra training
(protocol b retrains once per attack). `units(spec)` lists the units of a `MalleabilitySpec`, `sweep(spec)` runs
them through `ntkbook.runner` and the result cache; `configurations` summarises the frame per configuration of the
grid: flip rates of both models with accuracies beside, and the MLP-Attn / 2L-ReLU ratio with a seed-bootstrap
interval. Numbers only: the verdicts live in `ntkbook.report.malleability`, the paper's numbers in `ntkbook.paper`.

`poisoning_frame` goes beyond the paper: for test points that are classified correctly, perturb only the fraction p of
training points most influential on one target's loss (same ℓ∞ budget), ascending that loss under the same-weights
NTK regression, and record whether the target turns wrong; the same rows moved by random signs are the control.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Sequence
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from scipy import stats
from threadpoolctl import threadpool_limits

from ntkbook import attacks as _attacks
from ntkbook import data as _data
from ntkbook import influence as _influence
from ntkbook import malleability as _mal
from ntkbook import models as _models
from ntkbook import runner as _runner
from ntkbook import train as _train
from ntkbook.spec import Spec, knob, require
from ntkbook.stats import ratio_interval, wilson_interval

#: The paper's four tasks (and two offline stand-ins): data set, class subset (binary tasks relabelled 0..1 in this
#: order), the loss the paper trains it with, display name.
TASKS = {
    "mnist": {"name": "mnist", "classes": None, "loss": "xent", "label": "MNIST"},
    "cifar10": {"name": "cifar10", "classes": None, "loss": "xent", "label": "CIFAR-10"},
    "mnist-3v8": {"name": "mnist", "classes": ("3", "8"), "loss": "mse", "label": "MNIST 3 vs 8"},
    "cifar10-auto-air": {
        "name": "cifar10",
        "classes": ("automobile", "airplane"),
        "loss": "mse",
        "label": "CIFAR-10 automobile vs airplane",
    },
    # small offline stand-ins (scikit-learn's 8x8 digits, no download): for tests and quick experiments only
    "digits": {"name": "digits", "classes": None, "loss": "xent", "label": "digits (8x8)"},
    "digits-3v8": {"name": "digits", "classes": ("3", "8"), "loss": "mse", "label": "digits 3 vs 8 (8x8)"},
}
READINGS = ("kernel", "network")
PROTOCOLS = ("a", "b")
TRAININGS = ("standard", "adversarial")
ATTACKS = (*_attacks.ATTACKS, "random")
#: The choices of the grid, in the order the specification curve marks them (column names of `configurations`).
CHOICES = ("loss", "l2_form", "width", "n_train", "reading", "protocol", "attack")
KIND = "malleability-unit"
POISON_KIND = "malleability-poisoning"


@dataclasses.dataclass(frozen=True)
class MalleabilitySpec(Spec):
    """Every knob of chapter 4; the tuples are the axes of the specification grid (`READINGS`, `PROTOCOLS`,
    `ATTACKS` share one training). Each knob is documented where it is declared; the poisoning experiment trains
    with each task's paper loss at the largest width and the first n of the grid."""

    tasks: tuple[str, ...] = knob(("mnist",), type=str, choices=tuple(TASKS),
                                  doc='tasks trained normally, e.g. ["mnist", "mnist-3v8"]')
    adv_tasks: tuple[str, ...] = knob((), type=str, choices=tuple(TASKS), min_len=0,
                                      doc="tasks also trained with PGD adversarial training (Table 4)")
    archs: tuple[str, ...] = knob(_models.ARCHITECTURES, type=str, choices=_models.ARCHITECTURES,
                                  doc='["relu", "attn"]')
    seeds: tuple[int, ...] = knob((0, 1, 2), type=int, low=0,
                                  doc="one unit per seed: split, initialisation and minibatch order follow it")
    losses: tuple[str, ...] = knob(("xent", "mse"), type=str, choices=_train.LOSSES, doc='grid: ["xent", "mse"]')
    l2_forms: tuple[str, ...] = knob(_train.L2_FORMS, type=str, choices=_train.L2_FORMS, doc='grid: ["w", "w-w0", '
                                     '"none"] (lambda ||W||^2, lambda ||W - W0||^2, no penalty)')
    widths: tuple[int, ...] = knob((256,), type=int, low=1, doc="grid: hidden units m")
    n_trains: tuple[int, ...] = knob((200,), type=int, low=10, doc="grid: training points n")
    readings: tuple[str, ...] = knob(READINGS, type=str, choices=READINGS,
                                     doc='grid: influence through the ["kernel", "network"]')
    protocols: tuple[str, ...] = knob(PROTOCOLS, type=str, choices=PROTOCOLS,
                                      doc='grid: ["a", "b"] (same weights / retrained after the attack)')
    attacks: tuple[str, ...] = knob(("pgd", "random"), type=str, choices=ATTACKS, doc='grid: among ["fgsm", "pgd", '
                                    '"mim", "random"] ("random": same-budget control)')
    n_test: int = knob(200, type=int, low=10, doc="test points (influence on their total loss; accuracies)")
    epochs: int = knob(100, type=int, low=1, doc="Adam epochs")
    batch_size: int = knob(128, type=int, low=1, doc="Adam minibatch size")
    learning_rate: float = knob(1e-2, type=float, low=0, low_open=True, doc="Adam learning rate")
    l2: float = knob(1e-3, type=float, low=0, doc="lambda of the L2 penalty")
    ridge: float = knob(1e-3, type=float, low=0, low_open=True, doc="lambda in (K_m + lambda I)^-1, both readings")
    tau: float = knob(0.1, type=float, low=0, high=1, low_open=True, doc="top fraction whose sign flips are counted")
    eps: float = knob(0.3, type=float, low=0, low_open=True, doc="l_inf budget in pixel space")
    steps: int = knob(10, type=int, low=1, doc="PGD / MIM iterations")
    step_size: float | None = knob(None, type=float, low=0, low_open=True, none_ok=True,
                                   doc="None: 2.5 eps / steps (PGD), eps / steps (MIM)")
    decay: float = knob(1.0, type=float, low=0, doc="MIM momentum")
    adv_rounds: int = knob(5, type=int, low=1, doc="how often adversarial training refreshes its PGD attack")
    poison_tasks: tuple[str, ...] = knob(("mnist-3v8",), type=str, choices=tuple(TASKS), min_len=0,
                                         doc="tasks of the poisoning experiment")
    poison_fractions: tuple[float, ...] = knob((0.05, 0.2), type=float, low=0, high=1, low_open=True,
                                               doc="fractions of the training set the poisoner may move")
    poison_targets: int = knob(15, type=int, low=1, doc="targets per seed (correctly classified test points)")
    poison_l2_form: str = knob("none", type=str, choices=_train.L2_FORMS,
                               doc="L2 form the poisoned networks are trained with")
    poison_protocols: tuple[str, ...] = knob(("a",), type=str, choices=PROTOCOLS, min_len=0,
                                             doc='["a"] or ["a", "b"]')

    PROFILES: ClassVar[dict[str, dict]] = {
        "quick": {
            "seeds": (0, 1), "losses": ("xent",), "l2_forms": ("w", "none"), "widths": (128,), "n_trains": (80,),
            "n_test": 80, "epochs": 30, "steps": 5, "protocols": ("a",), "poison_fractions": (0.2,),
            "poison_targets": 4,
        },
        # MNIST (Table 2) and binary MNIST 3 vs 8 (Table 3), so that both tables get a verdict at default
        "default": {"tasks": ("mnist", "mnist-3v8")},
        "paper": {
            "tasks": ("mnist", "cifar10", "mnist-3v8", "cifar10-auto-air"), "adv_tasks": ("mnist", "cifar10"),
            "seeds": (0, 1, 2, 3, 4, 5), "widths": (256, 1024), "n_trains": (200, 500),
            "attacks": ("fgsm", "pgd", "mim", "random"), "n_test": 500, "epochs": 300, "adv_rounds": 20,
            "poison_tasks": ("mnist", "mnist-3v8", "cifar10-auto-air"), "poison_fractions": (0.02, 0.05, 0.2),
            "poison_targets": 20, "poison_protocols": ("a", "b"),
        },
    }
    #: CPU seconds (user + system, `/usr/bin/time`) of a whole chapter run (papermill, kernel included) from an
    #: empty cache on the 2-core reference machine, shared with other jobs (load 3-4); the chapter's BLAS runs on
    #: one thread, so an uncontended run takes about this long. Default: MNIST and MNIST 3 vs 8 (78 units).
    MEASURED_SECONDS: ClassVar[dict[str, float]] = {"quick": 23.0, "default": 243.0}

    def check(self) -> None:
        require(self.adv_rounds <= self.epochs, "adv_rounds", f"<= epochs ({self.epochs})", self.adv_rounds)


def resolve(profile: str = "default", **overrides) -> MalleabilitySpec:
    """`MalleabilitySpec.resolve(profile, **overrides)`: the chapter's spec, validated."""
    return MalleabilitySpec.resolve(profile, **overrides)


# -- building blocks ------------------------------------------------------------------------------------------


def single_threaded_blas(fn):
    """Run `fn` with BLAS limited to one thread: the many small (n, n) inverses here are fastest that way, and on a
    shared, busy machine a multi-threaded OpenBLAS can be 50x slower at n = 200 (measured: 0.14 s vs 3 ms)."""

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        with threadpool_limits(limits=1, user_api="blas"):
            return fn(*args, **kwargs)

    return wrapped


def load_task(task: str, n_train: int, n_test: int, seed: int, *, data_dir=None) -> _data.Split:
    """The seeded split of `task` (a key of `TASKS`); train and test may come from the test split (see `.note`)."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose one of {tuple(TASKS)}")
    info = TASKS[task]
    return _data.train_test_split(
        info["name"], n_train, n_test, classes=info["classes"], seed=seed, allow_split_from_test=True,
        data_dir=data_dir,
    )


def fit(
    arch: str,
    params: dict,
    signs: jnp.ndarray,
    x: np.ndarray,
    t: jnp.ndarray,
    config: _train.TrainConfig,
    *,
    training: str = "standard",
    eps: float = 0.3,
    steps: int = 10,
    step_size: float | None = None,
    rounds: int = 10,
) -> dict:
    """Train W on the pixels x (n, d) with targets t (n, C): `"standard"` runs `config.epochs` Adam epochs on
    `features(arch, x, x)` (`ntkbook.train.fit`: the loop of `ntkbook.train.train` without its per-epoch
    evaluation; the L2 penalty in `config.l2_form`, W₀ = the params passed in); `"adversarial"` runs
    `ntkbook.attacks.adversarial_train` (PGD at ε, refreshed `rounds` times). Returns the trained params."""
    if training == "adversarial":
        params, _ = _attacks.adversarial_train(
            arch, params, signs, x, t, config, eps=eps, steps=steps, step_size=step_size,
            rounds=min(rounds, config.epochs),
        )
        return params
    if training != "standard":
        raise ValueError(f"training must be one of {TRAININGS}; got {training!r}")
    z = _models.features(arch, jnp.asarray(x, jnp.float32), jnp.asarray(x, jnp.float32))
    return _train.fit(params, signs, z, t, config).params


def ntk_kernels(arch: str, params: dict, x_train: np.ndarray, x_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The trained network's empirical NTK in float64: `K_m` (n, n) on the training set and `k(x_test, X)` (t, n).

    The features are recomputed from x_train (for "attn", the attention over this training set, for train and test
    points alike); `ntkbook.models.empirical_ntk` evaluated on float64 numpy arrays.
    """
    xtr = np.asarray(x_train, dtype=np.float64)
    z = np.asarray(_models.features(arch, xtr, xtr), dtype=np.float64)
    zt = np.asarray(_models.features(arch, np.asarray(x_test, dtype=np.float64), xtr), dtype=np.float64)
    w = {"W": np.asarray(params["W"], dtype=np.float64)}
    return np.asarray(_models.empirical_ntk(w, z, z)), np.asarray(_models.empirical_ntk(w, zt, z))


def network_outputs(arch: str, params: dict, signs, x_train: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The network's outputs f(x) (k, C) in float64, the features attending over the training set x_train."""
    xtr = np.asarray(x_train, dtype=np.float64)
    z = _models.features(arch, np.asarray(x, dtype=np.float64), xtr)
    w = {"W": np.asarray(params["W"], dtype=np.float64)}
    return np.asarray(_models.apply_network(w, np.asarray(signs, np.float64), z), dtype=np.float64)


def influence_scores(
    arch: str, params: dict, signs, x_train, t_train, x_test, t_test, *, ridge: float, loss: str,
    readings: Sequence[str] = READINGS,
) -> dict[str, np.ndarray]:
    """`{reading: I (n,)}`: every training point's influence on the total test loss, in each reading.

    "kernel": `influence.influence_on_test_loss` (exact leave-one-out of the kernel regressor with the network's
    empirical NTK); "network": `influence.network_influence_on_test_loss` (the influence function at the network's
    own outputs). Both with the same kernel, ridge λ and loss; t_train (n, C), t_test (t, C) the targets.
    """
    unknown = set(readings) - set(READINGS)
    if unknown:
        raise ValueError(f"unknown readings {sorted(unknown)}; choose from {READINGS}")
    k_train, k_test = ntk_kernels(arch, params, x_train, x_test)
    t_train, t_test = np.asarray(t_train, np.float64), np.asarray(t_test, np.float64)
    out = {}
    if "kernel" in readings:
        out["kernel"] = _influence.influence_on_test_loss(k_test, k_train, t_train, t_test, ridge, loss)
    if "network" in readings:
        f_train = network_outputs(arch, params, signs, x_train, x_train)
        f_test = network_outputs(arch, params, signs, x_train, x_test)
        out["network"] = _influence.network_influence_on_test_loss(
            k_test, k_train, f_train, t_train, f_test, t_test, ridge, loss)
    return out


def perturb(
    attack: str, arch: str, params: dict, signs, x: np.ndarray, t, eps, *, loss: str, steps: int,
    step_size=None, decay: float = 1.0, seed: int = 0,
) -> np.ndarray:
    """Perturb the training pixels x (n, d) within ε (a number or a per-row (n, 1) budget).

    `attack` in ("fgsm", "pgd", "mim"): ascend `ntkbook.attacks.training_loss(arch, loss)` under the trained
    weights; `"random"`: `Π(x + ε s)` with i.i.d. uniform signs s (a control with the same budget, no gradient).
    Returns float64 (n, d) in [0, 1].
    """
    if attack not in ATTACKS:
        raise ValueError(f"unknown attack {attack!r}; choose one of {ATTACKS}")
    x = np.asarray(x, np.float64)
    if attack == "random":
        s = np.random.default_rng(seed).choice([-1.0, 1.0], size=np.shape(x))
        return np.clip(np.clip(x + np.asarray(eps) * s, x - eps, x + eps), 0.0, 1.0)
    fn = _attacks.training_loss(arch, loss)
    eps_j = jnp.asarray(eps, jnp.float32) if np.ndim(eps) else float(eps)
    out = _attacks.attack(attack, fn, jnp.asarray(x, jnp.float32), eps_j, steps=steps, step_size=step_size,
                          decay=decay, args=(params, signs, jnp.asarray(t)))
    # back to float64 around the clean x, re-projected so float32 rounding cannot leave the ball or the box
    return np.clip(np.clip(np.asarray(out, np.float64), x - eps, x + eps), 0.0, 1.0)


def correct(f: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Rows where the prediction f (k, C) matches the target t: argmax for C > 1, sign for one output. (k,) bool."""
    f, t = np.asarray(f), np.asarray(t)
    if f.shape[1] == 1:
        return np.sign(f[:, 0]) == np.sign(t[:, 0])
    return np.argmax(f, axis=1) == np.argmax(t, axis=1)


def _targets(task: str, split: _data.Split, loss: str) -> tuple[jnp.ndarray, np.ndarray]:
    n_classes = len(split.classes)
    t = _train.targets(split.y_train, n_classes, loss)
    return t, np.asarray(_train.targets(split.y_test, n_classes, loss), np.float64)


# -- one unit -------------------------------------------------------------------------------------------------


UNIT_COLUMNS = (
    "task", "arch", "seed", "training", "loss", "l2_form", "width", "n_train", "n_test", "n_classes",
    "train_accuracy", "test_accuracy", "krr_train_accuracy", "krr_test_accuracy", "test_correct", "krr_test_correct",
    "weight_ratio", "attack", "protocol", "reading", "flip_rate", "n_top", "n_flips", "spearman", "topk_overlap",
    "attack_gain", "retrained_test_accuracy", "unit_seconds",
)


@single_threaded_blas
def unit_frame(
    task: str, arch: str, seed: int, training: str, loss: str, l2_form: str, width: int, n_train: int, *,
    n_test: int, epochs: int, batch_size: int, learning_rate: float, l2: float, ridge: float, tau: float,
    eps: float, attacks: Sequence[str], protocols: Sequence[str], readings: Sequence[str] = READINGS,
    steps: int = 10, step_size: float | None = None, decay: float = 1.0, adv_rounds: int = 5, data_dir=None,
) -> pd.DataFrame:
    """One unit of the grid: train one network, then every (attack, protocol, reading). One row each.

    Columns (`UNIT_COLUMNS`): the unit's choices; the trained network's `train_accuracy` / `test_accuracy` and its
    kernel regressor's (`krr_*`, `k(x, X)(K_m + λI)⁻¹ T`), with `test_correct` / `krr_test_correct` counts (for
    intervals); `weight_ratio` `‖W‖/‖W₀‖`; per row `flip_rate` (of the top `n_top = ⌈τ n⌉` by |I| before the
    attack, `n_flips` of them changed sign), `spearman`, `topk_overlap` (`ntkbook.malleability.measures_or_nan`:
    NaN, and `n_flips` −1, when the scores before the attack are constant, e.g. all units dead), `attack_gain` (rise of the mean training
    loss the attack ascends, under the trained weights), `retrained_test_accuracy` (protocol b's network after
    retraining on the perturbed data; NaN under a) and `unit_seconds`. Plain-typed columns (Parquet-friendly).
    """
    start = time.perf_counter()
    split = load_task(task, n_train, n_test, seed, data_dir=data_dir)
    t, t_test = _targets(task, split, loss)
    x, x_test = np.asarray(split.x_train, np.float64), np.asarray(split.x_test, np.float64)
    params0, signs = _models.init_network(jax.random.PRNGKey(seed), x.shape[1], width, t.shape[1])
    tcfg = _train.TrainConfig(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, l2=l2, loss=loss,
                              seed=seed, l2_form=l2_form)
    adv = {"eps": eps, "steps": steps, "step_size": step_size, "rounds": adv_rounds}
    params = fit(arch, params0, signs, x, t, tcfg, training=training, **adv)

    def score(p, xx):
        return influence_scores(arch, p, signs, xx, t, x_test, t_test, ridge=ridge, loss=loss, readings=readings)

    k_train, k_test = ntk_kernels(arch, params, x, x_test)
    t64 = np.asarray(t, np.float64)
    ok_test = correct(network_outputs(arch, params, signs, x, x_test), t_test)
    krr_ok = correct(_influence.krr_predict(k_test, k_train, t64, ridge), t_test)
    base = {
        "task": task, "arch": arch, "seed": int(seed), "training": training, "loss": loss, "l2_form": l2_form,
        "width": int(width), "n_train": int(n_train), "n_test": int(len(x_test)), "n_classes": len(split.classes),
        "train_accuracy": float(np.mean(correct(network_outputs(arch, params, signs, x, x), t64))),
        "test_accuracy": float(np.mean(ok_test)),
        "krr_train_accuracy": float(np.mean(correct(_influence.krr_predict(k_train, k_train, t64, ridge), t64))),
        "krr_test_accuracy": float(np.mean(krr_ok)),
        "test_correct": int(ok_test.sum()), "krr_test_correct": int(krr_ok.sum()),
        "weight_ratio": _train.weight_ratio(params["W"], params0["W"]),
    }
    before = score(params, x)
    fn = _attacks.training_loss(arch, loss)
    clean_loss = float(fn(jnp.asarray(x, jnp.float32), params, signs, t))
    rows = []
    for attack in attacks:
        x_new = perturb(attack, arch, params, signs, x, t, eps, loss=loss, steps=steps, step_size=step_size,
                        decay=decay, seed=seed)
        gain = float(fn(jnp.asarray(x_new, jnp.float32), params, signs, t)) - clean_loss
        for protocol in protocols:
            retrained_acc = float("nan")
            if protocol == "a":
                p = params
            else:
                p = fit(arch, params0, signs, x_new, t, tcfg, training=training, **adv)
                retrained_acc = float(np.mean(correct(network_outputs(arch, p, signs, x_new, x_test), t_test)))
            after = score(p, x_new)
            for reading in readings:
                m = _mal.measures_or_nan(before[reading], after[reading], tau)
                top = _mal.top_indices(before[reading], _mal.top_count(len(x), tau))
                flips = int(np.sum(np.sign(after[reading][top]) != np.sign(before[reading][top])))
                if not np.isfinite(m["flip_rate"]):
                    flips = -1  # no most-influential points to count (constant scores): the row's rates are NaN
                rows.append({**base, "attack": attack, "protocol": protocol, "reading": reading, **m,
                             "n_top": len(top), "n_flips": flips, "attack_gain": gain,
                             "retrained_test_accuracy": retrained_acc})
    frame = pd.DataFrame(rows, columns=[c for c in UNIT_COLUMNS if c != "unit_seconds"])
    frame["unit_seconds"] = time.perf_counter() - start
    return frame


def unit_params(spec: MalleabilitySpec, task: str, arch: str, seed: int, training: str, loss: str, l2_form: str,
                width: int, n_train: int) -> dict:
    """The JSON-plain keyword arguments of `unit_frame` for one configuration of `spec` (a unit's `params`)."""
    return {
        "task": task, "arch": arch, "seed": int(seed), "training": training, "loss": loss, "l2_form": l2_form,
        "width": int(width), "n_train": int(n_train), "n_test": spec.n_test, "epochs": spec.epochs,
        "batch_size": spec.batch_size, "learning_rate": spec.learning_rate, "l2": spec.l2, "ridge": spec.ridge,
        "tau": spec.tau, "eps": spec.eps, "attacks": list(spec.attacks), "protocols": list(spec.protocols),
        "readings": list(spec.readings), "steps": spec.steps, "step_size": spec.step_size, "decay": spec.decay,
        "adv_rounds": spec.adv_rounds,
    }


def units(spec: MalleabilitySpec) -> list[_runner.Unit]:
    """One `ntkbook.runner.Unit` per (training, task, loss, L2 form, width, n, model, seed) of the grid: standard
    training on `spec.tasks`, PGD adversarial training on `spec.adv_tasks`; plus the poisoning units
    (`poisoning_units`). The readings, protocols and attacks are rows inside a unit."""
    out = []
    for training, tasks in (("standard", spec.tasks), ("adversarial", spec.adv_tasks)):
        for task in tasks:
            for loss in spec.losses:
                for l2_form in spec.l2_forms:
                    for width in spec.widths:
                        for n_train in spec.n_trains:
                            for arch in spec.archs:
                                for seed in spec.seeds:
                                    params = unit_params(spec, task, arch, seed, training, loss, l2_form, width,
                                                         n_train)
                                    out.append(_runner.Unit(KIND, params, unit_frame,
                                                            reads=_data.split_reads(TASKS[task]["name"])))
    return out + poisoning_units(spec)


def sweep(spec: MalleabilitySpec, scheduler: str | None = None, *, refresh: bool = False, cache_dir=None
          ) -> dict[str, pd.DataFrame]:
    """Run every unit of `spec` through `ntkbook.runner.run` (cache first, then the scheduler); returns
    {"grid": the rows of `unit_frame`, "poisoning": the rows of `poisoning_frame`} (empty where none was run)."""
    grid_units = [u for u in units(spec) if u.kind == KIND]
    out = {}
    for name, todo in (("grid", grid_units), ("poisoning", poisoning_units(spec))):
        if not todo:
            out[name] = pd.DataFrame()
            continue
        result = _runner.run(todo, scheduler=scheduler, refresh=refresh, cache_dir=cache_dir,
                             desc=f"chapter 4 {name} units")
        out[name] = result.frame
    return out


def results(spec: MalleabilitySpec, *, scheduler: str | None = None, cache_dir=None) -> dict[str, pd.DataFrame]:
    """The chapter's results `{"grid", "poisoning"}`: `sweep(spec)`, each unit read from the result cache or
    computed (on `scheduler`, see `ntkbook.runner`) and stored there."""
    return sweep(spec, scheduler, cache_dir=cache_dir)


# -- summaries per configuration -----------------------------------------------------------------------------------


def evaluable(test_correct: int, n_test: int, n_classes: int, level: float = 0.95) -> bool:
    """True when the Wilson interval of a test accuracy (`test_correct` of `n_test`) lies above chance, 1/C."""
    lo, _ = wilson_interval(int(test_correct), int(n_test), level)
    return bool(lo > 1.0 / n_classes)


def with_evaluability(frame: pd.DataFrame) -> pd.DataFrame:
    """Add `net_evaluable`, `krr_evaluable` and `evaluable` (both) per row: the network's / the kernel regressor's
    test-accuracy interval (Wilson, 95 %) excludes chance. A unit failing either stays out of every comparison."""
    out = frame.copy()
    out["net_evaluable"] = [evaluable(c, n, k) for c, n, k in zip(out.test_correct, out.n_test, out.n_classes,
                                                                   strict=True)]
    out["krr_evaluable"] = [evaluable(c, n, k) for c, n, k in zip(out.krr_test_correct, out.n_test, out.n_classes,
                                                                   strict=True)]
    out["evaluable"] = out.net_evaluable & out.krr_evaluable
    return out


def mean_interval(values, level: float = 0.95) -> tuple[float, float, float]:
    """`(mean, low, high)`: mean over seeds with a Student-t interval, clipped to [0, 1] (rates)."""
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return float("nan"), float("nan"), float("nan")
    if v.size == 1:
        return float(v[0]), 0.0, 1.0
    half = stats.t.ppf(0.5 + level / 2, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size)
    return float(v.mean()), max(0.0, float(v.mean() - half)), min(1.0, float(v.mean() + half))


CONFIG_KEYS = ("task", "training", *CHOICES)


def configurations(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per configuration of the grid (task, training and the `CHOICES`): per model the mean flip rate with
    its t-interval over seeds, the mean network / kernel-regressor train and test accuracy, `‖W‖/‖W₀‖`, the number
    of seeds and of evaluable seeds; the MLP-Attn / 2L-ReLU `ratio` of mean flip rates over the evaluable seeds with
    its bootstrap interval (`ratio_low`, `ratio_high`), and `evaluable` (both models have >= 2 evaluable seeds).

    Only evaluable units (`with_evaluability`) with a defined flip rate enter the flip rates and the ratio; the
    accuracies are over all seeds.
    """
    f = with_evaluability(frame)
    rows = []
    for keys, g in f.groupby(list(CONFIG_KEYS), sort=True):
        row = dict(zip(CONFIG_KEYS, keys, strict=True))
        ev = {}
        for arch in _models.ARCHITECTURES:
            h = g[g.arch == arch]
            e = h[h.evaluable & np.isfinite(h.flip_rate)]
            ev[arch] = e.flip_rate.to_numpy()
            m, lo, hi = mean_interval(e.flip_rate) if len(e) else (float("nan"),) * 3
            row.update({
                f"{arch}_flip": m, f"{arch}_flip_low": lo, f"{arch}_flip_high": hi,
                f"{arch}_seeds": len(h), f"{arch}_evaluable_seeds": len(e),
                f"{arch}_train_acc": float(h.train_accuracy.mean()) if len(h) else float("nan"),
                f"{arch}_test_acc": float(h.test_accuracy.mean()) if len(h) else float("nan"),
                f"{arch}_krr_train_acc": float(h.krr_train_accuracy.mean()) if len(h) else float("nan"),
                f"{arch}_krr_test_acc": float(h.krr_test_accuracy.mean()) if len(h) else float("nan"),
                f"{arch}_weight_ratio": float(h.weight_ratio.mean()) if len(h) else float("nan"),
            })
        row["evaluable"] = bool(len(ev["attn"]) >= 2 and len(ev["relu"]) >= 2)
        if row["evaluable"]:
            row["ratio"], row["ratio_low"], row["ratio_high"] = ratio_interval(ev["attn"], ev["relu"])
        else:
            row["ratio"], row["ratio_low"], row["ratio_high"] = (float("nan"),) * 3
        rows.append(row)
    return pd.DataFrame(rows)


def adversarial_pairs(configs: pd.DataFrame) -> pd.DataFrame:
    """Table 4 per configuration: the standard and the adversarially trained row of the same task and choices side
    by side (suffixes `_std`, `_adv`), only where both were run."""
    keys = ["task", *CHOICES]
    std = configs[configs.training == "standard"].drop(columns="training")
    adv = configs[configs.training == "adversarial"].drop(columns="training")
    return std.merge(adv, on=keys, suffixes=("_std", "_adv"))


# -- beyond the paper: training-data poisoning ------------------------------------------------------------------


def _krr_target_loss(arch: str, loss: str):
    def fn(x, params, t, x_target, t_target, ridge):
        z = _models.features(arch, x, x)
        zt = _models.features(arch, x_target, x)
        k = _models.empirical_ntk(params, z, z)
        alpha = jnp.linalg.solve(k + ridge * jnp.eye(k.shape[0], dtype=k.dtype), t)
        f = _models.empirical_ntk(params, zt, z) @ alpha
        if loss == "xent":
            return -jnp.sum(t_target * jax.nn.log_softmax(f, axis=-1))
        return 0.5 * jnp.sum((f - t_target) ** 2)

    fn.__name__ = f"krr_target_loss_{arch}_{loss}"
    return fn


_TARGET_LOSSES = {(a, lo): _krr_target_loss(a, lo) for a in _models.ARCHITECTURES for lo in _train.LOSSES}


def krr_target_loss(arch: str, loss: str):
    """The poisoner's objective: the loss of the same-weights NTK regression at the target test points,

    `L(X) = Σ_j loss(k(z_j(X), Z(X)) (K(X) + λI)^{-1} T, t_j)`, with `Z(X) = features(arch, X, X)` and the
    targets' features `z_j(X) = features(arch, x_j, X)` (for "attn" both attend over the poisoned set X).
    Returns `fn(x, params, t, x_target, t_target, ridge)`; one object per (arch, loss) so attacks compile once.
    Differentiable in x (the ReLU gates of the empirical NTK are piecewise constant, so the gradient flows
    through the inner products of the features)."""
    if (arch, loss) not in _TARGET_LOSSES:
        raise ValueError(f"need arch in {_models.ARCHITECTURES} and loss in {_train.LOSSES}; got {arch!r}, {loss!r}")
    return _TARGET_LOSSES[(arch, loss)]


POISON_COLUMNS = (
    "task", "arch", "seed", "loss", "l2_form", "width", "n_train", "test_accuracy", "krr_test_accuracy",
    "test_correct", "krr_test_correct", "n_test", "n_classes", "target", "fraction", "n_poisoned", "perturbation",
    "target_loss_before", "target_loss_after", "success_a", "success_b",
)


@single_threaded_blas
def poisoning_frame(
    task: str, arch: str, seed: int, loss: str, l2_form: str, width: int, n_train: int, *, n_test: int,
    epochs: int, batch_size: int, learning_rate: float, l2: float, ridge: float, eps: float, steps: int,
    step_size: float | None, fractions: Sequence[float], targets: int, protocols: Sequence[str], data_dir=None,
) -> pd.DataFrame:
    """Poison a fraction p of the training set to turn one test prediction wrong, per p and target.

    Targets: up to `targets` test points (seeded order) that both the network and its NTK regression classify
    correctly before poisoning (only they count). For each target and p, the ⌈p n⌉ training points with the
    largest |influence| (kernel reading) on the target's loss are moved within ε (ℓ∞, pixels, [0, 1]) either by PGD
    on `krr_target_loss` in float64 (`perturbation` "pgd") or by uniform random signs (`"random"`, the control with
    the same rows and budget). Success under protocol a: the same-weights NTK regression on the poisoned set
    predicts the target wrongly; under b (if in `protocols`): the network retrained from the same initialisation on
    the poisoned set does (NaN when b is not run). One row per (target, fraction, perturbation).
    """
    split = load_task(task, n_train, n_test, seed, data_dir=data_dir)
    t, t_test = _targets(task, split, loss)
    t64 = np.asarray(t, np.float64)
    x, x_test = np.asarray(split.x_train, np.float64), np.asarray(split.x_test, np.float64)
    params0, signs = _models.init_network(jax.random.PRNGKey(seed), x.shape[1], width, t.shape[1])
    tcfg = _train.TrainConfig(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, l2=l2, loss=loss,
                              seed=seed, l2_form=l2_form)
    params = fit(arch, params0, signs, x, t, tcfg)
    k_train, k_test = ntk_kernels(arch, params, x, x_test)
    ok_krr = correct(_influence.krr_predict(k_test, k_train, t64, ridge), t_test)
    ok_net = correct(network_outputs(arch, params, signs, x, x_test), t_test)
    order = np.random.default_rng(seed).permutation(len(x_test))
    chosen_targets = [int(j) for j in order if ok_krr[j] and ok_net[j]][:targets]
    per_test = _influence.influence_on_test_loss(k_test, k_train, t64, t_test, ridge, loss, per_test=True)
    fn = krr_target_loss(arch, loss)
    w64 = {"W": np.asarray(params["W"], np.float64)}
    base = {"task": task, "arch": arch, "seed": int(seed), "loss": loss, "l2_form": l2_form, "width": int(width),
            "n_train": int(n_train), "test_accuracy": float(ok_net.mean()), "krr_test_accuracy": float(ok_krr.mean()),
            "test_correct": int(ok_net.sum()), "krr_test_correct": int(ok_krr.sum()), "n_test": int(len(x_test)),
            "n_classes": len(split.classes)}
    rows = []
    for j in chosen_targets:
        ranked = _mal.top_indices(per_test[j], len(x))
        target = (jnp.asarray(x_test[j: j + 1]), jnp.asarray(t_test[j: j + 1]))
        for frac in fractions:
            rows_moved = ranked[: _mal.top_count(len(x), frac)]
            budget = _mal.row_budget(len(x), rows_moved, eps)
            with jax.enable_x64(True):
                args = (w64, jnp.asarray(t64), *target, ridge)
                x_pgd = np.asarray(_attacks.pgd(fn, jnp.asarray(x), jnp.asarray(budget), steps=steps,
                                                step_size=step_size, args=args))
                x_rand = perturb("random", arch, params, signs, x, t, budget, loss=loss, steps=steps,
                                 seed=seed * 100_003 + j)
                loss_before = float(fn(jnp.asarray(x), *args))
                after = {"pgd": x_pgd, "random": x_rand}
                losses = {k: float(fn(jnp.asarray(v), *args)) for k, v in after.items()}
            for kind, x_p in after.items():
                kp_train, kp_test = ntk_kernels(arch, params, x_p, x_test[j: j + 1])
                f_a = _influence.krr_predict(kp_test, kp_train, t64, ridge)
                success_b = float("nan")
                if "b" in protocols:
                    p_b = fit(arch, params0, signs, x_p, t, tcfg)
                    success_b = float(not correct(network_outputs(arch, p_b, signs, x_p, x_test[j: j + 1]),
                                                  t_test[j: j + 1])[0])
                rows.append({**base, "target": j, "fraction": float(frac), "n_poisoned": len(rows_moved),
                             "perturbation": kind, "target_loss_before": loss_before,
                             "target_loss_after": losses[kind],
                             "success_a": float(not correct(f_a, t_test[j: j + 1])[0]), "success_b": success_b})
    return pd.DataFrame(rows, columns=list(POISON_COLUMNS))


def poisoning_units(spec: MalleabilitySpec) -> list[_runner.Unit]:
    """One unit per (poison task, model, seed): trained with the task's paper loss, `spec.poison_l2_form`, the
    largest width and the first n of the grid."""
    out = []
    for task in spec.poison_tasks:
        for arch in spec.archs:
            for seed in spec.seeds:
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


def poisoning_rates(poison: pd.DataFrame) -> pd.DataFrame:
    """Success rates pooled over seeds and targets per (task, model, fraction, perturbation, protocol): `successes`
    of `targets`, `rate` and its Wilson 95 % interval (`low`, `high`, inside [0, 1]), beside the mean test accuracy
    of the network and of its kernel regressor. Protocols that were not run (NaN) are left out."""
    rows = []
    for (task, arch, frac, kind), g in poison.groupby(["task", "arch", "fraction", "perturbation"], sort=True):
        for protocol in PROTOCOLS:
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
