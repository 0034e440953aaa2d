"""The command line `python -m ntkbook sweep`: clear usage errors, and a quick-profile run that fills the cache so
that the next run, and the chapter's own `sweep`, compute nothing."""

import dataclasses
import os
import subprocess
import sys
from typing import ClassVar

import pandas as pd
import pytest

from ntkbook import runner
from ntkbook.__main__ import main, parse_overrides
from ntkbook.spec import Spec
from ntkbook.sweeps import SWEEPS, SweepEntry, get_sweep


def usage_error(capsys, argv) -> str:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    return capsys.readouterr().err


def test_unknown_sweep_profile_knob_and_value_are_usage_errors(capsys):
    assert "unknown sweep 'nope'" in usage_error(capsys, ["sweep", "nope"])
    assert "name a sweep" in usage_error(capsys, ["sweep"])
    err = usage_error(capsys, ["sweep", "ntk-distance", "--profile", "huge"])
    assert "unknown profile 'huge'" in err and "quick" in err
    err = usage_error(capsys, ["sweep", "ntk-distance", "--profile", "quick", "--set", "bogus=1"])
    assert "unknown knob 'bogus'" in err and "n_train" in err
    assert "n_train takes integers" in usage_error(capsys, ["sweep", "ntk-distance", "--set", "n_train=many"])
    assert "knob=value" in usage_error(capsys, ["sweep", "ntk-distance", "--set", "n_train"])
    assert "unknown scheduler" in usage_error(capsys, ["sweep", "ntk-distance", "--scheduler", "cloud"])
    err = usage_error(capsys, ["sweep", "ntk-distance", "--profile", "quick", "--set", "n_train=-5"])
    assert "n_train" in err  # the spec's own range check


def test_overrides_are_typed_by_the_spec_fields():
    spec_class = get_sweep("ntk-distance").spec_class
    parsed = parse_overrides(spec_class, ["n_train=64", "seeds=0, 1,2", "datasets=mnist,cifar10", "l2=1e-4"])
    assert parsed == {"n_train": 64, "seeds": (0, 1, 2), "datasets": ("mnist", "cifar10"), "l2": 1e-4}
    spec = spec_class.resolve("quick", **parsed)
    assert spec.seeds == (0, 1, 2) and spec.n_train == 64


def test_list_names_every_sweep_with_its_profiles(capsys):
    assert main(["sweep", "--list"]) == 0
    out = capsys.readouterr().out
    for name, entry in SWEEPS.items():
        assert name in out
        assert ", ".join(entry.profiles()) in out


def test_every_registered_sweep_builds_its_quick_units():
    for name, entry in SWEEPS.items():
        units = entry.units(entry.resolve("quick"))
        assert units and all(isinstance(u, runner.Unit) for u in units), name
        assert len({u.key for u in units}) == len(units), f"{name}: two units share a key"


def _cli(args, cache):
    env = {**os.environ, "NTKBOOK_CACHE": os.fspath(cache), "NTKBOOK_PROGRESS": "0"}
    env.pop(runner.SCHEDULER_ENV, None)
    done = subprocess.run([sys.executable, "-m", "ntkbook", *args], env=env, capture_output=True, text=True,
                          timeout=900)
    return done.returncode, done.stdout, done.stderr


def fresh_fingerprint() -> str:
    from ntkbook import cache

    cache._fingerprint.cache_clear()
    return cache.compute_fingerprint()


@pytest.mark.realdata
def test_cli_fills_the_cache_then_computes_nothing(tmp_path, real_data_dir, monkeypatch):
    """Quick profile of chapter 3 through the CLI; then the CLI again and the chapter's own `sweep` read it all.

    Keys hash the compute code; when that code changes while the test runs (a tree being edited) the keys of the
    second run differ, so the test retries (on an unedited tree the first attempt is the only one).
    """
    entry = get_sweep("ntk-distance")
    for attempt in range(3):
        cache = tmp_path / f"cache{attempt}"
        before = fresh_fingerprint()
        code, first, err = _cli(["sweep", "ntk-distance", "--profile", "quick"], cache)
        assert code == 0, err
        code, second, err = _cli(["sweep", "ntk-distance", "--profile", "quick"], cache)
        assert code == 0, err
        if fresh_fingerprint() == before:
            break
    else:
        pytest.fail("the package's compute code changed during each attempt")
    n = len(entry.units(entry.resolve("quick")))
    assert f"{n} units: {n} computed, 0 cached, 0 failed" in first
    assert f"{n} units: 0 computed, {n} cached, 0 failed" in second
    assert "nothing to compute" in second and "nothing to compute" not in first
    # what the chapter calls: its own sweep reads every unit from the cache the CLI filled
    monkeypatch.setenv("NTKBOOK_CACHE", os.fspath(cache))
    module = entry.load()
    runner.clear_history()
    frame = module.sweep(entry.resolve("quick"))
    assert len(frame) > 0
    done = runner.history()
    assert done["computed"].sum() == 0 and done["cached"].sum() > 0 and done["failed"].sum() == 0


# --- a toy sweep registered for the tests: this module is its compute module ---------------------------------


@dataclasses.dataclass(frozen=True)
class ToySpec(Spec):
    seeds: tuple[int, ...] = (0, 1, 2)
    fail_seed: int = -1
    PROFILES: ClassVar[dict[str, dict]] = {"quick": {"seeds": (0, 1)}, "default": {}}


def toy_unit(seed: int, fail: bool) -> pd.DataFrame:
    if fail:
        raise RuntimeError(f"seed {seed} fails on purpose")
    return pd.DataFrame({"seed": [seed], "square": [seed * seed]})


def units(spec: ToySpec) -> list:
    return [runner.Unit("cli-toy", {"seed": s, "fail": s == spec.fail_seed}, toy_unit) for s in spec.seeds]


@pytest.fixture
def toy_sweep(monkeypatch):
    monkeypatch.setitem(SWEEPS, "toy", SweepEntry("toy", __name__, "a toy sweep"))


def test_cli_reports_a_failed_unit_by_key_and_exits_1(toy_sweep, tmp_path, capsys):
    spec = ToySpec.resolve("default", fail_seed=1)
    keys = [u.key for u in units(spec)]
    argv = ["sweep", "toy", "--set", "fail_seed=1", "--cache-dir", os.fspath(tmp_path)]
    assert main(argv) == 1
    out, err = capsys.readouterr()
    assert f"failed   cli-toy-{keys[1]}  fail=True seed=1" in out and "seed 1 fails on purpose" in out
    assert "3 units: 2 computed, 0 cached, 1 failed" in out and "some units failed" in err
    assert main(argv) == 1  # the two that completed are cached now; the failing one is tried again
    assert "3 units: 0 computed, 2 cached, 1 failed" in capsys.readouterr().out


def test_cli_second_run_says_nothing_to_compute(toy_sweep, tmp_path, capsys):
    argv = ["sweep", "toy", "--profile", "quick", "--cache-dir", os.fspath(tmp_path)]
    assert main(argv) == 0
    assert "2 units: 2 computed, 0 cached, 0 failed" in capsys.readouterr().out
    assert main([*argv, "--dry-run"]) == 0
    assert "toy: 2 cached, 0 to compute" in capsys.readouterr().out
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "2 units: 0 computed, 2 cached, 0 failed" in out and "nothing to compute" in out
