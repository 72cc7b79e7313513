"""Checks of a stored mask-quality study (:func:`fido_lib.experiments.mask_quality.load_results`):
the layout the config implies, checked on the ``.npy`` headers before any array is read, then
the values (finite where fitted, each metric in its range)."""
from __future__ import annotations

import math

import numpy as np

from .. import toy_birds
from ._stored import check_header, read_header

__all__ = ["check_values", "layout"]

#: Allowed range of each stored metric, by the end of its name.
_RANGES = {"_tv": (0.0, 2.0), "_agree": (-1.0, 1.0), "seconds": (0.0, math.inf)}


def layout(config, z, infos, where, *, fmt, metrics, agreement, check_study):
    """``{array name: shape}`` the config implies, every header checked against it (no data read)."""
    if (config.get("format"), config.get("format_version")) != fmt:
        raise ValueError(f"{where}: its format is {config.get('format')!r} version {config.get('format_version')!r}; "
                         f"this fido_lib reads {fmt[0]!r} version {fmt[1]}")
    study = config.get("study")
    if not isinstance(study, dict):
        raise ValueError(f"{where}: config['study'] must be a study config (see mask_quality.STUDY)")
    check_study(study)
    for key in ("noise_seeds", "batch_sizes", "settings"):
        if not isinstance(study[key], list) or not study[key]:
            raise ValueError(f"{where}: config['study'][{key!r}] must be a non-empty list")
    fits = (len(study["settings"]), len(study["batch_sizes"]), study["n_images"], len(study["noise_seeds"]))
    if math.prod(fits) > 10**7:
        raise ValueError(f"{where}: the study config claims {math.prod(fits)} fits; a study file holds at most 10⁷")
    expected = {f"value_{m}": fits for m in metrics}
    expected.update({f"value_{m}": fits[:3] for m in agreement})
    kinds = dict.fromkeys(expected, "f")
    maps = [k for k in infos if k.startswith("map_")]
    if maps:
        if sorted(maps) != ["map_sdr", "map_ssr"]:
            raise ValueError(f"{where}: maps must be map_ssr and map_sdr together, got {maps}")
        shape = read_header(z, infos["map_ssr"], "map_ssr", where)[0]
        if len(shape) != 4 or shape[:2] != fits[:2] or not (1 <= shape[2] <= 4096 and 1 <= shape[3] <= 4096):
            raise ValueError(f"{where}: map_ssr has shape {shape}, expected (settings, batch sizes, H, W) = "
                             f"{fits[:2]} + (H, W)")
        for k in maps:
            expected[k], kinds[k] = shape, "f"
    if "crop" in config:
        names = config.get("crop_names")
        if not (isinstance(config["crop"], dict) and isinstance(names, list) and names
                and all(isinstance(n, str) for n in names) and len(set(names)) == len(names)):
            raise ValueError(f"{where}: a crop study needs config['crop'] (a dict) and distinct crop_names")
        if "crop_images" not in infos:
            raise ValueError(f"{where}: it lacks crop_images")
        m = read_header(z, infos["crop_images"], "crop_images", where)[0]
        if len(m) != 1 or m[0] > 10**6:
            raise ValueError(f"{where}: crop_images must be one index per photo (at most 10⁶), got shape {m}")
        expected.update({"crop_images": m, "crop_labels": m, "crop_correct": (len(names), *m),
                         "crop_part_inside": (len(names), *m)})
        kinds.update({"crop_images": "i", "crop_labels": "i", "crop_correct": "b", "crop_part_inside": "b"})
    unexpected = sorted(set(infos) - set(expected) - {"config"})
    missing = sorted(set(expected) - set(infos))
    if unexpected or missing:
        raise ValueError(f"{where}: " + "; ".join(
            ([f"it lacks {', '.join(missing)}"] if missing else []) +
            ([f"it holds arrays no study writes: {', '.join(unexpected)}"] if unexpected else [])))
    for name, shape in expected.items():
        check_header(z, infos[name], name, shape, kinds[name], where)
    return expected


def check_values(arrays, config, where, *, metrics, agreement):
    """No inf; NaN only for a fit not fitted (then in every metric of it); every metric in its range."""
    not_fitted = np.isnan(arrays["value_seconds"])
    for m in metrics + agreement:
        v = arrays[f"value_{m}"]
        if np.isinf(v).any():
            raise ValueError(f"{where}: {m} holds inf; a stored metric is finite (NaN where not fitted)")
        if m in metrics and not np.array_equal(np.isnan(v), not_fitted):
            raise ValueError(f"{where}: {m} is NaN in {int(np.isnan(v).sum())} places where the fits are not "
                             f"all missing (a fit not fitted is NaN in every metric)")
        lo, hi = next((r for end, r in _RANGES.items() if m.endswith(end)), (0.0, 1.0))
        bad = (v < lo) | (v > hi)
        if bad.any():
            raise ValueError(f"{where}: {m} must lie in [{lo:g}, {hi:g}], got {float(v[bad].flat[0]):g} "
                             f"in {int(bad.sum())} place(s)")
    for k in ("map_ssr", "map_sdr"):
        if k in arrays:
            v = arrays[k].astype(np.float32)
            if np.isinf(v).any() or ((v < 0) | (v > 1)).any():
                raise ValueError(f"{where}: {k} must hold maps in [0, 1] (NaN where not fitted)")
    if "crop_images" in arrays:
        n = config["crop"].get("n_images")
        imgs, labels = arrays["crop_images"], arrays["crop_labels"]
        if not isinstance(n, int) or ((imgs < 0) | (imgs >= n)).any() or len(set(imgs.tolist())) != imgs.size:
            raise ValueError(f"{where}: crop_images must be distinct indices in [0, crop n_images)")
        if ((labels < 0) | (labels >= len(toy_birds.CLASS_NAMES))).any():
            raise ValueError(f"{where}: crop_labels must be class indices in [0, {len(toy_birds.CLASS_NAMES) - 1}]")
