"""One look for every figure in the book: a seaborn theme and a model-size palette.

Model size maps to colour on a log scale (small = light, large = dark) with the same colormap in
every chapter, so a reader learns it once.

Used by: every chapter.
"""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
import seaborn as sns

SIZE_CMAP = "flare"
#: Figures are saved at this resolution; the book's column is about 676 CSS px wide, so a figure up to
#: MAX_WIDTH_IN inches wide is shown at no less than 1/1.3 of its size (``ci/browser_check.py`` checks it).
DPI = 110
MAX_WIDTH_IN = 8.0
#: The smallest font size (points) the theme sets (tick labels and legends); ``ci/chapter_lint.py`` flags a
#: figure that asks for less.
MIN_FONT_PT = 11.0


def set_theme() -> None:
    """The book's theme: seaborn 'whitegrid', 'notebook' context (text ≥ 11 pt), PNG figures at 110 dpi."""
    sns.set_theme(style="whitegrid", context="notebook", palette="deep")
    mpl.rcParams.update({"figure.dpi": DPI, "savefig.dpi": DPI, "figure.figsize": (6.4, 4.0),
                         "axes.titleweight": "bold", "legend.frameon": False, "xtick.labelsize": MIN_FONT_PT,
                         "ytick.labelsize": MIN_FONT_PT, "legend.fontsize": MIN_FONT_PT})


def ordered_colours(n: int, cmap: str = "viridis") -> list:
    """``n`` colours for an ordered series (budgets, exposures, arms …), evenly spread along a perceptually
    uniform sequential palette and kept clear of its palest end, so that neighbours stay distinguishable.
    Label them directly or with a colour bar."""
    if n < 1:
        raise ValueError(f"ordered_colours: n must be at least 1, got {n}")
    cm = mpl.colormaps[cmap]
    return [cm(x) for x in (np.linspace(0.05, 0.85, n) if n > 1 else [0.45])]


def size_colours(sizes) -> dict:
    """Map each model size (e.g. parameter count) to a colour, log-scaled across ``sizes``."""
    sizes = sorted(set(float(s) for s in sizes))
    cmap = sns.color_palette(SIZE_CMAP, as_cmap=True)
    lo, hi = np.log(sizes[0]), np.log(sizes[-1])
    span = hi - lo or 1.0
    return {s: cmap(0.15 + 0.8 * (np.log(s) - lo) / span) for s in sizes}


def size_norm(sizes) -> mpl.colors.LogNorm:
    """The log-norm behind :func:`size_colours`, for a colour bar."""
    return mpl.colors.LogNorm(vmin=min(sizes), vmax=max(sizes))
