"""ntkbook.paper: the paper's numbers are internally consistent and in the shapes the chapters read."""

import math

import pytest

from ntkbook import models, paper


def test_table1_shape_and_labels():
    t = paper.TABLE1
    assert list(t.columns) == ["model", "dataset", "m=16", "m=1024", "m=4096", "trend"]
    assert set(t.model) == set(models.MODEL_LABELS.values())
    assert set(t.dataset) == {"mnist", "cifar10"}
    assert len(t) == 4 and t.groupby(["model", "dataset"]).size().max() == 1
    assert paper.TABLE1_WIDTHS == (16, 1024, 4096)


def test_tables_2_to_4_cover_both_models_for_each_task():
    for table, tasks in ((paper.TABLE2, {"mnist", "cifar10"}), (paper.TABLE3, {"mnist-3v8", "cifar10-auto-air"}),
                         (paper.TABLE4, {"mnist", "cifar10"})):
        assert {k for k, _ in table} == tasks
        assert {a for _, a in table} == set(models.MODEL_LABELS)
    assert set(paper.RATIO_CLAIMS) == {"mnist", "cifar10", "mnist-3v8", "cifar10-auto-air"}
    assert all(lo < hi for lo, hi in paper.RATIO_CLAIMS.values())


def test_table4_standard_column_repeats_table2_pgd():
    # the paper's Table 4 "standard" column is Table 2's PGD column: a typo in either would break this
    for (task, arch), cols in paper.TABLE4.items():
        assert cols["standard"] == paper.TABLE2[(task, arch)]["pgd"]


def test_headline_ratios_are_table2_quotients():
    for (task, attack), ratio in paper.HEADLINE_RATIOS.items():
        q = paper.TABLE2[(task, "attn")][attack] / paper.TABLE2[(task, "relu")][attack]
        assert q == pytest.approx(ratio, abs=0.05 + 0.05 * ratio / 3)  # the table's one-decimal rounding


def test_thresholds_follow_from_kappa():
    for name, kappa in paper.KAPPA.items():
        # v1: kappa^6 rounded to a decade; v2: kappa^6 n ln n within a decade of the stated 10^24 / 10^29
        assert abs(math.log10(kappa**6) - math.log10(paper.THRESHOLDS_V1[name])) < 1
        v2 = kappa**6 * paper.N_FULL[name] * math.log(paper.N_FULL[name])
        assert abs(math.log10(v2) - math.log10(paper.THRESHOLDS_V2[name])) < 1


def test_table_frame_and_statements():
    f = paper.table_frame("table2")
    assert len(f) == 12 and set(f.columns) == {"task", "arch", "column", "value"}
    with pytest.raises(ValueError, match="table2"):
        paper.table_frame("table9")
    assert paper.statement("thm4.1").source.startswith("v1 Theorem 4.1")
    with pytest.raises(ValueError, match="known"):
        paper.statement("nope")


DISTINCTIVE = {45.1, 246.2, 101.7, 34.6, 28.9, 26.4, 43.4, 38.6, 42.2, 36.5, 41.0, 40.5, 25.9, 1.2e3, 8.7e3}


def _paper_numbers_in(source: str) -> list[tuple[int, str]]:
    """(line, literal) of every float literal of `source` equal to one of the paper's distinctive numbers
    (code only: comments and strings are other tokens). The paper states each of them with a decimal point or an
    exponent (percentages to one decimal, 1.2e3); an integer literal in code is a count (41 grid points), not one
    of them."""
    import ast
    import io
    import tokenize

    out = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.NUMBER:
            value = ast.literal_eval(tok.string)  # 0x08, 1_000, 2j, 1.2e3 alike
            if isinstance(value, float) and value in DISTINCTIVE:
                out.append((tok.start[0], tok.string))
    return out


def test_paper_number_scanner():
    assert _paper_numbers_in("x = 45.1  # 34.6\ny = '28.9'\nz = 1.2e3 + 0x08 + 2j\n") == [(1, "45.1"), (3, "1.2e3")]
    assert _paper_numbers_in("grid = 41\nrate = 41.0\nlow = 41.\n") == [(2, "41.0"), (3, "41.")]


def test_no_other_module_holds_a_paper_number():
    """The paper's distinctive numbers appear as numeric literals in ntkbook.paper only."""
    from pathlib import Path

    package = Path(paper.__file__).parent
    found = [f"{path.relative_to(package)}:{line}: {lit}"
             for path in sorted(package.rglob("*.py")) if path != Path(paper.__file__)
             for line, lit in _paper_numbers_in(path.read_text(encoding="utf-8"))]
    assert not found, "paper numbers outside ntkbook.paper:\n" + "\n".join(found)
    assert _paper_numbers_in(Path(paper.__file__).read_text(encoding="utf-8"))  # and they are there
