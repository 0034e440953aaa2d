"""File parsers for `ntkbook.data`: IDX (MNIST), CIFAR-10 python batches, and folders of image files.

Private: each function reads one kind of file into uint8/int64 numpy arrays and raises a `ValueError` that names
the file and says what to do when the file is not what its name says. Caching and data-set lookup live in
`ntkbook.data`.

The readers treat every file as hostile (a data folder may be shared, an archive may come from a bad mirror):

- Nothing in a data file can run code. CIFAR-10 batches are pickles, and a plain unpickler calls whatever
  function the file names; `restricted_unpickle` admits only what the canonical batches contain (dicts, lists,
  bytes, str, ints and numpy's array reconstruction for numeric dtypes) and refuses anything else with an
  `UnsafeFileError` naming the file, before anything is called. Images are opened only as PNG or JPEG (Pillow's
  other plugins include formats that run external programs).
- No allocation follows a forged size. Every size a header declares (IDX dimensions, pickle byte counts, tar
  member sizes, image dimensions) is checked against the bytes actually present, or against a fixed cap, before
  memory is allocated for it.
- Any malformed input raises ValueError (UnsafeFileError is one) naming the file; nothing else escapes.
"""

import gzip
import io
import lzma
import math
import os
import pickle
import pickletools
import re
import tarfile
import warnings
import zlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
CHUNK = 250  # files per thread-pool task in read_images
DEFAULT_WORKERS = 4  # threads in read_images; see benchmarks/results/data_loading.md
MAX_BATCH_BYTES = 256 * 2**20  # a canonical CIFAR-10 batch is 31,035,704 bytes; refuse members/files above this
MAX_IMAGE_PIXELS = 4096 * 4096  # per image file; the data sets here are 28x28 and 32x32
_CHUNK_BYTES = 16 * 2**20  # read decompressed IDX data in pieces, so memory follows the data, not the header
_DEFLATE_MAX_RATIO = 1032  # deflate cannot expand more than ~1032:1; a gzip claiming more is forged


class UnsafeFileError(ValueError):
    """A data file asks to run code (or to build objects its format never holds); it was refused unread."""

# IDX type codes (third byte of the magic number) -> big-endian numpy dtype.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _open_maybe_gzip(path: Path):
    """Open `path` for binary reading, transparently decompressing it when it starts with the gzip magic.

    Returns (file object, is_gzip)."""
    with open(path, "rb") as probe:
        head = probe.read(2)
    if head == b"\x1f\x8b":
        return gzip.open(path, "rb"), True
    return open(path, "rb"), False


def _read_exactly(f, n: int, chunk: int = _CHUNK_BYTES) -> bytes:
    """Read up to `n` bytes from `f` in pieces (memory grows with the bytes present, not with `n`)."""
    parts, got = [], 0
    while got < n:
        piece = f.read(min(chunk, n - got))
        if not piece:
            break
        parts.append(piece)
        got += len(piece)
    return b"".join(parts)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (raw or gzip-compressed) into an array of its stored shape and native-endian dtype.

    Layout: 2 zero bytes, a type code (0x08 = uint8, ... 0x0E = float64), the number of dimensions k, then k
    big-endian uint32 sizes and prod(sizes) values. Returns an array of shape `sizes` (e.g. (N, 28, 28) for
    MNIST images, (N,) for labels). Raises ValueError on a bad magic number or a truncated/oversized file.
    The declared size is checked against the file (raw) or against the most a gzip stream of that size can hold
    before anything is allocated for it, and data are read in pieces.
    """
    path = Path(path)
    try:
        size_on_disk = path.stat().st_size
        f, gz = _open_maybe_gzip(path)
        with f:
            head = f.read(4)
            if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] not in _IDX_DTYPES:
                raise ValueError(
                    f"{path} is not an IDX file: bad magic number {head.hex() or '(empty file)'} (expected "
                    "00 00 <type 08..0e> <ndim>); it may be an HTML error page or another format - delete it and "
                    "fetch it again"
                )
            dtype, ndim = _IDX_DTYPES[head[2]], head[3]
            header = 4 + 4 * ndim
            dims = f.read(4 * ndim)
            if len(dims) < 4 * ndim:
                raise ValueError(
                    f"{path} is truncated: the IDX header needs {header} bytes, the file has {4 + len(dims)}"
                )
            shape = tuple(int(s) for s in np.frombuffer(dims, dtype=">u4"))
            body = math.prod(shape) * dtype.itemsize  # exact (Python ints): no overflow for forged sizes
            if math.prod(max(n, 1) for n in shape) * dtype.itemsize >= 2**63:  # e.g. (0, 2**32-1, 2**32-1)
                raise ValueError(f"{path} declares shape {shape}, which no array can have; it is not an IDX file")
            limit = size_on_disk * _DEFLATE_MAX_RATIO if gz else size_on_disk - header
            if body > limit:
                raise ValueError(
                    f"{path} is truncated or forged: its header declares shape {shape} ({header + body} bytes), "
                    f"more than the {size_on_disk}-byte {'gzip ' if gz else ''}file can hold; delete it and fetch "
                    "it again"
                )
            blob = _read_exactly(f, body)
            extra = len(f.read(1))
    except (OSError, EOFError, zlib.error) as err:
        raise ValueError(
            f"{path} could not be read as a (gzip-compressed) IDX file ({err}); delete it and fetch it again"
        ) from err
    if len(blob) != body or extra:
        kind = "truncated" if len(blob) < body else "longer than its header says"
        raise ValueError(
            f"{path} is {kind}: header shape {shape} needs {header + body} bytes of data"
            f"{'' if gz else f', the file has {size_on_disk}'}; delete it and fetch it again"
        )
    data = np.frombuffer(blob, dtype=dtype).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


# -- CIFAR-10 batches: a restricted unpickler ---------------------------------------------------------------------

# The globals a canonical CIFAR-10 python batch names (written by Python 2's cPickle with numpy 1.x; numpy 2 writes
# numpy._core.*): an ndarray is rebuilt as _reconstruct(ndarray, (0,), b'b') followed by BUILD with the state
# (version, shape, dtype, fortran_order, raw bytes), a dtype as dtype('u1', 0, 1) followed by BUILD.
_RECONSTRUCT = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct")}
# Python 3 re-pickles with protocol 5 write an array as _frombuffer(buffer, dtype, shape, order) instead.
_FROMBUFFER = {("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer")}
# Python 3 pickles with protocol 0-2, which have no bytes opcode, write bytes b as _codecs.encode(str, 'latin1')
# and b'' as bytes(): both rebuilt here by our own code, from a str / from nothing.
_CODECS_ENCODE = {("_codecs", "encode")}
_BYTES = {("builtins", "bytes"), ("__builtin__", "bytes")}
_NDARRAY = ("numpy", "ndarray")
_DTYPE = ("numpy", "dtype")
_DTYPE_CODE = re.compile(r"[<>|=]?[biuf][1248]|[<>|=]?b1|[<>|=]?u1")


def _text(value) -> str:
    """Python 2 str arrives as bytes under encoding='bytes'; numpy's own pickles use str."""
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, str):
        return value
    raise _Refuse(f"expected a string, got {type(value).__name__}")


class _Refuse(Exception):
    """Raised inside the unpickler; turned into an UnsafeFileError naming the file."""


class _NdarrayToken:
    """Stands for numpy.ndarray in a pickle: only usable as _reconstruct's first argument, never called."""

    def __call__(self, *args, **kwargs):
        raise _Refuse("the pickle calls numpy.ndarray directly (canonical batches never do)")


class _DtypeSpec:
    """A numeric numpy dtype rebuilt from dtype(code, align, copy) and its BUILD state, without numpy's setstate."""

    def __init__(self, code, align=0, copy=0, *extra):
        if extra:
            raise _Refuse("numpy.dtype called with too many arguments")
        code = _text(code)
        if not _DTYPE_CODE.fullmatch(code):
            raise _Refuse(f"dtype {code!r} is not a plain numeric dtype (canonical batches hold uint8)")
        self.dtype = np.dtype(code)

    def __setstate__(self, state):
        # (version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata])
        if not isinstance(state, tuple) or len(state) not in (8, 9) or state[0] not in (3, 4):
            raise _Refuse("unexpected numpy dtype state")
        order = _text(state[1])
        if order not in "<>|=" or len(order) != 1 or any(v is not None for v in state[2:5]):
            raise _Refuse("numpy dtype state with a byte order, subarray or fields a numeric dtype cannot have")
        if order in "<>":
            self.dtype = self.dtype.newbyteorder(order)


class _ArraySpec:
    """An ndarray rebuilt from its BUILD state (version, shape, dtype, fortran, raw bytes) with np.frombuffer,
    after checking that the bytes present match the declared shape (no allocation follows a forged shape)."""

    array = None

    def __setstate__(self, state):
        if not isinstance(state, tuple) or len(state) != 5:
            raise _Refuse("unexpected numpy array state")
        _version, shape, spec, fortran, raw = state
        if not isinstance(spec, _DtypeSpec):
            raise _Refuse("numpy array state without a numeric dtype")
        if (not isinstance(shape, tuple) or len(shape) > 32
                or not all(type(n) is int and n >= 0 for n in shape)):
            raise _Refuse(f"bad numpy array shape {shape!r:.80}")
        if not isinstance(raw, bytes | bytearray):
            raise _Refuse("numpy array data that is not raw bytes (object arrays are not admitted)")
        if math.prod(shape) * spec.dtype.itemsize != len(raw):
            raise _Refuse(f"numpy array of shape {shape} {spec.dtype} with {len(raw)} bytes of data")
        flat = np.frombuffer(bytes(raw), dtype=spec.dtype)
        self.array = flat.reshape(shape, order="F" if fortran else "C")


def _reconstruct(subtype, shape, typecode):
    if not isinstance(subtype, _NdarrayToken):
        raise _Refuse("_reconstruct of something other than numpy.ndarray")
    if shape not in ((0,), [0]):
        raise _Refuse(f"_reconstruct with shape {shape!r:.40} (numpy always writes (0,))")
    return _ArraySpec()


def _frombuffer(buf, spec, shape, order):
    if not isinstance(buf, bytes | bytearray) or not isinstance(spec, _DtypeSpec) or order not in ("C", "F"):
        raise _Refuse("unexpected arguments to numpy's _frombuffer")
    array = _ArraySpec()
    array.__setstate__((1, tuple(shape) if isinstance(shape, tuple | list) else shape, spec, order == "F", buf))
    return array.array


def _latin1_bytes(text, encoding="latin1", *extra):
    """`_codecs.encode(text, 'latin1')` as protocol-2 pickles use it for bytes; nothing else is admitted."""
    if extra or not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise _Refuse("_codecs.encode used for something other than bytes written as latin-1 text")
    return text.encode("latin-1")


def _empty_bytes(*args):
    """`bytes()` as protocol-2 pickles write b''; called with anything, it is refused."""
    if args:
        raise _Refuse("bytes called with arguments")
    return b""


class _RestrictedUnpickler(pickle.Unpickler):
    """Resolves only the numpy array-reconstruction globals, to safe stand-ins; refuses every other global."""

    def find_class(self, module, name):
        if (module, name) in _RECONSTRUCT:
            return _reconstruct
        if (module, name) in _FROMBUFFER:
            return _frombuffer
        if (module, name) in _CODECS_ENCODE:
            return _latin1_bytes
        if (module, name) in _BYTES:
            return _empty_bytes
        if (module, name) == _NDARRAY:
            return _NdarrayToken()
        if (module, name) == _DTYPE:
            return _DtypeSpec
        raise _Refuse(f"the pickle names {module}.{name}")

    def persistent_load(self, pid):
        raise _Refuse("the pickle uses a persistent id")


def _prescan(blob: bytes) -> None:
    """Walk the pickle's opcodes without executing them: every counted argument (bytes, strings, ints) must fit in
    the file, so the unpickler never pre-allocates from a forged length; GLOBAL names are checked here too."""
    allowed = {f"{m} {n}" for m, n in (*_RECONSTRUCT, *_FROMBUFFER, *_CODECS_ENCODE, *_BYTES, _NDARRAY, _DTYPE)}
    with warnings.catch_warnings():  # pickletools warns about odd escapes in text opcodes; the file is bad anyway
        warnings.simplefilter("ignore", DeprecationWarning)
        for op, arg, _pos in pickletools.genops(io.BytesIO(blob)):
            if op.name in ("GLOBAL", "INST") and arg not in allowed:
                raise _Refuse(f"the pickle names {arg.replace(' ', '.')}")
            if op.name in ("PERSID", "BINPERSID", "EXT1", "EXT2", "EXT4"):
                raise _Refuse(f"the pickle uses the {op.name} opcode")


def _materialise(value):
    if isinstance(value, _ArraySpec):
        if value.array is None:
            raise _Refuse("a numpy array without its data")
        return value.array
    return value


def restricted_unpickle(blob: bytes, where: str):
    """Unpickle a CIFAR-10 python batch from `blob` without running any code it names.

    Admits the objects canonical batches hold: dicts, lists, tuples, bytes, str, ints, floats, bools, None, and
    numeric numpy arrays (rebuilt by our code from the pickle's shape, dtype code and bytes, whether written as
    numpy's `_reconstruct` + state or, by protocol-5 re-pickles, `_frombuffer`; numpy's own functions are never
    called by the pickle), and bytes as protocol 0-2 pickles from Python 3 write them (`_codecs.encode(text,
    'latin1')`, `bytes()`), rebuilt by our code from the text. Any other global, a persistent id or
    an extension code raises `UnsafeFileError` naming `where`; a malformed pickle raises ValueError. Byte py2
    strings come back as bytes (encoding='bytes'), as with `pickle.load(f, encoding='bytes')`.
    """
    try:
        _prescan(blob)
        obj = _RestrictedUnpickler(io.BytesIO(blob), encoding="bytes").load()
        if isinstance(obj, dict):
            obj = {k: _materialise(v) for k, v in obj.items()}
        return obj
    except _Refuse as refused:
        raise UnsafeFileError(
            f"refused to load {where}: {refused}. A CIFAR-10 python batch holds only dicts, lists, bytes, str, "
            "ints and numeric numpy arrays, so this file is not one and may try to run code; nothing in it was "
            "executed. Delete it and fetch the canonical archive again"
        ) from None
    except Exception as err:  # noqa: BLE001 - any other failure of a malformed pickle is a bad file
        raise ValueError(
            f"{where} is not a readable CIFAR-10 python batch ({type(err).__name__}: {err}); delete it and fetch "
            "it again"
        ) from err


def _parse_cifar_batch(obj, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate one unpickled CIFAR-10 batch dict and return (images (N,32,32,3) uint8, labels (N,) int64)."""
    if not isinstance(obj, dict) or b"data" not in obj or b"labels" not in obj:
        raise ValueError(
            f"{where} is not a CIFAR-10 python batch (expected a dict with b'data' and b'labels')"
        )
    data, raw_labels = obj[b"data"], obj[b"labels"]
    if not isinstance(data, np.ndarray) or not isinstance(raw_labels, list | np.ndarray):
        raise ValueError(f"{where}: b'data' must be a numpy array and b'labels' a list of ints")
    if isinstance(raw_labels, list) and not all(type(v) is int for v in raw_labels):
        raise ValueError(f"{where}: b'labels' must hold ints only")
    try:
        labels = np.asarray(raw_labels, dtype=np.int64).reshape(-1)
    except (OverflowError, ValueError, TypeError) as err:
        raise ValueError(f"{where}: b'labels' are not integers that fit int64 ({err})") from err
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(labels) != len(data):
        raise ValueError(
            f"{where}: b'data' must be uint8 of shape (N, 3072) with N labels, got {data.dtype} {data.shape} "
            f"and {len(labels)} labels"
        )
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # rows are channel-major (R, G, B planes)
    return np.ascontiguousarray(images), labels


def read_cifar_batch(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR-10 python batch file: (images (N, 32, 32, 3) uint8 RGB, labels (N,) int64 in 0..9).

    Decoded with `restricted_unpickle` (no code in the file runs); files over `MAX_BATCH_BYTES` are refused.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_BATCH_BYTES:
            raise ValueError(
                f"{path} is {size} bytes, more than any CIFAR-10 batch ({MAX_BATCH_BYTES} at most); it is not one"
            )
        blob = path.read_bytes()
    except OSError as err:
        raise ValueError(f"{path} could not be read ({err})") from err
    return _parse_cifar_batch(restricted_unpickle(blob, str(path)), str(path))


def read_cifar_tarball(path: str | os.PathLike, members: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Read and concatenate the named batches (e.g. 'data_batch_1') straight from cifar-10-python.tar.gz.

    Returns (images (N, 32, 32, 3) uint8, labels (N,) int64), in the order of `members`. Each member is decoded
    with `restricted_unpickle`; members declaring more than `MAX_BATCH_BYTES` are refused before reading.
    """
    path = Path(path)
    parts = []
    try:
        with tarfile.open(path, "r:*") as tar:
            by_name = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
            for name in members:
                if name not in by_name:
                    raise ValueError(f"{path} has no member {name!r}; is it the CIFAR-10 *python* tarball?")
                member = by_name[name]
                if member.size > MAX_BATCH_BYTES:
                    raise ValueError(
                        f"{path}:{name} declares {member.size} bytes, more than any CIFAR-10 batch "
                        f"({MAX_BATCH_BYTES} at most); the archive is not the CIFAR-10 python tarball"
                    )
                with tar.extractfile(member) as f:
                    blob = _read_exactly(f, member.size)
                if len(blob) != member.size:
                    raise ValueError(f"{path}:{name} is truncated ({len(blob)} of {member.size} bytes)")
                where = f"{path}:{name}"
                parts.append(_parse_cifar_batch(restricted_unpickle(blob, where), where))
    except (tarfile.TarError, EOFError, OSError, zlib.error, lzma.LZMAError) as err:
        raise ValueError(
            f"{path} is not a readable CIFAR-10 tarball ({err}); delete it and fetch it again"
        ) from err
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def natural_key(name: str) -> tuple:
    """Sort key that orders embedded numbers numerically: 'img2' < 'img10'."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name))


def list_image_folder(split_dir: Path) -> tuple[list[str], list[list[str]], list[tuple[int, int]]]:
    """Class folder names, each class's image files, and every file's (size, mtime_ns), all in natural order.

    Reads `<split_dir>/<class>/*.{png,jpg,jpeg}` (suffix case-insensitive); hidden files and other suffixes are
    ignored. Returns (classes, files per class as str paths, stats for the flattened file list). Raises
    ValueError when there are no class folders or a class folder holds no images.
    """
    classes = sorted(
        (e.name for e in os.scandir(split_dir) if e.is_dir() and not e.name.startswith(".")), key=natural_key
    )
    if not classes:
        raise ValueError(f"{split_dir} holds no class folders; expected {split_dir}/<class>/*.png|jpg")
    files, stats = [], []
    for cls in classes:
        folder = os.path.join(split_dir, cls)
        entries = sorted(
            (
                e
                for e in os.scandir(folder)
                if not e.name.startswith(".") and e.name.lower().endswith(IMAGE_SUFFIXES) and e.is_file()
            ),
            key=lambda e: natural_key(e.name),
        )
        if not entries:
            raise ValueError(f"class folder {folder} holds no .png/.jpg/.jpeg images")
        files.append([e.path for e in entries])
        for e in entries:
            st = e.stat()
            stats.append((st.st_size, st.st_mtime_ns))
    return classes, files, stats


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Decode one image file to uint8: (H, W) for grayscale ('L', '1'), (H, W, 3) RGB for everything else.

    Only PNG and JPEG are opened (whatever the suffix says), from memory; a file over 4 * `MAX_IMAGE_PIXELS` bytes,
    or whose header declares more than `MAX_IMAGE_PIXELS` pixels, is refused before it is decoded. Any decoding
    failure raises ValueError naming the file.
    """
    from PIL import Image

    try:
        # Decode from memory: Pillow reads some declared lengths in one call (e.g. the rest of a PNG IDAT chunk),
        # which a file object would pre-allocate in full; io.BytesIO returns only the bytes present.
        size = os.stat(path).st_size
        if size > 4 * MAX_IMAGE_PIXELS:
            raise ValueError(f"{path} is {size} bytes, larger than an image of at most {MAX_IMAGE_PIXELS} pixels")
        with open(path, "rb") as f:
            blob = f.read()
        with Image.open(io.BytesIO(blob), formats=("PNG", "JPEG")) as im:
            width, height = im.size
            if width * height > MAX_IMAGE_PIXELS:
                raise ValueError(
                    f"{path} declares {width}x{height} pixels, more than the {MAX_IMAGE_PIXELS} an image of a data "
                    "set may have here; resize it"
                )
            im.load()  # decode now, so that a truncated file raises here
            if im.mode not in ("L", "RGB"):
                im = im.convert("L") if im.mode == "1" else im.convert("RGB")
            return np.asarray(im, dtype=np.uint8)
    except ValueError as err:
        if str(path) in str(err):
            raise
        raise ValueError(f"{path} is not a readable image (PNG or JPEG; {err}); delete or replace it") from err
    except Image.DecompressionBombError as err:  # Pillow's own cap, checked while opening
        raise ValueError(
            f"{path} declares more pixels than the {MAX_IMAGE_PIXELS} an image of a data set may have here ({err})"
        ) from err
    except Exception as err:  # noqa: BLE001 - Pillow raises many types on malformed files; all mean: bad file
        raise ValueError(
            f"{path} is not a readable image (PNG or JPEG; {type(err).__name__}: {err}); delete or replace it"
        ) from err


def read_images(paths: Sequence[str | os.PathLike], *, workers: int | None = None) -> np.ndarray:
    """Decode image files into one uint8 array (N, H, W) or (N, H, W, 3), in the order of `paths`.

    A thread pool overlaps file I/O with decoding (PIL releases the GIL while decoding). If some images are
    grayscale and others colour, the grayscale ones are promoted to RGB by repeating the channel (lossless).
    Raises ValueError naming two files when the images do not all have the same height and width.
    """
    if workers is None:
        workers = DEFAULT_WORKERS
    from ntkbook.progress import progress

    paths = list(paths)
    # one task per chunk of files: a future per file costs more than decoding a 32x32 JPEG
    chunks = [paths[i : i + CHUNK] for i in range(0, len(paths), CHUNK)]
    bar = dict(total=len(chunks), desc=f"decoding {len(paths)} images", unit="chunk")
    if workers <= 1 or len(chunks) < 2:
        parts = [[read_image(p) for p in chunk] for chunk in progress(chunks, **bar)]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            parts = list(progress(pool.map(lambda chunk: [read_image(p) for p in chunk], chunks), **bar))
    arrays = [a for part in parts for a in part]
    if not arrays:
        raise ValueError("no image files to read")
    first = arrays[0].shape[:2]
    for path, arr in zip(paths, arrays, strict=True):
        if arr.shape[:2] != first:
            raise ValueError(
                f"images of mixed sizes: {paths[0]} is {first[1]}x{first[0]} (WxH) but {path} is "
                f"{arr.shape[1]}x{arr.shape[0]}; resize them to one size before loading"
            )
    if len({a.ndim for a in arrays}) > 1:
        arrays = [np.repeat(a[..., None], 3, axis=-1) if a.ndim == 2 else a for a in arrays]
    return np.stack(arrays)
