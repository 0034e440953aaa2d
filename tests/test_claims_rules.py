"""The rules that can fail (claims.py): band, one-sided, equivalence, pooled log-ratio interval, grid joint test."""

import math

import numpy as np
import pytest

from ntkbook import claims
from ntkbook.claims import DOES_NOT_HOLD, HOLDS, NOT_EVALUABLE, NOT_RESOLVED


def test_band_rule_needs_the_interval_inside():
    band = (4.8, 11.25)
    assert claims.band_rule((5, 10), band) == HOLDS
    assert claims.band_rule((7, 20), band) == NOT_RESOLVED  # the point may be inside, the interval is not
    assert claims.band_rule((1, 3), band) == DOES_NOT_HOLD
    assert claims.band_rule(None, band) == NOT_EVALUABLE


def test_one_sided_rule_does_not_refute_a_value_far_beyond():
    # "m >> 1e18": our 1e40 supports it; a two-sided decade rule would call it a failure
    assert claims.one_sided_rule((1e30, 1e40), 1e18) == HOLDS
    assert claims.one_sided_rule((1e10, 1e12), 1e18) == DOES_NOT_HOLD
    assert claims.one_sided_rule((1e10, 1e20), 1e18) == NOT_RESOLVED
    assert claims.one_sided_rule((-2, -1), 0, side="below") == HOLDS
    with pytest.raises(ValueError, match="side"):
        claims.one_sided_rule((0, 1), side="up")


def test_equivalence_rule_is_tost():
    assert claims.equivalence_rule((-0.3, 0.4), 0.5) == HOLDS
    assert claims.equivalence_rule((0.38, 0.78), 0.5) == NOT_RESOLVED  # a tolerance cannot admit it any more
    assert claims.equivalence_rule((0.6, 0.9), 0.5) == DOES_NOT_HOLD
    with pytest.raises(ValueError, match="margin"):
        claims.equivalence_rule((0, 1), 0)


def test_log_ratio_interval_pools_counts_and_widens_with_seed_spread():
    ones = np.full(3, 100)
    r, lo, hi = claims.log_ratio_interval([40, 40, 40], ones, [10, 10, 10], ones)
    assert r == pytest.approx((120.5 / 301) / (30.5 / 301))
    assert lo < r < hi
    # the same totals with a large seed-to-seed spread give a wider interval
    _, lo2, hi2 = claims.log_ratio_interval([5, 40, 75], ones, [10, 10, 10], ones)
    assert math.log(hi2 / lo2) > math.log(hi / lo)
    # zero counts: finite bounds thanks to the continuity correction
    _, lo3, hi3 = claims.log_ratio_interval([3, 2, 4], ones, [0, 0, 0], ones)
    assert math.isfinite(hi3) and lo3 > 0
    with pytest.raises(ValueError, match="count"):
        claims.log_ratio_interval([200, 0, 0], ones, [1, 1, 1], ones)


def test_paired_difference():
    m, lo, hi = claims.paired_difference([1.0, 2.0, 3.0], [0.5, 1.5, 2.4])
    assert m == pytest.approx(0.5333333333) and lo < m < hi


def test_sign_flip_test_counts_and_exact_null():
    rng = np.random.default_rng(0)
    e = 2.0 + 0.2 * rng.standard_normal((5, 8))
    t = claims.sign_flip_count_test(e)
    assert t["above"] == 5 and t["below"] == 0 and t["patterns"] == 256
    assert t["p_above"] < 0.05
    assert claims.grid_rule(t) == HOLDS and claims.grid_rule(t, side="below") == DOES_NOT_HOLD
    three = claims.sign_flip_count_test(e[:, :3])
    assert three["smallest_p"] == 1 / 9 and claims.grid_rule(three) == NOT_RESOLVED


def test_grid_counts():
    c = claims.grid_counts([HOLDS, DOES_NOT_HOLD, HOLDS])
    assert c[HOLDS] == 2 and c[DOES_NOT_HOLD] == 1 and c[NOT_RESOLVED] == 0


def test_verdict_carries_its_design():
    v = claims.Verdict("c", "s", HOLDS, None, 1.0, (0.5, 1.5), "r", "quick", design="ratio-band")
    assert v.as_row()["design"] == "ratio-band"


def test_all_of_is_a_conjunction_that_never_says_partly():
    from ntkbook import claims as C

    assert C.all_of([C.HOLDS, C.HOLDS]) == C.HOLDS
    assert C.all_of([C.HOLDS, C.DOES_NOT_HOLD]) == C.DOES_NOT_HOLD  # one failing part refutes "both rise"
    assert C.all_of([C.NOT_RESOLVED, C.DOES_NOT_HOLD]) == C.DOES_NOT_HOLD
    assert C.all_of([C.HOLDS, C.NOT_RESOLVED]) == C.NOT_RESOLVED
    assert C.all_of([C.HOLDS, C.PARTLY]) == C.NOT_RESOLVED
    assert C.all_of([C.NOT_RESOLVED, C.NOT_EVALUABLE]) == C.NOT_EVALUABLE
    with pytest.raises(ValueError):
        C.all_of([])
    with pytest.raises(ValueError):
        C.all_of(["maybe"])
