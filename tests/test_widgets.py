"""fido_lib.widgets driven in plain pytest: set values, click Run, read the state."""
import io
import re

import pytest
from PIL import Image

from fido_lib import classifiers, fido, infill, widgets

pytestmark = pytest.mark.usefixtures("one_thread")


def square_photo(colour=(255, 20, 20)):
    img = Image.new("RGB", (32, 32), (128, 128, 128))
    img.paste(colour, (10, 8, 18, 16))
    return img


@pytest.fixture
def ui():
    clf = classifiers.toy_classifier()
    photos = {"red square": square_photo(), "blue square": square_photo((20, 20, 255))}
    config = fido.FidoConfig(iterations=5, batch_size=2, infill="uniform", mask_size=None)
    return widgets.FidoExplorer(clf, photos, config=config)


def test_target_choices_are_the_top_classes_with_probabilities(ui):
    labels = [label for label, _ in ui.target.options]
    assert len(labels) == 3 and labels[0].startswith("red (") and ui.target.value == 0
    ui.photo.value = "blue square"
    assert ui.target.value == 2 and ui.target.options[0][0].startswith("blue (")


def test_run_fits_both_relaxations_side_by_side(ui):
    ui.iterations.value = 5
    ui.run_button.click()
    assert ui.error is None
    assert list(ui.results) == ["stable", "paper"]
    for relaxation, r in ui.results.items():
        assert r.config.relaxation == relaxation and r.complete and r.iterations_done == 5
        assert r.ssr.shape == (32, 32)
    assert ui.progress.value == ui.progress.max == 10
    assert ui.figure_png.startswith(b"\x89PNG") and ui.result_image.value == ui.figure_png
    assert "done" in ui.status.value and not ui.run_button.disabled
    # the summary line a browser test reads (CSS class fido-result-summary)
    assert "fido-result-summary" in ui.summary._dom_classes
    assert re.search(r"stable: SSR area [0-9.]+, SDR area [0-9.]+; paper: SSR area", ui.summary.value)


def test_controls_reach_the_config(ui):
    ui.mode.value = "sdr"
    ui.relaxation.value = "gal"
    ui.infill.value = "knockoff"
    ui.l1.value = 3.0
    ui.tv.value = 0.5
    ui.temperature.value = 0.1
    ui.iterations.value = 10
    ui.batch_size.value = 3
    c = ui.config()
    assert (c.mode, c.relaxation, c.infill, c.iterations, c.batch_size) == ("sdr", "gal", "knockoff", 10, 3)
    assert c.l1 == pytest.approx(3.0, rel=1e-3) and c.tv == pytest.approx(0.5, rel=1e-3)
    assert c.temperature == pytest.approx(0.1, rel=1e-3)
    ui.run_button.click()
    (r,) = ui.results.values()
    assert r.ssr is None and r.sdr is not None and r.config == c


def test_the_shown_code_follows_the_controls(ui):
    ui.iterations.value = 20
    ui.relaxation.value = "all three (side by side)"
    code = ui.code()
    assert "fido.fit(classifier, photo" in code and "iterations=20" in code
    assert "infill='uniform'" in code and "mask_size=None" in code  # non-default settings of the UI's config
    assert "('stable', 'paper', 'gal')" in code
    assert "iterations=20" in ui.call.value


def upload(ui, name, content):
    value = {"name": name, "type": "image/png", "size": len(content),
             "content": memoryview(content), "last_modified": 0}
    ui.upload.set_state({"value": [value]})


def test_upload_adds_the_photo_and_selects_it(ui):
    buf = io.BytesIO()
    square_photo((20, 255, 20)).save(buf, format="PNG")
    upload(ui, "green.png", buf.getvalue())
    assert ui.photo.value == "upload: green.png" and ui.error is None
    assert ui.target.value == 1  # green


def test_a_broken_upload_is_reported_not_raised(ui):
    upload(ui, "notes.png", b"hello")
    assert "not an image" in ui.error and "not an image" in ui.status.value
    assert ui.photo.value == "red square"


def test_the_infill_choices_add_the_mask_aware_ones_that_fit_the_classifier(ui):
    offered = [value for _, value in ui.infill.options]
    assert offered[:5] == ["blur", "mean", "uniform", "normal", "knockoff"]
    assert "surround" in offered  # fills a photo of any size
    assert "learned_toy_birds" not in offered  # trained on 64×64 toy birds; this classifier sees 32×32
    birds = classifiers.load("toy_birds")
    assert "learned_toy_birds" in [value for _, value in widgets.infill_choices(birds)]


def test_a_mask_aware_infill_reaches_the_fit(ui):
    ui.relaxation.value = "stable"
    ui.infill.value = "surround"
    assert ui.config().infill == "surround" and "infill='surround'" in ui.code()
    ui.run_button.click()
    (r,) = ui.results.values()
    assert ui.error is None and r.complete and r.config.infill == "surround"
    assert isinstance(r.infiller, infill.SurroundInfill)


def test_an_infiller_object_in_the_config_is_offered_as_it_is():
    own = infill.SurroundInfill()
    clf = classifiers.toy_classifier()
    ui = widgets.FidoExplorer(clf, {"red square": square_photo()},
                              config=fido.FidoConfig(iterations=5, batch_size=2, infill=own, mask_size=None))
    assert ui.infill.value is own and ui.config().infill is own
