"""Toy birds: a procedural fine-grained data set whose ground truth is known pixel by pixel.

Every image shows one bird-like figure on a cluttered background. All birds share
one anatomy (body, belly, wing, tail, head, eye, beak, legs); position, size,
rotation, facing direction, pose (head, wing and tail angles) and the colours of
every part except one are random. The classes differ **only** in the colour of the
crest (a cap on the head plus a tuft): so the crest is the one region a classifier
must look at, and :attr:`BirdImages.part_masks` holds it for every image.

Small flowers in random hues (including the crest colours) are scattered over the
background, so that "is there a red pixel" is not enough: a classifier must find
the colour *on a bird's head*.

The crest is painted last, as one flat colour, from the very boolean mask that is
returned: inside the mask every pixel has the crest colour, and rendering the same
images with ``draw_part=False`` changes no pixel outside it (the tests check both).

Everything is vectorised over images in torch; random numbers come from one
``torch.Generator``, so the same ``seed`` gives the same images on every run.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch

from ._util import check_bool, check_int, check_real, check_seed, num_threads, resolve_device
from .concrete import make_generator
from .infill import Infiller

__all__ = [
    "CLASS_NAMES",
    "CREST_COLOURS",
    "INPUT_SIZE",
    "MAX_IMAGES",
    "MAX_SIZE",
    "MAX_TOTAL_PIXELS",
    "TEST_SEED",
    "WEIGHTS_PATH",
    "BirdImages",
    "CrestCounterfactual",
    "ToyBirdNet",
    "accuracy",
    "counterfactual_removals",
    "crest_prior",
    "load_cnn",
    "make_birds",
]

#: One class per crest colour; nothing else in an image depends on the class.
CLASS_NAMES = ("red crest", "yellow crest", "blue crest", "white crest")
#: The crest colour of each class (RGB in [0, 1]), before a small per-image jitter.
CREST_COLOURS = torch.tensor(
    [
        [0.85, 0.10, 0.10],
        [0.95, 0.85, 0.10],
        [0.10, 0.35, 0.90],
        [0.95, 0.95, 0.95],
    ]
)
_CREST_JITTER = 0.05  # per channel, uniform ±; classes stay far apart
_OFF = -1e4  # where absent clutter items are placed: far outside every image
_CHUNK = 32  # images rasterised at once: keeps the (n, H, W) temporaries in cache
#: Bounds of :func:`make_birds`, checked before anything is drawn: ``size`` at most
#: :data:`MAX_SIZE`, ``n`` at most :data:`MAX_IMAGES`, and ``n × size²`` at most
#: :data:`MAX_TOTAL_PIXELS` (14 bytes a pixel: 0.9 GB; the largest training set, 8000
#: images of 64×64, is half of it). ``size=10**5`` took 5 GB before failing.
MAX_SIZE = 1024
MAX_IMAGES = 1_000_000
MAX_TOTAL_PIXELS = 2**26


@dataclass
class BirdImages:
    """A batch of toy-bird images with their ground truth.

    Attributes
    ----------
    images : float32 tensor (n, 3, H, W) in [0, 1]
    labels : int64 tensor (n,), index into :data:`CLASS_NAMES`
    part_masks : bool tensor (n, H, W) — the crest, the only class-dependent region
    bird_masks : bool tensor (n, H, W) — every pixel of the bird (crest included)
    part_colours : float32 tensor (n, 3) — the flat colour painted inside ``part_masks``
    centres : float32 tensor (n, 2) — bird centre (x, y) in pixels
    scales : float32 tensor (n,) — half the body length, in pixels
    """

    images: torch.Tensor
    labels: torch.Tensor
    part_masks: torch.Tensor
    bird_masks: torch.Tensor
    part_colours: torch.Tensor
    centres: torch.Tensor
    scales: torch.Tensor

    def __len__(self) -> int:
        return self.labels.shape[0]

    @property
    def class_names(self) -> tuple[str, ...]:
        return CLASS_NAMES


# ---------------------------------------------------------------- input checks
def _check_range(name, value, low, high):
    try:
        a, b = (float(v) for v in value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a pair of numbers (min, max), got {value!r}") from None
    if not (low <= a <= b <= high):
        raise ValueError(f"{name} must satisfy {low} <= min <= max <= {high}, got {value!r}")
    return a, b


# ---------------------------------------------------------------- the parameters
def _uniform(g, n, lo, hi, *shape):
    return lo + (hi - lo) * torch.rand(n, *shape, generator=g)


def _hsv_to_rgb(h, s, v):
    """HSV in [0, 1] (any matching shapes) to RGB stacked on the last axis."""
    k = torch.stack([(5 + h * 6) % 6, (3 + h * 6) % 6, (1 + h * 6) % 6], -1)
    f = (torch.minimum(k, 4 - k)).clamp(0, 1)
    return v[..., None] - (v * s)[..., None] * f


def _sample_parameters(n, size, scale_range, clutter, g):
    """Every random number an image needs, drawn up front in a fixed order."""
    p = {}
    p["labels"] = torch.randint(len(CLASS_NAMES), (n,), generator=g)
    p["crest"] = (CREST_COLOURS[p["labels"]] + _uniform(g, n, -_CREST_JITTER, _CREST_JITTER, 3)).clamp(0, 1)

    # background: a muted base colour, three smooth colour waves, pixel noise
    p["bg_base"] = _hsv_to_rgb(_uniform(g, n, 0, 1), _uniform(g, n, 0.1, 0.5), _uniform(g, n, 0.35, 0.75))
    p["wave_freq"] = _uniform(g, n, 0.5, 3.0, 3, 2) * torch.where(torch.rand(n, 3, 2, generator=g) < 0.5, -1.0, 1.0)
    p["wave_phase"] = _uniform(g, n, 0, 2 * math.pi, 3)
    p["wave_rgb"] = _uniform(g, n, -0.12, 0.12, 3, 3)
    p["noise_seed"] = torch.randint(2**62, (1,), generator=g)

    # clutter: leaves (ellipses, muted), branches (thick segments), flowers (small
    # saturated discs of any hue: distractors sharing the crest colours)
    k_leaf, k_branch, k_flower = (round(clutter * k) for k in (10, 3, 4))
    p["leaf_on"] = torch.rand(n, k_leaf, generator=g) < 0.7
    p["leaf_xy"] = torch.where(p["leaf_on"][..., None], _uniform(g, n, 0, size, k_leaf, 2), _OFF)
    p["leaf_ab"] = _uniform(g, n, 0.03, 0.12, k_leaf, 2) * size
    p["leaf_angle"] = _uniform(g, n, 0, math.pi, k_leaf)
    p["leaf_rgb"] = _hsv_to_rgb(_uniform(g, n, 0.05, 0.45, k_leaf), _uniform(g, n, 0.2, 0.6, k_leaf),
                                _uniform(g, n, 0.2, 0.7, k_leaf))
    p["branch_on"] = torch.rand(n, k_branch, generator=g) < 0.6
    p["branch_ends"] = torch.where(p["branch_on"][..., None],
                                   _uniform(g, n, -0.2 * size, 1.2 * size, k_branch, 4), _OFF)
    p["branch_width"] = _uniform(g, n, 0.6, 1.8, k_branch) * size / 64
    p["branch_rgb"] = _hsv_to_rgb(_uniform(g, n, 0.03, 0.12, k_branch), _uniform(g, n, 0.2, 0.6, k_branch),
                                  _uniform(g, n, 0.15, 0.5, k_branch))
    p["flower_on"] = torch.rand(n, k_flower, generator=g) < 0.6
    p["flower_xy"] = torch.where(p["flower_on"][..., None], _uniform(g, n, 0, size, k_flower, 2), _OFF)
    p["flower_r"] = _uniform(g, n, 0.025, 0.05, k_flower) * size
    p["flower_rgb"] = _hsv_to_rgb(_uniform(g, n, 0, 1, k_flower), _uniform(g, n, 0.0, 0.95, k_flower),
                                  _uniform(g, n, 0.6, 0.97, k_flower))

    # the bird: placement, pose, colours of the non-discriminative parts
    s = _uniform(g, n, *scale_range) * size
    p["scale"] = s
    margin = 1.9 * s + 1  # the bird reaches 1.82 s from its centre (tail, beak, tuft): keep it in frame
    room = (size / 2 - margin).clamp(min=0)  # a bird too big to fit is centred
    p["centre"] = torch.stack([size / 2 + room * (2 * torch.rand(n, generator=g) - 1),
                               size / 2 + room * (2 * torch.rand(n, generator=g) - 1)], -1)
    p["angle"] = _uniform(g, n, -0.6, 0.6)
    p["facing"] = torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0)
    p["head_angle"] = _uniform(g, n, -0.35, 0.35)
    p["wing_angle"] = _uniform(g, n, -0.15, 0.45)
    p["tail_angle"] = _uniform(g, n, -0.5, 0.3)
    p["beak_len"] = _uniform(g, n, 0.7, 1.1)
    hue = _uniform(g, n, 0.02, 0.16)  # browns, olives, greys: never a crest colour
    sat = _uniform(g, n, 0.05, 0.45)
    val = _uniform(g, n, 0.3, 0.7)
    p["body_rgb"] = _hsv_to_rgb(hue, sat, val)
    p["belly_rgb"] = _hsv_to_rgb(hue, sat * 0.6, (val + _uniform(g, n, 0.1, 0.3)).clamp(max=0.9))
    p["wing_rgb"] = _hsv_to_rgb(hue, sat, val * _uniform(g, n, 0.5, 0.8))
    p["beak_rgb"] = _hsv_to_rgb(_uniform(g, n, 0.05, 0.12), _uniform(g, n, 0.1, 0.5), _uniform(g, n, 0.2, 0.55))
    return p


# ---------------------------------------------------------------- rasterising
# Every shape is an ellipse, a triangle or a half-plane in pixel coordinates. Their
# tests are quadratic or linear in x and y, so each splits into an (n, 1, W) part
# and an (n, H, 1) part, and only a few operations touch all n·H·W pixels.
def _col(t):
    return t[:, None, None] if isinstance(t, torch.Tensor) else t


def _ellipse(x, y, cx, cy, a, b, angle):
    """Inside the ellipse: centre (cx, cy), semi-axes (a, b), major axis at ``angle``."""
    c, s = torch.cos(angle), torch.sin(angle)
    ia, ib = 1 / (a * a), 1 / (b * b)
    qxx, qyy, qxy = c * c * ia + s * s * ib, s * s * ia + c * c * ib, 2 * c * s * (ia - ib)
    dx, dy = x - _col(cx), y - _col(cy)
    return (_col(qxx) * dx * dx + _col(qyy) * dy * dy) + (_col(qxy) * dx) * dy <= 1


def _edge(x, y, p, q):
    """(q - p) × (point - p): > 0 on one side of the line p→q; an (n,1,W) and an (n,H,1) part."""
    return _col(q[0] - p[0]) * (y - _col(p[1])), _col(q[1] - p[1]) * (x - _col(p[0]))


def _half_plane(x, y, p, q, inside):
    """Points on the same side of the line p→q as the point ``inside`` (line included)."""
    side = torch.sign((q[0] - p[0]) * (inside[1] - p[1]) - (q[1] - p[1]) * (inside[0] - p[0]))
    ey, ex = _edge(x, y, p, q)
    return _col(side) * ey - _col(side) * ex >= 0


def _triangle(x, y, a, b, c):
    """Inside the triangle with corners a, b, c (each an (x, y) pair), edges included."""
    return _half_plane(x, y, a, b, c) & _half_plane(x, y, b, c, a) & _half_plane(x, y, c, a, b)


def _segment_ellipse(x, y, p0, p1, half_width):
    """A thin ellipse from p0 to p1 (a leg, a branch)."""
    dx, dy = p1[0] - p0[0], p1[1] - p0[1]
    half_len = (0.5 * torch.sqrt(dx * dx + dy * dy)).clamp(min=0.5)
    return _ellipse(x, y, (p0[0] + p1[0]) / 2, (p0[1] + p1[1]) / 2, half_len, half_width, torch.atan2(dy, dx))


class _BirdFrame:
    """Maps bird coordinates (u forward, v up, in units of the scale) to pixels."""

    def __init__(self, p):
        self.cx, self.cy = p["centre"][:, 0], p["centre"][:, 1]
        self.s, self.f = p["scale"], p["facing"]
        self.c, self.sn = torch.cos(p["angle"]), torch.sin(p["angle"])
        # head: centre swung about the neck by the head angle, radius r
        ha = p["head_angle"]
        self.hc, self.hs = torch.cos(ha), torch.sin(ha)
        self.hu, self.hv = 0.85 * self.hc - 0.45 * self.hs, 0.85 * self.hs + 0.45 * self.hc
        self.r = 0.4

    def point(self, u, v):
        return (self.cx + self.s * (self.f * u * self.c - v * self.sn),
                self.cy - self.s * (self.f * u * self.sn + v * self.c))

    def head_point(self, a, b):
        """Head coordinates (a forward, b up, in head radii) to pixels."""
        return self.point(self.hu + self.r * (a * self.hc - b * self.hs),
                          self.hv + self.r * (a * self.hs + b * self.hc))

    def ellipse(self, x, y, u, v, a, b, angle):
        cx, cy = self.point(u, v)
        ex, ey = self.point(u + torch.cos(angle), v + torch.sin(angle))
        return _ellipse(x, y, cx, cy, a * self.s, b * self.s, torch.atan2(ey - cy, ex - cx))


def _render(p, size, draw_part, noise_offset):
    n = p["labels"].shape[0]
    coords = torch.arange(size, dtype=torch.float32) + 0.5  # pixel centres
    y, x = coords[None, :, None], coords[None, None, :]

    # background: base colour + three plane waves (cos(α+β) split into x and y parts)
    waves = []
    for k in range(3):
        ax = 2 * math.pi * _col(p["wave_freq"][:, k, 0]) * x / size + _col(p["wave_phase"][:, k])
        by = 2 * math.pi * _col(p["wave_freq"][:, k, 1]) * y / size
        waves.append(torch.cos(ax) * torch.cos(by) - torch.sin(ax) * torch.sin(by))
    bg = torch.einsum("nkc,nkhw->nchw", p["wave_rgb"], torch.stack(waves, 1)) + p["bg_base"][:, :, None, None]
    g = torch.Generator().manual_seed(int(p["noise_seed"]) + noise_offset)
    bg += 0.03 * torch.randn(bg.shape, generator=g)

    # layers, painted in order into a map of "which layer is on top" (0 = background)
    top = torch.zeros(n, size, size, dtype=torch.uint8)
    colours = [torch.zeros(n, 3)]

    def paint(mask, rgb):
        colours.append(rgb)
        top.masked_fill_(mask, len(colours) - 1)

    zero = torch.zeros(n)
    for k in range(p["leaf_on"].shape[1]):
        xy, ab = p["leaf_xy"][:, k], p["leaf_ab"][:, k]
        paint(_ellipse(x, y, xy[:, 0], xy[:, 1], ab[:, 0], ab[:, 1], p["leaf_angle"][:, k]), p["leaf_rgb"][:, k])
    for k in range(p["branch_on"].shape[1]):
        e = p["branch_ends"][:, k]
        paint(_segment_ellipse(x, y, (e[:, 0], e[:, 1]), (e[:, 2], e[:, 3]), p["branch_width"][:, k]),
              p["branch_rgb"][:, k])
    for k in range(p["flower_on"].shape[1]):
        xy, r = p["flower_xy"][:, k], p["flower_r"][:, k]
        paint(_ellipse(x, y, xy[:, 0], xy[:, 1], r, r, zero), p["flower_rgb"][:, k])
    first_bird_layer = len(colours)

    b = _BirdFrame(p)
    leg_width = 0.5 + 0.05 * p["scale"]
    for u0, u1 in ((-0.1, -0.05), (0.15, 0.2)):
        paint(_segment_ellipse(x, y, b.point(u0, -0.4), b.point(u1, -1.05), leg_width), p["beak_rgb"])
    ta = p["tail_angle"]
    paint(b.ellipse(x, y, -1.2 - 0.05 * torch.sin(ta), 0.1 + 0.3 * torch.sin(ta), 0.55, 0.17, ta + 0.25), p["wing_rgb"])
    paint(b.ellipse(x, y, zero, zero, 1.0, 0.55, zero), p["body_rgb"])
    body = top == len(colours) - 1
    paint(b.ellipse(x, y, zero + 0.15, zero - 0.22, 0.7, 0.28, zero) & body, p["belly_rgb"])
    paint(b.ellipse(x, y, zero - 0.2, zero + 0.1, 0.75, 0.27, p["wing_angle"]), p["wing_rgb"])
    hx, hy = b.head_point(zero, zero)
    radius = b.r * b.s
    head = _ellipse(x, y, hx, hy, radius, radius, zero)
    paint(head, p["body_rgb"])
    bl = p["beak_len"]
    paint(_triangle(x, y, b.head_point(0.8, 0.25), b.head_point(0.8, -0.4), b.head_point(0.8 + 1.4 * bl, -0.2)),
          p["beak_rgb"])
    ex, ey = b.head_point(zero + 0.4, zero - 0.05)
    paint(_ellipse(x, y, ex, ey, 0.22 * radius, 0.22 * radius, zero), torch.full((n, 3), 0.05))
    crest = (head & _half_plane(x, y, b.head_point(-1.0, 0.3), b.head_point(1.0, 0.3), b.head_point(0.0, 1.0))) | (
        _triangle(x, y, b.head_point(-0.75, 0.5), b.head_point(0.25, 0.85), b.head_point(-1.1, 1.75)))
    if draw_part:  # last, flat, from the mask that is returned
        paint(crest, p["crest"])
    bird = (top >= first_bird_layer) | crest

    palette = torch.stack(colours, 1)  # (n, layers, 3)
    fg = palette[torch.arange(n)[:, None, None], top.long()].permute(0, 3, 1, 2)
    img = torch.where((top == 0)[:, None], bg.clamp_(0, 1), fg)
    return img, crest, bird


def make_birds(n, *, size=64, seed=0, scale_range=(0.13, 0.2), clutter=1.0, draw_part=True) -> BirdImages:
    """``n`` toy-bird images of ``size``×``size`` pixels with their ground truth.

    Parameters
    ----------
    n : int >= 1
        Number of images.
    size : int >= 16, default 64
        Height and width in pixels.
    seed : int, default 0
        Everything random is drawn from ``torch.Generator().manual_seed(seed)``:
        the same ``(n, size, seed, scale_range, clutter)`` gives the same images.
        (``n`` counts too: the first 10 of 100 images are not ``make_birds(10, seed=…)``.)
    scale_range : (min, max) in (0, 0.25], default (0.13, 0.2)
        Half the body length as a fraction of ``size``; the whole bird spans about
        3.6 times that and always lies inside the frame (for ``size`` ≥ 40). Smaller
        values give birds small in the frame.
    clutter : float in [0, 3], default 1.0
        Multiplies the number of leaves, branches and flowers (0 = plain background).
    draw_part : bool, default True
        ``False`` leaves the crest unpainted (the head colour shows): the images
        then differ from the ``True`` ones exactly inside ``part_masks``.
    """
    n = check_int("n", n, low=1, high=MAX_IMAGES)
    size = check_int("size", size, low=16, high=MAX_SIZE)
    if n * size * size > MAX_TOTAL_PIXELS:
        raise ValueError(f"n × size² = {n} × {size}² = {n * size * size:.3g} pixels; make_birds makes at most "
                         f"{MAX_TOTAL_PIXELS:.3g} (MAX_TOTAL_PIXELS, about 0.9 GB): fewer or smaller images")
    check_seed("seed", seed)
    scale_range = _check_range("scale_range", scale_range, 1e-3, 0.25)
    clutter = check_real("clutter", clutter, low=0.0, high=3.0)
    check_bool("draw_part", draw_part)

    g = torch.Generator().manual_seed(int(seed))
    p = _sample_parameters(n, size, scale_range, float(clutter), g)
    images = torch.empty(n, 3, size, size)
    parts = torch.empty(n, size, size, dtype=torch.bool)
    birds = torch.empty(n, size, size, dtype=torch.bool)
    # Rendering is hundreds of small element-wise operations: one thread (see
    # fido_lib._util.num_threads for the measurement).
    with num_threads(1):
        for start in range(0, n, _CHUNK):
            stop = min(start + _CHUNK, n)
            chunk = {k: (v if k == "noise_seed" else v[start:stop]) for k, v in p.items()}
            images[start:stop], parts[start:stop], birds[start:stop] = _render(chunk, size, draw_part, start)
    return BirdImages(
        images=images,
        labels=p["labels"],
        part_masks=parts,
        bird_masks=birds,
        part_colours=p["crest"],
        centres=p["centre"],
        scales=p["scale"],
    )


# ---------------------------------------------------------------- the exact counterfactual
def crest_prior(n, generator=None, *, classes=None) -> torch.Tensor:
    """``n`` crest colours (``n×3``) from the data's own prior: a class drawn uniformly (or the
    given ``classes``, ``n`` indices), its colour, the per-channel jitter of :func:`make_birds`."""
    n = check_int("n", n, low=1, high=1_000_000)
    g = make_generator(generator if generator is not None else 0)
    if classes is None:
        labels = torch.randint(len(CLASS_NAMES), (n,), generator=g)
    else:
        try:
            given = torch.as_tensor(classes)
        except (TypeError, ValueError, RuntimeError):
            raise TypeError(f"classes must be {n} int class indices, got {type(classes).__name__}") from None
        if given.dtype == torch.bool or given.is_floating_point() or given.is_complex():
            raise TypeError(f"classes must be int class indices, got dtype {given.dtype}: {classes!r:.60}")
        labels = given.to(torch.long).reshape(-1)
        if labels.numel() != n or bool(((labels < 0) | (labels >= len(CLASS_NAMES))).any()):
            raise ValueError(f"classes must be {n} class indices in [0, {len(CLASS_NAMES) - 1}], got {classes!r}")
    return (CREST_COLOURS[labels] + _uniform(g, n, -_CREST_JITTER, _CREST_JITTER, 3)).clamp(0, 1)


def _check_scene(image, part):
    if not isinstance(image, torch.Tensor) or not image.is_floating_point() or image.dim() != 3 or image.shape[0] != 3:
        raise TypeError("image must be one toy-bird image, a float tensor 3×H×W (BirdImages.images[i])")
    if not isinstance(part, torch.Tensor) or part.dtype != torch.bool or tuple(part.shape) != tuple(image.shape[1:]):
        raise TypeError(f"part must be its crest mask, a bool tensor {tuple(image.shape[1:])} "
                        "(BirdImages.part_masks[i])")


class CrestCounterfactual(Infiller):
    """The toy birds' exact counterfactual in-filler for one image: the same scene, the crest redrawn.

    What could be under a dropped pixel, given everything else? For a toy bird the
    generator knows: the scene (background, clutter, pose, body colours) is fixed, and
    the only thing the class changes is the crest's colour, which the data draws from
    its prior (a class uniformly, its colour, a small jitter; :func:`crest_prior`). So
    each draw re-renders the image with a fresh crest colour. Because
    :func:`make_birds` paints the crest last, flat, from the very mask it returns,
    re-rendering is exactly ``where(part, colour, image)``: outside the crest the fill
    *is* the image (the oracle knows the scene), inside it is a colour from the prior.

    ``image``, ``part``: ``BirdImages.images[i]`` and ``BirdImages.part_masks[i]``. The
    in-filler serves that image only (another raises ``ValueError``). No photo data set
    has such an oracle; it makes "which in-fill gives better masks?" decidable here.
    """

    name = "exact counterfactual"

    def __init__(self, image: torch.Tensor, part: torch.Tensor):
        _check_scene(image, part)
        self.image = image.detach().clone()
        self.part = part.detach().clone()

    def check_image(self, image):
        if tuple(image.shape) != tuple(self.image.shape) or not torch.equal(image.detach().cpu(), self.image.cpu()):
            raise ValueError("this CrestCounterfactual belongs to another image: build one per image "
                             "with CrestCounterfactual(birds.images[i], birds.part_masks[i])")

    def _draw(self, image, drop, generator):
        colours = crest_prior(drop.shape[0], generator).to(image.device, image.dtype)
        return torch.where(self.part.to(image.device), colours[:, :, None, None], image.unsqueeze(0))


def counterfactual_removals(image: torch.Tensor, part: torch.Tensor, generator=None, *, exclude=None) -> torch.Tensor:
    """The counterfactual removal of one toy bird for deletion / insertion: ``K×3×H×W``, the image
    with its crest repainted in each class's colour (jitter from ``generator``), the scene unchanged.

    ``exclude``: a class index to leave out — the bird's own label, so that every draw
    really removes the class evidence (``K = 3``); default None keeps all four (``K = 4``),
    whose average AUC (:func:`fido_lib.metrics.removal_scores`) is the expectation over
    the prior's classes, each equally likely.
    """
    _check_scene(image, part)
    k = len(CLASS_NAMES)
    if exclude is not None:
        exclude = check_int("exclude", exclude, low=0, high=k - 1)
    classes = [c for c in range(k) if c != exclude]
    colours = crest_prior(len(classes), generator, classes=classes).to(image.device, image.dtype)
    return torch.where(part.to(image.device), colours[:, :, None, None], image.unsqueeze(0))


# ---------------------------------------------------------------- a small CNN for the birds
class ToyBirdNet(torch.nn.Module):
    """A small CNN for :func:`make_birds` images: 3×H×W in [0, 1] → logits over :data:`CLASS_NAMES`.

    Five 3×3 convolutions (three with stride 2) with batch norm and ReLU, then
    global max pooling — "is there a crest-coloured head anywhere" — and a linear layer.
    Works on any image size; trained at 64×64.
    """

    def __init__(self, width=16, n_classes=None):
        super().__init__()
        n_classes = len(CLASS_NAMES) if n_classes is None else n_classes
        w = width
        chans = [(3, w, 2), (w, 2 * w, 2), (2 * w, 2 * w, 1), (2 * w, 4 * w, 2), (4 * w, 4 * w, 1)]
        layers = []
        for c_in, c_out, stride in chans:
            layers += [torch.nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), torch.nn.BatchNorm2d(c_out),
                       torch.nn.ReLU(inplace=True)]
        self.features = torch.nn.Sequential(*layers)
        self.head = torch.nn.Linear(4 * w, n_classes)

    def forward(self, x):
        h = self.features(2 * x - 1)
        return self.head(torch.amax(h, dim=(2, 3)))


# ---------------------------------------------------------------- shipped weights, evaluation
#: Where the shipped weights live (a plain state_dict; ``torch.load(weights_only=True)``).
#: Trained by ``python -m fido_lib.experiments.toy_birds_training train``.
WEIGHTS_PATH = Path(__file__).resolve().parent / "data" / "toy_birds_cnn.pt"
#: Side of the images the shipped CNN was trained on (``classifiers.load("toy_birds")`` resizes to it).
INPUT_SIZE = 64
#: Seed of the held-out images the accuracy is reported on (never used for training).
TEST_SEED = 1_000_003


@torch.no_grad()
def accuracy(model, images, labels, batch_size=500) -> float:
    """Share of ``images`` (n, 3, H, W) that ``model`` assigns to ``labels`` (n,)."""
    if images.ndim != 4 or images.shape[0] != labels.shape[0]:
        raise ValueError(f"images must be (n, 3, H, W) with n = len(labels) = {labels.shape[0]}, "
                         f"got shape {tuple(images.shape)}")
    check_int("batch_size", batch_size, low=1)
    device = next(model.parameters()).device
    hits = 0
    for start in range(0, images.shape[0], batch_size):
        pred = model(images[start:start + batch_size].to(device)).argmax(1).cpu()
        hits += int((pred == labels[start:start + batch_size]).sum())
    return hits / images.shape[0]


def load_cnn(device="cpu", path=None) -> ToyBirdNet:
    """The shipped :class:`ToyBirdNet` (or the weights at ``path``), in eval mode; read-only.

    For FIDO, ``fido_lib.classifiers.load("toy_birds")`` wraps it as a classifier.
    """
    path = WEIGHTS_PATH if path is None else Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no weights at {path}; train them with "
                                "`python -m fido_lib.experiments.toy_birds_training train --out PATH`")
    device = resolve_device(device)
    foreign = (f"{path} is not ToyBirdNet weights (a state_dict saved by torch.save(model.state_dict())); "
               "fido_lib reads weights only (torch.load(weights_only=True)) and never unpickles a file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # UnpicklingError, RuntimeError, EOFError …: torch's text advises unpickling
        raise ValueError(f"{foreign}: it could not be read as plain tensors ({type(err).__name__})") from None
    if not (isinstance(state, dict) and all(isinstance(v, torch.Tensor) for v in state.values())
            and isinstance(state.get("head.weight"), torch.Tensor) and state["head.weight"].dim() == 2
            and state["head.weight"].shape[1] % 4 == 0 and 1 <= state["head.weight"].shape[1] <= 4096
            and 1 <= state["head.weight"].shape[0] <= 4096):
        raise ValueError(f"{foreign}: it holds {type(state).__name__} without a ToyBirdNet's 'head.weight'")
    model = ToyBirdNet(width=state["head.weight"].shape[1] // 4, n_classes=state["head.weight"].shape[0])
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise ValueError(f"{foreign}: its tensors do not fit a ToyBirdNet ({str(err).splitlines()[0]})") from None
    return model.to(device).eval()
