"""ntkbook.notebook: parameter validation (in-process and through papermill), glued figures, readable tables."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from nbformat import v4

from ntkbook.claims import STATUSES
from ntkbook.notebook import STATUS_COLOURS, Parameters, Table, badge, plain, table, text_html
from ntkbook.spec import Spec, knob, require


@dataclasses.dataclass(frozen=True)
class TinySpec(Spec):
    n: int = knob(10, type=int, doc="points")
    seed: int = knob(0, type=int, doc="seed")
    PROFILES = {"quick": {"n": 4}, "default": {}}

    def check(self):
        require(isinstance(self.n, int) and self.n > 0, "n", "a positive integer", self.n)


# ---- Parameters, in-process ------------------------------------------------------------------------------


def _namespace_after(params: dict, before_extra: dict | None = None):
    """A notebook namespace before and after its parameters cell (IPython's history names included)."""
    ns = {"In": [], "Out": {}, "_": None, "_i1": "x", "get_ipython": print, "np": np, **(before_extra or {})}
    before = Parameters.snapshot(ns)
    ns.update(params)
    ns.update({"_i2": "profile = 'default'", "_2": None})
    return ns, before


def test_check_resolves_the_spec_and_none_keeps_the_profile_value():
    ns, before = _namespace_after({"profile": "quick", "n": None, "seed": 3})
    spec = Parameters.check(ns, before, TinySpec)
    assert spec == TinySpec(profile="quick", n=4, seed=3)
    ns, before = _namespace_after({"profile": "default", "n": 7, "seed": 0})
    assert Parameters.check(ns, before, TinySpec).n == 7


def test_book_profile_replaces_only_the_cells_default(monkeypatch):
    """NTKBOOK_PROFILE (what `make book PROFILE=...` sets) renders a chapter at that profile without editing it;
    an explicit profile still wins; a name the chapter lacks is refused naming the variable."""
    monkeypatch.setenv("NTKBOOK_PROFILE", "quick")
    ns, before = _namespace_after({"profile": "default", "n": None, "seed": 0})
    assert Parameters.check(ns, before, TinySpec) == TinySpec(profile="quick", n=4, seed=0)
    monkeypatch.setenv("NTKBOOK_PROFILE", "default")
    assert Parameters.check(ns, before, TinySpec).profile == "default"
    monkeypatch.setenv("NTKBOOK_PROFILE", "paper")
    with pytest.raises(ValueError, match=r"NTKBOOK_PROFILE='paper' is not a profile of this chapter.*'quick'"):
        Parameters.check(ns, before, TinySpec)
    ns, before = _namespace_after({"profile": "quick", "n": None, "seed": 0})
    monkeypatch.setenv("NTKBOOK_PROFILE", "default")
    assert Parameters.check(ns, before, TinySpec).profile == "quick"  # an explicit choice wins
    monkeypatch.delenv("NTKBOOK_PROFILE")
    ns, before = _namespace_after({"profile": "default", "n": None, "seed": 0})
    assert Parameters.check(ns, before, TinySpec).profile == "default"


def _book_config(tmp_path, monkeypatch, section: str) -> Path:
    path = tmp_path / "_config.yml"
    path.write_text("title: t\n" + section)
    monkeypatch.setenv("NTKBOOK_BOOK_CONFIG", str(path))
    monkeypatch.delenv("NTKBOOK_PROFILE", raising=False)
    return path


def test_book_profile_reads_the_configured_profile_of_each_chapter(tmp_path, monkeypatch):
    """The book's _config.yml names each chapter's profile (by sweep name, with a default); NTKBOOK_PROFILE
    (`make book PROFILE=...`) overrides it for every chapter; an explicit profile in the cell wins over both."""
    from ntkbook.experiments.gram_kernel import GramKernelSpec
    from ntkbook.experiments.spectral import SpectralSpec
    from ntkbook.notebook import book_profile, configured_profiles

    _book_config(tmp_path, monkeypatch, "ntkbook:\n  profile:\n    default: default\n"
                                        "    chapters:\n      gram-kernel: quick\n")
    assert configured_profiles() == ("default", {"gram-kernel": "quick"})
    assert book_profile("default", GramKernelSpec) == "quick"
    assert book_profile("default", SpectralSpec) == "default"
    assert book_profile("paper", GramKernelSpec) == "paper"  # explicit
    monkeypatch.setenv("NTKBOOK_PROFILE", "paper")
    assert book_profile("default", GramKernelSpec) == "paper" == book_profile("default", SpectralSpec)
    monkeypatch.delenv("NTKBOOK_PROFILE")
    _book_config(tmp_path, monkeypatch, "ntkbook:\n  profile:\n    default: quick\n")
    assert book_profile("default", SpectralSpec) == "quick" and book_profile("default", TinySpec) == "quick"
    _book_config(tmp_path, monkeypatch, "execute:\n  timeout: 10\n")  # no key: every chapter at "default"
    assert configured_profiles() == ("default", {}) and book_profile("default", GramKernelSpec) == "default"


def test_a_configured_profile_the_chapter_lacks_is_a_clear_error(tmp_path, monkeypatch):
    from ntkbook.experiments.gram_kernel import GramKernelSpec
    from ntkbook.notebook import book_profile, configured_profiles

    _book_config(tmp_path, monkeypatch, "ntkbook:\n  profile:\n    chapters:\n      gram-kernel: huge\n")
    with pytest.raises(ValueError, match=r"the book's profile 'huge' \(_config.yml: ntkbook.profile.chapters."
                                         r"gram-kernel\) is not a profile of this chapter; choose one of \["):
        book_profile("default", GramKernelSpec)
    _book_config(tmp_path, monkeypatch, "ntkbook:\n  profile:\n    chapters:\n      chapter-9: quick\n")
    with pytest.raises(ValueError, match=r"names \['chapter-9'\], which are not chapters"):
        configured_profiles()
    _book_config(tmp_path, monkeypatch, "ntkbook:\n  profile: quick\n")
    with pytest.raises(ValueError, match="must be a mapping with the keys 'default' and 'chapters'"):
        configured_profiles()


def test_the_books_configured_profiles_exist_and_jupyter_book_accepts_the_key():
    """The repository's _config.yml: its ntkbook.profile key passes Jupyter Book's schema, and every chapter's
    configured profile is one of that chapter's profiles (so a build cannot stop at a chapter's parameters)."""
    import yaml
    from jupyter_book.config import validate_yaml

    from ntkbook.notebook import book_config_path, configured_profiles
    from ntkbook.sweeps import SWEEPS

    path = book_config_path()
    validate_yaml(yaml.safe_load(path.read_text()), raise_on_errors=True)
    default, chapters = configured_profiles(path)
    for name, entry in SWEEPS.items():
        assert chapters.get(name, default) in entry.profiles(), f"{path.name}: {name} has no profile {default!r}"


def test_make_book_passes_its_profile_to_every_chapter_and_rebuilds_on_a_change():
    """`make book PROFILE=quick` runs the build with NTKBOOK_PROFILE=quick and, when the last build had another
    profile, drops the executed-notebook cache so that every chapter runs again (dry run of make)."""
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(["make", "-n", "-W", ".venv/.installed", "book", "PROFILE=quick"], cwd=root,
                         capture_output=True, text=True, check=True).stdout
    assert "NTKBOOK_PROFILE=quick" in out and "jupyter-book build book/" in out
    assert "rm -rf book/_build/.jupyter_cache" in out and 'echo "quick" > book/_build/.profile' in out
    assert "git diff HEAD -- book/" in out and "cmp -s - book/_build/.tracked-before" in out  # notebooks unchanged
    configured = subprocess.run(["make", "-n", "-W", ".venv/.installed", "book"], cwd=root, capture_output=True,
                                text=True, check=True).stdout
    assert "NTKBOOK_PROFILE" not in configured and 'echo "config-' in configured  # _config.yml's profiles
    # the package and the result store are inputs of every page: a change to either re-executes them all
    stamp = re.search(r'echo "(inputs-[0-9a-f]{64})" > book/_build/\.inputs', configured)
    assert stamp and '"$(cat book/_build/.inputs)" != "' + stamp.group(1) + '"' in configured
    assert configured.count("rm -rf book/_build/.jupyter_cache") == 2


def test_check_refuses_an_unknown_name_with_the_valid_names_and_a_hint():
    ns, before = _namespace_after({"profile": "quick", "n": 5, "seed": 0, "nn": 3})
    with pytest.raises(ValueError, match=r"unknown parameter 'nn' \(did you mean 'n'\?\).*profile, n, seed"):
        Parameters.check(ns, before, TinySpec)


def test_check_ignores_names_bound_before_and_modules():
    import math

    ns, before = _namespace_after({"profile": "quick", "math": math, "TinySpec": TinySpec, "f": len},
                                  before_extra={"helper": 1})
    assert Parameters.check(ns, before, TinySpec).n == 4


def test_check_passes_out_of_range_values_to_the_spec():
    ns, before = _namespace_after({"profile": "quick", "n": -5})
    with pytest.raises(ValueError, match="n must be a positive integer, got -5"):
        Parameters.check(ns, before, TinySpec)


def test_check_with_a_list_of_names_and_extra_names():
    ns, before = _namespace_after({"profile": "quick", "width": 3})
    assert Parameters.check(ns, before, ["profile", "width"]) == {"profile": "quick", "width": 3}
    ns, before = _namespace_after({"profile": "quick", "n_heatmap": 30})
    assert Parameters.check(ns, before, TinySpec, extra=["n_heatmap"]).n == 4
    with pytest.raises(ValueError, match="n_heatmap"):
        Parameters.check(ns, before, TinySpec)
    with pytest.raises(TypeError, match="not a Spec class"):
        Parameters.check(ns, before, dict)


# ---- Parameters, through papermill (a tiny notebook written here, so it runs in seconds) -----------------

SPEC_SOURCE = '''\
import dataclasses
from ntkbook.spec import Spec, knob, require

@dataclasses.dataclass(frozen=True)
class TinySpec(Spec):
    n: int = knob(10, type=int, doc="points")
    seed: int = knob(0, type=int, doc="seed")
    PROFILES = {"quick": {"n": 4}, "default": {}}

    def check(self):
        require(isinstance(self.n, int) and self.n > 0, "n", "a positive integer", self.n)
'''


def tiny_notebook(path: Path) -> Path:
    """The pattern of `ntkbook.notebook`'s docstring on a two-knob spec."""
    cells = [
        v4.new_code_cell("from ntkbook.notebook import Parameters\n_before = Parameters.snapshot(globals())",
                         metadata={"tags": ["remove-cell"]}),
        v4.new_code_cell('profile = "default"\nn = None\nseed = 0', metadata={"tags": ["parameters"]}),
        v4.new_code_cell(SPEC_SOURCE + "\nspec = Parameters.check(globals(), _before, TinySpec)",
                         metadata={"tags": ["remove-cell"]}),
        v4.new_code_cell('print("ran with n =", spec.n)'),
    ]
    nb = v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def papermill(source: Path, out: Path, *params: str) -> subprocess.CompletedProcess:
    args = [sys.executable, "-m", "papermill", str(source), str(out), "-k", "python3", "--no-progress-bar"]
    for i in range(0, len(params), 2):
        args += ["-p", params[i], params[i + 1]]
    return subprocess.run(args, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_papermill_runs_valid_parameters_and_stops_on_bad_ones(tmp_path):
    source = tiny_notebook(tmp_path / "tiny.ipynb")
    done = papermill(source, tmp_path / "ok.ipynb", "profile", "quick", "seed", "2")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "ran with n = 4" in (tmp_path / "ok.ipynb").read_text()

    misspelled = papermill(source, tmp_path / "typo.ipynb", "profile", "quick", "nn", "3")
    assert misspelled.returncode != 0
    assert "unknown parameter 'nn'" in misspelled.stderr and "profile, n, seed" in misspelled.stderr

    negative = papermill(source, tmp_path / "neg.ipynb", "n", "-5")
    assert negative.returncode != 0
    assert "n must be a positive integer, got -5" in negative.stderr
    assert not re.search(r"ran with n = -?\d", (tmp_path / "neg.ipynb").read_text())  # stopped before


@pytest.mark.slow
def test_papermill_renders_the_configured_profile_and_leaves_the_notebook_unchanged(tmp_path, monkeypatch):
    """What `make book` relies on: the same notebook, run without a profile parameter, takes the book's configured
    profile, or NTKBOOK_PROFILE's (`make book PROFILE=...`); the notebook's bytes stay as they were."""
    source = tiny_notebook(tmp_path / "tiny.ipynb")
    before = source.read_bytes()
    _book_config(tmp_path, monkeypatch, "ntkbook:\n  profile:\n    default: quick\n")
    done = papermill(source, tmp_path / "configured.ipynb")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "ran with n = 4" in (tmp_path / "configured.ipynb").read_text()
    monkeypatch.setenv("NTKBOOK_PROFILE", "default")
    done = papermill(source, tmp_path / "overridden.ipynb")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "ran with n = 10" in (tmp_path / "overridden.ipynb").read_text()
    assert source.read_bytes() == before


# ---- tables ---------------------------------------------------------------------------------------------


def test_badges_cover_the_status_vocabulary():
    assert set(STATUS_COLOURS) == set(STATUSES)
    for status in STATUSES:
        assert f">{status}</span>" in badge(status)
    with pytest.raises(ValueError, match="status must be one of"):
        badge("agrees")


def test_text_html_escapes_and_turns_dollars_into_mathjax_delimiters():
    assert text_html("$(\\pi - \\theta)/(2\\pi)$ <b>") == r"\((\pi - \theta)/(2\pi)\) &lt;b&gt;"
    assert text_html("$a<b$ costs $5") == r"\(a&lt;b\) costs $5"


def test_table_drops_the_index_typesets_math_and_draws_badges():
    frame = pd.DataFrame({"quantity": ["$\\kappa^3$", "slope"], "ours": [np.float64(27.0), np.nan],
                          "verdict": ["holds", "not resolved"], "note": ["", "the interval covers $0$"]},
                         index=[10, 11])
    shown = table(frame, details="note")
    assert isinstance(shown, Table) and shown.status == ("verdict",)
    page = shown._repr_html_()
    assert page.startswith('<div class="ntk-table-scroll mathjax_process tex2jax_process" style="overflow-x: auto;')
    assert ">10<" not in page and ">11<" not in page           # no index
    assert r"\(\kappa^3\)" in page and "$" not in page           # math for MathJax
    assert "ntk-status-holds" in page and "ntk-status-not-resolved" in page
    assert ">27<" in page and ">–<" in page                      # .3g, NaN as a dash
    assert page.count("<details>") == 1 and r"covers \(0\)" in page
    assert "np.float64" not in page
    assert repr(shown).splitlines()[0].split() == ["quantity", "ours", "verdict", "note"]


def test_table_refuses_bad_input():
    with pytest.raises(TypeError):
        table([1, 2])
    with pytest.raises(ValueError, match="statuses are"):
        table(pd.DataFrame({"status": ["agrees"]}))
    with pytest.raises(ValueError, match="details column"):
        table(pd.DataFrame({"a": [1]}), details="b")


def test_plain_unwraps_numpy_scalars():
    assert type(plain(np.float64(0.5))) is float and type(plain(np.int64(3))) is int
    assert plain(True) is True and plain("x") == "x" and plain(None) is None


# ---- figures --------------------------------------------------------------------------------------------


def test_figure_png_records_the_smallest_text_in_image_pixels():
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    from ntkbook.notebook import TEXT_PX_KEY, figure_png

    fig, ax = plt.subplots(figsize=(3, 2), dpi=100)
    ax.set_xlabel("x", fontsize=14)
    ax.tick_params(labelsize=12)
    ax.set_title("t", fontsize=7.2)
    image = Image.open(io.BytesIO(figure_png(fig)))
    assert float(image.text[TEXT_PX_KEY]) == pytest.approx(7.2 * 100 / 72, abs=1e-3)
    plt.close(fig)


def test_show_glues_a_figure_once_and_closes_it(monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import myst_nb

    from ntkbook import notebook

    calls = []
    monkeypatch.setattr(myst_nb, "glue", lambda name, obj, display=True: calls.append((name, obj, display)))
    fig, _ = plt.subplots()
    notebook.show("fig_x", fig)
    (name, obj, display), = calls
    assert name == "fig_x" and display is True and obj.format == "png" and obj.data[:4] == b"\x89PNG"
    assert not plt.fignum_exists(fig.number)
    notebook.values(a=np.float64(0.5), n=np.int64(3))
    assert [(c[0], type(c[1]), c[2]) for c in calls[1:]] == [("a", float, False), ("n", int, False)]


def test_number_and_tex_sci_typeset_scientific_notation():
    from ntkbook.notebook import number, tex_sci

    assert number(1e18) == r"$1.00\times10^{18}$" and number(-3.4e-15) == r"$-3.40\times10^{-15}$"
    assert number(0.5) == "0.5" and number(27) == "27" and number(123456) == r"$1.23\times10^{5}$"
    assert number(float("inf")) == "∞" and number(-float("inf")) == "−∞"
    assert number(None) == "–" and number(float("nan")) == "–" and number("qualitative") == "qualitative"
    assert number(0.0) == "0" and number(np.float64(2.5e-3)) == r"$2.50\times10^{-3}$"
    assert number(4096.0) == "4096" and number(-1234.6) == "-1235" and number(9999.4) == "9999"
    assert tex_sci(1.2e3, 2, trim=True) == r"1.2\times10^{3}" and tex_sci(1e18, 2, trim=True) == "10^{18}"
    assert tex_sci(8.7e3, 1, trim=True) == r"9\times10^{3}" and tex_sci(1e18) == r"1.00\times10^{18}"
    with pytest.raises(ValueError, match="finite"):
        tex_sci(float("inf"))


def test_table_typesets_floats_printed_with_an_exponent():
    page = table(pd.DataFrame({"err": [1.2e-16], "k": [3.0e5], "x": [0.25]}), formats={"k": ".1e"})._repr_html_()
    assert r"\(1.2\times10^{-16}\)" in page and r"\(3.0\times10^{5}\)" in page and ">0.25<" in page
    assert "e-16" not in page and "e+05" not in page


def test_table_keeps_the_digits_that_tell_a_columns_values_apart():
    """Fitted slopes near -1 do not all read "-1" (JupyterLab and the book show the same table)."""
    import pandas as pd

    from ntkbook.notebook import column_digits, number, table

    slopes = [-1.0012, -1.0003, -0.99957, -0.99991]
    assert column_digits(slopes) == 4 and column_digits([2.0, 3.0]) == 3 and column_digits([1.0, 1.0]) == 3
    assert column_digits([0.5, 0.5000000001]) == 6  # no more than `stop`
    frame = pd.DataFrame({"slope": slopes, "kappa": [1.2e3, 8.7e3, 1.0e18, 2.0]})
    page = table(frame)._repr_html_()
    assert ">-1.001<" in page and ">-0.9996<" in page and ">-0.9999<" in page and ">-1<" in page
    assert r"\(1.2\times10^{3}\)" in page  # a float printed with an exponent is typeset, as before
    explicit = table(frame, formats={"slope": number, "kappa": ".1e"})._repr_html_()
    assert ">-1.001<" in explicit and r"\(1.2\times10^{3}\)" in explicit
