"""The command line `python -m ntkbook sweep`: clear usage errors, and a quick-profile run that fills the cache so
that the next run, and the chapter's own `sweep`, compute nothing."""

import dataclasses
import json
import os
import subprocess
import sys
from typing import ClassVar

import pandas as pd
import pytest
from test_runner import frozen_package_env

from ntkbook import runner
from ntkbook.__main__ import main, parse_overrides
from ntkbook.spec import Spec, knob
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
    err = usage_error(capsys, ["sweep", "ntk-distance", "--set", "n_train=many"])
    assert "n_train must be an integer in 20..5000, got 'many'" in err
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


def test_list_reads_each_specs_profiles_from_source_exactly():
    """`--list` reads PROFILES without importing the compute modules; it must give what importing gives."""
    from ntkbook.__main__ import profiles_from_source

    for entry in SWEEPS.values():
        assert profiles_from_source(entry) == entry.profiles(), entry.name


def test_list_and_help_import_neither_jax_nor_pandas_nor_matplotlib():
    """The command line starts fast: listing the sweeps or asking for help loads no numeric stack."""
    for argv in (["sweep", "--list"], ["sweep", "--help"], ["--help"]):
        code = (f"import sys, runpy; sys.argv = ['ntkbook'] + {argv!r}\n"
                "try:\n    runpy.run_module('ntkbook', run_name='__main__')\nexcept SystemExit:\n    pass\n"
                "heavy = sorted(m for m in ('jax', 'pandas', 'matplotlib', 'numpy', 'neural_tangents') "
                "if m in sys.modules)\nprint('HEAVY', heavy)")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        assert "HEAVY []" in out.stdout, (argv, out.stdout[-500:], out.stderr[-2000:])


def test_every_registered_sweep_builds_its_quick_units():
    for name, entry in SWEEPS.items():
        units = entry.units(entry.resolve("quick"))
        assert units and all(isinstance(u, runner.Unit) for u in units), name
        assert len({u.key for u in units}) == len(units), f"{name}: two units share a key"


def _cli(args, cache, env):
    env = {**env, "NTKBOOK_CACHE": os.fspath(cache)}
    done = subprocess.run([sys.executable, "-m", "ntkbook", *args], env=env, capture_output=True, text=True,
                          timeout=900)
    return done.returncode, done.stdout, done.stderr


CHAPTER_SWEEP = """
import json
import ntkbook
from ntkbook import runner
from ntkbook.sweeps import get_sweep

entry = get_sweep("ntk-distance")
frame = entry.load().sweep(entry.resolve("quick"))
done = runner.history()
print(json.dumps({"rows": len(frame), "computed": int(done["computed"].sum()), "cached": int(done["cached"].sum()),
                  "failed": int(done["failed"].sum()), "file": ntkbook.__file__}))
"""


@pytest.mark.realdata
def test_cli_fills_the_cache_then_computes_nothing(tmp_path, real_data_dir):
    """Chapter 3's quick profile through the CLI; then the CLI again, and the chapter's own `sweep` (what its
    notebook calls), read every unit from the cache. Runs on a frozen copy of the package (see
    `frozen_package_env`), so the keys cannot change between the runs."""
    env = frozen_package_env(tmp_path)
    cache = tmp_path / "cache"
    entry = get_sweep("ntk-distance")
    n = len(entry.units(entry.resolve("quick")))
    code, first, err = _cli(["sweep", "ntk-distance", "--profile", "quick"], cache, env)
    assert code == 0, err
    assert f"{n} units: {n} computed, 0 cached, 0 from the result store, 0 failed" in first and "nothing to compute" not in first
    code, second, err = _cli(["sweep", "ntk-distance", "--profile", "quick"], cache, env)
    assert code == 0, err
    assert f"{n} units: 0 computed, {n} cached, 0 from the result store, 0 failed" in second and "nothing to compute" in second
    done = subprocess.run([sys.executable, "-c", CHAPTER_SWEEP], env={**env, "NTKBOOK_CACHE": os.fspath(cache)},
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["file"].startswith(os.fspath(tmp_path))
    assert out["rows"] > 0 and out["computed"] == 0 and out["cached"] > 0 and out["failed"] == 0


# --- a toy sweep registered for the tests: this module is its compute module ---------------------------------


@dataclasses.dataclass(frozen=True)
class ToySpec(Spec):
    seeds: tuple[int, ...] = knob((0, 1, 2), type=int, doc="seeds")
    fail_seed: int = knob(-1, type=int, doc="the seed whose unit fails (-1: none)")
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
    assert "3 units: 2 computed, 0 cached, 0 from the result store, 1 failed" in out and "some units failed" in err
    assert main(argv) == 1  # the two that completed are cached now; the failing one is tried again
    assert "3 units: 0 computed, 2 cached, 0 from the result store, 1 failed" in capsys.readouterr().out


def test_cli_second_run_says_nothing_to_compute(toy_sweep, tmp_path, capsys):
    argv = ["sweep", "toy", "--profile", "quick", "--cache-dir", os.fspath(tmp_path)]
    assert main(argv) == 0
    assert "2 units: 2 computed, 0 cached, 0 from the result store, 0 failed" in capsys.readouterr().out
    assert main([*argv, "--dry-run"]) == 0
    assert "toy: 2 cached, 0 in the result store, 0 to compute" in capsys.readouterr().out
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "2 units: 0 computed, 2 cached, 0 from the result store, 0 failed" in out and "nothing to compute" in out
