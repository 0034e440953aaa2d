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

A full-page screenshot of each page is saved as `<screenshot_dir>/<page>.png`.
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
    if chapter:
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
        rerun = [n for n in facts["notes"] if re.search(r"jupyter\s*lab", n, re.IGNORECASE)
                 and re.search(r"papermill|parameters", n, re.IGNORECASE)]
        if not rerun:
            out.append(Problem(name, "chapter-rerun-note", "no note on re-running the chapter in JupyterLab "
                                                           "with other parameters"))
        notebook = f"_sources/{page.stem}.ipynb"
        if notebook not in facts["downloads"]:
            out.append(Problem(name, "chapter-download", f"no download button for {notebook}"))
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
    context = browser.new_context(viewport={"width": 1280, "height": 900})
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
        found += _page_problems(page_path, facts, is_chapter(page_path))
        if screenshot_dir is not None:
            page.screenshot(path=str(Path(screenshot_dir) / f"{page_path.stem}.png"), full_page=True)
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
