"""What a chapter notebook calls so that it reads well in the book AND in JupyterLab, with checked parameters.

How to apply (chapter authors)
------------------------------

1. First code cell, tagged ``remove-cell`` (it runs, but the book does not show it)::

       from ntkbook.notebook import Parameters
       _before = Parameters.snapshot(globals())

2. The ``parameters`` cell (tag ``parameters``, shown in the book) assigns every knob of the chapter's spec and
   nothing else: ``profile = "default"`` and one line per field of the chapter's `ntkbook.spec.Spec` subclass
   (``None`` = "the profile's value"). Names a chapter needs that are not spec knobs (e.g. how many points a
   heatmap shows) go to ``extra=`` below.

3. The cell right after it (papermill inserts its ``injected-parameters`` cell in between), tagged
   ``remove-cell``::

       spec = Parameters.check(globals(), _before, GramKernelSpec)            # or extra=("n_heatmap",)

   It raises ValueError, which stops the chapter (papermill exits non-zero), when a name was set that is not a
   parameter of the chapter (the message lists the valid names and the closest match), and `Spec.resolve`
   raises for a value out of range (the message gives the allowed range). Use ``spec.<knob>`` from then on.
   With a plain list of names instead of a Spec class it returns a dict ``{name: value}``.

4. Figures: build the figure in a code cell and end it with ``show("fig_name", fig)``. Tag that cell
   ``remove-output`` (and ``hide-input`` when its code teaches something; ``remove-cell`` when it is plumbing).
   The markdown where the text discusses the figure holds::

       ```{glue:figure} fig_name
       :name: fig-name

       Caption.
       ```

   `show` glues the figure with ``display=True``: in JupyterLab it appears under the cell that made it; in the
   book the cell's own output is removed by the tag and the figure appears once, in the ``glue:figure``.
   (``myst_nb`` reads glued outputs before it applies cell tags, so removed outputs can still be pasted.)

5. Numbers quoted in the prose: ``values(n_theorem=spec.n_theorem, worst=worst)`` in a ``remove-cell`` cell and
   ``{glue:text}`worst:.1e``` in the markdown (plain Python numbers are glued: no ``np.float64(...)`` repr).

6. Tables: ``table(frame)`` as the last line of a cell tagged ``remove-input`` (the table stays, the code goes).
   It drops the pandas index, typesets ``$...$`` in cells and headers, draws the status columns (values from
   `ntkbook.claims.STATUSES`) as short coloured badges, puts long explanations in a collapsed ``<details>``
   (``details="note"``) and wraps the table in a box that scrolls sideways when it is wider than the column.
   A numbered table with a caption: ``show("tab_name", table(frame))`` and ``{glue:figure} tab_name``.
   Numbers spanning many decades: ``number(x)`` (``$1.20\\times10^{18}$``, typeset) as a column's format, or
   ``tex_sci(x)`` inside your own ``$...$``; a float a format prints with an exponent is typeset the same way.

7. Plumbing (imports, loops of glue calls, configuration dumps, timing prints) goes in ``remove-cell`` cells
   or into library calls; a cell that prints something a reader needs is ``remove-input``.

8. The answer first: the cell right after the chapter's opening markdown is the markdown ``{glue} verdict_box``
   in a fenced block; ``ntkbook.report.claims.glue_verdicts(verdicts)`` (called wherever the chapter has its
   verdicts) glues the box there: each claim of the paper the chapter decides, its status, the deciding number
   and a link to the evidence. Long secondary tables get the tag ``hide-output`` beside ``remove-input``.

Parameter validation works with papermill and in JupyterLab alike: it compares the names the notebook holds
after the parameters (and papermill's injected) cell with those it held before it.
"""

from __future__ import annotations

import dataclasses
import difflib
import html
import math
import numbers
import os
import re
import types
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ntkbook.claims import STATUSES

__all__ = ["STATUS_COLOURS", "TEXT_PX_KEY", "Parameters", "Table", "badge", "column_digits", "figure_png", "number",
           "show", "table", "tex_sci", "values"]


# ---- parameters -----------------------------------------------------------------------------------------


def _user_names(namespace: Mapping[str, Any]) -> set[str]:
    """Names a notebook's user has bound to data: not IPython's history (`_`, `_i3`, `In`, `Out`), not modules,
    classes or functions (a parameter is a value; the check cell may import its Spec class)."""
    return {name for name, value in namespace.items()
            if not name.startswith("_") and name not in ("In", "Out")
            and not isinstance(value, types.ModuleType) and not callable(value)}


def _valid_names(spec: type | Iterable[str], extra: Iterable[str]) -> tuple[str, ...]:
    if isinstance(spec, type):
        if not dataclasses.is_dataclass(spec) or not hasattr(spec, "resolve"):
            raise TypeError(f"{spec!r} is not a Spec class (a dataclass with resolve()); pass it or a list of names")
        names = [f.name for f in dataclasses.fields(spec)]
    else:
        names = list(spec)
    return tuple(dict.fromkeys([*names, *extra]))


class Parameters:
    """Validate the parameters a notebook was given (in its ``parameters`` cell or by papermill ``-p``)."""

    @staticmethod
    def snapshot(namespace: Mapping[str, Any]) -> frozenset[str]:
        """The user names bound in `namespace` (the notebook's ``globals()``) before the parameters cell."""
        return frozenset(_user_names(namespace))

    @staticmethod
    def unknown(namespace: Mapping[str, Any], before: Iterable[str], valid: Iterable[str]) -> list[str]:
        """Names bound since `before` that are not in `valid`, sorted."""
        return sorted(_user_names(namespace) - set(before) - set(valid))

    @staticmethod
    def check(namespace: Mapping[str, Any], before: Iterable[str], spec: type | Iterable[str], *,
              extra: Iterable[str] = ()):
        """Check the parameters bound since `before`; return the chapter's resolved spec.

        namespace: the notebook's ``globals()`` after the parameters cell (and papermill's injected cell);
        before: `Parameters.snapshot` taken before the parameters cell; spec: the chapter's `Spec` subclass, or
        a list of allowed names; extra: further allowed names that are not knobs of the spec.

        Returns ``spec.resolve(profile, **knobs)`` for a Spec class (the knobs read from `namespace`, absent or
        None ones taking the profile's value; ``Spec.resolve`` raises ValueError with the allowed range for a
        value out of range), or ``{name: value}`` of the names bound in `namespace` for a list of names.
        Raises ValueError naming each unknown parameter, its closest valid name and every valid name.
        """
        valid = _valid_names(spec, extra)
        unknown = Parameters.unknown(namespace, before, valid)
        if unknown:
            hints = []
            for name in unknown:
                close = difflib.get_close_matches(name, valid, n=1)
                hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            raise ValueError(f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(hints)}. "
                             f"Valid parameters of this chapter: {', '.join(valid)}.")
        if not isinstance(spec, type):
            return {name: namespace[name] for name in valid if name in namespace}
        knobs = {f.name for f in dataclasses.fields(spec)} - {"profile"}
        overrides = {name: namespace[name] for name in knobs if name in namespace}
        profile = book_profile(namespace.get("profile", "default"), spec)
        return spec.resolve(profile, **overrides)


#: `make book PROFILE=...` sets it: the profile of every chapter of one build, above the book's configuration.
BOOK_PROFILE_ENV = "NTKBOOK_PROFILE"
#: The book's configuration file whose ``ntkbook: profile:`` key names each chapter's profile (tests point it
#: elsewhere); unset: the repository's ``_config.yml``.
BOOK_CONFIG_ENV = "NTKBOOK_BOOK_CONFIG"


def book_config_path() -> Path:
    """`NTKBOOK_BOOK_CONFIG` if set, else the ``_config.yml`` of the repository this package runs from."""
    env = os.environ.get(BOOK_CONFIG_ENV, "").strip()
    return Path(env) if env else Path(__file__).resolve().parents[2] / "_config.yml"


def configured_profiles(path: str | os.PathLike | None = None) -> tuple[str, dict[str, str]]:
    """(the default profile, {sweep name: profile}) from the ``ntkbook: profile:`` key of the book's configuration::

        ntkbook:
          profile:
            default: default          # every chapter and page without an entry below
            chapters:                 # by sweep name (python -m ntkbook sweep --list)
              ntk-distance: decisive

    A missing file or key gives ("default", {}). ValueError naming the file for a key of the wrong shape or a
    chapter that is not a registered sweep.
    """
    import yaml

    from ntkbook.sweeps import SWEEPS

    path = Path(path) if path is not None else book_config_path()
    if not path.is_file():
        return "default", {}
    section = ((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("ntkbook") or {}).get("profile")
    if section is None:
        return "default", {}
    where = f"{path.name}'s ntkbook.profile"
    if not isinstance(section, Mapping) or set(section) - {"default", "chapters"}:
        raise ValueError(f"{where} must be a mapping with the keys 'default' and 'chapters', got {section!r}")
    default = section.get("default") or "default"
    chapters = section.get("chapters") or {}
    if not isinstance(default, str) or not isinstance(chapters, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in chapters.items()):
        raise ValueError(f"{where}: 'default' must be a profile name and 'chapters' a mapping sweep -> profile name")
    unknown = sorted(set(chapters) - set(SWEEPS))
    if unknown:
        raise ValueError(f"{where}.chapters names {unknown}, which are not chapters; use sweep names: {list(SWEEPS)}")
    return default, dict(chapters)


def sweep_of(spec: type | None) -> str | None:
    """The registered sweep whose knobs module defines the Spec class `spec` (None for a page of its own)."""
    from ntkbook.sweeps import SWEEPS

    module = getattr(spec, "__module__", None)
    return next((name for name, entry in SWEEPS.items() if entry.spec_module == module), None)


def book_profile(profile: str, spec: type | None = None) -> str:
    """The profile a chapter runs at, named in one place for the whole book.

    `profile` as given when it is not "default" (an explicit ``-p profile paper`` wins); else `NTKBOOK_PROFILE`
    when set (``make book PROFILE=quick``: every chapter at that profile); else the book's configuration
    (`configured_profiles`: the chapter's entry, else its default). The notebooks are never edited.

    Raises ValueError naming where the profile was set and the chapter's profiles when `spec` lacks it.
    """
    if profile != "default":
        return profile
    chosen = os.environ.get(BOOK_PROFILE_ENV, "").strip()
    if chosen:
        source, fix = f"{BOOK_PROFILE_ENV}={chosen!r}", "(e.g. make book PROFILE=quick) or unset it"
    else:
        default, chapters = configured_profiles()
        name = sweep_of(spec)
        chosen = chapters.get(name, default) if name else default
        key = f"chapters.{name}" if name in chapters else "default"
        source = f"the book's profile {chosen!r} ({book_config_path().name}: ntkbook.profile.{key})"
        fix = "in that file, or compute the chapter's store entry at it first"
    profiles = getattr(spec, "PROFILES", None)
    if profiles is not None and chosen not in profiles:
        raise ValueError(f"{source} is not a profile of this chapter; choose one of {sorted(profiles)} {fix}")
    return chosen


# ---- figures and glued values ---------------------------------------------------------------------------


#: PNG text chunk in which `show` records the figure's smallest text height in image pixels; the book's browser
#: check combines it with the size the image is shown at (tests/browser/bookcheck.py).
TEXT_PX_KEY = "ntkbook:min-text-px"


def figure_png(fig) -> bytes:
    """`fig` as the PNG the book shows (its dpi, bbox tight) with its smallest text height recorded.

    The record: `TEXT_PX_KEY` = smallest font size (pt) * dpi / 72, the height of that text in image pixels.
    """
    import io

    from ntkbook.plotting import smallest_font_pt

    text_px = smallest_font_pt(fig) * fig.dpi / 72.0
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=fig.dpi, bbox_inches="tight", metadata={TEXT_PX_KEY: f"{text_px:.3f}"})
    return buf.getvalue()


def show(name: str, obj: Any) -> None:
    """Glue `obj` (a matplotlib Figure, a `Table`, ...) under `name` AND display it; close a figure after.

    Cell tags: ``remove-output`` on the cell that calls it (plus ``hide-input`` if its code teaches, or
    ``remove-cell`` if it is plumbing). The markdown pastes it with ``{glue:figure} name`` where the text
    discusses it. Result: one copy in the built book (the glue:figure), one in JupyterLab (under the cell).
    A figure is glued as the PNG of `figure_png`, which records its smallest text size for the book's check.
    """
    from matplotlib.figure import Figure
    from myst_nb import glue

    if isinstance(obj, Figure):
        import matplotlib.pyplot as plt
        from IPython.display import Image

        png = figure_png(obj)
        plt.close(obj)  # the inline backend would otherwise show it a second time
        obj = Image(data=png, format="png")
    glue(name, obj, display=True)


def plain(value: Any) -> Any:
    """A numpy scalar as the plain Python number it holds (its repr then reads 0.99, not np.float64(0.99))."""
    if isinstance(value, bool | str) or value is None:
        return value
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        return value.item()
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return value


def values(**named: Any) -> None:
    """Glue each value under its keyword, as a plain Python number/string and without displaying it.

    Call it in a ``remove-cell`` cell; quote with ``{glue:text}`name:.3g``` (format spec after the colon).
    """
    from myst_nb import glue

    for name, value in named.items():
        glue(name, plain(value), display=False)


# ---- tables ---------------------------------------------------------------------------------------------

#: Badge colours per status (text, background): dark text on light tints keep a contrast ratio above 7.
STATUS_COLOURS: dict[str, tuple[str, str]] = {
    "holds": ("#0a3d1c", "#c9ecd3"),
    "partly": ("#5a3c00", "#fbe4a6"),
    "does not hold": ("#6b0d0d", "#f7cccc"),
    "not resolved": ("#1f2f57", "#d6e0f5"),
    "not evaluable": ("#333333", "#e4e4e4"),
    "not run": ("#333333", "#f3f3f3"),
}
if set(STATUS_COLOURS) != set(STATUSES):  # pragma: no cover - guards the vocabulary against drift
    raise ImportError(f"STATUS_COLOURS {sorted(STATUS_COLOURS)} must cover ntkbook.claims.STATUSES {STATUSES}")

_MATH = re.compile(r"\$([^$]+)\$")
_EXP = re.compile(r"(-?\d+(?:\.\d*)?)[eE]([+-]?\d+)")
_WRAP_STYLE = "overflow-x: auto; max-width: 100%;"
_TABLE_STYLE = "border-collapse: collapse; margin: 0;"


def badge(status: str) -> str:
    """HTML of a short coloured badge for one of `ntkbook.claims.STATUSES` (ValueError for anything else)."""
    if status not in STATUS_COLOURS:
        raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
    fg, bg = STATUS_COLOURS[status]
    cls = "ntk-badge ntk-status-" + status.replace(" ", "-")
    return (f'<span class="{cls}" style="color: {fg}; background: {bg}; border-radius: 0.6em; '
            f'padding: 0.05em 0.5em; white-space: nowrap; font-weight: 600;">{html.escape(status)}</span>')


def text_html(text: str) -> str:
    """Escape `text` for HTML and turn ``$...$`` into ``\\(...\\)``, which MathJax typesets in the book and in
    JupyterLab alike."""
    out, pos = [], 0
    for match in _MATH.finditer(text):
        out.append(html.escape(text[pos:match.start()]))
        out.append(r"\(" + html.escape(match.group(1)) + r"\)")
        pos = match.end()
    out.append(html.escape(text[pos:]))
    return "".join(out)


def tex_sci(x: float, digits: int = 3, *, trim: bool = False) -> str:
    """`x` in LaTeX scientific notation, without the ``$``: 1.2e18 -> ``1.20\\times10^{18}`` (`digits`
    significant digits). trim=True drops trailing zeros and a unit mantissa, for prose and statements:
    1.2e3 -> ``1.2\\times10^{3}``, 1e18 -> ``10^{18}``. ValueError for a non-finite `x` (see `number`)."""
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"tex_sci needs a finite number, got {x!r}; use number() for a table cell")
    if digits < 1:
        raise ValueError(f"digits must be >= 1, got {digits!r}")
    mant, exp = f"{x:.{digits - 1}e}".split("e")
    if trim:
        mant = mant.rstrip("0").rstrip(".") if "." in mant else mant
        if mant in ("1", "-1"):
            return f"{mant[:-1]}10^{{{int(exp)}}}"
    return f"{mant}\\times10^{{{int(exp)}}}"


def number(x: Any, digits: int = 3, *, low: float = 1e-2, high: float = 1e4) -> str:
    """A number as text for a table cell or a sentence: `digits` significant digits, and in scientific notation
    as math, ``$1.20\\times10^{18}$`` (which `table` and the book typeset), when ``|x| >= high`` or
    ``0 < |x| < low``. None/NaN -> "–", ±inf -> "∞"/"−∞", a string is returned as it is, an integer below
    `high` prints all its digits."""
    x = plain(x)
    if x is None or isinstance(x, str):
        return "–" if x is None else x
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, numbers.Integral) and abs(x) < high:
        return str(int(x))
    x = float(x)
    if math.isnan(x):
        return "–"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    if x != 0 and (abs(x) >= high or abs(x) < low):
        return f"${tex_sci(x, digits)}$"
    text = f"{x:.{digits}g}"
    return f"{x:.0f}" if "e" in text else text  # 10^digits <= |x| < high: 4096, not 4.1e+03


def column_digits(values: Iterable[Any], start: int = 3, stop: int = 6) -> int:
    """The fewest significant digits in [start, stop] at which the column's distinct finite numbers still read
    differently (`number`), e.g. 4 for fitted slopes -1.0012, -1.0003, -0.99957 (which 3 digits would all show as
    "-1"); `start` for a column without two distinct numbers."""
    nums = {float(v) for v in (plain(x) for x in values)
            if isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(float(v))}
    for digits in range(start, stop + 1):
        if len({number(x, digits) for x in nums}) == len(nums):
            return digits
    return stop


def _cell(value: Any, fmt: str | Callable[[Any], str] | None) -> str:
    value = plain(value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if fmt is not None:
        text = fmt(value) if callable(fmt) else format(value, fmt)
    elif isinstance(value, float):
        text = f"{value:.3g}"
    else:
        return str(value)
    # a float printed with an exponent (1.2e+03) reads as math: $1.2\times10^{3}$ (digits as formatted)
    match = _EXP.fullmatch(text)
    if match is not None:
        return f"${match.group(1)}\\times10^{{{int(match.group(2))}}}$"
    return text


@dataclasses.dataclass(frozen=True, eq=False)
class Table:
    """A DataFrame as the book shows it: see `table`. ``_repr_html_`` is what the book and JupyterLab render."""

    frame: pd.DataFrame
    status: tuple[str, ...] = ()
    details: str | None = None
    formats: tuple[tuple[str, Any], ...] = ()

    def _repr_html_(self) -> str:
        formats = dict(self.formats)
        columns = [c for c in self.frame.columns if c != self.details]
        for c in columns:  # number() or the default: as many digits as the column needs to tell its values apart
            if formats.get(c) is number or (c not in formats and pd.api.types.is_float_dtype(self.frame[c])):
                digits = column_digits(self.frame[c])
                formats[c] = (lambda x, d=digits: number(x, d)) if formats.get(c) is number else f".{digits}g"
        head = "".join(f'<th style="text-align: left;">{text_html(str(c))}</th>' for c in columns)
        if self.details is not None:
            head += "<th></th>"
        rows = []
        for _, row in self.frame.iterrows():
            cells = []
            for c in columns:
                value = row[c]
                if c in self.status:
                    cells.append(f"<td>{badge(value)}</td>")
                    continue
                numeric = isinstance(plain(value), numbers.Real) and not isinstance(value, bool)
                # explicit both ways: JupyterLab right-aligns every table cell by default
                align = ' style="text-align: right; white-space: nowrap;"' if numeric else ' style="text-align: left;"'
                cells.append(f"<td{align}>{text_html(_cell(value, formats.get(c)))}</td>")
            if self.details is not None:
                note = row[self.details]
                cells.append('<td style="text-align: left;">' + ("" if not isinstance(note, str) or not note else
                                       f"<details><summary>why</summary>{text_html(note)}</details>") + "</td>")
            rows.append("<tr>" + "".join(cells) + "</tr>")
        # mathjax_process: the book's MathJax skips notebook output except in elements with this class
        return (f'<div class="ntk-table-scroll mathjax_process tex2jax_process" style="{_WRAP_STYLE}">'
                f'<table class="ntk-table" style="{_TABLE_STYLE}"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody>'
                "</table></div>")

    def __repr__(self) -> str:
        return self.frame.to_string(index=False)


def table(frame: pd.DataFrame, *, status: Iterable[str] | None = None, details: str | None = None,
          formats: Mapping[str, str | Callable[[Any], str]] | None = None) -> Table:
    """`frame` as a readable table: no index, math typeset, status badges, a sideways-scrolling box.

    frame: the rows to show (its index is dropped: make a column of it first if it carries information);
    status: columns drawn as badges (default: every column named "status" or whose values all lie in
    `ntkbook.claims.STATUSES`); details: a column of long explanations, shown collapsed ("why") in the last
    column; formats: per column, a format spec (".3g") or a function value -> str (floats default to ".3g", or
    more digits where the column's values would otherwise read alike, see `column_digits`; the same for the format
    `number`; NaN/None to "–"). Cells and headers may hold ``$...$`` math. Use it in a ``remove-input`` cell, or paste it
    with ``show`` + ``{glue:figure}`` for a numbered caption.
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"table() takes a pandas DataFrame, got {type(frame).__name__}")
    if details is not None and details not in frame.columns:
        raise ValueError(f"details column {details!r} is not a column of the frame: {list(frame.columns)}")
    if status is None:
        status = [c for c in frame.columns if c != details and len(frame) and
                  (str(c).lower() == "status" or frame[c].map(lambda v: isinstance(v, str) and v in STATUSES).all())]
    status = tuple(status)
    for c in status:
        if c not in frame.columns:
            raise ValueError(f"status column {c!r} is not a column of the frame: {list(frame.columns)}")
        bad = sorted({str(v) for v in frame[c] if v not in STATUSES})
        if bad:
            raise ValueError(f"status column {c!r} holds {bad}; statuses are {STATUSES}")
    return Table(frame.reset_index(drop=True), status, details, tuple((formats or {}).items()))
