"""Which in-fill gives FIDO the better masks, measured against ground truth — and under which removal (notebook 07).

FIDO (Chang et al., ICLR 2019) argues that a mask should be fitted with a *counterfactual*
in-fill — a plausible replacement for the dropped pixels given the kept ones — rather
than a blur or a grey patch, which put the classifier out of its training
distribution. On toy birds (:mod:`fido_lib.toy_birds`) that claim is decidable: the
crest is the one region that decides the class, every image comes with its mask, and
the data's generator gives the exact counterfactual
(:class:`~fido_lib.toy_birds.CrestCounterfactual`: the same scene, the crest's colour
redrawn from the prior).

**The ground-truth study.** Held-out birds (:data:`STUDY`'s ``image_seed``, used
nowhere else), each fitted with two noise seeds, with every in-fill of ``infills``:
the fixed ``blur``, ``mean``, ``uniform``, ``knockoff``, the ``learned`` in-filler
(:class:`~fido_lib.infill.LearnedInfill`) and the exact ``counterfactual``. The noise is
paired: for a given image and seed, every in-fill sees the same Concrete noise. Each
fit's SSR and SDR maps are scored against the crest (mass inside, pointing game, IoU of
the crest-sized top region) and by the classifier (the target's probability with the
SSR-kept / SDR-dropped image).

**The removal matrix.** Deletion and insertion "remove" pixels with a replacement of
their own, and a FIDO fit that used the same replacement is optimising the metric it is
scored on (Rong et al., ICML 2022). So every map is scored under every removal of
``removals``: ``blur`` (σ = 10 px, the README's metric), ``mean`` and the
``counterfactual`` (the crest repainted in each *other* class's colour, the AUC averaged
over the three; :func:`fido_lib.toy_birds.counterfactual_removals` with
``exclude=label``). The SSR map of every in-fill is scored by insertion, the SDR map by
deletion (what each was fitted for), and two reference maps by both: the crest itself
(the best a map can know) and a random map (chance). ``steps`` = 32 (128 px a step of a
64×64 image): the crest covers about 0.7 % of the image, and the README's 20 steps of
5 % each would put any crest-first map's whole crest into the first step.

``python -m fido_lib.experiments.counterfactual_study --out PATH`` reruns it and writes
``PATH`` (``.npz``) with a ``.json`` summary beside it; :func:`load_results` reads the
shipped results (:data:`RESULTS_PATH`, checked against :data:`FORMAT_VERSION`) or any
such file; :func:`run_study` with ``images=[…]`` and ``infills=[…]`` recomputes a slice.
"""
from __future__ import annotations

import argparse
import json
import math
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
from ..fido import FidoConfig, fit
from ..infill import INFILLS, LearnedInfill
from ..metrics import iou, mass_inside, pointing_game, removal_matrix, standard_removals
from ..stats import bootstrap_ci, sign_test, wilcoxon_signed_rank
from ..timing import cpu_name
from . import _stored

__all__ = [
    "FORMAT_VERSION",
    "GROUND_TRUTH",
    "INFILL_NAMES",
    "KINDS",
    "REFERENCES",
    "RESULTS_PATH",
    "STUDY",
    "StudyResults",
    "format_removal_matrix",
    "load_results",
    "main",
    "make_infill_option",
    "paired_comparison",
    "removal_conclusions",
    "removal_table",
    "run_study",
    "summary_table",
]

#: The shipped results of :data:`STUDY` (read-only).
RESULTS_PATH = Path(__file__).resolve().parents[1] / "data" / "counterfactual_results.npz"
#: Version of the stored format; :func:`load_results` refuses another.
FORMAT_VERSION = 1
#: In-fills the study knows: the fixed ones by their name, plus the two that see the mask.
INFILL_NAMES = tuple(INFILLS) + ("learned", "counterfactual")
#: Reference maps scored in the removal matrix beside FIDO's: the crest itself and a random map.
REFERENCES = ("crest", "random")
#: The two AUCs of the removal matrix.
KINDS = ("insertion", "deletion")
#: Per-fit ground-truth numbers (per map: "ssr_…" and "sdr_…").
GROUND_TRUTH = ("mass", "pointing", "iou", "prob", "area")

#: The whole study, pinned (FIDO's settings are not taken from ``FidoConfig``'s defaults,
#: so the stored numbers stay reproducible when those change).
STUDY = {
    "format_version": FORMAT_VERSION,
    "n_images": 24,
    "image_seed": 20261203,
    "noise_seeds": [0, 1],
    "infills": ["blur", "mean", "uniform", "knockoff", "learned", "counterfactual"],
    "infill_params": {"blur": {"sigma": 10.0}},
    "fido": {
        "mode": "both",
        "iterations": 40,
        "lr": 0.5,
        "l1": 30.0,
        "tv": 10.0,
        "mask_size": 28,
        "batch_size": 4,
        "relaxation": "stable",
        "temperature": 0.3,
        "warmup": 5,
    },
    "removals": ["blur", "mean", "counterfactual"],
    "steps": 32,
    "removal_seed": 0,
    "maps_kept": 4,
}


def make_infill_option(name, image, part, params=None, *, learned=None):
    """``(infill, infill_params)`` for ``FidoConfig`` for the study's in-fill ``name`` on one bird
    (``image`` 3×H×W, ``part`` its crest mask): a fixed name and its parameters (from
    ``params[name]``), the learned in-filler (``learned``, default a new
    :class:`~fido_lib.infill.LearnedInfill`) or the bird's :class:`~fido_lib.toy_birds.CrestCounterfactual`."""
    if name not in INFILL_NAMES:
        raise ValueError(f"infill must be one of {', '.join(map(repr, INFILL_NAMES))}; got {name!r}")
    if name == "counterfactual":
        return toy_birds.CrestCounterfactual(image, part), {}
    if name == "learned":
        return (LearnedInfill() if learned is None else learned), {}
    return name, dict((params or {}).get(name, {}))


def _removals(config, image, part, label, i):
    every = standard_removals(image)
    every["counterfactual"] = toy_birds.counterfactual_removals(image, part, generator=config["removal_seed"] + i,
                                                               exclude=label)
    return {name: every[name] for name in config["removals"]}


def _check_config(config):
    if not isinstance(config, dict):
        raise TypeError(f"config must be a dict like counterfactual_study.STUDY, got {type(config).__name__}")
    for key in STUDY:
        if key not in config:
            raise ValueError(f"config misses {key!r}; start from a copy of counterfactual_study.STUDY")
    if config["format_version"] != FORMAT_VERSION:
        raise ValueError(f"config['format_version'] must be {FORMAT_VERSION}, got {config['format_version']!r}")
    check_int("n_images", config["n_images"], low=1, high=10_000)
    check_int("steps", config["steps"], low=1, high=4096)
    check_int("maps_kept", config["maps_kept"], low=0, high=config["n_images"])
    if not config["noise_seeds"]:
        raise ValueError("config['noise_seeds'] must hold at least one seed")
    for s in config["noise_seeds"]:
        check_int("noise_seeds[i]", s, low=0, high=10**9)
    bad = [n for n in config["infills"] if n not in INFILL_NAMES]
    if bad or not config["infills"] or len(set(config["infills"])) != len(config["infills"]):
        raise ValueError(f"config['infills'] must be distinct names from {INFILL_NAMES}, got {config['infills']!r}")
    bad = [n for n in config["removals"] if n not in ("blur", "mean", "counterfactual")]
    if bad or not config["removals"]:
        raise ValueError(f"config['removals'] must name some of 'blur', 'mean', 'counterfactual', "
                         f"got {config['removals']!r}")
    FidoConfig(seed=0, **config["fido"])  # raises on a bad FIDO setting


# ---------------------------------------------------------------------- results
@dataclass
class StudyResults:
    """Numbers of a study.

    ``values[f"{map}_{metric}"]`` (map "ssr"/"sdr", metric of :data:`GROUND_TRUTH`) and
    ``values["seconds"]``: shape (in-fills, images, noise seeds). ``auc``: shape
    (methods, removals, 2 kinds, images, noise seeds) with ``methods`` =
    ``[f"{infill} ssr", f"{infill} sdr" for each in-fill] + REFERENCES`` and kinds
    :data:`KINDS` (an SSR map has insertion only, an SDR map deletion only: NaN elsewhere).
    ``maps``: SSR and SDR maps of the first ``maps_kept`` images, seed 0:
    ``{"ssr": (in-fills, maps_kept, H, W), "sdr": …}``. NaN where not run.
    """

    config: dict
    values: dict
    auc: np.ndarray
    maps: dict
    #: Facts of the run that made the numbers (threads, torch version, CPU, seconds).
    provenance: dict

    @property
    def infills(self) -> list:
        return list(self.config["infills"])

    @property
    def methods(self) -> list:
        return [f"{n} {m}" for n in self.config["infills"] for m in ("ssr", "sdr")] + list(REFERENCES)

    def metric(self, name) -> np.ndarray:
        if name not in self.values:
            raise KeyError(f"unknown metric {name!r}; stored: {', '.join(self.values)}")
        return self.values[name]

    def per_image(self, name) -> np.ndarray:
        """(in-fills, images): each fit's number averaged over the noise seeds (the images
        are the independent units); images not run stay NaN."""
        return _seed_mean(self.metric(name))

    def auc_per_image(self, method, removal, kind) -> np.ndarray:
        """(images,): the AUC of ``method``'s map (e.g. ``"blur ssr"``, ``"crest"``) under
        ``removal``, of ``kind`` ("insertion" or "deletion"), averaged over the noise seeds."""
        if method not in self.methods:
            raise ValueError(f"method must be one of {self.methods}, got {method!r}")
        if removal not in self.config["removals"]:
            raise ValueError(f"removal must be one of {self.config['removals']}, got {removal!r}")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        a = self.auc[self.methods.index(method), self.config["removals"].index(removal), KINDS.index(kind)]
        return _seed_mean(a)

    def save(self, path):
        """Write ``path`` (``.npz``) and a ``.json`` summary beside it; returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {f"value_{k}": v for k, v in self.values.items()}
        arrays.update({f"map_{k}": v.astype(np.float16) for k, v in self.maps.items()})
        meta = {"study": self.config, "provenance": self.provenance}
        np.savez_compressed(path, meta=np.array(json.dumps(meta)), auc=self.auc, **arrays)
        summary = {"ground_truth": summary_table(self), "removal_matrix": removal_table(self),
                   "vs_counterfactual": [paired_comparison(self, m, n, "counterfactual")
                                         for n in self.infills if n != "counterfactual"
                                         for m in ("ssr_mass", "sdr_mass", "ssr_iou", "sdr_iou")]
                   if "counterfactual" in self.infills else [],
                   "conclusions": removal_conclusions(self)}
        text = json.dumps({"meta": meta, "summary": summary}, indent=1)
        text = re.sub(r"\[\s+([^\[\]{}]*?)\s+\]", lambda m: "[" + " ".join(m.group(1).split()) + "]", text)
        path.with_suffix(".json").write_text(text + "\n")
        return path


def _seed_mean(v):
    with warnings.catch_warnings():  # an image not run keeps a NaN mean
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(v, axis=-1)


#: Caps on what a stored study may claim, checked before any array is read: noise seeds,
#: (image, seed) pairs, the side of a stored map and the numbers in one map array.
_MAX_SEEDS = 100
_MAX_PAIRS = 10**5
_MAX_MAP_SIDE = 1024
_MAX_MAP_VALUES = 2 * 10**7


def load_results(path=RESULTS_PATH) -> StudyResults:
    """A stored study: the shipped one by default.

    Nothing in the file is trusted: the meta member (size-bounded JSON) is read first, its
    :data:`FORMAT_VERSION` and study config checked (as :func:`run_study` checks it, with at
    most 100 noise seeds, 10⁵ (image, seed) pairs, maps of at most 1024 px a side and 2·10⁷
    numbers), then every array's ``.npy`` header against the shape the config implies — before
    any array is inflated — and no array more or less. Then the values: NaN only where a fit
    was not run (in every value of it, its AUCs and its kept maps; an SSR map has no deletion,
    an SDR map no insertion), no inf, every ground-truth number, AUC and map in [0, 1], seconds
    >= 0. Anything else raises ``ValueError`` saying what; a missing file ``FileNotFoundError``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no study results at {path}; run `python -m fido_lib.experiments.counterfactual_study --out {path}`")
    where = f"{path} is not a valid counterfactual-study results file"
    try:
        with zipfile.ZipFile(path) as z:
            infos, meta = _stored.members_and_json(z, "meta", where, " (the study config)")
            config = _stored_config(meta, where)
            expected = _stored_layout(config, z, infos, where)
            _stored.check_arrays(z, infos, expected, where, json_member="meta")
            arrays = {name: _stored.read_array(z, infos[name]) for name in infos if name in expected}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, KeyError, NotImplementedError) as err:
        raise ValueError(f"{where} (truncated or corrupt?): {type(err).__name__}: {err}") from None
    except (TypeError, ValueError, AttributeError) as err:
        if str(err).startswith(where):
            raise
        raise ValueError(f"{where} (edited or of another version?): {type(err).__name__}: {err}") from None
    _check_stored_values(arrays, config, where)
    values = {k[6:]: v.astype(np.float64) for k, v in arrays.items() if k.startswith("value_")}
    maps = {k[4:]: v.astype(np.float32) for k, v in arrays.items() if k.startswith("map_")}
    return StudyResults(config, values, arrays["auc"].astype(np.float64), maps, meta["provenance"])


def _stored_config(meta, where):
    """The study config of a stored meta, checked (with the caps of a stored study)."""
    config = meta.get("study")
    if not isinstance(config, dict):
        raise ValueError(f"{where}: meta['study'] must be a study config (a dict like counterfactual_study.STUDY)")
    if not isinstance(meta.get("provenance"), dict):
        raise ValueError(f"{where}: meta['provenance'] must be a dict")
    version = config.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(f"{where}: format version {version!r}, this library reads version {FORMAT_VERSION}")
    for key in ("noise_seeds", "infills", "removals"):
        if not isinstance(config.get(key), list):
            raise ValueError(f"{where}: config[{key!r}] must be a list")
    if len(config["noise_seeds"]) > _MAX_SEEDS:
        raise ValueError(f"{where}: the study claims {len(config['noise_seeds'])} noise seeds; "
                         f"a stored study has at most {_MAX_SEEDS}")
    _check_config(config)  # n_images at most 10 000, distinct known in-fills, known removals, FIDO settings
    if len(set(config["removals"])) != len(config["removals"]):
        raise ValueError(f"{where}: config['removals'] must be distinct, got {config['removals']!r}")
    pairs = config["n_images"] * len(config["noise_seeds"])
    if pairs > _MAX_PAIRS:
        raise ValueError(f"{where}: the study claims {pairs} (image, seed) pairs; a stored study has at most "
                         f"{_MAX_PAIRS}")
    return config


def _stored_layout(config, z, infos, where):
    """``{array name: (shape, dtype kinds)}`` the config implies (the maps' H, W from map_ssr's header)."""
    f = len(config["infills"])
    shape = (f, config["n_images"], len(config["noise_seeds"]))
    expected = {f"value_{m}_{q}": (shape, "f") for m in ("ssr", "sdr") for q in GROUND_TRUTH}
    expected["value_seconds"] = (shape, "f")
    expected["auc"] = ((2 * f + len(REFERENCES), len(config["removals"]), len(KINDS), *shape[1:]), "f")
    if "map_ssr" not in infos:
        raise ValueError(f"{where}: it lacks map_ssr")
    got = _stored.read_header(z, infos["map_ssr"], "map_ssr", where)[0]
    if len(got) != 4 or not all(1 <= side <= _MAX_MAP_SIDE for side in got[2:]):
        raise ValueError(f"{where}: map_ssr has shape {got}, expected (in-fills, maps_kept, H, W) = "
                         f"{(f, config['maps_kept'])} + (H, W) with H, W in [1, {_MAX_MAP_SIDE}]")
    maps = (f, config["maps_kept"], *got[2:])
    if math.prod(maps) > _MAX_MAP_VALUES:
        raise ValueError(f"{where}: map_ssr of shape {maps} would hold {math.prod(maps)} numbers; "
                         f"a stored map array holds at most {_MAX_MAP_VALUES}")
    expected["map_ssr"] = expected["map_sdr"] = (maps, "f")
    return expected


def _check_stored_values(arrays, config, where):
    """NaN only where a fit was not run, no inf, every number in its range (see :func:`load_results`)."""
    not_run = np.isnan(arrays["value_seconds"])  # (in-fills, images, seeds)
    for key in [f"{m}_{q}" for m in ("ssr", "sdr") for q in GROUND_TRUTH] + ["seconds"]:
        v = arrays[f"value_{key}"]
        if np.isinf(v).any():
            raise ValueError(f"{where}: {key} holds inf; a stored value is finite (NaN where not run)")
        if not np.array_equal(np.isnan(v), not_run):
            raise ValueError(f"{where}: {key} is NaN in {int(np.isnan(v).sum())} place(s), seconds in "
                             f"{int(not_run.sum())}: a fit not run is NaN in every value, and nowhere else")
        hi = math.inf if key == "seconds" else 1.0
        bad = (v < 0) | (v > hi)
        if bad.any():
            raise ValueError(f"{where}: {key} must lie in [0, {hi:g}], got {float(v[bad].flat[0]):g} "
                             f"in {int(bad.sum())} place(s)")
    auc = arrays["auc"]  # (methods, removals, kinds, images, seeds)
    if np.isinf(auc).any():
        raise ValueError(f"{where}: auc holds inf; a stored AUC is finite (NaN where not scored)")
    nan_ok = np.zeros(auc.shape, bool)
    nan_must = np.zeros(auc.shape, bool)
    for f in range(not_run.shape[0]):
        for j in range(2):  # SSR maps: insertion only; SDR maps: deletion only
            nan_must[2 * f + j, :, 1 - j] = True
            nan_must[2 * f + j, :, j] = not_run[f]
    nan_ok[2 * not_run.shape[0]:] = not_run.all(axis=0)  # a reference not scored: an image not run
    nan, nan_ok = np.isnan(auc), nan_ok | nan_must
    if (nan & ~nan_ok).any() or (nan_must & ~nan).any():
        raise ValueError(f"{where}: auc is NaN in {int((nan & ~nan_ok).sum())} place(s) where a map was scored "
                         f"and a number in {int((nan_must & ~nan).sum())} where none was (SSR maps have "
                         f"insertion only, SDR maps deletion only, a fit not run none)")
    bad = (auc < 0) | (auc > 1)
    if bad.any():
        raise ValueError(f"{where}: auc must lie in [0, 1], got {float(auc[bad].flat[0]):g} in {int(bad.sum())} "
                         f"place(s)")
    kept = config["maps_kept"]
    for name in ("map_ssr", "map_sdr"):
        v = arrays[name].astype(np.float32)
        if np.isinf(v).any() or ((v < 0) | (v > 1)).any():
            raise ValueError(f"{where}: {name} must hold maps in [0, 1] (NaN where not run)")
        if not np.array_equal(np.isnan(v), np.broadcast_to(not_run[:, :kept, 0, None, None], v.shape)):
            raise ValueError(f"{where}: {name} is NaN in {int(np.isnan(v).sum())} place(s): a kept map is NaN "
                             f"exactly where its fit (seed {config['noise_seeds'][0]}) was not run")


# ---------------------------------------------------------------------- the study
def _score_maps(result, part):
    out = {}
    for name, m in (("ssr", result.ssr), ("sdr", result.sdr)):
        out[f"{name}_mass"] = float(mass_inside(m, part))
        out[f"{name}_pointing"] = float(pointing_game(m, part))
        out[f"{name}_iou"] = float(iou(m, part, "area"))
        out[f"{name}_prob"] = float(result.history[f"{name}_prob"][-1])
        out[f"{name}_area"] = float(m.mean())
    return out


def run_study(config=None, *, images=None, infills=None, classifier=None, progress=True) -> StudyResults:
    """Run the study described by ``config`` (default :data:`STUDY`).

    ``images``: indices of the images to run (default all), ``infills``: names among the
    config's in-fills (default all) — a slice to check stored numbers; the arrays keep
    their full shape, NaN where not run. Deterministic on one machine and thread count.
    """
    config = json.loads(json.dumps(STUDY if config is None else config))
    _check_config(config)
    n = config["n_images"]
    idx = list(range(n)) if images is None else [int(i) for i in images]
    if not idx or any(not 0 <= i < n for i in idx):
        raise ValueError(f"images must be indices in [0, {n - 1}], got {images!r}")
    run_infills = list(config["infills"]) if infills is None else list(infills)
    if not run_infills or any(name not in config["infills"] for name in run_infills):
        raise ValueError(f"infills must be names among {config['infills']}, got {infills!r}")
    birds = toy_birds.make_birds(n, seed=config["image_seed"])
    clf = load_classifier("toy_birds") if classifier is None else classifier
    names, seeds = config["infills"], config["noise_seeds"]
    shape = (len(names), n, len(seeds))
    values = {f"{m}_{q}": np.full(shape, np.nan) for m in ("ssr", "sdr") for q in GROUND_TRUTH}
    values["seconds"] = np.full(shape, np.nan)
    n_methods = 2 * len(names) + len(REFERENCES)
    auc = np.full((n_methods, len(config["removals"]), len(KINDS), n, len(seeds)), np.nan)
    kept = [i for i in idx if i < config["maps_kept"]]
    h, w = birds.images.shape[2:]
    maps = {k: np.full((len(names), config["maps_kept"], h, w), np.nan, np.float32) for k in ("ssr", "sdr")}
    learned = LearnedInfill()  # loads the shipped weights once, on first use
    bar = progress_bar(len(idx) * len(seeds) * len(run_infills), "counterfactual study", enabled=progress, unit="fit")
    start = time.perf_counter()
    for i in idx:
        image, part, target = birds.images[i], birds.part_masks[i], int(birds.labels[i])
        removals = _removals(config, image, part, target, i)
        for k, seed in enumerate(seeds):
            fit_seed = 1000 * int(seed) + i  # the same Concrete noise for every in-fill
            refs = {"crest": part.float(),  # references once per (image, seed)
                    "random": torch.rand(h, w, generator=torch.Generator().manual_seed(fit_seed))}
            scores = removal_matrix(clf, image, refs, target, removals, steps=config["steps"], generator=fit_seed)
            for r, ref in enumerate(REFERENCES):
                _store_auc(auc, 2 * len(names) + r, scores[ref], config, i, k)
            for f, name in enumerate(names):
                if name not in run_infills:
                    continue
                option, params = make_infill_option(name, image, part, config["infill_params"], learned=learned)
                cfg = FidoConfig(seed=fit_seed, infill=option, infill_params=params, **config["fido"])
                result = fit(clf, image, target, cfg, progress=False)
                bar.update(1)
                if not result.complete:
                    if result.stopped_by == "interrupted":
                        raise KeyboardInterrupt("interrupted inside a FIDO fit: the study stops unsaved")
                    continue  # a fit that turned NaN stays NaN (fit warned)
                for key, v in _score_maps(result, part).items():
                    values[key][f, i, k] = v
                values["seconds"][f, i, k] = result.seconds
                # the SSR map is scored by insertion, the SDR map by deletion (what each was fitted for)
                for j, (which, kind) in enumerate((("ssr", "insertion"), ("sdr", "deletion"))):
                    scores = removal_matrix(clf, image, {which: getattr(result, which)}, target, removals,
                                            steps=config["steps"], generator=fit_seed, kinds=(kind,))
                    _store_auc(auc, 2 * f + j, scores[which], config, i, k)
                if k == 0 and i in kept:
                    maps["ssr"][f, i] = result.ssr.numpy()
                    maps["sdr"][f, i] = result.sdr.numpy()
    bar.close()
    provenance = {"threads": torch.get_num_threads(), "torch": torch.__version__,
                  "cpu": cpu_name(), "seconds": round(time.perf_counter() - start, 1)}
    return StudyResults(config, values, auc, maps, provenance)


def _store_auc(auc, method, scores, config, i, k):
    for r, removal in enumerate(config["removals"]):
        for q, kind in enumerate(KINDS):
            if kind in scores[removal]:
                auc[method, r, q, i, k] = scores[removal][kind]


# ---------------------------------------------------------------------- statistics
def _paired_stats(a, b):
    """Mean of ``a - b`` over the images both have, its 95 % bootstrap interval, the exact
    Wilcoxon signed-rank and sign-test p-values, and ``n``."""
    ok = np.isfinite(a) & np.isfinite(b)
    d = a[ok] - b[ok]
    if d.size == 0:
        return {"mean": float("nan"), "ci": [float("nan")] * 2, "wilcoxon_p": float("nan"),
                "sign_p": float("nan"), "n": 0}
    mean, lo, hi = bootstrap_ci(d)
    return {"mean": round(mean, 6), "ci": [round(lo, 6), round(hi, 6)],
            "wilcoxon_p": float(wilcoxon_signed_rank(a[ok], b[ok]).pvalue), "sign_p": float(sign_test(a[ok], b[ok])),
            "n": int(d.size)}


def paired_comparison(results, metric, a, b) -> dict:
    """In-fill ``a`` against ``b`` on a ground-truth ``metric`` (e.g. ``"ssr_mass"``), image by
    image (seeds averaged first): ``{"metric", "a", "b", "mean", "ci", "wilcoxon_p", "sign_p", "n"}``
    with ``mean`` = mean over images of ``metric(a) - metric(b)``."""
    for which, name in (("a", a), ("b", b)):
        if name not in results.infills:
            raise ValueError(f"{which} must be one of the study's in-fills {results.infills}, got {name!r}")
    v = results.per_image(metric)
    return {"metric": metric, "a": a, "b": b,
            **_paired_stats(v[results.infills.index(a)], v[results.infills.index(b)])}


def summary_table(results, metrics=("ssr_mass", "sdr_mass", "ssr_pointing", "sdr_pointing", "ssr_iou", "sdr_iou",
                                    "ssr_prob", "sdr_prob", "seconds")) -> list:
    """One row per in-fill: each ground-truth metric's mean over images and 95 % bootstrap interval."""
    rows = []
    for f, name in enumerate(results.infills):
        row = {"infill": name}
        for m in metrics:
            v = results.per_image(m)[f]
            mean, lo, hi = bootstrap_ci(v[np.isfinite(v)]) if np.isfinite(v).any() else (np.nan,) * 3
            row[m] = [round(float(mean), 6), round(float(lo), 6), round(float(hi), 6)]
        rows.append(row)
    return rows


def removal_table(results) -> list:
    """The removal matrix: one row per (method, removal), mean insertion and deletion AUC over images
    with 95 % bootstrap intervals."""
    rows = []
    for method in results.methods:
        for removal in results.config["removals"]:
            row = {"method": method, "removal": removal}
            for kind in KINDS:
                v = results.auc_per_image(method, removal, kind)
                v = v[np.isfinite(v)]
                mean, lo, hi = bootstrap_ci(v) if v.size else (np.nan,) * 3
                row[kind] = [round(float(mean), 6), round(float(lo), 6), round(float(hi), 6)]
            rows.append(row)
    return rows


def format_removal_matrix(results) -> str:
    """The removal matrix as text: one row per map (SSR maps by insertion ↑, SDR maps by deletion ↓,
    the references by both), one column per removal; means over images."""
    removals = results.config["removals"]
    lines = [f"{'map':24s} {'AUC':11s} " + " ".join(f"{r:>15s}" for r in removals)]
    for method in results.methods:
        kinds = KINDS if method in REFERENCES else (("insertion",) if method.endswith(" ssr") else ("deletion",))
        for kind in kinds:
            cells = []
            for removal in removals:
                v = results.auc_per_image(method, removal, kind)
                cells.append(f"{np.nanmean(v):15.3f}" if np.isfinite(v).any() else f"{'—':>15s}")
            arrow = "↑" if kind == "insertion" else "↓"
            lines.append(f"{method:24s} {kind + ' ' + arrow:11s} " + " ".join(cells))
    return "\n".join(lines)


def removal_conclusions(results, *, alpha=0.05) -> list:
    """For every pair of in-fills, on the SSR maps' insertion and the SDR maps' deletion: the paired
    difference under each removal and whether the verdict survives a change of removal.

    A verdict is ``"a"`` (``a``'s maps score better: higher insertion, lower deletion), ``"b"``,
    or ``"tie"`` (exact Wilcoxon ``p >= alpha``). ``survives`` is True when every removal gives
    the same verdict. One row per (a, b, kind).
    """
    rows = []
    names = results.infills
    for x in range(len(names)):
        for y in range(x + 1, len(names)):
            a, b = names[x], names[y]
            for kind, which in (("insertion", "ssr"), ("deletion", "sdr")):
                per = {}
                for removal in results.config["removals"]:
                    s = _paired_stats(results.auc_per_image(f"{a} {which}", removal, kind),
                                      results.auc_per_image(f"{b} {which}", removal, kind))
                    better = s["mean"] > 0 if kind == "insertion" else s["mean"] < 0
                    s["verdict"] = "tie" if not s["wilcoxon_p"] < alpha else ("a" if better else "b")
                    per[removal] = s
                verdicts = {s["verdict"] for s in per.values()}
                rows.append({"a": a, "b": b, "kind": kind, "map": which, "by_removal": per,
                             "survives": len(verdicts) == 1})
    return rows


# ---------------------------------------------------------------------- command line
def main(argv=None):
    """The command line: rerun the study, write the results where ``--out`` says."""
    parser = argparse.ArgumentParser(prog="python -m fido_lib.experiments.counterfactual_study",
                                     description="Run the in-fill × ground truth × removal study notebook 07 reads.")
    parser.add_argument("--out", default=None, help=f"where to write the .npz (a .json summary beside it); default: "
                        f"{RESULTS_PATH.name} here, or counterfactual_quick.npz with --quick")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (default 1: the stored numbers were computed so)")
    parser.add_argument("--quick", action="store_true", help="two images, one seed: to try the pipeline")
    args = parser.parse_args(argv)
    check_int("--threads", args.threads, low=1, high=256)
    study = json.loads(json.dumps(STUDY))
    if args.quick:
        study["n_images"], study["noise_seeds"], study["maps_kept"] = 2, [0], 2
    out = Path(args.out or ("counterfactual_quick.npz" if args.quick else RESULTS_PATH.name))
    with num_threads(args.threads):
        results = run_study(study)
    path = results.save(out)
    print(f"wrote {path} and {path.with_suffix('.json').name} in {results.provenance['seconds']:.0f} s "
          f"with {results.provenance['threads']} thread(s) on {results.provenance['cpu']}")


if __name__ == "__main__":
    main()
