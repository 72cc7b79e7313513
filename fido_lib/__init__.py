"""fido_lib: the helper library of the Simplified Concrete Dropout / FIDO notebooks.

One module per idea, introduced by the notebook that explains it. The core library:

* ``concrete`` — the three relaxed drop masks (Gal's, the paper's Function, the stable default) — 01, 03
* ``symbolic`` — sympy derivations and the floating-point map — 02
* ``timing`` — interleaved median timings against a memory-bound reference — 03, benchmarks
* ``classifiers``, ``images``, ``infill``, ``fido``, ``metrics``, ``widgets`` — FIDO masks — 04
* ``toy_birds`` — ground-truth images and the shipped toy-bird CNN — 06
* ``baselines`` — Captum's saliency, integrated gradients, GradientShap, occlusion in FIDO's format — 07
* ``ops`` (blur, log-odds, total variation) and ``stats`` (exact paired tests, bootstrap) — shared helpers
* ``plotting`` — every figure; ``checks`` and ``course`` — exercises, assignments, badges

The experiments that use it (``fido_lib.experiments``; the core never imports them):

* ``experiments.variance`` — the supplement's S2 gradient-variance experiment — 05
* ``experiments.mask_quality`` — mask quality against mini-batch size — 06
* ``experiments.baseline_comparison``, ``experiments.fido_settings`` — FIDO against the baselines,
  a cheaper FIDO setting — 07
* ``experiments.toy_birds_training`` — how the shipped toy-bird CNN was trained

Import what you need, e.g. ``from fido_lib.concrete import drop_mask`` or
``from fido_lib.experiments import variance``.
"""

from . import _runtime

# Process settings measured to matter for FIDO on a small or shared CPU (fido_lib/_runtime.py):
# OpenMP's waiting threads sleep instead of spinning (only if fido_lib is imported before
# torch), and glibc keeps freed activation memory instead of faulting it back in every pass.
_runtime.sleep_waiting_threads()
MALLOC = _runtime.keep_freed_memory()

__version__ = "0.1.0"

__all__ = ["MALLOC", "__version__"]
