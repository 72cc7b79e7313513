"""The one palette every figure uses, and sharp figures in notebooks.

Colour-blind-safe: the Okabe–Ito palette for lines and categories (Okabe & Ito,
*Color Universal Design*, 2008), viridis / cividis for maps. Each relaxation keeps
one colour in every notebook and in ``figures/``.
"""
from __future__ import annotations

import numbers
import sys

import matplotlib.pyplot as plt

__all__ = ["OKABE_ITO", "RELAXATION_COLOURS", "FLOAT_CLASS_COLOURS", "sharp_figures"]

#: Okabe & Ito's colour-blind-safe palette.
OKABE_ITO = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000"]
#: One colour per implementation, the same in every figure.
RELAXATION_COLOURS = {"gal": "#D55E00", "paper": "#0072B2", "stable": "#009E73"}
#: Colours of :data:`fido_lib.symbolic.FLOAT_CLASSES` (normal, subnormal, 0, inf, NaN):
#: the harmless case pale, each failure an Okabe–Ito colour that no relaxation uses.
FLOAT_CLASS_COLOURS = ["#E8E8E8", "#F0E442", "#56B4E9", "#CC79A7", "#000000"]


def sharp_figures(dpi: float = 110, *, retina: bool = True) -> None:
    """Draw every later figure sharp: ``figure.dpi = dpi`` (≥ 100) and, in Jupyter, retina PNGs.

    Retina means the inline backend renders each PNG at twice the resolution and shows
    it at the same size, so text and thin lines stay crisp on high-density screens (it
    roughly quadruples the PNG bytes a notebook stores). Outside IPython only the dpi
    is set. Call it once, after the imports of a notebook.
    """
    if isinstance(dpi, bool) or not isinstance(dpi, numbers.Real):
        raise TypeError(f"dpi must be a number, got {type(dpi).__name__} {dpi!r}")
    if not dpi >= 100:  # also refuses NaN
        raise ValueError(f"dpi must be >= 100 for sharp figures, got {dpi!r}")
    if not isinstance(retina, bool):
        raise TypeError(f"retina must be True or False, got {type(retina).__name__} {retina!r}")
    plt.rcParams["figure.dpi"] = float(dpi)
    # IPython is already imported when we run inside it; never import it just to find out
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if retina and shell is not None:
        # optional, imported only here: it exists wherever an IPython kernel does
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("retina")
