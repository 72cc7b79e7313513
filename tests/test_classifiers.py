"""fido_lib.classifiers: log-odds, preprocessing, class names, loading."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from fido_lib import classifiers, images
from fido_lib.classifiers import Classifier

pytestmark = pytest.mark.usefixtures("one_thread")


def test_log_odds_equals_log_p_over_one_minus_p_where_that_is_accurate():
    logits = torch.tensor([[2.0, 0.5, -1.0, 0.0]], dtype=torch.float64)
    p = torch.softmax(logits, -1)[0]
    for c in range(4):
        expected = math.log(p[c]) - math.log(1 - p[c])
        assert float(Classifier.log_odds_from_logits(logits, c)) == pytest.approx(expected, rel=1e-12)


def test_log_odds_stays_finite_and_accurate_when_the_classifier_is_sure():
    # p_c rounds to 1 in float32, so log(1 - p) would be -inf; the exact value is 100 - log 2
    logits = torch.tensor([[100.0, 0.0, 0.0]])
    lo = Classifier.log_odds_from_logits(logits, 0)
    assert torch.isfinite(lo).all()
    assert float(lo) == pytest.approx(100 - math.log(2), abs=1e-4)
    lo_low = Classifier.log_odds_from_logits(logits, 1)
    assert float(lo_low) == pytest.approx(-100.0, abs=1e-4)


def test_log_odds_of_a_batch_has_one_value_per_image():
    logits = torch.randn(5, 7, generator=torch.Generator().manual_seed(0))
    assert Classifier.log_odds_from_logits(logits, 3).shape == (5,)


def test_class_index_accepts_indices_and_names_and_rejects_the_rest():
    clf = Classifier(nn.Identity(), ["a", "b", "b"], input_size=4, resize=4)
    assert clf.class_index(1) == 1
    assert clf.class_index(torch.tensor(2)) == 2
    assert clf.class_index("a") == 0
    with pytest.raises(ValueError, match=r"\[0, 2\]"):
        clf.class_index(3)
    with pytest.raises(ValueError, match="several"):
        clf.class_index("b")
    with pytest.raises(ValueError, match="not a class name"):
        clf.class_index("zebra")
    with pytest.raises(TypeError):
        clf.class_index(1.0)


def test_constructor_checks_its_arguments():
    with pytest.raises(TypeError, match="nn.Module"):
        Classifier(lambda x: x, ["a"])
    with pytest.raises(TypeError, match="class_names"):
        Classifier(nn.Identity(), [])
    with pytest.raises(ValueError, match="std"):
        Classifier(nn.Identity(), ["a"], std=(1, 0, 1))


def test_the_model_is_put_in_eval_mode():
    model = nn.Sequential(nn.Dropout(0.5)).train()
    Classifier(model, ["a"])
    assert not model.training


def test_prepare_resizes_the_shorter_side_then_centre_crops():
    clf = Classifier(nn.Identity(), ["a"], input_size=8, resize=10)
    img = np.zeros((20, 40, 3), np.uint8)
    img[:, 18:22] = 255  # a white band in the middle column
    x = clf.prepare(img)
    assert x.shape == (3, 8, 8) and x.dtype == torch.float32
    assert 0 <= float(x.min()) and float(x.max()) <= 1
    assert x[:, :, 3:5].mean() > 0.5 > x[:, :, 0].mean()  # the band stays centred


def test_prepare_gives_the_same_image_from_pil_array_and_tensor():
    clf = classifiers.toy_classifier()
    pil = images.sample("coffee")
    arr = np.asarray(pil)
    ten = torch.from_numpy(arr.copy()).permute(2, 0, 1).float() / 255
    a, b, c = clf.prepare(pil), clf.prepare(arr), clf.prepare(ten)
    assert torch.equal(a, b) and torch.allclose(a, c, atol=1e-6)


def test_wrap_normalises_inside_logits():
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 4, 2))
    clf = classifiers.wrap(model, ["x", "y"], input_size=4, resize=4, mean=(0.5, 0.4, 0.3), std=(0.2, 0.2, 0.1))
    x = torch.rand(2, 3, 4, 4, generator=torch.Generator().manual_seed(1))
    mean = torch.tensor([0.5, 0.4, 0.3]).view(1, 3, 1, 1)
    std = torch.tensor([0.2, 0.2, 0.1]).view(1, 3, 1, 1)
    assert torch.allclose(clf.logits(x), model((x - mean) / std))
    assert torch.allclose(clf.probabilities(x).sum(-1), torch.ones(2))


def test_imagenet_names_ship_with_the_package():
    names = classifiers.imagenet_classes()
    full = classifiers.imagenet_classes(full=True)
    ids = classifiers.imagenet_wordnet_ids()
    assert len(names) == len(full) == len(ids) == 1000
    assert names[0] == "tench" and ids[0] == "n01440764"
    assert names[281] == "tabby" and full[281] == "tabby, tabby cat"
    assert names[282] == "tiger cat" and names[967] == "espresso"
    assert ids == sorted(ids)  # the usual index order is sorted WordNet ids


def test_efficientnet_lite0_loads_offline_and_recognises_the_sample_photos():
    clf = classifiers.load("efficientnet_lite0")
    assert clf.num_classes == 1000 and clf.input_size == (224, 224)
    assert not clf.model.training
    cat = clf.top_k(images.sample("chelsea"), 3)
    assert {name for _, name, _ in cat} == {"tiger cat", "Egyptian cat", "tabby"}
    index, name, p = clf.top_k(images.sample("coffee"), 1)[0]
    assert (index, name) == (967, "espresso") and p > 0.9


def test_torchvision_models_need_torchvision():
    try:
        import torchvision  # noqa: F401
    except Exception:
        with pytest.raises(ImportError, match="torchvision"):
            classifiers.load("resnet50")
    else:
        pytest.skip("torchvision imports here; its models need their weights (network)")


def test_unknown_torchvision_model_name_is_rejected():
    pytest.importorskip("torchvision")
    with pytest.raises(ValueError, match="unknown model"):
        classifiers.load("no_such_model")


def test_toy_classifier_sees_a_red_patch():
    clf = classifiers.load("toy")
    img = torch.full((3, 32, 32), 0.5)
    img[:, 8:16, 8:16] = torch.tensor([1.0, 0.1, 0.1]).view(3, 1, 1)
    (index, name, p), *_ = clf.top_k(img, 3)
    assert name == "red" and p > 0.9


def test_top_k_checks_k():
    clf = classifiers.toy_classifier()
    with pytest.raises(ValueError, match="k must be"):
        clf.top_k(torch.rand(3, 32, 32), 4)
