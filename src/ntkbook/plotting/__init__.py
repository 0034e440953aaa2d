"""The book's figures (matplotlib + seaborn), one function per figure, in a module per chapter.

Importing `ntkbook.plotting` applies the book style (`use_book_style`): seaborn's whitegrid theme, the
colour-blind palette, and font sizes chosen so that text stays at least `MIN_TEXT_PT` = 9 pt where the book
shows the figure. Every figure function returns its `matplotlib.figure.Figure`.

Readable text, the rule: the book shows a PNG saved at the figure's dpi (`DPI`) at its natural size, scaled
down to the column (`COLUMN_PX` = 672 CSS px inside a figure at a 1280 px wide window) when wider. A font of
f pt is f * DPI / 72 image pixels, shown at scale s = min(1, COLUMN_PX / image width) as f * DPI / 72 * s CSS px, i.e.
f * (DPI / 96) * s pt (1 pt = 4/3 CSS px). `rendered_text_pt(fig)` computes that for a figure's smallest text;
figure functions keep it >= 9 pt by staying within `COLUMN_INCHES` wide or raising their font sizes.

Quantities with a range: `nonnegative(ax)` keeps an axis of a quantity that cannot go negative from showing
negative values; `clip_interval` / `clipped_yerr` clip an interval (e.g. mean +- 2 s.e. of a rate) to the
quantity's range before it is drawn.
"""

from __future__ import annotations

import io

import matplotlib as mpl
import numpy as np
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.text import Text

#: dpi the book's figures are drawn and saved at (image pixels per inch).
DPI = 110
#: width (CSS px) a figure image gets at a 1280 px wide window: the 688 px text column less the 8 px padding on
#: each side of a glue:figure (pydata-sphinx-theme, measured in Chromium).
COLUMN_PX = 672
#: a figure this wide (inches) is shown at its natural size in the column.
COLUMN_INCHES = COLUMN_PX / DPI
#: smallest text size (pt) a reader should meet in a figure, at the size the book shows it.
MIN_TEXT_PT = 9.0

#: font sizes (pt) at the figure's own scale; with DPI = 110 a column-wide figure shows them 1.15x larger.
BOOK_RC = {
    "figure.dpi": DPI,
    "savefig.dpi": "figure",
    "savefig.bbox": "tight",
    "axes.titleweight": "bold",
    "font.size": 10.0,
    "axes.titlesize": 10.5,
    "axes.labelsize": 10.0,
    "xtick.labelsize": 9.0,
    "ytick.labelsize": 9.0,
    "legend.fontsize": 9.0,
    "legend.title_fontsize": 9.0,
    "figure.titlesize": 11.0,
}


def use_book_style() -> None:
    """Seaborn's whitegrid theme, colour-blind palette, and the font sizes of `BOOK_RC` (applied on import)."""
    sns.set_theme(style="whitegrid", palette="colorblind", context="notebook")
    mpl.rcParams.update(BOOK_RC)


def texts(fig: Figure) -> list[Text]:
    """The visible, non-empty text artists of `fig` (titles, labels, tick labels, legends, annotations)."""
    fig.canvas.draw()  # tick labels get their text at draw time
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()
            and (t.axes is None or t.axes.get_visible())]


def smallest_font_pt(fig: Figure) -> float:
    """The smallest font size (pt, at the figure's own scale) among the figure's visible texts."""
    sizes = [t.get_fontsize() for t in texts(fig)]
    if not sizes:
        raise ValueError("the figure holds no text")
    return float(min(sizes))


def saved_width_px(fig: Figure) -> int:
    """Width in pixels of the PNG the book stores for `fig` (saved at its dpi, bbox tight)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=fig.dpi, bbox_inches="tight")
    buf.seek(0)
    from PIL import Image

    return Image.open(buf).size[0]


def rendered_text_pt(fig: Figure, column_px: float = COLUMN_PX) -> float:
    """Size (pt) of the figure's smallest text as the book shows it (see the module docstring):
    smallest_font_pt * (dpi / 96) * min(1, column_px / saved width)."""
    scale = min(1.0, column_px / saved_width_px(fig))
    return smallest_font_pt(fig) * (fig.dpi / 96.0) * scale


def nonnegative(ax, axis: str = "y") -> None:
    """Start the `axis` ("x" or "y") of a quantity that cannot be negative at 0 if its limits went below."""
    if axis not in ("x", "y"):
        raise ValueError(f"axis must be 'x' or 'y', got {axis!r}")
    low, high = ax.get_ylim() if axis == "y" else ax.get_xlim()
    scale = ax.get_yscale() if axis == "y" else ax.get_xscale()
    if scale == "linear" and low < 0:
        (ax.set_ylim if axis == "y" else ax.set_xlim)(0.0, max(high, 0.0))


def clip_interval(low, high, lower: float | None = None, upper: float | None = None):
    """(low, high) clipped to the quantity's range [lower, upper] (None: unbounded on that side).

    E.g. a rate in percent: ``clip_interval(m - 2 * se, m + 2 * se, 0, 100)``. Arrays or scalars; float64.
    """
    low, high = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
    if lower is not None and upper is not None and lower > upper:
        raise ValueError(f"the range must satisfy lower <= upper, got [{lower}, {upper}]")
    return np.clip(low, lower, upper), np.clip(high, lower, upper)


def clipped_yerr(center, low, high, lower: float | None = None, upper: float | None = None) -> np.ndarray:
    """The (2, k) `yerr` of `Axes.errorbar` for intervals [low, high] around `center`, clipped to
    [lower, upper] (so bars never leave the quantity's range, e.g. a rate never below 0 %)."""
    center = np.asarray(center, dtype=np.float64)
    low, high = clip_interval(low, high, lower, upper)
    return np.vstack([np.maximum(center - low, 0.0), np.maximum(high - center, 0.0)])


use_book_style()

__all__ = ["BOOK_RC", "COLUMN_INCHES", "COLUMN_PX", "DPI", "MIN_TEXT_PT", "clip_interval", "clipped_yerr",
           "nonnegative", "rendered_text_pt", "saved_width_px", "smallest_font_pt", "texts", "use_book_style"]
