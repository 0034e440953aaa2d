"""ntkbook.batched: seeds trained together under vmap agree with the per-seed loop of `ntkbook.train.train_gd`.

Why not `==` everywhere: under vmap the matrix products become batched products, which XLA may sum in another
order than the single products of the loop; floating-point addition is not associative, so the last bits may
differ. The tests therefore check three things that hold on any IEEE-754 machine:

1. Exact arithmetic: on small dyadic inputs whose every intermediate value (every partial sum) is representable in
   float32, no operation rounds, so both must equal the exact rational trajectory bit for bit, step after step.
   This catches any logic error (a seed paired with another seed's signs, a wrong axis, a missing term).
Both batched forms are checked: `jax.vmap` of the loop's step, and the seeds' layers side by side ("wide").

2. Realistic inputs: one GD step from the same state, batched vs loop, differs by at most twice the forward error
   bound of the step (each differs from exact arithmetic by at most the bound), derived below from the standard
   dot-product bound |fl(a.b) - a.b| <= gamma_k sum |a_i b_i|, gamma_k = k u / (1 - k u), u = 2^-24. It is checked
   at several states along the loop's own trajectory; a seed mix-up breaks it by orders of magnitude (checked).
3. Initialisation: threefry bits do not depend on batching, so `init_networks` equals `init_network` exactly.
"""

from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ntkbook import batched, models, train

U = 2.0**-24


def gamma(k: int) -> float:
    return k * U / (1 - k * U)


# --- 3. initialisation ---------------------------------------------------------------------------------------------


def test_init_networks_equals_the_loop_bit_for_bit():
    keys = jax.random.split(jax.random.PRNGKey(7), 3)
    params, signs = batched.init_networks(keys, 5, 6, 2)
    for i, key in enumerate(keys):
        p, s = models.init_network(key, 5, 6, 2)
        assert np.array_equal(params["W"][i], p["W"]) and np.array_equal(signs[i], s)


def test_shapes_are_checked():
    params, signs = batched.init_networks(jax.random.split(jax.random.PRNGKey(0), 2), 4, 3, 2)
    z, t = jnp.ones((5, 4)), jnp.zeros((5, 2))
    with pytest.raises(ValueError, match="z must be"):
        batched.train_gd_seeds(params, signs, jnp.ones((5, 3)), t, learning_rate=0.1, steps=1)
    with pytest.raises(ValueError, match="t must be"):
        batched.train_gd_seeds(params, signs, z, jnp.zeros((3, 5, 2)), learning_rate=0.1, steps=1)
    with pytest.raises(ValueError, match="params"):
        batched.train_gd_seeds({"W": params["W"][0]}, signs, z, t, learning_rate=0.1, steps=1)
    with pytest.raises(ValueError, match="shared"):
        batched.gd_step_seeds(params, signs, jnp.ones((2, 5, 4)), t, learning_rate=0.1, method="wide")
    with pytest.raises(ValueError, match="method"):
        batched.gd_step_seeds(params, signs, z, t, learning_rate=0.1, method="fast")
    with pytest.raises(ValueError, match="keys"):
        batched.init_networks(jax.random.PRNGKey(0), 4, 3, 2)


# --- 1. exact arithmetic ------------------------------------------------------------------------------------------


def _exact_step(w, s, z, t, lr):
    """One GD step of 0.5 mean (f - t)^2 in rational arithmetic (object arrays of Fractions), with a check that
    every product and every partial sum of every matrix product is a float32 number (dyadic, < 2^24 ulps)."""

    def dot(a, b):
        out = a @ b
        terms = np.abs(a)[:, :, None] * np.abs(b)[None, :, :]  # every product; partial sums are bounded by their sum
        values = list(terms.ravel()) + list(np.abs(out).ravel()) + list(terms.sum(axis=1).ravel())
        den = max(v.denominator for v in values)
        assert den & (den - 1) == 0, "non-dyadic intermediate"
        assert max(terms.sum(axis=1).ravel()) * den < 2**24, "an intermediate would round in float32"
        return out

    n, c = t.shape
    root_m = Fraction(int(np.sqrt(s.shape[0])))
    assert root_m**2 == s.shape[0]
    h = dot(z, w)
    a = np.where(h > 0, h, Fraction(0))
    f = dot(a, s) / root_m
    q = (f - t) / (n * c)  # d/df of 0.5 mean over n and C of (f - t)^2
    da = dot(q, s.T) / root_m
    dh = np.where(h > 0, da, Fraction(0))
    g = dot(z.T, dh)
    return w - lr * g


def _fractions(x) -> np.ndarray:
    return np.vectorize(lambda v: Fraction(float(v)), otypes=[object])(np.asarray(x))


@pytest.mark.parametrize("method, per_seed_data", [("wide", False), ("vmap", False), ("vmap", True)])
def test_exact_arithmetic_gives_identical_bits_to_the_exact_trajectory(method, per_seed_data):
    rng = np.random.default_rng(0)
    n_seeds, n, d, m, c, steps, lr = 3, 4, 4, 4, 2, 3, 0.25
    z = rng.integers(-2, 3, (n_seeds, n, d) if per_seed_data else (n, d)).astype(np.float32)
    t = np.eye(c, dtype=np.float32)[rng.integers(0, c, (n_seeds, n) if per_seed_data else n)]
    w = rng.integers(-2, 3, (n_seeds, d, m)).astype(np.float32)
    signs = rng.choice([-1.0, 1.0], (n_seeds, m, c)).astype(np.float32)
    params = {"W": jnp.asarray(w)}
    out_batched = batched.gd_step_seeds(params, jnp.asarray(signs), z, t, learning_rate=lr, steps=steps,
                                        method=method)
    for i in range(n_seeds):
        zi, ti = (z[i], t[i]) if per_seed_data else (z, t)
        exact = _fractions(w[i])
        for _ in range(steps):
            exact = _exact_step(exact, _fractions(signs[i]), _fractions(zi), _fractions(ti), Fraction(lr))
        exact32 = np.asarray(exact.astype(float), dtype=np.float32)
        assert np.array_equal(exact32.astype(object), exact)  # the exact result is a float32 array
        loop, _ = train.train_gd({"W": jnp.asarray(w[i])}, jnp.asarray(signs[i]), zi, ti, learning_rate=lr,
                                 steps=steps, record_every=steps)
        assert np.array_equal(np.asarray(loop["W"]), exact32), "the loop rounded where no rounding is possible"
        assert np.array_equal(np.asarray(out_batched["W"][i]), exact32)
        assert not np.array_equal(exact32, w[i]), "the step must move W for the check to mean anything"


# --- 2. realistic inputs: one step within the forward error bound -----------------------------------------------


def gd_step_bound(w, s, z, t, lr, l2) -> np.ndarray:
    """A bound on |fl(W') - W'| for one float32 GD step W' = W - lr (grad 0.5 mean (f - t)^2 + l2 W), elementwise.

    Magnitudes are taken from float64 recomputations, each inflated by its own error bound, so they bound the exact
    values. Per stage (k = the length of the sums; extra roundings for the scalings by 1/sqrt(m), 1/(nC) are folded
    into gamma_{k+3}):
      h = z W                 E_h  = gamma_d |z| |W|
      f = relu(h) s / sqrt m  E_f  = (gamma_{m+3} (|a| + E_h) |s| + E_h |s|) / sqrt m
      q = (f - t) / (n C)     E_q  = (E_f + gamma_4 (|f - t| + E_f)) / (n C)
      da = q s^T / sqrt m     E_da = (gamma_{C+3} (|q| + E_q) |s|^T + E_q |s|^T) / sqrt m
      dh = da 1[h > 0]        E_dh = E_da, or |da| + E_da where |h| <= 2 E_h (the indicator may differ)
      g = z^T dh + l2 W       E_g  = gamma_{n+2} |z|^T (|dh| + E_dh) + |z|^T E_dh + gamma_2 l2 |W|
      W' = W - lr g           E    = gamma_3 (|W| + lr (|g| + E_g)) + lr E_g
    """
    w, s, z, t = (np.asarray(x, dtype=np.float64) for x in (w, s, z, t))
    n, d = z.shape
    m, c = s.shape
    rm = np.sqrt(m)
    h = z @ w
    e_h = gamma(d) * np.abs(z) @ np.abs(w)
    a = np.maximum(h, 0)
    f = a @ s / rm
    e_f = (gamma(m + 3) * (np.abs(a) + e_h) @ np.abs(s) + e_h @ np.abs(s)) / rm
    r = f - t
    e_q = (e_f + gamma(4) * (np.abs(r) + e_f)) / (n * c)
    q = r / (n * c)
    da = q @ s.T / rm
    e_da = (gamma(c + 3) * (np.abs(q) + e_q) @ np.abs(s).T + e_q @ np.abs(s).T) / rm
    dh = np.where(h > 0, da, 0.0)
    e_dh = np.where(np.abs(h) <= 2 * e_h, np.abs(da) + e_da, e_da)
    g = z.T @ dh + l2 * w
    e_g = gamma(n + 2) * np.abs(z).T @ (np.abs(dh) + e_dh) + np.abs(z).T @ e_dh + gamma(2) * l2 * np.abs(w)
    return gamma(3) * (np.abs(w) + lr * (np.abs(g) + e_g)) + lr * e_g


def evaluation_bounds(w, s, z, t) -> tuple[float, float]:
    """Bounds on how far two float32 evaluations of the same W may differ: (data loss, accuracy).

    With E_f the output bound of `gd_step_bound` and r = f - t, E_r = E_f + gamma_1 (|r| + E_f): each evaluation of
    L = 0.5 mean r^2 is within 0.5 mean((2|r| + E_r) E_r) + gamma_{nC+4} 0.5 mean((|r| + E_r)^2) of exact; twice that
    between two. The argmax of a row can differ only where its top-two gap is at most 2 E_f (max over the row)."""
    w, s, z, t = (np.asarray(x, dtype=np.float64) for x in (w, s, z, t))
    n, d = z.shape
    m, c = s.shape
    e_h = gamma(d) * np.abs(z) @ np.abs(w)
    a = np.maximum(z @ w, 0)
    f = a @ s / np.sqrt(m)
    e_f = (gamma(m + 3) * (a + e_h) @ np.abs(s) + e_h @ np.abs(s)) / np.sqrt(m)
    r = np.abs(f - t)
    e_r = e_f + gamma(1) * (r + e_f)
    one = 0.5 * np.mean((2 * r + e_r) * e_r) + gamma(n * c + 4) * 0.5 * np.mean((r + e_r) ** 2)
    top2 = np.sort(f, axis=1)[:, -2:]
    close = np.sum(top2[:, 1] - top2[:, 0] <= 2 * 2 * e_f.max(axis=1))
    return 2 * one, close / n


@pytest.fixture(scope="module")
def problem():
    """Unit-norm features (the networks' inputs), one-hot MSE targets, 4 seeds of width 64."""
    rng = np.random.default_rng(1)
    n, d, m, c, n_seeds = 48, 20, 64, 3, 4
    x = rng.normal(size=(n, d))
    z = jnp.asarray(x / np.linalg.norm(x, axis=1, keepdims=True), dtype=jnp.float32)
    t = train.targets(rng.integers(0, c, n), c, "mse")
    params, signs = batched.init_networks(jax.random.split(jax.random.PRNGKey(3), n_seeds), d, m, c)
    return params, signs, z, t


@pytest.mark.parametrize("method", ["wide", "vmap"])
def test_one_step_matches_the_loop_within_the_error_bound_along_the_trajectory(problem, method):
    params, signs, z, t = problem
    lr, l2 = 2.0, 1e-3
    states = params
    for _ in range(3):  # three states along the loop's trajectory, 10 steps apart
        one = batched.gd_step_seeds(states, signs, z, t, learning_rate=lr, l2=l2, steps=1, method=method)
        for i in range(signs.shape[0]):
            w = states["W"][i]
            loop, _ = train.train_gd({"W": w}, signs[i], z, t, learning_rate=lr, steps=1, l2=l2)
            bound = 2 * gd_step_bound(w, signs[i], z, t, lr, l2)
            diff = np.abs(np.asarray(one["W"][i], np.float64) - np.asarray(loop["W"], np.float64))
            assert np.all(diff <= bound), f"seed {i}: max excess {np.max(diff - bound):.3g}"
            # negative control: the same check with another seed's readout signs fails by far
            other, _ = train.train_gd({"W": w}, signs[(i + 1) % signs.shape[0]], z, t, learning_rate=lr, steps=1, l2=l2)
            wrong = np.abs(np.asarray(one["W"][i], np.float64) - np.asarray(other["W"], np.float64))
            assert np.any(wrong > 100 * bound)
        states = {"W": jnp.stack([train.train_gd({"W": states["W"][i]}, signs[i], z, t, learning_rate=lr, steps=10,
                                                 l2=l2)[0]["W"] for i in range(signs.shape[0])])}


def test_history_has_the_loop_columns_and_learns(problem):
    """The batched history reports what the loop's reports, per seed; both train (the loss falls a lot).

    Over many steps the two trajectories may drift apart by amplified rounding (the check above is per step), so
    the histories are compared for structure and learning, and for equality at step 0 where no step has run."""
    params, signs, z, t = problem
    _, hist = batched.train_gd_seeds(params, signs, z, t, learning_rate=2.0, steps=200, record_every=50)
    assert list(hist.columns) == ["seed", "step", "loss", "data_loss", "accuracy"]
    assert sorted(hist["step"].unique()) == [0, 50, 100, 150, 200] and sorted(hist["seed"].unique()) == [0, 1, 2, 3]
    for i in range(signs.shape[0]):
        _, loop = train.train_gd({"W": params["W"][i]}, signs[i], z, t, learning_rate=2.0, steps=200,
                                 record_every=50)
        mine = hist[hist["seed"] == i].reset_index(drop=True)
        assert list(mine["step"]) == list(loop["step"])
        loss_tol, acc_tol = evaluation_bounds(params["W"][i], signs[i], z, t)
        assert abs(mine.loc[0, "data_loss"] - loop.loc[0, "data_loss"]) <= loss_tol
        assert abs(mine.loc[0, "accuracy"] - loop.loc[0, "accuracy"]) <= acc_tol
        assert mine["data_loss"].iloc[-1] < 0.5 * mine["data_loss"].iloc[0]
        assert loop["data_loss"].iloc[-1] < 0.5 * loop["data_loss"].iloc[0]
        assert mine["accuracy"].iloc[-1] > 0.8 and loop["accuracy"].iloc[-1] > 0.8
