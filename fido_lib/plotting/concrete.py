"""Figures of notebooks 01–03: the concrete distribution, Gal's ε factor, float maps, gradient tails and maps."""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import sympy as sp
import torch
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch

from .. import symbolic
from ..concrete import drop_mask, uniform_noise
from .style import FLOAT_CLASS_COLOURS, OKABE_ITO, RELAXATION_COLOURS

__all__ = [
    "plot_logistic_noise",
    "plot_concrete_histograms",
    "plot_eps_factor",
    "plot_float_map",
    "plot_gradient_tails",
    "plot_step_vs_relaxation",
    "plot_gradient_map",
    "gradient_health",
    "GRADIENT_HEALTH",
    "GRADIENT_HEALTH_COLOURS",
]


def _check_temps(temps):
    temps = [temps] if isinstance(temps, (int, float)) else list(temps)
    if not temps or not all(isinstance(t, (int, float)) and not isinstance(t, bool) and t > 0 for t in temps):
        raise ValueError(f"temps must be one or more numbers > 0, got {temps!r}")
    return [float(t) for t in temps]


def plot_logistic_noise(n_samples=100_000, seed=0, bins=80):
    """Histogram of the logistic noise ``log(u / (1 − u))``, ``u ~ U(0, 1)``, over its density ``σ(x)σ(−x)``."""
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 2:
        raise ValueError(f"n_samples must be an integer >= 2, got {n_samples!r}")
    noise = torch.logit(uniform_noise(n_samples, dtype=torch.float64, generator=seed))
    fig, ax = plt.subplots(figsize=(6, 3.4))
    ax.hist(noise.clamp(-10, 10).numpy(), bins=bins, range=(-10, 10), density=True,
            color=OKABE_ITO[1], label=f"{n_samples:,} samples of log(u/(1−u))")
    x = torch.linspace(-10, 10, 401, dtype=torch.float64)
    ax.plot(x, torch.sigmoid(x) * torch.sigmoid(-x), color=OKABE_ITO[7], lw=2,
            label="logistic density σ(x)σ(−x)")
    ax.set_xlabel("noise value x")
    ax.set_ylabel("probability density")
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def plot_concrete_histograms(logit, temps, n_samples=20_000, seed=0, relaxation="stable", bins=40):
    """One histogram of relaxed drop samples per temperature, for one drop logit ``θ``.

    Bars give the fraction of samples per bin (so the two end bins of a nearly hard
    sample approach the Bernoulli masses ``1 − σ(θ)`` and ``σ(θ)``, drawn as dots);
    the dashed line is the sample mean, the dotted one ``σ(θ)``. Samples come from
    :func:`fido_lib.concrete.drop_mask` with the same noise for every temperature.
    """
    temps = _check_temps(temps)
    if isinstance(logit, bool) or not isinstance(logit, (int, float)) or not math.isfinite(logit):
        raise ValueError(f"logit must be a finite number, got {logit!r}")
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1:
        raise ValueError(f"n_samples must be an integer >= 1, got {n_samples!r}")
    u = uniform_noise(n_samples, dtype=torch.float64, generator=seed)
    theta = torch.full((n_samples,), float(logit), dtype=torch.float64)
    p = torch.sigmoid(torch.tensor(float(logit), dtype=torch.float64)).item()
    fig, axes = plt.subplots(1, len(temps), figsize=(max(5.0, 2.6 * len(temps) + 0.6), 3.0),
                             sharey=True, squeeze=False)
    colour = RELAXATION_COLOURS.get(relaxation, OKABE_ITO[4])
    for ax, temp in zip(axes[0], temps, strict=True):
        drop = drop_mask(theta, relaxation=relaxation, temp=temp, u=u).numpy()
        ax.hist(drop, bins=bins, range=(0, 1), weights=[1 / n_samples] * n_samples, color=colour)
        ax.plot([0, 1], [1 - p, p], "o", color=OKABE_ITO[7], ms=5, label="Bernoulli(σ(θ)) masses")
        ax.axvline(drop.mean(), color=OKABE_ITO[6], ls="--", lw=1.5, label="sample mean")
        ax.axvline(p, color=OKABE_ITO[7], ls=":", lw=1.5, label="σ(θ)")
        ax.set_title(f"T = {temp:g}: mean {drop.mean():.3f}", fontsize=10)
        ax.set_xlabel("drop value")
        ax.set_ylim(0, 1.05)
    axes[0][0].set_ylabel("fraction of samples")
    axes[0][0].legend(fontsize=7, loc="upper center", frameon=False)
    fig.suptitle(f"relaxed drop samples, θ = {logit:g} ({n_samples:,} samples each)", fontsize=10)
    fig.tight_layout()
    return fig


def plot_eps_factor(eps=1e-7, theta_max=25.0, points=501):
    """Gal's ε factor ``F(θ)`` and its first-order form ``1 − ε(e^θ + e^(−θ))`` over ``θ ≥ 0``.

    Left: both on a linear scale (the first-order form runs below 0 where it fails);
    right: the deficit ``1 − F`` against ``ε(e^θ + e^(−θ))`` on a log scale.
    ``F`` is evaluated in float64 from :func:`fido_lib.symbolic.eps_factor`.
    """
    if not (isinstance(eps, (int, float)) and 0 < eps < 1):
        raise ValueError(f"eps must be a number in (0, 1), got {eps!r}")
    if not (isinstance(theta_max, (int, float)) and theta_max > 0):
        raise ValueError(f"theta_max must be a number > 0, got {theta_max!r}")
    f = sp.lambdify((symbolic.theta, symbolic.eps), symbolic.eps_factor(), "numpy")
    f1 = sp.lambdify((symbolic.theta, symbolic.eps), symbolic.eps_factor_first_order(), "numpy")
    th = torch.linspace(0, theta_max, points, dtype=torch.float64).numpy()
    big_f, first = f(th, eps), f1(th, eps)
    fig, (ax, ax_log) = plt.subplots(1, 2, figsize=(10, 3.6))
    # F is Gal's factor: Gal's colour; its approximation black, so no other relaxation's colour appears
    ax.plot(th, big_f, color=RELAXATION_COLOURS["gal"], lw=2, label="F(θ)")
    ax.plot(th, first, color=OKABE_ITO[7], ls="--", lw=1.5, label="1 − ε(e^θ + e^(−θ))")
    ax.axhline(1, color="0.6", lw=0.8)
    ax.set_ylim(-0.2, 1.1)
    ax.set_xlabel("drop logit θ")
    ax.set_ylabel("F(θ): factor on Gal's gradient")
    ax.set_title(f"ε = {eps:g}")
    ax.legend(fontsize=8, frameon=False, loc="lower left")
    ax_log.semilogy(th, 1 - big_f, color=RELAXATION_COLOURS["gal"], lw=2, label="1 − F(θ)")
    ax_log.semilogy(th, eps * (torch.exp(torch.from_numpy(th)) + torch.exp(-torch.from_numpy(th))).numpy(),
                    color=OKABE_ITO[7], ls="--", lw=1.5, label="ε(e^θ + e^(−θ))")
    ax_log.set_ylim(eps, 10)
    ax_log.set_xlabel("drop logit θ")
    ax_log.set_ylabel("gradient lost to ε (log scale)")
    ax_log.legend(fontsize=8, frameon=False, loc="upper left")
    fig.tight_layout()
    return fig


def plot_float_map(z, values):
    """Where each computed quantity is normal, subnormal, 0, inf or NaN, along ``z``.

    ``values``: ``{row label: tensor over z}`` (e.g. ``"e^(−z) · float16"``), each judged
    in its own dtype by :func:`fido_lib.symbolic.float_class`. One row per entry.
    """
    if not values:
        raise ValueError("values must name at least one tensor")
    zs = torch.as_tensor(z).double()
    rows = []
    for label, v in values.items():
        if v.shape != zs.shape:
            raise ValueError(f"values[{label!r}] has shape {tuple(v.shape)}, z has {tuple(zs.shape)}")
        rows.append(symbolic.float_class(v))
    grid = torch.stack(rows).numpy()
    fig, ax = plt.subplots(figsize=(9, 0.32 * len(rows) + 1.4))
    ax.imshow(grid, aspect="auto", interpolation="nearest", cmap=ListedColormap(FLOAT_CLASS_COLOURS),
              vmin=-0.5, vmax=len(symbolic.FLOAT_CLASSES) - 0.5,
              extent=(float(zs[0]), float(zs[-1]), len(rows) - 0.5, -0.5))
    ax.set_yticks(range(len(rows)), list(values))
    ax.set_xlabel("z")
    patches = [Patch(facecolor=c, edgecolor="0.5", label=n)
               for n, c in zip(symbolic.FLOAT_CLASSES, FLOAT_CLASS_COLOURS, strict=True)]
    ax.legend(handles=patches, ncols=len(symbolic.FLOAT_CLASSES), loc="lower center", bbox_to_anchor=(0.5, 1.0),
              fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


#: Categories of :func:`gradient_health`, by index, and their colours in :func:`plot_gradient_map`:
#: right light grey, "too small for the dtype" white, each failure an Okabe–Ito colour that no
#: relaxation uses (the row labels carry the relaxations' colours).
GRADIENT_HEALTH = ("correct (within 1 %)", "true value below the dtype's normal range",
                   "off by more than 1 %", "exactly 0, true value normal", "NaN or inf")
GRADIENT_HEALTH_COLOURS = ["#E0E0E0", "#FFFFFF", "#F0E442", "#56B4E9", "#000000"]


def _relaxation_colour(label, default="0.2"):
    """The colour of the relaxation a label starts with (``"gal"``, ``"paper"``, ``"stable"``)."""
    return next((c for k, c in RELAXATION_COLOURS.items() if str(label).startswith(k)), default)


def gradient_health(grad, true, rtol=1e-2):
    """For every entry of ``grad``, its index in :data:`GRADIENT_HEALTH`, against the exact ``true``.

    ``grad`` is judged in its own dtype: where ``|true|`` is below that dtype's smallest
    normal number, 0 or a subnormal is all the format can hold ("below the normal range",
    unless it is NaN/inf); elsewhere an exact 0 is a lost gradient and a finite value
    further than ``rtol · |true|`` from ``true`` is wrong.
    """
    if not isinstance(grad, torch.Tensor) or not grad.is_floating_point():
        raise TypeError(f"grad must be a floating-point torch.Tensor, got {type(grad).__name__}")
    if not isinstance(true, torch.Tensor) or true.shape != grad.shape:
        raise ValueError(f"true must be a tensor of grad's shape {tuple(grad.shape)}, got "
                         f"{tuple(true.shape) if isinstance(true, torch.Tensor) else type(true).__name__}")
    if isinstance(rtol, bool) or not isinstance(rtol, (int, float)) or not rtol > 0:
        raise ValueError(f"rtol must be a number > 0, got {rtol!r}")
    g, t = grad.detach().double().cpu(), true.detach().double().cpu()
    classes = torch.zeros(g.shape, dtype=torch.int64)
    classes[(g - t).abs() > rtol * t.abs()] = 2
    classes[(g == 0) & (t != 0)] = 3
    classes[t.abs() < torch.finfo(grad.dtype).tiny] = 1
    classes[~torch.isfinite(g)] = 4
    return classes


def plot_gradient_map(z, grads, true, rtol=1e-2, title=None):
    """Where each gradient formula is right, 0, wrong or NaN along ``z``: one row per entry.

    ``grads``: ``{row label: gradient over z}``, each judged in its own dtype by
    :func:`gradient_health` against ``true``: the exact gradient over ``z`` (float64), or
    ``{row label: exact gradient}`` when rows need their own (e.g. at the ``z`` each
    dtype can hold).
    A label that starts with ``"gal"``, ``"paper"`` or ``"stable"`` is written in that
    relaxation's colour. Rows are drawn in the order given; a gap separates dtypes.
    """
    if not grads:
        raise ValueError("grads must name at least one gradient")
    zs = torch.as_tensor(z).double()
    if zs.dim() != 1 or len(zs) < 2:
        raise ValueError(f"z must be a 1-D grid of at least 2 points, got shape {tuple(zs.shape)}")
    rows = []
    for label, g in grads.items():
        if not isinstance(g, torch.Tensor) or g.shape != zs.shape:
            raise ValueError(f"grads[{label!r}] must be a tensor of z's shape {tuple(zs.shape)}")
        exact = true.get(label) if isinstance(true, dict) else true
        if exact is None:
            raise ValueError(f"true has no exact gradient for the row {label!r}")
        rows.append(gradient_health(g, exact, rtol))
    grid = torch.stack(rows).numpy()
    fig, ax = plt.subplots(figsize=(9.5, 0.3 * len(rows) + 1.5))
    ax.imshow(grid, aspect="auto", interpolation="nearest", cmap=ListedColormap(GRADIENT_HEALTH_COLOURS),
              vmin=-0.5, vmax=len(GRADIENT_HEALTH) - 0.5,
              extent=(float(zs[0]), float(zs[-1]), len(rows) - 0.5, -0.5))
    ax.set_yticks(range(len(rows)), list(grads))
    for tick, label in zip(ax.get_yticklabels(), grads, strict=True):
        tick.set_color(_relaxation_colour(label))
    dtypes = [g.dtype for g in grads.values()]
    for i in range(1, len(dtypes)):
        if dtypes[i] != dtypes[i - 1]:
            ax.axhline(i - 0.5, color="white", lw=3)
    ax.set_xlabel("z = (θ + noise) / T")
    if title:
        ax.set_title(title, fontsize=10)
    # the legend goes below the axis, clear of the title
    ax.legend(handles=[Patch(facecolor=c, edgecolor="0.5", label=n)
                       for n, c in zip(GRADIENT_HEALTH, GRADIENT_HEALTH_COLOURS, strict=True)],
              ncols=3, loc="upper center", bbox_to_anchor=(0.5, -0.12 - 1.2 / (len(rows) + 4)),
              fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def plot_gradient_tails(z, grads, true, title=None):
    """One panel per implementation: ``|dy/dθ|`` against ``z`` beside the exact gradient, log scale.

    ``grads``: ``{label: gradient over z}`` (labels starting with ``"gal"``, ``"paper"``,
    ``"stable"`` take their colours); ``true``: the exact gradient (float64). Shaded in
    each panel: where the computed gradient is exactly 0 although the exact one is a
    normal number of the gradient's dtype (blue), and where it is NaN or inf (black).
    A zero cannot be drawn on a log scale, so the shading is what shows it.
    """
    if not grads:
        raise ValueError("grads must name at least one gradient")
    zs = torch.as_tensor(z).double()
    t = torch.as_tensor(true).double()
    if zs.dim() != 1 or t.shape != zs.shape:
        raise ValueError(f"z must be 1-D and true of its shape, got {tuple(zs.shape)} and {tuple(t.shape)}")
    for label, g in grads.items():
        if not isinstance(g, torch.Tensor) or g.shape != zs.shape:
            raise ValueError(f"grads[{label!r}] must be a tensor of z's shape {tuple(zs.shape)}")
    positive = t[t > 0]
    low, high = float(positive.min()) / 10, float(positive.max()) * 10
    fig, axes = plt.subplots(len(grads), 1, figsize=(9, 1.9 * len(grads) + 0.6), sharex=True, squeeze=False)
    step = float(zs[1] - zs[0])
    for ax, (label, g) in zip(axes[:, 0], grads.items(), strict=True):
        colour = _relaxation_colour(label, OKABE_ITO[4])
        gd = g.detach().double().cpu()
        lost = (gd == 0) & (t >= torch.finfo(g.dtype).tiny)
        bad = ~torch.isfinite(gd)
        lost_colour, bad_colour = GRADIENT_HEALTH_COLOURS[3], GRADIENT_HEALTH_COLOURS[4]
        for mask, shade, name in ((lost, lost_colour, "exactly 0, true value normal"), (bad, bad_colour, "NaN or inf")):
            for _, lo, hi in _runs(zs, mask):
                ax.axvspan(lo - step / 2, hi + step / 2, color=shade, alpha=0.4, lw=0)
            if bool(mask.any()):
                ax.plot([], [], color=shade, alpha=0.4, lw=8, label=f"{name}: {int(mask.sum())} points")
        ax.semilogy(zs, t, color=OKABE_ITO[7], lw=1, label="exact σ(z)σ(−z)/T")
        ok = torch.isfinite(gd) & (gd != 0)
        ax.semilogy(zs[ok], gd[ok].abs(), ".", ms=2.5, color=colour, label=f"{label}: computed")
        ax.set_ylim(low, high)
        ax.set_ylabel("|dy/dθ|")
        ax.legend(fontsize=7.5, loc="upper left", frameon=False, ncols=2)
    axes[-1, 0].set_xlabel("z = (θ + noise) / T")
    if title:
        axes[0, 0].set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def _runs(zs, mask):
    """Runs of True along ``zs``: ``[(True, first z, last z), ...]``."""
    out, start = [], None
    m = mask.tolist()
    for i, v in enumerate(m + [False]):
        if v and start is None:
            start = i
        elif not v and start is not None:
            out.append((True, float(zs[start]), float(zs[i - 1])))
            start = None
    return out


def plot_step_vs_relaxation(u=0.3, temps=(1.0, 0.3, 0.1, 0.03), theta_range=(-3.0, 3.0),
                            relaxation="stable", points=1201):
    """For one fixed noise ``u``: the hard drop ``𝟙[θ + n > 0]`` beside ``σ((θ + n)/T)``, and their slopes.

    Left: the drop value against the drop logit ``θ`` (the step in black, one line per
    temperature in the relaxation's colour); right: ``d drop/dθ`` on a log scale, the
    step's derivative being 0 everywhere but at its jump ``θ = −n``. ``n = log(u/(1 − u))``.
    """
    temps = _check_temps(temps)
    if isinstance(u, bool) or not isinstance(u, (int, float)) or not 0 < u < 1:
        raise ValueError(f"u must be a number strictly between 0 and 1, got {u!r}")
    lo, hi = theta_range
    if not (isinstance(lo, (int, float)) and isinstance(hi, (int, float)) and lo < hi):
        raise ValueError(f"theta_range must be (low, high) with low < high, got {theta_range!r}")
    theta = torch.linspace(float(lo), float(hi), points, dtype=torch.float64)
    n = math.log(u / (1 - u))
    colour = RELAXATION_COLOURS.get(relaxation, OKABE_ITO[4])
    styles = ["-", "--", "-.", ":"]
    fig, (ax, ax_d) = plt.subplots(1, 2, figsize=(10, 3.6))
    ax.plot(theta, (theta + n > 0).double(), color=OKABE_ITO[7], lw=2.5, drawstyle="steps-post",
            label="hard: 𝟙[θ + n > 0]")
    for i, temp in enumerate(temps):
        x = theta.clone().requires_grad_()
        y = drop_mask(x, relaxation=relaxation, temp=temp, u=torch.full_like(x, u))
        y.sum().backward()
        style = dict(color=colour, ls=styles[i % len(styles)], lw=1.8, alpha=1 - 0.6 * i / max(1, len(temps)))
        ax.plot(theta, y.detach(), label=f"T = {temp:g}", **style)
        ax_d.semilogy(theta, x.grad, label=f"T = {temp:g} (peak 1/(4T) = {0.25 / temp:.3g})", **style)
    for a in (ax, ax_d):
        a.axvline(-n, color="0.5", lw=0.8, ls=":")
        a.set_xlabel("drop logit θ")
    ax.set_ylabel("drop value")
    ax.set_title(f"one fixed u = {u:g}: n = {n:.3f}, the step at θ = −n = {-n:.3f}", fontsize=10)
    ax.legend(fontsize=8, frameon=False, loc="upper left")
    ax_d.set_ylim(1e-6, 0.25 / min(temps) * 3)
    ax_d.set_ylabel("d drop / dθ (log scale)")
    ax_d.set_title("slopes: the step's is 0 except at its jump", fontsize=10)
    ax_d.legend(fontsize=7.5, frameon=False, loc="upper left")
    fig.tight_layout()
    return fig
