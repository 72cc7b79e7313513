"""A frozen, cheaper copy of a classifier for FIDO's many forward + backward passes.

FIDO never trains the classifier: it only needs the gradient of the log-odds with
respect to the *input*. :func:`frozen_copy` therefore works on a private copy of the
model (the caller's model, its device, its ``requires_grad`` flags and its modules
are never touched) and makes each pass as cheap as the hardware allows:

* **parameters frozen** (``requires_grad=False`` on the copy): autograd computes no
  weight gradients, only the input gradient;
* **BatchNorm folded into the convolution before it** (eval mode only): a frozen
  ``BN(conv(x))`` is the affine map ``conv'(x)`` with
  ``w' = w · γ/√(σ² + ε)`` and ``b' = (b - μ) · γ/√(σ² + ε) + β`` (Ioffe & Szegedy,
  2015; the usual inference-time fusion). Pairs are found by running the model once
  with hooks (a BatchNorm whose input *is* a convolution's output), and the folded
  copy is checked against the original on that input; if it disagrees by more than
  rounding (``atol = rtol = 1e-3`` on the logits, e.g. because the convolution's
  output was also used elsewhere) the unfolded copy is used;
* **bfloat16 autocast only where it is native**: CUDA with bfloat16 support, or a CPU
  with AVX512-BF16 or AMX, detected at run time (:func:`native_bfloat16`). On CPUs
  without it bfloat16 is emulated and measured 5.7× *slower* (AMD EPYC, AVX2), so it
  is never a blanket default.

Measured lever by lever on the CPU at hand by ``benchmarks/fido_speed.py --levers``.
"""
from __future__ import annotations

import copy
import functools

import torch
from torch import nn

__all__ = ["PRECISIONS", "FrozenClassifier", "fold_batchnorm", "frozen_copy", "model_dtype", "native_bfloat16",
           "private_copy"]

#: Values of ``precision`` (:func:`frozen_copy`, ``FidoConfig.precision``).
PRECISIONS = ("float32", "bfloat16", "auto")


@functools.cache
def _cpu_has_native_bf16() -> bool:
    # torch's own probes (private, so guarded), then the kernel's CPU flags
    for probe in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"):
        fn = getattr(torch.cpu, probe, None)
        if fn is not None:
            try:
                if fn():
                    return True
            except Exception:  # pragma: no cover - a probe that fails means "unknown"
                pass
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            flags = set()
            for line in f:
                if line.startswith("flags"):
                    flags.update(line.split(":", 1)[1].split())
                    break
        return bool({"avx512_bf16", "amx_bf16"} & flags)
    except OSError:
        return False


def native_bfloat16(device) -> bool:
    """True where ``device`` runs bfloat16 matrix products natively.

    CUDA: ``torch.cuda.is_bf16_supported()``; CPU: AMX or AVX512-BF16 (x86), found by
    torch's CPU probes or ``/proc/cpuinfo``; anything else: False.
    """
    device = torch.device(device)
    if device.type == "cuda":
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    if device.type == "cpu":
        return _cpu_has_native_bf16()
    return False


_HOOK_DICTS = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")


def _is_torch_hook(hook) -> bool:
    # torch's own hooks (the old weight_norm / spectral_norm recompute a weight in a pre-hook) are part
    # of the model; a hook defined elsewhere (a student's recorder) is the caller's, not the copy's
    owner = getattr(hook, "__module__", None) or type(hook).__module__
    return isinstance(owner, str) and (owner == "torch" or owner.startswith("torch."))


def private_copy(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` for the library's own passes, without the caller's hooks.

    The caller's model is never run: its buffers and weights cannot change in its
    ``forward``, and the forward/backward hooks registered on it (a student's recorder)
    are dropped from the copy, so they never see the library's probe images. torch's
    own hooks (``torch.nn.utils.weight_norm`` …) stay: they are part of the model.
    Global hooks (``torch.nn.modules.module.register_module_forward_hook``) apply to
    every module and cannot be kept away from the copy.
    """
    clone = copy.deepcopy(model)
    for m in clone.modules():
        for attr in _HOOK_DICTS:
            hooks = getattr(m, attr, None)
            if hooks:
                for key in [k for k, h in hooks.items() if not _is_torch_hook(h)]:
                    del hooks[key]
    return clone


def model_dtype(model: nn.Module) -> torch.dtype:
    """The floating dtype of ``model``'s first floating parameter or buffer (float32 if none):
    what its input must be cast to (a float64 or bfloat16 model fails on float32 images)."""
    for tensors in (model.parameters(), model.buffers()):
        for t in tensors:
            if t.is_floating_point():
                return t.dtype
    return torch.float32


def _fold_pair(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> None:
    with torch.no_grad():
        scale = 1 / torch.sqrt(bn.running_var + bn.eps)
        if bn.affine:
            scale = bn.weight * scale
        shift = bn.bias if bn.affine else torch.zeros_like(bn.running_mean)
        bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
        conv.weight.mul_(scale.view(-1, *([1] * (conv.weight.dim() - 1))))
        conv.bias = nn.Parameter((bias - bn.running_mean) * scale + shift, requires_grad=False)


def fold_batchnorm(model: nn.Module, example: torch.Tensor) -> tuple[nn.Module, int]:
    """``(model, n)``: ``model`` (an eval-mode *copy* you own) with ``n`` BatchNorms folded.

    Finds ``BN(conv(x))`` pairs by running ``example`` through the model with hooks,
    folds each into its convolution and replaces the BatchNorm by ``nn.Identity``. The
    result is compared with the unfolded model on ``example``; on disagreement the
    unfolded model is returned with ``n = 0``. Modifies ``model`` in place only on success.
    """
    if model.training:
        raise ValueError("fold_batchnorm needs an eval-mode model (batch statistics are not foldable)")
    produced, pairs, hooks = {}, [], []

    def after_conv(mod, inp, out):
        produced[id(out)] = (mod, out)

    def before_bn(mod, inp):
        hit = produced.get(id(inp[0]))
        if hit is not None and hit[1] is inp[0]:
            pairs.append((hit[0], mod))

    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(after_conv))
        elif isinstance(m, nn.BatchNorm2d) and m.track_running_stats and m.running_mean is not None:
            hooks.append(m.register_forward_pre_hook(before_bn))
    try:
        with torch.no_grad():
            reference = model(example)
    finally:
        for h in hooks:
            h.remove()
    produced.clear()
    convs = [c for c, _ in pairs]
    if not pairs or len(set(map(id, convs))) != len(convs):
        return model, 0
    folded = copy.deepcopy(model)
    lookup = {id(m): name for name, m in model.named_modules()}
    modules = dict(folded.named_modules())
    for conv, bn in pairs:
        _fold_pair(modules[lookup[id(conv)]], modules[lookup[id(bn)]])
        parent_name, _, child = lookup[id(bn)].rpartition(".")
        setattr(modules[parent_name] if parent_name else folded, child, nn.Identity())
    with torch.no_grad():
        out = folded(example)
    if not torch.allclose(out, reference, rtol=1e-3, atol=1e-3):
        return model, 0
    return folded, len(pairs)


class FrozenClassifier:
    """What :func:`frozen_copy` returns: ``logits(images)`` of the frozen, cheaper copy.

    ``levers`` records what was applied (``frozen``, ``batchnorm_folded``,
    ``channels_last``, ``bfloat16``) so a fit can report it.
    """

    def __init__(self, model, mean, std, channels_last, bfloat16, device, levers):
        self.model, self.mean, self.std = model, mean, std
        self.channels_last, self.bfloat16, self.device = channels_last, bfloat16, device
        self.levers = levers
        self.dtype = model_dtype(model)

    def logits(self, images: torch.Tensor, reduced: bool = True) -> torch.Tensor:
        """``N×C`` float32 logits of images in [0, 1], differentiable w.r.t. ``images``.

        ``reduced=False`` runs in float32 even where the copy uses bfloat16."""
        x = (images - self.mean) / self.std
        if x.dtype != self.dtype:  # a float64 or bfloat16 model: its own dtype in, float32 logits out
            x = x.to(self.dtype)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bfloat16 and reduced):
            out = self.model(x)
        return out.float()


def frozen_copy(classifier, device, *, fold: bool = True, precision: str = "auto",
                channels_last=None, probe_batch: int = 2) -> FrozenClassifier:
    """A frozen copy of ``classifier``'s model on ``device`` for FIDO's passes.

    The copy (:func:`private_copy`: the caller's hooks dropped) is probed first, never
    the caller's model: a grey image alone and a batch of ``probe_batch`` must give
    ``1×C`` and ``probe_batch×C`` float logits (``Classifier._check_output`` says what
    is wrong otherwise), before any folding.

    ``fold``: fold BatchNorm into convolutions (checked; see :func:`fold_batchnorm`).
    ``precision``: ``"float32"``, ``"bfloat16"`` (autocast; only where
    :func:`native_bfloat16` — otherwise ``ValueError``) or ``"auto"`` (bfloat16 where
    native, else float32). ``channels_last``: memory format of the copy (None: the
    classifier's own setting). The caller's classifier is not modified.
    """
    device = torch.device(device)
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(map(repr, PRECISIONS))}; got {precision!r}")
    native = native_bfloat16(device)
    if precision == "bfloat16" and not native:
        raise ValueError(f"precision 'bfloat16' was asked for but {device} has no native bfloat16 "
                         "(CPU: AVX512-BF16 or AMX; CUDA: bf16 support): it would run emulated and slower")
    bf16 = precision == "bfloat16" or (precision == "auto" and native)
    cl = classifier.channels_last if channels_last is None else bool(channels_last)
    # a deep copy: the caller's model keeps its device, flags, mode, buffers, modules and hooks
    model = private_copy(classifier.model).to(device).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    dtype = model_dtype(model)
    h, w = classifier.input_size
    with torch.no_grad():
        for n in sorted({1, int(probe_batch)}):  # a model right for one image only is caught too
            grey = torch.full((n, 3, h, w), 0.5, device=device)
            grey = ((grey - classifier.mean.to(device)) / classifier.std.to(device)).to(dtype)
            classifier._check_output(model(grey), n)
    n_folded = 0
    if fold:
        example = torch.rand(2, 3, h, w, generator=torch.Generator().manual_seed(0)).to(device)
        example = ((example - classifier.mean.to(device)) / classifier.std.to(device)).to(dtype)
        model, n_folded = fold_batchnorm(model, example)
    # both ways: a copy of a channels-last model keeps channels-last weights, and the convolutions
    # follow their weights, so channels_last=False must convert them back to be contiguous at all
    model = model.to(memory_format=torch.channels_last if cl else torch.contiguous_format)
    levers = {"frozen": True, "batchnorm_folded": n_folded, "channels_last": cl, "bfloat16": bf16}
    return FrozenClassifier(model, classifier.mean.to(device), classifier.std.to(device), cl, bf16, device, levers)
