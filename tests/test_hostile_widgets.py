"""Hostile use of fido_lib.widgets (issue 11): errors shown in the UI, nothing clamped silently."""
import pytest
from PIL import Image

from fido_lib import classifiers, fido, widgets

pytestmark = pytest.mark.usefixtures("one_thread")


def _photos():
    img = Image.new("RGB", (32, 32), (128, 128, 128))
    img.paste((255, 20, 20), (10, 8, 18, 16))
    return {"red square": img}


def _ui(**config):
    cfg = fido.FidoConfig(**{"iterations": 5, "batch_size": 1, "infill": "uniform", "mask_size": 8, **config})
    return widgets.FidoExplorer(classifiers.toy_classifier(), _photos(), config=cfg)


def test_an_exception_inside_run_is_shown_and_the_ui_stays_usable(monkeypatch):
    ui = _ui()
    ui.relaxation.value = "stable"
    real = fido.fit

    def out_of_memory(*args, **kwargs):
        raise RuntimeError("CUDA out of memory (simulated)")

    monkeypatch.setattr(fido, "fit", out_of_memory)
    ui.run_button.click()  # must not raise: the widget machinery would swallow it in a browser
    assert ui.error is not None and "out of memory" in ui.error
    assert "out of memory" in ui.status.value and "fitting" not in ui.status.value
    assert ui.run_button.disabled is False
    # usable again once the cause is gone
    monkeypatch.setattr(fido, "fit", real)
    ui.run_button.click()
    assert ui.error is None and list(ui.results) == ["stable"] and ui.status.value.startswith("done")


def test_an_exception_while_plotting_is_shown_too(monkeypatch):
    from fido_lib import plotting

    ui = _ui()
    ui.relaxation.value = "stable"
    monkeypatch.setattr(plotting, "plot_fido_result", lambda *a, **k: 1 / 0)
    ui.run_button.click()
    assert "ZeroDivisionError" in ui.error and ui.run_button.disabled is False


@pytest.mark.parametrize("clf", [None, "toy", 3])
def test_a_missing_or_wrong_classifier_is_a_type_error(clf):
    with pytest.raises(TypeError, match="classifier must be a fido_lib.classifiers.Classifier"):
        widgets.FidoExplorer(clf, _photos())


def test_config_must_be_a_fido_config():
    with pytest.raises(TypeError, match="config must be a FidoConfig"):
        widgets.FidoExplorer(classifiers.toy_classifier(), _photos(), config={"l1": 3})


@pytest.mark.parametrize("field, value", [("l1", 500.0), ("tv", 0.001), ("temperature", 50.0),
                                          ("iterations", 1000), ("batch_size", 64), ("iterations", 2)])
def test_config_values_outside_the_sliders_are_kept_not_clamped(field, value):
    ui = _ui(**{field: value})
    assert getattr(ui.config(), field) == value  # the run uses the config's value, not a clamped one
    assert field in ui.notes.value and "widened" in ui.notes.value  # and the UI says so


def test_a_value_a_log_slider_cannot_show_is_refused():
    with pytest.raises(ValueError, match="l1"):
        _ui(l1=0.0)


def test_choosing_a_photo_the_classifier_cannot_take_shows_the_error():
    ui = _ui()
    ui.photos["broken"] = "not an image"
    ui.photo.options = list(ui.photos)
    ui.photo.value = "broken"  # must not raise inside the observer
    assert "TypeError" in ui.error and "error" in ui.status.value
    ui.photo.value = "red square"
    assert ui.error is None
