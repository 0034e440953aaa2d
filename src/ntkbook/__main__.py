"""Command line: fill the result cache for a chapter's sweep without running its notebook.

    python -m ntkbook sweep --list
    python -m ntkbook sweep ntk-distance --profile quick
    python -m ntkbook sweep ntk-distance --profile paper --scheduler tcp://scheduler:8786
    python -m ntkbook sweep malleability --profile quick --scheduler local:2 --set n_test=40 --set seeds=0,1,2
    python -m ntkbook sweep ntk-distance --profile paper --dry-run      # cached / stored / missing, CPU-hours
    python -m ntkbook sweep ntk-distance --profile quick --store results/   # keep the results as verified data
    python -m ntkbook store verify                                      # what CI checks: tables, staleness, sample

Units already in the cache are read, not recomputed; the others run on the scheduler (see `ntkbook.runner`;
default `NTKBOOK_SCHEDULER`, else in this process) and land in the cache (`NTKBOOK_CACHE`, or `--cache-dir`). A
later `make book` renders the chapters from the cache. Exit status: 0 when every unit is in the cache afterwards,
1 when a unit failed (each failed key is printed with its error), 2 for a usage error (unknown sweep, profile,
knob or value).

`--list` and `--help` import none of JAX, pandas or matplotlib: the sweeps' profiles are read from each spec's
`PROFILES` literal in its module's source, and the runner is imported only when a sweep runs.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ntkbook.sweeps import SWEEPS, SweepEntry, get_sweep, names

if TYPE_CHECKING:
    from ntkbook import runner


def parse_overrides(spec_class, assignments: Sequence[str]) -> dict:
    """`["knob=value", ...]` -> {knob: value} coerced by the spec's knob declarations (`ntkbook.spec.knob`); tuple
    knobs take comma-separated values or a list, e.g. seeds=0,1,2 or widths=[16, 64].

    Raises ValueError for a malformed assignment, an unknown knob (listing the valid ones) or a value of the wrong
    type (naming the knob and what it takes).
    """
    out = {}
    for item in assignments:
        knob, sep, value = item.partition("=")
        knob = knob.strip()
        if not sep or not knob:
            raise ValueError(f"--set takes knob=value, got {item!r}")
        out[knob] = spec_class.coerce(knob, value.strip())
    return out


def profiles_from_source(entry: SweepEntry) -> list[str] | None:
    """The profile names of the sweep's spec, read from the `PROFILES = {"name": ..., ...}` literal in the source
    of `entry.spec_module` without importing it; None when the source holds no such literal (then import it)."""
    top, *parts = entry.spec_module.split(".")
    spec = importlib.util.find_spec(top)  # not of entry.module itself: that would import its parent packages
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations)), *parts[:-1], parts[-1] + ".py") if parts else None
    if path is None or not path.is_file():
        return None
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                target = item.target if isinstance(item, ast.AnnAssign) else (
                    item.targets[0] if isinstance(item, ast.Assign) and len(item.targets) == 1 else None)
                if (isinstance(target, ast.Name) and target.id == "PROFILES" and isinstance(item.value, ast.Dict)
                        and all(isinstance(k, ast.Constant) and isinstance(k.value, str) for k in item.value.keys)):
                    found.append([k.value for k in item.value.keys])
    return found[0] if len(found) == 1 else None


def _list() -> int:
    print("sweeps (python -m ntkbook sweep NAME --profile P):")
    for name, entry in SWEEPS.items():
        try:
            listed = profiles_from_source(entry)
            profiles = ", ".join(listed if listed is not None else entry.profiles())
        except (ImportError, AttributeError, SyntaxError, OSError) as err:
            profiles = f"not available: {err}"
        print(f"  {name:<14} {entry.title}\n  {'':<14} profiles: {profiles}; chapter: book/{entry.document}.ipynb")
    return 0


def _varying(units: list) -> dict[str, str]:
    """key -> "knob=value ..." over the params that differ between the units (what tells them apart)."""
    knobs = sorted({k for u in units for k in u.params})
    varying = [k for k in knobs if len({json.dumps(u.params.get(k), sort_keys=True) for u in units}) > 1]
    return {u.key: " ".join(f"{k}={u.params.get(k)}" for k in varying) for u in units}


def _print_summary(name: str, groups: dict[str, list], results: list[runner.RunResult], seconds: float) -> None:
    computed = sum(len(r.computed) for r in results)
    cached = sum(len(r.cached) for r in results)
    failed = sum(len(r.failed) for r in results)
    stored = sum(len(r.stored) for r in results)
    for (kind, units), result in zip(groups.items(), results, strict=True):
        labels = _varying(units)
        for row in result.summary().itertuples(index=False):
            error = f"\n      {row.error.splitlines()[0]}" if row.error else ""
            print(f"  {row.status:<9}{kind}-{row.key}  {labels.get(row.key, '')}{error}")
    print(f"{name}: {computed + cached + stored + failed} units: {computed} computed, {cached} cached, "
          f"{stored} from the result store, {failed} failed ({seconds:.1f} s)")
    if computed == 0 and failed == 0:
        print(f"{name}: nothing to compute, every unit was already in the cache or the result store")


def _sweep(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.list:
        return _list()
    if not args.name:
        if args.help:
            parser.print_help()
            return 0
        parser.error(f"name a sweep: one of {names()} (or --list)")
    if args.help:
        try:
            entry = get_sweep(args.name)
            spec_class = entry.spec_class
        except (ValueError, ImportError, AttributeError) as err:
            parser.error(str(err))
        parser.print_help()
        print(f"\n{args.name}: {entry.title}\nprofiles: {', '.join(entry.profiles())}\n"
              f"knobs (--set KNOB=VALUE; {spec_class.__name__}):\n{spec_class.describe()}")
        return 0
    try:
        entry = get_sweep(args.name)
        spec_class = entry.spec_class
        overrides = parse_overrides(spec_class, args.set)
        spec = spec_class.resolve(args.profile, **overrides)
        from ntkbook import runner

        runner.check_scheduler(args.scheduler)  # a bad address fails here in seconds, with the fix
    except (ValueError, ImportError, AttributeError) as err:
        parser.error(str(err))
    units = entry.units(spec)
    groups: dict[str, list] = {}
    for unit in units:
        groups.setdefault(unit.kind, []).append(unit)
    print(f"{args.name} (profile {args.profile}): {len(units)} units in {len(groups)} kind(s): "
          + ", ".join(f"{kind} x {len(us)}" for kind, us in groups.items()))
    if args.dry_run:
        return _dry_run(args, spec, units)
    from ntkbook import cache

    try:  # before any unit computes: a cache folder that cannot take the results fails now
        cache.ensure_writable(args.cache_dir)
    except cache.CacheWriteError as err:
        parser.error(str(err))
    results = []
    on_computed = _recorder(args) if args.store is not None else None
    with runner.cluster(args.scheduler) as scheduler:
        for kind, todo in groups.items():
            results.append(runner.run(todo, scheduler=scheduler, refresh=args.refresh, cache_dir=args.cache_dir,
                                      desc=f"{args.name}: {kind}", allow_failures=True, on_computed=on_computed))
    _print_summary(args.name, groups, results, sum(r.seconds for r in results))
    if any(r.failed for r in results):
        print(f"{args.name}: some units failed; fix the cause and run again (completed units are cached)",
              file=sys.stderr)
        return 1
    if args.store is not None:
        _record(args, groups, results)
    return 0


def _dry_run(args: argparse.Namespace, spec, units: list) -> int:
    """Count cached, stored and missing units and estimate the CPU time of the missing ones."""
    from ntkbook import cache, store

    cached = [u for u in units if cache.load(u.kind, u.params, cache_dir=args.cache_dir, key=u.key) is not None]
    stored = [u for u in units if u not in cached and store.lookup(u) is not None]
    missing = len(units) - len(cached) - len(stored)
    print(f"{args.name}: {len(cached)} cached, {len(stored)} in the result store, {missing} to compute")
    per_unit, basis = _unit_cost(args.name, spec, len(units))
    if per_unit is None:
        print(f"{args.name}: no measured run time for this sweep yet, so no estimate")
    else:
        hours = missing * per_unit / 3600
        print(f"{args.name}: estimated {hours:.2f} CPU-hours for the missing units "
              f"({per_unit:.1f} s per unit, {basis})")
    return 0


def _unit_cost(name: str, spec, n_units: int) -> tuple[float | None, str]:
    """Seconds per unit and where that number comes from: the store's record of this profile, else the chapter's
    measured seconds for this profile, else the most expensive measured per-unit cost (a lower bound for a larger
    profile)."""
    from ntkbook import store

    seconds = store.stored_seconds(name)
    if seconds.get(spec.profile):
        return sum(seconds[spec.profile]) / len(seconds[spec.profile]), "mean over the stored units of this profile"
    measured = type(spec).MEASURED_SECONDS
    if spec.profile in measured and n_units:
        return measured[spec.profile] / n_units, f"measured {measured[spec.profile]:.0f} s for the whole profile"
    estimated = type(spec).ESTIMATED_SECONDS
    if spec.profile in estimated and n_units:
        return (estimated[spec.profile] / n_units,
                f"an estimate of {estimated[spec.profile] / 3600:.0f} CPU-hours for the whole profile, scaled from "
                "measured per-unit costs at a smaller size (the chapter's spec says how), not a measurement")
    costs = [sum(v) / len(v) for v in seconds.values() if v]
    entry = get_sweep(name)
    for profile, total in measured.items():
        other = entry.units(entry.resolve(profile))
        if other:
            costs.append(total / len(other))
    if not costs:
        return None, ""
    return max(costs), "the most expensive measured profile's per-unit cost: a lower bound at a larger scale"


def _recorder(args: argparse.Namespace):
    """A runner callback that records each unit in the result store as soon as it is computed, so that a sweep
    stopped midway (killed, or a unit failing) keeps every unit it finished."""
    from ntkbook import store

    device = _device()

    def record(unit, frame, seconds):
        store.record(args.name, args.profile, unit, frame, seconds=seconds, root=args.store, device=device)

    return record


def _record(args: argparse.Namespace, groups: dict[str, list], results: list) -> None:
    """Copy every unit of the run into the result store with its provenance (the units computed now are there
    already; this adds those read from the cache), then drop the layer's entries that are not units of this run."""
    from ntkbook import cache, store

    device = _device()
    recorded = store.records(args.name, args.store)
    n = 0
    for (_, units), result in zip(groups.items(), results, strict=True):
        for unit in units:
            frame = cache.load(unit.kind, unit.params, cache_dir=args.cache_dir, key=unit.key)
            if frame is None:
                frame = store.lookup(unit)
            if frame is None:
                raise SystemExit(f"{args.name}: unit {unit.key} is neither cached nor stored; run again")
            done = recorded.get(f"{unit.kind}-{unit.key}")
            # computed now (recorded when it finished) or recorded before: keep that record and its run time
            if unit.key not in result.unit_seconds and not (done and done["profile"] == args.profile):
                store.record(args.name, args.profile, unit, frame, seconds=None, root=args.store, device=device)
            n += 1
    keys = [unit.key for units in groups.values() for unit in units]
    dropped = store.prune(args.name, args.profile, keys, root=args.store)
    store.pack(args.name, args.profile, args.store)
    where = store.layer(args.name, args.profile, args.store)
    print(f"{args.name}: {n} units recorded in the result store {where} (packed)"
          + (f"; {len(dropped)} entries of earlier code or parameters removed" if dropped else ""))


def _device() -> str:
    """The JAX device the units ran on, e.g. "cpu" or "cuda:0 (NVIDIA H100 ...)"."""
    import jax

    d = jax.devices()[0]
    kind = getattr(d, "device_kind", "")
    return f"{d.platform}:{d.id}" + (f" ({kind})" if kind and d.platform != "cpu" else "")


def _store_cmd(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from ntkbook import store

    if args.action == "list":
        table = store.entries(args.root)
        if table.empty:
            print(f"the result store {store.store_root(args.root)} holds no units")
            return 0
        counts = table.groupby(["sweep", "profile"]).agg(units=("key", "size"), seconds=("seconds", "sum"))
        print(counts.to_string())
        return 0
    if args.action == "pack":
        for sweep, profile in store.layers(args.root):
            if not args.sweep or sweep in args.sweep:
                n = store.pack(sweep, profile, args.root)
                print(f"{sweep}/{profile}: {n} units in {store.layer(sweep, profile, args.root) / store.PACK}")
        return 0
    if args.sample < 0:
        parser.error(f"--sample must be >= 0, got {args.sample}")
    result = store.verify(args.root, sample=args.sample, seed=args.seed, sweeps=args.sweep or None)
    for sweep, profile, name, agree, dev, why in result.recomputed:
        print(f"  {'agrees' if agree else 'DIFFERS':<8}{sweep}/{profile} {name}  max relative deviation {dev:.3g}"
              + (f"  ({why})" if why else ""))
    print(result.summary())
    return 0 if result.ok else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ntkbook", description="ntkbook command line")
    sub = parser.add_subparsers(dest="command", required=True)
    sweep = sub.add_parser(
        "sweep", help="fill the result cache for a chapter's sweep", add_help=False,
        description="Compute a chapter's sweep into the result cache (units already cached are read).",
    )
    sweep.add_argument("-h", "--help", action="store_true",
                       help="show this help; with a sweep NAME, also list its knobs, their ranges and defaults")
    sweep.add_argument("name", nargs="?", help=f"the sweep: one of {names()}")
    sweep.add_argument("--list", action="store_true", help="list the sweeps and their profiles")
    sweep.add_argument("--profile", default="default", help="the spec's profile (default: default)")
    sweep.add_argument("--set", action="append", default=[], metavar="KNOB=VALUE",
                       help="override a knob (repeatable); tuples as comma-separated values, e.g. seeds=0,1,2")
    sweep.add_argument("--scheduler", default=None,
                       help="inprocess, processes[:N], local[:N] or tcp://host:port (default: $NTKBOOK_SCHEDULER, "
                            "else inprocess)")
    sweep.add_argument("--cache-dir", default=None, help="results folder (default: $NTKBOOK_CACHE/results)")
    sweep.add_argument("--refresh", action="store_true", help="recompute every unit and overwrite the cache")
    sweep.add_argument("--dry-run", action="store_true", help="count cached and missing units; compute nothing")
    sweep.add_argument("--store", default=None, metavar="DIR",
                       help="also record every unit, with its provenance, in the result store at DIR (the "
                            "repository's is results/)")
    sweep.set_defaults(handler=_sweep, parser=sweep)
    stored = sub.add_parser(
        "store", help="list or verify the result store",
        description="The result store keeps sweep results with their provenance (default: the repository's "
                    "results/ folder, or $NTKBOOK_STORE). 'verify' checks every stored table against its manifest, "
                    "reports stale entries with the command that refreshes them, and recomputes a seeded sample.",
    )
    stored.add_argument("action", choices=["verify", "list", "pack"],
                        help="verify: what CI checks; list: what the store holds; pack: put every layer's loose "
                        "entries into its compressed pack (a sweep stopped before its end leaves them loose)")
    stored.add_argument("--root", default=None, help="the store folder (default: $NTKBOOK_STORE, else results/)")
    stored.add_argument("--sample", type=int, default=2, help="units recomputed per sweep and profile (default 2)")
    stored.add_argument("--seed", type=int, default=0, help="seed of the sample (default 0)")
    stored.add_argument("--sweep", action="append", default=[], help="only this sweep (repeatable)")
    stored.set_defaults(handler=_store_cmd, parser=stored)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return args.handler(args, args.parser)


if __name__ == "__main__":
    sys.exit(main())
