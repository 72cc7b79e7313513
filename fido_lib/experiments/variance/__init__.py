"""The supplement's gradient-variance experiment (Korsch et al., GCPR 2023, Sect. S2).

S2 generates one random input (its text; the caption of its Fig. 1 says 30 randomly
initialised inputs: ``VarianceConfig(inputs="per_run")`` runs that reading), fits
FIDO-style dropout masks on it with either relaxation for 100 iterations, records
the L2 norm of the gradient with respect to the dropout parameters at every
iteration, repeats that 30 times and compares the spread of the norms (its Fig. 1a:
the norms of every run; Fig. 1b: their standard deviation across runs).

Here the dropout parameters are per-pixel drop logits ``θ`` and every run of an
experiment is one slice of a single batched tensor ``θ`` of shape
``(runs, masks, H, W)``: all runs take their optimiser steps together, which is
exactly the same as running them one after another (each run's loss depends only
on its own slice, and Adam/AdamW act element by element) but far faster.

The problem (fixed, deterministic, documented in :func:`make_problem`):

* the classifier is a small random-init CNN built from ``model_seed``
  (conv 3→8, stride 2 → ReLU → conv 8→16, stride 2 → ReLU → global mean →
  linear 16→10, He-normal weights, zero biases); no training, no download;
* the input is one ``N(0, 1)`` image of ``3 × image_size × image_size`` drawn from
  ``seed`` (or one per run with ``inputs="per_run"``); the target class is the
  classifier's top-1 class on it;
* the infill is the input blurred by a Gaussian of ``blur_sigma`` pixels (default
  ``image_size / 16``, 2 px at 32 px; the published code's blur, σ ≈ 11.6 px at
  224 px, is about ``image_size / 19``);
* the objective is the one of the published FIDO code (see
  ``shared/notes/reference-implementations.md``): per-pixel drop logits starting at
  ``init_logit``, ``samples`` relaxed masks per step, the class log-odds
  ``z_c - logsumexp_{c'≠c} z_c'``, and ``ramp(i) (l1·L1 + tv·TV)`` with
  ``ramp(i) = min(i / warmup, 1)``; ``"ssr"`` keeps as little as possible while the
  class stays, ``"sdr"`` drops as little as possible so that it goes, ``"joint"``
  optimises both masks with one loss as that code does;
* the optimiser is that code's ``AdamW(lr=10, eps=0.1, weight_decay=0)`` (its ``l2``
  default is 0; torch's own AdamW default of 0.01 is a different optimiser here).

The noise ``u`` is drawn on the CPU in float32 from a seeded generator (and then
moved to the run's device and dtype, exactly), so two arms with *paired* noise get
bit-identical ``u`` — :attr:`VarianceResult.noise_digests` holds a SHA-256 of
every ``u`` an arm used, to check it — and a CPU and a GPU run of the same seed see
the same noise too.

The published code's simplified path, when the supplement was written, blended with its
Function's output as the *keep* rate while its L1 term read θ as a drop logit:
:data:`PUBLISHED_SIGN_ARM` (``Arm(sample_as="keep")``) runs it that way;
:data:`PUBLISHED_ARMS` uses the corrected sign. :meth:`VarianceResult.join` puts arms of
separate calls with the same config and paired noise side by side.

Modules: :mod:`.config` (arms, :class:`VarianceConfig`), :mod:`.problem` (test
problem, noise, loss, one step's gradient), :mod:`.runner` (:func:`run_experiment`),
:mod:`.storage` (:class:`VarianceResult`), :mod:`.compare` (:func:`compare`, which
applies the paired statistics of :mod:`fido_lib.stats` to two arms).
"""
from .compare import Comparison, compare
from .config import (
    ABLATION_ARMS,
    INPUTS,
    OBJECTIVES,
    OPTIMIZERS,
    PUBLISHED_ARMS,
    PUBLISHED_SIGN_ARM,
    SAMPLE_AS,
    Arm,
    VarianceConfig,
)
from .problem import Problem, StepGradient, draw_noise, make_classifier, make_problem, noise_seed, step_gradient
from .runner import run_experiment
from .storage import VarianceResult

__all__ = [
    "ABLATION_ARMS",
    "INPUTS",
    "OBJECTIVES",
    "OPTIMIZERS",
    "PUBLISHED_ARMS",
    "PUBLISHED_SIGN_ARM",
    "SAMPLE_AS",
    "Arm",
    "Comparison",
    "Problem",
    "StepGradient",
    "VarianceConfig",
    "VarianceResult",
    "compare",
    "draw_noise",
    "make_classifier",
    "make_problem",
    "noise_seed",
    "run_experiment",
    "step_gradient",
]
