"""The registry of the chapters' sweeps, for the command line (`python -m ntkbook sweep NAME`).

Each entry names a compute module that exposes one `ntkbook.spec.Spec` subclass (the chapter's knobs and profiles)
and `units(spec) -> list[ntkbook.runner.Unit]`. Modules are imported only when a sweep is used, so listing the
sweeps is instant. Unit functions live in those compute modules, never here: the result cache keys on the compute
code and ignores this package, so only there does editing a unit function invalidate its cached results.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from types import ModuleType

from ntkbook.spec import Spec

__all__ = ["SWEEPS", "SweepEntry", "get_sweep", "names"]


@dataclasses.dataclass(frozen=True)
class SweepEntry:
    """One chapter's sweep: CLI `name`, the compute `module` (dotted path), a one-line `title` and the chapter's
    `document` (its notebook under book/, without the suffix)."""

    name: str
    module: str
    title: str
    document: str = ""

    def load(self) -> ModuleType:
        """The compute module, imported now; ImportError names the sweep if it cannot be imported."""
        try:
            module = importlib.import_module(self.module)
        except ImportError as err:
            raise ImportError(f"sweep {self.name!r}: cannot import {self.module} ({err})") from err
        if not callable(getattr(module, "units", None)):
            raise AttributeError(f"sweep {self.name!r}: {self.module} has no units(spec) function")
        return module

    @property
    def spec_class(self) -> type[Spec]:
        """The one `Spec` subclass defined in the module."""
        module = self.load()
        found = list({  # by identity: a module may also export its spec under a second name
            id(obj): obj for _, obj in inspect.getmembers(module, inspect.isclass)
            if issubclass(obj, Spec) and obj is not Spec and obj.__module__ == module.__name__
        }.values())
        if len(found) != 1:
            raise AttributeError(
                f"sweep {self.name!r}: {self.module} must define exactly one ntkbook.spec.Spec subclass, "
                f"found {[c.__name__ for c in found]}"
            )
        return found[0]

    def profiles(self) -> list[str]:
        """The names of the spec's profiles."""
        return list(self.spec_class.PROFILES)

    def resolve(self, profile: str = "default", **overrides) -> Spec:
        """`spec_class.resolve(profile, **overrides)` (ValueError for an unknown profile, knob or value)."""
        return self.spec_class.resolve(profile, **overrides)

    def units(self, spec: Spec) -> list:
        """The module's `units(spec)`."""
        return list(self.load().units(spec))


SWEEPS: dict[str, SweepEntry] = {
    entry.name: entry
    for entry in (
        SweepEntry("gram-kernel", "ntkbook.experiments.gram_kernel",
                   "chapter 1: the Gram-induced kernel G^3 (linearization, Theorems 4.1 and 4.2)",
                   "01_gram_induced_kernel"),
        SweepEntry("spectral", "ntkbook.experiments.spectral",
                   "chapter 2: spectral amplification (condition numbers across depth, rank and width)",
                   "02_spectral_amplification"),
        SweepEntry("ntk-distance", "ntkbook.experiments.ntk_distance",
                   "chapter 3: distance of trained networks from their NTK predictor across widths",
                   "03_ntk_distance"),
        SweepEntry("malleability", "ntkbook.experiments.malleability",
                   "chapter 4: influence malleability over the specification grid, and poisoning",
                   "04_influence_malleability"),
        SweepEntry("dual", "ntkbook.experiments.dual",
                   "chapter 5: power on aligned targets against fragility, model variants",
                   "05_dual_implication"),
    )
}


def names() -> list[str]:
    """The registered sweep names, in chapter order."""
    return list(SWEEPS)


def get_sweep(name: str) -> SweepEntry:
    """The entry for `name`; ValueError listing the registered names otherwise."""
    if name not in SWEEPS:
        raise ValueError(f"unknown sweep {name!r}; choose one of {names()} (python -m ntkbook sweep --list)")
    return SWEEPS[name]
