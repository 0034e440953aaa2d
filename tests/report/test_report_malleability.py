"""Chapter 4's report rules driven to every status they can return, and the curve / verdict assembly on
hand-made configuration tables (no training)."""

import math

import numpy as np
import pandas as pd
import pytest

from ntkbook import claims, paper
from ntkbook.experiments import malleability as M
from ntkbook.report import malleability as R
from ntkbook.report import malleability_summary as S
from ntkbook.report import malleability_tables as T
from ntkbook.stats import wilson_interval

CLAIM = (6.0, 9.0)


def test_configuration_status_reaches_every_status():
    # CLAIM (6, 9) widened by BAND_FACTOR 1.25: the band [4.8, 11.25]
    assert R.configuration_status(False, 7.0, 6.5, 7.5, CLAIM) == claims.NOT_EVALUABLE
    assert R.configuration_status(True, 7.0, 6.5, 7.5, CLAIM) == claims.HOLDS
    assert R.configuration_status(True, 7.0, 3.0, 20.0, CLAIM) == claims.NOT_RESOLVED  # the point alone never decides
    assert R.configuration_status(True, 2.0, 1.5, 2.5, CLAIM) == claims.DOES_NOT_HOLD
    assert R.configuration_status(True, 0.5, 0.3, 1.5, CLAIM) == claims.DOES_NOT_HOLD
    assert R.configuration_status(True, 3.0, 1.0, 12.0, CLAIM) == claims.NOT_RESOLVED
    assert R.configuration_status(True, float("nan"), 0.0, 1.0, CLAIM) == claims.NOT_EVALUABLE
    assert R.configuration_status(True, math.inf, 1.0, math.inf, CLAIM) == claims.NOT_RESOLVED  # 2L-ReLU never flips
    assert R.configuration_status(True, math.inf, 12.0, math.inf, CLAIM) == claims.DOES_NOT_HOLD


def test_grid_status():
    assert R.grid_status([claims.NOT_EVALUABLE] * 3) == claims.NOT_EVALUABLE
    assert R.grid_status([claims.HOLDS, claims.NOT_EVALUABLE]) == claims.HOLDS
    assert R.grid_status([claims.HOLDS, claims.DOES_NOT_HOLD]) == claims.NOT_RESOLVED  # not "partly"
    assert R.grid_status([claims.DOES_NOT_HOLD, claims.DOES_NOT_HOLD]) == claims.DOES_NOT_HOLD
    assert R.grid_status([claims.DOES_NOT_HOLD, claims.NOT_RESOLVED]) == claims.NOT_RESOLVED
    assert R.grid_status([claims.NOT_RESOLVED, claims.NOT_EVALUABLE]) == claims.NOT_RESOLVED


def test_rise_and_adversarial_status():
    assert R.rise_status((0.0, 0.1), (0.2, 0.3)) == claims.HOLDS
    assert R.rise_status((0.2, 0.3), (0.0, 0.1)) == claims.DOES_NOT_HOLD
    assert R.rise_status((0.0, 0.2), (0.1, 0.3)) == claims.NOT_RESOLVED
    assert R.rise_status((0.0, math.nan), (0.1, 0.3)) == claims.NOT_EVALUABLE
    row = {"evaluable_std": True, "evaluable_adv": True,
           "relu_flip_low_std": 0.0, "relu_flip_high_std": 0.1, "relu_flip_low_adv": 0.3, "relu_flip_high_adv": 0.4,
           "attn_flip_low_std": 0.2, "attn_flip_high_std": 0.3, "attn_flip_low_adv": 0.3, "attn_flip_high_adv": 0.5}
    assert R.adversarial_status({**row, "attn_flip_low_adv": 0.31}) == claims.HOLDS
    assert R.adversarial_status(row) == claims.NOT_RESOLVED  # attn's intervals touch
    # relu rises, attn falls: the conjunction "both rise" does not hold (never "partly")
    assert R.adversarial_status({**row, "attn_flip_low_adv": 0.0, "attn_flip_high_adv": 0.1}) == claims.DOES_NOT_HOLD
    assert R.adversarial_status({**row, "evaluable_adv": False}) == claims.NOT_EVALUABLE


def test_poisoning_rules():
    assert R.poisoning_status((0.5, 0.8), (0.0, 0.2)) == claims.HOLDS
    assert R.poisoning_status((0.0, 0.1), (0.2, 0.4)) == claims.DOES_NOT_HOLD
    assert R.poisoning_status((0.1, 0.5), (0.0, 0.2)) == claims.NOT_RESOLVED
    assert R.poisoning_status((0.5, 0.8), (0.0, 0.2), evaluable=False) == claims.NOT_EVALUABLE


def _configs():
    """Hand-made configurations of MNIST: the claim holds exactly when the influence reading is "network"."""
    rows = []
    for l2_form in ("w", "none"):
        for reading in ("kernel", "network"):
            for protocol in ("a", "b"):
                ratio = 7.0 if reading == "network" else 1.0
                ev = not (l2_form == "w" and protocol == "b")
                rows.append({"task": "mnist", "training": "standard", "loss": "xent", "l2_form": l2_form,
                             "width": 64, "n_train": 100, "reading": reading, "protocol": protocol, "attack": "pgd",
                             "evaluable": ev, "ratio": ratio if ev else math.nan, "decided": "excess",
                             "ratio_low": ratio * 0.9 if ev else math.nan, "ratio_high": ratio * 1.1 if ev else math.nan,
                             "raw_ratio": 1.0 if ev else math.nan, "raw_ratio_low": 0.8 if ev else math.nan,
                             "raw_ratio_high": 1.2 if ev else math.nan,
                             **{f"{a}_{k}": 0.5 for a in ("relu", "attn") for k in
                                ("flip", "flip_low", "flip_high", "test_acc", "krr_test_acc", "train_acc",
                                 "krr_train_acc", "weight_ratio", "control", "excess", "excess_low", "excess_high",
                                 "retrained_acc", "min_test_acc")},
                             **{f"{a}_{k}": v for a in ("relu", "attn") for k, v in
                                (("seeds", 3), ("counted", 3 if ev else 1), ("excluded", 0 if ev else 2),
                                 ("top", 30), ("flips", 10))}})
    return pd.DataFrame(rows)


def test_curve_marks_the_literal_reading_and_sorts():
    cur = R.curve(_configs(), "mnist")
    assert len(cur) == 8 and cur.literal.sum() == 1
    lit = cur[cur.literal].iloc[0]
    assert (lit.l2_form, lit.reading, lit.protocol, lit.attack) == ("w", "kernel", "a", "pgd")
    assert list(cur.evaluable) == [True] * 6 + [False] * 2
    assert list(cur.ratio[:6]) == sorted(cur.ratio[:6])
    assert set(cur.status[cur.evaluable]) == {claims.HOLDS, claims.DOES_NOT_HOLD}
    with pytest.raises(ValueError, match="no ratio"):
        R.curve(_configs().assign(task="digits"), "digits")


def test_deciding_choices_finds_the_reading():
    dec = R.deciding_choices(R.curve(_configs(), "mnist"))
    decides = dec.groupby("choice").decides.first()
    assert decides["reading"] and not decides["l2_form"] and not decides["protocol"]
    row = dec[(dec.choice == "reading") & (dec.value == "network")].iloc[0]
    assert row.share == 1.0 and row.holds == 3 and row.median_ratio == 7.0
    assert "loss" not in set(dec.choice)  # one value only


def test_summary_tables_and_verdicts():
    configs = _configs()
    cur = R.curve(configs, "mnist")
    s = R.curve_summary(cur)
    assert s["evaluable"] == 6 and s["holds"] == 3 and s["share_holds"] == 0.5
    assert s["status"] == claims.NOT_RESOLVED and s["literal_status"] == claims.DOES_NOT_HOLD
    table = T.curve_table(cur)
    assert "status" in table and table["mark"].str.contains("◆").sum() == 1
    assert {"ratio of excesses", "raw ratio", "seeds counted"} <= set(table.columns)
    assert any("acc" in c for c in table.columns)
    verdicts = R.verdicts_from(configs, None, "test")
    ids = {v.claim: v for v in verdicts}
    assert ids["table2.ratio.mnist.grid"].status == claims.NOT_EVALUABLE  # no per-seed counts: no joint test
    assert ids["table2.ratio.mnist.grid"].interval is None  # a range of point estimates is not an interval
    # the deciding configuration (no penalty, kernel, protocol a, PGD): ratio 1 [0.9, 1.1], outside the band, but
    # 3 counted seeds cannot decide: not resolved, with the design's numbers in the rule
    dec = ids["table2.ratio.mnist.deciding"]
    assert dec.ours == pytest.approx(1.0) and dec.interval == pytest.approx((0.9, 1.1))
    assert dec.status == claims.NOT_RESOLVED and dec.design == "excess-ratio-band" and "cannot decide" in dec.rule
    assert ids["ratio.v2.mnist"].status == claims.NOT_RESOLVED and ids["ratio.v2.mnist"].paper_value == "2–9×"
    assert ids["eps_sweep.mnist"].status == claims.NOT_RUN and ids["table4.rise.mnist"].status == claims.NOT_RUN
    assert ids["table2.ratio.cifar10.deciding"].status == claims.NOT_RUN
    # an unknown profile has no simulated design: its decisive statuses become "not resolved" by construction
    lit = ids["table2.ratio.mnist.literal"]
    assert lit.status == claims.NOT_RESOLVED and lit.design == "excess-ratio-band" and "cannot decide" in lit.rule
    assert ids["table2.ratio.mnist.literal"].ours == pytest.approx(1.0)
    assert ids["table3.ratio.mnist-3v8.grid"].status == claims.NOT_RUN
    assert all(v.chapter == R.CHAPTER for v in verdicts)
    nums = R.chapter_numbers(configs)
    assert nums["mnist_deciding"] == "influence reading" and nums["paper_low_mnist"] == paper.RATIO_CLAIMS["mnist"][0]
    assert nums["cifar10_status"] == claims.NOT_RUN and math.isnan(nums["cifar10_literal_ratio"])
    assert nums["adv_mnist_status"] == claims.NOT_RUN
    assert nums["weight_ratio_w_attn"] == 0.5 and nums["acc_relu_none"] == 50.0
    assert math.isnan(nums["weight_ratio_w_w0_relu"])
    assert nums["mnist_deciding_status"] == claims.DOES_NOT_HOLD and nums["mnist_band_below"] == 3
    assert nums["mnist_band_inside"] == 3 and nums["mnist_band_not_evaluable"] == 2
    assert nums["mnist_excluded"] == 8 and nums["mnist_rows"] == 48 and nums["floor_ten_pct"] == pytest.approx(55)
    assert T.literal_penalty_at_init(1e-3, 784, 256) == pytest.approx(100.352)
    control = _configs().assign(attack="random")
    assert len(T.control_table(control, "mnist")) == 8 and len(T.control_table(configs, "mnist")) == 0
    assert all(type(v) in (int, float, str, bool) for v in nums.values())
    # the prose's literal status is the gated verdict's, not the configuration's own (here: does not hold)
    assert nums["mnist_literal_status"] == claims.DOES_NOT_HOLD
    gated = R.chapter_numbers(configs, None, verdicts)
    assert gated["mnist_literal_status"] == lit.status == claims.NOT_RESOLVED


def test_claim_verdicts_without_a_run_are_not_run(tmp_path):
    verdicts = R.claim_verdicts("quick", cache_dir=tmp_path)
    assert verdicts and all(v.status == claims.NOT_RUN for v in verdicts)


def test_poisoning_table_from_rates():
    rates = pd.DataFrame([
        {"task": "mnist-3v8", "arch": a, "fraction": 0.05, "perturbation": k, "protocol": "a", "successes": s,
         "targets": 48, "rate": s / 48, "low": wilson_interval(s, 48)[0], "high": wilson_interval(s, 48)[1],
         "test_accuracy": 0.9, "krr_test_accuracy": 0.9}
        for a, k, s in (("relu", "pgd", 40), ("relu", "random", 2), ("attn", "pgd", 10), ("attn", "random", 1))])
    tab = T.poisoning_table(rates)
    assert len(tab) == 1
    row = tab.iloc[0]
    assert row["2L-ReLU beats control"] == claims.HOLDS and "MLP-Attn easier" not in row
    pairs = pd.DataFrame([{"task": "mnist-3v8", "fraction": 0.05, "protocol": "a", "seeds": 6, "diff": -0.5,
                           "low": -0.6, "high": -0.4}])
    assert T.poisoning_table(rates, pairs).iloc[0]["MLP-Attn − 2L-ReLU, paired by seed (pp)"] == (
        "-50 [-60, -40] over 6 seeds")
    assert np.all([isinstance(v, str) for v in tab.filter(like="%").iloc[0][1:]])


def test_a_choice_that_moves_the_direction_decides():
    configs = _configs()
    # the claim never holds, but protocol a puts MLP-Attn above 1x and protocol b below
    configs["ratio"] = np.where(configs.protocol == "a", 2.0, 0.5)
    configs["ratio_low"], configs["ratio_high"] = configs.ratio * 0.9, configs.ratio * 1.1
    configs.loc[~configs.evaluable, ["ratio", "ratio_low", "ratio_high"]] = math.nan
    dec = R.deciding_choices(R.curve(configs, "mnist"))
    decides = dec.groupby("choice").decides.first()
    assert decides["protocol"] and not decides["reading"]
    assert (dec.holds == 0).all()
    assert dec[(dec.choice == "protocol") & (dec.value == "a")].share_above.iloc[0] == 1.0


def test_figures_have_labelled_axes_and_the_claim_band():
    import matplotlib

    matplotlib.use("Agg")
    from ntkbook.plotting import malleability as P

    configs = _configs()
    configs.loc[0, ["ratio", "ratio_low", "ratio_high"]] = [math.inf, 2.0, math.inf]
    configs.loc[2, ["ratio", "ratio_low", "ratio_high"]] = [-0.2, -math.inf, 0.5]  # excess ratio below zero
    cur = R.curve(configs, "mnist")
    fig = P.specification_curve(cur, claimed=CLAIM, choices=list(M.CHOICES), choice_labels=R.CHOICE_LABELS,
                                value_labels=R.VALUE_LABELS)
    top, bottom = fig.get_axes()
    assert top.get_yscale() == "symlog" and top.get_ylim()[0] < -0.2 and top.get_ylim()[1] > 9 and top.get_ylabel()
    assert len(bottom.get_yticks()) == 6  # l2_form, reading, protocol: two values each
    rates = pd.DataFrame([{"task": "mnist-3v8", "arch": a, "fraction": f, "perturbation": k, "protocol": "a",
                           "rate": 0.5, "low": 0.3, "high": 0.7} for a in ("relu", "attn") for f in (0.05, 0.2)
                          for k in ("pgd", "random")])
    ax = P.poisoning_success(rates).get_axes()[0]
    assert ax.get_ylim() == (0.0, 100.0) and ax.get_xlabel() and len(ax.lines) >= 4
    with pytest.raises(ValueError, match="nothing to plot"):
        P.specification_curve(cur.iloc[0:0])


@pytest.mark.realdata
def test_claim_verdicts_read_the_chapters_results_from_the_cache(real_data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("NTKBOOK_DATA", str(real_data_dir))
    spec = M.resolve("quick")
    res = M.sweep(spec, cache_dir=tmp_path)
    verdicts = {v.claim: v for v in R.claim_verdicts("quick", cache_dir=tmp_path)}
    grid = verdicts["table2.ratio.mnist.grid"]
    assert grid.status != claims.NOT_RUN and grid.profile == "quick" and grid.section == R.SECTIONS["table2"]
    assert verdicts["table2.ratio.cifar10.grid"].status == claims.NOT_RUN  # not in the quick grid
    # the same verdicts as the chapter computes from the frames it ran
    direct = {v.claim: v for v in R.verdicts_from(S.configurations(res["grid"]),
                                                  S.poisoning_rates(res["poisoning"]), "quick", grid=res["grid"],
                                                  poison=res["poisoning"])}

    def key(v):
        return v.status, None if v.ours is None or math.isnan(v.ours) else v.ours

    assert {k: key(v) for k, v in direct.items()} == {k: key(v) for k, v in verdicts.items()}


def test_display_tables_typeset_headers_and_small_numbers():
    """Tables show typeset names, not code names ($m$, $n$, the penalties as math), and numbers too small for a
    fixed format in typeset scientific notation; `ntkbook.notebook.table` renders them with status badges."""
    from ntkbook.notebook import table

    configs = _configs()
    configs.loc[configs.evaluable, ["ratio", "ratio_low", "ratio_high"]] = [2e-3, 1e-3, 4e-3]
    cur = R.curve(configs, "mnist")
    tab = T.curve_table(cur)
    assert {"$m$", "$n$", "L2 penalty"} <= set(tab.columns)
    assert not {"l2_form", "n_train", "width"} & set(tab.columns)
    assert set(tab["L2 penalty"]) == {R.TEX_VALUE_LABELS["w"], R.TEX_VALUE_LABELS["none"]}
    assert r"$2.0\times10^{-3}$ [$1.0\times10^{-3}$, $4.0\times10^{-3}$]" in set(tab["ratio of excesses"])
    html = table(tab)._repr_html_()
    assert "ntk-badge" in html and r"\(\lambda\lVert W\rVert^2\)" in html and "e-03" not in html
    dec = T.deciding_table(R.deciding_choices(cur))
    assert r"$2.0\times10^{-3}$" in set(dec["median ratio"])
    frame = pd.DataFrame([{"task": "mnist", "arch": a, "seed": s, "training": "standard", "loss": "xent",
                           "l2_form": "w", "width": 64, "n_train": 100, "n_test": 100, "n_classes": 10,
                           "test_correct": 90, "krr_test_correct": 90, "train_accuracy": 1.0, "test_accuracy": 0.9,
                           "krr_test_accuracy": 0.9, "weight_ratio": 1e-3, "protocol": p, "attack": "pgd",
                           "n_flips": 1, "retrained_test_accuracy": 0.9 if p == "b" else math.nan}
                          for a in ("relu", "attn") for s in (0, 1) for p in ("a", "b")])
    frame.loc[(frame.arch == "attn") & (frame.seed == 1) & (frame.protocol == "b"), "retrained_test_accuracy"] = 0.2
    tt = T.training_table(frame)
    assert {"$m$", "$n$", R.WEIGHT_RATIO} <= set(tt.columns) and set(tt[R.WEIGHT_RATIO]) == {r"$1.00\times10^{-3}$"}
    assert set(tt.status) == {claims.HOLDS} and list(tt["trained: learned"]) == ["2 of 2", "2 of 2"]
    assert list(tt["retrained (b): learned"].str[:6]) == ["1 of 2", "2 of 2"]  # attn first (sorted), then relu


def test_book_text_never_holds_a_machine_path():
    for text in ("see /home/user/data/mnist", r"in C:\data", "(~/data/x)", "file:///tmp/x"):
        with pytest.raises(ValueError, match="machine path"):
            T.no_path(text)
    assert T.no_path("MNIST 3 vs 8, 1/2 of the split") == "MNIST 3 vs 8, 1/2 of the split"
    text = T.grid_description(M.resolve("default"))
    assert "MNIST" in text and "cross-entropy" in text and f"{len(M.resolve('default').seeds)} seeds" in text


def test_data_notes_are_in_words():
    """The split notes the chapter prints (digits: no train split, so train and test are drawn from one split),
    one sentence per distinct note, and no machine path (`no_path` would raise)."""
    spec = M.resolve("quick", tasks=("digits",), poison_tasks=("digits-3v8",))
    notes = T.data_notes(spec)
    assert notes.count("drawn") == 2 and "digits" in notes


def test_default_designs_of_chapter_4_cannot_decide_a_ratio():
    # 3 seeds x 20 counted points at a 2L-ReLU flip rate near 5 %: the ratio's interval cannot fit in the band
    d = R._design("ratio-band", "default")
    assert not d.decides and d.power < 0.8 and "seeds" in d.needed
    assert claims.gated(claims.HOLDS, d) == claims.NOT_RESOLVED


def unit_rows(ratios, seeds=8, n_top=400, p_relu=0.05, seed_sd=0.1, rng_seed=0):
    """Unit rows (`experiments.malleability.sweep`'s "grid") of MNIST configurations differing in width: per
    configuration c and seed, flip counts ~ Binomial(n_top, p) with MLP-Attn's p = ratios[c] * p_relu, both models
    trained (test accuracy 90 %)."""
    rng = np.random.default_rng(rng_seed)
    rows = []
    for c, ratio in enumerate(ratios):
        for seed in range(seeds):
            shared = seed_sd * rng.normal()
            for arch, p in (("relu", p_relu), ("attn", ratio * p_relu)):
                rate = min(0.99, p * math.exp(shared + seed_sd * rng.normal()))
                flips = int(rng.binomial(n_top, rate))
                rows.append({"task": "mnist", "arch": arch, "seed": seed, "training": "standard", "loss": "xent",
                             "train_loss": "xent", "retrained_test_correct": -1,
                             "l2_form": "w", "width": 16 * (c + 1), "n_train": 100, "n_test": 1000, "n_classes": 10,
                             "train_accuracy": 0.95, "test_accuracy": 0.9, "krr_train_accuracy": 0.95,
                             "krr_test_accuracy": 0.9, "test_correct": 900, "krr_test_correct": 900,
                             "weight_ratio": 1.0, "attack": "pgd", "protocol": "a", "reading": "kernel",
                             "flip_rate": flips / n_top, "n_top": n_top, "n_flips": flips, "spearman": 0.5,
                             "topk_overlap": 0.5, "attack_gain": 0.1, "retrained_test_accuracy": math.nan,
                             "unit_seconds": 1.0})
    return pd.DataFrame(rows)


def test_configurations_pool_the_flip_counts_with_seed_clustering():
    grid = unit_rows([7.0, 2.0], seeds=3)
    configs = S.configurations(grid)
    counts = R.seed_counts(grid)
    for _, row in configs.iterrows():
        g = counts[counts.width == row.width]
        a, r = g[g.arch == "attn"], g[g.arch == "relu"]
        want = claims.log_ratio_interval(a.n_flips, a.n_top, r.n_flips, r.n_top)
        assert (row.raw_ratio, row.raw_ratio_low, row.raw_ratio_high) == pytest.approx(want)
        assert row.decided == "raw" and (row.ratio, row.ratio_low, row.ratio_high) == pytest.approx(want)
    with pytest.raises(ValueError, match="n_flips"):
        R.seed_counts(grid.drop(columns="n_flips"))


def test_the_decided_ratio_is_of_flips_in_excess_of_the_control():
    """With the random-sign control in the same units, an attack's ratio is of excess flips (Fieller), the raw one
    is shown beside it; an attack that flips MLP-Attn no more than random signs has an excess ratio near 0 even
    when its raw ratio is in the band."""
    attack = unit_rows([7.0], seeds=12, n_top=100, p_relu=0.08, rng_seed=3)
    control = unit_rows([28.0], seeds=12, n_top=100, p_relu=0.02, rng_seed=4).assign(attack="random")
    grid = pd.concat([attack, control], ignore_index=True)
    row = S.configurations(grid).set_index("attack").loc["pgd"]
    assert row.decided == "excess" and row.evaluable
    from ntkbook import excess
    a = (attack[attack.arch == "attn"], control[control.arch == "attn"])
    r = (attack[attack.arch == "relu"], control[control.arch == "relu"])
    want = excess.excess_ratio_interval(a[0].n_flips, a[1].n_flips, a[0].n_top, r[0].n_flips, r[1].n_flips,
                                        r[0].n_top)
    assert (row.ratio, row.ratio_low, row.ratio_high) == pytest.approx(want)
    # 7x raw, but random signs flip MLP-Attn as often as the attack does (0.56): its excess, and the ratio, near 0
    assert 0.7 * 7 < row.raw_ratio < 1.3 * 7 and abs(row.ratio) < 1
    cur = R.curve(S.configurations(grid), "mnist")
    assert cur.raw_status.iloc[0] != claims.DOES_NOT_HOLD and cur.status.iloc[0] != claims.HOLDS


def test_grid_joint_status_decides_each_way_against_the_null_curve():
    claim = paper.RATIO_CLAIMS["mnist"]
    inside = R.seed_effects(unit_rows([7.0] * 6), "mnist")
    assert inside[1].shape == (6, 8) and len(inside[0]) == 6
    status, tests = R.grid_joint_status(inside[1], claim)
    assert status == claims.HOLDS and tests["low"]["above"] == 6 and tests["low"]["p_above"] <= 0.05
    below = R.seed_effects(unit_rows([1.5] * 6), "mnist")[1]
    assert R.grid_joint_status(below, claim)[0] == claims.DOES_NOT_HOLD
    # half the configurations inside the band, half far below it: both counts significant, so the grid decides
    # neither way (not "partly"); the counts say how it splits
    mixed = R.seed_effects(unit_rows([7.0] * 3 + [1.0] * 3), "mnist")[1]
    status, tests = R.grid_joint_status(mixed, claim)
    assert status == claims.NOT_RESOLVED and (tests["low"]["above"], tests["low"]["below"]) == (3, 3)
    # a ratio at the band's edge (4.8): not significantly inside, not significantly outside
    edge = R.seed_effects(unit_rows([6.0 / 1.25] * 6), "mnist")[1]
    assert R.grid_joint_status(edge, claim)[0] == claims.NOT_RESOLVED
    # three seeds: 8 sign patterns, p >= 1/9, so no grid is significant whatever the ratios
    three = R.seed_effects(unit_rows([7.0] * 6, seeds=3), "mnist")[1]
    status, tests = R.grid_joint_status(three, claim)
    assert status == claims.NOT_RESOLVED and tests["low"]["smallest_p"] == pytest.approx(1 / 9)
    assert R.grid_joint_status(np.zeros((0, 0)), claim)[0] == claims.NOT_EVALUABLE


def test_grid_verdict_is_the_joint_test_gated_by_its_design():
    grid = unit_rows([7.0] * 4, seeds=8)
    configs = S.configurations(grid)
    v = {x.claim: x for x in R.verdicts_from(configs, None, "default", grid=grid)}["table2.ratio.mnist.grid"]
    # the joint test holds, but the default profile's design (3 seeds, 24 configurations) cannot decide
    assert R.grid_joint_status(R.seed_effects(grid, "mnist")[1], paper.RATIO_CLAIMS["mnist"])[0] == claims.HOLDS
    assert not R._design("grid", "default").decides and v.status == claims.NOT_RESOLVED and v.design == "grid"
    assert "joint test on 4 configurations sharing 8 seeds" in v.rule and "holds in 4" in v.rule
    # without the unit rows there is no joint test
    v = {x.claim: x for x in R.verdicts_from(configs, None, "default")}["table2.ratio.mnist.grid"]
    assert v.status == claims.NOT_EVALUABLE and "needs every seed" in v.rule


def test_table4_is_the_joint_test_on_per_seed_rises_gated_by_its_design():
    std = unit_rows([3.0, 3.0], seeds=8, p_relu=0.05)
    adv = unit_rows([3.0, 3.0], seeds=8, p_relu=0.15, rng_seed=1).assign(training="adversarial")
    grid = pd.concat([std, adv], ignore_index=True)
    rows, effects = R.rise_effects(grid, "mnist")
    assert effects.shape == (4, 8) and set(rows.arch) == {"relu", "attn"}
    status, test = R.rise_grid_status(effects)
    assert status == claims.HOLDS and test["above"] == 4
    assert R.rise_grid_status(-effects)[0] == claims.DOES_NOT_HOLD
    configs = S.configurations(grid)
    v = {x.claim: x for x in R.verdicts_from(configs, None, "default", grid=grid)}["table4.rise.mnist"]
    design = R._grid_design("default", 8, 4)
    assert v.design == "grid" and v.status == (claims.HOLDS if design.decides else claims.NOT_RESOLVED)
    assert "4 rises, 0 falls of 4 rows" in v.rule
    v = {x.claim: x for x in R.verdicts_from(configs, None, "default")}["table4.rise.mnist"]
    assert v.status == claims.NOT_EVALUABLE and v.design == ""


def test_choice_tests_find_the_choice_that_moves_the_ratio_with_interactions_in_the_model():
    from ntkbook.report import malleability_choices as C

    # widths 16 and 32 (ratios 7 and 2) crossed with two L2 forms that change nothing
    parts = []
    for form, rng_seed in (("w", 0), ("none", 1)):
        parts.append(unit_rows([7.0, 2.0], seeds=8, n_top=400, rng_seed=rng_seed).assign(l2_form=form))
    grid = pd.concat(parts, ignore_index=True)
    tests = C.choice_tests(grid, "mnist").set_index("choice")
    assert set(tests.index) == {"width", "l2_form"}
    assert tests.loc["width", "decides"] and tests.loc["width", "p"] < 1e-6
    assert tests.loc["width", "df"] == 2 and tests.loc["l2_form", "df"] == 2  # main effect + one interaction
    assert not tests.loc["l2_form", "decides"]
    # a single configuration, or one seed, leaves nothing to test
    assert C.choice_tests(unit_rows([7.0], seeds=8), "mnist").empty
    assert C.choice_tests(unit_rows([7.0, 2.0], seeds=1), "mnist").empty


def test_the_papers_tables_stand_beside_ours_at_the_deciding_configuration():
    attack = unit_rows([0.6], seeds=4, n_top=50, p_relu=0.4).assign(l2_form="none")
    control = unit_rows([2.0], seeds=4, n_top=50, p_relu=0.12, rng_seed=1).assign(l2_form="none", attack="random")
    configs = S.configurations(pd.concat([attack, control], ignore_index=True))
    t2 = T.paper_table(configs, "mnist", "table2").set_index(["model", "attack"])
    assert t2.loc[("MLP-Attn", "FGSM"), "paper (%)"] == "34.6"  # the paper's number, from ntkbook.paper.TABLE2
    pgd = configs[configs.attack == "pgd"].iloc[0]
    assert t2.loc[("2L-ReLU", "PGD"), "ours, raw (%)"].startswith(f"{100 * pgd.relu_flip:.0f} [")
    assert t2.loc[("2L-ReLU", "PGD"), "ours, excess (%)"].startswith(f"{100 * pgd.relu_excess:.0f} [")
    assert t2.loc[("2L-ReLU", "FGSM"), "ours, raw (%)"] == "not run" and not t2.isna().any().any()
    t3 = T.paper_table(configs, "mnist-3v8", "table3")
    assert set(t3["ours, raw (%)"]) == {"not run"} and "41" in set(t3["paper (%)"])
    t4 = T.paper_table4(configs, "mnist").set_index(["model", "training"])
    assert t4.loc[("2L-ReLU", "adversarial"), "paper (%)"] == "43.4"
    assert t4.loc[("2L-ReLU", "adversarial"), "ours, raw (%)"] == "not run"


def _poison_rows(attn_rate, relu_rate, seeds=10, targets=20, rng_seed=0):
    """Poisoning unit rows: per seed and model, `targets` attacked targets succeeding with the given rate (plus a
    random-sign control that never succeeds)."""
    rng = np.random.default_rng(rng_seed)
    rows = []
    for seed in range(seeds):
        for arch, rate in (("attn", attn_rate), ("relu", relu_rate)):
            for kind, p in (("pgd", rate), ("random", 0.0)):
                for t in range(targets):
                    rows.append({"task": "mnist-3v8", "arch": arch, "seed": seed, "fraction": 0.05,
                                 "perturbation": kind, "target": t, "success_a": float(rng.random() < p),
                                 "success_b": math.nan, "test_accuracy": 0.95, "krr_test_accuracy": 0.95})
    return pd.DataFrame(rows)


def test_easier_to_poison_is_decided_on_per_seed_paired_differences_each_way():
    for attn, relu, want in ((0.8, 0.2, claims.HOLDS), (0.2, 0.8, claims.DOES_NOT_HOLD),
                             (0.5, 0.5, claims.NOT_RESOLVED)):
        poison = _poison_rows(attn, relu)
        pairs = S.poisoning_pairs(poison)
        assert list(pairs.protocol) == ["a"] and int(pairs.seeds.iloc[0]) == 10  # protocol b not run: left out
        per_seed = poison[poison.perturbation == "pgd"].groupby(["seed", "arch"]).success_a.mean().unstack()
        assert pairs["diff"].iloc[0] == pytest.approx((per_seed.attn - per_seed.relu).mean())
        (v,) = R.poisoning_verdicts(poison, "default")
        assert v.claim == "poisoning.easier.mnist-3v8.5" and v.status == want and v.beyond_paper
    (few,) = R.poisoning_verdicts(_poison_rows(0.9, 0.1, seeds=2), "default")
    assert few.status == claims.NOT_RESOLVED  # two seeds: the design cannot decide


def test_the_retrained_protocol_gets_its_own_poisoning_verdict():
    poison = _poison_rows(0.2, 0.8)
    retrained = poison.assign(success_b=poison["success_a"].map(lambda s: 1.0 - s))  # the other way round under (b)
    verdicts = {v.claim: v for v in R.poisoning_verdicts(retrained, "default")}
    assert set(verdicts) == {"poisoning.easier.mnist-3v8.5", "poisoning.easier-retrained.mnist-3v8.5"}
    assert verdicts["poisoning.easier.mnist-3v8.5"].status == claims.DOES_NOT_HOLD
    assert verdicts["poisoning.easier-retrained.mnist-3v8.5"].status == claims.HOLDS
    assert "retrained" in verdicts["poisoning.easier-retrained.mnist-3v8.5"].rule


def test_excess_words_say_when_the_ratio_of_excesses_is_not_identified():
    """2L-ReLU's excess interval straddling 0 (binary MNIST at decisive: PGD flips no more than random signs) leaves
    the ratio of excesses unidentified, and the words say so; an excess interval above 0 does not."""
    row = {"relu_excess": -0.023, "relu_excess_low": -0.054, "relu_excess_high": 0.009, "attn_excess": 0.11,
           "attn_excess_low": 0.073, "attn_excess_high": 0.147}
    words = R.excess_words(row)
    assert "−2.3 [−5.4, 0.9] points (2L-ReLU)" in words and "11.0 [7.3, 14.7] points (MLP-Attn)" in words
    assert "not identified" in words
    assert "not identified" not in R.excess_words({**row, "relu_excess_low": 0.01, "relu_excess_high": 0.05})


def test_the_deciding_text_gives_the_interval_or_says_it_is_unbounded():
    configs = _configs()
    nums = R.chapter_numbers(configs)
    assert nums["mnist_deciding_text"].startswith("1× [0.9, 1.1] (raw ratio")
    assert "excess flips over the random-sign control" in nums["mnist_deciding_text"]
    assert nums["cifar10_deciding_text"] == "not run at this profile"
    cur = R.curve(configs, "mnist")
    dec = cur[cur.deciding].iloc[0]
    open_ended = configs.copy()
    same = np.ones(len(open_ended), bool)
    for col in ("task", "training", "loss", "l2_form", "width", "n_train", "reading", "protocol", "attack"):
        same &= (open_ended[col] == dec[col]).to_numpy()
    assert same.sum() == 1
    open_ended.loc[same, ["ratio_low", "ratio_high"]] = [-np.inf, np.inf]
    text = R.chapter_numbers(open_ended)["mnist_deciding_text"]
    assert text.startswith("unbounded (its 95 % interval has an infinite end) (raw ratio")
    whole_line = {v.claim: v for v in R.verdicts_from(open_ended, None, "test")}["table2.ratio.mnist.deciding"]
    assert whole_line.ours is None and whole_line.interval == (-np.inf, np.inf)  # no point value for no ratio
