"""Process settings that ``import fido_lib`` makes once, each measured by ``benchmarks/fido_speed.py``.

Both are process-wide, so each one steps aside when the user has chosen for themselves.

* **OpenMP waiting threads sleep** (``OMP_WAIT_POLICY=PASSIVE``). On a shared CPU
  (Binder, Colab: two cores, often one of them busy) spinning threads wait for a core
  that is taken and every parallel region waits for them: beside one busy process a
  FIDO fit was 8–9× slower with libgomp's default and 1.5× with passive waiting. The
  OpenMP runtime reads the variable once, when torch loads, so it only helps if
  fido_lib is imported first; a user's own setting wins.
* **glibc keeps freed activation memory** (``mallopt``: ``M_MMAP_THRESHOLD`` at its
  maximum of 32 MiB, ``M_TRIM_THRESHOLD`` 256 MiB). By default glibc returns large
  freed blocks to the kernel, and every classifier pass then faults the same pages back
  in, zeroed: a fresh process that fits once spent 5–7 s in the kernel on 2–4 million
  minor page faults. Keeping the memory made a ``FidoConfig()`` fit 10–20 % faster;
  the price is a higher peak (910–1013 MB over 8 fresh processes against 902–941 MB
  over 6 with glibc's defaults; a 1 GiB trim threshold was no faster). Skipped off glibc, when the user tunes malloc
  (``MALLOC_*`` or ``GLIBC_TUNABLES`` in the environment), and with
  ``FIDO_LIB_MALLOC=glibc``, which keeps glibc's defaults.
"""
from __future__ import annotations

import ctypes
import os
import platform
import sys
import warnings

__all__ = ["MALLOC_SETTINGS", "keep_freed_memory", "sleep_waiting_threads"]

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameter numbers (malloc.h)
#: What :func:`keep_freed_memory` asks glibc for: 32 MiB is the largest mmap threshold glibc
#: accepts on 64-bit systems; free memory at the heap's top is kept up to 256 MiB.
MALLOC_SETTINGS = {"M_MMAP_THRESHOLD": 32 * 1024 * 1024, "M_TRIM_THRESHOLD": 256 * 1024 * 1024}


def sleep_waiting_threads(environ=os.environ, modules=sys.modules) -> bool:
    """Set ``OMP_WAIT_POLICY=PASSIVE`` unless torch is loaded or the user set it; True if set."""
    if "torch" in modules or "OMP_WAIT_POLICY" in environ:
        return False
    environ["OMP_WAIT_POLICY"] = "PASSIVE"
    return True


def keep_freed_memory(environ=os.environ) -> str:
    """Ask glibc to keep freed memory (:data:`MALLOC_SETTINGS`); returns what was done and why."""
    choice = environ.get("FIDO_LIB_MALLOC", "")
    if choice == "glibc":
        return "skipped: FIDO_LIB_MALLOC=glibc"
    if choice:
        # a warning, not an error: a typo in an environment variable must not break the import
        warnings.warn(f"FIDO_LIB_MALLOC must be 'glibc' (keep glibc's malloc defaults) or unset, got {choice!r}; "
                      "applying fido_lib's malloc settings", RuntimeWarning, stacklevel=2)
    chosen = sorted(k for k in environ if k.startswith("MALLOC_") or k == "GLIBC_TUNABLES")
    if chosen:
        return f"skipped: the user tunes malloc ({', '.join(chosen)})"
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return "skipped: not glibc"
    try:
        libc = ctypes.CDLL(None)  # the process's own C library
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return "skipped: mallopt not found"
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    # the mmap threshold first: setting the trim threshold alone would freeze the mmap
    # threshold at 128 KiB and make things far worse (every large block mmapped)
    if not mallopt(_M_MMAP_THRESHOLD, MALLOC_SETTINGS["M_MMAP_THRESHOLD"]):
        return "skipped: glibc refused M_MMAP_THRESHOLD"
    if not mallopt(_M_TRIM_THRESHOLD, MALLOC_SETTINGS["M_TRIM_THRESHOLD"]):
        return "partly: glibc refused M_TRIM_THRESHOLD"
    return "applied"
