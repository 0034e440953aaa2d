"""Data sets for the book: MNIST, CIFAR-10, scikit-learn's digits, image folders and synthetic data with a chosen
Gram spectrum; preprocessing (flatten, [0, 1] pixels, unit rows); seeded, stratified, non-overlapping samples.

Where `load(name, split)` looks, in order:

1. **An offline data folder**, `data_dir` or else the environment variable `NTKBOOK_DATA`. For a data set that
   has a folder there (`<root>/<name>/`), that folder is authoritative: nothing is downloaded for it. It may hold
   the canonical files (`mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`; the CIFAR-10 python batches
   in `cifar10/cifar-10-batches-py/` or `cifar10/`, or `cifar10/cifar-10-python.tar.gz`) or an image-folder
   layout `<root>/<name>/<split>/<class>/*.{png,jpg,jpeg}`. Image folders work for any `name`, so a reader's own
   data set loads the same way.
2. **The download cache** `<cache>/downloads/<name>/` (cache = `cache_dir`, else `NTKBOOK_CACHE`, else the
   platform's per-user cache folder such as ~/.cache/ntkbook).
3. **A download** of the canonical archive (when allowed, see "Downloads" below) with pooch, from the usual public mirrors, with
   a progress bar, checked against a pinned SHA-256 and a pinned MD5 (see `MNIST_FILES` for where each comes
   from). A file whose checksum does not match is downloaded once more, then the load fails.

Parsed arrays are cached as uint8 `.npz` files under `<cache>/arrays/` (and nowhere else: data-set and split names
are names, not paths), keyed by the source files' paths, sizes and modification times, so a changed folder is parsed
again and a repeated load is fast. Each carries a SHA-256 of its arrays, checked on load with their shapes, label
count and range (and, for IDX files and image folders, the labels themselves, re-derived cheaply from the source);
a file that fails is reported and parsed again, never used.

Downloads: with no data folder set, a missing MNIST or CIFAR-10 is downloaded (`download=None`, the default). With
`NTKBOOK_DATA` or `data_dir` set, that folder is the source: a data set missing there fails at once with the
folder's expected layout, unless `download=True` asks for a download. A download that failed is not retried in
the same process.

Checksums: downloads are checked against the pinned SHA-256s and MD5s of the canonical archives. Files in an
offline folder are not, because valid copies need not be byte-identical (the project's shared MNIST test files are re-compressed:
their .gz bytes differ from the canonical archives while the data inside are the same); their structure is checked
instead (IDX magic and sizes, batch shapes, label ranges, readable images of one size), and they are parsed as
hostile input: CIFAR-10 batches with a restricted unpickler that runs no code, every declared size checked before
anything is allocated (see `ntkbook._data_formats`).

Split names are "train" and "test" (MNIST's "t10k" is "test"). Class names: "0".."9" for MNIST and digits; the
ten CIFAR-10 names in their canonical order (airplane, automobile, ..., truck); folder names, naturally sorted,
for other image folders.

`load("synthetic", split, n=..., d=..., kappa=..., seed=...)` returns a `SyntheticDataset` (same fields as
`Dataset`, but the data are real-valued, not pixels) built on `synthetic_gram_data`.
"""

import hashlib
import os
import re
import tempfile
import time
import warnings
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import platformdirs

from ntkbook import _data_formats as fmt
from ntkbook.labels import DATASET_LABELS  # how the book names the data sets (re-exported)

__all__ = [
    "CIFAR10_CLASSES",
    "DATASET_LABELS",
    "MNIST_CLASSES",
    "OFFLINE_LAYOUT",
    "Dataset",
    "Split",
    "SyntheticDataset",
    "cache_root",
    "download",
    "fingerprint",
    "flatten",
    "gram_condition_number",
    "load",
    "preprocess",
    "signed_labels",
    "split_reads",
    "synthetic_gram_data",
    "train_test_split",
    "unit_rows",
]

MNIST_CLASSES = tuple(str(i) for i in range(10))
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
DIGITS_CLASSES = MNIST_CLASSES
BUILTIN = ("mnist", "cifar10", "digits", "synthetic")
_SPLITS = ("train", "test")
_FORMAT_VERSION = 2  # bump to invalidate every cached array (2: arrays carry a SHA-256, checked on load)
#: A data-set or split name: a name, never a path (folders go through NTKBOOK_DATA / data_dir).
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
#: The image shape (H, W[, C]) of each canonical data set; a file with other images is not that data set.
IMAGE_SHAPES = {"mnist": (28, 28), "cifar10": (32, 32, 3)}

MNIST_MIRRORS = (
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
)
CIFAR10_MIRRORS = ("https://www.cs.toronto.edu/~kriz/",)
# Canonical archives: (file name, MD5, SHA-256); a download must match both.
# MD5: the CIFAR-10 archive's is published on its authors' page (https://www.cs.toronto.edu/~kriz/cifar.html);
# the MNIST files' (their page publishes none) are the ones torchvision pins (torchvision/datasets/mnist.py).
# SHA-256: as pinned by torchvision's dataset definitions (torchvision/prototype/datasets/_builtin/mnist.py and
# cifar.py); neither data set's authors publish one. Not re-computed here (no network); the same values appear in
# many independent projects that hashed their downloads from these mirrors.
MNIST_FILES = {
    ("train", "images"): ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                          "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
    ("train", "labels"): ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432",
                          "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
    ("test", "images"): ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3",
                         "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
    ("test", "labels"): ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c",
                         "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
}
CIFAR10_TARBALL = ("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a",
                   "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce")
_CIFAR10_BATCHES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}

#: The offline folder's layout, the last line of every missing-data error (README "Data" says the same). MNIST
#: files may also be uncompressed or spelled train-images.idx3-ubyte; CIFAR-10's batches may also sit directly in
#: cifar10/; mnist and cifar10 may also be image folders.
OFFLINE_LAYOUT = (
    'Offline layout ($NTKBOOK_DATA, see README "Data"): mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz; '
    "cifar10/cifar-10-batches-py/{data_batch_1..5,test_batch} or cifar10/cifar-10-python.tar.gz; "
    "any other data set as <name>/<split>/<class>/*.png|jpg."
)


# --------------------------------------------------------------------------------------------------- containers
@dataclass(frozen=True, eq=False)
class Dataset:
    """One split of an image data set.

    images: float32 in [0, 1], shape (N, H, W) (grayscale) or (N, H, W, C); labels: int64 (N,) indexing `classes`;
    classes: tuple of class names; name, split: as passed to `load`; source: where the arrays came from.
    """

    images: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]
    name: str
    split: str
    source: str

    def __len__(self) -> int:
        return len(self.labels)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, split={self.split!r}, images={self.images.dtype}{self.images.shape}, "
            f"classes={len(self.classes)}, source={self.source!r})"
        )


@dataclass(frozen=True, eq=False, repr=False)
class SyntheticDataset(Dataset):
    """`load("synthetic", ...)`: rows of `synthetic_gram_data` (float64 (n, d), real-valued, NOT pixels in [0, 1]).

    labels: 1 where a row's coordinate along the top right singular vector v_1 is positive, else 0 (a target
    aligned with the top eigenvector of G); classes ("negative", "positive"); kappa, seed: the generator's
    arguments. For split "train", kappa(X X^T) == kappa exactly; "test" draws fresh rows z diag(s) V^T with
    z ~ N(0, I/n) from the same row space and spectrum.
    """

    kappa: float = 1.0
    seed: int = 0


@dataclass(frozen=True, eq=False)
class Split:
    """A train/test sample for an experiment.

    x_train (n_train, d), x_test (n_test, d): float64 flattened pixels in [0, 1], NOT unit-normalised (attacks
    work in pixel space; models normalise). y_train, y_test: int64 class indices 0..C-1 into `classes`.
    note: "" unless the reader must be told something (e.g. that train and test were drawn, disjointly, from the
    test split); chapters print it, so it is in words and never holds a machine path. name: the data set;
    source: where its arrays came from (file paths; for logs, never printed by the book).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[str, ...]
    note: str = ""
    name: str = ""
    source: str = ""

    def __repr__(self) -> str:
        return (
            f"Split(name={self.name!r}, x_train={self.x_train.shape}, x_test={self.x_test.shape}, "
            f"classes={self.classes}, note={self.note!r})"
        )


# ---------------------------------------------------------------------------------------------- preprocessing
def flatten(images) -> np.ndarray:
    """Flatten each example: (N, *shape) -> (N, prod(shape)) (a view when possible; dtype kept)."""
    images = np.asarray(images)
    if images.ndim < 1:
        raise ValueError("flatten expects an array with a leading example axis, got a scalar")
    return images.reshape(images.shape[0], -1)


def unit_rows(x) -> np.ndarray:
    """Scale every row to unit l2 norm: x_i / ||x_i||_2, in float64. (N, d) -> (N, d).

    Raises ValueError naming the first all-zero row (it has no direction; drop it or add an offset).
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"unit_rows expects a 2-D array (N, d), got shape {x.shape}; flatten images first")
    norms = np.linalg.norm(x, axis=1)
    zero = np.flatnonzero(norms == 0)
    if zero.size:
        raise ValueError(f"row {zero[0]} of {len(x)} is all zeros and cannot be scaled to unit norm; drop it")
    return x / norms[:, None]


def preprocess(images) -> np.ndarray:
    """The paper's input map: unit_rows(flatten(images)), float64 (N, d) with ||x_i||_2 = 1."""
    return unit_rows(flatten(images))


def signed_labels(y) -> np.ndarray:
    """Binary class indices {0, 1} -> {-1.0, +1.0} (class 0 -> -1, class 1 -> +1), float64 (N,)."""
    y = np.asarray(y)
    if not np.isin(y, (0, 1)).all():
        raise ValueError(f"signed_labels expects binary labels in {{0, 1}}, got values {np.unique(y)[:10]}")
    return 2.0 * y.astype(np.float64) - 1.0


def gram_condition_number(x, *, normalise: bool = True) -> float:
    """Condition number of G = X X^T over its top r = min(n, d) eigenvalues, computed in float64 via the SVD.

    kappa = sigma_1(X)^2 / sigma_r(X)^2 (the plain kappa(G) when n <= d; the effective kappa_d(G) when n > d).
    normalise=True first applies `unit_rows` (as the models do), which changes kappa of synthetic data.
    x: (n, d) or images (n, ...). Raises ValueError when sigma_r == 0 (G restricted to rank r is singular).
    """
    x = flatten(x).astype(np.float64)
    if normalise:
        x = unit_rows(x)
    s = np.linalg.svd(x, compute_uv=False)
    if s[-1] <= 0:
        raise ValueError(f"X has rank < min(n, d) = {len(s)}: kappa of its Gram matrix is infinite")
    return float((s[0] / s[-1]) ** 2)


# ----------------------------------------------------------------------------------------------- synthetic data
def _haar_orthonormal(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """(rows, cols) matrix with orthonormal columns, Haar-distributed (QR of a Gaussian with the sign fix)."""
    q, r = np.linalg.qr(rng.standard_normal((rows, cols)))
    return q * np.sign(np.diag(r))


def _synthetic_factors(n: int, d: int, kappa: float, seed: int):
    """(U (n, n), s (n,), V (d, n)) with s geometric from s_1 to s_1/sqrt(kappa) and sum(s^2) = n."""
    if not (isinstance(n, int | np.integer) and isinstance(d, int | np.integer)) or n < 1 or d < 1:
        raise ValueError(f"n and d must be positive integers, got n={n!r}, d={d!r}")
    if n > d:
        raise ValueError(
            f"synthetic_gram_data needs n <= d (got n={n}, d={d}): for n > d, G = X X^T has rank d and an "
            "infinite condition number; choose d >= n"
        )
    if not np.isfinite(kappa) or kappa < 1:
        raise ValueError(f"kappa must be a finite number >= 1, got {kappa!r}")
    rng = np.random.default_rng(seed)
    u = _haar_orthonormal(rng, n, n)
    v = _haar_orthonormal(rng, d, n)
    s = np.sqrt(float(kappa)) ** (-np.linspace(0.0, 1.0, n)) if n > 1 else np.ones(1)
    s *= np.sqrt(n / np.sum(s**2))  # mean squared row norm 1
    return u, s, v


def synthetic_gram_data(n: int, d: int, kappa: float, *, seed: int = 0) -> np.ndarray:
    """Gaussian-like data X (n, d), float64, whose Gram matrix G = X X^T has condition number exactly `kappa`.

    X = U diag(s) V^T with U (n, n) and V (d, n) Haar-random orthonormal factors and singular values
    s_i = c * kappa^(-(i-1)/(2(n-1))) (geometric, so the eigenvalues s_i^2 of G run from lambda_1 to
    lambda_1/kappa), c chosen so that the mean squared row norm is 1. Needs n <= d and kappa >= 1.
    Note: unit-normalising the rows changes kappa; see `gram_condition_number(X)`.
    """
    u, s, v = _synthetic_factors(n, d, kappa, seed)
    return (u * s) @ v.T


def _load_synthetic(split: str, *, n: int, d: int, kappa: float, seed: int = 0, n_test: int | None = None):
    u, s, v = _synthetic_factors(n, d, kappa, seed)
    if split == "train":
        x = (u * s) @ v.T
    elif split == "test":
        rng = np.random.default_rng([seed, 1])
        z = rng.standard_normal((n if n_test is None else n_test, n)) / np.sqrt(n)
        x = (z * s) @ v.T
    else:
        raise ValueError(f"split must be 'train' or 'test' for synthetic data, got {split!r}")
    labels = ((x @ v[:, 0]) > 0).astype(np.int64)
    return SyntheticDataset(
        images=x,
        labels=labels,
        classes=("negative", "positive"),
        name="synthetic",
        split=split,
        source=f"synthetic_gram_data(n={n}, d={d}, kappa={kappa}, seed={seed})",
        kappa=float(kappa),
        seed=seed,
    )


# ----------------------------------------------------------------------------------------------- file locations
def cache_root(cache_dir: str | os.PathLike | None = None) -> Path:
    """`cache_dir`, else `NTKBOOK_CACHE`, else the platform's per-user cache folder (e.g. ~/.cache/ntkbook)."""
    if cache_dir is not None:
        return Path(cache_dir)
    return Path(os.environ.get("NTKBOOK_CACHE") or platformdirs.user_cache_dir("ntkbook"))


def _data_root(data_dir) -> Path | None:
    root = data_dir if data_dir is not None else os.environ.get("NTKBOOK_DATA")
    if not root:
        return None
    root = Path(root)
    if not root.is_dir():
        origin = "data_dir" if data_dir is not None else "NTKBOOK_DATA"
        raise FileNotFoundError(
            f"{origin}={root} is not a folder; point it at a folder holding mnist/, cifar10/ ...\n{OFFLINE_LAYOUT}"
        )
    return root


def _find_first(folder: Path, names: Sequence[str]) -> Path | None:
    for n in names:
        if (folder / n).is_file():
            return folder / n
    return None


def _mnist_candidates(split: str, part: str) -> list[str]:
    stem = MNIST_FILES[(split, part)][0].removesuffix(".gz")
    dotted = stem.replace("-idx", ".idx")  # another common spelling: train-images.idx3-ubyte
    return [stem + ".gz", stem, dotted + ".gz", dotted]


def _locate_canonical(name: str, split: str, folder: Path, looked: list[str]):
    """Canonical files for (name, split) in `folder`: ('idx', [images, labels]) | ('batches', [...]) | ('tar', [..])."""
    if name == "mnist":
        found = []
        for part in ("images", "labels"):
            cands = _mnist_candidates(split, part)
            looked.append(f"{folder / cands[1]}[.gz] (or {cands[3]}[.gz])")
            found.append(_find_first(folder, cands))
        if all(found):
            return "idx", found
        return None
    if name == "cifar10":
        for sub in (folder / "cifar-10-batches-py", folder):
            paths = [sub / b for b in _CIFAR10_BATCHES[split]]
            looked.append(str(sub / _CIFAR10_BATCHES[split][0]) + (" ..." if len(paths) > 1 else ""))
            if all(p.is_file() for p in paths):
                return "batches", paths
        tar = folder / CIFAR10_TARBALL[0]
        looked.append(str(tar))
        if tar.is_file():
            return "tar", [tar]
    return None


# --------------------------------------------------------------------------------------------------- downloads
def _make_downloader():
    """The HTTP downloader pooch uses (tests replace this function with a fake that needs no network)."""
    import pooch

    from ntkbook.progress import progress_enabled

    return pooch.HTTPDownloader(progressbar=progress_enabled(), timeout=60)


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fetch(filename: str, md5: str, sha256: str, mirrors: Sequence[str], folder: Path, downloader=None) -> Path:
    """Download `filename` into `folder` from the first mirror that answers; check its SHA-256 (pooch) and MD5.

    A file whose SHA-256 does not match is downloaded once more; a second mismatch raises ValueError. A file with
    the right SHA-256 but another MD5 (the two pins disagree) raises ValueError. When no mirror answers, raises
    ConnectionError listing the URLs and the manual alternative.
    """
    import pooch
    import requests

    downloader = downloader if downloader is not None else _make_downloader()
    errors, mismatched, i = [], [], 0
    while i < len(mirrors):
        url = mirrors[i] + filename
        try:
            path = Path(
                pooch.retrieve(
                    url, known_hash=f"sha256:{sha256}", fname=filename, path=folder, downloader=downloader
                )
            )
        except ValueError as err:
            if "hash" not in str(err).lower():
                raise
            mismatched.append(url)
            errors.append(f"{url}: checksum mismatch")
            if len(mismatched) >= 2:
                raise ValueError(
                    f"checksum mismatch for {filename}: two downloads (from {' and '.join(mismatched)}) did not "
                    f"have the pinned SHA-256 {sha256}. The mirror may serve a changed or broken file; download it "
                    f"by hand, check its SHA-256 and MD5 ({md5}), and put it in {folder} or in NTKBOOK_DATA"
                ) from err
            continue
        except (requests.RequestException, OSError) as err:
            errors.append(f"{url}: {type(err).__name__}: {err}")
            i += 1
            continue
        if _md5(path) != md5:
            raise ValueError(
                f"{path} has the pinned SHA-256 {sha256} but not the pinned MD5 {md5}: the two pins in "
                "ntkbook.data disagree; report this"
            )
        return path
    raise ConnectionError(
        f"could not download {filename} from any mirror:\n  " + "\n  ".join(errors) + "\n"
        f"Download it by hand into {folder}, or set NTKBOOK_DATA to a folder that holds it.\n{OFFLINE_LAYOUT}"
    )


def download(name: str, split: str = "train", *, cache_dir=None, downloader=None) -> list[Path]:
    """Download the canonical files of `name` ("mnist" | "cifar10") needed for `split` into <cache>/downloads.

    Returns the local paths (already-present files with the right checksum are not downloaded again).
    `downloader` is any pooch downloader (callable(url, output_file, pooch)); None = HTTP with a progress bar.
    """
    return _download_files(_canonical_name(name), _canonical_split(split), cache_root(cache_dir), downloader)


#: Downloads that failed in this process, (name, split, folder) -> the error: a sweep of many units asks for the same
#: files once per unit, and without a network each would wait on every mirror again.
_FAILED_DOWNLOADS: dict[tuple[str, str, str], str] = {}


def _download_once(name: str, split: str, cache: Path) -> list[Path]:
    """`_download_files`, unless the same download already failed in this process: then its error at once."""
    where = (name, split, os.fspath(cache))
    if where in _FAILED_DOWNLOADS:
        raise ConnectionError(
            f"{_FAILED_DOWNLOADS[where]}\n(this download already failed in this process and is not retried; "
            "restart the process to try again)"
        )
    try:
        return _download_files(name, split, cache)
    except ConnectionError as err:
        _FAILED_DOWNLOADS[where] = str(err)
        raise


def _download_files(name: str, split: str, cache: Path, downloader=None) -> list[Path]:
    folder = cache / "downloads" / name
    if name == "mnist":
        return [
            _fetch(*MNIST_FILES[(split, part)], MNIST_MIRRORS, folder, downloader)
            for part in ("images", "labels")
        ]
    if name == "cifar10":
        return [_fetch(*CIFAR10_TARBALL, CIFAR10_MIRRORS, folder, downloader)]
    raise ValueError(f"download() knows only 'mnist' and 'cifar10', not {name!r}")


# -------------------------------------------------------------------------------------------------------- cache
def _source_key(name: str, split: str, kind: str, paths: Sequence, stats: Sequence | None = None) -> str:
    """Hash of the format version, (name, split, kind) and every source file's absolute path, size and mtime."""
    h = hashlib.sha256(f"{_FORMAT_VERSION}|{name}|{split}|{kind}".encode())
    if stats is None:
        stats = [(st.st_size, st.st_mtime_ns) for st in map(os.stat, paths)]
    for p, (size, mtime) in zip(paths, stats, strict=True):
        h.update(f"|{os.path.abspath(p)}|{size}|{mtime}".encode())
    return h.hexdigest()[:20]


def _arrays_digest(file_name: str, images: np.ndarray, labels: np.ndarray, classes: tuple[str, ...]) -> str:
    """SHA-256 over the cache file's own name (which holds the source key), the arrays' dtypes, shapes and bytes,
    and the class names: a cached file copied under another key, or with altered pixels or labels, fails it."""
    h = hashlib.sha256(f"{_FORMAT_VERSION}|{file_name}|".encode())
    for a in (images, labels):
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}|".encode())
        h.update(memoryview(a).cast("B"))
    h.update("\0".join(classes).encode())
    return h.hexdigest()


def _check_arrays(name: str, images: np.ndarray, labels: np.ndarray, classes: tuple[str, ...], where: str,
                  expected_labels: np.ndarray | None = None) -> None:
    """Refuse arrays that are not one split of `name`: not uint8 images (N, H, W[, C]) with N labels in
    0..len(classes)-1, images of another shape than `IMAGE_SHAPES[name]`, classes other than the canonical ones, or
    labels that differ from `expected_labels` (when the source gives them cheaply). ValueError names `where`."""
    if images.dtype != np.uint8 or images.ndim not in (3, 4):
        raise ValueError(f"{where}: images must be uint8 (N, H, W) or (N, H, W, C), got {images.dtype} {images.shape}")
    if labels.ndim != 1 or len(labels) != len(images):
        raise ValueError(f"{where}: {labels.shape} labels for {len(images)} images")
    if labels.dtype.kind not in "iu" or (labels.size and (labels.min() < 0 or labels.max() >= len(classes))):
        raise ValueError(f"{where}: labels must be integers in 0..{len(classes) - 1}")
    shape = IMAGE_SHAPES.get(name)
    if shape is not None and images.shape[1:] != shape:
        size = "x".join(map(str, shape))
        raise ValueError(
            f"{where}: {DATASET_LABELS[name]} images are {size} ({shape}), got {images.shape[1:]}; this is not "
            f"{DATASET_LABELS[name]} - check the files in NTKBOOK_DATA/{name}/"
        )
    known = _known_classes(name)
    if known is not None and tuple(classes) != known:
        raise ValueError(f"{where}: classes {list(classes)} are not {name}'s {list(known)}")
    if expected_labels is not None and not np.array_equal(labels, expected_labels):
        raise ValueError(f"{where}: its labels differ from the source's")


def _cached_arrays(
    arrays_dir: Path,
    file_name: str,
    parse: Callable[[], tuple[np.ndarray, np.ndarray, tuple[str, ...]]],
    name: str,
    expected_labels: Callable[[], np.ndarray] | None = None,
):
    """(images uint8, labels int64, classes) from `arrays_dir/file_name`, else from `parse()` (then written
    atomically, with its `_arrays_digest`).

    A cached file is used only if it is a regular file inside `arrays_dir` whose digest matches and whose arrays
    pass `_check_arrays` (shapes, label count and range, classes, and `expected_labels()` when given); otherwise a
    warning names it and the source is parsed again. Parsed arrays pass the same checks or raise ValueError.
    """
    cache_file = arrays_dir / file_name
    if (os.path.basename(file_name) != file_name or file_name.startswith(".") or ".." in file_name
            or cache_file.resolve().parent != arrays_dir.resolve()):  # names are checked in load; this is the guard
        raise ValueError(f"array cache file name {file_name!r} is not a plain name inside {arrays_dir}")
    if cache_file.is_file():  # is_file: never open a FIFO or a device named like a cache file
        try:
            with np.load(cache_file, allow_pickle=False) as z:
                images, labels = z["images"], z["labels"]
                classes = tuple(str(c) for c in z["classes"])
                digest = str(z["sha256"])
            if digest != _arrays_digest(file_name, images, labels, classes):
                raise ValueError("its SHA-256 does not match its arrays (altered or copied from another source)")
            _check_arrays(name, images, labels, classes, str(cache_file),
                          expected_labels() if expected_labels is not None else None)
            return images, labels, classes
        except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile) as err:
            warnings.warn(f"ignoring the array cache {cache_file} ({err}); parsing the source again", stacklevel=3)
    images, labels, classes = parse()
    labels = np.asarray(labels, dtype=np.int64)
    _check_arrays(name, images, labels, tuple(classes), "the parsed source")
    tmp = None
    try:
        arrays_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=arrays_dir, prefix=".", suffix=".tmp", delete=False) as f:
            tmp = Path(f.name)
            np.savez(f, images=images, labels=labels, classes=np.array(classes, dtype=str),
                     sha256=np.array(_arrays_digest(file_name, images, labels, tuple(classes))))
        tmp.replace(cache_file)  # atomic: readers never see a half-written file
    except OSError as err:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        warnings.warn(
            f"could not write the array cache {cache_file} ({err}); loads stay slow. Set NTKBOOK_CACHE to a "
            "writable folder",
            stacklevel=3,
        )
    return images, labels, classes


def _check_labels(labels: np.ndarray, n_classes: int, where: str) -> np.ndarray:
    labels = np.asarray(labels, dtype=np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(
            f"{where}: labels must lie in 0..{n_classes - 1}, found {labels.min()}..{labels.max()}"
        )
    return labels


def _parse_canonical(name: str, kind: str, paths: list[Path], split: str):
    if kind == "idx":
        images, labels = fmt.read_idx(paths[0]), fmt.read_idx(paths[1])
        if images.dtype != np.uint8 or images.shape[1:] != IMAGE_SHAPES["mnist"]:
            raise ValueError(
                f"{paths[0]}: MNIST images must be uint8 of shape (N, 28, 28), got {images.dtype} {images.shape}; "
                f"this is not an MNIST image file - check the files in NTKBOOK_DATA/mnist/"
            )
        if labels.ndim != 1 or len(labels) != len(images):
            raise ValueError(f"{paths[1]} has {labels.shape} labels for {len(images)} images in {paths[0]}")
        return images, _check_labels(labels, 10, str(paths[1])), MNIST_CLASSES
    if kind == "batches":
        parts = [fmt.read_cifar_batch(p) for p in paths]
        images, labels = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    else:
        images, labels = fmt.read_cifar_tarball(paths[0], _CIFAR10_BATCHES[split])
    return images, _check_labels(labels, 10, str(paths[0])), CIFAR10_CLASSES


def _canonical_arrays(name: str, split: str, kind: str, paths: list[Path], cache: Path):
    """(images uint8, labels, classes) of canonical files, through the array cache keyed by the files."""
    key = _source_key(name, split, kind, paths)
    expected = (lambda: _check_labels(fmt.read_idx(paths[1]), 10, str(paths[1]))) if kind == "idx" else None
    return _cached_arrays(
        cache / "arrays", f"{name}-{split}-{key}.npz", lambda: _parse_canonical(name, kind, paths, split), name,
        expected,
    )


def _known_classes(name: str) -> tuple[str, ...] | None:
    return {"mnist": MNIST_CLASSES, "cifar10": CIFAR10_CLASSES}.get(name)


def _load_image_folder(name: str, split: str, split_dir: Path, cache: Path):
    """(images uint8, labels, classes, source) from `<split_dir>/<class>/*.png|jpg`, through the array cache.

    Classes: the canonical tuple for mnist/cifar10 (the folders must match it exactly), else the folder names.
    """
    folder_classes, files, stats = fmt.list_image_folder(split_dir)
    classes = _known_classes(name) or tuple(folder_classes)
    if set(folder_classes) != set(classes):
        raise ValueError(
            f"{split_dir} has class folders {folder_classes}; {name} needs exactly {list(classes)}"
        )
    flat = [p for group in files for p in group]
    key = _source_key(name, split, "folder", flat, stats)

    def folder_labels():  # from the listing alone: cheap, so a cached file's labels are checked against it
        folder_label = np.array([classes.index(c) for c in folder_classes], dtype=np.int64)
        return np.repeat(folder_label, [len(g) for g in files])

    def parse():
        return fmt.read_images(flat), folder_labels(), classes

    images, labels, classes = _cached_arrays(cache / "arrays", f"{name}-{split}-{key}.npz", parse, name,
                                             folder_labels)
    return images, labels, classes, f"image folder {split_dir} ({len(flat)} files)"


# --------------------------------------------------------------------------------------------------------- load
def _check_plain_name(value: str, what: str) -> str:
    """`value` if it is a name (letters, digits, '.', '_', '-'; no separator, no '..', not absolute), else a
    ValueError: a folder elsewhere goes through NTKBOOK_DATA, and a cache file is never written outside the cache."""
    if not _NAME.fullmatch(value) or ".." in value:
        raise ValueError(
            f"{what} {value!r} is not a name: data-set and split names are names, not paths (letters, digits, '.', "
            "'_', '-'; no '/', '\\' or '..'). To load a folder, set NTKBOOK_DATA (or data_dir) to the folder that "
            f"holds it and load it by its name: <NTKBOOK_DATA>/<name>/<split>/<class>/*.png|jpg\n{OFFLINE_LAYOUT}"
        )
    return value


def _canonical_name(name: str) -> str:
    if not isinstance(name, str) or not name:
        raise ValueError(f"data set name must be a non-empty string, got {name!r}")
    low = name.lower().replace("-", "")
    canonical = {"mnist": "mnist", "cifar10": "cifar10", "digits": "digits", "synthetic": "synthetic"}.get(low)
    return canonical or _check_plain_name(name, "data set name")


def _canonical_split(split: str) -> str:
    if not isinstance(split, str) or not split:
        raise ValueError(f"split must be a non-empty string such as 'train' or 'test', got {split!r}")
    return "test" if split.lower() in ("t10k", "test") else _check_plain_name(split, "split")


def _load_digits(split: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], str]:
    if split != "test":
        raise FileNotFoundError(
            f"digits has no {split!r} split: scikit-learn's load_digits() is the UCI optdigits *test* set (1,797 "
            "images). Use load('digits', 'test'), or train_test_split('digits', ..., allow_split_from_test=True) "
            "to draw disjoint train and test subsets from it"
        )
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = bunch.images.astype(np.float32) / np.float32(16.0)  # pixel values 0..16
    return (
        images,
        bunch.target.astype(np.int64),
        DIGITS_CLASSES,
        "scikit-learn load_digits (UCI optdigits test set)",
    )


def load(
    name: str,
    split: str = "train",
    *,
    data_dir=None,
    cache_dir=None,
    download: bool | None = None,
    **synthetic_options,
) -> Dataset:
    """Load one split of a data set as a `Dataset` (images float32 in [0, 1], (N, H, W) or (N, H, W, C)).

    name: "mnist" | "cifar10" | "digits" | "synthetic" | the name of an image folder `<data_dir>/<name>/`.
    split: "train" | "test" (MNIST's "t10k" means "test"); image folders accept any split folder name.
    data_dir: offline data folder (default: NTKBOOK_DATA); cache_dir: cache folder (default: NTKBOOK_CACHE or
    the platform's); download: allow downloading mnist/cifar10 when no local copy exists (None, the default:
    only when no data folder is set; with NTKBOOK_DATA / data_dir set, a missing data set fails at once unless
    download=True; a failed download is not retried in the same process).
    synthetic_options (only for "synthetic"): n, d, kappa, seed=0, n_test=None; see `SyntheticDataset`.

    Raises ValueError (unknown data set, bad file, unknown option) or FileNotFoundError (split not found: the
    message lists every place it looked and how to get the data).
    """
    name, split = _canonical_name(name), _canonical_split(split)
    if name == "synthetic":
        missing = {"n", "d", "kappa"} - synthetic_options.keys()
        unknown = synthetic_options.keys() - {"n", "d", "kappa", "seed", "n_test"}
        if missing or unknown:
            raise ValueError(
                f"load('synthetic', ...) needs n=, d=, kappa= (and optionally seed=, n_test=); "
                f"missing {sorted(missing)}, unknown {sorted(unknown)}"
            )
        return _load_synthetic(split, **synthetic_options)
    if synthetic_options:
        raise ValueError(f"unknown keyword arguments for load({name!r}): {sorted(synthetic_options)}")

    root = _data_root(data_dir)
    cache = cache_root(cache_dir)
    if name == "digits":
        images, labels, classes, source = _load_digits(split)
        return Dataset(images, labels, classes, name, split, source)

    builtin = name in ("mnist", "cifar10")
    if not builtin and (root is None or not (root / name).is_dir()):
        where = f"no folder {root / name}" if root is not None else "NTKBOOK_DATA is not set"
        raise ValueError(
            f"unknown data set {name!r} ({where}). Built in: {list(BUILTIN)}; your own image data loads from "
            f"<NTKBOOK_DATA or data_dir>/{name}/<split>/<class>/*.png|jpg"
        )
    if builtin and split not in _SPLITS:
        raise ValueError(f"{name} has splits 'train' and 'test' (or 't10k'), not {split!r}")

    looked: list[str] = []
    result = None
    offline = root / name if root is not None and (root / name).is_dir() else None
    if offline is not None:
        found = _locate_canonical(name, split, offline, looked) if builtin else None
        if found is not None:
            result = (*_canonical_arrays(name, split, *found, cache), f"{found[0]} files in {offline}")
        else:
            looked.append(str(offline / split / "<class>/*.png|jpg"))
            if (offline / split).is_dir():
                result = _load_image_folder(name, split, offline / split, cache)
    if download is None:  # downloads only when no data folder is set; with one, only when asked for explicitly
        download = root is None
    if result is None and builtin:
        dl = cache / "downloads" / name
        found = _locate_canonical(name, split, dl, looked)
        if found is None and download and offline is None:
            _download_once(name, split, cache)
            found = _locate_canonical(name, split, dl, [])
        if found is not None:
            result = (*_canonical_arrays(name, split, *found, cache), f"downloaded {found[0]} files in {dl}")
    if result is None:
        origin = "data_dir" if data_dir is not None else "NTKBOOK_DATA"
        raise FileNotFoundError(_not_found_message(name, split, looked, offline, download, root, origin))
    images, labels, classes, source = result
    scale = np.float32(255.0) if images.dtype == np.uint8 else np.float32(1.0)
    return Dataset(
        np.divide(images, scale, dtype=np.float32), labels.astype(np.int64), classes, name, split, source
    )


def _not_found_message(name, split, looked, offline, download, root=None, origin="NTKBOOK_DATA") -> str:
    lines = [f"no {split!r} split of {name!r} found. Looked for:"] + [f"  {p}" for p in looked]
    if name in ("mnist", "cifar10"):
        files = (
            ", ".join(MNIST_FILES[(split, part)][0] for part in ("images", "labels"))
            if name == "mnist"
            else CIFAR10_TARBALL[0]
        )
        mirror = (MNIST_MIRRORS if name == "mnist" else CIFAR10_MIRRORS)[0]
        if offline is not None:
            lines.append(
                f"The offline folder {offline} (from data_dir/NTKBOOK_DATA) is used for {name} and nothing is "
                f"downloaded for it. Put {files} (from {mirror}) into {offline}, or unset NTKBOOK_DATA to let "
                "ntkbook download them."
            )
        elif root is not None and not download:
            lines.append(
                f"The offline data folder {origin}={root} has no {name}/ folder, and with a data folder set nothing "
                f"is downloaded unless asked for. Put {files} (from {mirror}) into {root / name}/ (layout below), "
                f"point {origin} at the folder that holds {name}/, or unset NTKBOOK_DATA (or call "
                "load(..., download=True)) to download them into the cache."
            )
        elif not download:
            lines.append(
                f"Call load(..., download=True) to fetch {files} from {mirror}, or set NTKBOOK_DATA."
            )
        else:
            lines.append("Set NTKBOOK_DATA to an offline folder holding them.")
    else:
        present = sorted(e.name for e in os.scandir(offline) if e.is_dir()) if offline is not None else []
        lines.append(
            f"Put images in {offline}/{split}/<class>/, or choose one of the splits present: {present}."
        )
    lines.append(
        "For experiments, train_test_split(..., allow_split_from_test=True) draws disjoint train and test "
        "subsets from the test split when the train split is missing."
    )
    lines.append(OFFLINE_LAYOUT)
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------------ splits
def _allocate(n: int, weights: np.ndarray) -> np.ndarray:
    """Largest-remainder allocation of n items over classes in proportion to integer `weights` (<= weights)."""
    weights = np.asarray(weights, dtype=np.int64)
    total = int(weights.sum())
    if n > total:
        raise ValueError(f"cannot draw {n} items from {total}")
    exact = n * weights / total if total else np.zeros(len(weights))
    counts = np.floor(exact).astype(np.int64)
    short = n - int(counts.sum())
    if short:
        order = np.argsort(-(exact - counts), kind="stable")
        counts[order[:short]] += 1
    return counts


def _select_classes(ds: Dataset, classes: Sequence[str] | None):
    """(images, labels relabelled 0..k-1, class names) restricted to `classes` in the given order."""
    if classes is None:
        return ds.images, ds.labels, ds.classes
    if isinstance(classes, str):
        raise ValueError(
            f"classes must be a sequence of class names such as ('3', '8'), got the string {classes!r}"
        )
    classes = tuple(str(c) for c in classes)
    unknown = [c for c in classes if c not in ds.classes]
    if unknown:
        raise ValueError(f"unknown class name(s) {unknown} for {ds.name}; its classes are {list(ds.classes)}")
    if len(set(classes)) != len(classes) or len(classes) < 2:
        raise ValueError(f"classes must name at least two distinct classes, got {classes}")
    old = np.array([ds.classes.index(c) for c in classes])
    keep = np.isin(ds.labels, old)
    relabel = np.full(len(ds.classes), -1, dtype=np.int64)
    relabel[old] = np.arange(len(old))
    return ds.images[keep], relabel[ds.labels[keep]], classes


def _stratified_indices(labels: np.ndarray, n_classes: int, sizes: Sequence[int], rng: np.random.Generator):
    """Disjoint index sets of the given sizes, each stratified by class, each shuffled."""
    pools = [rng.permutation(np.flatnonzero(labels == c)) for c in range(n_classes)]
    available = np.array([len(p) for p in pools])
    taken = np.zeros(n_classes, dtype=np.int64)
    out = []
    for size in sizes:
        counts = _allocate(size, available - taken)
        idx = np.concatenate([pools[c][taken[c] : taken[c] + counts[c]] for c in range(n_classes)])
        taken += counts
        out.append(rng.permutation(idx))
    return out


def train_test_split(
    name: str,
    n_train: int,
    n_test: int,
    *,
    classes: Sequence[str] | None = None,
    seed: int = 0,
    allow_split_from_test: bool = False,
    data_dir=None,
) -> Split:
    """A seeded, stratified, non-overlapping sample of `n_train` training and `n_test` test examples.

    Training examples come from the train split and test examples from the test split. If the train split is
    missing and `allow_split_from_test=True`, both are drawn, disjointly, from the test split and `Split.note`
    says so. classes=None keeps all classes; classes=("3", "8") keeps those, relabelled 0..k-1 in that order.
    Within a split, class counts follow the pool's class proportions (largest remainder); the same seed gives
    the same split. x: float64 flattened pixels in [0, 1], shape (n, d).
    Raises ValueError when n_train + n_test (or either) exceeds the data, or a class name is unknown.
    """
    if name == "synthetic" or _canonical_name(name) == "synthetic":
        raise ValueError(
            "train_test_split does not apply to synthetic data; use load('synthetic', ...) or "
            "synthetic_gram_data"
        )
    for label, value in (("n_train", n_train), ("n_test", n_test)):
        if not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"{label} must be a positive integer, got {value!r}")
    rng = np.random.default_rng(seed)
    note = ""
    try:
        train = load(name, "train", data_dir=data_dir)
    except FileNotFoundError as err:
        if not allow_split_from_test:
            head = str(err).removesuffix(OFFLINE_LAYOUT).rstrip("\n")
            raise FileNotFoundError(
                f"{head}\n(train_test_split: pass allow_split_from_test=True to draw both from the test split)\n"
                f"{OFFLINE_LAYOUT}"
            ) from err
        train = None
    test = load(name, "test", data_dir=data_dir)
    x_test_pool, y_test_pool, cls = _select_classes(test, classes)
    if train is None:
        if n_train + n_test > len(y_test_pool):
            raise ValueError(
                f"n_train + n_test = {n_train} + {n_test} = {n_train + n_test} exceeds the {len(y_test_pool)} "
                f"examples of the {name} test split{' in classes ' + str(cls) if classes is not None else ''} "
                "(train and test are both drawn from it); lower n_train or n_test"
            )
        i_train, i_test = _stratified_indices(y_test_pool, len(cls), [n_train, n_test], rng)
        x_train, y_train = x_test_pool[i_train], y_test_pool[i_train]
        label = DATASET_LABELS.get(name, name)
        why = "has no train split" if name == "digits" else "train split is not available here"
        pool = f"{len(y_test_pool):,} images" + (f" of classes {', '.join(cls)}" if classes is not None else "")
        # in words only: the book prints the note, and a machine path must never reach it (`source` keeps it)
        note = (
            f"The {label} {why}, so the {n_train:,} training and {n_test:,} test examples were both drawn, "
            f"disjointly, from the {label} test split ({pool})."
        )
        source = test.source
    else:
        x_train_pool, y_train_pool, _ = _select_classes(train, classes)
        for label, n, pool in (("n_train", n_train, y_train_pool), ("n_test", n_test, y_test_pool)):
            if n > len(pool):
                raise ValueError(f"{label} = {n} exceeds the {len(pool)} available examples; lower it")
        (i_train,) = _stratified_indices(y_train_pool, len(cls), [n_train], rng)
        (i_test,) = _stratified_indices(y_test_pool, len(cls), [n_test], rng)
        x_train, y_train = x_train_pool[i_train], y_train_pool[i_train]
        source = f"train: {train.source}; test: {test.source}"
    return Split(
        x_train=flatten(x_train).astype(np.float64),
        y_train=y_train.astype(np.int64),
        x_test=flatten(x_test_pool[i_test]).astype(np.float64),
        y_test=y_test_pool[i_test].astype(np.int64),
        classes=tuple(cls),
        note=note,
        name=name,
        source=source,
    )


# -- content fingerprints (the result cache keys on the data a unit reads) ---------------------------------------

#: Seconds for which a fingerprint computed in this process is reused without looking at the files again (building
#: a sweep's units asks for the same split hundreds of times; a folder of 10,000 images takes ~50 ms to stat).
FINGERPRINT_REUSE_SECONDS = 2.0
_FINGERPRINTS: dict[tuple, tuple[float, str, str]] = {}  # (root, cache, name, split) -> (when, signature, fp)


def _split_signature(name: str, split: str, root: Path | None, cache: Path) -> str:
    """Hash of every file `load(name, split)` may read: relative path, size and mtime (ns) under the data set's
    offline folder (authoritative when it exists) or its download folder; for digits, scikit-learn's version."""
    h = hashlib.sha256(f"{_FORMAT_VERSION}|{name}|{split}".encode())
    if name == "digits":
        from importlib.metadata import version

        h.update(f"|sklearn {version('scikit-learn')}".encode())
        return h.hexdigest()
    folder = root / name if root is not None and (root / name).is_dir() else cache / "downloads" / name
    h.update(f"|{folder.resolve()}".encode())
    if folder.is_dir():
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames.sort()
            for fname in sorted(filenames):
                path = Path(dirpath) / fname
                st = path.stat()
                h.update(f"|{path.relative_to(folder).as_posix()}|{st.st_size}|{st.st_mtime_ns}".encode())
    return h.hexdigest()


def _content_fingerprint(name: str, split: str, data_dir, cache_dir) -> str:
    """SHA-256 of what `load(name, split)` returns (pixels, labels, class names); "absent" when the split is not
    there (so a folder that gains a split changes the fingerprint)."""
    try:
        ds = load(name, split, data_dir=data_dir, cache_dir=cache_dir, download=False)
    except FileNotFoundError:
        return "absent"
    h = hashlib.sha256()
    for array in (np.ascontiguousarray(ds.images), np.ascontiguousarray(ds.labels)):
        h.update(f"{array.dtype.str}{array.shape}".encode())
        h.update(array.tobytes())
    h.update(repr(tuple(ds.classes)).encode())
    return h.hexdigest()


def fingerprint(name: str, split: str, *, data_dir=None, cache_dir=None) -> str:
    """A content fingerprint of one split of a data set: the SHA-256 of its pixels, labels and class names as
    `load(name, split)` returns them, or "absent" when that split is not available (no download is attempted).

    Computed once per data folder: the value is stored under `<cache>/fingerprints/`, keyed by the paths, sizes
    and modification times of the files that split may be read from, so a changed, added or removed file is hashed
    again and an unchanged folder is only stat-ed. "synthetic" data are generated from their parameters: "".
    """
    name, split = _canonical_name(name), _canonical_split(split)
    if name == "synthetic":
        return ""
    root, cache = _data_root(data_dir), cache_root(cache_dir)
    memo_key = (str(root), str(cache), name, split)
    now = time.monotonic()
    hit = _FINGERPRINTS.get(memo_key)
    if hit is not None and now - hit[0] < FINGERPRINT_REUSE_SECONDS:
        return hit[2]
    signature = _split_signature(name, split, root, cache)
    if hit is not None and hit[1] == signature:
        _FINGERPRINTS[memo_key] = (now, signature, hit[2])
        return hit[2]
    stored = cache / "fingerprints" / f"{signature[:32]}.txt"
    try:
        value = stored.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        value = ""
    if not (value == "absent" or (len(value) == 64 and all(c in "0123456789abcdef" for c in value))):
        try:
            value = _content_fingerprint(name, split, data_dir, cache_dir)
        except ValueError:  # unknown name or a file that does not parse: the unit that reads it will say so when
            # it runs; its key follows the files (not stored: a fixed parser must look at them again)
            value = f"unreadable-{signature[:32]}"
            _FINGERPRINTS[memo_key] = (now, signature, value)
            return value
        try:  # only a speed-up: a cache folder that cannot be written just means hashing again next time
            stored.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", dir=stored.parent, prefix=".", suffix=".tmp", delete=False) as f:
                f.write(value)
            os.replace(f.name, stored)
        except OSError:
            pass
    _FINGERPRINTS[memo_key] = (now, signature, value)
    return value


def split_reads(*names: str) -> tuple[tuple[str, str], ...]:
    """The (data set, split) pairs `train_test_split(name, ...)` reads for each of `names`: its train split when
    there is one, else its test split, and the test split (a `ntkbook.runner.Unit`'s `reads`)."""
    return tuple((name, split) for name in names for split in _SPLITS)
