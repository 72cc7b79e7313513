"""The sympy side of notebook 02: both relaxed samples and their derivatives w.r.t. θ.

Symbols: ``θ`` (drop logit), ``u`` (uniform noise), ``T`` (temperature), ``ε`` (Gal's
constant). Gal et al. go θ → p = σ(θ) → log(p+ε) − log(1−p+ε); the simplified
relaxation (Korsch et al. 2023) uses θ directly. Every function returns a fresh sympy
expression, so tests and notebooks can differentiate, simplify and lambdify it.

The last part is the floating-point side of the same formulas: where the pieces of
the backward formulas (e^(−z), σ(z)², 1 − σ(z), σ(z)σ(−z)) overflow or underflow in
a given dtype — predicted from the format's limits (:func:`float_thresholds`) and
measured on tensors (:func:`float_class`, :func:`class_ranges`).
"""
from __future__ import annotations

import sympy as sp
import torch

__all__ = [
    "theta", "u", "T", "eps", "z",
    "sigmoid", "logistic_noise", "gal_sample", "simplified_sample",
    "gal_gradient", "simplified_gradient", "simplified_gradient_closed_form",
    "eps_factor", "eps_factor_first_order", "gal_equals_simplified_at_eps_zero",
    "gal_gradient_factorises", "sigmoid_derivative_identities",
    "FLOAT_CLASSES", "float_class", "class_ranges", "describe_ranges",
    "float_limits", "float_thresholds",
]

theta = sp.Symbol("theta", real=True)
u = sp.Symbol("u", positive=True)
T = sp.Symbol("T", positive=True)
eps = sp.Symbol("epsilon", nonnegative=True)
z = sp.Symbol("z", real=True)


def sigmoid(x):
    """σ(x) = 1 / (1 + e^(−x))."""
    return 1 / (1 + sp.exp(-x))


def logistic_noise(with_eps: bool = True):
    """log(u+ε) − log(1−u+ε): the logistic noise as both implementations compute it."""
    e = eps if with_eps else 0
    return sp.log(u + e) - sp.log(1 - u + e)


def gal_sample(with_eps: bool = True):
    """Gal et al.: σ((log(p+ε) − log(1−p+ε) + noise) / T) with p = σ(θ)."""
    e = eps if with_eps else 0
    p = sigmoid(theta)
    return sigmoid((sp.log(p + e) - sp.log(1 - p + e) + logistic_noise(with_eps)) / T)


def simplified_sample(with_eps: bool = True):
    """Korsch et al.: σ((θ + noise) / T), the logit used directly."""
    return sigmoid((theta + logistic_noise(with_eps)) / T)


def gal_gradient(with_eps: bool = True):
    """d/dθ of :func:`gal_sample`, as sympy derives it (unsimplified)."""
    return sp.diff(gal_sample(with_eps), theta)


def simplified_gradient(with_eps: bool = True):
    """d/dθ of :func:`simplified_sample`, as sympy derives it (unsimplified)."""
    return sp.diff(simplified_sample(with_eps), theta)


def simplified_gradient_closed_form():
    """The supplement's backward, σ(z)² e^(−z) / T, at z = (θ + noise) / T."""
    zz = (theta + logistic_noise(True)) / T
    return sigmoid(zz) ** 2 * sp.exp(-zz) / T


def eps_factor():
    """F(θ) = p(1−p)(1/(p+ε) + 1/(1−p+ε)) with p = σ(θ): d/dθ [log(p+ε) − log(1−p+ε)]."""
    p = sigmoid(theta)
    return p * (1 - p) * (1 / (p + eps) + 1 / (1 - p + eps))


def eps_factor_first_order():
    """F(θ) to first order in ε: 1 − ε (e^θ + e^(−θ)) (the series of :func:`eps_factor`)."""
    return 1 - eps * (sp.exp(theta) + sp.exp(-theta))


def _is_zero(expr) -> bool:
    """True when sympy can show ``expr`` is identically 0 (simplify, then rewrite in exp)."""
    if sp.simplify(expr) == 0:
        return True
    return sp.simplify(sp.expand(expr.rewrite(sp.exp))) == 0


def gal_equals_simplified_at_eps_zero() -> bool:
    """At ε = 0 both samples, and both gradients, are the same function of θ, u, T."""
    same_sample = _is_zero(gal_sample(False) - simplified_sample(False))
    same_gradient = _is_zero(gal_gradient(False) - simplified_gradient(False))
    return same_sample and same_gradient


def gal_gradient_factorises() -> bool:
    """Gal's gradient = F(θ) · (the simplified gradient at Gal's effective logit).

    With ℓ(θ) = log(p+ε) − log(1−p+ε), the chain rule gives
    d/dθ σ((ℓ + n)/T) = σ'((ℓ + n)/T) / T · dℓ/dθ, and dℓ/dθ = F(θ).
    """
    p = sigmoid(theta)
    ell = sp.log(p + eps) - sp.log(1 - p + eps)
    zz = (ell + logistic_noise(True)) / T
    claimed = eps_factor() * sigmoid(zz) * (1 - sigmoid(zz)) / T
    dell_minus_f = _is_zero(sp.diff(ell, theta) - eps_factor())
    return dell_minus_f and _is_zero(gal_gradient(True) - claimed)


def sigmoid_derivative_identities() -> dict[str, bool]:
    """σ'(z) = σ(z)² e^(−z) = σ(z)(1 − σ(z)) = σ(z) σ(−z), each checked by sympy."""
    s = sigmoid(z)
    d = sp.diff(s, z)
    return {
        "d/dz σ(z) == σ(z)² e^(−z)": _is_zero(d - s**2 * sp.exp(-z)),
        "σ(z)² e^(−z) == σ(z)(1 − σ(z))": _is_zero(s**2 * sp.exp(-z) - s * (1 - s)),
        "σ(z)(1 − σ(z)) == σ(z) σ(−z)": _is_zero(s * (1 - s) - s * sigmoid(-z)),
    }


# ------------------------------------------------------------ the floating-point map
#: What :func:`float_class` calls each entry, by index.
FLOAT_CLASSES = ("normal", "subnormal", "0", "inf", "NaN")


def _check_float_dtype(dtype) -> torch.dtype:
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(
            f"dtype must be a floating torch.dtype (e.g. torch.float16, torch.bfloat16, "
            f"torch.float32), got {dtype!r}"
        )
    return dtype


def float_class(x: torch.Tensor) -> torch.Tensor:
    """For every entry of ``x``, its index in :data:`FLOAT_CLASSES`, judged in ``x``'s own dtype.

    normal: ``|x| ≥ finfo.tiny``; subnormal: ``0 < |x| < finfo.tiny``; then 0, ±inf, NaN.
    """
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"x must be a floating-point torch.Tensor, got {type(x).__name__}"
                        + (f" of dtype {x.dtype}" if isinstance(x, torch.Tensor) else ""))
    x = x.detach()
    classes = torch.zeros(x.shape, dtype=torch.int64, device=x.device)
    classes[x.abs() < torch.finfo(x.dtype).tiny] = 1
    classes[x == 0] = 2
    classes[torch.isinf(x)] = 3
    classes[torch.isnan(x)] = 4
    return classes.cpu()


def class_ranges(z: torch.Tensor, classes: torch.Tensor) -> list[tuple[str, float, float]]:
    """Runs of one class along an increasing 1-D grid ``z``: ``[(class name, first z, last z), ...]``."""
    z, classes = torch.as_tensor(z), torch.as_tensor(classes)
    if z.dim() != 1 or classes.shape != z.shape:
        raise ValueError(
            f"z must be 1-D and classes of the same shape, got shapes {tuple(z.shape)} and "
            f"{tuple(classes.shape)}"
        )
    if len(z) > 1 and not bool((z[1:] > z[:-1]).all()):
        raise ValueError("z must be strictly increasing")
    zs, cs = z.double().tolist(), classes.tolist()
    runs, start = [], 0
    for i in range(1, len(cs) + 1):
        if i == len(cs) or cs[i] != cs[start]:
            runs.append((FLOAT_CLASSES[cs[start]], zs[start], zs[i - 1]))
            start = i
    return runs


def describe_ranges(z: torch.Tensor, classes: torch.Tensor, digits: int = 1) -> str:
    """:func:`class_ranges` as one line, e.g. ``inf [-120.0, -11.1] · normal [-11.1, 9.7] · …``."""
    return " · ".join(f"{name} [{lo:.{digits}f}, {hi:.{digits}f}]" for name, lo, hi in class_ranges(z, classes))


def float_limits(dtype) -> dict[str, sp.Rational]:
    """The limits of a float format, as exact rationals (each a power of two, or just below one).

    ``largest`` (finfo.max), ``smallest_normal`` (finfo.tiny), ``smallest_subnormal``
    (tiny · eps: one unit in the last place below tiny) and ``eps`` (the spacing just above 1).
    """
    fi = torch.finfo(_check_float_dtype(dtype))
    tiny, e = sp.Rational(fi.tiny), sp.Rational(fi.eps)
    return {"largest": sp.Rational(fi.max), "smallest_normal": tiny, "smallest_subnormal": tiny * e, "eps": e}


def float_thresholds(dtype) -> dict[str, float]:
    """Where each piece of the backward formulas leaves ``dtype``, for a result rounded once to nearest.

    From the limits of :func:`float_limits` (``M`` largest, ``s`` smallest subnormal,
    ``ε`` eps), solving each piece for the value at which rounding gives inf or 0:

    * ``e^(−z) = inf`` for ``z < −ln M``; ``e^(−z) = 0`` for ``z > −ln(s/2)``;
    * ``σ(z)² = 0`` for ``z < logit(√(s/2))`` (below half the smallest subnormal);
    * ``1 − σ(z) = 0`` for ``z > logit(1 − ε/4)`` (σ(z) rounds to 1: the spacing below 1 is ε/2);
    * ``σ(z)σ(−z) = 0`` for ``|z| >`` the root of ``σ(z)σ(−z) = s/2``.

    A kernel that computes in a wider type and rounds once meets these (torch's CPU kernels
    for float16 do); one whose intermediate steps hit their own limits first gives up
    earlier: torch's float32 sigmoid, and bfloat16 through it (notebook 02 measures both).
    """
    lim = float_limits(dtype)
    half_sub = lim["smallest_subnormal"] / 2

    def logit(q):
        return sp.log(q / (1 - q))

    # σ(z)σ(−z) = w / (1 + w)² with w = e^|z|: the larger root of c w² + (2c − 1) w + c = 0
    # (the roots are w and 1/w; the larger one has no cancellation)
    c = half_sub
    w_large = ((1 - 2 * c) + sp.sqrt(1 - 4 * c)) / (2 * c)
    pieces = {
        "e^(−z) = inf for z <": -sp.log(lim["largest"]),
        "e^(−z) = 0 for z >": -sp.log(half_sub),
        "σ(z)² = 0 for z <": logit(sp.sqrt(half_sub)),
        "1 − σ(z) = 0 for z >": logit(1 - lim["eps"] / 4),
        "σ(z)σ(−z) = 0 for |z| >": sp.log(w_large),
    }
    return {k: float(sp.N(v, 20)) for k, v in pieces.items()}
