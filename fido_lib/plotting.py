"""Every figure the notebooks and figures/ show, built from library results.

Colour-blind-safe defaults (viridis / cividis for maps, the Okabe–Ito palette for
lines); every axis labelled. Functions return the matplotlib Figure and never call
``plt.show()``, so notebooks decide when to display and ``figures/make_figures.py``
when to save.
"""
from __future__ import annotations

import matplotlib.pyplot as plt  # noqa: F401  (used by the sections below)

#: Okabe & Ito's colour-blind-safe palette.
OKABE_ITO = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000"]
#: One colour per implementation, the same in every figure.
RELAXATION_COLOURS = {"gal": "#D55E00", "paper": "#0072B2", "stable": "#009E73"}

# ==== concrete distribution and gradients (notebooks 01–03) ====
# ==== end concrete ====

# ==== gradient variance (notebook 04) ====
# ==== end variance ====

# ==== FIDO masks (notebook 05) ====
# ==== end fido ====

# ==== mask quality (notebook 06) ====
# ==== end mask quality ====
