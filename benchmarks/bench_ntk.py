"""Benchmark: the exact two-layer empirical NTK (`ntkbook.models.empirical_ntk`) against neural-tangents' generic
`empirical_ntk_fn` (NTK_VECTOR_PRODUCTS and JACOBIAN_CONTRACTION), in the same run, on the same network and inputs.
Writes benchmarks/results/ntk.md.

Run by hand: `.venv/bin/python benchmarks/bench_ntk.py [--sizes 1000x784x1024 1000x784x2048] [--outputs 1]`.
Inputs are n random unit rows in d dimensions (uniform pixels, then unit-normalised, like the images); the network
has width m and C outputs; NT computes the per-output block (`trace_axes=(-1,)`, a mean over outputs), the same
(n, n) matrix as the fast path. Every implementation (NT's kernel function jitted once, and ours) is timed the same
way: cold (its first call at this size, tracing and compilation included) and warm (best of `--repeats` later calls),
and both ratios are recorded. Float32 throughout; "max rel. diff." is max |K_fast - K_NT| / max |K_NT|.
STRUCTURED_DERIVATIVES is not timed: it fails on the pinned JAX (see ntkbook.models).
"""

import argparse
import datetime as dt
import os
import platform
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from ntkbook import models, nt_compat

RESULTS = Path(__file__).resolve().parent / "results" / "ntk.md"


def timed(fn, *args, **kwargs):
    """(seconds, result) of one call, blocking until the jax result is ready."""
    t0 = time.perf_counter()
    out = jax.block_until_ready(fn(*args, **kwargs))
    return time.perf_counter() - t0, out


def nt_kernel_fn(signs, d: int, implementation: str, nt_batch: int | None):
    """NT's empirical-NTK function of the network, jitted once (so that later calls reuse its compilation), or
    wrapped in `nt.batch` blocks of nt_batch rows."""
    nt = nt_compat.load()
    fn = nt.empirical_ntk_fn(models.nt_apply_fn(signs, d), trace_axes=(-1,), vmap_axes=0,
                             implementation=models.nt_implementation(implementation))
    if nt_batch:
        return nt.batch(fn, batch_size=nt_batch, store_on_device=True)
    return jax.jit(fn)


def cold_and_warm(fn, *args, repeats: int):
    """(cold seconds: the first call, compilation included; warm seconds: best of `repeats` later calls; result)."""
    t_cold, out = timed(fn, *args)
    t_warm = min(timed(fn, *args)[0] for _ in range(repeats))
    return t_cold, t_warm, out


def bench(n: int, d: int, m: int, c: int, seed: int = 0, max_jacobian_gb: float = 4.0,
          nt_batch: int | None = None, repeats: int = 3) -> list[dict]:
    """Rows (implementation, cold seconds, warm seconds, max rel. diff.) for one problem size.

    Every implementation is timed the same way: cold = its first call in this process at this size (tracing and
    compilation included), warm = the best of `repeats` further calls. JACOBIAN_CONTRACTION materialises the
    (rows, C, d*m) float32 Jacobian (rows = n, or nt_batch when batched); it is skipped (a row says so) when that
    would exceed `max_jacobian_gb`, to stay clear of a shared machine's memory.
    """
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(n, d)).astype(np.float32)
    z = jnp.asarray(x / np.linalg.norm(x, axis=1, keepdims=True))
    params, signs = models.init_network(jax.random.PRNGKey(seed), d, m, c)
    fast = jax.jit(models.empirical_ntk)
    t_cold, t_warm, k_fast = cold_and_warm(fast, params, z, z, repeats=repeats)
    rows = [{"implementation": "ntkbook fast path (two matrix products)", "cold": t_cold, "warm": t_warm, "rel": 0.0}]
    for impl in ("ntk_vector_products", "jacobian_contraction"):
        jac_gb = (nt_batch or n) * c * d * m * 4 / 1e9
        if impl == "jacobian_contraction" and jac_gb > max_jacobian_gb:
            rows.append({"implementation": f"neural-tangents {impl.upper()} (skipped: its Jacobian needs "
                                           f"{jac_gb:.1f} GB)", "cold": float("nan"), "warm": float("nan"),
                         "rel": float("nan")})
            continue
        fn = nt_kernel_fn(signs, d, impl, nt_batch)
        t_cold, t_warm, k_nt = cold_and_warm(fn, z, z, params, repeats=repeats)
        rel = float(jnp.max(jnp.abs(k_fast - k_nt)) / jnp.max(jnp.abs(k_nt)))
        how = f" (nt.batch, blocks of {nt_batch})" if nt_batch else ""
        rows.append({"implementation": f"neural-tangents {impl.upper()}{how}", "cold": t_cold, "warm": t_warm,
                     "rel": rel})
    return [{"n": n, "d": d, "m": m, "C": c, **r} for r in rows]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{cpu}, {os.cpu_count()} cores (1-minute load {load:.1f} at the start), jax {jax.__version__} on "
            f"{jax.default_backend()}, {platform.system()} {platform.release()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["500x784x1024"], help="n x d x m, e.g. 1000x784x1024")
    parser.add_argument("--repeats", type=int, default=3, help="warm calls per implementation (the best counts)")
    parser.add_argument("--outputs", type=int, default=1, help="number of outputs C (default 1: NT cost and memory grow with C)")
    parser.add_argument("--max-jacobian-gb", type=float, default=4.0,
                        help="skip JACOBIAN_CONTRACTION when its Jacobian would exceed this many GB (default 4)")
    parser.add_argument("--nt-batch", type=int, default=0,
                        help="compute NT's kernels in blocks of this many rows with nt.batch (0: one call)")
    parser.add_argument("--append", action="store_true", help="append the table to ntk.md instead of replacing it")
    parser.add_argument("--no-write", action="store_true", help="print the table without writing ntk.md")
    args = parser.parse_args()
    where = machine()
    rows = []
    for size in args.sizes:
        n, d, m = (int(v) for v in size.lower().split("x"))
        rows += bench(n, d, m, args.outputs, max_jacobian_gb=args.max_jacobian_gb, nt_batch=args.nt_batch or None,
                      repeats=args.repeats)
    lines = [
        "## Empirical NTK: two-layer fast path vs neural-tangents",
        "",
        f"Recorded {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {where}, by `benchmarks/bench_ntk.py` "
        f"(float32; every implementation timed cold, i.e. its first call with tracing and compilation, and warm, the "
        f"best of {args.repeats} later calls).",
        "",
        "| n | d | m | C | implementation | cold s | warm s | cold / fast cold | warm / fast warm | max rel. diff. |",
        "|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        base = next(q for q in rows if (q["n"], q["d"], q["m"]) == (r["n"], r["d"], r["m"])
                    and q["implementation"].startswith("ntkbook"))
        head = f"| {r['n']} | {r['d']} | {r['m']} | {r['C']} | {r['implementation']} |"
        if np.isnan(r["cold"]):
            lines.append(head + " – | – | – | – | – |")
            continue
        lines.append(head + f" {r['cold']:.3g} | {r['warm']:.3g} | {r['cold'] / base['cold']:.0f}x | "
                     f"{r['warm'] / base['warm']:.0f}x | {r['rel']:.1e} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        if args.append and RESULTS.exists():
            text = RESULTS.read_text() + "\n" + text.split("\n", 2)[2]  # keep one heading
        RESULTS.write_text(text)
        print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
