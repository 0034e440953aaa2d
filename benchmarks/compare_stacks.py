"""Compare the book's numbers on two numeric stacks: chapters 1 and 2 at the quick profile, and chapter 3's first
quick units, computed in two Python environments (each with its own ntkbook source), then every numeric column of
every result table compared. Writes benchmarks/results/stack_comparison.md.

Run by hand, e.g. (old: the previous pinned stack and its source; new: this checkout and .venv):

    .venv/bin/python benchmarks/compare_stacks.py --old-python /path/to/old/.venv/bin/python \
        --old-src /path/to/old/src [--new-python .venv/bin/python --new-src src]

Each environment runs `collect` in a subprocess with its own source first on PYTHONPATH, a fresh result cache
(nothing read from an earlier run) and the same data folder (NTKBOOK_DATA), and pickles {table name: DataFrame}.
Per table and numeric column: the largest absolute difference, and the largest relative difference
|new - old| / max(|old|, tiny) over the entries, with the rows matched by position (both stacks build the same
tables in the same order; a shape mismatch is reported, not hidden).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "stack_comparison.md"
#: chapter 3's units to compare: the first few run units of the quick profile (each trains two protocols)
NTK_DISTANCE_UNITS = 2
#: columns that hold wall times, not results (they differ from run to run on any stack)
TIMING_COLUMNS = ("seconds",)


def collect(out: Path, cache_dir: Path) -> None:
    """Compute the compared tables in this environment and pickle them, with the stack's versions, to `out`."""
    import jax
    import numpy as np
    import pandas as pd

    from ntkbook.experiments import gram_kernel, ntk_distance, spectral

    tables: dict[str, pd.DataFrame] = {}
    for name, module, spec_class in (("ch1", gram_kernel, gram_kernel.GramKernelSpec),
                                     ("ch2", spectral, spectral.SpectralSpec)):
        frames = module.results(spec_class.resolve("quick"), cache_dir=cache_dir, refresh=True)
        for part, frame in frames.items():
            tables[f"{name} {part}"] = frame
    spec = ntk_distance.NtkDistanceSpec.resolve("quick")
    runs = [u for u in ntk_distance.units(spec) if u.kind == ntk_distance.KIND_RUN][:NTK_DISTANCE_UNITS]
    for unit in runs:
        p = unit.params
        tables[f"ch3 {p['arch']} width {p['width']} seed {p['seed']}"] = unit.fn(**unit.params)
    # the generator behind every weight initialisation: float32 standard normals as the networks draw them
    draws = np.asarray(jax.random.normal(jax.random.PRNGKey(0), (1000, 784)), np.float64).ravel()
    tables["jax.random.normal, float32, key 0"] = pd.DataFrame({"draw": draws})
    versions = {"python": sys.version.split()[0], "jax": jax.__version__, "numpy": np.__version__}
    with open(out, "wb") as fh:
        pickle.dump({"versions": versions, "tables": tables}, fh)


def compare(old: dict, new: dict) -> list[dict]:
    """Rows (table, column, n, max abs diff, max rel diff, note) over the numeric columns both tables share."""
    import numpy as np
    import pandas as pd

    rows = []
    for name, a in old["tables"].items():
        b = new["tables"].get(name)
        if b is None:
            rows.append({"table": name, "column": "–", "n": 0, "differ": 0, "abs": np.nan, "rel": np.nan,
                         "note": "missing in new"})
            continue
        if a.shape[0] != b.shape[0]:
            rows.append({"table": name, "column": "–", "n": 0, "differ": 0, "abs": np.nan, "rel": np.nan,
                         "note": f"rows differ: {a.shape[0]} vs {b.shape[0]}"})
            continue
        for col in a.columns:
            if (col not in b.columns or col in TIMING_COLUMNS or not pd.api.types.is_numeric_dtype(a[col])
                    or pd.api.types.is_bool_dtype(a[col])):
                continue
            x = a[col].to_numpy(np.float64)
            y = b[col].to_numpy(np.float64)
            both = np.isfinite(x) & np.isfinite(y)
            same_nonfinite = bool(np.all((np.isfinite(x) == np.isfinite(y)) & (np.isnan(x) == np.isnan(y))))
            d = np.abs(x[both] - y[both])
            rel = d / np.maximum(np.abs(x[both]), np.finfo(np.float64).tiny)
            rows.append({"table": name, "column": str(col), "n": int(both.sum()), "differ": int((d != 0).sum()),
                         "abs": float(d.max()) if d.size else 0.0, "rel": float(rel.max()) if rel.size else 0.0,
                         "note": "" if same_nonfinite else "non-finite entries differ"})
    return rows


def _run(python: str, src: str, out: Path, data: str | None) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(src).resolve()), "NTKBOOK_PROGRESS": "0"}
    if data:
        env["NTKBOOK_DATA"] = data
    with tempfile.TemporaryDirectory() as cache:
        subprocess.run([python, str(Path(__file__).resolve()), "--collect", str(out), "--cache-dir", cache],
                       env=env, check=True)


def report(old: dict, new: dict, rows: list[dict]) -> str:
    import numpy as np

    def fmt(v):
        return "–" if v != v else ("0" if v == 0 else f"{v:.1e}")

    changed = [r for r in rows if r["abs"] != 0 or r["note"]]
    same = len(rows) - len(changed)
    ov, nv = old["versions"], new["versions"]
    lines = [
        "## The book's numbers on the previous and the current numeric stack",
        "",
        f"Recorded {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC by `benchmarks/compare_stacks.py`: previous stack "
        f"Python {ov['python']}, JAX {ov['jax']}, numpy {ov['numpy']}; current stack Python {nv['python']}, "
        f"JAX {nv['jax']}, numpy {nv['numpy']}. Compared: every numeric column of chapter 1's and chapter 2's "
        f"result tables at the quick profile, of chapter 3's first {NTK_DISTANCE_UNITS} quick units (wall times "
        f"left out) and of JAX's float32 normal draws "
        f"({len(rows)} columns in {len({r['table'] for r in rows})} tables). {same} columns are identical to the "
        f"last bit; the others, largest relative difference first:",
        "",
        "| table | column | entries | entries that differ | max abs. diff. | max rel. diff. | note |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for r in sorted(changed, key=lambda r: -(r["rel"] if r["rel"] == r["rel"] else np.inf)):
        column = r["column"].replace("|", "\\|")  # a literal bar inside a Markdown table cell
        lines.append(f"| {r['table']} | {column} | {r['n']} | {r['differ']} | {fmt(r['abs'])} | {fmt(r['rel'])} "
                     f"| {r['note']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collect", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--cache-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--old-python", help="the previous environment's python")
    parser.add_argument("--old-src", help="the previous ntkbook source folder (holding ntkbook/)")
    parser.add_argument("--new-python", default=sys.executable)
    parser.add_argument("--new-src", default=str(Path(__file__).resolve().parents[1] / "src"))
    parser.add_argument("--keep", type=Path, help="keep each side's pickled tables in this folder and reuse them")
    parser.add_argument("--no-write", action="store_true", help="print the table without writing it")
    args = parser.parse_args()
    if args.collect:
        collect(args.collect, args.cache_dir)
        return
    if not (args.old_python and args.old_src):
        parser.error("give --old-python and --old-src (the previous stack and its source)")
    data = os.environ.get("NTKBOOK_DATA")
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        old_out, new_out = folder / "old.pkl", folder / "new.pkl"
        for python, src, out in ((args.old_python, args.old_src, old_out), (args.new_python, args.new_src, new_out)):
            if not out.exists():
                _run(python, src, out, data)
        old, new = (pickle.loads(p.read_bytes()) for p in (old_out, new_out))
    text = report(old, new, compare(old, new))
    print(text)
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(text)
        print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
