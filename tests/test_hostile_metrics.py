"""Hostile inputs to fido_lib.metrics (issue 11): NaN maps, unbounded steps, wrong-range images."""
import math

import numpy as np
import pytest
import torch

from fido_lib import classifiers, metrics

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def toy():
    clf = classifiers.load("toy")
    img = torch.full((3, 32, 32), 0.5)
    img[:, 8:16, 8:16] = torch.tensor([1.0, 0.1, 0.1]).view(3, 1, 1)
    return clf, img


def test_nan_in_a_saliency_map_is_refused_not_ranked_most_salient():
    s = torch.zeros(4, 4)
    s[2, 3] = math.nan
    with pytest.raises(ValueError, match="saliency.*NaN"):
        metrics.ranking(s)


@pytest.mark.parametrize("curve", [metrics.deletion_curve, metrics.insertion_curve])
def test_curves_refuse_nan_saliency(toy, curve):
    clf, img = toy
    s = torch.rand(32, 32)
    s[0, 0] = math.nan
    with pytest.raises(ValueError, match="saliency.*NaN"):
        curve(clf, img, s, 0)


@pytest.mark.parametrize("steps", [0, 32 * 32 + 1, 10**9])
def test_steps_is_bounded_by_the_pixel_count(toy, steps):
    clf, img = toy
    with pytest.raises(ValueError, match=r"steps must be an int .*<= 1024"):
        metrics.deletion_curve(clf, img, torch.rand(32, 32), 0, steps=steps)
    with pytest.raises(ValueError, match=r"steps must be an int .*<= 1024"):
        metrics.random_order_auc(clf, img, 0, steps=steps)


def test_steps_equal_to_the_pixel_count_is_allowed(toy):
    clf, img = toy
    f, p = metrics.deletion_curve(clf, img, torch.rand(32, 32), 0, steps=32 * 32, batch_size=256)
    assert len(f) == len(p) == 32 * 32 + 1


@pytest.mark.parametrize("bad", ["nan", "255"])
@pytest.mark.parametrize("where", ["image", "baseline"])
def test_nan_or_0_255_images_and_baselines_are_refused(toy, bad, where):
    clf, img = toy
    wrong = img.clone()
    if bad == "nan":
        wrong[0, 3, 3] = math.nan
    else:
        wrong = wrong * 255
    args = dict(image=wrong, baseline=None) if where == "image" else dict(image=img, baseline=wrong)
    for call in (
        lambda: metrics.deletion_curve(clf, args["image"], torch.rand(32, 32), 0, baseline=args["baseline"]),
        lambda: metrics.insertion_curve(clf, args["image"], torch.rand(32, 32), 0, baseline=args["baseline"]),
        lambda: metrics.random_order_auc(clf, args["image"], 0, baseline=args["baseline"]),
    ):
        with pytest.raises(ValueError, match=f"{where} must be floats in \\[0, 1\\]"):
            call()


def test_a_baseline_of_the_wrong_type_is_a_type_error(toy):
    clf, img = toy
    with pytest.raises(TypeError, match="baseline"):
        metrics.deletion_curve(clf, img, torch.rand(32, 32), 0, baseline=img.numpy())


def test_a_classifier_giving_nan_probabilities_does_not_give_a_nan_auc(toy):
    clf, img = toy

    class NaNNet(torch.nn.Module):
        def forward(self, x):
            return torch.full((x.shape[0], 3), math.nan)

    bad = classifiers.wrap(NaNNet(), ["r", "g", "b"], input_size=32, resize=32)
    with pytest.raises(ValueError, match="NaN"):
        metrics.deletion_curve(bad, img, torch.rand(32, 32), 0)


# ------------------------------------------------------------------ found by the second hostile batch
def test_map_statistics_refuse_nan_maps():
    m = torch.zeros(4, 4)
    m[1, 1] = math.nan
    for fn in (metrics.mask_area, metrics.total_variation, metrics.connected_regions):
        with pytest.raises(ValueError, match="mask holds NaN"):
            fn(m)


def test_a_stack_of_saliency_maps_is_refused_clearly(toy):
    clf, img = toy
    with pytest.raises(ValueError, match="saliency must be one H×W"):
        metrics.deletion_curve(clf, img, torch.rand(2, 32, 32), 0)


# ---------------------------------------------------------------- issue 18
@pytest.mark.parametrize("fn", [metrics.mask_area, metrics.total_variation])
@pytest.mark.parametrize("bad", [math.inf, -math.inf])
def test_area_and_tv_refuse_infinite_maps_instead_of_nan(fn, bad):
    m = torch.rand(4, 4)
    m[1, 2] = bad
    with pytest.raises(ValueError, match="±inf"):
        fn(m)


@pytest.mark.parametrize("threshold, exc", [(math.nan, ValueError), (math.inf, ValueError), (True, TypeError),
                                            ("0.5", TypeError), (torch.tensor(0.5), TypeError)])
def test_mask_area_threshold_must_be_a_finite_number(threshold, exc):
    with pytest.raises(exc, match="threshold must be a finite number"):
        metrics.mask_area(torch.rand(4, 4), threshold=threshold)
    with pytest.raises(exc, match="threshold must be a finite number"):
        metrics.connected_regions(torch.rand(4, 4), threshold=threshold)


def test_mask_area_with_an_ordinary_threshold_still_counts():
    m = torch.tensor([[0.1, 0.9], [0.6, 0.2]])
    assert float(metrics.mask_area(m, threshold=0.5)) == 0.5
    assert float(metrics.mask_area(m, threshold=np.float32(0.5))) == 0.5


@pytest.mark.parametrize("f, s, match", [
    ([0.0, 0.5, 1.0], [1.0, math.nan, 0.0], "scores must be finite"),
    ([0.0, math.inf], [1.0, 0.0], "fractions must be finite"),
    ([1.0, 0.5, 0.0], [0.0, 0.5, 1.0], "non-decreasing"),
    ([0.0, 0.5, 1.0], [1.0, 0.0], "same length"),
    ([0.0], [1.0], "at least 2 points"),
    ([[0.0, 1.0]], [[1.0, 1.0]], "1-D"),
])
def test_auc_refuses_curves_that_have_no_area(f, s, match):
    with pytest.raises(ValueError, match=match):
        metrics.auc(f, s)


def test_auc_refuses_strings():
    with pytest.raises(TypeError, match="fractions"):
        metrics.auc("abc", [1, 2, 3])


@pytest.mark.parametrize("seeds, exc, match", [
    (5, TypeError, r"seeds must be a sequence of int seeds.*pass \(5,\)"),
    ([1.7], TypeError, r"seeds\[0\] must be an int"),
    ([0, 2**64], ValueError, r"seeds\[1\] must be an int"),
    ([], ValueError, "1 to 1000 seeds"),
    (range(1001), ValueError, "MAX_SEEDS"),
    ("012", TypeError, "seeds must be a sequence"),
])
def test_random_order_auc_checks_its_seeds_before_any_pass(toy, seeds, exc, match):
    clf, img = toy
    with pytest.raises(exc, match=match):
        metrics.random_order_auc(clf, img, 0, seeds=seeds)


def test_ranking_seed_beyond_64_bits_names_the_generator():
    with pytest.raises(ValueError, match="generator must be an int"):
        metrics.ranking(torch.rand(4, 4), generator=2**64)


def test_batch_size_is_bounded(toy):
    clf, img = toy
    with pytest.raises(ValueError, match=r"batch_size must be an int .*<= 1024"):
        metrics.deletion_curve(clf, img, torch.rand(32, 32), 0, batch_size=10**9)


def test_centre_prior_refuses_a_shape_of_gigabytes_at_once():
    with pytest.raises(ValueError, match="MAX_PIXELS"):
        metrics.centre_prior((10**5, 10**5))  # tried to allocate 80 GB


def test_a_tiny_classifier_gets_a_default_baseline_it_can_use():
    clf = classifiers.toy_classifier(size=4)
    img = torch.rand(3, 4, 4)
    f, p = metrics.deletion_curve(clf, img, torch.rand(4, 4), 0, steps=4)  # complained about a sigma of 10
    assert len(f) == 5 and bool(torch.isfinite(p).all())
    assert math.isfinite(metrics.random_order_auc(clf, img, 0, steps=4))


def test_pointing_game_tolerance_is_bounded_before_the_dilation():
    part = torch.zeros(8, 8, dtype=torch.bool)
    part[2, 2] = True
    with pytest.raises(ValueError, match=r"tolerance must be a finite number >= 0 and <= 64"):
        metrics.pointing_game(torch.rand(8, 8), part, tolerance=9999)  # a 2e4 × 2e4 disc: 1.6 GB
