"""Hostile inputs to fido_lib.ops (issue 18): an unbounded blur is refused before any work,
infinite logits give their limits, not NaN."""
import math
import time

import pytest
import torch

from fido_lib import ops


@pytest.mark.parametrize("sigma", [1e6, 449.0])
def test_a_huge_sigma_is_refused_at_once_with_the_limit(sigma):
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"sigma must be <= 448 pixels .*MAX_SIGMA_PER_SIDE"):
        ops.gaussian_blur(torch.rand(3, 224, 224), sigma)  # took 23 s, then segfaulted in conv2d
    assert time.perf_counter() - start < 1


def test_the_largest_sigma_still_blurs_a_small_image():
    out = ops.gaussian_blur(torch.rand(3, 16, 16), 32.0)
    assert out.shape == (3, 16, 16) and bool(torch.isfinite(out).all())


def test_blur_work_is_bounded_for_a_big_batch():
    x = torch.empty(64, 3, 1024, 1024, device="meta")  # no memory: the check comes before any work
    with pytest.raises(ValueError, match="MAX_BLUR_WORK"):
        ops.gaussian_blur(x, 100.0)


def test_log_odds_of_infinite_logits_are_their_limits():
    z = torch.tensor([[math.inf, 0.0, 1.0], [0.0, math.inf, 1.0], [-math.inf, 0.0, 1.0], [0.0, -math.inf, -math.inf]])
    lo = ops.log_odds(z, 0)
    assert lo[0] == math.inf and lo[1] == -math.inf and lo[2] == -math.inf
    assert lo[3] == math.inf  # every other class has probability 0
    assert not bool(torch.isnan(lo).any())


def test_log_odds_refuses_what_has_no_limit():
    with pytest.raises(ValueError, match="undefined"):
        ops.log_odds(torch.tensor([math.inf, math.inf, 0.0]), 0)
    with pytest.raises(ValueError, match="NaN"):
        ops.log_odds(torch.tensor([math.nan, 0.0]), 1)


def test_log_odds_gradient_stays_finite_next_to_an_infinite_logit():
    z = torch.tensor([[0.5, 0.0, 1.0], [math.inf, 0.0, 1.0]], requires_grad=True)
    ops.log_odds(z, 0)[0].backward()
    assert bool(torch.isfinite(z.grad).all())


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
def test_total_variation_of_a_non_finite_map_is_refused_not_nan(bad):
    m = torch.rand(4, 4)
    m[0, 1] = bad
    with pytest.raises(ValueError, match="NaN or inf"):
        ops.total_variation(m)
