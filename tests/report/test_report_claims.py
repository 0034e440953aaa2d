"""ntkbook.report.claims: collecting verdicts from the chapters' reports, glue names, formatting, the figure."""

from __future__ import annotations

import dataclasses
import math
import sys
import types

import matplotlib
import pytest

from ntkbook import paper
from ntkbook.claims import HOLDS, NOT_RUN, Verdict
from ntkbook.plotting import claims as figs
from ntkbook.report import claims as R

matplotlib.use("Agg")


def _v(claim, status=HOLDS, ours=2.0, interval=(1.0, 3.0), paper=2.5, chapter="01_x", section="sec"):
    return Verdict(claim, f"statement {claim}", status, paper, ours, interval, "rule", "quick", {}, section, chapter)


@pytest.fixture
def fake_reports(monkeypatch):
    """Two fake chapter report modules: one with verdicts, one without claim_verdicts."""
    good = types.ModuleType("ntkbook.report._fake_good")
    good.claim_verdicts = lambda profile, **kw: [_v("a.one"), _v("a.two", status="does not hold")]
    bare = types.ModuleType("ntkbook.report._fake_bare")
    monkeypatch.setitem(sys.modules, good.__name__, good)
    monkeypatch.setitem(sys.modules, bare.__name__, bare)
    monkeypatch.setattr(R, "_report_module", lambda m: {"_fake_good": good, "_fake_bare": bare}.get(m))
    return (("01_x", "_fake_good", "Good"), ("02_y", "_fake_bare", "Bare"), ("03_z", "_fake_missing", "Missing"))


def test_collect_lists_missing_reports_as_not_run(fake_reports):
    verdicts = R.collect("quick", chapters=fake_reports)
    assert [v.claim for v in verdicts] == ["a.one", "a.two", "_fake_bare.report", "_fake_missing.report"]
    assert [v.status for v in verdicts[2:]] == [NOT_RUN, NOT_RUN]
    assert all(v.section == R.NOT_RUN_SECTION and v.chapter == "claims" for v in verdicts[2:])
    counts = R.status_counts(verdicts)
    assert counts[HOLDS] == 1 and counts[NOT_RUN] == 2 and sum(counts.values()) == 4


def test_collect_never_computes_and_lists_unrecorded_chapters_as_not_run(fake_reports, monkeypatch):
    """A chapter whose results are not recorded is "not run" on the page: its report's run() is refused."""
    from ntkbook import runner

    computing = types.ModuleType("ntkbook.report._fake_computing")
    seen = []

    def claim_verdicts(profile, **kw):
        seen.append(runner._READ_ONLY.get())
        raise runner.NotRecorded("toy", 2, 5)

    computing.claim_verdicts = claim_verdicts
    monkeypatch.setattr(R, "_report_module", lambda m: {"_fake_computing": computing}.get(m))
    verdicts = R.collect("quick", chapters=(("01_x", "_fake_computing", "Computing"),))
    assert seen == [True] and not runner._READ_ONLY.get()
    assert [(v.claim, v.status, v.profile) for v in verdicts] == [("_fake_computing.report", NOT_RUN, "quick")]
    assert "2 of 5 'toy' units missing" in verdicts[0].rule and verdicts[0].section == R.NOT_RUN_SECTION


def test_collect_refuses_duplicate_ids_and_non_verdicts(fake_reports, monkeypatch):
    twice = (fake_reports[0], ("01_x", "_fake_good", "Good again"))
    with pytest.raises(ValueError, match="unique"):
        R.collect("quick", chapters=twice)
    bad = types.ModuleType("bad")
    bad.claim_verdicts = lambda profile, **kw: ["holds"]
    monkeypatch.setattr(R, "_report_module", lambda m: bad)
    with pytest.raises(TypeError, match="not Verdict"):
        R.collect("quick", chapters=fake_reports[:1])


def test_real_report_modules_are_found_and_missing_ones_are_none():
    assert R._report_module("gram_kernel") is not None
    assert R._report_module("no_such_chapter_report") is None


def test_glue_values_and_formatting():
    v, w = _v("x.y"), _v("x.z", ours=None, interval=None, paper="qualitative")
    g = R.glue_values([v, w])
    assert g["claim.x.y.ours"] == 2.0 and g["claim.x.y.status"] == HOLDS and g["claim.x.y.high"] == 3.0
    assert math.isnan(g["claim.x.z.ours"]) and math.isnan(g["claim.x.z.low"])
    with pytest.raises(ValueError):
        R.glue_key("x", "verdict")
    assert R.format_ours(v) == "2 [1, 3]" and R.format_ours(w) == "–" and R.format_paper(w) == "qualitative"
    assert R.format_value(1.2e18) == r"$1.20\times10^{18}$" and R.format_value(math.inf) == "∞"
    assert R.format_value(3.4e-15) == r"$3.40\times10^{-15}$" and R.format_value(None) == "–"
    big = _v("x.b", ours=2.5e20, interval=(1.0e20, math.inf), paper=1e18)
    assert R.format_ours(big) == r"$2.50\times10^{20}$ [$1.00\times10^{20}$, ∞]"
    assert R.format_paper(big) == r"$1.00\times10^{18}$"
    page = R.claims_table([big])._repr_html_()  # paper and ours typeset (MathJax inline math), not plain text
    assert r"\(1.00\times10^{18}\)" in page and r"\(2.50\times10^{20}\)" in page and "$" not in page
    assert R.section_href(v) == "01_x.html#sec"


def test_claims_table_html_has_a_link_and_a_badge_per_row():
    verdicts = [_v("x.y"), _v("x.z", status="does not hold", chapter="02_q", section="other")]
    html = R.claims_table(verdicts)._repr_html_()
    assert html.count("<tr id=") == 2 and 'href="02_q.html#other"' in html
    assert "mathjax_process" in html  # statements hold LaTeX
    assert html.count("ntk-badge") == 2 and "ntk-status-does-not-hold" in html
    with_config = R.claims_table([dataclasses.replace(_v("x.c"), config=(("n_sens", 1000),))])
    assert "n_sens = 1000" in with_config._repr_html_()
    frame = R.chapter_table(verdicts)
    assert list(frame.columns) == ["claim", "paper", "ours [interval]", "status", "rule"]


def test_quantitative_frame_and_figure():
    verdicts = [_v("a", ours=5.0, paper=2.5), _v("b", ours=math.inf, interval=(1e11, math.inf), paper=1.2e3),
                _v("c", paper="qualitative"), _v("d", ours=-1.0, paper=-1.0), _v("e", ours=None, interval=None)]
    q = figs.quantitative_frame(verdicts)
    assert list(q.claim) == ["a", "b"] and q.ratio.iloc[0] == 2.0 and math.isinf(q.ratio.iloc[1])
    assert q.low.iloc[0] == pytest.approx(0.4) and q.low.iloc[1] == pytest.approx(1e11 / 1.2e3)
    fig = figs.paper_vs_ours_figure(verdicts, labels={"a": "A"})
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["A", "b"]
    empty = figs.paper_vs_ours_figure(verdicts[2:])  # nothing quantitative: a figure that says so, no axis
    assert not empty.axes[0].axison and "No quantitative verdict" in empty.axes[0].texts[0].get_text()


def test_figure_text_is_readable_in_the_book_column():
    from ntkbook.plotting import rendered_text_pt, use_book_style

    use_book_style()
    verdicts = [_v(f"threshold.v2.cifar10.{i}", ours=10.0 ** i, interval=None) for i in range(12)]
    assert rendered_text_pt(figs.paper_vs_ours_figure(verdicts)) >= 9.0


# ---- the paper's claims, one headline each; the chapter's verdict box -----------------------------------------


def _w(claim, status=HOLDS, statement=None, beyond=False, chapter="02_q", **kw):
    v = _v(claim, status=status, chapter=chapter, **kw)
    return dataclasses.replace(v, statement=statement or v.statement, beyond_paper=beyond)


TABLE2_TEXT = paper.statement("table2").text  # what the chapter's verdicts carry as their statement


def _malleability_like():
    """The shape the issue found: one paper claim decided on two data sets over the grid, plus its literal reading,
    plus our own result; the second data set was not run at this profile."""
    return [_w("table2.ratio.mnist.deciding", "partly", TABLE2_TEXT),
            _w("table2.ratio.mnist.literal", "does not hold", TABLE2_TEXT),
            _w("table2.ratio.cifar10.deciding", NOT_RUN, TABLE2_TEXT),
            _w("poisoning.easier.mnist.0.1", "does not hold", "easier to poison", beyond=True),
            _w("table1.gd-trend.mnist.2L-ReLU", "holds", "decreasing under GD", beyond=True)]


def test_each_paper_claim_is_one_headline_with_its_variants_beneath():
    rows = R.claim_rows(_malleability_like())
    assert [r.key for r in rows] == ["table1", "table2"]
    t2 = rows[1]
    # members decide: the deciding configuration on MNIST (partly); CIFAR-10 not run is listed but neither helps
    # nor hurts
    assert [v.claim for v in t2.members] == ["table2.ratio.mnist.deciding", "table2.ratio.cifar10.deciding"]
    assert [v.claim for v in t2.variants] == ["table2.ratio.mnist.literal"]
    assert t2.status == "partly" and t2.held() == (0, 1) and t2.name == "Table 2"
    # a variant whose headline is absent leads its own row rather than vanish
    assert rows[0].members[0].claim == "table1.gd-trend.mnist.2L-ReLU"
    own = R.own_results(_malleability_like(), rows)
    assert [v.claim for v in own] == ["poisoning.easier.mnist.0.1"]
    # a paper verdict no entry names still gets a headline row; our own unnamed result does not
    extra = R.claim_rows([_w("new.claim", "holds", "something new"), _w("ours.x", beyond=True)])
    assert [(r.key, r.statement) for r in extra] == [("new.claim", "something new")]


@pytest.mark.parametrize("statuses, headline", [
    ((HOLDS, HOLDS), HOLDS), ((HOLDS, NOT_RUN), HOLDS), ((NOT_RUN, NOT_RUN), NOT_RUN),
    ((HOLDS, "does not hold"), "partly"), (("does not hold", NOT_RUN), "does not hold"),
    ((HOLDS, "not resolved"), "not resolved")])
def test_headline_status_combines_the_parts_that_ran(statuses, headline):
    assert R.headline_status([_v(f"x.{i}", status=s) for i, s in enumerate(statuses)]) == headline


def test_variant_labels_say_what_differs():
    lit = _w("table2.ratio.mnist.literal", statement=TABLE2_TEXT)
    assert R.variant_label(lit, TABLE2_TEXT) == "MNIST, the literal reading"
    assert R.variant_label(_w("table2.ratio.cifar10-auto-air.grid", statement=TABLE2_TEXT), TABLE2_TEXT) == \
        "CIFAR-10 automobile vs airplane, over the grid of open choices"
    own = _w("table1.gd-trend.mnist.MLP-Attn", statement="increasing under full-batch GD")
    assert R.variant_label(own, TABLE2_TEXT) == "increasing under full-batch GD"


def test_paper_claims_table_has_one_headline_row_per_claim_and_every_verdict_beneath():
    import re

    verdicts = _malleability_like()
    page = R.paper_claims_table(verdicts)._repr_html_()
    assert page.count('class="ntk-headline"') == 2 == len(re.findall(r'<tr id="paper-claim-', page))
    # status is the second column of every headline row
    for row in re.findall(r'<tr id="paper-claim-.*?</tr>', page, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        assert "ntk-badge" in cells[1] and "ntk-badge" not in cells[0].split('<details class="ntk-claim-detail"')[0]
    # every paper verdict has its item (id="claim-<id>", a badge and a link) under its headline; ours are not here
    for v in verdicts[:3]:
        item = re.search(rf'<li id="claim-{re.escape(v.claim)}".*?</li>', page, re.S)
        assert item and f"ntk-status-{v.status.replace(' ', '-')}" in item.group(0) and 'href="02_q.html#sec"' in item.group(0)
    assert "poisoning" not in page and "variant:</em> MNIST, the literal reading" in page
    assert "$" not in page and "profile" not in page.lower().split("</thead>")[0]  # no profile column


def test_design_link_is_rendered_when_a_verdict_records_one():
    v = _w("thm4.1.identity")
    assert "how this verdict is tested" not in R.paper_claims_table([v])._repr_html_()
    object.__setattr__(v, "design", "trend")  # the id of the rule's design table on the verdict-tests page
    assert 'href="verdict_tests.html#design-trend"' in R.paper_claims_table([v])._repr_html_()


def test_chapter_summaries_count_headline_statuses_per_chapter():
    rows = R.claim_rows([_w("thm4.1.x", chapter="01_a"), _w("thm4.2.x", "does not hold", chapter="01_a"),
                         _w("kappa.mnist", "partly", chapter="02_b"), _w("kappa.cifar10", chapter="02_b")])
    summ = R.chapter_summaries(rows, chapters=(("01_a", "m", "A"), ("02_b", "n", "B"), ("03_c", "o", "C")))
    assert [(d, t) for d, t, _ in summ.rows] == [("01_a", "A"), ("02_b", "B")]
    assert summ.rows[0][2][HOLDS] == 1 and summ.rows[0][2]["does not hold"] == 1 and summ.rows[1][2]["partly"] == 1
    assert summ._repr_html_().count('class="ntk-chapter-summary"') == 2 and 'href="01_a.html"' in summ._repr_html_()


def test_verdict_box_gives_claim_status_number_and_link():
    verdicts = [_w("thm4.1.identity", ours=3e-16, interval=None, paper="exact identity", chapter="01_a",
                   section="thm41"),
                _w("prop4.5.corrected.mnist", chapter="01_a", section="p45"),
                _w("prop4.5.corrected.cifar10", "does not hold", chapter="01_a", section="p45")]
    box = R.verdict_box(verdicts)
    page = box._repr_html_()
    assert page.count("<li") == 2 and 'href="01_a.html#thm41"' in page and 'href="01_a.html#p45"' in page
    assert "Theorem 4.1" in page and r"\(3.00\times10^{-16}\)" in page and "exact identity" in page
    assert "ntk-status-partly" in page and "1 of 2 hold" in page and "profile quick" in page
    assert "$" not in page
    assert R.verdict_box([])._repr_html_().count("decides no claim") == 1


def test_glue_verdicts_records_headline_statuses_and_the_box():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    captured = []
    shell.display_pub.publish = lambda data, metadata=None, **kw: captured.append((data, metadata))
    try:
        R.glue_verdicts([_w("kappa.mnist", "partly"), _w("kappa.cifar10")])
    finally:
        InteractiveShell.clear_instance()
    record = next(d[R.VERDICTS_MIME] for d, _ in captured if R.VERDICTS_MIME in d)
    assert record["headline.kappa.status"] == "'partly'" and record["claim.kappa.mnist.status"] == "'partly'"
    box = [d for d, m in captured if (m or {}).get("scrapbook", {}).get("name") == R.VERDICT_BOX]
    assert len(box) == 1 and any("ntk-verdict-box" in str(v) for v in box[0].values())


@pytest.mark.parametrize("ours, interval, text", [
    (2.0, (1.0, 3.0), "2 [1, 3]"),                                  # three digits suffice
    (-0.99912, (-0.99981, -0.99834), "-0.99912 [-0.99981, -0.99834]"),  # not "-0.999 [-1, -0.998]"
    (0.5, (0.4999999, 0.5000001), "0.5 [0.5, 0.5]"),                 # at most MAX_DIGITS
    (-1.0, (-1.0, -1.0), "-1 [-1, -1]"),                            # truly equal numbers stay short
    (0.31, None, "0.31"),
])
def test_format_ours_keeps_the_digits_that_tell_the_numbers_apart(ours, interval, text):
    assert R.format_ours(_v("x.s", ours=ours, interval=interval)) == text
    assert R.verdict_digits(_v("x.s", ours=ours, interval=interval)) >= 3


@pytest.mark.realdata
def test_the_real_page_computes_nothing_with_an_empty_cache_and_store(real_data_dir, tmp_path, monkeypatch):
    """Every chapter's report, at quick, with nothing recorded: the page lists each claim as "not run" and no unit
    is computed (the cache folder stays empty)."""
    from ntkbook import store

    monkeypatch.setenv("NTKBOOK_DATA", str(real_data_dir))
    monkeypatch.setenv(store.STORE_ENV, str(tmp_path / "store"))
    (tmp_path / "store").mkdir()
    cache = tmp_path / "cache"
    verdicts = R.collect("quick", cache_dir=cache)
    assert verdicts and {v.status for v in verdicts} == {NOT_RUN}
    assert not cache.exists() or not any(cache.rglob("*.parquet")) and not any(cache.rglob("*.json"))


def test_an_empty_table_of_our_own_results_shows_and_prints():
    """No verdict of our own (e.g. no chapter recorded at this profile): the table still renders and prints."""
    table = R.claims_table([])
    assert list(R.claims_frame([]).columns) == R.CLAIMS_FRAME_COLUMNS
    assert "<tbody></tbody>" in table._repr_html_() and "claim" in repr(table)
