"""The chapters' knobs are declared once (`ntkbook.spec.knob`): every registered spec declares every knob, each
chapter's parameters cell lists exactly those knobs with the declared doc as its comment, and the inputs papermill
and the command line hand over are coerced or refused, naming the knob, before anything is computed."""

import ast
import json
from pathlib import Path

import pytest

from ntkbook.__main__ import main
from ntkbook.notebook import Parameters
from ntkbook.sweeps import SWEEPS

BOOK = Path(__file__).resolve().parents[1] / "book"


def parameters_cell(document: str) -> dict[str, str]:
    """{knob: its comment} of the `parameters` cell of book/<document>.ipynb (the `profile` line left out)."""
    nb = json.loads((BOOK / f"{document}.ipynb").read_text())
    cells = [c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", [])]
    assert len(cells) == 1, f"{document}: expected one parameters cell"
    source = "".join(cells[0]["source"])
    out = {}
    for node in ast.parse(source).body:
        assert isinstance(node, ast.Assign), f"{document}: the parameters cell holds assignments only"
        name = node.targets[0].id
        if name == "profile":
            continue
        line = source.splitlines()[node.lineno - 1]
        assert isinstance(node.value, ast.Constant) and node.value.value is None, f"{document}: {name} is not None"
        out[name] = line.partition("#")[2].strip()
    return out


@pytest.mark.parametrize("name", list(SWEEPS))
def test_parameters_cell_matches_the_declaration(name):
    entry = SWEEPS[name]
    declared = entry.spec_class.declarations()  # TypeError if a knob was not declared with knob(...)
    cell = parameters_cell(entry.document)
    assert list(cell) == list(declared), f"{entry.document}: parameters cell and {entry.spec_class.__name__} differ"
    for knob_name, comment in cell.items():
        assert comment == declared[knob_name].doc, f"{entry.document}: comment of {knob_name} != its declared doc"


def papermill_namespace(**injected) -> tuple[dict, frozenset]:
    """A notebook namespace after papermill injected `injected` below the parameters cell (knobs default None)."""
    before = Parameters.snapshot({})
    return {"profile": "quick", **injected}, before


def spec_of(sweep: str, **injected):
    namespace, before = papermill_namespace(**injected)
    return Parameters.check(namespace, before, SWEEPS[sweep].spec_class)


def test_papermill_inputs_of_the_issue_are_coerced():
    assert spec_of("malleability", seeds=0).seeds == (0,)          # -p seeds 0
    assert spec_of("malleability", seeds="0,1").seeds == (0, 1)    # -p seeds 0,1
    assert spec_of("dual", datasets="mnist").datasets == ("mnist",)  # -p datasets mnist
    assert spec_of("ntk-distance", widths="[16, 64]").widths == (16, 64)
    assert spec_of("dual", eps=0.5).eps == 0.5


@pytest.mark.parametrize(("sweep", "injected", "message"), [
    ("dual", {"seeds": 0}, "seeds must be a tuple of integers >= 0 (at least 2), got (0,)"),
    ("malleability", {"eps": "abc"}, "eps must be a number > 0, got 'abc'"),
    ("dual", {"epochs": 2.5}, "epochs must be an integer >= 1, got 2.5 (not an integer)"),
    ("dual", {"datasets": "svhn"}, "datasets must be a tuple of values among ('mnist', 'cifar10', 'digits')"),
    ("ntk-distance", {"learning_rate": float("inf")}, "learning_rate must be a number > 0, got inf"),
    ("gram-kernel", {"temperatures": "1,nan"}, "temperatures must be a tuple of numbers > 0 (at least 2), got nan"),
])
def test_papermill_inputs_of_the_issue_are_refused_naming_the_knob(sweep, injected, message):
    with pytest.raises(ValueError) as info:
        spec_of(sweep, **injected)
    assert str(info.value).startswith(message)


def test_cli_refuses_non_finite_and_non_integer_values_before_computing(capsys, tmp_path):
    for assignment, message in (("learning_rate=inf", "learning_rate must be a number > 0, got inf"),
                                ("epochs=2.5", "epochs must be an integer >= 1, got 2.5"),
                                ("eps=abc", "eps must be a number > 0, got 'abc'")):
        with pytest.raises(SystemExit) as info:
            main(["sweep", "malleability", "--profile", "quick", "--cache-dir", str(tmp_path), "--set", assignment])
        assert info.value.code == 2
        assert message in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # nothing computed, nothing stored


def test_cli_help_of_a_sweep_lists_its_declared_knobs(capsys):
    assert main(["sweep", "dual", "--help"]) == 0
    out = capsys.readouterr().out
    for knob_name, declared in SWEEPS["dual"].spec_class.declarations().items():
        assert knob_name in out and declared.allowed() in out


@pytest.mark.slow
@pytest.mark.parametrize(("document", "knob_name", "value", "message"), [
    ("05_dual_implication", "epochs", "2.5", "epochs must be an integer >= 1, got 2.5 (not an integer)"),
    ("04_influence_malleability", "eps", "abc", "eps must be a number > 0, got 'abc'"),
])
def test_a_chapter_run_by_papermill_stops_at_its_parameters_naming_the_knob(document, knob_name, value, message,
                                                                           tmp_path):
    import os
    import subprocess
    import sys

    out = tmp_path / f"{document}.ipynb"
    done = subprocess.run([sys.executable, "-m", "papermill", str(BOOK / f"{document}.ipynb"), str(out), "-k",
                           "python3", "--cwd", str(BOOK), "--no-progress-bar", "-p", "profile", "quick",
                           "-p", knob_name, value], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "NTKBOOK_PROGRESS": "0", "NTKBOOK_CACHE": str(tmp_path / "cache")})
    assert done.returncode != 0 and message in done.stderr
    assert not (tmp_path / "cache" / "results").exists()  # stopped before any unit was computed or stored


def test_the_verdict_tests_page_declares_its_knobs_like_the_chapters():
    """The page "How the verdicts are tested" has a spec too: its knobs are declared and its parameters cell says
    what the declaration says (a knob added without `knob(...)` would stop the page at its first cell)."""
    from ntkbook.report.verdict_tests import VerdictTestsSpec

    declared = VerdictTestsSpec.declarations()
    cell = parameters_cell("verdict_tests")
    assert list(cell) == list(declared)
    assert all(comment == declared[name].doc for name, comment in cell.items())
    with pytest.raises(ValueError, match="sims must be"):
        VerdictTestsSpec.resolve("quick", sims=10)
