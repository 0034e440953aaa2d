"""Operating characteristics: each empirical rule fed simulated data where the claim is true and where it is false,
with the simulated rates asserted (within binomial tolerance from the number of simulations) against rates derived
independently (closed forms or exact enumeration), and the design gate."""

import math

import numpy as np
import pytest
from scipy import stats

from ntkbook import claims
from ntkbook import operating as op

SIMS = 2000


def within(rate, expected, sims=SIMS):
    assert abs(rate - expected) <= op.binomial_tolerance(expected, sims), (rate, expected)


def test_trend_rule_rates_match_the_t_test():
    # trend_rule on a t interval is a two-sided t test: P(holds) = P(T_{k-1}(ncp) > q), ncp = slope sqrt(k) / sd
    k, sd = 5, op.NOISE.slope_sd
    q = stats.t.ppf(0.975, k - 1)
    for slope in (0.2, 0.0, -0.1):
        row = op.simulate_trend(slope, seeds=k, sims=SIMS, seed=1)
        ncp = slope * math.sqrt(k) / sd
        within(row["holds"], float(stats.nct.sf(q, k - 1, ncp)))
        within(row["does not hold"], float(stats.nct.cdf(-q, k - 1, ncp)))
        within(row["coverage"], 0.95)


def test_ratio_band_cannot_decide_at_the_chapter_design_and_can_with_more_data():
    band = (6 / op.BAND_FACTOR, 9 * op.BAND_FACTOR)
    true, false = math.sqrt(54), band[0] / op.FALSE_FACTOR
    small_t = op.simulate_ratio_band(true, seeds=3, points=20, band=band, sims=SIMS)
    small_f = op.simulate_ratio_band(false, seeds=3, points=20, band=band, sims=SIMS)
    # 3 seeds x 20 points at a 5 % flip rate: about 3 flips of 2L-ReLU, the interval spans more than the band
    assert small_t["holds"] < claims.MIN_POWER and small_f["holds"] <= claims.MAX_FALSE_HOLDS
    assert not op.design_of("r", op.oc_frame([dict(small_t, scenario="true"), dict(small_f, scenario="false")])).decides
    big_t = op.simulate_ratio_band(true, seeds=30, points=200, band=band, sims=SIMS)
    big_f = op.simulate_ratio_band(false, seeds=30, points=200, band=band, sims=SIMS)
    assert big_t["holds"] >= claims.MIN_POWER
    within(big_f["holds"], 0.0)
    assert big_f["does not hold"] >= claims.MIN_POWER  # a ratio of 2.4 is refuted
    assert big_t["coverage"] >= 0.9  # nominal 0.95; cluster + binomial variance keeps it near nominal


def test_exponent_difference_and_flat_rules():
    lk = np.log10(np.logspace(0.5, 4, 8))
    t = op.simulate_exponent_difference(1.0, log10_kappas=lk, sims=SIMS)
    f = op.simulate_exponent_difference(0.0, log10_kappas=lk, sims=SIMS)
    assert t["holds"] >= claims.MIN_POWER and f["holds"] <= claims.MAX_FALSE_HOLDS
    flat = op.simulate_flat_exponent(0.0, log10_kappas=lk, sims=SIMS)
    steep = op.simulate_flat_exponent(op.FLAT_MARGIN, log10_kappas=lk, sims=SIMS)
    assert flat["holds"] >= claims.MIN_POWER
    # at the margin itself TOST says "holds" at most alpha = 0.05 of the time
    assert steep["holds"] <= 0.05 + op.binomial_tolerance(0.05, SIMS)
    steeper = op.simulate_flat_exponent(2.0, log10_kappas=lk, sims=SIMS)
    assert steeper["does not hold"] >= claims.MIN_POWER


def test_grid_joint_test_needs_enough_seeds():
    # 3 seeds: 8 sign patterns, the smallest p is 1/8, so the joint test can never decide at 0.05
    three = op.simulate_grid(1.0, configurations=6, seeds=3, sims=100)
    within(three["holds"], 0.0, 100)
    within(three["does not hold"], 0.0, 100)
    eight_t = op.simulate_grid(1.0, configurations=6, seeds=8, sims=200)
    eight_f = op.simulate_grid(0.0, configurations=6, seeds=8, sims=200)
    assert eight_t["holds"] >= claims.MIN_POWER
    assert eight_f["holds"] <= 0.05 + op.binomial_tolerance(0.05, 200)  # a valid permutation test


def test_poisoning_rule_rates():
    # Wilson intervals disjoint: with no difference it says "holds" well under 5 % (two 95 % intervals)
    f = op.simulate_poisoning(0.0, trials=45, sims=SIMS)
    assert f["holds"] <= 0.025 + op.binomial_tolerance(0.025, SIMS)
    t = op.simulate_poisoning(0.5, trials=45, sims=SIMS)
    assert t["holds"] >= claims.MIN_POWER


def test_paired_sides_rates_are_the_product_of_two_t_tests():
    k, sd, e = 3, op.NOISE.power_sd, 0.5
    row = op.simulate_paired_sides(e, seeds=k, sims=SIMS)
    q = stats.t.ppf(0.975, k - 1)
    p_one = float(stats.nct.sf(q, k - 1, e * math.sqrt(k) / sd))
    within(row["holds"], p_one**2)


def test_underpowered_design_yields_not_resolved():
    weak = claims.Design("ratio-band", power=0.3, false_holds=0.0, needed="30 seeds")
    leaky = claims.Design("x", power=0.95, false_holds=0.2)
    good = claims.Design("y", power=0.9, false_holds=0.01)
    for s in (claims.HOLDS, claims.DOES_NOT_HOLD, claims.PARTLY):
        assert claims.gated(s, weak) == claims.NOT_RESOLVED
        assert claims.gated(s, leaky) == claims.NOT_RESOLVED
        assert claims.gated(s, good) == s
    assert claims.gated(claims.NOT_EVALUABLE, weak) == claims.NOT_EVALUABLE


def test_smallest_deciding_design_for_the_ratio():
    band = (6 / op.BAND_FACTOR, 9 * op.BAND_FACTOR)

    def sim(seeds, scenario):
        r = math.sqrt(54) if scenario == "true" else band[0] / op.FALSE_FACTOR
        return op.simulate_ratio_band(r, seeds=seeds, points=20, band=band, sims=400)

    n = op.smallest_deciding(sim, (3, 10, 30, 100, 300))
    assert n is not None and n > 3


def test_simulations_are_seeded():
    a = op.simulate_trend(0.1, seeds=3, sims=200, seed=7)
    b = op.simulate_trend(0.1, seeds=3, sims=200, seed=7)
    assert a == b


def test_bad_inputs():
    with pytest.raises(ValueError, match="lie in"):
        op.simulate_ratio_band(30.0, seeds=3, points=20, band=(1, 2))
