"""Forward + backward time of the relaxed drop masks, as ratios to a memory-bound copy.

Run by ``make bench``. For each size (float32 elements, T = 0.1, noise ``u`` given, so
every variant computes its noise from ``u`` inside the timed call) it prints the median
time of one forward + backward pass of

* Gal et al.'s function, through ``p = σ(θ)`` (``drop_mask(θ, relaxation="gal")``);
* the paper's ``ConcreteDropout`` Function, as published;
* the library default ``stable_concrete_dropout``, eager and ``torch.compile``'d;
* two rejected candidates for the default: plain autograd of ``torch.sigmoid`` (in the
  input's dtype), and a Function like the default but with the backward ``y·σ(−z)/T``,

each divided by the median time of ``x.clone() * 2`` on a tensor of the same size,
measured in the same rounds (:mod:`fido_lib.timing`). Beside the times, the script
checks the default's two requirements for every variant (computed here, per dtype):

1. no NaN or inf in forward or backward for float16, bfloat16, float32 and float64,
   logits in [−1e4, 1e4] (noise random, 0 and 1), temperatures 0.01, 0.1, 1 and 10;
2. the gradient is never exactly 0 where the true gradient σ(z)σ(−z)/T is a normal
   float of the dtype (z swept through both tails at u = 1/2).

Usage: ``python benchmarks/concrete_ops.py [--sizes 1e4,1e6,1e7] [--repeats N]
[--threads N] [--no-compile] [--quick]``.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass, field

import torch

from fido_lib import concrete as C
from fido_lib.symbolic import float_thresholds
from fido_lib.timing import (
    format_seconds,
    forward_backward,
    machine_description,
    median_times,
    memory_bound_reference,
)

DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
TEMPS = (0.01, 0.1, 1.0, 10.0)
TEMP = 0.1  # the timed temperature (Gal's and the paper's default)
REFERENCE = "reference: `x.clone() * 2`"


# ------------------------------------------------------------------ rejected candidates
def _checked(logit, temp, u):
    # the same input checks as the library's functions, so only the formula differs in time
    C._check_tensor("logit_p", logit)
    temp = C._check_temp(temp)
    C._check_u(u, logit)
    return temp


def plain_sigmoid(logit, temp, u):
    """``σ((θ + logit(u)) / T)`` in the input's dtype; autograd's backward is ``y(1 − y)/T``."""
    temp = _checked(logit, temp, u)
    return torch.sigmoid((logit + torch.logit(u)) / temp)


class _YSigmoidMinusZ(torch.autograd.Function):
    """The default's forward (in ≥ float32) with the backward ``y · σ(−z) / T``."""

    @staticmethod
    def forward(ctx, logit, temp, u):
        work = torch.promote_types(logit.dtype, torch.float32)
        z = (logit.to(work) + torch.logit(u.to(work))) / temp
        y = torch.sigmoid(z)
        ctx.save_for_backward(y, z)
        ctx.temp, ctx.dtype = temp, logit.dtype
        return y.to(logit.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        y, z = ctx.saved_tensors
        grad = y * torch.sigmoid(-z) / ctx.temp
        return (grad * grad_output.to(grad.dtype)).to(ctx.dtype), None, None


def y_sigmoid_minus_z(logit, temp, u):
    temp = _checked(logit, temp, u)
    return _YSigmoidMinusZ.apply(logit, temp, u)


def gal_through_sigmoid(logit, temp, u):
    return C.drop_mask(logit, relaxation="gal", temp=temp, u=u)


@dataclass
class Variant:
    name: str
    fn: object  # (logit, temp, u) -> drop mask; None when it could not be built
    finite: str = "—"
    tails: str = "—"
    note: str = ""
    ratios: dict = field(default_factory=dict)  # size -> (ratio, seconds)


# ------------------------------------------------------------------ the requirements
def _sweep(dtype, temp, quick):
    """Logits, noise and the 'true gradient is normal' mask for one (dtype, T), in one tensor.

    Part 1: logits over [−1e4, 1e4] and [−40, 40], each with random, 0 and 1 noise (finiteness).
    Part 2: z = θ/T through both tails at u = 1/2 (noise 0), out to where even σ(z)σ(−z)
    is no longer representable in the dtype (tails).
    """
    g = torch.Generator().manual_seed(0)
    wide = torch.cat([torch.linspace(-1e4, 1e4, 2001), torch.linspace(-40, 40, 401 if quick else 801)])
    u_rand = torch.rand(wide.shape, generator=g)
    z_max = float_thresholds(dtype)["σ(z)σ(−z) = 0 for |z| >"] + 5
    theta_tail = (torch.linspace(-z_max, z_max, 2001 if quick else 6001, dtype=torch.float64) * temp).to(dtype)
    logit = torch.cat([wide.to(dtype)] * 3 + [theta_tail])
    u = torch.cat([u_rand, torch.zeros_like(wide), torch.ones_like(wide)]).to(dtype)
    u = torch.cat([u, torch.full(theta_tail.shape, 0.5, dtype=dtype)])
    # log of the true gradient σ(z)σ(−z)/T at the z the dtype can hold, without underflow
    zt = theta_tail.double().abs() / temp
    log_true = -zt - 2 * torch.log1p(torch.exp(-zt)) - math.log(temp)
    normal = log_true >= math.log(torch.finfo(dtype).tiny)
    tail = slice(3 * len(wide), None)
    return logit, u, tail, normal


def check_requirements(fn, quick=False):
    """(finite, tails): 'yes', or 'no: <dtypes>' naming where each requirement fails."""
    bad_finite, bad_tails = [], []
    temps = (TEMPS[0], TEMPS[-1]) if quick else TEMPS
    for dtype in DTYPES:
        fin_ok = tail_ok = True
        for temp in temps:
            logit, u, tail, normal = _sweep(dtype, temp, quick)
            x = logit.clone().requires_grad_()
            y = fn(x, temp, u)
            y.backward(torch.ones_like(y))
            fin_ok &= bool(torch.isfinite(y).all()) and bool(torch.isfinite(x.grad).all())
            tail_ok &= bool((x.grad[tail][normal] != 0).all())
        short = str(dtype).removeprefix("torch.")
        if not fin_ok:
            bad_finite.append(short)
        if not tail_ok:
            bad_tails.append(short)
    verdict = lambda bad: "yes" if not bad else "no: " + ", ".join(bad)  # noqa: E731
    return verdict(bad_finite), verdict(bad_tails)


# ------------------------------------------------------------------------- the run
def build_variants(compile_default: bool) -> list[Variant]:
    variants = [
        Variant("Gal et al.: autograd through p = σ(θ)", gal_through_sigmoid),
        Variant("paper: `ConcreteDropout` Function as published", C.concrete_dropout),
        Variant("default: `stable_concrete_dropout`, eager", C.stable_concrete_dropout),
        Variant("default: `stable_concrete_dropout`, `torch.compile`", None),
        Variant("rejected: plain autograd of `torch.sigmoid`", plain_sigmoid),
        Variant("rejected: Function with backward y·σ(−z)/T", y_sigmoid_minus_z),
    ]
    compiled = variants[3]
    if not compile_default:
        compiled.note = "not run (--no-compile)"
        return variants
    import torch._dynamo
    # every (dtype, T) of the check is a new graph; never fall back to eager silently
    torch._dynamo.config.recompile_limit = 64
    torch._dynamo.config.fail_on_recompile_limit_hit = True
    fn = torch.compile(C.stable_concrete_dropout)
    try:
        start = time.perf_counter()
        x = torch.zeros(16, requires_grad=True)
        fn(x, TEMP, torch.full((16,), 0.5)).sum().backward()
        compiled.fn = fn
        compiled.note = f"first call (compilation) {time.perf_counter() - start:.1f} s"
    except Exception as exc:  # report, do not hide: the table says it failed
        compiled.note = f"torch.compile failed: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
    return variants


def time_size(variants, n, repeats, seed=0):
    g = torch.Generator().manual_seed(seed)
    logit = torch.randn(n, generator=g) * 3
    u = torch.rand(n, generator=g)
    runs = {REFERENCE: memory_bound_reference(logit)}
    for v in variants:
        if v.fn is not None:
            runs[v.name] = forward_backward(v.fn, logit, TEMP, u)
    times = median_times(runs, repeats=repeats, warmup=1)
    ref = times[REFERENCE]
    return ref, {name: (t / ref, t) for name, t in times.items() if name != REFERENCE}


def default_repeats(n: int) -> int:
    # enough rounds for a stable median at every size, about 10 s of rounds at 1e7
    return max(5, min(51, int(5e7 // n)))


def size_label(n: int) -> str:
    e = math.log10(n)
    return f"1e{int(e)}" if e == int(e) else str(n)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1e4,1e6,1e7", help="comma-separated element counts (default 1e4,1e6,1e7)")
    ap.add_argument("--repeats", type=int, default=None, help="timed rounds per size (default: by size, 5 to 51)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    ap.add_argument("--no-compile", action="store_true", help="skip the torch.compile'd default")
    ap.add_argument("--quick", action="store_true",
                    help="3 rounds per size; requirement sweeps at T = 0.01 and 10 only, on coarser grids")
    args = ap.parse_args(argv)
    try:
        sizes = [int(float(s)) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        ap.error(f"--sizes must be comma-separated numbers, got {args.sizes!r}")
    if not sizes or min(sizes) < 1:
        ap.error(f"--sizes must name at least one size >= 1, got {args.sizes!r}")
    if args.repeats is not None and args.repeats < 1:
        ap.error(f"--repeats must be >= 1, got {args.repeats}")
    if args.threads is not None:
        if args.threads < 1:
            ap.error(f"--threads must be >= 1, got {args.threads}")
        torch.set_num_threads(args.threads)

    start = time.perf_counter()
    before = machine_description()
    variants = build_variants(compile_default=not args.no_compile)
    for v in variants:
        if v.fn is not None:
            v.finite, v.tails = check_requirements(v.fn, quick=args.quick)
    ref_times = {}
    for n in sizes:
        repeats = args.repeats or (3 if args.quick else default_repeats(n))
        ref_times[n], ratios = time_size(variants, n, repeats)
        for v in variants:
            if v.name in ratios:
                v.ratios[n] = ratios[v.name]

    labels = [size_label(n) for n in sizes]
    temps = ", ".join(map(str, (TEMPS[0], TEMPS[-1]) if args.quick else TEMPS))
    print(f"### Forward + backward of the relaxed drop mask: float32, T = {TEMP}, median time as a "
          f"ratio to `x.clone() * 2` of the same size\n")
    print("| variant | " + " | ".join(labels) + " | no NaN/inf (f16, bf16, f32, f64) "
          "| never 0 where the true gradient is normal | meets both |")
    print("| --- | " + " | ".join("---:" for _ in labels) + " | --- | --- | --- |")
    print(f"| {REFERENCE} | " + " | ".join(f"1 ({format_seconds(ref_times[n])})" for n in sizes) + " | | | |")
    for v in variants:
        cells = [f"{v.ratios[n][0]:.3g}× ({format_seconds(v.ratios[n][1])})" if n in v.ratios else "—"
                 for n in sizes]
        both = "—" if v.fn is None else ("yes" if v.finite == v.tails == "yes" else "no")
        print(f"| {v.name} | " + " | ".join(cells) + f" | {v.finite} | {v.tails} | {both} |")
    print()
    for v in variants:
        if v.note:
            print(f"- {v.name}: {v.note}")
    rounds = f"{args.repeats} rounds per size" if args.repeats else (
        "3 rounds per size" if args.quick else
        "rounds per size: " + ", ".join(f"{size_label(n)}: {default_repeats(n)}" for n in sizes))
    print(f"- Timing: median of interleaved rounds ({rounds}) after one warm-up round; "
          f"noise computed from a given u inside every variant.")
    print(f"- Requirements checked by this run: logits in [−1e4, 1e4], noise random, 0 and 1, "
          f"T in {{{temps}}}; tails at u = 1/2 out to where σ(z)σ(−z)/T leaves each dtype.")
    print(f"- Machine at start: {before}")
    print(f"- Machine at end: {machine_description()}")
    print(f"- Total run time: {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
