"""Mask quality against mini-batch size, measured against ground truth (notebook 06).

The claim under test (Korsch, Shadaydeh & Denzler, GCPR 2023): with the simplified
relaxation, FIDO reaches the same mask quality with smaller mini-batches (fewer
Concrete samples per step, so less compute), and its masks are finer and more coherent.

The test bed is :mod:`fido_lib.toy_birds`: the shipped CNN tells four classes apart
by one small part (the crest), and every image comes with that part's mask. For each
image, each mini-batch size ``B`` in 1, 2, 4, 8, 16 and each (relaxation,
temperature) pair, one FIDO fit (SSR and SDR together) is scored with
:func:`fido_lib.metrics.pointing_game`, :func:`~fido_lib.metrics.mass_inside` and
:func:`~fido_lib.metrics.iou` against the part, plus the classifier's own verdict
(the target's probability on the SSR-kept and the SDR-dropped image), the masks'
area and total variation, and the wall time of the fit. Each image is fitted with two
noise seeds, so the agreement between two runs on the same image is measured too.

Two design points make the comparison fair:

* the noise is **paired**: for a given image, seed and ``B``, every (relaxation,
  temperature) pair sees the same uniform noise ``u``;
* the pairs form a 2 × 2 design — {Gal, simplified} × {T = 0.1, T = 1.0} — so the
  published code's pairing (Gal at 0.1, simplified at 1.0) can be split into the
  effect of the formula and the effect of the temperature.

Everything FIDO uses is pinned in :data:`STUDY` (not taken from ``FidoConfig``'s
defaults), so the stored results stay reproducible when those defaults change.
``python -m fido_lib.experiments.mask_quality --out PATH`` reruns the study and writes
``PATH`` (``.npz``, and a ``.json`` summary beside it; default
``mask_quality_results.npz`` in the current directory). :func:`load_results` reads the
results shipped in ``fido_lib/data/`` (read-only) or any such file.
"""
from __future__ import annotations

import argparse
import json
import re
import time
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .. import toy_birds
from .._util import check_int, num_threads, progress_bar
from ..classifiers import load as load_classifier
from ..fido import MAX_BATCH_SIZE, FidoConfig, fit
from ..metrics import iou, mass_inside, pointing_game, total_variation
from ..stats import bootstrap_ci
from . import _stored, _study_file

__all__ = [
    "CROP_STUDY",
    "FORMAT",
    "FORMAT_VERSION",
    "RESULTS_PATH",
    "STUDY",
    "StudyResults",
    "crop_study",
    "crop_table",
    "crop_window",
    "fido_config",
    "load_results",
    "main",
    "map_centroid",
    "paired_difference",
    "per_image",
    "run_study",
    "score_fit",
    "summary_table",
]

#: The shipped results of :data:`STUDY` and :data:`CROP_STUDY` (read-only).
RESULTS_PATH = Path(__file__).resolve().parents[1] / "data" / "mask_quality_results.npz"

#: The whole study, pinned. ``settings``: (relaxation, temperature) pairs; "stable" is
#: the library's implementation of the simplified formula (fido_lib.concrete).
STUDY = {
    "n_images": 24,
    "image_seed": 20230714,
    "noise_seeds": [0, 1],
    "batch_sizes": [1, 2, 4, 8, 16],
    "settings": [["gal", 0.1], ["stable", 0.1], ["gal", 1.0], ["stable", 1.0]],
    "fido": {
        "mode": "both",
        "iterations": 40,
        "lr": 0.5,
        "l1": 30.0,
        "tv": 10.0,
        "mask_size": 28,
        "infill": "blur",
        "infill_params": {"sigma": 10.0},
        "warmup": 5,
    },
}

#: Per-fit numbers stored by :func:`run_study` (all "higher is better" except area, tv, sdr_prob, seconds).
METRICS = (
    "ssr_pointing", "ssr_mass", "ssr_iou", "ssr_iou05", "ssr_area", "ssr_tv", "ssr_prob",
    "sdr_pointing", "sdr_mass", "sdr_iou", "sdr_iou05", "sdr_area", "sdr_tv", "sdr_prob",
    "joint_pointing", "joint_mass", "joint_iou",
    "seconds",
)
#: Per image (not per fit): Pearson correlation between the maps of the two noise seeds.
AGREEMENT = ("ssr_agree", "sdr_agree")


def fido_config(relaxation, temperature, batch_size, seed, fido=None) -> FidoConfig:
    """The :class:`~fido_lib.fido.FidoConfig` of one fit of the study."""
    params = dict(STUDY["fido"] if fido is None else fido)
    params["infill_params"] = dict(params.get("infill_params", {}))
    return FidoConfig(relaxation=relaxation, temperature=float(temperature), batch_size=int(batch_size),
                      seed=int(seed), **params)


def score_fit(result, part) -> dict:
    """The study's numbers for one :class:`~fido_lib.fido.FidoResult` against the part mask ``part`` (H×W, bool)."""
    out = {}
    for name, m in (("ssr", result.ssr), ("sdr", result.sdr), ("joint", result.joint)):
        out[f"{name}_pointing"] = float(pointing_game(m, part))
        out[f"{name}_mass"] = float(mass_inside(m, part))
        out[f"{name}_iou"] = float(iou(m, part, "area"))
        if name != "joint":
            out[f"{name}_iou05"] = float(iou(m, part, 0.5))
            out[f"{name}_area"] = float(m.mean())
            out[f"{name}_tv"] = float(total_variation(m))
            out[f"{name}_prob"] = float(result.history[f"{name}_prob"][-1])
    out["seconds"] = float(result.seconds)
    return out


def _correlation(a, b):
    """Pearson correlation of two maps (1 = the same up to scale and offset; 0 for a constant map)."""
    a, b = a.double().flatten(), b.double().flatten()
    a, b = a - a.mean(), b - b.mean()
    den = float(a.norm() * b.norm())
    return float(a @ b) / den if den > 0 else 0.0


# ---------------------------------------------------------------------- the study
@dataclass
class StudyResults:
    """Numbers of a study: ``values[metric]`` has shape (settings, batch sizes, images, noise seeds);
    ``maps[kind]`` (optional) holds the maps of image 0, seed 0: (settings, batch sizes, H, W)."""

    config: dict
    values: dict
    maps: dict
    #: The crop experiment (:func:`crop_study`'s dict), when it was run.
    crop: dict | None = None

    def metric(self, name) -> np.ndarray:
        if name not in self.values:
            raise KeyError(f"unknown metric {name!r}; stored: {', '.join(self.values)}")
        return self.values[name]

    def per_image(self, name) -> np.ndarray:
        """(settings, batch sizes, images): each fit's number averaged over the noise seeds
        first, because the images are the independent units; a metric stored per image
        (seed agreement) is returned as is. Images not fitted stay NaN."""
        v = self.metric(name)
        if v.ndim == 3:
            return v
        with warnings.catch_warnings():  # an all-NaN image keeps a NaN mean
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmean(v, axis=-1)

    def save(self, path):
        """Write ``path`` (``.npz``) and a ``.json`` summary beside it; returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {f"value_{k}": v for k, v in self.values.items()}
        arrays.update({f"map_{k}": v.astype(np.float16) for k, v in self.maps.items()})
        config = {"format": FORMAT, "format_version": FORMAT_VERSION, "study": self.config}
        summary = {"study": summary_table(self)}
        if self.crop is not None:
            names = list(self.crop["correct"])
            config["crop"] = self.crop["config"]
            config["crop_names"] = names
            arrays["crop_images"] = np.asarray(self.crop["images"])
            arrays["crop_labels"] = np.asarray(self.crop["labels"])
            arrays["crop_correct"] = np.stack([self.crop["correct"][k] for k in names])
            arrays["crop_part_inside"] = np.stack([self.crop["part_inside"][k] for k in names])
            summary["crop"] = crop_table(self.crop)
        np.savez_compressed(path, config=np.array(json.dumps(config)), **arrays)
        text = json.dumps({"config": config, "summary": summary}, indent=1)
        # one line per list of plain values: [mean, low, high] stays readable
        text = re.sub(r"\[\s+([^\[\]{}]*?)\s+\]", lambda m: "[" + " ".join(m.group(1).split()) + "]", text)
        path.with_suffix(".json").write_text(text + "\n")
        return path


def load_results(path=RESULTS_PATH) -> StudyResults:
    """A stored study: the shipped one by default (``python -m fido_lib.experiments.mask_quality`` writes one).

    Nothing in the file is trusted: its format and version (:data:`FORMAT`,
    :data:`FORMAT_VERSION`), the study config (as :func:`run_study` checks it), the set
    of arrays, each array's ``.npy`` header (dtype and the shape the config implies,
    read before any array is inflated), and the values: finite where fitted (NaN in
    every metric of a fit that was not fitted, nowhere else), each metric in its range
    (shares in [0, 1], total variation in [0, 2], correlations in [-1, 1], seconds >= 0).
    Anything else raises ``ValueError`` saying what; a missing file ``FileNotFoundError``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no study results at {path}; run `python -m fido_lib.experiments.mask_quality --out {path}`")
    where = f"{path} is not a valid mask-quality results file"
    try:
        with zipfile.ZipFile(path) as z:
            infos, config = _stored.members_and_json(z, "config", where)
            expected = _study_file.layout(config, z, infos, where, fmt=(FORMAT, FORMAT_VERSION), metrics=METRICS,
                                          agreement=AGREEMENT, check_study=_check_config)
            arrays = {name: _stored.read_array(z, infos[name]) for name in expected}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, KeyError, NotImplementedError) as err:
        raise ValueError(f"{where} (truncated or corrupt?): {type(err).__name__}: {err}") from None
    except (TypeError, ValueError) as err:
        if str(err).startswith(where):
            raise
        raise ValueError(f"{where}: {err}") from None
    _study_file.check_values(arrays, config, where, metrics=METRICS, agreement=AGREEMENT)
    values = {k[6:]: arrays[k] for k in arrays if k.startswith("value_")}
    maps = {k[4:]: arrays[k].astype(np.float32) for k in arrays if k.startswith("map_")}
    crop = None
    if "crop" in config:
        names = config["crop_names"]
        crop = {"config": config["crop"], "images": arrays["crop_images"].tolist(), "labels": arrays["crop_labels"],
                "correct": dict(zip(names, arrays["crop_correct"], strict=True)),
                "part_inside": dict(zip(names, arrays["crop_part_inside"], strict=True))}
    return StudyResults(config["study"], values, maps, crop)


#: Written into a saved study's config; :func:`load_results` refuses other formats and versions.
FORMAT = "fido_lib.StudyResults"
FORMAT_VERSION = 1
def _check_config(config):
    for key in STUDY:
        if key not in config:
            raise ValueError(f"study config misses {key!r}; start from a copy of mask_quality.STUDY")
    check_int("n_images", config["n_images"], low=1, high=toy_birds.MAX_IMAGES)
    for b in config["batch_sizes"]:
        check_int("batch_sizes[i]", b, low=1, high=MAX_BATCH_SIZE)
    for seed in config["noise_seeds"]:
        check_int("noise_seeds[i]", seed, low=0, high=2**32)
    for rel, temp in config["settings"]:
        fido_config(rel, temp, 1, 0, config["fido"])  # raises on a bad relaxation or temperature


def _study_fit(clf, image, target, cfg):
    """One fit of a study, or None if it turned NaN/inf (fit warns).

    Ctrl-C inside the fit (which then returns ``complete=False``) stops the study:
    ``KeyboardInterrupt`` is raised again, so the partial fit is neither scored nor stored.
    """
    result = fit(clf, image, target, cfg, progress=False)
    if result.complete:
        return result
    if result.stopped_by == "interrupted":
        raise KeyboardInterrupt("interrupted inside a FIDO fit: the study stops; the partial fit is not stored")
    return None


def run_study(config=None, *, images=None, classifier=None, keep_maps=True, progress=True) -> StudyResults:
    """Run the study described by ``config`` (default :data:`STUDY`).

    ``images``: indices of the images to fit (default all ``n_images``; the stored
    array still has ``n_images`` entries, NaN where not fitted) — for quick partial
    re-runs that check stored numbers. Deterministic: image ``i`` is
    ``toy_birds.make_birds(n_images, seed=image_seed)[i]`` and every fit's noise comes
    from its seed. Returns a :class:`StudyResults`.
    """
    config = json.loads(json.dumps(STUDY if config is None else config))  # a deep copy, JSON-clean
    _check_config(config)
    n = config["n_images"]
    idx = list(range(n)) if images is None else [int(i) for i in images]
    if any(not 0 <= i < n for i in idx):
        raise ValueError(f"images must be indices in [0, {n - 1}], got {images!r}")
    birds = toy_birds.make_birds(n, seed=config["image_seed"])
    clf = load_classifier("toy_birds") if classifier is None else classifier
    settings, sizes, seeds = config["settings"], config["batch_sizes"], config["noise_seeds"]
    shape = (len(settings), len(sizes), n, len(seeds))
    values = {m: np.full(shape, np.nan) for m in METRICS}
    maps = {k: np.full((len(settings), len(sizes), *birds.images.shape[2:]), np.nan, np.float32)
            for k in ("ssr", "sdr")} if keep_maps and 0 in idx else {}
    for name in ("ssr_agree", "sdr_agree"):
        values[name] = np.full(shape[:-1], np.nan)
    bar = progress_bar(len(idx) * len(seeds) * len(sizes) * len(settings), "mask quality", enabled=progress,
                       unit="fit")
    for i in idx:
        for b, size in enumerate(sizes):
            for s, (rel, temp) in enumerate(settings):
                fitted = []
                for k, seed in enumerate(seeds):
                    # the noise seed depends on (image, seed) only: every setting sees the same noise
                    cfg = fido_config(rel, temp, size, 1000 * int(seed) + i, config["fido"])
                    result = _study_fit(clf, birds.images[i], int(birds.labels[i]), cfg)
                    if result is not None:  # a fit that turned NaN stays NaN ("not fitted")
                        for name, v in score_fit(result, birds.part_masks[i]).items():
                            values[name][s, b, i, k] = v
                    fitted.append(result)
                    bar.update(1)
                if len(fitted) >= 2 and fitted[0] is not None and fitted[1] is not None:
                    values["ssr_agree"][s, b, i] = _correlation(fitted[0].ssr, fitted[1].ssr)
                    values["sdr_agree"][s, b, i] = _correlation(fitted[0].sdr, fitted[1].sdr)
                if maps and i == 0 and fitted[0] is not None:
                    maps["ssr"][s, b] = fitted[0].ssr.numpy()
                    maps["sdr"][s, b] = fitted[0].sdr.numpy()
    bar.close()
    return StudyResults(config, values, maps)


# ---------------------------------------------------------------------- statistics
def per_image(results, metric):
    """(settings, batch sizes, images): :meth:`StudyResults.per_image`."""
    return results.per_image(metric)


def _setting_index(results, relaxation, temperature, batch_size):
    settings = [(r, float(t)) for r, t in results.config["settings"]]
    key = (relaxation, float(temperature))
    if key not in settings:
        raise ValueError(f"(relaxation, temperature) = {key} was not run; the study has {settings}")
    if batch_size not in results.config["batch_sizes"]:
        raise ValueError(f"batch_size {batch_size!r} was not run; the study has {results.config['batch_sizes']}")
    return settings.index(key), results.config["batch_sizes"].index(batch_size)


def paired_difference(results, metric, a, b):
    """Mean over images of ``metric(a) - metric(b)`` with its 95 % bootstrap interval.

    ``a`` and ``b`` are (relaxation, temperature, batch_size) triples. The difference is
    taken image by image (same images, same noise seeds), which removes the variation
    between images from the comparison. Returns ``(mean, low, high)``.
    """
    va, vb = per_image(results, metric), per_image(results, metric)
    sa, ba = _setting_index(results, *a)
    sb, bb = _setting_index(results, *b)
    return bootstrap_ci(va[sa, ba] - vb[sb, bb], omit_nan=True)


def summary_table(results, metrics=("ssr_mass", "ssr_pointing", "ssr_iou", "sdr_mass", "sdr_iou",
                                    "ssr_prob", "sdr_prob", "ssr_tv", "seconds")) -> list:
    """One row per (setting, B): for each metric its mean over images and 95 % bootstrap interval."""
    rows = []
    for s, (rel, temp) in enumerate(results.config["settings"]):
        for b, size in enumerate(results.config["batch_sizes"]):
            row = {"relaxation": rel, "temperature": temp, "batch_size": size}
            for m in metrics:
                mean, lo, hi = bootstrap_ci(per_image(results, m)[s, b], omit_nan=True)
                row[m] = [round(mean, 6), round(lo, 6), round(hi, 6)]
            rows.append(row)
    return rows


# ---------------------------------------------------------------------- crop by the mask
#: The crop experiment, pinned. Photos of ``size`` pixels whose birds have the pixel
#: size the CNN was trained on; the classifier sees the photo resized to 64×64, where
#: the bird is only 64/size as large. A crop of side ``size / zoom`` (64 px) shows the
#: bird at its trained scale again — if the crop is in the right place.
CROP_STUDY = {
    "n_images": 120,
    "image_seed": 19022023,
    "size": 96,
    "scale_range": [0.13 * 64 / 96, 0.2 * 64 / 96],
    "zoom": 1.5,
    "settings": [["gal", 0.1], ["stable", 1.0]],
    "batch_size": 4,
    "random_seed": 0,
    "fido": {**STUDY["fido"], "mode": "ssr"},
}


def crop_window(centre, side, size):
    """Top-left corner (x0, y0) of a ``side``×``side`` window centred at ``centre`` (x, y) and
    shifted, if needed, to lie inside a ``size``×``size`` image."""
    half = side / 2
    x0 = int(round(min(max(float(centre[0]) - half, 0.0), size - side)))
    y0 = int(round(min(max(float(centre[1]) - half, 0.0), size - side)))
    return x0, y0


def map_centroid(m):
    """Centre of mass (x, y) of a non-negative H×W map, in pixel coordinates (pixel centres at +0.5)."""
    m = m.double().clamp(min=0)
    h, w = m.shape
    total = float(m.sum())
    if total <= 0:
        return (w / 2, h / 2)
    ys = torch.arange(h, dtype=torch.float64) + 0.5
    xs = torch.arange(w, dtype=torch.float64) + 0.5
    return float((m.sum(0) * xs).sum()) / total, float((m.sum(1) * ys).sum()) / total


def crop_study(config=None, *, images=None, classifier=None, progress=True) -> dict:
    """Does cropping by the FIDO mask raise the classifier's accuracy, without fine-tuning?

    For each photo: the classifier's top class on the whole photo; an SSR mask for that
    class (no label is used); a window of side ``size / zoom`` centred on the mask's
    centre of mass; the classifier's top class on that crop. Controls with the same
    zoom: the centre crop, a random crop, and an oracle crop centred on the true bird.
    Returns ``{"config": …, "labels": (n,), "correct": {name: (n,) bool}, "part_inside": {name: (n,) bool}}``
    (``part_inside``: the whole crest lies in the window), NaN-free; only ``images`` are run.
    """
    config = json.loads(json.dumps(CROP_STUDY if config is None else config))
    n, size = config["n_images"], config["size"]
    side = int(round(size / config["zoom"]))
    if not 1 <= side <= size:
        raise ValueError(f"zoom must be >= 1 and leave a crop of at least 1 px, got {config['zoom']!r}")
    idx = list(range(n)) if images is None else [int(i) for i in images]
    if any(not 0 <= i < n for i in idx):
        raise ValueError(f"images must be indices in [0, {n - 1}], got {images!r}")
    for rel, temp in config["settings"]:
        fido_config(rel, temp, config["batch_size"], 0, config["fido"])
    birds = toy_birds.make_birds(n, size=size, seed=config["image_seed"], scale_range=config["scale_range"])
    clf = load_classifier("toy_birds") if classifier is None else classifier
    rng = np.random.default_rng(config["random_seed"])
    random_corners = rng.integers(0, size - side + 1, size=(n, 2))
    scale = size / clf.input_size[0]

    names = (["full", "centre crop", "random crop", "oracle crop"]
             + [f"FIDO crop ({r}, T={t})" for r, t in config["settings"]])
    correct = {k: np.zeros(len(idx), bool) for k in names}
    inside = {k: np.zeros(len(idx), bool) for k in names}
    bar = progress_bar(len(idx), "crop study", enabled=progress, unit="photo")

    def classify(img):
        with torch.no_grad():
            return int(clf.logits(clf.prepare(img)).argmax(1))

    for j, i in enumerate(idx):
        photo, label, part = birds.images[i], int(birds.labels[i]), birds.part_masks[i]
        predicted = classify(photo)
        windows = {
            "centre crop": ((size - side) // 2, (size - side) // 2),
            "random crop": tuple(int(v) for v in random_corners[i]),
            "oracle crop": crop_window(birds.centres[i].tolist(), side, size),
        }
        for rel, temp in config["settings"]:
            cfg = fido_config(rel, temp, config["batch_size"], i, config["fido"])
            result = _study_fit(clf, photo, predicted, cfg)
            if result is None:
                raise RuntimeError(f"the FIDO fit of photo {i} ({rel}, T={temp}) turned NaN/inf (see the warning); "
                                   "the crop study stops without storing it")
            cx, cy = map_centroid(result.ssr)
            windows[f"FIDO crop ({rel}, T={temp})"] = crop_window((cx * scale, cy * scale), side, size)
        correct["full"][j] = predicted == label
        inside["full"][j] = True
        for name, (x0, y0) in windows.items():
            correct[name][j] = classify(photo[:, y0:y0 + side, x0:x0 + side]) == label
            inside[name][j] = bool(part[y0:y0 + side, x0:x0 + side].sum() == part.sum())
        bar.update(1)
    bar.close()
    return {"config": config, "images": idx, "labels": birds.labels[idx].numpy(), "correct": correct,
            "part_inside": inside}


def crop_table(crop) -> list:
    """One row per way of showing the photo: accuracy and the share of windows holding the
    whole part, each with its 95 % bootstrap interval over photos."""
    rows = []
    for name in crop["correct"]:
        acc = bootstrap_ci(crop["correct"][name].astype(float), omit_nan=True)
        inside = bootstrap_ci(crop["part_inside"][name].astype(float), omit_nan=True)
        rows.append({"input": name, "accuracy": [round(v, 6) for v in acc],
                     "part_inside": [round(v, 6) for v in inside]})
    return rows


# ---------------------------------------------------------------------- command line
def main(argv=None):
    """The command line: rerun the study and the crop experiment, write the results where ``--out`` says."""
    parser = argparse.ArgumentParser(
        prog="python -m fido_lib.experiments.mask_quality",
        description="Run the mask-quality study and the crop experiment; store the numbers notebook 06 reads.")
    parser.add_argument("--out", default=None,
                        help="where to write the .npz (a .json summary goes beside it); default: "
                             f"{RESULTS_PATH.name} in the current directory, or mask_quality_quick.npz with --quick")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (default 1: the stored numbers were computed so, and the same "
                             "thread count reproduces them exactly)")
    parser.add_argument("--quick", action="store_true", help="a few images only, to try the pipeline")
    args = parser.parse_args(argv)
    study, crop = json.loads(json.dumps(STUDY)), json.loads(json.dumps(CROP_STUDY))
    if args.quick:
        study["n_images"], crop["n_images"] = 2, 8
    out = Path(args.out or ("mask_quality_quick.npz" if args.quick else RESULTS_PATH.name))
    start = time.perf_counter()
    with num_threads(args.threads):
        results = run_study(study)
        results.crop = crop_study(crop)
        threads = torch.get_num_threads()
    path = results.save(out)
    print(f"wrote {path} and {path.with_suffix('.json').name} in {time.perf_counter() - start:.0f} s "
          f"with {threads} thread(s)")


if __name__ == "__main__":
    main()
