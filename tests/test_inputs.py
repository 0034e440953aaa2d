"""Inputs that could hang or lie: a scheduler address that is not a Dask scheduler, a cache folder that cannot be
written or holds a FIFO, worker processes outliving their parent. Each gives a clear error, in seconds, naming the
setting and the fix. Servers here listen on 127.0.0.1 only; every wait is bounded."""

import dataclasses
import http.server
import os
import pickle
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from ntkbook import cache, runner
from ntkbook.__main__ import main
from ntkbook.spec import Spec, knob
from ntkbook.sweeps import SWEEPS, SweepEntry

TESTS = Path(__file__).resolve().parent
SRC = TESTS.parent / "src"
LIMIT = 10.0  # seconds: the most a bad input may take before its error


# --- a toy sweep, registered for the CLI tests: this module is its compute module ------------------------------


@dataclasses.dataclass(frozen=True)
class ToySpec(Spec):
    seeds: tuple[int, ...] = knob((0, 1), type=int, doc="seeds")
    sleep: float = knob(0.0, type=float, doc="seconds each unit sleeps")
    pid_dir: str = knob("", type=str, doc="folder where each unit writes its process id")
    PROFILES: ClassVar[dict[str, dict]] = {"quick": {}, "default": {}}


CALLS: list[int] = []


def toy_unit(seed: int, sleep: float, pid_dir: str) -> pd.DataFrame:
    """Records that it ran (in this process: CALLS; in a worker: a file named by its pid), then sleeps."""
    CALLS.append(seed)
    if pid_dir:
        Path(pid_dir, str(os.getpid())).touch()
    time.sleep(sleep)
    return pd.DataFrame({"seed": [seed], "square": [seed * seed]})


def units(spec: ToySpec) -> list:
    return [runner.Unit("inputs-toy", {"seed": s, "sleep": spec.sleep, "pid_dir": spec.pid_dir}, toy_unit)
            for s in spec.seeds]


@pytest.fixture
def toy_sweep(monkeypatch):
    monkeypatch.setitem(SWEEPS, "inputs-toy", SweepEntry("inputs-toy", __name__, "a toy sweep"))
    CALLS.clear()


def timed(fn, *args, **kwargs):
    """(the exception `fn` raised, seconds it took); fails the test if it raised nothing."""
    start = time.monotonic()
    try:
        fn(*args, **kwargs)
    except BaseException as err:  # noqa: BLE001 - SystemExit from argparse included
        return err, time.monotonic() - start
    pytest.fail(f"{fn.__name__}{args} raised nothing")


# --- scheduler addresses -----------------------------------------------------------------------------------------


@pytest.fixture
def server():
    """Start a TCP server on 127.0.0.1 whose handler `serve(conn)` is given; yields its tcp:// address."""
    sockets, threads = [], []

    def start(serve):
        lsock = socket.socket()
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(8)
        lsock.settimeout(0.2)
        stop = threading.Event()

        def loop():
            while not stop.is_set():
                try:
                    conn, _ = lsock.accept()
                except (TimeoutError, OSError):
                    continue
                with conn:
                    serve(conn, stop)

        t = threading.Thread(target=loop, daemon=True)
        t.start()
        sockets.append((lsock, stop))
        threads.append(t)
        return f"tcp://127.0.0.1:{lsock.getsockname()[1]}"

    yield start
    for _, stop in sockets:
        stop.set()
    for t in threads:
        t.join(5)
    for lsock, _ in sockets:
        lsock.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def assert_clear(err: BaseException, seconds: float, address: str, *words: str) -> str:
    assert isinstance(err, runner.SchedulerError), f"{type(err).__name__}: {err}"
    msg = str(err)
    assert seconds < LIMIT, f"{seconds:.1f} s before the error"
    assert address in msg and "--scheduler" in msg and "NTKBOOK_SCHEDULER" in msg and "dask scheduler" in msg, msg
    for word in words:
        assert word in msg, msg
    return msg


def test_nothing_listening_is_a_clear_error_at_once():
    address = f"tcp://127.0.0.1:{free_port()}"
    err, seconds = timed(runner.check_scheduler, address)
    assert_clear(err, seconds, address, "nothing answers")
    err, seconds = timed(runner.check_scheduler, "tcp://127.0.0.1:1")
    assert_clear(err, seconds, "tcp://127.0.0.1:1", "nothing answers")


def test_unresolvable_host(monkeypatch):
    def unknown(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", unknown)
    address = "tcp://no-such-host.invalid:8786"
    err, seconds = timed(runner.check_scheduler, address)
    assert_clear(err, seconds, address, "unknown host 'no-such-host.invalid'")


def test_a_name_lookup_that_hangs_is_cut_off(monkeypatch):
    real = socket.getaddrinfo
    release = threading.Event()

    def hang(*args, **kwargs):
        release.wait(60)  # a resolver that takes minutes
        return real(*args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", hang)
    address = "tcp://slow-resolver.invalid:8786"
    try:
        err, seconds = timed(runner.check_scheduler, address)
    finally:
        release.set()
    assert_clear(err, seconds, address, "did not resolve")
    assert seconds < runner.RESOLVE_SECONDS + 1


def test_an_http_port_is_not_a_scheduler():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    address = f"tcp://127.0.0.1:{httpd.server_address[1]}"
    try:
        err, seconds = timed(runner.check_scheduler, address)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert_clear(err, seconds, address, "does not speak Dask", "HTTP")


@pytest.mark.parametrize("reply", [
    b"\xff" * 64,  # a forged length of 2**64 - 1 bytes: Dask itself would try to allocate it
    (40).to_bytes(8, "little") + b"\x01" + b"\x00" * 7 + (32).to_bytes(8, "little") + b"\xc1" * 32,  # not msgpack
    b"SSH-2.0-OpenSSH_9.6\r\n",
    b"",  # closes at once
], ids=["huge-length", "garbage-body", "ssh-banner", "closes"])
def test_a_server_that_sends_garbage_is_not_a_scheduler(server, reply):
    def serve(conn, stop):
        conn.sendall(reply)
        if reply:
            stop.wait(5)  # keep the connection open, as a real service would

    address = server(serve)
    err, seconds = timed(runner.check_scheduler, address)
    assert_clear(err, seconds, address, "does not speak Dask")
    assert "EiB" not in str(err)


def test_a_silent_server_is_cut_off_after_the_handshake_time(server):
    address = server(lambda conn, stop: stop.wait(8))
    err, seconds = timed(runner.check_scheduler, address)
    assert_clear(err, seconds, address, "no Dask handshake")
    assert seconds < runner.CONNECT_SECONDS + runner.HANDSHAKE_SECONDS + 1


def test_a_real_scheduler_passes_the_probe():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=0, processes=False, host="127.0.0.1", protocol="tcp://",
                                  dashboard_address=None) as cluster:
        assert runner.check_scheduler(cluster.scheduler_address) == ("dask", cluster.scheduler_address)


def test_bad_port_forms_are_refused():
    for address in ("tcp://127.0.0.1", "tcp://127.0.0.1:0", "tcp://127.0.0.1:99999", "tcp://:8786"):
        with pytest.raises(runner.SchedulerError, match="port from 1 to 65535"):
            runner.check_scheduler(address)


def test_run_on_a_bad_address_fails_before_any_unit(tmp_path, server, toy_sweep):
    address = server(lambda conn, stop: conn.sendall(b"\xff" * 64))
    spec = ToySpec.resolve("default")
    err, seconds = timed(runner.run, units(spec), scheduler=address, cache_dir=tmp_path)
    assert_clear(err, seconds, address, "does not speak Dask")
    assert CALLS == []


def test_cli_bad_scheduler_is_a_usage_error_in_seconds(tmp_path, capsys, toy_sweep):
    address = f"tcp://127.0.0.1:{free_port()}"
    err, seconds = timed(main, ["sweep", "inputs-toy", "--scheduler", address, "--cache-dir", os.fspath(tmp_path)])
    assert isinstance(err, SystemExit) and err.code == 2 and seconds < LIMIT
    message = capsys.readouterr().err
    assert "Traceback" not in message and address in message and "dask scheduler" in message
    assert CALLS == []


# --- the cache folder ------------------------------------------------------------------------------------------


def unwritable_folder(tmp_path: Path) -> Path:
    """A folder this process cannot create files in: a read-only tmp folder, or (as root, who may write
    anywhere permissions allow) a read-only file system such as /sys."""
    if os.geteuid() != 0:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
        return folder
    for candidate in (Path("/sys"), Path("/proc/sys")):
        try:
            (candidate / "results").mkdir()
        except OSError:
            return candidate
        (candidate / "results").rmdir()
    pytest.skip("running as root and no read-only file system to point NTKBOOK_CACHE at")


@pytest.mark.parametrize("where", ["file", "read-only"])
def test_unwritable_cache_fails_before_any_unit_computes(tmp_path, monkeypatch, toy_sweep, where):
    if where == "file":
        target = tmp_path / "a-file"
        target.write_text("not a folder")
    else:
        target = unwritable_folder(tmp_path)
    monkeypatch.setenv("NTKBOOK_CACHE", os.fspath(target))
    with pytest.raises(cache.CacheWriteError) as err:
        runner.run(units(ToySpec.resolve("default")))
    assert "NTKBOOK_CACHE" in str(err.value) and os.fspath(target) in str(err.value)
    assert CALLS == [], "a unit computed before the cache folder was checked"


def test_cli_unwritable_cache_is_a_usage_error_before_computing(tmp_path, monkeypatch, capsys, toy_sweep):
    target = tmp_path / "a-file"
    target.write_text("not a folder")
    monkeypatch.setenv("NTKBOOK_CACHE", os.fspath(target))
    err, seconds = timed(main, ["sweep", "inputs-toy"])
    assert isinstance(err, SystemExit) and err.code == 2
    message = capsys.readouterr().err
    assert "NTKBOOK_CACHE" in message and "Traceback" not in message
    assert CALLS == []


def load_in_thread(*args, **kwargs):
    """cache.load in a daemon thread, bounded: (returned value, warnings) or a failure if it blocks."""
    box = {}

    def target():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            box["value"] = cache.load(*args, **kwargs)
            box["warnings"] = [str(w.message) for w in caught if issubclass(w.category, cache.CacheEntryWarning)]

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(LIMIT)
    if t.is_alive():
        pytest.fail(f"cache.load blocked for more than {LIMIT} s")
    return box["value"], box["warnings"]


PARAMS = {"seed": 1}


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_named_like_a_manifest_is_refused_without_blocking(tmp_path):
    manifest, _ = cache.entry_paths("fifo-kind", PARAMS, tmp_path)
    os.mkfifo(manifest)
    value, caught = load_in_thread("fifo-kind", PARAMS, cache_dir=tmp_path)
    assert value is None and any("not a regular file" in w for w in caught), caught


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_in_place_of_the_table_is_refused_without_blocking(tmp_path):
    cache.store("fifo-kind", PARAMS, pd.DataFrame({"x": [1.0]}), cache_dir=tmp_path)
    (table,) = tmp_path.glob("fifo-kind-*.parquet")
    table.unlink()
    os.mkfifo(table)
    value, caught = load_in_thread("fifo-kind", PARAMS, cache_dir=tmp_path)
    assert value is None and any("not a regular file" in w for w in caught), caught


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_a_device_linked_as_a_manifest_is_refused(tmp_path):
    manifest, _ = cache.entry_paths("dev-kind", PARAMS, tmp_path)
    manifest.symlink_to("/dev/zero")
    value, caught = load_in_thread("dev-kind", PARAMS, cache_dir=tmp_path)
    assert value is None and any("not a regular file" in w for w in caught), caught


# --- worker processes end with their parent ----------------------------------------------------------------------

CLI_WITH_TOY = """
import sys
from ntkbook.sweeps import SWEEPS, SweepEntry
SWEEPS["inputs-toy"] = SweepEntry("inputs-toy", "test_inputs", "a toy sweep")
from ntkbook.__main__ import main
sys.exit(main(sys.argv[1:]))
"""


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, dead but not yet reaped by whoever inherited it, counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_pool_workers_end_with_a_killed_cli(tmp_path, sig):
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), str(TESTS)]), "NTKBOOK_PROGRESS": "0",
           "NTKBOOK_CACHE": os.fspath(tmp_path / "cache")}
    cli = subprocess.Popen(
        [sys.executable, "-c", CLI_WITH_TOY, "sweep", "inputs-toy", "--scheduler", "processes:2",
         "--set", "sleep=120", "--set", f"pid_dir={pid_dir}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 240  # two spawned workers import the test module (pandas, ntkbook)
        while len(workers) < 2 and time.monotonic() < deadline and cli.poll() is None:
            time.sleep(0.5)
            workers = [int(p.name) for p in pid_dir.iterdir()]
        assert len(workers) == 2, f"workers did not start: {cli.stderr.read().decode()[-2000:] if cli.poll() else ''}"
        assert all(alive(pid) for pid in workers)
        cli.send_signal(sig)
        cli.wait(30)
        deadline = time.monotonic() + LIMIT
        while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [pid for pid in workers if alive(pid)], f"orphan workers after {sig.name} of the parent"
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait(30)
        for pid in workers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


# --- data: NTKBOOK_DATA, names, parsed-array caches, file shapes, CIFAR pickles ------------------------------------

from test_data import FakeDownloader, cifar_batch, idx_bytes, tiny_mnist, write_folder, write_mnist  # noqa: E402

from ntkbook import _data_formats as fmt  # noqa: E402
from ntkbook import data  # noqa: E402


@pytest.fixture
def data_env(tmp_path, monkeypatch):
    """A fresh cache and no data folder; any download attempt is recorded and fails like a machine offline."""
    monkeypatch.delenv("NTKBOOK_DATA", raising=False)
    monkeypatch.setenv("NTKBOOK_CACHE", os.fspath(tmp_path / "cache"))
    monkeypatch.setenv("NTKBOOK_PROGRESS", "0")
    monkeypatch.setattr(data, "_FAILED_DOWNLOADS", {}, raising=False)
    offline = FakeDownloader({}, fail_hosts=("http",))
    monkeypatch.setattr(data, "_make_downloader", lambda: offline)
    return offline


def mnist_unit(seed: int) -> pd.DataFrame:
    """A sweep unit that needs MNIST, as the chapters' units do."""
    s = data.train_test_split("mnist", 4, 4, seed=seed, allow_split_from_test=True)
    return pd.DataFrame({"seed": [seed], "n": [len(s.y_train)]})


def test_an_empty_data_folder_fails_at_once_naming_it_without_downloading(tmp_path, monkeypatch, data_env):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("NTKBOOK_DATA", os.fspath(empty))
    for name in ("mnist", "cifar10"):
        err, seconds = timed(data.load, name, "test")
        assert isinstance(err, FileNotFoundError) and seconds < 1
        msg = str(err)
        assert f"NTKBOOK_DATA={empty}" in msg and f"{empty / name}/" in msg and data.OFFLINE_LAYOUT in msg, msg
        assert "download=True" in msg
    assert data_env.calls == [], "a download was attempted although a data folder is set"
    # a sweep of 10 units fails unit by unit at once, with no download
    sweep = [runner.Unit("inputs-mnist", {"seed": s}, mnist_unit) for s in range(10)]
    start = time.monotonic()
    result = runner.run(sweep, cache_dir=tmp_path / "results", allow_failures=True)
    assert len(result.failed) == 10 and time.monotonic() - start < LIMIT
    assert all("NTKBOOK_DATA" in e for e in result.failed.values())
    assert data_env.calls == []


def test_a_failed_download_is_not_retried_by_every_unit(tmp_path, data_env):
    sweep = [runner.Unit("inputs-mnist", {"seed": s}, mnist_unit) for s in range(10)]
    result = runner.run(sweep, cache_dir=tmp_path / "results", allow_failures=True)
    assert len(result.failed) == 10
    # one file, tried once on each mirror; the nine other units get the remembered error at once
    assert len(data_env.calls) == len(data.MNIST_MIRRORS), data_env.calls
    assert all("NTKBOOK_DATA" in e for e in result.failed.values())
    assert sum("not retried" in e for e in result.failed.values()) == 9


def test_download_with_a_data_folder_only_when_asked(tmp_path, data_env):
    (tmp_path / "data").mkdir()
    with pytest.raises(ConnectionError, match="could not download"):  # asked for: tried (and fails offline)
        data.load("mnist", "test", data_dir=tmp_path / "data", download=True)
    assert len(data_env.calls) == len(data.MNIST_MIRRORS)


@pytest.mark.parametrize("bad", ["../x", "x/../../y", "/abs/x", "a/b", "a\\b", "..", ".hidden", "x\0y", "~/x"])
def test_data_set_names_are_names_not_paths(tmp_path, data_env, bad):
    root = tmp_path / "data"
    write_folder(tmp_path / "x" / "test", ["a", "b"], per_class=2)  # a folder beside the data folder
    write_folder(root / "toy" / "test", ["a", "b"], per_class=2)
    with pytest.raises(ValueError, match="not a name") as err:
        data.load(bad, "test", data_dir=root)
    assert "NTKBOOK_DATA" in str(err.value)
    with pytest.raises(ValueError, match="not a name"):
        data.load("toy", bad, data_dir=root)
    assert not [p for p in tmp_path.rglob("*.npz")], "a parsed-array cache was written"


def test_own_data_set_arrays_land_inside_the_cache_only(tmp_path, data_env):
    root = tmp_path / "data"
    write_folder(root / "toy" / "test", ["a", "b"], per_class=2)
    assert len(data.load("toy", "test", data_dir=root)) == 4
    npz = list(tmp_path.rglob("*.npz"))
    assert len(npz) == 1 and npz[0].parent == tmp_path / "cache" / "arrays"


def rewrite_npz(path: Path, *, digest: str | None = None, **arrays) -> None:
    """Replace arrays in a parsed-array cache file, keeping its stored digest unless `digest` is given."""
    with np.load(path) as z:
        content = {k: z[k] for k in z.files}
    content.update(arrays)
    if digest is not None:
        content["sha256"] = np.array(digest)
    with open(path, "wb") as f:
        np.savez(f, **content)


def tampered(path: Path, labels: np.ndarray, recompute: bool, images: np.ndarray | None = None) -> None:
    with np.load(path) as z:
        images = z["images"] if images is None else images
        classes = tuple(str(c) for c in z["classes"])
    digest = data._arrays_digest(path.name, images, labels, classes) if recompute else None
    rewrite_npz(path, digest=digest, images=images, labels=labels)


def load_warns(*args, **kwargs):
    with pytest.warns(UserWarning, match="ignoring the array cache"):
        return data.load(*args, **kwargs)



@pytest.mark.parametrize("recompute", [False, True], ids=["old-digest", "forged-digest"])
def test_tampered_mnist_array_cache_is_refused(tmp_path, data_env, recompute):
    images, labels = tiny_mnist(20)
    write_mnist(tmp_path / "data" / "mnist", "test", images, labels)
    first = data.load("mnist", "test", data_dir=tmp_path / "data")
    (npz,) = (tmp_path / "cache" / "arrays").glob("mnist-test-*.npz")
    tampered(npz, np.roll(first.labels, 1), recompute)  # permuted labels
    np.testing.assert_array_equal(load_warns("mnist", "test", data_dir=tmp_path / "data").labels, labels)
    tampered(npz, first.labels[:10], recompute)  # 10 labels for 20 images
    np.testing.assert_array_equal(load_warns("mnist", "test", data_dir=tmp_path / "data").labels, labels)
    tampered(npz, first.labels, recompute, images=np.zeros((20, 14, 56), np.uint8))  # not 28x28
    np.testing.assert_array_equal(load_warns("mnist", "test", data_dir=tmp_path / "data").labels, labels)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # rewritten: the next load reads the cache silently
        np.testing.assert_array_equal(data.load("mnist", "test", data_dir=tmp_path / "data").labels, labels)


def test_tampered_image_folder_cache_is_refused_even_with_a_forged_digest(tmp_path, data_env):
    root = tmp_path / "data"
    write_folder(root / "toy" / "test", ["a", "b", "c"], per_class=3)
    first = data.load("toy", "test", data_dir=root)
    (npz,) = (tmp_path / "cache" / "arrays").glob("toy-test-*.npz")
    tampered(npz, first.labels[::-1].copy(), recompute=True)
    np.testing.assert_array_equal(load_warns("toy", "test", data_dir=root).labels, first.labels)


def test_tampered_cifar_cache_is_refused(tmp_path, data_env):
    folder = tmp_path / "data" / "cifar10" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    batch = cifar_batch(12, seed=1)
    (folder / "test_batch").write_bytes(pickle.dumps(batch, protocol=2))
    first = data.load("cifar10", "test", data_dir=tmp_path / "data")
    (npz,) = (tmp_path / "cache" / "arrays").glob("cifar10-test-*.npz")
    tampered(npz, np.roll(first.labels, 1), recompute=False)
    np.testing.assert_array_equal(load_warns("cifar10", "test", data_dir=tmp_path / "data").labels, batch[b"labels"])
    tampered(npz, first.labels[:3], recompute=True)
    np.testing.assert_array_equal(load_warns("cifar10", "test", data_dir=tmp_path / "data").labels, batch[b"labels"])


def test_a_fifo_named_like_an_array_cache_is_not_opened(tmp_path, data_env):
    images, labels = tiny_mnist(6)
    write_mnist(tmp_path / "data" / "mnist", "test", images, labels)
    data.load("mnist", "test", data_dir=tmp_path / "data")
    (npz,) = (tmp_path / "cache" / "arrays").glob("mnist-test-*.npz")
    npz.unlink()
    os.mkfifo(npz)
    box = {}
    t = threading.Thread(target=lambda: box.update(ds=data.load("mnist", "test", data_dir=tmp_path / "data")),
                         daemon=True)
    t.start()
    t.join(LIMIT)
    assert not t.is_alive(), "data.load blocked on a FIFO"
    np.testing.assert_array_equal(box["ds"].labels, labels)


def test_an_idx_file_of_other_images_is_not_mnist(tmp_path, data_env):
    folder = tmp_path / "data" / "mnist"
    write_mnist(folder, "test", np.zeros((5, 14, 56), np.uint8), np.arange(5, dtype=np.uint8))
    with pytest.raises(ValueError, match=r"\(N, 28, 28\)") as err:
        data.load("mnist", "test", data_dir=tmp_path / "data")
    assert "(5, 14, 56)" in str(err.value) and "NTKBOOK_DATA" in str(err.value)
    assert idx_bytes  # the same writer the parser tests use


def test_an_mnist_image_folder_of_other_sizes_is_refused(tmp_path, data_env):
    write_folder(tmp_path / "data" / "mnist" / "test", [str(i) for i in range(10)], per_class=1, shape=(14, 56))
    with pytest.raises(ValueError, match=r"MNIST images are 28x28"):
        data.load("mnist", "test", data_dir=tmp_path / "data")


@pytest.mark.parametrize("protocol", [0, 1, 2])
def test_cifar_batches_pickled_with_old_protocols_load(tmp_path, data_env, protocol):
    folder = tmp_path / "data" / "cifar10" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    batch = {**cifar_batch(6, seed=protocol), b"filenames": [b"a.png", b""]}  # b"": written as bytes()
    (folder / "test_batch").write_bytes(pickle.dumps(batch, protocol=protocol))
    ds = data.load("cifar10", "test", data_dir=tmp_path / "data")
    np.testing.assert_array_equal(ds.labels, batch[b"labels"])
    expected = batch[b"data"].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    np.testing.assert_array_equal(np.rint(ds.images * 255).astype(np.uint8), expected)


class CallsSystem:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("protocol", [0, 1, 2])
def test_code_running_pickles_with_old_protocols_stay_refused(tmp_path, protocol):
    marker = tmp_path / "ran"
    blob = pickle.dumps({b"data": CallsSystem(marker), b"labels": [0]}, protocol=protocol)
    with pytest.raises(fmt.UnsafeFileError, match="posix.system|os.system|nt.system"):
        fmt.restricted_unpickle(blob, "batch")
    assert not marker.exists()


def test_codecs_encode_is_admitted_only_as_latin1_bytes():
    import codecs

    class Rot13:
        def __reduce__(self):
            return (codecs.encode, ("abc", "rot13"))

    class NotText:
        def __reduce__(self):
            return (codecs.encode, (b"abc", "latin1"))

    class BytesWithArgs:
        def __reduce__(self):
            return (bytes, (10**6,))

    for bad in (Rot13(), NotText(), BytesWithArgs()):
        blob = pickle.dumps({b"x": bad}, protocol=2)
        with pytest.raises(fmt.UnsafeFileError):
            fmt.restricted_unpickle(blob, "batch")


# --- JupyterLab: a failing cell ends Run All at once ----------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.slow
def test_jupyterlab_run_all_returns_the_failing_cells_error_at_once(tmp_path):
    """The lab stops Run All at a failing cell; the helper must return its error then, not wait for the cells the
    lab will never run (before, an offline chapter waited for the whole 15-minute timeout with an idle kernel)."""
    import nbformat
    from browser import bookcheck, jupyterlab

    chromium = os.environ.get("NTKBOOK_CHROMIUM", bookcheck.CHROMIUM)
    if not Path(chromium).is_file():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Chromium not found at {chromium}")
        pytest.skip(f"Chromium not found at {chromium}")
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("raise FileNotFoundError('no mnist here: set NTKBOOK_DATA')",
                                  metadata={"tags": ["remove-cell"]}),  # as the chapters' plumbing cells are
        nbformat.v4.new_code_cell("y = 2"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "fails.ipynb")
    with jupyterlab.running_lab(tmp_path, log=tmp_path / "lab.log") as url, sync_playwright() as p:
        browser = bookcheck.launch_browser(p, chromium)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            jupyterlab.open_notebook(page, url, "fails.ipynb")
            start = time.monotonic()
            with pytest.raises(jupyterlab.CellFailed) as failed:
                jupyterlab.run_all(page, timeout_ms=120_000)
            seconds = time.monotonic() - start
        finally:
            browser.close()
    message = str(failed.value)
    assert "FileNotFoundError" in message and "no mnist here: set NTKBOOK_DATA" in message, message
    assert seconds < 30, f"Run All took {seconds:.0f} s to report the failing cell"
