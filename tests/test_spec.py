"""ntkbook.spec: profiles, overrides, unknown knobs and range checks."""

import dataclasses

import pytest

from ntkbook.spec import Spec, require


@dataclasses.dataclass(frozen=True)
class Toy(Spec):
    n_train: int = 100
    widths: tuple = (16, 64)

    PROFILES = {"quick": {"n_train": 10, "widths": [4]}, "default": {}}

    def check(self):
        require(self.n_train >= 1, "n_train", "an integer >= 1", self.n_train)


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
