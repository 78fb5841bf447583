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


def set_theme() -> None:
    """The book's theme: seaborn 'whitegrid', 'notebook' context, PNG figures at 110 dpi."""
    sns.set_theme(style="whitegrid", context="notebook", palette="deep")
    mpl.rcParams.update({"figure.dpi": 110, "savefig.dpi": 110, "figure.figsize": (6.4, 4.0),
                         "axes.titleweight": "bold", "legend.frameon": False})


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
