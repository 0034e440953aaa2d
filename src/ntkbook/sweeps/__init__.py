"""The registry of the chapters: one entry per chapter, the one list the command line (`python -m ntkbook sweep`),
the claims page and the contract test (tests/test_contract.py) read.

Each entry names the chapter's document, its knobs (the one `ntkbook.spec.Spec` subclass of
`ntkbook.specs.<module>`: the chapter's knobs and profiles), its compute module, which exposes `units(spec) -> list[ntkbook.runner.Unit]` and `results(spec, *, cache_dir=None,
...)` (its result tables, from the cache or computed), and its report module, which exposes
`verdicts(spec, results)` and `numbers(spec, results)` (on what `results(spec)` returned) and
`claim_verdicts(profile)`. Modules are imported only when a sweep is used, so listing the
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
    """One chapter's sweep: CLI `name`, the compute `module` (dotted path), a one-line `title`, the chapter's
    `document` (its notebook under book/, without the suffix), its `report` module (dotted path) and the chapter's
    `heading` (its title in the book, as the claims page shows it)."""

    name: str
    module: str
    title: str
    document: str = ""
    report: str = ""
    heading: str = ""

    def load_report(self) -> ModuleType:
        """The report module, imported now; ImportError names the sweep if it cannot be imported."""
        try:
            return importlib.import_module(self.report)
        except (ImportError, ValueError) as err:
            raise ImportError(f"sweep {self.name!r}: cannot import its report module {self.report!r} ({err})") from err

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
    def spec_module(self) -> str:
        """The dotted path of the chapter's knobs: `ntkbook.specs.<name>` for a chapter's compute module
        `ntkbook.experiments.<name>`; any other module (e.g. a test's) declares its Spec itself."""
        if self.module.startswith("ntkbook.experiments."):
            return "ntkbook.specs." + self.module.rpartition(".")[2]
        return self.module

    @property
    def spec_class(self) -> type[Spec]:
        """The one `Spec` subclass defined in `spec_module` (the compute module imports it from there)."""
        try:
            module = importlib.import_module(self.spec_module)
        except ImportError as err:
            raise ImportError(f"sweep {self.name!r}: cannot import its knobs {self.spec_module} ({err})") from err
        found = [obj for _, obj in inspect.getmembers(module, inspect.isclass)
                 if issubclass(obj, Spec) and obj is not Spec and obj.__module__ == module.__name__]
        if len(found) != 1:
            raise AttributeError(
                f"sweep {self.name!r}: {self.spec_module} must define exactly one ntkbook.spec.Spec subclass, "
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
                   "01_gram_induced_kernel", "ntkbook.report.gram_kernel",
                   "Linearized attention is a Gram-induced kernel"),
        SweepEntry("spectral", "ntkbook.experiments.spectral",
                   "chapter 2: spectral amplification (condition numbers across depth, rank and width)",
                   "02_spectral_amplification", "ntkbook.report.spectral",
                   "Spectral amplification"),
        SweepEntry("ntk-distance", "ntkbook.experiments.ntk_distance",
                   "chapter 3: distance of trained networks from their NTK predictor across widths",
                   "03_ntk_distance", "ntkbook.report.ntk_distance",
                   "Distance to the NTK regime"),
        SweepEntry("malleability", "ntkbook.experiments.malleability",
                   "chapter 4: influence malleability over the specification grid, and poisoning",
                   "04_influence_malleability", "ntkbook.report.malleability",
                   "Influence malleability"),
        SweepEntry("dual", "ntkbook.experiments.dual",
                   "chapter 5: power on aligned targets against fragility, model variants",
                   "05_dual_implication", "ntkbook.report.dual",
                   "The dual implication"),
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
