"""ℓ∞ attacks in pixel space (FGSM, PGD, MIM) and PGD adversarial training.

The attacks are generic: they ascend any differentiable scalar `loss_fn(x, *args)` of pixel-space inputs `x`
(values in [0, 1]), inside the ℓ∞ ball of radius ε around the clean `x`, intersected with the box [0, 1]:

- FGSM (Goodfellow et al. 2015):  `x' = Π(x + ε sign ∇L(x))`;
- PGD (Madry et al. 2018):        `x_{k+1} = Π(x_k + η sign ∇L(x_k))`, k = 0..steps-1, optional uniform random start;
- MIM (Dong et al. 2018):         `g_{k+1} = μ g_k + ∇L(x_k) / ‖∇L(x_k)‖₁` (ℓ1 norm per example, i.e. per row
  of the first axis), `x_{k+1} = Π(x_k + η sign g_{k+1})`;

with `Π(u) = clip(clip(u, x − ε, x + ε), 0, 1)` (the projection onto the ball-box intersection, coordinate-wise).
`eps` may also be an array broadcastable to x (e.g. (n, 1) per row, 0 on rows that must not move; see
`ntkbook.malleability.row_budget`); default step sizes scale with it. Pass `loss_fn` as a module-level function (or one cached object) with array `args`: the attacks are jitted with
`loss_fn` static, so the same function and shapes compile once.

For training-data attacks on MLP-Attn the loss is written through `ntkbook.models.features(arch, x, x)`: the
attention is recomputed over the perturbed training set, so the gradient includes how moving one point changes
every other point's features. `training_loss` is that loss; `adversarial_train` trains on PGD-perturbed data.
"""

from __future__ import annotations

import dataclasses
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from ntkbook import models, train

ATTACKS = ("fgsm", "pgd", "mim")


def _check(x, eps: float, steps: int | None = None) -> None:
    if isinstance(eps, jax.core.Tracer) or not np.all(np.asarray(eps) >= 0):
        raise ValueError(f"eps (the ℓ∞ budget: a number, or an array broadcastable to x) must be >= 0; got {eps}")
    if steps is not None and steps < 1:
        raise ValueError(f"steps must be >= 1; got {steps}")
    if not isinstance(x, jax.core.Tracer):
        arr = np.asarray(x)
        if arr.size and (arr.min() < 0 or arr.max() > 1):
            raise ValueError(
                f"attacks work on pixel-space inputs in [0, 1]; got values in [{arr.min():.3g}, {arr.max():.3g}]"
                " (pass the un-normalised pixels, e.g. Split.x_train)"
            )


def project(x_adv: jnp.ndarray, x: jnp.ndarray, eps: float) -> jnp.ndarray:
    """`Π(x_adv) = clip(clip(x_adv, x − ε, x + ε), 0, 1)`: onto {‖x' − x‖∞ ≤ ε} ∩ [0, 1]^d; same shape as x."""
    return jnp.clip(jnp.clip(x_adv, x - eps, x + eps), 0.0, 1.0)


@partial(jax.jit, static_argnames=("loss_fn",))
def _fgsm(loss_fn, x, eps, args):
    g = jax.grad(loss_fn)(x, *args)
    return project(x + eps * jnp.sign(g), x, eps)


@partial(jax.jit, static_argnames=("loss_fn", "steps", "decay_on"))
def _iterate(loss_fn, x, x0, eps, step_size, decay, args, steps, decay_on):
    axes = tuple(range(1, x.ndim)) if x.ndim > 1 else (0,)

    def body(carry, _):
        xk, mom = carry
        g = jax.grad(loss_fn)(xk, *args)
        if decay_on:
            l1 = jnp.sum(jnp.abs(g), axis=axes, keepdims=True)
            mom = decay * mom + g / jnp.maximum(l1, 1e-12)
            direction = mom
        else:
            direction = g
        return (project(xk + step_size * jnp.sign(direction), x, eps), mom), None

    (x_out, _), _ = jax.lax.scan(body, (x0, jnp.zeros_like(x)), None, length=steps)
    return x_out


def fgsm(loss_fn, x: jnp.ndarray, eps: float, args: tuple = ()) -> jnp.ndarray:
    """Fast gradient sign method: `Π(x + ε sign ∇ₓ loss_fn(x, *args))`; x any shape, values in [0, 1]."""
    _check(x, eps)
    return _fgsm(loss_fn, jnp.asarray(x), eps, tuple(args))


def pgd(
    loss_fn,
    x: jnp.ndarray,
    eps: float,
    *,
    steps: int = 10,
    step_size: float | None = None,
    args: tuple = (),
    key: jax.Array | None = None,
) -> jnp.ndarray:
    """Projected gradient (sign) ascent: `x_{k+1} = Π(x_k + η sign ∇L(x_k))` for `steps` steps.

    `step_size` η defaults to `2.5 ε / steps` (Madry et al.). With a `key`, start from `Π(x + U(−ε, ε))`,
    otherwise from x. Returns the perturbed x (same shape), inside the ε-ball and [0, 1].
    """
    _check(x, eps, steps)
    x = jnp.asarray(x)
    step_size = 2.5 * eps / steps if step_size is None else step_size
    x0 = x if key is None else project(x + jax.random.uniform(key, x.shape, x.dtype, -eps, eps), x, eps)
    return _iterate(loss_fn, x, x0, eps, step_size, 0.0, tuple(args), steps, False)


def mim(
    loss_fn,
    x: jnp.ndarray,
    eps: float,
    *,
    steps: int = 10,
    step_size: float | None = None,
    decay: float = 1.0,
    args: tuple = (),
) -> jnp.ndarray:
    """Momentum iterative method: `g ← μ g + ∇L / ‖∇L‖₁` (per example), `x ← Π(x + η sign g)`, `steps` times.

    `step_size` η defaults to `ε / steps` (Dong et al.), `decay` μ to 1.0. Returns the perturbed x (same shape).
    """
    _check(x, eps, steps)
    if decay < 0:
        raise ValueError(f"decay (the momentum factor μ) must be >= 0; got {decay}")
    x = jnp.asarray(x)
    step_size = eps / steps if step_size is None else step_size
    return _iterate(loss_fn, x, x, eps, step_size, decay, tuple(args), steps, True)


def attack(
    name: str, loss_fn, x, eps: float, *, steps: int = 10, step_size=None, decay: float = 1.0, args=()
) -> jnp.ndarray:
    """Dispatch to `fgsm`, `pgd` or `mim` by `name` (one of `ATTACKS`); PGD starts at x (no random start)."""
    if name == "fgsm":
        return fgsm(loss_fn, x, eps, args)
    if name == "pgd":
        return pgd(loss_fn, x, eps, steps=steps, step_size=step_size, args=args)
    if name == "mim":
        return mim(loss_fn, x, eps, steps=steps, step_size=step_size, decay=decay, args=args)
    raise ValueError(f"unknown attack {name!r}; choose one of {ATTACKS}")


# -- the loss a training-data attack ascends ------------------------------------------------------------------


def _training_loss(arch: str, loss: str):
    def fn(x, params, signs, t):
        z = models.features(arch, x, x)
        return train.loss_fn(params, signs, z, t, loss, 0.0)

    fn.__name__ = f"training_loss_{arch}_{loss}"
    return fn


_TRAINING_LOSSES = {(a, lo): _training_loss(a, lo) for a in models.ARCHITECTURES for lo in train.LOSSES}


def training_loss(arch: str, loss: str):
    """The loss a training-data attack ascends: `L(X) = mean_i loss(f(z_i(X)), t_i)`, `z = features(arch, X, X)`.

    Each training point's own training loss under the trained network (no L2 term), averaged; for "attn" the
    features are the attention over the (perturbed) training set X itself. Returns `fn(x, params, signs, t)` with
    x (n, d) pixels, t (n, C); the same object for the same (arch, loss), so the jitted attacks compile once.
    """
    if (arch, loss) not in _TRAINING_LOSSES:
        raise ValueError(f"need arch in {models.ARCHITECTURES} and loss in {train.LOSSES}; got {arch!r}, {loss!r}")
    return _TRAINING_LOSSES[(arch, loss)]


def adversarial_train(
    arch: str,
    params: dict,
    signs: jnp.ndarray,
    x: jnp.ndarray,
    t: jnp.ndarray,
    config: train.TrainConfig,
    *,
    eps: float,
    steps: int = 10,
    step_size: float | None = None,
    rounds: int | None = None,
) -> tuple[dict, jnp.ndarray]:
    """PGD adversarial training (Madry et al.): alternate `x_adv = PGD(training_loss, x, ε)` under the current
    weights with Adam epochs on the features of x_adv, for `config.epochs` epochs in total.

    The attack is refreshed `rounds` times (default: every epoch), each time from the clean x, so the network sees
    the worst case of its current weights: `min_W E_i max_{‖δ_i‖∞≤ε} loss(f(z_i(X + δ)), t_i)`. For "attn" the
    features of the perturbed set attend over the perturbed set. The L2 penalty follows `config.l2_form` (for
    "w-w0", W0 is the params passed in). Returns `(params, x_adv of the last round)`.
    Shapes: x (n, d) pixels in [0, 1], t (n, C).
    """
    rounds = config.epochs if rounds is None else rounds
    if rounds < 1 or config.epochs < rounds:
        raise ValueError(f"need 1 <= rounds <= config.epochs; got rounds={rounds}, epochs={config.epochs}")
    x, t = jnp.asarray(x), jnp.asarray(t)
    loss_fn = training_loss(arch, config.loss)
    opt_state = train.init_opt_state(params, config)
    bounds = np.linspace(0, config.epochs, rounds + 1).round().astype(int)
    compiled = dataclasses.replace(config, seed=0)  # the seed only picks the keys: one compilation for all seeds
    w0 = params["W"]  # the "w-w0" penalty pulls towards the weights training starts from
    x_adv = x
    for r in range(rounds):
        x_adv = pgd(loss_fn, x, eps, steps=steps, step_size=step_size, args=(params, signs, t))
        z = models.features(arch, x_adv, x_adv)
        for epoch in range(bounds[r], bounds[r + 1]):
            key = train.epoch_key(config, epoch)
            params, opt_state, _ = train.run_epoch(params, opt_state, signs, z, t, key, compiled, w0)
    return params, x_adv
