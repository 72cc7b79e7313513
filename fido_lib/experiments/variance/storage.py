"""The variance experiment's result: traces of every arm, saved to and loaded from ``.npz`` (no pickle)."""
from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..._util import check_path
from .. import _stored
from .._stored import check_header as _check_header
from .config import MAX_NOISE_PER_STEP, VarianceConfig
from .problem import draw_noise, noise_seed

__all__ = ["FORMAT", "FORMAT_VERSION", "MAX_DIGEST_NUMBERS", "VarianceResult"]

#: Written into every saved file's metadata; :meth:`VarianceResult.load` refuses
#: files without them or with another version (the layout may change between versions).
FORMAT = "fido_lib.VarianceResult"
FORMAT_VERSION = 1


@dataclass
class VarianceResult:
    """Traces of an experiment; arrays have shape ``(arms, runs, iterations)``.

    ``grad_norm``: L2 norm of the gradient w.r.t. the drop logits; ``data_grad_norm``:
    the same for the data term alone (the part that carries the noise); ``zero_fraction``:
    fraction of exactly-zero entries of the data term's per-sample gradient; ``log_odds``: mean
    target log-odds of the (first) mask's samples. ``metadata`` is JSON-able: the
    config, the arms, seconds per arm, the noise digests, torch version, device.
    A run whose gradient turned NaN or inf was stopped at that iteration: its
    entries from there on are NaN (see :attr:`stopped_runs`).
    """

    labels: tuple
    grad_norm: np.ndarray
    data_grad_norm: np.ndarray
    zero_fraction: np.ndarray
    log_odds: np.ndarray
    metadata: dict = field(default_factory=dict)

    _ARRAYS = ("grad_norm", "data_grad_norm", "zero_fraction", "log_odds")

    def index(self, label: str) -> int:
        try:
            return self.labels.index(label)
        except ValueError:
            raise ValueError(f"label must be one of {list(self.labels)}, got {label!r}") from None

    def trace(self, label: str) -> np.ndarray:
        """The ``(runs, iterations)`` gradient norms of one arm."""
        return self.grad_norm[self.index(label)]

    @property
    def noise_digests(self) -> dict:
        """SHA-256 of all the noise each arm used: equal digests = bit-identical ``u``."""
        return dict(zip(self.labels, self.metadata["noise_digests"], strict=True))

    @property
    def stopped_runs(self) -> dict:
        """How many runs of each arm hit a NaN/inf gradient (and were stopped there)."""
        return dict(zip(self.labels, np.isnan(self.grad_norm).any(axis=2).sum(axis=1).tolist(), strict=True))

    @property
    def final_drop_rate(self) -> dict:
        """Per arm, each run's mean drop rate ``σ(θ)`` of its (first) mask after the last step.

        Read by the L1 term and the plotted maps as the dropped share; with the
        published sign (:data:`PUBLISHED_SIGN_ARM`) the blend drops ``1 - σ((θ + n)/T)``
        instead. Empty for a file saved before this was recorded.
        """
        rates = self.metadata.get("final_drop_rate")
        if rates is None:
            return {}
        return {label: np.asarray(r, dtype=float) for label, r in zip(self.labels, rates, strict=True)}

    @property
    def seconds(self) -> dict:
        return dict(zip(self.labels, self.metadata["seconds"], strict=True))

    @classmethod
    def join(cls, *results: VarianceResult) -> VarianceResult:
        """The arms of several results of one experiment side by side, in the order given.

        Every result must come from the same :class:`VarianceConfig` with paired noise
        (then every arm of every result saw the same ``u``, as if they had run in one
        call; unpaired arms draw their noise by their index in a call, which joining
        would change), the same torch version, device and thread count, and the labels
        must be distinct. The inputs are not changed; the arrays are copied.
        """
        if not results:
            raise ValueError("join needs at least one VarianceResult, got none")
        for r in results:
            if not isinstance(r, VarianceResult):
                raise TypeError(f"join takes VarianceResult objects, got {type(r).__name__}")
        first = results[0].metadata
        for key in ("config", "arms", "noise_digests", "seconds"):
            for r in results:
                if key not in r.metadata:
                    raise ValueError(f"join: a result's metadata lacks {key!r} (not from run_experiment?)")
        if not first["config"].get("paired", True):
            raise ValueError("join: the results have unpaired noise (paired=False): each arm's noise depends on "
                             "its index in the run, so joined arms would not match their noise seeds; "
                             "run the arms in one call instead")
        for k, r in enumerate(results[1:], start=1):
            for key in ("config", "targets", "torch", "device_name", "threads"):
                if r.metadata.get(key) != first.get(key):
                    raise ValueError(f"join: result {k} differs from result 0 in {key!r} "
                                     f"({r.metadata.get(key)!r:.120} vs {first.get(key)!r:.120}); "
                                     "only results of the same experiment can be joined")
        labels = tuple(label for r in results for label in r.labels)
        if len(set(labels)) != len(labels):
            raise ValueError(f"join: labels must be distinct across the results, got {list(labels)}")
        metadata = {**first}
        for key in ("arms", "noise_digests", "seconds"):
            metadata[key] = [x for r in results for x in r.metadata[key]]
        if all("final_drop_rate" in r.metadata for r in results):
            metadata["final_drop_rate"] = [x for r in results for x in r.metadata["final_drop_rate"]]
        else:
            metadata.pop("final_drop_rate", None)
        arrays = {k: np.concatenate([getattr(r, k) for r in results]) for k in cls._ARRAYS}
        return cls(labels=labels, metadata=json.loads(json.dumps(metadata)), **arrays)

    def save(self, path) -> Path:
        """Write one ``.npz`` (the arrays plus the metadata as a JSON string, with
        :data:`FORMAT` and :data:`FORMAT_VERSION`); no pickle."""
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_suffix(path.suffix + ".npz")
        meta = {"labels": list(self.labels), **self.metadata, "format": FORMAT, "format_version": FORMAT_VERSION}
        np.savez(path, metadata=np.array(json.dumps(meta, sort_keys=True)),
                 **{k: getattr(self, k) for k in self._ARRAYS})
        return path

    @classmethod
    def load(cls, path, *, check_noise: bool = True) -> VarianceResult:
        """Read a file :meth:`save` wrote, and check it before returning it.

        Checked: the format and its version; the metadata (JSON: labels, arms, config,
        one noise digest per arm); the arrays (all four, float, shape ``(arms, runs,
        iterations)`` matching the labels and the config); arms that share a noise
        seed share a digest; and, with ``check_noise`` (default), every digest
        recomputed from the config's seed (about 0.3 s for the published 30 × 100
        experiment). Anything wrong raises ``ValueError`` saying what; a missing file
        ``FileNotFoundError``.
        """
        path = check_path("path", path)
        if not isinstance(check_noise, bool):
            raise TypeError(f"check_noise must be True or False, got {type(check_noise).__name__}")
        if not path.is_file():
            raise FileNotFoundError(f"no VarianceResult file at {path}")
        where = f"{path} is not a valid VarianceResult file"
        try:
            with zipfile.ZipFile(path) as z:
                members = _stored.members(z)
                missing = [k for k in ("metadata", *cls._ARRAYS) if k not in members]
                if missing:
                    raise ValueError(f"{where}: it lacks {', '.join(missing)}")
                meta = _stored.read_json(z, members["metadata"], "metadata", where)
                _check_format(meta, where)
                # the headers first: shapes and dtypes against the config, before any array is inflated
                expected = _expected_shape(meta, where)
                for k in cls._ARRAYS:
                    _check_header(z, members[k], k, expected, "f", where,
                                  source="the labels and the config (arms, runs, iterations)")
                arrays = {k: _stored.read_array(z, members[k]) for k in cls._ARRAYS}
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, KeyError, NotImplementedError) as err:
            raise ValueError(f"{where}: cannot read it as .npz (truncated or corrupt?): "
                             f"{type(err).__name__}: {err}") from None
        except ValueError as err:
            if str(err).startswith(where):
                raise
            raise ValueError(f"{where}: {err}") from None
        labels = _check_metadata(meta, arrays, where)
        if check_noise:
            _check_digests(meta, labels, where)
        return cls(labels=labels, metadata=meta, **arrays)


#: The most uniform numbers per step :func:`_check_digests` draws again (512 MB of float32).
_MAX_NOISE_PER_STEP = MAX_NOISE_PER_STEP
#: The most uniform numbers :func:`_check_digests` draws again in all (all distinct noise
#: seeds together): about 40 times the published 30 × 100 experiment's, seconds to a minute.
MAX_DIGEST_NUMBERS = 2**30
def _expected_shape(meta, where):
    """``(arms, runs, iterations)`` from the labels and the config (checked as a VarianceConfig)."""
    labels, config = meta.get("labels"), meta.get("config")
    if not isinstance(labels, list) or not isinstance(config, dict):
        raise ValueError(f"{where}: metadata must hold a list 'labels' and a dict 'config'")
    try:
        cfg = _config(meta)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{where}: metadata['config'] is not a valid VarianceConfig: {err}") from None
    return (len(labels), cfg.runs, cfg.iterations)


def _config(meta):
    # the noise is drawn on the CPU whatever the device: a file written on a GPU
    # machine must load (and be checked) on one without
    return VarianceConfig(**{**meta["config"], "device": "cpu"})


def _check_format(meta, where):
    fmt, version = meta.pop("format", None), meta.pop("format_version", None)
    if fmt is None and version is None:
        raise ValueError(f"{where}: it has no format version (written before fido_lib stored one, version "
                         f"{FORMAT_VERSION}); re-run the experiment and save it again")
    if fmt != FORMAT:
        raise ValueError(f"{where}: its format is {fmt!r}, expected {FORMAT!r}")
    if version != FORMAT_VERSION:
        raise ValueError(f"{where}: format version {version!r}; this fido_lib reads version {FORMAT_VERSION} only")


def _check_metadata(meta, arrays, where):
    """Labels, arms, config and arrays agree with each other; returns the labels."""
    for key, kind in (("labels", list), ("arms", list), ("config", dict), ("noise_digests", list)):
        if not isinstance(meta.get(key), kind):
            raise ValueError(f"{where}: metadata[{key!r}] must be a {kind.__name__}, got {meta.get(key)!r:.80}")
    labels = meta.pop("labels")
    if not labels or not all(isinstance(x, str) for x in labels) or len(set(labels)) != len(labels):
        raise ValueError(f"{where}: labels must be distinct strings, got {labels!r:.200}")
    arm_labels = [a.get("label") if isinstance(a, dict) else None for a in meta["arms"]]
    if arm_labels != labels:
        raise ValueError(f"{where}: the labels {labels} do not match the arms' labels {arm_labels}")
    try:
        config = _config(meta)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{where}: metadata['config'] is not a valid VarianceConfig: {err}") from None
    expected = (len(labels), config.runs, config.iterations)
    for name, a in arrays.items():
        if not np.issubdtype(a.dtype, np.floating):
            raise ValueError(f"{where}: {name} must hold floats, got dtype {a.dtype}")
        if a.shape != expected:
            raise ValueError(f"{where}: {name} has shape {a.shape}, expected (arms, runs, iterations) = {expected} "
                             "from the labels and the config")
    for name, a in arrays.items():
        if np.isinf(a).any():  # a stopped run is NaN from there on; inf is never written
            raise ValueError(f"{where}: {name} holds inf; stored traces are finite (or NaN where a run stopped)")
    seconds = meta.get("seconds")
    if not (isinstance(seconds, list) and len(seconds) == len(labels)
            and all(isinstance(t, (int, float)) and not isinstance(t, bool) and t >= 0 for t in seconds)):
        raise ValueError(f"{where}: metadata['seconds'] must hold one number >= 0 per arm, got {seconds!r:.200}")
    if (arrays["grad_norm"] < 0).any() or (arrays["data_grad_norm"] < 0).any():
        raise ValueError(f"{where}: gradient norms must be >= 0 (or NaN where a run stopped)")
    z = arrays["zero_fraction"]
    if ((z < 0) | (z > 1)).any():
        raise ValueError(f"{where}: zero_fraction must lie in [0, 1] (or be NaN)")
    rates = meta.get("final_drop_rate")
    if rates is not None and not (
        isinstance(rates, list) and len(rates) == len(labels)
        and all(isinstance(r, list) and len(r) == config.runs and all(
            isinstance(x, (int, float)) and not isinstance(x, bool) and 0 <= x <= 1 for x in r) for r in rates)
    ):
        raise ValueError(f"{where}: metadata['final_drop_rate'] must hold, per arm, one rate in [0, 1] per run, "
                         f"got {rates!r:.200}")
    digests = meta["noise_digests"]
    if len(digests) != len(labels) or not all(isinstance(d, str) and len(d) == 64 for d in digests):
        raise ValueError(f"{where}: noise_digests must hold one SHA-256 hex digest per arm ({len(labels)}), "
                         f"got {digests!r:.200}")
    # arms drawing from the same seed saw the same noise: their digests must agree
    seeds = [noise_seed(config.seed, k, config.paired) for k in range(len(labels))]
    for k in range(len(labels)):
        for j in range(k):
            if seeds[j] == seeds[k] and digests[j] != digests[k]:
                raise ValueError(f"{where}: arms {labels[j]!r} and {labels[k]!r} share a noise seed but their "
                                 "noise digests differ")
    return tuple(labels)


def _check_digests(meta, labels, where):
    """Recompute each arm's noise digest from the config (as the runner draws it)."""
    config = _config(meta)
    per_step = config.runs * config.masks * config.samples * config.image_size**2
    if per_step > _MAX_NOISE_PER_STEP:
        raise ValueError(f"{where}: recomputing its noise would draw {per_step:.3g} numbers per step (more than "
                         f"{_MAX_NOISE_PER_STEP:.3g}, {4 * _MAX_NOISE_PER_STEP / 2**20:.0f} MB); "
                         "load it with check_noise=False to skip that check")
    distinct = len({noise_seed(config.seed, k, config.paired) for k in range(len(labels))})
    total = per_step * config.iterations * distinct
    if total > MAX_DIGEST_NUMBERS:
        raise ValueError(f"{where}: recomputing its noise digests would draw {total:.3g} numbers (more than "
                         f"MAX_DIGEST_NUMBERS = {MAX_DIGEST_NUMBERS:.3g}); load it with check_noise=False "
                         "to skip that check")
    done = {}
    for k, (label, digest) in enumerate(zip(labels, meta["noise_digests"], strict=True)):
        seed = noise_seed(config.seed, k, config.paired)
        if seed not in done:
            generator = torch.Generator().manual_seed(seed)
            h = hashlib.sha256()
            for _ in range(config.iterations):
                h.update(draw_noise(generator, config).numpy().tobytes())
            done[seed] = h.hexdigest()
        if done[seed] != digest:
            raise ValueError(f"{where}: the noise digest of arm {label!r} does not match the noise its config's "
                             f"seed {config.seed} draws (recomputed); the file was edited or is from other code")
