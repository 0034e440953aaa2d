"""The sweeps' result cache; it lives in `ntkbook.cache` (Parquet tables with checksummed manifests).

Re-exported here so that `from ntkbook.experiments.cache import cached_frame` keeps working.
`params_key` and `source_fingerprint` are the former names of `entry_key` and `compute_fingerprint`.
"""

from ntkbook.cache import (
    CacheEntryWarning,
    CacheWriteError,
    cache_root,
    cached_frame,
    compute_fingerprint,
    entry_key,
    load,
    store,
)

params_key = entry_key
source_fingerprint = compute_fingerprint

__all__ = [
    "CacheEntryWarning",
    "CacheWriteError",
    "cache_root",
    "cached_frame",
    "compute_fingerprint",
    "entry_key",
    "load",
    "params_key",
    "source_fingerprint",
    "store",
]
