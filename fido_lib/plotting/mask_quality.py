"""Figures of notebook 06: toy birds, mask quality against the mini-batch size, map galleries, crop accuracy.

The plots take the study's results duck-typed: ``config["settings"]`` (pairs of
relaxation and temperature), ``config["batch_sizes"]`` and ``metric(name)``, an array
(settings, batch sizes, images[, noise seeds]); intervals come from :mod:`fido_lib.stats`.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..stats import bootstrap_ci
from .style import OKABE_ITO, RELAXATION_COLOURS

__all__ = [
    "plot_toy_birds",
    "plot_mask_quality",
    "plot_mask_gallery",
    "plot_crop_accuracy",
    "plot_paired_differences",
    "plot_crop_examples",
]

#: Line style per temperature and marker per relaxation in the mask-quality figures (colour = relaxation).
_STYLES = {0.1: "-", 1.0: "--"}
_MARKERS = {"gal": "o", "stable": "s", "paper": "^"}
_LABELS = {
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


def _setting_label(rel, temp):
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
    settings = results.config["settings"]
    sizes = np.asarray(results.config["batch_sizes"], dtype=float)
    rows = -(-len(metrics) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 3.4 * rows), squeeze=False)
    for ax, metric in zip(axes.flat, metrics, strict=False):
        values = results.per_image(metric)
        for s, (rel, temp) in enumerate(settings):
            stats = np.array([bootstrap_ci(values[s, b], omit_nan=True) for b in range(len(sizes))])
            shift = 1 + 0.04 * (s - (len(settings) - 1) / 2)  # side by side, so the bars do not hide each other
            ax.errorbar(sizes * shift, stats[:, 0], yerr=[stats[:, 0] - stats[:, 1], stats[:, 2] - stats[:, 0]],
                        color=RELAXATION_COLOURS.get(rel, OKABE_ITO[s % 8]), linestyle=_STYLES.get(temp, ":"),
                        marker=_MARKERS.get(rel, "o"), markersize=3.5, capsize=2, label=_setting_label(rel, temp))
        ax.set_xscale("log", base=2)
        ax.set_xticks(sizes, [f"{int(b)}" for b in sizes])
        ax.set_xlabel("mini-batch size B (samples per mask per step)")
        ax.set_ylabel(_LABELS.get(metric, metric))
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
        ax.text(-0.08, 0.5, _setting_label(rel, temp), transform=ax.transAxes, rotation=90,
                ha="right", va="center", fontsize=8)
        for c, b in enumerate(batch_sizes):
            ax = axes[r, c + 1]
            im = ax.imshow(np.asarray(maps[r, c]), cmap="viridis", vmin=0, vmax=1)
            ax.contour(part.float().numpy(), [0.5], colors="white", linewidths=1.0)
            ax.set_axis_off()
            if r == 0:
                ax.set_title(f"B = {b}", fontsize=9)
    fig.suptitle(f"{title} (white: the part)", fontsize=10)
    fig.colorbar(im, ax=axes[:, 1:], shrink=0.8, label="probability")
    return fig


def plot_crop_accuracy(crop):
    """Accuracy of the classifier on the whole photo and on crops, with 95 % bootstrap intervals."""
    names = list(crop["correct"])
    stats = np.array([bootstrap_ci(crop["correct"][k].astype(float), omit_nan=True) for k in names])
    fig, ax = plt.subplots(figsize=(6.4, 0.45 * len(names) + 1.2))
    y = np.arange(len(names))[::-1]
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


def plot_paired_differences(differences, batch_sizes, metrics, colours=None):
    """Paired differences between settings against the mini-batch size, one panel per metric.

    ``differences``: ``{comparison label: {metric: [(mean, low, high) per batch size]}}``
    (e.g. from the mask-quality study's ``paired_difference``: mean over images of
    score(a) − score(b) with its 95 % bootstrap interval); a dotted line marks 0 (no
    difference). ``colours``: ``{comparison label: colour}``, default Okabe–Ito.
    """
    if not isinstance(differences, dict) or not differences:
        raise ValueError("differences must be a non-empty dict {comparison: {metric: [(mean, low, high), ...]}}")
    sizes = np.asarray(batch_sizes, dtype=float)
    metrics = list(metrics)
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.3 * len(metrics), 3.4), squeeze=False, layout="constrained")
    palette = [c for c in OKABE_ITO if c != "#F0E442"]
    for k, (name, by_metric) in enumerate(differences.items()):
        colour = (colours or {}).get(name, palette[k % len(palette)])
        shift = 1 + 0.05 * (k - (len(differences) - 1) / 2)  # side by side, so the bars do not hide each other
        for ax, metric in zip(axes.flat, metrics, strict=True):
            v = np.asarray(by_metric[metric], dtype=float)
            if v.shape != (sizes.size, 3):
                raise ValueError(f"differences[{name!r}][{metric!r}] must hold one (mean, low, high) per batch size")
            ax.errorbar(sizes * shift, v[:, 0], yerr=[v[:, 0] - v[:, 1], v[:, 2] - v[:, 0]], color=colour,
                        marker="o", markersize=3.5, capsize=2, label=name)
    for ax, metric in zip(axes.flat, metrics, strict=True):
        ax.axhline(0, color="grey", linestyle=":", linewidth=1)
        ax.set_xscale("log", base=2)
        ax.set_xticks(sizes, [f"{int(b)}" for b in sizes])
        ax.set_xlabel("mini-batch size B")
        ax.set_ylabel("difference in " + _LABELS.get(metric, metric).replace(": ", ", "), fontsize="small")
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=7)
    return fig


def plot_crop_examples(photos, windows, side, part_masks=None, colours=None):
    """Photos with their crop windows, and the crops the classifier sees.

    ``photos``: list of (3, H, W) tensors; ``windows``: one ``{name: (x0, y0)}`` per
    photo (top-left corners of ``side`` × ``side`` windows); ``part_masks``: optional
    (H, W) bool masks outlined in cyan. A row per photo: the photo with every window
    drawn, then each crop. ``colours``: ``{name: colour}``; FIDO crops default to
    their relaxation's colour when the name holds "gal" or "stable".
    """
    if len(photos) != len(windows) or not photos:
        raise ValueError("photos and windows must be non-empty lists of the same length, "
                         f"got {len(photos)} and {len(windows)}")
    names = list(windows[0])
    palette = iter(["#000000", "#CC79A7", "#56B4E9", "#E69F00"])

    def colour(name):
        if colours and name in colours:
            return colours[name]
        for rel in RELAXATION_COLOURS:
            if name.startswith("FIDO") and f"({rel}" in name:
                return RELAXATION_COLOURS[rel]
        return None

    auto = {n: colour(n) or next(palette, "#999999") for n in names}
    fig, axes = plt.subplots(len(photos), len(names) + 1, figsize=(1.75 * (len(names) + 1), 1.9 * len(photos)),
                             squeeze=False, layout="constrained")
    for r, (photo, boxes) in enumerate(zip(photos, windows, strict=True)):
        img = np.asarray(photo.permute(1, 2, 0).clamp(0, 1))
        ax = axes[r, 0]
        ax.imshow(img, interpolation="nearest")
        if part_masks is not None:
            ax.contour(np.asarray(part_masks[r], dtype=float), [0.5], colors="cyan", linewidths=0.8)
        for name in names:
            x0, y0 = boxes[name]
            ax.add_patch(plt.Rectangle((x0 - 0.5, y0 - 0.5), side, side, fill=False, edgecolor=auto[name],
                                       linewidth=1.4))
        for c, name in enumerate(names):
            x0, y0 = boxes[name]
            axc = axes[r, c + 1]
            axc.imshow(img[y0:y0 + side, x0:x0 + side], interpolation="nearest")
            for spine in axc.spines.values():
                spine.set_edgecolor(auto[name])
                spine.set_linewidth(2.5)
            if r == 0:
                axc.set_title(name, fontsize=7, color=auto[name])
        if r == 0:
            ax.set_title("photo and windows", fontsize=7)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    return fig
