"""The "Claims at a glance" page: every chapter's verdicts, collected, formatted and glued.

`collect(profile)` imports the report module of every chapter and calls its `claim_verdicts(profile)` inside
`runner.reading_only()`: those read the chapters' results from the result cache or the store, so the page re-reads
what the chapters computed in the same build, never retypes a number and never computes. A chapter whose report
module does not exist (or offers no `claim_verdicts`), or whose results are not recorded at its profile, is listed
with status "not run", never skipped. `glue_verdicts` glues each verdict's value and status under
``claim.<id>.ours`` / ``claim.<id>.status``; the chapters call it too, and a test checks that the page's glued
values equal the chapters' in the same build.
"""

from __future__ import annotations

import dataclasses
import html
import importlib
import importlib.util
import math
from collections.abc import Iterable

import pandas as pd

from ntkbook import claims, runner
from ntkbook.claims import NOT_RUN, Verdict
from ntkbook.report.claim_profiles import chapter_profile
from ntkbook.report.claim_rows import (  # noqa: F401 - re-exported: the claims page and chapters use report.claims
    PAPER_CLAIMS,
    ClaimRow,
    at_profile,
    base_claim,
    claim_rows,
    headline_status,
    headline_values,
    own_results,
    section_href,
    variant_label,
)
from ntkbook.sweeps import SWEEPS

__all__ = ["CHAPTERS", "NOT_RUN_SECTION", "chapter_profile", "collect", "glue_key", "glue_verdicts", "format_value", "format_ours",
           "format_paper", "section_href", "claims_frame", "chapter_table", "glue_values", "ClaimsTable", "claims_table",
           "status_counts", "PAPER_CLAIMS", "ClaimRow", "claim_rows", "headline_status", "variant_label",
           "PaperClaimsTable", "paper_claims_table", "own_results", "chapter_summaries", "ChapterSummary",
           "VerdictBox", "verdict_box", "headline_values", "VERDICT_BOX", "chapter_label"]

#: (document name, report module under ntkbook.report, title) of every chapter, in book order: read from the one
#: registry of the chapters, `ntkbook.sweeps.SWEEPS`.
CHAPTERS = tuple((e.document, e.report.rpartition(".")[2], e.heading) for e in SWEEPS.values())
#: label on the claims page of the note that explains "not run" rows (their link points there).
NOT_RUN_SECTION = "claims-not-run"
CLAIMS_DOC = "claims"


def chapter_label(doc: str, chapters=CHAPTERS) -> str:
    """Short name of a chapter for a link in a narrow column: "Chapter N" (book order); "below" for the claims page
    itself (its "not run" note); the document name otherwise."""
    if doc == CLAIMS_DOC:
        return "below"
    for i, (name, _, _) in enumerate(chapters, start=1):
        if name == doc:
            return f"Chapter {i}"
    return doc


def _report_module(module: str):
    """The chapter's report module, or None when it does not exist (an error inside an existing module raises)."""
    name = f"ntkbook.report.{module}"
    if importlib.util.find_spec(name) is None:
        return None
    return importlib.import_module(name)


def collect(profile: str = "default", *, chapters=CHAPTERS, **kwargs) -> list[Verdict]:
    """Every chapter's verdicts, each at the profile it renders at (`chapter_profile`), in book order.

    chapters: (doc, module, title) triples (default `CHAPTERS`); kwargs are passed to each `claim_verdicts` (e.g.
    cache_dir). A chapter whose module `ntkbook.report.<module>` is missing, or has no `claim_verdicts`, or whose
    results are not in the cache or store (`runner.NotRecorded`: nothing is computed here), gives one verdict with
    status "not run" (claim "<module>.report"). Any other error raised by an existing report propagates.
    """
    out: list[Verdict] = []
    for doc, module, title in chapters:
        mod = _report_module(module)
        fn = getattr(mod, "claim_verdicts", None) if mod is not None else None
        if fn is None:
            out.append(Verdict(claim=f"{module}.report", statement=f"The claims of the chapter “{title}”",
                               status=NOT_RUN, paper_value=None, ours=None, interval=None,
                               rule="no verdicts: the chapter's report is not part of this build", profile=profile,
                               section=NOT_RUN_SECTION, chapter=CLAIMS_DOC))
            continue
        at = chapter_profile(doc, profile)
        try:
            with runner.reading_only():  # the page reads what the chapters recorded; it never computes
                verdicts = list(fn(at, **kwargs))
        except runner.NotRecorded as missing:
            out.append(Verdict(claim=f"{module}.report", statement=f"The claims of the chapter “{title}”",
                               status=NOT_RUN, paper_value=None, ours=None, interval=None,
                               rule=f"no verdicts: the chapter's results at profile {at!r} are not recorded "
                                    f"({missing.missing} of {missing.total} {missing.kind!r} units missing)",
                               profile=at, section=NOT_RUN_SECTION, chapter=CLAIMS_DOC))
            continue
        for v in verdicts:
            if not isinstance(v, Verdict):
                raise TypeError(f"ntkbook.report.{module}.claim_verdicts returned {type(v).__name__}, not Verdict")
        out.extend(verdicts)
    ids = [v.claim for v in out]
    dup = sorted({c for c in ids if ids.count(c) > 1})
    if dup:
        raise ValueError(f"claim ids must be unique across chapters; repeated: {dup}")
    return out


# ---- glue ---------------------------------------------------------------------------------------------------


def glue_key(claim: str, field: str = "ours") -> str:
    """The glue name of a verdict's field ("ours", "status", "low", "high"): ``claim.<id>.<field>``."""
    if field not in ("ours", "status", "low", "high"):
        raise ValueError(f"field must be ours, status, low or high, got {field!r}")
    return f"claim.{claim}.{field}"


def glue_values(verdicts: Iterable[Verdict]) -> dict:
    """{glue name: plain value} of each verdict's ours, status and interval ends (None -> nan)."""
    out = {}
    for v in verdicts:
        lo, hi = v.interval if v.interval is not None else (math.nan, math.nan)
        out[glue_key(v.claim, "ours")] = math.nan if v.ours is None else float(v.ours)
        out[glue_key(v.claim, "status")] = v.status
        out[glue_key(v.claim, "low")] = float(lo)
        out[glue_key(v.claim, "high")] = float(hi)
    return out


def design_href(design: str) -> str:
    """The link from a verdict to the table of its rule's design on the page "How the verdicts are tested"
    (`ntkbook.report.verdict_tests.PAGE`, anchor ``design-<name>``), relative to a page of the book's root."""
    from ntkbook.report import verdict_tests

    return f"{verdict_tests.PAGE}.html#design-{design}"


#: glue name of the chapter's verdict box (`verdict_box`), pasted at the top of the chapter with ``{glue} verdict_box``.
VERDICT_BOX = "verdict_box"


def glue_verdicts(verdicts: Iterable[Verdict]) -> None:
    """Glue (without display) every verdict's value, status and interval, under `glue_key` names, and the
    chapter's `verdict_box` under `VERDICT_BOX`.

    Call it in a ``remove-cell`` cell of the chapter that decides the claims, and on the claims page; the book's
    consistency test compares the two. The verdict record it leaves also holds each paper claim's headline status
    (`headline_values`), which the intro's table reads from the claims page.
    """
    from IPython.display import display
    from myst_nb import glue

    verdicts = list(verdicts)
    values = glue_values(verdicts)
    for name, value in values.items():
        glue(name, value, display=False)
    glue(VERDICT_BOX, verdict_box(verdicts), display=False)
    # myst-nb takes glue outputs out of the executed notebook it saves with the build; this record stays there
    # (in a removed cell it is never shown), so the book's check can compare the claims page with its chapters.
    record = verdict_record(values) | verdict_record(headline_values(claim_rows(verdicts)))
    display({VERDICTS_MIME: record, "text/plain": ""}, raw=True)


#: MIME type of the record `glue_verdicts` leaves in the executed notebook: {glue name: repr of the value}.
VERDICTS_MIME = "application/vnd.ntkbook.verdicts+json"


def verdict_record(values: dict) -> dict[str, str]:
    """{glue name: repr(value)}, JSON-safe (a NaN becomes the text 'nan'), the same text on every page."""
    return {name: repr(value) for name, value in values.items()}


# ---- formatting ---------------------------------------------------------------------------------------------


def format_value(x, digits: int = 3) -> str:
    """A number for a table cell (`ntkbook.notebook.number`): `digits` significant digits, scientific notation as
    typeset math (``$1.20\\times10^{18}$``) beyond 10^4 or below 10^-2, "∞" for inf, "–" for none."""
    from ntkbook.notebook import number

    return number(x, digits)


#: the most significant digits `verdict_digits` gives a verdict's numbers
MAX_DIGITS = 6


def verdict_digits(v: Verdict, start: int = 3) -> int:
    """Significant digits for a verdict's numbers: `start`, or more when our value and its interval ends are close
    relative to their size, so that the spread shows with two digits: ceil(log10(max|x| / spread)) + 2, at most
    `MAX_DIGITS`. A slope of -0.99912 in [-0.99981, -0.99834] then reads so, not "-0.999 [-1, -0.998]", which would
    round away the very deviation from -1 the rule tests."""
    values = [float(x) for x in (v.ours, *(v.interval or ())) if x is not None and math.isfinite(float(x))]
    spread = max(values) - min(values) if values else 0.0
    size = max((abs(x) for x in values), default=0.0)
    if not spread > 0 or not size > 0:
        return start
    return int(min(MAX_DIGITS, max(start, math.ceil(math.log10(size / spread)) + 2)))


def _ours_parts(v: Verdict) -> tuple[str, str | None]:
    digits = verdict_digits(v)
    interval = None if v.interval is None else \
        f"[{format_value(v.interval[0], digits)}, {format_value(v.interval[1], digits)}]"
    return format_value(v.ours, digits), interval


def format_ours(v: Verdict) -> str:
    """Our value with its interval, e.g. "2.99 [2.98, 3]" (numbers as `format_value`, with as many digits as
    `verdict_digits` needs to tell them apart); "–" when there is no value."""
    if v.ours is None or (isinstance(v.ours, float) and math.isnan(v.ours)):
        return "–"
    value, interval = _ours_parts(v)
    return value + (f" {interval}" if interval else "")


def format_paper(v: Verdict) -> str:
    """The paper's value as a cell: a number formatted like ours, a phrase as given, "–" for none."""
    return format_value(v.paper_value) if v.paper_value is not None else "–"


CLAIMS_FRAME_COLUMNS = ["claim", "statement", "paper", "ours", "status", "profile", "chapter", "section", "href",
                        "beyond_paper", "rule"]


def claims_frame(verdicts: Iterable[Verdict]) -> pd.DataFrame:
    """The claims table as data: columns claim, statement, paper, ours, status, profile, chapter, section, href,
    beyond_paper, rule (one row per verdict, in order; those columns and no row for no verdicts)."""
    return pd.DataFrame([{"claim": v.claim, "statement": v.statement, "paper": format_paper(v), "ours": format_ours(v),
                          "status": v.status, "profile": v.profile, "chapter": v.chapter, "section": v.section,
                          "href": section_href(v), "beyond_paper": v.beyond_paper, "rule": v.rule}
                         for v in verdicts], columns=CLAIMS_FRAME_COLUMNS)


def chapter_table(verdicts: Iterable[Verdict]) -> pd.DataFrame:
    """A chapter's "Paper vs this book" rows: claim (the statement), paper, ours [interval], status, rule.

    Show it with ``ntkbook.notebook.table(chapter_table(v), details="rule")`` (status badges, the rule collapsed)."""
    return pd.DataFrame([{"claim": v.statement + (" (beyond the paper)" if v.beyond_paper else ""),
                          "paper": format_paper(v), "ours [interval]": format_ours(v), "status": v.status,
                          "rule": v.rule} for v in verdicts])


def status_counts(verdicts: Iterable[Verdict]) -> dict:
    """{status: number of verdicts with it}, over `claims.STATUSES` in order (zeros included)."""
    verdicts = list(verdicts)
    return {s: sum(v.status == s for v in verdicts) for s in claims.STATUSES}


class ClaimsTable:
    """A table of verdicts, one row each (the claims page's table of our own results): statement with a link to
    the chapter, status badge (second, so it shows on a phone), ours [interval], paper; the rule that decided each row
    sits in a collapsed "rule" note. ``_repr_html_`` renders it (book and JupyterLab); ``frame`` holds the same rows
    as data."""

    def __init__(self, verdicts: Iterable[Verdict], titles: dict | None = None):
        self.verdicts = list(verdicts)
        self.frame = claims_frame(self.verdicts)
        self.titles = dict(titles or {})

    def _repr_html_(self) -> str:
        from ntkbook.notebook import badge, text_html

        head = "".join(f"<th {_CELL}>{h}</th>" for h in ("claim (→ where it is shown)", "status", "ours [interval]", "paper"))
        rows = []
        for v in self.verdicts:
            where = self.titles.get(v.chapter) or chapter_label(v.chapter)
            link = (f' <span style="{_SMALL} white-space: nowrap;">→&nbsp;<a href="{html.escape(section_href(v))}">'
                    f"{html.escape(where)}</a></span>")
            beyond = " <em>(beyond the paper)</em>" if v.beyond_paper else ""
            rule = f'<details><summary style="{_SMALL}">rule</summary><span style="{_SMALL}">{_rule_html(v)}</span></details>'
            rows.append(
                f'<tr id="claim-{html.escape(v.claim)}">{_claim_cell(text_html(v.statement) + beyond + link + rule)}'
                f"<td {_CELL}>{badge(v.status)}{_profile_html(v.profile)}</td>"  # second: seen at a glance on any screen
                f"<td {_CELL}>{_ours_html(v)}</td>"
                f"<td {_CELL}>{text_html(_paper_cell(v, v.statement))}</td></tr>")
        # mathjax_process: the book's MathJax typesets notebook output only inside elements with this class
        return ('<div class="ntk-table-scroll mathjax_process tex2jax_process" style="overflow-x: auto; max-width: 100%;">'
                '<table class="ntk-table ntk-claims" style="border-collapse: collapse; margin: 0; width: 100%;">'
                f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>")

    def __repr__(self) -> str:
        return self.frame[["claim", "paper", "ours", "status", "profile", "href"]].to_string(index=False)


def claims_table(verdicts: Iterable[Verdict]) -> ClaimsTable:
    """`ClaimsTable` of the verdicts (display it as a cell's last value)."""
    return ClaimsTable(verdicts)


def _ours_html(v: Verdict) -> str:
    """Our value, the interval on a second line (so the column stays narrow on a phone)."""
    from ntkbook.notebook import text_html

    if v.ours is None or (isinstance(v.ours, float) and math.isnan(v.ours)):
        return "–"
    value, interval = _ours_parts(v)
    return text_html(value) + (f'<br><span style="{_SMALL}">{text_html(interval)}</span>' if interval else "")


def _rule_html(v: Verdict) -> str:
    from ntkbook.notebook import text_html

    config = ", ".join(f"{k} = {val}" for k, val in v.config)
    note = text_html(v.rule) + (f"<br><em>measured with</em> {html.escape(config)}" if config else "")
    design = getattr(v, "design", None)  # where the rule's operating characteristics are shown, when recorded
    if design:
        note += f'<br><a href="{html.escape(design_href(str(design)))}">how this verdict is tested</a>'
    return note


def _paper_cell(v: Verdict, statement: str) -> str:
    """The paper's value for a narrow column: "as stated" when it is the statement itself (a claim in words)."""
    text = format_paper(v)
    return "as stated" if text.strip() == statement.strip() or len(text) > 60 else text


def _count_text(row: ClaimRow) -> str:
    held, ran = row.held()
    return f"{held} of {ran} hold" if ran > 1 else ""


_CELL = 'style="text-align: left; vertical-align: top;"'
_SMALL = "font-size: 0.85em;"
#: the claim column's content box: a long formula (MathJax does not break inline math) scrolls inside it rather
#: than widen the column and push the status off a phone's screen
_CLAIM_BOX = '<div style="max-width: min(55vw, 40em); overflow-x: auto;">'


def _profile_html(profile: str) -> str:
    """The profile a status was reached at, under its badge."""
    return f'<br><span class="ntk-profile" style="{_SMALL} white-space: nowrap;">at {html.escape(profile)}</span>'


def _claim_cell(content: str) -> str:
    return f"<td {_CELL}>{_CLAIM_BOX}{content}</div></td>"


class PaperClaimsTable:
    """The claims page's first table: one row per claim of the paper (`claim_rows`): the claim with a link to the
    evidence, its headline status (second column, so it shows on a phone without scrolling), our deciding value,
    the paper's. Beneath each claim a collapsed list gives every verdict that decides it and every variant, each with
    its badge, label, value, rule and link (``id="claim-<verdict id>"``, which the book's check reads)."""

    def __init__(self, rows: Iterable[ClaimRow], titles: dict | None = None):
        self.rows = list(rows)
        self.titles = dict(titles or {})

    def _item(self, v: Verdict, label: str, kind: str) -> str:
        from ntkbook.notebook import badge, text_html

        where = self.titles.get(v.chapter) or chapter_label(v.chapter)
        return (f'<li id="claim-{html.escape(v.claim)}" class="ntk-{kind}" style="margin: 0.3em 0;">{badge(v.status)} '
                f"{'<em>variant:</em> ' if kind == 'variant' else ''}{text_html(label)}: {_ours_html(v)} "
                f'(paper: {text_html(_paper_cell(v, v.statement))}; <a href="{html.escape(section_href(v))}">{html.escape(where)}</a>)'
                f'<details><summary style="{_SMALL}">rule</summary><span style="{_SMALL}">{_rule_html(v)}</span>'
                "</details></li>")

    def _row(self, r: ClaimRow) -> str:
        from ntkbook.notebook import badge, text_html

        lead = r.members[0]
        items = [self._item(v, variant_label(v, r.statement), "part") for v in r.members]
        items += [self._item(v, variant_label(v, r.statement), "variant") for v in r.variants]
        n_var = len(r.variants)
        summary = (f"{len(r.members)} part{'s' if len(r.members) > 1 else ''}"
                   + (f", {n_var} variant{'s' if n_var > 1 else ''}" if n_var else "") + ": rules, values, links")
        detail = (f'<details class="ntk-claim-detail"><summary style="{_SMALL}">{summary}</summary>'
                  f'<ul style="padding-left: 1em; margin: 0.2em 0;">{"".join(items)}</ul></details>')
        name = f"<strong>{text_html(r.name)}.</strong> " if r.name else ""
        count = _count_text(r)
        ran = [v for v in r.members if v.status != NOT_RUN]
        ours = _ours_html(ran[0]) if len(ran) == 1 else (count or "–")
        where = self.titles.get(r.chapter) or chapter_label(r.chapter)
        link = (f' <span style="{_SMALL} white-space: nowrap;">→&nbsp;<a href="{html.escape(r.href)}">'
                f"{html.escape(where)}</a></span>")
        return (f'<tr id="paper-claim-{html.escape(r.key)}" class="ntk-headline">'
                f"{_claim_cell(name + text_html(r.statement) + link + detail)}"
                f'<td {_CELL}>{badge(r.status)}{_profile_html(r.profile)}'
                + (f'<br><span style="{_SMALL}">{count}</span>' if count and len(r.members) == 1 else "")
                + f"</td><td {_CELL}>{ours}</td><td {_CELL}>{text_html(_paper_cell(lead, r.statement))}</td></tr>")

    def _repr_html_(self) -> str:
        head = "".join(f'<th {_CELL}>{h}</th>' for h in ("claim of the paper (→ evidence)", "status", "ours", "paper"))
        # mathjax_process: the book's MathJax typesets notebook output only inside elements with this class
        return ('<div class="ntk-table-scroll mathjax_process tex2jax_process" style="overflow-x: auto; max-width: 100%;">'
                '<table class="ntk-table ntk-claims ntk-paper-claims" style="border-collapse: collapse; margin: 0; '
                f'width: 100%;"><thead><tr>{head}</tr></thead><tbody>{"".join(self._row(r) for r in self.rows)}'
                "</tbody></table></div>")

    def __repr__(self) -> str:
        return "\n".join(f"{r.status:>14}  {r.name or r.key}" for r in self.rows)


def paper_claims_table(verdicts: Iterable[Verdict], others: Iterable[Verdict] = ()) -> PaperClaimsTable:
    """`PaperClaimsTable` of the paper's claims among `verdicts`, with `others` (the same claims at other profiles,
    `ntkbook.report.claim_profiles.other_profile_verdicts`) among their variants; display it as a cell's last value."""
    return PaperClaimsTable(claim_rows(verdicts, others=others))


@dataclasses.dataclass(frozen=True)
class ChapterSummary:
    """One line per chapter: how many of the paper's claims it decides have each headline status."""

    rows: tuple[tuple[str, str, dict], ...]  # (doc, title, {status: count})

    def _repr_html_(self) -> str:
        from ntkbook.notebook import badge

        items = []
        for doc, title, counts in self.rows:
            parts = " ".join(f"{badge(s)}&nbsp;×{n}" for s, n in counts.items() if n)
            total = sum(counts.values())
            items.append(f'<li class="ntk-chapter-summary" style="margin: 0.25em 0;"><a href="{html.escape(doc)}.html">'
                         f"{html.escape(title)}</a>: {total} claim{'s' if total != 1 else ''}: {parts}</li>")
        return f'<ul class="ntk-chapter-summaries" style="padding-left: 1.2em;">{"".join(items)}</ul>'

    def __repr__(self) -> str:
        return "\n".join(f"{t}: " + ", ".join(f"{n} {s}" for s, n in c.items() if n) for _, t, c in self.rows)


def chapter_summaries(rows: Iterable[ClaimRow], chapters=CHAPTERS) -> ChapterSummary:
    """Per chapter (book order): the number of the paper's claims it decides with each headline status. A chapter
    with no claim row is left out; rows whose chapter is not one of `chapters` (e.g. "not run") come last."""
    rows = list(rows)
    known = [(doc, title) for doc, _, title in chapters]
    docs = {d for d, _ in known}
    extra = [(r.chapter, r.chapter) for r in rows if r.chapter not in docs]
    out = []
    for doc, title in [*known, *dict.fromkeys(extra)]:
        mine = [r for r in rows if r.chapter == doc]
        if mine:
            counts = {s: sum(r.status == s for r in mine) for s in claims.STATUSES}
            out.append((doc, title if doc != CLAIMS_DOC else "Chapters not in this build", counts))
    return ChapterSummary(tuple(out))


# ---- the verdict box at the top of each chapter ---------------------------------------------------------------


class VerdictBox:
    """What a chapter concludes, first: per claim of the paper it decides, the claim's name, the headline status,
    the deciding number (ours beside the paper's) and a link to the section with the evidence."""

    def __init__(self, rows: Iterable[ClaimRow], profile: str):
        self.rows = list(rows)
        self.profile = profile

    def _repr_html_(self) -> str:
        from ntkbook.notebook import badge, text_html

        items = []
        for r in self.rows:
            lead = r.members[0]
            count = _count_text(r)
            ran = [v for v in r.members if v.status != NOT_RUN]
            lead = ran[0] if len(ran) == 1 else lead
            number = f"ours {_ours_html(lead).replace('<br>', ' ')}" if len(ran) == 1 else count or ""
            paper_value = _paper_cell(lead, r.statement)
            number += f" (paper: {text_html(paper_value)})" if paper_value not in ("–", "as stated") else ""
            name = text_html(r.name or r.statement)
            items.append(f'<li style="margin: 0.3em 0;">{badge(r.status)} <strong>{name}</strong>'
                         + (f" — {text_html(_short(r.statement))}" if r.name else "")
                         + f'<br><span style="{_SMALL}">{number} · <a href="{html.escape(r.href)}">evidence</a></span></li>')
        if not items:
            items.append("<li>This chapter decides no claim of the paper.</li>")
        return ('<div class="ntk-verdict-box mathjax_process tex2jax_process" style="border: 1px solid #c8c8c8; '
                'border-left: 4px solid #3553a0; border-radius: 4px; padding: 0.5em 0.9em; margin: 0.8em 0; '
                'overflow-x: auto; max-width: 100%;">'
                f'<strong>Verdict</strong> <span style="{_SMALL}">(profile {html.escape(self.profile)}; '
                'every claim of the book on <a href="claims.html">Claims at a glance</a>)</span>'
                f'<ul style="padding-left: 1.1em; margin: 0.3em 0 0 0;">{"".join(items)}</ul></div>')

    def __repr__(self) -> str:
        return "\n".join(f"{r.status}: {r.name or r.statement}" for r in self.rows)


def _short(text: str, limit: int = 160) -> str:
    """`text` cut at a word before `limit` characters (never inside $...$), with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    while cut > 0 and text[:cut].count("$") % 2:
        cut = text.rfind(" ", 0, cut)
    return (text[:cut] if cut > 0 else text[:limit]).rstrip(" ,;:") + " …"


def verdict_box(verdicts: Iterable[Verdict]) -> VerdictBox:
    """The `VerdictBox` of a chapter's verdicts (its paper claims, `claim_rows`); the profile is the verdicts'."""
    verdicts = list(verdicts)
    profiles = sorted({v.profile for v in verdicts})
    return VerdictBox(claim_rows(verdicts), ", ".join(profiles) or "–")
