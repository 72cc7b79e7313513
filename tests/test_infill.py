"""fido_lib.infill: each infill by name, computed once, checked."""
import pytest
import torch

from fido_lib import infill
from fido_lib.metrics import total_variation


def photo(seed=100, h=20, w=24):
    return torch.rand(3, h, w, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("name", infill.INFILLS)
def test_every_infill_has_the_image_shape_and_range(name):
    x = photo()
    f = infill.make_infill(x, name)
    assert f.shape == x.shape and f.dtype == x.dtype
    assert 0 <= float(f.min()) and float(f.max()) <= 1
    assert not torch.equal(f, x)


def test_unknown_name_lists_the_options():
    with pytest.raises(ValueError) as err:
        infill.make_infill(photo(), "gan")
    for name in infill.INFILLS:
        assert repr(name) in str(err.value)


def test_parameters_are_checked():
    with pytest.raises(TypeError, match="sigma"):
        infill.make_infill(photo(), "mean", sigma=3)
    with pytest.raises(ValueError, match="sigma"):
        infill.make_infill(photo(), "blur", sigma=0)
    with pytest.raises(ValueError, match="patch"):
        infill.make_infill(photo(), "knockoff", patch=0)
    with pytest.raises(ValueError, match="3×H×W"):
        infill.make_infill(torch.rand(20, 20), "blur")


def test_blur_keeps_a_constant_image_and_smooths_more_with_larger_sigma():
    const = torch.full((3, 16, 16), 0.3)
    assert torch.allclose(infill.make_infill(const, "blur", sigma=4.0), const, atol=1e-6)
    x = photo()
    tv = [float(total_variation(infill.make_infill(x, "blur", sigma=s)).mean()) for s in (0.5, 2.0, 8.0)]
    assert tv[0] > tv[1] > tv[2]


def test_mean_infill_is_the_mean_colour():
    x = photo()
    f = infill.make_infill(x, "mean")
    assert torch.allclose(f, x.mean(dim=(1, 2), keepdim=True).expand_as(x))


def test_knockoff_only_shuffles_pixels_inside_each_patch():
    x = photo(h=16, w=16)
    f = infill.make_infill(x, "knockoff", patch=4, generator=3)
    for i in range(0, 16, 4):
        for j in range(0, 16, 4):
            a = x[:, i : i + 4, j : j + 4].reshape(3, -1)
            b = f[:, i : i + 4, j : j + 4].reshape(3, -1)
            # the same pixels (all three channels move together), in another order
            assert torch.equal(a[:, a[0].argsort()], b[:, b[0].argsort()])
    assert not torch.equal(f, x)
    assert torch.equal(infill.make_infill(x, "knockoff", patch=1), x)


def test_knockoff_handles_sizes_that_are_not_a_multiple_of_the_patch():
    x = photo(h=10, w=13)
    assert infill.make_infill(x, "knockoff", patch=4).shape == x.shape


@pytest.mark.parametrize("name", ["uniform", "normal", "knockoff"])
def test_random_infills_follow_the_seed(name):
    x = photo()
    a = infill.make_infill(x, name, generator=5)
    b = infill.make_infill(x, name, generator=5)
    c = infill.make_infill(x, name, generator=6)
    assert torch.equal(a, b) and not torch.equal(a, c)
