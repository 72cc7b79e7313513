"""In-fills that see the mask (fido_lib.infill.Infiller): the interface, surround, the toy birds' exact
counterfactual, the learned in-filler, and FIDO's fit drawing its fill from one."""
import pytest
import torch

from fido_lib import infill, inpainter, toy_birds
from fido_lib.classifiers import load
from fido_lib.fido import FidoConfig, fit


def photo(seed=100, h=20, w=24):
    return torch.rand(3, h, w, generator=torch.Generator().manual_seed(seed))


def masks(b=3, h=20, w=24, seed=1):
    return torch.rand(b, 1, h, w, generator=torch.Generator().manual_seed(seed))


@pytest.fixture(scope="module")
def birds():
    return toy_birds.make_birds(3, seed=555)


# ---------------------------------------------------------------------- the interface
def test_names_and_make_infiller():
    assert set(infill.MASK_AWARE_INFILLS) == {"surround", "learned_toy_birds"}
    assert not set(infill.MASK_AWARE_INFILLS) & set(infill.INFILLS)
    assert isinstance(infill.make_infiller("surround"), infill.SurroundInfill)
    assert isinstance(infill.make_infiller("learned_toy_birds"), infill.LearnedInfill)
    fixed = infill.make_infiller("blur", sigma=3.0)
    assert isinstance(fixed, infill.FixedInfill)
    s = infill.SurroundInfill()
    assert infill.make_infiller(s) is s
    with pytest.raises(ValueError, match="infill must be one of"):
        infill.make_infiller("gan")
    with pytest.raises(TypeError, match="infill_params"):
        infill.make_infiller(s, sigma=3)


def test_make_infill_refuses_a_mask_aware_name():
    with pytest.raises(ValueError, match="sees the mask"):
        infill.make_infill(photo(), "surround")


@pytest.mark.parametrize("drop, exc, match", [
    ("x", TypeError, "drop"),
    (torch.ones(2, 1, 5, 5), ValueError, "drop must have shape"),
    (torch.ones(2, 3, 20, 24), ValueError, "drop must have shape"),
    (torch.full((1, 1, 20, 24), 1.5), ValueError, r"drop must hold finite values in \[0, 1\]"),
    (torch.full((1, 1, 20, 24), float("nan")), ValueError, "NaN"),
    (torch.zeros(infill.MAX_DRAWS + 1, 1, 20, 24), ValueError, "masks"),
])
def test_bad_masks_are_refused_naming_the_parameter(drop, exc, match):
    with pytest.raises(exc, match=match):
        infill.SurroundInfill()(photo(), drop)


def test_bad_image_is_refused():
    with pytest.raises((TypeError, ValueError), match="image"):
        infill.SurroundInfill()(torch.rand(20, 24), masks())
    with pytest.raises(ValueError, match="image"):
        infill.SurroundInfill()(photo() * 255, masks())


def test_one_mask_may_be_given_as_h_by_w(birds):
    x, d = photo(), masks(1)
    s = infill.SurroundInfill()
    assert torch.equal(s(x, d[0, 0]), s(x, d))
    assert s(x, d[0]).shape == (1, 3, 20, 24)


def test_the_callers_tensors_are_untouched():
    x, d = photo(), masks()
    x0, d0 = x.clone(), d.clone()
    infill.SurroundInfill()(x, d)
    infill.FixedInfill("knockoff")(x, d, 3)
    assert torch.equal(x, x0) and torch.equal(d, d0)


def test_a_subclass_returning_the_wrong_shape_is_caught():
    class Broken(infill.Infiller):
        def _draw(self, image, drop, generator):
            return image.unsqueeze(0)  # one fill for B masks

    with pytest.raises(ValueError, match="must return"):
        Broken()(photo(), masks(3))


def test_fixed_infill_matches_make_infill_and_draws_afresh():
    x, d = photo(), masks(2)
    blur = infill.FixedInfill("blur", sigma=4.0)(x, d)
    assert torch.allclose(blur[0], infill.make_infill(x, "blur", sigma=4.0)) and torch.equal(blur[0], blur[1])
    knock = infill.FixedInfill("knockoff")(x, d, 0)
    assert not torch.equal(knock[0], knock[1])  # a fresh draw per mask
    assert torch.equal(knock, infill.FixedInfill("knockoff")(x, d, 0))  # the same seed, the same draws
    with pytest.raises(ValueError, match="fixed in-fills"):
        infill.FixedInfill("surround")


# ---------------------------------------------------------------------- surround
def test_surround_keeps_a_constant_image_constant():
    x = torch.full((3, 20, 24), 0.3)
    fill = infill.SurroundInfill()(x, masks())
    assert torch.allclose(fill, x.expand_as(fill), atol=1e-6)


def test_surround_fill_stays_in_the_kept_colours_and_ignores_what_is_dropped():
    x = photo()
    drop = torch.zeros(1, 1, 20, 24)
    drop[..., 5:15, 6:18] = 1.0
    fill = infill.SurroundInfill()(x, drop)[0]
    kept = x[:, drop[0, 0] == 0]
    for c in range(3):  # a convex combination of kept pixels
        assert float(kept[c].min()) - 1e-6 <= float(fill[c].min())
        assert float(fill[c].max()) <= float(kept[c].max()) + 1e-6
    y = x.clone()
    y[:, 5:15, 6:18] = torch.rand(3, 10, 12)  # change what lies under the dropped pixels
    assert torch.allclose(infill.SurroundInfill()(y, drop)[0], fill)
    # a smooth continuation: far smoother inside the hole than the noise photo itself
    inside = fill[:, 6:14, 7:17]
    assert inside.diff(dim=-1).abs().mean() < 0.3 * x.diff(dim=-1).abs().mean()


def test_surround_with_nothing_kept_is_mid_grey():
    fill = infill.SurroundInfill()(photo(), torch.ones(1, 1, 20, 24))
    assert torch.allclose(fill, torch.full_like(fill, 0.5))


def test_surround_continues_a_left_right_split_on_each_side():
    x = torch.zeros(3, 16, 32)
    x[:, :, 16:] = 1.0  # black left, white right
    drop = torch.zeros(1, 1, 16, 32)
    drop[..., 4:12, 2:8] = 1.0  # a hole in the black half
    drop[..., 4:12, 24:30] = 1.0  # and one in the white half
    fill = infill.SurroundInfill()(x, drop)[0]
    assert float(fill[:, 4:12, 2:8].max()) < 0.2 and float(fill[:, 4:12, 24:30].min()) > 0.8


# ---------------------------------------------------------------------- the exact counterfactual
def test_counterfactual_repaints_only_the_crest_with_prior_colours(birds):
    x, part = birds.images[0], birds.part_masks[0]
    cf = toy_birds.CrestCounterfactual(x, part)
    fills = cf(x, torch.rand(64, 1, 64, 64), 0)
    assert torch.equal(fills[:, :, ~part], x[:, ~part].expand(64, -1, -1))
    colours = fills[:, :, part]  # 64×3×P: one flat colour per draw
    assert torch.equal(colours, colours[:, :, :1].expand_as(colours))
    nearest = torch.cdist(colours[:, :, 0], toy_birds.CREST_COLOURS)
    assert float(nearest.min(1).values.max()) <= 0.05 * 3**0.5 + 1e-6  # within the data's jitter of a class colour
    classes = nearest.argmin(1)
    assert len(set(classes.tolist())) == len(toy_birds.CLASS_NAMES)  # a fresh draw per mask, every class drawn
    assert torch.equal(fills, cf(x, torch.rand(64, 1, 64, 64), 0))  # seeded


def test_counterfactual_belongs_to_its_image(birds):
    cf = toy_birds.CrestCounterfactual(birds.images[0], birds.part_masks[0])
    with pytest.raises(ValueError, match="another image"):
        cf(birds.images[1], torch.rand(1, 1, 64, 64))
    with pytest.raises(TypeError, match="part"):
        toy_birds.CrestCounterfactual(birds.images[0], birds.part_masks[0].float())
    with pytest.raises(TypeError, match="image"):
        toy_birds.CrestCounterfactual(birds.images[:1], birds.part_masks[0])


def test_counterfactual_removals_exclude_the_own_class(birds):
    x, part, label = birds.images[0], birds.part_masks[0], int(birds.labels[0])
    every = toy_birds.counterfactual_removals(x, part, 0)
    assert every.shape == (4, 3, 64, 64)
    others = toy_birds.counterfactual_removals(x, part, 0, exclude=label)
    assert others.shape == (3, 3, 64, 64)
    got = torch.cdist(others[:, :, part][:, :, 0], toy_birds.CREST_COLOURS).argmin(1).tolist()
    assert sorted(got) == sorted(c for c in range(4) if c != label)
    assert torch.equal(others[:, :, ~part], x[:, ~part].expand(3, -1, -1))
    with pytest.raises(ValueError, match="exclude"):
        toy_birds.counterfactual_removals(x, part, 0, exclude=4)


def test_crest_prior_follows_the_classes_given():
    c = toy_birds.crest_prior(4, 0, classes=[0, 1, 2, 3])
    assert torch.allclose(c, toy_birds.CREST_COLOURS, atol=0.05 + 1e-6)
    with pytest.raises(ValueError, match="classes"):
        toy_birds.crest_prior(2, 0, classes=[0, 7])


# ---------------------------------------------------------------------- the learned in-filler
def test_learned_infill_samples_from_a_net_and_checks_the_size(one_thread):
    torch.manual_seed(0)
    net = inpainter.InpaintingNet(width=4, hypotheses=3, cell=16).eval()
    learned = infill.LearnedInfill(net)
    x = toy_birds.make_birds(1, seed=3).images[0]
    fills = learned(x, torch.rand(2, 1, 64, 64), 0)
    assert fills.shape == (2, 3, 64, 64) and float(fills.min()) >= 0 and float(fills.max()) <= 1
    d = torch.rand(2, 1, 64, 64)
    assert torch.equal(learned(x, d, 5), learned(x, d, 5))
    with pytest.raises(ValueError, match="64×64"):
        learned(photo(h=32, w=32), torch.rand(1, 1, 32, 32))
    with pytest.raises(TypeError, match="net"):
        infill.LearnedInfill(torch.nn.Linear(2, 2))


def test_learned_infill_sees_only_the_kept_pixels(one_thread):
    torch.manual_seed(0)
    net = inpainter.InpaintingNet(width=4, hypotheses=3).eval()
    x = toy_birds.make_birds(1, seed=3).images[0]
    drop = torch.zeros(1, 1, 64, 64)
    drop[..., 16:48, 16:48] = 1.0
    y = x.clone()
    y[:, 16:48, 16:48] = 1 - y[:, 16:48, 16:48]
    learned = infill.LearnedInfill(net)
    assert torch.allclose(learned(x, drop, 1), learned(y, drop, 1))


def test_shipped_inpainter_loads_with_weights_only_and_is_small():
    assert inpainter.WEIGHTS_PATH.is_file()
    assert inpainter.WEIGHTS_PATH.stat().st_size <= 2_000_000
    saved = torch.load(inpainter.WEIGHTS_PATH, weights_only=True)
    assert set(saved) >= {"config", "state"}
    net = inpainter.load_inpainter()
    assert not any(p.requires_grad for p in net.parameters()) and not net.training


def test_a_corrupt_weights_file_is_refused(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="not a valid in-filler weights file"):
        inpainter.load_inpainter(bad)
    with pytest.raises(FileNotFoundError, match="train"):
        inpainter.load_inpainter(tmp_path / "missing.pt")


# ---------------------------------------------------------------------- fit draws from the in-filler
@pytest.fixture(scope="module")
def clf():
    return load("toy_birds")


def _cfg(**kw):
    return FidoConfig(iterations=3, batch_size=2, mask_size=16, warmup=0, seed=4, **kw)


def test_fit_with_the_counterfactual_draws_a_fill_per_sample(birds, clf, one_thread):
    x, part = birds.images[0], birds.part_masks[0]
    calls = []

    class Spy(toy_birds.CrestCounterfactual):
        def _draw(self, image, drop, generator):
            calls.append(drop.shape[0])
            return super()._draw(image, drop, generator)

    result = fit(clf, x, int(birds.labels[0]), _cfg(infill=Spy(x, part)), progress=False)
    assert result.complete and isinstance(result.infiller, Spy)
    # two masks (SSR, SDR) × 3 iterations, each a batch of 2 draws, plus one draw for the result
    assert calls[:6] == [2] * 6 and len(calls) == 7
    again = fit(clf, x, int(birds.labels[0]), _cfg(infill=toy_birds.CrestCounterfactual(x, part)), progress=False)
    assert torch.equal(result.ssr, again.ssr)  # seeded: the same fit twice
    shown = result.infilled("ssr")
    assert shown.shape == x.shape and torch.allclose(shown[:, ~part], x[:, ~part], atol=1e-6)


def test_fit_refuses_a_counterfactual_of_another_image_before_any_work(birds, clf):
    cf = toy_birds.CrestCounterfactual(birds.images[1], birds.part_masks[1])
    with pytest.raises(ValueError, match="another image"):
        fit(clf, birds.images[0], 0, _cfg(infill=cf), progress=False)


def test_fit_takes_mask_aware_names(birds, clf, one_thread):
    result = fit(clf, birds.images[0], 0, _cfg(infill="surround"), progress=False)
    assert result.complete and isinstance(result.infiller, infill.SurroundInfill)
    fixed = fit(clf, birds.images[0], 0, _cfg(infill="blur"), progress=False)
    assert fixed.infiller is None


def test_config_refuses_params_for_an_infiller_object(birds):
    cf = toy_birds.CrestCounterfactual(birds.images[0], birds.part_masks[0])
    with pytest.raises(TypeError, match="infill_params"):
        FidoConfig(infill=cf, infill_params={"sigma": 2.0})
    with pytest.raises(ValueError, match="infill must be one of"):
        FidoConfig(infill="gan")


def test_an_infill_of_the_wrong_type_is_a_type_error():
    with pytest.raises(TypeError, match="infill must be a name"):
        FidoConfig(infill=3)
    with pytest.raises(TypeError, match="infill must be a name"):
        infill.make_infiller(["blur"])
