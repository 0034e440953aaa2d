"""The book's figures (matplotlib + seaborn), one function per figure, in a module per chapter.

`use_book_style()` sets the common look; every figure function returns its `matplotlib.figure.Figure`.
"""

import matplotlib as mpl
import seaborn as sns


def use_book_style() -> None:
    """Seaborn's whitegrid theme, colour-blind palette, and sizes that read well in the HTML book."""
    sns.set_theme(style="whitegrid", palette="colorblind", context="notebook")
    mpl.rcParams.update({"figure.dpi": 110, "savefig.bbox": "tight", "axes.titleweight": "bold"})


__all__ = ["use_book_style"]
