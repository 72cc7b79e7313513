"""General statistics (numpy and math only): spread of traces, exact paired tests, bootstrap.

* :func:`per_run_std`, :func:`per_run_step_noise`, :func:`across_run_std` — the
  spread of ``(runs, iterations)`` traces; :data:`MEASURES` names the per-run ones;
* :func:`sign_test`, :func:`wilcoxon_signed_rank` — two-sided paired tests, exact with
  ties too (Wilcoxon beyond :data:`WILCOXON_EXACT_MAX` pairs by its normal approximation,
  and it says so); ``scipy.stats`` serves only as a cross-check in the tests;
* :func:`bootstrap_ci` — one seeded percentile bootstrap of any statistic, and
  :func:`bootstrap_median_ratio_ci` built on it.
"""
from __future__ import annotations

import math

import numpy as np

from ._util import check_bool, check_int, check_real

__all__ = [
    "MAX_BOOT",
    "MAX_BOOT_DRAWS",
    "MEASURES",
    "SIGN_EXACT_MAX",
    "WILCOXON_EXACT_MAX",
    "PairedTest",
    "across_run_std",
    "bootstrap_ci",
    "bootstrap_median_ratio_ci",
    "per_run_std",
    "per_run_step_noise",
    "sign_test",
    "wilcoxon_signed_rank",
]


# --------------------------------------------------------------------------- traces
def _as_floats(name, value) -> np.ndarray:
    """``value`` as a float64 array; a non-numeric one (strings, objects) raises ``TypeError`` naming it."""
    try:
        arr = np.asarray(value)
    except ValueError:  # ragged lists
        raise TypeError(f"{name} must be an array of numbers, got a ragged {type(value).__name__}") from None
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be an array of numbers (ints or floats), got {type(value).__name__} "
                        f"of dtype {arr.dtype}: {str(value)[:60]}")
    return arr.astype(np.float64)


def _as_trace(trace) -> np.ndarray:
    trace = _as_floats("trace", trace)
    if trace.ndim != 2:
        raise ValueError(f"trace must have shape (runs, iterations), got {trace.shape}")
    if np.isinf(trace).any():  # a stopped run is NaN from there on; inf would give NaN spreads silently
        raise ValueError(f"trace holds inf in {int(np.isinf(trace).sum())} entries; traces are finite "
                         "(or NaN where a run stopped)")
    return trace


def per_run_std(trace, skip: int = 0) -> np.ndarray:
    """Std (ddof 1) over iterations ``skip:`` of each run's trace: shape (runs,).

    It measures the trend of a run as well as its noise: a norm that climbs while
    the regulariser warms up has a large std without any noise at all.
    """
    trace = _as_trace(trace)
    check_int("skip", skip, low=0)
    if trace.shape[1] - skip < 2:
        raise ValueError(f"skip={skip} leaves fewer than 2 of {trace.shape[1]} iterations")
    return trace[:, skip:].std(axis=1, ddof=1)


def per_run_step_noise(trace, skip: int = 0) -> np.ndarray:
    """Noise of each run's trace without its trend: ``std(g[i+1] - g[i]) / √2`` over iterations ``skip:``.

    For a slowly varying trend plus independent noise of std ``s`` per iteration,
    successive differences cancel the trend and have std ``s √2``.
    """
    trace = _as_trace(trace)
    check_int("skip", skip, low=0)
    if trace.shape[1] - skip < 3:
        raise ValueError(f"skip={skip} leaves fewer than 3 of {trace.shape[1]} iterations")
    return np.diff(trace[:, skip:], axis=1).std(axis=1, ddof=1) / math.sqrt(2)


def across_run_std(trace) -> np.ndarray:
    """Std (ddof 1) across runs at each iteration (Korsch et al.'s supplement, Fig. 1b): shape (iterations,)."""
    trace = _as_trace(trace)
    if trace.shape[0] < 2:
        raise ValueError(f"across-run std needs at least 2 runs, got {trace.shape[0]}")
    return trace.std(axis=0, ddof=1)


#: Per-run measures of a trace by name: ``"std"`` (:func:`per_run_std`) and
#: ``"step"`` (:func:`per_run_step_noise`).
MEASURES = {"std": per_run_std, "step": per_run_step_noise}


# --------------------------------------------------------------------------- paired tests
def _paired(x, y):
    x, y = _as_floats("x", x).ravel(), _as_floats("y", y).ravel()
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same length, got {x.size} and {y.size}")
    if x.size == 0:
        raise ValueError("x and y must not be empty")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("x and y must be finite (leave out runs with NaN/inf first)")
    return x, y


#: :func:`wilcoxon_signed_rank` counts the exact permutation distribution up to this many
#: non-zero differences (measured provisional ~0.1 s at 500 on a shared core; the count grows
#: as n³) and uses the normal approximation beyond; its result says which (``.method``).
WILCOXON_EXACT_MAX = 500
#: :func:`sign_test` sums the binomial tail in exact integers up to this many non-zero
#: differences and in log-space floats (the same formula, to rounding) beyond.
SIGN_EXACT_MAX = 100_000


class PairedTest(tuple):
    """``(statistic, p)`` of a paired test — unpacks as a pair — with ``.method`` saying how
    the p-value was computed (``"exact"`` or ``"normal"``)."""

    def __new__(cls, statistic, p, method):
        self = super().__new__(cls, (float(statistic), float(p)))
        self.method = method
        return self

    @property
    def statistic(self) -> float:
        return self[0]

    @property
    def pvalue(self) -> float:
        return self[1]

    def __repr__(self):
        return f"PairedTest(statistic={self[0]!r}, p={self[1]!r}, method={self.method!r})"


def _log_binom_tail(n, k):
    """``log Σ_{i<=k} C(n, i) - n log 2`` in floats (log-space, no overflow)."""
    i = np.arange(1, k + 1, dtype=np.float64)
    log_c = np.concatenate([[0.0], np.cumsum(np.log(n - i + 1) - np.log(i))])  # log C(n, i), i = 0..k
    top = log_c.max()
    return top + math.log(np.exp(log_c - top).sum()) - n * math.log(2)


def sign_test(x, y) -> float:
    """Exact two-sided sign test of ``median(x - y) = 0``; ties are dropped.

    With ``n`` non-zero differences of which ``k`` are in the rarer direction:
    ``p = min(1, 2 Σ_{i<=k} C(n, i) / 2^n)``: summed in exact integers for
    ``n <= SIGN_EXACT_MAX`` (30 000 pairs take milliseconds), in log-space floats beyond.
    """
    x, y = _paired(x, y)
    d = x - y
    n_pos, n = int((d > 0).sum()), int((d != 0).sum())
    if n == 0:
        return 1.0
    k = min(n_pos, n - n_pos)
    if n > SIGN_EXACT_MAX:
        return min(1.0, 2 * math.exp(_log_binom_tail(n, k)))
    term, tail = 1, 1  # C(n, 0); C(n, i + 1) = C(n, i) (n - i) / (i + 1), exact in integers
    for i in range(k):
        term = term * (n - i) // (i + 1)
        tail += term
    return min(1.0, 2 * tail / 2**n)  # int / int: correctly rounded


def wilcoxon_signed_rank(x, y) -> PairedTest:
    """Two-sided Wilcoxon signed-rank test of ``x - y`` symmetric about 0: ``(W+, p)``.

    Zero differences are dropped; tied ``|d|`` get mid-ranks. Up to
    :data:`WILCOXON_EXACT_MAX` non-zero differences the p-value comes from the exact
    permutation distribution of the signed (mid-)ranks, counted by dynamic programming
    over twice the ranks (in probabilities: exact up to rounding), ``method="exact"``;
    beyond, from the normal approximation with the tie-corrected variance
    ``Σ r² / 4`` and a continuity correction of 1/2, ``method="normal"`` (on 1 000 pairs
    the exact count took 37 s). Returns a :class:`PairedTest`: unpacks as ``(W+, p)``,
    ``.method`` says which.
    """
    x, y = _paired(x, y)
    d = x - y
    d = d[d != 0]
    n = d.size
    if n == 0:
        return PairedTest(0.0, 1.0, "exact")
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
    low = min(w2, total - w2)
    if n > WILCOXON_EXACT_MAX:
        # W+ = Σ r·[d > 0]: mean Σ r / 2, variance Σ r² / 4 (ties included), in twice-rank units
        mean2 = total / 2
        sd2 = math.sqrt(float((ranks2.astype(np.float64) ** 2).sum()) / 4)
        z = max(0.0, mean2 - low - 1.0) / sd2  # continuity: 1/2 rank = 1 in twice-rank units
        return PairedTest(w2 / 2, min(1.0, math.erfc(z / math.sqrt(2))), "normal")
    # P(2W+ = w) for w <= low only: the lower tail needs nothing above it
    prob = np.zeros(low + 1)
    prob[0] = 1.0
    for r in ranks2:
        if r <= low:
            shifted = np.zeros_like(prob)
            shifted[r:] = prob[: low + 1 - r]
            prob = 0.5 * (prob + shifted)
        else:
            prob *= 0.5
    return PairedTest(w2 / 2, min(1.0, 2 * float(prob.sum())), "exact")


# --------------------------------------------------------------------------- bootstrap
_STATISTICS = {"mean": np.mean, "median": np.median}
#: :func:`bootstrap_ci` draws ``n_boot × len(values)`` indices at once (8 bytes each): at
#: most this many (512 MB), and ``n_boot`` at most :data:`MAX_BOOT`.
MAX_BOOT_DRAWS = 2**26
MAX_BOOT = 1_000_000


def bootstrap_ci(values, statistic="mean", *, level: float = 0.95, n_boot: int = 4000, seed: int = 0,
                 omit_nan: bool = False):
    """A statistic of ``values`` and its seeded percentile-bootstrap interval.

    ``values`` are resampled with replacement ``n_boot`` times (indices from
    ``numpy.random.default_rng(seed)``), ``statistic`` is taken on each resample,
    and the interval is the ``(1 ± level) / 2`` quantiles of those (Efron &
    Tibshirani 1993, ch. 13). ``statistic``: ``"mean"``, ``"median"`` or a function
    ``f(array, axis=...)`` like ``np.mean``. ``omit_nan=True`` leaves NaNs out (and
    gives ``(nan, nan, nan)`` when nothing is left); otherwise a non-finite value
    raises. Returns ``(estimate, low, high)``.
    """
    stat = _STATISTICS.get(statistic, statistic) if isinstance(statistic, str) else statistic
    if isinstance(statistic, str) and statistic not in _STATISTICS:
        raise ValueError(f"statistic must be 'mean', 'median' or a function f(array, axis=...), got {statistic!r}")
    if not callable(stat):
        raise TypeError(
            f"statistic must be 'mean', 'median' or a function f(array, axis=...), got {type(statistic).__name__}"
        )
    check_real("level", level, low=0.0, high=1.0, low_open=True, high_open=True)
    check_int("n_boot", n_boot, low=1, high=MAX_BOOT)
    check_int("seed", seed, low=0)
    check_bool("omit_nan", omit_nan)
    v = _as_floats("values", values).ravel()
    if n_boot * v.size > MAX_BOOT_DRAWS:
        raise ValueError(f"n_boot × len(values) = {n_boot} × {v.size} must be <= {MAX_BOOT_DRAWS} "
                         f"(MAX_BOOT_DRAWS, {8 * MAX_BOOT_DRAWS // 2**20} MB of indices); lower n_boot")
    if omit_nan:
        v = v[~np.isnan(v)]
        if v.size == 0:
            return math.nan, math.nan, math.nan
    elif v.size == 0 or not np.isfinite(v).all():
        raise ValueError("values must be a non-empty array of finite numbers (or pass omit_nan=True)")
    rng = np.random.default_rng(seed)
    resampled = stat(v[rng.integers(0, v.size, size=(n_boot, v.size))], axis=1)
    alpha = (1 - level) / 2
    low, high = np.quantile(resampled, [alpha, 1 - alpha])
    return float(stat(v)), float(low), float(high)


def bootstrap_median_ratio_ci(numerator, denominator, *, n_boot: int = 10_000, level: float = 0.95, seed: int = 0):
    """Median of the paired ratios ``numerator / denominator`` and its bootstrap CI.

    Pairs are resampled together (:func:`bootstrap_ci` of the ratios with the
    median). Returns ``(median, (low, high))``.
    """
    num, den = _paired(numerator, denominator)
    median, low, high = bootstrap_ci(num / den, "median", level=level, n_boot=n_boot, seed=seed)
    return median, (low, high)
