"""Benchmark: the previous and the current numeric stack side by side, in one run. Writes
benchmarks/results/stacks.md.

Run by hand, e.g.:

    .venv/bin/python benchmarks/bench_stacks.py --old-python /path/to/old/.venv/bin/python \
        --old-src /path/to/old/src [--rounds 2]

Each environment runs the same measurements in a fresh subprocess (its own ntkbook source first on PYTHONPATH);
the two take turns for `--rounds` rounds (old, new, old, new, ...) so that both see the same machine load, and the
best time of each measurement over the rounds is reported. Measured, float32 (the definitions of
`benchmarks/bench_scale.py` and `benchmarks/bench_ntk.py`):

- matmul peak: a jitted N x N matmul, N in 1024 and 2048, best GFLOP/s (2 N^3 flop per call);
- empirical NTK: `ntkbook.models.empirical_ntk` (n = 500, d = 784, m = 1024), cold (the first call: tracing and
  compilation included) and warm (best of 3 later calls); the same for neural-tangents' NTK_VECTOR_PRODUCTS;
- training: one Adam epoch of `ntkbook.train.run_epoch` (n = 1000, d = 784, m = 1024, C = 10), cold and warm;
- start-up: `import ntkbook.models` and `python -m ntkbook sweep --list` in a fresh process (wall seconds).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "stacks.md"
#: start-up measurements: a fresh process each, timed twice per round (wall seconds)
STARTUP = {
    "import ntkbook.models s": ["-c", "import ntkbook.models"],
    "python -m ntkbook sweep --list s": ["-m", "ntkbook", "sweep", "--list"],
    "python -m ntkbook sweep --help s": ["-m", "ntkbook", "sweep", "--help"],
}


def _wall(argv: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, env=env, check=True, capture_output=True)
    return time.perf_counter() - t0


def measure() -> dict:
    """This environment's measurements (seconds, GFLOP/s) and versions."""
    import jax

    sys.path.insert(0, str(HERE))
    from bench_scale import _unit_rows, matmul_call, training_call

    from ntkbook import models

    try:  # the current stack: NT only through ntkbook.nt_compat
        from ntkbook import nt_compat

        nt = nt_compat.load()
    except ImportError:  # the previous stack: `import ntkbook` has already quietened TensorFlow
        import neural_tangents as nt

    def cold_warm(fn, repeats=3):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        cold = time.perf_counter() - t0
        warm = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            jax.block_until_ready(fn())
            warm.append(time.perf_counter() - t0)
        return cold, min(warm)

    out = {"versions": {"python": sys.version.split()[0], "jax": jax.__version__}}
    peak = 0.0
    for n in (1024, 2048):
        call, flop = matmul_call(n)
        jax.block_until_ready(call())
        best = min(_timed(call) for _ in range(5))
        peak = max(peak, flop / best / 1e9)
    out["matmul peak GFLOP/s"] = peak
    n, d, m = 500, 784, 1024
    z = _unit_rows(n, d)
    params, signs = models.init_network(jax.random.PRNGKey(0), d, m, 1)
    fast = jax.jit(models.empirical_ntk)
    out["empirical NTK (ours) cold s"], out["empirical NTK (ours) warm s"] = cold_warm(lambda: fast(params, z, z))
    nt_fn = jax.jit(nt.empirical_ntk_fn(models.nt_apply_fn(signs, d), trace_axes=(-1,), vmap_axes=0,
                                        implementation=nt.NtkImplementation.NTK_VECTOR_PRODUCTS))
    out["empirical NTK (NT, NTK-vector products) cold s"], out["empirical NTK (NT, NTK-vector products) warm s"] = \
        cold_warm(lambda: nt_fn(z, z, params))
    epoch, _, _ = training_call(1024)
    out["Adam epoch cold s (compile included)"], out["Adam epoch warm s"] = cold_warm(epoch)
    return out


def _timed(call) -> float:
    import jax

    t0 = time.perf_counter()
    jax.block_until_ready(call())
    return time.perf_counter() - t0


def _run(python: str, src: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(Path(src).resolve()), "NTKBOOK_PROGRESS": "0"}
    out = subprocess.run([python, str(Path(__file__).resolve()), "--measure"], env=env, check=True,
                         capture_output=True, text=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    for key, argv in STARTUP.items():
        result[key] = [_wall([python, *argv], env) for _ in range(2)]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--old-python")
    parser.add_argument("--old-src")
    parser.add_argument("--new-python", default=sys.executable)
    parser.add_argument("--new-src", default=str(HERE.parent / "src"))
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure()))
        return
    if not (args.old_python and args.old_src):
        parser.error("give --old-python and --old-src (the previous stack and its source)")
    load = os.getloadavg()[0]
    runs = {"old": [], "new": []}
    for _ in range(args.rounds):
        runs["old"].append(_run(args.old_python, args.old_src))
        runs["new"].append(_run(args.new_python, args.new_src))
    best = {}
    for side, results in runs.items():
        keys = [k for k in results[0] if k != "versions"]
        best[side] = {k: (max if "GFLOP" in k else min)(r[k] for r in results) for k in keys if k not in STARTUP}
        for k in STARTUP:
            every = [t for r in results for t in r[k]]
            best[side][k] = min(every)
            best[side][k + " (every run)"] = every
        best[side]["versions"] = results[0]["versions"]
    ov, nv = best["old"]["versions"], best["new"]["versions"]
    lines = [
        "## The previous and the current numeric stack, side by side",
        "",
        f"Recorded {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC by `benchmarks/bench_stacks.py` on "
        f"{os.cpu_count()} cores (1-minute load {load:.1f} at the start): previous stack Python {ov['python']}, "
        f"JAX {ov['jax']} (with TensorFlow); current stack Python {nv['python']}, JAX {nv['jax']} (no TensorFlow). "
        f"Both ran in turns, {args.rounds} rounds each; the best of the rounds is shown (float32).",
        "",
        "| measurement | previous | current | current / previous |",
        "|---|---:|---:|---:|",
    ]
    for key in (k for k in best["old"] if k != "versions" and not k.endswith("(every run)")):
        a, b = best["old"][key], best["new"][key]
        lines.append(f"| {key} | {a:.3g} | {b:.3g} | {b / a:.2f} |")
    lines += ["", "Start-up, every run (seconds, a fresh process each; the table shows the best):", ""]
    for k in STARTUP:
        for side, name in (("old", "previous"), ("new", "current")):
            every = ", ".join(f"{t:.2f}" for t in best[side][k + " (every run)"])
            lines.append(f"- `{k[:-2]}`, {name} stack: {every} (worst {max(best[side][k + ' (every run)']):.2f})")
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        RESULTS.write_text(text)
        print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
