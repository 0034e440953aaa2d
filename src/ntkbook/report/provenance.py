"""Where a chapter's numbers come from: the provenance note at the end of every chapter.

`chapter_provenance(spec)` reads, for the chapter's units at its profile (`units(spec)` of the chapter's registry
entry, `ntkbook.sweeps`), where each one was obtained and what computed it:

- computed now: by a `ntkbook.runner.run` call of this process (`runner.sources`), on this machine;
- user cache: read from the user's result cache (`NTKBOOK_CACHE`), which records no machine or run time;
- result store: read from the repository's result store (`ntkbook.store`), whose manifest records the machine,
  device, run time and date of each unit.

A unit this process did not run is looked up by its key, cache first (the runner's order), then the store. The
note computes nothing: it reads manifests. Its code fingerprint is that of the chapter's compute module and what it
imports (`ntkbook.cache.module_fingerprint`), the data fingerprints those of the splits the units read
(`ntkbook.data.fingerprint`), both shortened to 12 hex digits.
"""

from __future__ import annotations

import dataclasses
import html
import os

from ntkbook.sweeps import SWEEPS, SweepEntry

__all__ = ["COMPUTED", "CACHED", "STORED", "MISSING", "Provenance", "chapter_provenance", "chapter_units", "provenance_note",
           "unit_sources"]

COMPUTED, CACHED, STORED, MISSING = "computed now", "user cache", "result store", "not available"
SHORT = 12  # hex digits of a fingerprint shown


def _entry_of(spec) -> SweepEntry:
    module = type(spec).__module__
    for entry in SWEEPS.values():
        if entry.spec_module == module:
            return entry
    raise ValueError(f"{type(spec).__name__} is the spec of no chapter in ntkbook.sweeps.SWEEPS (module {module})")


def chapter_units(entry: SweepEntry, spec) -> list:
    """`entry.units(spec)`, built with one look at each data split: building a unit fingerprints every split it
    reads, which stats each file of the data folder, and `ntkbook.data` reuses a look for 2 s only; the files do
    not change while a note is written, so the reuse window is widened for this call."""
    from ntkbook import data

    reuse = data.FINGERPRINT_REUSE_SECONDS
    data.FINGERPRINT_REUSE_SECONDS = max(reuse, 600.0)
    try:
        return entry.units(spec)
    finally:
        data.FINGERPRINT_REUSE_SECONDS = reuse


def unit_sources(units, sweep: str, *, cache_dir=None, root=None) -> list[tuple[object, str, dict | None]]:
    """(unit, source, store record or None) per unit, source one of COMPUTED, CACHED, STORED, MISSING.

    This process's runs decide first (`ntkbook.runner.sources`); a unit it did not run is looked up by key in the
    user cache (its entry file), then in the store's manifests (`ntkbook.store.records`). Reads only.
    """
    from ntkbook import cache, runner, store

    ran = runner.sources()
    stored = store.records(sweep, root)
    folder = cache.results_dir(cache_dir)
    out = []
    for unit in runner.unique_units(units):
        name = f"{unit.kind}-{unit.key}"
        rec = stored.get(name)
        how = ran.get(unit.key, (None, None))[0]
        if how is None:
            how = "cached" if (folder / f"{name}{cache.MANIFEST_SUFFIX}").is_file() else "stored" if rec else None
        source = {"computed": COMPUTED, "cached": CACHED, "stored": STORED, None: MISSING}[how]
        out.append((unit, source, rec if source == STORED else None))
    return out


@dataclasses.dataclass(frozen=True)
class Provenance:
    """The provenance of one chapter at one profile (see the module docstring). counts: {source: units};
    machines: where the units were computed ("machine; device"), each with its number of units; seconds: summed
    wall seconds of the units with a recorded run time (`timed` of them); dates: (first, last) store date or None."""

    sweep: str
    profile: str
    counts: dict
    machines: tuple[tuple[str, int], ...]
    seconds: float
    timed: int
    code: str
    data: tuple[tuple[str, str], ...]
    dates: tuple[str, str] | None = None

    @property
    def units(self) -> int:
        return sum(self.counts.values())

    def lines(self) -> list[tuple[str, str]]:
        """(label, text) rows of the note, plain text."""
        counts = ", ".join(f"{self.counts[s]} {s}" for s in (COMPUTED, CACHED, STORED, MISSING)
                           if self.counts.get(s) or s != MISSING)
        where = "; ".join(f"{m} ({n} unit{'s' if n != 1 else ''})" for m, n in self.machines) or \
            "not recorded (no unit was computed in this run or read from the result store)"
        if self.timed:
            time = f"{self.seconds:.1f} s summed over {self.timed} of {self.units} units"
            time += "" if self.timed == self.units else " (units read from the user cache record no run time)"
        else:
            time = "not recorded (no unit was computed in this run or read from the result store)"
        rows = [("profile", self.profile), ("units", f"{self.units}: {counts}"), ("computed on", where),
                ("run time", time)]
        if self.dates:
            rows.append(("stored", self.dates[0] if self.dates[0] == self.dates[1] else f"{self.dates[0]} to {self.dates[1]}"))
        rows.append(("code fingerprint", self.code))
        rows.append(("data fingerprints", ", ".join(f"{n} {f}" for n, f in self.data) or "none (no data read)"))
        return rows

    def _repr_html_(self) -> str:
        items = "".join(f"<li><strong>{html.escape(k)}</strong>: {html.escape(v)}</li>" for k, v in self.lines())
        return ('<div class="ntk-provenance" style="font-size: 0.85em; border-top: 1px solid #c8c8c8; '
                'margin-top: 1.5em; padding-top: 0.4em;"><strong>Where these numbers come from</strong>'
                f'<ul style="padding-left: 1.2em; margin: 0.2em 0;">{items}</ul></div>')

    def __repr__(self) -> str:
        return "\n".join(f"{k}: {v}" for k, v in self.lines())


def _this_machine() -> str:
    import sys

    from ntkbook import store

    device = "cpu"
    if "jax" in sys.modules:  # a unit computed in this process ran on JAX's default device
        d = sys.modules["jax"].devices()[0]
        device = d.platform + (f" ({d.device_kind})" if d.platform != "cpu" else "")
    return f"{store.machine()}; {device}"


def chapter_provenance(spec, *, cache_dir=None, root: str | os.PathLike | None = None) -> Provenance:
    """The `Provenance` of the chapter whose resolved spec is `spec` (a Spec of a registered chapter)."""
    from ntkbook import cache, data

    entry = _entry_of(spec)
    found = unit_sources(chapter_units(entry, spec), entry.name, cache_dir=cache_dir, root=root)
    counts = {s: 0 for s in (COMPUTED, CACHED, STORED, MISSING)}
    machines: dict[str, int] = {}
    seconds, timed, dates = 0.0, 0, []
    computed_seconds = {}
    if any(src == COMPUTED for _, src, _ in found):
        from ntkbook import runner

        computed_seconds = {k: s for k, (how, s) in runner.sources().items() if how == "computed"}
        here = _this_machine()
    for unit, src, rec in found:
        counts[src] += 1
        if src == COMPUTED:
            machines[here] = machines.get(here, 0) + 1
            secs = computed_seconds.get(unit.key)
        elif src == STORED:
            where = f"{rec.get('machine', 'machine not recorded')}; {rec.get('device') or 'cpu'}"
            machines[where] = machines.get(where, 0) + 1
            secs = rec.get("seconds")
            if rec.get("date"):
                dates.append(str(rec["date"])[:10])
        else:
            secs = None
        if secs is not None:
            seconds += float(secs)
            timed += 1
    reads = sorted({(r, u.params.get("data_dir")) for u, _, _ in found for r in u.reads})
    fps = tuple((f"{name}/{split}", data.fingerprint(name, split, data_dir=data_dir)[:SHORT])
                for (name, split), data_dir in reads)
    return Provenance(entry.name, spec.profile, counts, tuple(sorted(machines.items())), seconds, timed,
                      cache.module_fingerprint(entry.module)[:SHORT], fps,
                      (min(dates), max(dates)) if dates else None)


def provenance_note(spec, **kwargs) -> Provenance:
    """`chapter_provenance(spec)`, shown as the chapter's last cell (tagged ``remove-input`` and ``provenance``)."""
    return chapter_provenance(spec, **kwargs)
