"""ntkbook.cache under faults: a sweep killed with SIGKILL resumes, two processes share a folder, damaged entries
are recomputed, an unwritable or full folder gives a clear error.

The worker processes load a snapshot of `ntkbook/cache.py` as the only module of a stub `ntkbook` package, without
running `ntkbook/__init__` (which imports TensorFlow and costs seconds per process; the cache module needs only
pandas, pyarrow and platformdirs). This test process computes keys with the snapshot's fingerprint too, so that an
edit of the source tree while the tests run cannot make the two sides disagree on the keys.
"""

import errno
import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ntkbook import cache

PACKAGE = Path(cache.__file__).resolve().parent

WORKER = textwrap.dedent(
    """
    import os, sys, time, types, warnings
    from pathlib import Path

    pkg_dir, cache_dir, markers, mode, n_units, sleep, tag, rounds = sys.argv[1:9]
    n_units, sleep, rounds = int(n_units), float(sleep), int(rounds)
    stub = types.ModuleType("ntkbook")
    stub.__path__ = [pkg_dir]
    sys.modules["ntkbook"] = stub
    from ntkbook import cache
    import numpy as np
    import pandas as pd

    markers = Path(markers)
    pid = os.getpid()

    def toy(i, tag="", r=0):
        rng = np.random.default_rng([i, r, len(tag)])
        n = 200 + 50 * i
        return pd.DataFrame({"unit": np.full(n, i), "j": np.arange(n), "value": rng.normal(size=n),
                             "label": [f"u{i}{tag}"] * n, "round": np.full(n, r)})

    def compute(i):
        def run():
            (markers / f"start-{i}-{pid}").touch()
            held = time.monotonic()
            while (markers / f"hold-{i}").exists() and time.monotonic() - held < 120:
                time.sleep(0.01)  # the test holds this unit until it kills the process
            time.sleep(sleep)
            return toy(i)
        return run

    (markers / f"ready-{pid}").touch()
    if mode == "sweep":
        frames = [cache.cached_frame("toy", {"unit": i}, compute(i), cache_dir=cache_dir) for i in range(n_units)]
        pd.concat(frames, ignore_index=True).to_parquet(markers / f"table-{pid}.parquet")
    else:  # "hammer": store and read the same entries as fast as possible, checking every read
        bad = 0
        warnings.simplefilter("error")
        for r in range(rounds):
            for i in range(n_units):
                cache.store("toy", {"unit": i}, toy(i, tag, r), cache_dir)
                got = cache.load("toy", {"unit": (i + 1) % n_units}, cache_dir)
                if got is not None:
                    t, rr = got["label"].iloc[0][len(f"u{(i + 1) % n_units}"):], int(got["round"].iloc[0])
                    want = toy((i + 1) % n_units, t, rr)
                    pd.testing.assert_frame_equal(got, want, check_dtype=False)
        print("ok")
    """
)


@pytest.fixture
def worker(tmp_path, monkeypatch):
    snapshot = tmp_path / "pkg"
    snapshot.mkdir()
    (snapshot / "cache.py").write_bytes((PACKAGE / "cache.py").read_bytes())
    fingerprint = cache.compute_fingerprint(snapshot)
    monkeypatch.setattr(cache, "compute_fingerprint", lambda: fingerprint)
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    markers = tmp_path / "markers"
    markers.mkdir()

    def start(cache_dir, mode="sweep", n_units=6, sleep=0.0, tag="", rounds=1):
        args = [sys.executable, str(script), str(snapshot), str(cache_dir), str(markers), mode, str(n_units),
                str(sleep), tag, str(rounds)]
        return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    start.markers = markers
    return start


def _wait_for(predicate, proc, timeout=120.0):
    end = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None:
            raise AssertionError(f"worker exited early ({proc.returncode}): {proc.stderr.read()}")
        if time.monotonic() > end:
            proc.kill()
            raise AssertionError("worker did not reach the expected point in time")
        time.sleep(0.01)


def _finish(proc, timeout=300):
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    return out


def _starts(markers, pid=None):
    """{unit: number of computations started} (by `pid` only if given)."""
    counts = {}
    for m in markers.glob("start-*"):
        _, unit, who = m.name.split("-")
        if pid is None or int(who) == pid:
            counts[int(unit)] = counts.get(int(unit), 0) + 1
    return counts


def _whole_entries(cache_dir, n_units):
    """Units whose entry loads (asserting that no entry is damaged: a damaged one would warn)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return {i for i in range(n_units) if cache.load("toy", {"unit": i}, cache_dir) is not None}


def test_sigkilled_sweep_resumes_and_matches_an_uninterrupted_run(tmp_path, worker):
    n = 6
    reference = worker(tmp_path / "reference")
    _finish(reference)
    expected = pd.read_parquet(worker.markers / f"table-{reference.pid}.parquet")
    for m in worker.markers.glob("start-*"):
        m.unlink()

    folder = tmp_path / "cache"
    hold = worker.markers / "hold-3"
    hold.touch()
    first = worker(folder, sleep=0.1)
    # kill while unit 3 computes (held until then): units 0-2 are stored, 3 is half-done, 4-5 never started
    _wait_for(lambda: (worker.markers / f"start-3-{first.pid}").exists(), first)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert first.returncode == -signal.SIGKILL
    assert _whole_entries(folder, n) == {0, 1, 2}

    hold.unlink()
    second = worker(folder, sleep=0.1)
    _finish(second)
    assert _starts(worker.markers, second.pid) == {3: 1, 4: 1, 5: 1}  # only the unfinished units ran again
    assert _starts(worker.markers) == {0: 1, 1: 1, 2: 1, 3: 2, 4: 1, 5: 1}
    resumed = pd.read_parquet(worker.markers / f"table-{second.pid}.parquet")
    pd.testing.assert_frame_equal(resumed, expected)
    assert _whole_entries(folder, n) == set(range(n))


def test_sigkill_at_any_point_leaves_only_whole_entries(tmp_path, worker):
    """Kill a sweep of fast units (mostly writing) at several moments; every entry is whole or absent, and a final
    run recomputes exactly the missing units and returns the uninterrupted table."""
    n = 8
    reference = worker(tmp_path / "reference", n_units=n)
    _finish(reference)
    expected = pd.read_parquet(worker.markers / f"table-{reference.pid}.parquet")

    folder = tmp_path / "cache"
    for delay in (0.0, 0.02, 0.05, 0.1, 0.2):
        proc = worker(folder, n_units=n, sleep=0.01)
        _wait_for(lambda proc=proc: (worker.markers / f"ready-{proc.pid}").exists(), proc)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        _whole_entries(folder, n)  # raises on any damaged entry
    before = _whole_entries(folder, n)
    last = worker(folder, n_units=n, sleep=0.01)
    _finish(last)
    assert set(_starts(worker.markers, last.pid)) == set(range(n)) - before
    pd.testing.assert_frame_equal(pd.read_parquet(worker.markers / f"table-{last.pid}.parquet"), expected)


def test_two_processes_computing_the_same_units_leave_whole_entries(tmp_path, worker):
    n = 4
    folder = tmp_path / "cache"
    a, b = worker(folder, n_units=n, sleep=0.2), worker(folder, n_units=n, sleep=0.2)
    _finish(a), _finish(b)
    ta = pd.read_parquet(worker.markers / f"table-{a.pid}.parquet")
    tb = pd.read_parquet(worker.markers / f"table-{b.pid}.parquet")
    pd.testing.assert_frame_equal(ta, tb)
    assert _whole_entries(folder, n) == set(range(n))
    assert len(list(folder.glob("*.entry.json"))) == n
    assert list(folder.glob(".*.tmp")) == []


def test_two_processes_storing_different_tables_under_one_key_stay_whole(tmp_path, worker):
    """Two writers race on the same keys with different contents while reading each other's entries."""
    n = 3
    folder = tmp_path / "cache"
    a = worker(folder, mode="hammer", n_units=n, tag="A", rounds=40)
    b = worker(folder, mode="hammer", n_units=n, tag="B", rounds=40)
    assert _finish(a).strip() == "ok" and _finish(b).strip() == "ok"
    assert _whole_entries(folder, n) == set(range(n))
    for i in range(n):  # the surviving table is one whole table that one writer wrote
        got = cache.load("toy", {"unit": i}, folder)
        assert got["label"].iloc[0] in (f"u{i}A", f"u{i}B") and got["label"].nunique() == 1
        assert got["round"].nunique() == 1 and len(got) == 200 + 50 * i


# -- damaged entries ---------------------------------------------------------------------------------------------


def _stored(tmp_path, params=None):
    params = params or {"unit": 1}
    frame = pd.DataFrame({"x": np.arange(100.0), "s": ["a"] * 100})
    cache.store("toy", params, frame, tmp_path)
    manifest = next(tmp_path.glob("*.entry.json"))
    table = tmp_path / json.loads(manifest.read_text())["table"]
    return manifest, table


def _truncate(manifest, table):
    table.write_bytes(table.read_bytes()[: table.stat().st_size // 2])


def _flip_byte(manifest, table):
    blob = bytearray(table.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    table.write_bytes(bytes(blob))


def _empty_table(manifest, table):
    table.write_bytes(b"")


def _delete_table(manifest, table):
    table.unlink()


def _truncate_manifest(manifest, table):
    manifest.write_text(manifest.read_text()[:40])


def _other_schema(manifest, table):
    m = json.loads(manifest.read_text())
    m["schema"][0][1] = "int64"
    manifest.write_text(json.dumps(m))


def _other_rows(manifest, table):
    m = json.loads(manifest.read_text())
    m["rows"] += 1
    manifest.write_text(json.dumps(m))


def _other_params(manifest, table):
    m = json.loads(manifest.read_text())
    m["params"] = {"unit": 2}
    manifest.write_text(json.dumps(m))


def _old_format(manifest, table):
    m = json.loads(manifest.read_text())
    m["format"] = "ntkbook-result-cache/1"
    manifest.write_text(json.dumps(m))


def _forged_table_name(manifest, table):
    m = json.loads(manifest.read_text())
    m["table"] = "../../etc/passwd"
    manifest.write_text(json.dumps(m))


def _consistent_forgery(manifest, table):
    """A different valid Parquet file with a matching checksum but a schema that differs from the manifest's."""
    other = pd.DataFrame({"x": np.arange(3), "s": ["b"] * 3})
    import io

    buf = io.BytesIO()
    other.to_parquet(buf)
    blob = buf.getvalue()
    table.write_bytes(blob)
    m = json.loads(manifest.read_text())
    m["sha256"] = hashlib.sha256(blob).hexdigest()
    manifest.write_text(json.dumps(m))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_truncate, "SHA-256 does not match"),
        (_flip_byte, "SHA-256 does not match"),
        (_empty_table, "SHA-256 does not match"),
        (_delete_table, "is missing"),
        (_truncate_manifest, "not valid JSON"),
        (_other_schema, "schema"),
        (_other_rows, "rows differ"),
        (_other_params, "parameters differ"),
        (_old_format, "not a ntkbook-result-cache/2 manifest"),
        (_forged_table_name, "bad table name"),
        (_consistent_forgery, "schema"),
    ],
)
def test_damaged_entries_are_reported_and_recomputed(tmp_path, damage, message):
    manifest, table = _stored(tmp_path)
    damage(manifest, table)
    with pytest.warns(cache.CacheEntryWarning, match=message) as record:
        assert cache.load("toy", {"unit": 1}, tmp_path) is None
    assert str(tmp_path) in str(record[0].message)  # names the file
    calls = []

    def compute():
        calls.append(1)
        return pd.DataFrame({"x": [1.0], "s": ["fresh"]})

    with pytest.warns(cache.CacheEntryWarning):
        got = cache.cached_frame("toy", {"unit": 1}, compute, cache_dir=tmp_path)
    assert calls == [1] and got["s"].item() == "fresh"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pd.testing.assert_frame_equal(cache.load("toy", {"unit": 1}, tmp_path), got)


def test_a_store_interrupted_before_its_manifest_leaves_no_entry(tmp_path, monkeypatch):
    real_replace = os.replace

    def die_at_manifest(src, dst):
        if str(dst).endswith(".entry.json"):
            raise KeyboardInterrupt  # stands for the process dying between the two renames
        real_replace(src, dst)

    monkeypatch.setattr(cache.os, "replace", die_at_manifest)
    with pytest.raises(KeyboardInterrupt):
        cache.store("toy", {"unit": 1}, pd.DataFrame({"x": [1]}), tmp_path)
    monkeypatch.setattr(cache.os, "replace", real_replace)
    assert len(list(tmp_path.glob("*.parquet"))) == 1 and list(tmp_path.glob(".*.tmp")) == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cache.load("toy", {"unit": 1}, tmp_path) is None  # an unreferenced table is not an entry
    # a later store of the same unit commits, and sweeps away the orphan once it is past the grace period
    monkeypatch.setattr(cache, "GRACE_SECONDS", -1.0)
    cache.store("toy", {"unit": 1}, pd.DataFrame({"x": [2]}), tmp_path)
    assert cache.load("toy", {"unit": 1}, tmp_path)["x"].item() == 2
    assert len(list(tmp_path.glob("*.parquet"))) == 1


def test_young_unreferenced_tables_are_kept_for_a_concurrent_writer(tmp_path):
    cache.store("toy", {"unit": 1}, pd.DataFrame({"x": [1]}), tmp_path)
    cache.store("toy", {"unit": 1}, pd.DataFrame({"x": [2]}), tmp_path)
    assert len(list(tmp_path.glob("*.parquet"))) == 2  # the first may still be named by a manifest being read


# -- unwritable and full folders ---------------------------------------------------------------------------------


def test_a_folder_that_cannot_be_created_is_named_before_computing(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    folder = blocker / "results"
    calls = []
    with pytest.raises(cache.CacheWriteError, match="NTKBOOK_CACHE") as info:
        cache.cached_frame("toy", {"unit": 1}, lambda: calls.append(1), cache_dir=folder)
    assert str(folder) in str(info.value) and calls == []
    with pytest.raises(cache.CacheWriteError, match=str(folder)):
        cache.store("toy", {"unit": 1}, pd.DataFrame({"x": [1]}), folder)


@pytest.mark.parametrize(("code", "text"), [(errno.ENOSPC, "No space left"), (errno.EROFS, "Read-only"),
                                            (errno.EACCES, "Permission denied")])
def test_a_full_or_read_only_folder_gives_a_clear_error_and_keeps_the_old_entry(tmp_path, monkeypatch, code, text):
    cache.store("toy", {"unit": 1}, pd.DataFrame({"x": [1]}), tmp_path)

    def fail(fd):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(cache.os, "fsync", fail)
    with pytest.raises(cache.CacheWriteError, match=text) as info:
        cache.store("toy", {"unit": 1}, pd.DataFrame({"x": [2]}), tmp_path)
    assert str(tmp_path) in str(info.value) and "NTKBOOK_CACHE" in str(info.value)
    assert info.value.errno == code and isinstance(info.value, OSError)
    monkeypatch.undo()
    assert list(tmp_path.glob(".*.tmp")) == []  # the temporary file was removed
    assert cache.load("toy", {"unit": 1}, tmp_path)["x"].item() == 1  # the old entry is untouched


def test_a_folder_without_write_permission_is_reported(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(cache.tempfile, "mkstemp", refuse)
    with pytest.raises(cache.CacheWriteError, match=r"Permission denied.*NTKBOOK_CACHE"):
        cache.cached_frame("toy", {}, lambda: pytest.fail("computed"), cache_dir=tmp_path)


def test_default_folder_follows_ntkbook_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NTKBOOK_CACHE", str(tmp_path / "root"))
    assert cache.results_dir() == tmp_path / "root" / "results"
    cache.cached_frame("toy", {"unit": 1}, lambda: pd.DataFrame({"x": [1]}))
    assert len(list((tmp_path / "root" / "results").glob("toy-*.entry.json"))) == 1
