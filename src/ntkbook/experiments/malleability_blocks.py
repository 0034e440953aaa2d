"""Chapter 4's building blocks: the tasks, training, the empirical NTK, influence scores and perturbations of the
training pixels (used by the grid, `ntkbook.experiments.malleability`, and by the poisoning experiment,
`ntkbook.experiments.malleability_poisoning`).

Everything returns float64 numpy arrays; the attacks run in float32 JAX and are re-projected in float64 onto the
ℓ∞ ball and the pixel box around the clean data.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import jax.numpy as jnp
import numpy as np
from threadpoolctl import threadpool_limits

from ntkbook import attacks as _attacks
from ntkbook import data as _data
from ntkbook import influence as _influence
from ntkbook import models as _models
from ntkbook import train as _train

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
TRAININGS = ("standard", "adversarial")
ATTACKS = (*_attacks.ATTACKS, "random")


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


def task_targets(split: _data.Split, loss: str) -> tuple[jnp.ndarray, np.ndarray]:
    """(train targets (n, C) float32, test targets (t, C) float64) of `split` for `loss` (`ntkbook.train.targets`:
    one-hot, or one ±1 column for MSE on two classes)."""
    n_classes = len(split.classes)
    t = _train.targets(split.y_train, n_classes, loss)
    return t, np.asarray(_train.targets(split.y_test, n_classes, loss), np.float64)


def influence_targets(split: _data.Split, train_loss: str, influence_loss: str) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) targets in float64 for an influence loss on a network trained with `train_loss`: the same
    encoding the network's outputs have (C outputs). A one-output network (MSE on two classes, ±1 targets) has no
    softmax, so its influence loss must be "mse"; ValueError otherwise."""
    t, _ = task_targets(split, train_loss)
    ti, ti_test = task_targets(split, influence_loss)
    if ti.shape[1] != t.shape[1]:
        raise ValueError(f"influence loss {influence_loss!r} needs {ti.shape[1]} outputs but the network trained with "
                         f"{train_loss!r} has {t.shape[1]}; use influence loss {train_loss!r} for this task")
    return np.asarray(ti, np.float64), ti_test
