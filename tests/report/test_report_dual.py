"""ntkbook.report.dual: every rule driven to each status it can return; summaries on hand-made frames."""

import math

import numpy as np
import pandas as pd
import pytest

from ntkbook import claims
from ntkbook.experiments import dual as ex
from ntkbook.report import dual as rd

BELOW, ABOVE, OPEN = (-2.0, -1.0), (1.0, 2.0), (-1.0, 1.0)


@pytest.mark.parametrize("aligned,unaligned,status", [
    (BELOW, ABOVE, claims.HOLDS),
    (BELOW, OPEN, claims.NOT_RESOLVED),  # a conjunction with an undecided part is undecided, never "partly"
    (OPEN, ABOVE, claims.NOT_RESOLVED),
    (ABOVE, ABOVE, claims.DOES_NOT_HOLD),
    (OPEN, BELOW, claims.DOES_NOT_HOLD),
    (BELOW, BELOW, claims.DOES_NOT_HOLD),  # one part holds, the other fails: the claim fails
    (OPEN, OPEN, claims.NOT_RESOLVED),
    (None, ABOVE, claims.NOT_EVALUABLE),
])
def test_power_status(aligned, unaligned, status):
    assert rd.power_status(aligned, unaligned) == status


@pytest.mark.parametrize("power,flip,ok,status", [
    (ABOVE, ABOVE, True, claims.HOLDS),
    (ABOVE, OPEN, True, claims.NOT_RESOLVED),
    (OPEN, ABOVE, True, claims.NOT_RESOLVED),
    (BELOW, ABOVE, True, claims.DOES_NOT_HOLD),
    (ABOVE, BELOW, True, claims.DOES_NOT_HOLD),
    (OPEN, OPEN, True, claims.NOT_RESOLVED),
    (ABOVE, ABOVE, False, claims.NOT_EVALUABLE),
    (None, None, True, claims.NOT_RESOLVED),
])
def test_pair_status(power, flip, ok, status):
    assert rd.pair_status(power, flip, evaluable=ok) == status


def test_evaluable_needs_the_interval_above_the_learned_floor():
    assert rd.evaluable([0.8, 0.82, 0.79], 0.11)
    assert rd.learned_floor(0.1) == pytest.approx(0.55)
    assert not rd.evaluable([0.35, 0.36, 0.34], 0.11)  # far above chance, below the floor: has not learned
    assert not rd.evaluable([0.12, 0.10, 0.11], 0.11)
    assert not rd.evaluable([0.05, 0.9], 0.11)  # two seeds far apart: the interval reaches below chance


def _spec():
    return ex.DualSpec.resolve("quick")


def _power_frame(aligned_ratio: float, unaligned_ratio: float, seeds=(0, 1, 2)) -> pd.DataFrame:
    """G3 errors = linear errors times the given ratios on the top / bottom modes of the quick spec."""
    spec = _spec()
    rows = []
    rng = np.random.default_rng(0)
    for seed in seeds:
        for j, mode in enumerate(sorted(spec.modes)):
            base = 0.3 * (1 + 0.05 * rng.standard_normal())
            ratio = aligned_ratio if j < spec.top_modes else unaligned_ratio
            for kernel, err in (("linear", base), ("G3", base * ratio * (1 + 0.01 * rng.standard_normal())),
                                ("attn-ntk", base), ("relu-ntk", base), ("pca-linear", base)):
                for target in ("mode", "square"):
                    rows.append({"dataset": "mnist", "seed": seed, "n": max(spec.ns), "kernel": kernel,
                                 "target": target, "mode": mode, "ridge": 1e-3, "ridge_rule": "loo",
                                 "noise": spec.noise, "error": err, "mse": err, "zero_mse": 1.0, "accuracy": np.nan})
    return pd.DataFrame(rows)


def test_power_ratios_recover_the_planted_ratios():
    r = rd.power_ratios(_power_frame(0.1, 3.0), _spec())
    assert np.allclose(np.exp(r["aligned"]), 0.1, rtol=0.05)
    assert np.allclose(np.exp(r["unaligned"]), 3.0, rtol=0.05)


def test_width_needed_extrapolates_with_the_square_law():
    k = pd.DataFrame({"dataset": "mnist", "seed": 0, "model": "attn", "width": [16, 64, 256],
                      "err_op": [0.4, 0.2, 0.1], "err_eig": [400.0, 200.0, 100.0], "kappa_ntk": 1e3,
                      "kappa_linear": 1e6, "rank_linear": 10, "attn_share": np.nan, "spread": np.nan})
    w = rd.width_needed(k)
    assert math.isclose(w["m_star"].iloc[0], 256 * 100.0**2, rel_tol=1e-12)
    assert math.isclose(w["decades"].iloc[0], 4.0, rel_tol=1e-12) and math.isclose(w["slope"].iloc[0], -0.5)
    # scatter about the law: m* is fitted from all three widths (the geometric mean of the per-width estimates)
    k2 = k.assign(err_eig=[400.0 * 1.1, 200.0 / 1.1, 100.0])
    assert math.isclose(rd.width_needed(k2)["m_star"].iloc[0], 256 * 100.0**2, rel_tol=1e-12)
    # fewer than MIN_WIDTHS widths: no m*; qkv (no deterministic limit): no row at all
    assert math.isnan(rd.width_needed(k.iloc[:2])["m_star"].iloc[0])
    assert rd.width_needed(k.assign(model="qkv")).empty
    s = rd.decay_slopes(k)
    assert math.isclose(s["slope"].iloc[0], -0.5, rel_tol=1e-9)


def _kernel_frame(trunc_shift: float, seeds=(0, 1, 2), spread_exponent: float = 0.0, base: float = 2.0):
    """kernel rows at widths 16, 64, 128 whose log10 m* is `base` for attn, plus trunc_shift (decades) for
    truncated:5 and fixed shifts for the others, with a little seed noise (m* = m err_eig^2 at every width)."""
    spec = _spec()
    rows = []
    for seed in seeds:
        for model, shift in (("relu", -1.0), ("attn", 0.0), (f"truncated:{min(spec.ranks)}", trunc_shift),
                             ("softmax:1", 1.5), ("softmax-centred:1", 1.5), ("softmax-centred:100", 1.5),
                             ("attn-centred", 1.5), ("stacked:2", 1.5), ("stacked-recomputed:2", 2.5),
                             ("qkv", 0.0), ("qkv-ntk", 0.0)):
            for m in (16, 64, 128):
                e = math.sqrt(10 ** (base + shift + 0.05 * seed) / m)
                rows.append({"dataset": "mnist", "seed": seed, "model": model, "width": m, "err_op": 0.1,
                             "err_eig": e, "kappa_ntk": 1e3, "kappa_linear": 1e6, "rank_linear": 5,
                             "attn_share": 0.99 if model.startswith("qkv") else np.nan,
                             "spread": 0.8 * (m / 16) ** (spread_exponent + 0.01 * seed)
                             if model.startswith("qkv") else np.nan})
    return pd.DataFrame(rows)


def _variant_frame(attn_acc=0.7, attn_flip=0.3, relu_flip=0.1):
    rows = []
    for seed, eps in zip((0, 1), (0.01, -0.01), strict=True):
        rows.append({"dataset": "mnist", "seed": seed, "model": "relu", "train_accuracy": 0.9,
                     "test_accuracy": 0.8 + eps, "chance": 0.11, "flip_rate": relu_flip + eps, "spearman": 0.5,
                     "topk_overlap": 0.5, "attack_gain": 1.0, "aligned_error": 0.05 + eps / 10, "seconds": 1.0})
        rows.append({"dataset": "mnist", "seed": seed, "model": "attn", "train_accuracy": 0.5,
                     "test_accuracy": attn_acc + eps, "chance": 0.11, "flip_rate": attn_flip + eps, "spearman": 0.5,
                     "topk_overlap": 0.5, "attack_gain": 1.0, "aligned_error": 0.01 + eps / 10, "seconds": 1.0})
    return pd.DataFrame(rows)


def test_verdicts_follow_the_planted_results():
    spec = _spec()
    res = {"power": _power_frame(0.1, 3.0), "kernel": _kernel_frame(-2.0), "variant": _variant_frame()}
    v = {x.claim: x for x in rd.verdicts_from_results(spec, res)}
    assert v["dual.power.G3.mnist"].status == claims.HOLDS
    assert not v["dual.power.G3.mnist"].beyond_paper and v["dual.power.attn-ntk.mnist"].beyond_paper
    # the pair rule holds on these numbers (`pair_status`), but two seeds cannot decide it: not resolved
    assert rd.pair_status((0.03, 0.05), (0.19, 0.21)) == claims.HOLDS
    assert v["dual.pair.mnist"].status == claims.NOT_RESOLVED and v["dual.pair.mnist"].design == "pair"
    assert rd.pair_design(20).decides and not rd.pair_design(2).decides
    assert v["open.truncation.mnist"].status == claims.HOLDS  # two decades fewer
    assert v["open.depth.mnist"].status == claims.HOLDS  # 1.5 decades more
    assert v["open.softmax.centred-T100.mnist"].status == claims.HOLDS  # 2.5 decades above relu
    assert v["open.softmax.control.mnist"].status == claims.HOLDS and v["open.softmax.plain-T1.mnist"]
    assert v["open.qkv.mnist"].status == claims.HOLDS and v["open.qkv-ntk.mnist"].status == claims.HOLDS
    assert v["dual.power.G3-vs-pca.mnist"].beyond_paper and v["dual.power.G3-square.mnist"].status == claims.HOLDS
    # the same comparisons extrapolated far beyond the widest width (m* 10^8 at width 128): not resolved
    far = {x.claim: x for x in rd.verdicts_from_results(spec, {**res, "kernel": _kernel_frame(-2.0, base=8.0)})}
    assert far["open.truncation.mnist"].status == claims.NOT_RESOLVED and "decades beyond" in far[
        "open.truncation.mnist"].rule
    assert all(x.chapter == rd.CHAPTER and x.section in rd.SECTIONS.values() for x in v.values())

    res = {"power": _power_frame(3.0, 3.0), "kernel": _kernel_frame(0.3), "variant": _variant_frame(attn_flip=0.05)}
    v = {x.claim: x for x in rd.verdicts_from_results(spec, res)}
    assert v["dual.power.G3.mnist"].status == claims.DOES_NOT_HOLD
    assert v["open.truncation.mnist"].status == claims.DOES_NOT_HOLD  # within a decade: no restoration
    assert v["dual.pair.mnist"].status == claims.NOT_RESOLVED  # gated: two seeds cannot decide

    res = {"power": _power_frame(0.1, 3.0), "kernel": _kernel_frame(-2.0), "variant": _variant_frame(attn_acc=0.11)}
    v = {x.claim: x for x in rd.verdicts_from_results(spec, res)}
    assert v["dual.pair.mnist"].status == claims.NOT_EVALUABLE  # MLP-Attn at chance
    res = {**res, "variant": _variant_frame(attn_acc=0.35)}  # above chance, below the learned floor (0.555)
    assert {x.claim: x for x in rd.verdicts_from_results(spec, res)}["dual.pair.mnist"].status == claims.NOT_EVALUABLE


def test_display_tables_and_numbers_have_no_index_columns_and_plain_values():
    spec = _spec()
    res = {"power": _power_frame(0.1, 3.0), "kernel": _kernel_frame(-2.0), "variant": _variant_frame()}
    t = rd.variant_table(res["variant"])
    assert list(t["model"]) == ["2L-ReLU", "MLP-Attn"] and set(t["learned"]) == {"yes"}
    w = rd.width_table(res["kernel"])
    assert "Attn, rank 5" in set(w["model"])
    nums = rd.chapter_numbers(spec, res)
    assert all(isinstance(v, int | float | str) for v in nums.values())
    assert nums["noises_text"] == "0, 0.25 and 0.5"
    assert math.isclose(nums["mnist_G3_aligned"], 0.1, rel_tol=0.05)
    assert math.isclose(nums["mnist_log10_m_trunc"] - nums["mnist_log10_m_attn"], -2.0 + 0.0, abs_tol=1e-9)
    assert nums["mnist_test_acc_attn"] == pytest.approx(0.7) and nums["n_not_evaluable"] == 0
    table = rd.power_decision_table(res["power"], spec)
    g3 = table["comparison"].str.startswith("$G^3$")
    assert set(table.loc[g3, "status"]) == {claims.HOLDS}  # planted: a tenth where aligned, thrice where not
    assert set(table.loc[~g3, "status"]) == {claims.NOT_RESOLVED}  # the two NTKs planted equal
    p = rd.power_table(res["power"], spec)
    assert "PCA-truncated linear" in set(p["kernel"]) and any("MSE" in c for c in p.columns)
    assert set(rd.qkv_table(res["kernel"])["parameterisation"]) == {rd.model_label("qkv"), rd.model_label("qkv-ntk")}


def test_model_labels():
    assert rd.model_label("relu") == "2L-ReLU"
    assert rd.model_label("truncated:20") == "Attn, rank 20"
    assert rd.model_label("softmax-centred:10") == "Softmax centred, T=10"


def _function_frame(exponent: float, seeds=(0, 1, 2)) -> pd.DataFrame:
    rows = []
    for seed in seeds:
        for m in (16, 64, 256):
            rows.append({"dataset": "mnist", "seed": seed, "model": "truncated:5", "width": m,
                         "dist_rel": 0.8 * (m / 16) ** (exponent + 0.02 * seed), "test_acc": 0.3,
                         "ntk_test_acc": 0.3, "train_loss": 0.04})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("exponent,status", [(-0.5, claims.HOLDS), (0.3, claims.DOES_NOT_HOLD)])
def test_function_verdict_follows_the_planted_exponent(exponent, status):
    spec = _spec()
    res = {"power": _power_frame(0.1, 3.0), "kernel": _kernel_frame(-2.0), "variant": _variant_frame(),
           "function": _function_frame(exponent)}
    v = {x.claim: x for x in rd.verdicts_from_results(spec, res)}
    f = v["open.function.truncated-5.mnist"]
    assert f.status == status and f.beyond_paper
    assert f.ours == pytest.approx(exponent + 0.02, abs=1e-9)
    assert set(rd.function_table(res["function"])["model"]) == {"Attn, rank 5"}
    assert rd.chapter_numbers(spec, res)["mnist_fs_slope_trunc"] == pytest.approx(exponent + 0.02, abs=1e-9)


def test_crossover_counts_the_leading_modes_where_attention_wins():
    spec = _spec()  # quick: modes (1, 2, 20, 60), top_modes 2
    f = _power_frame(0.1, 3.0)
    assert rd.crossover(f, spec) == {"mnist": spec.top_modes}
    assert rd.crossover(_power_frame(3.0, 3.0), spec) == {"mnist": 0}
    assert rd.crossover(_power_frame(0.1, 0.5), spec) == {"mnist": len(spec.modes)}


def test_width_ratio_status_is_one_sided_at_the_claimed_factor():
    assert rd.width_ratio_status("increasing", (1.5, 3.0)) == claims.HOLDS
    assert rd.width_ratio_status("increasing", (0.2, 0.8)) == claims.DOES_NOT_HOLD  # more, but not ten times
    assert rd.width_ratio_status("increasing", (0.5, 1.5)) == claims.NOT_RESOLVED
    assert rd.width_ratio_status("decreasing", (-3.0, -1.5)) == claims.HOLDS
    assert rd.width_ratio_status("decreasing", None) == claims.NOT_EVALUABLE


def test_power_design_gates_a_noisy_design():
    assert rd.power_design(3, 1e-3).decides  # seeds that agree closely decide
    noisy = rd.power_design(3, 1.0)
    assert not noisy.decides and "seeds" in noisy.needed


def test_qkv_verdict_decides_the_spread_exponent_not_the_share():
    spec = _spec()
    for exponent, status in ((0.0, claims.HOLDS), (-0.5, claims.DOES_NOT_HOLD)):
        res = {"power": _power_frame(0.1, 3.0), "kernel": _kernel_frame(-2.0, spread_exponent=exponent),
               "variant": _variant_frame()}
        v = {x.claim: x for x in rd.verdicts_from_results(spec, res)}["open.qkv.mnist"]
        assert v.status == status and v.design == "spread-exponent" and v.ours == pytest.approx(exponent + 0.01)
        assert "reported, not decided" in v.rule  # the share (0.99 here) no longer decides
    assert rd.qkv_status((-0.2, 0.1)) == claims.HOLDS and rd.qkv_status((-0.6, -0.3)) == claims.DOES_NOT_HOLD
    assert rd.qkv_status((-0.4, 0.0)) == claims.NOT_RESOLVED and rd.qkv_status(None) == claims.NOT_EVALUABLE
    e = rd.spread_exponents(_kernel_frame(0.0, spread_exponent=-0.5))
    assert np.allclose(e["exponent"], [-0.5, -0.49, -0.48])
    # a noisy spread at two seeds cannot decide: not resolved by construction
    d = rd.seed_design("spread-exponent", 2, 0.5)
    assert not d.decides and claims.gated(claims.HOLDS, d) == claims.NOT_RESOLVED


def test_every_decisive_empirical_verdict_of_chapter_5_names_a_deciding_design():
    from ntkbook.report import verdict_tests as vt

    spec = _spec()
    res = {"power": _power_frame(0.1, 3.0), "kernel": _kernel_frame(-2.0), "variant": _variant_frame(),
           "function": _function_frame(-0.5)}
    decisive = [x for x in rd.verdicts_from_results(spec, res)
                if x.status in (claims.HOLDS, claims.DOES_NOT_HOLD)]
    assert len(decisive) >= 6
    import re

    for x in decisive:
        assert x.design in vt.RULES, x.claim
        power, false_holds = map(float, re.search(r"power ([0-9.]+), false holds ([0-9.]+)", x.rule).groups())
        assert power >= claims.MIN_POWER and false_holds <= claims.MAX_FALSE_HOLDS, x.claim


def test_softmax_trained_sentence_reads_the_numbers_or_says_none_was_trained():
    from ntkbook.report.dual_tables import softmax_trained_sentence

    spec = ex.DualSpec.resolve("quick").replace(mal_families=("relu", "attn", "softmax", "softmax-centred"),
                                                mal_temperatures=(0.1, 10.0))
    nums = {"mnist_test_acc_softmax": 0.11, "mnist_test_acc_softmax_low": 0.52, "mnist_test_acc_centred": 0.61}
    text = softmax_trained_sentence(nums, spec)
    assert "T = 10 reaches a mean test accuracy of 0.11" in text and "0.52" in text and text.endswith("0.61.")
    bare = softmax_trained_sentence({"mnist_test_acc_softmax": 0.11}, spec.replace(mal_families=("relu", "attn")))
    assert "trains no softmax variant" in bare and "relu and attn" in bare
