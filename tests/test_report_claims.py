"""ntkbook.report.claims: collecting verdicts from the chapters' reports, glue names, formatting, the figure."""

from __future__ import annotations

import dataclasses
import math
import sys
import types

import matplotlib
import pytest

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
    with pytest.raises(ValueError, match="no verdict"):
        figs.paper_vs_ours_figure(verdicts[2:])


def test_figure_text_is_readable_in_the_book_column():
    from ntkbook.plotting import rendered_text_pt, use_book_style

    use_book_style()
    verdicts = [_v(f"threshold.v2.cifar10.{i}", ours=10.0 ** i, interval=None) for i in range(12)]
    assert rendered_text_pt(figs.paper_vs_ours_figure(verdicts)) >= 9.0
