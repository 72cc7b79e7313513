"""The supplement's gradient-variance experiment (Korsch et al., GCPR 2023, Sect. S2).

S2 generates one random input, fits FIDO-style dropout masks on it with either
relaxation for 100 iterations, records the L2 norm of the gradient with respect to
the dropout parameters at every iteration, repeats that 30 times and compares the
spread of the norms (its Fig. 1a: the norms of every run; Fig. 1b: their standard
deviation across runs).

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
  ``seed``; the target class is the classifier's top-1 class on it;
* the infill is the input blurred by a Gaussian of ``blur_sigma`` pixels (default
  ``image_size / 16``, 2 px at 32 px; the published code's blur, σ ≈ 11.6 px at
  224 px, is about ``image_size / 19``);
* the objective is the one of the published FIDO code (see
  ``shared/notes/reference-implementations.md``): per-pixel drop logits starting at
  ``init_logit``, ``samples`` relaxed masks per step, the class log-odds
  ``z_c - logsumexp_{c'≠c} z_c'``, and ``ramp(i) (l1·L1 + tv·TV)`` with
  ``ramp(i) = min(i / warmup, 1)``; ``"ssr"`` keeps as little as possible while the
  class stays, ``"sdr"`` drops as little as possible so that it goes, ``"joint"``
  optimises both masks with one loss as that code does.

The noise ``u`` is drawn on the CPU in float32 from a seeded generator (and then
moved to the run's device and dtype, exactly), so two arms with *paired* noise get
bit-identical ``u`` — :attr:`VarianceResult.noise_digests` holds a SHA-256 of
every ``u`` an arm used, to check it — and a CPU and a GPU run of the same seed see
the same noise too.

Statistics for comparing two arms run by run (numpy and math only):
:func:`per_run_std`, :func:`per_run_step_noise`, :func:`across_run_std`, an exact
:func:`sign_test`, an exact :func:`wilcoxon_signed_rank`, a seeded
:func:`bootstrap_median_ratio_ci`, and :func:`compare`, which applies them all.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import numbers
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from .concrete import RELAXATIONS, drop_mask

__all__ = [
    "ABLATION_ARMS",
    "MEASURES",
    "OBJECTIVES",
    "OPTIMIZERS",
    "PUBLISHED_ARMS",
    "Arm",
    "Comparison",
    "Problem",
    "StepGradient",
    "VarianceConfig",
    "VarianceResult",
    "across_run_std",
    "bootstrap_median_ratio_ci",
    "compare",
    "draw_noise",
    "make_classifier",
    "make_problem",
    "noise_seed",
    "per_run_std",
    "per_run_step_noise",
    "run_experiment",
    "sign_test",
    "step_gradient",
    "wilcoxon_signed_rank",
]

OBJECTIVES = ("ssr", "sdr", "joint")
#: name -> (torch class, default lr, default eps, default weight decay).
#: "adamw" is the published FIDO code's optimiser (lr 10, eps 0.1, torch's default
#: weight decay 0.01); "adam" is a conventional choice at lr 0.1.
OPTIMIZERS = {
    "adamw": (torch.optim.AdamW, 10.0, 0.1, 0.01),
    "adam": (torch.optim.Adam, 0.1, 1e-8, 0.0),
}
_DTYPES = {"float32": torch.float32, "float64": torch.float64}


# --------------------------------------------------------------------------- checks
def _real(name, value, *, low=None, high=None, low_open=False, high_open=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    bad = not math.isfinite(value)
    bad |= low is not None and (value <= low if low_open else value < low)
    bad |= high is not None and (value >= high if high_open else value > high)
    if bad:
        lo = "" if low is None else f"{'>' if low_open else '>='} {low:g}"
        hi = "" if high is None else f"{'<' if high_open else '<='} {high:g}"
        allowed = " and ".join(s for s in (lo, hi) if s) or "finite"
        raise ValueError(f"{name} must be a finite number {allowed}, got {value!r}")
    return value


def _integer(name, value, *, low):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value}")
    return int(value)


def _device_name(device) -> str:
    """Normalise and check ``device``; a device that is not present is an error."""
    if isinstance(device, torch.device):
        device = str(device)
    if not isinstance(device, str):
        raise TypeError(f"device must be a str or torch.device, got {type(device).__name__}")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ValueError(f"device must be 'cpu', 'cuda', 'cuda:N' or 'mps', got {device!r}") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {device!r} was asked for, but torch.cuda.is_available() is False")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"device {device!r}: only {torch.cuda.device_count()} CUDA device(s) present")
    elif dev.type == "mps":
        if not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise ValueError(f"device {device!r} was asked for, but torch.backends.mps.is_available() is False")
    elif dev.type != "cpu":
        raise ValueError(f"device must be 'cpu', 'cuda', 'cuda:N' or 'mps', got {device!r}")
    return str(dev)


# --------------------------------------------------------------------------- arms
@dataclass(frozen=True)
class Arm:
    """One implementation setting of the experiment: a relaxation at a temperature.

    ``relaxation`` is a name :func:`fido_lib.concrete.drop_mask` accepts (``"gal"``,
    ``"paper"``, ``"stable"``); ``eps`` only matters for ``"gal"``.
    """

    label: str
    relaxation: str
    temp: float
    eps: float = 1e-7

    def __post_init__(self):
        if not isinstance(self.label, str) or not self.label:
            raise ValueError(f"label must be a non-empty string, got {self.label!r}")
        if self.relaxation not in RELAXATIONS:
            raise ValueError(
                f"relaxation must be one of {', '.join(map(repr, RELAXATIONS))}; got {self.relaxation!r}"
            )
        _real("temp", self.temp, low=0.0, low_open=True)
        _real("eps", self.eps, low=0.0, high=1.0, high_open=True)


#: The settings of the published code: Gal et al.'s formula at T = 0.1 with the
#: code's eps = 2.2e-16 ("original") against the paper's Function at T = 1.0
#: ("simplified"). Formula *and* temperature change together.
PUBLISHED_ARMS = (
    Arm("original", "gal", temp=0.1, eps=2.2e-16),
    Arm("simplified", "paper", temp=1.0),
)

#: The 2 × 2 that separates the two changes: {Gal, paper} × {T = 0.1, T = 1.0}.
ABLATION_ARMS = (
    Arm("gal T=0.1", "gal", temp=0.1, eps=2.2e-16),
    Arm("paper T=0.1", "paper", temp=0.1),
    Arm("gal T=1.0", "gal", temp=1.0, eps=2.2e-16),
    Arm("paper T=1.0", "paper", temp=1.0),
)


# --------------------------------------------------------------------------- config
@dataclass(frozen=True)
class VarianceConfig:
    """Everything but the arms that defines an experiment (defaults: S2's 30 × 100).

    ``optimizer``: ``"adamw"`` (the published code's: lr 10, eps 0.1) or ``"adam"``
    (lr 0.1); ``lr`` / ``optimizer_eps`` of ``None`` take those defaults.
    ``paired``: every arm gets the same noise ``u`` in a run (``True``) or its own.
    ``dtype``: ``"float32"`` or ``"float64"`` (a torch dtype is accepted and stored
    by name); ``device``: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``, which
    must be present.
    """

    runs: int = 30
    iterations: int = 100
    samples: int = 8
    objective: str = "ssr"
    optimizer: str = "adamw"
    lr: float | None = None
    optimizer_eps: float | None = None
    l1: float = 1e-3
    tv: float = 1e-2
    warmup: int = 5
    init_logit: float = 0.0
    image_size: int = 32
    blur_sigma: float | None = None
    dtype: str = "float32"
    device: str = "cpu"
    seed: int = 0
    model_seed: int = 0
    paired: bool = True

    def __post_init__(self):
        _integer("runs", self.runs, low=1)
        _integer("iterations", self.iterations, low=1)
        _integer("samples", self.samples, low=1)
        _integer("warmup", self.warmup, low=0)
        _integer("image_size", self.image_size, low=8)
        _integer("seed", self.seed, low=0)
        _integer("model_seed", self.model_seed, low=0)
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {', '.join(map(repr, OBJECTIVES))}; got {self.objective!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {', '.join(map(repr, OPTIMIZERS))}; got {self.optimizer!r}")
        if self.lr is not None:
            _real("lr", self.lr, low=0.0, low_open=True)
        if self.optimizer_eps is not None:
            _real("optimizer_eps", self.optimizer_eps, low=0.0, low_open=True)
        _real("l1", self.l1, low=0.0)
        _real("tv", self.tv, low=0.0)
        _real("init_logit", self.init_logit)
        if self.blur_sigma is not None:
            _real("blur_sigma", self.blur_sigma, low=0.0, low_open=True)
        if not isinstance(self.paired, bool):
            raise TypeError(f"paired must be a bool, got {type(self.paired).__name__}")
        dtype = self.dtype
        if isinstance(dtype, torch.dtype):
            dtype = str(dtype).removeprefix("torch.")
        if dtype not in _DTYPES:
            raise ValueError(f"dtype must be 'float32' or 'float64' (or the torch dtypes), got {self.dtype!r}")
        object.__setattr__(self, "dtype", dtype)
        device = _device_name(self.device)
        if device.startswith("mps") and dtype == "float64":
            raise ValueError("dtype 'float64' is not supported on device 'mps'; use 'float32'")
        object.__setattr__(self, "device", device)

    @property
    def torch_dtype(self) -> torch.dtype:
        return _DTYPES[self.dtype]

    @property
    def masks(self) -> int:
        return 2 if self.objective == "joint" else 1

    @property
    def sigma(self) -> float:
        return self.blur_sigma if self.blur_sigma is not None else self.image_size / 16


# --------------------------------------------------------------------------- problem
def make_classifier(model_seed: int = 0, num_classes: int = 10, width: int = 8) -> nn.Module:
    """A small random-init CNN, the same for the same ``model_seed`` on every machine.

    conv(3→w, 3×3, stride 2) → ReLU → conv(w→2w, 3×3, stride 2) → ReLU → global mean
    → linear(2w→classes); He-normal weights from a seeded generator, zero biases,
    ``eval()`` mode, parameters frozen (only the masks are optimised).
    """
    _integer("model_seed", model_seed, low=0)
    _integer("num_classes", num_classes, low=2)
    _integer("width", width, low=1)
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


def _gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    radius = max(1, int(math.ceil(3 * sigma)))
    radius = min(radius, x.shape[-1] - 1)  # reflect padding needs radius < size
    t = torch.arange(-radius, radius + 1, dtype=torch.float64)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = (k / k.sum()).to(x.dtype)
    c = x.shape[1]
    x = nn.functional.pad(x, (radius, radius, radius, radius), mode="reflect")
    x = nn.functional.conv2d(x, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return nn.functional.conv2d(x, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


@dataclass
class Problem:
    """The fixed part of an experiment: classifier, input, infill and target class."""

    classifier: nn.Module
    image: torch.Tensor  # (1, 3, H, W)
    infill: torch.Tensor  # (1, 3, H, W)
    target: int


def make_problem(config: VarianceConfig | None = None, **overrides) -> Problem:
    """Build the classifier, the random input, its blurred infill and the target class.

    Everything is made on the CPU in float64 from ``config.model_seed`` /
    ``config.seed`` and then moved to ``config.device`` and ``config.dtype``, so the
    same seeds give the same problem on every device.
    """
    config = _config(config, overrides)
    classifier = make_classifier(config.model_seed).to(torch.float64)
    g = torch.Generator().manual_seed(config.seed)
    image = torch.randn((1, 3, config.image_size, config.image_size), generator=g, dtype=torch.float64)
    infill = _gaussian_blur(image, config.sigma)
    with torch.no_grad():
        target = int(classifier(image).argmax(1))
    dev, dtype = config.device, config.torch_dtype
    return Problem(classifier.to(dev, dtype), image.to(dev, dtype), infill.to(dev, dtype), target)


def _config(config, overrides) -> VarianceConfig:
    if config is None:
        return VarianceConfig(**overrides)
    if not isinstance(config, VarianceConfig):
        raise TypeError(f"config must be a VarianceConfig or None, got {type(config).__name__}")
    return dataclasses.replace(config, **overrides) if overrides else config


# --------------------------------------------------------------------------- noise
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


# --------------------------------------------------------------------------- objective
def _log_odds(logits: torch.Tensor, target: int) -> torch.Tensor:
    others = logits.clone()
    others[:, target] = -math.inf
    return logits[:, target] - torch.logsumexp(others, dim=1)


def _total_variation(rate: torch.Tensor) -> torch.Tensor:
    """Sum of absolute neighbour differences over the last two axes (anisotropic L1 TV)."""
    dh = (rate[..., 1:, :] - rate[..., :-1, :]).abs().sum((-2, -1))
    dw = (rate[..., :, 1:] - rate[..., :, :-1]).abs().sum((-2, -1))
    return dh + dw


def _losses(theta, u, arm: Arm, problem: Problem, config: VarianceConfig):
    """Per-run data term and regulariser for drop logits ``theta`` (runs, masks, H, W).

    The logits are expanded to one copy per sample, so that the gradient w.r.t. that
    copy is the per-sample gradient (their sum over samples is the gradient w.r.t. θ).
    """
    runs, masks, samples = u.shape[:3]
    theta_per_sample = theta[:, :, None].expand(-1, -1, samples, -1, -1)
    drop = drop_mask(theta_per_sample, relaxation=arm.relaxation, temp=arm.temp, u=u, eps=arm.eps)
    drop = drop[:, :, :, None]  # (runs, masks, samples, 1, H, W): one mask for all channels
    images = problem.image + drop * (problem.infill - problem.image)  # (1-drop)·x + drop·infill
    logits = problem.classifier(images.reshape(-1, *problem.image.shape[1:]))
    log_odds = _log_odds(logits, problem.target).reshape(runs, masks, samples).mean(2)
    rate = torch.sigmoid(theta)  # expected drop rate
    if config.objective == "ssr":
        data = -log_odds[:, 0]
        l1 = (1 - rate[:, 0]).sum((-2, -1))
    elif config.objective == "sdr":
        data = log_odds[:, 0]
        l1 = rate[:, 0].sum((-2, -1))
    else:  # the published code's joint loss: SSR keeps, SDR drops, one optimiser
        data = log_odds[:, 1] - log_odds[:, 0]
        l1 = ((1 - rate[:, 0]).sum((-2, -1)) + rate[:, 1].sum((-2, -1))) / 2
    tv = _total_variation(rate).mean(1)
    return data, config.l1 * l1 + config.tv * tv, log_odds[:, 0], theta_per_sample


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
    data, reg, log_odds, theta_per_sample = _losses(theta, u, arm, problem, config)
    (per_sample,) = torch.autograd.grad(data.sum(), theta_per_sample)
    ramp = min(iteration / config.warmup, 1.0) if config.warmup else 1.0
    if ramp > 0:
        (grad_reg,) = torch.autograd.grad(ramp * reg.sum(), theta)
    else:
        grad_reg = torch.zeros_like(theta)
    return StepGradient(per_sample.sum(2), grad_reg, per_sample, log_odds.detach())


# --------------------------------------------------------------------------- run
def _make_optimizer(params, config: VarianceConfig):
    cls, lr, eps, weight_decay = OPTIMIZERS[config.optimizer]
    lr = config.lr if config.lr is not None else lr
    eps = config.optimizer_eps if config.optimizer_eps is not None else eps
    return cls(params, lr=lr, eps=eps, weight_decay=weight_decay)


def _synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    elif device.startswith("mps"):
        torch.mps.synchronize()


def _run_arm(arm: Arm, arm_index: int, problem: Problem, config: VarianceConfig):
    dev, dtype = config.device, config.torch_dtype
    shape = (config.runs, config.masks, config.image_size, config.image_size)
    theta = torch.full(shape, float(config.init_logit), dtype=dtype, device=dev, requires_grad=True)
    optimizer = _make_optimizer([theta], config)
    generator = torch.Generator().manual_seed(noise_seed(config.seed, arm_index, config.paired))
    digest = hashlib.sha256()
    norms = torch.empty((config.iterations, config.runs), dtype=torch.float64, device=dev)
    data_norms = torch.empty_like(norms)
    zeros = torch.empty_like(norms)
    log_odds = torch.empty_like(norms)
    # a run whose gradient turns NaN/inf is stopped there (its θ is kept, its later
    # entries are NaN): the other runs of the batch go on unaffected
    alive = torch.ones(config.runs, dtype=torch.bool, device=dev)
    _synchronize(dev)
    start = time.perf_counter()
    for i in range(config.iterations):
        u_cpu = draw_noise(generator, config)
        digest.update(u_cpu.numpy().tobytes())
        u = u_cpu.to(dev, dtype)
        step = step_gradient(theta, u, arm, problem, config, iteration=i)
        grad = step.data + step.reg
        alive &= torch.isfinite(grad.flatten(1)).all(1)
        nan = torch.tensor(math.nan, dtype=torch.float64, device=dev)
        record = lambda x: torch.where(alive, x.double(), nan)  # noqa: E731
        norms[i] = record(torch.linalg.vector_norm(grad.flatten(1).double(), dim=1))
        data_norms[i] = record(torch.linalg.vector_norm(step.data.flatten(1).double(), dim=1))
        zeros[i] = record((step.per_sample == 0).flatten(1).double().mean(1))
        log_odds[i] = record(step.log_odds)
        keep = alive.view(-1, 1, 1, 1)
        before = theta.detach().clone()
        theta.grad = torch.where(keep, grad, torch.zeros((), dtype=dtype, device=dev))
        optimizer.step()
        with torch.no_grad():
            theta.copy_(torch.where(keep, theta, before))
    _synchronize(dev)
    seconds = time.perf_counter() - start
    as_np = lambda t: t.T.cpu().numpy()  # noqa: E731  (runs, iterations)
    return as_np(norms), as_np(data_norms), as_np(zeros), as_np(log_odds), digest.hexdigest(), seconds


def run_experiment(
    arms=PUBLISHED_ARMS, config: VarianceConfig | None = None, *, num_threads: int | None = 1, **overrides
) -> "VarianceResult":
    """Run every arm for ``runs × iterations`` steps and record the gradient norms.

    Parameters
    ----------
    arms : sequence of :class:`Arm`
        The implementation settings to compare (default :data:`PUBLISHED_ARMS`).
    config : VarianceConfig, optional
        The experiment; keyword arguments override its fields (or build one), e.g.
        ``run_experiment(ABLATION_ARMS, runs=10, optimizer="adam")``.
    num_threads : int or None, default 1
        CPU threads for torch during the run (restored afterwards); ``None`` leaves
        torch's setting. One by default: the steps are small, and on a shared
        2-core machine two threads made the 30 × 100 experiment 7x slower (they
        spin waiting for each other). The numbers do not depend on it.

    Records, per arm, run and iteration: the L2 norm of the full gradient w.r.t. the
    drop logits (what the optimiser sees) and of its data term alone, the fraction
    of exactly-zero entries of the data term's per-sample gradient (where the
    relaxation's derivative rounded to 0), and the mean target log-odds of the
    first mask's samples. All arms of one call see the same problem.
    """
    config = _config(config, overrides)
    if isinstance(arms, Arm):
        raise TypeError("arms must be a sequence of Arm, got a single Arm; wrap it: [arm]")
    try:
        arms = tuple(arms)
    except TypeError:
        raise TypeError(f"arms must be a sequence of Arm, got {type(arms).__name__}") from None
    if not arms:
        raise ValueError("arms must hold at least one Arm, got none")
    for a in arms:
        if not isinstance(a, Arm):
            raise TypeError(f"arms must hold Arm objects, got {type(a).__name__}")
    labels = [a.label for a in arms]
    if len(set(labels)) != len(labels):
        raise ValueError(f"arms must have distinct labels, got {labels}")

    if num_threads is not None:
        _integer("num_threads", num_threads, low=1)
    previous_threads = torch.get_num_threads()
    try:
        if num_threads is not None:
            torch.set_num_threads(num_threads)
        threads = torch.get_num_threads()
        problem = make_problem(config)
        out = [_run_arm(a, k, problem, config) for k, a in enumerate(arms)]
    finally:
        torch.set_num_threads(previous_threads)
    metadata = {
        "config": dataclasses.asdict(config),
        "arms": [dataclasses.asdict(a) for a in arms],
        "target": problem.target,
        "seconds": [o[5] for o in out],
        "noise_digests": [o[4] for o in out],
        "torch": torch.__version__,
        "device_name": _describe_device(config.device),
        "threads": threads,
    }
    return VarianceResult(
        labels=tuple(labels),
        grad_norm=np.stack([o[0] for o in out]),
        data_grad_norm=np.stack([o[1] for o in out]),
        zero_fraction=np.stack([o[2] for o in out]),
        log_odds=np.stack([o[3] for o in out]),
        metadata=metadata,
    )


def _describe_device(device: str) -> str:
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    return device


# --------------------------------------------------------------------------- result
@dataclass
class VarianceResult:
    """Traces of an experiment; arrays have shape ``(arms, runs, iterations)``.

    ``grad_norm``: L2 norm of the gradient w.r.t. the drop logits; ``data_grad_norm``:
    the same for the data term alone (the part that carries the noise); ``zero_fraction``:
    fraction of exactly-zero entries of the data term's per-sample gradient; ``log_odds``: mean
    target log-odds of the (first) mask's samples. ``metadata`` is JSON-able: the
    config, the arms, seconds per arm, the noise digests, torch version, device.
    A run whose gradient turned NaN or inf was stopped at that iteration: its
    entries from there on are NaN (see :attr:`stopped_runs`).
    """

    labels: tuple
    grad_norm: np.ndarray
    data_grad_norm: np.ndarray
    zero_fraction: np.ndarray
    log_odds: np.ndarray
    metadata: dict = field(default_factory=dict)

    _ARRAYS = ("grad_norm", "data_grad_norm", "zero_fraction", "log_odds")

    def index(self, label: str) -> int:
        try:
            return self.labels.index(label)
        except ValueError:
            raise ValueError(f"label must be one of {list(self.labels)}, got {label!r}") from None

    def trace(self, label: str) -> np.ndarray:
        """The ``(runs, iterations)`` gradient norms of one arm."""
        return self.grad_norm[self.index(label)]

    @property
    def noise_digests(self) -> dict:
        """SHA-256 of all the noise each arm used: equal digests = bit-identical ``u``."""
        return dict(zip(self.labels, self.metadata["noise_digests"]))

    @property
    def stopped_runs(self) -> dict:
        """How many runs of each arm hit a NaN/inf gradient (and were stopped there)."""
        return dict(zip(self.labels, np.isnan(self.grad_norm).any(axis=2).sum(axis=1).tolist()))

    @property
    def seconds(self) -> dict:
        return dict(zip(self.labels, self.metadata["seconds"]))

    def save(self, path) -> Path:
        """Write one ``.npz`` (the arrays plus the metadata as a JSON string); no pickle."""
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_suffix(path.suffix + ".npz")
        meta = json.dumps({"labels": list(self.labels), **self.metadata}, sort_keys=True)
        np.savez(path, metadata=np.array(meta), **{k: getattr(self, k) for k in self._ARRAYS})
        return path

    @classmethod
    def load(cls, path) -> "VarianceResult":
        with np.load(Path(path), allow_pickle=False) as f:
            meta = json.loads(str(f["metadata"]))
            arrays = {k: f[k].copy() for k in cls._ARRAYS}
        labels = tuple(meta.pop("labels"))
        return cls(labels=labels, metadata=meta, **arrays)


# --------------------------------------------------------------------------- statistics
def _as_trace(trace) -> np.ndarray:
    trace = np.asarray(trace, dtype=np.float64)
    if trace.ndim != 2:
        raise ValueError(f"trace must have shape (runs, iterations), got {trace.shape}")
    return trace


def per_run_std(trace, skip: int = 0) -> np.ndarray:
    """Std (ddof 1) over iterations ``skip:`` of each run's gradient-norm trace: shape (runs,).

    It measures the trend of a run as well as its noise: a norm that climbs while
    the regulariser warms up has a large std without any noise at all.
    """
    trace = _as_trace(trace)
    _integer("skip", skip, low=0)
    if trace.shape[1] - skip < 2:
        raise ValueError(f"skip={skip} leaves fewer than 2 of {trace.shape[1]} iterations")
    return trace[:, skip:].std(axis=1, ddof=1)


def per_run_step_noise(trace, skip: int = 0) -> np.ndarray:
    """Noise of each run's trace without its trend: ``std(g[i+1] - g[i]) / √2`` over iterations ``skip:``.

    For a slowly varying trend plus independent noise of std ``s`` per iteration,
    successive differences cancel the trend and have std ``s √2``.
    """
    trace = _as_trace(trace)
    _integer("skip", skip, low=0)
    if trace.shape[1] - skip < 3:
        raise ValueError(f"skip={skip} leaves fewer than 3 of {trace.shape[1]} iterations")
    return np.diff(trace[:, skip:], axis=1).std(axis=1, ddof=1) / math.sqrt(2)


def across_run_std(trace) -> np.ndarray:
    """Std (ddof 1) across runs at each iteration (the supplement's Fig. 1b): shape (iterations,)."""
    trace = _as_trace(trace)
    if trace.shape[0] < 2:
        raise ValueError(f"across-run std needs at least 2 runs, got {trace.shape[0]}")
    return trace.std(axis=0, ddof=1)


def _paired(x, y):
    x, y = np.asarray(x, dtype=np.float64).ravel(), np.asarray(y, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same length, got {x.size} and {y.size}")
    if x.size == 0:
        raise ValueError("x and y must not be empty")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("x and y must be finite (leave out runs with NaN/inf first)")
    return x, y


def sign_test(x, y) -> float:
    """Exact two-sided sign test of ``median(x - y) = 0``; ties are dropped."""
    x, y = _paired(x, y)
    d = x - y
    n_pos, n = int((d > 0).sum()), int((d != 0).sum())
    if n == 0:
        return 1.0
    k = min(n_pos, n - n_pos)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


def wilcoxon_signed_rank(x, y):
    """Exact two-sided Wilcoxon signed-rank test of ``x - y`` symmetric about 0.

    Zero differences are dropped; tied ``|d|`` get mid-ranks, and the p-value comes
    from the exact permutation distribution of the signed (mid-)ranks, counted by
    dynamic programming over twice the ranks (integers). Returns ``(W+, p)``.
    """
    x, y = _paired(x, y)
    d = x - y
    d = d[d != 0]
    n = d.size
    if n == 0:
        return 0.0, 1.0
    a = np.abs(d)
    order = np.argsort(a, kind="mergesort")
    ranks2 = np.empty(n, dtype=np.int64)  # twice the mid-ranks: integers
    i = 0
    while i < n:
        j = i
        while j + 1 < n and a[order[j + 1]] == a[order[i]]:
            j += 1
        ranks2[order[i : j + 1]] = i + j + 2  # 2 * mean of ranks i+1 .. j+1
        i = j + 1
    w2 = int(ranks2[d > 0].sum())
    total = int(ranks2.sum())
    counts = np.zeros(total + 1, dtype=object)  # exact integers; n ≤ a few hundred
    counts[0] = 1
    for r in ranks2:
        counts[r:] = counts[r:] + counts[: total + 1 - r].copy()
    low = min(w2, total - w2)
    tail = sum(counts[: low + 1])
    p = min(1.0, 2 * float(tail) / float(2**n))
    return w2 / 2, p


def bootstrap_median_ratio_ci(numerator, denominator, *, n_boot: int = 10_000, level: float = 0.95, seed: int = 0):
    """Median of the per-run ratios ``numerator / denominator`` and a percentile bootstrap CI.

    Runs are resampled with replacement (pairs kept together) from a seeded NumPy
    generator. Returns ``(median, (low, high))``.
    """
    num, den = _paired(numerator, denominator)
    _integer("n_boot", n_boot, low=1)
    _real("level", level, low=0.0, high=1.0, low_open=True, high_open=True)
    ratio = num / den
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, ratio.size, size=(n_boot, ratio.size))
    medians = np.median(ratio[idx], axis=1)
    alpha = (1 - level) / 2
    low, high = np.quantile(medians, [alpha, 1 - alpha])
    return float(np.median(ratio)), (float(low), float(high))


MEASURES = {"std": per_run_std, "step": per_run_step_noise}


@dataclass(frozen=True)
class Comparison:
    """Arm ``b`` against arm ``a`` on a per-run measure of the gradient-norm trace."""

    a: str
    b: str
    measure: str  # "std" (per-run std) or "step" (per-run step-to-step noise)
    skip: int
    runs: int  # runs compared
    left_out: int  # runs left out because either arm's gradient turned NaN/inf
    paired: bool  # whether the arms shared their noise (else runs are matched by index only)
    b_lower: int
    a_lower: int
    median_ratio: float  # median over runs of measure_b / measure_a
    ci: tuple  # seeded bootstrap 95 % interval of that median
    p_sign: float
    p_wilcoxon: float
    across_run_ratio: float  # median over iterations of across-run std, b / a

    def __str__(self):
        return (
            f"{self.b} vs {self.a} ({self.measure}, iterations {self.skip}+): lower for {self.b} in "
            f"{self.b_lower}/{self.runs} runs, for {self.a} in {self.a_lower}; median ratio "
            f"{self.median_ratio:.3f} [95% CI {self.ci[0]:.3f}, {self.ci[1]:.3f}]; sign test p = "
            f"{self.p_sign:.2g}, Wilcoxon p = {self.p_wilcoxon:.2g}; across-run std ratio "
            f"{self.across_run_ratio:.3f}"
            + (f"; {self.left_out} stopped run(s) left out" if self.left_out else "")
            + ("" if self.paired else "; noise NOT paired: runs matched by index only")
        )


def compare(
    result: VarianceResult,
    a: str,
    b: str,
    *,
    measure: str = "std",
    skip: int = 0,
    data_term: bool = False,
    seed: int = 0,
    n_boot: int = 10_000,
) -> Comparison:
    """Paired statistics of arm ``b`` against arm ``a`` (same runs, ideally paired noise).

    Per run, ``measure`` of the gradient-norm trace from iteration ``skip`` on:
    ``"std"`` (:func:`per_run_std`) or ``"step"`` (:func:`per_run_step_noise`);
    ``data_term=True`` uses the data term's gradient instead of the full one.
    Reports how many runs favour each arm, the median ratio ``b / a`` with a seeded
    bootstrap 95 % CI, an exact sign test, an exact Wilcoxon signed-rank test, and
    the median over iterations of the ratio of across-run stds. Runs stopped by a
    NaN/inf gradient in either arm are left out (and counted in ``left_out``).
    The paired tests assume paired noise; on a ``paired=False`` result run k of one
    arm is matched with run k of the other only by its index (``paired`` says so).
    """
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {', '.join(map(repr, MEASURES))}; got {measure!r}")
    traces = result.data_grad_norm if data_term else result.grad_norm
    ta, tb = traces[result.index(a)], traces[result.index(b)]
    # runs stopped by a NaN/inf gradient (in either arm) have no measure: left out
    complete = ~(np.isnan(ta).any(1) | np.isnan(tb).any(1))
    if complete.sum() < 2:
        raise ValueError(
            f"arms {a!r} and {b!r} have {int(complete.sum())} run(s) without NaN/inf gradients; "
            "a comparison needs at least 2 (see VarianceResult.stopped_runs)"
        )
    ta, tb = ta[complete], tb[complete]
    sa, sb = MEASURES[measure](ta, skip), MEASURES[measure](tb, skip)
    median, ci = bootstrap_median_ratio_ci(sb, sa, n_boot=n_boot, seed=seed)
    across = np.median(across_run_std(tb[:, skip:]) / across_run_std(ta[:, skip:]))
    return Comparison(
        a=a,
        b=b,
        measure=measure,
        skip=skip,
        runs=sa.size,
        left_out=int((~complete).sum()),
        paired=bool(result.metadata.get("config", {}).get("paired", True)),
        b_lower=int((sb < sa).sum()),
        a_lower=int((sa < sb).sum()),
        median_ratio=median,
        ci=ci,
        p_sign=sign_test(sb, sa),
        p_wilcoxon=wilcoxon_signed_rank(sb, sa)[1],
        across_run_ratio=float(across),
    )
