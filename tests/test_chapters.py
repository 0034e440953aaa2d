"""Every chapter re-executes under papermill with its quick profile, as a reader re-running it would."""

import os
from pathlib import Path

import pytest

BOOK = Path(__file__).resolve().parents[1] / "book"
CHAPTERS = sorted(BOOK.glob("*.ipynb"))


@pytest.mark.slow
@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_runs_with_quick_profile(path, tmp_path, monkeypatch, request):
    """The numbered chapters read real data: without NTKBOOK_DATA they skip like the other real-data tests (and fail
    where CI requires the data). The overview pages run without it (the claims page then lists "not run")."""
    if path.stem[:1].isdigit():
        request.getfixturevalue("real_data_dir")
    monkeypatch.setenv("NTKBOOK_PROGRESS", "0")  # the kernel inherits it: no progress bars in outputs
    papermill = pytest.importorskip("papermill")
    papermill.execute_notebook(
        str(path),
        str(tmp_path / path.name),
        parameters={"profile": "quick"},
        cwd=str(BOOK),
        kernel_name="python3",
        progress_bar=False,
        request_save_on_cell_execute=False,
    )


def _papermill_cli(path: Path, out: Path, *params: str):
    import subprocess
    import sys

    args = [sys.executable, "-m", "papermill", str(path), str(out), "-k", "python3", "--cwd", str(BOOK),
            "--no-progress-bar", "-p", "profile", "quick"]
    for i in range(0, len(params), 2):
        args += ["-p", params[i], params[i + 1]]
    return subprocess.run(args, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "NTKBOOK_PROGRESS": "0"})


@pytest.mark.slow
@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_refuses_an_unknown_parameter(path, tmp_path):
    """`papermill ... -p no_such_knob 3` stops the chapter at its parameter check (before any computation), exits
    non-zero and names the valid parameters."""
    done = _papermill_cli(path, tmp_path / path.name, "no_such_knob", "3")
    assert done.returncode != 0, f"{path.name} accepted an unknown parameter"
    assert "unknown parameter 'no_such_knob'" in done.stderr and "Valid parameters of this chapter: " in done.stderr
    assert "profile" in done.stderr.rsplit("Valid parameters of this chapter: ", 1)[1]


@pytest.mark.slow
def test_chapter_1_refuses_a_misspelled_and_a_negative_size(tmp_path):
    path = BOOK / "01_gram_induced_kernel.ipynb"
    typo = _papermill_cli(path, tmp_path / "typo.ipynb", "n_theorm", "150")
    assert typo.returncode != 0 and "did you mean 'n_theorem'?" in typo.stderr
    negative = _papermill_cli(path, tmp_path / "negative.ipynb", "n_theorem", "-5")
    assert negative.returncode != 0 and "n_theorem must be" in negative.stderr and "got -5" in negative.stderr
