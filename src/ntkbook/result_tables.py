"""What every chapter's `results(spec)` returns: a frozen, read-only mapping from table names to tidy frames.

One shape for every chapter: the report layer reads ``results["runs"]``, ``results["grid"]``, ... whatever chapter
it serves, and cannot replace or add a table after the compute layer produced them (the tables of a chapter are
decided by its compute module). The frames themselves are shared, not copied: a reader that edits one copies it
first (``results["runs"].copy()``). A container only, outside every unit's cache key (it never changes a number).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pandas as pd

__all__ = ["ResultTables"]


class ResultTables(Mapping):
    """An immutable {name: DataFrame}. ``ResultTables(runs=frame, collapse=frame)`` or ``ResultTables(mapping)``;
    names are identifiers, values DataFrames; ``tables.runs`` reads like ``tables["runs"]``."""

    __slots__ = ("_tables",)

    def __init__(self, tables: Mapping[str, pd.DataFrame] | None = None, /, **more: pd.DataFrame):
        merged = {**(dict(tables) if tables is not None else {}), **more}
        for name, frame in merged.items():
            if not (isinstance(name, str) and name.isidentifier()):
                raise ValueError(f"a result table's name must be an identifier, got {name!r}")
            if not isinstance(frame, pd.DataFrame):
                raise TypeError(f"result table {name!r} must be a pandas DataFrame, got {type(frame).__name__}")
        object.__setattr__(self, "_tables", merged)

    def __getitem__(self, name: str) -> pd.DataFrame:
        try:
            return self._tables[name]
        except KeyError:
            raise KeyError(f"no result table {name!r}; this chapter's tables are {list(self._tables)}") from None

    def __getattr__(self, name: str) -> pd.DataFrame:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError as err:
            raise AttributeError(err.args[0]) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._tables)

    def __len__(self) -> int:
        return len(self._tables)

    def __setattr__(self, name, value):
        raise AttributeError("result tables are read-only: build a new ResultTables instead")

    def __delattr__(self, name):
        raise AttributeError("result tables are read-only")

    def __repr__(self) -> str:
        parts = ", ".join(f"{k}: {len(v)} rows" for k, v in self._tables.items())
        return f"ResultTables({parts})"
