"""The variance experiment's settings: the arms (relaxation × temperature) and :class:`VarianceConfig`."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch

from ..._util import check_bool, check_choice, check_int, check_real, resolve_device
from ...concrete import RELAXATIONS

__all__ = [
    "ABLATION_ARMS",
    "INPUTS",
    "MAX_IMAGE_SIZE",
    "MAX_ITERATIONS",
    "MAX_NOISE_PER_STEP",
    "MAX_RUNS",
    "MAX_SAMPLES",
    "MAX_WORK",
    "OBJECTIVES",
    "OPTIMIZERS",
    "PUBLISHED_ARMS",
    "PUBLISHED_SIGN_ARM",
    "SAMPLE_AS",
    "Arm",
    "VarianceConfig",
    "resolve_config",
]

OBJECTIVES = ("ssr", "sdr", "joint")
#: The supplement's two readings of its inputs: its text, one random input repeated
#: for all runs ("one"); its Fig. 1 caption, "30 randomly initialized inputs", one
#: input per run ("per_run").
INPUTS = ("one", "per_run")
#: name -> (torch class, default lr, default eps, default weight decay).
#: "adamw" is the published FIDO code's optimiser, ``AdamW(lr=10, eps=0.1,
#: weight_decay=config.l2)`` with ``l2 = 0.0``: no weight decay (torch's own AdamW
#: default of 0.01 is a different optimiser here: at lr 10 it pulls every logit 10 %
#: towards 0 each step). "adam" is a conventional choice at lr 0.1.
OPTIMIZERS = {
    "adamw": (torch.optim.AdamW, 10.0, 0.1, 0.0),
    "adam": (torch.optim.Adam, 0.1, 1e-8, 0.0),
}
_DTYPES = {"float32": torch.float32, "float64": torch.float64}
#: Bounds of :class:`VarianceConfig`, checked when it is made (before anything is
#: allocated): ``iterations`` as ``FidoConfig`` caps its own; ``runs``, ``samples`` and
#: ``image_size`` each; the noise numbers one step draws, ``runs × masks × samples ×
#: image_size²`` (512 MB of float32); and the numbers one arm draws over all iterations,
#: :data:`MAX_WORK`, about 20 times the published 30 × 100 experiment (measured,
#: provisional, on a shared core: 13 s per arm for the published one, so minutes here).
#: ``runs=10**6`` took 4 GB before failing, ``iterations=10**9`` never ended.
MAX_RUNS = 10_000
MAX_ITERATIONS = 100_000
MAX_SAMPLES = 1024
MAX_IMAGE_SIZE = 512
MAX_NOISE_PER_STEP = 2**27
MAX_WORK = 2**29
#: How the blend uses the relaxation's output: as the drop mask (``"drop"``, the
#: library's convention and Gal et al.'s) or as the keep mask (``"keep"``, the
#: published FIDO code's simplified path before its fix; see :data:`PUBLISHED_SIGN_ARM`).
SAMPLE_AS = ("drop", "keep")


@dataclass(frozen=True)
class Arm:
    """One implementation setting of the experiment: a relaxation at a temperature.

    ``relaxation`` is a name :func:`fido_lib.concrete.drop_mask` accepts (``"gal"``,
    ``"paper"``, ``"stable"``); ``eps`` only matters for ``"gal"``.
    ``sample_as``: ``"drop"`` (default) blends ``(1 - y)·x + y·infill`` with the
    relaxation's output ``y``; ``"keep"`` blends ``y·x + (1 - y)·infill``, the sign
    handling of the published code's simplified path, while the L1 and TV terms
    still read ``σ(θ)`` as the drop rate (see :data:`PUBLISHED_SIGN_ARM`).
    """

    label: str
    relaxation: str
    temp: float
    eps: float = 1e-7
    sample_as: str = "drop"

    def __post_init__(self):
        if not isinstance(self.label, str):
            raise TypeError(f"label must be a non-empty string, got {type(self.label).__name__} {self.label!r}")
        if not self.label:
            raise ValueError(f"label must be a non-empty string, got {self.label!r}")
        check_choice("relaxation", self.relaxation, RELAXATIONS)
        check_real("temp", self.temp, low=0.0, low_open=True)
        check_real("eps", self.eps, low=0.0, high=1.0, high_open=True)
        check_choice("sample_as", self.sample_as, SAMPLE_AS)


#: The settings of the published code: Gal et al.'s formula at T = 0.1 with the
#: code's eps = 2.2e-16 ("original") against the paper's Function at T = 1.0
#: ("simplified"). Formula *and* temperature change together. The simplified arm
#: uses the corrected sign; :data:`PUBLISHED_SIGN_ARM` is the same arm with the sign
#: handling the published code had when the supplement was written.
PUBLISHED_ARMS = (
    Arm("original", "gal", temp=0.1, eps=2.2e-16),
    Arm("simplified", "paper", temp=1.0),
)

#: The published code's simplified arm with that code's sign handling, as it stood
#: when the supplement was written: its simplified Function (the one the supplement
#: lists) returns ``σ((θ + n) / T)``, which rises with the *drop* logit θ, and the
#: caller blends with it as the *keep* rate, while the L1 term (``1 - σ(θ)`` for SSR)
#: and the plotted maps read θ as a drop logit. A later version returns the keep rate
#: ``1 - σ(...)``; :data:`PUBLISHED_ARMS` uses that corrected sign. The temperature
#: is that path's T = 1.0: the code's Function defaults to it and the caller passes
#: none (the supplement's own listing defaults to ``temp = 0.1``).
PUBLISHED_SIGN_ARM = Arm("simplified, published sign", "paper", temp=1.0, sample_as="keep")

#: The 2 × 2 that separates the two changes: {Gal, paper} × {T = 0.1, T = 1.0}.
ABLATION_ARMS = (
    Arm("gal T=0.1", "gal", temp=0.1, eps=2.2e-16),
    Arm("paper T=0.1", "paper", temp=0.1),
    Arm("gal T=1.0", "gal", temp=1.0, eps=2.2e-16),
    Arm("paper T=1.0", "paper", temp=1.0),
)


@dataclass(frozen=True)
class VarianceConfig:
    """Everything but the arms that defines an experiment (defaults: S2's 30 × 100).

    ``optimizer``: ``"adamw"`` (the published code's: lr 10, eps 0.1, no weight
    decay) or ``"adam"`` (lr 0.1); ``lr`` / ``optimizer_eps`` / ``weight_decay`` of
    ``None`` take those defaults.
    ``paired``: every arm gets the same noise ``u`` in a run (``True``) or its own.
    ``inputs``: ``"one"`` random input for all runs (the supplement's text) or one
    per run, ``"per_run"`` (its Fig. 1 caption); see :data:`INPUTS`.
    ``dtype``: ``"float32"`` or ``"float64"`` (a torch dtype is accepted and stored
    by name); ``device``: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``, which
    must be present.
    """

    runs: int = 30
    iterations: int = 100
    samples: int = 8
    objective: str = "ssr"
    optimizer: str = "adamw"
    lr: float | None = None
    optimizer_eps: float | None = None
    weight_decay: float | None = None
    l1: float = 1e-3
    tv: float = 1e-2
    warmup: int = 5
    init_logit: float = 0.0
    image_size: int = 32
    blur_sigma: float | None = None
    dtype: str = "float32"
    device: str = "cpu"
    seed: int = 0
    model_seed: int = 0
    paired: bool = True
    inputs: str = "one"

    def __post_init__(self):
        check_int("runs", self.runs, low=1, high=MAX_RUNS)
        check_int("iterations", self.iterations, low=1, high=MAX_ITERATIONS)
        check_int("samples", self.samples, low=1, high=MAX_SAMPLES)
        check_int("warmup", self.warmup, low=0)
        check_int("image_size", self.image_size, low=8, high=MAX_IMAGE_SIZE)
        check_int("seed", self.seed, low=0, high=2**64 - 1)  # what torch.Generator.manual_seed takes
        check_int("model_seed", self.model_seed, low=0, high=2**64 - 1)
        check_choice("objective", self.objective, OBJECTIVES)
        per_step = self.runs * self.masks * self.samples * self.image_size**2
        if per_step > MAX_NOISE_PER_STEP:
            raise ValueError(f"runs × masks × samples × image_size² = {self.runs} × {self.masks} × {self.samples} × "
                             f"{self.image_size}² = {per_step:.3g} noise numbers per step; at most "
                             f"{MAX_NOISE_PER_STEP:.3g} (MAX_NOISE_PER_STEP, 512 MB)")
        if per_step * self.iterations > MAX_WORK:
            raise ValueError(f"{per_step:.3g} noise numbers per step × {self.iterations} iterations = "
                             f"{per_step * self.iterations:.3g} per arm; at most {MAX_WORK:.3g} (MAX_WORK, about 20 "
                             "times the published 30 × 100 experiment): fewer runs, samples or iterations")
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        if self.lr is not None:
            check_real("lr", self.lr, low=0.0, low_open=True)
        if self.optimizer_eps is not None:
            check_real("optimizer_eps", self.optimizer_eps, low=0.0, low_open=True)
        if self.weight_decay is not None:
            check_real("weight_decay", self.weight_decay, low=0.0)
        check_real("l1", self.l1, low=0.0)
        check_real("tv", self.tv, low=0.0)
        check_real("init_logit", self.init_logit)
        if self.blur_sigma is not None:
            check_real("blur_sigma", self.blur_sigma, low=0.0, low_open=True)
        check_bool("paired", self.paired)
        check_choice("inputs", self.inputs, INPUTS)
        dtype = self.dtype
        if isinstance(dtype, torch.dtype):
            dtype = str(dtype).removeprefix("torch.")
        if dtype not in _DTYPES:
            raise ValueError(f"dtype must be 'float32' or 'float64' (or the torch dtypes), got {self.dtype!r}")
        object.__setattr__(self, "dtype", dtype)
        device = resolve_device(self.device)
        if device.type not in ("cpu", "cuda", "mps"):
            raise ValueError(f"device must be 'cpu', 'cuda', 'cuda:N' or 'mps', got {self.device!r}")
        if device.type == "mps" and dtype == "float64":
            raise ValueError("dtype 'float64' is not supported on device 'mps'; use 'float32'")
        object.__setattr__(self, "device", str(device))

    @property
    def torch_dtype(self) -> torch.dtype:
        return _DTYPES[self.dtype]

    @property
    def masks(self) -> int:
        return 2 if self.objective == "joint" else 1

    @property
    def sigma(self) -> float:
        return self.blur_sigma if self.blur_sigma is not None else self.image_size / 16


def resolve_config(config, overrides) -> VarianceConfig:
    """``config`` (or a default :class:`VarianceConfig`) with the keyword ``overrides`` applied."""
    if config is None:
        return VarianceConfig(**overrides)
    if not isinstance(config, VarianceConfig):
        raise TypeError(f"config must be a VarianceConfig or None, got {type(config).__name__}")
    return dataclasses.replace(config, **overrides) if overrides else config
