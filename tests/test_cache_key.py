"""A unit's cache key covers what its numbers depend on, and nothing else: the compute code of its own chapter
(its module and the ntkbook modules it imports, not the other chapters', not the report layer), the content of
the data splits it reads, and the versions of the numeric stack."""

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import ntkbook
from ntkbook import cache, data, runner
from ntkbook.sweeps import SWEEPS

PACKAGE = Path(ntkbook.__file__).resolve().parent
CHAPTERS = {"gram-kernel": "gram_kernel", "spectral": "spectral", "ntk-distance": "ntk_distance",
            "malleability": "malleability", "dual": "dual"}
SHARED_MNIST = Path(os.environ.get("NTKBOOK_DATA", "/nonexistent")) / "mnist"

KEYS = """
import json, sys
from ntkbook.sweeps import SWEEPS
out = {name: [u.key for u in e.units(e.resolve("quick"))] for name, e in SWEEPS.items()}
json.dump(out, open(sys.argv[1], "w"))
"""


def package_copy(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copytree(PACKAGE, target / "ntkbook", ignore=shutil.ignore_patterns("__pycache__"))
    return target


def quick_keys(root: Path, out: Path, env: dict) -> dict[str, list[str]]:
    env = {**env, "PYTHONPATH": os.pathsep.join([os.fspath(root), env.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", KEYS, os.fspath(out)], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text())


def test_each_chapter_keys_on_its_own_compute_code_only():
    closures = {name: cache.module_closure(f"ntkbook.experiments.{mod}") for name, mod in CHAPTERS.items()}
    for name, files in closures.items():
        assert f"experiments/{CHAPTERS[name]}.py" in files
        others = {f"experiments/{m}.py" for n, m in CHAPTERS.items() if n != name}
        assert not any(f.startswith(("report/", "plotting/")) or f in ("labels.py", "claims.py", "paper.py")
                       for f in files), name
        assert not others & set(files), f"{name} keys on another chapter's module"
    assert "train.py" in closures["ntk-distance"] and "data.py" in closures["gram-kernel"]


@pytest.mark.slow
def test_editing_chapter_5_leaves_the_other_chapters_unit_keys_unchanged(tmp_path):
    env = {**os.environ, "NTKBOOK_CACHE": os.fspath(tmp_path / "cache")}
    original = package_copy(tmp_path, "a")
    edited = package_copy(tmp_path, "b")
    documented = package_copy(tmp_path, "c")
    dual = edited / "ntkbook" / "experiments" / "dual.py"
    dual.write_text(dual.read_text() + "\n_AN_EDIT = 1\n")  # a code edit
    doc = documented / "ntkbook" / "experiments" / "dual.py"
    doc.write_text(doc.read_text().replace('"""', '"""An edited docstring. ', 1).replace("\n# ", "\n# edited: ", 1))
    spec = documented / "ntkbook" / "specs" / "ntk_distance.py"  # a profile's doc and a recorded run time
    spec.write_text(spec.read_text().replace('"quick": 70.0', '"quick": 71.0', 1))
    before, after = quick_keys(original, tmp_path / "a.json", env), quick_keys(edited, tmp_path / "b.json", env)
    for name in ("gram-kernel", "spectral", "ntk-distance", "malleability"):
        assert before[name] == after[name], f"{name}: keys changed by an edit of chapter 5"
    assert not set(before["dual"]) & set(after["dual"]), "chapter 5's own keys must change"
    assert quick_keys(documented, tmp_path / "c.json", env) == before, "docs, comments and specs must keep the keys"


def test_every_chapter_unit_that_names_a_data_set_declares_what_it_reads():
    for name, entry in SWEEPS.items():
        for unit in entry.units(entry.resolve("quick")):
            named = {unit.params.get("dataset"), unit.params.get("task"), *unit.params.get("datasets", ())} - {None}
            if named:
                assert unit.reads, f"{name}: unit {unit.kind} reads {named} but declares no reads"


def test_module_fingerprint_follows_the_closure_only(tmp_path):
    a, b = package_copy(tmp_path, "a"), package_copy(tmp_path, "b")
    (b / "ntkbook" / "report" / "spectral.py").write_text("# reworded\n" +
                                                           (b / "ntkbook" / "report" / "spectral.py").read_text())
    path = b / "ntkbook" / "experiments" / "ntk_distance.py"
    path.write_text(path.read_text() + "\n_AN_EDIT = 1\n")
    c = package_copy(tmp_path, "c")
    shared = c / "ntkbook" / "kernel_limits.py"  # shared by chapters 2, 3 and 5
    shared.write_text(shared.read_text() + "\n_AN_EDIT = 1\n")
    fa = {n: cache.module_fingerprint(f"ntkbook.experiments.{m}", a / "ntkbook") for n, m in CHAPTERS.items()}
    fb = {n: cache.module_fingerprint(f"ntkbook.experiments.{m}", b / "ntkbook") for n, m in CHAPTERS.items()}
    fc = {n: cache.module_fingerprint(f"ntkbook.experiments.{m}", c / "ntkbook") for n, m in CHAPTERS.items()}
    assert {n for n in CHAPTERS if fa[n] != fb[n]} == {"ntk-distance"}  # the report edit is ignored
    assert {n for n in CHAPTERS if fa[n] != fc[n]} == {"spectral", "ntk-distance", "dual"}


def offline_mnist(tmp_path: Path) -> Path:
    if not (SHARED_MNIST / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip("no offline MNIST under NTKBOOK_DATA")
    root = tmp_path / "data"
    shutil.copytree(SHARED_MNIST, root / "mnist")
    for path in (root / "mnist").iterdir():
        path.chmod(0o644)
    return root


def change_one_pixel(images_gz: Path) -> None:
    raw = bytearray(gzip.decompress(images_gz.read_bytes()))
    raw[16 + 14 * 28 + 14] ^= 0xFF  # the centre pixel of the first image (after the 16-byte IDX header)
    images_gz.write_bytes(gzip.compress(bytes(raw)))


def tiny_unit(n: int) -> pd.DataFrame:
    """A cheap unit that reads MNIST's test split (its key says so through `reads`)."""
    ds = data.load("mnist", "test")
    return pd.DataFrame({"n": [n], "first_pixel_sum": [float(ds.images[:n].sum())]})


def test_one_changed_pixel_recomputes_the_units_that_read_it(tmp_path, monkeypatch):
    root = offline_mnist(tmp_path)
    monkeypatch.setenv("NTKBOOK_DATA", os.fspath(root))
    monkeypatch.setenv("NTKBOOK_CACHE", os.fspath(tmp_path / "cache"))
    monkeypatch.setattr(data, "FINGERPRINT_REUSE_SECONDS", 0.0)
    units = [runner.Unit("tiny", {"n": n}, tiny_unit, reads=(("mnist", "test"),)) for n in (1, 2)]
    chapter5 = SWEEPS["dual"]
    spec5 = chapter5.resolve("quick", datasets=("mnist", "digits"))  # MNIST units and digits units
    keys5 = {u.key: u.params["dataset"] for u in chapter5.units(spec5)}
    synthetic = runner.Unit("tiny", {"n": 3}, tiny_unit)  # declares no data: its key ignores the folder
    first = runner.run(units, cache_dir=tmp_path / "results")
    assert len(first.computed) == 2
    assert len(runner.run(units, cache_dir=tmp_path / "results").cached) == 2

    change_one_pixel(root / "mnist" / "t10k-images-idx3-ubyte.gz")
    again = [runner.Unit("tiny", {"n": n}, tiny_unit, reads=(("mnist", "test"),)) for n in (1, 2)]
    assert {u.key for u in again}.isdisjoint(u.key for u in units)
    second = runner.run(again, cache_dir=tmp_path / "results")
    assert len(second.computed) == 2 and not second.cached
    assert runner.Unit("tiny", {"n": 3}, tiny_unit).key == synthetic.key
    # the chapters declare what they read: chapter 5's MNIST units change key, its digits units do not
    kept = {u.key for u in chapter5.units(spec5)} & set(keys5)
    assert {keys5[k] for k in kept} == {"digits"}
    assert list(keys5.values()).count("digits") == len(kept)


def test_a_split_that_appears_changes_the_key_of_units_reading_train_and_test(tmp_path, monkeypatch):
    root = offline_mnist(tmp_path)
    monkeypatch.setenv("NTKBOOK_DATA", os.fspath(root))
    monkeypatch.setenv("NTKBOOK_CACHE", os.fspath(tmp_path / "cache"))
    monkeypatch.setattr(data, "FINGERPRINT_REUSE_SECONDS", 0.0)
    entry = SWEEPS["ntk-distance"]
    spec = entry.resolve("quick")
    before = [u.key for u in entry.units(spec)]
    assert data.fingerprint("mnist", "train") == "absent"
    for part in ("images-idx3", "labels-idx1"):  # the test files stand in for a train split
        shutil.copy(root / "mnist" / f"t10k-{part}-ubyte.gz", root / "mnist" / f"train-{part}-ubyte.gz")
    assert data.fingerprint("mnist", "train") == data.fingerprint("mnist", "test") != "absent"
    after = [u.key for u in entry.units(spec)]
    assert set(before).isdisjoint(after)


def test_data_fingerprint_is_stored_per_folder_state(tmp_path, monkeypatch):
    root = offline_mnist(tmp_path)
    monkeypatch.setattr(data, "FINGERPRINT_REUSE_SECONDS", 0.0)
    fp = data.fingerprint("mnist", "test", data_dir=root, cache_dir=tmp_path / "cache")
    stored = list((tmp_path / "cache" / "fingerprints").iterdir())
    assert len(stored) == 1 and stored[0].read_text() == fp
    calls = []
    monkeypatch.setattr(data, "_content_fingerprint", lambda *a: calls.append(a) or "0" * 64)
    data._FINGERPRINTS.clear()  # a new process: the stored value is read, nothing is hashed
    assert data.fingerprint("mnist", "test", data_dir=root, cache_dir=tmp_path / "cache") == fp and not calls
    assert data.fingerprint("synthetic", "test") == ""


def test_a_new_jax_version_changes_every_units_key(monkeypatch):
    keys = {name: [u.key for u in e.units(e.resolve("quick"))] for name, e in SWEEPS.items()}
    recorded = dict(cache.stack_versions())
    assert set(recorded) == {"jax", "jaxlib", "numpy", "scipy", "optax"}
    monkeypatch.setattr(cache, "_installed_versions",
                        lambda: tuple({**recorded, "jax": recorded["jax"] + ".post1"}.items()))
    for name, e in SWEEPS.items():
        new = [u.key for u in e.units(e.resolve("quick"))]
        assert set(new).isdisjoint(keys[name]), name


def test_code_text_drops_docstrings_and_comments_only():
    source = (b'"""Module doc."""\nimport math  # why\n\n\ndef f(x):\n    """Doc\n    on two lines."""\n'
              b'    # a comment\n    s = "# not a comment"\n    return math.sqrt(x)  \n\n'
              b'class A:\n    "doc"\n    X = 1\n    """attribute doc"""\n')
    text = cache.code_text(source)
    assert text == (b'""\nimport math\ndef f(x):\n    ""\n    s = "# not a comment"\n    return math.sqrt(x)\n'
                    b'class A:\n    ""\n    X = 1\n    ""')
    assert cache.code_text(source.replace(b"Doc", b"Reworded doc").replace(b"# why", b"# because")) == text
    assert cache.code_text(source.replace(b"X = 1", b"X = 2")) != text  # code still counts
    assert cache.code_text(source.replace(b'"# not a comment"', b'"# changed"')) != text  # so do strings in code


def test_every_package_file_reads_as_code_text():
    for path in PACKAGE.rglob("*.py"):
        text = cache.code_text(path.read_bytes())
        compile(text, str(path), "exec")  # still valid Python: only whole docstrings and comments went
