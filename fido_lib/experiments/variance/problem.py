"""The variance experiment's fixed test problem, its noise, its loss and one step's gradient.

The classifier is a small random-init CNN built from ``model_seed`` (conv 3→8,
stride 2 → ReLU → conv 8→16, stride 2 → ReLU → global mean → linear 16→10,
He-normal weights, zero biases; no training, no download); the input is one
``N(0, 1)`` image of ``3 × image_size × image_size`` drawn from ``seed`` (or, with
``inputs="per_run"``, one such image per run); the target is the classifier's top-1
class on it; the infill is the input blurred by a Gaussian of ``blur_sigma`` pixels
with reflected edges.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from ..._util import check_int
from ...concrete import drop_mask
from ...ops import _log_odds as log_odds  # unchecked: a NaN here stops its run, it does not raise
from ...ops import _total_variation as total_variation  # unchecked: σ(θ) is finite
from ...ops import gaussian_blur
from .config import Arm, VarianceConfig, resolve_config

__all__ = ["Problem", "StepGradient", "draw_noise", "make_classifier", "make_problem", "noise_seed", "step_gradient"]


def make_classifier(model_seed: int = 0, num_classes: int = 10, width: int = 8) -> nn.Module:
    """A small random-init CNN, the same for the same ``model_seed`` on every machine.

    conv(3→w, 3×3, stride 2) → ReLU → conv(w→2w, 3×3, stride 2) → ReLU → global mean
    → linear(2w→classes); He-normal weights from a seeded generator, zero biases,
    ``eval()`` mode, parameters frozen (only the masks are optimised).
    """
    check_int("model_seed", model_seed, low=0)
    check_int("num_classes", num_classes, low=2)
    check_int("width", width, low=1)
    net = nn.Sequential(
        nn.Conv2d(3, width, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(width, 2 * width, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(2 * width, num_classes),
    )
    g = torch.Generator().manual_seed(model_seed)
    for module in net:
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu", generator=g)
            nn.init.zeros_(module.bias)
    net.eval()
    net.requires_grad_(False)
    return net


@dataclass
class Problem:
    """The fixed part of an experiment: classifier, input(s), infill(s) and target class(es).

    ``image`` and ``infill`` have shape ``(n, 3, H, W)`` and ``targets`` ``(n,)``:
    ``n = 1`` for one input shared by all runs, ``n = runs`` for one input per run.
    """

    classifier: nn.Module
    image: torch.Tensor  # (n, 3, H, W)
    infill: torch.Tensor  # (n, 3, H, W)
    targets: torch.Tensor  # (n,) int64, on the CPU

    @property
    def target(self) -> int:
        """The target class of a problem with one input (one per run: see ``targets``)."""
        if self.targets.numel() != 1:
            raise ValueError(f"this problem has {self.targets.numel()} inputs, each with its target; use .targets")
        return int(self.targets[0])


def make_problem(config: VarianceConfig | None = None, **overrides) -> Problem:
    """Build the classifier, the random input(s), the blurred infill(s) and the target class(es).

    ``config.inputs == "one"``: one input for all runs (the supplement's text);
    ``"per_run"``: one input per run (its Fig. 1 caption), drawn from the same
    generator, so run 0's input is the single input of ``"one"``. Everything is made
    on the CPU in float64 from ``config.model_seed`` / ``config.seed`` and then moved
    to ``config.device`` and ``config.dtype``, so the same seeds give the same
    problem on every device.
    """
    config = resolve_config(config, overrides)
    classifier = make_classifier(config.model_seed).to(torch.float64)
    g = torch.Generator().manual_seed(config.seed)
    n = 1 if config.inputs == "one" else config.runs
    image = torch.randn((n, 3, config.image_size, config.image_size), generator=g, dtype=torch.float64)
    infill = gaussian_blur(image, config.sigma, padding="reflect")
    with torch.no_grad():
        targets = classifier(image).argmax(1)
    dev, dtype = config.device, config.torch_dtype
    return Problem(classifier.to(dev, dtype), image.to(dev, dtype), infill.to(dev, dtype), targets)


def noise_seed(seed: int, arm_index: int, paired: bool) -> int:
    """The seed of the noise an arm uses: one for all arms if ``paired``, else one per arm."""
    entropy = [int(seed), 1, 0 if paired else int(arm_index) + 1]
    return int(np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint32)[0])


def draw_noise(generator: torch.Generator, config: VarianceConfig) -> torch.Tensor:
    """One step's noise ``u`` of shape ``(runs, masks, samples, H, W)``, float32, on the CPU.

    float32 ``torch.rand`` lies in [0, 1 - 2^-24] and is exact in float64, so the
    float32 and float64 experiments see the same ``u``.
    """
    s = config.image_size
    return torch.rand((config.runs, config.masks, config.samples, s, s), generator=generator, dtype=torch.float32)


def _losses(theta, u, arm: Arm, problem: Problem, config: VarianceConfig):
    """Per-run data term and regulariser for drop logits ``theta`` (runs, masks, H, W).

    The logits are expanded to one copy per sample, so that the gradient w.r.t. that
    copy is the per-sample gradient (their sum over samples is the gradient w.r.t. θ).
    The regulariser sums over pixels (the published code's L1 and TV), not means.
    """
    runs, masks, samples = u.shape[:3]
    theta_per_sample = theta[:, :, None].expand(-1, -1, samples, -1, -1)
    drop = drop_mask(theta_per_sample, relaxation=arm.relaxation, temp=arm.temp, u=u, eps=arm.eps)
    if arm.sample_as == "keep":  # the published simplified path: its output blended as the keep rate
        drop = 1 - drop
    drop = drop[:, :, :, None]  # (runs, masks, samples, 1, H, W): one mask for all channels
    # (n, 3, H, W) -> (n, 1, 1, 3, H, W): n = 1 broadcasts over the runs, n = runs gives run r input r
    image, infill = problem.image[:, None, None], problem.infill[:, None, None]
    images = image + drop * (infill - image)  # (1-drop)·x + drop·infill
    logits = problem.classifier(images.reshape(-1, *problem.image.shape[1:])).reshape(runs, masks * samples, -1)
    targets = problem.targets.tolist()
    if len(set(targets)) == 1:
        lo = log_odds(logits, targets[0])
    else:  # one input per run, with its own target: one call per target class
        lo = torch.empty(logits.shape[:2], dtype=logits.dtype, device=logits.device)
        for c in sorted(set(targets)):
            rows = torch.tensor([t == c for t in targets], device=logits.device)
            lo[rows] = log_odds(logits[rows], c)
    lo = lo.reshape(runs, masks, samples).mean(2)
    rate = torch.sigmoid(theta)  # expected drop rate
    if config.objective == "ssr":
        data = -lo[:, 0]
        l1 = (1 - rate[:, 0]).sum((-2, -1))
    elif config.objective == "sdr":
        data = lo[:, 0]
        l1 = rate[:, 0].sum((-2, -1))
    else:  # the published code's joint loss: SSR keeps, SDR drops, one optimiser
        data = lo[:, 1] - lo[:, 0]
        l1 = ((1 - rate[:, 0]).sum((-2, -1)) + rate[:, 1].sum((-2, -1))) / 2
    tv = total_variation(rate, reduction="sum").mean(1)
    return data, config.l1 * l1 + config.tv * tv, lo[:, 0], theta_per_sample


class StepGradient(NamedTuple):
    """One step's gradient w.r.t. the drop logits, in parts (shapes for ``runs, masks, samples, H, W``)."""

    data: torch.Tensor  # (runs, masks, H, W): the data term's gradient, summed over samples
    reg: torch.Tensor  # (runs, masks, H, W): the (ramped) regulariser's gradient
    per_sample: torch.Tensor  # (runs, masks, samples, H, W): the data term's gradient per sample
    log_odds: torch.Tensor  # (runs,): mean target log-odds of the first mask's samples


def step_gradient(theta, u, arm: Arm, problem: Problem, config: VarianceConfig, iteration: int = 0) -> StepGradient:
    """The gradient of one step's loss w.r.t. the drop logits ``theta``, in parts.

    ``theta`` has shape ``(runs, masks, H, W)`` and ``u`` ``(runs, masks, samples, H, W)``;
    loss = data + ramp(i) · (l1 · L1 + tv · TV) with ``ramp(i) = min(i / warmup, 1)``.
    The optimiser sees ``data + reg``.
    """
    if not theta.requires_grad:
        theta = theta.detach().requires_grad_()
    data, reg, lo, theta_per_sample = _losses(theta, u, arm, problem, config)
    (per_sample,) = torch.autograd.grad(data.sum(), theta_per_sample)
    ramp = min(iteration / config.warmup, 1.0) if config.warmup else 1.0
    if ramp > 0:
        (grad_reg,) = torch.autograd.grad(ramp * reg.sum(), theta)
    else:
        grad_reg = torch.zeros_like(theta)
    return StepGradient(per_sample.sum(2), grad_reg, per_sample, lo.detach())
