"""fido_lib: the helper library of the Simplified Concrete Dropout / FIDO notebooks.

One module per idea, introduced by the notebook that explains it. The core library:

* ``concrete`` — the three relaxed drop masks (Gal's, the paper's Function, the stable default) — 01, 03
* ``symbolic`` — sympy derivations and the floating-point map — 02
* ``timing`` — interleaved median timings against a memory-bound reference — 03, benchmarks
* ``classifiers``, ``images``, ``infill``, ``fido``, ``metrics``, ``widgets`` — FIDO masks — 04
* ``toy_birds`` — ground-truth images and the shipped toy-bird CNN — 06
* ``ops`` (blur, log-odds, total variation) and ``stats`` (exact paired tests, bootstrap) — shared helpers
* ``plotting`` — every figure; ``checks`` and ``course`` — exercises, assignments, badges

The experiments that use it (``fido_lib.experiments``; the core never imports them):

* ``experiments.variance`` — the supplement's S2 gradient-variance experiment — 05
* ``experiments.mask_quality`` — mask quality against mini-batch size — 06
* ``experiments.toy_birds_training`` — how the shipped toy-bird CNN was trained

Import what you need, e.g. ``from fido_lib.concrete import drop_mask`` or
``from fido_lib.experiments import variance``.
"""

import os as _os
import sys as _sys

# On a shared CPU (Binder, Colab: two cores, often one of them busy) OpenMP's waiting
# threads spin for a core that is taken, and every parallel region waits for them: a
# FIDO fit ran ~4x slower beside one busy process. Sleeping waiters fix it
# (benchmarks/fido_speed.py measures both). libgomp reads this once, when torch loads,
# so it only helps if fido_lib is imported first; a user's own setting wins.
if "torch" not in _sys.modules:
    _os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"

__all__ = ["__version__"]
