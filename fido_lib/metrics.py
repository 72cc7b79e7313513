"""Mask metrics: deletion / insertion curves and their AUC, a random-order baseline,
mask area and total variation, and scores against a known ground-truth region.

Deletion and insertion (Petsiuk, Das & Saenko, *RISE*, BMVC 2018): rank the pixels
by a saliency map, then

* **deletion** — replace the pixels with a baseline image (default: the photo
  blurred with σ = 10 px), most salient first, and track the target's softmax
  probability: a good map makes it fall fast, so a *low* area under the curve is good;
* **insertion** — start from the baseline and put the photo's pixels back, most
  salient first: a good map makes the probability rise fast, a *high* AUC is good.

Both are compared with a random pixel order (mean over a few seeds): a map is only
informative where it beats that. The AUC is the trapezoid rule over the fraction of
pixels changed, in [0, 1].
"""
from __future__ import annotations

import math
import numbers

import numpy as np
import torch

from . import ops
from ._util import check_int
from .concrete import make_generator
from .infill import make_infill

__all__ = [
    "auc",
    "centre_prior",
    "connected_regions",
    "deletion_curve",
    "ground_truth_scores",
    "insertion_curve",
    "iou",
    "mask_area",
    "mass_inside",
    "pointing_game",
    "random_order_auc",
    "ranking",
    "total_variation",
]


# ------------------------------------------------------------------ map statistics
def _check_map(name, m):
    if not isinstance(m, torch.Tensor) or not m.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {type(m).__name__}")
    if m.dim() < 2:
        raise ValueError(f"{name} must have at least 2 dimensions (…×H×W), got shape {tuple(m.shape)}")
    if m.numel() and bool(torch.isnan(m.detach()).any()):  # a NaN would pass on silently (or sort first)
        raise ValueError(f"{name} holds NaN in {int(torch.isnan(m.detach()).sum())} of {m.numel()} pixels; "
                         "a map must be numbers")


def mask_area(mask: torch.Tensor, threshold: float | None = None) -> torch.Tensor:
    """Fraction of the image a mask covers, over its last two dimensions.

    ``threshold=None``: the mean value (the expected area of a probability map);
    otherwise the fraction of pixels with ``mask > threshold``.
    """
    _check_map("mask", mask)
    if threshold is None:
        return mask.mean(dim=(-2, -1))
    return (mask > threshold).to(mask.dtype).mean(dim=(-2, -1))


def total_variation(mask: torch.Tensor) -> torch.Tensor:
    """Anisotropic total variation, mean reduction, over the last two dimensions.

    ``TV = mean |m[i+1, j] - m[i, j]| + mean |m[i, j+1] - m[i, j]|``: 0 for a
    constant map, up to 2 for a checkerboard of 0s and 1s; independent of the size
    (:func:`fido_lib.ops.total_variation` with ``reduction="mean"``).
    """
    _check_map("mask", mask)
    return ops.total_variation(mask, reduction="mean")


def _count_regions(on: np.ndarray) -> int:
    # union-find, vectorised: every pixel points at the smallest index of its region.
    # Each round lets both ends of every "on" edge take the smaller label, then
    # jumps pointers (label = label[label]) until stable; rounds ~ log of the region size.
    h, w = on.shape
    idx = np.arange(h * w).reshape(h, w)
    pairs = [(idx[:, :-1][on[:, :-1] & on[:, 1:]], idx[:, 1:][on[:, :-1] & on[:, 1:]]),
             (idx[:-1, :][on[:-1, :] & on[1:, :]], idx[1:, :][on[:-1, :] & on[1:, :]])]
    a = np.concatenate([p[0] for p in pairs])
    b = np.concatenate([p[1] for p in pairs])
    label = idx.reshape(-1).copy()
    while True:
        low = np.minimum(label[a], label[b])
        before = label.copy()
        np.minimum.at(label, label[a], low)
        np.minimum.at(label, label[b], low)
        while True:
            jumped = label[label]
            if np.array_equal(jumped, label):
                break
            label = jumped
        if np.array_equal(label, before):
            break
    flat = on.reshape(-1)
    return int(np.unique(label[flat]).size)


def connected_regions(mask: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """Number of connected regions of ``mask > threshold`` (4-neighbourhood), per map.

    A readability measure beside :func:`total_variation`: a map a person can read
    marks the object with one or a few regions, a speckled one with dozens.
    ``mask``: ``…×H×W``; returns a long tensor of the leading shape.
    """
    _check_map("mask", mask)
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) or not math.isfinite(threshold):
        raise ValueError(f"threshold must be a finite number, got {threshold!r}")
    on = (mask.detach() > threshold).reshape(-1, *mask.shape[-2:]).cpu().numpy()
    counts = [_count_regions(m) for m in on]
    return torch.tensor(counts, dtype=torch.long).reshape(mask.shape[:-2])


def centre_prior(shape, sigma: float = 0.25) -> torch.Tensor:
    """A model-free saliency map: a centred Gaussian ``exp(-r² / 2s²)``, peak 1.

    ``r`` is a pixel's distance from the image centre, ``s = sigma · min(H, W)``.
    Photos are framed around their subject, so "the middle matters" is the floor a
    saliency map must beat before it says anything about the *model* (Judd et al.,
    ICCV 2009, the centre bias of human fixations). Width: deletion and insertion
    use only the *order* of the pixels, and every isotropic Gaussian orders pixels by
    ``r`` alone, so the AUCs do not depend on ``sigma`` at all — it is fixed at a
    quarter of the shorter side (the map falls to 0.14 at the middle of each edge)
    for display, never tuned per photo. ``shape``: ``(H, W)``; returns ``H×W`` float32.
    """
    try:
        h, w = (int(v) for v in shape)
    except (TypeError, ValueError):
        raise TypeError(f"shape must be a pair of ints (H, W), got {shape!r}") from None
    if h < 1 or w < 1 or (h, w) != tuple(shape):
        raise ValueError(f"shape must be two ints >= 1, got {shape!r}")
    if isinstance(sigma, bool) or not isinstance(sigma, numbers.Real) or not (math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a finite number > 0 (a fraction of the shorter side), got {sigma!r}")
    s = float(sigma) * min(h, w)
    y = torch.arange(h, dtype=torch.float64) - (h - 1) / 2
    x = torch.arange(w, dtype=torch.float64) - (w - 1) / 2
    return torch.exp(-(y[:, None] ** 2 + x[None, :] ** 2) / (2 * s * s)).float()


# ------------------------------------------------------------------ curves and AUC
def auc(fractions, scores) -> float:
    """Trapezoid area under ``scores`` over ``fractions``."""
    f = torch.as_tensor(fractions, dtype=torch.float64)
    s = torch.as_tensor(scores, dtype=torch.float64)
    return float(torch.trapezoid(s, f))


def ranking(saliency: torch.Tensor, generator=None) -> torch.Tensor:
    """Flat pixel indices, most salient first; ties broken in a seeded random order."""
    _check_map("saliency", saliency)
    flat = saliency.detach().reshape(-1).to("cpu", torch.float64)
    if bool(flat.isnan().any()):  # NaN would sort as the most salient pixel
        raise ValueError(f"saliency holds NaN in {int(flat.isnan().sum())} of {flat.numel()} pixels; "
                         "a saliency map must be numbers")
    g = make_generator(generator if generator is not None else 0)
    # a random permutation first, then a *stable* sort: equal values keep the random order
    perm = torch.randperm(flat.numel(), generator=g)
    order = torch.sort(flat[perm], descending=True, stable=True).indices
    return perm[order]


def _check_unit_image(name, x):
    """``x`` holds floats in [0, 1] (no NaN): a [0, 255] image would give AUCs of 1.0 or NaN."""
    lo, hi = torch.aminmax(x.detach())
    lo, hi = float(lo), float(hi)
    if not (lo >= 0.0 and hi <= 1.0):  # NaN fails both
        if bool(x.isnan().any()):
            why = f"it holds NaN in {int(x.isnan().sum())} of {x.numel()} values"
        else:
            why = f"got values in [{lo:g}, {hi:g}]" + ("; divide a 0..255 image by 255" if hi > 1.0 else "")
        raise ValueError(f"{name} must be floats in [0, 1]: {why}")


def _check_common(classifier, image, steps, batch_size, baseline=None):
    if not isinstance(image, torch.Tensor) or not image.is_floating_point() or image.dim() != 3 or image.shape[0] != 3:
        raise ValueError(
            "image must be the classifier's 3×H×W float image in [0, 1] "
            "(classifier.prepare(photo), or FidoResult.image)"
        )
    if tuple(image.shape[1:]) != tuple(classifier.input_size):
        raise ValueError(
            f"image is {tuple(image.shape[1:])} but {classifier.name} sees {classifier.input_size}: "
            "use classifier.prepare"
        )
    _check_unit_image("image", image)
    if baseline is not None:
        if not isinstance(baseline, torch.Tensor) or not baseline.is_floating_point():
            raise TypeError(f"baseline must be a floating-point tensor 3×H×W in [0, 1] or None, "
                            f"got {type(baseline).__name__}")
        if baseline.shape != image.shape:
            raise ValueError(f"baseline must have the image's shape {tuple(image.shape)}, got {tuple(baseline.shape)}")
        _check_unit_image("baseline", baseline)
    n = image.shape[1] * image.shape[2]
    # more steps than pixels would only repeat points (and 1e9 steps exhausted the memory)
    check_int("steps", steps, low=1, high=n)
    check_int("batch_size", batch_size, low=1)


@torch.no_grad()
def _curve(classifier, image, order, target, baseline, steps, batch_size, insert):
    target = classifier.class_index(target)
    if baseline is None:
        baseline = make_infill(image, "blur", sigma=10.0)
    if baseline.shape != image.shape:
        raise ValueError(f"baseline must have the image's shape {tuple(image.shape)}, got {tuple(baseline.shape)}")
    n = image.shape[1] * image.shape[2]
    counts = torch.linspace(0, n, steps + 1).round().long()
    # rank[p] = position of pixel p in the order; pixel p is changed at step k if rank < counts[k]
    rank = torch.empty(n, dtype=torch.long)
    rank[order] = torch.arange(n)
    rank = rank.view(1, 1, *image.shape[1:])
    start, end = (baseline, image) if insert else (image, baseline)
    device = classifier.device
    start, end, rank = start.to(device), end.to(device), rank.to(device)
    scores = []
    for chunk in counts.split(batch_size):
        changed = rank < chunk.to(device).view(-1, 1, 1, 1)
        batch = torch.where(changed, end.unsqueeze(0), start.unsqueeze(0))
        scores.append(classifier.probabilities(batch)[:, target].float().cpu())
    scores = torch.cat(scores)
    if not bool(torch.isfinite(scores).all()):
        raise ValueError(f"classifier {classifier.name!r} gave NaN/inf probabilities: no curve or AUC from them")
    return (counts.double() / n), scores


def _check_curve_inputs(classifier, image, saliency, steps, batch_size, baseline=None):
    _check_common(classifier, image, steps, batch_size, baseline)
    _check_map("saliency", saliency)
    if tuple(saliency.shape[-2:]) != tuple(image.shape[1:]) or saliency.numel() != image.shape[1] * image.shape[2]:
        raise ValueError(f"saliency must be one H×W = {tuple(image.shape[1:])} map, got shape {tuple(saliency.shape)}")


def deletion_curve(classifier, image, saliency, target, *, steps=20, baseline=None, batch_size=21, generator=None):
    """``(fractions, probabilities)``: the target's probability as the most salient pixels are replaced.

    ``image``: the classifier's ``3×H×W`` image in [0, 1]; ``saliency``: ``H×W``
    (high = delete first, e.g. the SDR drop map); ``baseline``: the replacement image
    (default: blur with σ = 10 px). ``steps + 1`` points from 0 to all pixels.
    """
    _check_curve_inputs(classifier, image, saliency, steps, batch_size, baseline)
    return _curve(classifier, image, ranking(saliency, generator), target, baseline, steps, batch_size, insert=False)


def insertion_curve(classifier, image, saliency, target, *, steps=20, baseline=None, batch_size=21, generator=None):
    """``(fractions, probabilities)``: the target's probability as the most salient pixels are put back.

    Starts from ``baseline`` (default: blur with σ = 10 px); ``saliency`` high = insert
    first (e.g. the SSR keep map). See :func:`deletion_curve`.
    """
    _check_curve_inputs(classifier, image, saliency, steps, batch_size, baseline)
    return _curve(classifier, image, ranking(saliency, generator), target, baseline, steps, batch_size, insert=True)


def random_order_auc(classifier, image, target, kind="deletion", *, seeds=(0, 1, 2), steps=20, baseline=None,
                     batch_size=21):
    """Mean AUC of ``kind`` (``"deletion"`` or ``"insertion"``) over random pixel orders, one per seed."""
    if kind not in ("deletion", "insertion"):
        raise ValueError(f"kind must be 'deletion' or 'insertion', got {kind!r}")
    _check_common(classifier, image, steps, batch_size, baseline)
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must name at least one seed")
    if baseline is None:
        baseline = make_infill(image, "blur", sigma=10.0)
    n = image.shape[1] * image.shape[2]
    values = []
    for seed in seeds:
        order = torch.randperm(n, generator=make_generator(int(seed)))
        f, s = _curve(classifier, image, order, target, baseline, steps, batch_size, insert=kind == "insertion")
        values.append(auc(f, s))
    return sum(values) / len(values)


# ------------------------------------------------------------------ ground-truth metrics (notebook 06)
# Where the ground truth is known (fido_lib.toy_birds: the one part that tells the
# classes apart), a map can be scored against it directly. Three scores, each for
# maps where high = important (the SSR keep map, the SDR drop map):
#
# * pointing game (Zhang et al., ECCV 2016): does the map's maximum fall on the part?
# * mass inside: the share of the map's total mass that lies on the part;
# * IoU of the thresholded map with the part.
#
# All three take ``saliency`` (…, H, W) and ``part`` (…, H, W, bool), broadcast the
# leading dimensions and return one value per map. A constant map scores chance in
# the first two: the part's share of the image.


def _check_ground_truth(saliency, part):
    if not isinstance(saliency, torch.Tensor) or not saliency.is_floating_point():
        raise TypeError(f"saliency must be a floating-point tensor (…, H, W), got {type(saliency).__name__}")
    if not isinstance(part, torch.Tensor) or part.dtype != torch.bool:
        raise TypeError(f"part must be a bool tensor (…, H, W), got {getattr(part, 'dtype', type(part).__name__)}")
    if saliency.dim() < 2 or part.dim() < 2 or saliency.shape[-2:] != part.shape[-2:]:
        raise ValueError(f"saliency and part must end in the same H, W; got shapes {tuple(saliency.shape)} "
                         f"and {tuple(part.shape)}")
    try:
        torch.broadcast_shapes(saliency.shape, part.shape)
    except RuntimeError:
        raise ValueError(f"the shapes of saliency {tuple(saliency.shape)} and part {tuple(part.shape)} "
                         "do not broadcast") from None
    if not torch.isfinite(saliency).all():
        raise ValueError("saliency must be finite (no NaN or inf)")
    return saliency.detach(), part.to(saliency.device)


def _dilate(part, radius):
    """``part`` grown by a disc of ``radius`` pixels (a pixel counts if its centre is within)."""
    r = int(math.floor(radius))
    if r < 1:
        return part
    offsets = torch.arange(-r, r + 1, dtype=torch.float32)
    disc = (offsets[:, None] ** 2 + offsets[None, :] ** 2 <= radius**2).float()
    flat = part.reshape(-1, 1, *part.shape[-2:]).float()
    grown = torch.nn.functional.conv2d(flat, disc[None, None].to(flat.device), padding=r) > 0.5
    return grown.reshape(part.shape)


def pointing_game(saliency: torch.Tensor, part: torch.Tensor, tolerance: float = 0.0) -> torch.Tensor:
    """Hit rate of the map's maximum on the part (Zhang et al., ECCV 2016), one value per map.

    ``hit = |argmax(saliency) ∩ part⁺| / |argmax(saliency)|``, where ``part⁺`` is the
    part grown by ``tolerance`` pixels (Zhang et al. used 15 px at 224×224) and the
    argmax is the *set* of pixels equal to the maximum: with a unique maximum the hit
    is 0 or 1; with ties it is the chance of a hit under a random choice among them,
    so a constant map scores the part's share of the image, not a free hit.
    """
    saliency, part = _check_ground_truth(saliency, part)
    if isinstance(tolerance, bool) or not isinstance(tolerance, numbers.Real) or not (0 <= tolerance < 1e4):
        raise ValueError(f"tolerance must be a number of pixels >= 0, got {tolerance!r}")
    saliency, part = torch.broadcast_tensors(saliency, _dilate(part, float(tolerance)))
    is_max = saliency == saliency.amax(dim=(-2, -1), keepdim=True)
    return (is_max & part).sum(dim=(-2, -1)).double() / is_max.sum(dim=(-2, -1)).double()


def mass_inside(saliency: torch.Tensor, part: torch.Tensor) -> torch.Tensor:
    """Share of the map's mass on the part: ``Σ_part s / Σ s``, one value per map.

    ``saliency`` must be ≥ 0 (a probability map). 1 = all mass on the part; a
    constant map scores the part's share of the image. An all-zero map carries no
    ranking at all and is scored like a constant one.
    """
    saliency, part = _check_ground_truth(saliency, part)
    if saliency.numel() and saliency.min() < 0:
        raise ValueError(f"saliency must be >= 0 for mass_inside, got a minimum of {float(saliency.min()):g}")
    saliency, part = torch.broadcast_tensors(saliency.double(), part)
    total = saliency.sum(dim=(-2, -1))
    inside = (saliency * part).sum(dim=(-2, -1))
    chance = part.double().mean(dim=(-2, -1))
    return torch.where(total > 0, inside / total.clamp(min=torch.finfo(torch.float64).tiny), chance)


def iou(saliency: torch.Tensor, part: torch.Tensor, threshold=0.5) -> torch.Tensor:
    """Intersection over union of the thresholded map with the part, one value per map.

    ``threshold``: a number — the region is ``saliency > threshold`` (0.5 for a
    probability map); or ``"area"`` — the region is the ``|part|`` highest pixels of
    the map (ties broken by pixel order), which scores the ranking alone, free of the
    map's calibration. An empty region and an empty part agree: IoU 1.
    """
    saliency, part = _check_ground_truth(saliency, part)
    saliency, part = torch.broadcast_tensors(saliency, part)
    if isinstance(threshold, str):
        if threshold != "area":
            raise ValueError(f"threshold must be a number or 'area', got {threshold!r}")
        flat = saliency.reshape(*saliency.shape[:-2], -1)
        k = part.reshape(*part.shape[:-2], -1).sum(-1, keepdim=True)
        rank = torch.empty_like(flat, dtype=torch.long)
        order = torch.sort(flat, dim=-1, descending=True, stable=True).indices
        rank.scatter_(-1, order, torch.arange(flat.shape[-1], device=flat.device).expand_as(order).contiguous())
        region = (rank < k).reshape(saliency.shape)
    elif isinstance(threshold, numbers.Real) and not isinstance(threshold, bool) and math.isfinite(threshold):
        region = saliency > threshold
    else:
        raise ValueError(f"threshold must be a finite number or 'area', got {threshold!r}")
    inter = (region & part).sum(dim=(-2, -1)).double()
    union = (region | part).sum(dim=(-2, -1)).double()
    return torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(union))


def ground_truth_scores(saliency: torch.Tensor, part: torch.Tensor, *, threshold=0.5, tolerance=0.0) -> dict:
    """All of the above at once: ``{"pointing": …, "mass_inside": …, "iou": …, "iou_area": …}``.

    ``iou`` uses ``threshold``, ``iou_area`` the ``"area"`` rule; ``mass_inside`` is
    computed on the map clipped at 0.
    """
    return {
        "pointing": pointing_game(saliency, part, tolerance),
        "mass_inside": mass_inside(saliency.clamp(min=0), part),
        "iou": iou(saliency, part, threshold),
        "iou_area": iou(saliency, part, "area"),
    }
