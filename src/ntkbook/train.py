"""Training the first layer W of `ntkbook.models` networks: the paper's Adam protocol and full-batch gradient descent.

Loss (mean over the examples of a batch) plus an L2 penalty whose form `l2_form` the paper leaves open:

    L(W) = mean_i loss(f(z_i), t_i) + (l2 / 2) R(W),
    R(W) = ||W||_F^2          l2_form "w"    (the paper's words "lambda ||W||^2"; pulls W towards 0),
    R(W) = ||W - W0||_F^2     l2_form "w-w0" (pulls W towards its initialisation W0: the NTK reading),
    R(W) = 0                  l2_form "none".

With `w ~ N(0, I)` in d inputs and m units, `||W0||_F^2 ~ d m`, so the literal form adds about `l2 d m / 2` to a data
loss of order 1 (about 50 for MNIST at m = 128, l2 = 1e-3): Adam then shrinks W and `||W|| / ||W0||` ends well
below 1. Under "w-w0" the penalty is 0 at the start and `||W|| / ||W0||` stays near 1 for a lazy network; `train`
reports that ratio (`weight_ratio`) in its history.

with `loss = "xent"`: softmax cross-entropy against one-hot targets (C classes), or `loss = "mse"`:
`0.5 * mean_c (f_c - t_c)^2` (the normalisation of neural-tangents' `predict.gradient_descent_mse`, whose
`expm1(-eta Theta t / (n C))` is exact for this loss under gradient flow). Only W is trained; the readout signs stay.

Building blocks, public so that other trainers (e.g. PGD adversarial training, which perturbs the inputs between
epochs) can reuse them:

- `optimizer(config)` -> the optax transformation; `init_opt_state(params, config)`;
- `run_epoch(params, opt_state, signs, z, t, key, config)` -> `(params, opt_state, mean_batch_loss)`: one jitted
  pass over seeded minibatches (a `lax.scan` over batches);
- `epoch_key(config, epoch)` -> the shuffling key of an epoch, so a custom loop shuffles exactly as `train` does.

`fit(params, signs, z, t, config, stop=...)` is the one Adam loop over `run_epoch`: a fixed budget of
`config.epochs` epochs, or (`stop=Plateau(window, tol)`) until the objective plateaus within that budget. `train`
(with a per-epoch history) and the chapters' trainers call it, so every Adam-trained network in the book shuffles,
steps and stops the same way.
"""

import dataclasses
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pandas as pd

from ntkbook.models import apply_network
from ntkbook.progress import progress

LOSSES = ("xent", "mse")
L2_FORMS = ("w", "w-w0", "none")


def check_l2_form(l2_form: str) -> str:
    """The one check of a penalty form: returns `l2_form` if it is one of `L2_FORMS`, else raises naming them."""
    if l2_form not in L2_FORMS:
        raise ValueError(f"l2_form must be one of {L2_FORMS}, got {l2_form!r}")
    return l2_form


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """The paper's protocol: Adam (lr 1e-3), minibatches of 128, L2 penalty 1e-3, for `epochs` epochs.

    `seed` drives the minibatch shuffling only (the initialisation has its own key in `models.init_network`).
    `l2_form` is the penalty's form (one of `L2_FORMS`, see the module docstring); "w" (the default) is the literal
    `l2 ||W||^2`; "w-w0" needs the initial weights, which `train` takes from the params it starts from.
    """

    epochs: int
    batch_size: int = 128
    learning_rate: float = 1e-3
    l2: float = 1e-3
    loss: str = "xent"
    seed: int = 0
    l2_form: str = "w"

    def __post_init__(self):
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        check_l2_form(self.l2_form)
        if self.epochs < 0 or self.batch_size < 1 or self.learning_rate <= 0 or self.l2 < 0:
            raise ValueError(f"invalid TrainConfig {self}: need epochs >= 0, batch_size >= 1, lr > 0, l2 >= 0")


def targets(y: np.ndarray, n_classes: int, loss: str) -> jnp.ndarray:
    """Training targets from class indices y (N,) in 0..C-1.

    xent: one-hot (N, C). mse with C = 2: one column of +-1 (class 0 -> -1, class 1 -> +1), shape (N, 1).
    mse with C > 2: one-hot (N, C) (used for the equal-time gradient-descent comparison on 10 classes).
    """
    y = np.asarray(y)
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    if y.ndim != 1 or (y.size and (y.min() < 0 or y.max() >= n_classes)):
        raise ValueError(f"y must be class indices in 0..{n_classes - 1} with shape (N,), got shape {y.shape}")
    if loss == "mse" and n_classes == 2:
        return jnp.asarray(2.0 * y[:, None] - 1.0, dtype=jnp.float32)
    return jax.nn.one_hot(y, n_classes, dtype=jnp.float32)


def _per_example_loss(f: jnp.ndarray, t: jnp.ndarray, loss: str) -> jnp.ndarray:
    """(N, C), (N, C) -> (N,): softmax cross-entropy, or 0.5 * mean over outputs of squared error."""
    if loss == "xent":
        return optax.softmax_cross_entropy(f, t)
    return 0.5 * jnp.mean((f - t) ** 2, axis=-1)


def penalty(w: jnp.ndarray, l2_form: str = "w", w0: jnp.ndarray | None = None) -> jnp.ndarray:
    """`R(W)`: `||W||_F^2` ("w"), `||W - W0||_F^2` ("w-w0", needs w0 of W's shape) or 0 ("none"); a scalar."""
    check_l2_form(l2_form)
    if l2_form == "w":
        return jnp.sum(w**2)
    if l2_form == "w-w0":
        if w0 is None:
            raise ValueError("l2_form 'w-w0' penalises W - W0: pass the initial weights w0")
        return jnp.sum((w - w0) ** 2)
    return jnp.zeros((), w.dtype)  # "none"


def loss_fn(
    params: dict, signs: jnp.ndarray, z: jnp.ndarray, t: jnp.ndarray, loss: str, l2: float, weights=None,
    *, l2_form: str = "w", w0: jnp.ndarray | None = None,
) -> jnp.ndarray:
    """`sum_i w_i loss(f(z_i), t_i) / sum_i w_i + (l2/2) R(W)`; z (N, d), t (N, C); weights (N,) default 1.

    The weights let a fixed-size batch carry padding rows (weight 0), so every epoch sees every example once.
    `R` is `penalty(W, l2_form, w0)` (default: the literal `||W||_F^2`).
    """
    f = apply_network(params, signs, z)
    if f.shape != t.shape:
        raise ValueError(f"network outputs {f.shape} but targets are {t.shape}: init the network with n_out = t.shape[1]")
    per = _per_example_loss(f, t, loss)
    data = jnp.mean(per) if weights is None else jnp.sum(weights * per) / jnp.sum(weights)
    if l2_form == "none":
        return data
    return data + 0.5 * l2 * penalty(params["W"], l2_form, w0)


def optimizer(config: TrainConfig) -> optax.GradientTransformation:
    """`optax.adam(config.learning_rate)` (the L2 penalty is part of the loss, not decoupled weight decay)."""
    return optax.adam(config.learning_rate)


def init_opt_state(params: dict, config: TrainConfig):
    """Adam's initial state for params."""
    return optimizer(config).init(params)


def epoch_key(config: TrainConfig, epoch: int) -> jax.Array:
    """The key that shuffles epoch `epoch` (0-based): `fold_in(PRNGKey(config.seed), epoch)`."""
    return jax.random.fold_in(jax.random.PRNGKey(config.seed), epoch)


def _batches(n: int, batch_size: int, key: jax.Array) -> tuple[jnp.ndarray, jnp.ndarray]:
    """A seeded permutation of 0..n-1 cut into ceil(n/B) batches of B indices, (nb, B), with 0/1 weights (nb, B).

    The last batch is padded with repeats of the first indices at weight 0.
    """
    nb = -(-n // batch_size)
    perm = jax.random.permutation(key, n)
    pad = nb * batch_size - n
    idx = jnp.concatenate([perm, perm[:pad]]).reshape(nb, batch_size)
    w = jnp.concatenate([jnp.ones(n), jnp.zeros(pad)]).reshape(nb, batch_size)
    return idx, w


def _run_epoch(params, opt_state, signs, z, t, key, config: TrainConfig, w0=None):
    opt = optimizer(config)
    idx, w = _batches(z.shape[0], min(config.batch_size, z.shape[0]), key)
    if config.l2_form == "w-w0" and w0 is None:
        raise ValueError("TrainConfig.l2_form 'w-w0' penalises W - W0: pass w0 (the initial W) to run_epoch")

    def step(carry, batch):
        p, s = carry
        bi, bw = batch
        value, grads = jax.value_and_grad(loss_fn)(
            p, signs, z[bi], t[bi], config.loss, config.l2, bw, l2_form=config.l2_form, w0=w0
        )
        updates, s = opt.update(grads, s, p)
        return (optax.apply_updates(p, updates), s), value

    (params, opt_state), values = jax.lax.scan(step, (params, opt_state), (idx, w))
    return params, opt_state, jnp.mean(values)


run_epoch = jax.jit(_run_epoch, static_argnames=("config",))
run_epoch.__doc__ = """One epoch of Adam over seeded minibatches, jitted: returns `(params, opt_state, mean batch loss)`.

`z` (n, d) features and `t` (n, C) targets of the whole training set; `key` shuffles (use `epoch_key`). Every
example is used once per epoch (the last, short batch is padded at weight 0). Recompiles per distinct config/shape.
`w0` (the initial W) is required when `config.l2_form == "w-w0"` and ignored otherwise.
"""


@dataclasses.dataclass(frozen=True)
class Plateau:
    """Stop rule: after every `window` epochs measure the full objective L (`objective`); stop after the first
    whole window with `L_prev - L < tol * L_prev` (a relative fall below `tol`), else at the budget."""

    window: int
    tol: float

    def __post_init__(self):
        if not (isinstance(self.window, (int, np.integer)) and self.window >= 1):
            raise ValueError(f"Plateau.window must be an integer >= 1 (epochs per check), got {self.window!r}")
        if not (np.isfinite(self.tol) and self.tol >= 0):
            raise ValueError(f"Plateau.tol must be a finite number >= 0 (a relative fall), got {self.tol!r}")


@dataclasses.dataclass(frozen=True)
class Fitted:
    """What `fit` returns: the trained params, the epochs run, whether the plateau rule stopped training (always
    False for a fixed budget) and the full objective at the last check (None for a fixed budget: not measured)."""

    params: dict
    epochs: int
    plateaued: bool
    objective: float | None


def _adam_window(params, opt_state, signs, z, t, keys, config, w0):
    """`len(keys)` epochs of `run_epoch` under one `lax.scan` (one dispatch per window, not per epoch)."""
    def body(carry, key):
        p, s, value = run_epoch(*carry, signs, z, t, key, config, w0)
        return (p, s), value

    (params, opt_state), values = jax.lax.scan(body, (params, opt_state), keys)
    return params, opt_state, values


_adam_window_jit = jax.jit(_adam_window, static_argnames=("config",))


def fit(
    params: dict, signs: jnp.ndarray, z: jnp.ndarray, t: jnp.ndarray, config: TrainConfig, *,
    stop: Plateau | None = None, on_epoch=None, desc: str | None = None,
) -> Fitted:
    """Adam on W from `params` (W0 = `params["W"]`, the "w-w0" penalty's anchor) over (z (n, d), t (n, C)).

    `stop=None`: the fixed budget of `config.epochs` epochs, one `run_epoch` call each; `on_epoch(epoch, params,
    batch_loss)` (epoch 0-based) is called after each, and `desc` names a progress bar. `stop=Plateau(window, tol)`:
    windows of `window` epochs (one jitted scan each) until the plateau rule holds, at most `config.epochs` epochs
    (`on_epoch` is not offered there: the epochs of a window run on the device without a return to Python).
    Epoch e shuffles with `epoch_key(config, e)` under both rules. The config's seed picks the keys only, so the
    compiled epoch is shared by all seeds (it is a static argument: a seed in it would recompile per seed).
    """
    z, t = jnp.asarray(z), jnp.asarray(t)
    if z.ndim != 2 or t.ndim != 2 or z.shape[0] != t.shape[0]:
        raise ValueError(f"z must be (n, d) and t (n, C) with the same n, got {z.shape} and {t.shape}")
    compiled = dataclasses.replace(config, seed=0, epochs=0)
    w0 = params["W"]
    opt_state = init_opt_state(params, config)
    if stop is None:
        epochs = range(config.epochs) if desc is None else progress(range(config.epochs), desc=desc)
        for epoch in epochs:
            params, opt_state, batch_loss = run_epoch(params, opt_state, signs, z, t, epoch_key(config, epoch),
                                                      compiled, w0)
            if on_epoch is not None:
                on_epoch(epoch, params, batch_loss)
        return Fitted(params, config.epochs, False, None)
    if on_epoch is not None:
        raise ValueError("on_epoch is called per epoch of a fixed budget only; with stop=Plateau(...) pass None")
    if stop.window > config.epochs:
        raise ValueError(f"Plateau.window ({stop.window}) exceeds the budget config.epochs ({config.epochs}): the "
                         "rule could never be checked; use a window <= epochs")
    keys = jax.vmap(lambda e: epoch_key(config, e))(jnp.arange(config.epochs))
    prev = cur = objective(params, signs, z, t, config, w0)[0]
    done = 0
    while done < config.epochs:
        k = min(stop.window, config.epochs - done)
        params, opt_state, _ = _adam_window_jit(params, opt_state, signs, z, t, keys[done:done + k], compiled, w0)
        done += k
        cur = objective(params, signs, z, t, config, w0)[0]
        if k == stop.window and prev - cur < stop.tol * prev:
            return Fitted(params, done, True, cur)
        prev = cur
    return Fitted(params, done, False, cur)


def train(
    params: dict, signs: jnp.ndarray, z: jnp.ndarray, t: jnp.ndarray, config: TrainConfig, *, desc: str = "train",
    eval_every: int = 1, show_progress: bool = True,
) -> tuple[dict, pd.DataFrame]:
    """Train W with Adam for `config.epochs` epochs (`fit`, fixed budget); returns `(params, history)`.

    history: one row per epoch with `epoch` (1-based), `batch_loss` (mean minibatch objective during the epoch),
    and, every `eval_every` epochs and after the last (NaN otherwise), `loss` (full objective on (z, t) after the
    epoch, penalty included), `data_loss` (without the penalty), `accuracy` (argmax agreement for C > 1, sign
    agreement for one output) and `weight_ratio` (`||W||_F / ||W0||_F`, W0 the params passed in; the "w-w0"
    penalty pulls towards that W0). Same inputs and seed -> same result. `show_progress=False` hides the epoch bar
    (which `ntkbook.progress` shows only in interactive sessions anyway).
    """
    if eval_every < 1:
        raise ValueError(f"eval_every must be >= 1, got {eval_every}")
    z, t = jnp.asarray(z), jnp.asarray(t)
    w0 = params["W"]
    rows = []

    def record(epoch, p, batch_loss):
        row = {"epoch": epoch + 1, "batch_loss": float(batch_loss)}
        if (epoch + 1) % eval_every == 0 or epoch + 1 == config.epochs:
            row.update(evaluate(p, signs, z, t, config, w0=w0))
        rows.append(row)

    fitted = fit(params, signs, z, t, config, on_epoch=record, desc=desc if show_progress else None)
    return fitted.params, pd.DataFrame(rows, columns=["epoch", "batch_loss", "loss", "data_loss", "accuracy",
                                                      "weight_ratio"])


def weight_ratio(w: jnp.ndarray, w0: jnp.ndarray) -> float:
    """`||W||_F / ||W0||_F`: below 1 when training shrank the weights (the literal penalty), about 1 when lazy."""
    n0 = float(jnp.linalg.norm(w0))
    if n0 == 0:
        raise ValueError("W0 is all zeros: the ratio ||W|| / ||W0|| is undefined")
    return float(jnp.linalg.norm(w)) / n0


def objective(params: dict, signs: jnp.ndarray, z: jnp.ndarray, t: jnp.ndarray, config: TrainConfig, w0=None
              ) -> tuple[float, float]:
    """`(L, data loss)` on (z, t): `L = mean_i loss(f(z_i), t_i) + (l2 / 2) R(W)` under config's loss and penalty
    form (w0 needed for "w-w0"); the data loss is L without the penalty."""
    data = float(loss_fn(params, signs, z, t, config.loss, 0.0))
    pen = 0.0 if config.l2_form == "none" else float(penalty(params["W"], config.l2_form, w0))
    return data + 0.5 * config.l2 * pen, data


def evaluate(
    params: dict, signs: jnp.ndarray, z: jnp.ndarray, t: jnp.ndarray, config: TrainConfig, *, w0=None
) -> dict:
    """`{"loss", "data_loss", "accuracy"}` of the network on (z, t) under config's loss and L2 penalty, plus
    `"weight_ratio"` (`||W|| / ||W0||`) when the initial weights w0 are given (required for l2_form "w-w0")."""
    loss, data = objective(params, signs, z, t, config, w0)
    out = {"loss": loss, "data_loss": data, "accuracy": accuracy(apply_network(params, signs, z), t)}
    if w0 is not None:
        out["weight_ratio"] = weight_ratio(params["W"], w0)
    return out


def accuracy(f: jnp.ndarray, t: jnp.ndarray) -> float:
    """Fraction of rows where the prediction matches: argmax for C > 1 outputs, sign for one (+-1 targets)."""
    if f.shape[1] == 1:
        return float(jnp.mean(jnp.sign(f[:, 0]) == jnp.sign(t[:, 0])))
    return float(jnp.mean(jnp.argmax(f, axis=1) == jnp.argmax(t, axis=1)))


def _gd_step(params, signs, z, t, learning_rate, l2):
    grads = jax.grad(loss_fn)(params, signs, z, t, "mse", l2)
    return jax.tree_util.tree_map(lambda p, g: p - learning_rate * g, params, grads)


@jax.jit
def _gd_steps(params, signs, z, t, learning_rate, l2, steps_arr):
    def body(p, _):
        return _gd_step(p, signs, z, t, learning_rate, l2), None

    params, _ = jax.lax.scan(body, params, steps_arr)
    return params


def train_gd(
    params: dict,
    signs: jnp.ndarray,
    z: jnp.ndarray,
    t: jnp.ndarray,
    *,
    learning_rate: float,
    steps: int,
    l2: float = 0.0,
    record_every: int | None = None,
) -> tuple[dict, pd.DataFrame]:
    """Full-batch gradient descent on the MSE objective: `W <- W - eta grad L(W)` for `steps` steps.

    With `l2 = 0` the linearised network follows neural-tangents' `predict.gradient_descent_mse(K, t,
    learning_rate=eta)` at time `steps` (continuous time `eta * steps`; exact up to the time discretisation, which
    is small when `eta * lambda_max(Theta) / (n C) << 1`). history: rows (`step`, `loss`, `data_loss`, `accuracy`)
    every `record_every` steps (default: 10 records) and at the end.
    """
    if steps < 0 or learning_rate <= 0:
        raise ValueError(f"need steps >= 0 and learning_rate > 0, got {steps}, {learning_rate}")
    z, t = jnp.asarray(z), jnp.asarray(t)
    record_every = record_every or max(1, steps // 10)
    cfg = TrainConfig(epochs=0, loss="mse", l2=l2, learning_rate=learning_rate)
    rows, done = [{"step": 0, **evaluate(params, signs, z, t, cfg)}], 0
    while done < steps:
        chunk = min(record_every, steps - done)
        params = _gd_steps(params, signs, z, t, learning_rate, l2, jnp.zeros(chunk))
        done += chunk
        rows.append({"step": done, **evaluate(params, signs, z, t, cfg)})
    return params, pd.DataFrame(rows)


def timed(fn, *args, **kwargs):
    """`(fn(*args, **kwargs), seconds)` with the result's jax arrays blocked until ready."""
    start = time.perf_counter()
    out = jax.block_until_ready(fn(*args, **kwargs))
    return out, time.perf_counter() - start
