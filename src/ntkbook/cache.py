"""The result cache: one Parquet table per sweep unit, keyed by the unit's parameters, its code and its data.

A cached table is reused only when its kind, every parameter and the unit's fingerprint match (`unit_fingerprint`:
the *compute* code the unit runs, i.e. its module and the ntkbook modules that module imports, transitively,
`module_fingerprint`; a content fingerprint of each data split it reads, `ntkbook.data.fingerprint`; and the
versions of the numeric stack, `stack_versions`). Anything else recomputes, so a fix in the library or a changed
data folder never serves old results, while rewording a verdict, restyling a figure or editing another chapter
keeps every cached sweep.

Layout of one entry in the results folder (`cache_root()/results` unless a `cache_dir` is given)::

    <kind>-<key>.<sha16>.parquet   the table (Parquet, written by pyarrow), named by its own content hash
    <kind>-<key>.entry.json        the manifest: format, kind, key, params, table file name, schema (column names
                                   and dtypes), row count and the SHA-256 of the Parquet bytes

Why it is safe under faults:

- Both files are written to a temporary file in the same folder, flushed to disk and moved into place with
  `os.replace` (atomic on POSIX and Windows). The table goes first, the manifest last, and a reader only ever
  reaches a table through a manifest, so a reader never sees a table without its manifest, nor a half-written file.
- The table's name carries its content hash, so two processes storing the same unit never overwrite each other's
  table with different bytes: whichever manifest lands last names a table that exists and matches it. A process
  killed at any point leaves at most an unreferenced table or a hidden ``.*.tmp`` file, both ignored by readers and
  removed by a later store of the same unit once they are older than `GRACE_SECONDS`.
- `load` checks the SHA-256 of the bytes, the schema and the row count against the manifest. On any mismatch it
  warns (`CacheEntryWarning`, naming the file) and returns None, so the caller recomputes; a damaged entry is
  never used. Entries of the previous pickle format (``*.pkl``) are never read: nothing in a cache file can run code.
- A folder that cannot be written (read-only, full disk) raises `CacheWriteError`, naming the folder and
  `NTKBOOK_CACHE`; `cached_frame` and `ntkbook.runner.run` check this *before* computing, so no computation is
  lost to it.
- Only regular files are read: a FIFO, device or socket named like an entry is refused without blocking
  (`CacheEntryWarning`, then recomputed).

Tables hold plain columns (numbers, strings, bools, timestamps); a column Parquet cannot hold faithfully (lists,
dicts, tuples, mixed objects) is refused with a `TypeError` naming it. What `cached_frame` returns on the first run
is the table as read back from its Parquet bytes, so a first run and a cached run return identical frames.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import io
import json
import math
import os
import re
import stat
import tempfile
import time
import tokenize
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import platformdirs

__all__ = [
    "COMPUTE_EXCLUDED",
    "FORMAT",
    "CacheEntryWarning",
    "CacheWriteError",
    "cache_root",
    "cached_frame",
    "code_text",
    "compute_fingerprint",
    "entry_key",
    "entry_paths",
    "load",
    "module_closure",
    "module_fingerprint",
    "results_dir",
    "stack_versions",
    "store",
    "unit_fingerprint",
]

FORMAT = "ntkbook-result-cache/2"  # bump when the entry layout changes; old entries are then ignored
MANIFEST_SUFFIX = ".entry.json"
GRACE_SECONDS = 600.0  # unreferenced tables / temp files younger than this may belong to a store in progress

# Parts of the package that never change a computed number, so editing them must keep every cached sweep:
#   report/, plotting/         results -> tables, verdicts, wording, figures (the report layer)
#   paper.py, claims.py        the paper's numbers and the verdict vocabulary/rules (applied after the cache)
#   notebook.py, spec.py       notebook plumbing and profile/knob validation (the resolved knobs are the params)
#   specs/                     each chapter's knobs, profiles and recorded run times (likewise)
#   runner.py, sweeps*         where and in which order units run, and the registry of sweeps; every number a
#                              unit computes is fixed by its params and by the compute modules it calls
#   __main__.py, progress.py, _quiet.py   the command line, progress bars, start-up noise
#   store.py                   where finished results are kept (the repository's result store)
#   result_tables.py           the read-only mapping of tables a chapter's results(spec) returns (a container)
#   labels.py                  display names of data sets, models and choices (words, applied by the report layer)
# Everything else (data, kernels, models, train, influence, attacks, malleability, experiments/, this cache, ...)
# is compute code: changing its code changes the key of every unit that runs it; its docstrings and comments are
# left out of the hash (`code_text`), so documenting a compute module keeps the cache. A unit function must therefore live in a compute module,
# not in sweeps*, or editing it would not invalidate its cached results.
COMPUTE_EXCLUDED = (
    "report/",
    "plotting/",
    "paper.py",
    "claims.py",
    "notebook.py",
    "spec.py",
    "specs/",
    "runner.py",
    "sweeps*",
    "__main__.py",
    "progress.py",
    "_quiet.py",
    "store.py",
    "labels.py",
    "result_tables.py",
)
#: The numeric stack whose versions enter every unit's key: a new release may change a computed number.
STACK = ("jax", "jaxlib", "numpy", "scipy", "optax")

_KIND = re.compile(r"[A-Za-z0-9_-]+")
_UMASK = os.umask(0)
os.umask(_UMASK)  # read the process umask once, so cache files get the permissions any other file would


class CacheWriteError(OSError):
    """The result cache folder cannot be written (missing permission, read-only, full disk, ...)."""


class CacheEntryWarning(UserWarning):
    """A result-cache entry was damaged or inconsistent and is ignored (it will be recomputed)."""


def cache_root() -> Path:
    """`NTKBOOK_CACHE` if set, else the platform's per-user cache folder (e.g. ~/.cache/ntkbook)."""
    return Path(os.environ.get("NTKBOOK_CACHE") or platformdirs.user_cache_dir("ntkbook"))


def results_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """The folder that holds the entries: `cache_dir` itself if given, else `cache_root()/results`."""
    return Path(cache_dir) if cache_dir is not None else cache_root() / "results"


def _is_excluded(rel: Path) -> bool:
    """Whether the package-relative path `rel` belongs to a non-compute part listed in `COMPUTE_EXCLUDED`."""
    head = rel.parts[0]
    for pattern in COMPUTE_EXCLUDED:
        if pattern.endswith("/"):
            if len(rel.parts) > 1 and head == pattern[:-1]:
                return True
        elif pattern.endswith("*"):
            if head.startswith(pattern[:-1]):
                return True
        elif rel.as_posix() == pattern:
            return True
    return False


def _docstring_nodes(tree: ast.AST) -> list[ast.expr]:
    """The docstrings of a module, its classes and functions, and the string statements documenting assignments."""
    found = []
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list):
            found += [stmt.value for stmt in body
                      if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
                      and isinstance(stmt.value.value, str)]
    return found


def code_text(source: bytes) -> bytes:
    """The code of a Python source, without what cannot change what it computes: docstrings (and other bare string
    statements) become ``""``, comments go, trailing blanks and empty lines go. Byte-level edits on the positions
    `ast` and `tokenize` report, so the result does not depend on the Python version that reads it."""
    lines = source.split(b"\n")
    spans = []  # (line, byte col) start and end, 1-based lines, with the replacement
    for node in _docstring_nodes(ast.parse(source)):
        spans.append(((node.lineno, node.col_offset), (node.end_lineno, node.end_col_offset), b'""'))
    text = source.decode("utf-8")
    text_lines = text.split("\n")
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.COMMENT:
            (row, col), (end_row, end_col) = tok.start, tok.end
            line = text_lines[row - 1]
            spans.append(((row, len(line[:col].encode())), (end_row, len(line[:end_col].encode())), b""))
    for (row, col), (end_row, end_col), repl in sorted(spans, reverse=True):
        merged = lines[row - 1][:col] + repl + lines[end_row - 1][end_col:]
        lines[row - 1 : end_row] = [merged]
    return b"\n".join(stripped for line in lines if (stripped := line.rstrip()))


def _file_digest(path: Path) -> bytes:
    return hashlib.sha256(code_text(path.read_bytes())).digest()


@functools.cache
def _fingerprint(package: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package)
        if _is_excluded(rel):
            continue
        digest.update(rel.as_posix().encode() + b"\0")
        digest.update(_file_digest(path))
    return digest.hexdigest()


def compute_fingerprint(package_dir: str | os.PathLike | None = None) -> str:
    """SHA-256 over the compute modules of the package: every ``*.py`` (relative path and `code_text`) except the
    parts listed in `COMPUTE_EXCLUDED`. Computed once per process and folder.

    `package_dir` defaults to this installed package; tests pass a copy to check which edits change the keys.
    """
    package = Path(package_dir) if package_dir is not None else Path(__file__).resolve().parent
    return _fingerprint(package.resolve())


def _module_file(package: Path, dotted: str) -> Path | None:
    """The file of module `dotted` ("ntkbook.x.y") inside `package` (x/y.py or x/y/__init__.py), None if none."""
    parts = dotted.split(".")[1:]
    if not parts:
        return package / "__init__.py"
    for candidate in (package.joinpath(*parts[:-1], parts[-1] + ".py"), package.joinpath(*parts, "__init__.py")):
        if candidate.is_file():
            return candidate
    return None


def _imported_modules(path: Path, dotted: str) -> set[str]:
    """Every ntkbook module `path` (module `dotted`) imports anywhere in its body, by name ("ntkbook.x")."""
    tree = ast.parse(path.read_bytes(), filename=str(path))
    package_of = dotted if path.name == "__init__.py" else dotted.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_of.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)  # kept only if it is a module
    return {m for m in found if m == "ntkbook" or m.startswith("ntkbook.")}


@functools.cache
def _closure(package: Path, module: str) -> tuple[str, ...]:
    seen: dict[str, Path] = {}
    todo = [module]
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for i in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__ and a/b/__init__ first
            dotted = ".".join(parts[:i])
            if dotted in seen:
                continue
            path = _module_file(package, dotted)
            if path is None:
                continue
            rel = path.relative_to(package)
            if rel.as_posix() != "__init__.py" and _is_excluded(rel):
                continue
            seen[dotted] = path
            todo.extend(_imported_modules(path, dotted))
    return tuple(sorted(p.relative_to(package).as_posix() for p in seen.values()))


def module_closure(module: str, package_dir: str | os.PathLike | None = None) -> tuple[str, ...]:
    """The compute files that running `module` ("ntkbook.experiments.dual") executes: the module, its parent
    packages' ``__init__.py`` and every ntkbook module it imports, transitively (imports read with `ast`, inside
    functions too), leaving out the non-compute parts `COMPUTE_EXCLUDED`. Package-relative posix paths, sorted."""
    package = (Path(package_dir) if package_dir is not None else Path(__file__).resolve().parent).resolve()
    if module != "ntkbook" and not module.startswith("ntkbook."):
        raise ValueError(f"module_closure takes an ntkbook module, got {module!r}")
    if _module_file(package, module) is None:
        raise ValueError(f"no module {module!r} in {package}")
    return _closure(package, module)


@functools.cache
def _files_fingerprint(package: Path, files: tuple[str, ...]) -> str:
    digest = hashlib.sha256()
    for rel in files:
        digest.update(rel.encode() + b"\0")
        digest.update(_file_digest(package / rel))
    return digest.hexdigest()


def module_fingerprint(module: str, package_dir: str | os.PathLike | None = None) -> str:
    """SHA-256 over the files of `module_closure(module)` (relative path and `code_text`): the code a unit whose
    function lives in `module` runs. A module outside ntkbook (e.g. a test's) gets `compute_fingerprint()`, the
    whole package's compute code. Computed once per process, folder and module."""
    if module != "ntkbook" and not module.startswith("ntkbook."):
        return compute_fingerprint() if package_dir is None else compute_fingerprint(package_dir)
    package = (Path(package_dir) if package_dir is not None else Path(__file__).resolve().parent).resolve()
    return _files_fingerprint(package, module_closure(module, package))


@functools.cache
def _installed_versions() -> tuple[tuple[str, str], ...]:
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for name in STACK:
        try:
            out.append((name, version(name)))
        except PackageNotFoundError:
            out.append((name, "not installed"))
    return tuple(out)


def stack_versions() -> dict[str, str]:
    """{package: installed version} of the numeric stack `STACK` (jax, jaxlib, numpy, scipy, optax)."""
    return dict(_installed_versions())


def unit_fingerprint(module: str, reads=(), *, data_dir=None, package_dir=None) -> str:
    """SHA-256 of what a unit's numbers depend on besides its params: the compute code of `module`
    (`module_fingerprint`), the content of every data split in `reads` ((name, split) pairs,
    `ntkbook.data.fingerprint`, from `data_dir` or NTKBOOK_DATA) and the versions of the numeric stack."""
    from ntkbook import data

    parts = {
        "code": module_fingerprint(module, package_dir),
        "data": sorted([str(name), str(split), data.fingerprint(name, split, data_dir=data_dir)]
                       for name, split in reads),
        "stack": stack_versions(),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _plain(value, where: str):
    """`value` as plain JSON data (dicts with str keys, lists, str, int, float, bool, None); numpy scalars and
    arrays become Python numbers and lists, tuples become lists, paths become strings. Anything else is a TypeError:
    its text form (e.g. an object's address) would make a key that changes from run to run."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"cache params: key {k!r} at {where or 'top level'} must be a string")
            out[k] = _plain(v, f"{where}.{k}" if where else k)
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    tolist = getattr(value, "tolist", None)  # numpy scalar or array
    if callable(tolist) and type(value).__module__ == "numpy":
        return _plain(tolist(), where)
    raise TypeError(
        f"cache params: {where or 'params'} is a {type(value).__name__}; use plain JSON values "
        "(str, int, float, bool, None, lists and dicts of them)"
    )


def _params_json(params: Mapping) -> str:
    """Canonical JSON of `params` (sorted keys, no whitespace)."""
    if not isinstance(params, Mapping):
        raise TypeError(f"cache params must be a mapping, got {type(params).__name__}")
    return json.dumps(_plain(params, ""), sort_keys=True, separators=(",", ":"), allow_nan=True)


def _check_kind(kind: str) -> None:
    if not isinstance(kind, str) or not _KIND.fullmatch(kind):
        raise ValueError(f"cache kind must be letters, digits, '_' or '-', got {kind!r}")


def entry_key(kind: str, params: Mapping, *, fingerprint: str | None = None) -> str:
    """A stable 24-hex-digit hash of the entry format, `kind`, the canonical JSON of `params` and the compute
    fingerprint (`compute_fingerprint()` unless given)."""
    _check_kind(kind)
    code = fingerprint if fingerprint is not None else compute_fingerprint()
    blob = json.dumps([FORMAT, kind, _params_json(params), code], separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def entry_paths(kind: str, params: Mapping, cache_dir: str | os.PathLike | None = None, *,
                key: str | None = None) -> tuple[Path, str]:
    """(manifest path, file-name stem ``<kind>-<key>``) of the entry for `kind` and `params`; `key` defaults to
    `entry_key(kind, params)` (a `ntkbook.runner.Unit` passes its own, which covers its code and data)."""
    if key is not None and not re.fullmatch(r"[0-9a-f]{24}", key):
        raise ValueError(f"cache key must be 24 hex digits, got {key!r}")
    stem = f"{kind}-{key if key is not None else entry_key(kind, params)}"
    return results_dir(cache_dir) / f"{stem}{MANIFEST_SUFFIX}", stem


# -- Parquet <-> DataFrame ----------------------------------------------------------------------------------------

_PLAIN_SCALARS = (str, bool, int, float, type(None), np.generic)


def _check_frame(frame: pd.DataFrame, kind: str) -> None:
    """Refuse what Parquet cannot hold faithfully, naming the column."""
    names = list(frame.columns)
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"{kind}: column name {name!r} must be a string to be cached as Parquet")
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise TypeError(f"{kind}: duplicate column names {dup} cannot be cached as Parquet; rename them")
    for name in names:
        col = frame[name]
        if col.dtype == object:
            bad = next((v for v in col if not isinstance(v, _PLAIN_SCALARS)), None)
            if bad is not None:
                raise TypeError(
                    f"{kind}: column {name!r} holds {type(bad).__name__} values (e.g. {bad!r:.80}); a cached table "
                    "holds plain numbers, strings and bools - split it into columns or convert it (e.g. with str)"
                )
            types = {type(v) for v in col if v is not None and not (isinstance(v, float) and math.isnan(v))}
            if len(types) > 1:
                raise TypeError(
                    f"{kind}: column {name!r} mixes {sorted(t.__name__ for t in types)} values; a cached column "
                    "holds one plain type - convert it (e.g. with astype(str) or astype(float))"
                )


def _to_parquet(frame: pd.DataFrame, kind: str) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    _check_frame(frame, kind)
    try:
        table = pa.Table.from_pandas(frame, preserve_index=None)
    except (pa.ArrowException, TypeError, ValueError) as err:
        for name in frame.columns:  # find the column to name it
            try:
                pa.Table.from_pandas(frame[[name]], preserve_index=False)
            except (pa.ArrowException, TypeError, ValueError) as col_err:
                raise TypeError(f"{kind}: column {name!r} cannot be stored as Parquet ({col_err})") from col_err
        raise TypeError(f"{kind}: the table cannot be stored as Parquet ({err})") from err
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def _from_parquet(blob: bytes) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    return pq.read_table(pa.BufferReader(blob)).to_pandas()


def _schema(frame: pd.DataFrame) -> list[list[str]]:
    return [[str(name), str(dtype)] for name, dtype in frame.dtypes.items()]


# -- files -------------------------------------------------------------------------------------------------------


def _write_error(folder: Path, err: OSError) -> CacheWriteError:
    return CacheWriteError(
        err.errno,
        f"cannot write the result cache in {folder} ({err.strerror or err}); make the folder writable or free "
        "space there, or choose another folder by setting the environment variable NTKBOOK_CACHE",
    )


def _atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` via a flushed temporary file in the same folder and `os.replace`."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _fsync_dir(folder: Path) -> None:
    """Make the renames durable across a power cut (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def ensure_writable(cache_dir: str | os.PathLike | None = None) -> Path:
    """Create the results folder if needed and check that a file can be written there; return the folder.

    Raises `CacheWriteError` naming the folder and `NTKBOOK_CACHE` otherwise.
    """
    folder = results_dir(cache_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".write-probe.", suffix=".tmp")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise _write_error(folder, err) from err
    return folder


def _sweep_leftovers(folder: Path, stem: str, keep: str) -> None:
    """Remove this entry's unreferenced tables and temporary files older than `GRACE_SECONDS` (best effort)."""
    now = time.time()
    for path in list(folder.glob(f"{stem}.*.parquet")) + list(folder.glob(f".{stem}.*.tmp")):
        if path.name == keep:
            continue
        try:
            if now - path.stat().st_mtime > GRACE_SECONDS:
                path.unlink()
        except OSError:
            pass


def store(kind: str, params: Mapping, frame: pd.DataFrame, cache_dir: str | os.PathLike | None = None, *,
          key: str | None = None) -> pd.DataFrame:
    """Write `frame` as the entry for `kind` and `params` (under `key`, see `entry_paths`); return the frame as it
    reads back from the cache.

    Raises TypeError for a non-DataFrame or a column Parquet cannot hold, CacheWriteError if the folder cannot be
    written. See the module docstring for the layout and why the write is atomic.
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"the result for {kind!r} must be a pandas DataFrame, got {type(frame).__name__}")
    manifest_path, stem = entry_paths(kind, params, cache_dir, key=key)
    blob = _to_parquet(frame, kind)
    canonical = _from_parquet(blob)
    sha = hashlib.sha256(blob).hexdigest()
    table_name = f"{stem}.{sha[:16]}.parquet"
    manifest = {
        "format": FORMAT,
        "kind": kind,
        "key": stem.rsplit("-", 1)[1],
        "params": json.loads(_params_json(params)),
        "table": table_name,
        "sha256": sha,
        "bytes": len(blob),
        "rows": len(canonical),
        "schema": _schema(canonical),
        "pandas": pd.__version__,
    }
    folder = manifest_path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _atomic_write(folder / table_name, blob)
        _atomic_write(manifest_path, json.dumps(manifest, indent=1, sort_keys=True).encode())  # last: commits
    except OSError as err:
        raise _write_error(folder, err) from err
    _fsync_dir(folder)
    _sweep_leftovers(folder, stem, table_name)
    return canonical


class _NotRegularFile(OSError):
    """A cache path names something other than a regular file (a FIFO, a device, a socket, a folder)."""


def _read_regular(path: Path) -> bytes:
    """The bytes of `path`, opened only if it is a regular file.

    Opened with O_NONBLOCK and checked with fstat before any read, so a FIFO or a device named like a cache
    entry is refused at once (`_NotRegularFile`) instead of blocking or streaming forever; a missing file raises
    FileNotFoundError as `open` would.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise _NotRegularFile(f"{path} is not a regular file (mode {stat.filemode(mode)})")
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read()
    finally:
        os.close(fd)


def _reject(path: Path, why: str) -> None:
    warnings.warn(
        f"ignoring result-cache entry {path}: {why}; it will be recomputed", CacheEntryWarning, stacklevel=3
    )


def load(kind: str, params: Mapping, cache_dir: str | os.PathLike | None = None, *,
         key: str | None = None) -> pd.DataFrame | None:
    """The cached table for `kind` and `params` (under `key`, see `entry_paths`), or None when there is no whole,
    matching entry.

    A missing entry returns None silently; a damaged one (bad JSON, wrong format or parameters, missing table,
    checksum, schema or row-count mismatch) warns with `CacheEntryWarning` naming the file and returns None.
    """
    manifest_path, stem = entry_paths(kind, params, cache_dir, key=key)
    expected_params = _params_json(params)  # compared as canonical text, so that NaN equals NaN
    for attempt in range(2):
        try:
            text = _read_regular(manifest_path).decode("utf-8")
        except (FileNotFoundError, NotADirectoryError):
            return None
        except (OSError, UnicodeDecodeError) as err:
            _reject(manifest_path, f"unreadable ({err})")
            return None
        try:
            manifest = json.loads(text)
        except json.JSONDecodeError as err:
            _reject(manifest_path, f"not valid JSON ({err})")
            return None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            _reject(manifest_path, f"not a {FORMAT} manifest")
            return None
        try:
            same_params = _params_json(manifest.get("params")) == expected_params
        except TypeError:
            same_params = False
        if manifest.get("kind") != kind or not same_params:
            _reject(manifest_path, "its kind or parameters differ from the ones requested")
            return None
        table_name = manifest.get("table")
        if not isinstance(table_name, str) or not re.fullmatch(re.escape(stem) + r"\.[0-9a-f]{16}\.parquet", table_name):
            _reject(manifest_path, f"bad table name {table_name!r}")
            return None
        table_path = manifest_path.parent / table_name
        try:
            blob = _read_regular(table_path)
        except FileNotFoundError:
            if attempt == 0:
                continue  # the manifest may just have been replaced by a newer store: read it again
            _reject(manifest_path, f"its table {table_path} is missing")
            return None
        except OSError as err:
            _reject(table_path, f"unreadable ({err})")
            return None
        if hashlib.sha256(blob).hexdigest() != manifest.get("sha256"):
            _reject(table_path, f"its SHA-256 does not match the one in {manifest_path.name} (truncated or altered)")
            return None
        try:
            frame = _from_parquet(blob)
        except Exception as err:  # noqa: BLE001 - any decoding failure of a checksummed file means: recompute
            _reject(table_path, f"not a readable Parquet table ({type(err).__name__}: {err})")
            return None
        if _schema(frame) != manifest.get("schema") or len(frame) != manifest.get("rows"):
            _reject(
                table_path,
                f"its schema {_schema(frame)} / {len(frame)} rows differ from the manifest's "
                f"{manifest.get('schema')} / {manifest.get('rows')} rows (e.g. written by another pandas version)",
            )
            return None
        return frame
    return None  # pragma: no cover - the loop returns


def cached_frame(
    kind: str,
    params: Mapping,
    compute: Callable[[], pd.DataFrame],
    *,
    cache_dir: str | os.PathLike | None = None,
    refresh: bool = False,
    key: str | None = None,
) -> pd.DataFrame:
    """Return `compute()`, reading it from the cache when the same `kind` and `params` were computed before by
    the same compute code.

    `cache_dir=None` uses `cache_root()/results`; `refresh=True` recomputes and overwrites. The folder is checked
    for writability before computing (CacheWriteError names it). The returned frame is the table as stored, so
    the first and every later call return identical frames. `key`: see `entry_paths`.
    """
    if not refresh:
        frame = load(kind, params, cache_dir, key=key)
        if frame is not None:
            return frame
    _check_kind(kind)
    _params_json(params)  # bad params fail before the computation, not after it
    ensure_writable(cache_dir)
    frame = compute()
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"compute() for {kind!r} must return a pandas DataFrame, got {type(frame).__name__}")
    return store(kind, params, frame, cache_dir, key=key)
