"""What the README and the book tell a reader to run agrees with the code: recorded timings, one papermill form."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")

#: the README's chapter rows, in book order, and the spec whose MEASURED_SECONDS each quotes
SPECS = ("gram_kernel.GramKernelSpec", "spectral.SpectralSpec", "ntk_distance.NtkDistanceSpec",
         "malleability.MalleabilitySpec", "dual.DualSpec")
_ROW = re.compile(r"^\| (\d) [^|]+\| (\d+) s \| (\d+) s \|$", re.MULTILINE)
#: the one papermill form: the chapter, an output of the same name in /tmp, parameters, run from book/ as the build
PAPERMILL = re.compile(r"\.venv/bin/papermill book/([\w-]+)\.ipynb /tmp/\1\.ipynb(?: -p \w+ [\w.,\"-]+)+ --cwd book")


def test_readme_timings_are_the_recorded_seconds():
    import importlib

    rows = _ROW.findall(README)
    assert [int(n) for n, _, _ in rows] == [1, 2, 3, 4, 5], "the README's timing table must list chapters 1-5"
    for (n, quick, default), name in zip(rows, SPECS, strict=True):
        module, cls = name.rsplit(".", 1)
        recorded = getattr(importlib.import_module(f"ntkbook.experiments.{module}"), cls).MEASURED_SECONDS
        assert (int(quick), int(default)) == (round(recorded["quick"]), round(recorded["default"])), (
            f"chapter {n}: README says {quick} s / {default} s, {name}.MEASURED_SECONDS {recorded}")
    total = sum(int(d) for _, _, d in rows)
    stated = re.search(r"about (\d+) minutes", README)
    assert stated and abs(int(stated.group(1)) - total / 60) <= 1, f"the cold total must be about {total / 60:.0f} min"


def _texts():
    yield "README.md", README
    for path in sorted((ROOT / "book").glob("*.md")):
        yield path.name, path.read_text(encoding="utf-8")
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        yield path.name, "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")


@pytest.mark.parametrize("name, text", list(_texts()), ids=lambda x: x if len(x) < 40 else "")
def test_one_papermill_form_and_no_lab_on_the_tracked_chapters(name, text):
    for line in re.findall(r"[^\n`]*papermill book/[^\n`]*", text):
        command = line.split("#")[0].strip()
        assert PAPERMILL.fullmatch(command), f"{name}: {command!r} is not the book's papermill form"
    assert not re.search(r"jupyter lab\b[^\n`]*book/", text), f"{name}: opens JupyterLab on book/ (use `make lab`)"


def test_the_forms_the_test_accepts_and_refuses():
    ok = ".venv/bin/papermill book/03_ntk_distance.ipynb /tmp/03_ntk_distance.ipynb -p profile paper --cwd book"
    assert PAPERMILL.fullmatch(ok)
    assert not PAPERMILL.fullmatch(ok.replace(" --cwd book", ""))
    assert not PAPERMILL.fullmatch(ok.replace("/tmp/03_ntk_distance.ipynb", "out.ipynb"))
