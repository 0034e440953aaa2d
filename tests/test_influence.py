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


# -- the network reading: the influence function of a linear model, checked by finite differences ---------------


def _fit_linear(phi, y, w, ridge, loss, iters=60):
    """argmin_θ Σ_j w_j L(φ_j θ, y_j) + (ridge/2)‖θ‖² by Newton's method in float64 (strictly convex)."""
    p, c = phi.shape[1], y.shape[1]
    theta = np.zeros((p, c))
    for _ in range(iters):
        f = phi @ theta
        g = influence.loss_gradient(f, y, loss) * w[:, None]
        grad = phi.T @ g + ridge * theta
        b = influence.output_hessian(f, loss) * w[:, None, None]
        h = np.einsum("jcd,ja,jb->acbd", b, phi, phi).reshape(p * c, p * c) + ridge * np.eye(p * c)
        step = np.linalg.solve(h, grad.reshape(-1)).reshape(p, c)
        theta -= step
        if np.abs(step).max() < 1e-15:
            break
    return theta


@pytest.mark.parametrize("loss", ["xent", "mse"])
def test_network_reading_is_the_derivative_of_the_test_loss_in_the_weight_of_a_point(loss):
    rng = np.random.default_rng(4)
    n, t, p, c, ridge = 10, 6, 5, 3, 0.3
    phi, phi_t = rng.normal(size=(n, p)), rng.normal(size=(t, p))
    y, y_t = np.eye(c)[rng.integers(0, c, n)], np.eye(c)[rng.integers(0, c, t)]
    theta = _fit_linear(phi, y, np.ones(n), ridge, loss)
    got = influence.network_influence_on_test_loss(
        phi_t @ phi.T, phi @ phi.T, phi @ theta, y, phi_t @ theta, y_t, ridge, loss
    )
    h = 1e-5
    fd = np.empty(n)
    for i in range(n):
        losses = []
        for sign in (1, -1):
            w = np.ones(n)
            w[i] += sign * h
            th = _fit_linear(phi, y, w, ridge, loss)
            losses.append(influence.pointwise_loss(phi_t @ th, y_t, loss).sum())
        fd[i] = -(losses[0] - losses[1]) / (2 * h)  # removal = weight 1 -> 0: minus the derivative
    # central differences: truncation O(h^2) times third derivatives of order 1, rounding ~1e-16 * L / h
    np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-8)
    assert np.abs(fd).max() > 1e-2  # not vacuous
    per = influence.network_influence_on_test_loss(
        phi_t @ phi.T, phi @ phi.T, phi @ theta, y, phi_t @ theta, y_t, ridge, loss, per_test=True
    )
    assert per.shape == (t, n)
    np.testing.assert_allclose(per.sum(axis=0), got, rtol=1e-12, atol=1e-14)


def test_network_reading_for_mse_is_the_kernel_formula_with_the_networks_residual():
    k_train, k_test, y_train, y_test = _problem(seed=2)
    rng = np.random.default_rng(0)
    f, ft = rng.normal(size=y_train.shape), rng.normal(size=y_test.shape)
    a = np.linalg.inv(k_train + 0.1 * np.eye(len(k_train)))
    expected = np.einsum("tn,tc,nc->n", k_test @ a, ft - y_test, f - y_train)
    got = influence.network_influence_on_test_loss(k_test, k_train, f, y_train, ft, y_test, 0.1, "mse")
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


def test_output_hessian_and_bad_input():
    f = np.array([[0.2, -1.0, 0.5]])
    b = influence.output_hessian(f, "xent")[0]
    # finite-difference Hessian of the softmax cross-entropy
    eps, fd = 1e-5, np.empty((3, 3))
    y = np.array([[0.0, 1.0, 0.0]])
    for d in range(3):
        e = np.zeros((1, 3))
        e[0, d] = eps
        fd[:, d] = (influence.loss_gradient(f + e, y, "xent") - influence.loss_gradient(f - e, y, "xent"))[0] / (2 * eps)
    np.testing.assert_allclose(b, fd, atol=1e-8)
    np.testing.assert_array_equal(influence.output_hessian(f, "mse")[0], np.eye(3))
    with pytest.raises(ValueError, match="ridge"):
        influence.network_influence_on_test_loss(np.ones((1, 2)), np.eye(2), np.ones((2, 1)), np.ones((2, 1)),
                                                 np.ones((1, 1)), np.ones((1, 1)), 0.0, "mse")
    with pytest.raises(ValueError, match="loss"):
        influence.output_hessian(f, "hinge")
