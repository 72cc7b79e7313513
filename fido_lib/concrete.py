"""Relaxed Bernoulli ("Concrete") drop masks: three implementations of one formula.

All three return the relaxed **drop** mask (1 = the pixel is replaced by the
infill; keep = 1 - drop) for drop logits ``θ``, temperature ``T`` and uniform
noise ``u``::

    drop = σ((θ + log(u / (1 - u))) / T)

* :func:`gal_concrete_dropout` — Gal, Hron & Kendall (NeurIPS 2017): takes the drop
  *probability* ``p = σ(θ)`` and goes back to a logit with ``log(p+ε) - log(1-p+ε)``;
  the gradient comes from autograd.
* :func:`concrete_dropout` / :class:`ConcreteDropout` — Korsch, Shadaydeh & Denzler
  (GCPR 2023), supplement Sect. S1: takes ``θ`` directly and has a hand-written
  backward ``y² e^(-z) / T``. Kept exactly as published, traps included.
* :func:`stable_concrete_dropout` / :class:`StableConcreteDropout` — the library's
  default: takes ``θ`` directly, computes in at least float32 and uses the backward
  ``σ(z) σ(-z) / T`` in an overflow-free form: no NaN in any float dtype, both tails kept.

:func:`drop_mask` picks one of them by name; FIDO and the variance experiment use it.

Edge cases, the same for all of them: a NaN logit (or ``p``) raises ``ValueError``
before any work. An infinite drop logit is a decision, not a number to add noise
to: ``θ = +inf`` means "always drop" (result exactly 1, gradient exactly 0) and
``θ = -inf`` "never drop" (result 0, gradient 0), whatever ``u`` — also at ``u = 0``
or ``1``, where the noise's own logit is ∓inf and ``θ + logit(u)`` would be NaN.
Gal's function takes ``p = σ(θ)``: with ``ε = 0``, ``p = 1`` and ``p = 0`` behave
the same way; with ``ε > 0`` its round trip caps the logit at
``±log((1+ε)/ε) ≈ ±16.1``, so there ``p = 1`` is not "always drop" (its published
formula, kept); :func:`drop_mask` with ``relaxation="gal"`` applies the rule above
to infinite logits before that cap.
"""
from __future__ import annotations

import math
import numbers

import torch

from ._util import check_seed

__all__ = [
    "RELAXATIONS",
    "MAX_NOISE",
    "TEMP_RANGE",
    "ConcreteDropout",
    "StableConcreteDropout",
    "concrete_dropout",
    "drop_mask",
    "gal_concrete_dropout",
    "make_generator",
    "stable_concrete_dropout",
    "uniform_noise",
]

#: Names accepted by :func:`drop_mask` (and by FIDO's ``relaxation`` option).
RELAXATIONS = ("stable", "paper", "gal")
#: Allowed temperatures: the gradient carries 1/T, which must stay finite in float32.
TEMP_RANGE = (1e-30, 1e30)
_INT_DTYPES = (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)
#: Most entries :func:`uniform_noise` draws at once (2 GB of float32).
MAX_NOISE = 2**29


# --------------------------------------------------------------------------- checks
def _check_tensor(name: str, x) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(
            f"{name} must be a floating-point tensor (float16, bfloat16, float32 or "
            f"float64), got dtype {x.dtype}"
        )
    return x


def _check_logits(name: str, x) -> torch.Tensor:
    """A float tensor of drop logits without NaN (±inf allowed: always / never drop)."""
    _check_tensor(name, x)
    # max() propagates NaN and is one cheap reduction (isnan().any() took 5x longer);
    # meta tensors have no values to check
    if x.numel() and x.device.type != "meta" and math.isnan(float(x.detach().max())):
        n = int(torch.isnan(x.detach()).sum())
        raise ValueError(
            f"{name} holds NaN in {n} of {x.numel()} entries; drop logits must be numbers "
            "(+inf = always drop, -inf = never drop)"
        )
    return x


def _check_temp(temp) -> float:
    if isinstance(temp, torch.Tensor):
        if temp.numel() != 1:
            raise ValueError(f"temp must be a single number, got a tensor of shape {tuple(temp.shape)}")
        if temp.requires_grad:
            raise ValueError("temp is a tensor that requires grad, but every relaxation here takes T as a "
                             "number and gives no gradient w.r.t. it; pass a float (or temp.item())")
        if temp.dtype == torch.bool or not (temp.is_floating_point() or temp.dtype in _INT_DTYPES):
            raise TypeError(f"temp must be a real number, got a tensor of dtype {temp.dtype}")
        temp = temp.item()
    if isinstance(temp, bool) or not isinstance(temp, numbers.Real):
        raise TypeError(f"temp must be a real number, got {type(temp).__name__}")
    temp = float(temp)
    # outside [1e-30, 1e30], T or the gradient's 1/T overflows float32 (NaN or inf masks)
    if not math.isfinite(temp) or not (TEMP_RANGE[0] <= temp <= TEMP_RANGE[1]):
        raise ValueError(f"temp must be a finite number in [{TEMP_RANGE[0]:g}, {TEMP_RANGE[1]:g}] "
                         f"(beyond, float32 overflows), got {temp}")
    return temp


def _check_unit_interval(name: str, x: torch.Tensor) -> None:
    if x.numel() == 0 or x.device.type == "meta":  # meta tensors have no values to check
        return
    lo, hi = torch.aminmax(x.detach())
    lo, hi = float(lo), float(hi)
    # NaN fails both comparisons, so it is reported too
    if not (lo >= 0.0 and hi <= 1.0):
        raise ValueError(f"{name} must lie in [0, 1], got values in [{lo:g}, {hi:g}]")


def _check_u(u, like: torch.Tensor, *, relaxation=None, cast=True) -> torch.Tensor:
    """``u`` checked, in ``like``'s dtype with ``cast`` (so every relaxation returns the logits'
    dtype; the stable one computes in at least float32 from ``u`` as given).

    ``relaxation``: the name of a hand-written backward (no gradient w.r.t. ``u``): then
    a ``u`` that requires grad is refused instead of silently getting none."""
    _check_tensor("u", u)
    if relaxation is not None and u.requires_grad:
        raise ValueError(f"u requires grad, but the {relaxation!r} relaxation's hand-written backward gives no "
                         "gradient w.r.t. u (only w.r.t. the logits); pass u.detach(), or use relaxation='gal' "
                         "(autograd) for a gradient w.r.t. the noise")
    try:
        torch.broadcast_shapes(u.shape, like.shape)
    except RuntimeError:
        raise ValueError(
            f"u has shape {tuple(u.shape)}, which does not broadcast with the "
            f"parameters' shape {tuple(like.shape)}"
        ) from None
    _check_unit_interval("u", u)
    return u if not cast or u.dtype == like.dtype else u.to(like.dtype)


def make_generator(generator: torch.Generator | int | None = None,
                   device: torch.device | str = "cpu", *, name: str = "generator") -> torch.Generator | None:
    """A ``torch.Generator`` from a seed (``int`` in ``[-2⁶³, 2⁶⁴ - 1]``, what torch takes),
    a generator (returned as is) or ``None``. ``name``: the caller's parameter, for errors."""
    if generator is None or isinstance(generator, torch.Generator):
        return generator
    if isinstance(generator, bool) or not isinstance(generator, numbers.Integral):
        raise TypeError(
            f"{name} must be a torch.Generator, an int seed or None, got {type(generator).__name__} {generator!r}"
        )
    seed = check_seed(name, generator)
    g = torch.Generator(device=device)
    g.manual_seed(seed)
    return g


def uniform_noise(shape: tuple[int, ...] | int, *, dtype: torch.dtype = torch.float32,
                  device: torch.device | str = "cpu", generator: torch.Generator | int | None = None) -> torch.Tensor:
    """``u ~ U[0, 1)`` of the given shape, drawn from ``generator`` (a Generator, a seed or None).

    ``shape``: an int >= 0 or a tuple of them, at most :data:`MAX_NOISE` entries in all."""
    dims = (shape,) if isinstance(shape, numbers.Integral) and not isinstance(shape, bool) else shape
    if isinstance(dims, torch.Size):
        dims = tuple(dims)
    if not isinstance(dims, (tuple, list)) or any(isinstance(d, bool) or not isinstance(d, numbers.Integral)
                                                   for d in dims):
        raise TypeError(f"shape must be an int or a tuple of ints, got {shape!r}")
    if any(d < 0 for d in dims):
        raise ValueError(f"shape must hold sizes >= 0, got {tuple(dims)}")
    if math.prod(int(d) for d in dims) > MAX_NOISE:
        raise ValueError(f"shape {tuple(dims)} holds {math.prod(int(d) for d in dims):.3g} entries; "
                         f"uniform_noise draws at most {MAX_NOISE} (MAX_NOISE)")
    if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise TypeError(f"dtype must be a floating-point torch.dtype, got {dtype!r}")
    shape = tuple(int(d) for d in dims)
    g = make_generator(generator, device)
    return torch.rand(shape, dtype=dtype, device=device, generator=g)


# ------------------------------------------------------------------ Gal et al. 2017
def gal_concrete_dropout(p: torch.Tensor, temp: float = 0.1, u: torch.Tensor | None = None, eps: float = 1e-7,
                         generator: torch.Generator | int | None = None) -> torch.Tensor:
    """Gal et al.'s relaxed drop mask from drop probabilities ``p``.

    ``drop = σ((log(p+ε) - log(1-p+ε) + log(u+ε) - log(1-u+ε)) / T)``
    (Gal, Hron & Kendall, *Concrete Dropout*, NeurIPS 2017, and their public code:
    ``ε = 1e-7``, ``T = 0.1``). The gradient is whatever autograd makes of it.

    Parameters
    ----------
    p : floating tensor in [0, 1]
        Drop probabilities (``p = σ(θ)`` for drop logits ``θ``).
    temp : float, default 0.1
        Temperature ``T > 0``; as ``T → 0`` a sample tends to a Bernoulli(p) draw.
    u : floating tensor in [0, 1], optional
        Uniform noise; must broadcast with ``p``. Drawn from ``generator`` when omitted.
    eps : float, default 1e-7
        The constant inside every logarithm. ``eps = 0`` gives the exact formula.
    generator : torch.Generator or int, optional
        Source of the noise when ``u`` is omitted (an int is used as a seed).
    """
    _check_tensor("p", p)
    temp = _check_temp(temp)
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not (0 <= eps < 1):
        raise ValueError(f"eps must be a number in [0, 1), got {eps!r}")
    _check_unit_interval("p", p)
    if u is None:
        u = uniform_noise(p.shape, dtype=p.dtype, device=p.device, generator=generator)
    else:
        u = _check_u(u, p)
    if eps == 0:
        # p = 1 (0) is the logit +inf (-inf): always (never) drop, whatever u, gradient
        # 0. Computed on a safe p there, so that neither the value nor autograd's
        # 0 · inf in log(1 - p)'s derivative can turn into NaN.
        ends = (p == 0) | (p == 1)
        if bool(ends.any()):
            safe = torch.where(ends, torch.full_like(p, 0.5), p)
            return torch.where(ends, p.detach(), gal_concrete_dropout(safe, temp, u, 0.0, generator))
    logit = torch.log(p + eps) - torch.log(1 - p + eps)
    noise = torch.log(u + eps) - torch.log(1 - u + eps)
    return torch.sigmoid((logit + noise) / temp)


# ------------------------------------------------------- Korsch et al. 2023, as published
class ConcreteDropout(torch.autograd.Function):
    """The Function of the paper's supplement (Sect. S1), operation for operation.

    Forward: ``z = (θ + log((u+ε)/(1-u+ε))) / T`` with ``ε = 1e-7``, ``y = σ(z)``.
    Backward: ``dy/dθ = y² e^(-z) / T``, computed only where ``y != 0`` (elsewhere 0).
    ``y² e^(-z)`` equals ``σ(z)(1-σ(z))``, but ``e^(-z)`` overflows for very negative
    ``z``: in float16 this gives NaN (notebook 03 shows it). Kept as published on purpose.
    """

    @staticmethod
    def forward(ctx, logit_p, temp=0.1, u=None):
        eps = 1e-7
        temp = torch.scalar_tensor(temp)
        if u is None:
            u = torch.zeros_like(logit_p).uniform_()
        noise = ((u + eps) / (1 - u + eps)).log()
        logit_p_temp = (logit_p + noise) / temp
        res = logit_p_temp.sigmoid()
        ctx.save_for_backward(res, logit_p_temp, temp)
        return res

    @staticmethod
    def backward(ctx, grad_output):
        res, logit_p_temp, temp = ctx.saved_tensors
        grad = torch.zeros_like(res)
        mask = res != 0
        g0 = res[mask] ** 2
        g1 = (-logit_p_temp[mask]).exp()
        grad[mask] = g0 * g1 / temp
        return grad * grad_output, None, None


def concrete_dropout(logit_p: torch.Tensor, temp: float = 0.1, u: torch.Tensor | None = None,
                     generator: torch.Generator | int | None = None) -> torch.Tensor:
    """The paper's relaxed drop mask from drop logits ``θ`` (supplement, Sect. S1).

    ``drop = σ((θ + log((u+ε)/(1-u+ε))) / T)``, ``ε = 1e-7``, through
    :class:`ConcreteDropout` (hand-written backward ``y² e^(-z) / T``).

    Parameters
    ----------
    logit_p : floating tensor
        Drop logits ``θ``.
    temp : float, default 0.1
        Temperature ``T > 0``.
    u : floating tensor in [0, 1], optional
        Uniform noise; must broadcast with ``logit_p``. Drawn from ``generator``
        (in ``logit_p``'s dtype) when omitted.
    generator : torch.Generator or int, optional
        Source of the noise when ``u`` is omitted (an int is used as a seed).
    """
    _check_logits("logit_p", logit_p)
    temp = _check_temp(temp)
    if u is None:
        if generator is not None:
            u = uniform_noise(logit_p.shape, dtype=logit_p.dtype, device=logit_p.device, generator=generator)
    else:
        u = _check_u(u, logit_p, relaxation="paper")
    return ConcreteDropout.apply(logit_p, temp, u)


# ------------------------------------------------------------------ the library's default
class StableConcreteDropout(torch.autograd.Function):
    """``y = σ(z)``, ``z = (θ + logit(u)) / T``, with backward ``e^(-|z| - log T) σ(|z|)²``.

    That backward is ``σ(z) σ(-z) / T`` — the same number as the paper's
    ``σ(z)² e^(-z) / T`` and autograd's ``σ(z)(1 - σ(z)) / T`` (notebook 02 proves
    it) — written so that nothing overflows and nothing underflows early:
    ``σ(|z|)`` lies in [1/2, 1], and folding ``1/T`` into the exponent keeps the
    gradient non-zero wherever the true one is a normal float, even for ``T < 1``
    (where ``σ(z)`` alone would already have rounded to 0). Computed in float32 (or
    float64) and cast back, so float16 and bfloat16 get the same guarantee.
    """

    @staticmethod
    def forward(ctx, logit_p, temp, u):
        work = torch.promote_types(logit_p.dtype, torch.float32)
        # logit(u) is ∓inf at u = 0 / 1: held at ∓(largest float) instead, so that an
        # infinite θ decides alone (always / never drop; +inf + -inf would be NaN) while
        # a finite θ still gives exactly 0 / 1 there; the backward then gives exactly 0
        big = torch.finfo(work).max
        z = (logit_p.to(work) + torch.logit(u.to(work)).clamp_(-big, big)) / temp
        ctx.save_for_backward(z)
        ctx.log_temp = math.log(temp)
        ctx.dtype = logit_p.dtype
        return torch.sigmoid(z).to(logit_p.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        (z,) = ctx.saved_tensors
        abs_z = z.abs()
        sig_sq = torch.sigmoid(abs_z).square_()
        grad = abs_z.neg_().sub_(ctx.log_temp).exp_().mul_(sig_sq)
        return grad.mul_(grad_output.to(grad.dtype)).to(ctx.dtype), None, None


def stable_concrete_dropout(logit_p: torch.Tensor, temp: float = 0.1, u: torch.Tensor | None = None,
                            generator: torch.Generator | int | None = None) -> torch.Tensor:
    """The library's default relaxed drop mask from drop logits ``θ``.

    ``drop = σ((θ + log(u / (1-u))) / T)`` with gradient ``σ(z) σ(-z) / T``
    (:class:`StableConcreteDropout`): the paper's simplification (logits in, no ε
    round trip) with a backward that gives no NaN or inf in float16, bfloat16,
    float32 or float64 and never rounds a normal-sized gradient to 0.

    Parameters
    ----------
    logit_p : floating tensor
        Drop logits ``θ``.
    temp : float, default 0.1
        Temperature ``T > 0``.
    u : floating tensor in [0, 1], optional
        Uniform noise; must broadcast with ``logit_p``. ``u = 0`` or ``1`` gives a
        drop of exactly 0 or 1. Drawn in float32 (or float64) from ``generator``
        when omitted.
    generator : torch.Generator or int, optional
        Source of the noise when ``u`` is omitted (an int is used as a seed).
    """
    _check_logits("logit_p", logit_p)
    temp = _check_temp(temp)
    if u is None:
        work = torch.promote_types(logit_p.dtype, torch.float32)
        u = uniform_noise(logit_p.shape, dtype=work, device=logit_p.device, generator=generator)
    else:
        u = _check_u(u, logit_p, relaxation="stable", cast=False)
    return StableConcreteDropout.apply(logit_p, temp, u)


# ------------------------------------------------------------------------ by name
def drop_mask(logit: torch.Tensor, *, relaxation: str = "stable", temp: float = 0.1, u: torch.Tensor | None = None,
              generator: torch.Generator | int | None = None, eps: float = 1e-7) -> torch.Tensor:
    """Relaxed drop mask from drop logits ``logit``, by the implementation named.

    ``relaxation``: ``"stable"`` (:func:`stable_concrete_dropout`, the default),
    ``"paper"`` (:func:`concrete_dropout`, the published Function) or ``"gal"``
    (:func:`gal_concrete_dropout` on ``p = σ(logit)``, with ``eps``). ``eps`` only
    affects ``"gal"``; the paper's Function has its own fixed ``ε = 1e-7``.
    NaN logits raise; ``+inf`` gives exactly 1 and ``-inf`` exactly 0 with gradient 0,
    for every relaxation (see the module docstring).
    """
    if relaxation in RELAXATIONS:
        _check_logits("logit", logit)
    if relaxation == "stable":
        return stable_concrete_dropout(logit, temp, u, generator)
    if relaxation == "paper":
        return concrete_dropout(logit, temp, u, generator)
    if relaxation == "gal":
        inf = torch.isinf(logit)
        if bool(inf.any()):
            # Gal's ε caps the logit near ±16: decide the infinite ones before it, and
            # feed a finite stand-in there so autograd gives them an exact 0
            safe = torch.where(inf, torch.zeros_like(logit), logit)
            y = gal_concrete_dropout(torch.sigmoid(safe), temp, u, eps, generator)
            return torch.where(inf, (logit > 0).to(y.dtype), y)
        return gal_concrete_dropout(torch.sigmoid(logit), temp, u, eps, generator)
    raise ValueError(f"relaxation must be one of {', '.join(map(repr, RELAXATIONS))}; got {relaxation!r}")
