"""One spec type per chapter: a frozen dataclass whose fields are the chapter's knobs, each declared once.

A chapter subclasses `Spec` and declares every knob with `knob(default, doc=..., type=..., low=..., ...)`: its
element type, allowed range or choices, and a one-line doc (the notebook's parameters-cell comment). From that one
declaration come the coercion of papermill and command-line strings (`"0,1"`, `"[16, 64]"`, a single value for a
tuple), the validation and its error messages (which name the knob and its allowed type and range), the listing of
`python -m ntkbook sweep NAME --help`, and the test that the parameters cell matches (the same idea as
scikit-learn's `_parameter_constraints`). `check()` keeps only the checks that relate several knobs.

The chapter also lists its scales in `PROFILES` (knob -> value per profile) and its measured run times in
`MEASURED_SECONDS`. `resolve(profile, **overrides)` is what the notebook's parameters cell and the command line
call: an override of None keeps the profile's value, an unknown knob or profile is refused with the valid names.
"""

from __future__ import annotations

import ast
import dataclasses
import math
import numbers
import sys
from typing import Any, ClassVar

__all__ = ["Knob", "Spec", "knob", "require"]

_TYPE_NAMES = {int: ("an integer", "integers"), float: ("a number", "numbers"), str: ("a string", "strings"),
               bool: ("true or false", "booleans")}
_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no")



def _numpy_instance(value: Any, kind: str) -> bool:
    """isinstance(value, numpy.<kind>) without importing numpy (a value cannot be a numpy object unless numpy was
    imported already), so that the command line's --list and --help load no numeric stack."""
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(value, getattr(numpy, kind))

@dataclasses.dataclass(frozen=True)
class Knob:
    """The declaration of one knob: element `type`, whether it is a tuple (`many`), its range and choices.

    low / high bound every (element) value, inclusive unless `low_open` / `high_open`; `choices` lists the allowed
    values; `min_len` / `distinct` constrain a tuple; `none_ok` admits None (a scalar's "automatic" value).
    """

    type: type
    doc: str
    many: bool = False
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple | None = None
    min_len: int = 1
    distinct: bool = False
    none_ok: bool = False

    def allowed(self) -> str:
        """The allowed values in words, e.g. "a tuple of integers >= 0 (at least 2, distinct)"."""
        one, several = _TYPE_NAMES[self.type]
        if self.choices is not None:
            base = f"one of {self.choices}" if not self.many else f"a tuple of values among {self.choices}"
        else:
            base = (f"a tuple of {several}" if self.many else one) + self._range()
        if self.many:
            extras = []
            if self.min_len == 1:
                extras.append("non-empty")
            elif self.min_len > 1:
                extras.append(f"at least {self.min_len}")
            if self.distinct:
                extras.append("distinct")
            if extras:
                base += f" ({', '.join(extras)})"
        if self.none_ok:
            base = f"None or {base}"
        return base

    def _range(self) -> str:
        lo, hi = self.low, self.high
        if lo is None and hi is None:
            return ""
        if lo is not None and hi is not None:
            if self.type is int and not self.low_open and not self.high_open:
                return f" in {lo}..{hi}"
            return f" in {'(' if self.low_open else '['}{lo}, {hi}{')' if self.high_open else ']'}"
        if lo is not None:
            return f" {'>' if self.low_open else '>='} {lo}"
        return f" {'<' if self.high_open else '<='} {hi}"

    # -- coercion and validation -------------------------------------------------------------------------------

    def coerce(self, name: str, value: Any) -> Any:
        """`value` converted to the declared type; ValueError naming the knob and what it takes otherwise.

        A tuple knob takes a tuple or list, a string "a,b" or "[a, b]" (papermill and the command line pass
        strings), or a single value (a one-element tuple; a string is one name, never split into letters).
        """
        if value is None and self.none_ok:
            return None
        if not self.many:
            return self._scalar(name, value)
        if isinstance(value, str):
            text = value.strip()
            if text[:1] in "[(":
                try:
                    value = ast.literal_eval(text)
                except (ValueError, SyntaxError):
                    raise ValueError(f"{name} must be {self.allowed()}, got {value!r} (not a readable list)") from None
                if not isinstance(value, (list, tuple)):
                    value = (value,)
            else:
                value = [part.strip() for part in text.split(",") if part.strip()]
        elif _numpy_instance(value, "ndarray"):
            value = value.tolist()
        if not isinstance(value, (list, tuple)):
            value = (value,)
        return tuple(self._scalar(name, v) for v in value)

    def _scalar(self, name: str, value: Any) -> Any:
        def refuse(why: str = "") -> ValueError:
            return ValueError(f"{name} must be {self.allowed()}, got {value!r}{why}")

        if _numpy_instance(value, "generic"):
            value = value.item()
        if self.type is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
                return value.strip().lower() in _TRUE
            raise refuse()
        if self.type is str:
            if isinstance(value, str):
                return value
            raise refuse()
        if isinstance(value, bool):
            raise refuse()
        if isinstance(value, str):
            text = value.strip()
            try:
                value = int(text) if self.type is int else float(text)
            except ValueError:
                try:
                    as_float = float(text)
                except ValueError:
                    raise refuse() from None
                value = as_float
        if not isinstance(value, numbers.Real):
            raise refuse()
        if not math.isfinite(value):
            raise refuse(" (not a finite number)")
        if self.type is int:
            if isinstance(value, numbers.Integral):
                return int(value)
            raise refuse(" (not an integer)")
        return float(value)

    def validate(self, name: str, value: Any) -> None:
        """Raise ValueError("<name> must be <allowed>, got <value>") unless `value` is in the declared range."""
        if value is None and self.none_ok:
            return
        values = value if self.many else (value,)
        ok = all(self._in_range(v) for v in values)
        if self.many:
            ok = ok and len(values) >= self.min_len and (not self.distinct or len(set(values)) == len(values))
        if not ok:
            raise ValueError(f"{name} must be {self.allowed()}, got {value!r}")

    def _in_range(self, v: Any) -> bool:
        if self.choices is not None and v not in self.choices:
            return False
        if self.low is not None and (v <= self.low if self.low_open else v < self.low):
            return False
        if self.high is not None and (v >= self.high if self.high_open else v > self.high):
            return False
        return True


def knob(default: Any, *, doc: str, type: type, many: bool | None = None, **constraints) -> Any:  # noqa: A002
    """A Spec field with its declaration (`Knob`) in the field's metadata; `many` defaults to "default is a tuple".

    Example: ``seeds: tuple[int, ...] = knob((0, 1), doc="seeds", type=int, low=0, min_len=2)``.
    """
    if many is None:
        many = isinstance(default, tuple)
    if isinstance(default, list):
        raise TypeError("a tuple knob's default must be a tuple (fields of a frozen spec are immutable)")
    declared = Knob(type=type, doc=doc, many=many, **constraints)
    return dataclasses.field(default=default, metadata={"knob": declared})


@dataclasses.dataclass(frozen=True)
class Spec:
    """Base of the chapters' specs. Subclasses are `@dataclasses.dataclass(frozen=True)` and define `PROFILES`.

    Every field but `profile` is declared with `knob(...)`; constructing a spec coerces each knob to its declared
    type and refuses a value out of its declared range (ValueError naming the knob).
    """

    profile: str = "default"

    #: {profile: {knob: value}}; every profile sets every knob it changes from the field defaults.
    PROFILES: ClassVar[dict[str, dict]] = {}
    #: {profile: seconds} measured on the reference 2-core machine (stated in the chapter), for planning runs.
    MEASURED_SECONDS: ClassVar[dict[str, float]] = {}
    #: {profile: seconds} for a profile too large to measure here: an estimate scaled from measured per-unit costs
    #: (the chapter's spec says how), which `--dry-run` labels as an estimate, never as a measurement.
    ESTIMATED_SECONDS: ClassVar[dict[str, float]] = {}

    def __post_init__(self) -> None:
        for name, declared in self.declarations().items():
            value = declared.coerce(name, getattr(self, name))
            declared.validate(name, value)
            object.__setattr__(self, name, value)

    @classmethod
    def declarations(cls) -> dict[str, Knob]:
        """{knob name: its declaration}, in field order; TypeError if a knob was declared without `knob(...)`."""
        out = {}
        for f in dataclasses.fields(cls):
            if f.name == "profile":
                continue
            if "knob" not in f.metadata:
                raise TypeError(f"{cls.__name__}.{f.name} is not declared with ntkbook.spec.knob(...)")
            out[f.name] = f.metadata["knob"]
        return out

    @classmethod
    def knobs(cls) -> tuple[str, ...]:
        """The names of the knobs a caller may set (every field but `profile`)."""
        return tuple(f.name for f in dataclasses.fields(cls) if f.name != "profile")

    @classmethod
    def coerce(cls, name: str, value: Any) -> Any:
        """`value` (e.g. a command-line string) converted to knob `name`'s declared type (ValueError otherwise)."""
        declarations = cls.declarations()
        if name not in declarations:
            raise ValueError(f"unknown knob {name!r} for {cls.__name__}; valid knobs: {sorted(declarations)}")
        return declarations[name].coerce(name, value)

    @classmethod
    def describe(cls) -> str:
        """One line per knob: name, allowed values, default and doc (for `python -m ntkbook sweep NAME --help`)."""
        lines = []
        for name, declared in cls.declarations().items():
            default = next(f.default for f in dataclasses.fields(cls) if f.name == name)
            lines.append(f"  {name:<18} {declared.allowed()}; default {default!r}\n  {'':<18} {declared.doc}")
        return "\n".join(lines)

    @classmethod
    def resolve(cls, profile: str = "default", **overrides):
        """The spec of `profile` with every override that is not None applied, validated.

        Raises ValueError for an unknown profile (listing the profiles), an unknown knob (listing the knobs), or a
        value that its declaration or `check()` refuses.
        """
        if profile not in cls.PROFILES:
            raise ValueError(f"unknown profile {profile!r}; choose one of {sorted(cls.PROFILES)}")
        valid = cls.knobs()
        unknown = sorted(set(overrides) - set(valid))
        if unknown:
            raise ValueError(f"unknown parameter(s) {unknown} for {cls.__name__}; valid parameters: {sorted(valid)}")
        values = {**cls.PROFILES[profile], **{k: v for k, v in overrides.items() if v is not None}}
        spec = cls(profile=profile, **values)
        spec.check()
        return spec

    def check(self) -> None:
        """Raise ValueError naming the knobs when values that relate several knobs do not fit together."""

    def as_dict(self) -> dict:
        """The knobs and the profile as a plain dict (JSON-friendly: tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    def replace(self, **changes):
        """A copy with `changes` applied and checked."""
        spec = dataclasses.replace(self, **changes)
        spec.check()
        return spec


def require(condition: bool, knob: str, allowed: str, value) -> None:
    """Raise ValueError("<knob> must be <allowed>, got <value>") unless `condition` holds (cross-knob checks)."""
    if not condition:
        raise ValueError(f"{knob} must be {allowed}, got {value!r}")
