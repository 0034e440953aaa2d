"""ntkbook.kernel_predict: the kernel-regime predictors, against neural-tangents' `predict.gradient_descent_mse`
(the independent reference, loaded through ntkbook.nt_compat) and against explicit gradient-descent iterations.

Error bound used throughout: both sides evaluate `f0 + K_* g(K) r` (r = Y - F0) through a backward-stable
factorisation of K (eigh, or NT's Cholesky for the ridge), i.e. exactly for some K + E with ||E||_F <= n u ||K||_F
(p(n) = n for LAPACK's symmetric solvers), and then three products, each with relative error <= gamma_n. With L a
Lipschitz constant of the spectral gain g on [0, inf) (Daleckii-Krein: ||g(K + E) - g(K)||_F <= L ||E||_F), each
side is within (n u ||K||_F L + 3 gamma_n max|g|) ||K_*||_F ||r||_F of exact, so the two differ by at most twice that.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ntkbook import kernel_predict as KP
from ntkbook import models, nt_compat

U64 = 2.0**-53


def gamma(k: int) -> float:
    return k * U64 / (1 - k * U64)


def _problem(n=25, n_test=7, d=9, c=3, seed=0):
    rng = np.random.default_rng(seed)
    x, q = rng.uniform(size=(n, d)), rng.uniform(size=(n_test, d))
    z, zq = models.features("attn", x, x), models.features("attn", q, x)
    z = np.asarray(z, np.float64) / np.linalg.norm(np.asarray(z, np.float64), axis=1, keepdims=True)
    zq = np.asarray(zq, np.float64) / np.linalg.norm(np.asarray(zq, np.float64), axis=1, keepdims=True)
    k, ks = models.infinite_ntk(z, z), models.infinite_ntk(zq, z)
    y, f0, f0t = rng.normal(size=(n, c)), 0.1 * rng.normal(size=(n, c)), 0.1 * rng.normal(size=(n_test, c))
    return k, ks, y, f0, f0t


def _bound(k, ks, r, lipschitz, g_max):
    n = len(k)
    one_side = (n * U64 * np.linalg.norm(k) * lipschitz + 3 * gamma(n) * g_max) * np.linalg.norm(ks) * np.linalg.norm(r)
    return 2 * one_side


def _nt_predict(k, ks, y, f0, f0t, t, **kw):
    nt = nt_compat.load()
    with jax.enable_x64(True):
        predict = nt.predict.gradient_descent_mse(jnp.asarray(k), jnp.asarray(y), **kw)
        f_train, f_test = predict(t, jnp.asarray(f0), jnp.asarray(f0t), jnp.asarray(ks))
        return np.asarray(f_train, np.float64), np.asarray(f_test, np.float64)


def test_gradient_flow_matches_neural_tangents_at_several_times():
    k, ks, y, f0, f0t = _problem()
    n_c = y.size
    lam_max = np.linalg.eigvalsh(k)[-1]
    eta = n_c / lam_max  # one unit of time moves the top mode by 1 - 1/e
    for t in (0.0, 1.0, 30.0, 1e4):
        tr, te = KP.gradient_flow(k, ks, y, eta, t, f0, f0t)
        nt_tr, nt_te = _nt_predict(k, ks, y, f0, f0t, t, learning_rate=eta)
        a = eta * t / n_c
        # g(lambda) = (1 - exp(-a lambda)) / lambda: |g'| <= a^2 / 2, max g = a
        tol = _bound(k, ks, y - f0, a * a / 2, a)
        assert np.max(np.abs(te - nt_te)) <= tol, (t, np.max(np.abs(te - nt_te)), tol)
        # train outputs: K g(K) = 1 - exp(-a K), Lipschitz a, max 1 (K_* replaced by I, ||I||_F = sqrt n)
        tol_tr = 2 * (len(k) * U64 * np.linalg.norm(k) * a + 3 * gamma(len(k))) * np.sqrt(len(k)) * np.linalg.norm(
            y - f0)
        assert np.max(np.abs(tr - nt_tr)) <= tol_tr
    # the comparison is not vacuous: at t = 30 the test outputs moved far from f0 (by more than 1e6 tolerances)
    _, te = KP.gradient_flow(k, ks, y, eta, 30.0, f0, f0t)
    assert np.max(np.abs(te - f0t)) > 1e6 * _bound(k, ks, y - f0, (eta * 30 / n_c) ** 2 / 2, eta * 30 / n_c)


def test_ridge_matches_neural_tangents_infinite_time_with_diag_reg():
    k, ks, y, f0, f0t = _problem()
    rho = 0.3
    for f0_, f0t_ in ((f0, f0t), (None, None)):
        tr, te = KP.ridge(k, ks, y, rho, f0_, f0t_)
        z0, z0t = (np.zeros_like(y), np.zeros((len(ks), y.shape[1]))) if f0_ is None else (f0_, f0t_)
        _, nt_te = _nt_predict(k, ks, y, z0, z0t, None, diag_reg=rho, diag_reg_absolute_scale=True)
        # NT returns Y on the training set at t = None; its regularised train outputs are its "test" outputs with
        # k_test_train = K(X, X) (NT's docstring)
        _, nt_tr = _nt_predict(k, k, y, z0, z0, None, diag_reg=rho, diag_reg_absolute_scale=True)
        # g = 1 / (lambda + rho): |g'| <= 1 / rho^2, max g = 1 / rho
        tol = _bound(k, ks, y - z0, 1 / rho**2, 1 / rho)
        assert np.max(np.abs(te - nt_te)) <= tol
        assert np.max(np.abs(tr - nt_tr)) <= _bound(k, k, y - z0, 1 / rho**2, 1 / rho)
        assert np.max(np.abs(te - z0t)) > 1e6 * tol  # not vacuous


def test_gradient_descent_equals_explicit_iteration():
    k, ks, y, f0, f0t = _problem(c=2)
    n_c = y.size
    eta = 0.9 * n_c / np.linalg.eigvalsh(k)[-1]
    f, ft = f0.copy(), f0t.copy()
    for _ in range(40):
        r = f - y
        f, ft = f - eta / n_c * k @ r, ft - eta / n_c * ks @ r
    tr, te = KP.gradient_descent(k, ks, y, eta, 40, f0, f0t)
    # g(lambda) = (1 - (1 - c lambda)^T) / lambda with c = eta / (n C): |g'| <= T (T - 1) c^2 / 2 and max g = T c;
    # the explicit loop adds T contractions of rounding gamma_{n+2} each (spectral radius of I - c K is < 1)
    c, steps = eta / n_c, 40
    scale = np.linalg.norm(ks) * np.linalg.norm(y - f0)
    tol = _bound(k, ks, y - f0, steps * (steps - 1) * c * c / 2, steps * c) + steps * gamma(len(k) + 2) * (
        scale * steps * c + np.linalg.norm(f0t))
    assert np.max(np.abs(te - ft)) <= tol
    assert np.max(np.abs(tr - f)) <= steps * gamma(len(k) + 2) * 4 * (np.linalg.norm(y) + np.linalg.norm(f0)) + tol


def test_gradient_descent_tends_to_the_flow_and_singular_kernels_are_fine():
    k, ks, y, f0, f0t = _problem(c=1)
    n_c = y.size
    eta = 1e-3 * n_c / np.linalg.eigvalsh(k)[-1]
    _, te_gd = KP.gradient_descent(k, ks, y, eta, 20_000, f0, f0t)
    _, te_flow = KP.gradient_flow(k, ks, y, eta, 20_000, f0, f0t)
    # (1 - c lambda)^T vs exp(-c lambda T): relative gap <= T (c lambda)^2 / 2 <= eta lambda_max / (n C) of the move
    assert np.max(np.abs(te_gd - te_flow)) <= 2e-3 * np.max(np.abs(te_flow - f0t))
    # a rank-one kernel: the null modes are never learned (F stays at F0 there), the gains stay finite
    v = np.ones((5, 1)) / np.sqrt(5)
    tr, te = KP.gradient_flow(v @ v.T, v.T, np.eye(5)[:, :1], 1.0, 10.0)
    assert np.all(np.isfinite(tr)) and np.all(np.isfinite(te))


def test_bad_input_is_rejected_with_a_clear_error():
    k, ks, y, f0, f0t = _problem()
    with pytest.raises(ValueError, match="ridge must be >= 0"):
        KP.ridge(k, ks, y, -1.0)
    with pytest.raises(ValueError, match="singular"):
        KP.ridge(np.zeros_like(k), ks, y, 0.0)
    with pytest.raises(ValueError, match="k_train must be"):
        KP.gradient_flow(k[:-1, :-1], ks, y, 1.0, 1.0)
    with pytest.raises(ValueError, match="learning_rate must be > 0"):
        KP.gradient_descent(k, ks, y, 0.0, 3)
    with pytest.raises(ValueError, match="y must be"):
        KP.gradient_flow(k, ks, y[:, 0], 1.0, 1.0)
