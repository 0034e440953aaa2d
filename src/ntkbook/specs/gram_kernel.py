"""Chapter 1's knobs and profiles (`GramKernelSpec`): what the notebook's parameters cell and the command line
set. Outside the result cache's key (the resolved knobs enter it as each unit's parameters), so editing a doc, a
profile or a recorded run time here keeps every cached and stored result."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np

from ntkbook.spec import Spec, knob, require

__all__ = ["GramKernelSpec", "sample_size"]

_TEMPS_DEFAULT = tuple(np.logspace(0, 5, 16).tolist())


def sample_size(*, n_theorem: int, n_attention: int, n_ntk: int, n_sens: int, growth_ns, n_heatmap: int) -> int:
    """Rows to draw per data set so that every experiment's prefix fits: the largest of the sizes (an int)."""
    return int(max(n_theorem, n_attention, n_ntk, n_sens, max(growth_ns), n_heatmap))


@dataclasses.dataclass(frozen=True)
class GramKernelSpec(Spec):
    """Chapter 1's knobs (the notebook's parameters cell, one to one; each documented where it is declared);
    defaults are the "default" profile."""

    seed: int = knob(0, type=int, low=0,
                     doc="every random draw (subsets, perturbation directions, targets) derives from it")
    datasets: tuple = knob(("mnist", "cifar10"), type=str, distinct=True, doc='data sets, e.g. ["mnist", "cifar10"]')
    n_theorem: int = knob(1000, type=int, low=2,
                          doc="training points per data set for the G^3 identity (Theorem 4.1)")
    n_triple: int = knob(16, type=int, low=2, high=40,
                         doc="points for the O(n^4) entrywise triple-sum reference")
    n_heatmap: int = knob(120, type=int, low=2, doc="points shown in the G vs G^3 heatmaps")
    n_attention: int = knob(300, type=int, low=2, doc="points for the softmax -> linearized attention experiment")
    temperatures: tuple = knob(_TEMPS_DEFAULT, type=float, low=0, low_open=True, min_len=2,
                               doc="temperatures T (logits <x_i, x_k> / T)")
    n_ntk: int = knob(200, type=int, low=2,
                      doc="training points for the NT vs closed-form NTK comparison (Theorem 4.2)")
    n_ntk_test: int = knob(20, type=int, low=1, doc="test points, attending over those training points")
    n_sens: int = knob(1000, type=int, low=2, doc="data-set size for the Proposition 4.5 ratio check")
    n_targets: int = knob(10, type=int, low=1, doc="target points x_j per data set")
    n_random: int = knob(300, type=int, low=1, doc="random perturbation directions per target")
    growth_ns: tuple = knob((25, 50, 100, 200, 400, 800, 1600, 3200), type=int, low=2, min_len=2,
                            doc="data-set sizes n for the sensitivity-growth figure")
    poly_degree: int = knob(3, type=int, low=1,
                            doc="degree p of the polynomial kernel (x . y)^p compared with G^3")

    PROFILES: ClassVar[dict[str, dict]] = {
        "quick": dict(n_theorem=200, n_triple=10, n_attention=100, n_ntk=60, n_sens=300, n_targets=4,
                      n_random=100, temperatures=np.logspace(0, 4, 9).tolist(), growth_ns=[25, 50, 100, 200, 400]),
        "default": {},
        # the result store's profile: every verdict of the chapter is decided at the default sizes already (exact
        # identities within their rounding bounds, bound ratios and t-interval slopes: none "not resolved" at quick
        # or default, measured), so decisive is the default design, kept as data in results/gram-kernel/decisive
        "decisive": {},
        "paper": dict(n_theorem=4000, n_triple=24, n_attention=1000, n_ntk=1000, n_sens=4000, n_targets=20,
                      n_random=1000, temperatures=np.logspace(0, 5, 21).tolist(),
                      growth_ns=[25, 50, 100, 200, 400, 800, 1600, 3200, 6400, 9600]),
    }
    #: CPU seconds (user + system of papermill and its kernel) of the whole chapter notebook from an empty result
    #: cache and store, on the 2-core reference machine at a load average of 1-2 (benchmarks/bench_chapters.py,
    #: 2026-12-07; benchmarks/results/chapters.md has the wall seconds beside them). default: measured at the book's profile
    #: `decisive`, whose knobs are default's.
    MEASURED_SECONDS: ClassVar[dict[str, float]] = {"quick": 59.0, "default": 65.0}

    def check(self) -> None:
        require(self.n_targets <= min(self.n_sens, min(self.growth_ns)), "n_targets",
                f"between 1 and min(n_sens, min(growth_ns)) = {min(self.n_sens, min(self.growth_ns))}",
                self.n_targets)
        require(sum(t >= 10 for t in self.temperatures) >= 2, "temperatures",
                "positive, with at least two values >= 10 (the slope is fitted there)", self.temperatures)

    @property
    def n_max(self) -> int:
        """Rows drawn per data set so that every experiment's prefix fits."""
        return sample_size(n_theorem=self.n_theorem, n_attention=self.n_attention, n_ntk=self.n_ntk,
                           n_sens=self.n_sens, growth_ns=self.growth_ns, n_heatmap=self.n_heatmap)
