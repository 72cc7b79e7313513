"""Every figure the notebooks and figures/ show, built from library results.

Colour-blind-safe defaults (viridis / cividis for maps, the Okabe–Ito palette for
lines); every axis labelled. Functions return the matplotlib Figure and never call
``plt.show()``, so notebooks decide when to display and ``figures/make_figures.py``
when to save.
"""
from __future__ import annotations

import matplotlib.pyplot as plt  # noqa: F401  (used by the sections below)

#: Okabe & Ito's colour-blind-safe palette.
OKABE_ITO = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000"]
#: One colour per implementation, the same in every figure.
RELAXATION_COLOURS = {"gal": "#D55E00", "paper": "#0072B2", "stable": "#009E73"}

# ==== concrete distribution and gradients (notebooks 01–03) ====
import math as _math  # noqa: E402

import torch as _torch  # noqa: E402
from matplotlib.colors import ListedColormap as _ListedColormap  # noqa: E402
from matplotlib.patches import Patch as _Patch  # noqa: E402

#: Colours of :data:`fido_lib.symbolic.FLOAT_CLASSES` (normal, subnormal, 0, inf, NaN):
#: the harmless case pale, each failure an Okabe–Ito colour.
FLOAT_CLASS_COLOURS = ["#E8E8E8", "#F0E442", "#0072B2", "#D55E00", "#000000"]


def _check_temps(temps):
    temps = [temps] if isinstance(temps, (int, float)) else list(temps)
    if not temps or not all(isinstance(t, (int, float)) and not isinstance(t, bool) and t > 0 for t in temps):
        raise ValueError(f"temps must be one or more numbers > 0, got {temps!r}")
    return [float(t) for t in temps]


def plot_logistic_noise(n_samples=100_000, seed=0, bins=80):
    """Histogram of the logistic noise ``log(u / (1 − u))``, ``u ~ U(0, 1)``, over its density ``σ(x)σ(−x)``."""
    from fido_lib.concrete import uniform_noise

    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 2:
        raise ValueError(f"n_samples must be an integer >= 2, got {n_samples!r}")
    noise = _torch.logit(uniform_noise(n_samples, dtype=_torch.float64, generator=seed))
    fig, ax = plt.subplots(figsize=(6, 3.4))
    ax.hist(noise.clamp(-10, 10).numpy(), bins=bins, range=(-10, 10), density=True,
            color=OKABE_ITO[1], label=f"{n_samples:,} samples of log(u/(1−u))")
    x = _torch.linspace(-10, 10, 401, dtype=_torch.float64)
    ax.plot(x, _torch.sigmoid(x) * _torch.sigmoid(-x), color=OKABE_ITO[7], lw=2,
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
    from fido_lib.concrete import drop_mask, uniform_noise

    temps = _check_temps(temps)
    if isinstance(logit, bool) or not isinstance(logit, (int, float)) or not _math.isfinite(logit):
        raise ValueError(f"logit must be a finite number, got {logit!r}")
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1:
        raise ValueError(f"n_samples must be an integer >= 1, got {n_samples!r}")
    u = uniform_noise(n_samples, dtype=_torch.float64, generator=seed)
    theta = _torch.full((n_samples,), float(logit), dtype=_torch.float64)
    p = _torch.sigmoid(_torch.tensor(float(logit), dtype=_torch.float64)).item()
    fig, axes = plt.subplots(1, len(temps), figsize=(max(5.0, 2.6 * len(temps) + 0.6), 3.0),
                             sharey=True, squeeze=False)
    colour = RELAXATION_COLOURS.get(relaxation, OKABE_ITO[4])
    for ax, temp in zip(axes[0], temps):
        drop = drop_mask(theta, relaxation=relaxation, temp=temp, u=u).numpy()
        ax.hist(drop, bins=bins, range=(0, 1), weights=[1 / n_samples] * n_samples, color=colour)
        ax.plot([0, 1], [1 - p, p], "o", color=OKABE_ITO[7], ms=5, label="Bernoulli(σ(θ)) masses")
        ax.axvline(drop.mean(), color=OKABE_ITO[5], ls="--", lw=1.5, label="sample mean")
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
    import sympy as sp

    from fido_lib import symbolic as S

    if not (isinstance(eps, (int, float)) and 0 < eps < 1):
        raise ValueError(f"eps must be a number in (0, 1), got {eps!r}")
    if not (isinstance(theta_max, (int, float)) and theta_max > 0):
        raise ValueError(f"theta_max must be a number > 0, got {theta_max!r}")
    f = sp.lambdify((S.theta, S.eps), S.eps_factor(), "numpy")
    f1 = sp.lambdify((S.theta, S.eps), S.eps_factor_first_order(), "numpy")
    th = _torch.linspace(0, theta_max, points, dtype=_torch.float64).numpy()
    big_f, first = f(th, eps), f1(th, eps)
    fig, (ax, ax_log) = plt.subplots(1, 2, figsize=(10, 3.6))
    ax.plot(th, big_f, color=OKABE_ITO[4], lw=2, label="F(θ)")
    ax.plot(th, first, color=OKABE_ITO[5], ls="--", lw=1.5, label="1 − ε(e^θ + e^(−θ))")
    ax.axhline(1, color="0.6", lw=0.8)
    ax.set_ylim(-0.2, 1.1)
    ax.set_xlabel("drop logit θ")
    ax.set_ylabel("F(θ): factor on Gal's gradient")
    ax.set_title(f"ε = {eps:g}")
    ax.legend(fontsize=8, frameon=False, loc="lower left")
    ax_log.semilogy(th, 1 - big_f, color=OKABE_ITO[4], lw=2, label="1 − F(θ)")
    ax_log.semilogy(th, eps * (_torch.exp(_torch.from_numpy(th)) + _torch.exp(-_torch.from_numpy(th))).numpy(),
                    color=OKABE_ITO[5], ls="--", lw=1.5, label="ε(e^θ + e^(−θ))")
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
    from fido_lib.symbolic import FLOAT_CLASSES, float_class

    if not values:
        raise ValueError("values must name at least one tensor")
    zs = _torch.as_tensor(z).double()
    rows = []
    for label, v in values.items():
        if v.shape != zs.shape:
            raise ValueError(f"values[{label!r}] has shape {tuple(v.shape)}, z has {tuple(zs.shape)}")
        rows.append(float_class(v))
    grid = _torch.stack(rows).numpy()
    fig, ax = plt.subplots(figsize=(9, 0.32 * len(rows) + 1.4))
    ax.imshow(grid, aspect="auto", interpolation="nearest", cmap=_ListedColormap(FLOAT_CLASS_COLOURS),
              vmin=-0.5, vmax=len(FLOAT_CLASSES) - 0.5,
              extent=(float(zs[0]), float(zs[-1]), len(rows) - 0.5, -0.5))
    ax.set_yticks(range(len(rows)), list(values))
    ax.set_xlabel("z")
    ax.legend(handles=[_Patch(facecolor=c, edgecolor="0.5", label=n) for n, c in zip(FLOAT_CLASSES, FLOAT_CLASS_COLOURS)],
              ncols=len(FLOAT_CLASSES), loc="lower center", bbox_to_anchor=(0.5, 1.0), fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def plot_gradient_tails(z, grads, true=None, title=None):
    """``|dy/dθ|`` against ``z`` on a log scale; exact zeros and NaN/inf drawn as rugs.

    ``grads``: ``{label: gradient over z}``; labels ``"gal"``, ``"paper"``, ``"stable"``
    (or starting with them) take their :data:`RELAXATION_COLOURS`. ``true``: the exact
    gradient, drawn thin and black. Exact zeros sit on the bottom edge, NaN or inf on the
    top edge, so the tails each implementation loses can be read off.
    """
    if not grads:
        raise ValueError("grads must name at least one gradient")
    zs = _torch.as_tensor(z).double()
    fig, ax = plt.subplots(figsize=(9, 3.8))
    finite_pos = [g.double()[_torch.isfinite(g) & (g != 0)].abs() for g in grads.values()]
    if true is not None:
        finite_pos.append(true.double()[true != 0].abs())
    low = min(float(v.min()) for v in finite_pos if v.numel()) / 1e3
    high = max(float(v.max()) for v in finite_pos if v.numel()) * 1e3
    if true is not None:
        ax.semilogy(zs, true.double().abs(), color=OKABE_ITO[7], lw=0.8, label="exact σ(z)σ(−z)/T")
    for i, (label, g) in enumerate(grads.items()):
        colour = next((c for k, c in RELAXATION_COLOURS.items() if label.startswith(k)), OKABE_ITO[i % 7])
        g = g.detach().double()
        ok = _torch.isfinite(g) & (g != 0)
        # where the curves coincide, the wider ones drawn first stay visible around the thinner
        ax.semilogy(zs[ok], g[ok].abs(), ".", ms=2 + 3 * (len(grads) - 1 - i), color=colour, label=label)
        # rugs just inside the edges, one row per curve so overlapping ones stay visible
        step = (high / low) ** (0.025 + 0.04 * i)
        ax.plot(zs[g == 0], [low * step] * int((g == 0).sum()), "|", color=colour, ms=6)
        ax.plot(zs[~_torch.isfinite(g)], [high / step] * int((~_torch.isfinite(g)).sum()), "x", color=colour, ms=4)
    ax.set_ylim(low, high)
    ax.text(0.01, 0.16, "| below: exact 0", transform=ax.transAxes, fontsize=8)
    ax.text(0.01, 0.80, "x above: NaN or inf", transform=ax.transAxes, fontsize=8)
    ax.set_xlabel("z = (θ + noise) / T")
    ax.set_ylabel("|dy/dθ| (log scale)")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8, loc="upper right", frameon=False, markerscale=4)
    fig.tight_layout()
    return fig
# ==== end concrete ====

# ==== gradient variance (notebook 05) ====
import numpy as _np  # noqa: E402

#: Line style per temperature in the variance figures (colour is the relaxation).
_TEMP_STYLES = ["-", "--", ":", "-."]
_GRAD_LABEL = "L2 norm of the gradient w.r.t. the drop logits"


def _arm_info(result, labels):
    labels = list(result.labels if labels is None else labels)
    arms = {a["label"]: a for a in result.metadata["arms"]}
    for label in labels:
        result.index(label)  # raises a ValueError naming the known labels
    return labels, arms


def _arm_name(arm):
    names = {"gal": "Gal et al.", "paper": "the paper's Function", "stable": "stable (library)"}
    name = f"{names[arm['relaxation']]}, T = {arm['temp']:g}"
    # a label such as "original" says something the formula and T do not: keep it
    return name if arm["label"].startswith(arm["relaxation"]) else f"{arm['label']}: {name}"


def _axes(ax, figsize):
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax.figure, ax


def plot_gradient_norms(result, labels=None, ax=None, alpha=0.35):
    """The supplement's Fig. 1a: the gradient norm of every run at every iteration.

    One thin line per run, coloured by relaxation (:data:`RELAXATION_COLOURS`), line
    style by temperature; ``result`` is a :class:`fido_lib.variance.VarianceResult`.
    """
    labels, arms = _arm_info(result, labels)
    fig, ax = _axes(ax, (6.4, 3.8))
    temps = sorted({arms[label]["temp"] for label in labels})
    for label in labels:
        arm = arms[label]
        trace = result.trace(label)
        steps = _np.arange(trace.shape[1])
        style = _TEMP_STYLES[temps.index(arm["temp"]) % len(_TEMP_STYLES)]
        colour = RELAXATION_COLOURS[arm["relaxation"]]
        for k, run in enumerate(trace):
            ax.plot(steps, run, style, color=colour, lw=0.7, alpha=alpha, label=_arm_name(arm) if k == 0 else None)
    ax.set_xlabel("iteration")
    ax.set_ylabel(_GRAD_LABEL)
    ax.set_title(f"Gradient norm, every one of {result.grad_norm.shape[1]} runs")
    leg = ax.legend(fontsize="small")
    for line in leg.get_lines():
        line.set_alpha(1.0)
    return fig


def plot_across_run_std(result, labels=None, ax=None):
    """The supplement's Fig. 1b: the std (ddof 1) of the gradient norm across runs, per iteration."""
    from .variance import across_run_std

    labels, arms = _arm_info(result, labels)
    fig, ax = _axes(ax, (6.4, 3.8))
    temps = sorted({arms[label]["temp"] for label in labels})
    for label in labels:
        arm = arms[label]
        std = across_run_std(result.trace(label))
        style = _TEMP_STYLES[temps.index(arm["temp"]) % len(_TEMP_STYLES)]
        ax.plot(_np.arange(std.size), std, style, color=RELAXATION_COLOURS[arm["relaxation"]], lw=1.5, label=_arm_name(arm))
    ax.set_xlabel("iteration")
    ax.set_ylabel("std of the gradient norm across runs")
    ax.set_title(f"Spread across {result.grad_norm.shape[1]} runs")
    ax.legend(fontsize="small")
    return fig


def plot_figure1(result, labels=None):
    """Fig. 1a and 1b of the supplement side by side."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 3.8), layout="constrained")
    plot_gradient_norms(result, labels, ax=a)
    plot_across_run_std(result, labels, ax=b)
    return fig


def plot_variance_ablation(result, measure="step", skip=10):
    """The 2 × 2 {formula} × {temperature} with paired noise, in three panels.

    (a) across-run std per iteration for every arm; (b) each run's noise (``measure``
    from iteration ``skip`` on, see :func:`fido_lib.variance.compare`) for the two
    formulas at the same temperature — on the diagonal if the formula does not
    matter; (c) the same for the two temperatures with the formula fixed.
    """
    from .variance import MEASURES

    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {', '.join(map(repr, MEASURES))}; got {measure!r}")
    labels, arms = _arm_info(result, None)
    relaxations = sorted({arms[label]["relaxation"] for label in labels}, key=list(RELAXATION_COLOURS).index)
    temps = sorted({arms[label]["temp"] for label in labels})
    if len(relaxations) != 2 or len(temps) != 2 or len(labels) != 4:
        raise ValueError(
            f"result must hold the 2 x 2 of two relaxations x two temperatures, got relaxations "
            f"{relaxations} and temperatures {temps} in {len(labels)} arms"
        )
    by = {(arms[label]["relaxation"], arms[label]["temp"]): label for label in labels}
    noise = {label: MEASURES[measure](result.trace(label), skip) for label in labels}
    what = {"step": "step-to-step noise", "std": "std over iterations"}[measure]

    fig, (a, b, c) = plt.subplots(1, 3, figsize=(14, 4.2), layout="constrained")
    plot_across_run_std(result, ax=a)
    a.set_title("(a) spread across runs")

    def scatter(ax, pairs, colours, names, xname, yname, title):
        lo = min(min(noise[x].min(), noise[y].min()) for x, y in pairs)
        hi = max(max(noise[x].max(), noise[y].max()) for x, y in pairs)
        pad = 0.05 * (hi - lo)
        ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="#777777", lw=0.8, zorder=0, label="equal")
        for (x, y), colour, name in zip(pairs, colours, names):
            ax.scatter(noise[x], noise[y], s=18, color=colour, alpha=0.8, label=name)
        ax.set_xlabel(f"{xname}: per-run {what}")
        ax.set_ylabel(f"{yname}: per-run {what}")
        ax.set_title(title)
        ax.set_aspect("equal", adjustable="datalim")
        ax.legend(fontsize="small")

    r0, r1 = relaxations
    scatter(
        b,
        [(by[r0, t], by[r1, t]) for t in temps],
        OKABE_ITO[:2],
        [f"T = {t:g}" for t in temps],
        r0,
        r1,
        "(b) formula changed, temperature fixed",
    )
    t0, t1 = temps
    scatter(
        c,
        [(by[r, t0], by[r, t1]) for r in relaxations],
        [RELAXATION_COLOURS[r] for r in relaxations],
        relaxations,
        f"T = {t0:g}",
        f"T = {t1:g}",
        "(c) temperature changed, formula fixed",
    )
    fig.suptitle(f"Paired noise, {result.grad_norm.shape[1]} runs x {result.grad_norm.shape[2]} iterations (iterations {skip}+ in b, c)")
    return fig


def plot_drop_samples(image, infill, drops):
    """The input, its infill, and relaxed drop masks with the images they make.

    ``image`` / ``infill``: ``(3, H, W)`` tensors; ``drops``: ``{row label: (samples, H, W)
    drop masks}``. Row by row: each mask (cividis, 0 = keep, 1 = drop) above the
    image ``(1 - drop) · image + drop · infill`` it makes. Images are min–max scaled
    together for display.
    """
    image, infill = _torch.as_tensor(image).detach().cpu(), _torch.as_tensor(infill).detach().cpu()
    lo, hi = float(_torch.minimum(image.min(), infill.min())), float(_torch.maximum(image.max(), infill.max()))

    def show(t):
        return ((t - lo) / (hi - lo)).clamp(0, 1).permute(1, 2, 0).numpy()

    n = max(d.shape[0] for d in drops.values())
    rows = 1 + 2 * len(drops)
    fig, axes = plt.subplots(rows, n, figsize=(1.5 * n + 1.2, 1.5 * rows), layout="constrained", squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    axes[0, 0].imshow(show(image))
    axes[0, 0].set_title("input", fontsize="small")
    axes[0, 1].imshow(show(infill))
    axes[0, 1].set_title("infill (blur)", fontsize="small")
    for r, (label, drop) in enumerate(drops.items()):
        drop = _torch.as_tensor(drop).detach().cpu().float()
        for k in range(drop.shape[0]):
            im = axes[1 + 2 * r, k].imshow(drop[k].numpy(), cmap="cividis", vmin=0, vmax=1)
            axes[2 + 2 * r, k].imshow(show((1 - drop[k]) * image + drop[k] * infill))
        axes[1 + 2 * r, 0].set_title(f"{label}: drop masks", fontsize="small", loc="left")
        axes[2 + 2 * r, 0].set_title("images they make", fontsize="small", loc="left")
    fig.colorbar(im, ax=axes[1:, -1], shrink=0.6, label="drop (1 = infill)")
    return fig


def plot_noise_vs_samples(samples, noise, ax=None):
    """Median per-run noise against samples per step, one line per label.

    ``samples``: the sample counts; ``noise``: ``{label: [value per sample count]}``.
    """
    fig, ax = _axes(ax, (5.2, 3.6))
    palette = [c for c in OKABE_ITO if c != "#F0E442"]  # yellow is hard to see as a line on white
    for k, (label, values) in enumerate(noise.items()):
        ax.plot(samples, values, "o-", color=palette[k % len(palette)], label=label)
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(samples), [str(s) for s in samples])
    ax.set_xlabel("samples per step")
    ax.set_ylabel("median per-run noise of the gradient norm")
    ax.legend(fontsize="small")
    return fig
# ==== end variance ====

# ==== FIDO masks (notebook 04) ====
import torch as _fido_torch  # noqa: E402


def _fido_grey(image):
    """The photo as a light grey background, so a colour map on top reads unambiguously."""
    grey = (0.299 * image[0] + 0.587 * image[1] + 0.114 * image[2]).clamp(0, 1)
    return 0.35 + 0.6 * grey


def _fido_overlay(ax, image, heat, title, alpha=0.6):
    ax.imshow(_fido_grey(image).numpy(), cmap="gray", vmin=0, vmax=1)
    im = ax.imshow(heat.numpy(), cmap="viridis", vmin=0, vmax=1, alpha=alpha)
    ax.set_title(title, fontsize=9)
    ax.set_axis_off()
    return im


def _fido_photo(ax, image, title):
    ax.imshow(image.permute(1, 2, 0).clamp(0, 1).numpy())
    ax.set_title(title, fontsize=9)
    ax.set_axis_off()


def _fido_maps(result):
    maps = []
    if result.ssr is not None:
        maps.append(("SSR: keep probability", result.ssr))
    if result.sdr is not None:
        maps.append(("SDR: drop probability", result.sdr))
    if result.joint is not None:
        maps.append(("joint: √(SSR·SDR)", result.joint))
    return maps


def plot_fido_scores(result, ax=None, colour=None, label=None):
    """Target probability of the SSR and SDR samples per iteration (solid SSR, dashed SDR)."""
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(4, 3))
    colour = colour or RELAXATION_COLOURS.get(result.config.relaxation, OKABE_ITO[0])
    prefix = f"{label} " if label else ""
    for name, style in (("ssr", "-"), ("sdr", "--")):
        key = f"{name}_prob"
        if key in result.history:
            ax.plot(range(1, len(result.history[key]) + 1), result.history[key], style, color=colour, label=f"{prefix}{name.upper()}")
    ax.axhline(result.original_prob, color=OKABE_ITO[7], lw=0.8, ls=":", label="unchanged photo")
    ax.set_xlabel("iteration")
    ax.set_ylabel(f"p({result.target_name}) on samples")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=7, loc="center right")
    return fig if fig is not None else ax.figure


def plot_fido_result(result):
    """One fit at a glance: the photo, the SSR / SDR / joint maps over it, the photo
    with each expected mask applied, the infill, and the target's probability per iteration."""
    maps = _fido_maps(result)
    fig, axes = plt.subplots(2, 4, figsize=(13, 6.4), constrained_layout=True)
    top, bottom = axes
    _fido_photo(top[0], result.image, f"photo ({result.target_name}: p = {result.original_prob:.2f})")
    im = None
    for ax, (title, heat) in zip(top[1:], maps):
        im = _fido_overlay(ax, result.image, heat, title)
    for ax in top[1 + len(maps):]:
        ax.set_axis_off()
    if im is not None:
        fig.colorbar(im, ax=list(top[1:]), shrink=0.8, label="probability")
    panels = []
    if result.ssr is not None:
        panels.append(("SSR kept, rest infilled", result.infilled("ssr")))
    if result.sdr is not None:
        panels.append(("SDR region infilled", result.infilled("sdr")))
    panels.append((f"infill: {result.config.infill}", result.infill))
    for ax, (title, img) in zip(bottom[:3], panels):
        _fido_photo(ax, img, title)
    for ax in bottom[len(panels):3]:
        ax.set_axis_off()
    plot_fido_scores(result, ax=bottom[3])
    state = "" if result.complete else f" — INCOMPLETE, {result.iterations_done} iterations"
    fig.suptitle(f"FIDO, relaxation '{result.config.relaxation}', {result.seconds:.0f} s{state}", fontsize=11)
    return fig


def plot_fido_comparison(results):
    """Several fits of the same photo side by side, one row each (e.g. ``{"stable": r1, "paper": r2}``):
    SSR, SDR and joint maps over the photo, and the target's probability per iteration."""
    if not results:
        raise ValueError("results must hold at least one FidoResult")
    rows = list(results.items())
    n_maps = max(len(_fido_maps(r)) for _, r in rows)
    fig, axes = plt.subplots(len(rows), n_maps + 2, figsize=(3.2 * (n_maps + 2), 3.0 * len(rows)), constrained_layout=True, squeeze=False)
    im = None
    for (label, r), ax_row in zip(rows, axes):
        _fido_photo(ax_row[0], r.image, f"{label}: {r.target_name}")
        for ax, (title, heat) in zip(ax_row[1:], _fido_maps(r)):
            im = _fido_overlay(ax, r.image, heat, f"{label} — {title}")
        plot_fido_scores(r, ax=ax_row[-1], colour=RELAXATION_COLOURS.get(r.config.relaxation, OKABE_ITO[0]))
    if im is not None:
        fig.colorbar(im, ax=axes[:, 1:-1].ravel().tolist(), shrink=0.7, label="probability")
    return fig


def plot_infills(image, infills):
    """The photo and each infill image (``{"blur": tensor, ...}``) side by side."""
    fig, axes = plt.subplots(1, len(infills) + 1, figsize=(2.6 * (len(infills) + 1), 2.9), constrained_layout=True)
    _fido_photo(axes[0], image, "photo")
    for ax, (name, img) in zip(axes[1:], infills.items()):
        _fido_photo(ax, img, name)
    return fig


def plot_deletion_insertion(deletion, insertion, random_deletion=None, random_insertion=None):
    """Deletion and insertion curves: ``{label: (fractions, probabilities)}`` per panel,
    with the random-order curves (grey) where given."""
    fig, (ax_d, ax_i) = plt.subplots(1, 2, figsize=(9, 3.4), constrained_layout=True)
    for ax, curves, rand, title in (
        (ax_d, deletion, random_deletion, "deletion (SDR order; lower is better)"),
        (ax_i, insertion, random_insertion, "insertion (SSR order; higher is better)"),
    ):
        for k, (label, (f, s)) in enumerate(curves.items()):
            colour = RELAXATION_COLOURS.get(label, OKABE_ITO[k % len(OKABE_ITO)])
            ax.plot(_fido_torch.as_tensor(f).numpy(), _fido_torch.as_tensor(s).numpy(), color=colour, label=label)
        if rand is not None:
            f, s = rand
            ax.plot(_fido_torch.as_tensor(f).numpy(), _fido_torch.as_tensor(s).numpy(), color="0.5", ls="--", label="random order")
        ax.set_xlabel("fraction of pixels changed")
        ax.set_ylabel("target probability")
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8)
    return fig
# ==== end fido ====

# ==== mask quality (notebook 06) ====
import numpy as _mq_np  # noqa: E402

#: Line style per temperature and marker per relaxation in the mask-quality figures (colour = relaxation).
_MQ_STYLES = {0.1: "-", 1.0: "--"}
_MQ_MARKERS = {"gal": "o", "stable": "s", "paper": "^"}
_MQ_LABELS = {
    "ssr_mass": "SSR: share of map mass on the part",
    "sdr_mass": "SDR: share of map mass on the part",
    "joint_mass": "joint: share of map mass on the part",
    "ssr_pointing": "SSR: pointing game (hit rate)",
    "sdr_pointing": "SDR: pointing game (hit rate)",
    "ssr_iou": "SSR: IoU, top-|part| pixels",
    "sdr_iou": "SDR: IoU, top-|part| pixels",
    "ssr_agree": "SSR: correlation of two seeds' maps",
    "sdr_agree": "SDR: correlation of two seeds' maps",
    "ssr_prob": "SSR: target probability, kept image",
    "sdr_prob": "SDR: target probability, dropped image",
    "ssr_tv": "SSR: total variation of the map",
    "sdr_tv": "SDR: total variation of the map",
    "ssr_area": "SSR: mean keep probability (area)",
    "sdr_area": "SDR: mean drop probability (area)",
    "seconds": "time per fit (s)",
}


def _mq_setting_label(rel, temp):
    name = {"gal": "Gal", "stable": "simplified", "paper": "simplified (paper's Function)"}.get(rel, rel)
    return f"{name}, T = {temp:g}"


def plot_toy_birds(birds, n=8, columns=8):
    """The first ``n`` toy-bird images, each with its class and the part's outline (cyan)."""
    n = min(n, len(birds))
    rows = -(-n // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(1.6 * columns, 1.8 * rows), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if k >= n:
            continue
        ax.imshow(birds.images[k].permute(1, 2, 0).numpy(), interpolation="nearest")
        ax.contour(birds.part_masks[k].float().numpy(), [0.5], colors="cyan", linewidths=0.8)
        ax.set_title(birds.class_names[int(birds.labels[k])], fontsize=8)
    fig.tight_layout()
    return fig


def plot_mask_quality(results, metrics=("ssr_mass", "sdr_mass", "ssr_agree", "seconds"), columns=2):
    """Each metric against the mini-batch size, one line per (relaxation, temperature):
    colour = relaxation, solid T = 0.1, dashed T = 1.0; bars = 95 % bootstrap intervals over images."""
    from .mask_quality import per_image, bootstrap_ci

    settings = results.config["settings"]
    sizes = _mq_np.asarray(results.config["batch_sizes"], dtype=float)
    rows = -(-len(metrics) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 3.4 * rows), squeeze=False)
    for ax, metric in zip(axes.flat, metrics):
        values = per_image(results, metric)
        for s, (rel, temp) in enumerate(settings):
            stats = _mq_np.array([bootstrap_ci(values[s, b]) for b in range(len(sizes))])
            shift = 1 + 0.04 * (s - (len(settings) - 1) / 2)  # side by side, so the bars do not hide each other
            ax.errorbar(sizes * shift, stats[:, 0], yerr=[stats[:, 0] - stats[:, 1], stats[:, 2] - stats[:, 0]],
                        color=RELAXATION_COLOURS.get(rel, OKABE_ITO[s % 8]), linestyle=_MQ_STYLES.get(temp, ":"),
                        marker=_MQ_MARKERS.get(rel, "o"), markersize=3.5, capsize=2, label=_mq_setting_label(rel, temp))
        ax.set_xscale("log", base=2)
        ax.set_xticks(sizes, [f"{int(b)}" for b in sizes])
        ax.set_xlabel("mini-batch size B (samples per mask per step)")
        ax.set_ylabel(_MQ_LABELS.get(metric, metric))
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(metrics):]:
        ax.set_axis_off()
    axes.flat[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_mask_gallery(image, part, maps, settings, batch_sizes, title="SSR keep probability"):
    """Maps of one image: a row per (relaxation, temperature), a column per mini-batch size.
    ``maps``: array (settings, batch sizes, H, W) in [0, 1]."""
    rows, cols = len(settings), len(batch_sizes)
    fig, axes = plt.subplots(rows, cols + 1, figsize=(1.7 * (cols + 1), 1.8 * rows), squeeze=False)
    for r, (rel, temp) in enumerate(settings):
        ax = axes[r, 0]
        ax.imshow(image.permute(1, 2, 0).numpy(), interpolation="nearest")
        ax.contour(part.float().numpy(), [0.5], colors="cyan", linewidths=0.8)
        ax.set_axis_off()
        ax.text(-0.08, 0.5, _mq_setting_label(rel, temp), transform=ax.transAxes, rotation=90,
                ha="right", va="center", fontsize=8)
        for c, b in enumerate(batch_sizes):
            ax = axes[r, c + 1]
            im = ax.imshow(_mq_np.asarray(maps[r, c]), cmap="viridis", vmin=0, vmax=1)
            ax.contour(part.float().numpy(), [0.5], colors="white", linewidths=1.0)
            ax.set_axis_off()
            if r == 0:
                ax.set_title(f"B = {b}", fontsize=9)
    fig.suptitle(f"{title} (white: the part)", fontsize=10)
    fig.colorbar(im, ax=axes[:, 1:], shrink=0.8, label="probability")
    return fig


def plot_crop_accuracy(crop):
    """Accuracy of the classifier on the whole photo and on crops, with 95 % bootstrap intervals."""
    from .mask_quality import bootstrap_ci

    names = list(crop["correct"])
    stats = _mq_np.array([bootstrap_ci(crop["correct"][k].astype(float)) for k in names])
    fig, ax = plt.subplots(figsize=(6.4, 0.45 * len(names) + 1.2))
    y = _mq_np.arange(len(names))[::-1]
    colours = ["#999999" if not k.startswith("FIDO") else
               RELAXATION_COLOURS["gal" if "gal" in k else "stable"] for k in names]
    ax.barh(y, stats[:, 0], xerr=[stats[:, 0] - stats[:, 1], stats[:, 2] - stats[:, 0]], color=colours,
            alpha=0.85, capsize=3)
    ax.set_yticks(y, names)
    ax.set_xlim(0, 1)
    ax.axvline(0.25, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel(f"accuracy on {len(crop['labels'])} photos (dotted: chance)")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig
# ==== end mask quality ====
