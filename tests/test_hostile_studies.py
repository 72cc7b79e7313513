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
