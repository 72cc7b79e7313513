"""Ctrl-C inside a study's fit stops the study (issue 11): nothing partial is scored or stored."""
import copy
import math

import pytest

from fido_lib import fido
from fido_lib.experiments import mask_quality as mq

pytestmark = pytest.mark.usefixtures("one_thread")

FAST = {**mq.STUDY["fido"], "iterations": 3}


def _interrupting_fit(monkeypatch, on_call):
    """mq.fit, with a callback that presses Ctrl-C at iteration 1 of fit number ``on_call``."""
    calls = []

    def patched(*args, **kwargs):
        calls.append(1)

        def press_ctrl_c(i, record):
            if len(calls) == on_call and i == 1:
                raise KeyboardInterrupt

        return fido.fit(*args, callback=press_ctrl_c, **kwargs)

    monkeypatch.setattr(mq, "fit", patched)
    return calls


def _recording_scores(monkeypatch):
    scored = []
    real = mq.score_fit

    def record(result, part):
        scored.append(result)
        return real(result, part)

    monkeypatch.setattr(mq, "score_fit", record)
    return scored


def test_ctrl_c_inside_a_fit_of_run_study_stops_it_without_scoring_the_partial_fit(monkeypatch):
    config = copy.deepcopy(mq.STUDY)
    config.update(n_images=2, noise_seeds=[0], batch_sizes=[1], settings=[["stable", 1.0]], fido=FAST)
    calls = _interrupting_fit(monkeypatch, on_call=2)
    scored = _recording_scores(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        mq.run_study(config, progress=False)
    assert len(calls) == 2  # the study did not carry on after the interrupted fit
    assert len(scored) == 1 and all(r.complete for r in scored)


def test_ctrl_c_inside_a_fit_of_crop_study_stops_it(monkeypatch):
    config = copy.deepcopy(mq.CROP_STUDY)
    config.update(n_images=2, settings=[["stable", 1.0]], batch_size=1, fido={**FAST, "mode": "ssr"})
    calls = _interrupting_fit(monkeypatch, on_call=1)
    with pytest.raises(KeyboardInterrupt):
        mq.crop_study(config, progress=False)
    assert len(calls) == 1


def test_a_fit_that_turns_nan_is_left_out_of_the_study_not_stored(monkeypatch):
    config = copy.deepcopy(mq.STUDY)
    config.update(n_images=1, noise_seeds=[0, 1], batch_sizes=[1], settings=[["stable", 1.0]], fido=FAST)
    real = fido.fit

    def nan_on_second(*args, **kwargs):
        r = real(*args, **kwargs)
        nan_on_second.n = getattr(nan_on_second, "n", 0) + 1
        if nan_on_second.n == 2:
            r.complete, r.stopped_by = False, "the loss became NaN or inf (simulated)"
        return r

    monkeypatch.setattr(mq, "fit", nan_on_second)
    res = mq.run_study(config, progress=False)
    v = res.metric("ssr_mass")[0, 0, 0]
    assert math.isfinite(v[0]) and math.isnan(v[1])
    assert math.isnan(res.values["ssr_agree"][0, 0, 0])


# ---------------------------------------------------------------- issue 18: stored studies validated
def _shipped():
    import numpy as np
    with np.load(mq.RESULTS_PATH, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def _write(path, arrays):
    import numpy as np
    np.savez_compressed(path, **arrays)
    return path


def test_the_shipped_study_loads_and_carries_its_format():
    import json
    results = mq.load_results()
    assert results.values["ssr_mass"].shape == (4, 5, 24, 2)
    config = json.loads(str(_shipped()["config"]))
    assert config["format"] == mq.FORMAT and config["format_version"] == mq.FORMAT_VERSION


def test_a_foreign_npz_with_string_arrays_is_refused(tmp_path):
    import json

    import numpy as np
    path = _write(tmp_path / "lol.npz", {"config": np.array(json.dumps({"study": "lol"})),
                                         "value_ssr_mass": np.array(["a", "b"])})
    with pytest.raises(ValueError, match="not a valid mask-quality results file.*format"):
        mq.load_results(path)
    cfg = {"format": mq.FORMAT, "format_version": mq.FORMAT_VERSION, "study": "lol"}
    path = _write(tmp_path / "lol2.npz", {"config": np.array(json.dumps(cfg)), "value_ssr_mass": np.array(["a"])})
    with pytest.raises(ValueError, match="study config"):
        mq.load_results(path)


def test_an_edited_mass_of_7_is_refused(tmp_path):
    raw = _shipped()
    raw["value_ssr_mass"] = raw["value_ssr_mass"].copy()
    raw["value_ssr_mass"][0, 0, 0, 0] = 7.0
    with pytest.raises(ValueError, match=r"ssr_mass must lie in \[0, 1\], got 7"):
        mq.load_results(_write(tmp_path / "x.npz", raw))


def test_a_lone_nan_in_one_metric_is_refused(tmp_path):
    raw = _shipped()
    raw["value_ssr_mass"] = raw["value_ssr_mass"].copy()
    raw["value_ssr_mass"][1, 2, 3, 0] = math.nan
    with pytest.raises(ValueError, match="ssr_mass is NaN in 1 places"):
        mq.load_results(_write(tmp_path / "x.npz", raw))


def test_a_fit_not_fitted_is_nan_in_every_metric_and_loads(tmp_path):
    raw = _shipped()
    for k in raw:
        if k.startswith("value_") and raw[k].ndim == 4:
            raw[k] = raw[k].copy()
            raw[k][1, 2, 3, 0] = math.nan
    for k in ("value_ssr_agree", "value_sdr_agree"):
        raw[k] = raw[k].copy()
        raw[k][1, 2, 3] = math.nan
    assert math.isnan(mq.load_results(_write(tmp_path / "x.npz", raw)).values["ssr_mass"][1, 2, 3, 0])


@pytest.mark.parametrize("edit, match", [
    (lambda r: r.update(value_ssr_tv=r["value_ssr_tv"] * 0 + math.inf), "inf"),
    (lambda r: r.update(value_ssr_iou=r["value_ssr_iou"][:, :2]), "shape"),
    (lambda r: r.update(value_seconds=r["value_seconds"].astype("int64")), "floats"),
    (lambda r: r.pop("value_sdr_prob"), "lacks value_sdr_prob"),
    (lambda r: r.update(extra=r["value_sdr_prob"]), "no study writes: extra"),
    (lambda r: r.update(crop_labels=r["crop_labels"] + 10), "crop_labels"),
    (lambda r: r.update(crop_correct=r["crop_correct"].astype(float)), "bools"),
])
def test_edited_arrays_are_refused(tmp_path, edit, match):
    raw = _shipped()
    edit(raw)
    with pytest.raises(ValueError, match=match):
        mq.load_results(_write(tmp_path / "x.npz", raw))


def test_a_file_without_the_format_version_is_refused(tmp_path):
    import json

    import numpy as np
    raw = _shipped()
    config = json.loads(str(raw["config"]))
    del config["format_version"]
    raw["config"] = np.array(json.dumps(config))
    with pytest.raises(ValueError, match="version None"):
        mq.load_results(_write(tmp_path / "x.npz", raw))
