"""The book's source stays honest: chapters without outputs, with parameters, listed in the TOC and present."""

import json
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
