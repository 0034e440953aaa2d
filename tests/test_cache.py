"""ntkbook.cache: keys, the Parquet entry format, its manifest checks and the compute-only fingerprint."""

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ntkbook import cache

PACKAGE = Path(cache.__file__).resolve().parent


def _frame(n=4):
    return pd.DataFrame({
        "dataset": ["mnist", "cifar10"] * (n // 2),
        "width": np.arange(n, dtype=np.int64),
        "acc": np.linspace(0.1, 0.9, n),
        "ok": [True, False] * (n // 2),
    })


def test_cached_frame_reuses_only_identical_parameters(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return pd.DataFrame({"x": [len(calls)], "name": ["a"]})

    first = cache.cached_frame("demo", {"a": 1}, compute, cache_dir=tmp_path)
    again = cache.cached_frame("demo", {"a": 1}, compute, cache_dir=tmp_path)
    other = cache.cached_frame("demo", {"a": 2}, compute, cache_dir=tmp_path)
    assert len(calls) == 2
    pd.testing.assert_frame_equal(first, again)
    assert other["x"].item() == 2
    refreshed = cache.cached_frame("demo", {"a": 1}, compute, cache_dir=tmp_path, refresh=True)
    assert refreshed["x"].item() == 3
    pd.testing.assert_frame_equal(cache.load("demo", {"a": 1}, tmp_path), refreshed)


def test_first_and_cached_call_return_identical_frames(tmp_path):
    frame = _frame(6)
    frame.index = pd.Index([10, 11, 12, 13, 14, 15], name="row")
    first = cache.cached_frame("demo", {}, lambda: frame, cache_dir=tmp_path)
    second = cache.cached_frame("demo", {}, lambda: pytest.fail("recomputed"), cache_dir=tmp_path)
    pd.testing.assert_frame_equal(first, second)
    pd.testing.assert_frame_equal(first, frame, check_dtype=False)  # same values; string dtype as Parquet reads it
    assert list(second.index) == [10, 11, 12, 13, 14, 15] and second.index.name == "row"


def test_entry_is_parquet_with_a_manifest(tmp_path):
    cache.store("demo", {"a": [1, 2], "b": "x"}, _frame(), tmp_path)
    manifests = list(tmp_path.glob("*.entry.json"))
    tables = list(tmp_path.glob("*.parquet"))
    assert len(manifests) == 1 and len(tables) == 1
    assert tables[0].read_bytes()[:4] == b"PAR1"
    manifest = json.loads(manifests[0].read_text())
    assert manifest["format"] == cache.FORMAT
    assert manifest["kind"] == "demo" and manifest["params"] == {"a": [1, 2], "b": "x"}
    assert manifest["rows"] == 4 and manifest["table"] == tables[0].name
    assert [c for c, _ in manifest["schema"]] == ["dataset", "width", "acc", "ok"]
    import hashlib

    assert manifest["sha256"] == hashlib.sha256(tables[0].read_bytes()).hexdigest()


def test_missing_entry_is_none_without_warning(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cache.load("demo", {"a": 1}, tmp_path) is None
        assert cache.load("demo", {"a": 1}, tmp_path / "does-not-exist") is None


def test_old_pickle_entries_are_never_loaded(tmp_path):
    # the previous format: <kind>-<hash>.pkl beside <kind>-<hash>.json; a pickle that would run code if loaded
    marker = tmp_path / "ran"

    class Boom:
        def __reduce__(self):
            return (Path.touch, (marker,))

    import pickle

    key = cache.entry_key("demo", {"a": 1})
    for stem in (f"demo-{key}", f"demo-{key[:16]}"):
        (tmp_path / f"{stem}.pkl").write_bytes(pickle.dumps(Boom()))
        (tmp_path / f"{stem}.json").write_text(json.dumps({"kind": "demo", "params": {"a": 1}}))
    assert cache.load("demo", {"a": 1}, tmp_path) is None
    out = cache.cached_frame("demo", {"a": 1}, lambda: pd.DataFrame({"x": [7]}), cache_dir=tmp_path)
    assert out["x"].item() == 7
    assert not marker.exists()


def test_keys_are_stable_and_canonical():
    k = cache.entry_key("demo", {"b": (1, 2), "a": np.int64(3), "c": {"y": 1.5, "x": None}})
    assert k == cache.entry_key("demo", {"c": {"x": None, "y": 1.5}, "a": 3, "b": [1, 2]})
    assert k != cache.entry_key("demo", {"c": {"x": None, "y": 1.5}, "a": 3, "b": [2, 1]})
    assert k != cache.entry_key("demo2", {"c": {"x": None, "y": 1.5}, "a": 3, "b": [1, 2]})
    assert len(k) == 24 and int(k, 16) >= 0


def test_params_that_have_no_stable_text_are_refused(tmp_path):
    with pytest.raises(TypeError, match=r"cache params: fn is a function"):
        cache.entry_key("demo", {"fn": _frame})
    calls = []
    with pytest.raises(TypeError, match="plain JSON"):
        cache.cached_frame("demo", {"x": object()}, lambda: calls.append(1), cache_dir=tmp_path)
    assert calls == []  # refused before computing


@pytest.mark.parametrize("kind", ["", "a/b", "../x", "a.b", "a b"])
def test_bad_kind_is_refused(kind):
    with pytest.raises(ValueError, match="cache kind"):
        cache.entry_key(kind, {})


def test_non_frames_are_refused(tmp_path):
    with pytest.raises(TypeError, match="DataFrame"):
        cache.cached_frame("demo", {}, lambda: [1, 2], cache_dir=tmp_path)


@pytest.mark.parametrize(
    ("column", "match"),
    [
        ([[1, 2], [3]], "column 'bad' holds list values"),
        ([{"a": 1}, {"b": 2}], "column 'bad' holds dict values"),
        ([(1, 2), (3, 4)], "column 'bad' holds tuple values"),
        (["x", 1], r"column 'bad' mixes \['int', 'str'\]"),
        ([object(), object()], "column 'bad' holds object values"),
    ],
)
def test_columns_parquet_cannot_hold_are_named(tmp_path, column, match):
    frame = pd.DataFrame({"good": [1, 2], "bad": pd.Series(column, dtype=object)})
    with pytest.raises(TypeError, match=match):
        cache.store("demo", {}, frame, tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_duplicate_and_non_string_column_names_are_refused(tmp_path):
    with pytest.raises(TypeError, match="duplicate column names"):
        cache.store("demo", {}, pd.DataFrame([[1, 2]], columns=["a", "a"]), tmp_path)
    with pytest.raises(TypeError, match="must be a string"):
        cache.store("demo", {}, pd.DataFrame([[1, 2]], columns=[0, 1]), tmp_path)


def test_nan_parameters_hit_the_cache(tmp_path):
    calls = []
    for _ in range(2):
        cache.cached_frame("demo", {"tol": float("nan")}, lambda: calls.append(1) or pd.DataFrame({"x": [1]}),
                           cache_dir=tmp_path)
    assert calls == [1]


def test_nan_none_and_empty_frames_round_trip(tmp_path):
    frame = pd.DataFrame({"x": [1.0, np.nan], "s": ["a", None]})
    back = cache.store("demo", {"k": 1}, frame, tmp_path)
    pd.testing.assert_frame_equal(cache.load("demo", {"k": 1}, tmp_path), back)
    assert np.isnan(back["x"].iloc[1]) and pd.isna(back["s"].iloc[1])
    empty = pd.DataFrame({"x": pd.Series([], dtype="float64")})
    pd.testing.assert_frame_equal(cache.store("demo", {"k": 2}, empty, tmp_path), empty)
    pd.testing.assert_frame_equal(cache.load("demo", {"k": 2}, tmp_path), empty)


# -- the compute fingerprint ----------------------------------------------------------------------------------------


def _package_copy(tmp_path):
    copy = tmp_path / "ntkbook"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def _keys(pkg):
    fp = cache.compute_fingerprint(pkg)
    cache._fingerprint.cache_clear()  # the next edit must be seen
    return fp, cache.entry_key("demo", {"a": 1}, fingerprint=fp)


def test_editing_report_code_keeps_keys_editing_compute_code_changes_them(tmp_path):
    pkg = _package_copy(tmp_path)
    base = _keys(pkg)
    for rel in ["report/chapter.py", "plotting/extra.py", "paper.py", "claims.py", "notebook.py", "spec.py",
                "runner.py", "sweeps.py", "sweeps/gram.py", "__main__.py", "progress.py", "_quiet.py",
                "specs/spectral.py", "result_tables.py"]:
        path = pkg / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text((path.read_text() if path.exists() else "") + "\nVERDICT_WORDING = 'reworded'\n")
        assert _keys(pkg) == base, f"editing {rel} changed the cache keys"
    for rel in ["kernels.py", "data.py", "experiments/spectral.py", "cache.py"]:
        path = pkg / rel
        original = path.read_text()
        path.write_text(original + "\n# a comment: not code\n")
        assert _keys(pkg) == base, f"a comment in {rel} changed the cache keys"
        path.write_text(original + "\n_A_CHANGE_IN_COMPUTE_CODE = 1\n")
        assert _keys(pkg) != base, f"editing {rel} left the cache keys unchanged"
        path.write_text(original)
        assert _keys(pkg) == base
    (pkg / "new_compute_module.py").write_text("X = 1\n")
    assert _keys(pkg) != base


def test_fingerprint_exclusions_are_matched_by_path_not_substring():
    excluded = cache._is_excluded
    assert excluded(Path("report/x.py")) and excluded(Path("plotting/attention.py"))
    assert excluded(Path("sweeps/ntk.py")) and excluded(Path("sweeps.py")) and excluded(Path("paper.py"))
    assert not excluded(Path("experiments/report.py")) and not excluded(Path("report.py"))
    assert not excluded(Path("experiments/paper.py")) and not excluded(Path("kernels.py"))


def test_experiments_cache_reexports_the_cache():
    from ntkbook.experiments import cache as old
    from ntkbook.experiments import cache_root, cached_frame

    assert cached_frame is cache.cached_frame and cache_root is cache.cache_root
    assert old.params_key is cache.entry_key and old.source_fingerprint is cache.compute_fingerprint
