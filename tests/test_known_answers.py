"""Known answers at the quick profile: each instrument reads its known answer within its derived bound, and the
checks can fail (a perturbed input or a wrong closed form is caught)."""

import numpy as np
import pytest

from ntkbook import claims
from ntkbook import known_answers as ka
from ntkbook.report import verdict_tests as vt


@pytest.mark.parametrize("arch", ["relu", "attn"])
def test_linearised_network_equals_its_kernel_recursion(arch):
    r = ka.gd_check(arch, "quick")
    assert r["measured"] <= r["bound"]
    assert r["bound"] < 1e-6  # a rounding bound, far below any modelling difference


@pytest.mark.parametrize("arch", ["relu", "attn"])
def test_logistic_linearised_network_equals_kernel_logistic_regression(arch):
    r = ka.logistic_check(arch, "quick")
    assert r["measured"] <= r["bound"] < 1e-6


def test_gd_bound_grows_with_steps_and_size():
    assert ka.gd_bound(10, 4, 8, 20, 1.0) == pytest.approx(2 * np.sqrt(10) * 20 * (32 + 14) * ka.U)
    assert ka.gd_bound(10, 4, 8, 40, 1.0) == 2 * ka.gd_bound(10, 4, 8, 20, 1.0)


def test_width_slopes_are_negative():
    sl = ka.width_slopes("attn", "quick")
    assert sl.shape == (ka.SIZES["quick"]["seeds"],) and np.all(sl < 0)


def test_identical_models_and_zero_perturbation():
    r = ka.identical_ratio_check("quick")
    assert r["measured"] == 0.0
    z = ka.zero_perturbation_check("quick")
    assert z["measured"] == 0.0 and z["bound"] > 0


def test_hadamard_inputs_have_unit_rows_and_the_stated_spectrum():
    s = np.array([3.0, 2.0, 1.0, 0.5])
    x = ka.hadamard_inputs(16, s)
    assert np.allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-14)
    ev = np.sort(np.linalg.eigvalsh(x @ x.T))[::-1][:4]
    assert np.allclose(ev, 16 * s**2 / np.sum(s**2), rtol=1e-12)


def test_power_check_matches_closed_form():
    rows = ka.power_check("quick")
    assert rows[0]["measured"] <= rows[0]["bound"]


def test_tuned_power_check_matches_closed_form():
    from ntkbook.report import dual

    curves, chosen, status = ka.tuned_power_check("quick")
    assert curves["measured"] <= curves["bound"] and chosen["measured"] == 0.0
    measured, closed = dual.power_status(*status["measured_status"]), dual.power_status(*status["closed_status"])
    assert measured == closed == claims.HOLDS  # G^3's steeper filter: better on the top mode, worse at the bottom
    # without planted noise the closed-form optimum is the smallest ridge searched (nothing to shrink away)
    assert ka.tuned_power_check("quick", sigma=0.0)[1]["measured"] == 0.0


def test_known_answer_rows_have_statuses_and_a_wrong_answer_fails():
    rows = vt.known_answer_rows("quick")
    assert all(r["status"] in claims.STATUSES for r in rows)
    assert all(r["status"] == claims.HOLDS for r in rows if r["kind"] in ("tolerance", "status"))
    table = vt.known_answer_table(rows)
    assert list(table.columns) == ["check", "known answer", "measured", "bound", "bound from", "status"]
    # the same tolerance rule on a measured value off by 1e-6 fails
    r = rows[0]
    assert claims.tolerance_rule(r["measured"] + 1e-6, r["bound"]) == claims.DOES_NOT_HOLD


def test_design_table_quick():
    t = vt.design_table("quick", sims=200)
    assert set(t.rule) == set(vt.RULES)
    # quick's two seeds cannot decide a ratio; its smallest deciding design is named
    row = t.set_index("rule").loc["ratio-band"]
    assert row["decides at this design"].startswith("no") and "seeds" in row["would decide"]


def test_design_table_uses_the_measured_noise_it_is_given():
    import dataclasses

    from ntkbook import operating as op

    loud = dataclasses.replace(op.NOISE, slope_sd=0.5)
    t = vt.design_table("default", sims=200, noises={"trend": (loud, "measured: a test")}).set_index("rule")
    # a slope SD of 0.5 at 5 seeds cannot tell a slope of 0.2 from 0; the stated 0.1 can
    assert t.loc["trend", "noise"] == "measured: a test" and t.loc["trend", "decides at this design"].startswith("no")
    assert t.loc["slope-difference", "decides at this design"] == "yes"


def test_chapter3_counterparts_equal_the_linearised_network_and_the_check_can_fail():
    """(e) with 3 outputs: both counterparts from the full empirical NTK read their known answer within the derived
    bounds (rounding-level for GD); the same logistic check with only the per-output diagonal block of the kernel
    (dropping the cross-output terms, which vanish only as m grows) misses it by far more than the bound."""
    import jax
    import jax.numpy as jnp

    from ntkbook import kernel_logistic, linearized, models

    rows = ka.counterpart_checks("quick")
    assert len(rows) == 4 and all(r["measured"] <= r["bound"] < 1e-6 for r in rows)
    s = ka.SIZES["quick"]
    x, _ = ka.synthetic_inputs(s["n"], s["n_test"], s["d"], 0)
    y = np.eye(3)[np.argmax(x[:, :3], axis=1)]
    with jax.enable_x64(True):
        params, signs = models.init_network(jax.random.PRNGKey(0), x.shape[1], min(s["width"], 256), 3)
        z = models.features("relu", jnp.asarray(x), jnp.asarray(x))
        p, _, _ = linearized.train_lbfgs(params, signs, z, jnp.asarray(y), l2=1e-2, gtol=1e-11)
        out = np.asarray(linearized.linearize(params, signs)(p, z))
        f0 = np.asarray(models.apply_network(params, signs, z))
    block = linearized.full_empirical_ntk(params, signs, z)[:, 0, :, 0]
    wrong = kernel_logistic.solve(block, f0, y, 1e-2).f_train
    assert np.linalg.norm(out - wrong) > 100 * rows[0]["bound"]
