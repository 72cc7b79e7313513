"""How long FIDO takes with EfficientNet-Lite0 on one 224×224 photo (`make bench`).

Runs, interleaved so that a busy machine slows each of them alike:

* ``benchmark``  — the issue's setting: SSR and SDR, 100 iterations, 8 samples per mask
  (16 classifier passes per step, like the published defaults), library defaults otherwise
  (28×28 mask grid, upsampled);
* ``published cost`` — the same with full-resolution 224×224 masks, as the published code
  runs by default: the cost of the published defaults in this library;
* ``library default`` — ``FidoConfig()`` as notebook 04 runs it.

Prints seconds per iteration (median over iterations, and mean), the whole fit, and
each run's ratio to ``published cost``. Numbers depend on the machine and on what else
runs on it: compare rows of one run, not runs of different days.

    python benchmarks/fido_speed.py [--repeats 2] [--threads N] [--device cpu|cuda] [--photo chelsea]
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch

from fido_lib import classifiers, fido, images


def timed_fit(clf, photo, target, config):
    stamps = []
    start = time.perf_counter()
    result = fido.fit(clf, photo, target, config, callback=lambda i, rec: stamps.append(time.perf_counter()), progress=False)
    total = time.perf_counter() - start
    steps = [b - a for a, b in zip([start] + stamps[:-1], stamps)]
    return result, total, steps


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=2, help="fits per setting (interleaved)")
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's choice)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--photo", default="chelsea", choices=images.SAMPLES)
    ap.add_argument("--iterations", type=int, default=100)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    clf = classifiers.load("efficientnet_lite0", device=args.device)
    photo = images.sample(args.photo)
    target, name, p = clf.top_k(photo, 1)[0]
    bench = fido.FidoConfig(iterations=args.iterations, batch_size=8, device=args.device)
    settings = {
        "benchmark (28x28 grid, 8 samples/mask)": bench,
        "published cost (224x224 masks, 8 samples/mask)": bench.replace(mask_size=None),
        "library default (FidoConfig())": fido.FidoConfig(device=args.device),
    }
    device_name = torch.cuda.get_device_name() if args.device.startswith("cuda") else platform.processor() or platform.machine()
    print(f"torch {torch.__version__}, device {args.device} ({device_name}), threads {torch.get_num_threads()}")
    print(f"photo {args.photo!r} → 224×224, target {name!r} (p = {p:.2f})")

    # warm-up (allocator, kernels) so the first timed fit is not penalised
    timed_fit(clf, photo, target, bench.replace(iterations=3))
    times = {k: [] for k in settings}
    steps = {k: [] for k in settings}
    for _ in range(args.repeats):
        for label, config in settings.items():
            _, total, per_step = timed_fit(clf, photo, target, config)
            times[label].append(total)
            steps[label].extend(per_step)

    ref = statistics.median(steps["published cost (224x224 masks, 8 samples/mask)"])
    print()
    print("| setting | iterations | classifier passes / step | s / iteration (median) | s / iteration (mean) | fit, s (median of repeats) | s / iteration ÷ published cost |")
    print("|---|---|---|---|---|---|---|")
    for label, config in settings.items():
        passes = config.batch_size * (2 if config.mode == "both" else 1)
        med = statistics.median(steps[label])
        print(f"| {label} | {config.iterations} | {passes} | {med:.3f} | {statistics.fmean(steps[label]):.3f} | "
              f"{statistics.median(times[label]):.1f} | {med / ref:.2f} |")
    bench_fit = statistics.median(times["benchmark (28x28 grid, 8 samples/mask)"])
    print()
    print(f"benchmark fit: {bench_fit:.1f} s (target: under 60 s) → {'met' if bench_fit < 60 else 'NOT met'} on this run")


if __name__ == "__main__":
    main()
