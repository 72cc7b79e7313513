"""Figures of notebook 05: the gradient-variance study (the supplement's Sect. S2, Fig. 1) and its ablation.

The plots take a result duck-typed: anything with ``labels``, ``grad_norm`` of shape
``(arms, runs, iterations)``, ``trace(label)``, ``index(label)`` and ``metadata["arms"]``
(e.g. the variance experiment's ``VarianceResult``); the statistics come from
:mod:`fido_lib.stats`.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from ..stats import MEASURES, across_run_std
from .style import OKABE_ITO, RELAXATION_COLOURS

__all__ = [
    "plot_gradient_norms",
    "plot_across_run_std",
    "plot_figure1",
    "plot_variance_ablation",
    "plot_drop_samples",
    "plot_noise_vs_samples",
    "plot_gradient_maps",
]

#: Line style per temperature (and sign handling) in the variance figures (colour is the relaxation).
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
    if arm.get("sample_as", "drop") == "keep":
        name += ", output used as keep"
    # a label such as "original" says something the formula and T do not: keep it
    return name if arm["label"].startswith(arm["relaxation"]) else f"{arm['label']}: {name}"


def _style_key(arm):
    # line style per (temperature, sign handling): arms of one relaxation differ in one of them
    return (arm["temp"], arm.get("sample_as", "drop"))


def _axes(ax, figsize):
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax.figure, ax


def plot_gradient_norms(result, labels=None, ax=None, alpha=0.35):
    """The supplement's Fig. 1a: the gradient norm of every run at every iteration.

    One thin line per run, coloured by relaxation (:data:`RELAXATION_COLOURS`), line
    style by temperature and sign handling (``sample_as``); ``result``: the variance
    experiment's ``VarianceResult`` (see above).
    """
    labels, arms = _arm_info(result, labels)
    fig, ax = _axes(ax, (6.4, 3.8))
    styles = sorted({_style_key(arms[label]) for label in labels})
    for label in labels:
        arm = arms[label]
        trace = result.trace(label)
        steps = np.arange(trace.shape[1])
        style = _TEMP_STYLES[styles.index(_style_key(arm)) % len(_TEMP_STYLES)]
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
    labels, arms = _arm_info(result, labels)
    fig, ax = _axes(ax, (6.4, 3.8))
    styles = sorted({_style_key(arms[label]) for label in labels})
    for label in labels:
        arm = arms[label]
        std = across_run_std(result.trace(label))
        style = _TEMP_STYLES[styles.index(_style_key(arm)) % len(_TEMP_STYLES)]
        ax.plot(np.arange(std.size), std, style, color=RELAXATION_COLOURS[arm["relaxation"]], lw=1.5,
                label=_arm_name(arm))
    ax.set_xlabel("iteration")
    ax.set_ylabel("std of the gradient norm across runs")
    ax.set_title(f"Spread across {result.grad_norm.shape[1]} runs")
    ax.legend(fontsize="small")
    return fig


def plot_figure1(result, labels=None):
    """Fig. 1a and 1b of the supplement side by side, with one legend for both below them."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 3.8), layout="constrained")
    plot_gradient_norms(result, labels, ax=a)
    plot_across_run_std(result, labels, ax=b)
    handles, names = b.get_legend_handles_labels()  # one line per arm
    for ax in (a, b):
        ax.get_legend().remove()
    fig.legend(handles, names, loc="outside lower center", ncols=min(len(names), 2), fontsize="small")
    return fig


def plot_variance_ablation(result, measure="step", skip=10):
    """The 2 × 2 {formula} × {temperature} with paired noise, in three panels.

    (a) across-run std per iteration for every arm; (b) each run's noise (``measure``
    from iteration ``skip`` on, see :data:`fido_lib.stats.MEASURES`) for the two
    formulas at the same temperature — on the diagonal if the formula does not
    matter; (c) the same for the two temperatures with the formula fixed.
    """
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
        for (x, y), colour, name in zip(pairs, colours, names, strict=True):
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
    runs, iterations = result.grad_norm.shape[1:]
    fig.suptitle(f"Paired noise, {runs} runs x {iterations} iterations (iterations {skip}+ in b, c)")
    return fig


def plot_drop_samples(image, infill, drops):
    """The input, its infill, and relaxed drop masks with the images they make.

    ``image`` / ``infill``: ``(3, H, W)`` tensors; ``drops``: ``{row label: (samples, H, W)
    drop masks}``. Row by row: each mask (cividis, 0 = keep, 1 = drop) above the
    image ``(1 - drop) · image + drop · infill`` it makes. Images are min–max scaled
    together for display.
    """
    image, infill = torch.as_tensor(image).detach().cpu(), torch.as_tensor(infill).detach().cpu()
    lo, hi = float(torch.minimum(image.min(), infill.min())), float(torch.maximum(image.max(), infill.max()))

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
        drop = torch.as_tensor(drop).detach().cpu().float()
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


def plot_gradient_maps(maps, *, columns=4, quantile=0.99):
    """Per-pixel gradient of the data term w.r.t. the drop logits, one row per setting.

    ``maps``: ``{row label: (samples, H, W) per-sample gradients}`` (e.g. the
    ``per_sample`` part of the variance experiment's ``step_gradient``). The first
    ``columns`` panels of a row show single samples, the last one their mean — the
    gradient the optimiser sees. Diverging colours (``RdBu_r``, 0 = white), symmetric
    limits per row at the ``quantile`` of the row's ``|gradient|``, printed on the row,
    so that both rows can be read although their scales differ.
    """
    if not isinstance(maps, dict) or not maps:
        raise ValueError(f"maps must be a non-empty dict {{label: (samples, H, W) tensor}}, got {type(maps).__name__}")
    rows = {}
    for label, g in maps.items():
        g = torch.as_tensor(g).detach().cpu().double()
        if g.ndim != 3:
            raise ValueError(f"maps[{label!r}] must have shape (samples, H, W), got {tuple(g.shape)}")
        rows[label] = g
    n = min(columns, min(g.shape[0] for g in rows.values()))
    fig, axes = plt.subplots(len(rows), n + 1, figsize=(1.7 * (n + 1) + 1.0, 1.8 * len(rows)),
                             layout="constrained", squeeze=False)
    for r, (label, g) in enumerate(rows.items()):
        panels = [g[k] for k in range(n)] + [g.mean(0)]
        limit = float(torch.quantile(g.abs().flatten(), quantile)) or 1.0
        for c, panel in enumerate(panels):
            ax = axes[r, c]
            im = ax.imshow(panel.numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"sample {c + 1}" if c < n else f"mean of {g.shape[0]}", fontsize="small")
        axes[r, 0].set_ylabel(label, fontsize="small")
        fig.colorbar(im, ax=axes[r, -1], shrink=0.85, label=f"±{limit:.1e}")
    return fig
