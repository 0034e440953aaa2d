"""Chapter 4's figures (plotting.malleability), built from small synthetic tables: text at >= 9 pt as the book shows
them (`ntkbook.plotting.rendered_text_pt`), at most a column wide, rates and their intervals inside [0, 100] %."""

from __future__ import annotations

import itertools
import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from ntkbook import plotting as P  # noqa: E402
from ntkbook.experiments import malleability as M  # noqa: E402
from ntkbook.plotting import malleability as figs  # noqa: E402
from ntkbook.report import malleability as R  # noqa: E402


def _configs(task: str = "mnist", widths=(64,), n_trains=(100,), attacks=("pgd",), seed: int = 0) -> pd.DataFrame:
    """A synthetic grid of `task`: every combination of the choices, random ratios with intervals, a few not
    evaluable, one infinite ratio (the figure's edge marker), one zero and one negative ratio of excesses."""
    rng = np.random.default_rng(seed)
    rows = []
    for loss, l2_form, width, n, reading, protocol, attack in itertools.product(
            ("xent", "mse"), ("w", "w-w0", "none"), widths, n_trains, ("kernel", "network"), ("a", "b"), attacks):
        ratio = float(np.exp(rng.normal(0.0, 1.5)))
        rows.append({"task": task, "training": "standard", "loss": loss, "l2_form": l2_form, "width": width,
                     "n_train": n, "reading": reading, "protocol": protocol, "attack": attack, "evaluable": True,
                     "ratio": ratio, "ratio_low": ratio / 2, "ratio_high": ratio * 2, "decided": "excess",
                     "raw_ratio": ratio, "raw_ratio_low": ratio / 2, "raw_ratio_high": ratio * 2,
                     **{f"{a}_{k}": 0.5 for a in ("relu", "attn") for k in
                        ("flip", "flip_low", "flip_high", "test_acc", "krr_test_acc", "train_acc", "krr_train_acc",
                         "weight_ratio")}})
    frame = pd.DataFrame(rows)
    frame.loc[0, ["evaluable", "ratio", "ratio_low", "ratio_high"]] = [False, math.nan, math.nan, math.nan]
    frame.loc[1, ["ratio", "ratio_low", "ratio_high"]] = [math.inf, 3.0, math.inf]
    frame.loc[2, ["ratio", "ratio_low", "ratio_high"]] = [0.0, 0.0, 0.4]
    frame.loc[3, ["ratio", "ratio_low", "ratio_high"]] = [-0.3, -math.inf, 0.2]
    return frame


def _curve_figure(configs: pd.DataFrame, task: str, title: str | None = None):
    return figs.specification_curve(R.curve(configs, task), claimed=(6.0, 9.0), choices=list(M.CHOICES),
                                    choice_labels=R.CHOICE_LABELS, value_labels=R.VALUE_LABELS, title=title)


def _rates(protocols=("a", "b"), tasks=("mnist", "mnist-3v8", "cifar10-auto-air")) -> pd.DataFrame:
    """Synthetic poisoning rates, among them a rate whose Wilson interval is wide (few targets) near 0 and 100 %."""
    rows = []
    for protocol, task, arch, kind, frac in itertools.product(protocols, tasks, ("relu", "attn"), ("pgd", "random"),
                                                              (0.02, 0.05, 0.2)):
        rows.append({"task": task, "arch": arch, "fraction": frac, "perturbation": kind, "protocol": protocol,
                     "rate": 0.5, "low": 0.2, "high": 0.8, "targets": 20})
    rates = pd.DataFrame(rows)
    rates.loc[0, ["rate", "low", "high"]] = [0.02, 0.0, 0.3]
    rates.loc[1, ["rate", "low", "high"]] = [1.0, 0.6, 1.0]
    return rates


@pytest.fixture(scope="module")
def chapter4_figures():
    labels = {k: v["label"] for k, v in M.TASKS.items()}
    figures = {
        # the default profile's grid, and the paper profile's (two widths, two n, three attacks: 288 columns)
        "spec_curve_default": _curve_figure(_configs(), "mnist"),
        "spec_curve_paper": _curve_figure(_configs(widths=(256, 1024), n_trains=(200, 500),
                                                   attacks=("fgsm", "pgd", "mim")), "mnist"),
        "spec_curve_titled": _curve_figure(_configs("cifar10-auto-air"), "cifar10-auto-air",
                                           title=labels["cifar10-auto-air"]),
        "poisoning_one_protocol": figs.poisoning_success(_rates(("a",), ("mnist-3v8",)), task_labels=labels),
        "poisoning_paper": figs.poisoning_success(_rates(), task_labels=labels),
    }
    yield figures
    plt.close("all")


FIGURES = ["spec_curve_default", "spec_curve_paper", "spec_curve_titled", "poisoning_one_protocol",
           "poisoning_paper"]


@pytest.mark.parametrize("name", FIGURES)
def test_figure_text_is_at_least_9pt_as_shown(chapter4_figures, name):
    fig = chapter4_figures[name]
    shown = P.rendered_text_pt(fig)
    assert shown >= P.MIN_TEXT_PT, (f"{name}: smallest text {P.smallest_font_pt(fig):.1f} pt on a "
                                    f"{P.saved_width_px(fig)} px image reads as {shown:.1f} pt in the column")


@pytest.mark.parametrize("name", FIGURES)
def test_figure_fits_the_column(chapter4_figures, name):
    """At most a column wide as saved (bbox tight: nothing sticks out sideways), so it is shown unscaled."""
    fig = chapter4_figures[name]
    assert fig.get_figwidth() <= P.COLUMN_INCHES + 1e-9
    assert P.saved_width_px(fig) <= P.COLUMN_PX


@pytest.mark.parametrize("name", ["poisoning_one_protocol", "poisoning_paper"])
def test_poisoning_rates_and_error_bars_stay_in_0_100(chapter4_figures, name):
    fig = chapter4_figures[name]
    for ax in fig.axes:
        assert ax.get_ylim() == (0.0, 100.0)
        assert ax.get_xlim()[0] >= 0
        for coll in ax.collections:  # the error bars' vertical segments
            for seg in coll.get_segments():
                assert np.all(seg[:, 1] >= 0.0) and np.all(seg[:, 1] <= 100.0), seg


def test_poisoning_bars_are_the_clipped_wilson_intervals():
    fig = figs.poisoning_success(_rates(("a",), ("mnist-3v8",)))
    ends = sorted({(round(float(s[0, 1]), 9), round(float(s[1, 1]), 9))
                   for ax in fig.axes for c in ax.collections for s in c.get_segments()})
    assert (0.0, 30.0) in ends and (60.0, 100.0) in ends and (20.0, 80.0) in ends
    plt.close(fig)


def test_figures_refuse_empty_input():
    with pytest.raises(ValueError, match="no configuration"):
        figs.specification_curve(R.curve(_configs(), "mnist").iloc[:0])
    with pytest.raises(ValueError, match="no poisoning rates"):
        figs.poisoning_success(_rates().iloc[:0])
