"""Private helpers shared by the library: argument checks, devices, threads, progress.

One policy for bad arguments, everywhere in ``fido_lib``: a value of the wrong
*type* raises ``TypeError``, a value of the right type outside what is allowed
raises ``ValueError``; both messages name the parameter, the value and what is
allowed, and every check runs before any work starts.
"""
from __future__ import annotations

import math
import numbers
import os
from contextlib import contextmanager
from pathlib import Path

import torch
from tqdm.auto import tqdm

__all__ = [
    "check_bool",
    "check_path",
    "check_choice",
    "check_int",
    "check_real",
    "check_seed",
    "num_threads",
    "progress_bar",
    "resolve_device",
    "synchronize",
]


# --------------------------------------------------------------------------- arguments
def check_real(name, value, *, low=None, high=None, low_open=False, high_open=False) -> float:
    """``value`` as a finite float inside the given bounds (``bool`` is not a number here).

    ``low``/``high``: bounds (``None``: none); ``low_open``/``high_open``: exclude them.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    bad = not math.isfinite(value)
    bad |= low is not None and (value <= low if low_open else value < low)
    bad |= high is not None and (value >= high if high_open else value > high)
    if bad:
        lo = "" if low is None else f"{'>' if low_open else '>='} {low:g}"
        hi = "" if high is None else f"{'<' if high_open else '<='} {high:g}"
        allowed = " and ".join(s for s in (lo, hi) if s)
        raise ValueError(f"{name} must be a finite number{' ' + allowed if allowed else ''}, got {value!r}")
    return value


def check_int(name, value, *, low=None, high=None) -> int:
    """``value`` as an ``int`` with ``low <= value <= high`` (``bool`` is not an int here)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        lo = "" if low is None else f">= {low}"
        hi = "" if high is None else f"<= {high}"
        raise ValueError(f"{name} must be an int {' and '.join(s for s in (lo, hi) if s)}, got {value}")
    return value


#: Seeds a ``torch.Generator`` takes: ``manual_seed`` reads a 64-bit integer (negative
#: values wrap), and anything outside raised torch's bare "Overflow when unpacking long long".
SEED_RANGE = (-(2**63), 2**64 - 1)


def check_seed(name, value) -> int:
    """``value`` as an ``int`` seed in :data:`SEED_RANGE` (``bool`` and floats refused)."""
    return check_int(name, value, low=SEED_RANGE[0], high=SEED_RANGE[1])


def check_path(name, value) -> Path:
    """``value`` as a ``Path`` if it is a ``str`` or ``os.PathLike`` (not bytes, not None)."""
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a str or PathLike, got {type(value).__name__}")
    return Path(value)


def check_bool(name, value) -> bool:
    """``value`` if it is ``True`` or ``False`` (not 0/1, not a string)."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return value


def check_choice(name, value, choices):
    """``value`` if it is one of ``choices`` (compared with ``==``)."""
    if value not in tuple(choices):
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


# --------------------------------------------------------------------------- devices
def resolve_device(device, *, name="device") -> torch.device:
    """The ``torch.device`` that ``device`` names, checked to be usable here; moves nothing.

    Accepts a ``str`` or a ``torch.device``: ``"cpu"``, ``"cuda"``, ``"cuda:N"``,
    ``"mps"``, or another type torch knows (``"xpu"`` …) whose backend reports itself
    available. A name torch does not know, or a device not present on this machine,
    raises ``ValueError``; any other type ``TypeError``.
    """
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"{name} must be a str or torch.device, got {type(device).__name__} {device!r}")
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError):
        raise ValueError(
            f"{name} must be 'cpu', 'cuda', 'cuda:N', 'mps' or another torch device, got {device!r}"
        ) from None
    if dev.type == "cpu":
        return dev
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"{name} {str(device)!r} was asked for, but torch.cuda.is_available() is False")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"{name} {str(device)!r}: only {torch.cuda.device_count()} CUDA device(s) present")
        return dev
    if dev.type == "mps":
        if not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise ValueError(f"{name} {str(device)!r} was asked for, but torch.backends.mps.is_available() is False")
        return dev
    backend = getattr(torch, dev.type, None)  # torch.xpu, …: each has is_available()
    if backend is None or not hasattr(backend, "is_available") or not backend.is_available():
        raise ValueError(f"{name} {str(device)!r} is not available here; use 'cpu', 'cuda' or 'mps' where present")
    return dev


def synchronize(device) -> None:
    """Wait for queued work on ``device`` (CUDA, MPS); a no-op on the CPU and for ``None``.

    Needed around wall-clock timings: GPU calls return before the work is done.
    """
    if device is None:
        return
    dev = torch.device(device)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    elif dev.type == "mps":
        torch.mps.synchronize()


# --------------------------------------------------------------------------- threads
@contextmanager
def num_threads(n):
    """Run torch with ``n`` CPU threads inside the block, then restore the previous count.

    ``n=None`` leaves torch's setting alone. Small element-wise workloads gain
    little from threads, and on a busy machine OpenMP's waiting threads made them
    many times slower (measured on 2 shared cores: 1000 toy-bird images took
    11–75 s with two threads against 1.3 s with one); results do not depend on it.
    """
    if n is not None:
        check_int("num_threads", n, low=1)
    before = torch.get_num_threads()
    try:
        if n is not None:
            torch.set_num_threads(int(n))
        yield
    finally:
        torch.set_num_threads(before)


# --------------------------------------------------------------------------- progress
def progress_bar(total, desc="", *, enabled=True, unit="it"):
    """A ``tqdm.auto`` progress bar: a widget in JupyterLab/Colab, text on stderr in a terminal.

    ``enabled=False`` returns a disabled bar (all its methods are no-ops), so callers
    keep one code path for ``progress=False``.
    """
    return tqdm(total=total, desc=desc, disable=not enabled, unit=unit, leave=True, dynamic_ncols=True)
