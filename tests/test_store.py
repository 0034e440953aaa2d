"""The result store: record, read-only lookup under the user cache, verification (tables, staleness, sample
recomputation) and the command line (`sweep --store`, `store verify`, `--dry-run`)."""

import dataclasses
import io
import json
import os
import warnings
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from ntkbook import cache, runner, store
from ntkbook.__main__ import main
from ntkbook.spec import Spec, knob
from ntkbook.sweeps import SWEEPS, SweepEntry

# --- a toy sweep: this module is its compute module -------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class StoreToySpec(Spec):
    seeds: tuple[int, ...] = knob((0, 1, 2), type=int, doc="seeds")
    PROFILES: ClassVar[dict[str, dict]] = {"quick": {"seeds": (0, 1)}, "default": {}}
    MEASURED_SECONDS: ClassVar[dict[str, float]] = {"quick": 4.0}


def toy_unit(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"seed": [seed, seed], "x": rng.standard_normal(2), "label": ["a", "b"]})


def units(spec: StoreToySpec) -> list:
    return [runner.Unit("store-toy", {"seed": s}, toy_unit) for s in spec.seeds]


@pytest.fixture
def toy(monkeypatch, tmp_path):
    """The toy sweep registered, an empty user cache and an empty store (both under tmp_path)."""
    monkeypatch.setitem(SWEEPS, "store-toy", SweepEntry("store-toy", __name__, "a toy sweep"))
    monkeypatch.setenv("NTKBOOK_CACHE", os.fspath(tmp_path / "cache"))
    root = tmp_path / "results"
    monkeypatch.setenv(store.STORE_ENV, os.fspath(root))
    return root


def _fill(root, profile="quick"):
    spec = StoreToySpec.resolve(profile)
    for unit in units(spec):
        store.record("store-toy", profile, unit, toy_unit(**unit.params), seconds=0.5, root=root)
    return units(spec)


def test_record_then_lookup_and_runner_reads_the_store(toy):
    us = _fill(toy)
    manifest = json.loads((toy / "store-toy" / "quick" / store.MANIFEST).read_text())
    assert sorted(manifest["units"]) == sorted(f"store-toy-{u.key}" for u in us)
    rec = manifest["units"][f"store-toy-{us[0].key}"]
    assert rec["function"] == f"{__name__}:toy_unit" and rec["seconds"] == 0.5 and rec["versions"]["numpy"]
    assert rec["compute_fingerprint"] == cache.compute_fingerprint()
    pd.testing.assert_frame_equal(store.lookup(us[0]), toy_unit(0))
    result = runner.run(us)  # empty user cache: every unit comes from the store, none is computed
    assert result.stored == tuple(u.key for u in us) and not result.computed and not result.cached
    other = runner.Unit("store-toy", {"seed": 7}, toy_unit)
    assert store.lookup(other) is None


def test_verify_passes_then_names_an_altered_table_by_its_key(toy):
    us = _fill(toy)
    good = store.verify(toy, sample=2, seed=0)
    assert good.ok and good.checked == 2 and len(good.recomputed) == 2 and good.max_deviation == 0.0
    # one value of one stored table changed (the manifest's SHA-256 no longer matches)
    folder = toy / "store-toy" / "quick"
    table = folder / json.loads((folder / store.MANIFEST).read_text())["units"][f"store-toy-{us[1].key}"]["table"]
    frame = pd.read_parquet(table)
    frame.loc[0, "x"] += 1e-3
    frame.to_parquet(table)
    with pytest.warns(cache.CacheEntryWarning, match="SHA-256 does not match"):
        bad = store.verify(toy, sample=0)
    assert not bad.ok and bad.checked == 1
    assert any(us[1].key in p and "does not match the manifest" in p for p in bad.problems)


def test_verify_recomputation_catches_a_consistent_forgery(toy):
    """A table altered by one value and re-recorded with a matching checksum: only recomputation can tell."""
    us = _fill(toy)
    forged = toy_unit(1)
    forged.loc[1, "x"] *= 1 + 1e-3
    store.record("store-toy", "quick", us[1], forged, seconds=0.5, root=toy)
    result = store.verify(toy, sample=2)
    assert not result.ok
    (problem,) = result.problems
    assert us[1].key in problem and "recomputation disagrees" in problem and "'x'" in problem


def test_stale_entry_is_reported_with_the_refresh_command(toy, monkeypatch):
    _fill(toy)
    monkeypatch.setattr(cache, "compute_fingerprint", lambda *a, **k: "code-after-an-edit")
    result = store.verify(toy, sample=2)
    assert not result.ok and len(result.stale) == 2 and not result.recomputed
    assert all("stale (the compute code changed since it was stored)" in p
               and "python -m ntkbook sweep store-toy --profile quick --store" in p for p in result.problems)


def test_compare_frames_rules():
    a = pd.DataFrame({"n": [1, 2], "x": [1.0, np.nan], "s": ["a", "b"]})
    assert store.compare_frames(a, a.copy()) == (True, 0.0, "")
    near = a.copy()
    near.loc[0, "x"] = 1.0 + 0.5 * store.FLOAT_RTOL
    ok, dev, _ = store.compare_frames(a, near)
    assert ok and 0 < dev <= store.FLOAT_RTOL
    far = a.copy()
    far.loc[0, "x"] = 1.0 + 2 * store.FLOAT_RTOL
    assert not store.compare_frames(a, far)[0]
    count = a.copy()
    count.loc[1, "n"] = 3
    assert not store.compare_frames(a, count)[0]  # counts compare exactly
    assert not store.compare_frames(a, a[["n", "x"]])[0]
    assert not store.compare_frames(a, a.iloc[:1])[0]
    inf = pd.DataFrame({"x": [np.inf, -np.inf, 2.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # equal infinities compare without a numpy warning
        assert store.compare_frames(inf, inf.copy()) == (True, 0.0, "")
    flipped = inf.copy()
    flipped.loc[0, "x"] = -np.inf
    assert store.compare_frames(inf, flipped)[1] == float("inf")
    timed = a.assign(unit_seconds=[3.0, 4.0])
    slower = timed.assign(unit_seconds=[30.0, 1.0])  # a unit's own run time is provenance, not a result
    assert store.compare_frames(timed, slower) == (True, 0.0, "")
    assert not store.compare_frames(timed, slower.assign(x=[2.0, np.nan]))[0]
    assert not store.compare_frames(timed, a)[0]  # the column itself must still be there


def test_bad_names_and_sample_are_refused(tmp_path):
    with pytest.raises(ValueError, match="sweep must be"):
        store.layer("../x", "quick", tmp_path)
    with pytest.raises(ValueError, match="sample must be"):
        store.verify(tmp_path, sample=-1)


def test_damaged_manifest_is_a_clear_error(toy):
    _fill(toy)
    (toy / "store-toy" / "quick" / store.MANIFEST).write_text("{not json")
    with pytest.raises(store.StoreError, match="restore it from git"):
        store.verify(toy)


def test_cli_records_verifies_and_estimates(toy, capsys, tmp_path, monkeypatch):
    assert main(["sweep", "store-toy", "--profile", "quick", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "0 cached, 0 in the result store, 2 to compute" in out
    assert "estimated 0.00 CPU-hours" in out and "2.0 s per unit" in out  # 4 s measured over 2 units
    assert main(["sweep", "store-toy", "--profile", "quick", "--store", os.fspath(toy)]) == 0
    assert "2 units recorded in the result store" in capsys.readouterr().out
    assert main(["store", "verify", "--root", os.fspath(toy), "--sample", "1"]) == 0
    out = capsys.readouterr().out
    assert "2 stored tables checked, 0 stale, 1 units re-verified" in out and "maximum relative deviation 0" in out
    # a fresh user cache: the sweep now reads both units from the store and computes nothing
    monkeypatch.setenv("NTKBOOK_CACHE", os.fspath(tmp_path / "other-cache"))
    assert main(["sweep", "store-toy", "--profile", "quick"]) == 0
    assert "0 computed, 0 cached, 2 from the result store" in capsys.readouterr().out
    assert main(["sweep", "store-toy", "--profile", "default", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "0 cached, 2 in the result store, 1 to compute" in out and "mean over the stored units" not in out


def toy_data_unit(seed: int, data_dir: str) -> pd.DataFrame:
    return pd.DataFrame({"seed": [seed], "x": [float(seed)]})


def test_an_entry_whose_data_changed_is_stale_with_the_refresh_command(toy, tmp_path, monkeypatch):
    """A unit that reads a data split is keyed on the split's content; a changed file in the data folder makes
    its stored entry stale, and verify says that the data (not the code) changed and how to refresh it."""
    from ntkbook import data

    monkeypatch.setattr(data, "FINGERPRINT_REUSE_SECONDS", 0.0)  # look at the files again on every call
    import gzip
    import struct

    folder = tmp_path / "data" / "mnist"
    folder.mkdir(parents=True)

    def write_mnist(pixels: bytes) -> None:  # a two-image MNIST test split in the IDX format
        (folder / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(struct.pack(">IIII", 0x803, 2, 28, 28) + pixels))
        (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(struct.pack(">II", 0x801, 2) + bytes([3, 8])))

    write_mnist(bytes(2 * 28 * 28))
    params = {"seed": 0, "data_dir": os.fspath(tmp_path / "data")}
    unit = runner.Unit("store-toy", params, toy_data_unit, reads=(("mnist", "test"),))
    store.record("store-toy", "quick", unit, toy_data_unit(**params), seconds=0.1, root=toy)
    assert store.verify(toy, sample=0).ok
    write_mnist(bytes(2 * 28 * 28 - 1) + b"\xff")  # one pixel of the last image changed
    result = store.verify(toy, sample=1)
    assert not result.ok and len(result.stale) == 1 and not result.recomputed
    (problem,) = result.problems
    assert "stale (the data changed since it was stored)" in problem
    assert "refresh with: python -m ntkbook sweep store-toy --profile quick --store" in problem


def failing_toy_unit(seed: int) -> pd.DataFrame:
    if seed == 1:
        raise RuntimeError("this toy unit fails")
    return toy_unit(seed)


def test_sweep_store_records_each_unit_as_it_finishes_and_prunes_old_entries(toy, capsys, monkeypatch):
    """`--store` records a unit as soon as it is computed: a sweep in which one unit fails (as one killed midway)
    keeps the others. A completed sweep then drops the entries that are not its units (earlier code or params)."""
    import sys

    here = sys.modules[__name__]
    old = runner.Unit("store-toy", {"seed": 99}, toy_unit)  # an entry no current unit has
    store.record("store-toy", "quick", old, toy_unit(99), seconds=0.1, root=toy)
    monkeypatch.setattr(here, "units",
                        lambda spec: [runner.Unit("store-toy", {"seed": s}, failing_toy_unit) for s in spec.seeds])
    assert main(["sweep", "store-toy", "--profile", "quick", "--store", os.fspath(toy)]) == 1
    recs = store.records("store-toy", toy)
    good = runner.Unit("store-toy", {"seed": 0}, failing_toy_unit)
    assert f"store-toy-{good.key}" in recs and recs[f"store-toy-{good.key}"]["seconds"] is not None
    assert len(recs) == 2  # the finished unit and the old entry; the failed unit is absent
    monkeypatch.setattr(here, "units", lambda spec: [runner.Unit("store-toy", {"seed": s}, toy_unit) for s in spec.seeds])
    capsys.readouterr()
    assert main(["sweep", "store-toy", "--profile", "quick", "--store", os.fspath(toy)]) == 0
    assert "1 entries of earlier code or parameters removed" in capsys.readouterr().out
    recs = store.records("store-toy", toy)
    assert sorted(recs) == sorted(f"store-toy-{u.key}" for u in units(StoreToySpec.resolve("quick")))
    assert not list((toy / "store-toy" / "quick").glob(f"*{old.key}*"))
    assert store.verify(toy, sample=0).ok


def test_dry_run_labels_an_estimated_profile_as_an_estimate(toy, capsys, monkeypatch):
    """A profile too large to measure carries an estimate (`ESTIMATED_SECONDS`); --dry-run says so."""
    monkeypatch.setattr(StoreToySpec, "ESTIMATED_SECONDS", {"default": 3 * 7200.0})
    assert main(["sweep", "store-toy", "--profile", "default", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "estimated 6.00 CPU-hours" in out and "an estimate of 6 CPU-hours" in out and "not a measurement" in out
    assert "measured" not in out.replace("measured per-unit", "")


def _pack_members(path) -> dict:
    import tarfile

    with tarfile.open(path, "r:xz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}


def test_pack_keeps_a_layer_in_one_deterministic_archive_that_lookup_and_verify_read(toy, capsys):
    us = _fill(toy)
    folder = toy / "store-toy" / "quick"
    loose = sorted(p.name for p in folder.iterdir() if p.name != store.MANIFEST)
    assert store.pack("store-toy", "quick", toy) == 2
    assert sorted(p.name for p in folder.iterdir()) == sorted([store.MANIFEST, store.PACK])
    assert sorted(_pack_members(folder / store.PACK)) == loose
    first = (folder / store.PACK).read_bytes()
    store.pack("store-toy", "quick", toy)
    assert (folder / store.PACK).read_bytes() == first  # deterministic: packing again changes nothing
    pd.testing.assert_frame_equal(store.lookup(us[0]), toy_unit(0))
    result = store.verify(toy, sample=2)
    assert result.ok and result.checked == 2 and result.max_deviation == 0.0
    assert runner.run(us).stored == tuple(u.key for u in us)
    # a unit recorded after packing is loose and shadows nothing else; prune + pack drop an entry no unit has
    old = runner.Unit("store-toy", {"seed": 99}, toy_unit)
    store.record("store-toy", "quick", old, toy_unit(99), seconds=0.1, root=toy)
    pd.testing.assert_frame_equal(store.lookup(old), toy_unit(99))
    assert store.prune("store-toy", "quick", [u.key for u in us], toy) == [f"store-toy-{old.key}"]
    store.pack("store-toy", "quick", toy)
    assert (folder / store.PACK).read_bytes() == first and store.lookup(old) is None
    assert main(["store", "pack", "--root", os.fspath(toy)]) == 0
    assert "store-toy/quick: 2 units in" in capsys.readouterr().out


def test_a_packed_table_altered_by_one_value_fails_verification_with_its_key(toy):
    us = _fill(toy)
    folder = toy / "store-toy" / "quick"
    store.pack("store-toy", "quick", toy)
    members = _pack_members(folder / store.PACK)
    name = json.loads((folder / store.MANIFEST).read_text())["units"][f"store-toy-{us[1].key}"]["table"]
    frame = pd.read_parquet(io.BytesIO(members[name]))
    frame.loc[0, "x"] += 1e-3
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    members[name] = buffer.getvalue()
    (folder / store.PACK).write_bytes(store._tar_xz(members))
    with pytest.warns(cache.CacheEntryWarning, match="SHA-256 does not match"):
        bad = store.verify(toy, sample=0)
    assert not bad.ok and bad.checked == 1
    assert any(us[1].key in p and "does not match the manifest" in p for p in bad.problems)


def test_a_pack_holding_anything_but_entries_or_not_xz_is_refused(toy):
    _fill(toy)
    folder = toy / "store-toy" / "quick"
    store.pack("store-toy", "quick", toy)
    members = _pack_members(folder / store.PACK)
    (folder / store.PACK).write_bytes(store._tar_xz({**members, "../outside.txt": b"x"}))
    with pytest.raises(store.StoreError, match="not a result-cache entry; restore it from git"):
        store.verify(toy, sample=0)
    (folder / store.PACK).write_bytes(b"not an archive")
    with pytest.raises(store.StoreError, match="cannot be read"):
        store.verify(toy, sample=0)
