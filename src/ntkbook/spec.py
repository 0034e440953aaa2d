"""One spec type per chapter: a frozen dataclass whose fields are the chapter's knobs.

A chapter subclasses `Spec`, lists its knobs as fields, its scales in `PROFILES` (knob -> value per profile) and its
measured run times in `MEASURED_SECONDS`, and checks ranges in `check()`. `resolve(profile, **overrides)` is what
the notebook's parameters cell and the command line call: an override of None keeps the profile's value, an unknown
knob or profile is refused with the valid names, a value out of range with the allowed range.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar


@dataclasses.dataclass(frozen=True)
class Spec:
    """Base of the chapters' specs. Subclasses are `@dataclasses.dataclass(frozen=True)` and define `PROFILES`."""

    profile: str = "default"

    #: {profile: {knob: value}}; every profile sets every knob it changes from the field defaults.
    PROFILES: ClassVar[dict[str, dict]] = {}
    #: {profile: seconds} measured on the reference 2-core machine (stated in the chapter), for planning runs.
    MEASURED_SECONDS: ClassVar[dict[str, float]] = {}

    @classmethod
    def knobs(cls) -> tuple[str, ...]:
        """The names of the knobs a caller may set (every field but `profile`)."""
        return tuple(f.name for f in dataclasses.fields(cls) if f.name != "profile")

    @classmethod
    def resolve(cls, profile: str = "default", **overrides):
        """The spec of `profile` with every override that is not None applied, validated.

        Raises ValueError for an unknown profile (listing the profiles), an unknown knob (listing the knobs), or a
        value that `check()` refuses.
        """
        if profile not in cls.PROFILES:
            raise ValueError(f"unknown profile {profile!r}; choose one of {sorted(cls.PROFILES)}")
        valid = cls.knobs()
        unknown = sorted(set(overrides) - set(valid))
        if unknown:
            raise ValueError(f"unknown parameter(s) {unknown} for {cls.__name__}; valid parameters: {sorted(valid)}")
        values = {**cls.PROFILES[profile], **{k: v for k, v in overrides.items() if v is not None}}
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
        spec = cls(profile=profile, **values)
        spec.check()
        return spec

    def check(self) -> None:
        """Raise ValueError naming the knob and its allowed range when a value is out of range."""

    def as_dict(self) -> dict:
        """The knobs and the profile as a plain dict (JSON-friendly: tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    def replace(self, **changes):
        """A copy with `changes` applied and checked."""
        spec = dataclasses.replace(self, **changes)
        spec.check()
        return spec


def require(condition: bool, knob: str, allowed: str, value) -> None:
    """Raise ValueError("<knob> must be <allowed>, got <value>") unless `condition` holds."""
    if not condition:
        raise ValueError(f"{knob} must be {allowed}, got {value!r}")
