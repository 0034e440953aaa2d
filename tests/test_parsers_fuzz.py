"""Property-based fuzzing of the binary data parsers (IDX, CIFAR-10 batches and tarballs, image folders).

Inputs: random bytes, valid files truncated, with bytes flipped or inserted, and headers declaring huge sizes.
Property: a reader either returns arrays consistent with the bytes it was given, or raises ValueError naming the
file; nothing else escapes, no example runs longer than ALARM_S seconds, and no example allocates more than
PEAK_LIMIT bytes (a forged header must not make it allocate what the header declares). Deterministic in CI
(derandomize=True, no example database), a few hundred examples in all.
"""

import contextlib
import gzip
import io
import shutil
import signal
import struct
import tarfile
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import ntkbook  # noqa: F401  (quiet TensorFlow first)
from ntkbook import _data_formats as fmt

ALARM_S = 20  # generous on a loaded 2-core machine; a hang would run far longer
PEAK_LIMIT = 64 * 2**20  # every valid input here decodes to well under 1 MB

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class Hang(Exception):
    pass


@contextlib.contextmanager
def bounded():
    """Fail an example that hangs (SIGALRM) or allocates more than PEAK_LIMIT (tracemalloc sees numpy too)."""

    def on_alarm(signum, frame):
        raise Hang(f"a parser ran longer than {ALARM_S} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(ALARM_S)
    tracemalloc.start()
    try:
        yield
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert peak < PEAK_LIMIT, f"peak allocation {peak} bytes"


def only_clear_errors(read, path):
    """Run `read()`; return its result, or None after a ValueError that names `path`. Anything else fails."""
    with bounded():
        try:
            return read()
        except ValueError as err:
            assert str(path) in str(err), f"error does not name the file: {err}"
            return None


def mutate(data, blob: bytes) -> bytes:
    """A hostile variant of a valid file: truncated, bytes flipped, bytes inserted, or a 4-byte field forged."""
    kind = data.draw(st.sampled_from(["truncate", "flip", "insert", "forge"]))
    if not blob:
        return data.draw(st.binary(max_size=64))
    i = data.draw(st.integers(0, len(blob) - 1))
    if kind == "truncate":
        return blob[:i]
    if kind == "flip":
        n = data.draw(st.integers(1, 8))
        out = bytearray(blob)
        for j in range(i, min(i + n, len(out))):
            out[j] ^= data.draw(st.integers(1, 255))
        return bytes(out)
    if kind == "insert":
        return blob[:i] + data.draw(st.binary(min_size=1, max_size=16)) + blob[i:]
    value = data.draw(st.sampled_from([0, 1, 2**31 - 1, 2**32 - 1, 2**24, 0x7FFFFFFF]))
    return blob[:i] + struct.pack(data.draw(st.sampled_from([">I", "<I"])), value) + blob[i + 4 :]


# -- IDX ---------------------------------------------------------------------------------------------------------


def idx_bytes(arr: np.ndarray) -> bytes:
    return bytes([0, 0, 8, arr.ndim]) + np.array(arr.shape, dtype=">u4").tobytes() + arr.tobytes()


VALID_IDX = idx_bytes(np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5))


@FUZZ
@given(data=st.data(), gz=st.booleans(), source=st.sampled_from(["random", "mutated", "header"]))
def test_idx_reader_only_raises_clear_errors(tmp_path, data, gz, source):
    if source == "random":
        blob = data.draw(st.binary(max_size=256))
    elif source == "mutated":
        blob = mutate(data, VALID_IDX)
    else:  # a well-formed header declaring arbitrary (often huge) dimensions over a little data
        dims = data.draw(st.lists(st.integers(0, 2**32 - 1), min_size=0, max_size=6))
        code = data.draw(st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E]))
        blob = bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)
        blob += data.draw(st.binary(max_size=128))
    path = tmp_path / "fuzz-idx-ubyte"
    path.write_bytes(gzip.compress(blob) if gz and data.draw(st.booleans()) else blob)
    if gz and source == "mutated":  # corrupt the compressed stream itself too
        path.write_bytes(mutate(data, gzip.compress(blob)))
    out = only_clear_errors(lambda: fmt.read_idx(path), path)
    if out is not None:
        assert out.nbytes <= len(blob) and out.dtype.isnative


# -- CIFAR-10 batches --------------------------------------------------------------------------------------------


def _short(b: bytes) -> bytes:
    return b"U" + bytes([len(b)]) + b


def canonical_batch(n: int = 2) -> bytes:
    """A Python 2 cPickle-style CIFAR-10 batch (see tests/test_data_safety.py::py2_batch_pickle)."""
    raw = (np.arange(n * 3072) % 251).astype(np.uint8).tobytes()
    array = (
        b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85" + _short(b"b") + b"\x87R"
        + b"(K\x01J" + struct.pack("<i", n) + b"J" + struct.pack("<i", 3072) + b"\x86"
        + b"cnumpy\ndtype\n" + _short(b"u1") + b"K\x00K\x01\x87R"
        + b"(K\x03" + _short(b"|") + b"NNN" + b"J\xff\xff\xff\xff" * 2 + b"K\x00tb"
        + b"\x89T" + struct.pack("<I", len(raw)) + raw + b"tb"
    )
    labels = b"](" + b"".join(b"K" + bytes([i % 10]) for i in range(n)) + b"e"
    return b"\x80\x02}(" + _short(b"labels") + labels + _short(b"data") + array + b"u."


VALID_BATCH = canonical_batch()


def test_the_fuzzed_batch_is_valid_to_begin_with(tmp_path):
    path = tmp_path / "data_batch_1"
    path.write_bytes(VALID_BATCH)
    images, labels = fmt.read_cifar_batch(path)
    assert images.shape == (2, 32, 32, 3) and list(labels) == [0, 1]


@FUZZ
@given(data=st.data(), source=st.sampled_from(["random", "mutated", "mutated", "pickle-ish"]))
def test_cifar_batch_reader_only_raises_clear_errors(tmp_path, data, source):
    if source == "random":
        blob = data.draw(st.binary(max_size=512))
    elif source == "mutated":
        blob = VALID_BATCH
        for _ in range(data.draw(st.integers(1, 3))):
            blob = mutate(data, blob)
    else:  # opcode soup: a protocol header then random opcodes and arguments
        blob = b"\x80" + bytes([data.draw(st.integers(0, 5))]) + data.draw(st.binary(max_size=256)) + b"."
    path = tmp_path / "data_batch_1"
    path.write_bytes(blob)
    out = only_clear_errors(lambda: fmt.read_cifar_batch(path), path)
    if out is not None:
        images, labels = out
        assert images.dtype == np.uint8 and images.shape[1:] == (32, 32, 3) and len(labels) == len(images)


def _tarball(blob: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("cifar-10-batches-py/test_batch")
        info.size = len(blob)
        tar.addfile(info, io.BytesIO(blob))
    return buf.getvalue()


VALID_TAR = _tarball(VALID_BATCH)
VALID_TAR_RAW = gzip.decompress(VALID_TAR)


@settings(FUZZ, max_examples=40)
@given(data=st.data(), layer=st.sampled_from(["compressed", "tar"]))
def test_cifar_tarball_reader_only_raises_clear_errors(tmp_path, data, layer):
    # mutate the gzip bytes, or the tar stream inside (headers with forged sizes) and then compress it
    blob = mutate(data, VALID_TAR) if layer == "compressed" else gzip.compress(mutate(data, VALID_TAR_RAW))
    path = tmp_path / "cifar-10-python.tar.gz"
    path.write_bytes(blob)
    out = only_clear_errors(lambda: fmt.read_cifar_tarball(path, ["test_batch"]), path)
    if out is not None:
        assert out[0].dtype == np.uint8 and out[0].shape[1:] == (32, 32, 3)


# -- image folders -----------------------------------------------------------------------------------------------


def _encoded(fmt_name: str) -> bytes:
    buf = io.BytesIO()
    Image.fromarray((np.arange(8 * 8 * 3) % 256).astype(np.uint8).reshape(8, 8, 3)).save(buf, format=fmt_name)
    return buf.getvalue()


VALID_IMAGES = {".png": _encoded("PNG"), ".jpg": _encoded("JPEG")}


@settings(FUZZ, max_examples=60)
@given(data=st.data(), suffix=st.sampled_from([".png", ".jpg"]), source=st.sampled_from(["random", "mutated"]))
def test_image_folder_reader_only_raises_clear_errors(tmp_path, monkeypatch, data, suffix, source):
    # decoding allocates what the (capped) header declares: with a 512x512 cap, at most a few MB per image
    monkeypatch.setattr(fmt, "MAX_IMAGE_PIXELS", 512 * 512)
    split = tmp_path / "fuzzset" / "test"
    shutil.rmtree(split, ignore_errors=True)  # tmp_path is shared by the examples
    for cls in ("a", "b"):
        (split / cls).mkdir(parents=True, exist_ok=True)
        (split / cls / f"good{suffix}").write_bytes(VALID_IMAGES[suffix])
    blob = data.draw(st.binary(max_size=256)) if source == "random" else mutate(data, VALID_IMAGES[suffix])
    bad = split / "b" / f"zz{suffix}"
    bad.write_bytes(blob)

    def read():
        classes, files, _ = fmt.list_image_folder(split)
        return fmt.read_images([p for group in files for p in group], workers=1)

    with bounded():
        try:
            images = read()
        except ValueError as err:
            assert str(split) in str(err), f"error does not name a file: {err}"
            return
    assert images.dtype == np.uint8 and len(images) == 3


@pytest.mark.parametrize("reader", ["idx", "batch", "tar", "image"])
def test_empty_files_give_clear_errors(tmp_path, reader):
    path = tmp_path / {"idx": "x-ubyte", "batch": "test_batch", "tar": "c.tar.gz", "image": "x.png"}[reader]
    path.write_bytes(b"")
    read = {"idx": fmt.read_idx, "batch": fmt.read_cifar_batch, "image": fmt.read_image,
            "tar": lambda p: fmt.read_cifar_tarball(p, ["test_batch"])}[reader]
    with pytest.raises(ValueError, match=str(path)):
        read(path)
