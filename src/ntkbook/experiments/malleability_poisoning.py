"""Beyond the paper: training-data poisoning of chapter 4's networks.

For test points that both the network and its NTK regression classify correctly, perturb only the fraction p of the
training points most influential on one target's loss (ℓ∞ budget ε, pixels), ascending a *margin* objective of the
target under the same-weights NTK regression (`krr_target_objective`), and record whether the target turns wrong:
under protocol a (the same-weights NTK regression on the poisoned set) and b (the network retrained from the same
initialisation on it). The same rows moved by random signs are the control.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from ntkbook import attacks as _attacks
from ntkbook import influence as _influence
from ntkbook import malleability as _mal
from ntkbook import models as _models
from ntkbook import train as _train
from ntkbook.experiments.malleability_blocks import (
    correct,
    fit,
    load_task,
    network_outputs,
    ntk_kernels,
    perturb,
    single_threaded_blas,
    task_targets,
)


def margin_objective(f, t):
    """What the poisoner ascends at its targets: a margin objective, never the training loss.

    One ±1 output (`t` (k, 1)): `Σ_j −y_j f_j`, minus the signed margin; its gradient always points towards the
    decision boundary, also for a target whose output overshoots its label (y f > 1), which the squared error
    `½ (f − y)²` would push further onto the correct side. One-hot targets (k, C): the cross-entropy of the true
    class, `Σ_j −log softmax(f_j)_{y_j}`, which falls only as the true class's margin over the others grows.
    Works on numpy and JAX arrays alike; returns a scalar."""
    if t.shape[-1] == 1:
        return -jnp.sum(t * f)
    return -jnp.sum(t * jax.nn.log_softmax(f, axis=-1))


def _krr_target_objective(arch: str):
    def fn(x, params, t, x_target, t_target, ridge):
        z = _models.features(arch, x, x)
        zt = _models.features(arch, x_target, x)
        k = _models.empirical_ntk(params, z, z)
        alpha = jnp.linalg.solve(k + ridge * jnp.eye(k.shape[0], dtype=k.dtype), t)
        return margin_objective(_models.empirical_ntk(params, zt, z) @ alpha, t_target)

    fn.__name__ = f"krr_target_objective_{arch}"
    return fn


_TARGET_OBJECTIVES = {a: _krr_target_objective(a) for a in _models.ARCHITECTURES}


def krr_target_objective(arch: str):
    """The poisoner's objective: `margin_objective` of the same-weights NTK regression at the target test points,

    `L(X) = margin(k(z_j(X), Z(X)) (K(X) + λI)^{-1} T, t_j)`, with `Z(X) = features(arch, X, X)` and the
    targets' features `z_j(X) = features(arch, x_j, X)` (for "attn" both attend over the poisoned set X).
    Returns `fn(x, params, t, x_target, t_target, ridge)`; one object per arch so attacks compile once.
    Differentiable in x (the ReLU gates of the empirical NTK are piecewise constant, so the gradient flows
    through the inner products of the features)."""
    if arch not in _TARGET_OBJECTIVES:
        raise ValueError(f"need arch in {_models.ARCHITECTURES}; got {arch!r}")
    return _TARGET_OBJECTIVES[arch]


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
    on `krr_target_objective` (a margin objective) in float64 (`perturbation` "pgd") or by uniform random signs (`"random"`, the control with
    the same rows and budget). Success under protocol a: the same-weights NTK regression on the poisoned set
    predicts the target wrongly; under b (if in `protocols`): the network retrained from the same initialisation on
    the poisoned set does (NaN when b is not run). One row per (target, fraction, perturbation).
    """
    split = load_task(task, n_train, n_test, seed, data_dir=data_dir)
    t, t_test = task_targets(split, loss)
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
    fn = krr_target_objective(arch)
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
