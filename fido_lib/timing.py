"""Wall-clock timing of forward + backward passes, measured side by side.

Used by ``benchmarks/concrete_ops.py`` and notebook 03. A timing taken alone on a
shared machine says little; a *ratio* to a reference measured in the same run, with
the variants interleaved (one call of each per round, the order rotated every round)
so that load drift hits all of them alike, says more. The result is the median over
rounds.
"""
from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable, Mapping

import torch

from ._util import check_int, num_threads, resolve_device, synchronize

__all__ = ["MAX_REPEATS", "cpu_name", "forward_backward", "format_seconds", "load_average", "machine_description",
           "memory_bound_reference", "median_times"]

#: Most rounds :func:`median_times` runs (``repeats``, ``warmup``): each calls every closure once.
MAX_REPEATS = 10_000


def forward_backward(fn: Callable, logit: torch.Tensor, temp: float, u: torch.Tensor) -> Callable[[], None]:
    """A closure that runs ``fn(logit, temp, u)`` and its backward pass once.

    ``logit`` is copied into a fresh leaf that requires a gradient; the backward pass
    gets an all-ones ``grad_output`` made once, so each call times exactly one forward
    and one backward (its ``.grad`` is reset to ``None`` first, so nothing accumulates).
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    if not isinstance(logit, torch.Tensor) or not logit.is_floating_point():
        raise TypeError(f"logit must be a floating-point torch.Tensor, got {type(logit).__name__}")
    leaf = logit.detach().clone().requires_grad_()
    grad_output = torch.ones(torch.broadcast_shapes(leaf.shape, u.shape), dtype=leaf.dtype, device=leaf.device)

    def run():
        leaf.grad = None
        fn(leaf, temp, u).backward(grad_output)

    return run


def memory_bound_reference(x: torch.Tensor) -> Callable[[], None]:
    """A closure computing ``x.clone() * 2``: one read, two writes, one more read of ``x``'s size.

    Element-wise work on large tensors is limited by memory traffic; this is the
    cheapest honest yardstick of that traffic on the machine at hand.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")

    def run():
        x.clone() * 2

    return run


def median_times(runs: Mapping[str, Callable[[], object]], repeats: int = 7, warmup: int = 1,
                 device=None, threads: int | None = None) -> dict[str, float]:
    """Median seconds per call of each closure in ``runs``, timed interleaved.

    ``warmup`` untimed rounds first (compilation, allocator caches), then ``repeats``
    rounds; round ``r`` calls the closures once each, starting at the ``r``-th
    (rotated), so none is always first or last. ``device``: when it is a CUDA or MPS
    device, each call is bracketed by a synchronisation (CPU calls are synchronous).
    ``threads``: torch's CPU threads while timing (restored afterwards); on a busy
    machine one thread avoids waiting for a descheduled second one.
    """
    if not isinstance(runs, Mapping):
        raise TypeError(f"runs must be a non-empty mapping of name -> callable, got {type(runs).__name__}")
    if not runs:
        raise ValueError("runs must be a non-empty mapping of name -> callable, got an empty one")
    for name, run in runs.items():
        if not callable(run):
            raise TypeError(f"runs[{name!r}] must be callable, got {type(run).__name__}")
    check_int("repeats", repeats, low=1, high=MAX_REPEATS)
    check_int("warmup", warmup, low=0, high=MAX_REPEATS)
    if threads is not None:
        check_int("threads", threads, low=1, high=1024)
    if device is not None:
        device = resolve_device(device)
    with num_threads(threads):
        return _interleaved_medians(runs, repeats, warmup, device)


def _interleaved_medians(runs, repeats, warmup, device):
    names = list(runs)
    for _ in range(warmup):
        for name in names:
            runs[name]()
    synchronize(device)
    times = {name: [] for name in names}
    for r in range(repeats):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            synchronize(device)
            start = time.perf_counter()
            runs[name]()
            synchronize(device)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def format_seconds(seconds: float) -> str:
    """``seconds`` in s, ms or µs with three significant digits, e.g. ``'41.2 ms'``."""
    if seconds >= 1:
        return f"{seconds:.3g} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds * 1e6:.3g} µs"


def cpu_name() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def load_average() -> str:
    """The 1 / 5 / 15-minute load averages as ``'0.52 / 0.61 / 0.70'``; ``'n/a'`` where the OS has none."""
    try:
        return " / ".join(f"{v:.2f}" for v in os.getloadavg())
    except (AttributeError, OSError):  # not on every platform
        return "n/a"


def machine_description() -> str:
    """One line for a timing report: CPU, cores, torch threads and build, Python, load average.

    Timings mean little without it: another CPU, thread count or a busy neighbour moves
    every number, so each benchmark prints this above its table.
    """
    return (f"CPU: {cpu_name()}, {os.cpu_count()} logical cores; torch threads: {torch.get_num_threads()}; "
            f"torch {torch.__version__}; Python {platform.python_version()}; "
            f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}; "
            f"load average (1/5/15 min): {load_average()}")
