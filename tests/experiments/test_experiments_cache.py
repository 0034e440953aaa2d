"""`ntkbook.experiments.cache` keeps the names sweeps already import; the cache itself is tested in test_cache*.py."""

import pandas as pd
import pytest

from ntkbook.experiments import cached_frame


def test_cache_reuses_only_identical_parameters(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return pd.DataFrame({"x": [len(calls)]})

    first = cached_frame("demo", {"a": 1}, compute, cache_dir=tmp_path)
    again = cached_frame("demo", {"a": 1}, compute, cache_dir=tmp_path)
    other = cached_frame("demo", {"a": 2}, compute, cache_dir=tmp_path)
    assert len(calls) == 2
    pd.testing.assert_frame_equal(first, again)
    assert other["x"].item() == 2
    refreshed = cached_frame("demo", {"a": 1}, compute, cache_dir=tmp_path, refresh=True)
    assert refreshed["x"].item() == 3


def test_cache_rejects_non_frames(tmp_path):
    with pytest.raises(TypeError, match="DataFrame"):
        cached_frame("demo", {}, lambda: [1, 2], cache_dir=tmp_path)


def test_cache_key_follows_the_compute_fingerprint(monkeypatch):
    from ntkbook import cache
    from ntkbook.experiments import cache as old

    before = old.params_key("demo", {"a": 1})
    assert old.params_key("demo", {"a": 1}, fingerprint=cache.compute_fingerprint()) == before
    assert old.params_key("demo", {"a": 1}, fingerprint="changed") != before
    monkeypatch.setattr(cache, "compute_fingerprint", lambda: "changed")
    assert old.params_key("demo", {"a": 1}) != before
