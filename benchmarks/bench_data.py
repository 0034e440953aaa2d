"""Benchmark: loading the CIFAR-10 and MNIST test splits with `ntkbook.data.load`, first time and cached,
against a plain one-by-one PIL loop, in the same run. Writes benchmarks/results/data_loading.md.

Run by hand: `NTKBOOK_DATA=../shared/data .venv/bin/python benchmarks/bench_data.py [--repeats 3]`.
The first load uses a fresh, empty cache folder (a temporary directory), so it includes decoding and writing
the parsed-array cache; the cached load reuses that folder. The operating system's file cache is not dropped
(that needs root), so "first load" means first for ntkbook, with the files possibly already in memory.
"""

import argparse
import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import PIL
from PIL import Image

from ntkbook import _data_formats as fmt
from ntkbook import data

RESULTS = Path(__file__).resolve().parent / "results" / "data_loading.md"


def timed(fn, *args, **kwargs):
    """(seconds, result) of one call of fn(*args, **kwargs)."""
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out


def naive_pil_loop(split_dir: Path) -> np.ndarray:
    """The plain reference: glob the class folders, open and decode each JPEG in turn, stack, scale."""
    arrays, labels = [], []
    for label, cls in enumerate(data.CIFAR10_CLASSES):
        for path in sorted((split_dir / cls).glob("*.jpg")):
            arrays.append(np.asarray(Image.open(path).convert("RGB")))
            labels.append(label)
    return np.stack(arrays).astype(np.float32) / 255.0, np.array(labels)


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        mine = ["src/ntkbook/data.py", "src/ntkbook/_data_formats.py", "benchmarks/bench_data.py"]
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", *mine]).returncode != 0
        return head + (" with uncommitted changes to the data code" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeats", type=int, default=3, help="timed repetitions of each measurement (median)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    root = os.environ.get("NTKBOOK_DATA")
    if not root or not (Path(root) / "cifar10" / "test").is_dir():
        sys.exit("set NTKBOOK_DATA to a folder holding cifar10/test/<class>/*.jpg and mnist/t10k-*")
    root = Path(root)
    rows = []
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")

    def record(what, method, seconds, shape, note=""):
        med = statistics.median(seconds)
        rows.append((what, method, med, min(seconds), shape, note))
        print(f"{what:38s} {method:44s} median {med:7.3f} s  min {min(seconds):7.3f} s", flush=True)

    for name, split_files in (("cifar10", "10,000 JPEGs"), ("mnist", "IDX .gz")):
        first, cached = [], []
        for _ in range(args.repeats):
            with tempfile.TemporaryDirectory() as cache:
                t, ds = timed(data.load, name, "test", data_dir=root, cache_dir=cache)
                first.append(t)
                for _ in range(args.repeats):
                    t, again = timed(data.load, name, "test", data_dir=root, cache_dir=cache)
                    cached.append(t)
                assert np.array_equal(ds.images, again.images) and np.array_equal(ds.labels, again.labels)
        shape = "x".join(map(str, ds.images.shape))
        record(f"{name} test ({split_files})", "ntkbook.data.load, first (empty cache)", first, shape)
        record(f"{name} test ({split_files})", "ntkbook.data.load, cached (.npz)", cached, shape)
        if name == "cifar10":
            split_dir = root / "cifar10" / "test"
            naive = []
            for _ in range(args.repeats):
                t, (x_ref, y_ref) = timed(naive_pil_loop, split_dir)
                naive.append(t)
            # the fast path must give exactly what the plain loop gives
            assert np.array_equal(x_ref, ds.images) and np.array_equal(y_ref, ds.labels)
            record(f"{name} test ({split_files})", "naive one-by-one PIL loop (reference)", naive, shape)
            _, files, _ = fmt.list_image_folder(split_dir)
            flat = [p for group in files for p in group]
            for workers in (1, 4, 8):
                times = [timed(fmt.read_images, flat, workers=workers)[0] for _ in range(args.repeats)]
                record(
                    f"{name} test ({split_files})",
                    f"decode only, read_images(workers={workers})",
                    times,
                    shape,
                )

    load_after = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "## Data loading",
        "",
        f"`benchmarks/bench_data.py`, run {now} at commit `{commit()}` on {platform.node() or 'this machine'}: "
        f"{cpu_name()}, {os.cpu_count()} logical CPUs (shared: 1-minute load average "
        f"{load_before:.1f} at the start, {load_after:.1f} at the end), "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}, Pillow {PIL.__version__}, "
        f"NumPy {np.__version__}. Median and best of {args.repeats} runs "
        f'({args.repeats}x{args.repeats} for cached loads). "First" loads start from an empty ntkbook cache folder; '
        "the OS file cache is not dropped. Targets (issue 3): CIFAR-10 first load < 15 s, cached reload < 1 s.",
        "",
        "| data | method | median (s) | best (s) | images |",
        "|---|---|---:|---:|---|",
    ]
    for what, method, med, best, shape, _ in rows:
        lines.append(f"| {what} | {method} | {med:.3f} | {best:.3f} | {shape} |")
    lines.append("")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
