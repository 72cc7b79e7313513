"""fido_lib.experiments.photo_fits: notebook 04's stored fits load as the fits they are, and a
file that is not one is refused before any array is read."""
import dataclasses
import json

import numpy as np
import pytest
import torch
from stored_copies import edited_copy

from fido_lib import classifiers, fido, images, metrics
from fido_lib.experiments import photo_fits
from fido_lib.fido import FidoConfig

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def clf():
    return classifiers.load("efficientnet_lite0")


def _head(path=photo_fits.FITS_PATH):
    with np.load(path) as data:
        return json.loads(str(data["config"]))


def tiny_classifier():
    g = torch.Generator().manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(),
                                torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, 3))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
    return classifiers.wrap(model.eval(), ["a", "b", "c"], input_size=16, resize=16, name="tiny")


TINY = FidoConfig(iterations=3, batch_size=1, mask_size=8)


def test_a_stored_fit_is_the_fit_it_stores(tmp_path):
    # the whole round trip on a small classifier: fit, save, load gives the fit's maps bit for bit
    tiny = tiny_classifier()
    fits = photo_fits.fit_photos(["coffee", "camera"], TINY, tiny, progress=False)
    path = photo_fits.save_fits(fits, tmp_path / "fits.npz")
    back = photo_fits.load_fits(tiny, config=TINY, path=path)
    assert list(back) == ["coffee", "camera"]
    for name, r in fits.items():
        b = back[name]
        for k in ("image", "infill", "ssr", "sdr", "joint", "ssr_logits", "sdr_logits"):
            assert torch.equal(getattr(b, k), getattr(r, k)), (name, k)
        assert (b.target, b.target_name, b.history, b.complete) == (r.target, r.target_name, r.history, True)
        assert b.original_prob == r.original_prob and b.seconds == pytest.approx(r.seconds)
    assert list(photo_fits.load_fits(tiny, ["camera"], TINY, path)) == ["camera"]


def test_the_shipped_fits_are_fidoconfig_fits_of_each_photos_top_class(clf):
    fits = photo_fits.load_fits(clf)
    assert list(fits) == list(images.SAMPLES)  # every photo stored with FidoConfig()
    meta = photo_fits.stored_meta()
    assert {"cpu", "threads", "torch", "date"} <= set(meta)
    for name, r in fits.items():
        assert r.config == FidoConfig() and r.complete
        assert r.target == clf.top_k(images.sample(name), 1)[0][0]
        assert r.ssr.shape == r.sdr.shape == (224, 224)
        assert 0 <= float(r.ssr.min()) and float(r.ssr.max()) <= 1
        assert len(r.history["loss"]) == FidoConfig().iterations


@pytest.mark.slow
def test_a_live_refit_scores_as_the_stored_fit(clf):
    # on the machine that made the file the logits agree bit for bit; elsewhere a fit's 40 noisy
    # steps move its AUCs: notebook 04's cross-CPU tolerance, 0.05
    stored = photo_fits.load_fits(clf, ["coffee"])["coffee"]
    live = fido.fit(clf, images.sample("coffee"), stored.target, FidoConfig(), progress=False)
    for curve, key in ((metrics.insertion_curve, "ssr"), (metrics.deletion_curve, "sdr")):
        a = metrics.auc(*curve(clf, live.image, getattr(live, key), live.target))
        b = metrics.auc(*curve(clf, stored.image, getattr(stored, key), stored.target))
        assert abs(a - b) <= 0.05, (key, a, b)
    corr = torch.corrcoef(torch.stack([live.ssr.flatten(), stored.ssr.flatten()]))[0, 1]
    assert float(corr) > 0.8


def test_load_fits_refuses_bad_arguments(clf, tmp_path):
    with pytest.raises(TypeError, match="classifier must be"):
        photo_fits.load_fits("efficientnet_lite0")
    with pytest.raises(TypeError, match="config must be a FidoConfig"):
        photo_fits.load_fits(clf, config={"tv": 10})
    for photos in ("chelsea", 5, [], (p for p in ["chelsea"] if False), [1]):
        with pytest.raises(TypeError, match="photos must be a non-empty list of photo names"):
            photo_fits.load_fits(clf, photos)
    assert list(photo_fits.load_fits(clf, (p for p in ["coffee"]))) == ["coffee"]  # a generator is read once
    with pytest.raises(ValueError, match="no fits made with this FidoConfig: .*device None"):
        photo_fits.load_fits(clf, config=FidoConfig(device=torch.device("cpu")))
    with pytest.raises(ValueError, match=r"holds no fit of photos \['dog'\]"):
        photo_fits.load_fits(clf, ["chelsea", "dog"])
    with pytest.raises(ValueError, match=r"holds no fit of photos \['coffee'\] with this FidoConfig"):
        photo_fits.load_fits(clf, ["coffee"], fido.READABLE)
    with pytest.raises(ValueError, match="no fits made with this FidoConfig: the stored ones differ in .*tv 10.0"):
        photo_fits.load_fits(clf, config=FidoConfig(tv=2.0))
    with pytest.raises(ValueError, match="mode 'both' with a fixed in-fill"):
        photo_fits.load_fits(clf, config=FidoConfig(mode="ssr"))
    with pytest.raises(ValueError, match="mode 'both' with a fixed in-fill"):
        photo_fits.load_fits(clf, config=FidoConfig(infill="surround"))
    with pytest.raises(ValueError, match=r"of classifier 'efficientnet_lite0', not of 'tiny': pass classifiers.load"):
        photo_fits.load_fits(tiny_classifier())
    with pytest.raises(TypeError, match="path must be a str or PathLike"):
        photo_fits.load_fits(clf, path=5)
    with pytest.raises(TypeError, match="path must be a str or PathLike"):
        photo_fits.stored_meta(None)
    with pytest.raises(FileNotFoundError, match="photo_fits"):
        photo_fits.load_fits(clf, path=tmp_path / "none.npz")
    with pytest.raises(ValueError, match="mode 'both'"):
        photo_fits.fit_photos(["chelsea"], FidoConfig(mode="sdr"))
    for photos, error, message in (("chelsea", TypeError, "photos must be a non-empty list"),
                                   ([], TypeError, "photos must be a non-empty list"),
                                   (["dog"], ValueError, r"names of images.SAMPLES .*\['dog'\]")):
        with pytest.raises(error, match=message):
            photo_fits.fit_photos(photos)
    with pytest.raises(TypeError, match="config must be a FidoConfig"):
        photo_fits.fit_photos(["chelsea"], "FidoConfig()")
    with pytest.raises(TypeError, match="classifier must be a fido_lib.classifiers.Classifier or None"):
        photo_fits.fit_photos(["chelsea"], None, "efficientnet_lite0")


def test_the_shipped_file_holds_notebook_04s_fits(clf):
    for config, photos in photo_fits.NOTEBOOK_04:
        assert list(photo_fits.load_fits(clf, config=config)) == list(photos)
    speckled = photo_fits.load_fits(clf, config=FidoConfig(mask_size=None, tv=0.0))["chelsea"]
    assert speckled.ssr_logits.shape == (224, 224)


def _json_edit(tmp_path, entry=None, **changes):
    head = _head()
    if entry is not None:
        i, edit = entry
        head["entries"][i] = {**head["entries"][i], **edit} if isinstance(edit, dict) else edit
    head.update(changes)
    return edited_copy(photo_fits.FITS_PATH, tmp_path / "edited.npz", {"config": np.array(json.dumps(head))})


def _config_with(**changes):
    return {**photo_fits.config_fields(FidoConfig()), **changes}


@pytest.mark.parametrize("entry, changes, message", [
    (None, dict(classifier="resnet50"), "classifier 'resnet50'"),
    (None, dict(entries=[]), "1 to 100 fits"),
    (None, dict(entries="chelsea"), "1 to 100 fits"),
    ((1, "coffee"), {}, "entry 1 must hold photo"),
    ((1, {"extra": 1}), {}, "entry 1 must hold photo"),
    ((1, {"photo": "dog"}), {}, "entry 1's photo must be one of"),
    ((1, {"photo": "chelsea"}), {}, "entry 1 repeats a photo and config"),
    ((1, {"config": "FidoConfig()"}), {}, "entry 1's config must hold FidoConfig fields"),
    ((1, {"config": {"tv": 10.0}}), {}, "exactly FidoConfig's fields"),
    ((1, {"config": _config_with(tv=-1.0)}), {}, "entry 1's config is not a FidoConfig to store: .*tv"),
    ((1, {"config": _config_with(mode="ssr")}), {}, "mode 'both'"),
    ((1, {"config": _config_with(iterations=10**9)}), {}, "iterations"),
    ((1, {"target": 1000}), {}, r"class index in \[0, 1000\)"),
    ((1, {"target": 4.0}), {}, "class index"),
    ((1, {"target": True}), {}, "class index"),
    ((1, {"original_prob": 1.5}), {}, "original_prob must be a finite number"),
    ((1, {"seconds": float("nan")}), {}, "seconds must be a finite number"),
    ((1, {"seconds": "11"}), {}, "seconds must be a finite number"),
    (None, dict(history_keys=["loss"]), "history_keys"),
    (None, dict(meta=None), "meta"),
])
def test_an_edited_config_is_refused(clf, tmp_path, entry, changes, message):
    with pytest.raises(ValueError, match=message):
        photo_fits.load_fits(clf, path=_json_edit(tmp_path, entry, **changes))


def test_an_edited_grid_is_refused_by_its_header(clf, tmp_path):
    # entry 1 claims a 28-grid config: its stored 56×56 logits no longer match, found from the header
    path = _json_edit(tmp_path, (1, {"config": _config_with(mask_size=28)}))
    with pytest.raises(ValueError, match=r"ssr_logits_1 must have shape \(28, 28\) from its entries"):
        photo_fits.load_fits(clf, path=path)


@pytest.mark.parametrize("array, value, message", [
    ("ssr_logits_0", np.zeros((28, 28), np.float32), r"shape \(56, 56\)"),
    ("sdr_logits_0", np.zeros((56, 56), np.int64), "must hold floats"),
    ("sdr_logits_0", np.full((56, 56), np.nan, np.float32), "sdr_logits_0 must hold finite values"),
    ("history_2", np.zeros((8, 39)), r"shape \(8, 40\)"),
    ("history_6", None, "lacks history_6"),
    ("extra", np.zeros(3), "arrays no such file has: extra"),
])
def test_an_edited_array_is_refused(clf, tmp_path, array, value, message):
    path = edited_copy(photo_fits.FITS_PATH, tmp_path / "edited.npz", {array: value})
    with pytest.raises(ValueError, match=message):
        photo_fits.load_fits(clf, path=path)


def test_a_corrupt_file_is_refused(clf, tmp_path):
    good = photo_fits.FITS_PATH.read_bytes()
    for name, data in (("garbage.npz", b"not a zip at all"), ("cut.npz", good[: len(good) // 2])):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ValueError, match="not a valid photo-fits file"):
            photo_fits.load_fits(clf, path=tmp_path / name)


def test_save_fits_refuses_what_it_could_not_load(tmp_path):
    tiny = tiny_classifier()
    fit = photo_fits.fit_photos(["coffee"], TINY, tiny, progress=False)["coffee"]
    cases = [
        ([], ValueError, "1 to 100 fits"),
        (5, TypeError, "entries must be a dict"),
        (None, TypeError, "entries must be a dict"),
        ([("coffee", fit)] * 101, ValueError, "1 to 100 fits"),
        ([("dog", fit)], TypeError, "photo of images.SAMPLES"),
        ([("coffee", "fit")], TypeError, r"\(photo, FidoResult\) pairs"),
        ([("coffee", fit), ("coffee", fit)], ValueError, "one per photo and config"),
        ([("coffee", dataclasses.replace(fit, complete=False))], ValueError, "incomplete"),
    ]
    for entries, error, message in cases:
        with pytest.raises(error, match=message):
            photo_fits.save_fits(entries, tmp_path / "f.npz")
    with pytest.raises(ValueError, match="must end in .npz"):
        photo_fits.save_fits({"coffee": fit}, tmp_path / "f")
    with pytest.raises(TypeError, match="path must be a str or PathLike"):
        photo_fits.save_fits({"coffee": fit}, 3)
    assert not list(tmp_path.iterdir())  # nothing written by a refused call


def test_stored_meta_and_huge_logits_are_checked(clf, tmp_path):
    head = _head()
    for meta in (5, "AMD", {"cpu": "x"}, None):
        edit = {"config": np.array(json.dumps({**head, "meta": meta}))}
        path = edited_copy(photo_fits.FITS_PATH, tmp_path / "m.npz", edit)
        with pytest.raises(ValueError, match="not a valid photo-fits file: its meta"):
            photo_fits.stored_meta(path)
    # a float64 logit that is finite but overflows float32 is refused, not turned into inf
    path = edited_copy(photo_fits.FITS_PATH, tmp_path / "h.npz", {"ssr_logits_0": np.full((56, 56), 1e300)})
    with pytest.raises(ValueError, match="ssr_logits_0 must hold finite values"):
        photo_fits.load_fits(clf, ["chelsea"], path=path)
