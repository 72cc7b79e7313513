"""Tensor operations used across the library, each written once.

* :func:`gaussian_blur` — separable Gaussian blur with an explicit edge rule;
* :func:`log_odds` — the class log-odds ``z_c - logsumexp_{c'≠c} z_c'`` from logits;
* :func:`total_variation` — anisotropic total variation, mean or sum.
"""
from __future__ import annotations

import math
import numbers

import torch
import torch.nn.functional as F

from ._util import check_choice, check_real

__all__ = ["MAX_BLUR_WORK", "MAX_SIGMA_PER_SIDE", "PADDINGS", "REDUCTIONS", "gaussian_blur", "log_odds",
           "total_variation"]

#: Edge rules of :func:`gaussian_blur`.
PADDINGS = ("replicate", "reflect")
#: Reductions of :func:`total_variation`.
REDUCTIONS = ("mean", "sum")
#: ``sigma`` of :func:`gaussian_blur` (and of the blur infill) may be at most this many
#: times the image's longer side: past about one side the kernel is flat across the image
#: (so the blur no longer changes), while its cost grows with σ (σ = 1e6 took 23 s on a
#: 224×224 photo, then crashed inside ``conv2d``).
MAX_SIGMA_PER_SIDE = 2
#: The most multiply-adds :func:`gaussian_blur` does per axis (values × kernel taps):
#: about 4e9, seconds on a CPU core; a 224×224 photo at the largest σ needs 4e8.
MAX_BLUR_WORK = 2**32


def _kernel(sigma, radius, dtype, device):
    # computed in the image's precision (at least float32), normalised to sum 1
    work = torch.promote_types(dtype, torch.float32)
    t = torch.arange(-radius, radius + 1, dtype=work, device=device)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    return (k / k.sum()).to(dtype)


def gaussian_blur(image: torch.Tensor, sigma: float, *, padding: str = "replicate") -> torch.Tensor:
    """Separable Gaussian blur of ``image`` (``C×H×W`` or ``N×C×H×W``), same shape.

    Kernel ``k(t) ∝ exp(-t² / 2σ²)`` for ``|t| <= r = max(1, ceil(3σ))``, normalised
    to sum 1; rows first, then columns. ``padding``: how the image is extended past
    its edges — ``"replicate"`` (edge pixels repeated; the infill of
    :mod:`fido_lib.infill`) or ``"reflect"`` (mirrored without repeating the edge;
    the variance experiment's infill). ``"reflect"`` needs ``r < size``, so there the
    radius is cut to ``size - 1`` along each axis (and the kernel renormalised).

    ``sigma`` may be at most :data:`MAX_SIGMA_PER_SIDE` × the longer side, and the work
    (values × kernel taps) at most :data:`MAX_BLUR_WORK`; both are checked before any work.
    """
    if not isinstance(image, torch.Tensor) or not image.is_floating_point():
        raise TypeError(f"image must be a floating-point tensor C×H×W or N×C×H×W, got {type(image).__name__}")
    if image.dim() not in (3, 4):
        raise ValueError(f"image must have shape C×H×W or N×C×H×W, got {tuple(image.shape)}")
    sigma = check_real("sigma", sigma, low=0.0, low_open=True)
    check_choice("padding", padding, PADDINGS)
    x = image.unsqueeze(0) if image.dim() == 3 else image
    c, h, w = x.shape[1:]
    if sigma > MAX_SIGMA_PER_SIDE * max(h, w):
        raise ValueError(f"sigma must be <= {MAX_SIGMA_PER_SIDE * max(h, w)} pixels ({MAX_SIGMA_PER_SIDE} × the "
                         f"image's longer side {max(h, w)}; MAX_SIGMA_PER_SIDE), got {sigma:g}: a wider blur is "
                         "flat across the image and only costs time")
    radius = max(1, math.ceil(3 * sigma))
    work = x.numel() * (2 * radius + 1)
    if work > MAX_BLUR_WORK:
        raise ValueError(f"gaussian_blur of a {tuple(image.shape)} image with sigma {sigma:g} would take "
                         f"{work:.3g} multiply-adds per axis, more than MAX_BLUR_WORK = {MAX_BLUR_WORK:.3g}; "
                         "use a smaller sigma or a smaller image")
    rw, rh = radius, radius
    if padding == "reflect":
        rw, rh = min(radius, w - 1), min(radius, h - 1)
    if rw > 0:
        k = _kernel(sigma, rw, x.dtype, x.device)
        x = F.pad(x, (rw, rw, 0, 0), mode=padding)
        x = F.conv2d(x, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    if rh > 0:
        k = _kernel(sigma, rh, x.dtype, x.device)
        x = F.pad(x, (0, 0, rh, rh), mode=padding)
        x = F.conv2d(x, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
    return x[0] if image.dim() == 3 else x


def _log_odds(logits, target):
    """The log-odds without checks; ``+inf`` logits decide (see :func:`log_odds`); NaN where undefined."""
    # on log-probabilities ℓ = log_softmax(z) = z - logsumexp(z): the shift cancels in
    # the difference, and this order of operations is the one the stored FIDO results
    # were computed with (the variance study's traces too, up to rounding)
    top = torch.isposinf(logits.detach())
    infinite = bool(top.any())
    if infinite:  # log_softmax of +inf is NaN (its gradient too): computed on a finite stand-in, replaced below
        logits = torch.where(top, torch.zeros_like(logits), logits)
    log_p = torch.log_softmax(logits, dim=-1)
    others = log_p.clone()
    others[..., target] = -math.inf
    out = log_p[..., target] - torch.logsumexp(others, dim=-1)
    if infinite:  # +inf at the target alone is +inf, elsewhere alone -inf; at both NaN (no limit)
        at_target = top[..., target]
        elsewhere = top.clone()
        elsewhere[..., target] = False
        elsewhere = elsewhere.any(dim=-1)
        inf = torch.full_like(out, math.inf)
        out = torch.where(at_target & ~elsewhere, inf, torch.where(elsewhere & ~at_target, -inf, out))
        out = torch.where(at_target & elsewhere, torch.full_like(out, math.nan), out)
    return out


def log_odds(logits: torch.Tensor, target: int) -> torch.Tensor:
    """Log-odds of class ``target`` from ``…×C`` logits: ``z_c - logsumexp_{c'≠c} z_c'``.

    Computed as ``ℓ_c - logsumexp_{c'≠c} ℓ_c'`` with ``ℓ = log_softmax(z)`` (the same number).

    Equal to ``log p_c - log Σ_{c'≠c} p_c'`` for ``p = softmax(z)`` (Chang et al.,
    ICLR 2019), but never forms ``1 - p_c``, which rounds to 0 when the classifier
    is sure; ``logsumexp`` subtracts the maximum, so no logit overflows.

    Infinite logits are limits, not NaN: ``+inf`` at the target alone gives ``+inf``, at
    another class alone ``-inf`` (``-inf`` logits are classes of probability 0). A NaN
    logit, or ``+inf`` both at the target and elsewhere (∞ − ∞, no limit), raises
    ``ValueError``.
    """
    if not isinstance(logits, torch.Tensor) or not logits.is_floating_point():
        raise TypeError(f"logits must be a floating-point tensor …×C, got {type(logits).__name__}")
    if logits.dim() < 1 or logits.shape[-1] < 2:
        raise ValueError(f"logits must have at least 2 classes on the last axis, got shape {tuple(logits.shape)}")
    if isinstance(target, bool) or not isinstance(target, numbers.Integral):
        raise TypeError(f"target must be a class index (int), got {type(target).__name__} {target!r}")
    if not 0 <= target < logits.shape[-1]:
        raise ValueError(f"target must be a class index in [0, {logits.shape[-1] - 1}], got {target}")
    target = int(target)
    out = _log_odds(logits, target)
    if logits.numel() and bool(torch.isnan(out.detach()).any()):
        if bool(torch.isnan(logits.detach()).any()):
            raise ValueError(f"logits hold NaN in {int(torch.isnan(logits.detach()).sum())} of {logits.numel()} "
                             "entries: no log-odds from them")
        raise ValueError(f"logits are +inf both at the target {target} and at another class: "
                         "their log-odds (∞ − ∞) is undefined")
    return out


def total_variation(m: torch.Tensor, *, reduction: str = "mean") -> torch.Tensor:
    """Anisotropic total variation over the last two axes of ``m`` (``…×H×W``).

    ``TV = R|m[i+1, j] - m[i, j]| + R|m[i, j+1] - m[i, j]|`` with ``R`` the mean
    (``reduction="mean"``: independent of the map's size, up to 2 for a 0/1
    checkerboard) or the sum (``"sum"``). A map 1 pixel high (or wide) has no
    neighbours along that axis: that term is 0, never NaN. A map with NaN or ±inf raises
    ``ValueError`` (its total variation would be NaN or inf).
    """
    if not isinstance(m, torch.Tensor) or not m.is_floating_point():
        raise TypeError(f"map must be a floating-point tensor …×H×W, got {type(m).__name__}")
    if m.dim() < 2:
        raise ValueError(f"map must have at least 2 dimensions (…×H×W), got shape {tuple(m.shape)}")
    check_choice("reduction", reduction, REDUCTIONS)
    if m.numel() and m.device.type != "meta" and not bool(torch.isfinite(m.detach()).all()):
        raise ValueError(f"map holds NaN or inf in {int((~torch.isfinite(m.detach())).sum())} of {m.numel()} "
                         "entries: its total variation would be NaN or inf")
    return _total_variation(m, reduction)


def _total_variation(m, reduction="mean"):
    """:func:`total_variation` without checks (the fits' own maps: σ(θ), finite by construction)."""
    dv = (m[..., 1:, :] - m[..., :-1, :]).abs()
    dh = (m[..., :, 1:] - m[..., :, :-1]).abs()
    if reduction == "sum":
        return dv.sum(dim=(-2, -1)) + dh.sum(dim=(-2, -1))
    zero = m.new_zeros(m.shape[:-2])
    tv_v = dv.mean(dim=(-2, -1)) if dv.numel() else zero
    tv_h = dh.mean(dim=(-2, -1)) if dh.numel() else zero
    return tv_v + tv_h
