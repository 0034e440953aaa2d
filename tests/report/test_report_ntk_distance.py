"""ntkbook.report.ntk_distance: the rules drive every status they can return; tables and verdicts from
synthetic sweep rows (no training here)."""

import math
import re

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from ntkbook import claims  # noqa: E402
from ntkbook.experiments import ntk_distance as nd  # noqa: E402
from ntkbook.report import ntk_distance as R  # noqa: E402

WIDTHS = (16, 64, 256)


def fake_runs(slopes=None, acc=None, seeds=5, noise=0.02, datasets=("mnist", "cifar10"), centred=(False, True),
              widths=WIDTHS, shape=None):
    """Sweep-shaped rows whose distance follows c m^slope with per-seed noise in the slope (or, for the groups in
    `shape`, slope s_early up to the middle width and s_late after it); the linearised network's distance to the
    infinite-width counterpart follows m^(-1/2). Accuracy a: test a, train a + 0.2 (a itself below 0.2: an
    untrained model)."""
    shape = shape or {}
    slopes = slopes or {}
    acc = acc or {}
    rng = np.random.default_rng(0)
    rows = []
    for ds in datasets:
        for c in centred:
            for arch in ("relu", "attn"):
                for protocol in ("adam", "gd"):
                    s0 = slopes.get((ds, arch, protocol), -0.3)
                    a = acc.get((ds, arch, protocol), 0.6)
                    for seed in range(seeds):
                        s = s0 + noise * rng.normal()
                        mid = widths[len(widths) // 2]
                        for w in widths:
                            if (ds, arch, protocol) in shape:
                                e, late = shape[(ds, arch, protocol)]
                                logd = (e * math.log(min(w, mid)) + late * math.log(max(w, mid) / mid)
                                        + noise * rng.normal())
                            else:
                                logd = s * math.log(w)
                            rows.append({"dataset": ds, "arch": arch, "centred": c, "protocol": protocol,
                                         "width": w, "seed": seed, "n_classes": 10, "n_train": 100, "n_test": 200,
                                         "dist_abs": 5.0 * math.exp(logd), "dist_rel_learned": 0.5 * w**s,
                                         "lin_dist_inf": 3.0 * w**-0.5 * (1 + 0.01 * rng.normal()),
                                         "dist_lin": 2.0 * w**s, "objective_gap": 0.01, "ntk_residual": 1e-12,
                                         "dist_t100": 2.0 * math.exp(logd) if protocol == "gd" else math.nan,
                                         "dist_t1000": 5.0 * math.exp(logd) if protocol == "gd" else math.nan,
                                         "kernel_dist_final": 0.3 * w**-0.5, "kernel_dist_init": 0.3 * w**-0.5,
                                         "test_acc": a + 0.01 * rng.normal(),
                                         "train_acc": min(1.0, a + 0.2) if a >= 0.2 else a + 0.01 * rng.normal(),
                                         "train_loss": 0.5, "train_loss_init": 2.3, "steps": 100,
                                         "criterion_met": True, "kernel_steps": 50.0, "ntk_test_acc": a,
                                         "ntk0_test_acc": a + 0.1})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- rules


def test_mean_interval_and_slope_interval():
    mean, iv = R.mean_interval([1.0, 2.0, 3.0])
    # t_{0.975, 2} = 4.30265, sd = 1, n = 3: half-width 4.30265 / sqrt 3 = 2.48414
    assert mean == 2.0 and iv == pytest.approx((2.0 - 2.48414, 2.0 + 2.48414), abs=1e-5)
    assert R.mean_interval([]) == (pytest.approx(math.nan, nan_ok=True), None)
    assert R.mean_interval([1.0])[1] is None
    assert R.slope_interval([-0.5, -0.45, -0.55])[2] == "decreasing"
    assert R.slope_interval([0.5, 0.45, 0.55])[2] == "increasing"
    assert R.slope_interval([-0.5, 0.5, 0.1])[2] == "not resolved"
    assert R.slope_interval([0.3])[2] == "not resolved"


def test_trend_status_reaches_every_status():
    assert R.trend_status("decreasing", (-0.3, -0.1), trained_everywhere=True) == claims.HOLDS
    assert R.trend_status("increasing", (-0.3, -0.1), trained_everywhere=True) == claims.DOES_NOT_HOLD
    assert R.trend_status("increasing", (-0.3, 0.1), trained_everywhere=True) == claims.NOT_RESOLVED
    assert R.trend_status("increasing", (0.1, 0.3), trained_everywhere=False) == claims.NOT_EVALUABLE
    assert R.trend_status("increasing", None, trained_everywhere=True) == claims.NOT_EVALUABLE
    assert R.trend_status("increasing", (0.1, 0.3), trained_everywhere=True, ran=False) == claims.NOT_RUN


def test_trained_and_claimed_direction():
    assert R.trained((0.12, 0.3), 0.1) and not R.trained((0.05, 0.3), 0.1) and not R.trained(None, 0.1)
    assert R.claimed_direction("non-monotonic, then increasing") == "increasing"
    assert R.claimed_direction("decreasing") == "decreasing"
    with pytest.raises(ValueError, match="direction"):
        R.claimed_direction("flat-ish")


# ---------------------------------------------------------------- tables and verdicts from rows


def test_slope_table_recovers_the_slopes_with_intervals():
    runs = fake_runs({("mnist", "attn", "adam"): 0.25})
    s = R.slope_table(runs)
    row = s[(s.dataset == "mnist") & (s.arch == "attn") & (s.protocol == "adam") & ~s.centred].iloc[0]
    assert row["lo"] < 0.25 < row["hi"] and row["direction"] == "increasing" and row["n_seeds"] == 5


def test_verdicts_follow_the_measurements():
    # paper: ReLU decreasing, MLP-Attn increasing. Ours: ReLU decreasing on MNIST (holds), MLP-Attn decreasing on
    # MNIST (does not hold), MLP-Attn noisy on CIFAR (not resolved), ReLU at chance on CIFAR (not evaluable)
    runs = fake_runs({("mnist", "attn", "adam"): -0.3, ("cifar10", "attn", "adam"): 0.0},
                     acc={("cifar10", "relu", "adam"): 0.1})
    runs.loc[(runs.dataset == "cifar10") & (runs.arch == "attn") & (runs.protocol == "adam"), "dist_abs"] *= \
        np.exp(0.3 * np.random.default_rng(1).normal(size=int(((runs.dataset == "cifar10") & (runs.arch == "attn")
                                                              & (runs.protocol == "adam")).sum())))
    spec = nd.resolve("default")
    v = {x.claim: x for x in R.verdicts_from_results(spec, runs)}
    assert v["table1.trend.mnist.2L-ReLU"].status == claims.HOLDS
    assert v["table1.trend.mnist.MLP-Attn"].status == claims.DOES_NOT_HOLD
    assert v["table1.trend.cifar10.MLP-Attn"].status == claims.NOT_RESOLVED
    assert v["table1.trend.cifar10.2L-ReLU"].status == claims.NOT_EVALUABLE
    assert v["table1.gd-trend.mnist.2L-ReLU"].beyond_paper and not v["table1.trend.mnist.2L-ReLU"].beyond_paper
    lo, hi = v["table1.trend.mnist.2L-ReLU"].interval
    assert lo < v["table1.trend.mnist.2L-ReLU"].ours < hi < 0
    # every decided verdict names its design, which decides at the measured noise
    design = R.trend_design(spec, R.slope_noise(runs))
    assert design.decides and v["table1.trend.mnist.2L-ReLU"].design == "trend" == design.name
    assert f"SD {R.slope_noise(runs):.3f}" in v["table1.trend.mnist.2L-ReLU"].rule
    # no unformatted f-string placeholder ("{name:spec}") in a rule (TeX braces such as f_{\\mathrm{NTK}} are fine)
    assert not any(re.search(r"\{[\w.]+:[^}]*\}", x.rule) for x in v.values())
    # a data set the profile did not run
    v2 = {x.claim: x for x in R.verdicts_from_results(spec, fake_runs(datasets=("mnist",)))}
    assert v2["table1.trend.cifar10.2L-ReLU"].status == claims.NOT_RUN


def test_pooled_sd_and_measured_noise():
    # groups (1, 2, 3) and (2, 4): (2 * 1 + 1 * 2) / 3 = 4 / 3; single values and NaN add nothing
    assert R.pooled_sd([[1.0, 2.0, 3.0], [2.0, 4.0], [7.0], [math.nan]]) == pytest.approx(math.sqrt(4 / 3), rel=1e-12)
    assert math.isnan(R.pooled_sd([[1.0], []]))
    quiet, loud = fake_runs(noise=0.02), fake_runs(noise=0.3)
    assert R.slope_noise(quiet) == pytest.approx(0.02, rel=0.35) and R.slope_noise(loud) == pytest.approx(0.3, rel=0.35)
    # a paired difference of two independent slopes spreads sqrt(2) times as much
    assert R.difference_noise(loud) == pytest.approx(0.3 * math.sqrt(2), rel=0.35)
    assert math.isnan(R.slope_noise(fake_runs(seeds=1)))


def test_an_underpowered_design_turns_every_trend_verdict_into_not_resolved():
    # the same directions as the holds case above, but with a seed-to-seed slope SD of 0.3 at 5 seeds: a slope of
    # 0.2 cannot be told from 0, so the design does not decide and no verdict says holds or does not hold
    spec = nd.resolve("default")
    runs = fake_runs({("mnist", "attn", "adam"): 1.0, ("mnist", "relu", "adam"): -1.0}, noise=0.3)
    design = R.trend_design(spec, R.slope_noise(runs))
    assert not design.decides and design.needed
    v = {x.claim: x for x in R.verdicts_from_results(spec, runs)}
    assert v["table1.trend.mnist.MLP-Attn"].interval[0] > 0  # the ungated rule would say holds
    gated = {k: x for k, x in v.items() if ".trend." in k or "contrast" in k}
    assert gated and all(x.status == claims.NOT_RESOLVED for x in gated.values()), {k: x.status for k, x in v.items()}
    assert R.table1(runs, spec).loc[1, "Adam"] == claims.NOT_RESOLVED and R.table1(runs).loc[1, "Adam"] == claims.HOLDS


def test_contrast_is_decided_on_the_paired_slope_difference():
    spec = nd.resolve("default")
    runs = fake_runs({("mnist", "attn", "adam"): 0.25, ("mnist", "relu", "adam"): -0.3,
                      ("cifar10", "attn", "adam"): -0.5, ("cifar10", "relu", "adam"): -0.1})
    v = {x.claim: x for x in R.contrast_verdicts(spec, runs)}
    assert set(v) == {"table1.contrast.mnist", "table1.gd-contrast.mnist", "table1.contrast.cifar10",
                      "table1.gd-contrast.cifar10"}
    m = v["table1.contrast.mnist"]
    assert m.status == claims.HOLDS and m.design == "slope-difference" and m.ours == pytest.approx(0.55, abs=0.05)
    assert v["table1.contrast.cifar10"].status == claims.DOES_NOT_HOLD
    assert v["table1.gd-contrast.mnist"].beyond_paper and not m.beyond_paper
    # the interval is the paired one: per-seed attn - relu, t-interval over the shared seeds
    pair = R.paired_slopes(runs, "mnist", "adam")
    mean, lo, hi = claims.paired_difference(pair["attn"].to_numpy(), pair["relu"].to_numpy())
    assert m.interval == pytest.approx((lo, hi)) and len(pair) == 5
    # only seeds both models ran are paired
    drop = runs[~((runs.arch == "relu") & runs.seed.isin([3, 4]))]
    assert dict(R.contrast_verdicts(spec, drop)[0].config)["seeds_paired"] == 3
    # a model that did not train makes the comparison not evaluable; a data set not run: not run
    v = {x.claim: x for x in R.contrast_verdicts(spec, fake_runs(acc={("mnist", "relu", "adam"): 0.1}))}
    assert v["table1.contrast.mnist"].status == claims.NOT_EVALUABLE
    v = {x.claim: x for x in R.contrast_verdicts(spec, fake_runs(datasets=("mnist",)))}
    assert v["table1.contrast.cifar10"].status == claims.NOT_RUN and v["table1.contrast.cifar10"].design == ""
    assert R.contrast_status((0.1, 0.3), trained_everywhere=True) == claims.HOLDS
    assert R.contrast_status((-0.1, 0.3), trained_everywhere=True) == claims.NOT_RESOLVED


def test_measured_noise_reads_the_cache_only(tmp_path):
    got = R.measured_noise("quick", cache_dir=tmp_path)  # nothing cached: the stated knob, said so
    assert got["trend"][0].slope_sd == R.op.NOISE.slope_sd and "stated" in got["trend"][1]


def test_table1_is_narrow_and_carries_statuses():
    t = R.table1(fake_runs())
    assert len(t) == 4 and len(t.columns) <= 8
    assert set(t["Adam"]) <= set(claims.STATUSES) and set(t["GD"]) <= set(claims.STATUSES)
    assert t["Paper, $m$ = 16 → 1024 → 4096"].iloc[0].count("→") == 2


def test_accuracy_centring_readings_and_criterion_tables():
    runs = fake_runs(acc={("mnist", "attn", "adam"): 0.1})
    a = R.table1_accuracy(runs, "adam")
    assert list(a.columns) == ["Data", "Model", "$m$ = 16", "$m$ = 64", "$m$ = 256", "Objective gap"]
    assert list(R.table1_accuracy(runs, "gd").columns)[-1] == "Train loss"
    attn = a[(a.Data == "MNIST") & (a.Model == "MLP-Attn")].iloc[0]
    assert attn["$m$ = 16"].endswith("✗")
    c = R.centring_table(runs)
    assert {"Raw inputs", "Centred inputs"} <= set(c.columns) and len(c) == 8
    assert "not trained" in c[(c.Data == "MNIST") & (c.Model == "MLP-Attn") & (c.Protocol == "Adam")].iloc[0][
        "Raw inputs"]
    d = R.distance_readings_table(runs)
    assert len(d) == 8 and len(d.columns) == 6
    g = R.gd_criterion_table(runs)
    assert set(g["Reached"]) == {"5/5"}


def test_chapter_numbers_and_figures():
    runs = fake_runs()
    col = pd.DataFrame([{"dataset": "mnist", "centred": False, "arch": "attn", "mean_cosine": 0.99,
                         "effective_rank": 1.1, "top_share": 0.99, "kappa_ntk": 1e4, "n_train": 100,
                         "ntk_effective_rank": 1.4, "ntk_top_share": 0.95}])
    nums = R.chapter_numbers(nd.resolve("default"), runs, col)
    assert nums["cos_mnist_attn_raw"] == 0.99 and nums["gd_reached"] == nums["gd_runs"]
    assert nums["gd_steps"] == max(nd.resolve("default").gd_times)
    assert nums["lin_slope_adam_mnist_relu"] == pytest.approx(-0.5, abs=0.02)
    assert nums["slope_t1000_mnist_attn"] == pytest.approx(nums["slope_gd_mnist_attn_raw"], abs=1e-12)
    assert nums["gd_first_time"] == 100 and nums["slope_tfirst_mnist_attn"] == nums["slope_t100_mnist_attn"]
    # a profile without the centred control still names every number the prose quotes (as NaN)
    raw_only = R.chapter_numbers(nd.resolve("decisive"), fake_runs(centred=(False,)), col)
    assert math.isnan(raw_only["slope_gd_mnist_attn_centred"]) and math.isnan(raw_only["cos_mnist_attn_centred"])
    assert R.collapse_table(col).iloc[0]["Mean cosine"] == 0.99
    from ntkbook.plotting import ntk_distance as P

    fig = P.distance_vs_width(runs)
    assert len(fig.axes) == 4 and fig.axes[-1].get_xlabel().startswith("width")
    assert len(P.kernel_distance_vs_width(runs).axes) == 2
    with pytest.raises(ValueError, match="lacks columns"):
        P.distance_vs_width(runs.drop(columns="centred"))


def test_penalty_variant_table_and_verdicts():
    spec = nd.resolve("default")
    variant = nd.penalty_variant(spec)
    assert (variant.l2_form, variant.protocols, variant.centred, variant.datasets) == ("none", ("adam",), (False,),
                                                                                      ("mnist",))
    runs = fake_runs()
    runs_none = fake_runs({("mnist", "attn", "adam"): 0.4}, datasets=("mnist",), centred=(False,))
    t = R.penalty_table(runs, runs_none)
    assert len(t) == 2 and set(t["Data"]) == {"MNIST"}
    attn = t[t.Model == "MLP-Attn"].iloc[0]
    assert attn[f"Status, {R.PENALTY_TEX}"] == claims.DOES_NOT_HOLD
    assert attn["Status, no penalty"] == claims.NOT_EVALUABLE
    v = {x.claim: x for x in R.penalty_verdicts(spec, runs_none)}
    assert set(v) == {"table1.trend-no-penalty.mnist.2L-ReLU", "table1.trend-no-penalty.mnist.MLP-Attn"}
    # no finite minimiser without a penalty: not evaluable whatever the rows say, and the rule says why
    assert all(x.status == claims.NOT_EVALUABLE and x.rule == R.NO_PENALTY_REASON for x in v.values())
    assert R.penalty_verdicts(spec, runs_none.iloc[:0]) == []
    assert all(x.beyond_paper for x in v.values())


def test_tables_typeset_their_math():
    """Headers and statements hold $...$ math (typeset by notebook.table), not plain-text norms or Greek."""
    from ntkbook.notebook import table

    runs = fake_runs()
    for frame in (R.table1(runs), R.distance_readings_table(runs), R.gd_criterion_table(runs)):
        for c in frame.columns:
            assert not any(ch in c for ch in "‖κλ∞"), c
    page = table(R.distance_readings_table(runs))._repr_html_()
    assert r"\(\|f_m - f_{\mathrm{NTK}}\|\)" in page
    col = pd.DataFrame([{"dataset": "mnist", "centred": False, "arch": "attn", "mean_cosine": 0.99,
                         "effective_rank": 1.1, "top_share": 0.99, "kappa_ntk": 2.5e6}])
    page = table(R.collapse_table(col), formats=R.COLLAPSE_FORMATS)._repr_html_()
    assert r"\(\kappa(K_\infty)\)" in page and r"\(2.50\times10^{6}\)" in page
    v = R.verdicts_from_results(nd.resolve("default"), runs)[0]
    assert v.statement.startswith(R.DIST_TEX) and "‖" not in v.rule


# ---------------------------------------------------------------- gate, flat, shape, references, equal times


def test_the_trained_gate_is_on_the_training_side():
    """Train accuracy decides (test accuracy only shown): a model at chance on test but fitting its training set
    is trained; one at chance on both is not."""
    runs = fake_runs(acc={("cifar10", "relu", "gd"): 0.1})
    acc = R.accuracy_table(runs)
    sel = acc[(acc.dataset == "cifar10") & (acc.arch == "relu") & (acc.protocol == "gd")]
    assert not sel["trained"].any()
    runs.loc[(runs.dataset == "cifar10") & (runs.arch == "relu") & (runs.protocol == "gd"), "train_acc"] = 0.8
    acc = R.accuracy_table(runs)
    sel = acc[(acc.dataset == "cifar10") & (acc.arch == "relu") & (acc.protocol == "gd")]
    assert sel["trained"].all() and (sel["test_acc"] < 0.15).all()


def test_flat_status_reaches_every_status():
    m = R.FLAT_MARGIN
    assert R.flat_status((-m / 2, m / 2)) == claims.HOLDS
    assert R.flat_status((m * 1.5, m * 3)) == claims.DOES_NOT_HOLD
    assert R.flat_status((-m / 2, m * 2)) == claims.NOT_RESOLVED
    assert R.flat_status(None) == claims.NOT_EVALUABLE
    assert R.flat_status((-m / 2, m / 2), trained_everywhere=False) == claims.NOT_EVALUABLE
    t = R.table1(fake_runs({("mnist", "relu", "adam"): 0.0}))
    assert t.loc[0, "Slope, Adam"].endswith("flat") and not t.loc[1, "Slope, Adam"].endswith("flat")


def test_shape_status_and_verdicts_from_half_slopes():
    assert R.shape_status((-0.4, -0.1), (0.1, 0.3)) == claims.HOLDS
    assert R.shape_status((0.1, 0.3), (0.1, 0.3)) == claims.DOES_NOT_HOLD  # monotone increasing
    assert R.shape_status((-0.4, -0.1), (-0.3, -0.1)) == claims.DOES_NOT_HOLD  # falls at large width
    assert R.shape_status((-0.4, 0.1), (0.1, 0.3)) == claims.NOT_RESOLVED
    assert R.shape_status(None, (0.1, 0.3)) == claims.NOT_EVALUABLE
    assert R.shape_status((-0.4, -0.1), (0.1, 0.3), evaluable=False) == claims.NOT_EVALUABLE
    widths = (16, 64, 256, 1024, 4096)
    spec = nd.resolve("decisive")
    dip = fake_runs(widths=widths, shape={("mnist", "attn", "adam"): (-0.3, 0.4)}, datasets=("mnist",),
                    centred=(False,))
    v = {x.claim: x for x in R.shape_verdicts(spec, dip)}
    assert v["table1.shape.mnist.MLP-Attn"].status == claims.HOLDS
    assert dict(v["table1.shape.mnist.MLP-Attn"].config)["early_slope"] == pytest.approx(-0.3, abs=0.05)
    mono = fake_runs(widths=widths, shape={("mnist", "attn", "adam"): (0.3, 0.4)}, datasets=("mnist",),
                     centred=(False,))
    assert {x.claim: x for x in R.shape_verdicts(spec, mono)}["table1.shape.mnist.MLP-Attn"].status == \
        claims.DOES_NOT_HOLD
    # three widths cannot show a sign change of the local slope
    three = {x.claim: x for x in R.shape_verdicts(nd.resolve("default"), fake_runs(datasets=("mnist",)))}
    assert three["table1.shape.mnist.MLP-Attn"].status == claims.NOT_EVALUABLE


def test_reference_verdicts_measure_the_m_to_the_minus_half_law():
    runs = fake_runs(datasets=("mnist",), centred=(False,))
    v = R.reference_verdicts(nd.resolve("default"), runs)
    assert len(v) == 4 and all(x.status == claims.HOLDS for x in v)
    assert all(x.ours == pytest.approx(-0.5, abs=0.02) for x in v)
    flat = runs.assign(lin_dist_inf=3.0)
    assert all(x.status == claims.DOES_NOT_HOLD for x in R.reference_verdicts(nd.resolve("default"), flat))
    # one group whose slopes scatter wildly between seeds does not gate the others (each is judged at its own SD)
    wild = runs.copy()
    one = (wild["arch"] == "attn") & (wild["protocol"] == "gd")
    wild.loc[one, "lin_dist_inf"] *= np.exp(5.0 * np.random.default_rng(3).normal(size=int(one.sum())))
    by = {(x.claim.split(".")[2], "MLP-Attn" in x.claim): x.status
          for x in R.reference_verdicts(nd.resolve("default"), wild)}
    assert by[("gd", True)] != claims.HOLDS
    assert by[("adam", True)] == by[("adam", False)] == by[("gd", False)] == claims.HOLDS
    ref = R.reference_table(runs)
    assert len(ref) == 4 and any("lin" in c for c in ref.columns)


def test_equal_time_table_reads_every_step_count():
    runs = fake_runs({("mnist", "attn", "gd"): 0.3}, datasets=("mnist",), centred=(False,))
    t = R.equal_time_table(runs)
    assert list(t.columns) == ["Data", "Model", "$T$ = 100", "$T$ = 1000"] and len(t) == 2
    assert t[t.Model == "MLP-Attn"].iloc[0]["$T$ = 1000"].startswith("+0.30")


def test_operating_characteristics_of_the_chapter3_equivalence_and_shape_rules():
    """The simulated rules behave as stated: at a small per-seed SD they decide (holds when true, rarely when
    false); at a large SD the shape rule's design does not decide and says how many seeds would."""
    import dataclasses

    from ntkbook import operating as op
    from ntkbook.report import verdict_tests as vt

    quiet = dataclasses.replace(op.NOISE, slope_sd=0.02)
    flat_t = op.simulate_slope_equivalence(0.0, seeds=8, centre=0.0, margin=0.1, sims=400, noise=quiet)
    flat_f = op.simulate_slope_equivalence(0.2, seeds=8, centre=0.0, margin=0.1, sims=400, noise=quiet)
    assert flat_t["holds"] > 0.95 and flat_f["holds"] < 0.05 and flat_f["does not hold"] > 0.95
    rate = op.simulate_slope_equivalence(-0.5, seeds=8, centre=-0.5, margin=0.25, sims=400, noise=quiet)
    assert rate["holds"] > 0.95
    shape_t = op.simulate_shape(-0.2, 0.2, seeds=8, sims=400, noise=quiet)
    shape_f = op.simulate_shape(0.2, 0.2, seeds=8, sims=400, noise=quiet)
    assert shape_t["holds"] > 0.95 and shape_f["does not hold"] > 0.95
    loud = dataclasses.replace(op.NOISE, slope_sd=0.3)
    d = vt.design_at("shape", {"seeds": 8, "widths": 5}, sims=200, noise=loud)[1]
    assert not d.decides and "seeds" in d.needed


def test_a_diverged_linearised_gd_run_makes_its_rate_not_evaluable_and_says_where():
    """GD on a quadratic with a stable step never raises the loss: a linearised run whose final training MSE is
    above its initial one diverged (the step exceeds 2 / lambda_max of its own kernel), and its group's m^(-1/2)
    verdict says so instead of reading a slope from it."""
    runs = fake_runs(datasets=("mnist",), centred=(False,)).assign(train_loss_init=0.5, lin_objective=0.1)
    assert R.diverged_linearised(runs).empty
    one = (runs["arch"] == "attn") & (runs["protocol"] == "gd") & (runs["width"] == 16) & (runs["seed"] == 1)
    runs.loc[one, "lin_objective"] = 4e188
    assert R.diverged_linearised(runs).to_dict("records") == [{"width": 16, "seed": 1}]
    by = {x.claim: x for x in R.reference_verdicts(nd.resolve("default"), runs)}
    bad = by["table1.lin-rate.gd.mnist.MLP-Attn"]
    assert bad.status == claims.NOT_EVALUABLE and "diverges at m = 16 (seed 1)" in bad.rule
    assert by["table1.lin-rate.adam.mnist.MLP-Attn"].status == claims.HOLDS  # Adam's minimum cannot diverge
    nan = runs.copy()
    nan.loc[one, "lin_objective"] = np.nan  # overflowed to NaN: also not a stable run
    assert len(R.diverged_linearised(nan)) == 1


def _lin_time_runs(slope_of, widths=(16, 64, 256, 1024, 4096), seeds=6, noise=0.02):
    """GD rows whose lin_dist_inf_t{T} follows m^slope_of(T, width) per seed (with noise on log distance)."""
    rng = np.random.default_rng(1)
    rows = []
    for arch in ("relu", "attn"):
        for seed in range(seeds):
            row0 = {"dataset": "mnist", "arch": arch, "centred": False, "protocol": "gd", "seed": seed}
            for w in widths:
                row = {**row0, "width": w}
                for t in (100, 4000):
                    row[f"lin_dist_inf_t{t}"] = math.exp(slope_of(arch, t, w) * math.log(w) + noise * rng.normal())
                row["kernel_dist_init"] = 0.3 * w**-0.5 * math.exp(noise * rng.normal())
                rows.append(row)
    return pd.DataFrame(rows)


def test_lin_rate_by_time_recovers_known_slopes_and_their_change():
    """Known answer: 2L-ReLU at -1/2 at every T; MLP-Attn at -1/2 at T = 100 and -0.1 at T = 4000. The table reads
    those slopes within the noise, the paired change (0 and +0.4), and the numbers name the groups correctly."""
    runs = _lin_time_runs(lambda arch, t, w: -0.5 if arch == "relu" or t == 100 else -0.1)
    tab = R.lin_rate_by_time(runs).set_index(["arch", "T"])
    assert list(tab.index) == [("relu", 100), ("relu", 4000), ("attn", 100), ("attn", 4000)]
    assert all(abs(tab.loc[k, "slope"] - v) < 0.02 for k, v in
               {("relu", 100): -0.5, ("relu", 4000): -0.5, ("attn", 100): -0.5, ("attn", 4000): -0.1}.items())
    assert tab.loc[("attn", 4000), "change_lo"] > 0.3 and tab.loc[("relu", 4000), "change_lo"] < 0
    assert tab.loc[("relu", 4000), "change_hi"] > 0 and tab.loc[("attn", 100), "change"] == 0
    assert all(tab["lo"] < tab["slope"]) and all(tab["slope"] < tab["hi"]) and all(tab["n_seeds"] == 6)
    num = R.lin_rate_numbers(runs)
    assert num["lin_near_last"] == "2L-ReLU on MNIST" and num["lin_far_last"] == "MLP-Attn on MNIST"
    assert num["lin_recovered"] == "MLP-Attn on MNIST" and (num["lin_flatter"], num["lin_groups"]) == (1, 2)
    assert abs(num["kinit_slope_min"] + 0.5) < 0.05 and abs(num["kinit_slope_max"] + 0.5) < 0.05
    shown = R.lin_rate_time_table(runs)
    assert list(shown.columns) == ["Data", "Model", "$T$", "slope, all widths", "slope, m = 256–4096"]
    assert shown.iloc[-1]["slope, all widths"].startswith("-0.10")


def test_lin_rate_numbers_see_a_slope_that_steepens_only_at_large_widths():
    """MLP-Attn flat below m = 256 and at -1/2 above it, at T = 100 only: the larger-half slope reads -1/2 (so the
    group counts as recovered at the first T), the all-width slope does not."""
    runs = _lin_time_runs(lambda arch, t, w: -0.5 if arch == "relu" else
                          (-0.5 * (1 - math.log(256) / math.log(w)) if (t == 100 and w > 256) else 0.0))
    tab = R.lin_rate_by_time(runs).set_index(["arch", "T"])
    assert abs(tab.loc[("attn", 100), "late"] + 0.5) < 0.05 and tab.loc[("attn", 100), "slope"] > -0.35
    assert R.lin_rate_numbers(runs)["lin_recovered"] == "MLP-Attn on MNIST"
    assert R.lin_rate_by_time(runs.iloc[:0]).empty


def test_the_early_lin_rate_verdict_reads_the_known_answer_and_can_say_otherwise():
    """The known-answer check of the slope instrument: GD's first T, the larger half of the widths. 2L-ReLU at -1/2
    there holds; MLP-Attn flat there does not hold; noisy slopes with 3 seeds leave the design unable to decide
    (not resolved); 3 widths give no larger half (not evaluable). The last T never enters."""
    from ntkbook.report.ntk_distance_known import early_lin_rate_verdicts

    spec = nd.resolve("default", seeds=list(range(6)))
    runs = _lin_time_runs(lambda arch, t, w: -0.5 if arch == "relu" and t == 100 else 0.0 if t == 100 else -0.5)
    by = {v.claim: v for v in early_lin_rate_verdicts(spec, runs)}
    relu, attn = by["table1.lin-rate-early.gd.mnist.2L-ReLU"], by["table1.lin-rate-early.gd.mnist.MLP-Attn"]
    assert relu.status == claims.HOLDS and abs(relu.ours + 0.5) < 0.03 and "m = 256–4096" in relu.rule
    assert attn.status == claims.DOES_NOT_HOLD and abs(attn.ours) < 0.03
    assert relu.beyond_paper and relu.design == "lin-rate" and "(T = 100)" in relu.rule
    noisy = _lin_time_runs(lambda arch, t, w: -0.5, seeds=3, noise=0.6)
    few = {v.claim: v for v in early_lin_rate_verdicts(nd.resolve("default", seeds=[0, 1, 2]), noisy)}
    assert few["table1.lin-rate-early.gd.mnist.2L-ReLU"].status == claims.NOT_RESOLVED
    assert "cannot decide" in few["table1.lin-rate-early.gd.mnist.2L-ReLU"].rule
    three = _lin_time_runs(lambda arch, t, w: -0.5, widths=(16, 256, 4096))
    assert {v.status for v in early_lin_rate_verdicts(spec, three) if "mnist" in v.claim} == {claims.NOT_EVALUABLE}
    assert {v.status for v in early_lin_rate_verdicts(spec, runs.iloc[:0])} == {claims.NOT_RUN}
    assert by["table1.lin-rate-early.gd.cifar10.MLP-Attn"].status == claims.NOT_RUN  # no CIFAR-10 rows
