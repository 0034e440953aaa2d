"""File parsers for `ntkbook.data`: IDX (MNIST), CIFAR-10 python batches, and folders of image files.

Private: each function reads one kind of file into uint8/int64 numpy arrays and raises a `ValueError` that names
the file and says what to do when the file is not what its name says. Caching and data-set lookup live in
`ntkbook.data`.
"""

import gzip
import os
import pickle
import re
import tarfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
CHUNK = 250  # files per thread-pool task in read_images
DEFAULT_WORKERS = 4  # threads in read_images; see benchmarks/results/data_loading.md

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
    """Open `path` for binary reading, transparently decompressing it when it starts with the gzip magic."""
    with open(path, "rb") as probe:
        head = probe.read(2)
    return gzip.open(path, "rb") if head == b"\x1f\x8b" else open(path, "rb")


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (raw or gzip-compressed) into an array of its stored shape and native-endian dtype.

    Layout: 2 zero bytes, a type code (0x08 = uint8, ... 0x0E = float64), the number of dimensions k, then k
    big-endian uint32 sizes and prod(sizes) values. Returns an array of shape `sizes` (e.g. (N, 28, 28) for
    MNIST images, (N,) for labels). Raises ValueError on a bad magic number or a truncated/oversized file.
    """
    path = Path(path)
    try:
        with _open_maybe_gzip(path) as f:
            blob = f.read()
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise ValueError(
            f"{path} could not be read as a (gzip-compressed) IDX file ({err}); delete it and fetch it again"
        ) from err
    if len(blob) < 4 or blob[0] != 0 or blob[1] != 0 or blob[2] not in _IDX_DTYPES:
        raise ValueError(
            f"{path} is not an IDX file: bad magic number {blob[:4].hex() or '(empty file)'} (expected "
            "00 00 <type 08..0e> <ndim>); it may be an HTML error page or another format - delete it and fetch it again"
        )
    dtype, ndim = _IDX_DTYPES[blob[2]], blob[3]
    header = 4 + 4 * ndim
    if len(blob) < header:
        raise ValueError(
            f"{path} is truncated: the IDX header needs {header} bytes, the file has {len(blob)}"
        )
    shape = tuple(int(s) for s in np.frombuffer(blob, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(blob) != expected:
        kind = "truncated" if len(blob) < expected else "longer than its header says"
        raise ValueError(
            f"{path} is {kind}: header shape {shape} needs {expected} bytes, the file has {len(blob)}; "
            "delete it and fetch it again"
        )
    data = np.frombuffer(blob, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def _parse_cifar_batch(obj, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate one unpickled CIFAR-10 batch dict and return (images (N,32,32,3) uint8, labels (N,) int64)."""
    if not isinstance(obj, dict) or b"data" not in obj or b"labels" not in obj:
        raise ValueError(
            f"{where} is not a CIFAR-10 python batch (expected a dict with b'data' and b'labels')"
        )
    data = np.asarray(obj[b"data"])
    labels = np.asarray(obj[b"labels"], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(labels) != len(data):
        raise ValueError(
            f"{where}: b'data' must be uint8 of shape (N, 3072) with N labels, got {data.dtype} {data.shape} "
            f"and {len(labels)} labels"
        )
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # rows are channel-major (R, G, B planes)
    return np.ascontiguousarray(images), labels


def read_cifar_batch(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR-10 python batch file: (images (N, 32, 32, 3) uint8 RGB, labels (N,) int64 in 0..9)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            obj = pickle.load(f, encoding="bytes")
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as err:
        raise ValueError(
            f"{path} is not a readable CIFAR-10 python batch ({err}); delete it and fetch it again"
        ) from err
    return _parse_cifar_batch(obj, str(path))


def read_cifar_tarball(path: str | os.PathLike, members: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Read and concatenate the named batches (e.g. 'data_batch_1') straight from cifar-10-python.tar.gz.

    Returns (images (N, 32, 32, 3) uint8, labels (N,) int64), in the order of `members`.
    """
    path = Path(path)
    parts = []
    try:
        with tarfile.open(path, "r:*") as tar:
            by_name = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
            for name in members:
                if name not in by_name:
                    raise ValueError(f"{path} has no member {name!r}; is it the CIFAR-10 *python* tarball?")
                with tar.extractfile(by_name[name]) as f:
                    obj = pickle.load(f, encoding="bytes")
                parts.append(_parse_cifar_batch(obj, f"{path}:{name}"))
    except (tarfile.TarError, EOFError, OSError, pickle.UnpicklingError) as err:
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
    """Decode one image file to uint8: (H, W) for grayscale ('L', '1'), (H, W, 3) RGB for everything else."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()  # decode now, so that a truncated file raises here
            if im.mode not in ("L", "RGB"):
                im = im.convert("L") if im.mode == "1" else im.convert("RGB")
            return np.asarray(im, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise ValueError(f"{path} is not a readable image ({err}); delete or replace it") from err


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
