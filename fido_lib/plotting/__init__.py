"""Every figure the notebooks and figures/ show, built from library results.

Colour-blind-safe defaults (viridis / cividis for maps, the Okabe–Ito palette for
lines, one colour per relaxation); every axis labelled. Functions return the
matplotlib Figure and never call ``plt.show()``, so notebooks decide when to display
and ``figures/make_figures.py`` when to save. One module per topic:

* :mod:`~fido_lib.plotting.style` — the palette and :func:`sharp_figures`
* :mod:`~fido_lib.plotting.concrete` — the concrete distribution and its gradients, notebooks 01–03
* :mod:`~fido_lib.plotting.fido` — FIDO masks, notebook 04
* :mod:`~fido_lib.plotting.variance` — gradient variance, notebook 05
* :mod:`~fido_lib.plotting.mask_quality` — mask quality on toy birds, notebook 06

Every function is re-exported here: ``from fido_lib import plotting; plotting.plot_fido_result(r)``.
"""
from __future__ import annotations

# pyplot as ``plotting.plt``: callers close the figures they were handed with it
import matplotlib.pyplot as plt

from .concrete import (
    GRADIENT_HEALTH,
    GRADIENT_HEALTH_COLOURS,
    gradient_health,
    plot_concrete_histograms,
    plot_eps_factor,
    plot_float_map,
    plot_gradient_map,
    plot_gradient_tails,
    plot_logistic_noise,
    plot_step_vs_relaxation,
)
from .fido import plot_deletion_insertion, plot_fido_comparison, plot_fido_result, plot_fido_scores, plot_infills
from .mask_quality import (
    plot_crop_accuracy,
    plot_crop_examples,
    plot_mask_gallery,
    plot_mask_quality,
    plot_paired_differences,
    plot_toy_birds,
)
from .style import FLOAT_CLASS_COLOURS, OKABE_ITO, RELAXATION_COLOURS, sharp_figures
from .variance import (
    plot_across_run_std,
    plot_drop_samples,
    plot_figure1,
    plot_gradient_maps,
    plot_gradient_norms,
    plot_noise_vs_samples,
    plot_variance_ablation,
)

__all__ = [
    "plt",
    # style
    "OKABE_ITO",
    "RELAXATION_COLOURS",
    "FLOAT_CLASS_COLOURS",
    "sharp_figures",
    # concrete (01–03)
    "plot_logistic_noise",
    "plot_concrete_histograms",
    "plot_eps_factor",
    "plot_float_map",
    "plot_gradient_tails",
    "plot_gradient_map",
    "plot_step_vs_relaxation",
    "gradient_health",
    "GRADIENT_HEALTH",
    "GRADIENT_HEALTH_COLOURS",
    # fido (04)
    "plot_fido_scores",
    "plot_fido_result",
    "plot_fido_comparison",
    "plot_infills",
    "plot_deletion_insertion",
    # variance (05)
    "plot_gradient_norms",
    "plot_across_run_std",
    "plot_figure1",
    "plot_variance_ablation",
    "plot_drop_samples",
    "plot_noise_vs_samples",
    "plot_gradient_maps",
    # mask quality (06)
    "plot_toy_birds",
    "plot_mask_quality",
    "plot_mask_gallery",
    "plot_crop_accuracy",
    "plot_paired_differences",
    "plot_crop_examples",
]
