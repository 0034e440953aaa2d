"""Benchmark: how close training and the empirical NTK run to the machine's float32 matmul peak, what a 2-worker
Dask LocalCluster gives over one process, and what batching seeds with vmap gives over a loop. Writes
benchmarks/results/scale.md.

Run by hand: `.venv/bin/python benchmarks/bench_scale.py` (about two minutes on 2 cores; `--quick` for a smoke
run). All timings are warm: every function is compiled (called once) before it is timed, and compilation is
excluded; each figure is the best of `--repeats` rounds in which the compared calls take turns. Float32
throughout.

- Peak: a jitted float32 N x N matmul (2 N^3 flop), N in 1024, 2048, timed in turns with every throughput row
  (on a shared machine the load varies; taking turns exposes both to the same load); the run's best is the peak.
- Training: one Adam epoch of `ntkbook.train.run_epoch` (minibatches of 128) on n = 1000 points, d = 784; flop per
  epoch 4 n_pad d m + 4 n_pad m C (forward z W and a s; backward ds s^T and z^T dh), n_pad = n rounded up to whole
  batches. Empirical NTK: `ntkbook.models.empirical_ntk` on n = 1000, flop 2 n d m + 2 n^2 m + 2 n^2 d.
- Units per second: 6 training units (2L-ReLU, Adam, 20 epochs, n = 512, width 512) through `ntkbook.runner.run` in
  this process and on a 2-worker LocalCluster, taking turns for two rounds (both warmed by a first pass; every
  unit recomputed, results still go through the cache as in a real sweep).
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

from ntkbook import batched, models, runner, train

RESULTS = Path(__file__).resolve().parent / "results" / "scale.md"


def interleaved_times(calls: dict, repeats: int) -> dict:
    """Wall times of each zero-argument call in `repeats` rounds (name -> list), the calls taking turns within a
    round, after one warm-up call each (compilation excluded). Taking turns lets every call see the same load."""
    for fn in calls.values():
        jax.block_until_ready(fn())
    times = {name: [] for name in calls}
    for _ in range(repeats):
        for name, fn in calls.items():
            t0 = time.perf_counter()
            jax.block_until_ready(fn())
            times[name].append(time.perf_counter() - t0)
    return times


def interleaved_best(calls: dict, repeats: int) -> dict:
    """The best of `interleaved_times` per call."""
    return {name: min(ts) for name, ts in interleaved_times(calls, repeats).items()}


def matmul_call(n: int):
    """(a zero-argument jitted float32 N x N matmul, its flop count 2 N^3)."""
    a = jax.random.normal(jax.random.PRNGKey(0), (n, n), jnp.float32)
    b = jax.random.normal(jax.random.PRNGKey(1), (n, n), jnp.float32)
    mm = jax.jit(jnp.matmul)
    return (lambda: mm(a, b)), 2 * n**3


def _unit_rows(n: int, d: int, seed: int = 0) -> jnp.ndarray:
    x = np.random.default_rng(seed).uniform(size=(n, d)).astype(np.float32)
    return jnp.asarray(x / np.linalg.norm(x, axis=1, keepdims=True))


def training_call(m: int, n: int = 1000, d: int = 784, c: int = 10):
    """(one Adam epoch as a zero-argument call, its flop count, a label)."""
    z = _unit_rows(n, d)
    t = train.targets(np.arange(n) % c, c, "xent")
    params, signs = models.init_network(jax.random.PRNGKey(0), d, m, c)
    config = train.TrainConfig(epochs=1)
    opt_state = train.init_opt_state(params, config)
    key = train.epoch_key(config, 0)
    n_pad = -(-n // config.batch_size) * config.batch_size
    flop = 4 * n_pad * d * m + 4 * n_pad * m * c
    return (lambda: train.run_epoch(params, opt_state, signs, z, t, key, config)), flop, \
        f"Adam epoch, n={n}, d={d}, m={m}, C={c}"


def ntk_call(m: int, n: int = 1000, d: int = 784):
    """(the empirical NTK on n points as a zero-argument call, its flop count, a label)."""
    z = _unit_rows(n, d)
    params, _ = models.init_network(jax.random.PRNGKey(0), d, m, 1)
    fn = jax.jit(models.empirical_ntk)
    flop = 2 * n * d * m + 2 * n * n * m + 2 * n * n * d
    return (lambda: fn(params, z)), flop, f"empirical NTK, n={n}, d={d}, m={m}"


def throughput(widths, sizes, repeats: int) -> tuple[list[dict], float, int]:
    """Rows (what, seconds, gflops) for training and the NTK at each width, each timed in turns with the matmul
    probes; returns (rows, the best matmul GFLOP/s of the whole run, its N)."""
    probes = {n: matmul_call(n) for n in sizes}
    peak = (0.0, 0)
    rows = []
    for make in [*(lambda m=m: training_call(m) for m in widths), *(lambda m=m: ntk_call(m) for m in widths)]:
        fn, flop, what = make()
        times = interleaved_times({"row": fn, **{n: call for n, (call, _) in probes.items()}}, repeats)
        peak = max(peak, *((probes[n][1] / min(times[n]) / 1e9, n) for n in sizes))
        # per round: the row's rate over the best matmul rate of the same round (both under that round's load)
        paired = [flop / t_row / max(probes[n][1] / times[n][r] for n in sizes)
                  for r, t_row in enumerate(times["row"])]
        rows.append({"what": what, "seconds": min(times["row"]), "gflops": flop / min(times["row"]) / 1e9,
                     "paired": float(np.median(paired)), "paired_lo": min(paired), "paired_hi": max(paired)})
    return rows, *peak


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


def units_rate(n_units: int, epochs: int, rounds: int = 2) -> list[dict]:
    """Units per second in this process and on a 2-worker LocalCluster, both warm (a first pass compiles), in
    `rounds` rounds that take turns (in-process, then cluster); the best round of each is reported."""
    import distributed

    units = [runner.Unit("bench-scale", {"seed": s, "width": 512, "n": 512, "epochs": epochs}, bench_unit)
             for s in range(n_units)]
    best = {"in-process": float("inf"), "on a 2-worker LocalCluster": float("inf")}
    failed = dict.fromkeys(best, 0)
    with tempfile.TemporaryDirectory() as cache, distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        address = cluster.scheduler_address
        runner.run(units[:1], cache_dir=cache, refresh=True)  # compile in this process
        with distributed.Client(address, set_as_default=False) as client:  # and on both workers
            client.run(bench_unit, 0, 512, 512, epochs)
        for _ in range(rounds):
            for where, scheduler in (("in-process", "inprocess"), ("on a 2-worker LocalCluster", address)):
                t0 = time.perf_counter()
                result = runner.run(units, cache_dir=cache, refresh=True, scheduler=scheduler, allow_failures=True)
                best[where] = min(best[where], time.perf_counter() - t0)
                failed[where] += len(result.failed)
                for key, error in result.failed.items():
                    print(f"failed {key}: {error.splitlines()[0]}", flush=True)
    return [{"what": f"{n_units} units {where}", "seconds": seconds, "units_per_s": n_units / seconds,
             "failed": failed[where]} for where, seconds in best.items()]


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

        best = interleaved_best({"loop": loop, "vmap": vmapped, "wide": lambda: vmapped(method="wide")}, repeats)
        t_loop, t_vmap, t_wide = best["loop"], best["vmap"], best["wide"]
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
        f"Float32 matmul peak: **{peak:.1f} GFLOP/s** (jitted {n_peak} x {n_peak} matmul; the best over the "
        "whole run: the matmuls were timed in turns with every throughput row, so each row and the peak saw the "
        "same varying load).",
        "",
        "Share of peak: the best rate of the row over the run's peak; paired: per round, the row's rate over the "
        "matmul rate of the same round (median, and the range over the rounds).",
        "",
        "| computation | seconds | GFLOP/s | share of peak | paired share (range) |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [f"| {r['what']} | {r['seconds']:.4f} | {r['gflops']:.1f} | {r['gflops'] / peak:.0%} | "
              f"{r['paired']:.0%} ({r['paired_lo']:.0%}–{r['paired_hi']:.0%}) |" for r in rates]
    lines += ["", "| sweep units (2L-ReLU, Adam, 20 epochs, n = 512, m = 512; best of 2 rounds in turns) | seconds | "
              "units / s | failed |",
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
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    repeats = 1 if args.quick else args.repeats
    start, load_start = time.perf_counter(), os.getloadavg()[0]
    sizes = (512,) if args.quick else (1024, 2048)
    widths = (256, 1024) if args.quick else (256, 1024, 4096)
    rates, peak, n_peak = throughput(widths, sizes, repeats)
    print(f"peak {peak:.1f} GFLOP/s (N={n_peak})", flush=True)
    for r in rates:
        print(f"{r['what']}: {r['gflops']:.1f} GFLOP/s = {r['gflops'] / peak:.0%} of peak", flush=True)
    units = units_rate(4 if args.quick else 6, 20)
    for r in units:
        print(f"{r['what']}: {r['units_per_s']:.2f} units/s", flush=True)
    seeds = seeds_rate((64, 512), 8, 20, min(repeats, 3))
    for r in seeds:
        print(f"{r['what']}: loop/vmap {r['loop_s'] / r['vmap_s']:.2f}x, loop/wide {r['loop_s'] / r['wide_s']:.2f}x",
              flush=True)
    text = report(peak, n_peak, rates, units, seeds, load_start, os.getloadavg()[0],
                  time.perf_counter() - start)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
