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
from ._util import check_int, check_real, check_seed
from .concrete import make_generator
from .images import MAX_PIXELS
from .infill import make_infill

__all__ = [
    "MAX_BATCH_SIZE",
    "MAX_REMOVAL_DRAWS",
    "MAX_SEEDS",
    "MAX_TOLERANCE",
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
    "removal_matrix",
    "removal_scores",
    "standard_removals",
    "total_variation",
]


#: Most images one classifier pass of a curve takes (``batch_size``): 1024 images of
#: 3×224×224 float32 are 600 MB.
MAX_BATCH_SIZE = 1024
#: Most random orders :func:`random_order_auc` averages (each costs ``steps + 1`` passes).
MAX_SEEDS = 1000
#: Largest ``tolerance`` of :func:`pointing_game`, in pixels (Zhang et al. used 15 at 224×224;
#: the dilation's disc costs (2r + 1)² operations a pixel).
MAX_TOLERANCE = 64


# ------------------------------------------------------------------ map statistics
def _check_map(name, m, *, finite=False):
    if not isinstance(m, torch.Tensor) or not m.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {type(m).__name__}")
    if m.dim() < 2:
        raise ValueError(f"{name} must have at least 2 dimensions (…×H×W), got shape {tuple(m.shape)}")
    if m.numel() and bool(torch.isnan(m.detach()).any()):  # a NaN would pass on silently (or sort first)
        raise ValueError(f"{name} holds NaN in {int(torch.isnan(m.detach()).sum())} of {m.numel()} pixels; "
                         "a map must be numbers")
    if finite and m.numel() and bool(torch.isinf(m.detach()).any()):  # a mean or a difference of ±inf: inf or NaN
        raise ValueError(f"{name} holds ±inf in {int(torch.isinf(m.detach()).sum())} of {m.numel()} pixels; "
                         "its area and total variation need finite values")


def _check_threshold(threshold):
    """A finite real threshold (not a bool, not a str); returns it as a float."""
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real):
        raise TypeError(f"threshold must be a finite number (or None), got {type(threshold).__name__} "
                        f"{threshold!r}")
    return check_real("threshold", threshold)


def mask_area(mask: torch.Tensor, threshold: float | None = None) -> torch.Tensor:
    """Fraction of the image a mask covers, over its last two dimensions.

    ``threshold=None``: the mean value (the expected area of a probability map);
    otherwise the fraction of pixels with ``mask > threshold`` (a finite number; ``True``,
    ``"0.5"`` and NaN are refused). ``mask`` must be finite (±inf has no area).
    """
    _check_map("mask", mask, finite=True)
    if threshold is None:
        return mask.mean(dim=(-2, -1))
    threshold = _check_threshold(threshold)
    return (mask > threshold).to(mask.dtype).mean(dim=(-2, -1))


def total_variation(mask: torch.Tensor) -> torch.Tensor:
    """Anisotropic total variation, mean reduction, over the last two dimensions.

    ``TV = mean |m[i+1, j] - m[i, j]| + mean |m[i, j+1] - m[i, j]|``: 0 for a
    constant map, up to 2 for a checkerboard of 0s and 1s; independent of the size
    (:func:`fido_lib.ops.total_variation` with ``reduction="mean"``). ``mask`` must be finite.
    """
    _check_map("mask", mask, finite=True)
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
    threshold = _check_threshold(threshold)
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
    if h * w > MAX_PIXELS:
        raise ValueError(f"shape {h}×{w} has {h * w:.3g} pixels; at most MAX_PIXELS = {MAX_PIXELS:.3g}")
    if isinstance(sigma, bool) or not isinstance(sigma, numbers.Real) or not (math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a finite number > 0 (a fraction of the shorter side), got {sigma!r}")
    s = float(sigma) * min(h, w)
    y = torch.arange(h, dtype=torch.float64) - (h - 1) / 2
    x = torch.arange(w, dtype=torch.float64) - (w - 1) / 2
    return torch.exp(-(y[:, None] ** 2 + x[None, :] ** 2) / (2 * s * s)).float()


# ------------------------------------------------------------------ curves and AUC
def _curve_values(name, values):
    try:
        t = torch.as_tensor(values)
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(f"{name} must be a 1-D sequence of numbers, got {type(values).__name__}") from None
    if t.dtype == torch.bool or t.is_complex() or not (t.is_floating_point() or t.dtype in (
            torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)):
        raise TypeError(f"{name} must hold real numbers, got dtype {t.dtype}")
    t = t.detach().to("cpu", torch.float64)
    if t.dim() != 1:
        raise ValueError(f"{name} must be 1-D, got shape {tuple(t.shape)}")
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} must be finite: it holds NaN or inf in {int((~torch.isfinite(t)).sum())} "
                         f"of {t.numel()} entries")
    return t


def auc(fractions, scores) -> float:
    """Trapezoid area under ``scores`` over ``fractions``.

    Both 1-D, the same length >= 2, finite; ``fractions`` non-decreasing (a curve over
    the fraction of pixels changed: decreasing x would give a negative area).
    """
    f = _curve_values("fractions", fractions)
    s = _curve_values("scores", scores)
    if f.numel() != s.numel():
        raise ValueError(f"fractions and scores must have the same length, got {f.numel()} and {s.numel()}")
    if f.numel() < 2:
        raise ValueError(f"an area needs at least 2 points, got {f.numel()}")
    if bool((f[1:] < f[:-1]).any()):
        raise ValueError("fractions must be non-decreasing (sort the points by fraction first)")
    return float(torch.trapezoid(s, f))


def ranking(saliency: torch.Tensor, generator=None) -> torch.Tensor:
    """Flat pixel indices, most salient first; ties broken in a seeded random order."""
    _check_map("saliency", saliency)
    flat = saliency.detach().reshape(-1).to("cpu", torch.float64)
    if bool(flat.isnan().any()):  # NaN would sort as the most salient pixel
        raise ValueError(f"saliency holds NaN in {int(flat.isnan().sum())} of {flat.numel()} pixels; "
                         "a saliency map must be numbers")
    g = make_generator(generator if generator is not None else 0, name="generator")
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
    check_int("batch_size", batch_size, low=1, high=MAX_BATCH_SIZE)


def _default_baseline(image):
    """The σ = 10 px blur; for an image under 5 px a side σ = 2 × its longer side
    (:data:`fido_lib.ops.MAX_SIGMA_PER_SIDE`), where the blur is already flat."""
    return make_infill(image, "blur", sigma=min(10.0, float(ops.MAX_SIGMA_PER_SIDE * max(image.shape[1:]))))


@torch.no_grad()
def _curve(classifier, image, order, target, baseline, steps, batch_size, insert):
    target = classifier.class_index(target)
    if baseline is None:
        baseline = _default_baseline(image)
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
    """Mean AUC of ``kind`` (``"deletion"`` or ``"insertion"``) over random pixel orders, one per seed.

    ``seeds``: a sequence of 1 to :data:`MAX_SEEDS` int seeds (not one int, not floats).
    """
    if kind not in ("deletion", "insertion"):
        raise ValueError(f"kind must be 'deletion' or 'insertion', got {kind!r}")
    _check_common(classifier, image, steps, batch_size, baseline)
    if isinstance(seeds, (str, bytes, numbers.Number)) or not hasattr(seeds, "__iter__"):
        raise TypeError(f"seeds must be a sequence of int seeds, e.g. (0, 1, 2), got {type(seeds).__name__} "
                        f"{seeds!r:.60}" + (f"; for one seed pass ({seeds!r},)" if isinstance(seeds, int) else ""))
    seeds = list(seeds)
    if not seeds or len(seeds) > MAX_SEEDS:
        raise ValueError(f"seeds must name 1 to {MAX_SEEDS} seeds (MAX_SEEDS), got {len(seeds)}")
    seeds = [check_seed(f"seeds[{i}]", seed) for i, seed in enumerate(seeds)]
    if baseline is None:
        baseline = _default_baseline(image)
    n = image.shape[1] * image.shape[2]
    values = []
    for seed in seeds:
        order = torch.randperm(n, generator=make_generator(seed))
        f, s = _curve(classifier, image, order, target, baseline, steps, batch_size, insert=kind == "insertion")
        values.append(auc(f, s))
    return sum(values) / len(values)


# ------------------------------------------------------------------ one map under several removals
#: Most baseline draws :func:`removal_scores` takes per removal: each draw costs two curves
#: of ``steps + 1`` classifier passes.
MAX_REMOVAL_DRAWS = 64


def standard_removals(image: torch.Tensor) -> dict:
    """The removals every image has: ``{"blur": σ = 10 px blur, "mean": the mean colour}``.

    ``"blur"`` is the default baseline of :func:`deletion_curve` (σ = 10; flat already on an
    image under 5 px a side), ``"mean"`` what :func:`fido_lib.infill.make_infill` gives.
    """
    return {"blur": _default_baseline(image), "mean": make_infill(image, "mean")}


def removal_scores(classifier, image, saliency, target, removals, *, steps=20, batch_size=21, generator=None,
                   kinds=("insertion", "deletion")) -> dict:
    """Insertion and deletion AUC of one map under each removal: ``{name: {"insertion": …, "deletion": …}}``.

    Deletion and insertion "remove" a pixel by replacing it with a baseline image, and
    the verdict can depend on that choice (Rong et al., ICML 2022, "ROAD": a removal
    that the explained method also used leaks information into the score). So one map
    is scored under several: ``removals`` maps a name to a ``3×H×W`` baseline image in
    [0, 1], or to a ``K×3×H×W`` stack of draws (``K <= MAX_REMOVAL_DRAWS``) whose AUCs
    are averaged — e.g. one counterfactual per class of the toy birds
    (:func:`fido_lib.toy_birds.counterfactual_removals`). :func:`standard_removals` gives
    blur and mean. ``saliency``: one ``H×W`` map, high = remove first / insert first
    (the pixel order is computed once, ties broken by ``generator``). ``kinds``: the AUCs
    to compute, a non-empty subset of ``("insertion", "deletion")`` (e.g. only insertion
    for an SSR map). Every removal is checked before any classifier pass.
    """
    kinds = _check_kinds(kinds)
    if not isinstance(removals, dict):
        raise TypeError(f"removals must be a dict name -> 3×H×W image or K×3×H×W stack, got {type(removals).__name__}")
    if not removals:
        raise ValueError("removals must name at least one removal, got an empty dict (see standard_removals)")
    stacks = {}
    for name, value in removals.items():
        if not isinstance(name, str):
            raise TypeError(f"removals' keys must be str names, got {type(name).__name__} {name!r}")
        if not isinstance(value, torch.Tensor) or not value.is_floating_point():
            raise TypeError(f"removals[{name!r}] must be a floating-point tensor, got {type(value).__name__}")
        draws = value.unsqueeze(0) if value.dim() == 3 else value
        if draws.dim() != 4 or not 1 <= draws.shape[0] <= MAX_REMOVAL_DRAWS:
            raise ValueError(f"removals[{name!r}] must be 3×H×W or K×3×H×W with 1 <= K <= {MAX_REMOVAL_DRAWS}, "
                             f"got shape {tuple(value.shape)}")
        for draw in draws:
            _check_curve_inputs(classifier, image, saliency, steps, batch_size, draw)
        stacks[name] = draws
    _check_curve_inputs(classifier, image, saliency, steps, batch_size)
    target = classifier.class_index(target)
    order = ranking(saliency, generator)
    out = {}
    for name, draws in stacks.items():
        scores = {}
        for kind in kinds:
            insert = kind == "insertion"
            values = [auc(*_curve(classifier, image, order, target, draw, steps, batch_size, insert=insert))
                      for draw in draws]
            scores[kind] = sum(values) / len(values)
        out[name] = scores
    return out


def _check_kinds(kinds):
    if isinstance(kinds, str) or not isinstance(kinds, (tuple, list)):
        raise TypeError(f"kinds must be a tuple of 'insertion' / 'deletion', got {type(kinds).__name__} {kinds!r}")
    if not kinds or any(k not in ("insertion", "deletion") for k in kinds) or len(set(kinds)) != len(kinds):
        raise ValueError(f"kinds must be a non-empty subset of ('insertion', 'deletion'), got {kinds!r}")
    return tuple(kinds)


def removal_matrix(classifier, image, maps, target, removals, *, steps=20, batch_size=21, generator=None,
                   kinds=("insertion", "deletion")) -> dict:
    """:func:`removal_scores` for every map of a dict: ``{method: {removal: {"insertion": …, "deletion": …}}}``.

    ``maps``: a non-empty dict of method name → ``H×W`` map (FIDO's SSR / SDR maps,
    a Captum attribution, a reference map, …); each is ranked with its own tie-break
    from ``generator`` (an int seed, default 0, or a ``torch.Generator`` shared in
    order). ``kinds`` as for :func:`removal_scores`. Every map and every removal is
    checked before any classifier pass.
    """
    kinds = _check_kinds(kinds)
    if not isinstance(maps, dict):
        raise TypeError(f"maps must be a dict method name -> H×W map, got {type(maps).__name__}")
    if not maps:
        raise ValueError("maps must hold at least one map, got an empty dict")
    _check_common(classifier, image, steps, batch_size)
    for name, m in maps.items():
        if not isinstance(name, str):
            raise TypeError(f"maps' keys must be str method names, got {type(name).__name__} {name!r}")
        _check_map(f"maps[{name!r}]", m)
        if tuple(m.shape[-2:]) != tuple(image.shape[-2:]) or m.numel() != image.shape[-2] * image.shape[-1]:
            raise ValueError(f"maps[{name!r}] must be one H×W = {tuple(image.shape[-2:])} map, "
                             f"got shape {tuple(m.shape)}")
    # removals: checked by the first removal_scores call, before any classifier pass
    g = make_generator(generator if generator is not None else 0, name="generator")
    return {name: removal_scores(classifier, image, m, target, removals, steps=steps, batch_size=batch_size,
                                 generator=g, kinds=kinds) for name, m in maps.items()}


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
    tolerance = check_real("tolerance", tolerance, low=0.0, high=MAX_TOLERANCE)  # the disc costs (2r + 1)² a pixel
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
