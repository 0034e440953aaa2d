"""Chapter 2's knobs and profiles (`SpectralSpec`): what the notebook's parameters cell and the command line set.
Outside the result cache's key (the resolved knobs enter it as each unit's parameters), so editing a doc, a profile
or a recorded run time here keeps every cached and stored result."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np

from ntkbook.spec import Spec, knob, require

__all__ = ["SpectralSpec"]


@dataclasses.dataclass(frozen=True)
class SpectralSpec(Spec):
    """Chapter 2's knobs (the notebook's parameters cell, one to one; each documented where it is declared);
    defaults are the "default" profile."""

    datasets: tuple = knob(("mnist", "cifar10"), type=str, distinct=True, doc='data sets, e.g. ["mnist", "cifar10"]')
    split: str = knob("test", type=str, choices=("train", "test"),
                      doc="the pool of images: the offline data folder holds only the test splits (10,000 images each)")
    ns_small: tuple = knob((25, 50, 75, 100, 150, 200, 300), type=int, low=2, min_len=2,
                           doc="subset sizes n for the small-n curve (several seeds each)")
    seeds_small: tuple = knob((0, 1, 2, 3, 4), type=int, low=0, doc="subset seeds for the small-n curve")
    ns_large: tuple = knob((400, 1000, 2000, 10000), type=int, low=2,
                           doc="larger subset sizes n (unit rows, seed 0): up to the pool size")
    ns_raw: tuple = knob((25, 50, 100, 200, 400, 1000), type=int, low=2,
                         doc="subset sizes for the raw-pixel (no row normalisation) comparison")
    n_precision: int = knob(100, type=int, low=2, doc="subset size for the float64 / float32 check of Theorem 4.7")
    n_depth: int = knob(32, type=int, low=2, doc="subset size for the depth check kappa(G^(2k+1))")
    depths: tuple = knob((0, 1, 2, 3, 4), type=int, low=0, doc="numbers of stacked attention layers k")
    n_trunc: int = knob(400, type=int, low=2, doc="subset size for the truncated-attention curve")
    ranks: tuple = knob((1, 2, 5, 10, 20, 50, 100, 200, 400), type=int, low=1,
                        doc="ranks r kept in the truncated attention")
    n_real_ntk: int = knob(100, type=int, low=2, doc="subset size for the real-data NTK condition numbers")
    width_n: int = knob(32, type=int, low=2, doc="synthetic data: number of points n, at most d")
    width_d: int = knob(64, type=int, low=2, doc="synthetic data: dimension d")
    width_kappas: tuple = knob(tuple(np.logspace(0.5, 4, 8).tolist()), type=float, low=1, min_len=3,
                               doc="nominal kappa(G) of the synthetic data (geometric singular values)")
    width_seeds: tuple = knob((0, 1, 2), type=int, low=0, doc="network seeds per (kappa, architecture)")
    max_width_log2: int = knob(17, type=int, low=3, high=22, doc="the widths m are the powers of two from 4 up to 2 "
                               "to this power (nested networks)")
    tol_op: float = knob(0.05, type=float, low=0, low_open=True,
                         doc="m_op: smallest width with op-norm error at most tol_op times the norm of K_inf")
    tol_eig: float = knob(0.5, type=float, low=0, low_open=True,
                          doc="m_eig: smallest width with op-norm error at most tol_eig times lambda_min of K_inf")
    data_seed: int = knob(0, type=int, low=0, doc="seed of the synthetic data sets")

    PROFILES: ClassVar[dict[str, dict]] = {
        "quick": dict(ns_small=[25, 50, 100, 200], seeds_small=[0, 1], ns_large=[400], ns_raw=[25, 100],
                      n_precision=50, n_depth=16, depths=[0, 1, 2, 3], n_trunc=100, ranks=[1, 2, 5, 10, 20, 50, 100],
                      n_real_ntk=50, width_n=12, width_d=24, width_kappas=np.logspace(0.5, 3.5, 4).tolist(),
                      width_seeds=[0, 1, 2], max_width_log2=15),
        "default": {},
        "paper": dict(seeds_small=list(range(10)), ns_large=[400, 700, 1000, 2000, 3000, 5000, 10000],
                      ns_raw=[25, 50, 100, 200, 400, 1000, 2000, 10000], n_precision=200, n_trunc=700,
                      ranks=[1, 2, 5, 10, 20, 50, 100, 200, 500], n_real_ntk=200, width_n=64, width_d=128,
                      width_kappas=np.logspace(0.5, 5, 10).tolist(), width_seeds=[0, 1, 2, 3, 4], max_width_log2=19),
    }
    #: CPU seconds (user + system of papermill and its kernel) of the whole chapter notebook from an empty result
    #: cache and store, on the 2-core reference machine at a load average of 1-2 (benchmarks/bench_chapters.py,
    #: 2026-12-07; benchmarks/results/chapters.md has the wall seconds beside them).
    MEASURED_SECONDS: ClassVar[dict[str, float]] = {"quick": 45.0, "default": 78.0}

    def check(self) -> None:
        require(max(self.ranks) <= self.n_trunc, "ranks", f"ranks between 1 and n_trunc = {self.n_trunc}", self.ranks)
        require(self.width_n <= self.width_d, "width_n", f"between 2 and width_d = {self.width_d}", self.width_n)

    @property
    def widths(self) -> list[int]:
        """The power-of-two width grid 4, 8, ..., 2**max_width_log2 of the width-law sweep."""
        return [2**k for k in range(2, int(self.max_width_log2) + 1)]
