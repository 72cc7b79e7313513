"""The field's cheap attribution baselines, from Captum, in FIDO's call and map format.

Is FIDO worth its seconds? Answering needs the methods a practitioner would try first,
run the same way and scored the same way. They come from **Captum** (the PyTorch
ecosystem's attribution library; nothing here re-implements them):

* ``"saliency"`` — the input gradient's magnitude ``|∂z_c/∂x|`` (Simonyan et al., 2014);
* ``"integrated_gradients"`` — the gradient averaged along the straight path from a
  baseline image to the photo, times ``x - baseline`` (Sundararajan et al., ICML 2017);
* ``"gradient_shap"`` — integrated gradients' expectation estimated by sampling points on
  the path at random (Lundberg & Lee, 2017; Captum's ``GradientShap``);
* ``"occlusion"`` — the drop of the logit when a window is replaced by the baseline, slid
  over the image (Zeiler & Fergus, 2014);
* ``"fido"`` — :func:`fido_lib.fido.fit` itself, so one loop runs every method.

:func:`attribute` is the one call: ``attribute(classifier, image, target, method, **options)``
takes what :func:`~fido_lib.fido.fit` takes and returns an :class:`Attribution` whose
``maps`` are ``H×W`` tensors at the classifier's input resolution, aligned with
``image``, **high = important** — what :mod:`fido_lib.metrics` takes. FIDO gives
``"ssr"``, ``"sdr"`` and ``"joint"``; a Captum method gives ``"signed"`` (its attribution
summed over the colour channels: positive = evidence *for* the class) and ``"abs"``
(the magnitude of that sum, evidence either way); saliency, a magnitude already, gives
``"abs"`` only (``Σ_c |∂z_c/∂x_c|``). Which map suits which metric is a measurement, not
a convention: ``benchmarks/baselines.py`` scores every map under both.

The gradient methods explain the target's **logit** ``z_c`` (Captum's convention). The
"baseline image" of integrated gradients, GradientShap and occlusion is, by default, the
photo blurred with σ = 10 px — the image the deletion / insertion metric removes pixels
towards (:func:`fido_lib.metrics.deletion_curve`) and FIDO's default in-fill, so every
method is scored against the reference it was built on. Every method runs on the same
frozen, BatchNorm-folded float32 copy of the classifier FIDO fits on
(:func:`fido_lib.fastpath.frozen_copy`), and ``Attribution.seconds`` is the wall time of the
whole call, set-up included, for FIDO too: times compare like with like.

GradientShap draws its random points from numpy's global generator (and its noise, if
``stdevs > 0``, from torch's): :func:`attribute` seeds both with ``seed`` for the call and
puts the caller's generator states back afterwards, so two calls agree exactly.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
from captum.attr import GradientShap, IntegratedGradients, Occlusion, Saliency

from ._util import check_bool, check_int, check_real, resolve_device, synchronize
from .classifiers import Classifier
from .fastpath import frozen_copy
from .fido import FidoConfig, FidoResult, fit
from .images import to_tensor
from .infill import INFILLS, make_infill

__all__ = ["CAPTUM_METHODS", "METHODS", "OPTIONS", "Attribution", "attribute", "check_options", "from_fido",
           "occlusion_window"]

#: The Captum methods :func:`attribute` runs.
CAPTUM_METHODS = ("saliency", "integrated_gradients", "gradient_shap", "occlusion")
#: Every method :func:`attribute` runs.
METHODS = CAPTUM_METHODS + ("fido",)
#: Options of each method and their defaults (``None``: computed from the image, see :func:`attribute`).
OPTIONS = {
    "saliency": {},
    "integrated_gradients": {"steps": 32, "baseline": "blur", "batch_size": 32},
    "gradient_shap": {"samples": 32, "stdevs": 0.0, "baseline": "blur", "batch_size": 32},
    "occlusion": {"window": None, "stride": None, "baseline": "blur", "batch_size": 32},
    "fido": {"config": None},
}
#: Upper bound of ``steps``, ``samples`` and ``batch_size`` (each is a count of classifier passes or images).
MAX_COUNT = 4096
#: Upper bound of GradientShap's ``stdevs`` (noise on images in [0, 1]).
MAX_STDEVS = 10.0


@dataclass
class Attribution:
    """What :func:`attribute` found: ``maps[name]`` are ``H×W`` float32 tensors aligned with
    ``image``, high = important (see the module's docstring for the names)."""

    #: One of :data:`METHODS`.
    method: str
    #: The photo as the classifier sees it, 3×H×W in [0, 1].
    image: torch.Tensor
    #: Target class index and name.
    target: int
    target_name: str
    #: Name → H×W map.
    maps: dict
    #: Wall time of the whole :func:`attribute` call, set-up included.
    seconds: float
    #: The options the method ran with (defaults filled in).
    options: dict = field(default_factory=dict)
    classifier_name: str = ""
    #: Captum's 3×H×W attribution before the channels were summed (None for FIDO).
    raw: torch.Tensor | None = None
    #: The :class:`~fido_lib.fido.FidoResult` (None for a Captum method).
    fido: FidoResult | None = None

    def __repr__(self):
        h, w = self.image.shape[1:]
        return (f"Attribution({self.method!r}, target={self.target} {self.target_name!r}, {h}x{w}, "
                f"maps={sorted(self.maps)}, {self.seconds:.2f} s)")


def occlusion_window(size) -> tuple[int, int]:
    """``(window, stride)`` occlusion uses by default for an ``(H, W)`` image: a window of a seventh
    of the shorter side (32 px at 224, 9 px at 64) slid by half of it."""
    window = max(1, round(min(int(v) for v in size) / 7))
    return window, max(1, window // 2)


def _check_baseline(baseline, image):
    if isinstance(baseline, str):
        if baseline not in INFILLS:
            raise ValueError(f"baseline must be a fixed in-fill name ({', '.join(map(repr, INFILLS))}) "
                             f"or a 3×H×W image in [0, 1]; got {baseline!r}")
        return
    if not isinstance(baseline, torch.Tensor) or not baseline.is_floating_point():
        raise TypeError(f"baseline must be a fixed in-fill name or a floating-point 3×H×W tensor, "
                        f"got {type(baseline).__name__}")
    if tuple(baseline.shape) != tuple(image.shape):
        raise ValueError(f"baseline must have the prepared image's shape {tuple(image.shape)}, "
                         f"got {tuple(baseline.shape)}")
    lo, hi = (float(v) for v in torch.aminmax(baseline.detach()))
    if not (lo >= 0.0 and hi <= 1.0):  # NaN fails both
        raise ValueError(f"baseline must hold values in [0, 1], got values in [{lo:g}, {hi:g}]")


def _options(method, options, image):
    """The method's options with defaults filled in, every value checked."""
    allowed = OPTIONS[method]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        names = ", ".join(map(repr, allowed)) or "none"
        raise TypeError(f"method {method!r} takes the options {names}; got unknown {', '.join(map(repr, unknown))}")
    out = dict(allowed)
    out.update(options)
    h, w = image.shape[1:]
    for name in ("steps", "samples", "batch_size"):
        if name in out:
            check_int(name, out[name], low=1, high=MAX_COUNT)
    if "stdevs" in out:
        out["stdevs"] = check_real("stdevs", out["stdevs"], low=0.0, high=MAX_STDEVS)
    if method == "occlusion":
        window, stride = occlusion_window((h, w))
        out["window"] = window if out["window"] is None else check_int("window", out["window"], low=1, high=min(h, w))
        default_stride = max(1, out["window"] // 2) if options.get("window") is not None else stride
        out["stride"] = (default_stride if out["stride"] is None
                         else check_int("stride", out["stride"], low=1, high=min(h, w)))
    if "baseline" in out:
        _check_baseline(out["baseline"], image)
    if method == "fido":
        config = FidoConfig() if out["config"] is None else out["config"]
        if not isinstance(config, FidoConfig):
            raise TypeError(f"config must be a FidoConfig or None, got {type(config).__name__}")
        out["config"] = config
    return out


def check_options(method, options, size) -> dict:
    """``options`` of ``method`` for ``(H, W)`` images, checked, defaults filled in (what
    :func:`attribute` runs with); raises as :func:`attribute` would, before any work."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, METHODS))}; got {method!r}")
    if not isinstance(options, dict):
        raise TypeError(f"options must be a dict, got {type(options).__name__}")
    h, w = (check_int("size[i]", v, low=1) for v in size)
    return _options(method, options, torch.zeros(3, h, w))


def _baseline_image(baseline, image, seed):
    if isinstance(baseline, torch.Tensor):
        return baseline.detach().to(image.dtype)
    params = {"sigma": 10.0} if baseline == "blur" else {}
    return make_infill(image, baseline, generator=seed, **params)


@contextmanager
def _seeded(seed):
    """numpy's and torch's global generators seeded with ``seed`` inside the block, then restored."""
    state = np.random.get_state()
    try:
        with torch.random.fork_rng(devices=[]):
            np.random.seed(seed % 2**32)
            torch.manual_seed(seed)
            yield
    finally:
        np.random.set_state(state)


def _captum(method, net, x, target, opts, seed):
    """Captum's ``1×3×H×W`` attribution of ``x`` (``1×3×H×W``) for ``target``."""
    forward = net.logits
    if method == "saliency":
        return Saliency(forward).attribute(x, target=target, abs=True)
    reference = _baseline_image(opts["baseline"], x[0], seed).unsqueeze(0).to(x.device)
    if method == "integrated_gradients":
        return IntegratedGradients(forward).attribute(
            x, baselines=reference, target=target, n_steps=opts["steps"],
            internal_batch_size=opts["batch_size"])
    if method == "gradient_shap":
        # one sample per pass of `samples` images: batch_size caps a pass at that many
        total, out = opts["samples"], None
        explainer = GradientShap(forward)
        with _seeded(seed):
            for first in range(0, total, opts["batch_size"]):
                n = min(opts["batch_size"], total - first)
                part = explainer.attribute(x, baselines=reference, target=target, n_samples=n,
                                           stdevs=opts["stdevs"]) * n
                out = part if out is None else out + part
        return out / total
    window, stride = opts["window"], opts["stride"]
    return Occlusion(forward).attribute(
        x, sliding_window_shapes=(3, window, window), strides=(3, stride, stride), baselines=reference,
        target=target, perturbations_per_eval=opts["batch_size"])


def attribute(classifier, image, target, method="integrated_gradients", *, seed=0, device=None, progress=False,
              **options) -> Attribution:
    """One attribution map set of ``target`` for ``image`` by ``method``, in FIDO's format.

    Parameters
    ----------
    classifier : :class:`fido_lib.classifiers.Classifier`
    image : PIL image, ``H×W×3`` uint8 array or ``3×H×W`` float tensor in [0, 1]
        Prepared once by ``classifier.prepare``, as :func:`~fido_lib.fido.fit` does.
    target : int or str
        Class index or class name.
    method : str
        One of :data:`METHODS`.
    seed : int
        Seeds GradientShap's draws and a random ``baseline`` in-fill (``"uniform"``…).
    device : str or None
        Where to compute (None: the classifier's device). FIDO uses its config's device.
    progress : bool
        FIDO's progress bar (the Captum methods show none).
    **options
        Per method (:data:`OPTIONS`): ``steps`` (integrated gradients' path points, 32),
        ``samples`` (GradientShap's, 32), ``stdevs`` (GradientShap's input noise, 0),
        ``window`` and ``stride`` (occlusion's, default :func:`occlusion_window`),
        ``baseline`` (a fixed in-fill name of :data:`fido_lib.infill.INFILLS` — ``"blur"``
        is σ = 10 px — or a ``3×H×W`` image), ``batch_size`` (images per pass), and for
        ``"fido"`` ``config`` (a :class:`~fido_lib.fido.FidoConfig`, default ``FidoConfig()``).

    Every argument is checked before any work; the caller's classifier and image are
    not modified. Returns an :class:`Attribution`.
    """
    start = time.perf_counter()
    if not isinstance(classifier, Classifier):
        raise TypeError(f"classifier must be a fido_lib.classifiers.Classifier (see load / wrap), "
                        f"got {type(classifier).__name__}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, METHODS))}; got {method!r}")
    check_int("seed", seed, low=0, high=2**63 - 1)
    check_bool("progress", progress)
    dev = classifier.device if device is None else resolve_device(device)
    target = classifier.class_index(target)
    x = classifier.prepare(to_tensor(image))
    opts = _options(method, options, x)
    if method == "fido":
        if device is not None:
            raise ValueError("device is FidoConfig.device for method 'fido': pass config=FidoConfig(device=...)")
        result = fit(classifier, x, target, opts["config"], progress=progress)
        maps = {k: getattr(result, k) for k in ("ssr", "sdr", "joint") if getattr(result, k) is not None}
        return Attribution("fido", result.image, target, result.target_name, maps,
                           time.perf_counter() - start, opts, classifier.name, fido=result)
    classifier.check_outputs()
    net = frozen_copy(classifier, dev, fold=True, precision="float32")
    inputs = x.unsqueeze(0).to(dev).requires_grad_(True)  # a private copy; Captum differentiates w.r.t. it
    raw = _captum(method, net, inputs, target, opts, seed)[0].detach()
    synchronize(dev)
    raw = raw.float().cpu()
    summed = raw.sum(0)
    maps = {"abs": summed} if method == "saliency" else {"signed": summed, "abs": summed.abs()}
    return Attribution(method, x, target, classifier.class_names[target], maps, time.perf_counter() - start,
                       opts, classifier.name, raw=raw)


def from_fido(result: FidoResult) -> Attribution:
    """A finished :class:`~fido_lib.fido.FidoResult` in :class:`Attribution` form (its maps,
    ``seconds`` = the fit's own ``result.seconds``, which leaves out the set-up)."""
    if not isinstance(result, FidoResult):
        raise TypeError(f"result must be a FidoResult, got {type(result).__name__}")
    maps = {k: getattr(result, k) for k in ("ssr", "sdr", "joint") if getattr(result, k) is not None}
    return Attribution("fido", result.image, result.target, result.target_name, maps, float(result.seconds),
                       {"config": result.config}, result.classifier_name, fido=result)
