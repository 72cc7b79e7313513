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
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ._util import check_int, check_real
from .concrete import make_generator
from .ops import gaussian_blur

__all__ = ["INFILLS", "MAX_SIGMA_PER_SIDE", "check_infill", "make_infill"]

#: Names accepted by :func:`make_infill` (and by FIDO's ``infill`` option).
INFILLS = ("blur", "mean", "uniform", "normal", "knockoff")
_PARAMS = {"blur": {"sigma"}, "mean": set(), "uniform": set(), "normal": set(), "knockoff": {"patch"}}


def _check_image(image):
    if not isinstance(image, torch.Tensor) or not image.is_floating_point():
        raise TypeError("image must be a floating-point tensor 3×H×W in [0, 1] (see fido_lib.images.to_tensor)")
    if image.dim() != 3 or image.shape[0] != 3:
        raise ValueError(f"image must have shape 3×H×W, got {tuple(image.shape)}")


#: ``sigma`` of the blur may be at most this many times the image's longer side: past
#: about one side the kernel is flat across the image (so the blur no longer changes),
#: while its cost grows with σ (σ = 1e6 took minutes on a 224×224 photo).
MAX_SIGMA_PER_SIDE = 2


def check_infill(name, params=None, *, size=None):
    """Raise a clear error unless ``name`` and ``params`` name a valid infill.

    ``size``: the image's ``(H, W)`` when known; then ``sigma`` must be at most
    :data:`MAX_SIGMA_PER_SIDE` × ``max(H, W)`` and ``patch`` at most ``max(H, W)``.
    """
    if name not in INFILLS:
        raise ValueError(f"infill must be one of {', '.join(map(repr, INFILLS))}; got {name!r}")
    params = dict(params or {})
    unknown = set(params) - _PARAMS[name]
    if unknown:
        allowed = ", ".join(sorted(_PARAMS[name])) or "none"
        raise TypeError(f"infill {name!r} takes no parameter {', '.join(sorted(unknown))} (allowed: {allowed})")
    if "sigma" in params:
        check_real("sigma", params["sigma"], low=0.0, low_open=True)  # pixels
    if "patch" in params:
        check_int("patch", params["patch"], low=1)  # pixels
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
