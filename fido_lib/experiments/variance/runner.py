"""Running the variance experiment: every arm's runs batched into one tensor of drop logits.

Every run of an experiment is one slice of a single batched tensor ``θ`` of shape
``(runs, masks, H, W)``: all runs take their optimiser steps together, which is
exactly the same as running them one after another (each run's loss depends only
on its own slice, and Adam/AdamW act element by element) but far faster.
"""
from __future__ import annotations

import dataclasses
import hashlib
import math
import time

import numpy as np
import torch

from ..._util import num_threads as torch_threads
from ..._util import synchronize
from .config import OPTIMIZERS, PUBLISHED_ARMS, Arm, VarianceConfig, resolve_config
from .problem import Problem, draw_noise, make_problem, noise_seed, step_gradient
from .storage import VarianceResult

__all__ = ["run_experiment"]


def _make_optimizer(params, config: VarianceConfig):
    cls, lr, eps, weight_decay = OPTIMIZERS[config.optimizer]
    weight_decay = config.weight_decay if config.weight_decay is not None else weight_decay
    lr = config.lr if config.lr is not None else lr
    eps = config.optimizer_eps if config.optimizer_eps is not None else eps
    return cls(params, lr=lr, eps=eps, weight_decay=weight_decay)


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
    nan = torch.tensor(math.nan, dtype=torch.float64, device=dev)

    def record(x):  # NaN for runs that have stopped
        return torch.where(alive, x.double(), nan)

    synchronize(dev)
    start = time.perf_counter()
    for i in range(config.iterations):
        u_cpu = draw_noise(generator, config)
        digest.update(u_cpu.numpy().tobytes())
        u = u_cpu.to(dev, dtype)
        step = step_gradient(theta, u, arm, problem, config, iteration=i)
        grad = step.data + step.reg
        alive &= torch.isfinite(grad.flatten(1)).all(1)  # in place: record() sees it
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
    synchronize(dev)
    seconds = time.perf_counter() - start
    # where each run's first mask ended: its mean drop rate σ(θ) over the pixels
    final_drop_rate = torch.sigmoid(theta.detach()[:, 0].double()).mean((-2, -1)).cpu().tolist()

    def as_np(t):  # (runs, iterations)
        return t.T.cpu().numpy()

    return (as_np(norms), as_np(data_norms), as_np(zeros), as_np(log_odds), digest.hexdigest(), seconds,
            final_drop_rate)


def _describe_device(device: str) -> str:
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    return device


def run_experiment(
    arms=PUBLISHED_ARMS, config: VarianceConfig | None = None, *, num_threads: int | None = 1, **overrides
) -> VarianceResult:
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
    first mask's samples; at the end, each run's mean drop rate ``σ(θ)`` of its
    first mask (:attr:`VarianceResult.final_drop_rate`). All arms of one call see
    the same problem.
    """
    config = resolve_config(config, overrides)
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

    with torch_threads(num_threads):
        threads = torch.get_num_threads()
        problem = make_problem(config)
        out = [_run_arm(a, k, problem, config) for k, a in enumerate(arms)]
    metadata = {
        "config": dataclasses.asdict(config),
        "arms": [dataclasses.asdict(a) for a in arms],
        "targets": problem.targets.tolist(),
        "seconds": [o[5] for o in out],
        "noise_digests": [o[4] for o in out],
        "final_drop_rate": [o[6] for o in out],
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
