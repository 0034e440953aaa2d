"""Sweeps that compose the rest of ntkbook and return tidy `pandas.DataFrame`s, one row per run.

`cache` holds the on-disk result cache shared by all sweeps; each chapter's sweep has a module of its own.
"""

from ntkbook.experiments.cache import cache_root, cached_frame

__all__ = ["cache_root", "cached_frame"]
