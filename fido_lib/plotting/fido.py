"""Figures of notebook 04: FIDO masks over the photo, fits side by side, infills, deletion/insertion.

The plots take a ``FidoResult`` (:mod:`fido_lib.fido`) duck-typed: ``image``, ``ssr``,
``sdr``, ``joint``, ``infill``, ``history``, ``config``, ``target_name``, ``original_prob``.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import torch

from .style import OKABE_ITO, RELAXATION_COLOURS

__all__ = ["plot_fido_scores", "plot_fido_result", "plot_fido_comparison", "plot_infills", "plot_deletion_insertion"]


def _grey(image):
    """The photo as a light grey background, so a colour map on top reads unambiguously."""
    grey = (0.299 * image[0] + 0.587 * image[1] + 0.114 * image[2]).clamp(0, 1)
    return 0.35 + 0.6 * grey


def _overlay(ax, image, heat, title, alpha=0.6):
    ax.imshow(_grey(image).numpy(), cmap="gray", vmin=0, vmax=1)
    im = ax.imshow(heat.numpy(), cmap="viridis", vmin=0, vmax=1, alpha=alpha)
    ax.set_title(title, fontsize=9)
    ax.set_axis_off()
    return im


def _photo(ax, image, title):
    ax.imshow(image.permute(1, 2, 0).clamp(0, 1).numpy())
    ax.set_title(title, fontsize=9)
    ax.set_axis_off()


def _maps(result):
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
            ax.plot(range(1, len(result.history[key]) + 1), result.history[key], style, color=colour,
                    label=f"{prefix}{name.upper()}")
    ax.axhline(result.original_prob, color=OKABE_ITO[7], lw=0.8, ls=":", label="unchanged photo")
    ax.set_xlabel("iteration")
    ax.set_ylabel(f"p({result.target_name}) on samples")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=7, loc="center right")
    return fig if fig is not None else ax.figure


def plot_fido_result(result):
    """One fit at a glance: the photo, the SSR / SDR / joint maps over it, the photo
    with each expected mask applied, the infill, and the target's probability per iteration."""
    maps = _maps(result)
    fig, axes = plt.subplots(2, 4, figsize=(13, 6.4), constrained_layout=True)
    top, bottom = axes
    _photo(top[0], result.image, f"photo ({result.target_name}: p = {result.original_prob:.2f})")
    im = None
    for ax, (title, heat) in zip(top[1:], maps, strict=False):
        im = _overlay(ax, result.image, heat, title)
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
    for ax, (title, img) in zip(bottom[:3], panels, strict=False):
        _photo(ax, img, title)
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
    n_maps = max(len(_maps(r)) for _, r in rows)
    fig, axes = plt.subplots(len(rows), n_maps + 2, figsize=(3.2 * (n_maps + 2), 3.0 * len(rows)),
                             constrained_layout=True, squeeze=False)
    im = None
    for (label, r), ax_row in zip(rows, axes, strict=True):
        _photo(ax_row[0], r.image, f"{label}: {r.target_name}")
        for ax, (title, heat) in zip(ax_row[1:], _maps(r), strict=False):
            im = _overlay(ax, r.image, heat, f"{label} — {title}")
        plot_fido_scores(r, ax=ax_row[-1], colour=RELAXATION_COLOURS.get(r.config.relaxation, OKABE_ITO[0]))
    if im is not None:
        fig.colorbar(im, ax=axes[:, 1:-1].ravel().tolist(), shrink=0.7, label="probability")
    return fig


def plot_infills(image, infills):
    """The photo and each infill image (``{"blur": tensor, ...}``) side by side."""
    fig, axes = plt.subplots(1, len(infills) + 1, figsize=(2.6 * (len(infills) + 1), 2.9), constrained_layout=True)
    _photo(axes[0], image, "photo")
    for ax, (name, img) in zip(axes[1:], infills.items(), strict=True):
        _photo(ax, img, name)
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
            ax.plot(torch.as_tensor(f).numpy(), torch.as_tensor(s).numpy(), color=colour, label=label)
        if rand is not None:
            f, s = rand
            ax.plot(torch.as_tensor(f).numpy(), torch.as_tensor(s).numpy(), color="0.5", ls="--", label="random order")
        ax.set_xlabel("fraction of pixels changed")
        ax.set_ylabel("target probability")
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8)
    return fig
