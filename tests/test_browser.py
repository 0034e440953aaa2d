"""The rendered book as a reader sees it: offline pages, checked in headless Chromium.

- Unit tests (fast, no browser): the Sphinx extensions in book/_ext (offline MathJax, no thebe loader, the
  build-environment tables), the build-log check in tools/, and the checker's verdicts on made-up page facts.
- `browser` tests on the built book (book/_build/html, or NTKBOOK_BOOK_HTML): every page opened from disk with
  the network cut off; screenshots into book/_build/screenshots/ (beside the html folder). They run on request,
  with NTKBOOK_CHECK_BOOK=1 (`make check-book`, which .ci/run calls after its build), so that a stale local
  build never fails `make test`.
- `browser` + `slow` tests that build tiny books in a temporary folder: the checker passes a good chapter and
  reports a traceback, a broken image, raw TeX, a numpy repr, a dangling link, a console error and an external
  load on a bad one; a failing cell fails `jupyter-book build`.

Chromium is Debian's /usr/bin/chromium (NTKBOOK_CHROMIUM overrides), driven by Playwright; without it the
browser tests skip with a message, and fail in CI (CI=true), where .ci/run installs it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from book_toc import toc_files

ROOT = Path(__file__).resolve().parents[1]
EXT_DIR = ROOT / "book" / "_ext"
HTML = Path(os.environ.get("NTKBOOK_BOOK_HTML", ROOT / "book" / "_build" / "html"))  # another build: set it
SCREENSHOTS = HTML.parent / "screenshots"
sys.path.insert(0, str(EXT_DIR))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import build_environment  # noqa: E402  (book/_ext)
import offline_assets  # noqa: E402  (book/_ext)
from browser import bookcheck, jupyterlab, tinybook  # noqa: E402


def _load_tool(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check_build_log = _load_tool("check_build_log")


def chromium_or_skip() -> str:
    """Path of the Chromium to drive; skip (fail in CI) when it is missing."""
    path = os.environ.get("NTKBOOK_CHROMIUM", bookcheck.CHROMIUM)
    if not Path(path).is_file():
        message = (f"Chromium not found at {path}: install Debian's `chromium` package (apt-get install chromium) "
                   "or set NTKBOOK_CHROMIUM to run the browser tests")
        if _in_ci():
            pytest.fail(message + " (.ci/run installs it; CI must not skip these)")
        pytest.skip(message)
    return path


# ---- offline_assets ------------------------------------------------------------------------------------


def test_mathjax_comes_from_the_pinned_wheel():
    source = offline_assets.mathjax_source_dir()
    assert (source / offline_assets.ENTRY).stat().st_size > 100_000
    assert offline_assets.mathjax_version().startswith("3.")


def test_copy_mathjax_brings_the_fonts_and_extensions(tmp_path):
    entry = offline_assets.copy_mathjax(offline_assets.mathjax_source_dir(), tmp_path)
    assert entry == tmp_path / "mathjax" / "tex-mml-chtml.js" and entry.is_file()
    fonts = list((tmp_path / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))
    assert len(fonts) > 10, "the CommonHTML fonts must be served locally"
    assert (tmp_path / "mathjax" / "input" / "tex" / "extensions" / "boldsymbol.js").is_file()
    # no other combined build is shipped (they would only add weight)
    assert not (tmp_path / "mathjax" / "tex-svg.js").exists()


@pytest.mark.parametrize("path, remote", [
    ("https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js", True),
    ("//cdn.example/mathjax.js", True),
    ("mathjax/tex-mml-chtml.js", False),
])
def test_is_remote(path, remote):
    assert offline_assets.is_remote(path) is remote


class _Config:
    def __init__(self, mathjax_path, thebe=False):
        self.mathjax_path = mathjax_path
        self.html_theme_options = {"launch_buttons": {"thebe": thebe}}


def test_mathjax_path_defaults_to_the_local_copy_and_refuses_a_cdn():
    from sphinx.errors import ExtensionError
    from sphinx.ext.mathjax import MATHJAX_URL

    config = _Config(MATHJAX_URL)
    offline_assets._use_local_mathjax(None, config)
    assert config.mathjax_path == offline_assets.LOCAL_PATH
    with pytest.raises(ExtensionError, match="network"):
        offline_assets._use_local_mathjax(None, _Config("https://cdn.example/mathjax/tex-chtml.js"))


def test_thebe_loader_is_dropped_only_without_a_thebe_button():
    from sphinx.builders.html._assets import _JavaScript

    scripts = [_JavaScript("_static/doctools.js"), _JavaScript(None, body='const THEBE_JS_URL = "https://x"'),
               _JavaScript("sphinx-thebe.js", **{"async": "async"}), _JavaScript("mathjax/tex-mml-chtml.js")]

    class App:
        config = _Config(offline_assets.LOCAL_PATH)

    context = {"script_files": list(scripts)}
    offline_assets._drop_thebe_loader(App, "page", "page.html", context, None)
    assert [str(s.filename) for s in context["script_files"]] == ["_static/doctools.js", "mathjax/tex-mml-chtml.js"]
    App.config = _Config(offline_assets.LOCAL_PATH, thebe=True)
    context = {"script_files": list(scripts)}
    offline_assets._drop_thebe_loader(App, "page", "page.html", context, None)
    assert len(context["script_files"]) == 4


def test_book_config_uses_the_local_extensions():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    local = config["sphinx"]["local_extensions"]
    assert set(local) >= {"offline_assets", "build_environment"}
    assert all((ROOT / "book" / path / f"{name}.py").is_file() for name, path in local.items())
    assert config["sphinx"]["config"]["mathjax_path"] == offline_assets.LOCAL_PATH
    assert config["sphinx"]["config"]["numfig"] is True
    assert config["html"]["use_download_button"] is True
    assert config["launch_buttons"]["thebe"] is False


# ---- build_environment ---------------------------------------------------------------------------------


def test_parse_requirements_reads_pins_only():
    text = "# comment\njax==0.5.3\njax[cuda12]==0.5.3  # gpu\nnumpy>=2\n-e .\n\npandas == 3.1.1 ; python_version>'3'\n"
    assert build_environment.parse_requirements(text) == [("jax", "0.5.3"), ("jax", "0.5.3"), ("pandas", "3.1.1")]


def test_package_rows_report_installed_versions(tmp_path):
    import sphinx

    req = tmp_path / "requirements.txt"
    req.write_text(f"sphinx=={sphinx.__version__}\nno-such-package-ntkbook==1.0\n")
    assert build_environment.package_rows(req) == [("sphinx", sphinx.__version__, sphinx.__version__),
                                                   ("no-such-package-ntkbook", "1.0", "not installed")]
    from sphinx.errors import ExtensionError

    with pytest.raises(ExtensionError, match="ntkbook_requirements"):
        build_environment.package_rows(tmp_path / "missing.txt")


def test_machine_rows_describe_this_machine():
    import datetime as dt

    started = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    rows = dict(build_environment.machine_rows(started, ROOT))
    assert rows["build started (UTC)"] == "2026-01-02 03:04:05"
    assert rows["Python"].startswith(".".join(map(str, sys.version_info[:2])))
    assert f"of {os.cpu_count()} logical cores" in rows["CPU"]
    assert rows["JAX backend and devices"].split(":")[0] in ("cpu", "gpu", "tpu", "cuda")


def test_exec_table_status_is_plain_text():
    from myst_nb.ext import execution_tables

    build_environment.plain_exec_status()
    status = execution_tables._key2transform["succeeded"]
    assert (status(True), status(False), status(None)) == ("succeeded", "failed", "failed")


def test_table_has_header_and_rows():
    table = build_environment.table(("a", "b"), [("1", "2"), ("3", "4")])
    assert table.astext().split() == ["a", "b", "1", "2", "3", "4"]


# ---- the build log -------------------------------------------------------------------------------------

LOG = """\
Running Sphinx v7.4.7
[IPKernelApp] WARNING | Kernel is running over TCP without encryption.
/book/intro.md:12: WARNING: image file not readable: fig.png [image.not_readable]
/book/appendix.md:3: WARNING: Include file '/x/results/a.md' not found or reading it failed
/book/ch.ipynb:4: WARNING: 'myst' cross-reference target not found: 'fig-x' [myst.xref_missing]
/book/ch.ipynb:9: WARNING: Non-consecutive header level increase; H1 to H3 [myst.header]
/book/ch.ipynb:140005: WARNING: Failed to format text/plain data: could not convert string to float: 'np.float64(0.99)' [mystnb.glue]
/book/ch.ipynb:60002: WARNING: stderr was found in the cell outputs of cell 6 [mystnb.stderr]
"""


def test_build_log_check_finds_missing_files():
    missing, other = check_build_log.classify(LOG)
    assert len(missing) == 4 and "fig.png" in missing[0] and "results/a.md" in missing[1]
    assert "mystnb.glue" in missing[3]
    assert len(other) == 2 and "header" in other[0] and "stderr" in other[1]
    assert check_build_log.classify("build succeeded.\n") == ([], [])


# ---- the checker's verdicts, from made-up page facts ---------------------------------------------------

GOOD_FACTS = {
    "images": [{"src": "fig.png", "ok": True, "w": 640, "h": 480}],
    "mathNodes": 2, "mathjax": "ready", "typeset": 2, "mathErrors": [],
    "plainText": "The claim: <math>. Prices are $5 each.", "outputs": ["  x  y\n0 1 2"], "tracebackBlocks": 0,
    "figures": [{"id": "fig-a", "number": "Fig. 1", "images": [True]}],
    "paperVs": [{"heading": "Paper vs this book#", "tables": 1, "rows": 3}],
    "notes": ["Note To re-run it, open it in JupyterLab and edit the parameters cell, or use papermill."],
    "downloads": ["_sources/ch.ipynb"],
}


def _checks(facts, chapter=True):
    return sorted({p.check for p in bookcheck._page_problems(Path("ch.html"), facts, chapter)})


def test_checker_passes_good_facts():
    assert _checks(GOOD_FACTS) == []


@pytest.mark.parametrize("change, check", [
    ({"images": [{"src": "x.png", "ok": False, "w": 0, "h": 0}]}, ["image"]),
    ({"mathjax": "absent"}, ["math"]),
    ({"typeset": 1}, ["math"]),
    ({"mathErrors": ["Undefined control sequence \\foo"]}, ["math"]),
    ({"plainText": "left as text: $\\alpha$ here"}, ["raw-math"]),
    ({"plainText": "and $<math>$ around"}, ["raw-math"]),
    ({"plainText": "a \\(x\\) left"}, ["raw-math"]),
    ({"plainText": "the ratio is np.float64(0.99) here"}, ["repr-leak"]),
    ({"tracebackBlocks": 1}, ["traceback"]),
    ({"outputs": ["Traceback (most recent call last): ValueError"]}, ["traceback"]),
    ({"figures": []}, ["chapter-figure"]),
    ({"figures": [{"id": "f", "number": "Fig. 1", "images": []}]}, ["chapter-figure"]),
    ({"figures": [{"id": "f", "number": "", "images": [True]}]}, ["chapter-figure"]),
    ({"figures": [{"id": "f", "number": "Fig. 1", "images": [True]},
                  {"id": "t", "number": "Fig. 2", "images": [], "tables": 1}]}, []),
    ({"paperVs": []}, ["chapter-paper-vs-book"]),
    ({"paperVs": [{"heading": "Paper vs this book", "tables": 0, "rows": 0}]}, ["chapter-paper-vs-book"]),
    ({"notes": ["Note: nothing about running"]}, ["chapter-rerun-note"]),
    ({"downloads": []}, ["chapter-download"]),
])
def test_checker_reports_each_fault(change, check):
    assert _checks({**GOOD_FACTS, **change}) == check


COLUMN = {"left": 296.0, "right": 984.0, "width": 688.0}


def _layout(tables=(), images=()):
    return {"column": COLUMN, "tables": list(tables), "figureImages": list(images)}


def _table(left, right, box=None):
    return {"label": "[a | b]", "width": right - left, "height": 40, "left": left, "right": right, "scrollBox": box}


def _layout_checks(facts, width=1280, text_px=None, chapter=True):
    return sorted(p.check for p in bookcheck.layout_problems(Path("ch.html"), facts, width, text_px or {}, chapter))


@pytest.mark.parametrize("table, problems", [
    (_table(296, 900), []),                                                   # fits
    (_table(296, 1206), ["table-overflow"]),                                  # 910 px, no scroll box
    (_table(296, 1206, box={"left": 296, "right": 984}), []),                 # scrolls in a box in the column
    (_table(296, 1206, box={"left": 296, "right": 1206}), ["table-overflow"]),  # the box itself overflows
])
def test_layout_check_on_tables(table, problems):
    assert _layout_checks(_layout([table])) == problems


def test_layout_check_on_the_page_width():
    """A page wider than the window (a formula without a scroll box, say) makes the reader scroll it sideways."""
    assert _layout_checks({**_layout(), "pageWidth": 390, "viewport": 390}, 390) == []
    assert _layout_checks({**_layout(), "pageWidth": 478, "viewport": 390}, 390) == ["page-overflow"]


@pytest.mark.parametrize("image, text_px, width, problems", [
    # 13.75 px text (9 pt at 110 dpi) shown at natural size: 10.3 pt
    ({"src": "a.png", "natural": 677, "shown": 677, "figure": "fig-a"}, 13.75, 1280, []),
    # the same on a 1320 px image shown at 688 px: 5.4 pt
    ({"src": "a.png", "natural": 1320, "shown": 688, "figure": "fig-a"}, 13.75, 1280, ["figure-text"]),
    # not checked at the phone width (a column-wide figure is scaled to 358 px there)
    ({"src": "a.png", "natural": 1320, "shown": 358, "figure": "fig-a"}, 13.75, 390, []),
    # no record: a problem in a chapter's figure, not elsewhere
    ({"src": "a.png", "natural": 600, "shown": 600, "figure": "fig-a"}, None, 1280, ["figure-text"]),
    ({"src": "a.png", "natural": 600, "shown": 600, "figure": ""}, None, 1280, []),
])
def test_layout_check_on_figure_text(image, text_px, width, problems):
    assert _layout_checks(_layout(images=[image]), width, {"a.png": text_px}) == problems


def test_recorded_text_px_reads_the_png_record(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ntkbook.notebook import TEXT_PX_KEY, figure_png

    assert bookcheck.TEXT_PX_KEY == TEXT_PX_KEY
    fig, ax = plt.subplots(figsize=(3, 2), dpi=110)
    ax.set_xlabel("x", fontsize=9)
    ax.tick_params(labelsize=9)
    ax.set_title("t", fontsize=9)
    (tmp_path / "a.png").write_bytes(figure_png(fig))
    fig.savefig(tmp_path / "plain.png")
    plt.close(fig)
    assert bookcheck.recorded_text_px(tmp_path / "a.png") == pytest.approx(9 * 110 / 72, abs=1e-3)
    assert bookcheck.recorded_text_px(tmp_path / "plain.png") is None
    assert bookcheck.recorded_text_px(tmp_path / "missing.png") is None


def test_chapter_checks_apply_to_chapters_only():
    assert _checks({**GOOD_FACTS, "figures": [], "paperVs": [], "notes": [], "downloads": []}, chapter=False) == []


def test_link_check_on_files(tmp_path):
    (tmp_path / "a.html").write_text('<h1 id="top">A</h1><a href="b.html#sec">ok</a><a href="b.html#nope">bad</a>'
                                     '<a href="c.html">missing</a><a href="https://arxiv.org/abs/1">external</a>'
                                     '<script src="https://cdn.example/x.js"></script><a href="#top">self</a>')
    (tmp_path / "b.html").write_text('<section id="sec"></section><img src="_static/img.png">')
    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / "img.png").write_bytes(b"png")
    problems = bookcheck.check_links(tmp_path)
    assert sorted((p.page, p.check) for p in problems) == [("a.html", "external-load"), ("a.html", "link"),
                                                           ("a.html", "link")]
    assert any("nope" in p.detail for p in problems) and any("c.html" in p.detail for p in problems)


# ---- the built book, in the browser --------------------------------------------------------------------


def toc_chapters() -> list[str]:
    """The notebooks `_toc.yml` lists (chapter stems)."""
    return [f for f in toc_files() if (ROOT / "book" / f"{f}.ipynb").is_file()]


@pytest.fixture(scope="module")
def built_book() -> Path:
    """The built book's html folder; these checks run on request only (a stale build must not fail `make test`)."""
    if not os.environ.get("NTKBOOK_CHECK_BOOK"):
        pytest.skip("checks the built book: run `make check-book` after `make book` (.ci/run does, after its build)")
    if not (HTML / "index.html").is_file():
        pytest.fail(f"the book is not built ({HTML / 'index.html'} is missing): run `make book` first")
    return HTML


@pytest.fixture(scope="module")
def browser_report(built_book):
    chromium = chromium_or_skip()
    for old in SCREENSHOTS.glob("*.png"):  # the book's pages only: jupyterlab/ holds the JupyterLab test's
        old.unlink()
    return bookcheck.check_pages(built_book, SCREENSHOTS, chromium)


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _fmt(problems) -> str:
    return "\n".join(map(str, problems))


@pytest.mark.browser
def test_built_book_links_resolve(built_book):
    problems = bookcheck.check_links(built_book)
    assert not problems, "broken links or external loads in the built book:\n" + _fmt(problems)


@pytest.mark.browser
def test_built_book_has_every_page(built_book):
    pages = {p.stem for p in bookcheck.pages(built_book)}
    chapters = {p.stem for p in bookcheck.pages(built_book) if bookcheck.is_chapter(p)}
    assert set(toc_chapters()) <= chapters, "every notebook in _toc.yml must be built as a chapter page"
    assert {"intro", "bibliography", "environment"} <= pages


@pytest.mark.browser
@pytest.mark.parametrize("check", ["console", "external-request", "missing-file", "image", "math", "raw-math",
                                   "repr-leak", "traceback", "link", "table-overflow", "page-overflow",
                                   "figure-text"])
def test_built_book_pages_in_browser(browser_report, check):
    problems = [p for p in browser_report if p.check == check]
    assert not problems, f"[{check}] problems in the built book:\n" + _fmt(problems)


@pytest.mark.browser
@pytest.mark.parametrize("check", ["chapter-figure", "chapter-paper-vs-book", "chapter-rerun-note",
                                   "chapter-download"])
def test_built_book_chapters_keep_the_contract(browser_report, check):
    problems = [p for p in browser_report if p.check == check]
    assert not problems, f"[{check}] chapters break the chapter contract:\n" + _fmt(problems)


@pytest.mark.browser
def test_screenshot_of_every_page(browser_report, built_book):
    expected = {p.stem for p in bookcheck.pages(built_book) if bookcheck.redirect_target(p) is None}
    shots = {p.stem for p in SCREENSHOTS.glob("*.png") if p.stat().st_size > 1000}
    assert expected <= shots, f"missing screenshots: {sorted(expected - shots)}"


@pytest.mark.browser
def test_index_typesets_math_with_the_network_off(built_book):
    """index.html opened by a Chromium that has no network at all (`unshare -rn`: a fresh network namespace
    with only a downed loopback) shows the intro with every formula typeset."""
    chromium = chromium_or_skip()
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode:
        message = "`unshare -rn` cannot make a network namespace here (needs root or user namespaces)"
        if _in_ci():
            pytest.fail(message)
        pytest.skip(message)
    index = built_book / "index.html"
    landing = built_book / (bookcheck.redirect_target(index) or "index.html")
    formulas = len(re.findall(r'<(?:span|div) class="math', landing.read_text()))
    assert formulas > 0, f"{landing.name} has no math to typeset"
    dom = subprocess.run(["unshare", "-rn", "--", chromium, "--headless", *bookcheck.CHROMIUM_ARGS,
                          "--virtual-time-budget=30000", "--dump-dom", index.as_uri()],
                         capture_output=True, text=True, timeout=180).stdout
    assert dom.count("<mjx-container") >= formulas, (
        f"offline, {dom.count('<mjx-container')} of {formulas} formulas on {landing.name} were typeset")
    assert "<mjx-merror" not in dom


@pytest.mark.browser
def test_built_book_bibliography_lists_the_references(built_book):
    keys = re.findall(r"^@\w+\{([^,]+),", (ROOT / "book" / "references.bib").read_text(), re.MULTILINE)
    entries = (built_book / "bibliography.html").read_text().count('role="doc-biblioentry"')
    assert entries >= 1, "the bibliography page lists no reference"
    if ":all:" in (ROOT / "book" / "bibliography.md").read_text():
        assert entries == len(keys), f"{entries} entries listed, {len(keys)} in references.bib"


@pytest.mark.browser
def test_built_book_environment_page_is_fresh(built_book):
    text = (built_book / "environment.html").read_text()
    assert "build started (UTC)" in text and "jupyter-book" in text and "Run Time (s)" in text
    for chapter in toc_chapters():
        assert chapter in text, f"no run time for {chapter} on the environment page"


# ---- tiny books in a temporary folder: the checks catch what they claim to -------------------------------


@pytest.fixture(scope="module")
def tiny_book(tmp_path_factory) -> Path:
    root = tinybook.write_tiny_book(tmp_path_factory.mktemp("tinybook"))
    done = tinybook.build(root)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return root / "_build" / "html"


@pytest.mark.browser
@pytest.mark.slow
def test_checker_passes_the_good_chapter_and_catches_the_broken_one(tiny_book, tmp_path):
    chromium = chromium_or_skip()
    problems = bookcheck.check_book(tiny_book, tmp_path / "shots", chromium)
    good = [p for p in problems if p.page != "bad.html"]
    assert not good, "false alarms on good pages:\n" + _fmt(good)
    found = {p.check for p in problems if p.page == "bad.html"}
    expected = {"traceback", "image", "missing-file", "raw-math", "repr-leak", "link", "console", "external-request",
                "external-load", "chapter-figure", "chapter-paper-vs-book", "chapter-rerun-note", "table-overflow",
                "figure-text"}
    assert expected <= found, f"missed {sorted(expected - found)}:\n" + _fmt(problems)
    overflow = [p.detail.split(":")[0] for p in problems if p.check == "table-overflow"]
    assert sorted(overflow) == ["at 1280 px", "at 390 px"]
    assert (tmp_path / "shots" / "good.png").stat().st_size > 10_000
    assert (tmp_path / "shots" / "good-390.png").stat().st_size > 10_000


@pytest.mark.browser
@pytest.mark.slow
def test_tiny_book_answers_first_and_the_check_catches_a_late_box_and_a_hidden_badge(tiny_book, tmp_path):
    """The good chapter opens with its verdict box (pasted from the glue that `glue_verdicts` leaves) and its claims
    table keeps every badge inside a 390 px window; the same check reports a box pushed below the first screen and
    a table whose status column comes after a wide one."""
    chromium = chromium_or_skip()
    page = (tiny_book / "good.html").read_text()
    assert page.count("ntk-verdict-box") == 1 and page.count('class="ntk-headline"') == 3
    problems = bookcheck.check_answer_first(tiny_book, "good.html", ["good.html"], chromium, tmp_path / "shots")
    assert not problems, _fmt(problems)
    late = page.replace('<div class="ntk-verdict-box', '<div style="height: 2000px"></div><div class="ntk-verdict-box', 1)
    wide = re.sub(r'(<tr id="paper-claim-[^"]+" class="ntk-headline"><td)', r'\1 style="min-width: 600px"', page)
    (tiny_book / "late.html").write_text(late)
    (tiny_book / "wide.html").write_text(wide)
    found = bookcheck.check_answer_first(tiny_book, "wide.html", ["late.html"], chromium)
    assert {p.check for p in found} == {"verdict-box", "status-hidden"}, _fmt(found)
    assert [p.page for p in found if p.check == "verdict-box"] == ["late.html"]


def test_answer_first_checks_on_made_up_facts():
    inside = {"text": "holds", "left": 200.0, "right": 260.0, "row": "paper-claim-thm4.1"}
    assert bookcheck.badge_problems("c.html", [inside], 390) == []
    out = bookcheck.badge_problems("c.html", [inside, {**inside, "left": 380.0, "right": 470.0}], 390)
    assert len(out) == 1 and "380–470" in out[0].detail
    assert [p.check for p in bookcheck.badge_problems("c.html", [], 390)] == ["status-hidden"]
    assert bookcheck.box_problems("ch.html", 640.0) == []
    assert "9750 px down" in bookcheck.box_problems("ch.html", 9750.0)[0].detail
    assert "no verdict box" in bookcheck.box_problems("ch.html", None)[0].detail


@pytest.mark.browser
def test_built_book_answers_first(built_book):
    """At 390 px every status badge of the claims page lies inside the window; every chapter's verdict box starts
    within the first 1,200 px at 1280 px. Screenshots of those first screens go to book/_build/screenshots/."""
    chromium = chromium_or_skip()
    chapters = [f"{c}.html" for c in toc_chapters() if c != "claims" and c not in bookcheck.METHOD_PAGES]
    problems = bookcheck.check_answer_first(built_book, "claims.html", chapters, chromium, SCREENSHOTS)
    assert not problems, _fmt(problems)


@pytest.mark.slow
def test_tiny_book_shows_each_figure_once_and_tables_without_index(tiny_book):
    """The pattern of ntkbook.notebook: `show` in a remove-output cell + `glue:figure` gives one image, in the
    figure; `table` gives badges, typeset-ready math and no index; the plumbing cells are not on the page."""
    page = (tiny_book / "good.html").read_text()
    assert page.count("<img") == 1 and re.search(r"<figure[^>]*id=\"fig-cube\"", page)
    assert "ntk-status-holds" in page and "ntk-status-does-not-hold" in page and r"\(\kappa^3\)" in page
    assert "Parameters.snapshot" not in page and "Parameters.check" not in page   # remove-cell
    assert "scale = 1.0" in re.sub(r"<[^>]+>", "", page)                           # the parameters cell stays
    assert "<th>0</th>" not in page and "<th></th><th>" not in page                 # no pandas index


@pytest.mark.slow
def test_tiny_book_is_offline_and_has_its_environment_page(tiny_book):
    assert (tiny_book / "_static" / "mathjax" / "tex-mml-chtml.js").is_file()
    intro = (tiny_book / "intro.html").read_text()
    assert 'src="_static/mathjax/tex-mml-chtml.js' in intro and "cdn.jsdelivr" not in intro
    assert "THEBE_JS_URL" not in (tiny_book / "good.html").read_text()
    env = (tiny_book / "environment.html").read_text()
    assert "build started (UTC)" in env and "jupyter-book" in env and "Run Time (s)" in env
    assert "good" in env and "not installed" not in env
    assert "\u2705" not in env and "\u274c" not in env and "succeeded" in env   # no emoji (boxes in Chromium)


@pytest.mark.slow
def test_a_failing_cell_fails_the_build(tmp_path):
    done = tinybook.build(tinybook.write_failing_book(tmp_path / "failing"))
    assert done.returncode != 0, "a chapter whose cell raises must fail `jupyter-book build`"
    assert "a failing cell" in done.stdout + done.stderr


# ---- a chapter in the project's JupyterLab ---------------------------------------------------------------

LAB_CHAPTER = ROOT / "book" / "01_gram_induced_kernel.ipynb"
LAB_SCREENSHOTS = SCREENSHOTS / "jupyterlab"

# What a reader sees in the notebook once it has run: rendered figures in the outputs, typeset math in the
# markdown (jupyterlab-myst typesets with KaTeX; JupyterLab's own renderer with MathJax), the prose's text
# without the code editors, and error outputs. Only what is on screen counts (an output the lab extension hid
# because its figure is pasted into the prose is not).
_LAB_FACTS = r"""() => {
  const nb = document.querySelector(".jp-Notebook");
  const visible = e => e.getClientRects().length > 0;
  const figures = [...nb.querySelectorAll("img")].filter(i => i.naturalWidth > 0 && visible(i));
  const prose = [...nb.querySelectorAll(".jp-MarkdownCell .jp-RenderedMarkdown, .jp-MarkdownCell .myst")]
      .map(e => e.innerText).join("\n");
  const captions = [...nb.querySelectorAll(".jp-MarkdownCell p, .jp-MarkdownCell figcaption")]
      .map(e => e.innerText).filter(t => /^Figure\b/.test(t.trim()));
  const stderr = [...nb.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
      .filter(visible).map(e => e.innerText);
  return {
    figures: figures.length,
    figureSources: figures.map(i => i.src.slice(-200)),
    figureWidths: figures.map(i => i.getBoundingClientRect().width),
    math: nb.querySelectorAll(".jp-MarkdownCell .katex, .jp-MarkdownCell mjx-container").length,
    tableMath: nb.querySelectorAll(".jp-OutputArea-output table .katex, .jp-OutputArea-output table mjx-container")
        .length,
    prose: prose,
    captions: captions,
    stderr: stderr,
    notFound: (prose.match(/target not found|Unknown (?:Role|Directive)/gi) || []).length,
    errors: [...nb.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]')]
        .map(e => e.innerText.slice(0, 500)),
    markdownCells: nb.querySelectorAll(".jp-MarkdownCell").length,
    gluedValues: nb.querySelectorAll(".jp-MarkdownCell [data-ntk-glue]").length,
    gluedFigures: [...nb.querySelectorAll(".jp-MarkdownCell [data-ntk-glue-figure] img")]
        .filter(i => i.naturalWidth > 0 && visible(i)).length,
    verdictBox: nb.querySelectorAll(".jp-MarkdownCell [data-ntk-glue-any] .ntk-verdict-box").length,
  };
}"""


def _git_status(path: Path) -> str:
    return subprocess.run(["git", "status", "--porcelain", "--", str(path)], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout


def _digests(folder: Path) -> dict[str, str]:
    import hashlib

    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.ipynb"))}


def run_chapter_in_lab(source: Path, workdir: Path, shots: Path, chromium: str, profile: str = "quick") -> dict:
    """Open `source` the way `make lab` does (tools/lab.py: a working copy, here in `workdir`), set its `profile`
    in the parameters cell as a reader would, Run All Cells in the project's JupyterLab, save, wait past the
    autosave interval, and return what the page shows (`_LAB_FACTS`) with the copy's saved text (`saved`).
    Screenshots of the top, the first figure and the end go to `shots`."""
    from playwright.sync_api import sync_playwright

    lab_tool = _load_tool("lab")
    assert lab_tool.working_copy(dest=workdir, refresh=True)[source.name] == "written"
    copy = workdir / source.name
    nb = json.loads(copy.read_text())
    parameters = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    text = "".join(parameters["source"])
    assert 'profile = "default"' in text
    parameters["source"] = text.replace('profile = "default"', f'profile = "{profile}"')
    copy.write_text(json.dumps(nb))
    shots.mkdir(parents=True, exist_ok=True)
    with jupyterlab.running_lab(workdir, log=workdir / "jupyterlab.log") as url, sync_playwright() as p:
        browser = bookcheck.launch_browser(p, chromium)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            jupyterlab.open_notebook(page, url, copy.name)
            page.screenshot(path=str(shots / f"{source.stem}-top.png"))
            jupyterlab.run_all(page, timeout_ms=900_000)
            page.wait_for_timeout(3000)  # let the markdown renderer and the lab extension finish
            facts = page.evaluate(_LAB_FACTS)
            page.keyboard.press("Control+s")  # a reader's explicit save, then the autosave
            page.wait_for_timeout((jupyterlab.AUTOSAVE_S + 5) * 1000)
            figure = page.locator(".jp-Notebook img:visible").first
            if figure.count():
                figure.scroll_into_view_if_needed()
                page.screenshot(path=str(shots / f"{source.stem}-figure.png"))
            page.locator(".jp-Notebook .jp-Cell").last.scroll_into_view_if_needed()
            page.screenshot(path=str(shots / f"{source.stem}-end.png"))
        finally:
            browser.close()
    facts["saved"] = copy.read_text()
    return facts


@pytest.mark.browser
@pytest.mark.slow
def test_chapter_1_runs_in_jupyterlab_and_leaves_the_book_alone(tmp_path, real_data_dir):
    """Chapter 1, opened through `make lab`'s working copy in the project's JupyterLab (headless, token-less,
    127.0.0.1, a free port; stopped after), run at the quick profile with Run All Cells, saved and left past the
    autosave interval: book/ is as it was (git status and every notebook's bytes); the copy holds the outputs.
    On the page: no cell fails, the markdown's math is typeset, no `{glue` role, raw MyST, "target not found" or
    raw `$` in a caption is left, the verdict box is pasted, each figure shows once, and no stderr strip shows.
    Screenshots: book/_build/screenshots/jupyterlab/."""
    chromium = chromium_or_skip()
    book = ROOT / "book"
    status, digests = _git_status(book), _digests(book)
    facts = run_chapter_in_lab(LAB_CHAPTER, tmp_path, LAB_SCREENSHOTS, chromium)
    assert _git_status(book) == status and _digests(book) == digests, "running a chapter in JupyterLab changed book/"
    saved = json.loads(facts["saved"])  # the lab wrote its outputs into the copy, not into book/
    assert sum(len(c.get("outputs", [])) for c in saved["cells"]) > 10
    assert not facts["errors"], "cells failed in JupyterLab:\n" + "\n".join(facts["errors"])
    assert facts["markdownCells"] > 5
    assert facts["math"] >= 10, f"only {facts['math']} typeset formulas in the markdown (is jupyterlab-myst there?)"
    assert "{glue" not in facts["prose"], "raw {glue...} roles in the rendered markdown"
    assert "$$" not in facts["prose"] and ":label:" not in facts["prose"], "raw MyST in the rendered markdown"
    assert facts["notFound"] == 0, "citations or cross-references left unresolved in JupyterLab"
    unfilled = re.findall(r"\b[a-z]\w*:[,]?\.\d+[efg%]", facts["prose"])
    assert not unfilled, f"glue roles left as their names: {unfilled[:10]}"
    assert facts["gluedValues"] >= 10 and facts["verdictBox"] == 1, facts
    assert facts["captions"] and not [c for c in facts["captions"] if "$" in c], facts["captions"]
    assert facts["figures"] >= 3 and facts["gluedFigures"] >= 3, facts
    repeated = {s for s in facts["figureSources"] if facts["figureSources"].count(s) > 1}
    assert not repeated, f"{len(repeated)} figure(s) shown more than once"
    assert not facts["stderr"], f"stderr strips shown: {facts['stderr'][:3]}"


def test_lab_glue_formats_numbers_like_python(tmp_path):
    """book/_ext/jupyterlab/ntkbook-glue formats glued numbers with Python's format spec mini-language."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the JupyterLab test above still checks the glued values in the lab")
    cases = [(0.000123456, ".3g"), (123456.0, ".3g"), (1234567.0, ".2g"), (0.5, ".0%"), (0.12345, ".1%"),
             (3.14159, ".3f"), (2.5e-17, ".1e"), (12345.678, ",.1f"), (7, "d"), (1e-5, ".3g"), (100.0, ".3g"),
             (0.0, ".2g"), (-0.0456, ".2f"), (float("nan"), ".3f"), (1.5, "")]
    entry = ROOT / "book" / "_ext" / "jupyterlab" / "ntkbook-glue" / "static" / "remoteEntry.js"
    script = (f"const g = require({str(entry)!r});\n"
              f"const cases = {json.dumps([[x if x == x else 'nan', spec] for x, spec in cases])};\n"
              "console.log(JSON.stringify(cases.map(([x, s]) => g.pyFormat(x === 'nan' ? NaN : x, s))));")
    done = subprocess.run([node, "-e", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [format(x, spec) if spec else str(x) for x, spec in cases]


# ---- claim_status: the intro's statuses come from the claims page's verdict record ------------------------------


import claim_status  # noqa: E402  (book/_ext)


def _executed_claims(path: Path, statuses: dict) -> None:
    record = {f"headline.{k}.status": repr(v) for k, v in statuses.items()} | {"claim.x.y.status": "'holds'"}
    nb = {"cells": [{"cell_type": "code", "outputs": [{"output_type": "display_data", "metadata": {},
                                                       "data": {claim_status.VERDICTS_MIME: record}}]}]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb))


def test_claim_status_reads_the_headline_statuses_of_the_record(tmp_path):
    from ntkbook.report.claims import VERDICTS_MIME

    assert claim_status.VERDICTS_MIME == VERDICTS_MIME
    _executed_claims(tmp_path / "claims.ipynb", {"thm4.1": "holds", "table2": "partly"})
    assert claim_status.read_statuses(tmp_path / "claims.ipynb") == {"thm4.1": "holds", "table2": "partly"}
    assert claim_status.read_statuses(tmp_path / "missing.ipynb") == {}


def test_claim_status_role_renders_the_recorded_badge_in_a_built_page(tmp_path):
    """A Sphinx build whose page uses the role shows the badge the record holds (linked to the claim's row), and
    warns for a key the record lacks; the statuses change with the record, never with the page's source."""
    src, out = tmp_path / "src", tmp_path / "_build" / "html"
    src.mkdir()
    (src / "conf.py").write_text(f"import sys\nsys.path.insert(0, {str(EXT_DIR)!r})\nextensions = ['claim_status']\n")
    (src / "index.rst").write_text("Intro\n=====\n\nT4.1 :claim-status:`thm4.1` T2 :claim-status:`table2` "
                                   "T4 :claim-status:`table4` X :claim-status:`nope`\n\n.. toctree::\n\n   claims\n")
    (src / "claims.rst").write_text("Claims\n======\n")
    for statuses, expected in (({"thm4.1": "holds", "table2": "partly"}, ("holds", "partly")),
                               ({"thm4.1": "does not hold", "table2": "holds"}, ("does not hold", "holds"))):
        _executed_claims(tmp_path / "_build" / "jupyter_execute" / "claims.ipynb", statuses)
        done = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", str(src), str(out)],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        page = (out / "index.html").read_text()
        badges = re.findall(r'class="ntk-claim-status" href="claims.html(?:#paper-claim-([^"]+))?".*?>([a-z ]+)</span>',
                            page)
        # a claim the record lacks has no row on the claims page: its badge links to the page, not to a row
        assert badges == [("thm4.1", expected[0]), ("table2", expected[1]), ("", "not run"), ("", "not run")]
        assert "claim status not found: 'nope'" in done.stderr and "'table4'" not in done.stderr
