"""FIDO's cost with EfficientNet-Lite0 on one 224×224 photo (`make bench`): time, shared CPU, memory.

Three measurements, each a ratio of runs made side by side in this one run (a busy
machine slows the runs it interleaves alike; compare rows of one run, not runs of
different days):

1. **Time** — ``FidoConfig()`` against the published settings (SSR + SDR, 100
   iterations, 8 samples per mask, full-resolution 224×224 masks, float32, the
   classifier as given: ``fast=False``), estimated from short fits of each run in
   turn (so both see the same drift in load). Goal: ratio ≤ 0.25.
2. **Shared CPU** — ``FidoConfig()`` fits alone and beside a busy neighbour this
   script starts itself (one process spinning on a core), interleaved
   quiet/busy/quiet/busy. Goal: busy ÷ quiet ≤ 2.5. ``--cause`` repeats the pair in
   fresh processes with OpenMP's busy-wait (``OMP_WAIT_POLICY=ACTIVE``), with the
   passive wait fido_lib sets, and with one thread, to show where the slowdown comes from,
   and once more with glibc's malloc defaults (``FIDO_LIB_MALLOC=glibc``: freed memory
   returned to the kernel and faulted back in every pass) against fido_lib's settings.
3. **Memory** — peak resident memory (``ru_maxrss``) of a fresh process that loads
   the classifier and runs one ``FidoConfig()`` fit, with fido_lib's malloc settings
   and with glibc's defaults, and once with SSR and SDR in one classifier pass
   (``separate_passes=False``) against the default's two. Goal: ≤ 1 GB. The two pass
   settings' fit times are interleaved as in 1.

``--levers`` adds the per-pass lever table (forward + backward to the input of a
batch of 8): the caller's classifier as given, the frozen copy, BatchNorm folded,
channels-last on/off, bfloat16 autocast where native, and the mask upsampling's share;
``--compile`` adds ``torch.compile`` of the folded copy and its compile time.

    python benchmarks/fido_speed.py [--repeats 2] [--threads N] [--photo chelsea]
                                    [--levers [--compile]] [--cause] [--skip-published]
"""
from __future__ import annotations

import os

# Before torch loads (importing fido_lib does the same): waiting OpenMP threads sleep
# instead of spinning, so a busy neighbour does not stall every parallel region.
# (--cause measures libgomp's own default in a child that asks for it to stay unset)
if os.environ.get("FIDO_BENCH_UNSET_WAIT_POLICY") != "1":
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import fido_lib  # noqa: E402
from fido_lib import classifiers, fastpath, fido, images  # noqa: E402
from fido_lib.timing import cpu_name  # noqa: E402

PUBLISHED = dict(iterations=100, batch_size=8, mask_size=None, fast=False, precision="float32")
BUSY_LOOP = "import time\nend = time.time() + {seconds}\nwhile time.time() < end:\n    pass\n"


def timed_fit(clf, photo, target, config):
    start = time.perf_counter()
    fido.fit(clf, photo, target, config, progress=False)
    return time.perf_counter() - start


def step_times(clf, photo, target, config, chunk):
    """Set-up seconds and per-step seconds of a ``chunk``-iteration fit with ``config``'s settings."""
    stamps = []
    start = time.perf_counter()
    fido.fit(clf, photo, target, config.replace(iterations=chunk), progress=False,
             callback=lambda i, rec: stamps.append(time.perf_counter()))
    steps = [b - a for a, b in zip(stamps[:-1], stamps[1:], strict=True)]
    first = stamps[0] - start
    return first, steps


def interleaved_fit_times(clf, photo, target, configs, rounds, chunk=5):
    """Fit time of each config, estimated from short fits run in turn (A, B, A, B, …).

    A busy machine's load drifts over minutes; whole fits of different length run one
    after the other would each see a different load. Short fits alternated ``rounds``
    times see the same drift, so their ratio holds. Estimate of a fit:
    ``set-up + iterations × median step``, where set-up = first step − median step.
    """
    first = {k: [] for k in configs}
    steps = {k: [] for k in configs}
    for _ in range(rounds):
        for k, config in configs.items():
            f, st = step_times(clf, photo, target, config, chunk)
            first[k].append(f)
            steps[k].extend(st)
    out = {}
    for k, config in configs.items():
        med = statistics.median(steps[k])
        setup = max(0.0, statistics.median(first[k]) - med)
        out[k] = (setup + config.iterations * med, med, setup)
    return out


class BusyNeighbour:
    """One process spinning on a core for at most ``seconds`` (a safety net), stopped on exit."""

    def __init__(self, seconds=900):
        self.seconds = seconds

    def __enter__(self):
        self.proc = subprocess.Popen([sys.executable, "-c", BUSY_LOOP.format(seconds=self.seconds)])
        time.sleep(0.3)  # let it start spinning
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()


def shared_cpu(clf, photo, target, config, repeats):
    quiet, busy = [], []
    for _ in range(repeats):
        quiet.append(timed_fit(clf, photo, target, config))
        with BusyNeighbour():
            busy.append(timed_fit(clf, photo, target, config))
    return statistics.median(quiet), statistics.median(busy)


def levers(clf, threads_note, compile_too=False):
    """Median seconds of one forward + backward (to the input) of 8 images, per lever."""
    x = torch.rand(8, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    runs = {
        "classifier as given (Classifier.logits)": clf,
        "frozen copy": fastpath.frozen_copy(clf, "cpu", fold=False, precision="float32"),
        "frozen copy, BatchNorm folded": fastpath.frozen_copy(clf, "cpu", precision="float32"),
        "frozen copy, BatchNorm folded, contiguous (not channels-last)":
            fastpath.frozen_copy(clf, "cpu", precision="float32", channels_last=False),
    }
    # channels-last weights fed a contiguous input: the convolutions convert it themselves (the
    # same kernels, so the same numbers); what "contiguous" measured before frozen_copy converted
    # the weights back too
    folded = fastpath.frozen_copy(clf, "cpu", precision="float32")
    runs["frozen copy, BatchNorm folded, channels-last weights, contiguous input"] = fastpath.FrozenClassifier(
        folded.model, folded.mean, folded.std, False, False, folded.device, folded.levers)
    if fastpath.native_bfloat16("cpu"):
        runs["frozen copy, BatchNorm folded, bfloat16 autocast (native here)"] = fastpath.frozen_copy(
            clf, "cpu", precision="bfloat16")
    side = fido.FidoConfig().mask_size or 224
    grid = torch.rand(8, 1, side, side)
    if compile_too:
        folded = fastpath.frozen_copy(clf, "cpu", precision="float32")
        start = time.perf_counter()
        compiled = fastpath.FrozenClassifier(torch.compile(folded.model), folded.mean, folded.std,
                                             folded.channels_last, False, folded.device, folded.levers)
        for _ in range(2):  # compile forward and backward
            xi = x.clone().requires_grad_(True)
            torch.autograd.grad(compiled.logits(xi)[:, 0].sum(), xi)
        print(f"\ntorch.compile of the folded copy: first two passes took {time.perf_counter() - start:.1f} s")
        runs["frozen copy, BatchNorm folded, torch.compile"] = compiled

    def upsample():
        F.interpolate(grid.requires_grad_(True), size=(224, 224), mode="bilinear", align_corners=False).sum().backward()

    def step(net):
        xi = x.clone().requires_grad_(True)
        torch.autograd.grad(net.logits(xi)[:, 0].sum(), xi)

    fns = {k: (lambda n=n: step(n)) for k, n in runs.items()}
    fns[f"mask upsampling {side}×{side} → 224×224 (8 masks, forward + backward)"] = upsample
    for f in fns.values():
        f()
    times = {k: [] for k in fns}
    for _ in range(5):
        for k, f in fns.items():
            t = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t)
    ref = statistics.median(times["classifier as given (Classifier.logits)"])
    g0 = None
    print(f"\n### Levers: one forward + backward of 8 images ({threads_note})\n")
    print("| lever | s (median of 5) | ÷ classifier as given | input gradient, relative L2 difference |")
    print("|---|---|---|---|")
    for k, v in times.items():
        diff = "—"
        if k in runs:
            xi = x.clone().requires_grad_(True)
            g = torch.autograd.grad(runs[k].logits(xi)[:, 0].sum(), xi)[0]
            g0 = g if g0 is None else g0
            diff = f"{float((g - g0).norm() / g0.norm()):.1e}"
        print(f"| {k} | {statistics.median(v):.3f} | {statistics.median(v) / ref:.2f} | {diff} |")


def _peak_mb():
    # VmHWM (Linux): this process's own high-water mark. ru_maxrss would not do in a
    # child: Linux carries the parent's peak across fork + exec.
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux; bytes on macOS


def rss_child(photo_name, threads, joint_pass=False):
    """Runs in a fresh process: load, one default fit (``joint_pass``: SSR and SDR in one
    classifier pass), print peak RSS in MB."""
    if threads:
        torch.set_num_threads(threads)
    clf = classifiers.load("efficientnet_lite0")
    photo = images.sample(photo_name)
    target = clf.top_k(photo, 1)[0][0]
    before = _peak_mb()
    fido.fit(clf, photo, target, fido.FidoConfig(separate_passes=not joint_pass), progress=False)
    print(json.dumps({"before_fit_mb": before, "peak_mb": _peak_mb()}))


def cause_child(photo_name, threads, repeats):
    """Runs in a fresh process (wait policy from the environment): quiet and busy fit times."""
    torch.set_num_threads(threads)
    clf = classifiers.load("efficientnet_lite0")
    photo = images.sample(photo_name)
    target = clf.top_k(photo, 1)[0][0]
    timed_fit(clf, photo, target, fido.FidoConfig(iterations=3))
    q, b = shared_cpu(clf, photo, target, fido.FidoConfig(), repeats)
    print(json.dumps({"quiet": q, "busy": b}))


def child(args, env_policy=None, malloc=None):
    env = dict(os.environ)
    if malloc is not None:
        env["FIDO_LIB_MALLOC"] = malloc
    if env_policy == "unset":
        env.pop("OMP_WAIT_POLICY", None)
        env["FIDO_BENCH_UNSET_WAIT_POLICY"] = "1"
    elif env_policy is not None:
        env["OMP_WAIT_POLICY"] = env_policy
    out = subprocess.run([sys.executable, __file__] + args, env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=2, help="fits per setting (interleaved)")
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's choice)")
    ap.add_argument("--photo", default="chelsea", choices=images.SAMPLES)
    ap.add_argument("--levers", action="store_true", help="also print the per-pass lever table")
    ap.add_argument("--compile", action="store_true", help="with --levers: also time torch.compile (slow to compile)")
    ap.add_argument("--cause", action="store_true",
                    help="also compare OpenMP wait policies and 1 thread beside a busy process")
    ap.add_argument("--skip-published", action="store_true", help="skip the (long) published-settings fits")
    ap.add_argument("--rss-child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--cause-child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--joint-pass", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.repeats < 1 or (args.threads is not None and args.threads < 1):
        ap.error("--repeats and --threads must be >= 1")
    if args.rss_child:
        return rss_child(args.photo, args.threads, args.joint_pass)
    if args.cause_child:
        return cause_child(args.photo, args.threads, args.repeats)
    if args.threads:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    note = (f"{threads} torch threads, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}, "
            f"malloc settings {fido_lib.MALLOC}")

    clf = classifiers.load("efficientnet_lite0")
    photo = images.sample(args.photo)
    target, name, p = clf.top_k(photo, 1)[0]
    default = fido.FidoConfig()
    published = default.replace(**PUBLISHED)
    print(f"torch {torch.__version__}; CPU: {cpu_name()} ({os.cpu_count()} logical cores); {note}")
    print(f"native bfloat16 here: {fastpath.native_bfloat16('cpu')}; "
          f"photo {args.photo!r}, target {name!r} (p = {p:.2f})")
    print(f"FidoConfig(): {default.iterations} iterations × 2 masks × {default.batch_size} samples, "
          f"{default.mask_size}×{default.mask_size} grid, fast={default.fast}, precision={default.precision}")
    timed_fit(clf, photo, target, default.replace(iterations=3))  # warm-up

    if args.levers:
        levers(clf, note, compile_too=args.compile)

    if not args.skip_published:
        est = interleaved_fit_times(clf, photo, target, {"published": published, "default": default},
                                    rounds=3 * args.repeats)
        (pub, pub_step, pub_setup), (d, d_step, d_setup) = est["published"], est["default"]
        print("\n### 1. Time: FidoConfig() against the published settings\n")
        print(f"(5-iteration fits of each, alternated {3 * args.repeats} times; "
              "fit = set-up + iterations × median step)")
        print(f"published settings (100 it × 2 × 8 samples, 224×224 masks, float32, fast=False): "
              f"{pub:.1f} s ({pub_step:.3f} s / step, set-up {pub_setup:.2f} s)")
        print(f"FidoConfig() ({default.iterations} it × 2 × {default.batch_size} samples): "
              f"{d:.1f} s ({d_step:.3f} s / step, set-up {d_setup:.2f} s)")
        verdict = "met" if d / pub <= 0.25 else "NOT met"
        print(f"ratio FidoConfig() ÷ published: {d / pub:.3f} (goal ≤ 0.25) → {verdict}")

    q, b = shared_cpu(clf, photo, target, default, args.repeats)
    print("\n### 2. Shared CPU: FidoConfig() alone and beside one busy process (interleaved, medians)\n")
    print(f"quiet {q:.1f} s, busy neighbour {b:.1f} s ({note})")
    print(f"ratio busy ÷ quiet: {b / q:.2f} (goal ≤ 2.5) → {'met' if b / q <= 2.5 else 'NOT met'}")

    if args.cause:
        print("\n| in a fresh process | quiet, s | busy, s | busy ÷ quiet |\n|---|---|---|---|")
        for label, policy, n in (("2 threads, OMP_WAIT_POLICY unset (libgomp's default: spin, then sleep)", "unset", 2),
                                 ("2 threads, OMP_WAIT_POLICY=ACTIVE (spinning)", "ACTIVE", 2),
                                 ("2 threads, OMP_WAIT_POLICY=PASSIVE (fido_lib's)", "PASSIVE", 2),
                                 ("1 thread", "PASSIVE", 1),
                                 ("2 threads, PASSIVE, glibc's malloc defaults (FIDO_LIB_MALLOC=glibc)",
                                  "PASSIVE+glibc", 2)):
            argv = ["--cause-child", "--threads", str(n), "--repeats", str(args.repeats), "--photo", args.photo]
            policy, _, malloc = policy.partition("+")
            r = child(argv, policy, malloc or None)
            print(f"| {label} | {r['quiet']:.1f} | {r['busy']:.1f} | {r['busy'] / r['quiet']:.2f} |")

    extra = ["--threads", str(args.threads)] if args.threads else []
    r = child(["--rss-child", "--photo", args.photo] + extra)
    g = child(["--rss-child", "--photo", args.photo] + extra, malloc="glibc")
    j = child(["--rss-child", "--joint-pass", "--photo", args.photo] + extra)
    print("\n### 3. Memory: a fresh process, classifier loaded, one FidoConfig() fit\n")
    print(f"peak RSS {r['peak_mb']:.0f} MB (before the fit {r['before_fit_mb']:.0f} MB; goal ≤ 1024 MB) → "
          f"{'met' if r['peak_mb'] <= 1024 else 'NOT met'}; with glibc's malloc defaults {g['peak_mb']:.0f} MB")
    print(f"SSR and SDR in one classifier pass (separate_passes=False): peak RSS {j['peak_mb']:.0f} MB; "
          f"the fit's own growth, two passes ÷ one: "
          f"{(r['peak_mb'] - r['before_fit_mb']) / (j['peak_mb'] - j['before_fit_mb']):.2f}")
    est = interleaved_fit_times(clf, photo, target, {"two": default, "one": default.replace(separate_passes=False)},
                                rounds=3 * args.repeats)
    print(f"fit time (5-iteration fits alternated {3 * args.repeats} times): two passes {est['two'][0]:.1f} s, "
          f"one pass {est['one'][0]:.1f} s; two ÷ one: {est['two'][0] / est['one'][0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
