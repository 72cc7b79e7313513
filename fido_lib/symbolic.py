"""The sympy side of notebook 02: both relaxed samples and their derivatives w.r.t. θ.

Symbols: ``θ`` (drop logit), ``u`` (uniform noise), ``T`` (temperature), ``ε`` (Gal's
constant). Gal et al. go θ → p = σ(θ) → log(p+ε) − log(1−p+ε); the simplified
relaxation (Korsch et al. 2023) uses θ directly. Every function returns a fresh sympy
expression, so tests and notebooks can differentiate, simplify and lambdify it.
"""
from __future__ import annotations

import sympy as sp

__all__ = [
    "theta", "u", "T", "eps", "z",
    "sigmoid", "logistic_noise", "gal_sample", "simplified_sample",
    "gal_gradient", "simplified_gradient", "simplified_gradient_closed_form",
    "eps_factor", "eps_factor_first_order", "gal_equals_simplified_at_eps_zero",
    "gal_gradient_factorises", "sigmoid_derivative_identities",
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
