"""fido_lib.stats: spread of traces, exact sign and Wilcoxon tests (against brute force and
scipy), the seeded bootstrap."""
import itertools
import math

import numpy as np
import pytest

from fido_lib import stats


def test_sign_test_exact_values():
    assert stats.sign_test(np.ones(30), np.zeros(30)) == pytest.approx(2 / 2**30)
    assert stats.sign_test([1, 2, 3], [1, 2, 3]) == 1.0  # all ties
    # 8 of 10 positive: 2 * P(X <= 2), X ~ Bin(10, 1/2)
    x = np.array([1] * 8 + [-1] * 2, dtype=float)
    assert stats.sign_test(x, np.zeros(10)) == pytest.approx(2 * (1 + 10 + 45) / 1024)


def _wilcoxon_brute_force(d):
    d = d[d != 0]
    a = np.abs(d)
    ranks = np.array([np.mean(np.flatnonzero(np.sort(a) == v) + 1) for v in a])
    w = ranks[d > 0].sum()
    all_w = [ranks[list(s)].sum() for k in range(len(d) + 1) for s in itertools.combinations(range(len(d)), k)]
    mean = ranks.sum() / 2
    return w, np.mean(np.abs(np.array(all_w) - mean) >= abs(w - mean) - 1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_wilcoxon_matches_brute_force_with_ties(seed):
    rng = np.random.default_rng(seed)
    d = rng.integers(-4, 5, size=11).astype(float)  # ties and zeros on purpose
    w, p = stats.wilcoxon_signed_rank(d, np.zeros_like(d))
    w_ref, p_ref = _wilcoxon_brute_force(d)
    assert w == pytest.approx(w_ref)
    assert p == pytest.approx(p_ref)


def test_wilcoxon_all_positive():
    w, p = stats.wilcoxon_signed_rank(np.arange(1, 6, dtype=float), np.zeros(5))
    assert w == 15 and p == pytest.approx(2 / 32)


def test_bootstrap_ci_is_seeded_and_brackets_the_median():
    rng = np.random.default_rng(0)
    num, den = rng.uniform(0.5, 1.0, 30), rng.uniform(0.9, 1.1, 30)
    m1, ci1 = stats.bootstrap_median_ratio_ci(num, den, n_boot=500, seed=1)
    m2, ci2 = stats.bootstrap_median_ratio_ci(num, den, n_boot=500, seed=1)
    assert (m1, ci1) == (m2, ci2)
    assert ci1[0] <= m1 <= ci1[1]
    assert m1 == pytest.approx(np.median(num / den))


def test_step_noise_ignores_a_trend_that_std_counts():
    trend = np.tile(np.linspace(0, 1, 50), (3, 1))
    assert np.allclose(stats.per_run_step_noise(trend), 0, atol=1e-12)
    assert (stats.per_run_std(trend) > 0.2).all()
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 0.1, (3, 5000))
    np.testing.assert_allclose(stats.per_run_step_noise(trend[:, :1] + noise), 0.1, rtol=0.05)


def test_across_run_std():
    trace = np.array([[1.0, 2.0], [3.0, 2.0]])
    np.testing.assert_allclose(stats.across_run_std(trace), [math.sqrt(2), 0.0])


def test_scipy_agrees_with_the_exact_tests_where_it_is_exact():
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=15), rng.normal(size=15)  # no ties: scipy's exact mode applies
    assert stats.sign_test(x, y) == pytest.approx(
        scipy_stats.binomtest(int((x > y).sum()), 15, 0.5).pvalue, rel=1e-12)
    w, p = stats.wilcoxon_signed_rank(x, y)
    ref = scipy_stats.wilcoxon(x, y, method="exact")
    assert p == pytest.approx(ref.pvalue, rel=1e-10)
    assert min(w, 15 * 16 / 2 - w) == pytest.approx(ref.statistic)


def test_bootstrap_ci_of_the_mean_leaves_nans_out_only_when_asked():
    assert stats.bootstrap_ci([0.3] * 10) == pytest.approx((0.3, 0.3, 0.3))
    mean, low, high = stats.bootstrap_ci([0.0, 1.0] * 50 + [math.nan], omit_nan=True)
    assert mean == pytest.approx(0.5) and 0.38 < low < 0.5 < high < 0.62
    assert all(math.isnan(v) for v in stats.bootstrap_ci([math.nan, math.nan], omit_nan=True))
    with pytest.raises(ValueError, match="finite"):
        stats.bootstrap_ci([1.0, math.nan])


def test_bootstrap_ci_is_one_resampling_for_every_statistic():
    v = np.random.default_rng(0).normal(size=25)
    a = stats.bootstrap_ci(v, "median", n_boot=300, seed=4)
    b = stats.bootstrap_ci(v, np.median, n_boot=300, seed=4)
    assert a == b and a[0] == np.median(v)
    assert stats.bootstrap_ci(v, n_boot=300, seed=4) != stats.bootstrap_ci(v, n_boot=300, seed=5)


@pytest.mark.parametrize(
    "kwargs, exc, word",
    [
        (dict(statistic="mode"), ValueError, "statistic"),
        (dict(statistic=3), TypeError, "statistic"),
        (dict(level=1.0), ValueError, "level"),
        (dict(n_boot=0), ValueError, "n_boot"),
        (dict(n_boot=2.5), TypeError, "n_boot"),
        (dict(omit_nan="yes"), TypeError, "omit_nan"),
    ],
)
def test_bootstrap_ci_refuses_bad_arguments_by_name(kwargs, exc, word):
    with pytest.raises(exc, match=word):
        stats.bootstrap_ci([1.0, 2.0], **kwargs)


def test_measures_name_the_per_run_statistics():
    assert stats.MEASURES == {"std": stats.per_run_std, "step": stats.per_run_step_noise}
