"""Control-excess flips: the pooled excess, its variance floor, and Fieller's interval against a Monte Carlo
check of its coverage and its unbounded case."""

import math

import numpy as np
import pytest

from ntkbook import excess


def test_pooled_excess_and_its_variance():
    est, var, k = excess.pooled_excess([10, 14], [2, 2], [50, 50])
    assert k == 2 and est == pytest.approx(20 / 100)
    # cluster-robust: residuals e_i - E n_i = 8 - 10, 12 - 10 -> 2 * (4 + 4) / 100^2; binomial floor 29 / 100^2
    assert var == pytest.approx(max(2 * 8 / 100**2, 29 / 100**2))
    with pytest.raises(ValueError, match="one per seed"):
        excess.pooled_excess([1, 2], [1], [5, 5])
    with pytest.raises(ValueError, match="0 <= count"):
        excess.pooled_excess([6], [0], [5])


def test_fieller_interval_contains_the_ratio_and_solves_its_equation():
    r, lo, hi = excess.excess_ratio_interval([30] * 10, [5] * 10, [50] * 10, [8] * 10, [3] * 10, [50] * 10)
    assert r == pytest.approx(25 / 5) and lo < r < hi and math.isfinite(hi)
    ea, va, _ = excess.pooled_excess([30] * 10, [5] * 10, [50] * 10)
    eb, vb, _ = excess.pooled_excess([8] * 10, [3] * 10, [50] * 10)
    from scipy import stats
    q = stats.t.ppf(0.975, 18)
    for edge in (lo, hi):  # the ends are the roots of (E_a - R E_b)^2 = q^2 (V_a + R^2 V_b)
        assert (ea - edge * eb) ** 2 == pytest.approx(q**2 * (va + edge**2 * vb), rel=1e-9)


def test_an_insignificant_denominator_gives_an_unbounded_interval():
    r, lo, hi = excess.excess_ratio_interval([30, 28], [5, 6], [50, 50], [3, 2], [2, 3], [50, 50])
    assert math.isnan(r)  # b's excess is exactly 0: 5 - 5
    assert (lo, hi) == (-math.inf, math.inf)


def test_coverage_is_near_nominal_in_simulation():
    rng = np.random.default_rng(0)
    seeds, points, sims = 10, 50, 1500
    pa, pb, pc = 0.35, 0.10, 0.03
    truth = (pa - pc) / (pb - pc)
    hits = 0
    for _ in range(sims):
        xa, ca = rng.binomial(points, pa, seeds), rng.binomial(points, pc, seeds)
        xb, cb = rng.binomial(points, pb, seeds), rng.binomial(points, pc, seeds)
        _, lo, hi = excess.excess_ratio_interval(xa, ca, [points] * seeds, xb, cb, [points] * seeds)
        hits += lo <= truth <= hi
    # nominal 0.95; the binomial floor (x + c) bounds the paired variance from above, so coverage may exceed it;
    # 4 binomial standard errors of a 1500-draw rate below 0.95 is 0.927
    assert hits / sims >= 0.95 - 4 * math.sqrt(0.95 * 0.05 / sims)


def test_the_harness_simulates_the_excess_rule_with_nominal_coverage_and_growing_power():
    from ntkbook import operating as op

    band = (6.0 / op.BAND_FACTOR, 9.0 * op.BAND_FACTOR)
    few = op.simulate_excess_ratio_band(7.35, seeds=10, points=50, band=band, sims=400)
    many = op.simulate_excess_ratio_band(7.35, seeds=80, points=50, band=band, sims=400)
    false = op.simulate_excess_ratio_band(band[0] / op.FALSE_FACTOR, seeds=80, points=50, band=band, sims=400)
    assert few["holds"] < many["holds"] and many["holds"] >= 0.8 and false["holds"] <= 0.05
    for row in (few, many, false):  # 95 % intervals: within 4 binomial standard errors of 400 draws
        assert abs(row["coverage"] - 0.95) <= op.binomial_tolerance(0.95, 400)
    with pytest.raises(ValueError, match="control_rate"):
        op.simulate_excess_ratio_band(20.0, seeds=5, points=50, band=band, sims=10)


def test_chapter_4s_decisive_design_decides():
    from ntkbook import claims
    from ntkbook.report import verdict_tests as vt

    size, table = vt.chapter4_decisive_oc(sims=1000)
    assert size == {"seeds": 70, "points": 50}
    t = table.set_index("scenario")
    assert claims.Design("x", t.loc["true", "holds"], t.loc["false", "holds"]).decides
    assert "excess-ratio-band" in vt.RULES and vt.design_inputs("quick")["excess-ratio-band"]["points"] >= 1


def test_the_band_design_is_simulated_at_the_claimed_band():
    """Table 3's 3-5x (and v2's 2-9x) are simulated at their own band: true at its geometric centre, false at half
    its widened low edge; the default stays MNIST's 6-9x."""
    import math

    from ntkbook import operating as op
    from ntkbook import paper
    from ntkbook.report import verdict_tests as vt

    for band in (paper.RATIO_CLAIMS["mnist"], paper.RATIO_CLAIMS["mnist-3v8"], paper.RATIO_CLAIMS_V2):
        size = {"seeds": 10, "points": 20}
        if tuple(band) != tuple(paper.RATIO_CLAIMS["mnist"]):
            size |= {"band_low": float(band[0]), "band_high": float(band[1])}
        t = vt.design_at("excess-ratio-band", size, sims=50)[0].set_index("scenario")
        assert t.loc["true", "truth"] == pytest.approx(math.sqrt(band[0] * band[1]))
        assert t.loc["false", "truth"] == pytest.approx(band[0] / op.BAND_FACTOR / op.FALSE_FACTOR)
