"""The linearised network (first-order Taylor model at initialisation) and its full empirical NTK.

`f_lin(W; z) = f(W0; z) + d/de f(W0 + e (W - W0); z)|_{e=0}` (a `jax.jvp` of `ntkbook.models.apply_network`): the
network's kernel regime at finite width. Trained on any objective it moves only along its own empirical NTK at
initialisation, the full (example, output) kernel

.. math::

    \\Theta_{(i,c),(j,c')} = \\frac1m \\sum_r a_{rc} a_{rc'}\\, 1[w_r^\\top z_i > 0]\\, 1[w_r^\\top z_j > 0]\\,
    \\langle z_i, z_j\\rangle

(`full_empirical_ntk`; its diagonal output blocks are `ntkbook.models.empirical_ntk`; the off-diagonal ones average
to zero over the signs and vanish like m^(-1/2)). So the kernel predictors built from this Theta (kernel gradient
descent, kernel logistic regression) are exactly the linearised network trained by the same protocol; the tests
train `f_lin` directly (`train_gd`, `train_lbfgs`) and compare.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ntkbook import models

__all__ = ["full_empirical_ntk", "linearize", "train_gd", "train_lbfgs", "ridge_xent_objective"]


def full_empirical_ntk(params: dict, signs, z1, z2=None) -> np.ndarray:
    """The full empirical NTK (N1, C, N2, C) of `models.apply_network` with respect to W, float64.

    The sums `sum_r a_rc a_rc' 1[.] 1[.]` are integers below 2^24 for m < 2^24, so they are formed exactly in
    float32 and scaled by `<z_i, z_j> / m` in float64.
    """
    w = np.asarray(params["W"], np.float64)
    s = np.asarray(signs, np.float32)
    z1 = np.asarray(z1, np.float64)
    z2 = z1 if z2 is None else np.asarray(z2, np.float64)
    m, c = s.shape
    if m >= 2**24:
        raise ValueError(f"width {m} too large for the exact float32 count (needs m < 2^24)")
    b1 = ((z1 @ w > 0).astype(np.float32)[:, :, None] * s[None]).transpose(0, 2, 1).reshape(-1, m)
    b2 = ((z2 @ w > 0).astype(np.float32)[:, :, None] * s[None]).transpose(0, 2, 1).reshape(-1, m)
    counts = (b1 @ b2.T).astype(np.float64).reshape(len(z1), c, len(z2), c)
    return counts * (z1 @ z2.T)[:, None, :, None] / m


def linearize(params0: dict, signs):
    """`f_lin(params, z)`: the first-order Taylor model of `models.apply_network(., signs, z)` at params0."""
    def f(params, z):
        f0, df = jax.jvp(lambda p: models.apply_network(p, signs, z), (params0,),
                         (jax.tree_util.tree_map(jnp.subtract, params, params0),))
        return f0 + df

    return f


def train_gd(params0: dict, signs, z, t, *, learning_rate: float, steps: int):
    """Full-batch GD on `0.5 mean (f_lin - t)^2` (no penalty) for `steps` steps from params0: the parameters."""
    f = linearize(params0, signs)

    def loss(p):
        return 0.5 * jnp.mean((f(p, z) - t) ** 2)

    @jax.jit
    def run(p):
        def body(p, _):
            g = jax.grad(loss)(p)
            return jax.tree_util.tree_map(lambda a, b: a - learning_rate * b, p, g), None

        return jax.lax.scan(body, p, None, length=steps)[0]

    return run(params0)


def ridge_xent_objective(params, params0, signs, z, t, l2: float):
    """`mean CE(f_lin(z), t) + (l2 / 2) ||W - W0||^2`: the linearised network under the Adam protocol's objective."""
    f = linearize(params0, signs)
    data = jnp.mean(optax.softmax_cross_entropy(f(params, z), t))
    return data + 0.5 * l2 * jnp.sum((params["W"] - params0["W"]) ** 2)


def train_lbfgs(params0: dict, signs, z, t, *, l2: float, max_steps: int = 2000, gtol: float = 1e-9):
    """The linearised network trained to convergence on `ridge_xent_objective` by L-BFGS (optax, with its
    zoom line search); stops when the gradient's max entry is at most `gtol`. Returns `(params, steps, grad_max)`."""
    def value(p):
        return ridge_xent_objective(p, params0, signs, z, t, l2)

    opt = optax.lbfgs()
    vg = optax.value_and_grad_from_state(value)

    @jax.jit
    def step(p, s):
        v, g = vg(p, state=s)
        u, s = opt.update(g, s, p, value=v, grad=g, value_fn=value)
        return optax.apply_updates(p, u), s, jnp.max(jnp.abs(g["W"]))

    p, s = params0, opt.init(params0)
    gmax = np.inf
    for k in range(max_steps):
        p, s, gmax = step(p, s)
        if float(gmax) <= gtol:
            return p, k, float(gmax)
    g = jax.grad(value)(p)
    return p, max_steps, float(jnp.max(jnp.abs(g["W"])))
