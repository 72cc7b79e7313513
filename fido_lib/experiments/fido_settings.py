"""Is there a FIDO setting that beats every cheap baseline on both metrics, cheaply? (notebook 07)

The target (issue 16, item 5), as means over the five shipped photos: SSR insertion at
least the best baseline's, SDR deletion at most the best baseline's (both from the stored
:mod:`~fido_lib.experiments.baseline_comparison`, blur removal), in at most a quarter of
the time of a fit with the published settings (100 iterations, 8 samples per mask,
full-resolution masks, the classifier as given).

A small grid of settings, pinned in :data:`SEARCH`, each fitted once per photo
(seed 0) and scored with the same metric; fits of the settings alternate photo by photo
(the order rotated) so a drifting load touches them alike. The published fit's time is
estimated per photo, between the same fits, from a short fit:
``iterations × median step`` (:func:`step_seconds`), set-up left out as it is from
``FidoResult.seconds``. ``python -m fido_lib.experiments.fido_settings --out PATH``
reruns it; :func:`load_results` reads the shipped results, checked.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .._util import num_threads, progress_bar
from ..classifiers import load as load_classifier
from ..fido import FidoConfig, fit
from ..images import SAMPLES, sample
from ..metrics import auc, deletion_curve, insertion_curve
from ..timing import cpu_name
from . import _stored
from .baseline_comparison import FIDO_2026

__all__ = ["RESULTS_PATH", "SEARCH", "SettingsResults", "load_results", "main", "run_search", "step_seconds",
           "tradeoff_table"]

RESULTS_PATH = Path(__file__).resolve().parents[1] / "data" / "fido_settings.npz"

#: The grid, pinned: each candidate is FIDO_2026 (FidoConfig() when the study was pinned) with the changes given.
SEARCH = {
    "photos": list(SAMPLES),
    "steps": 20,
    "base": FIDO_2026,
    "published": {"iterations": 100, "batch_size": 8, "mask_size": None, "fast": False},
    "probe_iterations": 5,
    "candidates": [
        ["FidoConfig()", {}],
        ["full resolution, tv 2", {"mask_size": None, "tv": 2.0}],
        ["grid 112, tv 2, l1 10", {"mask_size": 112, "tv": 2.0, "l1": 10.0}],
    ],
}


def _config(search, changes, **more):
    params = dict(search["base"])
    params["infill_params"] = dict(params.get("infill_params", {}))
    params.update(changes)
    params.update(more)
    return FidoConfig(**params)


def step_seconds(classifier, x, target, config) -> float:
    """Median seconds of one step of ``config`` (its iterations after the first), from one fit."""
    stamps = []
    fit(classifier, x, target, config, callback=lambda i, record: stamps.append(time.perf_counter()),
        progress=False)
    steps = np.diff(stamps)
    if steps.size == 0:
        raise ValueError("step_seconds needs a config with at least 2 iterations")
    return float(statistics.median(steps.tolist()))


@dataclass
class SettingsResults:
    """``insertion``, ``deletion``, ``seconds``: (candidates, photos); ``published``: (photos,) estimated
    seconds of a published-settings fit; ``meta``: the CPU and threads."""

    config: dict
    meta: dict
    insertion: np.ndarray
    deletion: np.ndarray
    seconds: np.ndarray
    published: np.ndarray

    @property
    def labels(self):
        return [label for label, _ in self.config["candidates"]]

    def save(self, path):
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        head = {"search": self.config, "meta": self.meta}
        np.savez_compressed(path, config=np.array(json.dumps(head)), insertion=self.insertion,
                            deletion=self.deletion, seconds=self.seconds, published=self.published)
        path.with_suffix(".json").write_text(json.dumps({"config": head, "table": tradeoff_table(self)},
                                                        indent=1) + "\n")
        return path


#: Caps on what a stored search may claim, checked before any array is read.
_MAX_CANDIDATES = 1000
_MAX_PHOTOS = 1000


def load_results(path=RESULTS_PATH) -> SettingsResults:
    """The stored search (the shipped one by default), checked on load.

    The config member (size-bounded JSON) is read first: at most 1000 candidates (each
    ``[label, changes]``) and 1000 photos. Then the four arrays' ``.npy`` headers (floats,
    the shapes the config implies; no array more or less) before any is inflated; then the
    values: AUCs finite in [0, 1], seconds finite and >= 0, published seconds finite and > 0.
    Anything else raises ``ValueError`` saying what; a missing file ``FileNotFoundError``.
    """
    with _stored.opened(path, "FIDO-settings", "python -m fido_lib.experiments.fido_settings") as (z, where):
        infos, head = _stored.members_and_json(z, "config", where)
        want = _stored_shape(head, where)
        _stored.check_arrays(z, infos, {"insertion": (want, "f"), "deletion": (want, "f"),
                                        "seconds": (want, "f"), "published": (want[1:], "f")}, where)
        data = {name: _stored.read_array(z, infos[name]) for name in ("insertion", "deletion", "seconds", "published")}
        res = SettingsResults(head["search"], head["meta"], data["insertion"], data["deletion"],
                              data["seconds"], data["published"])
        for name in ("insertion", "deletion", "seconds"):
            v = getattr(res, name)
            if v.shape != want or not np.isfinite(v).all() or (v < 0).any():
                raise ValueError(f"{name} must be finite values >= 0 of shape {want}, got shape {v.shape}")
        if ((res.insertion > 1) | (res.deletion > 1)).any():
            raise ValueError("AUCs must lie in [0, 1]")
        if res.published.shape != want[1:] or not (np.isfinite(res.published).all() and (res.published > 0).all()):
            raise ValueError(f"published must be finite positive seconds of shape {want[1:]}")
    return res


def _stored_shape(head, where):
    """(candidates, photos) of a stored search's config, its sizes checked."""
    search, meta = head.get("search"), head.get("meta")
    if not isinstance(search, dict) or not isinstance(meta, dict):
        raise ValueError(f"{where}: its config must hold 'search' (a dict like fido_settings.SEARCH) and 'meta'")
    cands, photos = search.get("candidates"), search.get("photos")
    if not isinstance(cands, list) or not 1 <= len(cands) <= _MAX_CANDIDATES or not all(
            isinstance(c, list) and len(c) == 2 and isinstance(c[0], str) and isinstance(c[1], dict) for c in cands):
        raise ValueError(f"{where}: search['candidates'] must be 1 to {_MAX_CANDIDATES} [label, changes] pairs")
    if not isinstance(photos, list) or not 1 <= len(photos) <= _MAX_PHOTOS or not all(
            isinstance(p, str) for p in photos):
        raise ValueError(f"{where}: search['photos'] must be 1 to {_MAX_PHOTOS} photo names")
    return (len(cands), len(photos))


def run_search(search=None, *, photos=None, progress=True) -> SettingsResults:
    """Run :data:`SEARCH` (or ``search``) on the photos ``photos`` (indices; default all)."""
    search = json.loads(json.dumps(SEARCH if search is None else search))
    cands = search["candidates"]
    configs = [_config(search, changes) for _, changes in cands]  # every setting checked before any fit
    probe = _config(search, search["published"], iterations=search["probe_iterations"])
    full = _config(search, search["published"]).iterations
    n = len(search["photos"])
    idx = list(range(n)) if photos is None else [int(i) for i in photos]
    shape = (len(cands), n)
    res = SettingsResults(search, {"cpu": cpu_name(), "threads": torch.get_num_threads()},
                          np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan), np.full(n, np.nan))
    clf = load_classifier("efficientnet_lite0")
    bar = progress_bar(len(idx) * (len(cands) + 1), "FIDO settings", enabled=progress, unit="fit")
    for i in idx:
        x = clf.prepare(sample(search["photos"][i]))
        with torch.no_grad():
            target = int(clf.logits(x).argmax(1))
        order = list(range(len(cands)))
        order = order[i % len(order):] + order[:i % len(order)]
        for position, c in enumerate(order):
            if position == len(order) // 2:  # the published probe between the candidates
                res.published[i] = full * step_seconds(clf, x, target, probe)
                bar.update(1)
            r = fit(clf, x, target, configs[c], progress=False)
            res.seconds[c, i] = r.seconds
            res.insertion[c, i] = auc(*insertion_curve(clf, x, r.ssr, target, steps=search["steps"]))
            res.deletion[c, i] = auc(*deletion_curve(clf, x, r.sdr, target, steps=search["steps"]))
            bar.update(1)
    bar.close()
    return res


def tradeoff_table(res, best_insertion=None, best_deletion=None) -> list:
    """One row per setting: mean insertion, mean deletion, mean seconds, the mean of the per-photo
    time ratios to the published fit, and — given the best baselines' means — whether it meets
    the target (insertion ≥, deletion ≤, ratio ≤ 1/4)."""
    rows = []
    ratio = res.seconds / res.published[None, :]
    for c, label in enumerate(res.labels):
        row = {"setting": label, "changes": res.config["candidates"][c][1],
               "insertion": float(res.insertion[c].mean()), "deletion": float(res.deletion[c].mean()),
               "seconds": float(res.seconds[c].mean()), "ratio": float(ratio[c].mean())}
        if best_insertion is not None and best_deletion is not None:
            row["meets"] = bool(row["insertion"] >= best_insertion and row["deletion"] <= best_deletion
                                and row["ratio"] <= 0.25)
        rows.append(row)
    return rows


def main(argv=None):
    """Rerun the search; write ``--out`` (``.npz`` and a ``.json`` table)."""
    parser = argparse.ArgumentParser(prog="python -m fido_lib.experiments.fido_settings",
                                     description="a small grid of FIDO settings: time × insertion × deletion")
    parser.add_argument("--out", default=RESULTS_PATH.name, help="the .npz to write (a .json goes beside it)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--quick", action="store_true", help="one photo, to try the pipeline")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    if args.quick:
        with num_threads(args.threads):
            res = run_search(photos=[0])
        print(json.dumps(tradeoff_table(_first(res, 1)), indent=1))
        return 0
    # photo by photo, the file rewritten after each: a run stopped early leaves a valid
    # search over the photos done so far (its config names only those)
    total = None
    for i in range(len(SEARCH["photos"])):
        with num_threads(args.threads):
            res = run_search(photos=[i])
            res.meta["threads"] = torch.get_num_threads()
        if total is None:
            total = res
        else:
            for name in ("insertion", "deletion", "seconds"):
                getattr(total, name)[:, i] = getattr(res, name)[:, i]
            total.published[i] = res.published[i]
        path = _first(total, i + 1).save(args.out)
        print(f"photo {i + 1} of {len(SEARCH['photos'])} done: wrote {path} "
              f"({time.perf_counter() - start:.0f} s so far, {total.meta['threads']} thread(s))", flush=True)
    return 0


def _first(res, k) -> SettingsResults:
    """The search restricted to its first ``k`` photos."""
    config = json.loads(json.dumps(res.config))
    config["photos"] = config["photos"][:k]
    return SettingsResults(config, dict(res.meta), res.insertion[:, :k].copy(), res.deletion[:, :k].copy(),
                           res.seconds[:, :k].copy(), res.published[:k].copy())

if __name__ == "__main__":
    main()
