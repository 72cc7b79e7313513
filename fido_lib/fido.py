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
(:func:`fido_lib.metrics.total_variation`), both on the mask grid. As in the authors'
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
import math
import numbers
import sys
import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from .classifiers import Classifier
from .concrete import RELAXATIONS, drop_mask, make_generator
from .images import to_tensor
from .infill import check_infill, make_infill
from .metrics import total_variation

__all__ = ["MODES", "FidoConfig", "FidoResult", "fit", "joint_map"]

#: Values of ``FidoConfig.mode``.
MODES = ("both", "ssr", "sdr")


# ---------------------------------------------------------------------- config
@dataclass(frozen=True)
class FidoConfig:
    """Settings of one FIDO fit; checked when made (bad values raise at once).

    The defaults were chosen by measurement on the shipped photos with
    EfficientNet-Lite0 (notebook 04, README): masks that sit on the object and beat a
    random pixel order by a wide margin, in 40 iterations of 2 × 4 classifier passes
    (12–14 s per fit on two CPU cores when the machine is not busy). Compared with the
    published code: a 28×28 mask grid instead of full resolution (fewer, larger cells:
    less noise per parameter), Adam at lr 0.5 instead of AdamW at lr 10, the area and
    TV terms as means (independent of the grid size), temperature 0.3.
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
    #: Infill by name (fido_lib.infill.INFILLS) and its parameters, e.g. {"sigma": 10}.
    infill: str = "blur"
    infill_params: dict = field(default_factory=dict)
    #: Side of the mask grid (shorter side), upsampled bilinearly to the image; None = full resolution.
    mask_size: int | None = 28
    #: Iterations over which the regulariser weight ramps from 0 to 1.
    warmup: int = 5
    #: Seed of the Concrete noise and of random infills.
    seed: int = 0
    #: "cpu", "cuda", "mps"…; None = wherever the classifier's model is.
    device: str | None = None

    def __post_init__(self):
        def _int(name, lo):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < lo:
                raise ValueError(f"{name} must be an int >= {lo}, got {v!r}")

        def _real(name, positive):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v) or v < 0 or (positive and v == 0):
                raise ValueError(f"{name} must be a finite number {'> 0' if positive else '>= 0'}, got {v!r}")

        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(map(repr, MODES))}; got {self.mode!r}")
        _int("iterations", 1)
        _int("batch_size", 1)
        _int("warmup", 0)
        _real("lr", True)
        _real("l1", False)
        _real("tv", False)
        _real("temperature", True)
        if self.relaxation not in RELAXATIONS:
            raise ValueError(f"relaxation must be one of {', '.join(map(repr, RELAXATIONS))}; got {self.relaxation!r}")
        if not isinstance(self.infill_params, dict):
            raise TypeError(f"infill_params must be a dict, got {type(self.infill_params).__name__}")
        object.__setattr__(self, "infill_params", dict(self.infill_params))  # a private copy: configs never share it
        check_infill(self.infill, self.infill_params)
        if self.mask_size is not None:
            _int("mask_size", 1)
        if isinstance(self.seed, bool) or not isinstance(self.seed, numbers.Integral):
            raise TypeError(f"seed must be an int, got {type(self.seed).__name__}")
        if self.device is not None:
            try:
                torch.device(self.device)
            except (RuntimeError, TypeError):
                raise ValueError(f"device must be a torch device name such as 'cpu' or 'cuda', got {self.device!r}") from None

    def replace(self, **changes) -> FidoConfig:
        """A copy with some fields changed (checked again)."""
        return dataclasses.replace(self, **changes)


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
    #: Per iteration: "loss", "grad_norm", and per mask "ssr_log_odds", "ssr_prob", "ssr_area" (likewise "sdr_…").
    history: dict
    config: FidoConfig
    #: False when the fit was interrupted (KeyboardInterrupt); the maps are then the state reached.
    complete: bool
    iterations_done: int
    seconds: float
    #: The target's probability on the unchanged photo.
    original_prob: float
    classifier_name: str = ""

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
            raise ValueError(f"which must be 'ssr' or 'sdr' for a mask this result has (mode {self.config.mode!r}), got {which!r}")
        return keep * self.image + (1 - keep) * self.infill

    def __repr__(self):
        state = "complete" if self.complete else f"INCOMPLETE ({self.iterations_done}/{self.config.iterations} iterations)"
        h, w = self.image.shape[1:]
        return (
            f"FidoResult(target={self.target} {self.target_name!r}, mode={self.config.mode!r}, "
            f"relaxation={self.config.relaxation!r}, {h}x{w}, {state}, {self.seconds:.1f} s)"
        )


# ------------------------------------------------------------------ progress bar
class ProgressBar:
    """A one-line text progress bar on stderr, redrawn with ``\\r``.

    Works in a terminal and in JupyterLab (both honour the carriage return), needs
    nothing beyond the standard library, and redraws about every 5 % of the run
    (at most ten times a second).
    """

    def __init__(self, total, desc="", stream=None, width=24, min_interval=0.1):
        self.total, self.desc, self.width, self.min_interval = total, desc, width, min_interval
        self.stream = stream if stream is not None else sys.stderr
        self.start = time.perf_counter()
        self._last = -math.inf
        self._last_n = 0
        # at most ~20 redraws per run: a stored notebook keeps every redraw as an output
        self._every = max(1, total // 20)
        self.n = 0

    def update(self, n, note=""):
        self.n = n
        now = time.perf_counter()
        due = n - self._last_n >= self._every and now - self._last >= self.min_interval
        if not (due or n >= self.total or self._last == -math.inf):
            return
        self._last, self._last_n = now, n
        elapsed = now - self.start
        frac = n / self.total if self.total else 1.0
        filled = int(round(self.width * frac))
        rate = n / elapsed if elapsed > 0 else 0.0
        left = (self.total - n) / rate if rate > 0 else 0.0
        line = f"\r{self.desc} |{'█' * filled}{' ' * (self.width - filled)}| {n}/{self.total} [{elapsed:.0f}s<{left:.0f}s] {note}"
        self.stream.write(line.ljust(100))
        self.stream.flush()

    def close(self, note=""):
        self._last = -math.inf
        self.update(self.n, note)
        self.stream.write("\n")
        self.stream.flush()


# --------------------------------------------------------------------------- fit
def _mask_grid(hw, mask_size):
    h, w = hw
    if mask_size is None:
        return h, w
    s = min(mask_size, min(h, w))
    return (s, max(1, round(w * s / h))) if h <= w else (max(1, round(h * s / w)), s)


def _resolve_device(config, classifier):
    if config.device is None:
        return classifier.device
    device = torch.device(config.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {config.device!r} was asked for but torch.cuda.is_available() is False")
    if device.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise ValueError(f"device {config.device!r} was asked for but MPS is not available")
    return device


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
        Draw a progress bar on stderr.

    Returns a :class:`FidoResult`. Ctrl-C (``KeyboardInterrupt``) stops the fit and
    returns what was reached, with ``complete=False``. Every argument is checked
    before any work starts.
    """
    # ---- checks first, no work before they pass
    if not isinstance(classifier, Classifier):
        raise TypeError(f"classifier must be a fido_lib.classifiers.Classifier (see load / wrap), got {type(classifier).__name__}")
    config = FidoConfig() if config is None else config
    if not isinstance(config, FidoConfig):
        raise TypeError(f"config must be a FidoConfig, got {type(config).__name__}")
    config.__post_init__()  # in case fields were forced after construction
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable or None, got {type(callback).__name__}")
    if not isinstance(progress, bool):
        raise TypeError(f"progress must be True or False, got {type(progress).__name__}")
    target = classifier.class_index(target)
    photo = to_tensor(image)
    device = _resolve_device(config, classifier)

    # ---- set-up: preprocessing and infill once per photo
    if device != classifier.device:
        classifier.to(device)
    classifier.model.eval()
    x = classifier.prepare(photo)
    fill = make_infill(x, config.infill, generator=config.seed + 1, **config.infill_params)
    x_dev, fill_dev = x.to(device), fill.to(device)
    delta = (fill_dev - x_dev).unsqueeze(0)
    h, w = x.shape[1:]
    gh, gw = _mask_grid((h, w), config.mask_size)
    with torch.no_grad():
        original_prob = float(classifier.probabilities(x_dev)[0, target])

    names = ["ssr", "sdr"] if config.mode == "both" else [config.mode]
    logits = {n: torch.zeros(1, 1, gh, gw, device=device, requires_grad=True) for n in names}
    params = [logits[n] for n in names]
    optimiser = torch.optim.Adam(params, lr=config.lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda i: 1.0 - i / config.iterations)
    noise = make_generator(config.seed)  # CPU generator: the same seed gives the same noise on any device
    b = config.batch_size
    history = {k: [] for k in ["loss", "grad_norm"] + [f"{n}_{q}" for n in names for q in ("log_odds", "prob", "area")]}
    bar = ProgressBar(config.iterations, desc=f"FIDO {config.mode} [{config.relaxation}]") if progress else None
    start = time.perf_counter()
    done, complete = 0, True

    try:
        for i in range(config.iterations):
            ramp = min(i / config.warmup, 1.0) if config.warmup > 0 else 1.0
            batch, reg, areas = [], 0.0, {}
            for n in names:
                u = torch.rand((b, 1, gh, gw), generator=noise).to(device)
                drop = drop_mask(logits[n].expand(b, 1, gh, gw), relaxation=config.relaxation, temp=config.temperature, u=u)
                if (gh, gw) != (h, w):
                    drop = F.interpolate(drop, size=(h, w), mode="bilinear", align_corners=False)
                batch.append(x_dev + drop * delta)
                # SSR pays for what it keeps, SDR for what it drops
                prob = torch.sigmoid(-logits[n]) if n == "ssr" else torch.sigmoid(logits[n])
                areas[n] = prob.mean()
                reg = reg + config.l1 * areas[n] + config.tv * total_variation(prob).sum()
            lo = Classifier.log_odds_from_logits(classifier.logits(torch.cat(batch)), target)
            with torch.no_grad():
                p = torch.sigmoid(lo)  # p_c = σ(log-odds)
            data, record = 0.0, {}
            for k, n in enumerate(names):
                lo_n = lo[k * b : (k + 1) * b]
                data = data + (-lo_n.mean() if n == "ssr" else lo_n.mean())
                record[f"{n}_log_odds"] = float(lo_n.detach().mean())
                record[f"{n}_prob"] = float(p[k * b : (k + 1) * b].mean())
                record[f"{n}_area"] = float(areas[n].detach())
            loss = data + ramp * reg
            grads = torch.autograd.grad(loss, params)  # only the masks: the model's .grad stays untouched
            for prm, g in zip(params, grads):
                prm.grad = g
            grad_norm = torch.linalg.vector_norm(torch.cat([g.reshape(-1) for g in grads]))
            optimiser.step()
            schedule.step()
            record["loss"] = float(loss.detach())
            record["grad_norm"] = float(grad_norm)
            for k in history:
                history[k].append(record[k])
            done = i + 1
            if bar is not None:
                note = "  ".join(f"p_{n}={record[f'{n}_prob']:.2f}" for n in names)
                bar.update(done, note)
            if callback is not None:
                callback(i, dict(record, iterations=config.iterations))
    except KeyboardInterrupt:
        complete = False
    finally:
        if bar is not None:
            bar.close("done" if complete else "interrupted: partial result")

    def full_res(n, keep):
        if n not in logits:
            return None, None
        theta = logits[n].detach()
        prob = torch.sigmoid(-theta) if keep else torch.sigmoid(theta)
        if (gh, gw) != (h, w):
            prob = F.interpolate(prob, size=(h, w), mode="bilinear", align_corners=False)
        return prob[0, 0].cpu(), theta[0, 0].cpu()

    ssr, ssr_theta = full_res("ssr", keep=True)
    sdr, sdr_theta = full_res("sdr", keep=False)
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
    )
