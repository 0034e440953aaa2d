"""Tiny Jupyter Books written into a temporary folder, to show that the book checks catch what they claim to.

`write_tiny_book(root)` writes a book with the project's own extensions (offline assets, build environment) and
four pages: `intro.md` (math), `environment.md` (the build-environment tables), `good.ipynb` (a chapter that
keeps the chapter contract and the pattern of `ntkbook.notebook`: checked parameters, a figure shown with
`show` + `glue:figure`, a table wider than the column made by `table`, "Paper vs this book" with a status badge
and the claims page's tables of made-up verdicts, opened by their verdict box; executed by the build) and `bad.ipynb` (stored outputs, not executed: a traceback, a broken image, a dangling
link, raw `$...$`, a numpy repr in the prose, a console error, an external load, a figure with 6 pt text shown
at half size, a table wider than the column outside any scroll box, and none of the contract). The book's
stylesheet (book/_static/ntkbook.css) is copied in. `write_failing_book(root)`
writes a book whose only chapter raises, to show the build fails.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
from nbformat import v4

ROOT = Path(__file__).resolve().parents[2]
EXT_DIR = ROOT / "book" / "_ext"
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def _config(execute_excludes: list[str]) -> str:
    return f"""title: tiny book
author: tests
only_build_toc_files: true
execute:
  execute_notebooks: cache
  timeout: 120
  allow_errors: false
  exclude_patterns: {json.dumps(execute_excludes)}
parse:
  myst_enable_extensions: [amsmath, dollarmath, colon_fence]
html:
  use_download_button: true
launch_buttons:
  notebook_interface: jupyterlab
  binderhub_url: ""
  colab_url: ""
  thebe: false
sphinx:
  local_extensions:
    offline_assets: {EXT_DIR}
    build_environment: {EXT_DIR}
  config:
    html_context:
      default_mode: light
    nb_execution_raise_on_error: true
    nb_execution_show_tb: true
    numfig: true
    mathjax_path: mathjax/tex-mml-chtml.js
    ntkbook_requirements: {ROOT / "requirements.txt"}
"""


def _notebook(cells) -> nbformat.NotebookNode:
    nb = v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = KERNELSPEC
    nb.metadata["language_info"] = {"name": "python"}
    return nb


WIDE_FRAME = ("pd.DataFrame({f'$m = {2 ** k}$ accuracy (%)': [90.0 + k, 91.5] for k in range(4, 15)} | "
              "{'trend': ['holds', 'does not hold'], 'why': ['slope CI above 0', 'slope CI covers 0']})")

#: made-up verdicts for the good chapter: paper claims with parts and variants (long statements, math), and one
#: result beyond the paper; their box opens the chapter, their table is its "Paper vs this book"
VERDICTS = r"""from ntkbook.claims import Verdict
from ntkbook.report import claims as claims_report
_long = (r"Influence flip rates of MLP-Attn are 6 to 9 times those of 2L-ReLU on the 10-class tasks "
         r"($\varepsilon = 0.3$), a statement long enough to wrap over several lines of a phone's column")
verdicts = [Verdict(claim, text, status, paper, ours, interval, "a rule in words", "quick", {"n": 10}, "", "good",
                    beyond)
            for claim, text, status, paper, ours, interval, beyond in [
    ("thm4.1.identity", r"$K = G^3$", "holds", "exact identity", 3.1e-16, None, False),
    ("kappa.mnist", r"$\kappa(G) \approx 1.2\times10^3$ on MNIST", "does not hold", 1200.0, 2.5e20, (1e20, 1e21), False),
    ("kappa.cifar10", r"$\kappa(G) \approx 8.7\times10^3$ on CIFAR-10", "holds", 8700.0, 9000.0, (8000.0, 9900.0), False),
    ("table2.ratio.mnist.grid", _long, "partly", "6–9×", 2.9, (0.8, 12.0), False),
    ("table2.ratio.mnist.literal", _long, "does not hold", "6–9×", 1.1, (0.9, 1.3), False),
    ("table2.ratio.cifar10.grid", _long, "not run", "6–9×", None, None, False),
    ("poisoning.easier.mnist.0.1", "MLP-Attn is easier to poison", "not resolved", None, 0.1, (-0.2, 0.4), True)]]
claims_report.glue_verdicts(verdicts)"""

GOOD_CELLS = [
    v4.new_markdown_cell("# A good chapter\n\nThe claim: $\\kappa(G^3) = \\kappa(G)^3$."),
    v4.new_markdown_cell("```{glue} verdict_box\n```"),
    v4.new_code_cell(VERDICTS, metadata={"tags": ["remove-cell"]}),
    v4.new_markdown_cell(
        "```{note}\nTo re-run this chapter, open it in JupyterLab (`.venv/bin/jupyter lab book/`), edit the "
        "parameters cell, or run `papermill book/good.ipynb out.ipynb -p profile paper`.\n```"),
    # the pattern of ntkbook.notebook: snapshot (remove-cell), parameters, check (remove-cell)
    v4.new_code_cell("from ntkbook.notebook import Parameters\n_before = Parameters.snapshot(globals())",
                     metadata={"tags": ["remove-cell"]}),
    v4.new_code_cell('profile = "default"\nscale = 1.0', metadata={"tags": ["parameters"]}),
    v4.new_code_cell("params = Parameters.check(globals(), _before, ['profile', 'scale'])",
                     metadata={"tags": ["remove-cell"]}),
    v4.new_code_cell(
        "import matplotlib.pyplot as plt\nimport pandas as pd\n"
        "import ntkbook.plotting\nfrom ntkbook.notebook import show, table, values\n"
        "fig, ax = plt.subplots(figsize=(ntkbook.plotting.COLUMN_INCHES, 2.5))\n"
        "ax.plot([1, 2, 3], [1, 8, 27])\nax.set_xlabel('$\\\\kappa(G)$')\nax.set_ylabel('$\\\\kappa(G^3)$')\n"
        "show('fig_cube', fig)\nvalues(ratio=27.0)", metadata={"tags": ["remove-output", "hide-input"]}),
    v4.new_markdown_cell(
        "```{glue:figure} fig_cube\n:name: fig-cube\n\nThe cube of a condition number.\n```\n\n"
        "As {numref}`fig-cube` shows, the ratio reaches {glue:text}`ratio:.3g`, and\n\n"
        "$$\n\\kappa(G^3) = \\lambda_1^3/\\lambda_n^3.\n$$"),
    v4.new_markdown_cell("A table wider than the column scrolls in its own box:"),
    v4.new_code_cell(f"table({WIDE_FRAME}, details='why')", metadata={"tags": ["remove-input"]}),
    v4.new_markdown_cell("## Paper vs this book"),
    v4.new_code_cell("table(pd.DataFrame({'quantity': ['$\\\\kappa^3$'], 'paper': [27.0], 'this book': [27.0], "
                     "'status': ['holds']}))", metadata={"tags": ["remove-input"]}),
    v4.new_code_cell("claims_report.paper_claims_table(verdicts)", metadata={"tags": ["remove-input"]}),
    v4.new_code_cell("claims_report.claims_table(claims_report.own_results(verdicts, claims_report.claim_rows(verdicts)))",
                     metadata={"tags": ["remove-input"]}),
]


def _tiny_text_png() -> str:
    """A PNG (base64) made like the book's figures, but wide with 6 pt text: too small once scaled down."""
    import base64

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ntkbook.notebook import figure_png

    fig, ax = plt.subplots(figsize=(12, 2), dpi=110)
    ax.plot([0, 1], [0, 1])
    ax.set_xlabel("tiny text", fontsize=6)
    ax.tick_params(labelsize=6)
    png = figure_png(fig)
    plt.close(fig)
    return base64.b64encode(png).decode()


def _bad_cells():
    error = v4.new_output("error", ename="ValueError", evalue="deliberately broken",
                          traceback=["Traceback (most recent call last)", "ValueError: deliberately broken"])
    broken = v4.new_code_cell("raise ValueError('deliberately broken')", outputs=[error], execution_count=1)
    return [
        v4.new_markdown_cell("# A broken chapter\n\nMath that typesets: $x^2$."),
        v4.new_code_cell('profile = "default"', metadata={"tags": ["parameters"]}),
        broken,
        v4.new_code_cell("show('fig_tiny', tiny_text_figure)", execution_count=2, outputs=[v4.new_output(
            "display_data", data={"image/png": _tiny_text_png(), "text/plain": "<Figure>"})]),
        v4.new_markdown_cell(
            '<table style="width: 1400px"><tr><th>a table wider than the column, in no scroll box</th></tr>'
            "</table>"),
        v4.new_markdown_cell(
            "<p>Raw math left as text: $\\alpha + \\beta$. A leaked repr: np.float64(0.99).</p>\n\n"
            '<img src="_static/no-such-figure.png" alt="broken image">\n\n'
            '<img src="http://127.0.0.1:9/offline-check.png" alt="an external load">\n\n'
            '<a href="good.html#no-such-anchor">a dangling anchor</a> and '
            '<a href="no-such-page.html">a missing page</a>\n\n'
            '<script>console.error("deliberate console error")</script>'),
    ]


def write_tiny_book(root: Path) -> Path:
    """Write the tiny good/bad book into `root` (created); returns `root`."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "_config.yml").write_text(_config(["bad.ipynb"]))
    (root / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: good\n  - file: bad\n"
                                   "  - file: environment\n  - file: claims\n")
    (root / "claims.md").write_text("# Claims at a glance\n\nWhere the verdict boxes link to.\n")
    (root / "environment.md").write_text("# Environment\n\n```{build-environment} machine\n```\n\n"
                                         "```{build-environment} packages\n```\n\n```{nb-exec-table}\n```\n")
    (root / "intro.md").write_text("# Tiny book\n\nInline $a^2 + b^2 = c^2$ and display\n\n$$\n\\sum_i x_i\n$$\n\n"
                                   "```{tableofcontents}\n```\n")
    (root / "_static").mkdir(exist_ok=True)
    shutil.copy(ROOT / "book" / "_static" / "ntkbook.css", root / "_static" / "ntkbook.css")
    nbformat.write(_notebook(GOOD_CELLS), root / "good.ipynb")
    nbformat.write(_notebook(_bad_cells()), root / "bad.ipynb")
    return root


def write_failing_book(root: Path) -> Path:
    """Write a one-chapter book whose chapter raises when executed; returns `root`."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "_config.yml").write_text(_config([]))
    (root / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: fails\n")
    (root / "intro.md").write_text("# Failing book\n")
    cells = [v4.new_markdown_cell("# Fails"), v4.new_code_cell("raise RuntimeError('a failing cell')")]
    nbformat.write(_notebook(cells), root / "fails.ipynb")
    return root


def build(root: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run `jupyter-book build <root>` (the venv's, beside this Python) and return the finished process."""
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    return subprocess.run([str(jupyter_book), "build", str(root)], capture_output=True, text=True,
                          timeout=timeout)
