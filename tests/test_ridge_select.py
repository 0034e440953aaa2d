"""Closed-form leave-one-out and GCV ridge selection (`ntkbook.ridge_select`) against brute-force refitting."""

import numpy as np
import pytest

from ntkbook import ridge_select as rs

U = np.finfo(np.float64).eps


def _problem(n=24, d=10, k=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    kern = (x @ x.T) ** 2 / d + 0.1 * x @ x.T  # PSD, a spread spectrum
    y = rng.standard_normal((n, k))
    return kern, y


@pytest.mark.parametrize("rank", [None, 4])
@pytest.mark.parametrize("rho", [1e-4, 1e-2, 1.0])
def test_loo_closed_form_equals_refitting(rho, rank):
    kern, y = _problem()
    e = rs.eigen(kern)
    closed = rs.loo_mse(e, y, [rho], rank)[0]
    brute = rs.loo_bruteforce(kern, y, rho, rank)
    # both are backward-stable solves of systems with condition number <= (mu_max + lam) / lam; the residuals are
    # divided by 1 - H_ii >= lam / (mu_max + lam): a relative error of order n u kappa^2 bounds the difference
    lam = rho * e.scale
    kappa = (e.mu.max() + lam) / lam
    bound = 50 * len(kern) * U * kappa**2
    assert np.all(np.abs(closed / brute - 1) <= bound), (closed, brute, bound)


def test_gcv_and_selection():
    kern, y = _problem(seed=1)
    e = rs.eigen(kern)
    rhos = rs.RHO_GRID
    loo, gcv = rs.loo_mse(e, y, rhos), rs.gcv_mse(e, y, rhos)
    assert loo.shape == gcv.shape == (len(rhos), y.shape[1])
    chosen = rs.select(loo, rhos)
    assert chosen.shape == (y.shape[1],)
    for j in range(y.shape[1]):
        assert loo[list(rhos).index(chosen[j]), j] == loo[:, j].min()
    # pure-noise targets: the selected fit shrinks strongly (LOO cannot gain by fitting noise)
    assert np.all(chosen >= 1e-3)


def test_predict_matches_solve():
    kern, y = _problem(seed=2)
    e = rs.eigen(kern)
    rho = 1e-2
    lam = rho * e.scale
    alpha = np.linalg.solve(kern + lam * np.eye(len(kern)), y)
    pred = rs.predict(e, kern[:5], y, rho)
    np.testing.assert_allclose(pred, kern[:5] @ alpha, rtol=1e-8, atol=1e-10)


def test_bad_input():
    with pytest.raises(ValueError, match="square"):
        rs.eigen(np.ones((3, 4)))
    with pytest.raises(ValueError, match="rank"):
        rs.filters(rs.eigen(np.eye(3)), 1.0, rank=5)
