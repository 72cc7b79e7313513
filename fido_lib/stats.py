"""General statistics (numpy and math only): spread of traces, exact paired tests, bootstrap.

* :func:`per_run_std`, :func:`per_run_step_noise`, :func:`across_run_std` — the
  spread of ``(runs, iterations)`` traces; :data:`MEASURES` names the per-run ones;
* :func:`sign_test`, :func:`wilcoxon_signed_rank` — exact two-sided paired tests
  (exact with ties too; ``scipy.stats`` serves only as a cross-check in the tests);
* :func:`bootstrap_ci` — one seeded percentile bootstrap of any statistic, and
  :func:`bootstrap_median_ratio_ci` built on it.
"""
from __future__ import annotations

import math

import numpy as np

from ._util import check_bool, check_int, check_real

__all__ = [
    "MEASURES",
    "across_run_std",
    "bootstrap_ci",
    "bootstrap_median_ratio_ci",
    "per_run_std",
    "per_run_step_noise",
    "sign_test",
    "wilcoxon_signed_rank",
]


# --------------------------------------------------------------------------- traces
def _as_trace(trace) -> np.ndarray:
    trace = np.asarray(trace, dtype=np.float64)
    if trace.ndim != 2:
        raise ValueError(f"trace must have shape (runs, iterations), got {trace.shape}")
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
    x, y = np.asarray(x, dtype=np.float64).ravel(), np.asarray(y, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same length, got {x.size} and {y.size}")
    if x.size == 0:
        raise ValueError("x and y must not be empty")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("x and y must be finite (leave out runs with NaN/inf first)")
    return x, y


def sign_test(x, y) -> float:
    """Exact two-sided sign test of ``median(x - y) = 0``; ties are dropped.

    With ``n`` non-zero differences of which ``k`` are in the rarer direction:
    ``p = min(1, 2 Σ_{i<=k} C(n, i) / 2^n)``.
    """
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


# --------------------------------------------------------------------------- bootstrap
_STATISTICS = {"mean": np.mean, "median": np.median}


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
    check_int("n_boot", n_boot, low=1)
    check_int("seed", seed, low=0)
    check_bool("omit_nan", omit_nan)
    v = np.asarray(values, dtype=np.float64).ravel()
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
