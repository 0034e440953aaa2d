"""Check a built Jupyter Book as a reader sees it: every page opened from disk in headless Chromium, offline.

`check_book(html_dir, screenshot_dir)` returns a list of `Problem`s (empty when all is well). Per page it checks:

- `console`: no console error and no uncaught JavaScript exception;
- `external-request`: nothing is fetched from the network (every http(s) request is recorded and aborted, so
  the page is seen exactly as with the network off); `missing-file`: no local file the page loads is missing;
- `image`: every `<img>` loaded with a non-zero natural size;
- `math`: where the page has math, MathJax has typeset all of it, with no TeX errors; `raw-math`: no `$...$`,
  `\\(`, `\\[` left as plain text outside code; `repr-leak`: no Python repr such as `np.float64(0.9)` in the
  prose (a glued numpy scalar);
- `traceback`: no cell output holds a traceback;
- `link`: every internal link points at a file that exists and, with `#anchor`, at an id on that page;
- chapter pages only (the notebooks): `chapter-figure` at least one figure with an image (myst-nb's
  glue:figure), every figure numbered ("Fig. N", so it needs a caption) and holding an image (or a table) that
  loaded; `chapter-paper-vs-book` a heading containing "Paper vs this book" whose section holds an HTML table
  with rows; `chapter-rerun-note` a note admonition on re-running the chapter (JupyterLab, and the parameters
  cell or papermill); `chapter-download` the "download .ipynb" button (its file is checked with the links).

Layout, at a 1280 px window and at a 390 px phone (`layout_problems`): `table-overflow` no table reaches past
the text column unless it scrolls in its own box; `figure-text` (1280 px) every figure's smallest text is at
least 9 pt as shown, measured from the text height `ntkbook.notebook.show` records in the PNG and the size the
browser shows the image at.

A full-page screenshot of each page is saved as `<screenshot_dir>/<page>.png` (1280 px) and
`<page>-390.png` (390 px).
Run it by hand on a built book: `python tests/browser/bookcheck.py book/_build/html`.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")
PAPER_VS_BOOK = re.compile(r"paper\s+vs\.?\s+this\s+book", re.IGNORECASE)
TRACEBACK = re.compile(r"Traceback \(most recent call last\)")
REPR_LEAK = re.compile(r"\bnp\.(?:float|u?int|bool|complex|str)\w*\(|\barray\(\[|<[\w.]+ object at 0x")
RAW_MATH = re.compile(r"\$[^$\n]{1,300}?\$|\\\(|\\\)|\\\[|\\\]|\\begin\{")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one page: `check` is the check's name (see the module docstring)."""

    page: str
    check: str
    detail: str

    def __str__(self) -> str:
        return f"{self.page}: [{self.check}] {self.detail}"


def pages(html_dir: Path) -> list[Path]:
    """The book's HTML pages: every `*.html` at the top of `html_dir` (Jupyter Book writes them flat)."""
    found = sorted(Path(html_dir).glob("*.html"))
    if not found:
        raise FileNotFoundError(f"no HTML pages in {html_dir}; build the book first (make book)")
    return found


_REDIRECT = re.compile(r"""<meta\s+http-equiv=["']refresh["']\s+content=["']\d+;\s*url=([^"']+)["']""",
                       re.IGNORECASE)


def redirect_target(page: Path) -> str | None:
    """The URL a redirect-only page (Jupyter Book's `index.html`) forwards to, else None."""
    text = page.read_text(encoding="utf-8", errors="replace")
    match = _REDIRECT.search(text)
    return match.group(1) if match and len(text) < 1000 else None


#: Notebook pages that decide no claim of the paper (the page on how the verdicts are tested): checked like a
#: chapter for the re-running note and the download button, not for figures or a "Paper vs this book" section.
METHOD_PAGES = frozenset({"verdict_tests"})


def is_chapter(page: Path) -> bool:
    """A chapter is a page built from a notebook: the build keeps its source as `_sources/<name>.ipynb`."""
    return (page.parent / "_sources" / f"{page.stem}.ipynb").is_file()


# ---- links, without a browser --------------------------------------------------------------------------


class _LinkParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.refs: list[tuple[str, str]] = []   # (tag.attribute, url)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name"):
            if attrs.get(key):
                self.ids.add(attrs[key])
        for attribute in ("href", "src"):
            if attrs.get(attribute) is not None and tag in ("a", "img", "script", "link", "iframe", "source"):
                self.refs.append((f"{tag}.{attribute}", attrs[attribute]))


def _parse(path: Path) -> _LinkParser:
    parser = _LinkParser()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser


def check_links(html_dir: Path) -> list[Problem]:
    """Internal links and loads of every page: target files exist, `#anchors` exist on the target page.

    Links to other sites (`<a href="https://...">`) are allowed; loading anything from another site
    (`<script src="https://...">`, `<link href=...>`, `<img src=...>`) is a problem (`external-load`).
    """
    html_dir = Path(html_dir)
    problems: list[Problem] = []
    parsed: dict[Path, _LinkParser] = {}

    def ids_of(path: Path) -> set[str]:
        if path not in parsed:
            parsed[path] = _parse(path)
        return parsed[path].ids

    for page in pages(html_dir):
        parser = parsed.setdefault(page, _parse(page))
        for where, url in parser.refs:
            parts = urlsplit(url)
            if parts.scheme in ("http", "https") or url.startswith("//"):
                if not where.startswith("a."):
                    problems.append(Problem(page.name, "external-load", f"<{where}> loads {url}"))
                continue
            if parts.scheme in ("mailto", "javascript", "data", "tel") or (not parts.path and not parts.fragment):
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                problems.append(Problem(page.name, "link", f"<{where}> {url}: {target} does not exist"))
            elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in ids_of(target):
                problems.append(Problem(page.name, "link", f"<{where}> {url}: no id {parts.fragment!r} "
                                                           f"in {target.name}"))
    return problems


# ---- the browser pass ----------------------------------------------------------------------------------

_LAYOUT_FACTS = r"""
() => {
  const article = document.querySelector("article.bd-article") || document.querySelector("main") || document.body;
  const style = getComputedStyle(article);
  const box = article.getBoundingClientRect();
  const left = box.left + parseFloat(style.paddingLeft), right = box.right - parseFloat(style.paddingRight);
  const scrolls = (e) => ["auto", "scroll"].includes(getComputedStyle(e).overflowX);
  const label = (t) => {
    const fig = t.closest("figure");
    const caption = fig && fig.querySelector(".caption-number");
    const head = [...t.querySelectorAll("th")].slice(0, 3).map(h => h.textContent.trim()).join(" | ");
    return (caption ? caption.textContent.trim() + " " : "") + "[" + head.slice(0, 60) + "]";
  };
  const tables = [...article.querySelectorAll("table")].map(t => {
    const r = t.getBoundingClientRect();
    let scroller = null;
    for (let e = t.parentElement; e && e !== article; e = e.parentElement) { if (scrolls(e)) { scroller = e; break; } }
    const s = scroller ? scroller.getBoundingClientRect() : null;
    return {label: label(t), width: r.width, height: r.height, left: r.left, right: r.right,
            scrollBox: s ? {left: s.left, right: s.right} : null};
  }).filter(t => t.width > 0 && t.height > 0);
  const images = [...article.querySelectorAll("figure img, .cell_output img")].map(img => ({
    src: img.getAttribute("src"), natural: img.naturalWidth, shown: img.getBoundingClientRect().width,
    figure: img.closest("figure") ? (img.closest("figure").id || "?") : ""}));
  return {column: {left: left, right: right, width: right - left}, tables: tables, figureImages: images,
          pageWidth: document.documentElement.scrollWidth, viewport: window.innerWidth};
}
"""

_PAGE_FACTS = r"""
async () => {
  for (const img of document.images) { img.loading = "eager"; }
  const within = (promise, ms, late) => Promise.race([promise, new Promise(done => setTimeout(() => done(late), ms))]);
  await within(Promise.all([...document.images].map(img => img.complete ? null :
      new Promise(done => { img.addEventListener("load", done); img.addEventListener("error", done); }))), 30000);
  const mathNodes = document.querySelectorAll("span.math, div.math").length;
  let mathjax = "absent";
  if (window.MathJax && window.MathJax.startup && window.MathJax.startup.promise) {
    mathjax = await within(window.MathJax.startup.promise.then(() => "ready"), 60000, "still typesetting after 60 s");
  } else if (window.MathJax) {
    mathjax = "not started";
  }
  const skip = "pre, code, script, style, textarea, mjx-container, .highlight, .MathJax";
  const parts = [];
  const visit = (n) => {
    if (n.nodeType === Node.TEXT_NODE) { parts.push(n.nodeValue); return; }
    if (n.nodeType !== Node.ELEMENT_NODE) { return; }
    if (n.matches("mjx-container")) { parts.push("<math>"); return; }
    if (n.matches(skip)) { parts.push(" "); return; }
    for (const child of n.childNodes) { visit(child); }
  };
  visit(document.body);
  const text = (el) => (el.textContent || "").replace(/\s+/g, " ").trim();
  const headings = [...document.querySelectorAll("h1, h2, h3, h4")];
  const paperVs = headings.filter(h => /paper\s+vs\.?\s+this\s+book/i.test(h.textContent)).map(h => {
    const section = h.closest("section") || h.parentElement;
    const rows = [...section.querySelectorAll("table tbody tr")].length;
    return {heading: text(h), tables: section.querySelectorAll("table").length, rows: rows};
  });
  return {
    images: [...document.images].map(img => ({src: img.getAttribute("src"), ok: img.complete && img.naturalWidth > 0,
                                               w: img.naturalWidth, h: img.naturalHeight})),
    mathNodes: mathNodes,
    mathjax: mathjax,
    typeset: document.querySelectorAll("mjx-container").length,
    mathErrors: [...document.querySelectorAll("mjx-merror")].map(e => e.getAttribute("data-mjx-error") || text(e)),
    plainText: parts.join(""),
    outputs: [...document.querySelectorAll(".cell_output, .output")].map(text),
    tracebackBlocks: document.querySelectorAll(".cell_output .traceback, .output.traceback, .output.error").length,
    figures: [...document.querySelectorAll("figure")].map(f => ({
        id: f.id, number: text(f.querySelector(".caption-number") || document.createElement("i")),
        images: [...f.querySelectorAll("img")].map(i => i.naturalWidth > 0),
        tables: f.querySelectorAll("table").length})),
    paperVs: paperVs,
    notes: [...document.querySelectorAll(".admonition.note")].map(text),
    downloads: [...document.querySelectorAll("a.btn-download-source-button, a[href$='.ipynb']")]
        .map(a => a.getAttribute("href")),
  };
}
"""


def _page_problems(page: Path, facts: dict, chapter: bool) -> list[Problem]:
    """Turn the facts gathered in the browser into problems (pure; see the module docstring)."""
    name = page.name
    out = []
    for img in facts["images"]:
        if not img["ok"]:
            out.append(Problem(name, "image", f"<img src={img['src']!r}> did not load "
                                              f"(natural size {img['w']}x{img['h']})"))
    if facts["mathNodes"]:
        if facts["mathjax"] != "ready":
            out.append(Problem(name, "math", f"{facts['mathNodes']} math elements but MathJax is {facts['mathjax']}"))
        elif facts["typeset"] < facts["mathNodes"]:
            out.append(Problem(name, "math", f"only {facts['typeset']} of {facts['mathNodes']} math elements "
                                             "were typeset"))
    for err in facts["mathErrors"]:
        out.append(Problem(name, "math", f"MathJax error: {err}"))
    for match in list(RAW_MATH.finditer(facts["plainText"]))[:5]:
        start = max(0, match.start() - 40)
        out.append(Problem(name, "raw-math", f"TeX left as text: ...{facts['plainText'][start:match.end() + 40]!r}"))
    for match in list(REPR_LEAK.finditer(facts["plainText"]))[:3]:
        start = max(0, match.start() - 40)
        out.append(Problem(name, "repr-leak", f"a Python repr in the prose (glue a plain float/int): "
                                              f"...{facts['plainText'][start:match.end() + 40]!r}"))
    if facts["tracebackBlocks"]:
        out.append(Problem(name, "traceback", f"{facts['tracebackBlocks']} cell output(s) render an error"))
    for text in facts["outputs"]:
        if TRACEBACK.search(text):
            out.append(Problem(name, "traceback", f"cell output holds a traceback: {text[:200]!r}"))
            break
    method = page.stem in METHOD_PAGES
    if chapter and not method:
        figures = [f for f in facts["figures"] if f["images"]]
        if not figures:
            out.append(Problem(name, "chapter-figure", "no figure with an image (use myst-nb glue:figure)"))
        for fig in facts["figures"]:
            if not fig["images"] and not fig.get("tables"):
                out.append(Problem(name, "chapter-figure", f"figure {fig['id'] or '?'} holds no image"))
            elif not all(fig["images"]):
                out.append(Problem(name, "chapter-figure", f"figure {fig['id'] or '?'} has an image that did "
                                                           "not load"))
            if not fig["number"].startswith("Fig"):
                out.append(Problem(name, "chapter-figure", f"figure {fig['id'] or '?'} is not numbered "
                                                           "(give it a caption; numfig numbers it)"))
        if not facts["paperVs"]:
            out.append(Problem(name, "chapter-paper-vs-book", 'no heading containing "Paper vs this book"'))
        for section in facts["paperVs"]:
            if not section["tables"] or not section["rows"]:
                out.append(Problem(name, "chapter-paper-vs-book", f"section {section['heading']!r} has no table "
                                                                  "with rows"))
    if chapter:
        rerun = [n for n in facts["notes"] if re.search(r"jupyter\s*lab", n, re.IGNORECASE)
                 and re.search(r"papermill|parameters", n, re.IGNORECASE)]
        if not rerun:
            out.append(Problem(name, "chapter-rerun-note", "no note on re-running the chapter in JupyterLab "
                                                           "with other parameters"))
        notebook = f"_sources/{page.stem}.ipynb"
        if notebook not in facts["downloads"]:
            out.append(Problem(name, "chapter-download", f"no download button for {notebook}"))
    return out


#: widths (CSS px) every page is checked and photographed at: a laptop window and a phone.
WIDTHS = (1280, 390)
#: smallest figure text (pt) a reader must meet at the laptop width (see `layout_problems`).
MIN_TEXT_PT = 9.0
#: the PNG text chunk where `ntkbook.notebook.show` records a figure's smallest text height in image pixels.
TEXT_PX_KEY = "ntkbook:min-text-px"


def recorded_text_px(image: Path) -> float | None:
    """The smallest text height (image pixels) recorded in a PNG by `ntkbook.notebook.show`, else None."""
    from PIL import Image

    try:
        with Image.open(image) as im:
            value = getattr(im, "text", {}).get(TEXT_PX_KEY)
    except (OSError, ValueError):
        return None
    return float(value) if value is not None else None


def layout_problems(page: Path, facts: dict, width: int, text_px: dict[str, float | None],
                    chapter: bool) -> list[Problem]:
    """Problems of one page's layout at one window `width` (pure; facts from `_LAYOUT_FACTS`).

    - `page-overflow`: the page is wider than the window (something without a scroll box of its own pushes it).
    - `table-overflow`: a table reaches past the text column and no box around it scrolls sideways within the
      column (a table wider than the column is fine inside a scroll box that itself fits).
    - `figure-text` (at the widest window only): a figure image whose smallest text, as shown, is below
      `MIN_TEXT_PT`. The size shown is measured, not assumed: the image's recorded smallest text height h (image
      px, from `text_px[src]`) times the scale it is shown at (rendered width / natural width), converted from
      CSS px to pt (x 3/4). On a chapter page, a figure image without a record is a problem too (it was not made
      by `ntkbook.notebook.show`, so its text size is unknown).
    """
    name = page.name
    out = []
    column = facts["column"]
    if facts.get("pageWidth", 0) > facts.get("viewport", float("inf")) + 1:
        out.append(Problem(name, "page-overflow", f"at {width} px: the page is {facts['pageWidth']} px wide, so "
                                                  "the reader scrolls the whole page sideways (give the wide "
                                                  "element a box that scrolls)"))
    for table in facts["tables"]:
        past = table["right"] > column["right"] + 1 or table["left"] < column["left"] - 1
        box = table["scrollBox"]
        boxed = box is not None and box["right"] <= column["right"] + 1 and box["left"] >= column["left"] - 1
        if past and not boxed:
            out.append(Problem(name, "table-overflow", f"at {width} px: table {table['label']} is "
                                                       f"{table['width']:.0f} px wide in a "
                                                       f"{column['width']:.0f} px column and does not scroll in "
                                                       "its own box"))
    if width != max(WIDTHS):
        return out
    for img in facts["figureImages"]:
        if not img["natural"] or not img["shown"]:
            continue  # a broken image is the `image` check's business
        h = text_px.get(img["src"])
        if h is None:
            if chapter and img["figure"]:
                out.append(Problem(name, "figure-text", f"figure {img['figure']} ({img['src']}) has no recorded "
                                                        "text size: glue it with ntkbook.notebook.show"))
            continue
        shown_pt = h * img["shown"] / img["natural"] * 0.75
        if shown_pt < MIN_TEXT_PT - 0.05:
            out.append(Problem(name, "figure-text", f"figure {img['figure'] or '?'} ({img['src']}): smallest text "
                                                    f"{shown_pt:.1f} pt as shown ({img['natural']} px image at "
                                                    f"{img['shown']:.0f} px), below {MIN_TEXT_PT:g} pt"))
    return out


def launch_browser(playwright, chromium: str = CHROMIUM):
    """Launch Debian's Chromium headless with Playwright (no browser download)."""
    return playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)


def check_pages(html_dir: Path, screenshot_dir: Path | None = None, chromium: str = CHROMIUM,
                timeout_ms: float = 60_000) -> list[Problem]:
    """Open every page from disk in headless Chromium with the network cut off; return what is wrong."""
    from playwright.sync_api import sync_playwright

    html_dir = Path(html_dir).resolve()
    problems: list[Problem] = []
    if screenshot_dir is not None:
        Path(screenshot_dir).mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = launch_browser(p, chromium)
        try:
            for page_path in pages(html_dir):
                target = redirect_target(page_path)
                if target is None:
                    problems += _check_one(browser, page_path, screenshot_dir, timeout_ms)
                elif not (page_path.parent / urlsplit(target).path).is_file():
                    problems.append(Problem(page_path.name, "link", f"redirects to {target}, which does not exist"))
        finally:
            browser.close()
    return problems


def _check_one(browser, page_path: Path, screenshot_dir: Path | None, timeout_ms: float) -> list[Problem]:
    name = page_path.name
    found: list[Problem] = []
    context = browser.new_context(viewport={"width": WIDTHS[0], "height": 900})
    try:
        def refuse(route):
            found.append(Problem(name, "external-request", f"{route.request.resource_type} {route.request.url}"))
            route.abort("internetdisconnected")

        context.route(lambda url: not url.startswith(LOCAL_SCHEMES), refuse)
        page = context.new_page()
        page.set_default_timeout(timeout_ms)
        page.on("console", lambda msg: msg.type == "error" and found.append(
            Problem(name, "console", f"{msg.text} ({msg.location.get('url', '')})")))
        page.on("pageerror", lambda err: found.append(Problem(name, "console", f"uncaught exception: {err}")))
        page.on("requestfailed", lambda req: req.url.startswith("file:") and found.append(
            Problem(name, "missing-file", f"{req.resource_type} {req.url}: {req.failure}")))
        page.goto(page_path.as_uri(), wait_until="load")
        facts = page.evaluate(_PAGE_FACTS)
        chapter = is_chapter(page_path)
        found += _page_problems(page_path, facts, chapter)
        for width in WIDTHS:
            if width != WIDTHS[0]:
                page.set_viewport_size({"width": width, "height": 900})
                page.wait_for_timeout(300)  # let the theme re-lay the page out
            layout = page.evaluate(_LAYOUT_FACTS)
            text_px = {img["src"]: recorded_text_px(page_path.parent / unquote(urlsplit(img["src"]).path))
                       for img in layout["figureImages"] if img["src"]}
            found += layout_problems(page_path, layout, width, text_px, chapter)
            if screenshot_dir is not None:
                suffix = "" if width == WIDTHS[0] else f"-{width}"
                page.screenshot(path=str(Path(screenshot_dir) / f"{page_path.stem}{suffix}.png"), full_page=True)
    finally:
        context.close()
    # an aborted external request also fails and logs a console error: report it once, as what it is
    external = {p.detail.split(" ", 1)[1] for p in found if p.check == "external-request"}
    return [p for p in found if not (p.check in ("console", "missing-file") and any(u in p.detail for u in external))]


def check_book(html_dir: Path, screenshot_dir: Path | None = None, chromium: str = CHROMIUM) -> list[Problem]:
    """All checks: links (static) and every page in the browser. Empty when the book is fine."""
    return check_links(html_dir) + check_pages(html_dir, screenshot_dir, chromium)


if __name__ == "__main__":
    html = Path(sys.argv[1] if len(sys.argv) > 1 else "book/_build/html")
    shots = html.parent / "screenshots"
    report = check_book(html, shots)
    print("\n".join(map(str, report)) or f"no problems; screenshots in {shots}")
    sys.exit(1 if report else 0)


# ---- the answer first: the claims page's statuses on a phone, each chapter's verdict box on the first screen ----

#: how far down a chapter's verdict box may start, in CSS px of a 1280 px wide window (the first screen)
FIRST_SCREEN_PX = 1200
PHONE_PX = 390

_BADGES = r"""() => [...document.querySelectorAll(".ntk-claims .ntk-badge, .ntk-chapter-summaries .ntk-badge")]
  .filter(b => b.getClientRects().length > 0)  // badges in a closed <details> are not on the page
  .map(b => { const r = b.getBoundingClientRect();
              return {text: b.textContent, left: r.left, right: r.right,
                      row: (b.closest("[id]") || {}).id || ""}; })"""

#: wait until MathJax has typeset the page (formulas change the layout), at most 60 s
_TYPESET = r"""async () => { const m = window.MathJax;
  if (m && m.startup && m.startup.promise) {
    await Promise.race([m.startup.promise, new Promise(r => setTimeout(r, 60000))]); }
  await new Promise(r => setTimeout(r, 200)); return true; }"""

_BOX_TOP = r"""() => { const box = document.querySelector(".ntk-verdict-box");
  return box === null ? null : box.getBoundingClientRect().top + window.scrollY; }"""


def badge_problems(name: str, badges: list[dict], width: int) -> list[Problem]:
    """`status-hidden`: a visible status badge that does not lie wholly inside a `width` px wide window (the reader
    would have to scroll sideways to see it), or no badge at all."""
    if not badges:
        return [Problem(name, "status-hidden", f"no status badge is visible at {width} px")]
    return [Problem(name, "status-hidden", f"at {width} px the badge '{b['text']}' of {b['row'] or '?'} spans "
                                           f"{b['left']:.0f}–{b['right']:.0f} px, outside the window")
            for b in badges if b["left"] < 0 or b["right"] > width + 0.5]


def box_problems(name: str, top: float | None, limit: float = FIRST_SCREEN_PX) -> list[Problem]:
    """`verdict-box`: the chapter has no verdict box, or it starts below the first `limit` px."""
    if top is None:
        return [Problem(name, "verdict-box", "no verdict box (.ntk-verdict-box) on the page")]
    if top > limit:
        return [Problem(name, "verdict-box", f"the verdict box starts {top:.0f} px down, below the first {limit} px")]
    return []


def check_answer_first(html_dir: Path, claims_page: str = "claims.html", chapters=None,
                       chromium: str = CHROMIUM, screenshot_dir: Path | None = None) -> list[Problem]:
    """The claims page at 390 px: every visible status badge inside the window (`badge_problems`); each chapter page
    (`is_chapter`, or the names in `chapters`) at 1280 px: its verdict box within the first screen (`box_problems`).
    Screenshots `<page>-first-screen.png` (1280 x 1200) and `claims-390-first-screen.png` go to `screenshot_dir`."""
    from playwright.sync_api import sync_playwright

    html_dir = Path(html_dir).resolve()
    chapters = [html_dir / c for c in chapters] if chapters is not None else \
        [p for p in pages(html_dir) if is_chapter(p) and p.name != claims_page and p.stem not in METHOD_PAGES]
    problems: list[Problem] = []
    with sync_playwright() as p:
        browser = launch_browser(p, chromium)
        try:
            page = browser.new_page(viewport={"width": PHONE_PX, "height": 844})
            page.route(lambda url: not url.startswith(LOCAL_SCHEMES), lambda route: route.abort())
            page.goto((html_dir / claims_page).as_uri(), wait_until="load")
            page.evaluate(_TYPESET)
            problems += badge_problems(claims_page, page.evaluate(_BADGES), PHONE_PX)
            if screenshot_dir is not None:
                Path(screenshot_dir).mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(Path(screenshot_dir) / "claims-390-first-screen.png"))
            page.set_viewport_size({"width": 1280, "height": FIRST_SCREEN_PX})
            for chapter in chapters:
                page.goto(chapter.as_uri(), wait_until="load")
                page.evaluate(_TYPESET)
                problems += box_problems(chapter.name, page.evaluate(_BOX_TOP))
                if screenshot_dir is not None:
                    page.screenshot(path=str(Path(screenshot_dir) / f"{chapter.stem}-first-screen.png"))
        finally:
            browser.close()
    return problems
