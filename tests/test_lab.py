"""tools/lab.py: the JupyterLab working copy (`make lab`) leaves book/ alone and resolves what only the build does."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("lab", ROOT / "tools" / "lab.py")
lab = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lab)

LABELS = {"protocol-data": ("Data", "protocol"), "protocol": ("The protocol", "protocol"),
          "fig-x": ("the figure", "01_gram_induced_kernel"), "gram-softmax": ("From softmax", "01_gram_induced_kernel"),
          "claims": ("Claims at a glance", "claims")}
CITES = {"a2019": ("Lee et al.", "2019"), "b2020": ("Jacot", "2020")}


@pytest.mark.parametrize("text, expected", [
    ("see {cite:p}`a2019`.", "see (Lee et al. 2019)."),
    ("{cite:p}`a2019,b2020`", "(Lee et al. 2019; Jacot 2020)"),
    ("{cite:t}`b2020` shows", "Jacot (2020) shows"),
    ("as in {ref}`protocol-data`", "as in *Data* (in *The protocol*)"),
    ("{ref}`the data <protocol-data>`", "*the data* (in *The protocol*)"),
    ("{ref}`gram-softmax` here", "*From softmax* here"),
    ("{numref}`fig-x`", "*the figure*"),
    ("page {doc}`claims`", "page [Claims at a glance](claims.ipynb)"),
])
def test_lab_markdown_resolves_book_roles(text, expected):
    assert lab.lab_markdown(text, LABELS, CITES, doc="01_gram_induced_kernel") == expected


def test_lab_markdown_moves_a_figure_caption_out_of_the_directive():
    text = "```{glue:figure} fig_a\n:name: fig-a\n\nError of identity-$QKV$ attention, {cite:p}`a2019`.\n```\n\nNext."
    out = lab.lab_markdown(text, LABELS, CITES)
    assert out == ("```{glue:figure} fig_a\n```\n\n*Figure.* Error of identity-$QKV$ attention, (Lee et al. 2019)."
                   "\n\nNext.")


def test_lab_markdown_unfolds_a_folded_figure():
    text = ("Before.\n\n::::{dropdown} Figure: the same on CIFAR-10\n```{glue:figure} fig_a\n:name: fig-a\n\nCaption."
            "\n```\n::::\n\nAfter.")
    out = lab.lab_markdown(text, LABELS, CITES)
    assert out == "Before.\n\n```{glue:figure} fig_a\n```\n\n*Figure.* Caption.\n\nAfter."


def test_lab_markdown_refuses_unknown_targets():
    with pytest.raises(ValueError, match="references.bib"):
        lab.lab_markdown("{cite:p}`nobody`", LABELS, CITES)
    with pytest.raises(ValueError, match="not a label"):
        lab.lab_markdown("{ref}`no-such-label`", LABELS, CITES)


def test_every_role_of_the_book_resolves():
    """Every citation and cross-reference in the book's notebooks has a target the working copy can name."""
    labels, cites = lab.targets(), lab.citations()
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        nb = lab.lab_notebook(json.loads(path.read_text()), path.stem, labels, cites)
        for cell in nb["cells"]:
            if cell["cell_type"] == "markdown":
                left = lab._ROLE.findall(cell["source"])
                assert not left, f"{path.name}: unresolved {left}"
    assert cites["minoza2026linearized"] == ("Miñoza et al.", "2026")


def _tree_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and "_lab" not in p.parts and "_build" not in p.parts}


def test_working_copy_writes_only_its_folder_and_keeps_edited_copies(tmp_path):
    before = _tree_digest(ROOT / "book")
    dest = tmp_path / "_lab"
    first = lab.working_copy(dest=dest)
    assert set(first) == {p.name for p in (ROOT / "book").glob("*.ipynb")} and set(first.values()) == {"written"}
    assert _tree_digest(ROOT / "book") == before, "making the working copy changed book/"
    copy = dest / "01_gram_induced_kernel.ipynb"
    nb = json.loads(copy.read_text())
    nb["cells"][0]["source"] = "edited"
    copy.write_text(json.dumps(nb))
    assert lab.working_copy(dest=dest)["01_gram_induced_kernel.ipynb"] == "kept"
    assert json.loads(copy.read_text())["cells"][0]["source"] == "edited"
    assert lab.working_copy(dest=dest, refresh=True)["01_gram_induced_kernel.ipynb"] == "written"
    assert json.loads(copy.read_text())["cells"][0]["source"] != "edited"


def test_lab_folder_is_ignored_by_git():
    done = subprocess.run(["git", "check-ignore", "-q", str(lab.LAB_DIR / "01_gram_induced_kernel.ipynb")], cwd=ROOT)
    assert done.returncode == 0, "book/_lab/ must be ignored by git (.gitignore)"


def test_lab_command_loads_the_project_extension():
    command = lab.lab_command(Path("/x"), ["--no-browser"])
    assert command[0] == str(Path(sys.executable).with_name("jupyter")) and command[1] == "lab"
    assert f"--LabApp.extra_labextensions_path={lab.EXTENSIONS}" in command and command[-1] == "--no-browser"
    assert "--ServerApp.root_dir=/x" in command
