"""Seeds of equal shapes trained together on one device: `jax.vmap` over the seed axis.

A sweep trains the same network (same d, width m, outputs C, training set size n) for several seeds. Run one by one,
every seed pays the dispatch overhead of its own small matrix products; batched, the S seeds become one batched
product per step, which pays where the per-seed products are small (narrow networks, small n) and on accelerators.

- `init_networks(keys, d, width, n_out)`: `ntkbook.models.init_network` for each key, stacked:
  `({"W": (S, d, m)}, signs (S, m, C))`, bit-identical to calling it per key (threefry bits do not depend on
  batching).
- `train_gd_seeds(params, signs, z, t, ...)`: `ntkbook.train.train_gd` (full-batch gradient descent on the MSE
  objective, `W <- W - eta grad L(W)`) for all S seeds at once; z, t shared `(n, d)`, `(n, C)` or per seed
  `(S, n, d)`, `(S, n, C)`. Per-seed data: `jax.vmap` of the loop's step (`ntkbook.train.loss_fn` differentiated by
  JAX). Shared data (seeds that differ only in the initialisation): the S first layers side by side as one
  `(d, S m)` layer, so `z W` and `z^T dh` are single wide matrix products; the same loss summed over seeds.
  Either way the products may sum in another order than the loop's, so the numbers agree with the loop to
  rounding, not necessarily bit for bit (tests/test_batched.py bounds the difference).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from ntkbook import models, train

__all__ = ["METHODS", "init_networks", "train_gd_seeds", "gd_step_seeds", "evaluate_seeds"]


def init_networks(keys: jax.Array, d: int, width: int, n_out: int) -> tuple[dict, jnp.ndarray]:
    """`models.init_network(key, d, width, n_out)` for each of the S keys (S, 2): `({"W": (S, d, m)}, (S, m, C))`."""
    keys = jnp.asarray(keys)
    if keys.ndim != 2:
        raise ValueError(f"keys must be a stack of PRNG keys, shape (S, 2), got {keys.shape}")
    models.init_network(keys[0], d, width, n_out)  # validates d, width, n_out with its clear errors
    return jax.vmap(lambda key: models.init_network(key, d, width, n_out))(keys)


def _axes(params: dict, signs: jnp.ndarray, z: jnp.ndarray, t: jnp.ndarray) -> tuple[int, int | None, int | None]:
    """(S, z's vmap axis, t's vmap axis): 0 for per-seed arrays, None for shared ones; checks the shapes."""
    w = params["W"]
    if w.ndim != 3 or signs.ndim != 3 or w.shape[0] != signs.shape[0] or w.shape[2] != signs.shape[1]:
        raise ValueError(
            f"params['W'] must be (S, d, m) and signs (S, m, C) with the same S and m, got {w.shape} and {signs.shape}"
        )
    s, d = w.shape[0], w.shape[1]
    z_axis = 0 if z.ndim == 3 else None
    t_axis = 0 if t.ndim == 3 else None
    if z.ndim not in (2, 3) or z.shape[-1] != d or (z_axis == 0 and z.shape[0] != s):
        raise ValueError(f"z must be (n, {d}) shared or ({s}, n, {d}) per seed, got {z.shape}")
    if t.ndim not in (2, 3) or t.shape[-1] != signs.shape[2] or (t_axis == 0 and t.shape[0] != s):
        raise ValueError(f"t must be (n, {signs.shape[2]}) shared or ({s}, n, {signs.shape[2]}) per seed, got {t.shape}")
    if z.shape[-2] != t.shape[-2]:
        raise ValueError(f"z and t must have the same number of rows n, got {z.shape} and {t.shape}")
    return s, z_axis, t_axis


def _gd_step(params, signs, z, t, learning_rate, l2):
    """One step of `W <- W - eta grad L(W)` for one seed (the loop's step, `ntkbook.train.train_gd`)."""
    grads = jax.grad(train.loss_fn)(params, signs, z, t, "mse", l2)
    return jax.tree_util.tree_map(lambda p, g: p - learning_rate * g, params, grads)


def _steps(params, signs, z, t, learning_rate, l2, steps_arr):
    def body(p, _):
        return _gd_step(p, signs, z, t, learning_rate, l2), None

    params, _ = jax.lax.scan(body, params, steps_arr)
    return params


def _wide_loss(w, signs, z, t, l2):
    """Sum over seeds of `train.loss_fn` (MSE) with the S first layers side by side as one (d, S m) layer.

    w (S, d, m), signs (S, m, C), z (n, d), t (n, C) shared by the seeds. Seed s's term depends only on w[s], so the
    gradient's slice s is seed s's gradient; the products z W and z^T dh become single wide matrix products."""
    s, d, m = w.shape
    h = (z @ jnp.transpose(w, (1, 0, 2)).reshape(d, s * m)).reshape(z.shape[0], s, m)
    f = jnp.einsum("nsm,smc->snc", jax.nn.relu(h), signs) / jnp.sqrt(m)
    per_seed = jnp.mean(0.5 * jnp.mean((f - t[None]) ** 2, axis=-1), axis=1)
    return jnp.sum(per_seed) + 0.5 * l2 * jnp.sum(w**2)


@jax.jit
def _wide_steps(params, signs, z, t, learning_rate, l2, steps_arr):
    def body(w, _):
        return w - learning_rate * jax.grad(_wide_loss)(w, signs, z, t, l2), None

    w, _ = jax.lax.scan(body, params["W"], steps_arr)
    return {"W": w}


_batched_steps = jax.jit(
    lambda params, signs, z, t, lr, l2, steps_arr, z_axis, t_axis: jax.vmap(
        _steps, in_axes=(0, 0, z_axis, t_axis, None, None, None)
    )(params, signs, z, t, lr, l2, steps_arr),
    static_argnames=("z_axis", "t_axis"),
)


METHODS = ("auto", "vmap", "wide")


def gd_step_seeds(params: dict, signs: jnp.ndarray, z, t, *, learning_rate: float, l2: float = 0.0,
                  steps: int = 1, method: str = "auto") -> dict:
    """`steps` full-batch GD steps for every seed at once (no history): `{"W": (S, d, m)}` after the steps.

    method: "vmap" (`jax.vmap` of the one-seed step over the seed axis), "wide" (the seeds' layers side by side,
    one wide matrix product per product; needs z and t shared by the seeds) or "auto" ("wide" when z and t are
    shared, else "vmap"). Whether batching beats a loop over seeds depends on the width and the device: it saves
    per-call overhead, which matters for narrow networks; the benchmarks appendix measures both forms.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    z, t = jnp.asarray(z), jnp.asarray(t)
    _, z_axis, t_axis = _axes(params, signs, z, t)
    shared = z_axis is None and t_axis is None
    if method == "wide" and not shared:
        raise ValueError("method='wide' needs z (n, d) and t (n, C) shared by the seeds; use 'vmap' for per-seed data")
    if method == "wide" or (method == "auto" and shared):
        return _wide_steps(params, signs, z, t, learning_rate, l2, jnp.zeros(steps))
    return _batched_steps(params, signs, z, t, learning_rate, l2, jnp.zeros(steps), z_axis=z_axis, t_axis=t_axis)


@jax.jit
def _loss_and_outputs(params, signs, z, t):
    data = train.loss_fn(params, signs, z, t, "mse", 0.0)
    return data, jnp.sum(params["W"] ** 2), models.apply_network(params, signs, z)


def evaluate_seeds(params: dict, signs: jnp.ndarray, z, t, *, l2: float = 0.0) -> pd.DataFrame:
    """Per seed, what `ntkbook.train.evaluate` reports under the MSE loss: `seed` (0..S-1), `loss` (with the
    penalty (l2/2)||W||^2), `data_loss`, `accuracy` (argmax agreement for C > 1 outputs, sign agreement for one)."""
    z, t = jnp.asarray(z), jnp.asarray(t)
    s, z_axis, t_axis = _axes(params, signs, z, t)
    data, sq, f = jax.vmap(_loss_and_outputs, in_axes=(0, 0, z_axis, t_axis))(params, signs, z, t)
    t_all = jnp.broadcast_to(t, (s, *t.shape[-2:]))
    if f.shape[-1] == 1:
        acc = jnp.mean(jnp.sign(f[..., 0]) == jnp.sign(t_all[..., 0]), axis=1)
    else:
        acc = jnp.mean(jnp.argmax(f, axis=-1) == jnp.argmax(t_all, axis=-1), axis=1)
    data = np.asarray(data, dtype=np.float64)
    return pd.DataFrame({
        "seed": np.arange(s), "loss": data + 0.5 * l2 * np.asarray(sq, dtype=np.float64), "data_loss": data,
        "accuracy": np.asarray(acc, dtype=np.float64),
    })


def train_gd_seeds(
    params: dict,
    signs: jnp.ndarray,
    z,
    t,
    *,
    learning_rate: float,
    steps: int,
    l2: float = 0.0,
    record_every: int | None = None,
    method: str = "auto",
) -> tuple[dict, pd.DataFrame]:
    """`ntkbook.train.train_gd` for S seeds at once: returns `({"W": (S, d, m)}, history)`.

    history: rows (`seed`, `step`, `loss`, `data_loss`, `accuracy`) for every seed at step 0, every `record_every`
    steps (default: 10 records) and at the end; `seed` is the index 0..S-1 into the stacked parameters. `method`:
    see `gd_step_seeds`.
    """
    if steps < 0 or learning_rate <= 0:
        raise ValueError(f"need steps >= 0 and learning_rate > 0, got {steps}, {learning_rate}")
    z, t = jnp.asarray(z), jnp.asarray(t)
    _axes(params, signs, z, t)
    record_every = record_every or max(1, steps // 10)
    records, done = [evaluate_seeds(params, signs, z, t, l2=l2).assign(step=0)], 0
    while done < steps:
        chunk = min(record_every, steps - done)
        params = gd_step_seeds(params, signs, z, t, learning_rate=learning_rate, l2=l2, steps=chunk, method=method)
        done += chunk
        records.append(evaluate_seeds(params, signs, z, t, l2=l2).assign(step=done))
    history = pd.concat(records, ignore_index=True)[["seed", "step", "loss", "data_loss", "accuracy"]]
    return params, history.sort_values(["seed", "step"], kind="stable").reset_index(drop=True)
