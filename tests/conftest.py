"""Shared fixtures. Tests on the real data run whenever NTKBOOK_DATA is set; CI sets
NTKBOOK_REQUIRE_REAL_DATA=1 so that a missing data folder fails instead of skipping."""

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """The offline data folder named by NTKBOOK_DATA (skip without it, fail if CI requires it)."""
    root = os.environ.get("NTKBOOK_DATA")
    required = bool(os.environ.get("NTKBOOK_REQUIRE_REAL_DATA"))
    if not root:
        if required:
            pytest.fail("NTKBOOK_REQUIRE_REAL_DATA is set but NTKBOOK_DATA is not")
        pytest.skip("set NTKBOOK_DATA to a folder with mnist/ and cifar10/ to run the real-data tests")
    path = Path(root)
    if not path.is_dir():
        pytest.fail(f"NTKBOOK_DATA={root} is not a folder")
    return path
