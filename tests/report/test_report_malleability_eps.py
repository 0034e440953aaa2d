"""Chapter 4's ε sweep: its units, the direction rule driven to each status, the verdict from unit rows, its
harness design."""

import math

import numpy as np
import pandas as pd
import pytest

from ntkbook import claims
from ntkbook.experiments import malleability as mx
from ntkbook.report import malleability as report
from ntkbook.report import malleability_eps as E
from ntkbook.report import verdict_tests


def test_eps_units_rerun_the_first_configuration_at_the_other_budgets():
    spec = mx.resolve("quick", eps_sweep=(0.1, 0.3, 0.5), eps_sweep_seeds=1)
    units = mx.eps_units(spec)
    assert {u.kind for u in units} == {mx.EPS_KIND}
    assert sorted({u.params["eps"] for u in units}) == [0.1, 0.5]  # the grid has spec.eps = 0.3
    assert len(units) == 2 * len(spec.archs)  # two budgets, one seed, both models
    grid = {u.key: u for u in mx.units(spec) if u.kind == mx.KIND}
    first = next(u for u in grid.values() if u.params["seed"] == spec.seeds[0] and u.params["arch"] == "relu")
    twin = next(u for u in units if u.params["eps"] == 0.1 and u.params["arch"] == "relu")
    assert {k: v for k, v in twin.params.items() if k != "eps"} == {k: v for k, v in first.params.items() if k != "eps"}
    assert mx.eps_units(mx.resolve("quick")) == []  # no sweep at quick
    assert len(mx.eps_units(mx.resolve("decisive"))) == 3 * 30 * 2


def test_direction_rule_reaches_every_status():
    assert E.direction_status(True, 1.2, 3.0) == claims.HOLDS
    assert E.direction_status(True, 0.2, 0.8) == claims.DOES_NOT_HOLD
    assert E.direction_status(True, 0.8, 1.5) == claims.NOT_RESOLVED
    assert E.direction_status(False, 1.2, 3.0) == claims.NOT_EVALUABLE
    assert E.direction_status(True, math.nan, 3.0) == claims.NOT_EVALUABLE


def _rows(excess_ratios, seeds=40, n_top=50, control=0.1, excess_relu=0.1, rng_seed=0):
    """ε-sweep unit rows: per budget (its ratio of MLP-Attn's to 2L-ReLU's excess over the random-sign control)
    and seed, PGD and random-sign flip counts of both models; both trained (test accuracy 90 %)."""
    rng = np.random.default_rng(rng_seed)
    rows = []
    for eps, ratio in excess_ratios.items():
        for seed in range(seeds):
            for arch, e in (("relu", excess_relu), ("attn", ratio * excess_relu)):
                for attack, p in (("pgd", control + e), ("random", control)):
                    flips = int(rng.binomial(n_top, p))
                    rows.append({"task": "mnist", "arch": arch, "seed": seed, "training": "standard", "loss": "xent",
                                 "train_loss": "xent", "l2_form": "none", "width": 256, "n_train": 500,
                                 "n_test": 500, "n_classes": 10, "train_accuracy": 0.95, "test_accuracy": 0.9,
                                 "krr_train_accuracy": 0.95, "krr_test_accuracy": 0.9, "test_correct": 450,
                                 "krr_test_correct": 450, "weight_ratio": 1.0, "attack": attack, "protocol": "a",
                                 "reading": "kernel", "flip_rate": flips / n_top, "n_top": n_top, "n_flips": flips,
                                 "spearman": 0.5, "topk_overlap": 0.5, "attack_gain": 0.1,
                                 "retrained_test_accuracy": math.nan, "retrained_test_correct": -1,
                                 "unit_seconds": 1.0, "eps": eps})
    return pd.DataFrame(rows)


def test_eps_sweep_verdict_from_unit_rows_each_way():
    budgets = (0.1, 0.2, 0.3, 0.5)
    higher = E.eps_sweep_verdict(_rows({e: 3.0 for e in budgets}), "mnist", "decisive")
    assert higher.status == claims.HOLDS and higher.ours > 1 and higher.interval[0] > 1
    lower_once = E.eps_sweep_verdict(_rows({0.1: 3.0, 0.2: 3.0, 0.3: 0.2, 0.5: 3.0}), "mnist", "decisive")
    assert lower_once.status == claims.DOES_NOT_HOLD and lower_once.ours < 1
    assert "ε = 0.3" in lower_once.rule
    assert E.eps_sweep_verdict(pd.DataFrame(), "mnist", "default").status == claims.NOT_RUN
    few = E.eps_sweep_verdict(_rows({e: 3.0 for e in budgets}, seeds=3), "mnist", "default")
    assert few.status == claims.NOT_RESOLVED and "underpowered" in few.rule  # 3 seeds cannot decide
    table = E.eps_table(_rows({e: 3.0 for e in budgets}))
    assert list(table["ε"]) == ["0.1", "0.2", "0.3", "0.5"] and set(table.status) == {claims.HOLDS}
    assert not table.filter(like="(%)").apply(lambda c: c.str.contains(r"-0\b")).any().any()  # no signed zero
    numbers = E.eps_numbers(_rows({e: 3.0 for e in budgets}), higher, "decisive")
    assert numbers["eps_status"] == claims.HOLDS and numbers["eps_budgets"] == "0.1, 0.2, 0.3, 0.5"
    assert "40 seeds" in numbers["eps_design_text"]


def test_eps_rows_join_the_grids_runs_at_its_own_budget():
    spec = mx.resolve("quick", eps_sweep=(0.1,), eps_sweep_seeds=1)
    grid = _rows({spec.eps: 2.0}, seeds=2).drop(columns="eps").assign(width=spec.widths[0], n_train=spec.n_trains[0],
                                                                      l2_form=spec.l2_forms[0])
    extra = _rows({0.1: 2.0}, seeds=1)
    rows = E.eps_rows({"grid": grid, "eps": extra}, spec)
    assert sorted(rows.eps.unique()) == [0.1, spec.eps]
    assert set(rows[rows.eps == spec.eps].seed) == {spec.seeds[0]}  # only the sweep's seeds
    assert not len(E.eps_rows({"grid": grid, "eps": pd.DataFrame()}, spec))


def test_verdicts_from_pass_the_sweep_to_the_eps_claim():
    from ntkbook.report import malleability_summary as S

    rows = _rows({e: 3.0 for e in (0.1, 0.3)})
    configs = S.configurations(rows[rows.eps == 0.3].drop(columns="eps"))
    by_claim = {v.claim: v for v in report.verdicts_from(configs, None, "decisive", eps_rows=rows)}
    assert by_claim["eps_sweep.mnist"].status == claims.HOLDS
    assert report.verdicts_from(configs, None, "decisive")[0].claim  # without the sweep: still every verdict
    assert {v.claim: v for v in report.verdicts_from(configs, None, "decisive")}["eps_sweep.mnist"].status == (
        claims.NOT_RUN)


@pytest.mark.parametrize("scenario, want", [("true", "holds"), ("false", "holds")])
def test_the_direction_rule_has_power_and_rarely_holds_falsely_at_the_decisive_design(scenario, want):
    from ntkbook.malleability import top_count

    spec = mx.resolve("decisive")
    size = {"seeds": spec.eps_sweep_seeds, "points": top_count(spec.n_trains[0], spec.tau)}
    assert size == {"seeds": 30, "points": 50}
    assert verdict_tests.design_inputs("default")["excess-ratio-direction"]["seeds"] == len(mx.resolve().seeds)
    table, design = verdict_tests.design_at("excess-ratio-direction", size, sims=400)
    rate = float(table.set_index("scenario").loc[scenario, want])
    assert (rate >= 0.8) if scenario == "true" else (rate <= 0.05)
    assert design.decides
