"""Infills: what a dropped pixel is replaced with.

FIDO shows the classifier ``x̃ = (1 - drop) · x + drop · infill``: an infill is one
image of the same size, computed once per photo (not per step). Choose it by name
with :func:`make_infill`; :data:`INFILLS` lists the names.

* ``"blur"``   — Gaussian blur of the photo (``sigma`` in pixels, default 10; FIDO's
  paper used 10), edges replicated (:func:`fido_lib.ops.gaussian_blur`). Keeps
  colours and coarse shapes; can be a weak infill, since a blurred object is often
  still recognised.
* ``"mean"``   — every pixel the photo's mean colour.
* ``"uniform"``— independent uniform noise in [0, 1] per pixel and channel.
* ``"normal"`` — Gaussian noise with the photo's per-channel mean and standard
  deviation, clipped to [0, 1].
* ``"knockoff"`` — the photo's own pixels shuffled inside ``patch × patch`` tiles
  (default 8): local colour statistics stay, shapes and texture go.

**In-fills that see the mask.** FIDO's own in-filler (Chang et al., ICLR 2019) is a
generator ``G(x, drop) → fill`` that draws a replacement for the dropped pixels
*given the kept ones*, a fresh draw for every Concrete sample. :class:`Infiller` is
that interface: ``infiller(x, drop, generator)`` with ``x`` the ``3×H×W`` photo,
``drop`` a ``B×1×H×W`` relaxed drop mask in [0, 1] and a ``torch.Generator``,
returns ``B×3×H×W`` fills in [0, 1]. :func:`make_infiller` builds one by name
(:data:`MASK_AWARE_INFILLS`); ``FidoConfig(infill=…)`` takes such a name or an
:class:`Infiller` object, and :func:`fido_lib.fido.fit` then draws the fill each step.

* ``"surround"`` — :class:`SurroundInfill`: a smooth continuation of the kept
  pixels into the dropped ones (a pull–push pyramid of mask-weighted averages,
  Gortler et al. 1996). It uses only what is kept, needs no training and no
  download — and it is no generative model of photos: it draws the same smooth
  fill every time and invents no texture or object.
* ``"learned_toy_birds"`` — :class:`LearnedInfill`: a small inpainting network
  trained on toy birds (:mod:`fido_lib.inpainter`), 64×64 images only.
* the toy birds' **exact counterfactual**, bound to one image:
  :class:`fido_lib.toy_birds.CrestCounterfactual`.
* :class:`FixedInfill` wraps any fixed in-fill above as an :class:`Infiller` that
  ignores the mask (for comparisons in one loop).
"""
from __future__ import annotations

import abc

import torch
import torch.nn.functional as F

from ._util import check_int, check_real
from .concrete import make_generator
from .inpainter import INPUT_SIZE as _LEARNED_SIZE
from .inpainter import InpaintingNet, load_inpainter
from .ops import MAX_SIGMA_PER_SIDE, gaussian_blur

__all__ = [
    "INFILLS",
    "MASK_AWARE_INFILLS",
    "MAX_DRAWS",
    "MAX_SIGMA_PER_SIDE",
    "FixedInfill",
    "Infiller",
    "LearnedInfill",
    "SurroundInfill",
    "check_infill",
    "make_infill",
    "make_infiller",
]

#: Names accepted by :func:`make_infill` (and by FIDO's ``infill`` option).
INFILLS = ("blur", "mean", "uniform", "normal", "knockoff")
#: Names accepted by :func:`make_infiller` (and by FIDO's ``infill`` option): in-fills drawn per mask.
MASK_AWARE_INFILLS = ("surround", "learned_toy_birds")
_PARAMS = {"blur": {"sigma"}, "mean": set(), "uniform": set(), "normal": set(), "knockoff": {"patch"},
           "surround": set(), "learned_toy_birds": set()}


def _check_image(image):
    if not isinstance(image, torch.Tensor) or not image.is_floating_point():
        raise TypeError("image must be a floating-point tensor 3×H×W in [0, 1] (see fido_lib.images.to_tensor)")
    if image.dim() != 3 or image.shape[0] != 3:
        raise ValueError(f"image must have shape 3×H×W, got {tuple(image.shape)}")


def check_infill(name, params=None, *, size=None):
    """Raise a clear error unless ``name`` and ``params`` name a valid infill.

    ``size``: the image's ``(H, W)`` when known; then ``sigma`` must be at most
    :data:`MAX_SIGMA_PER_SIDE` × ``max(H, W)`` and ``patch`` at most ``max(H, W)``.
    """
    if isinstance(name, Infiller):
        if params:
            raise TypeError(f"infill {name!r} is an Infiller object: it takes no infill_params, got {dict(params)!r}")
        if size is not None:
            name.check_size(tuple(int(v) for v in size))
        return {}
    if not isinstance(name, str):
        raise TypeError(f"infill must be a name (str) or a fido_lib.infill.Infiller, "
                        f"got {type(name).__name__} {name!r}")
    if name not in INFILLS + MASK_AWARE_INFILLS:
        raise ValueError(f"infill must be one of {', '.join(map(repr, INFILLS + MASK_AWARE_INFILLS))} "
                         f"or a fido_lib.infill.Infiller; got {name!r}")
    params = dict(params or {})
    unknown = set(params) - _PARAMS[name]
    if unknown:
        allowed = ", ".join(sorted(_PARAMS[name])) or "none"
        raise TypeError(f"infill {name!r} takes no parameter {', '.join(sorted(unknown))} (allowed: {allowed})")
    if "sigma" in params:
        check_real("sigma", params["sigma"], low=0.0, low_open=True)  # pixels
    if "patch" in params:
        check_int("patch", params["patch"], low=1)  # pixels
    if size is not None and name == "learned_toy_birds":
        LearnedInfill().check_size(tuple(int(v) for v in size))  # loads nothing
    if size is not None:
        side = max(int(v) for v in size)
        if "sigma" in params and params["sigma"] > MAX_SIGMA_PER_SIDE * side:
            raise ValueError(
                f"sigma must be <= {MAX_SIGMA_PER_SIDE * side} pixels ({MAX_SIGMA_PER_SIDE} × the image's longer "
                f"side {side}) for this image, got {params['sigma']:g}: a wider blur is flat across the image "
                "and only costs time")
        if "patch" in params and params["patch"] > side:
            raise ValueError(f"patch must be <= {side} pixels (the image's longer side), got {params['patch']}")
    return params


def _knockoff(image, patch, generator):
    _, h, w = image.shape
    ph, pw = -(-h // patch) * patch, -(-w // patch) * patch
    x = F.pad(image.unsqueeze(0), (0, pw - w, 0, ph - h), mode="replicate")[0]
    # tiles: (3, n_tiles, patch*patch)
    tiles = x.unfold(1, patch, patch).unfold(2, patch, patch).reshape(3, -1, patch * patch)
    keys = torch.rand(tiles.shape[1:], generator=generator, device="cpu").to(image.device)
    order = keys.argsort(dim=-1).unsqueeze(0).expand_as(tiles)
    shuffled = tiles.gather(-1, order)
    nh, nw = ph // patch, pw // patch
    out = shuffled.view(3, nh, nw, patch, patch).permute(0, 1, 3, 2, 4).reshape(3, ph, pw)
    return out[:, :h, :w].contiguous()


def make_infill(image: torch.Tensor, name: str = "blur", *, generator=None, **params) -> torch.Tensor:
    """The infill image ``name`` for ``image`` (``3×H×W`` in [0, 1]), same shape, in [0, 1].

    ``generator`` (a ``torch.Generator`` or an int seed) drives the random infills
    (``uniform``, ``normal``, ``knockoff``); parameters: ``sigma`` for ``blur``,
    ``patch`` for ``knockoff``. An unknown name or parameter raises before any work.
    """
    _check_image(image)
    if isinstance(name, Infiller) or name in MASK_AWARE_INFILLS:
        raise ValueError(f"infill {name!r} sees the mask: draw it per mask with make_infiller({name!r})(x, drop), "
                         f"not once per photo (make_infill takes {', '.join(map(repr, INFILLS))})")
    params = check_infill(name, params, size=image.shape[1:])
    if name == "blur":
        return gaussian_blur(image, params.get("sigma", 10.0), padding="replicate")
    if name == "mean":
        return image.mean(dim=(1, 2), keepdim=True).expand_as(image).clone()
    # random infills: noise drawn on the CPU so a seed gives the same image on every device
    g = make_generator(generator if generator is not None else 0)
    if name == "uniform":
        return torch.rand(image.shape, generator=g).to(image.device, image.dtype)
    if name == "normal":
        mean = image.mean(dim=(1, 2), keepdim=True)
        std = image.std(dim=(1, 2), keepdim=True)
        noise = torch.randn(image.shape, generator=g).to(image.device, image.dtype)
        return (mean + std * noise).clamp_(0, 1)
    return _knockoff(image, int(params.get("patch", 8)), g)


# ---------------------------------------------------------------------- in-fills that see the mask
#: Most fills one call of an :class:`Infiller` draws (``B`` of a ``B×1×H×W`` mask): each is a whole image.
MAX_DRAWS = 1024


def _check_unit(name, t):
    lo, hi = (float(v) for v in torch.aminmax(t.detach()))
    if not (lo >= 0.0 and hi <= 1.0):  # NaN fails both
        raise ValueError(f"{name} must hold finite values in [0, 1], got values in [{lo:g}, {hi:g}]"
                         + (" (NaN)" if bool(torch.isnan(t).any()) else ""))


class Infiller(abc.ABC):
    """A mask-aware in-filler ``G(x, drop, generator) → fill`` (Chang et al., ICLR 2019).

    ``infiller(image, drop, generator=None)``: ``image`` the ``3×H×W`` photo in [0, 1],
    ``drop`` a ``B×1×H×W`` relaxed drop mask in [0, 1] (1 = replaced; ``1×H×W`` or
    ``H×W`` is one mask), ``generator`` a ``torch.Generator`` or an int seed (default
    0) for random draws. Returns ``B×3×H×W`` fills in [0, 1] on the image's device, one
    draw per mask; FIDO shows the classifier ``(1 - drop)·x + drop·fill``. Fills are
    samples, not differentiated (computed without gradient). Subclasses implement
    :meth:`_draw` and, where they serve only some images, :meth:`check_size` /
    :meth:`check_image`; every argument is checked here before any work.
    """

    #: A short name for plots and reports.
    name = "infiller"

    def check_size(self, size) -> None:  # noqa: B027 (optional hook: most in-fillers fill any size)
        """Raise ``ValueError`` if this in-filler cannot fill ``(H, W)`` images (default: any size)."""

    def check_image(self, image: torch.Tensor) -> None:
        """Raise ``ValueError`` if this in-filler cannot fill ``image`` (default: by its size)."""
        self.check_size(tuple(image.shape[1:]))

    def __repr__(self):
        return f"{type(self).__name__}({self.name!r})"

    def __call__(self, image: torch.Tensor, drop: torch.Tensor, generator=None) -> torch.Tensor:
        _check_image(image)
        if not isinstance(drop, torch.Tensor) or not drop.is_floating_point():
            raise TypeError(f"drop must be a floating-point tensor B×1×H×W in [0, 1], got {type(drop).__name__}")
        h, w = image.shape[1:]
        masks = drop.reshape(1, 1, *drop.shape) if drop.dim() == 2 else drop.unsqueeze(0) if drop.dim() == 3 else drop
        if masks.dim() != 4 or masks.shape[1] != 1 or tuple(masks.shape[2:]) != (h, w):
            raise ValueError(f"drop must have shape B×1×{h}×{w} (the image's H×W), got {tuple(drop.shape)}")
        if not 1 <= masks.shape[0] <= MAX_DRAWS:
            raise ValueError(f"drop must hold 1 to {MAX_DRAWS} masks (one fill each), got {masks.shape[0]}")
        _check_unit("image", image)
        _check_unit("drop", masks)
        g = make_generator(generator if generator is not None else 0)
        self.check_image(image)
        with torch.no_grad():
            fill = self._draw(image.detach(), masks.detach().to(image.device, image.dtype), g)
        if not isinstance(fill, torch.Tensor) or tuple(fill.shape) != (masks.shape[0], 3, h, w):
            got = tuple(fill.shape) if isinstance(fill, torch.Tensor) else type(fill).__name__
            raise ValueError(f"in-filler {self!r} must return B×3×H×W = {(masks.shape[0], 3, h, w)} fills, got {got}")
        _check_unit(f"the fill of {self!r}", fill)
        return fill.to(image.dtype)

    @abc.abstractmethod
    def _draw(self, image: torch.Tensor, drop: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """``B×3×H×W`` fills for the checked ``image`` (3×H×W) and masks ``drop`` (B×1×H×W)."""


class FixedInfill(Infiller):
    """A fixed in-fill (:func:`make_infill`) as an :class:`Infiller`: the mask is ignored.

    The random ones (``uniform``, ``normal``, ``knockoff``) are drawn afresh for every
    mask from the generator; ``blur`` and ``mean`` are the same every time. (FIDO's
    ``fit`` computes a fixed in-fill once per photo instead.)
    """

    def __init__(self, name: str = "blur", **params):
        if name not in INFILLS:
            raise ValueError(f"name must be one of the fixed in-fills {', '.join(map(repr, INFILLS))}; got {name!r}")
        self.params = check_infill(name, params)
        self.name = name

    def check_size(self, size):
        check_infill(self.name, self.params, size=size)

    def _draw(self, image, drop, generator):
        return torch.stack([make_infill(image, self.name, generator=generator, **self.params)
                            for _ in range(drop.shape[0])])


class SurroundInfill(Infiller):
    """A smooth continuation of the kept pixels into the dropped ones — not a generative model.

    Pull–push (Gortler et al., SIGGRAPH 1996, "The Lumigraph"): with keep weights
    ``w = 1 - drop``, *pull* builds a pyramid of weighted averages
    ``m_l = pool(w·x) / pool(w)`` (2×2 average pooling, down to one pixel); *push* goes
    back up, ``f_l = w_l·m_l + (1 - w_l)·up(f_{l+1})`` with ``w_l = pool(w)`` and a
    bilinear ``up``. Every fill pixel is a convex combination of kept pixels, so the
    fill stays inside their colour range; a fully dropped pixel's fill does not depend
    on what was under it. Deterministic: the generator is not used. Where nothing at
    all is kept, there is no context, and the fill is mid-grey (0.5).
    """

    name = "surround"

    def _draw(self, image, drop, generator):
        keep = 1.0 - drop  # B×1×H×W
        value = keep * image.unsqueeze(0)
        levels = [(value, keep)]
        while min(levels[-1][1].shape[-2:]) > 1:
            v, w = levels[-1]
            levels.append((F.avg_pool2d(v, 2, ceil_mode=True), F.avg_pool2d(w, 2, ceil_mode=True)))
        v, w = levels[-1]
        fill = torch.where(w > 0, v / w.clamp_min(1e-12), torch.full_like(v, 0.5))
        for v, w in reversed(levels[:-1]):
            up = F.interpolate(fill, size=v.shape[-2:], mode="bilinear", align_corners=False)
            mean = v / w.clamp_min(1e-12)
            fill = torch.where(w > 0, w * mean + (1 - w) * up, up)
        return fill.clamp_(0, 1)


class LearnedInfill(Infiller):
    """The learned toy-bird in-filler (:mod:`fido_lib.inpainter`) as an :class:`Infiller`.

    ``net``: an :class:`~fido_lib.inpainter.InpaintingNet` (default: the shipped
    weights, loaded on first use). It draws one of its proposals per block (the shipped
    net: one block, the whole image) from the generator. Trained on 64×64 toy birds
    only: other sizes raise ``ValueError``.
    """

    name = "learned_toy_birds"

    def __init__(self, net=None):
        if net is not None and not isinstance(net, InpaintingNet):
            raise TypeError(f"net must be a fido_lib.inpainter.InpaintingNet or None, got {type(net).__name__}")
        self._net = net

    @property
    def net(self):
        if self._net is None:
            self._net = load_inpainter()
        return self._net

    def check_size(self, size):
        if tuple(size) != (_LEARNED_SIZE, _LEARNED_SIZE):
            raise ValueError(f"the learned in-filler was trained on {_LEARNED_SIZE}×{_LEARNED_SIZE} toy birds; "
                             f"it cannot fill {size[0]}×{size[1]} images (use 'surround' for photos)")

    def _draw(self, image, drop, generator):
        net = self.net
        if next(net.parameters()).device != image.device:
            net = net.to(image.device)
        return net.sample(image.unsqueeze(0).float(), drop.float(), generator)


def make_infiller(name, **params) -> Infiller:
    """The mask-aware in-filler ``name`` (:data:`MASK_AWARE_INFILLS`), or a fixed one by name as a
    :class:`FixedInfill`; an :class:`Infiller` is returned as it is."""
    if isinstance(name, Infiller):
        check_infill(name, params)
        return name
    check_infill(name, params)
    if name == "surround":
        return SurroundInfill()
    if name == "learned_toy_birds":
        return LearnedInfill()
    return FixedInfill(name, **params)
