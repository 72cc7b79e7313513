"""fido_lib.ops: the one blur, the one log-odds, the one total variation."""
import math

import pytest
import torch

from fido_lib import ops


def _image(h=20, w=28, seed=0):
    return torch.rand(3, h, w, generator=torch.Generator().manual_seed(seed))


# ----------------------------------------------------------------- blur
@pytest.mark.parametrize("padding", ops.PADDINGS)
def test_blur_keeps_a_constant_image_and_the_shape(padding):
    const = torch.full((2, 3, 16, 12), 0.3)
    out = ops.gaussian_blur(const, 2.0, padding=padding)
    assert out.shape == const.shape
    assert torch.allclose(out, const, atol=1e-6)


@pytest.mark.parametrize("padding", ops.PADDINGS)
def test_blur_smooths_more_with_larger_sigma(padding):
    x = _image()
    tv = [float(ops.total_variation(ops.gaussian_blur(x, s, padding=padding)).mean()) for s in (0.5, 2.0, 8.0)]
    assert tv[0] > tv[1] > tv[2]


def test_the_paddings_differ_only_near_the_edges():
    x = _image(32, 32)
    a, b = ops.gaussian_blur(x, 1.0), ops.gaussian_blur(x, 1.0, padding="reflect")
    r = 3  # ceil(3σ)
    assert torch.equal(a[:, r:-r, r:-r], b[:, r:-r, r:-r])
    assert not torch.equal(a, b)


def test_blur_of_a_batch_is_the_blur_of_each_image():
    x = torch.stack([_image(seed=1), _image(seed=2)])
    out = ops.gaussian_blur(x, 1.5, padding="reflect")
    assert torch.allclose(out[1], ops.gaussian_blur(x[1], 1.5, padding="reflect"), atol=1e-6)


def test_reflect_blur_of_a_thin_image_stays_finite():
    x = torch.rand(1, 3, 1, 9)
    out = ops.gaussian_blur(x, 5.0, padding="reflect")  # radius cut to 8 across, 0 down
    assert out.shape == x.shape and torch.isfinite(out).all()


@pytest.mark.parametrize(
    "args, kwargs, exc, word",
    [
        ((torch.rand(3, 8, 8), 0.0), {}, ValueError, "sigma"),
        ((torch.rand(3, 8, 8), "big"), {}, TypeError, "sigma"),
        ((torch.rand(3, 8, 8), 1.0), dict(padding="zeros"), ValueError, "padding"),
        ((torch.rand(8, 8), 1.0), {}, ValueError, "shape"),
        ((torch.zeros(3, 8, 8, dtype=torch.long), 1.0), {}, TypeError, "floating"),
    ],
)
def test_blur_refuses_bad_arguments_by_name(args, kwargs, exc, word):
    with pytest.raises(exc, match=word):
        ops.gaussian_blur(*args, **kwargs)


# ----------------------------------------------------------------- log-odds
def test_log_odds_is_log_p_over_one_minus_p():
    logits = torch.tensor([[2.0, 0.5, -1.0], [0.0, 0.0, 0.0]], dtype=torch.float64)
    p = torch.softmax(logits, -1)[:, 0]
    assert torch.allclose(ops.log_odds(logits, 0), torch.log(p / (1 - p)))


def test_log_odds_stays_finite_when_the_classifier_is_sure():
    logits = torch.tensor([40.0, 0.0, 0.0])  # 1 - p_0 rounds to 0 in float32
    assert float(ops.log_odds(logits, 0)) == pytest.approx(40 - math.log(2), abs=1e-5)
    assert float(ops.log_odds(logits, 1)) == pytest.approx(-40.0, abs=1e-5)


def test_log_odds_refuses_a_bad_target():
    with pytest.raises(ValueError, match=r"\[0, 2\]"):
        ops.log_odds(torch.zeros(3), 3)
    with pytest.raises(TypeError, match="target"):
        ops.log_odds(torch.zeros(3), 1.0)


# ----------------------------------------------------------------- total variation
def test_total_variation_mean_and_sum():
    checker = (torch.arange(4)[:, None] + torch.arange(5)[None, :]).remainder(2).float()
    assert float(ops.total_variation(checker)) == pytest.approx(2.0)
    assert float(ops.total_variation(checker, reduction="sum")) == pytest.approx(3 * 5 + 4 * 4)
    assert float(ops.total_variation(torch.ones(6, 6))) == 0.0


@pytest.mark.parametrize("shape", [(1, 5), (5, 1), (1, 1), (2, 1, 7)])
@pytest.mark.parametrize("reduction", ops.REDUCTIONS)
def test_total_variation_of_a_one_pixel_wide_map_is_finite(shape, reduction):
    m = torch.arange(math.prod(shape), dtype=torch.float32).reshape(shape)
    tv = ops.total_variation(m, reduction=reduction)
    assert torch.isfinite(tv).all() and tv.shape == shape[:-2]
    if shape[-1] == 5:  # one row: only the horizontal term, |1| per neighbour pair
        assert float(tv) == pytest.approx(1.0 if reduction == "mean" else 4.0)


def test_total_variation_refuses_bad_arguments():
    with pytest.raises(ValueError, match="reduction"):
        ops.total_variation(torch.zeros(3, 3), reduction="max")
    with pytest.raises(ValueError, match="2 dimensions"):
        ops.total_variation(torch.zeros(3))
    with pytest.raises(TypeError, match="floating"):
        ops.total_variation(torch.zeros(3, 3, dtype=torch.long))
