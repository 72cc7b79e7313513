"""FIDO attribution masks (Chang et al., ICLR 2019) with a choice of Concrete relaxation.

For a photo ``x``, a classifier and a target class ``c``, FIDO learns per-pixel drop
logits ``θ``; a relaxed drop mask ``drop = concrete(θ)`` (:func:`fido_lib.concrete.drop_mask`)
replaces pixels by an infill ``x_fill`` (:mod:`fido_lib.infill`)::

    x̃ = (1 - drop) · x + drop · x_fill          keep = 1 - drop

and two masks are optimised:

* **SSR**, the smallest sufficient region: keep as little as possible while the
  classifier still says ``c``. Loss ``-lo_c(x̃) + l1 · area(keep) + tv · TV(keep)``.
* **SDR**, the smallest destroying region: drop as little as possible so that the
  classifier no longer says ``c``. Loss ``+lo_c(x̃) + l1 · area(drop) + tv · TV(drop)``.

``lo_c`` is the true log-odds ``log p_c - log Σ_{c'≠c} p_c'``
(:meth:`fido_lib.classifiers.Classifier.log_odds_from_logits`), averaged over
``batch_size`` samples per mask; ``area`` is the mean of the keep (SSR) or drop (SDR)
probability ``σ(∓θ)`` and ``TV`` its mean total variation
(:func:`fido_lib.ops.total_variation`), both on the mask grid. As in the authors'
code, both masks are optimised together with one optimiser — the loss is the sum of
the two — and the regulariser is warmed up, weight ``min(i / warmup, 1)`` at
iteration ``i``; the SSR and SDR samples of a step go through the classifier in one
batch.

Signs, once more (the published simplified code got this wrong): ``θ`` is a *drop*
logit, ``concrete(θ)`` a drop mask, and the SSR map reported is the keep probability
``1 - σ(θ_ssr)``; the SDR map is the drop probability ``σ(θ_sdr)``. High means
important in both.
"""
from __future__ import annotations

import dataclasses
import inspect
import math
import time
import warnings
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from ._util import check_bool, check_int, check_real, progress_bar, resolve_device
from .classifiers import Classifier
from .concrete import RELAXATIONS, TEMP_RANGE, drop_mask, make_generator
from .fastpath import PRECISIONS, frozen_copy
from .images import to_tensor
from .infill import MASK_AWARE_INFILLS, Infiller, check_infill, make_infill, make_infiller
from .ops import _log_odds
from .ops import _total_variation as total_variation  # unchecked: the masks σ(θ) are finite

__all__ = ["MODES", "READABLE", "FidoConfig", "FidoResult", "fit", "joint_map", "mask_from_logits"]

#: Values of ``FidoConfig.mode``.
MODES = ("both", "ssr", "sdr")
#: Upper bounds of FidoConfig's fields. ``lr``, ``l1`` and ``tv``: the fit computes in
#: float32 (largest value 3.4e38) and Adam squares the gradients, so weights beyond
#: 1e15 could overflow into inf/NaN; useful values are 0.1–100. ``batch_size``: the
#: classifier sees 2 × batch_size images per step (memory grows with it);
#: ``iterations``: 40 take seconds, 100 000 already hours.
MAX_WEIGHT = 1e15
MAX_BATCH_SIZE = 1024
MAX_ITERATIONS = 100_000


# ---------------------------------------------------------------------- config
@dataclass(frozen=True)
class FidoConfig:
    """Settings of one FIDO fit; checked when made (bad values raise at once).

    The defaults were chosen by measurement on the shipped photos with
    EfficientNet-Lite0 (notebook 04; the course book's results page): in 40 iterations of 2 × 4 classifier
    passes (a fifth of the published settings' passes, each cheaper through
    :mod:`fido_lib.fastpath`), masks that beat a random pixel order by a wide margin.
    Compared with the published code: a 56×56 mask grid instead of full resolution,
    Adam at lr 0.5 instead of AdamW at lr 10, the area and TV terms as means
    (independent of the grid size), temperature 0.3. Measured on chelsea / coffee
    (one run each; the course book's results page): the 56 grid scored insertion 0.48 / 0.77 against 0.34 / 0.65
    with a 28 grid, and a 14 grid 0.16 / 0.71 — finer grids score higher but give
    speckled maps; :data:`READABLE` is the setting for maps a person can read.
    """

    #: "both" (SSR and SDR), "ssr" or "sdr".
    mode: str = "both"
    #: Optimisation steps.
    iterations: int = 40
    #: Concrete samples per mask per step (the classifier sees 2 × batch_size images per step in mode "both").
    batch_size: int = 4
    #: Adam learning rate on the drop logits; decays linearly to 0 over the iterations.
    lr: float = 0.5
    #: Weight of the mask's area (mean keep / drop probability).
    l1: float = 30.0
    #: Weight of the mask's total variation.
    tv: float = 10.0
    #: Temperature T of the Concrete relaxation.
    temperature: float = 0.3
    #: "stable" (fido_lib's default), "paper" (the published Function) or "gal" (Gal et al.).
    relaxation: str = "stable"
    #: Infill by name and its parameters, e.g. {"sigma": 10}: a fixed one (fido_lib.infill.INFILLS,
    #: computed once per photo), a mask-aware one (fido_lib.infill.MASK_AWARE_INFILLS, drawn for every
    #: Concrete sample), or a fido_lib.infill.Infiller object (e.g. toy_birds.CrestCounterfactual).
    infill: str | Infiller = "blur"
    infill_params: dict = field(default_factory=dict)
    #: Side of the mask grid (shorter side), upsampled bilinearly to the image; None = full resolution.
    mask_size: int | None = 56
    #: Iterations over which the regulariser weight ramps from 0 to 1.
    warmup: int = 5
    #: Seed of the Concrete noise and of random infills.
    seed: int = 0
    #: "cpu", "cuda", "mps"…; None = wherever the classifier's model is.
    device: str | None = None
    #: Fit on a frozen copy of the classifier with BatchNorm folded into its convolutions
    #: (:mod:`fido_lib.fastpath`): passes measured 2.5× cheaper for EfficientNet-Lite0 on
    #: an Intel Xeon (0.84× on an AMD EPYC); input gradients within ~1e-3 relative, masks
    #: within the tested tolerance (insertion / deletion AUC within 0.02).
    #: False runs the classifier as given (frozen copy, nothing folded).
    fast: bool = True
    #: "float32"; "bfloat16" (autocast, only on hardware that runs it natively:
    #: CUDA, CPUs with AVX512-BF16 or AMX — elsewhere a ValueError); "auto" = bfloat16
    #: where native, else float32. The default stays float32: same masks on every machine.
    precision: str = "float32"
    #: Mode "both": one classifier pass (forward and backward) for the SSR images and one for
    #: the SDR images, so only one mask's activations are held at a time (about half the peak
    #: memory; the same gradients). False: both in one pass of twice the batch. Measured
    #: (benchmarks/fido_speed.py, 2-core Intel Xeon, chelsea): peak 689 MB against 977 MB,
    #: at 1.07–1.10× the fit's time.
    separate_passes: bool = True

    def __post_init__(self):
        def _int(name, lo, hi=None):
            check_int(name, getattr(self, name), low=lo, high=hi)

        def _real(name, positive, hi=None):
            check_real(name, getattr(self, name), low=0.0, low_open=positive, high=hi)

        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(map(repr, MODES))}; got {self.mode!r}")
        _int("iterations", 1, MAX_ITERATIONS)
        _int("batch_size", 1, MAX_BATCH_SIZE)
        _int("warmup", 0)
        _real("lr", True, MAX_WEIGHT)
        _real("l1", False, MAX_WEIGHT)
        _real("tv", False, MAX_WEIGHT)
        check_real("temperature", self.temperature, low=TEMP_RANGE[0], high=TEMP_RANGE[1])
        if self.relaxation not in RELAXATIONS:
            raise ValueError(f"relaxation must be one of {', '.join(map(repr, RELAXATIONS))}; got {self.relaxation!r}")
        if not isinstance(self.infill_params, dict):
            raise TypeError(f"infill_params must be a dict, got {type(self.infill_params).__name__}")
        object.__setattr__(self, "infill_params", dict(self.infill_params))  # a private copy: configs never share it
        check_infill(self.infill, self.infill_params)
        if self.mask_size is not None:
            _int("mask_size", 1)
        check_int("seed", self.seed, low=-(2**63), high=2**64 - 2)  # what torch.Generator takes (seed + 1 too)
        if self.device is not None:
            if not isinstance(self.device, (str, torch.device)):
                raise TypeError(f"device must be a str or torch.device, "
                                f"got {type(self.device).__name__} {self.device!r}")
            try:
                dev = torch.device(self.device)
            except (RuntimeError, TypeError, ValueError):
                raise ValueError(f"device must be a torch device name such as 'cpu' or 'cuda', "
                                 f"got {self.device!r}") from None
            if dev.type == "meta":
                raise ValueError("device 'meta' holds no data (moving a model there drops its weights); "
                                 "use 'cpu', 'cuda' or 'mps'")
        check_bool("fast", self.fast)
        check_bool("separate_passes", self.separate_passes)
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(map(repr, PRECISIONS))}; got {self.precision!r}")

    def replace(self, **changes) -> FidoConfig:
        """A copy with some fields changed (checked again)."""
        return dataclasses.replace(self, **changes)


#: Maps a person can read: a coarser 28×28 grid and a four times stronger TV term.
#: Measured on chelsea / coffee when it was chosen (one run each): 1 SSR region each (3–4
#: SDR regions) against ~100 with ``FidoConfig()``, at the price of insertion AUC (0.25 /
#: 0.69 against 0.48 / 0.77) and deletion AUC (0.078 / 0.057 against 0.041 / 0.059).
#: Notebook 04 section 10 re-measures chelsea (the course book's results page quotes it).
READABLE = FidoConfig(mask_size=28, tv=40.0)


# ---------------------------------------------------------------------- result
def joint_map(ssr: torch.Tensor, sdr: torch.Tensor) -> torch.Tensor:
    """The joint map ``sqrt(ssr · sdr)``: high only where a pixel is both sufficient
    (SSR keeps it) and necessary (SDR drops it). The geometric mean keeps the scale
    of its inputs (two maps at 0.8 give 0.8) where a plain product would shrink it.
    """
    return (ssr * sdr).clamp_min(0).sqrt()


@dataclass
class FidoResult:
    """What :func:`fit` found. Maps are ``H×W`` at the classifier's input resolution,
    aligned with ``image``; high means important in every map."""

    #: The photo as the classifier sees it, 3×H×W in [0, 1].
    image: torch.Tensor
    #: The infill image used, 3×H×W in [0, 1].
    infill: torch.Tensor
    #: Target class index and name.
    target: int
    target_name: str
    #: SSR keep probability 1 - σ(θ_ssr) (None in mode "sdr").
    ssr: torch.Tensor | None
    #: SDR drop probability σ(θ_sdr) (None in mode "ssr").
    sdr: torch.Tensor | None
    #: Joint map sqrt(ssr · sdr) (:func:`joint_map`; None unless mode "both").
    joint: torch.Tensor | None
    #: Drop logits on the mask grid (None where not fitted).
    ssr_logits: torch.Tensor | None
    sdr_logits: torch.Tensor | None
    #: Per iteration: "loss", "grad_norm", and per mask "ssr_log_odds", "ssr_prob", "ssr_area" (likewise ``"sdr_…"``).
    history: dict
    config: FidoConfig
    #: False when the fit stopped early (see ``stopped_by``); the maps are then the state reached.
    complete: bool
    iterations_done: int
    seconds: float
    #: The target's probability on the unchanged photo.
    original_prob: float
    classifier_name: str = ""
    #: Why an incomplete fit stopped: "interrupted" (Ctrl-C, KeyboardInterrupt) or the
    #: cause of a NaN/inf loss or gradient; None when complete.
    stopped_by: str | None = None
    #: The mask-aware in-filler the fit drew its fills from (None for a fixed in-fill). Then
    #: ``infill`` is one draw for the final SSR drop map (the SDR map in mode "sdr"), and
    #: :meth:`infilled` draws a fill for the map it shows.
    infiller: Infiller | None = None

    def infilled(self, which: str = "ssr") -> torch.Tensor:
        """The photo with the expected mask applied: ``keep · x + (1 - keep) · x_fill``.

        ``which="ssr"``: keeps the SSR region (what the classifier needs);
        ``which="sdr"``: removes the SDR region (what destroys the class).
        """
        if which == "ssr" and self.ssr is not None:
            keep = self.ssr
        elif which == "sdr" and self.sdr is not None:
            keep = 1 - self.sdr
        else:
            raise ValueError(
                f"which must be 'ssr' or 'sdr' for a mask this result has (mode {self.config.mode!r}), got {which!r}"
            )
        if self.infiller is not None:
            return _infilled_draw(self.infiller, self.image, 1 - keep, self.config.seed)
        return keep * self.image + (1 - keep) * self.infill

    def __repr__(self):
        done = f"{self.iterations_done}/{self.config.iterations}"
        state = "complete" if self.complete else f"INCOMPLETE ({done} iterations)"
        h, w = self.image.shape[1:]
        return (
            f"FidoResult(target={self.target} {self.target_name!r}, mode={self.config.mode!r}, "
            f"relaxation={self.config.relaxation!r}, {h}x{w}, {state}, {self.seconds:.1f} s)"
        )


# --------------------------------------------------------------------------- fit
def mask_from_logits(theta: torch.Tensor, size, keep: bool) -> torch.Tensor:
    """The ``H×W`` map of drop logits ``theta`` (``gh×gw``): the keep probability σ(−θ) (SSR,
    ``keep=True``) or the drop probability σ(θ) (SDR), upsampled bilinearly to ``size`` as in
    :func:`fit`'s blend. How a fit turns its logits into :class:`FidoResult`'s maps."""
    if not isinstance(theta, torch.Tensor) or theta.dim() != 2 or not theta.is_floating_point() or theta.numel() == 0:
        raise ValueError(f"theta must be a non-empty 2-D float tensor of drop logits, got "
                         f"{tuple(theta.shape) if isinstance(theta, torch.Tensor) else type(theta).__name__}"
                         f"{' ' + str(theta.dtype) if isinstance(theta, torch.Tensor) else ''}")
    if not isinstance(size, (tuple, list, torch.Size)) or len(size) != 2:
        raise ValueError(f"size must be (height, width), got {size!r}")
    size = tuple(check_int(f"size[{i}]", v, low=1, high=1 << 15) for i, v in enumerate(size))
    check_bool("keep", keep)
    theta = theta.detach()[None, None]
    prob = torch.sigmoid(-theta) if keep else torch.sigmoid(theta)
    if tuple(theta.shape[-2:]) != tuple(size):
        prob = F.interpolate(prob, size=tuple(size), mode="bilinear", align_corners=False)
    return prob[0, 0].cpu()


def _infilled_draw(infiller, image, drop, seed):
    """``(1 - drop)·x + drop·G(x, drop)`` for one expected drop map (H×W), drawn with ``seed + 1``."""
    fill = infiller(image, drop[None, None].to(image.dtype), seed + 1)[0]
    return (1 - drop) * image + drop * fill


def _mask_grid(hw, mask_size):
    h, w = hw
    if mask_size is None:
        return h, w
    s = min(mask_size, min(h, w))
    return (s, max(1, round(w * s / h))) if h <= w else (max(1, round(h * s / w)), s)


def _resolve_device(config, classifier):
    return classifier.device if config.device is None else resolve_device(config.device)


def _check_callback(callback):
    """``callback`` must be None or callable as ``callback(iteration, record)``: checked before iteration 1."""
    if callback is None:
        return
    if not callable(callback):
        raise TypeError(f"callback must be callable or None, got {type(callback).__name__}")
    try:
        signature = inspect.signature(callback)
    except (TypeError, ValueError):  # a builtin without a signature: trusted
        return
    try:
        signature.bind(0, {})
    except TypeError:
        name = getattr(callback, "__name__", type(callback).__name__)
        raise TypeError(f"callback must take two arguments, callback(iteration, record); "
                        f"{name}{signature} cannot be called so") from None


def _nonfinite_cause(loss, grad_norm, log_odds, config):
    """None while the step's loss and gradient are finite, else what went wrong (one sync)."""
    if bool(torch.isfinite(loss.detach() + grad_norm)):
        return None
    if not bool(torch.isfinite(log_odds.detach()).all()):
        return "the classifier returned NaN or inf logits for the masked images"
    what = "loss" if not math.isfinite(float(loss.detach())) else "gradient"
    return (f"the {what} became NaN or inf (l1={config.l1:g}, tv={config.tv:g}, lr={config.lr:g}, "
            f"temperature={config.temperature:g})")


def fit(classifier, image, target, config=None, callback=None, progress=True) -> FidoResult:
    """Fit FIDO's SSR and/or SDR masks of ``target`` for ``image``.

    Parameters
    ----------
    classifier : :class:`fido_lib.classifiers.Classifier`
    image : PIL image, ``H×W×3`` uint8 array or ``3×H×W`` float tensor in [0, 1]
        Resized and cropped once by ``classifier.prepare``; the maps come at that resolution.
    target : int or str
        Class index or class name.
    config : :class:`FidoConfig`, optional
        Defaults to ``FidoConfig()``.
    callback : callable, optional
        ``callback(iteration, record)`` after every iteration; ``record`` holds that
        iteration's numbers (the keys of ``FidoResult.history``) and ``"iterations"``.
    progress : bool
        Show a progress bar (``tqdm.auto``: a widget in JupyterLab, text on stderr in a terminal).

    Returns a :class:`FidoResult`. Ctrl-C (``KeyboardInterrupt``) stops the fit and
    returns what was reached, with ``complete=False``. So does a step whose loss or
    gradient turns NaN or inf (a classifier returning NaN/inf logits, say): the fit
    stops before that step, warns (``RuntimeWarning`` naming the cause) and returns
    the last finite masks with ``complete=False``. Every argument is checked
    before any work starts.
    """
    # ---- checks first, no work before they pass
    if not isinstance(classifier, Classifier):
        raise TypeError(
            f"classifier must be a fido_lib.classifiers.Classifier (see load / wrap), got {type(classifier).__name__}"
        )
    config = FidoConfig() if config is None else config
    if not isinstance(config, FidoConfig):
        raise TypeError(f"config must be a FidoConfig, got {type(config).__name__}")
    config.__post_init__()  # in case fields were forced after construction
    _check_callback(callback)
    check_bool("progress", progress)
    if classifier.num_classes < 2:
        # the log-odds of the only class against no other is +inf: nothing to explain
        raise ValueError(f"classifier must have at least 2 classes for FIDO (log-odds need another class), "
                         f"got {classifier.num_classes}: {classifier.class_names!r}")
    target = classifier.class_index(target)
    photo = to_tensor(image)
    device = _resolve_device(config, classifier)
    check_infill(config.infill, config.infill_params, size=classifier.input_size)  # e.g. a blur wider than the image

    # ---- set-up: preprocessing and infill once per photo
    # a frozen, cheaper copy on `device`: the caller's classifier is never moved or changed
    # probed first (a grey image alone and a batch as large as a step's): N×C float logits, C = the
    # class names' count; the caller's model is never run and its hooks never fire
    per_step = (2 if config.mode == "both" else 1) * config.batch_size
    net = frozen_copy(classifier, device, fold=config.fast, precision=config.precision, probe_batch=per_step)
    x = classifier.prepare(photo)
    # a fixed in-fill is computed once; a mask-aware one (FIDO's generator G(x, drop)) is drawn for
    # every Concrete sample, from its own CPU generator (the Concrete noise stays the same either way)
    mask_aware = isinstance(config.infill, Infiller) or config.infill in MASK_AWARE_INFILLS
    infiller = make_infiller(config.infill, **config.infill_params) if mask_aware else None
    x_dev = x.to(device)
    if infiller is None:
        fill = make_infill(x, config.infill, generator=config.seed + 1, **config.infill_params)
        delta = (fill.to(device) - x_dev).unsqueeze(0)
    else:
        infiller.check_image(x)  # e.g. a counterfactual bound to another image: before any work
        fill_noise = make_generator(config.seed + 1)
    h, w = x.shape[1:]
    gh, gw = _mask_grid((h, w), config.mask_size)
    with torch.no_grad():
        original_prob = float(torch.softmax(net.logits(x_dev.unsqueeze(0), reduced=False), dim=-1)[0, target])

    names = ["ssr", "sdr"] if config.mode == "both" else [config.mode]
    logits = {n: torch.zeros(1, 1, gh, gw, device=device, requires_grad=True) for n in names}
    params = [logits[n] for n in names]
    optimiser = torch.optim.Adam(params, lr=config.lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda i: 1.0 - i / config.iterations)
    noise = make_generator(config.seed)  # CPU generator: the same seed gives the same noise on any device
    b = config.batch_size
    history = {k: [] for k in ["loss", "grad_norm"] + [f"{n}_{q}" for n in names for q in ("log_odds", "prob", "area")]}
    bar = progress_bar(config.iterations, f"FIDO {config.mode} [{config.relaxation}]", enabled=progress)
    start = time.perf_counter()
    done, complete, failure, interrupted = 0, True, None, False

    try:
        for i in range(config.iterations):
            ramp = min(i / config.warmup, 1.0) if config.warmup > 0 else 1.0
            batch, reg, areas = [], 0.0, {}
            for n in names:
                u = torch.rand((b, 1, gh, gw), generator=noise).to(device)
                drop = drop_mask(logits[n].expand(b, 1, gh, gw), relaxation=config.relaxation,
                                 temp=config.temperature, u=u)
                if (gh, gw) != (h, w):
                    drop = F.interpolate(drop, size=(h, w), mode="bilinear", align_corners=False)
                if infiller is None:
                    batch.append(x_dev + drop * delta)
                else:  # the fill is a sample: the gradient flows through the blend weights, as for a fixed fill
                    batch.append(x_dev + drop * (infiller(x_dev, drop.detach(), fill_noise) - x_dev))
                # SSR pays for what it keeps, SDR for what it drops
                prob = torch.sigmoid(-logits[n]) if n == "ssr" else torch.sigmoid(logits[n])
                areas[n] = prob.mean()
                reg = reg + config.l1 * areas[n] + config.tv * total_variation(prob).sum()
            # the data term: one pass per mask (separate_passes) or one for both; a mask's images
            # depend on its own logits only, so each pass's gradient goes to its own mask
            record, data, lo_parts = {}, 0.0, []
            grads = [torch.zeros_like(prm) for prm in params]
            for group in ([[n] for n in names] if config.separate_passes else [names]):
                out = net.logits(torch.cat([batch[names.index(n)] for n in group]))
                if tuple(out.shape) != (len(group) * b, classifier.num_classes):  # a shape costs no sync
                    raise ValueError(f"model {classifier.name!r} returned logits of shape {tuple(out.shape)} for "
                                     f"{len(group) * b} images; expected {(len(group) * b, classifier.num_classes)}")
                lo = _log_odds(out, target)  # unchecked: a NaN stops the fit below
                term = 0.0
                for k, n in enumerate(group):
                    lo_n = lo[k * b : (k + 1) * b]
                    term = term + (-lo_n.mean() if n == "ssr" else lo_n.mean())
                    record[f"{n}_log_odds"] = float(lo_n.detach().mean())
                    record[f"{n}_prob"] = float(torch.sigmoid(lo_n.detach()).mean())  # p_c = σ(log-odds)
                    record[f"{n}_area"] = float(areas[n].detach())
                # only the masks: the model's .grad stays untouched; the pass's activations are freed here
                for n, g in zip(group, torch.autograd.grad(term, [logits[n] for n in group])):
                    grads[names.index(n)] += g
                data = data + term.detach()
                lo_parts.append(lo.detach())
            lo = torch.cat(lo_parts)
            grads = [g + r for g, r in zip(grads, torch.autograd.grad(ramp * reg, params))]
            loss = data + ramp * reg.detach()
            for prm, g in zip(params, grads):
                prm.grad = g
            grad_norm = torch.linalg.vector_norm(torch.cat([g.reshape(-1) for g in grads]))
            failure = _nonfinite_cause(loss, grad_norm, lo, config)
            if failure:  # stop before the step: the masks keep their last finite state
                failure = f"stopped at iteration {i + 1} of {config.iterations}: {failure}"
                break
            optimiser.step()
            schedule.step()
            record["loss"] = float(loss.detach())
            record["grad_norm"] = float(grad_norm)
            for k in history:
                history[k].append(record[k])
            done = i + 1
            if progress:
                bar.set_postfix_str("  ".join(f"p_{n}={record[f'{n}_prob']:.2f}" for n in names), refresh=False)
            bar.update(1)
            if callback is not None:
                callback(i, dict(record, iterations=config.iterations))
    except KeyboardInterrupt:
        complete, interrupted = False, True
    finally:
        if failure or not all(bool(torch.isfinite(t).all()) for t in params):
            complete = False
            failure = failure or "the drop logits became NaN or inf"
        if progress and not complete:
            bar.set_postfix_str("interrupted: partial result", refresh=False)
        bar.close()

    def full_res(n, keep):
        if n not in logits:
            return None, None
        theta = logits[n].detach()
        return mask_from_logits(theta[0, 0], (h, w), keep=keep), theta[0, 0].cpu()

    if failure:
        warnings.warn(f"FIDO fit of {classifier.name!r} {failure}; the result is incomplete "
                      "(complete=False) and holds the last finite masks", RuntimeWarning, stacklevel=2)
    ssr, ssr_theta = full_res("ssr", keep=True)
    sdr, sdr_theta = full_res("sdr", keep=False)
    if infiller is not None:  # one draw for the final map, for plots (FidoResult.infilled draws its own)
        fill = infiller(x, (1 - ssr if ssr is not None else sdr)[None, None], config.seed + 1)[0]
    return FidoResult(
        image=x,
        infill=fill,
        target=target,
        target_name=classifier.class_names[target],
        ssr=ssr,
        sdr=sdr,
        joint=joint_map(ssr, sdr) if ssr is not None and sdr is not None else None,
        ssr_logits=ssr_theta,
        sdr_logits=sdr_theta,
        history=history,
        config=config,
        complete=complete,
        iterations_done=done,
        seconds=time.perf_counter() - start,
        original_prob=original_prob,
        classifier_name=classifier.name,
        stopped_by="interrupted" if interrupted else failure,
        infiller=infiller,
    )
