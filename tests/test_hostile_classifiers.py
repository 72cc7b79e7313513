"""Hostile inputs to fido_lib.classifiers (issue 11): clear errors before any work."""
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
