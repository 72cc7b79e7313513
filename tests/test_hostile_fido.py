"""Hostile inputs to fido_lib.fido (issue 11): checked before any work, no silent NaN,
the caller's classifier untouched."""
import math
import warnings

import pytest
import torch
from torch import nn

from fido_lib import classifiers, fido
from fido_lib.classifiers import Classifier
from fido_lib.fido import FidoConfig

pytestmark = pytest.mark.usefixtures("one_thread")

QUICK = dict(iterations=3, batch_size=1, mask_size=8)


def _photo():
    img = torch.full((3, 32, 32), 0.5)
    img[:, 8:16, 8:16] = torch.tensor([1.0, 0.1, 0.1]).view(3, 1, 1)
    return img


def _net_classifier():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                        nn.Linear(4, 3))
    return classifiers.wrap(net, ["red", "green", "blue"], input_size=32, resize=32)


def _state(clf):
    m = clf.model
    return {
        "device": clf.device,
        "training": m.training,
        "params": {k: (v.detach().clone(), v.requires_grad, v.device) for k, v in m.named_parameters()},
        "buffers": {k: v.clone() for k, v in m.named_buffers()},
    }


def _assert_unchanged(clf, before):
    after = _state(clf)
    assert after["device"] == before["device"] and after["training"] == before["training"]
    for k, (v, rg, dev) in before["params"].items():
        v2, rg2, dev2 = after["params"][k]
        assert torch.equal(v, v2) and rg == rg2 and dev == dev2, k
    for k, v in before["buffers"].items():
        assert torch.equal(v, after["buffers"][k]), k


def _no_work(monkeypatch):
    """Record whether fit prepared the photo (its first piece of work)."""
    calls = []
    original = Classifier.prepare
    monkeypatch.setattr(Classifier, "prepare", lambda self, image: calls.append(1) or original(self, image))
    return calls


# ------------------------------------------------------------------ mask_size = 1
def test_a_one_cell_mask_gives_a_finite_loss_end_to_end():
    clf = classifiers.load("toy")
    r = fido.fit(clf, _photo(), "red", FidoConfig(iterations=4, batch_size=2, mask_size=1), progress=False)
    assert r.complete and r.ssr_logits.shape == (1, 1)
    assert all(math.isfinite(v) for v in r.history["loss"])
    assert torch.isfinite(r.ssr).all() and torch.isfinite(r.sdr).all()


# ------------------------------------------------------------------ devices and the caller's classifier
@pytest.mark.parametrize("device", ["meta", "cuda:7", "bogus"])
def test_an_unusable_device_is_refused_before_anything_moves(device, monkeypatch):
    clf = _net_classifier()
    clf.model.train()  # a caller's model in training mode stays in it
    for p in clf.model.parameters():
        p.requires_grad_(False)
    before = _state(clf)
    calls = _no_work(monkeypatch)
    with pytest.raises(ValueError, match="device"):
        fido.fit(clf, _photo(), 0, _config_with_device(device), progress=False)
    assert not calls
    _assert_unchanged(clf, before)


def _config_with_device(device):
    """A config holding ``device``: built normally, or (if the constructor refuses it) forced."""
    try:
        return FidoConfig(device=device, **QUICK)
    except ValueError:
        cfg = FidoConfig(**QUICK)
        object.__setattr__(cfg, "device", device)
        return cfg


def test_meta_is_refused_when_the_config_is_made():
    with pytest.raises(ValueError, match="meta"):
        FidoConfig(device="meta")


@pytest.mark.parametrize("requires_grad, training", [(True, False), (False, True)])
def test_a_successful_fit_leaves_the_callers_classifier_as_it_was(requires_grad, training):
    clf = _net_classifier()
    clf.model.train(training)
    for p in clf.model.parameters():
        p.requires_grad_(requires_grad)
    before = _state(clf)
    r = fido.fit(clf, _photo(), 0, FidoConfig(**QUICK), progress=False)
    assert r.complete
    _assert_unchanged(clf, before)


def test_a_failing_fit_leaves_the_callers_classifier_as_it_was():
    clf = _net_classifier()
    clf.model.train()
    before = _state(clf)

    def boom(i, record):
        raise RuntimeError("out of memory (simulated)")

    with pytest.raises(RuntimeError, match="simulated"):
        fido.fit(clf, _photo(), 0, FidoConfig(**QUICK), callback=boom, progress=False)
    _assert_unchanged(clf, before)


# ------------------------------------------------------------------ expensive or overflowing settings
def test_a_blur_sigma_far_beyond_the_image_is_refused_with_the_limit(monkeypatch):
    clf = classifiers.load("toy")  # 32×32
    calls = _no_work(monkeypatch)
    with pytest.raises(ValueError, match=r"sigma must be <= 64.*1e\+06"):
        fido.fit(clf, _photo(), 0, FidoConfig(infill_params={"sigma": 1e6}, **QUICK), progress=False)
    assert not calls


def test_a_blur_sigma_up_to_the_limit_still_fits():
    clf = classifiers.load("toy")
    r = fido.fit(clf, _photo(), 0, FidoConfig(infill_params={"sigma": 64}, **QUICK), progress=False)
    assert r.complete


@pytest.mark.parametrize("field", ["l1", "tv", "lr"])
def test_weights_float32_cannot_hold_are_refused(field):
    with pytest.raises(ValueError, match=f"{field} must be .*<= 1e\\+15"):
        FidoConfig(**{field: 1e308})


@pytest.mark.parametrize("field, value", [("batch_size", 10**6), ("iterations", 10**9)])
def test_sizes_that_would_take_hours_or_gigabytes_are_refused(field, value):
    with pytest.raises(ValueError, match=f"{field} must be an int .*<="):
        FidoConfig(**{field: value})


# ------------------------------------------------------------------ NaN never complete
class _NaNAfter(nn.Module):
    """Colour logits that turn NaN (or inf) once the image differs from the photo."""

    def __init__(self, bad):
        super().__init__()
        self.w = nn.Parameter(torch.eye(3))
        self.bad = bad
        self.photo = None

    def forward(self, x):
        y = x.mean(dim=(-2, -1)) @ self.w
        if self.photo is None:
            self.photo = x[:1].detach().clone()
        changed = (x - self.photo).abs().flatten(1).amax(1) > 1e-6
        return torch.where(changed.unsqueeze(1), torch.full_like(y, self.bad), y)


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_nan_or_inf_logits_never_give_a_silent_complete_result(bad):
    clf = classifiers.wrap(_NaNAfter(bad), ["r", "g", "b"], input_size=32, resize=32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = fido.fit(clf, _photo(), 0, FidoConfig(**QUICK), progress=False)
    assert not r.complete
    assert any("logits" in str(w.message) and ("NaN" in str(w.message) or "inf" in str(w.message)) for w in caught)
    for m in (r.ssr, r.sdr, r.joint):
        assert torch.isfinite(m).all()  # the last finite state, not NaN maps
    assert all(math.isfinite(v) for v in r.history["loss"])


def test_a_fit_whose_loss_turns_nan_says_so(monkeypatch):
    # a loss that overflows although every setting is allowed: force it through the regulariser
    from fido_lib import fido as F

    real = F.total_variation
    monkeypatch.setattr(F, "total_variation", lambda m, *a, **k: real(m, *a, **k) * math.inf)
    clf = classifiers.load("toy")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = fido.fit(clf, _photo(), 0, FidoConfig(**QUICK), progress=False)
    assert not r.complete and r.iterations_done < 3
    assert any("loss" in str(w.message) for w in caught)


# ------------------------------------------------------------------ callbacks
@pytest.mark.parametrize("callback", [lambda: None, lambda i: None, lambda i, r, extra: None])
def test_a_callback_of_the_wrong_arity_fails_before_any_work(callback, monkeypatch):
    calls = _no_work(monkeypatch)
    with pytest.raises(TypeError, match="callback"):
        fido.fit(classifiers.load("toy"), _photo(), 0, FidoConfig(**QUICK), callback=callback, progress=False)
    assert not calls


@pytest.mark.parametrize("callback", [lambda i, r: None, lambda *a: None, lambda i, r, extra=1: None, print])
def test_callbacks_that_take_two_arguments_are_accepted(callback):
    r = fido.fit(classifiers.load("toy"), _photo(), 0, FidoConfig(**QUICK), callback=callback, progress=False)
    assert r.complete


# ---------------------------------------------------------------- issue 18: the caller's model
class _Counting(nn.Module):
    """Adds 1 to a buffer and to a weight in every forward: a caller's model that changes when run."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)
        self.register_buffer("calls", torch.zeros(()))

    def forward(self, x):
        self.calls += 1
        with torch.no_grad():
            self.conv.bias += 1
        return self.conv(x).mean(dim=(-2, -1))


def test_fit_never_runs_the_callers_model_buffers_and_weights_stay():
    net = _Counting()
    clf = classifiers.wrap(net, ["red", "green", "blue"], input_size=32, resize=32)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    fido.fit(clf, _photo(), 0, FidoConfig(**QUICK, fast=False), progress=False)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())  # came back +1


def test_a_students_forward_hook_never_sees_the_librarys_probe_images():
    clf = _net_classifier()
    seen = []
    handle = clf.model[0].register_forward_hook(lambda mod, inp, out: seen.append(inp[0].shape))
    clf.check_outputs()
    fido.fit(clf, _photo(), 0, FidoConfig(**QUICK), progress=False)
    handle.remove()
    assert seen == []  # fired 6 times on the grey probe image
    assert clf.model[0]._forward_hooks == {}  # and the caller's hook dict is untouched by the copy


def test_torch_own_hooks_stay_on_the_copy():
    from fido_lib.fastpath import private_copy
    net = nn.Sequential(nn.Conv2d(3, 3, 1), nn.Flatten())
    nn.utils.spectral_norm(net[0])  # its weight is recomputed by a forward pre-hook
    copy = private_copy(net).eval()
    assert len(copy[0]._forward_pre_hooks) == 1
    x = torch.rand(1, 3, 4, 4)
    assert torch.allclose(copy(x), net.eval()(x))


class _BatchDependent(nn.Module):
    """Right for one image; C - 1 logits for a batch."""

    def forward(self, x):
        out = x.mean(dim=(-2, -1))
        return out if x.shape[0] == 1 else out[:, :2]


def test_a_model_wrong_only_for_batches_is_caught_before_the_fit_works():
    clf = classifiers.wrap(_BatchDependent(), ["red", "green", "blue"], input_size=32, resize=32)
    with pytest.raises(ValueError, match=r"returns 2 logits per image .* 3 class names"):
        clf.check_outputs()
    clf2 = classifiers.wrap(_BatchDependent(), ["red", "green", "blue"], input_size=32, resize=32)
    with pytest.raises(ValueError, match="3 class names"):
        fido.fit(clf2, _photo(), 0, FidoConfig(**QUICK), progress=False)


@pytest.mark.parametrize("dtype", [torch.float64, torch.bfloat16])
def test_a_float64_or_bfloat16_model_fits(dtype):
    clf = _net_classifier()
    clf.model.to(dtype)
    result = fido.fit(clf, _photo(), 0, FidoConfig(**QUICK), progress=False)  # failed inside a convolution
    assert result.complete and result.ssr.dtype == torch.float32
    assert clf.logits(_photo()).dtype in (torch.float32, torch.float64)
    assert next(clf.model.parameters()).dtype == dtype  # the caller's model keeps its dtype


@pytest.mark.parametrize("theta, size, keep, error, message", [
    (torch.zeros(1, 1, 4, 4), (8, 8), True, ValueError, "2-D float tensor"),
    (torch.zeros(4, 4, dtype=torch.long), (8, 8), True, ValueError, "2-D float tensor"),
    (torch.zeros(0, 4), (8, 8), True, ValueError, "non-empty"),
    ([[0.0]], (8, 8), True, ValueError, "2-D float tensor"),
    (torch.zeros(4, 4), 8, True, ValueError, r"size must be \(height, width\)"),
    (torch.zeros(4, 4), (8, 0), True, ValueError, r"size\[1\] must be an int >= 1"),
    (torch.zeros(4, 4), (8, 8.0), True, TypeError, r"size\[1\] must be an int"),
    (torch.zeros(4, 4), (8, 8), "yes", TypeError, "keep"),
])
def test_mask_from_logits_refuses_bad_arguments(theta, size, keep, error, message):
    with pytest.raises(error, match=message):
        fido.mask_from_logits(theta, size, keep)


def test_mask_from_logits_keeps_and_drops_the_same_logits():
    theta = torch.tensor([[-3.0, 0.0], [2.0, 5.0]])
    keep, drop = fido.mask_from_logits(theta, (2, 2), True), fido.mask_from_logits(theta, (2, 2), False)
    torch.testing.assert_close(keep + drop, torch.ones(2, 2))
    assert fido.mask_from_logits(theta, (8, 6), True).shape == (8, 6)
