"""The fast path (fido_lib.fastpath) and the readability / baseline metrics FIDO is scored with.

Behaviour on tiny inputs only: the quality and speed goals are measured by
``benchmarks/fido_speed.py`` and notebook 04, not asserted here.
"""
import copy
import math

import pytest
import torch
from torch import nn

from fido_lib import classifiers, fastpath, fido, metrics
from fido_lib.fido import FidoConfig

pytestmark = pytest.mark.usefixtures("one_thread")


class TinyNet(nn.Module):
    """conv → BN → ReLU → conv → BN → pool → linear: three classes, BatchNorm with real statistics."""

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.conv1, self.bn1 = nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8)
        self.conv2, self.bn2 = nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8)
        self.head = nn.Linear(8, 3)
        with torch.no_grad():
            for m in (self.conv1, self.conv2, self.head):
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * 0.5)
            for bn in (self.bn1, self.bn2):
                bn.running_mean.copy_(torch.randn(8, generator=g) * 0.3)
                bn.running_var.copy_(torch.rand(8, generator=g) + 0.5)
                bn.weight.copy_(torch.rand(8, generator=g) + 0.5)
                bn.bias.copy_(torch.randn(8, generator=g) * 0.1)
            # class 0 likes red: the evidence sits in a known place
            self.head.weight[0] += 2.0

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = self.bn2(self.conv2(x))
        return self.head(x.mean(dim=(-2, -1))) + 8 * (x[:, :1].mean(dim=(-2, -1)) * 0)


class SharedOutput(nn.Module):
    """The convolution's output is used twice: folding its BatchNorm would change the other use."""

    def __init__(self):
        super().__init__()
        self.conv, self.bn, self.head = nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4), nn.Linear(4, 3)
        with torch.no_grad():
            self.bn.running_mean.fill_(0.5)
            self.bn.running_var.fill_(2.0)

    def forward(self, x):
        y = self.conv(x)
        return self.head((self.bn(y) + y).mean(dim=(-2, -1)))


def tiny_classifier(model=None):
    model = (model or TinyNet()).eval()
    return classifiers.wrap(model, ["red", "green", "blue"], input_size=16, resize=16, name="tiny")


def red_photo():
    img = torch.full((3, 16, 16), 0.5)
    img[:, 4:9, 5:10] = torch.tensor([1.0, 0.1, 0.1]).view(3, 1, 1)
    return img


CFG = FidoConfig(iterations=15, batch_size=2, mask_size=None, infill="mean", l1=1.0, tv=0.5, lr=0.2)


def _snapshot(clf):
    m = clf.model
    return {
        "state": {k: v.detach().clone() for k, v in m.state_dict().items()},
        "requires_grad": [p.requires_grad for p in m.parameters()],
        "grads": [p.grad for p in m.parameters()],
        "devices": {str(p.device) for p in m.parameters()},
        "training": [mod.training for mod in m.modules()],
        "modules": [type(mod).__name__ for mod in m.modules()],
        "memory_format": [p.is_contiguous() for p in m.parameters()],
    }


# ------------------------------------------------------------------ the caller's classifier
def test_fit_leaves_the_callers_classifier_exactly_as_it_was():
    clf = tiny_classifier()
    first = next(clf.model.parameters())
    first.requires_grad_(False)  # a caller's own choice, which must survive the fit
    before = _snapshot(clf)
    r = fido.fit(clf, red_photo(), "red", CFG.replace(iterations=3), progress=False)
    after = _snapshot(clf)
    assert r.complete
    assert before["state"].keys() == after["state"].keys()
    assert all(torch.equal(before["state"][k], after["state"][k]) for k in before["state"])
    assert {k: v for k, v in before.items() if k != "state"} == {k: v for k, v in after.items() if k != "state"}
    assert all(g is None for g in after["grads"])


def test_fold_batchnorm_matches_the_model_and_refuses_a_shared_output():
    model = TinyNet().eval()
    x = torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    folded, n = fastpath.fold_batchnorm(copy.deepcopy(model), x)
    assert n == 2 and not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    with torch.no_grad():
        torch.testing.assert_close(folded(x), model(x), rtol=1e-5, atol=1e-5)
    shared = SharedOutput().eval()
    kept, n = fastpath.fold_batchnorm(shared, x)
    assert n == 0 and kept is shared  # folding would change y's other use: refused
    with pytest.raises(ValueError, match="eval"):
        fastpath.fold_batchnorm(TinyNet().train(), x)


def test_the_copys_memory_format_is_the_one_asked_for_weights_included():
    # a copy of a channels-last model keeps channels-last weights, and a convolution follows its
    # weights: channels_last=False must convert them back, or "contiguous" runs channels-last kernels
    clf = classifiers.wrap(TinyNet().eval(), ["red", "green", "blue"], input_size=16, resize=16, name="tiny",
                           channels_last=True)
    x = red_photo()[None].expand(2, -1, -1, -1).clone()
    convs = lambda net: [m.weight for m in net.model.modules() if isinstance(m, nn.Conv2d)]  # noqa: E731
    for cl in (True, False):
        net = fastpath.frozen_copy(clf, "cpu", precision="float32", channels_last=cl)
        fmt = torch.channels_last if cl else torch.contiguous_format
        assert net.levers["channels_last"] is cl
        assert all(w.is_contiguous(memory_format=fmt) for w in convs(net)), cl
        with torch.no_grad():
            torch.testing.assert_close(net.logits(x), clf.logits(x), rtol=1e-4, atol=1e-4)
    # and the caller's channels-last model is left channels-last
    assert all(w.is_contiguous(memory_format=torch.channels_last) for w in convs(clf))


def test_the_fast_path_gives_the_float32_masks_within_tolerance():
    # tolerance: insertion / deletion AUC within 0.02 (the documented bound); maps within
    # 0.05 — folding changes the logits by rounding (~1e-6), and Adam, which divides each
    # step by the gradient's running RMS, turns that into mask differences up to ~1e-2
    # (measured 0.0075 here)
    clf = tiny_classifier()
    img = red_photo()
    slow = fido.fit(clf, img, "red", CFG.replace(fast=False), progress=False)
    fast = fido.fit(clf, img, "red", CFG, progress=False)
    for a, b in ((slow.ssr, fast.ssr), (slow.sdr, fast.sdr)):
        assert float((a - b).abs().max()) < 0.05
    x = slow.image
    for kind, curve, m_slow, m_fast in (("ins", metrics.insertion_curve, slow.ssr, fast.ssr),
                                        ("del", metrics.deletion_curve, slow.sdr, fast.sdr)):
        a = metrics.auc(*curve(clf, x, m_slow, 0, steps=8))
        b = metrics.auc(*curve(clf, x, m_fast, 0, steps=8))
        assert abs(a - b) <= 0.02, (kind, a, b)


@pytest.mark.skipif(not fastpath.native_bfloat16("cpu"), reason="this CPU has no native bfloat16 (AVX512-BF16 / AMX)")
def test_bfloat16_where_native_stays_within_the_auc_tolerance():
    clf = tiny_classifier()
    img = red_photo()
    ref = fido.fit(clf, img, "red", CFG, progress=False)
    low = fido.fit(clf, img, "red", CFG.replace(precision="bfloat16"), progress=False)
    for curve, a, b in ((metrics.insertion_curve, ref.ssr, low.ssr), (metrics.deletion_curve, ref.sdr, low.sdr)):
        auc_a = metrics.auc(*curve(clf, ref.image, a, 0, steps=8))
        auc_b = metrics.auc(*curve(clf, ref.image, b, 0, steps=8))
        assert abs(auc_a - auc_b) <= 0.02


def test_bfloat16_is_refused_where_it_would_be_emulated(monkeypatch):
    monkeypatch.setattr(fastpath, "_cpu_has_native_bf16", lambda: False)
    assert fastpath.native_bfloat16("cpu") is False
    clf = tiny_classifier()
    with pytest.raises(ValueError, match="native bfloat16"):
        fido.fit(clf, red_photo(), 0, CFG.replace(precision="bfloat16"), progress=False)
    net = fastpath.frozen_copy(clf, "cpu", precision="auto")
    assert net.levers["bfloat16"] is False


def test_config_checks_the_fast_path_fields():
    with pytest.raises(ValueError, match="precision"):
        FidoConfig(precision="float16")
    with pytest.raises(TypeError, match="fast"):
        FidoConfig(fast="yes")


# ------------------------------------------------------------------ baseline and readability
def test_centre_prior_is_a_centred_gaussian_with_peak_one():
    m = metrics.centre_prior((21, 31))
    assert m.shape == (21, 31) and m.dtype == torch.float32
    assert float(m[10, 15]) == pytest.approx(1.0) and float(m.max()) == pytest.approx(1.0)
    assert torch.allclose(m, m.flip(0)) and torch.allclose(m, m.flip(1))
    # σ = a quarter of the shorter side: m = exp(-r² / 2σ²)
    sigma = 0.25 * 201
    expected = math.exp(-(50**2) / (2 * sigma**2))
    assert float(metrics.centre_prior((201, 301))[100, 150 + 50]) == pytest.approx(expected, rel=1e-5)
    # the width changes values, not the order by distance (all that deletion / insertion use)
    narrow, wide = metrics.centre_prior((16, 16), sigma=0.1), metrics.centre_prior((16, 16), sigma=2.0)
    assert torch.equal(narrow.reshape(-1).argsort(stable=True), wide.reshape(-1).argsort(stable=True))


@pytest.mark.parametrize("shape, sigma, error", [((0, 5), 0.25, ValueError), ("ab", 0.25, TypeError),
                                                 ((8, 8), 0.0, ValueError), ((8, 8), float("nan"), ValueError)])
def test_centre_prior_refuses_bad_arguments(shape, sigma, error):
    with pytest.raises(error):
        metrics.centre_prior(shape, sigma)


def test_connected_regions_counts_4_connected_blobs():
    m = torch.zeros(3, 20, 20)
    m[0, 2:6, 2:6] = 1
    m[0, 10:12, 3:18] = 0.9
    m[1, ::2, ::2] = 1  # 100 isolated pixels
    m[2, 5, 5] = m[2, 6, 6] = 1  # diagonal neighbours are separate regions
    assert metrics.connected_regions(m).tolist() == [2, 100, 2]
    assert int(metrics.connected_regions(m[0], threshold=0.95)) == 1
    ring = torch.zeros(12, 12)
    ring[2, 2:10] = ring[9, 2:10] = ring[2:10, 2] = ring[2:10, 9] = 1
    assert int(metrics.connected_regions(ring)) == 1
    with pytest.raises(ValueError, match="threshold"):
        metrics.connected_regions(m, threshold=float("nan"))
