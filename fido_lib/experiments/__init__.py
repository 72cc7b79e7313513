"""Experiments that *use* the library; the library never imports them.

* :mod:`fido_lib.experiments.variance` — the supplement's S2 gradient-variance study (notebook 05);
* :mod:`fido_lib.experiments.mask_quality` — mask quality against mini-batch size (notebook 06);
* :mod:`fido_lib.experiments.toy_birds_training` — how the shipped toy-bird CNN was trained.
"""

__all__: list[str] = []
