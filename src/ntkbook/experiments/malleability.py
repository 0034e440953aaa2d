"""Chapter 4: influence malleability (the paper's Tables 2–4) and, beyond the paper, training-data poisoning.

One *unit* is (task, architecture, seed, training): draw a seeded split, initialise the network from
`PRNGKey(seed)`, train it (standard Adam, or PGD adversarial training), and score every training point by its NTK
leave-one-out influence on the total test loss (`ntkbook.influence`, the trained network's empirical NTK, ridge λ).
Then for each item of the plan — an intervention (Curated / Transformed / Adversarial), an attack
(FGSM / PGD / MIM, or uniform random signs as a control) and a budget ε — perturb the training pixels and recompute
the influences in two ways:

- protocol **a** ("same weights"): the trained weights are kept; only the data changes (the features, for MLP-Attn
  the attention over the perturbed set, and hence the empirical NTK);
- protocol **b** ("retrained"): the network is retrained on the perturbed data from the same initialisation, with
  the same minibatch order and the same training procedure (standard or adversarial).

A `control` item retrains on the *clean* data with another minibatch order (protocol b only): the flip rate that
training noise alone produces. Every measure (`ntkbook.malleability.measures`) lands in one tidy row.

The training-data attack ascends each training point's own training loss under the trained network (its mean,
`ntkbook.attacks.training_loss`); the test set is never perturbed. "Flip" is a sign change of the influence.

`poisoning_run` goes beyond the paper: for a chosen test point, perturb only the fraction p of training points that
are most influential on its loss (same ℓ∞ budget), ascending its loss under the same-weights NTK regression, and
record whether its prediction turns wrong, under protocols a and b.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from jax.experimental import enable_x64
from scipy import stats
from threadpoolctl import threadpool_limits

from ntkbook import attacks as _attacks
from ntkbook import data as _data
from ntkbook import influence as _influence
from ntkbook import malleability as _mal
from ntkbook import models as _models
from ntkbook import train as _train
from ntkbook.experiments.cache import cached_frame
from ntkbook.progress import progress

ARCH_LABELS = {"relu": "2L-ReLU", "attn": "MLP-Attn"}

#: The paper's four tasks (and two offline stand-ins): data set, class subset (binary tasks relabelled 0..1 in this order), loss, display name.
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

#: The paper's reference numbers (flip rate, %, ε = 0.3), typed from arXiv 2603.13085 Tables 2–4.
PAPER_TABLE2 = {  # 10 classes, cross-entropy: (task, arch) -> {attack: %}
    ("mnist", "relu"): {"fgsm": 4.1, "pgd": 3.3, "mim": 3.4},
    ("mnist", "attn"): {"fgsm": 34.6, "pgd": 28.9, "mim": 21.9},
    ("cifar10", "relu"): {"fgsm": 3.3, "pgd": 3.1, "mim": 3.2},
    ("cifar10", "attn"): {"fgsm": 26.4, "pgd": 19.1, "mim": 20.5},
}
PAPER_TABLE3 = {  # binary, MSE
    ("mnist-3v8", "relu"): {"fgsm": 8.4, "pgd": 8.4, "mim": 8.6},
    ("mnist-3v8", "attn"): {"fgsm": 25.9, "pgd": 41.0, "mim": 40.5},
    ("cifar10-auto-air", "relu"): {"fgsm": 15.2, "pgd": 15.5, "mim": 15.3},
    ("cifar10-auto-air", "attn"): {"fgsm": 14.3, "pgd": 14.0, "mim": 14.8},
}
PAPER_TABLE4 = {  # PGD: (task, arch) -> {training: %}
    ("mnist", "relu"): {"standard": 3.3, "adversarial": 43.4},
    ("mnist", "attn"): {"standard": 28.9, "adversarial": 42.2},
    ("cifar10", "relu"): {"standard": 3.1, "adversarial": 36.5},
    ("cifar10", "attn"): {"standard": 19.1, "adversarial": 38.6},
}
#: The paper's claims about the attention/ReLU ratio of flip rates, (low, high) bounds per task.
PAPER_RATIO_CLAIMS = {
    "mnist": (6.0, 9.0),
    "cifar10": (6.0, 9.0),
    "mnist-3v8": (3.0, 5.0),
    "cifar10-auto-air": (0.67, 1.5),  # "about 1x"
}


@dataclasses.dataclass(frozen=True)
class Config:
    """Every knob of the chapter's protocol (the paper's open choices included, see PAPER.md §4).

    n_train, n_test: points per split (drawn seeded and stratified); width: hidden units m; epochs, batch_size,
    learning_rate, l2: the Adam protocol (`ntkbook.train.TrainConfig`); ridge: λ of `(K_m + λI)^{-1}`;
    tau: the top fraction whose sign flips are counted; eps: the ℓ∞ budget in pixel space for Tables 2–4;
    eps_sweep: the budgets of the sweep (PGD, Adversarial intervention); steps, step_size (None: 2.5 ε / steps for
    PGD, ε / steps for MIM), decay (MIM's μ); adv_rounds: how often PGD adversarial training refreshes its attack, adv_eps: its budget
    (None: the same ε as the attacks);
    tasks, sweep_tasks, intervention_tasks, adv_tasks, poison_tasks: which tasks get the main tables, the ε sweep,
    the Curated/Transformed interventions, adversarial training and the poisoning experiment; seeds: one unit per
    seed (split, initialisation and minibatch order all follow it); poison_fractions: fractions of the training
    set the poisoner may move; poison_targets: test points attacked per (task, model, seed).
    """

    tasks: tuple[str, ...] = ("mnist", "cifar10", "mnist-3v8", "cifar10-auto-air")
    sweep_tasks: tuple[str, ...] = ("mnist",)
    intervention_tasks: tuple[str, ...] = ("mnist",)
    adv_tasks: tuple[str, ...] = ("mnist", "cifar10")
    poison_tasks: tuple[str, ...] = ("mnist-3v8",)
    archs: tuple[str, ...] = _models.ARCHITECTURES
    seeds: tuple[int, ...] = (0, 1, 2)
    n_train: int = 400
    n_test: int = 200
    width: int = 128
    epochs: int = 60
    batch_size: int = 128
    learning_rate: float = 1e-2
    l2: float = 1e-3
    ridge: float = 1e-3
    tau: float = 0.1
    eps: float = 0.3
    eps_sweep: tuple[float, ...] = (0.1, 0.2, 0.3, 0.5)
    attacks: tuple[str, ...] = _attacks.ATTACKS
    steps: int = 10
    step_size: float | None = None
    decay: float = 1.0
    adv_rounds: int = 10
    adv_eps: float | None = None
    poison_fractions: tuple[float, ...] = (0.02, 0.05, 0.1)
    poison_targets: int = 3

    def __post_init__(self):
        named = (*self.tasks, *self.sweep_tasks, *self.intervention_tasks, *self.adv_tasks, *self.poison_tasks)
        unknown = [t for t in named if t not in TASKS]
        if unknown:
            raise ValueError(f"unknown tasks {unknown}; choose from {tuple(TASKS)}")
        if not set(self.archs) <= set(_models.ARCHITECTURES):
            raise ValueError(f"archs must be among {_models.ARCHITECTURES}; got {self.archs}")
        if min(self.n_train, self.n_test, self.width, self.epochs, self.steps, len(self.seeds)) < 1:
            raise ValueError(f"n_train, n_test, width, epochs, steps and the number of seeds must be >= 1: {self}")
        if not 0 < self.tau <= 1 or self.ridge <= 0 or self.eps <= 0:
            raise ValueError(f"need 0 < tau <= 1, ridge > 0 and eps > 0; got {self.tau}, {self.ridge}, {self.eps}")
        if self.adv_eps is not None and not self.adv_eps > 0:
            raise ValueError(f"adv_eps must be > 0 (or None for eps); got {self.adv_eps}")
        if not all(0 < p <= 1 for p in self.poison_fractions):
            raise ValueError(f"poison_fractions must lie in (0, 1]; got {self.poison_fractions}")

    def train_config(self, loss: str, seed: int) -> _train.TrainConfig:
        return _train.TrainConfig(
            epochs=self.epochs,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            l2=self.l2,
            loss=loss,
            seed=seed,
        )


#: Profiles: quick (CI, ~1 min), default (the book build, a few minutes here), paper (the full protocol).
PROFILES = {
    "quick": Config(
        tasks=("mnist", "mnist-3v8"),
        adv_tasks=("mnist",),
        seeds=(0, 1),
        n_train=60,
        n_test=30,
        width=64,
        epochs=20,
        steps=5,
        adv_rounds=4,
        poison_fractions=(0.05, 0.2),
        poison_targets=2,
    ),
    "default": Config(),
    "paper": Config(
        sweep_tasks=("mnist", "cifar10", "mnist-3v8", "cifar10-auto-air"),
        intervention_tasks=("mnist", "cifar10", "mnist-3v8", "cifar10-auto-air"),
        poison_tasks=("mnist", "cifar10", "mnist-3v8", "cifar10-auto-air"),
        seeds=(0, 1, 2, 3, 4),
        n_train=1000,
        n_test=500,
        width=1024,
        epochs=500,
        learning_rate=1e-3,
        adv_rounds=50,
        poison_targets=20,
    ),
}


def profile_config(profile: str, **overrides) -> Config:
    """The `Config` of a profile ("quick" | "default" | "paper"), with any field replaced by `overrides`."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {tuple(PROFILES)}")
    return dataclasses.replace(PROFILES[profile], **overrides)


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
    spec = TASKS[task]
    return _data.train_test_split(
        spec["name"],
        n_train,
        n_test,
        classes=spec["classes"],
        seed=seed,
        allow_split_from_test=True,
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
    `features(arch, x, x)` (exactly `ntkbook.train.train`, without its per-epoch evaluation); `"adversarial"` runs
    `ntkbook.attacks.adversarial_train` (PGD at ε, refreshed `rounds` times). Returns the trained params."""
    if training == "adversarial":
        params, _ = _attacks.adversarial_train(
            arch, params, signs, x, t, config, eps=eps, steps=steps, step_size=step_size, rounds=min(rounds, config.epochs)
        )
        return params
    if training != "standard":
        raise ValueError(f"training must be 'standard' or 'adversarial'; got {training!r}")
    z = _models.features(arch, jnp.asarray(x, jnp.float32), jnp.asarray(x, jnp.float32))
    opt_state = _train.init_opt_state(params, config)
    compiled = dataclasses.replace(config, seed=0)  # the seed only picks the keys: one compilation for all seeds
    for epoch in range(config.epochs):
        key = _train.epoch_key(config, epoch)
        params, opt_state, _ = _train.run_epoch(params, opt_state, signs, z, t, key, compiled)
    return params


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


def influence_scores(
    arch: str, params: dict, x_train, t_train, x_test, t_test, *, ridge: float, loss: str
) -> np.ndarray:
    """`I_i = Σ_x [L(f_{-i}(x)) − L(f(x))]` for every training point (n,), with the network's empirical NTK."""
    k_train, k_test = ntk_kernels(arch, params, x_train, x_test)
    return _influence.influence_on_test_loss(
        k_test, k_train, np.asarray(t_train, np.float64), np.asarray(t_test, np.float64), ridge, loss
    )


def perturb(
    attack: str, arch: str, params: dict, signs, x: np.ndarray, t, eps, *, loss: str, steps: int,
    step_size=None, decay: float = 1.0, seed: int = 0,
) -> np.ndarray:
    """Perturb the training pixels x (n, d) within ε (a number or a per-row (n, 1) budget).

    `attack` in ("fgsm", "pgd", "mim"): ascend `ntkbook.attacks.training_loss(arch, loss)` under the trained
    weights; `"random"`: `Π(x + ε s)` with i.i.d. uniform signs s (a control with the same budget, no gradient).
    Returns float64 (n, d) in [0, 1].
    """
    x32 = jnp.asarray(x, jnp.float32)
    if attack == "random":
        s = np.random.default_rng(seed).choice([-1.0, 1.0], size=np.shape(x))
        return np.clip(np.clip(np.asarray(x) + np.asarray(eps) * s, x - eps, x + eps), 0.0, 1.0)
    fn = _attacks.training_loss(arch, loss)
    eps_j = jnp.asarray(eps, jnp.float32) if np.ndim(eps) else float(eps)
    out = _attacks.attack(
        attack, fn, x32, eps_j, steps=steps, step_size=step_size, decay=decay, args=(params, signs, jnp.asarray(t))
    )
    # back to float64 around the clean x, re-projected so float32 rounding cannot leave the ball or the box
    return np.clip(np.clip(np.asarray(out, np.float64), x - eps, x + eps), 0.0, 1.0)


def plan(config: Config, task: str, training: str) -> list[tuple[str, str, float]]:
    """The (intervention, attack, ε) items of one unit. Standard training: every attack at ε and the random
    control (Adversarial intervention), the ε sweep with PGD (if `task` is a sweep task), Curated and Transformed
    (PGD at ε; intervention tasks only), and the retraining control. Adversarial training: PGD at ε only."""
    if training == "adversarial":
        return [("adversarial", "pgd", config.eps)]
    items = [("adversarial", a, config.eps) for a in config.attacks]
    items.append(("adversarial", "random", config.eps))
    if task in config.sweep_tasks:
        items += [("adversarial", "pgd", e) for e in config.eps_sweep if not math.isclose(e, config.eps)]
    if task in config.intervention_tasks:
        items += [("curated", "none", 0.0), ("transformed", "pgd", config.eps)]
    items.append(("control", "none", 0.0))
    return items


@single_threaded_blas
def unit_run(task: str, arch: str, seed: int, config: Config, *, training: str = "standard", data_dir=None) -> pd.DataFrame:
    """One unit: train, score, then every plan item under protocols a and b. One row per (item, protocol)."""
    spec = TASKS[task]
    split = load_task(task, config.n_train, config.n_test, seed, data_dir=data_dir)
    loss, n_classes = spec["loss"], len(split.classes)
    t = _train.targets(split.y_train, n_classes, loss)
    t_test = np.asarray(_train.targets(split.y_test, n_classes, loss), np.float64)
    x, x_test = split.x_train, split.x_test
    params0, signs = _models.init_network(jax.random.PRNGKey(seed), x.shape[1], config.width, t.shape[1])
    tcfg = config.train_config(loss, seed)
    adv_eps = config.eps if config.adv_eps is None else config.adv_eps
    adv = {"eps": adv_eps, "steps": config.steps, "step_size": config.step_size, "rounds": config.adv_rounds}

    def fit_on(xx, tt, cfg=tcfg):
        return fit(arch, params0, signs, xx, tt, cfg, training=training, **adv)

    def scores(p, xx, tt):
        return influence_scores(arch, p, xx, tt, x_test, t_test, ridge=config.ridge, loss=loss)

    start = time.perf_counter()
    params = fit_on(x, t)
    before = scores(params, x, t)
    z = _models.features(arch, jnp.asarray(x, jnp.float32), jnp.asarray(x, jnp.float32))
    zt = _models.features(arch, jnp.asarray(x_test, jnp.float32), jnp.asarray(x, jnp.float32))
    base = {
        "task": task, "arch": arch, "seed": seed, "training": training, "n_train": len(x),
        "train_accuracy": _train.accuracy(_models.apply_network(params, signs, z), t),
        "test_accuracy": _train.accuracy(_models.apply_network(params, signs, zt), jnp.asarray(t_test)),
    }
    fn = _attacks.training_loss(arch, loss)
    rows = []
    top = _mal.top_indices(before, _mal.top_count(len(x), config.tau))
    for intervention, attack, eps in plan(config, task, training):
        keep = None
        if intervention == "control":
            x_new, t_new = x, t
            p_b = fit_on(x, t, dataclasses.replace(tcfg, seed=tcfg.seed + 10_000))
        else:
            if intervention == "curated":
                x_new, keep = _mal.curated(x, before, config.tau)
                t_new = t[keep]
            else:
                budget = _mal.row_budget(len(x), top, eps) if intervention == "transformed" else eps
                x_new = perturb(attack, arch, params, signs, x, t, budget, loss=loss, steps=config.steps,
                                step_size=config.step_size, decay=config.decay, seed=seed)
                t_new = t
            p_b = fit_on(x_new, t_new)
        attack_gain = float(fn(jnp.asarray(x_new, jnp.float32), params, signs, t_new) - fn(jnp.asarray(x, jnp.float32), params, signs, t)) if keep is None else float("nan")
        for protocol, p in (("a", params), ("b", p_b)):
            if intervention == "control" and protocol == "a":
                continue  # identical data and weights: nothing can change
            after = scores(p, x_new, t_new)
            m = _mal.curated_flip_rate(before, after, keep, config.tau) if keep is not None else _mal.measures(before, after, config.tau)
            rows.append({**base, "intervention": intervention, "attack": attack, "eps": eps, "protocol": protocol,
                         **m, "train_loss_gain": attack_gain})
    frame = pd.DataFrame(rows)
    frame["unit_seconds"] = time.perf_counter() - start
    return frame


def run(config: Config, *, data_dir=None, cache_dir=None, refresh: bool = False) -> pd.DataFrame:
    """All units of `config` (standard training on `tasks`, adversarial training on `adv_tasks`), cached per unit
    with `ntkbook.experiments.cached_frame`. Tidy: one row per (task, arch, seed, training, item, protocol)."""
    units = [(task, arch, seed, "standard") for task in config.tasks for arch in config.archs for seed in config.seeds]
    units += [(task, arch, seed, "adversarial") for task in config.adv_tasks for arch in config.archs for seed in config.seeds]
    frames = []
    params = dataclasses.asdict(config)
    for task, arch, seed, training in progress(units, desc="malleability units"):
        key = {**params, "unit": [task, arch, seed, training]}
        frames.append(cached_frame(
            "malleability-unit", key,
            lambda task=task, arch=arch, seed=seed, training=training: unit_run(
                task, arch, seed, config, training=training, data_dir=data_dir),
            cache_dir=cache_dir, refresh=refresh,
        ))
    return pd.concat(frames, ignore_index=True)


# -- summaries and the paper's tables ---------------------------------------------------------------------------


def mean_ci(values, level: float = 0.95) -> tuple[float, float, int]:
    """Mean and the half-width of a Student-t confidence interval over seeds; (mean, half-width, n).
    With one value the half-width is NaN (no interval from one seed)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return float("nan"), float("nan"), 0
    if v.size == 1:
        return float(v[0]), float("nan"), 1
    half = stats.t.ppf(0.5 + level / 2, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size)
    return float(v.mean()), float(half), int(v.size)


def summarize(frame: pd.DataFrame, by: Sequence[str], value: str = "flip_rate") -> pd.DataFrame:
    """Mean, CI half-width (95 %, t over seeds) and count of `value` for each group of `by`."""
    rows = []
    for keys, g in frame.groupby(list(by), sort=False, dropna=False):
        m, h, n = mean_ci(g[value])
        rows.append({**dict(zip(by, keys if isinstance(keys, tuple) else (keys,), strict=True)), "mean": m, "ci": h, "n": n})
    return pd.DataFrame(rows)


def _fmt(mean: float, ci: float, scale: float = 100.0) -> str:
    if not np.isfinite(mean):
        return "–"
    return f"{scale * mean:.1f}" + ("" if not np.isfinite(ci) else f" ± {scale * ci:.1f}")


def _ratio(attn: float, relu: float) -> float:
    if not np.isfinite(attn) or not np.isfinite(relu):
        return float("nan")
    if relu == 0:
        return float("inf") if attn > 0 else float("nan")
    return attn / relu


def ratio_verdict(task: str, ratio: float, attn_ci: tuple[float, float], relu_ci: tuple[float, float]) -> str:
    """Verdict on the paper's ratio claim for `task` (`PAPER_RATIO_CLAIMS`, a range [L, H]), given our ratio of mean
    flip rates and both (mean, 95 % half-width) intervals over seeds.

    "holds" if the ratio lies in [L, H]; "does not hold" if the intervals exclude the claim (the largest ratio they
    allow, attn_hi / relu_lo, is below L, or the smallest, attn_lo / relu_hi, is above H), saying which model is
    higher when the intervals separate; otherwise "not resolved" (the intervals are too wide to decide)."""
    if task not in PAPER_RATIO_CLAIMS:
        return "no paper claim for this task"
    low, high = PAPER_RATIO_CLAIMS[task]
    (am, ah), (rm, rh) = attn_ci, relu_ci
    ah, rh = (0.0 if not np.isfinite(ah) else ah), (0.0 if not np.isfinite(rh) else rh)
    claim = f"the paper claims {low:g}–{high:g}×"
    if np.isnan(ratio):
        return "undefined (no flips in either model)"
    if np.isinf(ratio):
        return f"2L-ReLU has no flips, the ratio is unbounded ({claim})"
    if low <= ratio <= high:
        return f"holds ({ratio:.2g}×; {claim})"
    attn_lo, attn_hi, relu_lo, relu_hi = max(am - ah, 0.0), am + ah, max(rm - rh, 0.0), rm + rh
    if relu_lo > 0 and attn_hi < low * relu_lo:
        if relu_lo > attn_hi:
            return f"does not hold: reversed, 2L-ReLU flips more ({ratio:.2g}×; {claim})"
        if attn_lo > relu_hi:
            return f"does not hold: MLP-Attn flips more, but only {ratio:.2g}× ({claim})"
        return f"does not hold: {ratio:.2g}×, the intervals exclude the claim ({claim})"
    if relu_hi > 0 and attn_lo > high * relu_hi:
        return f"does not hold: stronger than claimed ({ratio:.2g}×; {claim})"
    return f"not resolved: intervals too wide ({ratio:.2g}×; {claim})"


def attack_table(frame: pd.DataFrame, tasks: Sequence[str], paper: dict, eps: float) -> pd.DataFrame:
    """Tables 2/3 side by side: per task, attack and protocol, the flip rate (%, mean ± 95 % CI over seeds) of
    both models, the attention/ReLU ratio, the paper's numbers and ratio, and a verdict on the ratio claim."""
    sel = frame[(frame.training == "standard") & (frame.intervention == "adversarial") & np.isclose(frame.eps, eps)]
    rows = []
    for task in tasks:
        for attack in ("fgsm", "pgd", "mim", "random"):
            for protocol in ("a", "b"):
                g = sel[(sel.task == task) & (sel.attack == attack) & (sel.protocol == protocol)]
                if g.empty:
                    continue
                relu = mean_ci(g[g.arch == "relu"].flip_rate)
                attn = mean_ci(g[g.arch == "attn"].flip_rate)
                ratio = _ratio(attn[0], relu[0])
                p_relu = paper.get((task, "relu"), {}).get(attack, float("nan"))
                p_attn = paper.get((task, "attn"), {}).get(attack, float("nan"))
                rows.append({
                    "task": TASKS[task]["label"], "attack": attack.upper(), "protocol": protocol,
                    "2L-ReLU (ours, %)": _fmt(*relu[:2]), "MLP-Attn (ours, %)": _fmt(*attn[:2]),
                    "ratio (ours)": round(ratio, 2) if np.isfinite(ratio) else ratio,
                    "2L-ReLU (paper, %)": p_relu, "MLP-Attn (paper, %)": p_attn,
                    "ratio (paper)": round(p_attn / p_relu, 2) if np.isfinite(p_relu) else float("nan"),
                    "verdict": ratio_verdict(task, ratio, attn[:2], relu[:2]) if attack != "random" else "control (no claim)",
                })
    return pd.DataFrame(rows)


def adversarial_training_table(frame: pd.DataFrame, tasks: Sequence[str], eps: float) -> pd.DataFrame:
    """Table 4 side by side: PGD flip rate (%) under standard and adversarial training, per task, model and
    protocol, with the paper's numbers. The verdict tests the paper's reading: adversarial training raises the
    flip rate of both models and closes the gap between them (ratio nearer 1)."""
    sel = frame[(frame.intervention == "adversarial") & (frame.attack == "pgd") & np.isclose(frame.eps, eps)]
    rows = []
    for task in tasks:
        for protocol in ("a", "b"):
            cell = {}
            for arch in ("relu", "attn"):
                for training in ("standard", "adversarial"):
                    g = sel[(sel.task == task) & (sel.arch == arch) & (sel.training == training) & (sel.protocol == protocol)]
                    cell[arch, training] = mean_ci(g.flip_rate)
            if not np.isfinite(cell["relu", "adversarial"][0]):
                continue
            r_std = _ratio(cell["attn", "standard"][0], cell["relu", "standard"][0])
            r_adv = _ratio(cell["attn", "adversarial"][0], cell["relu", "adversarial"][0])
            raised = all(cell[a, "adversarial"][0] > cell[a, "standard"][0] for a in ("relu", "attn"))
            closer = abs(math.log(r_adv)) < abs(math.log(r_std)) if (np.isfinite(r_std) and np.isfinite(r_adv) and r_std > 0 and r_adv > 0) else False
            verdict = {(True, True): "holds (both rise, gap closes)", (True, False): "partly: both rise, gap does not close",
                       (False, True): "partly: gap closes, but not both rise", (False, False): "does not hold"}[raised, closer]
            for arch in ("relu", "attn"):
                rows.append({
                    "task": TASKS[task]["label"], "model": ARCH_LABELS[arch], "protocol": protocol,
                    "standard (ours, %)": _fmt(*cell[arch, "standard"][:2]),
                    "adversarial training (ours, %)": _fmt(*cell[arch, "adversarial"][:2]),
                    "standard (paper, %)": PAPER_TABLE4.get((task, arch), {}).get("standard", float("nan")),
                    "adversarial training (paper, %)": PAPER_TABLE4.get((task, arch), {}).get("adversarial", float("nan")),
                    "attn/relu ratio std → adv (ours)": f"{r_std:.2g} → {r_adv:.2g}",
                    "verdict": verdict,
                })
    return pd.DataFrame(rows)


def intervention_table(frame: pd.DataFrame, eps: float) -> pd.DataFrame:
    """The three interventions (and the retraining control) per task, model and protocol: flip rate, Spearman ρ and
    top-K overlap, mean ± 95 % CI over seeds (PGD at ε for Transformed and Adversarial)."""
    sel = frame[(frame.training == "standard") & (
        (frame.intervention.isin(["curated", "control"])) | ((frame.attack == "pgd") & np.isclose(frame.eps, eps)))]
    rows = []
    for (task, intervention, protocol, arch), g in sel.groupby(["task", "intervention", "protocol", "arch"], sort=False):
        rows.append({
            "task": TASKS[task]["label"], "intervention": intervention, "protocol": protocol, "model": ARCH_LABELS[arch],
            "flip rate (%)": _fmt(*mean_ci(g.flip_rate)[:2]),
            "Spearman ρ": _fmt(*mean_ci(g.spearman)[:2], scale=1.0),
            "top-K overlap": _fmt(*mean_ci(g.topk_overlap)[:2], scale=1.0),
        })
    order = {"curated": 0, "transformed": 1, "adversarial": 2, "control": 3}
    out = pd.DataFrame(rows)
    return out.sort_values(["task", "protocol", "intervention"], key=lambda s: s.map(order) if s.name == "intervention" else s, kind="stable").reset_index(drop=True)


def eps_sweep_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """PGD flip rates against ε (Adversarial intervention, standard training) summarised over seeds:
    columns task, arch, protocol, eps, mean, ci, n."""
    sel = frame[(frame.training == "standard") & (frame.intervention == "adversarial") & (frame.attack == "pgd")]
    return summarize(sel, ["task", "arch", "protocol", "eps"]).sort_values(["task", "arch", "protocol", "eps"]).reset_index(drop=True)


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
    return _TARGET_LOSSES[(arch, loss)]


def _wrong(f: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Rows where the prediction f (k, C) disagrees with the target t: argmax for C > 1, sign for one output."""
    if f.shape[1] == 1:
        return np.sign(f[:, 0]) != np.sign(t[:, 0])
    return np.argmax(f, axis=1) != np.argmax(t, axis=1)


@single_threaded_blas
def poisoning_run(task: str, arch: str, seed: int, config: Config, *, data_dir=None) -> pd.DataFrame:
    """Poison a fraction p of the training set to turn one chosen test prediction wrong, for each p in
    `config.poison_fractions` and each of `config.poison_targets` targets.

    Targets: test points that both the network and its NTK regression classify correctly (seeded order). For each
    target the poisoner moves only the `ceil(p n)` training points with the largest |influence| on the target's
    loss, by PGD within ε (ℓ∞, pixels, [0, 1]) on `krr_target_loss` under float64. Success under protocol a: the
    same-weights NTK regression on the poisoned set predicts the target wrongly; under protocol b: the network
    retrained from the same initialisation on the poisoned set does. One row per (target, fraction).
    """
    spec = TASKS[task]
    split = load_task(task, config.n_train, config.n_test, seed, data_dir=data_dir)
    loss, n_classes = spec["loss"], len(split.classes)
    t = _train.targets(split.y_train, n_classes, loss)
    t64 = np.asarray(t, np.float64)
    t_test = np.asarray(_train.targets(split.y_test, n_classes, loss), np.float64)
    x, x_test = split.x_train, split.x_test
    params0, signs = _models.init_network(jax.random.PRNGKey(seed), x.shape[1], config.width, t.shape[1])
    tcfg = config.train_config(loss, seed)
    params = fit(arch, params0, signs, x, t, tcfg)

    def network_predictions(p, xx):
        zt = _models.features(arch, jnp.asarray(x_test, jnp.float32), jnp.asarray(xx, jnp.float32))
        return np.asarray(_models.apply_network(p, signs, zt), np.float64)

    k_train, k_test = ntk_kernels(arch, params, x, x_test)
    f_krr = _influence.krr_predict(k_test, k_train, t64, config.ridge)
    ok = ~_wrong(f_krr, t_test) & ~_wrong(network_predictions(params, x), t_test)
    order = np.random.default_rng(seed).permutation(len(x_test))
    targets = [j for j in order if ok[j]][: config.poison_targets]
    per_test = _influence.influence_on_test_loss(k_test, k_train, t64, t_test, config.ridge, loss, per_test=True)
    fn = krr_target_loss(arch, loss)
    w64 = {"W": np.asarray(params["W"], np.float64)}
    rows = []
    for j in targets:
        ranked = _mal.top_indices(per_test[j], len(x))
        for frac in config.poison_fractions:
            chosen = ranked[: _mal.top_count(len(x), frac)]
            budget = _mal.row_budget(len(x), chosen, config.eps)
            with enable_x64():
                args = (w64, jnp.asarray(t64), jnp.asarray(x_test[j : j + 1]), jnp.asarray(t_test[j : j + 1]), config.ridge)
                x_p = np.asarray(_attacks.pgd(fn, jnp.asarray(x, jnp.float64), jnp.asarray(budget), steps=config.steps,
                                              step_size=config.step_size, args=args))
                loss_before = float(fn(jnp.asarray(x), *args))
                loss_after = float(fn(jnp.asarray(x_p), *args))
            kp_train, kp_test = ntk_kernels(arch, params, x_p, x_test[j : j + 1])
            f_a = _influence.krr_predict(kp_test, kp_train, t64, config.ridge)
            p_b = fit(arch, params0, signs, x_p, t, tcfg)
            zt = _models.features(arch, jnp.asarray(x_test[j : j + 1], jnp.float32), jnp.asarray(x_p, jnp.float32))
            f_b = np.asarray(_models.apply_network(p_b, signs, zt), np.float64)
            rows.append({
                "task": task, "arch": arch, "seed": seed, "target": int(j), "fraction": frac, "n_poisoned": len(chosen),
                "target_loss_before": loss_before, "target_loss_after": loss_after,
                "success_a": bool(_wrong(f_a, t_test[j : j + 1])[0]), "success_b": bool(_wrong(f_b, t_test[j : j + 1])[0]),
            })
    return pd.DataFrame(rows, columns=["task", "arch", "seed", "target", "fraction", "n_poisoned", "target_loss_before",
                                       "target_loss_after", "success_a", "success_b"])


def run_poisoning(config: Config, *, data_dir=None, cache_dir=None, refresh: bool = False) -> pd.DataFrame:
    """`poisoning_run` for every poison task, model and seed, cached per unit; one row per (target, fraction)."""
    units = [(task, arch, seed) for task in config.poison_tasks for arch in config.archs for seed in config.seeds]
    params = dataclasses.asdict(config)
    frames = []
    for task, arch, seed in progress(units, desc="poisoning units"):
        frames.append(cached_frame(
            "malleability-poisoning", {**params, "unit": [task, arch, seed]},
            lambda task=task, arch=arch, seed=seed: poisoning_run(task, arch, seed, config, data_dir=data_dir),
            cache_dir=cache_dir, refresh=refresh,
        ))
    return pd.concat(frames, ignore_index=True)


def poisoning_table(poison: pd.DataFrame, frame: pd.DataFrame, eps: float) -> pd.DataFrame:
    """Success rate of poisoning (%, mean ± 95 % CI over seeds of the per-seed success rates) per task, model and
    fraction, under protocols a and b, beside the model's PGD flip rate (malleability, same task, protocol a/b)."""
    per_seed = poison.groupby(["task", "arch", "seed", "fraction"], as_index=False)[["success_a", "success_b"]].mean()
    flips = frame[(frame.training == "standard") & (frame.intervention == "adversarial") & (frame.attack == "pgd")
                  & np.isclose(frame.eps, eps)]
    rows = []
    for (task, arch, frac), g in per_seed.groupby(["task", "arch", "fraction"], sort=False):
        row = {"task": TASKS[task]["label"], "model": ARCH_LABELS[arch], "fraction poisoned": frac}
        for protocol in ("a", "b"):
            row[f"success {protocol} (%)"] = _fmt(*mean_ci(g[f"success_{protocol}"])[:2])
            f = flips[(flips.task == task) & (flips.arch == arch) & (flips.protocol == protocol)]
            row[f"PGD flip rate {protocol} (%)"] = _fmt(*mean_ci(f.flip_rate)[:2])
        rows.append(row)
    return pd.DataFrame(rows)


def poisoning_vs_malleability(poison: pd.DataFrame, frame: pd.DataFrame, eps: float) -> pd.DataFrame:
    """Per (task, model, seed, protocol): the PGD flip rate at ε (malleability) beside the poisoning success rate
    (over all targets and fractions), to ask whether the more malleable unit is the easier one to poison."""
    flips = frame[(frame.training == "standard") & (frame.intervention == "adversarial") & (frame.attack == "pgd")
                  & np.isclose(frame.eps, eps)]
    rows = []
    for (task, arch, seed), g in poison.groupby(["task", "arch", "seed"], sort=False):
        for protocol in ("a", "b"):
            f = flips[(flips.task == task) & (flips.arch == arch) & (flips.seed == seed) & (flips.protocol == protocol)]
            rows.append({"task": task, "arch": arch, "seed": seed, "protocol": protocol,
                         "flip_rate": float(f.flip_rate.mean()) if len(f) else float("nan"),
                         "success": float(g[f"success_{protocol}"].mean())})
    return pd.DataFrame(rows)


def malleability_predicts_poisoning(pairs: pd.DataFrame) -> pd.DataFrame:
    """From `poisoning_vs_malleability`: per task and protocol, which model is more malleable (higher mean flip
    rate), which is easier to poison (higher mean success), whether they agree, and Spearman ρ between flip rate
    and success over the (model, seed) units (NaN when either is constant)."""
    rows = []
    for (task, protocol), g in pairs.groupby(["task", "protocol"], sort=False):
        means = g.groupby("arch")[["flip_rate", "success"]].mean()
        more_malleable = ARCH_LABELS[means.flip_rate.idxmax()]
        easier = ARCH_LABELS[means.success.idxmax()]
        ok = g.flip_rate.nunique() > 1 and g.success.nunique() > 1
        rho = float(stats.spearmanr(g.flip_rate, g.success).statistic) if ok else float("nan")
        rows.append({"task": TASKS[task]["label"], "protocol": protocol, "more malleable": more_malleable,
                     "easier to poison": easier, "agree": more_malleable == easier,
                     "Spearman ρ (flip rate, success) over units": round(rho, 2) if np.isfinite(rho) else rho,
                     "units": len(g)})
    return pd.DataFrame(rows)


#: Wall-clock seconds of whole chapter runs (fresh cache), measured on the machines named; the chapter shows
#: them beside the time of its own run. None: not measured.
MEASURED_SECONDS = {
    "quick": {"seconds": 57.0, "machine": "2 CPU cores shared with other jobs (load about 5), papermill, fresh cache"},
    "default": {"seconds": 215.0, "machine": "2 CPU cores (load about 1), papermill, fresh cache; n_train 400"},
    "paper": {"seconds": None, "machine": "not run: no GPU was lent to this session, and on CPU it takes hours"},
}


def task_key(task: str) -> str:
    return task.replace("-", "_")


def claim_summary(frame: pd.DataFrame, config: Config) -> dict:
    """Named numbers and verdict strings for the chapter's prose (glued, never typed), NaN or "not run in this
    profile" where a task was not run. Keys (task with "-" as "_", protocol p in a/b):
    `ratio_<task>_<p>` attention/ReLU ratio of the PGD flip rate at ε; `flip_<arch>_<task>_<p>` that flip rate;
    `verdict_<task>_<p>` the verdict on the ratio claim (PGD row); `random_ratio_<task>_<p>` the ratio under the
    random-sign control; `control_<arch>_<task>` the flip rate of retraining on clean data with another minibatch
    order; `t4_<task>_<p>` the verdict on Table 4; `sweep_same_ranking_<p>` whether the model with the higher flip
    rate is the same at every ε of the sweep (MNIST)."""
    out: dict = {}
    std = frame[(frame.training == "standard") & (frame.intervention == "adversarial") & np.isclose(frame.eps, config.eps)]
    t2 = attack_table(frame, [t for t in ("mnist", "cifar10") if t in config.tasks], PAPER_TABLE2, config.eps)
    t3 = attack_table(frame, [t for t in ("mnist-3v8", "cifar10-auto-air") if t in config.tasks], PAPER_TABLE3, config.eps)
    both = pd.concat([t2, t3], ignore_index=True)
    t4 = adversarial_training_table(frame, [t for t in ("mnist", "cifar10") if t in config.adv_tasks], config.eps)
    for task in ("mnist", "cifar10", "mnist-3v8", "cifar10-auto-air"):
        k = task_key(task)
        for p in ("a", "b"):
            for arch in ("relu", "attn"):
                g = std[(std.task == task) & (std.arch == arch) & (std.attack == "pgd") & (std.protocol == p)]
                out[f"flip_{arch}_{k}_{p}"] = float(100 * g.flip_rate.mean()) if len(g) else float("nan")
            out[f"ratio_{k}_{p}"] = _ratio(out[f"flip_attn_{k}_{p}"], out[f"flip_relu_{k}_{p}"])
            row = both[(both.task == TASKS[task]["label"]) & (both.attack == "PGD") & (both.protocol == p)] if len(both) else both
            out[f"verdict_{k}_{p}"] = row.verdict.iloc[0] if len(row) else "not run in this profile"
            r = std[(std.task == task) & (std.attack == "random") & (std.protocol == p)]
            out[f"random_ratio_{k}_{p}"] = _ratio(r[r.arch == "attn"].flip_rate.mean(), r[r.arch == "relu"].flip_rate.mean()) if len(r) else float("nan")
            row4 = t4[(t4.task == TASKS[task]["label"]) & (t4.protocol == p)] if len(t4) else t4
            out[f"t4_{k}_{p}"] = row4.verdict.iloc[0] if len(row4) else "not run in this profile"
        for arch in ("relu", "attn"):
            c = frame[(frame.intervention == "control") & (frame.task == task) & (frame.arch == arch)]
            out[f"control_{arch}_{k}"] = float(100 * c.flip_rate.mean()) if len(c) else float("nan")
    sweep = eps_sweep_frame(frame)
    for p in ("a", "b"):
        s = sweep[(sweep.task == "mnist") & (sweep.protocol == p)].pivot_table(index="eps", columns="arch", values="mean")
        if {"relu", "attn"} <= set(s.columns) and len(s) > 1:
            higher = (s["attn"] > s["relu"]).to_numpy()
            out[f"sweep_same_ranking_{p}"] = (
                "yes: MLP-Attn higher at every ε" if higher.all() else
                "yes: 2L-ReLU higher at every ε" if (s["relu"] > s["attn"]).all() else "no: the ranking changes with ε")
        else:
            out[f"sweep_same_ranking_{p}"] = "not run in this profile"
    # plain Python types, so that glue's text/plain is "0.61", not "np.float64(0.61)"
    return {k: float(v) if isinstance(v, np.floating | float) else v for k, v in out.items()}


def poisoning_answer(prediction: pd.DataFrame) -> str:
    """One sentence from `malleability_predicts_poisoning`: in how many (task, protocol) cases the more malleable
    model is also the easier one to poison."""
    if prediction.empty:
        return "the poisoning experiment was not run in this profile"
    agree = int(prediction.agree.sum())
    total = len(prediction)
    verdict = "yes" if agree == total else "no" if agree == 0 else "not consistently"
    return f"{verdict}: in {agree} of {total} (task, protocol) cases the more malleable model is also the easier to poison"
