"""Stored FIDO fits of the shipped photos (notebook 04, sections 9 and 10).

Notebook 04 fits chelsea live, twice (the stable relaxation and the paper's Function), and
then scores five photos and two more settings on chelsea. Those six fits took 72 s of their
own on a 2-core AMD EPYC (their seconds are stored with them); with them stored, the
notebook ran in 86 s there. This module makes them once,
with exactly the calls the notebook used — ``fido.fit(clf, photo, top-1 class, config)`` on
EfficientNet-Lite0, for the settings in :data:`NOTEBOOK_04` — and stores what a fit
produces: the two masks' drop logits on the mask grid, the per-iteration history, the
target, its probability and the fit's seconds, with the CPU, threads and torch version
that made them. :func:`load_fits` rebuilds :class:`~fido_lib.fido.FidoResult` objects
through the same :func:`~fido_lib.fido.mask_from_logits` a fit uses, so the maps, AUCs and
plots are those of the stored fits. On the machine and thread count that made the file a
live fit gives the same logits bit for bit; on another CPU a fit's 40 noisy steps move its
AUCs in the second decimal (the book's results page gives the range): notebook 04 compares
the stored chelsea fit with its live one, and ``tests/test_photo_fits.py`` refits a photo.

``python -m fido_lib.experiments.photo_fits --out PATH`` remakes the file (default:
``photo_fits.npz`` in the current directory); ``load_fits(..., path=PATH)`` reads it.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import platform
import time
from pathlib import Path

import numpy as np
import torch

from .._util import check_path
from ..classifiers import Classifier
from ..classifiers import load as load_classifier
from ..fido import READABLE, FidoConfig, FidoResult, _mask_grid, fit, joint_map, mask_from_logits
from ..images import SAMPLES, sample
from ..infill import INFILLS, make_infill
from ..timing import cpu_name
from . import _stored

__all__ = ["CLASSIFIER", "FITS_PATH", "HISTORY_KEYS", "MAX_ENTRIES", "NOTEBOOK_04", "config_fields", "fit_photos",
           "load_fits", "main", "save_fits", "stored_meta"]

FITS_PATH = Path(__file__).resolve().parents[1] / "data" / "photo_fits.npz"
#: The classifier the stored fits explain.
CLASSIFIER = "efficientnet_lite0"
#: ``FidoResult.history`` keys of a fit in mode "both", in the stored arrays' row order.
HISTORY_KEYS = ["loss", "grad_norm"] + [f"{n}_{q}" for n in ("ssr", "sdr") for q in ("log_odds", "prob", "area")]
#: The fits the shipped file holds: ``(config, photos)``, as notebook 04 makes them.
NOTEBOOK_04 = [
    (FidoConfig(), tuple(SAMPLES)),                           # section 9: every photo
    (FidoConfig(mask_size=None, tv=0.0), ("chelsea",)),        # section 10: speckled, full-resolution masks
    (READABLE, ("chelsea",)),                                 # section 10: maps a person can read
]
#: The most entries a stored file may list (read before any array).
MAX_ENTRIES = 100


def config_fields(config: FidoConfig) -> dict:
    """``config`` as plain JSON values (every field); only mode "both" with a named, fixed
    in-fill can be stored."""
    if config.mode != "both" or not isinstance(config.infill, str) or config.infill not in INFILLS:
        raise ValueError(f"stored fits are of mode 'both' with a fixed in-fill ({', '.join(INFILLS)}); "
                         f"config has mode {config.mode!r}, infill {config.infill!r}")
    fields = dataclasses.asdict(config)
    if fields["device"] is not None:
        fields["device"] = str(fields["device"])  # torch.device("cpu") is "cpu", as FidoConfig takes it
    try:
        return json.loads(json.dumps(fields))
    except (TypeError, ValueError) as err:
        raise ValueError(f"config cannot be stored: a field is not a JSON value ({err})") from None


def fit_photos(photos=SAMPLES, config=None, classifier=None, progress=True) -> dict:
    """``{photo: FidoResult}``: ``fit(classifier, photo, its top-1 class, config)`` for each photo,
    as notebook 04 calls it (``config``: ``FidoConfig()``; ``classifier``: EfficientNet-Lite0)."""
    photos = _photo_list(photos)
    unknown = [p for p in photos if p not in SAMPLES]
    if unknown:
        raise ValueError(f"photos must be names of images.SAMPLES {SAMPLES}, got {unknown}")
    config = FidoConfig() if config is None else config
    if not isinstance(config, FidoConfig):
        raise TypeError(f"config must be a FidoConfig, got {type(config).__name__}")
    config_fields(config)
    if classifier is not None and not isinstance(classifier, Classifier):
        raise TypeError("classifier must be a fido_lib.classifiers.Classifier or None, "
                        f"got {type(classifier).__name__}")
    clf = load_classifier(CLASSIFIER) if classifier is None else classifier
    out = {}
    for name in photos:
        photo = sample(name)
        out[name] = fit(clf, photo, clf.top_k(photo, 1)[0][0], config, progress=progress)
        if not out[name].complete:
            raise RuntimeError(f"the fit of {name!r} stopped early ({out[name].stopped_by}); nothing is stored")
    return out


def save_fits(entries, path=FITS_PATH) -> Path:
    """Write ``entries`` (``[(photo, FidoResult), …]``, or ``{photo: FidoResult}`` from
    :func:`fit_photos`) to ``path`` (``.npz``)."""
    if not isinstance(entries, (dict, list, tuple)):
        raise TypeError(f"entries must be a dict {{photo: FidoResult}} or a list of (photo, FidoResult) pairs, "
                        f"got {type(entries).__name__}")
    entries = list(entries.items()) if isinstance(entries, dict) else list(entries)
    if not 1 <= len(entries) <= MAX_ENTRIES:
        raise ValueError(f"entries must hold 1 to {MAX_ENTRIES} fits, got {len(entries)}")
    for e in entries:
        if not (isinstance(e, tuple) and len(e) == 2 and e[0] in SAMPLES and isinstance(e[1], FidoResult)):
            raise TypeError(f"entries must be (photo, FidoResult) pairs with a photo of images.SAMPLES {SAMPLES}, "
                            f"got {e!r:.80}")
        if not e[1].complete or e[1].ssr_logits is None or e[1].sdr_logits is None:
            raise ValueError(f"the fit of {e[0]!r} is incomplete or lacks a mask: only complete fits of mode 'both' "
                             "are stored")
    path = check_path("path", path)
    if path.suffix != ".npz":
        raise ValueError(f"path must end in .npz (numpy would add it), got {str(path)!r}")
    classifier = entries[0][1].classifier_name
    configs = [config_fields(r.config) for _, r in entries]
    keys = {_key(photo, c) for (photo, _), c in zip(entries, configs)}
    if len(keys) != len(entries) or any(r.classifier_name != classifier for _, r in entries):
        raise ValueError("stored fits must be of one classifier, one per photo and config")
    head = {
        "classifier": classifier,
        "entries": [{"photo": photo, "config": c, "target": r.target, "original_prob": r.original_prob,
                     "seconds": r.seconds} for (photo, r), c in zip(entries, configs)],
        "history_keys": HISTORY_KEYS,
        "meta": {"cpu": cpu_name(), "threads": torch.get_num_threads(), "torch": torch.__version__,
                 "python": platform.python_version(), "date": time.strftime("%Y-%m-%d")},
    }
    arrays = {}
    for i, (_, r) in enumerate(entries):
        arrays[f"ssr_logits_{i}"] = r.ssr_logits.numpy().astype(np.float32)
        arrays[f"sdr_logits_{i}"] = r.sdr_logits.numpy().astype(np.float32)
        arrays[f"history_{i}"] = np.array([r.history[k] for k in HISTORY_KEYS], dtype=np.float64)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, config=np.array(json.dumps(head)), **arrays)
    return path


def _photo_list(photos) -> list:
    """``photos`` as a list of names: any iterable of strings (read once), not a string itself, not empty."""
    try:
        names = None if isinstance(photos, str) else list(photos)
    except TypeError:
        names = None
    if not names or not all(isinstance(p, str) for p in names):
        raise TypeError("photos must be a non-empty list of photo names (images.SAMPLES), or None for all")
    return names


def _opened(path):
    """The stored file, opened and its errors named (:func:`fido_lib.experiments._stored.opened`)."""
    return _stored.opened(check_path("path", path), "photo-fits", "python -m fido_lib.experiments.photo_fits")


def _key(photo: str, fields: dict) -> tuple:
    """What makes a stored fit one of its kind: its photo and its config."""
    return photo, json.dumps(fields, sort_keys=True)


#: The fields of a stored config: exactly FidoConfig's.
_CONFIG_FIELDS = frozenset(f.name for f in dataclasses.fields(FidoConfig))


def _entries(head, where, classifier, path):
    """The stored entries checked, with each one's FidoConfig and mask grid."""
    if head.get("classifier") != classifier.name:
        # the caller's classifier, not the file, is what is wrong here (as a rule)
        raise ValueError(f"{path} holds fits of classifier {head.get('classifier')!r}, "
                         f"not of {classifier.name!r}: pass classifiers.load({head.get('classifier')!r})")
    entries = head.get("entries")
    if not isinstance(entries, list) or not 1 <= len(entries) <= MAX_ENTRIES:
        raise ValueError(f"{where}: its entries must be a list of 1 to {MAX_ENTRIES} fits")
    out, seen = [], set()
    for i, e in enumerate(entries):
        if not isinstance(e, dict) or set(e) != {"photo", "config", "target", "original_prob", "seconds"}:
            raise ValueError(f"{where}: entry {i} must hold photo, config, target, original_prob and seconds")
        if e["photo"] not in SAMPLES:
            raise ValueError(f"{where}: entry {i}'s photo must be one of images.SAMPLES {SAMPLES}, got {e['photo']!r}")
        if not isinstance(e["config"], dict):
            raise ValueError(f"{where}: entry {i}'s config must hold FidoConfig fields")
        if set(e["config"]) != _CONFIG_FIELDS:
            raise ValueError(f"{where}: entry {i}'s config must hold exactly FidoConfig's fields")
        try:
            config = FidoConfig(**e["config"])  # its own checks: the values a config may have
            if config_fields(config) != e["config"]:
                raise ValueError("it does not survive a round trip")
        except (TypeError, ValueError) as err:
            raise ValueError(f"{where}: entry {i}'s config is not a FidoConfig to store: {err}") from None
        key = _key(e["photo"], e["config"])
        if key in seen:
            raise ValueError(f"{where}: entry {i} repeats a photo and config of an earlier one")
        seen.add(key)
        if type(e["target"]) is not int or not 0 <= e["target"] < classifier.num_classes:
            raise ValueError(f"{where}: entry {i}'s target must be a class index in [0, {classifier.num_classes})")
        for k, hi in (("original_prob", 1.0), ("seconds", math.inf)):
            v = e[k]
            if type(v) not in (int, float) or not (math.isfinite(v) and 0 <= v <= hi):
                raise ValueError(f"{where}: entry {i}'s {k} must be a finite number in [0, {hi}]")
        out.append((e, config, _mask_grid(classifier.input_size, config.mask_size)))
    if head.get("history_keys") != HISTORY_KEYS:
        raise ValueError(f"{where}: its history_keys must be {HISTORY_KEYS}")
    if not isinstance(head.get("meta"), dict):
        raise ValueError(f"{where}: its meta must say which machine made the fits")
    return out


def _differences(want: dict, stored: list) -> str:
    rows = []
    for fields in stored:
        differ = sorted(k for k in want if want[k] != fields.get(k))
        rows.append(", ".join(f"{k} {fields.get(k)!r}" for k in differ))
    return "; ".join(sorted(set(rows)))


def load_fits(classifier: Classifier, photos=None, config=None, path=FITS_PATH) -> dict:
    """``{photo: FidoResult}`` of the stored fits made with ``config`` (default ``FidoConfig()``),
    for ``classifier`` (EfficientNet-Lite0, as :func:`fido_lib.classifiers.load` gives it):
    every photo stored with that config, or only the named ``photos``.

    Checked before any array is read: the JSON member (size-bounded) must name this
    classifier and at most :data:`MAX_ENTRIES` entries, each a photo of
    :data:`fido_lib.images.SAMPLES`, a valid ``FidoConfig`` of mode "both" with a fixed in-fill,
    a class index, a probability and seconds; every array's ``.npy`` header the shape these
    imply (float logits on the config's mask grid, a history of :data:`HISTORY_KEYS` ×
    iterations), none more or less. Then the values must be finite. Anything else raises
    ``ValueError`` saying what; a missing file ``FileNotFoundError``. Each result's image and
    in-fill are recomputed from the shipped photo, as ``fit`` makes them.
    """
    if not isinstance(classifier, Classifier):
        raise TypeError(f"classifier must be a fido_lib.classifiers.Classifier, got {type(classifier).__name__}")
    config = FidoConfig() if config is None else config
    if not isinstance(config, FidoConfig):
        raise TypeError(f"config must be a FidoConfig, got {type(config).__name__}")
    want = config_fields(config)
    if photos is not None:
        photos = _photo_list(photos)
    path = check_path("path", path)
    with _opened(path) as (z, where):
        infos, head = _stored.members_and_json(z, "config", where)
        entries = _entries(head, where, classifier, path)
        expected = {}
        for i, (_, c, (gh, gw)) in enumerate(entries):
            expected.update({f"ssr_logits_{i}": ((gh, gw), "f"), f"sdr_logits_{i}": ((gh, gw), "f"),
                             f"history_{i}": ((len(HISTORY_KEYS), c.iterations), "f")})
        _stored.check_arrays(z, infos, expected, where, source="its entries")
        chosen = [i for i, (e, _, _) in enumerate(entries) if e["config"] == want]
        stored_photos = [entries[i][0]["photo"] for i in chosen]
        if not chosen:
            raise ValueError(f"{path} holds no fits made with this FidoConfig: the stored ones differ in "
                             f"{_differences(want, [e['config'] for e, _, _ in entries])}; fit it yourself, "
                             "or remake the file with python -m fido_lib.experiments.photo_fits")
        missing = [p for p in (photos or []) if p not in stored_photos]
        if missing:
            raise ValueError(f"{path} holds no fit of photos {missing} with this FidoConfig; it holds {stored_photos}")
        chosen = [chosen[stored_photos.index(p)] for p in photos] if photos is not None else chosen
        arrays = {}
        for i in chosen:
            for k in ("ssr_logits", "sdr_logits", "history"):
                v = _stored.read_array(z, infos[f"{k}_{i}"])
                with np.errstate(over="ignore"):  # then checked: a float64 1e300 is inf as float32
                    v = v.astype(np.float64 if k == "history" else np.float32)
                if not np.isfinite(v).all():
                    raise ValueError(f"{where}: {k}_{i} must hold finite values")
                arrays[k, i] = v
    out = {}
    for i in chosen:
        e = entries[i][0]
        x = classifier.prepare(sample(e["photo"]))
        ssr_theta, sdr_theta = (torch.from_numpy(arrays[k, i]) for k in ("ssr_logits", "sdr_logits"))
        ssr = mask_from_logits(ssr_theta, x.shape[1:], keep=True)
        sdr = mask_from_logits(sdr_theta, x.shape[1:], keep=False)
        out[e["photo"]] = FidoResult(
            image=x, infill=make_infill(x, config.infill, generator=config.seed + 1, **config.infill_params),
            target=e["target"], target_name=classifier.class_names[e["target"]], ssr=ssr, sdr=sdr,
            joint=joint_map(ssr, sdr), ssr_logits=ssr_theta, sdr_logits=sdr_theta,
            history={k: arrays["history", i][j].tolist() for j, k in enumerate(HISTORY_KEYS)},
            config=config, complete=True, iterations_done=config.iterations, seconds=float(e["seconds"]),
            original_prob=float(e["original_prob"]), classifier_name=classifier.name)
    return out


def stored_meta(path=FITS_PATH) -> dict:
    """The machine facts stored with the fits (CPU, threads, torch, date); the arrays are not read."""
    with _opened(path) as (z, where):
        _, head = _stored.members_and_json(z, "config", where)
        meta = head.get("meta")
        if not isinstance(meta, dict) or not all(isinstance(meta.get(k), (str, int)) for k in ("cpu", "threads",
                                                                                               "torch", "date")):
            raise ValueError(f"{where}: its meta must name the cpu, threads, torch and date that made the fits")
    return dict(meta)


def main(argv=None):
    """Make the fits of :data:`NOTEBOOK_04` and write ``--out``."""
    parser = argparse.ArgumentParser(prog="python -m fido_lib.experiments.photo_fits",
                                     description="the FIDO fits notebook 04 loads: the shipped photos, "
                                                 "FidoConfig() and two settings on chelsea")
    parser.add_argument("--out", default=FITS_PATH.name, help="the .npz to write (default: %(default)s here; "
                        "the shipped file is fido_lib/data/photo_fits.npz)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    clf = load_classifier(CLASSIFIER)
    entries = []
    for config, photos in NOTEBOOK_04:
        entries += list(fit_photos(photos, config, clf).items())
    path = save_fits(entries, args.out)
    print(f"wrote {path}: {len(entries)} fits in {time.perf_counter() - start:.0f} s, "
          f"{torch.get_num_threads()} thread(s), {cpu_name()}")
    return 0


if __name__ == "__main__":
    main()
