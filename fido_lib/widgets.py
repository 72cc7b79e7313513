"""ipywidgets UI for FIDO: thin wiring over :mod:`fido_lib.fido`, :mod:`fido_lib.images`
and :mod:`fido_lib.plotting`, with no logic of its own.

Beside each control the UI shows the plain call that does the same, and below them
the whole call for the current settings, so everything done with the mouse can be
redone in code. Results stay on the object (``ui.results``, ``ui.figure_png``,
``ui.error``), which lets tests drive the UI without a browser: set values, call
``ui.run_button.click()``, read the state.
"""
from __future__ import annotations

import dataclasses
import io
import math

import ipywidgets as W

from . import fido, images, plotting
from .classifiers import Classifier
from .concrete import RELAXATIONS
from .infill import INFILLS, MASK_AWARE_INFILLS, Infiller, check_infill
from .metrics import mask_area

__all__ = ["FidoExplorer", "RELAXATION_CHOICES", "infill_choices"]

#: Relaxation choices of the UI: one implementation, or two / three side by side.
RELAXATION_CHOICES = {
    "stable vs paper (side by side)": ("stable", "paper"),
    "stable": ("stable",),
    "paper": ("paper",),
    "gal": ("gal",),
    "all three (side by side)": RELAXATIONS,
}


def infill_choices(classifier, current="blur") -> list:
    """The in-fills the UI offers for ``classifier``: the fixed ones (:data:`~fido_lib.infill.INFILLS`),
    then the mask-aware ones (:data:`~fido_lib.infill.MASK_AWARE_INFILLS`) that can fill its input
    size — ``"surround"`` fills any photo, ``"learned_toy_birds"`` only 64×64 toy birds — and
    ``current`` (the config's in-fill, e.g. an :class:`~fido_lib.infill.Infiller` object) if it is
    none of them. ``(label, value)`` pairs for a dropdown."""
    names = list(INFILLS)
    for name in MASK_AWARE_INFILLS:
        try:
            check_infill(name, size=classifier.input_size)
        except ValueError:  # e.g. the learned toy-bird in-filler on a 224×224 photo
            continue
        names.append(name)
    choices = [(name, name) for name in names]
    if isinstance(current, Infiller) or current not in names:
        choices.append((repr(current), current))
    return choices


def _html(text):
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _rounded(value) -> float:
    """A slider's value to 4 significant digits (drops float noise of the log scale; keeps small values)."""
    return float(f"{float(value):.4g}")


def _slider_range(name, value, lo, hi, log, widened) -> dict:
    """``min``/``max`` of a slider that shows ``value``: the default range, widened to hold
    it (noted in ``widened``). A log slider cannot show a value <= 0: ``ValueError``."""
    if log:
        if not value > 0:
            raise ValueError(f"{name}={value!r} cannot be set with the UI's logarithmic slider (values > 0); "
                             f"call fido.fit with FidoConfig({name}={value!r}) directly")
        where = math.log10(value)
        new_lo, new_hi = min(lo, math.floor(where * 10) / 10), max(hi, math.ceil(where * 10) / 10)
        shown = f"10^{lo:g}–10^{hi:g}"
    else:
        new_lo, new_hi = min(lo, value), max(hi, value)
        shown = f"{lo}–{hi}"
    if (new_lo, new_hi) != (lo, hi):
        widened.append(f"{name}={value!r} lies outside the slider's range {shown}: the slider was widened to hold it")
    return {"min": new_lo, "max": new_hi}


def _code(text):
    return W.HTML(f"<code style='font-size:90%;color:#555'>{text}</code>")


class FidoExplorer:
    """Choose a photo, a target class and FIDO's settings; press Run; see the masks.

    Parameters
    ----------
    classifier : fido_lib.classifiers.Classifier
    photos : dict of name -> image, optional
        Photos to choose from (default: the shipped samples, :data:`fido_lib.images.SAMPLES`).
    config : fido_lib.fido.FidoConfig, optional
        Starting values of the controls (default ``FidoConfig()``).

    Display it with ``display(ui)`` or as the last expression of a cell.
    """

    def __init__(self, classifier, photos=None, config=None):
        if not isinstance(classifier, Classifier):
            raise TypeError(f"classifier must be a fido_lib.classifiers.Classifier (classifiers.load(...) or "
                            f"classifiers.wrap(...)), got {type(classifier).__name__}")
        if config is not None and not isinstance(config, fido.FidoConfig):
            raise TypeError(f"config must be a FidoConfig or None, got {type(config).__name__}")
        self.classifier = classifier
        self.photos = dict(photos) if photos is not None else {n: images.sample(n) for n in images.SAMPLES}
        if not self.photos:
            raise ValueError("photos must hold at least one image")
        self.base_config = config if config is not None else fido.FidoConfig()
        c = self.base_config
        # slider ranges (log sliders: powers of 10), widened where the config lies outside
        # them: a slider would clamp the value silently, and Run would fit another config
        widened = []
        ranges = {name: _slider_range(name, getattr(c, name), lo, hi, log, widened)
                  for name, lo, hi, log in (("l1", -1, 2, True), ("tv", -1, 2, True), ("temperature", -2, 1, True),
                                            ("iterations", 5, 300, False), ("batch_size", 1, 16, False))}
        self.results: dict = {}
        self.figure_png: bytes | None = None
        self.error: str | None = None

        style = {"description_width": "110px"}
        wide = W.Layout(width="380px")
        self.photo = W.Dropdown(options=list(self.photos), description="photo", style=style, layout=wide)
        self.upload = W.FileUpload(accept="image/*", multiple=False, description="upload a photo")
        self.target = W.Dropdown(description="target class", style=style, layout=wide)
        self.mode = W.ToggleButtons(options=list(fido.MODES), value=c.mode, description="mode", style=style)
        self.relaxation = W.Dropdown(options=list(RELAXATION_CHOICES), description="relaxation", style=style,
                                     layout=wide)
        self.infill = W.Dropdown(options=infill_choices(classifier, c.infill), value=c.infill, description="infill",
                                 style=style, layout=wide)
        log = dict(base=10, step=0.1, style=style, layout=wide)
        self.l1 = W.FloatLogSlider(value=c.l1, **ranges["l1"], description="l1 (area)", **log)
        self.tv = W.FloatLogSlider(value=c.tv, **ranges["tv"], description="tv (smoothness)", **log)
        self.temperature = W.FloatLogSlider(value=c.temperature, **ranges["temperature"], description="temperature",
                                            **log)
        self.iterations = W.IntSlider(value=c.iterations, **ranges["iterations"], step=5, description="iterations",
                                      style=style, layout=wide)
        self.batch_size = W.IntSlider(value=c.batch_size, **ranges["batch_size"], description="samples / mask",
                                      style=style, layout=wide)
        self.notes = W.HTML("; ".join(widened))
        self.run_button = W.Button(description="Run", button_style="primary", icon="play")
        self.progress = W.IntProgress(value=0, min=0, max=1, description="progress", style=style)
        self.status = W.HTML()
        self.call = W.HTML()
        self.result_image = W.Image(format="png", layout=W.Layout(max_width="100%"))
        # one line of text about the current masks; a browser test reads it by this CSS class
        self.summary = W.HTML("no mask yet: press Run")
        self.summary.add_class("fido-result-summary")

        self.photo.observe(self._on_photo, names="value")
        self.upload.observe(self._on_upload, names="value")
        for w in (self.photo, self.target, self.mode, self.relaxation, self.infill, self.l1, self.tv,
                  self.temperature, self.iterations, self.batch_size):
            w.observe(self._update_call, names="value")
        self.run_button.on_click(self._on_run)

        rows = [
            (self.photo, _code("photo = images.sample(name)")),
            (self.upload, _code("photo = images.load_image(path)")),
            (self.target, _code("classifier.top_k(photo, 5)  →  target")),
            (self.mode, _code("FidoConfig(mode=…)")),
            (self.relaxation, _code("FidoConfig(relaxation=…), one fit each")),
            (self.infill, _code("FidoConfig(infill=…)")),
            (self.l1, _code("FidoConfig(l1=…)")),
            (self.tv, _code("FidoConfig(tv=…)")),
            (self.temperature, _code("FidoConfig(temperature=…)")),
            (self.iterations, _code("FidoConfig(iterations=…)")),
            (self.batch_size, _code("FidoConfig(batch_size=…)")),
            (W.HBox([self.run_button, self.progress]), _code("fido.fit(classifier, photo, target, config)")),
        ]
        self.widget = W.VBox(
            [W.HBox([w, hint]) for w, hint in rows]
            + [self.notes, W.HTML("<b>The same in code:</b>"), self.call, self.status, self.summary, self.result_image]
        )
        self._on_photo()

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

    # ------------------------------------------------------------------ state
    @property
    def relaxations(self):
        return RELAXATION_CHOICES[self.relaxation.value]

    def config(self, relaxation=None) -> fido.FidoConfig:
        """The ``FidoConfig`` the controls describe (for one relaxation)."""
        return self.base_config.replace(
            mode=self.mode.value,
            relaxation=relaxation or self.relaxations[0],
            infill=self.infill.value,
            infill_params=self.base_config.infill_params if self.infill.value == self.base_config.infill else {},
            l1=_rounded(self.l1.value),
            tv=_rounded(self.tv.value),
            temperature=_rounded(self.temperature.value),
            iterations=int(self.iterations.value),
            batch_size=int(self.batch_size.value),
        )

    def code(self) -> str:
        """The plain function calls that do what Run does with the current settings."""
        c = self.config()
        name = self.photo.value
        photo = f"images.sample({name!r})" if name in images.SAMPLES else f"images.load_image(...)  # {name}"
        relax = self.relaxations
        # every field that differs from FidoConfig()'s default, so the printed call reproduces the run
        defaults = fido.FidoConfig()
        args = ["relaxation=r"] + [
            f"{f.name}={getattr(c, f.name)!r}"
            for f in dataclasses.fields(c)
            if f.name != "relaxation" and getattr(c, f.name) != getattr(defaults, f.name)
        ]
        cfg = f"FidoConfig({', '.join(args)})"
        return (f"photo = {photo}\n"
                f"results = {{r: fido.fit(classifier, photo, target={self.target.value}, config={cfg})\n"
                f"           for r in {relax!r}}}")

    # -------------------------------------------------------------- callbacks
    def _update_call(self, change=None):
        if self.target.value is None:
            return
        text = self.code().replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        self.call.value = f"<pre style='font-size:85%;margin:0'>{text}</pre>"

    def _on_photo(self, change=None):
        try:
            top = self.classifier.top_k(self.photos[self.photo.value], min(5, self.classifier.num_classes))
        except Exception as err:  # noqa: BLE001
            if change is None:  # while constructing: a bad photo is the caller's error
                raise
            # a photo chosen in the UI: show why it cannot be used (an observer's error would vanish)
            self.error = f"{type(err).__name__}: {err}"
            self.status.value = f"<span style='color:#D55E00'>error: {_html(self.error)}</span>"
            return
        self.error = None
        self.target.options = [(f"{name} ({p:.2f})", index) for index, name, p in top]
        self.target.value = top[0][0]
        self._update_call()

    def _on_upload(self, change=None):
        files = self.upload.value
        if not files:
            return
        item = files[0] if isinstance(files, (list, tuple)) else next(iter(files.values()))
        name = f"upload: {item['name']}"
        try:
            self.photos[name] = images.load_image(bytes(item["content"]))
        except ValueError as err:
            self.error = str(err)
            self.status.value = f"<span style='color:#D55E00'>{self.error}</span>"
            return
        self.error = None
        self.photo.options = list(self.photos)
        self.photo.value = name

    def _on_run(self, button=None):
        self.error = None
        self.results = {}
        try:
            configs = {r: self.config(r) for r in self.relaxations}
        except (TypeError, ValueError) as err:
            self.error = str(err)
            self.status.value = f"<span style='color:#D55E00'>{self.error}</span>"
            return
        photo = self.photos[self.photo.value]
        total = sum(c.iterations for c in configs.values())
        self.progress.max, self.progress.value = total, 0
        self.run_button.disabled = True
        done = 0
        # any error (out of memory, a classifier that fails…) is shown here: inside a
        # button callback the widget machinery would swallow it and leave "fitting …"
        try:
            for relaxation, config in configs.items():
                self.status.value = f"fitting with relaxation '{relaxation}' …"

                def tick(i, record, offset=done):
                    self.progress.value = offset + i + 1

                result = fido.fit(self.classifier, photo, self.target.value, config, callback=tick, progress=False)
                self.results[relaxation] = result
                done += config.iterations
                if not result.complete:
                    break
            fig = (plotting.plot_fido_result(next(iter(self.results.values()))) if len(self.results) == 1
                   else plotting.plot_fido_comparison(self.results))
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=72)
            plotting.plt.close(fig)
        except Exception as err:  # noqa: BLE001  (shown to the user, the UI stays usable)
            self.error = f"{type(err).__name__}: {err}"
            self.status.value = f"<span style='color:#D55E00'>error: {_html(self.error)}</span>"
            return
        finally:
            self.run_button.disabled = False
        self.figure_png = buf.getvalue()
        self.result_image.value = self.figure_png
        seconds = sum(r.seconds for r in self.results.values())
        self.status.value = f"done: {', '.join(map(repr, self.results))} in {seconds:.0f} s"
        self.summary.value = "; ".join(self.summarise(r) for r in self.results.values())

    @staticmethod
    def summarise(result) -> str:
        """One line per fit: the relaxation and each mask's area (fraction of pixels above 0.5)."""
        parts = [f"{name.upper()} area {float(mask_area(m, 0.5)):.3f}"
                 for name, m in (("ssr", result.ssr), ("sdr", result.sdr)) if m is not None]
        state = "" if result.complete else " (interrupted)"
        return f"{result.config.relaxation}: {', '.join(parts)}{state}"
