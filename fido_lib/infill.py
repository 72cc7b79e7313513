"""Infills: what a dropped pixel is replaced with.

FIDO shows the classifier ``x̃ = (1 - drop) · x + drop · infill``: an infill is one
image of the same size, computed once per photo (not per step). Choose it by name
with :func:`make_infill`; :data:`INFILLS` lists the names.

* ``"blur"``   — Gaussian blur of the photo (``sigma`` in pixels, default 10; FIDO's
  paper used 10). Keeps colours and coarse shapes; can be a weak infill, since a
  blurred object is often still recognised.
* ``"mean"``   — every pixel the photo's mean colour.
* ``"uniform"``— independent uniform noise in [0, 1] per pixel and channel.
* ``"normal"`` — Gaussian noise with the photo's per-channel mean and standard
  deviation, clipped to [0, 1].
* ``"knockoff"`` — the photo's own pixels shuffled inside ``patch × patch`` tiles
  (default 8): local colour statistics stay, shapes and texture go.
"""
from __future__ import annotations

import math
import numbers

import torch
import torch.nn.functional as F

from .concrete import make_generator

__all__ = ["INFILLS", "blur", "check_infill", "make_infill"]

#: Names accepted by :func:`make_infill` (and by FIDO's ``infill`` option).
INFILLS = ("blur", "mean", "uniform", "normal", "knockoff")
_PARAMS = {"blur": {"sigma"}, "mean": set(), "uniform": set(), "normal": set(), "knockoff": {"patch"}}


def _check_image(image):
    if not isinstance(image, torch.Tensor) or not image.is_floating_point():
        raise TypeError("image must be a floating-point tensor 3×H×W in [0, 1] (see fido_lib.images.to_tensor)")
    if image.dim() != 3 or image.shape[0] != 3:
        raise ValueError(f"image must have shape 3×H×W, got {tuple(image.shape)}")


def check_infill(name, params=None):
    """Raise a clear error unless ``name`` and ``params`` name a valid infill."""
    if name not in INFILLS:
        raise ValueError(f"infill must be one of {', '.join(map(repr, INFILLS))}; got {name!r}")
    params = dict(params or {})
    unknown = set(params) - _PARAMS[name]
    if unknown:
        allowed = ", ".join(sorted(_PARAMS[name])) or "none"
        raise TypeError(f"infill {name!r} takes no parameter {', '.join(sorted(unknown))} (allowed: {allowed})")
    if "sigma" in params:
        s = params["sigma"]
        if isinstance(s, bool) or not isinstance(s, numbers.Real) or not (math.isfinite(s) and s > 0):
            raise ValueError(f"sigma must be a finite number > 0 (pixels), got {s!r}")
    if "patch" in params:
        p = params["patch"]
        if isinstance(p, bool) or not isinstance(p, numbers.Integral) or p < 1:
            raise ValueError(f"patch must be an int >= 1 (pixels), got {p!r}")
    return params


def blur(image: torch.Tensor, sigma: float = 10.0) -> torch.Tensor:
    """Gaussian blur, separable, kernel radius ``ceil(3σ)``, edges replicated."""
    radius = max(1, math.ceil(3 * sigma))
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float32, device=image.device)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    kernel = (kernel / kernel.sum()).to(image.dtype)
    x = image.unsqueeze(0)
    x = F.pad(x, (radius, radius, 0, 0), mode="replicate")
    x = F.conv2d(x, kernel.view(1, 1, 1, -1).expand(3, 1, 1, -1), groups=3)
    x = F.pad(x, (0, 0, radius, radius), mode="replicate")
    x = F.conv2d(x, kernel.view(1, 1, -1, 1).expand(3, 1, -1, 1), groups=3)
    return x[0]


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
    params = check_infill(name, params)
    _check_image(image)
    if name == "blur":
        return blur(image, float(params.get("sigma", 10.0)))
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
