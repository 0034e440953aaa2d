"""`ResultTables`, what every chapter's results(spec) returns: a read-only mapping of names to frames."""

import pandas as pd
import pytest

from ntkbook.result_tables import ResultTables


def test_reads_like_a_mapping_and_by_attribute():
    runs = pd.DataFrame({"width": [16, 64]})
    tables = ResultTables({"runs": runs}, collapse=pd.DataFrame())
    assert list(tables) == ["runs", "collapse"] and len(tables) == 2
    assert tables["runs"] is runs and tables.runs is runs
    assert dict(tables) == {"runs": runs, "collapse": tables["collapse"]}
    assert "2 rows" in repr(tables)


def test_cannot_be_changed():
    tables = ResultTables(runs=pd.DataFrame())
    with pytest.raises(TypeError):
        tables["more"] = pd.DataFrame()
    with pytest.raises(AttributeError, match="read-only"):
        tables.runs = pd.DataFrame()
    with pytest.raises(AttributeError):
        del tables.runs


def test_unknown_names_and_bad_values_are_refused_clearly():
    tables = ResultTables(runs=pd.DataFrame())
    with pytest.raises(KeyError, match="tables are \\['runs'\\]"):
        tables["grid"]
    with pytest.raises(AttributeError, match="no result table 'grid'"):
        getattr(tables, "grid")  # noqa: B009  (the attribute form of a missing table)
    with pytest.raises(TypeError, match="must be a pandas DataFrame"):
        ResultTables(runs=[1, 2])
    with pytest.raises(ValueError, match="identifier"):
        ResultTables({"two words": pd.DataFrame()})
