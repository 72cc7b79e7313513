"""fido_lib.mask_quality: the study runner on a tiny configuration, statistics, crops, the stored results."""
import copy
import math

import numpy as np
import pytest
import torch

from fido_lib import mask_quality as mq


@pytest.fixture(autouse=True)
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def tiny_study():
    study = copy.deepcopy(mq.STUDY)
    study.update(n_images=3, batch_sizes=[1, 2], settings=[["gal", 0.1], ["stable", 0.1]], noise_seeds=[0, 1])
    study["fido"]["iterations"] = 3
    return study


@pytest.fixture(scope="module")
def tiny_results():
    torch.set_num_threads(1)
    return mq.run_study(tiny_study(), images=[0, 2], progress=False)


def test_study_fills_the_fitted_images_only(tiny_results):
    v = tiny_results.metric("ssr_mass")
    assert v.shape == (2, 2, 3, 2)
    assert np.isfinite(v[:, :, [0, 2]]).all() and np.isnan(v[:, :, 1]).all()
    assert tiny_results.metric("ssr_agree").shape == (2, 2, 3)
    assert tiny_results.maps["ssr"].shape == (2, 2, 64, 64)
    for name in mq.METRICS:
        assert name in tiny_results.values
    with pytest.raises(KeyError):
        tiny_results.metric("beauty")


def test_study_is_deterministic_and_pairs_the_noise(tiny_results):
    again = mq.run_study(tiny_study(), images=[2], progress=False, keep_maps=False)
    for name in ("ssr_mass", "sdr_prob", "ssr_agree"):
        a, b = tiny_results.metric(name), again.metric(name)
        assert np.array_equal(a[:, :, 2], b[:, :, 2]), name
    # the same noise and temperature: Gal's formula and the simplified one give nearly the same masks
    mass = tiny_results.metric("ssr_mass")
    assert np.nanmax(np.abs(mass[0] - mass[1])) < 1e-3


def test_save_and_load_round_trip(tiny_results, tmp_path):
    crop = {"config": {"n": 2}, "images": [0, 1], "labels": np.array([1, 3]),
            "correct": {"full": np.array([True, False]), "oracle crop": np.array([True, True])},
            "part_inside": {"full": np.array([True, True]), "oracle crop": np.array([True, False])}}
    tiny_results.crop = crop
    path = tiny_results.save(tmp_path / "r.npz")
    back = mq.load_results(path)
    assert back.config == tiny_results.config
    for k, v in tiny_results.values.items():
        assert np.array_equal(v, back.values[k], equal_nan=True), k
    assert np.allclose(back.maps["ssr"], tiny_results.maps["ssr"], atol=1e-3)  # stored as float16
    assert list(back.crop["correct"]) == ["full", "oracle crop"]
    assert back.crop["correct"]["full"].tolist() == [True, False]
    assert path.with_suffix(".json").is_file()
    tiny_results.crop = None
    with pytest.raises(FileNotFoundError):
        mq.load_results(tmp_path / "missing.npz")


def test_summary_table_has_a_row_per_setting_and_batch_size(tiny_results):
    rows = mq.summary_table(tiny_results, metrics=("ssr_mass", "seconds"))
    assert len(rows) == 4
    mean, low, high = rows[0]["ssr_mass"]
    assert low <= mean <= high


def test_bootstrap_ci():
    assert mq.bootstrap_ci([0.3] * 10) == pytest.approx((0.3, 0.3, 0.3))
    mean, low, high = mq.bootstrap_ci([0.0, 1.0] * 50 + [math.nan])
    assert mean == pytest.approx(0.5) and 0.38 < low < 0.5 < high < 0.62
    assert all(math.isnan(v) for v in mq.bootstrap_ci([math.nan, math.nan]))


def test_crop_window_and_centroid():
    assert mq.crop_window((48, 48), 64, 96) == (16, 16)
    assert mq.crop_window((2, 90), 64, 96) == (0, 32)  # pushed back inside the image
    m = torch.zeros(8, 8)
    m[2, 5] = 1.0
    assert mq.map_centroid(m) == pytest.approx((5.5, 2.5))
    assert mq.map_centroid(torch.zeros(8, 8)) == pytest.approx((4.0, 4.0))


def test_crop_study_on_two_photos():
    config = copy.deepcopy(mq.CROP_STUDY)
    config.update(n_images=2, batch_size=1)
    config["fido"]["iterations"] = 2
    out = mq.crop_study(config, progress=False)
    assert set(out["correct"]) >= {"full", "centre crop", "random crop", "oracle crop"}
    assert all(v.dtype == bool and v.shape == (2,) for v in out["correct"].values())
    assert out["part_inside"]["oracle crop"].all()


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        mq.run_study(tiny_study(), images=[5], progress=False)
    bad = tiny_study()
    bad["settings"] = [["gal", 0.0]]
    with pytest.raises(ValueError):
        mq.run_study(bad, progress=False)
    with pytest.raises(ValueError):
        mq.crop_study({**mq.CROP_STUDY, "zoom": 0.5}, progress=False)


def test_stored_results_match_the_pinned_configuration():
    # a stale cache (the code's study changed, the numbers did not) fails here
    stored = mq.load_results()
    assert stored.config == mq.STUDY
    assert stored.crop is not None and stored.crop["config"] == mq.CROP_STUDY
    n = mq.STUDY["n_images"]
    shape = (len(mq.STUDY["settings"]), len(mq.STUDY["batch_sizes"]), n, len(mq.STUDY["noise_seeds"]))
    for name in mq.METRICS:
        assert stored.metric(name).shape == shape and np.isfinite(stored.metric(name)).all(), name
