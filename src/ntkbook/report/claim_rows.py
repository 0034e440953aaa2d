"""The paper's claims on the claims page, one headline row each, from the verdicts the chapters decide.

`PAPER_CLAIMS` names, per claim of the paper, the verdict ids that decide its headline status (members: each data
set, each part, at the book's profile) and those shown beneath it (variants: the literal reading, another
protocol, another profile). `claim_rows` groups the verdicts so; `headline_status` combines the members.
Verdicts computed at another profile than the book's carry the id ``<id>@<profile>`` (`at_profile`) and are shown
as variants of the claim their ``<id>`` belongs to.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Iterable

from ntkbook import claims
from ntkbook.claims import NOT_RUN, Verdict

__all__ = ["PAPER_CLAIMS", "ClaimRow", "at_profile", "base_claim", "claim_rows", "headline_status", "headline_values",
           "own_results", "section_href", "variant_label"]


def section_href(v: Verdict) -> str:
    """Relative URL of the section that decides `v` in the built HTML book: ``<chapter>.html#<label>``."""
    return f"{v.chapter}.html#{v.section}" if v.section else f"{v.chapter}.html"


#: The paper's claims (keys of `ntkbook.paper.STATEMENTS`) in book order, each with the verdict ids that check it:
#: (key, members, variants) as `fnmatch` patterns on the verdict id. The members decide the headline status (the
#: claim as the book reads it, at the book's profile: each data set, each part); the variants (the literal reading,
#: another training protocol, another penalty, another kernel) are shown beneath it, labelled by what differs.
PAPER_CLAIMS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("linearization", ("linearization.*",), ()),
    ("thm4.1", ("thm4.1.*",), ()),
    ("thm4.2", ("thm4.2.*",), ()),
    ("prop4.5", ("prop4.5.corrected.*",), ("prop4.5.literal.*",)),
    ("prop4.5.growth", ("prop4.5.growth*",), ()),
    ("thm4.7", ("thm4.7.*",), ()),
    ("kappa", ("kappa.*",), ()),
    ("threshold.v1", ("threshold.v1.*",), ()),
    ("threshold.v2", ("threshold.v2.*",), ()),
    ("depth", ("depth.*",), ("open.depth.*",)),
    ("truncation", ("open.truncation.*",), ()),
    ("table1", ("table1.trend.*",), ("table1.gd-trend.*", "table1.trend-no-penalty.*")),
    ("table2", ("table2.ratio.*.deciding",), ("table2.ratio.*.grid", "table2.ratio.*.literal")),
    ("table3", ("table3.ratio.*.deciding",), ("table3.ratio.*.grid", "table3.ratio.*.literal")),
    ("table4", ("table4.*",), ()),
    ("eps_sweep", ("eps_sweep.*",), ()),
    ("ratio.v2", ("ratio.v2.*",), ()),
    ("dual", ("dual.power.G3.*", "dual.pair.*"), ("dual.power.*",)),
)

#: What a part of a verdict id says, for the label of a sub-row whose statement repeats the paper's.
_ID_WORDS = {"mnist": "MNIST", "cifar10": "CIFAR-10", "mnist-3v8": "MNIST 3 vs 8",
             "cifar10-auto-air": "CIFAR-10 automobile vs airplane", "grid": "over the grid of open choices",
             "literal": "the literal reading", "deciding": "at the deciding configuration",
             "corrected": "first-order reading", "gd-trend": "full-batch GD",
             "trend-no-penalty": "Adam without the L2 penalty", "trend": "Adam (the paper's protocol)"}


def at_profile(v: Verdict, profile: str) -> Verdict:
    """`v` as a verdict at another profile than the book's: its id becomes ``<id>@<profile>``."""
    return dataclasses.replace(v, claim=f"{base_claim(v)}@{profile}", profile=profile)


def base_claim(v: Verdict) -> str:
    """The verdict id without an ``@<profile>`` suffix (`at_profile`)."""
    return v.claim.partition("@")[0]


def _matches(claim: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(claim, p) for p in patterns)


def headline_status(members: Iterable[Verdict]) -> str:
    """The status of a paper claim from the verdicts that decide it: `claims.combine` of those that ran (a part
    not run at this profile neither helps nor hurts; it is listed beneath), "not run" when none ran."""
    ran = [v.status for v in members if v.status != NOT_RUN]
    return claims.combine(ran) if ran else NOT_RUN


def variant_label(v: Verdict, headline: str) -> str:
    """What a sub-row is about: its own statement where it says more than the headline `headline`, else the parts of
    its id after the claim's own words (data set, reading, protocol) in words, e.g. "MNIST, the literal reading"."""
    at = f" (profile {v.profile})" if "@" in v.claim else ""
    if v.statement.strip() != headline.strip():
        return v.statement + at
    parts = base_claim(v).split(".")
    words = [_ID_WORDS[p] for p in parts if p in _ID_WORDS]
    return (", ".join(dict.fromkeys(words)) or base_claim(v)) + at


@dataclasses.dataclass(frozen=True)
class ClaimRow:
    """One claim of the paper on the claims page: key (of `ntkbook.paper.STATEMENTS`, or the verdict id of a claim
    no entry of `PAPER_CLAIMS` names), name (how the paper refers to it), statement, status (`headline_status` of
    the members), members (the verdicts that decide it), variants (shown beneath)."""

    key: str
    name: str
    statement: str
    members: tuple[Verdict, ...]
    variants: tuple[Verdict, ...] = ()

    @property
    def status(self) -> str:
        return headline_status(self.members)

    @property
    def chapter(self) -> str:
        return self.members[0].chapter

    @property
    def href(self) -> str:
        return section_href(self.members[0])

    @property
    def profile(self) -> str:
        return self.members[0].profile

    def held(self) -> tuple[int, int]:
        """(members that hold, members that ran)."""
        ran = [v for v in self.members if v.status != NOT_RUN]
        return sum(v.status == claims.HOLDS for v in ran), len(ran)


def claim_rows(verdicts: Iterable[Verdict], table=PAPER_CLAIMS, others: Iterable[Verdict] = ()) -> list[ClaimRow]:
    """The paper's claims with their verdicts, one `ClaimRow` each, in the order of `table` (then the unassigned).

    A verdict belongs to the first entry whose member or variant patterns match its id (members win over variants
    within an entry). A paper claim without any verdict is left out. A verdict of the paper (not `beyond_paper`)
    that no entry names gets a row of its own (its statement as the claim), so nothing the chapters decide is
    dropped; our own results (`beyond_paper`) that no entry names are left to `own_results`. `others`: verdicts at
    another profile (`at_profile`); each joins the variants of the row that shows its ``<id>`` (never the members,
    so the headline stays the book's profile's), right after the verdict it repeats.
    """
    from ntkbook import paper

    verdicts = list(verdicts)
    again: dict[str, list[Verdict]] = {}
    for o in others:
        again.setdefault(base_claim(o), []).append(o)
    taken: set[str] = set()
    rows = []
    for key, members, variants in table:
        mine = [v for v in verdicts if v.claim not in taken and _matches(v.claim, members)]
        taken.update(v.claim for v in mine)
        other = [v for v in verdicts if v.claim not in taken and _matches(v.claim, variants)]
        taken.update(v.claim for v in other)
        if not mine:
            if other:  # variants without their headline: the first one leads
                mine, other = other[:1], other[1:]
            else:
                continue
        st = paper.STATEMENTS.get(key)
        shown = [x for v in (*mine, *other) for x in (v, *again.get(v.claim, ())) if x is not v or v in other]
        rows.append(ClaimRow(key, st.name if st else key, st.text if st else mine[0].statement, tuple(mine),
                             tuple(shown)))
    for v in verdicts:
        if v.claim not in taken and not v.beyond_paper:
            rows.append(ClaimRow(v.claim, "", v.statement, (v,), tuple(again.get(v.claim, ()))))
    return rows


def own_results(verdicts: Iterable[Verdict], rows: Iterable[ClaimRow]) -> list[Verdict]:
    """Our results beyond the paper that are not shown under one of its claims (`claim_rows`), in order."""
    shown = {v.claim for r in rows for v in (*r.members, *r.variants)}
    return [v for v in verdicts if v.beyond_paper and v.claim not in shown]


def headline_values(rows: Iterable[ClaimRow]) -> dict[str, str]:
    """{``headline.<key>.status``: status} of every paper claim: what the intro's table and the chapters' boxes
    read (glued by the claims page, kept in its verdict record)."""
    return {f"headline.{r.key}.status": r.status for r in rows}


