"""Command line: fill the result cache for a chapter's sweep without running its notebook.

    python -m ntkbook sweep --list
    python -m ntkbook sweep ntk-distance --profile quick
    python -m ntkbook sweep ntk-distance --profile paper --scheduler tcp://scheduler:8786
    python -m ntkbook sweep malleability --profile quick --scheduler local:2 --set n_test=40 --set seeds=0,1,2
    python -m ntkbook sweep ntk-distance --profile paper --dry-run      # how many units are cached already

Units already in the cache are read, not recomputed; the others run on the scheduler (see `ntkbook.runner`;
default `NTKBOOK_SCHEDULER`, else in this process) and land in the cache (`NTKBOOK_CACHE`, or `--cache-dir`). A
later `make book` renders the chapters from the cache. Exit status: 0 when every unit is in the cache afterwards,
1 when a unit failed (each failed key is printed with its error), 2 for a usage error (unknown sweep, profile,
knob or value).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from ntkbook import runner
from ntkbook.sweeps import SWEEPS, get_sweep, names


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


def _list() -> int:
    print("sweeps (python -m ntkbook sweep NAME --profile P):")
    for name, entry in SWEEPS.items():
        try:
            profiles = ", ".join(entry.profiles())
        except (ImportError, AttributeError) as err:
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
    for (kind, units), result in zip(groups.items(), results, strict=True):
        labels = _varying(units)
        for row in result.summary().itertuples(index=False):
            error = f"\n      {row.error.splitlines()[0]}" if row.error else ""
            print(f"  {row.status:<9}{kind}-{row.key}  {labels.get(row.key, '')}{error}")
    print(f"{name}: {computed + cached + failed} units: {computed} computed, {cached} cached, {failed} failed "
          f"({seconds:.1f} s)")
    if computed == 0 and failed == 0:
        print(f"{name}: nothing to compute, every unit was already in the cache")


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
        runner.parse_scheduler(args.scheduler)
    except (ValueError, ImportError, AttributeError) as err:
        parser.error(str(err))
    units = entry.units(spec)
    groups: dict[str, list] = {}
    for unit in units:
        groups.setdefault(unit.kind, []).append(unit)
    print(f"{args.name} (profile {args.profile}): {len(units)} units in {len(groups)} kind(s): "
          + ", ".join(f"{kind} x {len(us)}" for kind, us in groups.items()))
    if args.dry_run:
        from ntkbook import cache

        missing = [u for u in units if cache.load(u.kind, u.params, cache_dir=args.cache_dir, key=u.key) is None]
        print(f"{args.name}: {len(units) - len(missing)} cached, {len(missing)} to compute")
        return 0
    results = []
    with runner.cluster(args.scheduler) as scheduler:
        for kind, todo in groups.items():
            results.append(runner.run(todo, scheduler=scheduler, refresh=args.refresh, cache_dir=args.cache_dir,
                                      desc=f"{args.name}: {kind}", allow_failures=True))
    _print_summary(args.name, groups, results, sum(r.seconds for r in results))
    if any(r.failed for r in results):
        print(f"{args.name}: some units failed; fix the cause and run again (completed units are cached)",
              file=sys.stderr)
        return 1
    return 0


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
    sweep.set_defaults(handler=_sweep, parser=sweep)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return args.handler(args, args.parser)


if __name__ == "__main__":
    sys.exit(main())
