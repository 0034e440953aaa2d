"""Data files are treated as hostile: no code in a CIFAR-10 batch runs, no allocation follows a forged size, only
PNG/JPEG images are opened, and every failure is a ValueError naming the file."""

import gzip
import io
import os
import pickle
import struct
import subprocess
import tarfile
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import ntkbook  # noqa: F401  (quiet TensorFlow first)
from ntkbook import _data_formats as fmt
from ntkbook import data

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    monkeypatch.delenv("NTKBOOK_DATA", raising=False)
    monkeypatch.setenv("NTKBOOK_CACHE", str(tmp_path / "cache"))


# -- pickles as the canonical CIFAR-10 files write them ---------------------------------------------------------


def _short(b: bytes) -> bytes:
    return b"U" + bytes([len(b)]) + b


def py2_batch_pickle(images: np.ndarray, labels: list[int], module: bytes = b"numpy.core.multiarray") -> bytes:
    """A protocol-2 pickle laid out as Python 2's cPickle wrote cifar-10-batches-py/* (str as SHORT_BINSTRING and
    BINSTRING, the array as _reconstruct(ndarray, (0,), 'b') + BUILD state, the dtype as dtype('u1', 0, 1) + BUILD)."""
    n, d = images.shape
    raw = images.astype(np.uint8).tobytes()
    array = (
        b"c" + module + b"\n_reconstruct\n" + b"cnumpy\nndarray\n" + b"K\x00\x85" + _short(b"b") + b"\x87R"
        + b"(K\x01" + b"J" + struct.pack("<i", n) + b"J" + struct.pack("<i", d) + b"\x86"
        + b"cnumpy\ndtype\n" + _short(b"u1") + b"K\x00K\x01\x87R"
        + b"(K\x03" + _short(b"|") + b"NNN" + b"J\xff\xff\xff\xff" * 2 + b"K\x00tb"
        + b"\x89" + b"T" + struct.pack("<I", len(raw)) + raw + b"tb"
    )
    label_list = b"](" + b"".join(b"K" + bytes([v]) for v in labels) + b"e"
    return (
        b"\x80\x02}(" + _short(b"batch_label") + _short(b"testing batch 1 of 1")
        + _short(b"labels") + label_list + _short(b"data") + array
        + _short(b"filenames") + b"](" + b"".join(_short(f"img{i}.png".encode()) for i in range(n)) + b"e"
        + b"u."
    )


def _batch(n=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, 3072), dtype=np.uint8), [int(v) for v in rng.integers(0, 10, size=n)]


@pytest.mark.parametrize("module", [b"numpy.core.multiarray", b"numpy._core.multiarray"])
def test_canonical_python2_batch_decodes_like_pickle(tmp_path, module):
    images, labels = _batch()
    blob = py2_batch_pickle(images, labels, module)
    reference = pickle.loads(blob, encoding="bytes")  # our own bytes: safe to compare against the real unpickler
    ours = fmt.restricted_unpickle(blob, "test")
    assert ours.keys() == reference.keys()
    np.testing.assert_array_equal(ours[b"data"], reference[b"data"])
    assert ours[b"data"].dtype == np.uint8 and ours[b"labels"] == labels
    assert ours[b"filenames"] == reference[b"filenames"] and ours[b"batch_label"] == b"testing batch 1 of 1"
    path = tmp_path / "test_batch"
    path.write_bytes(blob)
    got_images, got_labels = fmt.read_cifar_batch(path)
    np.testing.assert_array_equal(got_images, images.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(got_labels, labels)


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_python3_repickles_of_numpy_arrays_decode(protocol):
    images, labels = _batch(seed=protocol)
    blob = pickle.dumps({b"data": images, b"labels": labels}, protocol=protocol)
    # Python 3 writes bytes at protocol 2 as _codecs.encode(text, 'latin1'): rebuilt by our code, not called
    got = fmt.restricted_unpickle(blob, "batch")
    np.testing.assert_array_equal(got[b"data"], images)
    assert got[b"labels"] == labels


def test_fortran_and_other_numeric_arrays_round_trip():
    for arr in (np.asfortranarray(np.arange(12, dtype=np.int64).reshape(3, 4)), np.linspace(0, 1, 5),
                np.zeros((0, 3), np.uint8), np.array([True, False])):
        got = fmt.restricted_unpickle(pickle.dumps({b"a": arr}, protocol=4), "x")[b"a"]
        np.testing.assert_array_equal(got, arr)
        assert got.dtype == arr.dtype


# -- hostile batches ---------------------------------------------------------------------------------------------


class WritesMarker:
    """Unpickling this calls os.system, which would create the marker file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class TouchesMarker:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _hostile_batches(marker: Path):
    images, labels = _batch(2)
    yield "os.system (protocol 2)", pickle.dumps({b"data": WritesMarker(marker), b"labels": labels}, protocol=2)
    yield "os.system (protocol 4)", pickle.dumps({b"labels": labels, b"data": WritesMarker(marker)}, protocol=4)
    yield "pathlib (protocol 5)", pickle.dumps({b"data": images, b"labels": TouchesMarker(marker)}, protocol=5)
    # os.system named with GLOBAL in an otherwise canonical Python 2 batch, called as the dtype
    canonical = py2_batch_pickle(images, labels)
    yield "GLOBAL in a canonical batch", canonical.replace(
        b"cnumpy\ndtype\n" + _short(b"u1") + b"K\x00K\x01\x87R",
        b"cposix\nsystem\n" + _short(f"touch {marker}".encode()) + b"\x85R",
    )


def _check_refused(excinfo, where, marker):
    message = str(excinfo.value)
    assert where in message and "refused to load" in message and "nothing in it was executed" in message
    assert not marker.exists()


@pytest.mark.parametrize("which", range(4))
def test_hostile_batch_file_is_refused_and_runs_nothing(tmp_path, which):
    marker = tmp_path / "marker"
    label, blob = list(_hostile_batches(marker))[which]
    path = tmp_path / "test_batch"
    path.write_bytes(blob)
    with pytest.raises(fmt.UnsafeFileError) as excinfo:
        fmt.read_cifar_batch(path)
    _check_refused(excinfo, str(path), marker)
    # the same through data.load on an offline folder (flat layout and cifar-10-batches-py/)
    for sub in ("cifar10", "cifar10/cifar-10-batches-py"):
        folder = tmp_path / f"root-{sub.count('/')}" / sub
        folder.mkdir(parents=True)
        (folder / "test_batch").write_bytes(blob)
        with pytest.raises(ValueError) as excinfo:
            data.load("cifar10", "test", data_dir=folder.parents[sub.count("/")])
        _check_refused(excinfo, str(folder / "test_batch"), marker)


@pytest.mark.parametrize("which", range(4))
def test_hostile_batch_in_the_tarball_is_refused_and_runs_nothing(tmp_path, which):
    marker = tmp_path / "marker"
    _, blob = list(_hostile_batches(marker))[which]
    root = tmp_path / "cifar10"
    root.mkdir()
    tar_path = root / "cifar-10-python.tar.gz"
    with tarfile.open(tar_path, "w:gz") as tar:
        info = tarfile.TarInfo("cifar-10-batches-py/test_batch")
        info.size = len(blob)
        tar.addfile(info, io.BytesIO(blob))
    with pytest.raises(fmt.UnsafeFileError) as excinfo:
        data.load("cifar10", "test", data_dir=tmp_path)
    _check_refused(excinfo, f"{tar_path}:test_batch", marker)


@pytest.mark.parametrize(
    ("blob", "match"),
    [
        (b"cbuiltins\neval\n(S'1'\ntR.", "builtins.eval"),
        (b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins\x8c\x04exec\x93.", "builtins.exec"),
        (b"cnumpy\nload\n.", "numpy.load"),
        (b"csubprocess\nPopen\n.", "subprocess.Popen"),
        (b"\x80\x02cnumpy\nndarray\nK\x05\x85R.", "calls numpy.ndarray directly"),
        (b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nJ\x00\xca\x9a;\x85U\x01b\x87R.",
         "shape"),  # _reconstruct(ndarray, (10**9,), 'b'): would allocate before any check
        (b"\x80\x02cnumpy\ndtype\nU\x02O8K\x00K\x01\x87R.", "not a plain numeric dtype"),
        (b"\x80\x02(U\x01xP0\n.", "persistent id|PERSID"),
        (b"\x80\x02\x82\x01.", "EXT1"),
    ],
)
def test_anything_but_numeric_arrays_is_refused(blob, match):
    with pytest.raises(fmt.UnsafeFileError, match=match):
        fmt.restricted_unpickle(blob, "hostile.pkl")


def test_array_state_must_match_its_bytes():
    images, labels = _batch(2)
    blob = py2_batch_pickle(images, labels)
    n = struct.pack("<i", 2)
    forged = blob.replace(b"J" + n + b"J" + struct.pack("<i", 3072), b"J" + struct.pack("<i", 10**6) + b"J"
                          + struct.pack("<i", 3072), 1)
    with pytest.raises(fmt.UnsafeFileError, match=r"shape \(1000000, 3072\) uint8 with 6144 bytes"):
        fmt.restricted_unpickle(forged, "forged")


def _peak_bytes(fn):
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_forged_pickle_lengths_allocate_nothing_large(tmp_path):
    # BINBYTES8 declaring 2**40 bytes, BINUNICODE declaring 4 GB, BINSTRING declaring 2 GB, each with 3 bytes
    for blob in (b"\x80\x04\x8e" + struct.pack("<Q", 2**40) + b"abc.", b"\x80\x02X" + b"\xff\xff\xff\xff" + b"abc.",
                 b"\x80\x02T" + struct.pack("<I", 2**31 - 1) + b"abc."):
        path = tmp_path / "test_batch"
        path.write_bytes(blob)

        def read(path=path):
            with pytest.raises(ValueError, match="not a readable CIFAR-10 python batch"):
                fmt.read_cifar_batch(path)

        assert _peak_bytes(read) < 2**20


def test_oversized_batch_and_tar_member_are_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(fmt, "MAX_BATCH_BYTES", 1000)
    path = tmp_path / "test_batch"
    path.write_bytes(b"\x80\x02" + b"N" * 2000 + b".")
    with pytest.raises(ValueError, match="more than any CIFAR-10 batch"):
        fmt.read_cifar_batch(path)
    tar_path = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(tar_path, "w:gz") as tar:
        info = tarfile.TarInfo("cifar-10-batches-py/test_batch")
        info.size = 2000
        tar.addfile(info, io.BytesIO(b"\0" * 2000))
    with pytest.raises(ValueError, match="declares 2000 bytes"):
        fmt.read_cifar_tarball(tar_path, ["test_batch"])


def test_corrupt_tarballs_give_clear_errors(tmp_path):
    images, labels = _batch(2)
    blob = py2_batch_pickle(images, labels)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("cifar-10-batches-py/test_batch")
        info.size = len(blob)
        tar.addfile(info, io.BytesIO(blob))
    whole = buf.getvalue()
    path = tmp_path / "cifar-10-python.tar.gz"
    for broken in (whole[: len(whole) // 2], whole[:10], whole[:-30] + b"\0" * 30, b"\x1f\x8b" + b"\xff" * 50):
        path.write_bytes(broken)
        with pytest.raises(ValueError, match=str(path)):
            fmt.read_cifar_tarball(path, ["test_batch"])


# -- IDX ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True])
def test_forged_idx_dimensions_allocate_nothing_large(tmp_path, gz):
    # (2**32-1)**3 uint8: the product overflows int64 (np.prod would wrap); a 4 GB single dimension; 2**64 bytes
    for dims in ([2**32 - 1] * 3, [2**32 - 1], [0xFFFFFFFF, 0xFFFFFFFF]):
        header = bytes([0, 0, 8, len(dims)]) + np.array(dims, dtype=">u4").tobytes()
        blob = header + b"\0" * 64
        path = tmp_path / "images-idx3-ubyte"
        path.write_bytes(gzip.compress(blob) if gz else blob)

        def read(path=path):
            with pytest.raises(ValueError, match="truncated or forged|which no array can have"):
                fmt.read_idx(path)

        assert _peak_bytes(read) < 2**20


def test_idx_header_product_does_not_wrap_around(tmp_path):
    # 2**16 * 2**16 * (2**32 - 1) overflows int64 (np.prod wraps around): a header-only file must not pass
    header = bytes([0, 0, 8, 3]) + np.array([2**16, 2**16, 2**32 - 1], dtype=">u4").tobytes()
    (tmp_path / "x").write_bytes(header)
    with pytest.raises(ValueError, match="truncated or forged|which no array can have"):
        fmt.read_idx(tmp_path / "x")


def test_idx_shape_with_a_zero_and_huge_dimensions_is_refused(tmp_path):
    # found by the fuzz test: 0 * huge == 0 bytes, but no array can have that shape
    header = bytes([0, 0, 8, 5]) + np.array([0, 1340, 1340, 24163, 212583365], dtype=">u4").tobytes()
    (tmp_path / "x").write_bytes(header)
    with pytest.raises(ValueError, match=r"x declares shape .* which no array can have"):
        fmt.read_idx(tmp_path / "x")
    ok = bytes([0, 0, 8, 2]) + np.array([0, 5], dtype=">u4").tobytes()
    (tmp_path / "y").write_bytes(ok)
    assert fmt.read_idx(tmp_path / "y").shape == (0, 5)


def test_corrupt_gzip_stream_in_idx_gives_clear_error(tmp_path):
    blob = gzip.compress(bytes([0, 0, 8, 1]) + np.array([1000], dtype=">u4").tobytes() + bytes(1000))
    broken = blob[:12] + bytes(b ^ 0x5A for b in blob[12:-8]) + blob[-8:]
    (tmp_path / "x.gz").write_bytes(broken)
    with pytest.raises(ValueError, match=r"x.gz"):
        fmt.read_idx(tmp_path / "x.gz")


# -- images ------------------------------------------------------------------------------------------------------


def _png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header declares width x height RGB pixels, with one tiny IDAT chunk of data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("side", [5_000, 100_000])  # over our cap; over Pillow's own decompression-bomb cap
def test_image_with_huge_declared_size_is_refused_before_decoding(tmp_path, side):
    path = tmp_path / "big.png"
    path.write_bytes(_png_declaring(side, side))

    def read():
        with pytest.raises(ValueError, match=r"big.png declares .*pixels"):
            fmt.read_image(path)

    assert _peak_bytes(read) < 2**22


def test_png_chunk_declaring_a_huge_length_allocates_nothing_large(tmp_path):
    # found by the fuzz test: an 8x8 PNG whose IDAT chunk declares 82 MB; Pillow reads the declared rest in one
    # call, which a file object would pre-allocate
    buf = io.BytesIO()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(buf, format="PNG")
    blob = bytearray(buf.getvalue())
    at = blob.index(b"IDAT") - 4
    blob[at : at + 4] = struct.pack(">I", 82_116_373)
    path = tmp_path / "x.png"
    path.write_bytes(bytes(blob))

    def read():
        try:
            fmt.read_image(path)
        except ValueError as err:
            assert str(path) in str(err)

    assert _peak_bytes(read) < 2**22


@pytest.mark.parametrize("fmt_name", ["GIF", "BMP", "TIFF"])
def test_only_png_and_jpeg_are_opened(tmp_path, fmt_name):
    path = tmp_path / "img.png"
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(path, format=fmt_name)
    with pytest.raises(ValueError, match=r"img.png is not a readable image \(PNG or JPEG"):
        fmt.read_image(path)


def test_eps_named_as_png_never_reaches_ghostscript(tmp_path, monkeypatch):
    path = tmp_path / "img.png"
    path.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n")
    calls = []
    monkeypatch.setattr(subprocess, "check_call", lambda *a, **k: calls.append(a))
    with pytest.raises(ValueError, match="not a readable image"):
        fmt.read_image(path)
    assert calls == []


# -- the only unpickler in the package ---------------------------------------------------------------------------


def test_no_plain_unpickling_in_the_package():
    out = subprocess.run(["git", "grep", "-n", r"pickle.load\|read_pickle", "--", "src/"], cwd=REPO,
                         capture_output=True, text=True, check=False)
    assert out.returncode in (0, 1), out.stderr
    hits = [line for line in out.stdout.splitlines() if line]
    assert all(line.startswith("src/ntkbook/_data_formats.py:") for line in hits), hits
    # and no call anywhere: pickle.load(s), pd.read_pickle, np.load(allow_pickle=True), a foreign Unpickler
    import ast

    calls = []
    for path in sorted((REPO / "src" / "ntkbook").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            pickled = any(k.arg == "allow_pickle" and not (isinstance(k.value, ast.Constant) and k.value.value is False)
                          for k in node.keywords)
            on_pickle = isinstance(node.func, ast.Attribute) and ast.unparse(node.func.value) in ("pickle", "cPickle")
            if name == "read_pickle" or pickled or (on_pickle and name in ("load", "loads")):
                calls.append(f"{path.relative_to(REPO)}:{node.lineno}: {ast.unparse(node)[:80]}")
            if name == "Unpickler" and path.name != "_data_formats.py":
                calls.append(f"{path.relative_to(REPO)}:{node.lineno}: {ast.unparse(node)[:80]}")
    assert calls == []
