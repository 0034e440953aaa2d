"""The built "Claims at a glance" page agrees with the chapters of the same build.

Reads the executed notebooks of the last book build (book/_build/jupyter_execute/*.ipynb): every claim on the claims
page must carry the same glued value, interval and status as the chapter that decides it, the page must list at
least 16 claims with statuses from the vocabulary, and each row's link must point at a section that exists.
Skipped when there is no built book; with NTKBOOK_CHECK_BOOK=1 (`make check-book`) a missing build fails instead.
"""

from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path

import pytest

from ntkbook.claims import STATUSES
from ntkbook.report.claims import CHAPTERS, VERDICTS_MIME

ROOT = Path(__file__).resolve().parents[1]
BUILD = Path(os.environ.get("NTKBOOK_BOOK_BUILD", ROOT / "book" / "_build"))
EXECUTED = BUILD / "jupyter_execute"
MIN_ROWS = 16
# a verdict's element (a row of our own results, or an item under a paper claim's headline) and its first link
_ROW = re.compile(r'<(?:tr|li) id="claim-([^"]+)"[^>]*>.*?<a href="([^"#]+)\.html(?:#([^"]*))?">', re.S)
_HEADLINE = re.compile(r'<tr id="paper-claim-([^"]+)" class="ntk-headline">')


def glued(nb: dict) -> dict[str, str]:
    """{glue name: its text} of an executed notebook: the verdict records `report.claims.glue_verdicts` leaves (the
    book build keeps them) and, where present, myst-nb's glue outputs (`scrapbook` metadata; a value glued without
    display has its MIME types prefixed by `mime_prefix`; the build takes these out of the notebooks it saves)."""
    out = {}
    for cell in nb.get("cells", []):
        for o in cell.get("outputs", []):
            out.update(o.get("data", {}).get(VERDICTS_MIME, {}))
            scrap = o.get("metadata", {}).get("scrapbook", {})
            key = scrap.get("mime_prefix", "") + "text/plain"
            if scrap.get("name") and key in o.get("data", {}):
                out[scrap["name"]] = "".join(o["data"][key])
    return out


def claim_rows(nb: dict) -> list[tuple[str, str, str]]:
    """(claim id, chapter doc, section label) of every row of the claims table in an executed claims page."""
    rows = []
    for cell in nb.get("cells", []):
        for o in cell.get("outputs", []):
            page = "".join(o.get("data", {}).get("text/html", ""))
            if "ntk-claims" in page:
                rows += [(html.unescape(c), doc, html.unescape(sec or "")) for c, doc, sec in _ROW.findall(page)]
    return rows


def headline_rows(nb: dict) -> list[str]:
    """The paper-claim keys of the headline rows of an executed claims page, in order (repeats kept)."""
    out = []
    for cell in nb.get("cells", []):
        for o in cell.get("outputs", []):
            out += _HEADLINE.findall("".join(o.get("data", {}).get("text/html", "")))
    return [html.unescape(k) for k in out]


def claim_fields(values: dict[str, str]) -> dict[str, dict[str, str]]:
    """{claim id: {field: text}} from glue names claim.<id>.<field>."""
    out: dict[str, dict[str, str]] = {}
    for name, text in values.items():
        if name.startswith("claim.") and name.count(".") >= 2:
            claim, field = name[len("claim."):].rsplit(".", 1)
            out.setdefault(claim, {})[field] = text
    return out


def label_exists(doc: str, label: str) -> bool:
    """Whether `label` is a target in `doc`: an id in its built HTML if there is one, else `(label)=` in its source."""
    page = BUILD / "html" / f"{doc}.html"
    if page.is_file():
        return f'id="{label}"' in page.read_text(encoding="utf-8")
    for ext in (".ipynb", ".md"):
        src = ROOT / "book" / f"{doc}{ext}"
        if src.is_file():
            return f"({label})=" in src.read_text(encoding="utf-8")
    return False


# ---- the helpers, on a made-up executed notebook (always run) ---------------------------------------------


def _fake(glues: dict, table_html: str = "") -> dict:
    prefix = "application/papermill.record/"  # what myst_nb.glue(..., display=False) writes
    outputs = [{"output_type": "display_data", "metadata": {"scrapbook": {"name": k, "mime_prefix": prefix}},
                "data": {prefix + "text/plain": v}} for k, v in glues.items()]
    if table_html:
        outputs.append({"output_type": "execute_result", "metadata": {}, "data": {"text/html": table_html}})
    return {"cells": [{"cell_type": "code", "outputs": outputs}]}


def test_helpers_read_glue_and_table_rows():
    nb = _fake({"claim.a.b.ours": "1.5", "claim.a.b.status": "'holds'", "other": "3"},
               '<table class="ntk-table ntk-claims"><tr id="claim-a.b"><td>x</td><td>'
               '<a href="01_x.html#sec-1">ch</a></td></tr></table>')
    assert glued(nb)["claim.a.b.ours"] == "1.5"
    assert claim_fields(glued(nb)) == {"a.b": {"ours": "1.5", "status": "'holds'"}}
    assert claim_rows(nb) == [("a.b", "01_x", "sec-1")]
    nested = _fake({}, '<table class="ntk-table ntk-claims"><tr id="paper-claim-t2" class="ntk-headline"><td>'
                       '<ul><li id="claim-t2.a" class="ntk-part">x <a href="04_m.html#s">Chapter 4</a></li>'
                       '<li id="claim-t2.b" class="ntk-variant">y <a href="04_m.html#s2">Chapter 4</a></li></ul></td></tr>'
                       '<tr id="claim-own.c"><td>z</td><td><a href="05_d.html#q">Chapter 5</a></td></tr></table>')
    assert claim_rows(nested) == [("t2.a", "04_m", "s"), ("t2.b", "04_m", "s2"), ("own.c", "05_d", "q")]
    assert headline_rows(nested) == ["t2"]
    assert label_exists("protocol", "protocol-prop45") and not label_exists("protocol", "no-such-label")


# ---- the built book ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def page() -> dict:
    path = EXECUTED / "claims.ipynb"
    if not path.is_file():
        if os.environ.get("NTKBOOK_CHECK_BOOK"):
            pytest.fail(f"the book is not built ({path} is missing): run `make book` first")
        pytest.skip("no built book (book/_build/jupyter_execute/claims.ipynb): run `make book` to check the claims page")
    return json.loads(path.read_text(encoding="utf-8"))


def test_claims_page_lists_enough_claims_with_valid_statuses_and_links(page):
    rows = claim_rows(page)
    fields = claim_fields(glued(page))
    assert len(rows) >= MIN_ROWS, f"the claims page lists {len(rows)} claims, fewer than {MIN_ROWS}"
    assert {c for c, _, _ in rows} == set(fields), "table rows and glued claims differ"
    for claim, doc, label in rows:
        status = fields[claim]["status"].strip("'\"")
        assert status in STATUSES, f"{claim}: status {status!r} is not in the vocabulary"
        assert label and label_exists(doc, label), f"{claim}: link {doc}.html#{label} has no target"


def test_each_paper_claim_is_one_headline_row_with_its_recorded_status(page):
    """Every claim of the paper the chapters decide heads exactly one row; its badge is the status the page's verdict
    record holds for it (which the intro's table reads)."""
    keys = headline_rows(page)
    assert keys and len(keys) == len(set(keys)), f"paper claims repeated as headline rows: {keys}"
    record = glued(page)
    for key in keys:
        assert record.get(f"headline.{key}.status", "").strip("'\"") in STATUSES, f"no recorded status for {key}"


def test_claims_page_values_equal_the_chapters_of_the_same_build(page):
    page_fields = claim_fields(glued(page))
    chapters: dict[str, dict] = {}
    mismatches = []
    for claim, doc, _ in claim_rows(page):
        if doc == "claims":  # a "not run" row: no chapter produced it
            assert page_fields[claim]["status"].strip("'\"") == "not run", claim
            continue
        if doc not in chapters:
            path = EXECUTED / f"{doc}.ipynb"
            chapters[doc] = claim_fields(glued(json.loads(path.read_text(encoding="utf-8")))) if path.is_file() else None
        if chapters[doc] is None:
            mismatches.append(f"{claim}: chapter {doc} is not in the build ({EXECUTED / doc}.ipynb missing)")
            continue
        theirs = chapters[doc].get(claim)
        if theirs is None:
            mismatches.append(f"{claim}: chapter {doc} does not glue it (call report.claims.glue_verdicts)")
            continue
        for field, value in page_fields[claim].items():
            if theirs.get(field) != value:
                mismatches.append(f"{claim}.{field}: page {value!r} vs {doc} {theirs.get(field)!r}")
    assert not mismatches, "the claims page disagrees with its chapters:\n" + "\n".join(mismatches)


def test_glue_verdicts_leaves_a_record_the_check_reads():
    """What a chapter's glue_verdicts call leaves in an executed notebook is what `glued` reads back."""
    from IPython.core.interactiveshell import InteractiveShell

    from ntkbook.claims import Verdict
    from ntkbook.report.claims import glue_verdicts

    shell = InteractiveShell.instance()
    captured = []
    shell.display_pub.publish = lambda data, metadata=None, **kw: captured.append(data)
    try:
        glue_verdicts([Verdict("a.b", "s", "holds", None, 1.5, None, "r", "quick", section="x", chapter="c")])
    finally:
        InteractiveShell.clear_instance()
    nb = {"cells": [{"cell_type": "code", "outputs": [{"output_type": "display_data", "metadata": {}, "data": d}
                                                      for d in captured]}]}
    assert claim_fields(glued(nb)) == {"a.b": {"ours": "1.5", "status": "'holds'", "low": "nan", "high": "nan"}}


@pytest.mark.parametrize("chapter", [doc for doc, _, _ in CHAPTERS])
def test_each_chapter_opens_with_its_verdict_box(chapter):
    """Right after the chapter's opening cell comes the paste of the box that its `glue_verdicts` call glues, so the
    answer is on the first screen; the browser check measures where it lands (tests/test_browser.py)."""
    from ntkbook.report.claims import VERDICT_BOX

    nb = json.loads((ROOT / "book" / f"{chapter}.ipynb").read_text(encoding="utf-8"))
    sources = ["".join(c["source"]) for c in nb["cells"]]
    assert sources[1].strip() == f"```{{glue}} {VERDICT_BOX}\n```", f"{chapter}: cell 2 is not the verdict box"
    assert any("glue_verdicts(" in s for c, s in zip(nb["cells"], sources, strict=True) if c["cell_type"] == "code"), (
        f"{chapter} never calls report.claims.glue_verdicts, so its verdict box would stay empty")
