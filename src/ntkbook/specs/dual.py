"""Chapter 5's knobs and profiles (`DualSpec`): what the notebook's parameters cell and the command line set.
Outside the result cache's key (the resolved knobs enter it as each unit's parameters), so editing a doc, a profile
or a recorded run time here keeps every cached and stored result."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from ntkbook.spec import Spec, knob, require

__all__ = ["DATASETS", "DualSpec", "FAMILIES"]

DATASETS = ("mnist", "cifar10", "digits")
"""The data sets the chapter reads (`ntkbook.data.load`)."""
FAMILIES = ("relu", "attn", "truncated", "softmax", "softmax-centred", "attn-centred", "stacked", "stacked-recomputed")
"""Model families (the prefix of a model name, see `ntkbook.experiments.dual.parse_model`)."""


@dataclasses.dataclass(frozen=True)
class DualSpec(Spec):
    """Every knob of chapter 5 (see the module docstring for what each experiment does; each knob is documented
    where it is declared)."""

    datasets: tuple[str, ...] = knob(("mnist", "cifar10"), type=str, choices=DATASETS,
                                     doc='data sets of the power and kernel experiments, e.g. ["mnist", "cifar10"]')
    seeds: tuple[int, ...] = knob((0, 1, 2), type=int, low=0, min_len=2, doc="one disjoint reference / train / "
                                  "test sample and one initialisation per seed")
    n_ref: int = knob(1000, type=int, low=1,
                      doc="reference points whose Gram matrix defines the eigen-directions of the targets")
    ns: tuple[int, ...] = knob((100, 200, 400), type=int, low=2, doc="training sizes of the power experiment")
    n_test: int = knob(200, type=int, low=1, doc="test points of the power experiment")
    modes: tuple[int, ...] = knob((1, 2, 3, 5, 10, 20, 50, 100, 200, 400), type=int, low=1,
                                  doc="eigen-indices j of the targets, 1 is the top eigenvector of G")
    top_modes: int = knob(3, type=int, low=1, doc="how many of the smallest j count as aligned targets")
    bottom_modes: int = knob(3, type=int, low=1, doc="how many of the largest j count as unaligned targets")
    noises: tuple[float, ...] = knob((0.0, 0.25, 0.5), type=float, low=0,
                                     doc="standard deviations of the label noise on the training targets")
    noise: float = knob(0.25, type=float, low=0, doc="the noise level the verdicts use (one of noises)")
    ridges: tuple[float, ...] = knob((1e-4, 1e-2, 1e-1), type=float, low=0, low_open=True,
                                     doc="relative ridges rho computed, the ridge being rho tr(K)/n")
    ridge: float = knob(1e-2, type=float, low=0, low_open=True,
                        doc="the fixed relative ridge shown beside the tuned one (one of ridges)")
    ranks: tuple[int, ...] = knob((5, 50), type=int, low=1, doc="ranks r of the truncated attention")
    temperatures: tuple[float, ...] = knob((0.1, 1.0, 10.0, 100.0), type=float, low=0, low_open=True,
                                           doc="temperatures T of the softmax attention (kernel experiments)")
    mal_temperatures: tuple[float, ...] = knob((0.1, 10.0), type=float, low=0, low_open=True,
                                               doc="temperatures of the trained softmax variants")
    depths: tuple[int, ...] = knob((2,), type=int, low=1, doc="numbers k of stacked attention layers")
    widths: tuple[int, ...] = knob((16, 64, 256, 1024), type=int, low=1, min_len=3,
                                   doc="widths m (powers of two) of the kernel distance at initialisation")
    n_kernel: int = knob(80, type=int, low=1, doc="points of the kernel experiments")
    n_train: int = knob(200, type=int, low=1, doc="training points of the trained variants")
    n_mal_test: int = knob(100, type=int, low=1, doc="test points of the trained variants")
    width: int = knob(128, type=int, low=1, doc="hidden width m of the trained variants")
    epochs: int = knob(150, type=int, low=1, doc="Adam epochs")
    learning_rate: float = knob(5e-2, type=float, low=0, low_open=True, doc="Adam learning rate")
    l2: float = knob(1e-3, type=float, low=0, doc="L2 penalty on W - W0")
    eps: float = knob(0.3, type=float, low=0, low_open=True,
                      doc="l-infinity pixel budget of the PGD attack on the training data")
    steps: int = knob(5, type=int, low=1, doc="PGD steps")
    tau: float = knob(0.1, type=float, low=0, high=1, low_open=True,
                      doc="top fraction whose influence sign flips are counted")
    krr_ridge: float = knob(1e-3, type=float, low=0, low_open=True, doc="ridge of the influence regression")
    mal_datasets: tuple[str, ...] = knob(("mnist",), type=str, choices=DATASETS,
                                         doc="data sets of the trained variants")
    mal_families: tuple[str, ...] = knob(("relu", "attn", "truncated", "softmax", "softmax-centred", "stacked"),
                                         type=str, choices=FAMILIES,
                                         doc='model families trained, e.g. ["relu", "attn", "truncated"]')
    fs_families: tuple[str, ...] = knob(("relu", "attn", "truncated"), type=str, choices=FAMILIES, min_len=0,
                                        doc="model families compared with their kernel predictor after gradient "
                                        "descent")
    gd_steps: int = knob(50, type=int, low=1, doc="full-batch gradient-descent steps of that comparison")

    #: CPU seconds (user + system of papermill and its kernel) of the whole chapter notebook from an empty result
    #: cache and store, on the 2-core reference machine at a load average of 1-2 (benchmarks/bench_chapters.py,
    #: 2026-12-07; benchmarks/results/chapters.md has the wall seconds beside them).
    MEASURED_SECONDS: ClassVar[dict[str, float]] = {"quick": 54.0, "default": 257.0}

    PROFILES: ClassVar[dict[str, dict]] = {
        "quick": dict(datasets=("mnist",), seeds=(0, 1), n_ref=200, ns=(40, 80), n_test=60, modes=(1, 2, 20, 60),
                      top_modes=2, bottom_modes=2, ranks=(5,), temperatures=(1.0, 100.0), mal_temperatures=(1.0,), depths=(2,), widths=(16, 64, 128),
                      n_kernel=40, n_train=60, n_mal_test=30, width=32, epochs=30, steps=2,
                      mal_families=("relu", "attn"), fs_families=("attn",), gd_steps=10),
        "default": dict(),
        # sized with the harness (`report.verdict_tests.design_at`): the pair rule (one seed SD on both sides) needs
        # about 13 seeds for power 0.8; the power, width-ratio and spread rules decide at 8-10 seeds at the per-seed
        # spreads measured at default. Only the two models of the pair verdict are trained (50 counted points per
        # seed); widths to 4096 shorten the extrapolation of m*.
        "decisive": dict(seeds=tuple(range(15)), n_test=500, widths=(16, 64, 256, 1024, 4096), n_train=500,
                         n_mal_test=200, mal_families=("relu", "attn"), fs_families=("relu", "attn", "truncated")),
        "paper": dict(seeds=(0, 1, 2, 3, 4), n_ref=2000, ns=(100, 200, 400, 800), n_test=500,
                      modes=(1, 2, 3, 5, 10, 20, 50, 100, 200, 500), ranks=(5, 20, 50, 100, 200),
                      temperatures=(0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 100.0), mal_temperatures=(0.1, 1.0, 10.0),
                      depths=(1, 2, 3),
                      widths=tuple(2**k for k in range(2, 13)), n_kernel=300, n_train=1000, n_mal_test=500,
                      width=1024, epochs=500, learning_rate=1e-2, steps=10, mal_datasets=("mnist", "cifar10"),
                      mal_families=FAMILIES, fs_families=("relu", "attn", "truncated", "softmax-centred", "stacked"),
                      gd_steps=500),
    }

    def check(self) -> None:
        require(set(self.mal_datasets) <= set(self.datasets), "mal_datasets",
                f"a non-empty subset of datasets {self.datasets}", self.mal_datasets)
        require(max(self.modes) <= self.n_ref, "modes", f"eigen-indices in 1..n_ref = {self.n_ref}", self.modes)
        require(self.top_modes + self.bottom_modes <= len(self.modes), "top_modes + bottom_modes",
                f"at least 1 each and at most len(modes) = {len(self.modes)}", (self.top_modes, self.bottom_modes))
        require(self.ridge in self.ridges, "ridge", f"one of ridges {self.ridges}", self.ridge)
        require(self.noise in self.noises, "noise", f"one of noises {self.noises}", self.noise)
        require(max(self.ranks) <= self.n_kernel, "ranks",
                f"integers in 1..n_kernel = {self.n_kernel} (and at most the numerical rank of the data)", self.ranks)
        require(max(self.ranks) <= self.n_train, "ranks", f"at most n_train = {self.n_train}", self.ranks)
        require(all(w & (w - 1) == 0 for w in self.widths), "widths", "powers of two (nested widths)", self.widths)
        require(max(self.ns) + self.n_test + self.n_ref <= 10_000, "n_ref + max(ns) + n_test",
                "at most 10000 (all drawn from the test split)", max(self.ns) + self.n_test + self.n_ref)

    def variant_models(self, families: tuple[str, ...] = FAMILIES, temperatures=None) -> tuple[str, ...]:
        """The models of `families`: the paper's two, each truncation, temperature (`temperatures`, default the
        kernel experiments'), the centred linearized control and each depth (> 1)."""
        from ntkbook.experiments.dual_models import (
            num_label,  # here: reading the knobs imports no numeric stack
        )

        temps = self.temperatures if temperatures is None else temperatures
        out = ["relu", "attn"]
        out += [f"truncated:{r}" for r in self.ranks]
        out += [f"softmax:{num_label(t)}" for t in temps]
        out += [f"softmax-centred:{num_label(t)}" for t in temps]
        out += ["attn-centred"]
        out += [f"stacked:{k}" for k in self.depths if k > 1]
        out += [f"stacked-recomputed:{k}" for k in self.depths if k > 1]
        return tuple(m for m in out if m.split(":")[0] in families)


# ----------------------------------------------------------------------------------------------------------
# variants trained: accuracy, malleability, aligned-target error
# ----------------------------------------------------------------------------------------------------------
