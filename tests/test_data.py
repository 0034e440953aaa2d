"""Tests for ntkbook.data: parsers, lookup, caching, downloads (fake fetcher, no network), errors, sampling,
synthetic spectra, and the real MNIST/CIFAR-10 test splits (marked realdata)."""

import gzip
import hashlib
import io
import os
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
import requests
from PIL import Image

import ntkbook  # noqa: F401  (quiet TensorFlow first)
from ntkbook import _data_formats as fmt
from ntkbook import data

# ------------------------------------------------------------------------------------------------ tiny files


def idx_bytes(arr: np.ndarray) -> bytes:
    """The IDX encoding of a uint8 array: 00 00 08 ndim, big-endian sizes, data."""
    arr = np.asarray(arr, dtype=np.uint8)
    return bytes([0, 0, 8, arr.ndim]) + np.array(arr.shape, dtype=">u4").tobytes() + arr.tobytes()


def tiny_mnist(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(images (n, 28, 28) uint8, labels (n,) cycling 0..9): image i has pixel [0, 0] = i for identification."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    images[:, 0, 0] = np.arange(n) % 256
    return images, (np.arange(n) % 10).astype(np.uint8)


def write_mnist(folder: Path, split: str, images, labels, *, gz: bool = True) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    prefix = "train" if split == "train" else "t10k"
    out = []
    for kind, arr in (("images-idx3", images), ("labels-idx1", labels)):
        path = folder / (f"{prefix}-{kind}-ubyte" + (".gz" if gz else ""))
        blob = idx_bytes(arr)
        path.write_bytes(gzip.compress(blob) if gz else blob)
        out.append(path)
    return out


def cifar_batch(n: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return {
        b"data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8),
        b"labels": [int(v) for v in rng.integers(0, 10, size=n)],
        b"batch_label": b"tiny",
    }


def write_png(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(arr, dtype=np.uint8)).save(path)


def write_folder(split_dir: Path, classes, per_class: int, shape=(6, 5, 3), seed: int = 0) -> dict:
    """PNG image folder; returns {path: array} for checking pixels."""
    rng = np.random.default_rng(seed)
    written = {}
    for cls in classes:
        for i in range(per_class):
            arr = rng.integers(0, 256, size=shape, dtype=np.uint8)
            path = split_dir / cls / f"img{i}.png"
            write_png(path, arr)
            written[path] = arr
    return written


@pytest.fixture(autouse=True)
def isolated_env(request, tmp_path, monkeypatch):
    """Tiny-file tests: no NTKBOOK_DATA, a fresh cache per test. Real-data tests keep the environment."""
    if request.node.get_closest_marker("realdata"):
        return
    monkeypatch.delenv("NTKBOOK_DATA", raising=False)
    monkeypatch.setenv("NTKBOOK_CACHE", str(tmp_path / "cache"))


def fail_download(*args, **kwargs):
    raise AssertionError("no download expected")


# ------------------------------------------------------------------------------------------------------- IDX


@pytest.mark.parametrize("gz", [True, False])
def test_read_idx_round_trip(tmp_path, gz):
    images, labels = tiny_mnist(7)
    p_img, p_lab = write_mnist(tmp_path, "test", images, labels, gz=gz)
    np.testing.assert_array_equal(fmt.read_idx(p_img), images)
    np.testing.assert_array_equal(fmt.read_idx(p_lab), labels)


def test_read_idx_other_dtype(tmp_path):
    arr = np.arange(6, dtype=">i4").reshape(2, 3)
    path = tmp_path / "x.idx"
    path.write_bytes(bytes([0, 0, 0x0C, 2]) + np.array([2, 3], dtype=">u4").tobytes() + arr.tobytes())
    out = fmt.read_idx(path)
    assert out.dtype == np.int32 and out.dtype.byteorder in ("=", "<", "|")
    np.testing.assert_array_equal(out, arr)


def test_bad_idx_magic(tmp_path):
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(b"<html>not found</html>")
    with pytest.raises(ValueError, match="bad magic number"):
        fmt.read_idx(path)


@pytest.mark.parametrize("gz", [True, False])
def test_truncated_idx(tmp_path, gz):
    images, _ = tiny_mnist(5)
    blob = idx_bytes(images)[:-7]
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(gzip.compress(blob) if gz else blob)
    with pytest.raises(ValueError, match="truncated") as err:
        fmt.read_idx(path)
    assert str(path) in str(err.value)


def test_corrupt_gzip(tmp_path):
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(tiny_mnist(3)[0]))[:30])
    with pytest.raises(ValueError, match="could not be read"):
        fmt.read_idx(path)


# --------------------------------------------------------------------------------------------- load: MNIST


@pytest.mark.parametrize("gz", [True, False])
def test_load_mnist_offline(tmp_path, gz):
    images, labels = tiny_mnist(12)
    write_mnist(tmp_path / "mnist", "test", images, labels, gz=gz)
    ds = data.load("mnist", "t10k", data_dir=tmp_path)
    assert ds.split == "test" and ds.name == "mnist" and ds.classes == data.MNIST_CLASSES
    assert ds.images.dtype == np.float32 and ds.images.shape == (12, 28, 28)
    assert ds.labels.dtype == np.int64
    np.testing.assert_array_equal(ds.labels, labels)
    np.testing.assert_allclose(ds.images, images / 255.0, rtol=1e-6)
    assert 0.0 <= ds.images.min() and ds.images.max() <= 1.0


def test_mnist_dotted_file_names(tmp_path):
    images, labels = tiny_mnist(6)
    for path in write_mnist(tmp_path / "mnist", "test", images, labels, gz=False):
        path.rename(path.with_name(path.name.replace("-idx", ".idx")))
    np.testing.assert_array_equal(data.load("mnist", "test", data_dir=tmp_path).labels, labels)


def test_image_folder_missing_split_lists_present_ones(tmp_path):
    write_folder(tmp_path / "toy" / "test", ["a"], per_class=1)
    with pytest.raises(FileNotFoundError, match=r"splits present: \['test'\]"):
        data.load("toy", "train", data_dir=tmp_path)


def test_load_reads_env_var(tmp_path, monkeypatch):
    write_mnist(tmp_path / "mnist", "test", *tiny_mnist(4))
    monkeypatch.setenv("NTKBOOK_DATA", str(tmp_path))
    assert len(data.load("mnist", "test")) == 4


def test_mnist_images_labels_mismatch(tmp_path):
    images, labels = tiny_mnist(6)
    write_mnist(tmp_path / "mnist", "test", images, labels[:5])
    with pytest.raises(ValueError, match="labels for 6 images"):
        data.load("mnist", "test", data_dir=tmp_path)


def test_mnist_label_out_of_range(tmp_path):
    images, labels = tiny_mnist(3)
    write_mnist(tmp_path / "mnist", "test", images, np.array([1, 2, 11], dtype=np.uint8))
    with pytest.raises(ValueError, match=r"labels must lie in 0\.\.9"):
        data.load("mnist", "test", data_dir=tmp_path)


def test_missing_train_split_lists_where_it_looked(tmp_path, monkeypatch):
    write_mnist(tmp_path / "mnist", "test", *tiny_mnist(4))
    monkeypatch.setattr(data, "_make_downloader", fail_download)
    with pytest.raises(FileNotFoundError) as err:
        data.load("mnist", "train", data_dir=tmp_path)
    msg = str(err.value)
    assert str(tmp_path / "mnist" / "train-images-idx3-ubyte[.gz]") in msg
    assert "downloads" in msg and "NTKBOOK_DATA" in msg and "allow_split_from_test" in msg


# ------------------------------------------------------------------------------------------- load: CIFAR-10


def test_cifar_batch_layout(tmp_path):
    batch = cifar_batch(3, seed=1)
    path = tmp_path / "test_batch"
    path.write_bytes(pickle.dumps(batch))
    images, labels = fmt.read_cifar_batch(path)
    assert images.shape == (3, 32, 32, 3) and images.dtype == np.uint8
    row = batch[b"data"][2]
    # pixel (r, c) of channel k sits at k * 1024 + r * 32 + c in a row
    for r, c, k in [(0, 0, 0), (5, 7, 1), (31, 30, 2)]:
        assert images[2, r, c, k] == row[k * 1024 + r * 32 + c]
    np.testing.assert_array_equal(labels, batch[b"labels"])


@pytest.mark.parametrize("layout", ["batches-py", "flat", "tarball"])
def test_load_cifar_offline(tmp_path, layout):
    batches = {f"data_batch_{i}": cifar_batch(2, seed=i) for i in range(1, 6)} | {
        "test_batch": cifar_batch(3, 9)
    }
    root = tmp_path / "cifar10"
    root.mkdir()
    if layout == "tarball":
        with tarfile.open(root / "cifar-10-python.tar.gz", "w:gz") as tar:
            for name, batch in batches.items():
                blob = pickle.dumps(batch)
                info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
                info.size = len(blob)
                tar.addfile(info, io.BytesIO(blob))
    else:
        folder = root / "cifar-10-batches-py" if layout == "batches-py" else root
        folder.mkdir(exist_ok=True)
        for name, batch in batches.items():
            (folder / name).write_bytes(pickle.dumps(batch))
    train = data.load("cifar10", "train", data_dir=tmp_path)
    test = data.load("cifar10", "test", data_dir=tmp_path)
    assert train.images.shape == (10, 32, 32, 3) and test.images.shape == (3, 32, 32, 3)
    assert train.classes == data.CIFAR10_CLASSES
    expected = np.concatenate([batches[f"data_batch_{i}"][b"labels"] for i in range(1, 6)])
    np.testing.assert_array_equal(train.labels, expected)
    first = batches["data_batch_1"][b"data"][0].reshape(3, 32, 32).transpose(1, 2, 0)
    np.testing.assert_allclose(train.images[0], first / 255.0, rtol=1e-6)


def test_not_a_cifar_batch(tmp_path):
    path = tmp_path / "test_batch"
    path.write_bytes(b"garbage, not a pickle")
    with pytest.raises(ValueError, match="not a readable CIFAR-10 python batch"):
        fmt.read_cifar_batch(path)
    path.write_bytes(pickle.dumps({b"data": np.zeros((2, 10), np.uint8), b"labels": [0, 1]}))
    with pytest.raises(ValueError, match=r"\(N, 3072\)"):
        fmt.read_cifar_batch(path)


# -------------------------------------------------------------------------------------------- image folders


def test_image_folder_custom_name(tmp_path):
    written = write_folder(tmp_path / "toy" / "train", ["cat", "dog", "emu"], per_class=3)
    ds = data.load("toy", "train", data_dir=tmp_path)
    assert ds.classes == ("cat", "dog", "emu")
    assert ds.images.shape == (9, 6, 5, 3)
    np.testing.assert_array_equal(ds.labels, np.repeat([0, 1, 2], 3))
    arr = written[tmp_path / "toy" / "train" / "dog" / "img1.png"]
    np.testing.assert_allclose(ds.images[4], arr / 255.0, rtol=1e-6)
    assert "image folder" in ds.source


def test_image_folder_natural_order_and_grayscale(tmp_path):
    split = tmp_path / "gray" / "test"
    for i in (10, 2, 1):
        write_png(split / "a" / f"{i}.png", np.full((3, 4), i, np.uint8))
    write_png(split / "b" / "x.png", np.zeros((3, 4), np.uint8))
    (split / "b" / "notes.txt").write_text("ignored")
    ds = data.load("gray", "test", data_dir=tmp_path)
    assert ds.images.shape == (4, 3, 4)  # grayscale stays (N, H, W)
    np.testing.assert_allclose(ds.images[:3, 0, 0] * 255, [1, 2, 10], atol=1e-4)


def test_image_folder_mixed_modes_promoted_to_rgb(tmp_path):
    split = tmp_path / "mix" / "test"
    write_png(split / "a" / "0.png", np.full((3, 4), 7, np.uint8))
    write_png(split / "a" / "1.png", np.full((3, 4, 3), 9, np.uint8))
    ds = data.load("mix", "test", data_dir=tmp_path)
    assert ds.images.shape == (2, 3, 4, 3)
    np.testing.assert_allclose(ds.images[0] * 255, 7, atol=1e-4)


def test_cifar_image_folder_uses_canonical_class_order(tmp_path):
    # folders created in reverse order; labels must follow data.CIFAR10_CLASSES
    for k, cls in enumerate(reversed(data.CIFAR10_CLASSES)):
        write_png(tmp_path / "cifar10" / "test" / cls / "0000.jpg", np.full((32, 32, 3), 9 - k, np.uint8))
    ds = data.load("cifar10", "test", data_dir=tmp_path)
    assert ds.classes == data.CIFAR10_CLASSES
    for label, img in zip(ds.labels, ds.images, strict=True):
        assert abs(img.mean() * 255 - label) < 1.5  # JPEG is lossy, but a flat image stays flat


def test_cifar_image_folder_wrong_classes(tmp_path):
    write_folder(tmp_path / "cifar10" / "test", ["airplane", "zebra"], per_class=1)
    with pytest.raises(ValueError, match="needs exactly"):
        data.load("cifar10", "test", data_dir=tmp_path)


def test_unreadable_image(tmp_path):
    write_folder(tmp_path / "toy" / "test", ["a", "b"], per_class=2)
    bad = tmp_path / "toy" / "test" / "b" / "broken.jpg"
    bad.write_bytes(b"\xff\xd8 this is not a jpeg")
    with pytest.raises(ValueError, match="not a readable image") as err:
        data.load("toy", "test", data_dir=tmp_path)
    assert "broken.jpg" in str(err.value)


def test_truncated_jpeg(tmp_path):
    path = tmp_path / "x.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(path)
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(ValueError, match="not a readable image"):
        fmt.read_image(path)


def test_mixed_image_sizes(tmp_path):
    write_folder(tmp_path / "toy" / "test", ["a"], per_class=2, shape=(6, 5, 3))
    write_png(tmp_path / "toy" / "test" / "b" / "big.png", np.zeros((7, 5, 3), np.uint8))
    with pytest.raises(ValueError, match="mixed sizes") as err:
        data.load("toy", "test", data_dir=tmp_path)
    assert "big.png" in str(err.value)


def test_empty_class_folder(tmp_path):
    write_folder(tmp_path / "toy" / "test", ["a"], per_class=1)
    (tmp_path / "toy" / "test" / "b").mkdir()
    with pytest.raises(ValueError, match="holds no .png"):
        data.load("toy", "test", data_dir=tmp_path)


def test_threaded_read_matches_one_by_one(tmp_path, monkeypatch):
    written = write_folder(tmp_path / "f", ["a", "b"], per_class=40)
    paths = list(written)
    monkeypatch.setattr(fmt, "CHUNK", 7)  # 80 files -> 12 chunks over 4 threads
    np.testing.assert_array_equal(fmt.read_images(paths, workers=4), fmt.read_images(paths, workers=1))
    np.testing.assert_array_equal(fmt.read_images(paths, workers=1), np.stack([written[p] for p in paths]))


# ------------------------------------------------------------------------------------------------- caching


def test_array_cache_is_used_and_invalidated(tmp_path, monkeypatch):
    split = tmp_path / "toy" / "test"
    write_folder(split, ["a", "b"], per_class=2)
    first = data.load("toy", "test", data_dir=tmp_path)
    cached = list((tmp_path / "cache" / "arrays").glob("toy-test-*.npz"))
    assert len(cached) == 1

    def no_parse(*a, **k):
        raise AssertionError("parsed again although the folder did not change")

    monkeypatch.setattr(fmt, "read_images", no_parse)
    again = data.load("toy", "test", data_dir=tmp_path)
    np.testing.assert_array_equal(again.images, first.images)
    np.testing.assert_array_equal(again.labels, first.labels)
    assert again.classes == first.classes

    monkeypatch.undo()
    monkeypatch.delenv("NTKBOOK_DATA", raising=False)
    monkeypatch.setenv("NTKBOOK_CACHE", str(tmp_path / "cache"))
    write_png(split / "b" / "img9.png", np.zeros((6, 5, 3), np.uint8))  # a changed folder is parsed again
    assert len(data.load("toy", "test", data_dir=tmp_path)) == 5


def test_corrupt_array_cache_is_parsed_again(tmp_path):
    write_mnist(tmp_path / "mnist", "test", *tiny_mnist(4))
    data.load("mnist", "test", data_dir=tmp_path)
    (cached,) = (tmp_path / "cache" / "arrays").glob("mnist-test-*.npz")
    cached.write_bytes(b"PK garbage")
    with pytest.warns(UserWarning, match="ignoring the array cache"):
        assert len(data.load("mnist", "test", data_dir=tmp_path)) == 4
    assert len(data.load("mnist", "test", data_dir=tmp_path)) == 4  # rewritten: no warning now
    assert not list((tmp_path / "cache" / "arrays").glob("*.tmp"))


def test_changed_mtime_reparses(tmp_path):
    images, labels = tiny_mnist(5)
    p_img, _ = write_mnist(tmp_path / "mnist", "test", images, labels)
    data.load("mnist", "test", data_dir=tmp_path)
    images2 = images.copy()
    images2[0, 1, 1] = 255 - images2[0, 1, 1]
    p_img.write_bytes(gzip.compress(idx_bytes(images2)))
    os.utime(p_img, ns=(1, 10**18))
    ds = data.load("mnist", "test", data_dir=tmp_path)
    assert ds.images[0, 1, 1] * 255 == pytest.approx(images2[0, 1, 1], abs=1e-3)


def test_explicit_cache_dir(tmp_path):
    write_mnist(tmp_path / "mnist", "test", *tiny_mnist(4))
    data.load("mnist", "test", data_dir=tmp_path, cache_dir=tmp_path / "elsewhere")
    assert list((tmp_path / "elsewhere" / "arrays").glob("mnist-test-*.npz"))


# ------------------------------------------------------------------------------------------------ downloads


class FakeDownloader:
    """A pooch downloader serving bytes from a dict keyed by file name; records every URL it was asked for."""

    def __init__(self, files: dict, fail_hosts=()):
        self.files, self.fail_hosts, self.calls = files, fail_hosts, []

    def __call__(self, url, output_file, pooch_obj):
        self.calls.append(url)
        if any(h in url for h in self.fail_hosts):
            raise requests.ConnectionError(f"no route to {url}")
        Path(output_file).write_bytes(self.files[url.rsplit("/", 1)[1]])


def md5(blob: bytes) -> str:
    return hashlib.md5(blob).hexdigest()


def sha256(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


@pytest.fixture
def fake_mnist(monkeypatch):
    """Pin tiny MNIST files' MD5s and SHA-256s in place of the canonical ones; return (blobs, images, labels)."""
    images, labels = tiny_mnist(20)
    blobs = {
        "t10k-images-idx3-ubyte.gz": gzip.compress(idx_bytes(images)),
        "t10k-labels-idx1-ubyte.gz": gzip.compress(idx_bytes(labels)),
    }
    files = dict(data.MNIST_FILES)
    for part in ("images", "labels"):
        name = files[("test", part)][0]
        files[("test", part)] = (name, md5(blobs[name]), sha256(blobs[name]))
    monkeypatch.setattr(data, "MNIST_FILES", files)
    return blobs, images, labels


def test_pinned_checksums_are_well_formed_and_distinct():
    pins = [*data.MNIST_FILES.values(), data.CIFAR10_TARBALL]
    for name, md5_pin, sha_pin in pins:
        assert name.endswith(".gz")
        assert len(md5_pin) == 32 and int(md5_pin, 16) >= 0, name
        assert len(sha_pin) == 64 and int(sha_pin, 16) >= 0, name
    assert len({p[1] for p in pins}) == len(pins) and len({p[2] for p in pins}) == len(pins)


def test_download_must_match_both_pins(tmp_path, monkeypatch, fake_mnist):
    blobs, _, _ = fake_mnist
    files = dict(data.MNIST_FILES)
    name, _, sha = files[("test", "images")]
    files[("test", "images")] = (name, "0" * 32, sha)  # right SHA-256, wrong MD5
    monkeypatch.setattr(data, "MNIST_FILES", files)
    with pytest.raises(ValueError, match="has the pinned SHA-256 .* but not the pinned MD5 0{32}"):
        data.download("mnist", "test", downloader=FakeDownloader(blobs))


def test_download_then_load_from_cache(tmp_path, monkeypatch, fake_mnist):
    blobs, images, labels = fake_mnist
    fake = FakeDownloader(blobs)
    monkeypatch.setattr(data, "_make_downloader", lambda: fake)
    ds = data.load("mnist", "test")
    assert len(fake.calls) == 2 and fake.calls[0].startswith(data.MNIST_MIRRORS[0])
    np.testing.assert_array_equal(ds.labels, labels)
    assert (tmp_path / "cache" / "downloads" / "mnist" / "t10k-images-idx3-ubyte.gz").is_file()
    assert "downloaded" in ds.source
    data.load("mnist", "test")  # second time: no download
    assert len(fake.calls) == 2


def test_download_falls_back_to_second_mirror(tmp_path, fake_mnist):
    blobs, _, _ = fake_mnist
    fake = FakeDownloader(blobs, fail_hosts=("storage.googleapis.com",))
    paths = data.download("mnist", "test", downloader=fake)
    assert [p.name for p in paths] == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    assert any(data.MNIST_MIRRORS[1] in u for u in fake.calls)


def test_download_no_mirror_answers(tmp_path, fake_mnist):
    fake = FakeDownloader(fake_mnist[0], fail_hosts=("http",))
    with pytest.raises(ConnectionError, match="could not download t10k-images") as err:
        data.download("mnist", "test", downloader=fake)
    assert "NTKBOOK_DATA" in str(err.value)


def test_checksum_mismatch_redownloads_once_then_fails(tmp_path, fake_mnist):
    blobs, _, _ = fake_mnist
    bad = FakeDownloader({k: v + b"tampered" for k, v in blobs.items()})
    with pytest.raises(ValueError, match="checksum mismatch for t10k-images-idx3-ubyte.gz") as err:
        data.download("mnist", "test", downloader=bad)
    assert f"from {data.MNIST_MIRRORS[0]}t10k-images-idx3-ubyte.gz and" in str(err.value)
    assert len(bad.calls) == 2  # downloaded once more, then failed
    assert not (tmp_path / "cache" / "downloads" / "mnist" / "t10k-images-idx3-ubyte.gz").exists()


def test_corrupt_cached_download_is_replaced(tmp_path, fake_mnist):
    blobs, _, _ = fake_mnist
    folder = tmp_path / "cache" / "downloads" / "mnist"
    folder.mkdir(parents=True)
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(b"half a file")
    fake = FakeDownloader(blobs)
    paths = data.download("mnist", "test", downloader=fake)
    assert paths[0].read_bytes() == blobs["t10k-images-idx3-ubyte.gz"]
    assert paths[1].read_bytes() == blobs["t10k-labels-idx1-ubyte.gz"]


def test_download_over_file_url(tmp_path, monkeypatch, fake_mnist):
    """The real pooch retrieve path end to end, with a file:// mirror served by a minimal local downloader."""
    blobs, _, labels = fake_mnist
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for name, blob in blobs.items():
        (mirror / name).write_bytes(blob)

    def file_downloader(url, output_file, pooch_obj):
        assert url.startswith("file://")
        Path(output_file).write_bytes(Path(url.removeprefix("file://")).read_bytes())

    monkeypatch.setattr(data, "MNIST_MIRRORS", (mirror.as_uri() + "/",))
    monkeypatch.setattr(data, "_make_downloader", lambda: file_downloader)
    np.testing.assert_array_equal(data.load("mnist", "test").labels, labels)


def test_default_downloader_is_pooch_http_with_timeout(monkeypatch):
    import pooch

    monkeypatch.setenv("NTKBOOK_PROGRESS", "0")
    downloader = data._make_downloader()
    assert isinstance(downloader, pooch.HTTPDownloader)
    assert downloader.kwargs.get("timeout") == 60 and downloader.progressbar is False


def test_offline_folder_without_this_dataset_downloads_only_when_asked(tmp_path, monkeypatch, fake_mnist):
    blobs, _, labels = fake_mnist
    (tmp_path / "offline" / "cifar10").mkdir(parents=True)  # a data folder that has no mnist/
    fake = FakeDownloader(blobs)
    monkeypatch.setattr(data, "_make_downloader", lambda: fake)
    with pytest.raises(FileNotFoundError, match="data_dir="):
        data.load("mnist", "test", data_dir=tmp_path / "offline")
    assert fake.calls == []
    ds = data.load("mnist", "test", data_dir=tmp_path / "offline", download=True)
    np.testing.assert_array_equal(ds.labels, labels)
    assert len(fake.calls) == 2


def test_offline_folder_is_authoritative_no_download(tmp_path, monkeypatch):
    write_mnist(tmp_path / "mnist", "test", *tiny_mnist(4))
    monkeypatch.setattr(data, "_make_downloader", fail_download)
    with pytest.raises(FileNotFoundError, match="nothing is downloaded"):
        data.load("mnist", "train", data_dir=tmp_path)


# ---------------------------------------------------------------------------------------------- bad requests


def test_unknown_dataset():
    with pytest.raises(ValueError, match="unknown data set 'imagenet'") as err:
        data.load("imagenet", "test")
    assert "NTKBOOK_DATA" in str(err.value) and "mnist" in str(err.value)


def test_no_data_found_mentions_ntkbook_data():
    with pytest.raises(FileNotFoundError) as err:
        data.load("mnist", "test", download=False)
    msg = str(err.value)
    assert "NTKBOOK_DATA" in msg and "download=True" in msg
    assert "downloads" in msg and "t10k-images-idx3-ubyte.gz" in msg


def test_data_dir_not_a_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        data.load("mnist", "test", data_dir=tmp_path / "nope")


def test_bad_split_and_options(tmp_path):
    with pytest.raises(ValueError, match="splits 'train' and 'test'"):
        data.load("mnist", "validation", data_dir=tmp_path)
    with pytest.raises(ValueError, match="unknown keyword"):
        data.load("mnist", "test", n=3)


# ------------------------------------------------------------------------------------------------- digits


def test_digits():
    ds = data.load("digits", "test")
    assert ds.images.shape == (1797, 8, 8) and ds.images.dtype == np.float32
    assert ds.images.max() == 1.0 and ds.images.min() == 0.0
    assert ds.classes == data.MNIST_CLASSES and set(ds.labels) == set(range(10))
    with pytest.raises(FileNotFoundError, match="UCI optdigits"):
        data.load("digits", "train")
    s = data.train_test_split("digits", 100, 50, classes=("3", "8"), allow_split_from_test=True)
    assert s.x_train.shape == (100, 64) and "digits has no train split" in s.note
    assert s.x_train.max() == 1.0


# ----------------------------------------------------------------------------------------- preprocessing


def test_flatten_unit_rows_preprocess():
    rng = np.random.default_rng(0)
    images = rng.random((5, 3, 4, 2)).astype(np.float32)
    flat = data.flatten(images)
    assert flat.shape == (5, 24)
    z = data.preprocess(images)
    assert z.dtype == np.float64
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(z * np.linalg.norm(flat.astype(np.float64), axis=1)[:, None], flat, rtol=1e-6)


def test_unit_rows_zero_row():
    x = np.ones((3, 4))
    x[1] = 0
    with pytest.raises(ValueError, match="row 1 of 3 is all zeros"):
        data.unit_rows(x)
    with pytest.raises(ValueError, match="2-D"):
        data.unit_rows(np.ones((2, 2, 2)))


def test_signed_labels():
    np.testing.assert_array_equal(data.signed_labels([0, 1, 1]), [-1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="binary"):
        data.signed_labels([0, 2])


# -------------------------------------------------------------------------------------------------- splits


@pytest.fixture
def mnist_test_only(tmp_path):
    """A test split of 200 uniquely identifiable images (pixel [0,0] = i mod 256, pixel [0,1] = i // 256)."""
    images, labels = tiny_mnist(200)
    images[:, 0, 1] = np.arange(200) // 256
    labels = np.repeat(np.arange(10), [40, 30, 20, 20, 20, 20, 20, 10, 10, 10]).astype(np.uint8)
    write_mnist(tmp_path / "mnist", "test", images, labels)
    return tmp_path, images, labels


def ids(x: np.ndarray) -> np.ndarray:
    """Recover the image index from the two identifying pixels of a flattened 4x5 image in [0, 1]."""
    return np.rint(x[:, 0] * 255).astype(int) + 256 * np.rint(x[:, 1] * 255).astype(int)


def test_split_from_test_is_disjoint_stratified_and_noted(mnist_test_only):
    root, images, labels = mnist_test_only
    s = data.train_test_split("mnist", 100, 50, seed=3, allow_split_from_test=True, data_dir=root)
    assert s.x_train.shape == (100, 784) and s.x_test.shape == (50, 784)
    assert s.x_train.dtype == np.float64 and s.y_train.dtype == np.int64
    assert 0 <= s.x_train.min() and s.x_train.max() <= 1
    i_train, i_test = ids(s.x_train), ids(s.x_test)
    assert len(set(i_train)) == 100 and len(set(i_test)) == 50
    assert not set(i_train) & set(i_test)
    np.testing.assert_array_equal(s.y_train, labels[i_train])  # labels travel with their images
    np.testing.assert_array_equal(s.x_train, data.flatten(images[i_train]) / np.float32(255))
    # class proportions of the pool (20%, 15%, 10%, ..., 5%) are kept exactly here
    np.testing.assert_array_equal(np.bincount(s.y_train, minlength=10), [20, 15, 10, 10, 10, 10, 10, 5, 5, 5])
    np.testing.assert_array_equal(np.bincount(s.y_test, minlength=10), [10, 8, 5, 5, 5, 5, 5, 3, 2, 2])
    assert s.note == ("The MNIST train split is not available here, so the 100 training and 50 test examples were "
                      "both drawn, disjointly, from the MNIST test split (200 images).")
    assert str(root) not in s.note and str(root) in s.source  # the path is kept, but not where the book prints
    assert str(root) not in repr(s)
    assert s.classes == data.MNIST_CLASSES


def test_split_uses_every_example_when_asked(mnist_test_only):
    root, _, _ = mnist_test_only
    s = data.train_test_split("mnist", 150, 50, allow_split_from_test=True, data_dir=root)
    assert sorted(np.concatenate([ids(s.x_train), ids(s.x_test)])) == list(range(200))


def test_split_same_seed_same_split(mnist_test_only):
    root, _, _ = mnist_test_only
    a = data.train_test_split("mnist", 30, 20, seed=7, allow_split_from_test=True, data_dir=root)
    b = data.train_test_split("mnist", 30, 20, seed=7, allow_split_from_test=True, data_dir=root)
    c = data.train_test_split("mnist", 30, 20, seed=8, allow_split_from_test=True, data_dir=root)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(ids(a.x_train), ids(c.x_train))


def test_split_binary_classes_relabelled_in_given_order(mnist_test_only):
    root, _, labels = mnist_test_only
    s = data.train_test_split("mnist", 21, 9, classes=("8", "3"), allow_split_from_test=True, data_dir=root)
    assert s.classes == ("8", "3")
    orig = labels[ids(s.x_train)]
    assert set(orig) == {3, 8}
    np.testing.assert_array_equal(s.y_train, np.where(orig == 8, 0, 1))
    np.testing.assert_array_equal(np.bincount(s.y_train), [7, 14])  # pool: 10 eights, 20 threes
    np.testing.assert_array_equal(np.bincount(s.y_test), [3, 6])
    assert not set(ids(s.x_train)) & set(ids(s.x_test))


def test_split_too_large(mnist_test_only):
    root, _, _ = mnist_test_only
    with pytest.raises(ValueError, match=r"n_train \+ n_test = 150 \+ 51 = 201 exceeds the 200"):
        data.train_test_split("mnist", 150, 51, allow_split_from_test=True, data_dir=root)
    with pytest.raises(ValueError, match="exceeds the 30 examples"):
        data.train_test_split("mnist", 25, 6, classes=("3", "8"), allow_split_from_test=True, data_dir=root)


def test_split_unknown_class(mnist_test_only):
    root, _, _ = mnist_test_only
    with pytest.raises(ValueError, match=r"unknown class name\(s\) \['airplane'\]"):
        data.train_test_split(
            "mnist", 10, 10, classes=("3", "airplane"), allow_split_from_test=True, data_dir=root
        )
    with pytest.raises(ValueError, match="sequence of class names"):
        data.train_test_split("mnist", 10, 10, classes="38", allow_split_from_test=True, data_dir=root)


def test_split_requires_permission_without_train(mnist_test_only, monkeypatch):
    root, _, _ = mnist_test_only
    with pytest.raises(FileNotFoundError, match="allow_split_from_test=True"):
        data.train_test_split("mnist", 10, 10, data_dir=root)


def test_split_with_real_train_split(tmp_path):
    tr_images, tr_labels = tiny_mnist(60, seed=1)
    te_images, te_labels = tiny_mnist(40, seed=2)
    write_mnist(tmp_path / "mnist", "train", tr_images, tr_labels)
    write_mnist(tmp_path / "mnist", "test", te_images, te_labels)
    s = data.train_test_split("mnist", 50, 20, seed=0, data_dir=tmp_path)
    assert s.note == ""
    np.testing.assert_array_equal(np.bincount(s.y_train), [5] * 10)
    np.testing.assert_array_equal(np.bincount(s.y_test), [2] * 10)
    tr_rows = {r.tobytes() for r in data.flatten(tr_images)}
    assert all((np.rint(r * 255).astype(np.uint8)).tobytes() in tr_rows for r in s.x_train)
    with pytest.raises(ValueError, match="n_train = 61 exceeds the 60"):
        data.train_test_split("mnist", 61, 5, data_dir=tmp_path)


def test_allocate_reference():
    rng = np.random.default_rng(0)
    for _ in range(200):
        weights = rng.integers(0, 30, size=rng.integers(1, 8))
        if weights.sum() == 0:
            continue
        n = int(rng.integers(0, weights.sum() + 1))
        counts = data._allocate(n, weights)
        assert counts.sum() == n and (counts <= weights).all() and (counts >= 0).all()
        # largest remainder: every count is the floor or the ceiling of the proportional share
        share = n * weights / weights.sum()
        assert (counts >= np.floor(share)).all() and (counts <= np.ceil(share)).all()


# ---------------------------------------------------------------------------------------------- synthetic


@pytest.mark.parametrize("kappa", [1.0, 2.5, 10.0, 1e3, 1e4])
@pytest.mark.parametrize("n,d", [(1, 3), (20, 20), (30, 100)])
def test_synthetic_condition_number_exact(n, d, kappa):
    x = data.synthetic_gram_data(n, d, kappa, seed=1)
    assert x.shape == (n, d) and x.dtype == np.float64
    eig = np.linalg.eigvalsh(x @ x.T)
    assert eig[-1] / eig[0] == pytest.approx(kappa if n > 1 else 1.0, rel=1e-8)
    assert np.mean(np.sum(x**2, axis=1)) == pytest.approx(1.0, rel=1e-12)
    assert data.gram_condition_number(x, normalise=False) == pytest.approx(kappa if n > 1 else 1.0, rel=1e-8)


@pytest.mark.parametrize("kappa", [1e8, 1e12])
def test_synthetic_large_kappa_via_svd(kappa):
    x = data.synthetic_gram_data(50, 80, kappa, seed=0)
    assert data.gram_condition_number(x, normalise=False) == pytest.approx(kappa, rel=1e-8)


def test_synthetic_seeded_and_errors():
    a = data.synthetic_gram_data(5, 8, 10.0, seed=4)
    np.testing.assert_array_equal(a, data.synthetic_gram_data(5, 8, 10.0, seed=4))
    assert not np.allclose(a, data.synthetic_gram_data(5, 8, 10.0, seed=5))
    with pytest.raises(ValueError, match="n <= d"):
        data.synthetic_gram_data(9, 8, 10.0)
    with pytest.raises(ValueError, match=">= 1"):
        data.synthetic_gram_data(3, 8, 0.5)


def test_load_synthetic():
    train = data.load("synthetic", "train", n=10, d=15, kappa=50.0, seed=2)
    assert isinstance(train, data.SyntheticDataset) and train.kappa == 50.0
    np.testing.assert_array_equal(train.images, data.synthetic_gram_data(10, 15, 50.0, seed=2))
    assert train.classes == ("negative", "positive") and set(train.labels) <= {0, 1}
    test = data.load("synthetic", "test", n=10, d=15, kappa=50.0, seed=2, n_test=7)
    assert test.images.shape == (7, 15)
    # test rows live in the training rows' span
    proj = test.images @ np.linalg.pinv(train.images) @ train.images
    np.testing.assert_allclose(proj, test.images, atol=1e-10)
    with pytest.raises(ValueError, match="needs n=, d=, kappa="):
        data.load("synthetic", "train", n=3)
    with pytest.raises(ValueError, match="does not apply to synthetic"):
        data.train_test_split("synthetic", 3, 3)


def test_gram_condition_number_matches_eigvalsh():
    rng = np.random.default_rng(0)
    x = rng.random((12, 30))
    z = data.unit_rows(x)
    eig = np.linalg.eigvalsh(z @ z.T)
    assert data.gram_condition_number(x) == pytest.approx(eig[-1] / eig[0], rel=1e-9)
    # n > d: the effective condition number over the top d eigenvalues
    y = rng.random((30, 12))
    eig = np.linalg.eigvalsh(data.unit_rows(y) @ data.unit_rows(y).T)[::-1][:12]
    assert data.gram_condition_number(y) == pytest.approx(eig[0] / eig[-1], rel=1e-7)


# ---------------------------------------------------------------------------------------------- real data

MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.mark.realdata
def test_real_mnist_test_split(real_data_dir):
    ds = data.load("mnist", "test", data_dir=real_data_dir, download=False)
    assert ds.images.shape == (10_000, 28, 28)
    assert data.flatten(ds.images).shape == (10_000, 784)
    np.testing.assert_array_equal(np.bincount(ds.labels, minlength=10), MNIST_TEST_COUNTS)
    assert ds.images.min() == 0.0 and ds.images.max() == 1.0 and ds.images.dtype == np.float32


@pytest.mark.realdata
def test_real_cifar10_test_split(real_data_dir):
    ds = data.load("cifar10", "test", data_dir=real_data_dir, download=False)
    assert ds.images.shape == (10_000, 32, 32, 3)
    assert data.flatten(ds.images).shape == (10_000, 3072)
    assert ds.classes == data.CIFAR10_CLASSES
    np.testing.assert_array_equal(np.bincount(ds.labels, minlength=10), [1000] * 10)
    assert ds.images.min() >= 0.0 and ds.images.max() <= 1.0 and ds.images.dtype == np.float32


@pytest.mark.realdata
def test_real_train_split_missing_and_fallback(real_data_dir):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        data.load("mnist", "train", data_dir=real_data_dir)
    s = data.train_test_split(
        "cifar10",
        40,
        20,
        classes=("automobile", "airplane"),
        allow_split_from_test=True,
        data_dir=real_data_dir,
    )
    assert s.x_train.shape == (40, 3072) and "CIFAR-10 test split" in s.note
    assert str(real_data_dir) not in s.note and "/" not in s.note and str(real_data_dir) in s.source
    np.testing.assert_array_equal(np.bincount(s.y_train), [20, 20])


# ------------------------------------------------------------------------------- where offline data must be laid out


def _expand(pattern: str) -> list[str]:
    """Shell-like brace expansion of one path pattern: a{b,c}d -> abd, acd; {1..3} -> 1, 2, 3."""
    import re

    m = re.search(r"\{([^{}]*)\}", pattern)
    if m is None:
        return [pattern]
    items = []
    for part in m.group(1).split(","):
        rng = re.fullmatch(r"(.*?)(\d+)\.\.(\d+)", part)
        items += [f"{rng.group(1)}{i}" for i in range(int(rng.group(2)), int(rng.group(3)) + 1)] if rng else [part]
    return [x for item in items for x in _expand(pattern[:m.start()] + item + pattern[m.end():])]


def test_offline_layout_names_the_files_the_loader_reads():
    """Every file the layout line names is one the loader looks for, and every canonical file is named."""
    layout = data.OFFLINE_LAYOUT
    paths = {p for token in layout.replace(";", " ").split() for p in _expand(token.rstrip(".")) if "/" in p}
    mnist = {f"mnist/{data.MNIST_FILES[(split, part)][0]}" for split in ("train", "test")
             for part in ("images", "labels")}
    cifar = {f"cifar10/cifar-10-batches-py/{b}" for split in ("train", "test") for b in data._CIFAR10_BATCHES[split]}
    assert mnist | cifar | {f"cifar10/{data.CIFAR10_TARBALL[0]}"} <= paths
    assert "<name>/<split>/<class>/*.png|jpg" in layout and "NTKBOOK_DATA" in layout


def test_offline_layout_as_written_loads(tmp_path):
    """Files laid out exactly as the layout line says load (MNIST test, CIFAR-10 batches, an image folder)."""
    write_mnist(tmp_path / "mnist", "test", *tiny_mnist(4))
    batches = tmp_path / "cifar10" / "cifar-10-batches-py"
    batches.mkdir(parents=True)
    (batches / "test_batch").write_bytes(pickle.dumps(cifar_batch(3, seed=2)))
    write_folder(tmp_path / "shapes" / "test", ["a", "b"], 2)
    assert len(data.load("mnist", "test", data_dir=tmp_path)) == 4
    assert len(data.load("cifar10", "test", data_dir=tmp_path)) == 3
    assert len(data.load("shapes", "test", data_dir=tmp_path)) == 4


@pytest.mark.parametrize("case", ["offline", "no download", "not a folder", "split"])
def test_missing_data_error_ends_with_the_offline_layout(tmp_path, monkeypatch, case):
    monkeypatch.setattr(data, "_make_downloader", fail_download)
    with pytest.raises(FileNotFoundError) as err:
        if case == "offline":
            write_mnist(tmp_path / "mnist", "test", *tiny_mnist(4))
            data.load("mnist", "train", data_dir=tmp_path)
        elif case == "no download":
            data.load("cifar10", "test", download=False)
        elif case == "not a folder":
            data.load("mnist", "test", data_dir=tmp_path / "absent")
        else:
            write_mnist(tmp_path / "mnist", "test", *tiny_mnist(4))
            data.train_test_split("mnist", 2, 2, data_dir=tmp_path)
    lines = str(err.value).splitlines()
    assert lines[-1] == data.OFFLINE_LAYOUT
    assert data.OFFLINE_LAYOUT not in "\n".join(lines[:-1])  # said once
    if case == "split":
        assert "allow_split_from_test=True" in lines[-2]
