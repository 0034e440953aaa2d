"""Benchmark: how close training and the empirical NTK run to the machine's float32 matmul peak, what a 2-worker
Dask LocalCluster gives over one process, and what batching seeds with vmap gives over a loop. Writes
benchmarks/results/scale.md.

Run by hand: `.venv/bin/python benchmarks/bench_scale.py` (about two minutes on 2 cores; `--quick` for a smoke
run). All timings are warm: every function is compiled (called once) before it is timed, and compilation is
excluded; each figure is the best of `--repeats` calls. Float32 throughout.

- Peak: a jitted float32 N x N matmul (2 N^3 flop), the best rate over N in 1024, 2048.
- Training: one Adam epoch of `ntkbook.train.run_epoch` (minibatches of 128) on n = 1000 points, d = 784; flop per
  epoch 4 n_pad d m + 4 n_pad m C (forward z W and a s; backward ds s^T and z^T dh), n_pad = n rounded up to whole
  batches. Empirical NTK: `ntkbook.models.empirical_ntk` on n = 1000, flop 2 n d m + 2 n^2 m + 2 n^2 d.
- Units per second: 8 training units (2L-ReLU, Adam, 20 epochs, n = 256, width 256) through `ntkbook.runner.run` in
  this process, then on a 2-worker LocalCluster (both warmed by a first pass; the cache is bypassed).
- Seeds: S = 8 seeds of full-batch GD, 20 steps, on one shared training set: `ntkbook.batched.gd_step_seeds`
  with `jax.vmap` ("vmap") and with the seeds' layers side by side ("wide") vs the same jitted one-seed steps in a
  Python loop over the seeds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import tempfile
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

import ntkbook  # noqa: F401  (quiet TensorFlow first)
from ntkbook import batched, models, runner, train

RESULTS = Path(__file__).resolve().parent / "results" / "scale.md"


def best_seconds(fn, *args, repeats: int = 3, **kwargs) -> float:
    """Best wall time of `repeats` calls after one warm-up call (compilation excluded)."""
    jax.block_until_ready(fn(*args, **kwargs))
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args, **kwargs))
        best = min(best, time.perf_counter() - t0)
    return best


def matmul_peak(repeats: int, sizes=(1024, 2048)) -> tuple[float, int]:
    """(best float32 GFLOP/s of a jitted N x N matmul, the N that gave it)."""
    mm = jax.jit(jnp.matmul)
    best = (0.0, 0)
    for n in sizes:
        a = jax.random.normal(jax.random.PRNGKey(0), (n, n), jnp.float32)
        b = jax.random.normal(jax.random.PRNGKey(1), (n, n), jnp.float32)
        rate = 2 * n**3 / best_seconds(mm, a, b, repeats=repeats) / 1e9
        best = max(best, (rate, n))
    return best


def _unit_rows(n: int, d: int, seed: int = 0) -> jnp.ndarray:
    x = np.random.default_rng(seed).uniform(size=(n, d)).astype(np.float32)
    return jnp.asarray(x / np.linalg.norm(x, axis=1, keepdims=True))


def training_rate(m: int, repeats: int, n: int = 1000, d: int = 784, c: int = 10) -> dict:
    z = _unit_rows(n, d)
    t = train.targets(np.arange(n) % c, c, "xent")
    params, signs = models.init_network(jax.random.PRNGKey(0), d, m, c)
    config = train.TrainConfig(epochs=1)
    opt_state = train.init_opt_state(params, config)
    key = train.epoch_key(config, 0)
    seconds = best_seconds(train.run_epoch, params, opt_state, signs, z, t, key, config, repeats=repeats)
    n_pad = -(-n // config.batch_size) * config.batch_size
    flop = 4 * n_pad * d * m + 4 * n_pad * m * c
    return {"what": f"Adam epoch, n={n}, d={d}, m={m}, C={c}", "seconds": seconds, "gflops": flop / seconds / 1e9}


def ntk_rate(m: int, repeats: int, n: int = 1000, d: int = 784) -> dict:
    z = _unit_rows(n, d)
    params, _ = models.init_network(jax.random.PRNGKey(0), d, m, 1)
    seconds = best_seconds(jax.jit(models.empirical_ntk), params, z, repeats=repeats)
    flop = 2 * n * d * m + 2 * n * n * m + 2 * n * n * d
    return {"what": f"empirical NTK, n={n}, d={d}, m={m}", "seconds": seconds, "gflops": flop / seconds / 1e9}


def bench_unit(seed: int, width: int, n: int, epochs: int) -> pd.DataFrame:
    """One sweep unit: train a 2L-ReLU network with Adam on random unit rows and labels; its final loss/accuracy."""
    d, c = 784, 10
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(n, d)).astype(np.float32)
    z = jnp.asarray(x / np.linalg.norm(x, axis=1, keepdims=True))
    t = train.targets(rng.integers(0, c, n), c, "xent")
    params, signs = models.init_network(jax.random.PRNGKey(seed), d, width, c)
    _, history = train.train(params, signs, z, t, train.TrainConfig(epochs=epochs, seed=seed),
                             eval_every=epochs, show_progress=False)
    return history.tail(1).assign(seed=seed, width=width).reset_index(drop=True)


def units_rate(n_units: int, epochs: int) -> list[dict]:
    """Units per second in this process and on a 2-worker LocalCluster, both warm (a first pass compiles)."""
    import distributed

    units = [runner.Unit("bench-scale", {"seed": s, "width": 256, "n": 256, "epochs": epochs}, bench_unit)
             for s in range(n_units)]
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        runner.run(units[:1], cache_dir=cache, refresh=True)  # compile in this process
        t0 = time.perf_counter()
        result = runner.run(units, cache_dir=cache, refresh=True)
        seconds = time.perf_counter() - t0
        rows.append({"what": f"{n_units} units in-process", "seconds": seconds, "units_per_s": n_units / seconds,
                     "failed": len(result.failed)})
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=None) as cluster:
            address = cluster.scheduler_address
            with distributed.Client(address, set_as_default=False) as client:  # warm both workers
                client.run(bench_unit, 0, 256, 256, epochs)
            t0 = time.perf_counter()
            result = runner.run(units, cache_dir=cache, refresh=True, scheduler=address, allow_failures=True)
            seconds = time.perf_counter() - t0
            rows.append({"what": f"{n_units} units on a 2-worker LocalCluster", "seconds": seconds,
                         "units_per_s": n_units / seconds, "failed": len(result.failed)})
            for key, error in result.failed.items():
                print(f"failed {key}: {error.splitlines()[0]}", flush=True)
    return rows


def seeds_rate(widths, n_seeds: int, steps: int, repeats: int, n: int = 200, d: int = 784, c: int = 10) -> list[dict]:
    """vmapped seeds (`batched.gd_step_seeds`) vs a loop over seeds of the same jitted one-seed GD steps."""
    z = _unit_rows(n, d)
    t = train.targets(np.arange(n) % c, c, "mse")
    one_seed = jax.jit(batched._steps)
    rows = []
    for m in widths:
        params, signs = batched.init_networks(jax.random.split(jax.random.PRNGKey(0), n_seeds), d, m, c)
        zeros = jnp.zeros(steps)

        def loop(params=params, signs=signs, zeros=zeros):
            return [one_seed({"W": params["W"][i]}, signs[i], z, t, 0.5, 0.0, zeros) for i in range(n_seeds)]

        def vmapped(params=params, signs=signs, method="vmap"):
            return batched.gd_step_seeds(params, signs, z, t, learning_rate=0.5, steps=steps, method=method)

        t_loop = best_seconds(loop, repeats=repeats)
        t_vmap = best_seconds(vmapped, repeats=repeats)
        t_wide = best_seconds(vmapped, method="wide", repeats=repeats)
        rows.append({"what": f"{n_seeds} seeds x {steps} GD steps, n={n}, d={d}, m={m}, C={c}",
                     "loop_s": t_loop, "vmap_s": t_vmap, "wide_s": t_wide})
    return rows


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores, jax {jax.__version__} on {jax.default_backend()}"


def report(peak, n_peak, rates, units, seeds, load_start, load_end, elapsed) -> str:
    stamp = f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
    lines = [
        "## Scale: peak-relative throughput, local cluster, batched seeds",
        "",
        f"Recorded {stamp} on {machine()} by `benchmarks/bench_scale.py` in {elapsed:.0f} s (float32; every "
        "figure warm, compilation excluded, best of several calls). The machine was shared with other jobs during "
        f"the run (1-minute load average {load_start:.1f} at the start, {load_end:.1f} at the end on "
        f"{os.cpu_count()} cores), so all rates, the peak included, are lower than on an idle machine; the shares "
        "of the peak are measured in the same run and are the more stable figure.",
        "",
        f"Float32 matmul peak: **{peak:.1f} GFLOP/s** ({n_peak} x {n_peak} jitted matmul).",
        "",
        "| computation | seconds | GFLOP/s | share of peak |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {r['what']} | {r['seconds']:.4f} | {r['gflops']:.1f} | {r['gflops'] / peak:.0%} |" for r in rates]
    lines += ["", "| sweep units (2L-ReLU, Adam, 20 epochs, n = 256, m = 256) | seconds | units / s | failed |",
              "|---|---:|---:|---:|"]
    lines += [f"| {r['what']} | {r['seconds']:.2f} | {r['units_per_s']:.2f} | {r['failed']} |" for r in units]
    lines += ["", "| seeds batched vs a loop over seeds | loop s | vmap s | wide s | loop / vmap | loop / wide |",
              "|---|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['what']} | {r['loop_s']:.4f} | {r['vmap_s']:.4f} | {r['wide_s']:.4f} | "
              f"{r['loop_s'] / r['vmap_s']:.2f}x | {r['loop_s'] / r['wide_s']:.2f}x |" for r in seeds]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, one repeat (a smoke run)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    repeats = 1 if args.quick else args.repeats
    start, load_start = time.perf_counter(), os.getloadavg()[0]
    peak, n_peak = matmul_peak(repeats, (512,) if args.quick else (1024, 2048))
    print(f"peak {peak:.1f} GFLOP/s (N={n_peak})", flush=True)
    widths = (256, 1024) if args.quick else (256, 1024, 4096)
    rates = [training_rate(m, repeats) for m in widths] + [ntk_rate(m, repeats) for m in widths]
    for r in rates:
        print(f"{r['what']}: {r['gflops']:.1f} GFLOP/s = {r['gflops'] / peak:.0%} of peak", flush=True)
    units = units_rate(4 if args.quick else 8, 20)
    for r in units:
        print(f"{r['what']}: {r['units_per_s']:.2f} units/s", flush=True)
    seeds = seeds_rate((64, 512), 8, 20, min(repeats, 2))
    for r in seeds:
        print(f"{r['what']}: loop/vmap {r['loop_s'] / r['vmap_s']:.2f}x, loop/wide {r['loop_s'] / r['wide_s']:.2f}x",
              flush=True)
    text = report(peak, n_peak, rates, units, seeds, load_start, os.getloadavg()[0], time.perf_counter() - start)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
