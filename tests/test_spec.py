"""ntkbook.spec: profiles, overrides, unknown knobs, and the knob declarations (coercion of papermill and
command-line strings, ranges, non-finite numbers, error messages that name the knob)."""

import dataclasses
import math

import numpy as np
import pytest

from ntkbook.spec import Spec, knob, require


@dataclasses.dataclass(frozen=True)
class Toy(Spec):
    n_train: int = knob(100, type=int, low=1, doc="training points")
    widths: tuple = knob((16, 64), type=int, low=1, doc="widths")

    PROFILES = {"quick": {"n_train": 10, "widths": [4]}, "default": {}}


@dataclasses.dataclass(frozen=True)
class Knobs(Spec):
    """One knob of each kind the chapters declare."""

    seeds: tuple = knob((0, 1), type=int, low=0, min_len=2, doc="seeds")
    widths: tuple = knob((16,), type=int, low=1, high=4096, distinct=True, doc="widths")
    datasets: tuple = knob(("mnist",), type=str, choices=("mnist", "cifar10"), doc="data sets")
    centred: tuple = knob((False,), type=bool, doc="centrings")
    temps: tuple = knob((1.0,), type=float, low=0, low_open=True, doc="temperatures")
    epochs: int = knob(3, type=int, low=1, doc="epochs")
    eps: float = knob(0.3, type=float, low=0, low_open=True, doc="budget")
    tau: float = knob(0.1, type=float, low=0, high=1, low_open=True, doc="fraction")
    step: float | None = knob(None, type=float, low=0, low_open=True, none_ok=True, doc="step or None")
    form: str = knob("w", type=str, choices=("w", "none"), doc="form")

    PROFILES = {"default": {}}

    def check(self):
        require(len(self.widths) <= len(self.seeds) + 5, "widths", "at most len(seeds) + 5 values", self.widths)


def test_profile_values_and_none_keeps_profile():
    assert Toy.resolve("quick") == Toy(profile="quick", n_train=10, widths=(4,))
    assert Toy.resolve("quick", n_train=None).n_train == 10
    assert Toy.resolve("default", n_train=7).n_train == 7


def test_unknown_knob_lists_valid_names():
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['n_trian'\].*\['n_train', 'widths'\]"):
        Toy.resolve("default", n_trian=5)


def test_unknown_profile_and_out_of_range():
    with pytest.raises(ValueError, match="choose one of"):
        Toy.resolve("huge")
    with pytest.raises(ValueError, match="n_train must be an integer >= 1, got -5"):
        Toy.resolve("default", n_train=-5)
    with pytest.raises(ValueError, match="n_train must be"):
        Toy.resolve("default").replace(n_train=0)


def test_as_dict_is_json_friendly():
    assert Toy.resolve("quick").as_dict() == {"profile": "quick", "n_train": 10, "widths": [4]}


@pytest.mark.parametrize(("knob_name", "given", "expected"), [
    ("seeds", "0,1", (0, 1)),                 # papermill -p seeds 0,1 passes a string
    ("seeds", " 0, 1 ,2", (0, 1, 2)),
    ("seeds", "[3, 4]", (3, 4)),              # -p seeds "[3, 4]"
    ("seeds", [0, np.int64(2)], (0, 2)),
    ("widths", 64, (64,)),                    # a single value for a tuple
    ("widths", "0032", (32,)),                # "0"-style integer text for a tuple of ints
    ("widths", "[16, 64]", (16, 64)),
    ("datasets", "mnist", ("mnist",)),        # one name, not split into letters
    ("datasets", "mnist,cifar10", ("mnist", "cifar10")),
    ("datasets", '["cifar10"]', ("cifar10",)),
    ("centred", "true,false", (True, False)),
    ("temps", "2", (2.0,)),
    ("temps", np.array([0.5, 2.0]), (0.5, 2.0)),
    ("epochs", "7", 7),
    ("epochs", np.int32(7), 7),
    ("eps", "0.25", 0.25),
    ("eps", 1, 1.0),
    ("step", "0.5", 0.5),
    ("form", "none", "none"),
])
def test_declared_knobs_coerce_strings_lists_and_single_values(knob_name, given, expected):
    value = getattr(Knobs.resolve("default", **{knob_name: given}), knob_name)
    assert value == expected and type(value) is type(expected)
    if isinstance(expected, tuple):
        assert [type(v) for v in value] == [type(v) for v in expected]


@pytest.mark.parametrize(("knob_name", "given", "message"), [
    ("seeds", 0, "seeds must be a tuple of integers >= 0 (at least 2), got (0,)"),
    ("seeds", "0,x", "seeds must be a tuple of integers >= 0 (at least 2), got 'x'"),
    ("seeds", "[0, 1", "seeds must be a tuple of integers >= 0 (at least 2), got '[0, 1' (not a readable list)"),
    ("seeds", (0, -1), "seeds must be a tuple of integers >= 0 (at least 2), got (0, -1)"),
    ("seeds", (0, 1.5), "seeds must be a tuple of integers >= 0 (at least 2), got 1.5 (not an integer)"),
    ("widths", (16, 16), "widths must be a tuple of integers in 1..4096 (non-empty, distinct), got (16, 16)"),
    ("widths", "[]", "widths must be a tuple of integers in 1..4096 (non-empty, distinct), got ()"),
    ("datasets", "mnist,svhn", "datasets must be a tuple of values among ('mnist', 'cifar10') (non-empty), got"),
    ("datasets", 3, "datasets must be a tuple of values among ('mnist', 'cifar10') (non-empty), got 3"),
    ("centred", "maybe", "centred must be a tuple of booleans (non-empty), got 'maybe'"),
    ("epochs", 2.5, "epochs must be an integer >= 1, got 2.5 (not an integer)"),
    ("epochs", "2.5", "epochs must be an integer >= 1, got 2.5 (not an integer)"),
    ("epochs", True, "epochs must be an integer >= 1, got True"),
    ("epochs", 0, "epochs must be an integer >= 1, got 0"),
    ("eps", "abc", "eps must be a number > 0, got 'abc'"),
    ("eps", 0.0, "eps must be a number > 0, got 0.0"),
    ("eps", math.inf, "eps must be a number > 0, got inf (not a finite number)"),
    ("eps", "inf", "eps must be a number > 0, got inf (not a finite number)"),
    ("eps", float("nan"), "eps must be a number > 0, got nan (not a finite number)"),
    ("temps", "1,-inf", "temps must be a tuple of numbers > 0 (non-empty), got -inf (not a finite number)"),
    ("tau", 1.5, "tau must be a number in (0, 1], got 1.5"),
    ("step", -1, "step must be None or a number > 0, got -1.0"),
    ("form", "W", "form must be one of ('w', 'none'), got 'W'"),
])
def test_bad_values_are_refused_with_the_knob_and_its_declared_range(knob_name, given, message):
    with pytest.raises(ValueError) as info:
        Knobs.resolve("default", **{knob_name: given})
    assert str(info.value).startswith(message)


def test_construction_and_replace_validate_too_and_check_keeps_cross_knob_rules():
    with pytest.raises(ValueError, match="epochs must be an integer >= 1, got -3"):
        Knobs(epochs=-3)
    with pytest.raises(ValueError, match="eps must be a number > 0"):
        Knobs().replace(eps="inf")
    with pytest.raises(ValueError, match=r"widths must be at most len\(seeds\) \+ 5 values"):
        Knobs.resolve("default", widths=tuple(range(1, 9)))


def test_an_undeclared_knob_is_a_type_error():
    @dataclasses.dataclass(frozen=True)
    class Bare(Spec):
        n: int = 3
        PROFILES = {"default": {}}

    with pytest.raises(TypeError, match=r"Bare.n is not declared with ntkbook.spec.knob"):
        Bare.resolve()


def test_describe_lists_every_knob_with_its_range_default_and_doc():
    text = Knobs.describe()
    for name, declared in Knobs.declarations().items():
        assert name in text and declared.doc in text and declared.allowed() in text
    assert "a tuple of integers >= 0 (at least 2); default (0, 1)" in text
