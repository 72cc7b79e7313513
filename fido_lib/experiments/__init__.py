"""Experiments that *use* the library; the library never imports them.

* :mod:`fido_lib.experiments.variance` — the supplement's S2 gradient-variance study (notebook 05);
* :mod:`fido_lib.experiments.mask_quality` — mask quality against mini-batch size (notebook 06);
* :mod:`fido_lib.experiments.baseline_comparison` — FIDO against Captum's cheap baselines, side by side (notebook 07);
* :mod:`fido_lib.experiments.fido_settings` — a small search for a cheaper FIDO setting that beats them (notebook 07);
* :mod:`fido_lib.experiments.toy_birds_training` — how the shipped toy-bird CNN was trained.
"""

__all__: list[str] = []
