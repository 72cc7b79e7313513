"""fido_lib.metrics: area, total variation, deletion / insertion against a random order."""
import pytest
import torch

from fido_lib import classifiers, metrics

pytestmark = pytest.mark.usefixtures("one_thread")


def red_square_photo():
    img = torch.full((3, 32, 32), 0.5)
    img[:, 8:16, 10:18] = torch.tensor([1.0, 0.1, 0.1]).view(3, 1, 1)
    square = torch.zeros(32, 32)
    square[8:16, 10:18] = 1.0
    return img, square


def test_total_variation_of_known_maps():
    assert float(metrics.total_variation(torch.full((5, 5), 0.7))) == 0.0
    checker = (torch.arange(4).view(-1, 1) + torch.arange(4)).remainder(2).float()
    assert float(metrics.total_variation(checker)) == pytest.approx(2.0)
    step = torch.zeros(4, 4)
    step[:, 2:] = 1.0  # one vertical edge: 4 of the 12 horizontal differences are 1
    assert float(metrics.total_variation(step)) == pytest.approx(4 / 12)
    assert metrics.total_variation(torch.rand(2, 3, 6, 6)).shape == (2, 3)


def test_mask_area_mean_and_thresholded():
    m = torch.tensor([[0.0, 0.2], [0.6, 1.0]])
    assert float(metrics.mask_area(m)) == pytest.approx(0.45)
    assert float(metrics.mask_area(m, threshold=0.5)) == pytest.approx(0.5)


def test_auc_is_the_trapezoid_rule():
    assert metrics.auc([0, 0.5, 1], [1, 0.5, 0]) == pytest.approx(0.5)
    assert metrics.auc([0, 1], [1, 1]) == pytest.approx(1.0)


def test_ranking_puts_the_most_salient_first_and_breaks_ties_by_seed():
    s = torch.tensor([[0.1, 0.9], [0.5, 0.9]])
    order = metrics.ranking(s, generator=0)
    assert sorted(order.tolist()) == [0, 1, 2, 3]
    assert set(order[:2].tolist()) == {1, 3} and order[2:].tolist() == [2, 0]
    assert torch.equal(order, metrics.ranking(s, generator=0))
    flat = torch.zeros(10, 10)
    assert not torch.equal(metrics.ranking(flat, generator=1), metrics.ranking(flat, generator=2))


def test_curves_start_and_end_where_they_should():
    clf = classifiers.toy_classifier()
    img, square = red_square_photo()
    baseline = torch.full_like(img, 0.5)
    with torch.no_grad():
        p_img = float(clf.probabilities(img)[0, 0])
        p_base = float(clf.probabilities(baseline)[0, 0])
    f, s = metrics.deletion_curve(clf, img, square, "red", steps=8, baseline=baseline)
    assert f[0] == 0 and f[-1] == 1 and len(s) == 9
    assert s[0] == pytest.approx(p_img, abs=1e-6) and s[-1] == pytest.approx(p_base, abs=1e-6)
    f, s = metrics.insertion_curve(clf, img, square, "red", steps=8, baseline=baseline)
    assert s[0] == pytest.approx(p_base, abs=1e-6) and s[-1] == pytest.approx(p_img, abs=1e-6)


def test_a_map_on_the_evidence_beats_a_random_order():
    clf = classifiers.toy_classifier()
    img, square = red_square_photo()
    kw = dict(steps=16, baseline=torch.full_like(img, 0.5))
    deletion = metrics.auc(*metrics.deletion_curve(clf, img, square, 0, **kw))
    insertion = metrics.auc(*metrics.insertion_curve(clf, img, square, 0, **kw))
    assert deletion < metrics.random_order_auc(clf, img, 0, "deletion", **kw) - 0.2
    assert insertion > metrics.random_order_auc(clf, img, 0, "insertion", **kw) + 0.2
    # the inverted map is worse than random
    assert metrics.auc(*metrics.deletion_curve(clf, img, 1 - square, 0, **kw)) > deletion + 0.5


def test_bad_arguments_are_rejected():
    clf = classifiers.toy_classifier()
    img, square = red_square_photo()
    with pytest.raises(ValueError, match="saliency"):
        metrics.deletion_curve(clf, img, square[:10], 0)
    with pytest.raises(ValueError, match="steps"):
        metrics.insertion_curve(clf, img, square, 0, steps=0)
    with pytest.raises(ValueError, match="prepare"):
        metrics.deletion_curve(clf, torch.rand(3, 40, 40), torch.rand(40, 40), 0)
    with pytest.raises(ValueError, match="kind"):
        metrics.random_order_auc(clf, img, 0, "flip")
    with pytest.raises(ValueError, match="target"):
        metrics.deletion_curve(clf, img, square, 7)
