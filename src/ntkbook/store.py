"""The result store: sweep results kept in the repository as verified data, with their provenance.

A decisive-scale sweep takes CPU-hours, more than a book build may spend. Its results are therefore kept as data
(as showyourwork keeps cached intermediate results) and re-verified, instead of being recomputed by every build::

    <root>/<sweep>/<profile>/
        manifest.json                       one record per unit: its key, params, unit function, table and SHA-256,
                                            the compute fingerprint, package versions, machine, seconds and date
        tables.tar.xz                       the pack: every unit's result-cache entry in one compressed archive
        <kind>-<key>.entry.json             loose result-cache entries in the format of `ntkbook.cache`, as a sweep
        <kind>-<key>.<sha16>.parquet        records them (the table, named by its own content hash) until `pack`

A layer's tables are small Parquet files whose schema and metadata repeat from unit to unit; packed into one xz
archive they take about a seventh of the space, so the store stays a few MB. A sweep run with ``--store`` records each
unit as a loose entry the moment it finishes and packs the layer when the whole sweep has run; a loose entry is read
before the pack, so a refreshed unit shadows its packed predecessor until the next `pack`.

`<root>` is `NTKBOOK_STORE` if set, else the repository's ``results/`` folder. The runner reads the store as a
read-only layer under the user cache (`lookup`): a unit found in neither is computed. `record` adds a unit;
`verify` checks every stored table against its manifest, reports entries whose key the current code and data no
longer give (stale: the code or data changed since they were computed) with the command that refreshes them, and
recomputes a seeded sample of units to compare them with the stored tables (`compare_frames`).

A unit's key (`ntkbook.cache.entry_key`) already covers its parameters, the compute code and the data it reads, so
an entry is served only to the code that computed it; the fingerprints in the manifest say *what* changed.
"""

from __future__ import annotations

import atexit
import dataclasses
import datetime
import hashlib
import importlib
import io
import json
import lzma
import os
import platform
import random
import re
import shutil
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "MANIFEST",
    "PACK",
    "STORE_ENV",
    "StoreError",
    "Verification",
    "compare_frames",
    "is_timing_column",
    "entries",
    "layer",
    "layers",
    "lookup",
    "machine",
    "pack",
    "prune",
    "record",
    "records",
    "refresh_command",
    "store_root",
    "stored_seconds",
    "verify",
]

STORE_ENV = "NTKBOOK_STORE"
MANIFEST = "manifest.json"
PACK = "tables.tar.xz"
FORMAT = "ntkbook-result-store/1"
#: Relative tolerance for recomputed floating-point columns. A unit is a deterministic function of its params on
#: one CPU family and numeric stack (XLA's CPU reductions run in a fixed order), so a recomputation on the machine
#: that stored it matches bit for bit; 1e-5 (about 80 float32 ulps) admits a different BLAS kernel's rounding in
#: the last digits of float32 results while any change of the computation itself shows.
FLOAT_RTOL = 1e-5
_NAME = re.compile(r"[A-Za-z0-9_-]+")


class StoreError(RuntimeError):
    """A store entry is damaged, stale or disagrees with its recomputation (the message says how to fix it)."""


def _repository_results() -> Path:
    """The ``results/`` folder of the repository this package was installed from (``src/ntkbook`` -> root)."""
    return Path(__file__).resolve().parents[2] / "results"


def store_root(root: str | os.PathLike | None = None) -> Path:
    """`root` if given, else `NTKBOOK_STORE`, else the repository's ``results/`` folder (which may not exist)."""
    if root is not None:
        return Path(root)
    env = os.environ.get(STORE_ENV)
    return Path(env) if env else _repository_results()


def _check_name(what: str, name: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"store {what} must be letters, digits, '_' or '-', got {name!r}")
    return name


def layer(sweep: str, profile: str, root: str | os.PathLike | None = None) -> Path:
    """The folder of one sweep at one profile: ``<root>/<sweep>/<profile>``."""
    return store_root(root) / _check_name("sweep", sweep) / _check_name("profile", profile)


def refresh_command(sweep: str, profile: str, root: str | os.PathLike | None = None) -> str:
    """The command that recomputes a stored sweep into the store."""
    where = "" if root is None and not os.environ.get(STORE_ENV) else f" {store_root(root)}"
    return f"python -m ntkbook sweep {sweep} --profile {profile} --store{where or ' results/'}"


def _cache():
    return importlib.import_module("ntkbook.cache")


def _read_manifest(folder: Path) -> dict:
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"format": FORMAT, "units": {}}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise StoreError(f"the store manifest {path} cannot be read ({err}); restore it from git") from err
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or not isinstance(manifest.get("units"), dict):
        raise StoreError(f"{path} is not a {FORMAT} manifest; restore it from git")
    return manifest


def layers(root: str | os.PathLike | None = None) -> list[tuple[str, str]]:
    """(sweep, profile) of every layer of the store, sorted."""
    return [(sweep, profile) for sweep, profile, _ in _layers(store_root(root))]


def _layers(root: Path) -> list[tuple[str, str, Path]]:
    """(sweep, profile, folder) of every layer under `root` that has a manifest, sorted."""
    if not root.is_dir():
        return []
    return sorted(
        (path.parent.parent.name, path.parent.name, path.parent) for path in root.glob(f"*/*/{MANIFEST}")
        if path.is_file()
    )


def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {}
    for name in ("ntkbook", "jax", "jaxlib", "numpy", "scipy", "optax", "pandas"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


def machine() -> str:
    """This machine in words, as a manifest records it: system, architecture, CPU count and model, Python."""
    cpu = platform.processor() or platform.machine()
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}"


def _fingerprints(unit) -> dict:
    """What a unit's key covers besides its params, part by part, so that `verify` can say what changed: the compute
    code of its module (`ntkbook.cache.module_fingerprint`), the content of each data split it reads and the numeric
    stack's versions."""
    from ntkbook import data

    cache = _cache()
    data_dir = unit.params.get("data_dir")
    return {
        "compute_fingerprint": cache.module_fingerprint(unit.fn.__module__),
        "data_fingerprints": {f"{name}/{split}": data.fingerprint(name, split, data_dir=data_dir)
                              for name, split in unit.reads},
        "stack": cache.stack_versions(),
    }


def record(
    sweep: str,
    profile: str,
    unit,
    frame: pd.DataFrame,
    *,
    seconds: float | None,
    root: str | os.PathLike | None = None,
    device: str | None = None,
) -> dict:
    """Add `unit`'s result `frame` to the store layer of `sweep` at `profile`; return its manifest record.

    The table goes in as a result-cache entry (atomic, content-hashed); the record holds the unit's key, params,
    unit function (``module:qualname``, so `verify` can recompute it), the table's name and SHA-256, the compute
    fingerprint, package versions, machine, `device`, `seconds` (wall seconds of the computation; None when it was
    read from a cache) and the date. The manifest is rewritten atomically.
    """
    cache = _cache()
    folder = layer(sweep, profile, root)
    folder.mkdir(parents=True, exist_ok=True)
    cache.store(unit.kind, unit.params, frame, cache_dir=folder, key=unit.key)
    entry = json.loads((folder / f"{unit.kind}-{unit.key}{cache.MANIFEST_SUFFIX}").read_text(encoding="utf-8"))
    manifest = _read_manifest(folder)
    rec = {
        "kind": unit.kind,
        "key": unit.key,
        "params": entry["params"],
        "function": f"{unit.fn.__module__}:{unit.fn.__qualname__}",
        "reads": [list(r) for r in unit.reads],
        "table": entry["table"],
        "sha256": entry["sha256"],
        "rows": entry["rows"],
        **_fingerprints(unit),
        "versions": _versions(),
        "machine": machine(),
        "device": device or "cpu",
        "seconds": None if seconds is None else round(float(seconds), 3),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    manifest["units"][f"{unit.kind}-{unit.key}"] = rec
    blob = json.dumps(manifest, indent=1, sort_keys=True).encode()
    cache._atomic_write(folder / MANIFEST, blob)
    return rec


_MEMBER = re.compile(r"[A-Za-z0-9_-]+-[0-9a-f]{24}(\.entry\.json|\.[0-9a-f]{16}\.parquet)")
#: (pack path, size, mtime) -> the private folder its members were extracted to in this process
_UNPACKED: dict[tuple[str, int, int], Path] = {}


def _unpacked(folder: Path) -> Path | None:
    """A private temporary folder holding the members of the layer's pack, extracted once per process and pack
    version (removed at exit), or None when the layer has no pack. A pack that cannot be read, or holds anything
    but result-cache entries, is a `StoreError`."""
    path = folder / PACK
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    signature = (os.fspath(path.resolve()), st.st_size, st.st_mtime_ns)
    hit = _UNPACKED.get(signature)
    if hit is not None and hit.is_dir():
        return hit
    target = Path(tempfile.mkdtemp(prefix="ntkbook-store-"))
    atexit.register(shutil.rmtree, target, True)
    try:
        with tarfile.open(path, "r:xz") as tar:
            members = tar.getmembers()
            odd = [m.name for m in members if not (m.isfile() and _MEMBER.fullmatch(m.name))]
            if odd:
                raise StoreError(f"the store pack {path} holds {odd[0]!r}, which is not a result-cache entry; "
                                 "restore it from git")
            tar.extractall(target, members=members, filter="data")
    except (tarfile.TarError, lzma.LZMAError, EOFError, OSError) as err:
        raise StoreError(f"the store pack {path} cannot be read ({err}); restore it from git") from err
    _UNPACKED[signature] = target
    return target


def _entry_folder(folder: Path, name: str) -> Path | None:
    """Where the entry ``name`` (``<kind>-<key>``) of a layer lies: the layer folder (loose), the extracted pack,
    or None."""
    suffix = _cache().MANIFEST_SUFFIX
    if (folder / f"{name}{suffix}").is_file():
        return folder
    unpacked = _unpacked(folder)
    if unpacked is not None and (unpacked / f"{name}{suffix}").is_file():
        return unpacked
    return None


def _tar_xz(members: dict[str, bytes]) -> bytes:
    """A deterministic xz-compressed tar of `members` (sorted, no times, owners or modes from this machine)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:xz", preset=9, format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(members):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(members[name]), 0, 0o644
            tar.addfile(info, io.BytesIO(members[name]))
    return buffer.getvalue()


def pack(sweep: str, profile: str, root: str | os.PathLike | None = None) -> int:
    """Pack the layer of `sweep` at `profile`: every unit its manifest names goes into ``tables.tar.xz`` (loose
    entries first, then the old pack), members the manifest no longer names are dropped, and the loose entry files
    are deleted. Returns the number of units packed. A unit of the manifest without an entry is a `StoreError`."""
    folder = layer(sweep, profile, root)
    manifest = _read_manifest(folder)
    suffix = _cache().MANIFEST_SUFFIX
    members: dict[str, bytes] = {}
    for name, rec in manifest["units"].items():
        where = _entry_folder(folder, name)
        if where is None or not (where / rec["table"]).is_file():
            raise StoreError(f"{sweep}/{profile} {name}: in the manifest but its entry is missing; refresh with: "
                             f"{refresh_command(sweep, profile, root)}")
        for file in (f"{name}{suffix}", rec["table"]):
            members[file] = (where / file).read_bytes()
    if not members and not (folder / PACK).exists():
        return 0
    _cache()._atomic_write(folder / PACK, _tar_xz(members))
    for path in list(folder.glob(f"*{suffix}")) + list(folder.glob("*.parquet")):
        path.unlink()
    return len(manifest["units"])


def prune(sweep: str, profile: str, keep: Sequence[str], root: str | os.PathLike | None = None) -> list[str]:
    """Drop from the layer of `sweep` at `profile` every entry whose key is not in `keep` (the keys of the sweep's
    current units), with its loose files (its packed copy goes at the next `pack`); return the dropped
    ``<kind>-<key>`` names. A sweep recorded again after its code changed thus leaves no stale entries behind."""
    folder = layer(sweep, profile, root)
    manifest = _read_manifest(folder)
    keep = set(keep)
    dropped = sorted(name for name, rec in manifest["units"].items() if rec["key"] not in keep)
    if not dropped:
        return []
    cache = _cache()
    for name in dropped:
        rec = manifest["units"].pop(name)
        for path in (folder / f"{name}{cache.MANIFEST_SUFFIX}", folder / rec["table"]):
            path.unlink(missing_ok=True)
    cache._atomic_write(folder / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode())
    return dropped


def lookup(unit, root: str | os.PathLike | None = None) -> pd.DataFrame | None:
    """The stored table of `unit` from any profile's layer of its sweep kind, or None.

    Read-only: nothing is written. A damaged entry is warned about by `ntkbook.cache.load` and skipped.
    """
    base = store_root(root)
    if not base.is_dir():
        return None
    cache = _cache()
    for _sweep, _profile, folder in _layers(base):
        where = _entry_folder(folder, f"{unit.kind}-{unit.key}")
        if where is not None:
            frame = cache.load(unit.kind, unit.params, cache_dir=where, key=unit.key)
            if frame is not None:
                return frame
    return None


def records(sweep: str, root: str | os.PathLike | None = None) -> dict[str, dict]:
    """{``<kind>-<key>``: manifest record} of every stored unit of `sweep`, over all its profiles' layers; each
    record gains ``profile``. Read-only."""
    out: dict[str, dict] = {}
    for name, profile, folder in _layers(store_root(root)):
        if name == sweep:
            out.update({entry: {**rec, "profile": profile} for entry, rec in _read_manifest(folder)["units"].items()})
    return out


def entries(root: str | os.PathLike | None = None) -> pd.DataFrame:
    """One row per stored unit: sweep, profile, kind, key, function, rows, seconds, date, device, machine."""
    rows = []
    for sweep, profile, folder in _layers(store_root(root)):
        for name, rec in sorted(_read_manifest(folder)["units"].items()):
            rows.append({"sweep": sweep, "profile": profile, "entry": name, "kind": rec["kind"], "key": rec["key"],
                         "function": rec["function"], "rows": rec["rows"], "seconds": rec.get("seconds"),
                         "date": rec.get("date"), "device": rec.get("device"), "machine": rec.get("machine")})
    columns = ["sweep", "profile", "entry", "kind", "key", "function", "rows", "seconds", "date", "device", "machine"]
    return pd.DataFrame(rows, columns=columns)


def is_timing_column(name: str) -> bool:
    """Whether a result column records how long its unit took (a name ending in ``seconds``): provenance, not a
    result, so `compare_frames` leaves it out."""
    return str(name).endswith("seconds")


def compare_frames(stored: pd.DataFrame, fresh: pd.DataFrame, *, rtol: float = FLOAT_RTOL) -> tuple[bool, float, str]:
    """`(agree, max_relative_deviation, why)` of a recomputed table against the stored one.

    Column names, row count and every non-float column must be equal; float columns agree when
    ``|a - b| <= rtol * max(|a|, |b|)`` elementwise (NaN equals NaN, infinities equal themselves). The deviation
    reported is the largest ``|a - b| / max(|a|, |b|)`` over float entries (0 when all are equal). Timing columns
    (`is_timing_column`: a unit's own wall-clock record, which no recomputation reproduces) are not compared.
    """
    if list(stored.columns) != list(fresh.columns):
        return False, float("inf"), f"columns differ: {list(stored.columns)} vs {list(fresh.columns)}"
    if len(stored) != len(fresh):
        return False, float("inf"), f"{len(stored)} stored rows vs {len(fresh)} recomputed"
    worst, why = 0.0, ""
    for name in stored.columns:
        if is_timing_column(name):
            continue
        a, b = stored[name].to_numpy(), fresh[name].to_numpy()
        if pd.api.types.is_float_dtype(stored[name]) and pd.api.types.is_float_dtype(fresh[name]):
            a, b = a.astype(np.float64), b.astype(np.float64)
            same = (a == b) | (np.isnan(a) & np.isnan(b))
            finite = np.isfinite(a) & np.isfinite(b) & ~same
            if np.any(~same & ~finite):
                return False, float("inf"), f"column {name!r}: a non-finite value differs"
            scale = np.maximum(np.abs(a), np.abs(b))
            with np.errstate(invalid="ignore", over="ignore"):  # inf - inf where masked out by `finite`
                dev = np.where(finite, np.abs(a - b) / np.where(scale > 0, scale, 1.0), 0.0)
            col_worst = float(dev.max()) if dev.size else 0.0
            if col_worst > worst:
                worst = col_worst
            if col_worst > rtol:
                why = why or f"column {name!r}: relative deviation {col_worst:.3g} > {rtol:g}"
        elif not pd.Series(a).equals(pd.Series(b)):
            return False, float("inf"), f"column {name!r} differs"
    return not why, worst, why


@dataclasses.dataclass(frozen=True)
class Verification:
    """What `verify` found. checked: stored tables whose bytes match their manifests; stale: (sweep, profile, entry,
    refresh command) of entries the current code/data no longer key to; recomputed: (sweep, profile, entry, agree,
    deviation, why) for the sample; problems: every failure as a sentence."""

    checked: int
    stale: tuple[tuple[str, str, str, str], ...]
    recomputed: tuple[tuple[str, str, str, bool, float, str], ...]
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def max_deviation(self) -> float:
        return max((r[4] for r in self.recomputed), default=0.0)

    def summary(self) -> str:
        lines = [f"store: {self.checked} stored tables checked, {len(self.stale)} stale, "
                 f"{len(self.recomputed)} units re-verified by recomputation, "
                 f"maximum relative deviation {self.max_deviation:.3g}"]
        lines += [f"  problem: {p}" for p in self.problems]
        return "\n".join(lines)


def _current_unit(rec: dict):
    """(the unit of a manifest record as the current code builds it, "") or (None, why it cannot be built)."""
    from ntkbook import runner

    try:
        fn = _function(rec["function"])
    except (ImportError, AttributeError) as err:
        return None, f"its unit function {rec['function']} is gone ({err})"
    reads = tuple(tuple(r) for r in rec.get("reads", ()))
    return runner.Unit(rec["kind"], rec["params"], fn, reads=reads), ""


def _what_changed(rec: dict, unit) -> str:
    """Which part of a unit's key differs from the stored record: code, data or numeric stack."""
    now = _fingerprints(unit)
    parts = [what for what, field in (("the compute code", "compute_fingerprint"), ("the data", "data_fingerprints"),
                                      ("the numeric stack", "stack")) if rec.get(field) != now[field]]
    return (" and ".join(parts) or "its key") + " changed"


def _function(spec: str):
    module, _, qualname = spec.partition(":")
    obj = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def verify(
    root: str | os.PathLike | None = None,
    *,
    sample: int = 2,
    seed: int = 0,
    sweeps: Sequence[str] | None = None,
    rtol: float = FLOAT_RTOL,
) -> Verification:
    """Check every stored table and recompute `sample` units per layer (chosen with `seed`).

    A table that does not match its manifest, an entry whose key the current code and data no longer give (stale),
    or a recomputation outside `rtol` is a problem; stale entries name the command that refreshes them.
    """
    if sample < 0:
        raise ValueError(f"sample must be >= 0, got {sample}")
    cache = _cache()
    checked, stale, recomputed, problems = 0, [], [], []
    rng = random.Random(seed)
    for sweep, profile, folder in _layers(store_root(root)):
        if sweeps is not None and sweep not in sweeps:
            continue
        command = refresh_command(sweep, profile, root)
        fresh_entries = []
        for name, rec in sorted(_read_manifest(folder)["units"].items()):
            unit, why = _current_unit(rec)
            if unit is None or unit.key != rec["key"]:
                stale.append((sweep, profile, name, command))
                problems.append(f"{sweep}/{profile} {name}: stale ({why or _what_changed(rec, unit)} since it was "
                                f"stored); refresh with: {command}")
                continue
            where = _entry_folder(folder, name)
            frame = cache.load(rec["kind"], rec["params"], cache_dir=where, key=rec["key"]) if where else None
            table = where / rec["table"] if where else None
            if frame is None or not table.is_file() or hashlib.sha256(table.read_bytes()).hexdigest() != rec["sha256"]:
                problems.append(f"{sweep}/{profile} {name}: its table does not match the manifest (altered or "
                                f"missing); restore it from git or refresh with: {command}")
                continue
            checked += 1
            fresh_entries.append((name, rec, frame))
        for name, rec, frame in rng.sample(fresh_entries, min(sample, len(fresh_entries))):
            new = _function(rec["function"])(**rec["params"])
            agree, dev, why = compare_frames(frame, new.reset_index(drop=True), rtol=rtol)
            recomputed.append((sweep, profile, name, agree, dev, why))
            if not agree:
                problems.append(f"{sweep}/{profile} {name} (key {rec['key']}): recomputation disagrees ({why}); "
                                f"refresh with: {command}")
    return Verification(checked, tuple(stale), tuple(recomputed), tuple(problems))


def stored_seconds(sweep: str, root: str | os.PathLike | None = None) -> dict[str, list[float]]:
    """{profile: [wall seconds of each stored unit that was computed for the store]} of one sweep."""
    out: dict[str, list[float]] = {}
    for name, profile, folder in _layers(store_root(root)):
        if name != sweep:
            continue
        secs = [rec["seconds"] for rec in _read_manifest(folder)["units"].values() if rec.get("seconds") is not None]
        out[profile] = secs
    return out

