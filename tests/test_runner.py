"""ntkbook.runner: units, the cache as the single store, and the same table from every executor.

One Dask LocalCluster (2 worker processes, 1 thread each) serves the whole module through its tcp:// address, so the
"existing scheduler" path is what these tests exercise; `local:N` only differs in starting and closing the cluster
(tested once, on one worker). The toy sweep below lives at module level so that worker processes import it by name.
"""


import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from ntkbook import runner
from ntkbook.runner import RunResult, Unit, UnitsFailed, parse_scheduler, run

# --- a toy sweep: float32 arithmetic whose bits would show any difference between processes -------------------


def toy_unit(seed: int, width: int, fail: bool = False) -> pd.DataFrame:
    """A small JAX computation (matmul + nonlinearity + reduction) per seed; raises when `fail`."""
    if fail:
        raise ValueError(f"toy unit {seed} was told to fail")
    key = jax.random.PRNGKey(seed)
    x = jax.random.normal(key, (16, width))
    y = jnp.tanh(x @ x.T / width).sum(axis=1)
    return pd.DataFrame({"seed": seed, "width": width, "row": np.arange(16), "value": np.asarray(y)})


def not_a_frame(seed: int) -> list:
    return [seed]


def toy_units(n: int = 4, *, fail_at: int | None = None) -> list[Unit]:
    return [Unit("toy", {"seed": s, "width": 8 * (1 + s % 2), "fail": s == fail_at}, toy_unit) for s in range(n)]


def fresh_fingerprint() -> str:
    """The compute fingerprint of the tree as it is now (the per-process memo is cleared first)."""
    from ntkbook import cache

    cache._fingerprint.cache_clear()
    return cache.compute_fingerprint()


def on_a_still_tree(attempt, client=None, tries: int = 4):
    """`attempt()` repeated until the package's compute code did not change while it ran.

    Keys hash the compute code, and each process reads it once. On a tree that is being edited while the tests run,
    a worker started later can see other code than the caller and is then (rightly) refused. This helper gives the
    tests a still tree: it retries when the code changed during the attempt, restarting the cluster's workers first
    so they re-read the code. On a tree nobody edits (CI) the first attempt is the only one.
    """
    for attempt_no in range(tries):
        if client is not None and attempt_no:  # only after a refused attempt: a restart on a loaded machine is slow
            client.restart()
        before = fresh_fingerprint()
        try:
            out = attempt()
        except UnitsFailed as err:
            if not all("different ntkbook code" in e for e in err.result.failed.values()):
                raise
            continue
        if fresh_fingerprint() == before:
            return out
    pytest.fail(f"the package's compute code changed during each of {tries} attempts")


@pytest.fixture(scope="module")
def cluster():
    """One LocalCluster for the module (start-up takes seconds): (scheduler address, client)."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        with distributed.Client(c.scheduler_address, set_as_default=False) as client:
            yield c.scheduler_address, client


@pytest.fixture
def cache_dir(tmp_path):
    return tmp_path / "results"


# --- units ---------------------------------------------------------------------------------------------------


def test_unit_key_is_the_cache_key_and_ignores_param_order():
    from ntkbook.cache import entry_key, unit_fingerprint

    a = Unit("toy", {"seed": 1, "width": 8}, toy_unit)
    b = Unit("toy", {"width": 8, "seed": 1}, toy_unit)
    stamp = unit_fingerprint(toy_unit.__module__)  # the unit's code (here: the whole package's) and the stack
    assert a.key == b.key == entry_key("toy", {"seed": 1, "width": 8}, fingerprint=stamp)
    assert a == b and len({a, b}) == 1
    assert Unit("toy", {"seed": 2, "width": 8}, toy_unit).key != a.key
    assert Unit("other", {"seed": 1, "width": 8}, toy_unit).key != a.key


def test_units_built_in_a_burst_share_one_data_fingerprint(monkeypatch):
    """A fingerprint whose folder walk takes most of the data module's reuse window is computed once for a burst of
    units (the window counts from the end of the walk), again after the window, and again at once when the code
    changes; the keys are those of `cache.unit_fingerprint` itself."""
    import time

    from ntkbook import cache, data

    calls = []
    real = cache.unit_fingerprint

    def slow(module, reads=(), **kw):
        calls.append(module)
        time.sleep(0.3)  # a walk taking 3/4 of the window
        return real(module, reads, **kw)

    monkeypatch.setattr(data, "FINGERPRINT_REUSE_SECONDS", 0.4)
    monkeypatch.setattr(cache, "unit_fingerprint", slow)
    runner._STAMPS.clear()
    units = [Unit("toy", {"seed": s, "width": 2}, toy_unit, reads=(("digits", "train"),)) for s in range(4)]
    assert len(calls) == 1
    assert units[0].key == cache.entry_key("toy", {"seed": 0, "width": 2},
                                           fingerprint=real(__name__, (("digits", "train"),)))
    time.sleep(0.5)
    Unit("toy", {"seed": 9, "width": 2}, toy_unit, reads=(("digits", "train"),))
    assert len(calls) == 2
    monkeypatch.setattr(cache, "compute_fingerprint", lambda *a, **k: "code-after-an-edit")
    edited = Unit("toy", {"seed": 0, "width": 2}, toy_unit, reads=(("digits", "train"),))
    assert len(calls) == 3 and edited.key != units[0].key


def test_unit_params_are_copied():
    params = {"seed": 1, "width": 8}
    unit = Unit("toy", params, toy_unit)
    params["seed"] = 2
    assert unit.params == {"seed": 1, "width": 8}
    assert unit.key == Unit("toy", {"seed": 1, "width": 8}, toy_unit).key


def test_unit_refuses_what_cannot_run_elsewhere():
    with pytest.raises(ValueError, match="module-level"):
        Unit("toy", {"seed": 1}, lambda seed: pd.DataFrame())
    with pytest.raises(ValueError, match="params"):
        Unit("toy", {"seed": object()}, toy_unit)
    with pytest.raises(ValueError, match="kind"):
        Unit("bad kind!", {"seed": 1}, toy_unit)
    with pytest.raises(ValueError, match="callable"):
        Unit("toy", {"seed": 1}, "toy_unit")


def test_parse_scheduler(monkeypatch):
    monkeypatch.delenv(runner.SCHEDULER_ENV, raising=False)
    assert parse_scheduler(None) == ("inprocess", None)
    assert parse_scheduler("inprocess") == ("inprocess", None)
    assert parse_scheduler("processes") == ("processes", None)
    assert parse_scheduler("processes:3") == ("processes", 3)
    assert parse_scheduler("local:2") == ("local", 2)
    assert parse_scheduler("tcp://10.0.0.1:8786") == ("dask", "tcp://10.0.0.1:8786")
    monkeypatch.setenv(runner.SCHEDULER_ENV, "local:4")
    assert parse_scheduler(None) == ("local", 4)
    for bad in ("dask", "local:0", "local:two", "processes:-1", "http://host:8786"):
        with pytest.raises(ValueError, match="scheduler|worker count"):
            parse_scheduler(bad)


# --- in-process: cache, duplicates, failures ---------------------------------------------------------------------


def test_inprocess_fills_the_cache_then_reads_it(cache_dir):
    units = toy_units(3)
    first = run(units, cache_dir=cache_dir)
    assert first.computed == tuple(u.key for u in units) and first.cached == () and first.failed == {}
    second = run(units, cache_dir=cache_dir)
    assert second.computed == () and second.cached == tuple(u.key for u in units)
    pd.testing.assert_frame_equal(first.frame, second.frame, check_exact=True)
    expected = pd.concat([toy_unit(**u.params) for u in units], ignore_index=True)
    pd.testing.assert_frame_equal(first.frame, expected, check_exact=True)
    refreshed = run(units, cache_dir=cache_dir, refresh=True)
    assert refreshed.computed == first.computed and refreshed.cached == ()


def test_reading_only_reads_what_is_recorded_and_computes_nothing(cache_dir):
    units = toy_units(3)
    run(units[:2], cache_dir=cache_dir)
    with runner.reading_only():
        read = run(units[:2], cache_dir=cache_dir)
        assert read.computed == () and read.cached == tuple(u.key for u in units[:2])
        with pytest.raises(runner.NotRecorded, match="1 of 3 'toy' unit") as missing:
            run(units, cache_dir=cache_dir)
        assert (missing.value.kind, missing.value.missing, missing.value.total) == ("toy", 1, 3)
        with pytest.raises(runner.NotRecorded):  # a refresh would compute every unit
            run(units[:1], cache_dir=cache_dir, refresh=True)
    assert run(units, cache_dir=cache_dir).computed == (units[2].key,)  # outside the block it computes again
    with runner.reading_only():
        assert run(units, cache_dir=cache_dir).computed == ()


def test_identical_keys_are_computed_once(cache_dir):
    units = toy_units(2)
    result = run([units[0], units[1], Unit("toy", dict(units[0].params), toy_unit)], cache_dir=cache_dir)
    assert result.computed == (units[0].key, units[1].key)
    assert list(result.frame["seed"].unique()) == [0, 1] and len(result.frame) == 32


def test_failed_unit_is_reported_by_key_and_the_rest_land(cache_dir):
    units = toy_units(4, fail_at=2)
    with pytest.raises(UnitsFailed) as info:
        run(units, cache_dir=cache_dir)
    assert units[2].key in str(info.value) and "told to fail" in str(info.value)
    partial = info.value.result
    assert set(partial.failed) == {units[2].key}
    assert partial.computed == tuple(u.key for u in units if u is not units[2])
    assert sorted(partial.frame["seed"].unique()) == [0, 1, 3]
    again = run(units, cache_dir=cache_dir, allow_failures=True)  # the others are cached now
    assert again.computed == () and set(again.cached) == set(partial.computed)
    assert list(again.failed) == [units[2].key]
    summary = again.summary()
    assert dict(zip(summary["key"], summary["status"], strict=True))[units[2].key] == "failed"


def test_a_unit_that_returns_no_frame_fails(cache_dir):
    result = run([Unit("toy", {"seed": 1}, not_a_frame)], cache_dir=cache_dir, allow_failures=True)
    assert "not a pandas DataFrame" in next(iter(result.failed.values()))
    assert result.frame.empty and isinstance(result, RunResult)


def test_worker_with_other_code_is_refused(cache_dir, monkeypatch):
    """The worker reports its compute fingerprint; a mismatch would store foreign numbers under our key."""
    real = runner._call

    def other_code(fn, params):
        frame, _, seconds = real(fn, params)
        return frame, "0" * 64, seconds

    monkeypatch.setattr(runner, "_call", other_code)
    result = run(toy_units(1), cache_dir=cache_dir, allow_failures=True)
    assert "different ntkbook code" in next(iter(result.failed.values()))
    assert not list(cache_dir.glob("*.entry.json")) if cache_dir.exists() else True


def test_environment_variable_chooses_the_scheduler(cache_dir, monkeypatch):
    monkeypatch.setenv(runner.SCHEDULER_ENV, "no-such-scheduler")
    with pytest.raises(ValueError, match="unknown scheduler"):
        run(toy_units(1), cache_dir=cache_dir)


# --- other executors: the same table, bit for bit ------------------------------------------------------------------


def test_dask_cluster_gives_the_inprocess_table_bit_for_bit(cluster, tmp_path):
    address, client = cluster

    def attempt():
        units = toy_units(4)
        here = run(units, cache_dir=tmp_path / "a", refresh=True)
        there = run(units, cache_dir=tmp_path / "b", scheduler=address, refresh=True)
        return here, there

    here, there = on_a_still_tree(attempt, client)
    assert there.computed == here.computed and len(here.computed) == 4 and there.scheduler == address
    pd.testing.assert_frame_equal(here.frame, there.frame, check_exact=True)
    bits = [r.frame["value"].to_numpy().view(np.uint32) for r in (here, there)]
    assert np.array_equal(*bits)


def test_dask_failure_is_reported_by_key_while_the_rest_complete(cluster, cache_dir):
    address, client = cluster

    def attempt():
        units = toy_units(4, fail_at=1)
        return units, run(units, cache_dir=cache_dir, scheduler=address, allow_failures=True, refresh=True)

    units, result = on_a_still_tree(attempt, client)
    assert list(result.failed) == [units[1].key] and "told to fail" in result.failed[units[1].key]
    assert result.computed == tuple(u.key for u in units if u is not units[1])
    assert run(units, cache_dir=cache_dir, allow_failures=True).cached == result.computed


def test_process_pool_and_local_cluster(tmp_path):
    """The two executors that start their own workers (spawned; one worker each to keep the test short)."""
    pytest.importorskip("distributed")
    for scheduler in ("processes:1", "local:1"):

        def attempt(scheduler=scheduler):
            units = toy_units(2)
            here = run(units, cache_dir=tmp_path / "a", refresh=True)
            return here, run(units, cache_dir=tmp_path / scheduler.replace(":", "-"), scheduler=scheduler)

        here, there = on_a_still_tree(attempt)
        assert there.computed == here.computed and len(here.computed) == 2
        pd.testing.assert_frame_equal(here.frame, there.frame, check_exact=True)


def frozen_package_env(tmp_path: Path) -> dict:
    """The environment for a subprocess that imports a copy of the ntkbook package as it is now.

    The cache keys hash the compute code; a copy taken once cannot change under a long test while the tree is being
    edited, so the caller, its cluster workers (which inherit PYTHONPATH) and a later run all share one fingerprint.
    """
    import ntkbook

    target = tmp_path / "frozen"
    shutil.copytree(Path(ntkbook.__file__).parent, target / "ntkbook", ignore=shutil.ignore_patterns("__pycache__"))
    path = os.pathsep.join(p for p in (os.fspath(target), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONPATH": path, "NTKBOOK_PROGRESS": "0"}
    env.pop(runner.SCHEDULER_ENV, None)
    return env


CHAPTER_ON_A_CLUSTER = """
import json, sys
import distributed, numpy as np, pandas as pd
import ntkbook
from ntkbook import runner
from ntkbook.sweeps import get_sweep

entry = get_sweep("ntk-distance")
units = entry.units(entry.resolve("quick"))
here = runner.run(units, cache_dir=sys.argv[1] + "/a")
with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
    there = runner.run(units, cache_dir=sys.argv[1] + "/b", scheduler=c.scheduler_address)
timing = [c for c in here.frame.columns if c == "seconds" or c.endswith("_seconds")]  # wall time, not a result
a, b = here.frame.drop(columns=timing), there.frame.drop(columns=timing)
pd.testing.assert_frame_equal(a, b, check_exact=True)
floats = [c for c in a.columns if a[c].dtype.kind == "f"]
same_bits = all(np.array_equal(a[c].to_numpy().view(np.uint64), b[c].to_numpy().view(np.uint64)) for c in floats)
print(json.dumps({"units": len(units), "here": list(here.computed), "there": list(there.computed),
                  "rows": len(a), "float_columns": len(floats), "same_bits": same_bits, "timing": timing,
                  "file": ntkbook.__file__}))
"""


@pytest.mark.realdata
def test_chapter_quick_sweep_on_a_cluster_equals_inprocess(tmp_path, real_data_dir):
    """Chapter 3's quick sweep, in-process and on a 2-worker LocalCluster: the same table, bit for bit (every float
    column compared as raw bits; only the units' wall-time column differs, as it must), every unit computed on
    both."""
    env = frozen_package_env(tmp_path)
    done = subprocess.run([sys.executable, "-c", CHAPTER_ON_A_CLUSTER, os.fspath(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["file"].startswith(os.fspath(tmp_path))  # the frozen copy ran, not the live tree
    assert out["units"] > 1 and out["here"] == out["there"] and len(out["here"]) == out["units"]
    assert out["rows"] >= out["units"] and out["float_columns"] > 0 and out["same_bits"]
    assert out["timing"] == ["seconds"]  # the only column left out of the comparison: each unit's wall time


def test_cluster_context_starts_one_local_cluster_for_several_runs(monkeypatch):
    """`runner.cluster` passes other schedulers through and turns "local:N" into one LocalCluster's address (a
    stand-in cluster here: the real LocalCluster path is exercised by the tests above)."""
    distributed = pytest.importorskip("distributed")
    monkeypatch.delenv(runner.SCHEDULER_ENV, raising=False)
    with runner.cluster(None) as s:
        assert s == "inprocess"
    with runner.cluster("processes:2") as s:
        assert s == "processes:2"
    started = []

    class StandIn:
        def __init__(self, **kwargs):
            started.append(kwargs)
            self.scheduler_address = "tcp://127.0.0.1:1"

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            started.append("closed")

    monkeypatch.setattr(distributed, "LocalCluster", StandIn)
    with runner.cluster("local:3") as address:
        assert address == "tcp://127.0.0.1:1" and len(started) == 1
    assert started == [{"n_workers": 3, "threads_per_worker": 1, "processes": True, "dashboard_address": None},
                       "closed"]
    monkeypatch.setenv(runner.SCHEDULER_ENV, "local:2")
    with runner.cluster() as address:
        assert address == "tcp://127.0.0.1:1" and started[-1]["n_workers"] == 2


def test_a_scheduler_without_workers_stops_with_a_clear_error(tmp_path, monkeypatch):
    distributed = pytest.importorskip("distributed")
    from ntkbook import runner

    monkeypatch.setattr(runner, "WORKER_WAIT_SECONDS", 1)
    with distributed.LocalCluster(n_workers=0, processes=False, dashboard_address=None) as empty:
        with pytest.raises(RuntimeError, match="no Dask worker joined the scheduler"):
            run(toy_units(1), cache_dir=tmp_path, scheduler=empty.scheduler_address)


def test_provenance_counts_computed_and_cached_units(tmp_path):
    from ntkbook import runner

    runner.clear_history()
    run(toy_units(3), cache_dir=tmp_path)
    run(toy_units(3), cache_dir=tmp_path)
    assert runner.provenance() == {"units_total": 6, "units_computed": 3, "units_cached": 3, "units_stored": 0}
    runner.clear_history()
    assert runner.provenance() == {"units_total": 0, "units_computed": 0, "units_cached": 0, "units_stored": 0}
