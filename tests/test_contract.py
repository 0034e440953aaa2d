"""Every chapter speaks one contract, found through one registry (`ntkbook.sweeps.SWEEPS`): compute `units(spec)`
and `results(spec, *, cache_dir=...)`, report `verdicts(spec, results)`, `numbers(spec, results)` and
`claim_verdicts(profile)`; the command line and the claims page read the same registry; the report layer never
runs a sweep nor reaches into compute's private names; no chapter's compute imports another chapter's."""

import ast
import inspect
from pathlib import Path

import pandas as pd
import pytest

import ntkbook
from ntkbook import runner
from ntkbook.claims import Verdict
from ntkbook.report import claims as claims_report
from ntkbook.result_tables import ResultTables
from ntkbook.spec import Spec
from ntkbook.sweeps import SWEEPS

PACKAGE = Path(ntkbook.__file__).resolve().parent
BOOK = PACKAGE.parents[1] / "book"
CHAPTER_MODULES = {entry.module for entry in SWEEPS.values()}


def test_the_claims_page_and_the_registry_list_the_same_chapters():
    assert [(d, m) for d, m, _ in claims_report.CHAPTERS] == [
        (e.document, e.report.rpartition(".")[2]) for e in SWEEPS.values()]


@pytest.mark.parametrize("name", list(SWEEPS))
def test_entry_speaks_the_contract(name):
    entry = SWEEPS[name]
    assert (BOOK / f"{entry.document}.ipynb").is_file(), entry.document
    compute, report = entry.load(), entry.load_report()
    spec_class = entry.spec_class
    assert issubclass(spec_class, Spec) and spec_class.declarations()  # every knob declared once
    assert "cache_dir" in inspect.signature(compute.results).parameters
    for name in ("verdicts", "numbers"):  # one pair, one signature, in every chapter's report
        assert list(inspect.signature(getattr(report, name)).parameters) == ["spec", "results"], (name, entry.report)
    assert callable(report.claim_verdicts)
    units = entry.units(entry.resolve("quick"))
    assert units and all(isinstance(u, runner.Unit) for u in units)
    assert len({u.key for u in units}) == len(units)


def _calls_and_imports(path: Path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            yield "call", f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", ""), ast.unparse(f)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            yield "attribute", node.value.id, node.attr
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield "import", node.module, [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for a in node.names:
                yield "import", a.name, []


def _compute_aliases(path: Path) -> set[str]:
    """Local names under which `path` imports a chapter's compute module."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == "ntkbook.experiments":
            out |= {a.asname or a.name for a in node.names}
        elif isinstance(node, ast.Import):
            out |= {a.asname for a in node.names if a.name in CHAPTER_MODULES and a.asname}
    return out


@pytest.mark.parametrize("path", sorted((PACKAGE / "report").glob("*.py")), ids=lambda p: p.name)
def test_report_modules_run_no_sweep_and_use_no_private_compute_name(path):
    aliases = _compute_aliases(path)
    for kind, a, b in _calls_and_imports(path):
        if kind == "call":
            assert a != "sweep" and b != "runner.run", f"{path.name} calls {b}(...)"
        elif kind == "attribute" and a in aliases:
            assert not b.startswith("_"), f"{path.name} uses {a}.{b}, a private name of a compute module"
        elif kind == "import" and a in CHAPTER_MODULES:
            assert not any(n.startswith("_") for n in b), f"{path.name} imports private names of {a}"


@pytest.mark.parametrize("module", sorted(CHAPTER_MODULES))
def test_no_chapter_compute_imports_another_chapter(module):
    path = PACKAGE.joinpath(*module.split(".")[1:]).with_suffix(".py")
    others = CHAPTER_MODULES - {module}
    for kind, a, b in _calls_and_imports(path):
        if kind == "import":
            imported = {a} | {f"{a}.{n}" for n in b}
            assert not imported & others, f"{module} imports {imported & others}"


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SWEEPS))
def test_every_chapter_runs_through_the_same_calls_at_quick(name, tmp_path, monkeypatch, real_data_dir):
    entry = SWEEPS[name]
    spec = entry.resolve("quick")
    res = entry.load().results(spec, cache_dir=tmp_path)
    assert isinstance(res, ResultTables) and len(res) and all(isinstance(f, pd.DataFrame) for f in res.values())
    with pytest.raises(TypeError):
        res["extra"] = next(iter(res.values()))  # read-only: the compute layer decides a chapter's tables
    report = entry.load_report()
    verdicts = report.claim_verdicts("quick", cache_dir=tmp_path)
    assert verdicts and all(isinstance(v, Verdict) for v in verdicts)
    assert {v.chapter for v in verdicts} and all(v.profile == "quick" for v in verdicts)
    assert [v.claim for v in report.verdicts(spec, res)] == [v.claim for v in verdicts]  # one path to a verdict
    glued = report.numbers(spec, res)
    assert glued and all(isinstance(k, str) for k in glued)


#: the longest a compute or report module may grow before it is split (one concept per module)
MAX_MODULE_LINES = 500


@pytest.mark.parametrize("folder", ["experiments", "report"])
def test_no_compute_or_report_module_grows_past_the_limit(folder):
    long = {p.name: n for p in sorted((PACKAGE / folder).glob("*.py"))
            if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert not long, f"split these {folder}/ modules (over {MAX_MODULE_LINES} lines): {long}"
