"""Hostile inputs to fido_lib.classifiers (issue 11): clear errors before any work."""
import numpy as np
import pytest
import torch
from torch import nn

from fido_lib import classifiers
from fido_lib.classifiers import Classifier, wrap

pytestmark = pytest.mark.usefixtures("one_thread")


class _Linear(nn.Module):
    """Mean colour → ``k`` logits, or whatever ``out`` makes of them."""

    def __init__(self, k=3, out=None):
        super().__init__()
        self.fc = nn.Linear(3, k)
        self.out = out

    def forward(self, x):
        y = self.fc(x.mean(dim=(-2, -1)))
        return self.out(y) if self.out else y


def test_load_of_an_unknown_name_says_unknown_model_and_lists_the_choices():
    with pytest.raises(ValueError, match="unknown model 'nope'") as err:
        classifiers.load("nope")
    msg = str(err.value)
    assert all(name in msg for name in classifiers.OFFLINE_MODELS)
    assert "torchvision" not in msg.lower()


def test_load_of_a_typo_suggests_the_close_name():
    with pytest.raises(ValueError, match="efficientnet_lite0"):
        classifiers.load("efficientnet_lite")


@pytest.mark.parametrize("device, error", [("bogus", ValueError), ("cuda:99", ValueError), (3.5, TypeError)])
def test_load_checks_the_device_before_building_anything(device, error, monkeypatch):
    built = []
    monkeypatch.setattr(classifiers, "toy_classifier", lambda *a, **k: built.append(1))
    with pytest.raises(error, match="device"):
        classifiers.load("toy", device=device)
    assert not built


@pytest.mark.parametrize("value", ["abc", ["a", "b", "c"], {"r": 0.5}])
def test_mean_and_std_of_the_wrong_type_are_a_type_error_naming_the_parameter(value):
    for name in ("mean", "std"):
        with pytest.raises(TypeError, match=f"{name} must be"):
            wrap(_Linear(), ["a", "b", "c"], input_size=8, resize=8, **{name: value})


def test_a_string_is_not_a_list_of_class_names():
    with pytest.raises(TypeError, match="class_names.*str"):
        wrap(_Linear(4), "abcd", input_size=8, resize=8)


def test_class_names_must_be_a_sequence():
    with pytest.raises(TypeError, match="class_names"):
        wrap(_Linear(), 3, input_size=8, resize=8)


def test_a_one_class_model_is_refused_by_fit_before_any_work(monkeypatch):
    clf = wrap(_Linear(1), ["only"], input_size=8, resize=8)
    assert "at least 2 classes" in _fit_starts_no_work(clf, monkeypatch)


def _fit_starts_no_work(clf, monkeypatch):
    """fit must refuse ``clf`` before preparing the photo (the first piece of work)."""
    from fido_lib import fido

    calls = []
    monkeypatch.setattr(Classifier, "prepare", lambda self, image: calls.append(1))
    with pytest.raises((ValueError, TypeError)) as err:
        fido.fit(clf, torch.rand(3, 8, 8), 0, fido.FidoConfig(iterations=2, batch_size=1), progress=False)
    assert not calls
    return str(err.value)


def test_class_name_count_differing_from_the_model_outputs_is_caught_before_fit_works(monkeypatch):
    clf = wrap(_Linear(5), ["a", "b", "c"], input_size=8, resize=8)
    msg = _fit_starts_no_work(clf, monkeypatch)
    assert "3 class names" in msg and "5" in msg


def test_logits_refuses_a_count_mismatch_too():
    clf = wrap(_Linear(5), ["a", "b", "c"], input_size=8, resize=8)
    with pytest.raises(ValueError, match="3 class names"):
        clf.logits(torch.rand(2, 3, 8, 8))


@pytest.mark.parametrize("out, what", [
    (lambda y: y[0], "rank 1"),
    (lambda y: (y, y), "tuple"),
    (lambda y: y.unsqueeze(-1), "shape"),
    (lambda y: (y * 100).long(), "floating"),
])
def test_model_outputs_that_are_not_n_by_c_logits_are_caught_before_fit_works(out, what, monkeypatch):
    clf = wrap(_Linear(3, out), ["a", "b", "c"], input_size=8, resize=8)
    msg = _fit_starts_no_work(clf, monkeypatch)
    assert what in msg and "model" in msg


def test_the_output_check_leaves_a_training_model_in_training_mode_and_its_statistics_alone():
    net = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))
    clf = wrap(net, ["a", "b", "c"], input_size=8, resize=8)
    net.train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    clf.check_outputs()
    assert net.training
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


@pytest.mark.parametrize("value", [float("nan"), 200.0])
def test_top_k_of_a_prepared_image_outside_0_1_is_refused(value):
    clf = classifiers.load("toy")
    with pytest.raises(ValueError, match=r"image must be floats in \[0, 1\]"):
        clf.top_k(torch.full((3, 32, 32), value), 3)


# ---------------------------------------------------------------- issue 18
def _spy_interpolate(monkeypatch):
    from fido_lib import classifiers as C
    sizes = []
    real = C.F.interpolate

    def spy(x, *args, **kwargs):
        out = real(x, *args, **kwargs)
        sizes.append(out.numel())
        return out

    monkeypatch.setattr(C.F, "interpolate", spy)
    return sizes


@pytest.mark.parametrize("shape", [(1, 20000, 3), (20000, 1, 3), (10, 600, 3)])
def test_prepare_refuses_extreme_side_ratios_before_resizing(shape, monkeypatch):
    sizes = _spy_interpolate(monkeypatch)
    clf = classifiers.toy_classifier()
    clf = wrap(clf.model, clf.class_names, input_size=224, resize=256)
    with pytest.raises(ValueError, match=r"side ratio of .* at most 50:1 \(MAX_ASPECT\)"):
        clf.prepare(np.zeros(shape, np.uint8))  # tried to allocate 15.7 GB
    assert sizes == []


def test_a_20000_by_1_png_is_refused_without_gigabytes():
    import io

    from PIL import Image

    from fido_lib import images
    buf = io.BytesIO()
    Image.new("RGB", (20000, 1)).save(buf, format="PNG")
    clf = classifiers.toy_classifier()
    clf = wrap(clf.model, clf.class_names, input_size=224, resize=256)
    with pytest.raises(ValueError, match="MAX_ASPECT"):
        clf.prepare(images.load_image(buf.getvalue()))  # cost 1.7 GB


def test_a_long_strip_is_cropped_before_resizing(monkeypatch):
    sizes = _spy_interpolate(monkeypatch)
    clf = classifiers.toy_classifier()
    clf = wrap(clf.model, clf.class_names, input_size=224, resize=256)
    yy, xx = np.mgrid[0:40, 0:1600]
    smooth = 127.5 + 60 * np.sin(xx / 37.0)[..., None] * np.cos(yy / 11.0)[..., None] * np.array([1.0, 0.5, -1.0])
    strip = np.round(smooth).astype(np.uint8)  # 40:1
    x = clf.prepare(strip)
    assert x.shape == (3, 224, 224)
    assert max(sizes) < 4 * 3 * 256 * 256  # the whole strip resized is 3 × 256 × 10240
    # the same as resizing it all and cropping, up to the resampling at the cut
    full = torch.nn.functional.interpolate(torch.from_numpy(strip).permute(2, 0, 1)[None].float() / 255,
                                           size=(256, 10240), mode="bilinear", antialias=True, align_corners=False)
    ref = full[0, :, 16:240, 5008:5232].clamp(0, 1)
    assert (x - ref).abs().max() < 0.02


def test_an_ordinary_photo_is_resized_exactly_as_before():
    clf = classifiers.toy_classifier()
    clf = wrap(clf.model, clf.class_names, input_size=224, resize=256)
    photo = np.random.default_rng(1).integers(0, 256, (300, 533, 3), dtype=np.uint8)  # 16:9
    x = torch.from_numpy(photo).permute(2, 0, 1)[None].float() / 255
    full = torch.nn.functional.interpolate(x, size=(256, 455), mode="bilinear", antialias=True, align_corners=False)
    assert torch.equal(clf.prepare(photo), full[0, :, 16:240, 115:339].clamp(0, 1))


@pytest.mark.parametrize("kw", [dict(input_size=10**5), dict(resize=10**6), dict(input_size=(8, 0))])
def test_input_size_and_resize_are_bounded(kw):
    clf = classifiers.toy_classifier()
    with pytest.raises(ValueError, match="MAX_SIDE|between 1 and"):
        wrap(clf.model, clf.class_names, **kw)


def test_a_bool_tensor_is_not_a_class_index():
    clf = classifiers.toy_classifier()
    with pytest.raises(TypeError, match="target"):
        clf.class_index(torch.tensor(True))  # was taken as class 1
    assert clf.class_index(torch.tensor(2)) == 2


def test_class_index_takes_imagenet_full_names_as_the_docstring_promises():
    names = classifiers.imagenet_classes()
    clf = wrap(_Linear(1000), names, input_size=8, resize=8)
    tabby = names.index("tabby")
    assert clf.class_index("tabby, tabby cat") == tabby  # was refused
    assert clf.class_index("tabby cat") == tabby
    with pytest.raises(ValueError, match="not a class name"):
        clf.class_index("tabby, tabby cat, nonsense")


class _MetaOut(nn.Module):
    def forward(self, x):
        return x.mean(dim=(-2, -1)).to("meta")


def test_a_model_returning_meta_tensors_is_named_not_a_raw_item_error():
    clf = wrap(_MetaOut(), ["a", "b", "c"], input_size=8, resize=8)
    with pytest.raises(TypeError, match="'meta' device"):
        clf.check_outputs()
