"""Run a sweep's units anywhere: in this process, a local process pool, or a Dask cluster.

A sweep is a list of `Unit`s, one configuration each: `fn(**params) -> DataFrame`, with a stable `key` (the result
cache's `entry_key(kind, params)` over the unit's own fingerprint: the compute code its function's module runs, the
content of the data splits it `reads`, and the numeric stack's versions; see `ntkbook.cache.unit_fingerprint`). `run(units, scheduler=...)`

1. reads every unit from the result cache, or else from the repository's result store (`ntkbook.store`; unless
   `refresh=True`),
2. computes the missing ones on the executor chosen by `scheduler` (or the environment variable
   `NTKBOOK_SCHEDULER`):

   ==================  ======================================================================================
   None, "inprocess"   one after the other in this process (the default; what the book build uses)
   "processes[:N]"     `concurrent.futures.ProcessPoolExecutor` with N workers (default: the CPU count), spawned
   "local[:N]"         a Dask `LocalCluster` with N worker processes of one thread each, started for this run
   "tcp://host:port"   an existing Dask scheduler (`dask scheduler` + `dask worker tcp://host:port`)
   ==================  ======================================================================================

3. stores each result in the cache as it comes back. Results travel back to the caller, which alone writes the
   cache, so workers need the code and the data but no shared disk.

A unit that raises is recorded by key with its error while the others complete and land in the cache; `run` then
raises `UnitsFailed` listing the failed keys (`allow_failures=True` returns the partial result instead). Units with
the same key are computed once. A worker whose ntkbook code differs from the caller's is refused per unit (its
numbers would be stored under the caller's key).

`cluster("local:N")` keeps one LocalCluster for several `run` calls; `history()` lists what each `run` of this
process computed and read from the cache, so a chapter can say whether its results were computed or read.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import contextvars
import dataclasses
import importlib
import multiprocessing
import os
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import pandas as pd

from ntkbook.progress import progress

SCHEDULER_ENV = "NTKBOOK_SCHEDULER"
#: How long a Dask scheduler may have no worker before a sweep stops with an error instead of waiting forever.
WORKER_WAIT_SECONDS = 300


# --- the result cache ------------------------------------------------------------------------------------------


def _cache():
    """The result-cache module, `ntkbook.cache` (imported on first use, so importing the runner stays light)."""
    return importlib.import_module("ntkbook.cache")


def code_fingerprint(module: str | None = None) -> str:
    """The compute code the cache keys on, which caller and workers must agree on: that of `module` (the module of
    a unit's function, `ntkbook.cache.module_fingerprint`), or of the whole package when None."""
    return _cache().compute_fingerprint() if module is None else _cache().module_fingerprint(module)


# --- units -----------------------------------------------------------------------------------------------------

#: (module, its code fingerprint, the numeric stack's versions, reads, data_dir, NTKBOOK_DATA, NTKBOOK_CACHE): what
#: `ntkbook.cache.unit_fingerprint` depends on -> (monotonic time the stamp was computed, stamp)
_STAMPS: dict[tuple, tuple[float, str]] = {}


def _unit_stamp(module: str, reads: tuple, data_dir) -> str:
    """`ntkbook.cache.unit_fingerprint(module, reads, data_dir=data_dir)`, reused for
    `ntkbook.data.FINGERPRINT_REUSE_SECONDS` counted from the end of its computation. The data module counts its own
    reuse from the start of a folder walk, so a folder whose walk takes nearly that long (CIFAR-10's 10,000 files:
    about 1.5 s of a 2 s window) was walked again for almost every unit of a sweep; counting from the end, units
    built in one burst share one walk, and a changed file is still seen after the same window. Same values."""
    data = importlib.import_module("ntkbook.data")
    key = (module, code_fingerprint(module), tuple(sorted(_cache().stack_versions().items())), reads,
           None if data_dir is None else str(data_dir), os.environ.get("NTKBOOK_DATA"),
           os.environ.get("NTKBOOK_CACHE"))
    hit = _STAMPS.get(key)
    if hit is not None and time.monotonic() - hit[0] < data.FINGERPRINT_REUSE_SECONDS:
        return hit[1]
    stamp = _cache().unit_fingerprint(module, reads, data_dir=data_dir)
    _STAMPS[key] = (time.monotonic(), stamp)
    return stamp



@dataclasses.dataclass(frozen=True, eq=False)
class Unit:
    """One independent piece of a sweep: `fn(**params)` returns its tidy DataFrame.

    kind: the sweep's name in the cache (e.g. "ntk-distance"); params: one configuration, JSON-serialisable
    (numbers, strings, bools, None, lists and dicts of them); fn: a module-level function, so that another process
    can import it by name; reads: the data splits fn reads, as (data set, split) pairs (from `params["data_dir"]`
    if there is one, else NTKBOOK_DATA), whose content enters the key. Two units are equal when their keys are
    equal.
    """

    kind: str
    params: Mapping[str, Any]
    fn: Callable[..., pd.DataFrame]
    reads: tuple[tuple[str, str], ...] = ()
    _key: str = dataclasses.field(init=False, repr=False, default="")

    def __post_init__(self):
        if not isinstance(self.kind, str) or not self.kind:
            raise ValueError(f"Unit.kind must be a non-empty string, got {self.kind!r}")
        if not isinstance(self.params, Mapping):
            raise ValueError(f"Unit.params must be a mapping of knob -> value, got {type(self.params).__name__}")
        reads = tuple(sorted({(str(name), str(split)) for name, split in self.reads}))
        object.__setattr__(self, "reads", reads)
        if not callable(self.fn):
            raise ValueError(f"Unit.fn of {self.kind!r} must be callable, got {self.fn!r}")
        qualname = getattr(self.fn, "__qualname__", "")
        if "<" in qualname or not getattr(self.fn, "__module__", None):
            raise ValueError(
                f"Unit.fn of {self.kind!r} must be a module-level function (other processes import it by name), "
                f"got {qualname or self.fn!r}"
            )
        cache = _cache()
        stamp = _unit_stamp(self.fn.__module__, reads, self.params.get("data_dir"))
        try:
            key = cache.entry_key(self.kind, dict(self.params), fingerprint=stamp)
        except TypeError as err:
            raise ValueError(f"Unit.params of {self.kind!r}: {err}") from None
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "params", dict(self.params))  # a private copy: the key must not change later

    @property
    def key(self) -> str:
        """`ntkbook.cache.entry_key(kind, params)` over `ntkbook.cache.unit_fingerprint(fn's module, reads)`: stable
        across processes and machines running the same code on the same data with the same numeric stack."""
        return self._key

    def __eq__(self, other):
        return isinstance(other, Unit) and self.key == other.key

    def __hash__(self):
        return hash(self.key)


def _call(fn: Callable[..., pd.DataFrame], params: dict) -> tuple[pd.DataFrame, str, float]:
    """Worker side: `(fn(**params), the worker's code fingerprint, seconds)`; the type of the result is checked."""
    start = time.perf_counter()
    frame = fn(**params)
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{fn.__module__}.{fn.__qualname__} returned {type(frame).__name__}, not a pandas DataFrame")
    return frame, code_fingerprint(fn.__module__), time.perf_counter() - start


# --- results ---------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RunResult:
    """What `run` did. frame: the results of every unit that succeeded, concatenated in unit order (a repeated key
    appears once); computed / cached: the keys computed now / read from the cache; failed: key -> error."""

    frame: pd.DataFrame
    computed: tuple[str, ...]
    cached: tuple[str, ...]
    failed: dict[str, str]
    seconds: float = 0.0
    scheduler: str = "inprocess"
    stored: tuple[str, ...] = ()  # read from the repository's result store (`ntkbook.store`), not the user cache
    unit_seconds: Mapping[str, float] = dataclasses.field(default_factory=dict)  # key -> wall s of units computed now

    def summary(self) -> pd.DataFrame:
        """One row per key: `key`, `status` ("computed", "cached" or "failed") and `error` ("" unless failed)."""
        rows = [(k, "computed", "") for k in self.computed] + [(k, "cached", "") for k in self.cached]
        rows += [(k, "stored", "") for k in self.stored]
        rows += [(k, "failed", e) for k, e in self.failed.items()]
        return pd.DataFrame(rows, columns=["key", "status", "error"])


class UnitsFailed(RuntimeError):
    """Raised by `run` when units failed; `.result` holds the RunResult with everything that did complete."""

    def __init__(self, result: RunResult):
        self.result = result
        lines = "\n".join(f"  {key}: {error.splitlines()[0] if error else ''}" for key, error in result.failed.items())
        done = len(result.computed) + len(result.cached)
        super().__init__(
            f"{len(result.failed)} unit(s) failed ({done} completed and are in the cache):\n{lines}\n"
            "Fix the cause and run again: completed units are read from the cache."
        )


class NotRecorded(LookupError):
    """Raised by `run` inside `reading_only()` when units are in neither the result cache nor the store.
    `.kind` is the sweep's name, `.missing` the number of units that would have to be computed."""

    def __init__(self, kind: str, missing: int, total: int):
        self.kind, self.missing, self.total = kind, missing, total
        super().__init__(
            f"{missing} of {total} {kind!r} unit(s) are in neither the result cache nor the result store, and this "
            "reader may not compute: run the chapter (or `python -m ntkbook sweep` at its profile) first"
        )


#: True inside `reading_only()`: `run` then reads and never computes.
_READ_ONLY = contextvars.ContextVar("ntkbook_runner_read_only", default=False)


@contextlib.contextmanager
def reading_only() -> Iterator[None]:
    """Within this block `run` only reads the result cache and the store; a unit found in neither raises
    `NotRecorded` before anything is computed (for a page that summarises what the chapters recorded)."""
    token = _READ_ONLY.set(True)
    try:
        yield
    finally:
        _READ_ONLY.reset(token)


# --- schedulers ------------------------------------------------------------------------------------------------


def parse_scheduler(scheduler: str | None) -> tuple[str, int | str | None]:
    """`(kind, arg)` for a scheduler string: ("inprocess", None), ("processes", N or None), ("local", N or None)
    or ("dask", "tcp://host:port"). None reads `NTKBOOK_SCHEDULER` (unset or empty: in-process).

    Raises ValueError for anything else, with the accepted forms.
    """
    if scheduler is None:
        scheduler = os.environ.get(SCHEDULER_ENV) or "inprocess"
    text = str(scheduler).strip()
    accepted = "'inprocess', 'processes[:N]', 'local[:N]' or 'tcp://host:port'"
    if text in ("inprocess", ""):
        return "inprocess", None
    if "://" in text:
        if not text.startswith(("tcp://", "tls://", "ws://", "wss://", "inproc://")):
            raise ValueError(f"unknown scheduler address {text!r}; use {accepted}")
        return "dask", text
    name, _, count = text.partition(":")
    if name not in ("processes", "local"):
        raise ValueError(f"unknown scheduler {text!r}; use {accepted}")
    if not count:
        return name, None
    if not count.isdigit() or int(count) < 1:
        raise ValueError(f"the worker count in {text!r} must be a positive integer, e.g. '{name}:2'")
    return name, int(count)


class SchedulerError(ValueError):
    """The scheduler setting (`--scheduler` / `NTKBOOK_SCHEDULER`) names a Dask address that cannot be used."""


#: Bounds of `check_scheduler`'s probe, in seconds: name lookup, TCP connect, the scheduler's first message, and
#: Dask's own connection once the probe passed. Together they keep a bad address under 10 s before a clear error.
RESOLVE_SECONDS, CONNECT_SECONDS, HANDSHAKE_SECONDS, CLIENT_SECONDS = 4.0, 3.0, 3.0, 5.0
_MAX_HANDSHAKE_BYTES = 1 << 16  # a Dask handshake is ~60 bytes; a length above this is not one


def _scheduler_fix(address: str) -> str:
    return (
        f"Start a Dask scheduler there (`dask scheduler --port <port>`, then `dask worker {address}`), correct the "
        "address, or choose another scheduler: --scheduler (or NTKBOOK_SCHEDULER) inprocess, processes[:N] or "
        "local[:N]"
    )


def _host_port(address: str) -> tuple[str, int]:
    """(host, port) of 'scheme://host:port' or 'scheme://[v6]:port'; SchedulerError when the port is missing."""
    rest = address.split("://", 1)[1].split("/", 1)[0]
    if rest.startswith("["):
        host, _, tail = rest[1:].partition("]")
        port = tail.removeprefix(":")
    else:
        host, _, port = rest.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SchedulerError(
            f"the scheduler setting {address!r} needs a host and a port from 1 to 65535, e.g. tcp://127.0.0.1:8786. "
            + _scheduler_fix(address)
        )
    return host, int(port)


def _resolve(host: str, port: int, address: str) -> list:
    """getaddrinfo in a daemon thread, bounded by RESOLVE_SECONDS (a lookup can otherwise take minutes)."""
    import socket
    import threading

    box: dict[str, Any] = {}

    def lookup():
        try:
            box["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as err:
            box["error"] = err

    thread = threading.Thread(target=lookup, name="ntkbook-resolve", daemon=True)
    thread.start()
    thread.join(RESOLVE_SECONDS)
    if thread.is_alive():
        raise SchedulerError(
            f"the scheduler setting {address!r}: the host name {host!r} did not resolve within {RESOLVE_SECONDS:g} s. "
            + _scheduler_fix(address)
        )
    if "error" in box or not box.get("infos"):
        raise SchedulerError(
            f"the scheduler setting {address!r}: unknown host {host!r} ({box.get('error', 'no address')}). "
            + _scheduler_fix(address)
        )
    return box["infos"]


def _recv_exactly(sock, n: int) -> bytes:
    parts, got = [], 0
    while got < n:
        piece = sock.recv(min(n - got, 65536))
        if not piece:
            break
        parts.append(piece)
        got += len(piece)
    return b"".join(parts)


def _read_dask_handshake(sock, address: str) -> dict:
    """The first message a Dask scheduler sends on a new connection (its handshake: compression, python, pickle
    protocol), read with a bounded length and time; SchedulerError when the peer sends anything else."""
    import struct

    not_dask = f"the scheduler setting {address!r} names a port that does not speak Dask's protocol"
    try:
        head = _recv_exactly(sock, 8)
        if len(head) < 8:
            raise SchedulerError(f"{not_dask}: it closed the connection without a Dask handshake. " + _scheduler_fix(address))
        (size,) = struct.unpack("Q", head)
        if not 16 <= size <= _MAX_HANDSHAKE_BYTES:
            raise SchedulerError(
                f"{not_dask}: its first bytes {head!r} are not a Dask message. " + _scheduler_fix(address)
            )
        body = _recv_exactly(sock, size)
    except TimeoutError:
        raise SchedulerError(
            f"{not_dask}: it sent no Dask handshake within {HANDSHAKE_SECONDS:g} s (another service, e.g. HTTP - a "
            "Dask dashboard listens on 8787, the scheduler on 8786). " + _scheduler_fix(address)
        ) from None
    except OSError as err:
        raise SchedulerError(f"{not_dask}: the connection failed ({err}). " + _scheduler_fix(address)) from None
    try:
        from distributed.protocol.core import loads
        from distributed.protocol.utils import unpack_frames

        if len(body) != size:
            raise ValueError("truncated")
        message = loads(unpack_frames(body), deserialize=False)
        if not isinstance(message, dict) or "python" not in message:
            raise ValueError(f"unexpected first message {message!r:.80}")
    except Exception as err:  # noqa: BLE001 - any failure to decode means: not a Dask peer
        raise SchedulerError(
            f"{not_dask}: its first message is not a Dask handshake ({type(err).__name__}: {err}). "
            + _scheduler_fix(address)
        ) from None
    return message


def probe_dask_address(address: str) -> None:
    """Check, within about `RESOLVE_SECONDS + CONNECT_SECONDS + HANDSHAKE_SECONDS`, that a Dask scheduler answers
    at `address` ('tcp://host:port'; for tls/ws/wss only the name lookup and the TCP connection are checked).

    Raises SchedulerError naming the setting, what went wrong (unknown host, nothing listening, not Dask) and the
    fix, instead of Dask's retries, hangs or a multi-exabyte allocation from a forged message length.
    """
    import socket

    if address.startswith("inproc://"):
        return
    host, port = _host_port(address)
    infos = _resolve(host, port, address)
    errors = []
    for family, type_, proto, _name, sockaddr in infos:
        sock = socket.socket(family, type_, proto)
        try:
            sock.settimeout(CONNECT_SECONDS)
            try:
                sock.connect(sockaddr)
            except TimeoutError:
                errors.append(f"{sockaddr[0]}: no answer within {CONNECT_SECONDS:g} s")
                continue
            except OSError as err:
                errors.append(f"{sockaddr[0]}: {err.strerror or err}")
                continue
            if address.startswith("tcp://"):
                sock.settimeout(HANDSHAKE_SECONDS)
                _read_dask_handshake(sock, address)
            return
        finally:
            sock.close()
    raise SchedulerError(
        f"the scheduler setting {address!r}: nothing answers there ({'; '.join(errors)}). " + _scheduler_fix(address)
    )


def check_scheduler(scheduler: str | None) -> tuple[str, int | str | None]:
    """`parse_scheduler(scheduler)`, and for a Dask address also `probe_dask_address`: a bad setting fails here,
    in seconds, with a message saying what to do. Returns `(kind, arg)` as `parse_scheduler` does."""
    kind, arg = parse_scheduler(scheduler)
    if kind == "dask":
        probe_dask_address(str(arg))
    return kind, arg


def _error_text(err: BaseException) -> str:
    """`Type: message` followed by the traceback, as one string."""
    tb = "".join(traceback.format_exception(type(err), err, err.__traceback__))
    return f"{type(err).__name__}: {err}\n{tb}"


def _inprocess(todo: list[Unit]):
    """Yield `(unit, outcome, error)` one unit at a time in this process."""
    for unit in todo:
        try:
            yield unit, _call(unit.fn, unit.params), None
        except Exception as err:  # noqa: BLE001 -- a failing unit is reported, the others still run
            yield unit, None, _error_text(err)


PARENT_POLL_SECONDS = 1.0  # how often a pool worker checks that the process that started it is still there


def _end_with_parent(parent: int) -> None:
    """Pool-worker initializer: end this worker when `parent` (the process running the sweep) ends, however it
    ends (a SIGKILL runs no cleanup, and an idle worker would otherwise wait on its task queue forever).

    On Linux the kernel sends SIGKILL at the parent's death (prctl PR_SET_PDEATHSIG); everywhere, a daemon thread
    polls the parent id every `PARENT_POLL_SECONDS` and exits when the worker has been re-parented.
    """
    import signal
    import sys
    import threading

    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass  # the poll below still ends the worker
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)

    def watch():
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="ntkbook-parent-watch", daemon=True).start()


def _process_pool(todo: list[Unit], workers: int | None):
    """Yield outcomes as they complete on a spawned ProcessPoolExecutor (spawn: no forked JAX state); the workers
    end with this process (`_end_with_parent`)."""
    workers = workers or os.cpu_count() or 1
    with concurrent.futures.ProcessPoolExecutor(
        max_workers=min(workers, len(todo)), mp_context=multiprocessing.get_context("spawn"),
        initializer=_end_with_parent, initargs=(os.getpid(),),
    ) as pool:
        futures = {pool.submit(_call, unit.fn, unit.params): unit for unit in todo}
        for future in concurrent.futures.as_completed(futures):
            try:
                yield futures[future], future.result(), None
            except Exception as err:  # noqa: BLE001
                yield futures[future], None, _error_text(err)


def _dask(todo: list[Unit], address: str | None, workers: int | None):
    """Yield outcomes as they complete on a Dask cluster: an existing scheduler at `address`, or a LocalCluster
    of `workers` processes with one thread each (default: the CPU count), closed afterwards."""
    try:
        import distributed
    except ImportError as err:
        raise ImportError("the Dask schedulers need `distributed`: pip install -r requirements.txt") from err
    cluster = None
    if address is None:
        n = workers or os.cpu_count() or 1
        cluster = distributed.LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None
        )
        address = cluster.scheduler_address
    else:
        probe_dask_address(address)
    try:
        client = distributed.Client(address, set_as_default=False, timeout=CLIENT_SECONDS)
    except (OSError, TimeoutError) as err:
        if cluster is not None:
            cluster.close()
        raise SchedulerError(
            f"could not connect to the Dask scheduler {address!r} within {CLIENT_SECONDS:g} s ({err}). "
            + _scheduler_fix(address)
        ) from None
    try:
        try:  # a scheduler without workers would leave the sweep waiting forever
            client.wait_for_workers(1, timeout=WORKER_WAIT_SECONDS)
        except (TimeoutError, distributed.TimeoutError) as err:
            raise RuntimeError(
                f"no Dask worker joined the scheduler at {address} within {WORKER_WAIT_SECONDS} s; start workers "
                f"(`dask worker {address}`) or choose another --scheduler"
            ) from err
        token = uuid.uuid4().hex[:8]  # fresh task keys: a refresh must not reuse an old result on the scheduler
        futures = {
            client.submit(_call, unit.fn, unit.params, key=f"{unit.kind}-{unit.key}-{token}", pure=False): unit
            for unit in todo
        }
        for future in distributed.as_completed(list(futures), loop=client.loop):
            unit = futures[future]
            try:
                yield unit, future.result(), None
            except Exception as err:  # noqa: BLE001
                yield unit, None, _error_text(err)
            finally:
                future.release()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


@contextlib.contextmanager
def cluster(scheduler: str | None = None) -> Iterator[str]:
    """A scheduler for several `run` calls: "local[:N]" starts one Dask LocalCluster for the whole block and yields
    its tcp:// address (closed on exit); any other scheduler is yielded unchanged (None reads `NTKBOOK_SCHEDULER`).

    Example: ``with runner.cluster("local:4") as s: run(units_a, scheduler=s); run(units_b, scheduler=s)``.
    """
    kind, arg = parse_scheduler(scheduler)
    if kind != "local":
        yield scheduler if scheduler is not None else (os.environ.get(SCHEDULER_ENV) or "inprocess")
        return
    import distributed

    n = arg or os.cpu_count() or 1
    with distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        yield c.scheduler_address


_HISTORY: list[tuple[str, RunResult]] = []


def history() -> pd.DataFrame:
    """What the `run` calls of this process did, one row each: `desc`, `scheduler`, `units`, `computed`, `cached`,
    `failed`, `seconds`. A chapter shows it to say whether its results came from the cache or were computed."""
    rows = [
        {"desc": desc, "scheduler": r.scheduler,
         "units": len(r.computed) + len(r.cached) + len(r.stored) + len(r.failed),
         "computed": len(r.computed), "cached": len(r.cached), "stored": len(r.stored), "failed": len(r.failed),
         "seconds": r.seconds}
        for desc, r in _HISTORY
    ]
    return pd.DataFrame(
        rows, columns=["desc", "scheduler", "units", "computed", "cached", "stored", "failed", "seconds"]
    )


def provenance() -> dict[str, int]:
    """Totals of `history()` for a chapter's sentence on where its results came from: `units_total`,
    `units_computed` (in this process), `units_cached` (read from the user's result cache) and `units_stored`
    (read from the repository's result store)."""
    h = history()
    return {"units_total": int(h["units"].sum()), "units_computed": int(h["computed"].sum()),
            "units_cached": int(h["cached"].sum()), "units_stored": int(h["stored"].sum())}


def sources() -> dict[str, tuple[str, float | None]]:
    """{unit key: (where this process's `run` calls got it: "computed", "cached" or "stored", wall seconds of its
    computation or None)} over `history()`, the latest run of a key winning (failed units are left out)."""
    out: dict[str, tuple[str, float | None]] = {}
    for _desc, r in _HISTORY:
        out.update({k: ("cached", None) for k in r.cached})
        out.update({k: ("stored", None) for k in r.stored})
        out.update({k: ("computed", r.unit_seconds.get(k)) for k in r.computed})
    return out


def clear_history() -> None:
    """Forget the runs recorded for `history()`."""
    _HISTORY.clear()


# --- run -------------------------------------------------------------------------------------------------------


def unique_units(units: Iterable[Unit]) -> list[Unit]:
    """The units with repeated keys dropped (first occurrence kept), in order."""
    seen, out = set(), []
    for unit in units:
        if not isinstance(unit, Unit):
            raise ValueError(f"run() takes ntkbook.runner.Unit objects, got {type(unit).__name__}")
        if unit.key not in seen:
            seen.add(unit.key)
            out.append(unit)
    return out


def read_only(units: Iterable[Unit], *, cache_dir: str | os.PathLike | None = None) -> pd.DataFrame | None:
    """The units' results read from the result cache or, failing that, the result store, concatenated in unit
    order; None unless every unit is in one of them. Computes nothing (for a report that may only read)."""
    from ntkbook import store

    cache = _cache()
    frames = []
    for unit in unique_units(units):
        hit = cache.load(unit.kind, unit.params, cache_dir=cache_dir, key=unit.key)
        if hit is None:
            hit = store.lookup(unit)
        if hit is None:
            return None
        frames.append(hit)
    return pd.concat(frames, ignore_index=True) if frames else None


def run(
    units: Iterable[Unit],
    *,
    scheduler: str | None = None,
    refresh: bool = False,
    cache_dir: str | os.PathLike | None = None,
    desc: str | None = None,
    allow_failures: bool = False,
    on_computed: Callable[[Unit, pd.DataFrame, float], None] | None = None,
) -> RunResult:
    """Compute the units that are not in the cache on `scheduler`, store them, return all results.

    Args:
      units: the sweep's units; a repeated key is computed and returned once.
      scheduler: see the module docstring; None reads `NTKBOOK_SCHEDULER`, unset means in-process.
      refresh: recompute every unit and overwrite its cache entry.
      cache_dir: the cache folder (None: the cache's default, `NTKBOOK_CACHE`).
      desc: label of the progress bar (shown only interactively, see `ntkbook.progress`).
      allow_failures: return the partial result instead of raising `UnitsFailed`.
      on_computed: called as ``on_computed(unit, frame, seconds)`` as soon as each unit is computed and cached (e.g.
        to record it in the result store at once, so that a run stopped midway keeps what it finished).

    Returns:
      RunResult(frame, computed, cached, failed): frame concatenates the unit results in unit order.
    """
    start = time.perf_counter()
    kind, arg = parse_scheduler(scheduler)
    cache = _cache()
    units = unique_units(units)
    frames: dict[str, pd.DataFrame] = {}
    cached: list[str] = []
    stored: list[str] = []
    if not refresh:
        from ntkbook import store

        for unit in units:
            hit = cache.load(unit.kind, unit.params, cache_dir=cache_dir, key=unit.key)
            if hit is not None:
                frames[unit.key] = hit
                cached.append(unit.key)
                continue
            hit = store.lookup(unit)  # the read-only layer under the user cache
            if hit is not None:
                frames[unit.key] = hit
                stored.append(unit.key)
    todo = [unit for unit in units if unit.key not in frames]
    if todo and _READ_ONLY.get():
        raise NotRecorded(units[0].kind, len(todo), len(units))
    computed: list[str] = []
    failed: dict[str, str] = {}
    unit_seconds: dict[str, float] = {}
    if todo:
        # a folder that cannot take the results fails now, naming NTKBOOK_CACHE, not after the first unit computed
        cache.ensure_writable(cache_dir)
        if kind == "inprocess":
            outcomes = _inprocess(todo)
        elif kind == "processes":
            outcomes = _process_pool(todo, arg)
        else:
            outcomes = _dask(todo, arg if kind == "dask" else None, arg if kind == "local" else None)
        here = {module: code_fingerprint(module) for module in {u.fn.__module__ for u in todo}}
        bar = progress(total=len(todo), desc=desc or f"{units[0].kind} ({len(cached)} cached)", unit="unit")
        try:
            for unit, outcome, error in outcomes:
                bar.update(1)
                if error is None and outcome[1] != here[unit.fn.__module__]:
                    error = (
                        "RuntimeError: the worker runs different ntkbook code than the caller (compute fingerprint "
                        f"{outcome[1][:12]} vs {here[unit.fn.__module__][:12]}); install the same version on the "
                        "workers"
                    )
                if error is not None:
                    failed[unit.key] = error
                    continue
                try:  # the frame as it reads back from the cache, so a first and a cached run return the same
                    frames[unit.key] = cache.store(unit.kind, unit.params, outcome[0], cache_dir=cache_dir,
                                                   key=unit.key)
                except TypeError as err:  # a table the cache cannot hold (e.g. a column of lists)
                    failed[unit.key] = _error_text(err)
                    continue
                computed.append(unit.key)
                unit_seconds[unit.key] = outcome[2]
                if on_computed is not None:
                    on_computed(unit, frames[unit.key], outcome[2])
        finally:
            bar.close()
    ordered = [frames[u.key] for u in units if u.key in frames]
    frame = pd.concat(ordered, ignore_index=True) if ordered else pd.DataFrame()
    result = RunResult(
        frame=frame,
        computed=tuple(k for k in (u.key for u in units) if k in computed),
        cached=tuple(cached),
        failed={u.key: failed[u.key] for u in units if u.key in failed},
        seconds=time.perf_counter() - start,
        scheduler=kind if arg is None else f"{kind}:{arg}" if kind != "dask" else str(arg),
        stored=tuple(stored),
        unit_seconds=unit_seconds,
    )
    _HISTORY.append((desc or (units[0].kind if units else ""), result))
    if result.failed and not allow_failures:
        raise UnitsFailed(result)
    return result
