"""The "Claims at a glance" page: every chapter's verdicts, collected, formatted and glued.

`collect(profile)` imports the report module of every chapter and calls its `claim_verdicts(profile)`; those read
the chapters' results through the result cache, so the page re-reads what the chapters computed in the same build
and never retypes a number. A chapter whose report module does not exist (or offers no `claim_verdicts`) is listed
with status "not run", never skipped. `glue_verdicts` glues each verdict's value and status under
``claim.<id>.ours`` / ``claim.<id>.status``; the chapters call it too, and a test checks that the page's glued
values equal the chapters' in the same build.
"""

from __future__ import annotations

import html
import importlib
import importlib.util
import math
from collections.abc import Iterable

import pandas as pd

from ntkbook import claims
from ntkbook.claims import NOT_RUN, Verdict
from ntkbook.sweeps import SWEEPS

__all__ = ["CHAPTERS", "NOT_RUN_SECTION", "collect", "glue_key", "glue_verdicts", "format_value", "format_ours",
           "format_paper", "section_href", "claims_frame", "chapter_table", "glue_values", "ClaimsTable", "claims_table", "status_counts"]

#: (document name, report module under ntkbook.report, title) of every chapter, in book order: read from the one
#: registry of the chapters, `ntkbook.sweeps.SWEEPS`.
CHAPTERS = tuple((e.document, e.report.rpartition(".")[2], e.heading) for e in SWEEPS.values())
#: label on the claims page of the note that explains "not run" rows (their link points there).
NOT_RUN_SECTION = "claims-not-run"
CLAIMS_DOC = "claims"


def _report_module(module: str):
    """The chapter's report module, or None when it does not exist (an error inside an existing module raises)."""
    name = f"ntkbook.report.{module}"
    if importlib.util.find_spec(name) is None:
        return None
    return importlib.import_module(name)


def collect(profile: str = "default", *, chapters=CHAPTERS, **kwargs) -> list[Verdict]:
    """Every chapter's verdicts for `profile`, in book order.

    chapters: (doc, module, title) triples (default `CHAPTERS`); kwargs are passed to each `claim_verdicts` (e.g.
    cache_dir). A chapter whose module `ntkbook.report.<module>` is missing, or has no `claim_verdicts`, gives one
    verdict with status "not run" (claim "<module>.report"). Any error raised by an existing report propagates.
    """
    out: list[Verdict] = []
    for _doc, module, title in chapters:
        mod = _report_module(module)
        fn = getattr(mod, "claim_verdicts", None) if mod is not None else None
        if fn is None:
            out.append(Verdict(claim=f"{module}.report", statement=f"The claims of the chapter “{title}”",
                               status=NOT_RUN, paper_value=None, ours=None, interval=None,
                               rule="no verdicts: the chapter's report is not part of this build", profile=profile,
                               section=NOT_RUN_SECTION, chapter=CLAIMS_DOC))
            continue
        verdicts = list(fn(profile, **kwargs))
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


def glue_verdicts(verdicts: Iterable[Verdict]) -> None:
    """Glue (without display) every verdict's value, status and interval, under `glue_key` names.

    Call it in a ``remove-cell`` cell of the chapter that decides the claims, and on the claims page; the book's
    consistency test compares the two.
    """
    from IPython.display import display
    from myst_nb import glue

    values = glue_values(verdicts)
    for name, value in values.items():
        glue(name, value, display=False)
    # myst-nb takes glue outputs out of the executed notebook it saves with the build; this record stays there
    # (in a removed cell it is never shown), so the book's check can compare the claims page with its chapters.
    display({VERDICTS_MIME: verdict_record(values), "text/plain": ""}, raw=True)


#: MIME type of the record `glue_verdicts` leaves in the executed notebook: {glue name: repr of the value}.
VERDICTS_MIME = "application/vnd.ntkbook.verdicts+json"


def verdict_record(values: dict) -> dict[str, str]:
    """{glue name: repr(value)}, JSON-safe (a NaN becomes the text 'nan'), the same text on every page."""
    return {name: repr(value) for name, value in values.items()}


# ---- formatting ---------------------------------------------------------------------------------------------


def format_value(x) -> str:
    """A number for a table cell (`ntkbook.notebook.number`): 3 significant digits, scientific notation as
    typeset math (``$1.20\\times10^{18}$``) beyond 10^4 or below 10^-2, "∞" for inf, "–" for none."""
    from ntkbook.notebook import number

    return number(x)


def format_ours(v: Verdict) -> str:
    """Our value with its interval, e.g. "2.99 [2.98, 3]" (numbers as `format_value`); "–" when there is no
    value."""
    if v.ours is None or (isinstance(v.ours, float) and math.isnan(v.ours)):
        return "–"
    text = format_value(v.ours)
    if v.interval is not None:
        text += f" [{format_value(v.interval[0])}, {format_value(v.interval[1])}]"
    return text


def format_paper(v: Verdict) -> str:
    """The paper's value as a cell: a number formatted like ours, a phrase as given, "–" for none."""
    return format_value(v.paper_value) if v.paper_value is not None else "–"


def section_href(v: Verdict) -> str:
    """Relative URL of the section that decides `v` in the built HTML book: ``<chapter>.html#<label>``."""
    return f"{v.chapter}.html#{v.section}" if v.section else f"{v.chapter}.html"


def claims_frame(verdicts: Iterable[Verdict]) -> pd.DataFrame:
    """The claims table as data: columns claim, statement, paper, ours, status, profile, chapter, section, href,
    beyond_paper, rule (one row per verdict, in order)."""
    return pd.DataFrame([{"claim": v.claim, "statement": v.statement, "paper": format_paper(v), "ours": format_ours(v),
                          "status": v.status, "profile": v.profile, "chapter": v.chapter, "section": v.section,
                          "href": section_href(v), "beyond_paper": v.beyond_paper, "rule": v.rule}
                         for v in verdicts])


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
    """The claims page's table: statement, status badge, ours [interval], paper, a link and the profile per row;
    the rule that decided each row sits in a collapsed "rule" note. ``_repr_html_`` renders it (book and
    JupyterLab); ``frame`` holds the same rows as data."""

    def __init__(self, verdicts: Iterable[Verdict], titles: dict | None = None):
        self.verdicts = list(verdicts)
        self.frame = claims_frame(self.verdicts)
        self.titles = dict(titles or {doc: title for doc, _, title in CHAPTERS})

    def _repr_html_(self) -> str:
        from ntkbook.notebook import badge, text_html

        head = "".join(f'<th style="text-align: left;">{h}</th>'
                       for h in ("claim", "status", "ours [interval]", "paper", "shown in", "profile"))
        rows = []
        for v in self.verdicts:
            where = self.titles.get(v.chapter, v.chapter) if v.chapter != CLAIMS_DOC else "below"
            link = f'<a href="{html.escape(section_href(v))}">{html.escape(where)}</a>'
            beyond = " <em>(beyond the paper)</em>" if v.beyond_paper else ""
            config = ", ".join(f"{k} = {val}" for k, val in v.config)
            note = text_html(v.rule) + (f"<br><em>measured with</em> {html.escape(config)}" if config else "")
            rule = f"<details><summary>rule</summary>{note}</details>"
            rows.append(
                f'<tr id="claim-{html.escape(v.claim)}"><td>{text_html(v.statement)}{beyond}{rule}</td>'
                f"<td>{badge(v.status)}</td>"  # second, so the verdict is seen at a glance on any screen
                f'<td style="white-space: nowrap;">{text_html(format_ours(v))}</td>'
                f"<td>{text_html(format_paper(v))}</td><td>{link}</td><td>{html.escape(v.profile)}</td></tr>")
        # mathjax_process: the book's MathJax typesets notebook output only inside elements with this class
        return ('<div class="ntk-table-scroll mathjax_process tex2jax_process" style="overflow-x: auto; max-width: 100%;">'
                '<table class="ntk-table ntk-claims" style="border-collapse: collapse; margin: 0;">'
                f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>")

    def __repr__(self) -> str:
        return self.frame[["claim", "paper", "ours", "status", "profile", "href"]].to_string(index=False)


def claims_table(verdicts: Iterable[Verdict]) -> ClaimsTable:
    """`ClaimsTable` of the verdicts (display it as a cell's last value)."""
    return ClaimsTable(verdicts)
