"""Every chapter re-executes under papermill with its quick profile, as a reader re-running it would."""

import os
from pathlib import Path

import pytest

BOOK = Path(__file__).resolve().parents[1] / "book"
CHAPTERS = sorted(BOOK.glob("*.ipynb"))


@pytest.mark.slow
@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_runs_with_quick_profile(path, tmp_path, monkeypatch):
    monkeypatch.setenv("NTKBOOK_PROGRESS", "0")  # the kernel inherits it: no progress bars in outputs
    papermill = pytest.importorskip("papermill")
    if not os.environ.get("NTKBOOK_DATA") and os.environ.get("NTKBOOK_REQUIRE_REAL_DATA"):
        pytest.fail("NTKBOOK_DATA must be set where real data is required")
    papermill.execute_notebook(
        str(path),
        str(tmp_path / path.name),
        parameters={"profile": "quick"},
        cwd=str(BOOK),
        kernel_name="python3",
        progress_bar=False,
        request_save_on_cell_execute=False,
    )
