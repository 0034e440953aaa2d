"""Which profile each chapter's verdicts on the claims page come from, and the same claims at other profiles.

The book renders each chapter at the profile its configuration names (`ntkbook.notebook.book_profile`); the claims
page collects each chapter's verdicts at that profile (`chapter_profile`). Where the result store (or the user
cache) holds every unit of a chapter at another profile too, `other_profile_verdicts` reads that chapter's verdicts
there as well, computing nothing, and the page lists them under the claims as variants labelled by their profile.
"""

from __future__ import annotations

from collections.abc import Iterable

from ntkbook.claims import Verdict
from ntkbook.report.claim_rows import at_profile
from ntkbook.sweeps import SWEEPS, SweepEntry

__all__ = ["available_profiles", "chapter_profile", "other_profile_verdicts", "profiles_text"]


def _entry(doc: str) -> SweepEntry | None:
    return next((e for e in SWEEPS.values() if e.document == doc), None)


def chapter_profile(doc: str, profile: str = "default") -> str:
    """The profile the chapter `doc` renders at in this build (`ntkbook.notebook.book_profile`: `profile` when it
    is not "default", else `NTKBOOK_PROFILE`, else the book's configuration); `profile` for a page of no chapter."""
    from ntkbook.notebook import book_profile

    entry = _entry(doc)
    return book_profile(profile, entry.spec_class) if entry is not None else profile


def available_profiles(entry: SweepEntry, *, cache_dir=None, root=None) -> list[str]:
    """The chapter's profiles with a layer in the result store whose every unit is in the store or the user cache
    (so reading its verdicts computes nothing), in the spec's order."""
    from ntkbook import store
    from ntkbook.report.provenance import MISSING, chapter_units, unit_sources

    stored = {rec["profile"] for rec in store.records(entry.name, root).values()}
    out = []
    for profile in (p for p in entry.profiles() if p in stored):
        found = unit_sources(chapter_units(entry, entry.resolve(profile)), entry.name, cache_dir=cache_dir, root=root)
        if found and all(src != MISSING for _, src, _ in found):
            out.append(profile)
    return out


def other_profile_verdicts(verdicts: Iterable[Verdict], *, cache_dir=None, root=None) -> list[Verdict]:
    """Each chapter's verdicts at every `available_profiles` profile other than the one its `verdicts` have, with
    ids ``<id>@<profile>`` (`ntkbook.report.claim_rows.at_profile`), in book order."""
    verdicts = list(verdicts)
    out: list[Verdict] = []
    for entry in SWEEPS.values():
        shown = {v.profile for v in verdicts if v.chapter == entry.document}
        if not shown:
            continue
        for profile in available_profiles(entry, cache_dir=cache_dir, root=root):
            if profile not in shown:
                kwargs = {"cache_dir": cache_dir} if cache_dir is not None else {}
                out += [at_profile(v, profile) for v in entry.load_report().claim_verdicts(profile, **kwargs)]
    return out


def profiles_text(verdicts: Iterable[Verdict]) -> str:
    """The profiles of the verdicts in words: "quick" when all share one, else "decisive (chapters 3, 4),
    default (chapters 1, 2)" (most chapters first)."""
    docs = [e.document for e in SWEEPS.values()]
    by_profile: dict[str, list[int]] = {}
    for v in verdicts:
        if v.chapter in docs:
            number = docs.index(v.chapter) + 1
            if number not in by_profile.setdefault(v.profile, []):
                by_profile[v.profile].append(number)
    if len(by_profile) <= 1:
        return next(iter(by_profile), "–")
    parts = sorted(by_profile.items(), key=lambda kv: (-len(kv[1]), min(kv[1])))
    return ", ".join(f"{p} (chapter{'s' if len(n) > 1 else ''} {', '.join(map(str, sorted(n)))})" for p, n in parts)
