"""Benchmark: how long each chapter takes as a reader runs it, the whole notebook under papermill, from an empty
result cache and an empty result store (so every unit is computed). Writes benchmarks/results/chapters.md; the
numbers it prints are what each chapter's spec records in `MEASURED_SECONDS` (ntkbook.specs.<chapter>) and what
the README's table shows.

Run by hand on a quiet machine: `.venv/bin/python benchmarks/bench_chapters.py [--profiles quick default]
[--chapters gram-kernel ...]` (the default profile of every chapter takes about half an hour on 2 cores). Per
run it records the wall seconds and the CPU seconds (user + system of the papermill process and everything it
started, from `resource.getrusage(RUSAGE_CHILDREN)`), and the machine's load average at the start, which says
whether the machine was quiet.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "chapters.md"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_chapter(document: str, profile: str, scratch: Path) -> dict:
    """Run book/<document>.ipynb at `profile` under papermill with a fresh cache and store under `scratch`."""
    # NTKBOOK_PROFILE, not `-p profile`: a chapter given "default" renders the profile the book's configuration names
    # for it (ntkbook.notebook.book_profile), which is `decisive` for most chapters
    env = {**os.environ, "NTKBOOK_CACHE": os.fspath(scratch / "cache"), "NTKBOOK_STORE": os.fspath(scratch / "store"),
           "NTKBOOK_PROFILE": profile}
    (scratch / "store").mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]
    cpu0, start = _children_cpu(), time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "papermill", f"book/{document}.ipynb",
                           os.fspath(scratch / f"{document}.ipynb"), "-p", "profile", profile, "--cwd", "book"],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - start, _children_cpu() - cpu0
    if done.returncode != 0:
        raise RuntimeError(f"{document} at {profile} failed:\n{done.stderr[-3000:]}")
    return {"chapter": document, "profile": profile, "wall_s": wall, "cpu_s": cpu, "load_at_start": load}


_HEADER = "| chapter | profile | date | wall (s) | CPU (s) | load at start |"


def _row_line(r: dict) -> str:
    return (f"| {r['chapter']} | {r['profile']} | {r.get('date', dt.date.today().isoformat())} | {r['wall_s']:.0f} | "
            f"{r['cpu_s']:.0f} | {r['load_at_start']:.1f} |")


def write_rows(rows: list[dict]) -> None:
    """Merge `rows` into RESULTS: a (chapter, profile) measured now replaces its earlier line, the others stay."""
    kept = {}
    if RESULTS.exists():
        for line in RESULTS.read_text().splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if line.startswith("| ") and len(cells) == 6 and cells[0] not in ("chapter", "---"):
                kept[(cells[0], cells[1])] = line
    for r in rows:
        kept[(r["chapter"], r["profile"])] = _row_line(r)
    lines = ["## Chapter run times", "",
             f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}: each chapter's notebook "
             "under papermill (`NTKBOOK_PROFILE` names the profile) from an empty result cache and store; CPU is user + "
             "system of papermill and its kernel.", "", _HEADER, "|---|---|---|---|---|---|",
             *[kept[k] for k in sorted(kept)], ""]
    RESULTS.write_text("\n".join(lines))


def main(argv=None) -> int:
    from ntkbook.sweeps import SWEEPS

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", nargs="+", default=["quick", "default"])
    parser.add_argument("--chapters", nargs="+", default=list(SWEEPS), choices=list(SWEEPS))
    args = parser.parse_args(argv)
    rows = []
    for name in args.chapters:
        for profile in args.profiles:
            with tempfile.TemporaryDirectory(prefix="ntkbook-bench-") as tmp:
                row = time_chapter(SWEEPS[name].document, profile, Path(tmp))
            rows.append(row)
            print(f"{row['chapter']:28s} {profile:8s} wall {row['wall_s']:7.1f} s  cpu {row['cpu_s']:7.1f} s  "
                  f"load {row['load_at_start']:.1f}", flush=True)
    write_rows(rows)
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
