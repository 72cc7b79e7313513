"""fido_lib.experiments.mask_quality: the study runner on a tiny configuration, statistics,
crops, the stored results, the command line."""
import copy

import numpy as np
import pytest
import torch

from fido_lib.experiments import mask_quality as mq


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
    crop = {"config": {"n_images": 2}, "images": [0, 1], "labels": np.array([1, 3]),
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


def test_progress_is_a_bar_on_stderr(capsys):
    study = tiny_study()
    study.update(batch_sizes=[1], settings=[["stable", 0.1]], noise_seeds=[0])
    mq.run_study(study, images=[0], keep_maps=False, progress=True)
    captured = capsys.readouterr()
    assert "1/1" in captured.err and captured.out == ""


def test_the_command_line_writes_where_it_is_told(tmp_path, monkeypatch):
    calls = {}

    def fake_run(config):
        calls["study"] = config
        shape = (len(config["settings"]), len(config["batch_sizes"]), config["n_images"], 2)
        return mq.StudyResults(config, {m: np.zeros(shape) for m in mq.METRICS}, {})

    def fake_crop(config):
        calls["crop"] = config
        return None

    monkeypatch.setattr(mq, "run_study", fake_run)
    monkeypatch.setattr(mq, "crop_study", fake_crop)
    monkeypatch.chdir(tmp_path)
    mq.main(["--quick", "--out", str(tmp_path / "sub" / "r.npz")])
    assert (tmp_path / "sub" / "r.npz").is_file() and (tmp_path / "sub" / "r.json").is_file()
    assert calls["study"]["n_images"] == 2
    mq.main(["--quick"])  # default: the current directory, never the package
    assert (tmp_path / "mask_quality_quick.npz").is_file()
    assert mq.RESULTS_PATH.stat().st_mtime < (tmp_path / "mask_quality_quick.npz").stat().st_mtime


def test_paired_difference_and_crop_example_figures(tiny_results):
    import matplotlib

    matplotlib.use("Agg")
    from fido_lib import plotting as P
    from fido_lib import toy_birds

    sizes = tiny_results.config["batch_sizes"]
    diffs = {"stable - gal": {m: [mq.paired_difference(tiny_results, m, ("stable", 0.1, b), ("gal", 0.1, b))
                                  for b in sizes] for m in ("ssr_mass", "ssr_tv")}}
    fig = P.plot_paired_differences(diffs, sizes, ("ssr_mass", "ssr_tv"))
    assert len(fig.axes) == 2 and all(ax.get_ylabel() for ax in fig.axes)
    with pytest.raises(ValueError, match="one \\(mean, low, high\\) per batch size"):
        P.plot_paired_differences({"x": {"ssr_mass": [(0.0, 0.0, 0.0)]}}, sizes, ("ssr_mass",))
    with pytest.raises(ValueError, match="non-empty"):
        P.plot_paired_differences({}, sizes, ("ssr_mass",))
    birds = toy_birds.make_birds(2, size=32, seed=0)
    windows = [{"centre crop": (8, 8), "FIDO crop (gal, T=0.1)": (0, 16)}] * 2
    fig2 = P.plot_crop_examples(list(birds.images), windows, 16, part_masks=list(birds.part_masks))
    assert len(fig2.axes) == 2 * 3
    with pytest.raises(ValueError, match="same length"):
        P.plot_crop_examples(list(birds.images), windows[:1], 16)
    P.plt.close(fig)
    P.plt.close(fig2)
