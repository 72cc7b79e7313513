"""FIDO against the field's cheap baselines, side by side in one run (notebook 07).

Is FIDO worth its seconds when integrated gradients takes a fraction? On the five
shipped photos (EfficientNet-Lite0, each photo's top-1 class) and on toy birds, where
the ground truth decides (the shipped CNN, each bird's true class), every method of
:mod:`fido_lib.baselines` — FIDO's SSR / SDR / joint maps, Captum's saliency, integrated
gradients, GradientShap and occlusion (signed and absolute) — plus two model-free
references (the centre prior, a random map) is scored with

* **insertion** (↑) and **deletion** (↓) AUC (:func:`fido_lib.metrics.removal_scores`;
  20 steps on photos as in the README, 64 on toy birds, whose crest — under 1 % of the
  image — would fall inside the first of 20 steps of 5 %) under every removal the image has:
  blur σ = 10 px (the metric's default and FIDO's default in-fill), the mean colour, and
  for toy birds the exact counterfactual (:func:`fido_lib.toy_birds.counterfactual_removals`:
  the crest repainted in each *other* class's colour, the AUC averaged over the three) —
  a removal the blur-fitted FIDO has not been optimised against;
* on toy birds, the **ground-truth** scores against the crest: mass inside, pointing
  game, IoU of the crest-sized top region (:func:`fido_lib.metrics.ground_truth_scores`);
* **seconds** per image: the wall time of each :func:`fido_lib.baselines.attribute` call,
  set-up included, all methods interleaved image by image (the order rotated from one
  image to the next), so a drifting load on a shared machine touches them alike.

Everything is pinned in :data:`STUDY`. ``python -m fido_lib.experiments.baseline_comparison
--out PATH`` (or ``benchmarks/baselines.py``) reruns it; :func:`load_results` reads the
shipped results (``fido_lib/data/baseline_comparison.npz``), checked on load.
:mod:`fido_lib.experiments.fido_settings` holds the search for a cheaper FIDO setting.
"""
from __future__ import annotations

import argparse
import json
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .. import toy_birds
from .._util import check_choice, num_threads, progress_bar
from ..baselines import attribute, check_options
from ..classifiers import load as load_classifier
from ..fido import FidoConfig
from ..images import SAMPLES, sample
from ..metrics import centre_prior, ground_truth_scores, removal_scores, standard_removals
from ..stats import bootstrap_ci, sign_test, wilcoxon_signed_rank
from ..timing import cpu_name
from . import _stored

__all__ = [
    "ENTRIES",
    "KINDS",
    "RESULTS_PATH",
    "STUDY",
    "TRUTH",
    "ComparisonResults",
    "fido_versus_best",
    "entry_name",
    "load_results",
    "main",
    "merge_parts",
    "run_comparison",
    "save_part",
    "summary_table",
]

RESULTS_PATH = Path(__file__).resolve().parents[1] / "data" / "baseline_comparison.npz"

#: FidoConfig() as it was when the comparison was pinned (the defaults may change; the study does not).
FIDO_2026 = {"iterations": 40, "batch_size": 4, "lr": 0.5, "l1": 30.0, "tv": 10.0, "temperature": 0.3,
             "relaxation": "stable", "infill": "blur", "infill_params": {"sigma": 10.0}, "mask_size": 56,
             "warmup": 5}

#: The whole comparison, pinned.
STUDY = {
    "photos": list(SAMPLES),
    "birds": {"n_images": 24, "image_seed": 20261203, "noise_seeds": [0], "steps": 64},
    "steps": 20,
    "fido": FIDO_2026,
    "captum": {"integrated_gradients": {"steps": 32}, "gradient_shap": {"samples": 32}, "occlusion": {},
               "saliency": {}},
}

#: (method, map) pairs scored; "centre_prior" and "random" are references without a method call.
ENTRIES = (
    ("fido", "ssr"), ("fido", "sdr"), ("fido", "joint"),
    ("saliency", "abs"),
    ("integrated_gradients", "signed"), ("integrated_gradients", "abs"),
    ("gradient_shap", "signed"), ("gradient_shap", "abs"),
    ("occlusion", "signed"), ("occlusion", "abs"),
    ("centre_prior", "-"), ("random", "-"),
)
#: The timed methods, in the order of the first image.
TIMED = ("fido", "saliency", "integrated_gradients", "gradient_shap", "occlusion")
KINDS = ("insertion", "deletion")
TRUTH = ("mass_inside", "pointing", "iou_area")


def entry_name(entry) -> str:
    method, which = entry
    return method if which == "-" else f"{method} ({which})"


@dataclass
class ComparisonResults:
    """``auc[ds]``: (entries, images, seeds, removals, 2 kinds); ``truth["birds"]``: (entries, images,
    seeds, 3); ``seconds[ds]``: (timed methods, images, seeds); ``maps``: the maps of photo 0
    (entries less the references, H×W); ``meta``: removals per data set, the CPU, threads."""

    config: dict
    meta: dict
    auc: dict
    truth: dict
    seconds: dict
    maps: dict

    def removals(self, ds):
        return list(self.meta["removals"][ds])

    def save(self, path):
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {f"auc_{k}": v for k, v in self.auc.items()}
        arrays.update({f"truth_{k}": v for k, v in self.truth.items()})
        arrays.update({f"seconds_{k}": v for k, v in self.seconds.items()})
        arrays.update({f"map_{k}": v.astype(np.float16) for k, v in self.maps.items()})
        head = {"study": self.config, "meta": self.meta}
        np.savez_compressed(path, config=np.array(json.dumps(head)), **arrays)
        summary = {ds: summary_table(self, ds) for ds in self.auc}
        path.with_suffix(".json").write_text(json.dumps({"config": head, "summary": summary}, indent=1) + "\n")
        return path


def _check_loaded(res):
    """Shapes and ranges as the config says; raises ValueError otherwise."""
    cfg = res.config
    n = {"photos": len(cfg["photos"]), "birds": cfg["birds"]["n_images"]}
    seeds = {"photos": 1, "birds": len(cfg["birds"]["noise_seeds"])}
    if set(res.auc) != {"photos", "birds"} or set(res.seconds) != {"photos", "birds"} or set(res.truth) != {"birds"}:
        raise ValueError("the data sets must be 'photos' and 'birds'")
    for ds in ("photos", "birds"):
        want = (len(ENTRIES), n[ds], seeds[ds], len(res.meta["removals"][ds]), len(KINDS))
        if res.auc[ds].shape != want:
            raise ValueError(f"auc of {ds} has shape {res.auc[ds].shape}, the config says {want}")
        if not (np.isfinite(res.auc[ds]).all() and (res.auc[ds] >= 0).all() and (res.auc[ds] <= 1).all()):
            raise ValueError(f"auc of {ds} must be finite values in [0, 1]")
        secs = res.seconds[ds]
        if secs.shape != (len(TIMED), n[ds], seeds[ds]) or not (np.isfinite(secs).all() and (secs > 0).all()):
            raise ValueError(f"seconds of {ds} must be finite and positive with shape "
                             f"{(len(TIMED), n[ds], seeds[ds])}")
    want = (len(ENTRIES), n["birds"], seeds["birds"], len(TRUTH))
    t = res.truth["birds"]
    if t.shape != want or not (np.isfinite(t).all() and (t >= 0).all() and (t <= 1).all()):
        raise ValueError(f"truth of birds must be values in [0, 1] with shape {want}")


#: Caps on what a stored comparison may claim, checked before any array is read: photos,
#: birds, noise seeds, (bird, seed) pairs and the side of photo 0's maps.
_MAX_PHOTOS = 1000
_MAX_BIRDS = 10_000
_MAX_SEEDS = 100
_MAX_PAIRS = 10**5
_MAX_MAP_SIDE = 2048
#: Removals a stored comparison may name.
_REMOVALS = ("blur", "mean", "counterfactual")


def load_results(path=RESULTS_PATH) -> ComparisonResults:
    """The stored comparison (the shipped one by default), checked: a truncated, corrupt or
    edited file raises ``ValueError`` saying so.

    The config member (size-bounded JSON) is read first and its sizes checked (at most 1000
    photos, 10 000 birds, 100 noise seeds, 10⁵ (bird, seed) pairs, distinct known removals);
    then every array's ``.npy`` header against the shape the config implies, before any
    array is inflated, and no array more or less (photo 0's maps: every mapped entry or none,
    one H × W of at most 2048 px a side). Then the values: AUCs and truth scores in [0, 1],
    seconds finite and > 0, maps finite (FIDO's in [0, 1], absolute ones >= 0); no NaN.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no comparison at {path}; run `python -m fido_lib.experiments.baseline_comparison "
                                f"--out {path}`")
    where = f"{path} is not a valid baseline-comparison file"
    try:
        with zipfile.ZipFile(path) as z:
            infos, head = _stored.members_and_json(z, "config", where)
            expected = _stored_layout(head, z, infos, where)
            _stored.check_arrays(z, infos, expected, where)
            data = {name: _stored.read_array(z, infos[name]) for name in infos if name in expected}
        pick = {p: {k[len(p) + 1:]: v for k, v in data.items() if k.startswith(p + "_")}
                for p in ("auc", "truth", "seconds", "map")}
        res = ComparisonResults(head["study"], head["meta"], pick["auc"], pick["truth"], pick["seconds"],
                                {k: v.astype(np.float32) for k, v in pick["map"].items()})
        _check_loaded(res)
        _check_maps(res.maps)
        return res
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, KeyError, NotImplementedError) as err:
        raise ValueError(f"{where} (truncated or corrupt?): {type(err).__name__}: {err}") from None
    except (TypeError, ValueError, AttributeError) as err:
        if str(err).startswith(where):
            raise
        raise ValueError(f"{where} (truncated, corrupt or edited?): {type(err).__name__}: {err}") from None


def _stored_layout(head, z, infos, where):
    """``{array name: (shape, dtype kinds)}`` a stored config implies; its sizes checked first."""
    study, meta = head.get("study"), head.get("meta")
    if not isinstance(study, dict) or not isinstance(meta, dict):
        raise ValueError(f"{where}: its config must hold 'study' (a dict like baseline_comparison.STUDY) "
                         f"and 'meta' (a dict)")
    photos, birds = study.get("photos"), study.get("birds")
    if not isinstance(photos, list) or not all(isinstance(p, str) for p in photos) or len(photos) > _MAX_PHOTOS:
        raise ValueError(f"{where}: study['photos'] must be a list of at most {_MAX_PHOTOS} photo names")
    if not isinstance(birds, dict):
        raise ValueError(f"{where}: study['birds'] must be a dict like STUDY['birds']")
    n, seeds = birds.get("n_images"), birds.get("noise_seeds")
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= _MAX_BIRDS:
        raise ValueError(f"{where}: study['birds']['n_images'] must be an int in [1, {_MAX_BIRDS}], got {n!r}")
    if not isinstance(seeds, list) or not 1 <= len(seeds) <= _MAX_SEEDS:
        raise ValueError(f"{where}: study['birds']['noise_seeds'] must be a list of 1 to {_MAX_SEEDS} seeds")
    if n * len(seeds) > _MAX_PAIRS:
        raise ValueError(f"{where}: the study claims {n * len(seeds)} (bird, seed) pairs; a stored comparison "
                         f"has at most {_MAX_PAIRS}")
    removals = meta.get("removals")
    if not isinstance(removals, dict) or set(removals) != {"photos", "birds"}:
        raise ValueError(f"{where}: meta['removals'] must name the removals of 'photos' and 'birds'")
    for ds, names in removals.items():
        if (not isinstance(names, list) or not names or not all(isinstance(r, str) and r in _REMOVALS for r in names)
                or len(set(names)) != len(names)):
            raise ValueError(f"{where}: meta['removals'][{ds!r}] must be distinct names among {_REMOVALS}, "
                             f"got {names!r}")
    for key, want in (("entries", [list(e) for e in ENTRIES]), ("timed", list(TIMED))):
        if key in meta and meta[key] != want:
            raise ValueError(f"{where}: meta[{key!r}] is {meta[key]!r}; this fido_lib scores {want}")
    size = {"photos": (len(photos), 1), "birds": (n, len(seeds))}
    expected = {}
    for ds in ("photos", "birds"):
        expected[f"auc_{ds}"] = ((len(ENTRIES), *size[ds], len(removals[ds]), len(KINDS)), "f")
        expected[f"seconds_{ds}"] = ((len(TIMED), *size[ds]), "f")
    expected["truth_birds"] = ((len(ENTRIES), *size["birds"], len(TRUTH)), "f")
    maps = [f"map_{entry_name(e)}" for e in ENTRIES if e[0] not in ("centre_prior", "random")]
    if any(k.startswith("map_") for k in infos):
        missing = [k for k in maps if k not in infos]
        if missing:
            raise ValueError(f"{where}: photo 0's maps must be all of {', '.join(maps)} or none; it lacks "
                             f"{', '.join(missing)}")
        got = _stored.read_header(z, infos[maps[0]], maps[0], where)[0]
        if len(got) != 2 or not all(1 <= side <= _MAX_MAP_SIDE for side in got):
            raise ValueError(f"{where}: {maps[0]} has shape {got}, expected (H, W) with H, W in "
                             f"[1, {_MAX_MAP_SIDE}]")
        expected.update({k: (got, "f") for k in maps})
    return expected


def _check_maps(maps):
    for name, v in maps.items():
        if not np.isfinite(v).all():
            raise ValueError(f"map {name!r} must be finite")
        lo = 0.0 if name.startswith("fido ") or name.endswith("(abs)") else -np.inf  # FIDO's in [0, 1]
        hi = 1.0 if name.startswith("fido ") else np.inf
        bad = (v < lo) | (v > hi)
        if bad.any():
            raise ValueError(f"map {name!r} must lie in [{lo:g}, {hi:g}], got {float(v[bad].flat[0]):g} "
                             f"in {int(bad.sum())} place(s)")


# ---------------------------------------------------------------------- the run
def _method_options(config, method, seed):
    if method == "fido":
        params = dict(config["fido"])
        params["infill_params"] = dict(params.get("infill_params", {}))
        return {"config": FidoConfig(seed=seed, **params)}
    return dict(config["captum"][method])


def _score_image(clf, image, target, config, seed, removals, part, position, steps):
    """Every method on one image: AUCs (entries, removals, 2), truth (entries, 3) or None, seconds, maps."""
    maps, seconds = {}, {}
    order = TIMED[position % len(TIMED):] + TIMED[:position % len(TIMED)]
    x = clf.prepare(image)
    for method in order:
        a = attribute(clf, x, target, method, seed=seed, **_method_options(config, method, seed))
        seconds[method] = a.seconds
        for which, m in a.maps.items():
            maps[(method, which)] = m
    maps[("centre_prior", "-")] = centre_prior(x.shape[1:])
    g = torch.Generator().manual_seed(10_000 + 97 * position + seed)
    maps[("random", "-")] = torch.rand(x.shape[1:], generator=g)
    aucs = np.zeros((len(ENTRIES), len(removals), len(KINDS)))
    truth = None if part is None else np.zeros((len(ENTRIES), len(TRUTH)))
    for e, entry in enumerate(ENTRIES):
        scores = removal_scores(clf, x, maps[entry], target, removals, steps=steps, generator=seed)
        for r, name in enumerate(removals):
            aucs[e, r] = [scores[name][k] for k in KINDS]
        if part is not None:
            gt = ground_truth_scores(maps[entry], part)
            truth[e] = [float(gt[k]) for k in TRUTH]
    return aucs, truth, np.array([seconds[m] for m in TIMED]), maps


def run_comparison(config=None, *, photos=None, birds=None, progress=True) -> ComparisonResults:
    """Run :data:`STUDY` (or ``config``): ``photos`` / ``birds``: indices to run (default all; the
    arrays keep their full size, NaN where not run — only a full run can be saved and loaded)."""
    config = json.loads(json.dumps(STUDY if config is None else config))
    n_photos, nb = len(config["photos"]), config["birds"]["n_images"]
    pidx = list(range(n_photos)) if photos is None else [int(i) for i in photos]
    bidx = list(range(nb)) if birds is None else [int(i) for i in birds]
    for name, idx, n in (("photos", pidx, n_photos), ("birds", bidx, nb)):
        if any(not 0 <= i < n for i in idx):
            raise ValueError(f"{name} must be indices in [0, {n - 1}], got {idx!r}")
    for p in config["photos"]:
        check_choice("photos[i]", p, SAMPLES)
    for method in TIMED:  # every option checked before the first fit, at both data sets' sizes
        for size in ((224, 224), (64, 64)):
            check_options(method, _method_options(config, method, 0), size)
    seeds = config["birds"]["noise_seeds"]
    photo_removals = ["blur", "mean"]
    bird_removals = ["blur", "mean", "counterfactual"]
    res = ComparisonResults(
        config, {"removals": {"photos": photo_removals, "birds": bird_removals}, "cpu": cpu_name(),
                 "threads": torch.get_num_threads(), "entries": [list(e) for e in ENTRIES], "timed": list(TIMED)},
        {"photos": np.full((len(ENTRIES), n_photos, 1, 2, 2), np.nan),
         "birds": np.full((len(ENTRIES), nb, len(seeds), 3, 2), np.nan)},
        {"birds": np.full((len(ENTRIES), nb, len(seeds), len(TRUTH)), np.nan)},
        {"photos": np.full((len(TIMED), n_photos, 1), np.nan), "birds": np.full((len(TIMED), nb, len(seeds)), np.nan)},
        {})
    bar = progress_bar(len(pidx) + len(bidx) * len(seeds), "baselines", enabled=progress, unit="image")
    clf = load_classifier("efficientnet_lite0") if pidx else None
    for i in pidx:
        photo = sample(config["photos"][i])
        x = clf.prepare(photo)
        with torch.no_grad():
            target = int(clf.logits(x).argmax(1))
        aucs, _, secs, maps = _score_image(clf, x, target, config, 0, standard_removals(x), None, i,
                                          config["steps"])
        res.auc["photos"][:, i, 0] = aucs
        res.seconds["photos"][:, i, 0] = secs
        if i == 0:
            res.maps = {entry_name(e): maps[e].numpy() for e in ENTRIES if e[0] not in ("centre_prior", "random")}
        bar.update(1)
    clf = load_classifier("toy_birds")
    data = toy_birds.make_birds(nb, seed=config["birds"]["image_seed"])
    for i in bidx:
        img, part, label = data.images[i], data.part_masks[i], int(data.labels[i])
        removals = dict(standard_removals(img),
                        counterfactual=toy_birds.counterfactual_removals(img, part, i, exclude=label))
        for k, seed in enumerate(seeds):
            aucs, truth, secs, _ = _score_image(clf, img, label, config, 1000 * int(seed) + i, removals, part,
                                                i + k, config["birds"]["steps"])
            res.auc["birds"][:, i, k] = aucs
            res.truth["birds"][:, i, k] = truth
            res.seconds["birds"][:, i, k] = secs
            bar.update(1)
    bar.close()
    return res


# ---------------------------------------------------------------------- tables
def _per_image(values):
    """Mean over the seed axis (axis 2 of an (entries, images, seeds, …) array)."""
    return values.mean(axis=2)


def summary_table(res, ds, removal="blur") -> list:
    """One row per entry: insertion and deletion (under ``removal``), the truth scores (birds) and
    the method's seconds per image, each ``[mean, low, high]`` (95 % bootstrap over images)."""
    r = res.removals(ds).index(removal)
    auc = _per_image(res.auc[ds])[:, :, r]  # entries, images, kinds
    secs = _per_image(res.seconds[ds])
    rows = []
    for e, entry in enumerate(ENTRIES):
        row = {"method": entry_name(entry)}
        for k, kind in enumerate(KINDS):
            row[kind] = [round(v, 6) for v in bootstrap_ci(auc[e, :, k])]
        if ds in res.truth:
            t = _per_image(res.truth[ds])
            for j, name in enumerate(TRUTH):
                row[name] = [round(v, 6) for v in bootstrap_ci(t[e, :, j])]
        if entry[0] in TIMED:
            row["seconds"] = [round(v, 6) for v in bootstrap_ci(secs[TIMED.index(entry[0])])]
        rows.append(row)
    return rows


def _values(res, ds, score, removal):
    """(entries, images) per-image values of ``score``: a kind under ``removal`` or a truth score."""
    if score in KINDS:
        return _per_image(res.auc[ds])[:, :, res.removals(ds).index(removal), KINDS.index(score)]
    return _per_image(res.truth[ds])[..., TRUTH.index(score)]


def fido_versus_best(res, ds, score, removal="blur", fido_map=None) -> dict:
    """FIDO's map against the best Captum entry on ``score`` (``"insertion"``, ``"deletion"`` or a
    truth score), image by image.

    ``fido_map``: default SSR for insertion, SDR for deletion, the best of the three for a truth
    score. "Best" is chosen on the mean over images *after* seeing the data, which favours the
    baselines (the choice among six of them is free). Returns the names, both means, the paired
    difference with its bootstrap interval, the wins of FIDO (``k`` of ``n`` images) and the exact
    sign test's and Wilcoxon's p-values. Lower is better for deletion only.
    """
    values = _values(res, ds, score, removal)
    lower = score == "deletion"
    pick = np.argmin if lower else np.argmax
    means = values.mean(axis=1)
    captum = [e for e, entry in enumerate(ENTRIES) if entry[0] in TIMED and entry[0] != "fido"]
    best = captum[int(pick(means[captum]))]
    if fido_map is None:
        fido_map = {"insertion": "ssr", "deletion": "sdr"}.get(score)
    if fido_map is None:
        fidos = [e for e, entry in enumerate(ENTRIES) if entry[0] == "fido"]
        f = fidos[int(pick(means[fidos]))]
    else:
        f = ENTRIES.index(("fido", fido_map))
    diff = values[f] - values[best]
    better = diff < 0 if lower else diff > 0
    return {"score": score, "removal": removal, "fido": entry_name(ENTRIES[f]), "best": entry_name(ENTRIES[best]),
            "fido_mean": float(means[f]), "best_mean": float(means[best]),
            "difference": bootstrap_ci(diff), "fido_wins": int(better.sum()), "n": int(diff.size),
            "sign_p": sign_test(values[f], values[best]),
            "wilcoxon_p": wilcoxon_signed_rank(values[f], values[best]).pvalue}


# ---------------------------------------------------------------------- command line
def save_part(res, path, photos, birds):
    """Write the raw arrays of a partial run (``photos`` / ``birds``: the indices it ran) to ``path``."""
    arrays = {f"auc_{k}": v for k, v in res.auc.items()}
    arrays.update({f"truth_{k}": v for k, v in res.truth.items()})
    arrays.update({f"seconds_{k}": v for k, v in res.seconds.items()})
    arrays.update({f"map_{k}": v for k, v in res.maps.items()})
    head = {"study": res.config, "meta": res.meta, "photos": photos, "birds": birds}
    np.savez_compressed(path, config=np.array(json.dumps(head)), **arrays)


def merge_parts(paths) -> ComparisonResults:
    """One :class:`ComparisonResults` from partial runs of the same config (:func:`save_part`)."""
    merged = None
    for path in paths:
        with np.load(path, allow_pickle=False) as data:
            head = json.loads(str(data["config"]))
            part = {k: data[k] for k in data.files if k != "config"}
        if merged is None:
            merged = ComparisonResults(head["study"], head["meta"], {}, {}, {}, {})
            for k, v in part.items():
                kind, ds = k.split("_", 1)
                getattr(merged, {"auc": "auc", "truth": "truth", "seconds": "seconds", "map": "maps"}[kind])[ds] = v
            continue
        if head["study"] != merged.config:
            raise ValueError(f"{path} holds a run of another config")
        for ds, idx in (("photos", head["photos"]), ("birds", head["birds"])):
            stores = ((merged.auc, f"auc_{ds}"), (merged.truth, f"truth_{ds}"), (merged.seconds, f"seconds_{ds}"))
            for store, key in stores:
                if key in part and idx:
                    store[ds][:, idx] = part[key][:, idx]
        if 0 in head["photos"]:
            merged.maps = {k[4:]: v for k, v in part.items() if k.startswith("map_")}
    _check_loaded(merged)
    return merged


def main(argv=None):
    """Rerun the comparison; write ``--out`` (``.npz`` and a ``.json`` summary)."""
    parser = argparse.ArgumentParser(prog="python -m fido_lib.experiments.baseline_comparison",
                                     description="FIDO against Captum's baselines on photos and toy birds")
    parser.add_argument("--out", default=RESULTS_PATH.name, help="the .npz to write (a .json goes beside it)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--quick", action="store_true", help="2 photos and 2 birds, to try the pipeline")
    parser.add_argument("--photos", default=None, help="with --part: comma-separated photo indices to run")
    parser.add_argument("--birds", default=None, help="with --part: comma-separated bird indices to run")
    parser.add_argument("--part", action="store_true",
                        help="run only --photos / --birds and write their raw arrays to --out (merge with --merge)")
    parser.add_argument("--merge", nargs="+", default=None, help="part files to merge into --out")
    args = parser.parse_args(argv)
    if args.merge:
        path = merge_parts(args.merge).save(args.out)
        print(f"merged {len(args.merge)} parts into {path}")
        return 0
    config = json.loads(json.dumps(STUDY))
    if args.quick:
        config["photos"], config["birds"]["n_images"] = config["photos"][:2], 2
    start = time.perf_counter()

    def indices(text):
        return [] if text in (None, "") else [int(v) for v in text.split(",")]

    with num_threads(args.threads):
        if args.part:
            photos, birds = indices(args.photos), indices(args.birds)
            res = run_comparison(config, photos=photos, birds=birds)
        else:
            res = run_comparison(config)
        res.meta["threads"] = torch.get_num_threads()
    if args.part:
        save_part(res, args.out, photos, birds)
        print(f"wrote part {args.out} in {time.perf_counter() - start:.0f} s", flush=True)
        return 0
    path = res.save(args.out)
    print(f"wrote {path} and {path.with_suffix('.json').name} in {time.perf_counter() - start:.0f} s "
          f"with {res.meta['threads']} thread(s) on {res.meta['cpu']}")
    return 0

if __name__ == "__main__":
    main()
