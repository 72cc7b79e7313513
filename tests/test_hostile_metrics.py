"""Hostile inputs to fido_lib.metrics (issue 11): NaN maps, unbounded steps, wrong-range images."""
import math

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
