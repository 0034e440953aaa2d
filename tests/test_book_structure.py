"""The book's source stays honest: chapters without outputs, with parameters, listed in the TOC and present."""

import json
import re
from pathlib import Path

import pytest
from book_toc import toc_files

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"


def chapter_notebooks() -> list[Path]:
    return sorted(p for p in BOOK.glob("*.ipynb"))


def test_book_config_is_the_top_level_one():
    for name in ("_config.yml", "_toc.yml"):
        link = BOOK / name
        assert link.is_symlink(), f"book/{name} must be a symlink to ../{name}"
        assert link.resolve() == (ROOT / name).resolve()


def test_every_toc_entry_exists():
    missing = [f for f in toc_files() if not any((BOOK / f"{f}{ext}").exists() for ext in (".md", ".ipynb"))]
    assert not missing, f"_toc.yml lists files that do not exist in book/: {missing}"


def test_every_page_is_in_the_toc():
    listed = set(toc_files())
    pages = {p.stem for p in BOOK.glob("*.md")} | {p.stem for p in chapter_notebooks()}
    unlisted = sorted(pages - listed)
    assert not unlisted, f"pages in book/ missing from _toc.yml: {unlisted}"


def test_there_are_chapters():
    assert len(chapter_notebooks()) >= 4


@pytest.mark.parametrize("path", chapter_notebooks(), ids=lambda p: p.name)
def test_notebook_is_clean_and_parameterised(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    stored = [i for i, c in enumerate(code) if c.get("outputs") or c.get("execution_count")]
    assert not stored, f"{path.name}: code cells {stored} have stored outputs; clear them before committing"
    tagged = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: needs exactly one code cell tagged 'parameters', has {len(tagged)}"
    assert "profile" in "".join(tagged[0]["source"]), f"{path.name}: the parameters cell must set `profile`"
    assert nb["metadata"]["kernelspec"]["name"] == "python3", f"{path.name}: kernel must be python3"


# ---- the pattern of ntkbook.notebook (see its docstring): checked parameters, figures once, no plumbing ----


def _code_cells(path: Path) -> list[tuple[str, list[str]]]:
    nb = json.loads(path.read_text())
    return [("".join(c["source"]), c.get("metadata", {}).get("tags", [])) for c in nb["cells"]
            if c["cell_type"] == "code"]


@pytest.mark.parametrize("path", chapter_notebooks(), ids=lambda p: p.name)
def test_chapter_checks_its_parameters(path):
    """snapshot (remove-cell) -> parameters -> Parameters.check (remove-cell), in that order."""
    cells = _code_cells(path)
    index = next(i for i, (_, tags) in enumerate(cells) if "parameters" in tags)
    before = [i for i, (src, _) in enumerate(cells) if "Parameters.snapshot(globals())" in src]
    after = [i for i, (src, _) in enumerate(cells) if "Parameters.check(globals()" in src]
    assert before == [index - 1] and "remove-cell" in cells[index - 1][1], (
        f"{path.name}: the cell before the parameters cell must be `_before = Parameters.snapshot(globals())`, "
        "tagged remove-cell")
    assert after == [index + 1] and "remove-cell" in cells[index + 1][1], (
        f"{path.name}: the cell after the parameters cell must call `Parameters.check(globals(), _before, Spec)`, "
        "tagged remove-cell")


def _pasted_names(path: Path) -> set[str]:
    """Names the chapter's markdown pastes with a glue directive (```{glue:figure} name``` and the like)."""
    nb = json.loads(path.read_text())
    text = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    return set(re.findall(r"\{glue(?::figure|:any|:md|:math)?\}\s+([\w.-]+)", text))


@pytest.mark.parametrize("path", chapter_notebooks(), ids=lambda p: p.name)
def test_chapter_shows_figures_once_and_hides_their_cells_output(path):
    """Figures go through `show` (displayed in JupyterLab), and a figure the markdown pastes with glue:figure
    comes from a cell whose own output the book removes (else the book shows it twice). Names built with an
    f-string cannot be matched here; the built book's browser check counts those."""
    pasted = _pasted_names(path)
    for src, tags in _code_cells(path):
        if re.search(r"\bglue\([^)]*\bfig\w*\s*,\s*display\s*=\s*False", src):
            pytest.fail(f"{path.name}: a figure glued with display=False does not show in JupyterLab; use "
                        f"ntkbook.notebook.show:\n{src[:300]}")
        shown = set(re.findall(r"(?<![\w.])show\(\s*[\"']([\w.-]+)[\"']", src))
        if shown & pasted:
            assert {"remove-output", "remove-cell"} & set(tags), (
                f"{path.name}: the cell showing {sorted(shown & pasted)} must be tagged remove-output (or "
                f"remove-cell): the markdown pastes it with glue, and the book would show it twice:\n{src[:300]}")
