"""The chapters' provenance note (ntkbook.report.provenance): where each unit came from, what computed it, read
without computing anything."""

import dataclasses
import os
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from ntkbook import cache, runner, store
from ntkbook.report import provenance as P
from ntkbook.spec import Spec, knob
from ntkbook.sweeps import SWEEPS, SweepEntry


@dataclasses.dataclass(frozen=True)
class ProvToySpec(Spec):
    seeds: tuple[int, ...] = knob((0, 1, 2, 3), type=int, doc="seeds")
    PROFILES: ClassVar[dict[str, dict]] = {"quick": {}, "default": {}}


CALLS = []


def prov_unit(seed: int) -> pd.DataFrame:
    CALLS.append(seed)
    return pd.DataFrame({"seed": [seed], "x": [np.sqrt(seed + 1.0)]})


def units(spec: ProvToySpec) -> list:
    return [runner.Unit("prov-toy", {"seed": s}, prov_unit) for s in spec.seeds]


@pytest.fixture
def toy(monkeypatch, tmp_path):
    monkeypatch.setitem(SWEEPS, "prov-toy", SweepEntry("prov-toy", __name__, "a toy sweep"))
    monkeypatch.setenv("NTKBOOK_CACHE", os.fspath(tmp_path / "cache"))
    monkeypatch.setenv(store.STORE_ENV, os.fspath(tmp_path / "results"))
    runner.clear_history()
    yield ProvToySpec.resolve("quick")
    runner.clear_history()


def test_each_unit_is_counted_by_where_it_came_from(toy):
    us = units(toy)
    empty = P.chapter_provenance(toy)
    assert empty.counts == {P.COMPUTED: 0, P.CACHED: 0, P.STORED: 0, P.MISSING: 4} and empty.timed == 0
    # unit 0: in the user cache from an earlier session; unit 1: in the result store, computed elsewhere;
    # unit 2: computed by this process; unit 3: nowhere
    cache.store("prov-toy", us[0].params, prov_unit(0), key=us[0].key)
    rec = store.record("prov-toy", "quick", us[1], prov_unit(1), seconds=12.5, device="cuda:0 (NVIDIA H100)")
    result = runner.run([us[2]])
    CALLS.clear()
    note = P.chapter_provenance(toy)
    assert not CALLS, "the note computed a unit"
    assert note.counts == {P.COMPUTED: 1, P.CACHED: 1, P.STORED: 1, P.MISSING: 1} and note.units == 4
    assert note.timed == 2 and note.seconds == pytest.approx(12.5 + result.unit_seconds[us[2].key])
    machines = dict(note.machines)
    assert machines[f"{rec['machine']}; cuda:0 (NVIDIA H100)"] == 1
    assert machines[f"{store.machine()}; cpu"] == 1
    assert note.code == cache.module_fingerprint(__name__)[:12] and note.data == ()
    assert note.dates == (rec["date"][:10],) * 2
    text = repr(note)
    assert "units: 4: 1 computed now, 1 user cache, 1 result store, 1 not available" in text
    assert "2 of 4 units" in text and "profile: quick" in text
    assert "Where these numbers come from" in note._repr_html_()


def test_this_process_decides_before_the_cache_and_the_store(toy):
    """A unit this process read from the store counts as stored even if it is now in the cache too; one it did
    not run is looked up cache first, as the runner does."""
    us = units(toy)
    for u in us:
        store.record("prov-toy", "quick", u, prov_unit(u.params["seed"]), seconds=1.0)
    runner.run(us[:2])  # from the store (the cache is empty)
    assert P.chapter_provenance(toy).counts[P.STORED] == 4
    runner.clear_history()
    cache.store("prov-toy", us[3].params, prov_unit(3), key=us[3].key)
    counts = P.chapter_provenance(toy).counts
    assert counts[P.CACHED] == 1 and counts[P.STORED] == 3


def test_a_spec_of_no_chapter_is_refused():
    @dataclasses.dataclass(frozen=True)
    class Loose(Spec):
        n: int = knob(1, type=int, doc="n")
        PROFILES: ClassVar[dict[str, dict]] = {"default": {}}

    with pytest.raises(ValueError, match="spec of no chapter"):
        P.chapter_provenance(Loose.resolve("default"))


def test_every_chapter_ends_with_its_provenance_note():
    """The last cell of each chapter of the registry: tagged provenance and remove-input (the note shows, its code
    does not), calling provenance_note(spec) on the chapter's checked spec and nothing else."""
    import json
    import re
    from pathlib import Path

    book = Path(__file__).resolve().parents[2] / "book"
    for entry in SWEEPS.values():
        nb = json.loads((book / f"{entry.document}.ipynb").read_text())
        last = nb["cells"][-1]
        tags = last.get("metadata", {}).get("tags", [])
        tagged = [c for c in nb["cells"] if "provenance" in c.get("metadata", {}).get("tags", [])]
        assert tagged == [last] and last["cell_type"] == "code" and "remove-input" in tags, entry.document
        code = [line for line in "".join(last["source"]).splitlines() if line.strip()]
        assert code[0] == "from ntkbook.report.provenance import provenance_note"
        assert re.fullmatch(r"provenance_note\(spec\)(\s*#.*)?", code[1]) and len(code) == 2, entry.document
