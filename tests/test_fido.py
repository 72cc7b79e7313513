"""fido_lib.fido: SSR keeps, SDR destroys, seeds repeat, bad input fails before work."""

import numpy as np
import pytest
import torch
from PIL import Image

from fido_lib import classifiers, fido, metrics, plotting
from fido_lib.fido import FidoConfig

pytestmark = pytest.mark.usefixtures("one_thread")


def red_square_photo():
    img = torch.full((3, 32, 32), 0.5)
    img[:, 8:16, 10:18] = torch.tensor([1.0, 0.1, 0.1]).view(3, 1, 1)  # 6 % of the image
    square = torch.zeros(32, 32, dtype=torch.bool)
    square[8:16, 10:18] = True
    return img, square


# the mean colour as infill: a greyish image with a faint red tint, so only the
# red square is strong evidence for "red"
TOY = FidoConfig(iterations=60, batch_size=4, infill="mean", mask_size=None, l1=2.0, tv=0.5, lr=0.2)


@pytest.fixture(scope="module")
def toy():
    return classifiers.toy_classifier()


@pytest.mark.parametrize("relaxation", ["stable", "paper", "gal"])
def test_ssr_keeps_and_sdr_destroys_the_class_with_a_small_area(toy, relaxation):
    img, square = red_square_photo()
    r = fido.fit(toy, img, "red", TOY.replace(relaxation=relaxation), progress=False)
    assert r.complete and r.iterations_done == TOY.iterations
    with torch.no_grad():
        p_keep = float(toy.probabilities(r.infilled("ssr"))[0, 0])
        p_drop = float(toy.probabilities(r.infilled("sdr"))[0, 0])
    assert r.original_prob > 0.9
    assert p_keep > 0.9  # the SSR region alone is enough
    assert p_drop < 0.5  # removing the SDR region destroys the class
    for m in (r.ssr, r.sdr):
        assert float(metrics.mask_area(m, 0.5)) < 0.12  # small: the square is 6 %
        assert float(m[square].mean()) > 0.8 > 0.2 > float(m[~square].mean())  # and on the square
    assert torch.allclose(r.joint, (r.ssr * r.sdr).sqrt())


def test_the_same_seed_gives_the_same_masks(toy):
    img, _ = red_square_photo()
    cfg = TOY.replace(iterations=10, infill="knockoff")
    a = fido.fit(toy, img, 0, cfg, progress=False)
    b = fido.fit(toy, img, 0, cfg, progress=False)
    c = fido.fit(toy, img, 0, cfg.replace(seed=1), progress=False)
    assert torch.equal(a.ssr, b.ssr) and torch.equal(a.sdr, b.sdr) and torch.equal(a.infill, b.infill)
    assert a.history == b.history
    assert not torch.equal(a.ssr, c.ssr)


def test_one_pass_per_mask_gives_the_fit_of_one_pass_for_both(toy):
    # separate SSR and SDR passes hold one mask's activations at a time; the gradients are
    # the same sums, so the masks and every recorded number agree
    img, _ = red_square_photo()
    cfg = TOY.replace(iterations=8, infill="knockoff")
    two = fido.fit(toy, img, 0, cfg, progress=False)
    one = fido.fit(toy, img, 0, cfg.replace(separate_passes=False), progress=False)
    assert cfg.separate_passes
    assert torch.allclose(two.ssr, one.ssr, atol=1e-6) and torch.allclose(two.sdr, one.sdr, atol=1e-6)
    for key, values in two.history.items():
        assert values == pytest.approx(one.history[key], rel=1e-5, abs=1e-6), key


def test_history_has_one_entry_per_iteration(toy):
    img, _ = red_square_photo()
    r = fido.fit(toy, img, 0, TOY.replace(iterations=7), progress=False)
    assert set(r.history) == {"loss", "grad_norm", "ssr_log_odds", "ssr_prob", "ssr_area",
                              "sdr_log_odds", "sdr_prob", "sdr_area"}
    assert all(len(v) == 7 for v in r.history.values())
    assert all(np.isfinite(v).all() for v in r.history.values())
    assert min(r.history["grad_norm"]) > 0


def test_maps_live_on_the_grid_the_classifier_sees(toy):
    photo = np.zeros((48, 80, 3), np.uint8)
    photo[16:32, 32:48] = (255, 20, 20)
    r = fido.fit(toy, photo, 0, TOY.replace(iterations=3, mask_size=8), progress=False)
    assert r.image.shape == (3, 32, 32) and r.infill.shape == (3, 32, 32)
    assert r.ssr.shape == r.sdr.shape == r.joint.shape == (32, 32)
    assert r.ssr_logits.shape == (8, 8)
    assert torch.equal(r.image, toy.prepare(photo))


def test_pil_array_and_tensor_inputs_give_the_same_fit(toy):
    arr = (red_square_photo()[0].permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
    cfg = TOY.replace(iterations=3)
    a = fido.fit(toy, Image.fromarray(arr), 0, cfg, progress=False)
    b = fido.fit(toy, arr, 0, cfg, progress=False)
    c = fido.fit(toy, torch.from_numpy(arr).permute(2, 0, 1).float() / 255, 0, cfg, progress=False)
    assert torch.equal(a.ssr, b.ssr) and torch.allclose(a.ssr, c.ssr, atol=1e-6)


@pytest.mark.parametrize("mode, has", [("ssr", ("ssr",)), ("sdr", ("sdr",))])
def test_single_mode_fits_one_mask(toy, mode, has):
    img, _ = red_square_photo()
    r = fido.fit(toy, img, 0, TOY.replace(mode=mode, iterations=3), progress=False)
    assert (r.ssr is not None) == ("ssr" in has) and (r.sdr is not None) == ("sdr" in has)
    assert r.joint is None
    assert all(k.split("_")[0] in (mode, "loss", "grad") for k in r.history)


def test_interrupting_returns_the_partial_result(toy, capsys):
    img, _ = red_square_photo()

    def stop_at_third(i, record):
        assert record["iterations"] == 50 and "loss" in record
        if i == 2:
            raise KeyboardInterrupt

    r = fido.fit(toy, img, 0, TOY.replace(iterations=50), callback=stop_at_third, progress=True)
    assert not r.complete and r.iterations_done == 3
    assert len(r.history["loss"]) == 3 and r.ssr is not None
    assert "INCOMPLETE" in repr(r)
    err = capsys.readouterr().err
    assert "\r" in err and "interrupted" in err


def test_fit_leaves_the_model_alone(toy):
    img, _ = red_square_photo()
    before = [p.detach().clone() for p in toy.model.parameters()]
    fido.fit(toy, img, 0, TOY.replace(iterations=3), progress=False)
    for p, q in zip(toy.model.parameters(), before):
        assert p.grad is None and p.requires_grad and torch.equal(p, q)


class CountingModel(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = classifiers.toy_classifier().model
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return self.inner(x)


def forced(config, **fields):
    # a config whose fields were changed behind the dataclass's back
    for k, v in fields.items():
        object.__setattr__(config, k, v)
    return config


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(image=torch.rand(32, 32)), ValueError, "3×H×W"),
        (dict(image=torch.full((3, 32, 32), 1.5)), ValueError, r"\[0, 1\]"),
        (dict(target=3), ValueError, r"\[0, 2\]"),
        (dict(target="purple"), ValueError, "not a class name"),
        (dict(config=forced(TOY.replace(), iterations=0)), ValueError, "iterations"),
        (dict(config="fast"), TypeError, "FidoConfig"),
        (dict(callback=3), TypeError, "callback"),
        (dict(config=FidoConfig(device="cuda:0")), ValueError, "cuda") if not torch.cuda.is_available()
        else (dict(progress="yes"), TypeError, "progress"),
    ],
)
def test_bad_input_fails_before_any_work(kwargs, error, match):
    model = CountingModel()
    clf = classifiers.wrap(model, ["red", "green", "blue"], input_size=32, resize=32)
    args = dict(image=red_square_photo()[0], target=0, config=TOY.replace(iterations=2), callback=None, progress=False)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        fido.fit(clf, args["image"], args["target"], args["config"],
                 callback=args["callback"], progress=args["progress"])
    assert model.calls == 0


@pytest.mark.parametrize(
    "field, value, match",
    [
        ("iterations", 0, "iterations"),
        ("batch_size", 0, "batch_size"),
        ("iterations", 2.5, "iterations"),
        ("lr", 0.0, "lr"),
        ("l1", -1.0, "l1"),
        ("temperature", 0.0, "temperature"),
        ("relaxation", "fast", "'stable'"),
        ("infill", "gan", "'blur'"),
        ("mode", "joint", "'both'"),
        ("mask_size", 0, "mask_size"),
        ("infill_params", {"radius": 3}, "radius"),
        ("device", "gpu please", "device"),
        ("separate_passes", 1, "separate_passes"),
    ],
)
def test_config_rejects_bad_values_when_made(field, value, match):
    with pytest.raises((ValueError, TypeError), match=match):
        FidoConfig(**{field: value})


def test_fit_rejects_a_non_classifier():
    with pytest.raises(TypeError, match="Classifier"):
        fido.fit(torch.nn.Identity(), torch.rand(3, 8, 8), 0)


def test_progress_bar_goes_to_stderr_and_shows_the_probabilities(capsys):
    fido.fit(classifiers.toy_classifier(), red_square_photo()[0], 0, TOY.replace(iterations=3), progress=True)
    err = capsys.readouterr().err
    assert "3/3" in err and "p_ssr=" in err and "FIDO both" in err

def test_figures_of_a_result(toy):
    img, square = red_square_photo()
    r = fido.fit(toy, img, 0, TOY.replace(iterations=3), progress=False)
    figs = [
        plotting.plot_fido_result(r),
        plotting.plot_fido_comparison({"stable": r, "again": r}),
        plotting.plot_fido_scores(r),
        plotting.plot_infills(r.image, {"uniform": r.infill}),
        plotting.plot_deletion_insertion(
            {"stable": metrics.deletion_curve(toy, r.image, r.sdr, 0, steps=4)},
            {"stable": metrics.insertion_curve(toy, r.image, r.ssr, 0, steps=4)},
        ),
    ]
    for fig in figs:
        assert all(ax.get_xlabel() or not ax.axison for ax in fig.axes if ax.get_label() != "<colorbar>")
        plotting.plt.close(fig)
