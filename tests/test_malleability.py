"""Flip rate, Spearman ρ, top-K overlap and the three interventions on hand-made cases."""

import numpy as np
import pytest

from ntkbook import malleability as mal


def test_top_count_and_indices():
    assert mal.top_count(100, 0.1) == 10
    assert mal.top_count(95, 0.1) == 10  # ceil
    assert mal.top_count(3, 0.1) == 1
    assert mal.top_indices([0.1, -5.0, 2.0, -2.0], 3).tolist() == [1, 2, 3]  # |.|, ties by index
    with pytest.raises(ValueError, match="tau"):
        mal.top_count(10, 0.0)


def test_flip_rate_counts_sign_changes_among_the_top_only():
    before = np.array([10.0, -9.0, 8.0, -7.0, 0.1, 0.2, -0.3, 0.4, 0.5, 0.6])
    after = before.copy()
    after[[0, 1]] *= -1  # two of the top four flip
    after[4:] *= -1  # the small ones flip too, but they are not in the top
    assert mal.flip_rate(before, after, tau=0.4) == 0.5
    assert mal.flip_rate(before, after, tau=0.1) == 1.0  # only point 0
    assert mal.flip_rate(before, before, tau=0.5) == 0.0
    assert mal.flip_rate(before, -before, tau=1.0) == 1.0


def test_spearman_and_overlap():
    before = np.arange(1.0, 11.0)
    assert mal.spearman(before, 2 * before + 1) == pytest.approx(1.0)
    assert mal.spearman(before, -before) == pytest.approx(-1.0)
    after = before.copy()
    after[[8, 9]] = after[[9, 8]]  # swap the top two: order changes, the top-2 set does not
    assert mal.spearman(before, after) == pytest.approx(1 - 6 * 2 / (10 * 99))
    assert mal.top_k_overlap(before, after, 2) == 1.0
    after2 = before.copy()
    after2[9] = 0.0  # the most influential point becomes the least
    assert mal.top_k_overlap(before, after2, 2) == 0.5
    with pytest.raises(ValueError, match="same points"):
        mal.spearman(before, before[:5])
    with pytest.raises(ValueError, match="constant"):
        mal.spearman(before, np.ones(10))


def test_measures_bundle():
    before = np.array([5.0, -4.0, 3.0, -2.0, 1.0])
    out = mal.measures(before, -before, tau=0.4)
    assert out == {"flip_rate": 1.0, "spearman": pytest.approx(-1.0), "topk_overlap": 1.0}


def test_interventions():
    x = np.arange(20.0).reshape(10, 2)
    scores = np.array([0.5, 9.0, 0.4, -8.0, 0.3, 0.2, 0.1, 0.05, 0.01, 1.0])
    kept_x, keep = mal.curated(x, scores, tau=0.2)
    assert keep.tolist() == [0, 2, 4, 5, 6, 7, 8, 9]
    np.testing.assert_array_equal(kept_x, x[keep])
    x_adv = x + 100
    out = mal.transformed(x, x_adv, scores, tau=0.2)
    np.testing.assert_array_equal(out[[1, 3]], x_adv[[1, 3]])
    np.testing.assert_array_equal(np.delete(out, [1, 3], axis=0), np.delete(x, [1, 3], axis=0))
    np.testing.assert_array_equal(mal.row_budget(4, [0, 2], 0.3).ravel(), [0.3, 0, 0.3, 0])
    # Curated: the flip rate runs over the top of the kept points (points 9 and 0); point 9 flips
    after_kept = scores[keep].copy()
    after_kept[-1] = -1.0
    assert mal.curated_flip_rate(scores, after_kept, keep, tau=0.2)["flip_rate"] == pytest.approx(0.5)


def test_measures_or_nan_on_constant_scores():
    b = np.array([3.0, -2.0, 1.0, 0.5, -0.1, 0.2, 0.0, 0.3, -0.4, 0.6])
    out = mal.measures_or_nan(np.zeros(10), b)
    assert all(np.isnan(v) for v in out.values())
    out = mal.measures_or_nan(b, np.zeros(10), tau=0.2)
    assert out["flip_rate"] == 1.0 and np.isnan(out["spearman"]) and 0 <= out["topk_overlap"] <= 1
    assert mal.measures_or_nan(b, -b) == mal.measures(b, -b)
    with pytest.raises(ValueError, match="constant"):
        mal.measures(np.zeros(10), b)
