"""fido_lib.baselines: Captum's saliency, integrated gradients, GradientShap and occlusion
behind FIDO's call and map format, on a colour detector whose evidence sits in a known square."""
import numpy as np
import pytest
import torch

from fido_lib import baselines, classifiers, metrics
from fido_lib.fido import FidoConfig, fit
from fido_lib.infill import make_infill

pytestmark = pytest.mark.usefixtures("one_thread")


def red_square_photo():
    img = torch.full((3, 32, 32), 0.5)
    img[:, 8:16, 10:18] = torch.tensor([1.0, 0.1, 0.1]).view(3, 1, 1)
    square = torch.zeros(32, 32, dtype=torch.bool)
    square[8:16, 10:18] = True
    return img, square


class Counting(torch.nn.Module):
    """Wraps a model and counts its forward passes."""

    def __init__(self, model):
        super().__init__()
        self.model, self.calls = model, 0

    def forward(self, x):
        self.calls += 1
        return self.model(x)


@pytest.fixture
def clf():
    return classifiers.toy_classifier()


@pytest.mark.parametrize("method", baselines.CAPTUM_METHODS)
def test_every_captum_method_finds_the_red_square(clf, method):
    img, square = red_square_photo()
    a = baselines.attribute(clf, img, "red", method)
    assert a.method == method and a.target == 0 and a.target_name == "red"
    assert set(a.maps) == ({"abs"} if method == "saliency" else {"abs", "signed"})
    for name, m in a.maps.items():
        assert m.shape == (32, 32) and m.dtype == torch.float32 and bool(torch.isfinite(m).all()), name
        assert float(metrics.pointing_game(m, square)) == 1.0, name
        # the square is 1/16 of the image: a map that ignores it puts ~6 % of its mass there
        assert float(metrics.mass_inside(m.clamp(min=0), square)) > 0.4, name
    assert a.raw.shape == (3, 32, 32) and a.seconds > 0
    assert torch.equal(a.image, img)


def test_signed_map_is_evidence_for_the_class_and_abs_its_magnitude(clf):
    img, square = red_square_photo()
    a = baselines.attribute(clf, img, "red", "integrated_gradients")
    assert float(a.maps["signed"][square].sum()) > 0
    assert torch.equal(a.maps["abs"], a.maps["signed"].abs())
    # for the class "green" the red square is evidence against: its signed attribution is not positive
    g = baselines.attribute(clf, img, "green", "integrated_gradients")
    assert float(g.maps["signed"][square].sum()) <= 0


def test_integrated_gradients_is_complete_against_the_blur_baseline(clf):
    # Σ attribution = z_c(x) - z_c(baseline): only true if the adapter passes the right
    # baseline, target and the classifier's own normalisation to Captum
    img, _ = red_square_photo()
    a = baselines.attribute(clf, img, "red", "integrated_gradients", steps=64)
    blur = make_infill(img, "blur", sigma=10.0)
    with torch.no_grad():
        gap = float(clf.logits(img)[0, 0] - clf.logits(blur)[0, 0])
    assert abs(gap) > 0.5  # a gap worth explaining (the red logit is 60 × the mean red excess)
    assert float(a.raw.sum()) == pytest.approx(gap, rel=0.02)
    other = torch.full_like(img, 0.5)
    b = baselines.attribute(clf, img, "red", "integrated_gradients", steps=64, baseline=other)
    with torch.no_grad():
        gap = float(clf.logits(img)[0, 0] - clf.logits(other)[0, 0])
    assert float(b.raw.sum()) == pytest.approx(gap, rel=0.02)


def test_gradient_shap_is_seeded_and_leaves_the_global_generators_alone(clf):
    img, _ = red_square_photo()
    np.random.seed(123)
    torch.manual_seed(321)
    np_state, torch_state = np.random.get_state()[1].copy(), torch.get_rng_state()
    a = baselines.attribute(clf, img, "red", "gradient_shap", seed=5, samples=8, stdevs=0.05)
    b = baselines.attribute(clf, img, "red", "gradient_shap", seed=5, samples=8, stdevs=0.05)
    c = baselines.attribute(clf, img, "red", "gradient_shap", seed=6, samples=8, stdevs=0.05)
    assert torch.equal(a.raw, b.raw)
    assert not torch.equal(a.raw, c.raw)
    assert np.array_equal(np.random.get_state()[1], np_state) and torch.equal(torch.get_rng_state(), torch_state)


def test_gradient_shap_batches_do_not_change_the_estimate_much(clf):
    img, _ = red_square_photo()
    one = baselines.attribute(clf, img, "red", "gradient_shap", samples=12, batch_size=12)
    three = baselines.attribute(clf, img, "red", "gradient_shap", samples=12, batch_size=4)
    assert torch.allclose(one.raw, three.raw, atol=1e-5)


def test_occlusion_window_defaults_and_options(clf):
    assert baselines.occlusion_window((224, 224)) == (32, 16)
    assert baselines.occlusion_window((64, 64)) == (9, 4)
    img, square = red_square_photo()
    a = baselines.attribute(clf, img, "red", "occlusion")
    assert (a.options["window"], a.options["stride"]) == baselines.occlusion_window((32, 32))
    b = baselines.attribute(clf, img, "red", "occlusion", window=4)
    assert (b.options["window"], b.options["stride"]) == (4, 2)
    # a window of one pixel: each pixel's own effect; outside the square removing a grey pixel changes nothing
    c = baselines.attribute(clf, img, "red", "occlusion", window=1, stride=1, baseline=torch.full_like(img, 0.5))
    assert float(c.maps["abs"][~square].abs().max()) < 1e-6 and float(c.maps["signed"][square].min()) > 0


def test_fido_runs_through_the_same_call(clf):
    img, square = red_square_photo()
    config = FidoConfig(iterations=10, mask_size=None)
    a = baselines.attribute(clf, img, "red", "fido", config=config)
    assert set(a.maps) == {"ssr", "sdr", "joint"} and a.fido is not None and a.raw is None
    direct = fit(clf, img, "red", config, progress=False)
    assert torch.equal(a.maps["ssr"], direct.ssr) and torch.equal(a.maps["sdr"], direct.sdr)
    b = baselines.from_fido(direct)
    assert b.method == "fido" and torch.equal(b.maps["joint"], direct.joint) and b.seconds == direct.seconds
    assert a.seconds >= a.fido.seconds  # the call's wall time includes the fit's set-up


def test_maps_go_straight_into_the_metrics(clf):
    img, _ = red_square_photo()
    for method in baselines.METHODS:
        opts = {"config": FidoConfig(iterations=5)} if method == "fido" else {}
        a = baselines.attribute(clf, img, "red", method, **opts)
        for m in a.maps.values():
            f, s = metrics.insertion_curve(clf, a.image, m, a.target, steps=4)
            assert len(s) == 5


def test_the_callers_objects_are_untouched(clf):
    img, _ = red_square_photo()
    before = img.clone()
    params = {k: v.clone() for k, v in clf.model.state_dict().items()}
    for method in baselines.CAPTUM_METHODS:
        baselines.attribute(clf, img, "red", method)
    assert torch.equal(img, before) and not img.requires_grad
    assert all(torch.equal(v, params[k]) for k, v in clf.model.state_dict().items())
    assert all(p.grad is None for p in clf.model.parameters())


@pytest.mark.parametrize("method, options, error, words", [
    ("lime", {}, ValueError, "method must be one of"),
    ("saliency", {"steps": 4}, TypeError, "takes the options none"),
    ("integrated_gradients", {"samples": 4}, TypeError, "'steps'"),
    ("integrated_gradients", {"steps": 0}, ValueError, "steps"),
    ("integrated_gradients", {"steps": 2.5}, TypeError, "steps"),
    ("gradient_shap", {"stdevs": -1.0}, ValueError, "stdevs"),
    ("occlusion", {"window": 33}, ValueError, "window"),
    ("occlusion", {"stride": 0}, ValueError, "stride"),
    ("occlusion", {"baseline": "smudge"}, ValueError, "baseline must be a fixed in-fill"),
    ("occlusion", {"baseline": torch.zeros(3, 8, 8)}, ValueError, "baseline must have"),
    ("occlusion", {"baseline": torch.full((3, 32, 32), 2.0)}, ValueError, r"\[0, 1\]"),
    ("fido", {"config": {"iterations": 3}}, TypeError, "config must be a FidoConfig"),
])
def test_bad_arguments_raise_before_any_pass(method, options, error, words):
    counting = Counting(classifiers.toy_classifier().model)
    clf = classifiers.Classifier(counting, ["red", "green", "blue"], input_size=32, resize=32)
    img, _ = red_square_photo()
    with pytest.raises(error, match=words):
        baselines.attribute(clf, img, "red", method, **options)
    assert counting.calls == 0


def test_bad_classifier_target_and_seed():
    img, _ = red_square_photo()
    clf = classifiers.toy_classifier()
    with pytest.raises(TypeError, match="classifier must be"):
        baselines.attribute(torch.nn.Identity(), img, 0)
    with pytest.raises(ValueError, match="target"):
        baselines.attribute(clf, img, 7)
    with pytest.raises(ValueError, match="seed"):
        baselines.attribute(clf, img, 0, "gradient_shap", seed=-1)
    with pytest.raises(TypeError, match="result must be a FidoResult"):
        baselines.from_fido({"ssr": None})
