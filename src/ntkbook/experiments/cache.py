"""On-disk caching of sweep results, keyed by the sweep's name and its full parameter set.

A cached table is reused only when every parameter and the ntkbook source code (a hash of every module of the
package) match; anything else recomputes, so a fix in the library never serves results of the old code.
Results go to `<cache>/results/<kind>-<hash>.parquet|pkl` with the parameters beside them as JSON, so a reader can
see what produced a file.
"""

import functools
import hashlib
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import pandas as pd
import platformdirs


def cache_root() -> Path:
    """`NTKBOOK_CACHE` if set, else the platform's per-user cache folder (e.g. ~/.cache/ntkbook)."""
    return Path(os.environ.get("NTKBOOK_CACHE") or platformdirs.user_cache_dir("ntkbook"))


@functools.cache
def source_fingerprint() -> str:
    """SHA-256 of the ntkbook package's Python sources (paths and contents), computed once per process."""
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def params_key(kind: str, params: Mapping) -> str:
    """A stable hash of `kind`, the JSON form of `params` (keys sorted) and `source_fingerprint()`."""
    blob = json.dumps({"kind": kind, "params": params, "source": source_fingerprint()}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def cached_frame(
    kind: str,
    params: Mapping,
    compute: Callable[[], pd.DataFrame],
    *,
    cache_dir: str | os.PathLike | None = None,
    refresh: bool = False,
) -> pd.DataFrame:
    """Return `compute()`, reading it from the cache when the same `kind` and `params` were computed before.

    `cache_dir=None` uses `cache_root()/results`; `refresh=True` recomputes and overwrites.
    """
    folder = Path(cache_dir) if cache_dir is not None else cache_root() / "results"
    stem = f"{kind}-{params_key(kind, params)}"
    table, meta = folder / f"{stem}.pkl", folder / f"{stem}.json"
    if table.exists() and not refresh:
        return pd.read_pickle(table)
    frame = compute()
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"compute() for {kind!r} must return a pandas DataFrame, got {type(frame).__name__}")
    folder.mkdir(parents=True, exist_ok=True)
    tmp = table.with_suffix(".tmp")
    frame.to_pickle(tmp)
    tmp.replace(table)  # atomic: a half-written file is never read back
    meta.write_text(json.dumps({"kind": kind, "params": params}, indent=2, sort_keys=True, default=str))
    return frame
