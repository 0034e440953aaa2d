"""The claims page's profiles: each row states the profile of its status, and a claim stored at another profile
is shown beneath it as a variant labelled by that profile (ntkbook.report.claim_profiles, claim_rows)."""

import dataclasses
import os
from typing import ClassVar

import pandas as pd
import pytest

from ntkbook import runner, store
from ntkbook.claims import HOLDS, NOT_RESOLVED, Verdict
from ntkbook.report import claim_profiles as CP
from ntkbook.report import claims as R
from ntkbook.spec import Spec, knob
from ntkbook.sweeps import SWEEPS, SweepEntry


def _v(claim, status=HOLDS, profile="quick", chapter="01_gram_induced_kernel"):
    return Verdict(claim, "Theorem 4.1 holds", status, 0.0, 1e-16, None, "rule", profile, {}, "sec", chapter)


def test_other_profile_verdicts_are_variants_labelled_by_profile_and_leave_the_headline_alone():
    book = [_v("thm4.1.mnist"), _v("thm4.1.cifar10")]
    others = [R.at_profile(_v("thm4.1.mnist", status=NOT_RESOLVED), "decisive")]
    assert others[0].claim == "thm4.1.mnist@decisive" and others[0].profile == "decisive"
    (row,) = R.claim_rows(book, others=others)
    assert row.members == tuple(book) and row.variants == tuple(others) and row.status == HOLDS
    assert R.variant_label(others[0], others[0].statement) == "MNIST (profile decisive)"
    label = R.variant_label(others[0], row.statement)
    assert label == "Theorem 4.1 holds (profile decisive)"
    html = R.paper_claims_table(book, others)._repr_html_()
    assert 'id="claim-thm4.1.mnist@decisive"' in html and label in html
    assert '<span class="ntk-profile"' in html and "at quick" in html  # the headline's profile under its badge
    own = R.claims_table([dataclasses.replace(_v("open.x"), beyond_paper=True)])._repr_html_()
    assert "at quick" in own


def test_profiles_text_names_each_profile_with_its_chapters():
    assert CP.profiles_text([_v("a"), _v("b", chapter="02_spectral_amplification")]) == "quick"
    mixed = [_v("a", profile="default"), _v("b", profile="default", chapter="02_spectral_amplification"),
             _v("c", profile="decisive", chapter="03_ntk_distance")]
    assert CP.profiles_text(mixed) == "default (chapters 1, 2), decisive (chapter 3)"


# --- a toy chapter whose store holds a second profile -----------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ProfToySpec(Spec):
    seeds: tuple[int, ...] = knob((0, 1, 2), type=int, doc="seeds")
    PROFILES: ClassVar[dict[str, dict]] = {"quick": {"seeds": (0,)}, "default": {}, "big": {"seeds": (0, 1, 2, 3)}}


COMPUTED = []


def prof_unit(seed: int) -> pd.DataFrame:
    COMPUTED.append(seed)
    return pd.DataFrame({"seed": [seed], "x": [float(seed)]})


def units(spec):
    return [runner.Unit("prof-toy", {"seed": s}, prof_unit) for s in spec.seeds]


def claim_verdicts(profile, **kwargs):
    frame = runner.read_only(units(ProfToySpec.resolve(profile)))
    assert frame is not None, "the claims page asked for verdicts whose units are not all stored"
    return [_v("thm4.1.mnist", profile=profile, chapter="toydoc")]


@pytest.fixture
def toy(monkeypatch, tmp_path):
    monkeypatch.setitem(SWEEPS, "prof-toy", SweepEntry("prof-toy", __name__, "toy", "toydoc", __name__))
    monkeypatch.setenv("NTKBOOK_CACHE", os.fspath(tmp_path / "cache"))
    monkeypatch.setenv(store.STORE_ENV, os.fspath(tmp_path / "results"))
    runner.clear_history()
    yield SWEEPS["prof-toy"]
    runner.clear_history()


def test_only_profiles_stored_in_full_are_read_and_nothing_is_computed(toy):
    for profile, seeds in (("default", (0, 1, 2)), ("big", (0, 1))):  # "big" misses seeds 2 and 3
        for u in units(ProfToySpec.resolve(profile)):
            if u.params["seed"] in seeds:
                store.record("prof-toy", profile, u, prof_unit(u.params["seed"]), seconds=1.0)
    COMPUTED.clear()
    assert CP.available_profiles(toy) == ["default"]
    shown = [_v("thm4.1.mnist", chapter="toydoc")]  # the book shows the chapter at quick
    others = CP.other_profile_verdicts(shown)
    assert [(v.claim, v.profile) for v in others] == [("thm4.1.mnist@default", "default")]
    assert not COMPUTED
    assert CP.other_profile_verdicts([_v("thm4.1.mnist", profile="default", chapter="toydoc")]) == []
