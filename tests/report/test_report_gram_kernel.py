"""ntkbook.report.gram_kernel: chapter 1's rules driven to each status, and verdicts from toy results."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ntkbook.claims import DOES_NOT_HOLD, HOLDS, NOT_RESOLVED, PARTLY, STATUSES
from ntkbook.experiments import gram_kernel as GK
from ntkbook.report import gram_kernel as R


@pytest.mark.parametrize("slopes, expected", [([-1.02, -0.97], HOLDS), ([-1.02, -0.5], PARTLY),
                                               ([-2.0, -0.5], DOES_NOT_HOLD)])
def test_linearization_status(slopes, expected):
    assert R.linearization_status(slopes) == expected


@pytest.mark.parametrize("bound, poly, expected", [
    ((1.9, 2.1), (-0.1, 0.2), HOLDS), ((1.9, 2.1), (0.9, 1.2), PARTLY), ((-0.3, -0.1), (0.9, 1.1), DOES_NOT_HOLD),
    ((-0.5, 2.0), (-0.1, 0.1), NOT_RESOLVED)])
def test_growth_status(bound, poly, expected):
    assert R.growth_status(bound, poly) == expected


def test_tolerances_follow_the_stated_bounds():
    eps = np.finfo(np.float64).eps
    assert R.theorem_4_1_tolerance(1000, 3072) == 4 * 4072 * eps
    assert R.theorem_4_2_tolerance(784) == pytest.approx(np.sqrt(2 * 784 * eps) / np.pi, rel=1e-15)
    # sqrt(eps), the diagonal's arccos error, is inside; a real discrepancy of 1e-4 is not
    assert np.sqrt(eps) < R.theorem_4_2_tolerance(784) < 1e-4


def _unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def toy():
    """Results of the chapter on two small positive toy data sets (like images), via the compute functions."""
    rng = np.random.default_rng(3)
    Xs = {"mnist": _unit(rng.random((80, 12))), "cifar10": _unit(rng.random((80, 9)) + 0.3)}
    tests = {k: _unit(rng.random((3, v.shape[1]))) for k, v in Xs.items()}
    spec = GK.GramKernelSpec.resolve("quick", n_theorem=40, n_triple=6, n_attention=30, n_ntk=12, n_sens=40,
                                     n_targets=3, n_random=10, growth_ns=[10, 20, 40, 80], n_heatmap=10)
    t42, angles = GK.theorem_4_2_table(Xs, tests, 12)
    res = {"linearization": GK.linearization_frame(Xs, 30, spec.temperatures),
           "sqrtd": GK.sqrt_d_frame(Xs, 30),
           "theorem41": GK.theorem_4_1_table(Xs, 40, 6).reset_index(),
           "theorem42": t42.reset_index(), "angles": angles,
           "sensitivity": GK.sensitivity_frame(Xs, 40, 3, n_random=10, seed=0),
           "growth": GK.growth_frame(Xs, [10, 20, 40, 80], n_targets=3, degree=3, seed=0)}
    return res, spec


def test_verdicts_from_toy_results(toy):
    res, spec = toy
    verdicts = R.verdicts_from_results(res, spec)
    by = {v.claim: v for v in verdicts}
    assert set(by) == {"linearization.slope", "thm4.1.identity", "thm4.2.closed_form", "prop4.5.growth",
                       *(f"prop4.5.{r}.{d}" for r in ("literal", "corrected") for d in ("mnist", "cifar10"))}
    assert all(v.status in STATUSES and v.chapter == R.CHAPTER and v.section in R.SECTIONS.values()
               for v in verdicts)
    assert by["thm4.1.identity"].status == HOLDS and by["thm4.2.closed_form"].status == HOLDS
    assert by["prop4.5.corrected.mnist"].status == HOLDS and by["prop4.5.literal.mnist"].status == DOES_NOT_HOLD
    assert by["prop4.5.literal.cifar10"].ours > 1 > by["prop4.5.corrected.cifar10"].ours
    # a deviation beyond rounding flips Theorem 4.1 to "does not hold"
    broken = dict(res, theorem41=res["theorem41"].assign(**{"PhiPhi^T vs G^3": 1e-6}))
    assert {v.claim: v for v in R.verdicts_from_results(broken, spec)}["thm4.1.identity"].status == DOES_NOT_HOLD
    # numbers quoted by the prose and the side-by-side table come from the same results
    nums = R.chapter_numbers(res)
    assert nums["literal_max_mnist"] == by["prop4.5.literal.mnist"].ours
    side = R.sensitivity_readings_table(verdicts)
    assert list(side["data set"]) == ["MNIST", "CIFAR-10"] and list(side.status) == [DOES_NOT_HOLD] * 2
    growth = R.growth_slope_table(res, 3)
    assert len(growth) == 2 and set(growth.status) <= set(STATUSES)
    assert isinstance(growth, pd.DataFrame)


def test_display_table_typesets_headers_and_small_errors():
    t41 = pd.DataFrame([{"dataset": "mnist", "n": 150, "d": 784, "dtype": "float64", "PhiPhi^T vs G^3": 2.3e-16,
                         "n (triple sum)": 30, "triple sum vs G^3": 4.4e-16}])
    page = R.display_table(t41, formats={"PhiPhi^T vs G^3": ".1e"})._repr_html_()
    assert r"\(\Phi\Phi^\top\) vs \(G^3\)" in page and ">MNIST<" in page
    assert r"\(2.3\times10^{-16}\)" in page and r"\(4.40\times10^{-16}\)" in page
    assert "PhiPhi" not in page and "e-16" not in page
    slopes = pd.Series({("mnist", "softmax"): -0.99}, name="fitted slope (T >= 10)").rename_axis(["dataset", "form"])
    page = R.display_table(slopes.reset_index())._repr_html_()
    assert r"fitted slope (\(T \ge 10\))" in page and ">-0.99<" in page
