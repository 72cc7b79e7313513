"""FIDO against Captum's cheap baselines, and a small search of FIDO settings (notebook 07).

Two measurements, each side by side in one run (every method, or every setting, on the
same image before the next image; the order rotated from image to image):

1. **The comparison** (:mod:`fido_lib.experiments.baseline_comparison`): FIDO's SSR / SDR
   maps, saliency, integrated gradients, GradientShap and occlusion on the five shipped
   photos and on 24 toy birds (one noise seed) — insertion, deletion (under blur, mean and,
   for birds, the exact counterfactual), the crest scores and seconds per image.
2. **The settings search** (:mod:`fido_lib.experiments.fido_settings`): a small grid of
   FIDO settings on the photos — time (and its ratio to a published-settings fit) ×
   insertion × deletion — against the best baseline of 1.

Writes ``fido_lib/data/baseline_comparison.npz`` and ``fido_lib/data/fido_settings.npz``
(each with a ``.json`` summary beside it) unless ``--out-dir`` says otherwise, then prints
where FIDO wins and where it loses.

    python benchmarks/baselines.py [--out-dir DIR] [--threads 1] [--skip-comparison] [--skip-settings]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import fido_lib  # noqa: F401  (before torch: fido_lib's thread settings)
from fido_lib.experiments import baseline_comparison, fido_settings

DATA = Path(fido_lib.__file__).resolve().parent / "data"


def report(comparison, settings=None) -> str:
    """Where FIDO wins and where it loses, in words, from the stored numbers."""
    lines = []
    for ds, scores in (("photos", ("insertion", "deletion")),
                       ("birds", ("insertion", "deletion", "mass_inside", "pointing", "iou_area"))):
        for removal in comparison.removals(ds):
            for score in scores:
                if score not in baseline_comparison.KINDS and removal != "blur":
                    continue
                v = baseline_comparison.fido_versus_best(comparison, ds, score, removal)
                where = f"{ds}, {score}" + (f" ({removal} removal)" if score in baseline_comparison.KINDS else "")
                lines.append(f"{where}: {v['fido']} {v['fido_mean']:.3f} vs best baseline {v['best']} "
                             f"{v['best_mean']:.3f}; FIDO better on {v['fido_wins']} of {v['n']} images "
                             f"(sign test p = {v['sign_p']:.2g})")
        secs = comparison.seconds[ds].mean(axis=(1, 2))
        timed = baseline_comparison.TIMED
        lines.append(f"{ds}, seconds per image: " + ", ".join(f"{m} {s:.2f}" for m, s in zip(timed, secs)))
    if settings is not None:
        table = {r["method"]: r for r in baseline_comparison.summary_table(comparison, "photos")}
        captum = [r for name, r in table.items() if not name.startswith(("fido", "centre", "random"))]
        best_ins = max(r["insertion"][0] for r in captum)
        best_del = min(r["deletion"][0] for r in captum)
        lines.append(f"settings search (best baseline: insertion {best_ins:.3f}, deletion {best_del:.3f}):")
        for row in fido_settings.tradeoff_table(settings, best_ins, best_del):
            lines.append(f"  {row['setting']}: insertion {row['insertion']:.3f}, deletion {row['deletion']:.3f}, "
                         f"{row['seconds']:.1f} s = {row['ratio']:.2f} × published, meets target: {row['meets']}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", type=Path, default=DATA, help=f"where to write the results (default {DATA})")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--skip-comparison", action="store_true", help="reuse the stored comparison")
    parser.add_argument("--skip-settings", action="store_true", help="skip the settings search")
    args = parser.parse_args(argv)
    comparison_path = args.out_dir / baseline_comparison.RESULTS_PATH.name
    settings_path = args.out_dir / fido_settings.RESULTS_PATH.name
    if not args.skip_comparison:
        baseline_comparison.main(["--out", str(comparison_path), "--threads", str(args.threads)])
    if not args.skip_settings:
        fido_settings.main(["--out", str(settings_path), "--threads", str(args.threads)])
    comparison = baseline_comparison.load_results(comparison_path)
    settings = fido_settings.load_results(settings_path) if settings_path.is_file() else None
    print(report(comparison, settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
