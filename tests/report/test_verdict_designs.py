"""Every "holds" or "does not hold" that chapters 3-5 give on an empirical claim names a design on the page "How the
verdicts are tested" whose simulated power is >= claims.MIN_POWER and whose false "holds" rate is <=
claims.MAX_FALSE_HOLDS (the rule text states both numbers); verdicts from synthetic results where the rules decide."""

import re

import pandas as pd
import pytest
from test_report_dual import _function_frame, _kernel_frame, _power_frame, _spec, _variant_frame
from test_report_malleability import unit_rows
from test_report_ntk_distance import fake_runs

from ntkbook import claims
from ntkbook.experiments import ntk_distance as nd
from ntkbook.report import dual as rd
from ntkbook.report import malleability as RM
from ntkbook.report import malleability_summary as S
from ntkbook.report import ntk_distance as RN
from ntkbook.report import verdict_tests as vt


def _chapter3():
    runs = fake_runs({("mnist", "attn", "adam"): 0.3, ("mnist", "relu", "adam"): -0.3})
    return RN.verdicts_from_results(nd.resolve("default"), runs)


def _chapter4():
    std = unit_rows([7.0] * 4, seeds=8)
    adv = unit_rows([7.0] * 4, seeds=8, p_relu=0.15, rng_seed=1).assign(training="adversarial")
    grid = pd.concat([std, adv], ignore_index=True)
    return RM.verdicts_from(S.configurations(grid), None, "default", grid=grid)


def _chapter4_deciding():
    """The deciding configuration at the decisive profile's size (70 seeds of 50 top points), with its control:
    2L-ReLU flips more than MLP-Attn, so the ratio of excesses is far below the band and the rule decides."""
    attack = unit_rows([0.6], seeds=70, n_top=50, p_relu=0.4).assign(l2_form="none")
    control = unit_rows([2.0], seeds=70, n_top=50, p_relu=0.12, rng_seed=1).assign(l2_form="none", attack="random")
    grid = pd.concat([attack, control], ignore_index=True)
    verdicts = RM.verdicts_from(S.configurations(grid), None, "decisive", grid=grid)
    dec = {v.claim: v for v in verdicts}["table2.ratio.mnist.deciding"]
    assert dec.status == claims.DOES_NOT_HOLD and dec.design == "excess-ratio-band"
    return verdicts


def _chapter5():
    res = {"power": _power_frame(0.1, 3.0), "kernel": _kernel_frame(-2.0), "variant": _variant_frame(),
           "function": _function_frame(-0.5)}
    return rd.verdicts_from_results(_spec(), res)


@pytest.mark.parametrize("make", [_chapter3, _chapter4, _chapter4_deciding, _chapter5],
                         ids=["chapter3", "chapter4", "chapter4-deciding", "chapter5"])
def test_every_decisive_verdict_names_a_design_that_decides(make):
    verdicts = make()
    decisive = [v for v in verdicts if v.status in (claims.HOLDS, claims.DOES_NOT_HOLD, claims.PARTLY)]
    assert decisive, "the synthetic results should let some rule decide"
    for v in decisive:
        assert v.design in vt.RULES, (v.claim, v.design)
        found = re.search(r"power ([0-9.]+), false holds ([0-9.]+)", v.rule)
        assert found, v.claim
        power, false_holds = map(float, found.groups())
        assert power >= claims.MIN_POWER and false_holds <= claims.MAX_FALSE_HOLDS, v.claim
    # and every verdict that names a design has a table for it on the page
    assert all(v.design in vt.RULES for v in verdicts if v.design)


def test_the_width_ratio_rule_states_chapter_5s_extrapolation_cap():
    from ntkbook.report import dual as rd
    from ntkbook.report import verdict_tests as vt

    assert f"more than {rd.EXTRAPOLATION_CAP:g} decades beyond the widest width" in vt.RULES["width-ratio"][2]
