"""ntkbook.claims: the Verdict record and every generic rule driven to each status it can return."""

import math

import pytest

from ntkbook import claims
from ntkbook.claims import DOES_NOT_HOLD, HOLDS, NOT_EVALUABLE, NOT_RESOLVED, PARTLY, STATUSES, Verdict

INF, NAN = math.inf, math.nan


def test_verdict_validates_status_and_interval():
    v = Verdict("x", "s", HOLDS, 1.0, 1.0, (0, 2), "r", "default", {"n": [1, 2]})
    assert v.interval == (0.0, 2.0) and v.config == (("n", (1, 2)),)
    assert v.as_row()["interval_high"] == 2.0
    with pytest.raises(ValueError, match="status"):
        Verdict("x", "s", "reproduced", None, None, None, "r", "default")
    with pytest.raises(ValueError, match="low <= high"):
        Verdict("x", "s", HOLDS, None, 1.0, (2, 1), "r", "default")
    frame = claims.verdicts_frame([v, v])
    assert len(frame) == 2 and "interval" not in frame.columns


@pytest.mark.parametrize("error, resolvable, expected", [
    (1e-15, True, HOLDS), (1e-3, True, DOES_NOT_HOLD), (INF, True, NOT_EVALUABLE), (1e-15, False, NOT_EVALUABLE)])
def test_tolerance_rule(error, resolvable, expected):
    assert claims.tolerance_rule(error, 1e-12, resolvable=resolvable) == expected


def test_tolerance_rule_needs_positive_tol():
    with pytest.raises(ValueError):
        claims.tolerance_rule(0.0, 0.0)


@pytest.mark.parametrize("ratio, expected", [(0.3, HOLDS), (1.0 + 1e-14, HOLDS), (1.5, DOES_NOT_HOLD),
                                             (NAN, NOT_EVALUABLE), (INF, NOT_EVALUABLE)])
def test_bound_rule(ratio, expected):
    assert claims.bound_rule(ratio, slack=1e-12) == expected


@pytest.mark.parametrize("interval, tol, resolution, expected", [
    ((2.989, 3.0), 0.0, INF, HOLDS),
    ((2.989, 2.9999), 0.06, INF, HOLDS),      # just excludes 3, inside the claim's precision
    ((2.989, 2.9999), 0.0, INF, DOES_NOT_HOLD),
    ((0.5, 1.5), 0.1, INF, DOES_NOT_HOLD),
    ((1.0, 9.0), 0.1, 0.5, NOT_RESOLVED),    # reaches 3 but is too wide to tell 3 from 1 or 9
    ((NAN, NAN), 0.1, INF, NOT_EVALUABLE),
])
def test_interval_vs_value(interval, tol, resolution, expected):
    assert claims.interval_vs_value(3.0, interval, tol=tol, resolution=resolution) == expected


@pytest.mark.parametrize("interval, tol, direction", [
    ((0.1, 0.5), 0, "increasing"), ((-0.5, -0.1), 0, "decreasing"), ((-0.1, 0.1), 0.2, "flat"),
    ((-0.1, 0.5), 0, "unresolved"), (None, 0, "unresolved")])
def test_trend_from_interval(interval, tol, direction):
    assert claims.trend_from_interval(interval, tol=tol) == direction


@pytest.mark.parametrize("claimed, interval, tol, expected", [
    ("increasing", (0.1, 0.5), 0.0, HOLDS), ("increasing", (-0.5, -0.1), 0.0, DOES_NOT_HOLD),
    ("decreasing", (-0.1, 0.5), 0.0, NOT_RESOLVED), ("flat", (-0.1, 0.1), 0.2, HOLDS),
    ("flat", (1.5, 2.5), 0.2, DOES_NOT_HOLD), ("increasing", None, 0.0, NOT_EVALUABLE)])
def test_trend_rule(claimed, interval, tol, expected):
    assert claims.trend_rule(claimed, interval, tol=tol) == expected


def test_trend_rule_refuses_unknown_direction_and_flat_without_tol():
    with pytest.raises(ValueError):
        claims.trend_rule("up", (0, 1))
    with pytest.raises(ValueError):
        claims.trend_rule("flat", (0, 1))


@pytest.mark.parametrize("ratio, interval, claimed, expected", [
    (7.0, (5.0, 9.5), (6, 9), HOLDS),
    (4.0, (2.0, 6.5), (6, 9), NOT_RESOLVED),
    (2.0, (1.5, 2.5), (6, 9), PARTLY),         # MLP-Attn flips more, but far less than claimed
    (0.5, (0.3, 0.8), (6, 9), DOES_NOT_HOLD),  # reversed
    (3.0, (2.0, 4.0), (0.67, 1.5), DOES_NOT_HOLD),  # "about 1x": no side of 1 to agree with
    (NAN, (0.0, INF), (6, 9), NOT_EVALUABLE),
])
def test_ratio_rule(ratio, interval, claimed, expected):
    assert claims.ratio_rule(ratio, interval, claimed) == expected


@pytest.mark.parametrize("ours, interval, expected", [
    (2e3, None, HOLDS), (1e6, None, DOES_NOT_HOLD), (INF, (1e11, INF), DOES_NOT_HOLD),
    (1e5, (1e3, 1e6), NOT_RESOLVED), (NAN, None, NOT_EVALUABLE)])
def test_magnitude_rule(ours, interval, expected):
    assert claims.magnitude_rule(1.2e3, ours, interval, decades=1.0) == expected


@pytest.mark.parametrize("parts, expected", [
    ([HOLDS, HOLDS], HOLDS), ([HOLDS, DOES_NOT_HOLD], PARTLY), ([DOES_NOT_HOLD, NOT_RESOLVED], DOES_NOT_HOLD),
    ([HOLDS, NOT_RESOLVED], NOT_RESOLVED), ([HOLDS, PARTLY], PARTLY), ([HOLDS, NOT_EVALUABLE], NOT_EVALUABLE),
    (["not run", HOLDS], "not run")])
def test_combine(parts, expected):
    assert claims.combine(parts) == expected
    assert expected in STATUSES


def test_t_interval_and_quotient_interval():
    mean, lo, hi = claims.t_interval([1.0, 2.0, 3.0], 0.95)
    # t_{2, 0.975} = 4.303: half-width 4.303 * 1 / sqrt(3)
    assert mean == 2.0 and hi - mean == pytest.approx(4.302653 / math.sqrt(3), rel=1e-6)
    assert claims.t_interval([5.0])[1:] == (-INF, INF)
    assert claims.quotient_interval((2, 4), (1, 2)) == (1.0, 4.0)
    assert claims.quotient_interval((1, 2), (0, 1))[1] == INF
    with pytest.raises(ValueError):
        claims.t_interval([])
