"""Hostile inputs to fido_lib.stats (issue 18): ordinary sizes of a paired test run fast and
say how they were computed; non-numbers and unbounded resampling are refused by name."""
import math
import time

import numpy as np
import pytest

from fido_lib import stats


def test_wilcoxon_on_1030_pairs_is_fast_and_says_it_used_the_normal_approximation():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=1030) + 0.1, rng.normal(size=1030)
    start = time.perf_counter()
    result = stats.wilcoxon_signed_rank(x, y)  # took 37 s, then OverflowError
    assert time.perf_counter() - start < 5
    w, p = result  # still unpacks as a pair
    assert result.method == "normal" and 0 < p < 1 and w == result.statistic
    scipy_stats = pytest.importorskip("scipy.stats")
    ref = scipy_stats.wilcoxon(x, y, method="approx", correction=True)
    assert p == pytest.approx(ref.pvalue, rel=1e-9)


def test_wilcoxon_is_exact_up_to_its_limit_and_agrees_with_scipy_there():
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(1)
    n = stats.WILCOXON_EXACT_MAX
    x, y = rng.normal(size=n) + 0.1, rng.normal(size=n)
    result = stats.wilcoxon_signed_rank(x, y)
    assert result.method == "exact"
    assert result.pvalue == pytest.approx(scipy_stats.wilcoxon(x, y, method="exact").pvalue, rel=1e-9)


def test_wilcoxon_exact_with_ties_in_a_tail_far_from_the_centre():
    d = np.array([1.0] * 20 + [2.0] * 5)  # all positive, ties: p = 2 / 2^25
    w, p = stats.wilcoxon_signed_rank(d, np.zeros_like(d))
    assert p == pytest.approx(2 / 2**25, rel=1e-12) and w == 20 * 10.5 + 5 * 23


@pytest.mark.parametrize("n", [20_000, 30_000])
def test_sign_test_on_tens_of_thousands_of_pairs_is_fast_and_exact(n):
    rng = np.random.default_rng(n)
    x, y = rng.normal(size=n) + 0.01, rng.normal(size=n)
    start = time.perf_counter()
    p = stats.sign_test(x, y)  # took 40-56 s
    assert time.perf_counter() - start < 5
    scipy_stats = pytest.importorskip("scipy.stats")
    assert p == pytest.approx(scipy_stats.binomtest(int((x > y).sum()), n, 0.5).pvalue, rel=1e-9)


def test_sign_test_beyond_the_exact_limit_uses_log_space():
    n = stats.SIGN_EXACT_MAX + 2
    x = np.r_[np.ones(n // 2 + 300), -np.ones(n // 2 - 300)]
    p = stats.sign_test(x, np.zeros_like(x))
    scipy_stats = pytest.importorskip("scipy.stats")
    assert math.isfinite(p) and p == pytest.approx(scipy_stats.binomtest(n // 2 - 300, n, 0.5).pvalue, rel=1e-7)


@pytest.mark.parametrize("call", [
    lambda: stats.per_run_std("abc"),
    lambda: stats.per_run_step_noise([["a", "b", "c"]]),
    lambda: stats.sign_test(["1", "2"], [1, 2]),
    lambda: stats.wilcoxon_signed_rank([1, 2], ["x", "y"]),
    lambda: stats.bootstrap_ci(["a", "b"]),
])
def test_non_numbers_are_a_type_error_naming_the_argument(call):
    with pytest.raises(TypeError, match="must be an array of numbers"):
        call()


def test_n_boot_is_bounded_before_any_allocation():
    with pytest.raises(ValueError, match=r"n_boot must be an int .*<= 1000000"):
        stats.bootstrap_ci(np.ones(10), n_boot=10**9)
    with pytest.raises(ValueError, match="MAX_BOOT_DRAWS"):
        stats.bootstrap_ci(np.ones(10**4), n_boot=10**5)
    with pytest.raises(ValueError, match="MAX_BOOT_DRAWS"):
        stats.bootstrap_median_ratio_ci(np.ones(10**4), np.ones(10**4), n_boot=10**5)


@pytest.mark.parametrize("fn", [stats.per_run_std, stats.per_run_step_noise, stats.across_run_std])
def test_an_infinite_trace_entry_is_refused_not_a_silent_nan(fn):
    trace = np.ones((2, 5))
    trace[1, 2] = np.inf
    with pytest.raises(ValueError, match="inf"):
        fn(trace)
