"""NTK leave-one-out influence: the closed form against brute-force refitting, in float64."""

import numpy as np
import pytest

from ntkbook import influence


def _problem(n=12, t=5, d=4, c=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n + t, d))
    k = (x @ x.T + 1.0) ** 2  # a PSD kernel
    y = np.eye(c)[rng.integers(0, c, size=n + t)]
    return k[t:, t:], k[:t, t:], y[t:], y[:t]


@pytest.mark.parametrize("ridge", [1e-3, 0.5])
def test_closed_form_equals_refitting(ridge):
    k_train, k_test, y_train, _ = _problem()
    fast = influence.loo_prediction_change(k_test, k_train, y_train, ridge)
    slow = influence.loo_prediction_change_refit(k_test, k_train, y_train, ridge)
    assert fast.shape == (5, 12, 3)
    np.testing.assert_allclose(fast, slow, rtol=1e-7, atol=1e-9)
    assert np.abs(slow).max() > 1e-3  # the check is not vacuous


def test_single_output_targets_are_accepted():
    k_train, k_test, y_train, _ = _problem(c=2)
    y = 2.0 * y_train[:, 0] - 1.0  # ±1
    fast = influence.loo_prediction_change(k_test, k_train, y, 0.1)
    slow = influence.loo_prediction_change_refit(k_test, k_train, y, 0.1)
    assert fast.shape == (5, 12, 1)
    np.testing.assert_allclose(fast, slow, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("loss", ["xent", "mse"])
def test_influence_on_test_loss_equals_refit_loss_difference(loss):
    k_train, k_test, y_train, y_test = _problem(seed=1)
    ridge = 0.05
    got = influence.influence_on_test_loss(k_test, k_train, y_train, y_test, ridge, loss)
    full = influence.krr_predict(k_test, k_train, y_train, ridge)
    base = influence.pointwise_loss(full, y_test, loss).sum()
    n = k_train.shape[0]
    want = np.empty(n)
    for i in range(n):
        keep = np.arange(n) != i
        f_i = influence.krr_predict(k_test[:, keep], k_train[np.ix_(keep, keep)], y_train[keep], ridge)
        want[i] = influence.pointwise_loss(f_i, y_test, loss).sum() - base
    np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-10)
    assert np.abs(want).max() > 1e-4


@pytest.mark.parametrize("loss", ["xent", "mse"])
def test_linearized_influence_is_the_chain_rule(loss):
    k_train, k_test, y_train, y_test = _problem(seed=2)
    ridge = 0.5
    exact = influence.influence_on_test_loss(k_test, k_train, y_train, y_test, ridge, loss)
    lin = influence.influence_on_test_loss(k_test, k_train, y_train, y_test, ridge, loss, linearize=True)
    f = influence.krr_predict(k_test, k_train, y_train, ridge)
    delta = influence.loo_prediction_change(k_test, k_train, y_train, ridge)
    np.testing.assert_allclose(lin, np.einsum("tc,tnc->n", influence.loss_gradient(f, y_test, loss), delta))
    second = 0.5 * np.einsum("tnc,tnc->n", delta, delta)
    if loss == "mse":  # the quadratic loss: exact = linear + ½‖Δ‖², with no remainder
        np.testing.assert_allclose(exact - lin, second, rtol=1e-8, atol=1e-12)
    else:  # the Hessian of softmax cross-entropy has norm <= ½, so the remainder is at most ½ · ½‖Δ‖²
        assert np.all(np.abs(exact - lin) <= 0.5 * second + 1e-12)
        assert np.abs(exact - lin).max() > 1e-8


def test_loss_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    f, t = rng.normal(size=(4, 3)), np.eye(3)[[0, 2, 1, 1]]
    for loss in ("xent", "mse"):
        g = influence.loss_gradient(f, t, loss)
        h = 1e-6
        for c in range(3):
            e = np.zeros(3)
            e[c] = h
            num = (influence.pointwise_loss(f + e, t, loss) - influence.pointwise_loss(f - e, t, loss)) / (2 * h)
            np.testing.assert_allclose(g[:, c], num, rtol=1e-5, atol=1e-8)


def test_bad_inputs_raise():
    k_train, k_test, y_train, y_test = _problem()
    with pytest.raises(ValueError, match="ridge"):
        influence.krr_fit(k_train, y_train, 0.0)
    with pytest.raises(ValueError, match="square"):
        influence.krr_fit(k_test, y_train, 1.0)
    with pytest.raises(ValueError, match="loss"):
        influence.influence_on_test_loss(k_test, k_train, y_train, y_test, 1.0, "hinge")
    with pytest.raises(ValueError, match="k_test"):
        influence.loo_prediction_change(k_test.T, k_train, y_train, 1.0)
