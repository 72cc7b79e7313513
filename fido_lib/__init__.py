"""fido_lib: the helper library of the Simplified Concrete Dropout / FIDO notebooks.

One module per idea, introduced by the notebook that explains it:

* ``concrete`` — the three relaxed drop masks (Gal's, the paper's Function, the stable default) — 01, 03
* ``symbolic`` — sympy derivations and the floating-point map — 02
* ``timing`` — interleaved median timings against a memory-bound reference — 03, benchmarks
* ``variance`` — the supplement's S2 gradient-variance experiment and its paired statistics — 05
* ``classifiers``, ``images``, ``infill``, ``fido``, ``metrics``, ``widgets`` — FIDO masks — 04
* ``toy_birds``, ``mask_quality`` — ground-truth data, a trained CNN and the mini-batch study — 06
* ``plotting`` — every figure; ``checks`` and ``course`` — exercises, assignments, badges

Import what you need, e.g. ``from fido_lib.concrete import drop_mask``.
"""

__version__ = "0.1.0"
