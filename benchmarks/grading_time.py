"""Where grading time goes: each full notebook graded against itself (a perfect submission).

    .venv/bin/python benchmarks/grading_time.py [notebooks/06_*.ipynb ...]
    .venv/bin/python benchmarks/grading_time.py --jobs 2 --copies 4 notebooks/01_*.ipynb

For each notebook: the seconds to start the kernel, to install the grading guard (it
imports every module the notebook imports: torch, fido_lib, sympy …, and takes its
snapshot), of the guard's restores before the test cells, of the notebook's own cells
(the three slowest named), and the total; then whether every test passed and nothing
had to be put back (a perfect submission must score full marks with empty notes).
The machine and its load are printed first: numbers from a busy machine are provisional.

With ``--jobs J --copies N``: a batch of N perfect submissions of each notebook (each in a
folder of its own) graded by ``grade_submissions`` with 1 job and then with J, side by
side in one run: the wall time of each and their ratio, and whether both gave the same
grades in the same order.
"""
import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fido_lib import timing  # noqa: E402
from fido_lib.course import grade_notebook, grade_submissions  # noqa: E402
from fido_lib.course._files import read_notebook  # noqa: E402


def first_line(source: str) -> str:
    line = next((x for x in source.splitlines() if x.strip() and not x.startswith("#")), "")
    return line[:50]


def main(paths) -> int:
    print(timing.machine_description())
    print(f"load average: {timing.load_average()}")
    paths = [Path(p) for p in paths] or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    bad = 0
    print(f"{'notebook':34s} {'kernel':>7s} {'guard':>7s} {'restore':>8s} {'cells':>7s} {'total':>7s}  slowest cells")
    for path in paths:
        timings = {}
        started = time.perf_counter()
        grades = grade_notebook(path, path, timeout=1200, timings=timings)
        total = time.perf_counter() - started
        nb = read_notebook(path)
        cells = timings["cells"]
        slowest = sorted(cells.items(), key=lambda kv: -kv[1])[:3]
        shown = "; ".join(f"{i} {first_line(nb.cells[i].source)!r} {s:.1f}" for i, s in slowest)
        print(f"{path.name:34s} {timings['kernel start']:7.1f} {timings['guard install']:7.1f} "
              f"{timings['guard restore']:8.2f} {sum(cells.values()):7.1f} {total:7.1f}  {shown}")
        for g in grades:
            if g.status not in ("passed", "by hand") or g.note:
                bad += 1
                print(f"    {g.grade_id}: {g.status} {g.error} {g.note}")
    return 1 if bad else 0


def batch(paths, jobs: int, copies: int) -> int:
    print(timing.machine_description())
    print(f"load average: {timing.load_average()}")
    print(f"{'notebook':34s} {'copies':>6s} {'1 job s':>8s} {f'{jobs} jobs s':>9s} {'ratio':>6s}  same grades")
    bad = 0
    for path in [Path(p) for p in paths]:
        scratch = Path(tempfile.mkdtemp(prefix="fido-grading-bench-"))
        try:
            batch_paths = []
            for i in range(copies):
                folder = scratch / f"student{i:03d}"
                folder.mkdir()
                shutil.copy(path, folder / path.name)
                batch_paths.append(folder / path.name)
            walls, results = [], []
            for n in (1, jobs):
                started = time.perf_counter()
                reports = grade_submissions(batch_paths, source=path, timeout=1200, jobs=n)
                walls.append(time.perf_counter() - started)
                results.append([(r.path, r.error, r.grades) for r in reports])
            same = results[0] == results[1]
            bad += not same or any(r.error for r in reports)
            print(f"{path.name:34s} {copies:6d} {walls[0]:8.1f} {walls[1]:9.1f} {walls[0] / walls[1]:6.2f}  {same}")
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return 1 if bad else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*")
    parser.add_argument("--jobs", type=int, help="grade a batch with this many jobs, against 1 job")
    parser.add_argument("--copies", type=int, default=4, help="submissions in the batch (with --jobs)")
    args = parser.parse_args()
    if args.jobs:
        sys.exit(batch(args.notebooks or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")), args.jobs,
                       args.copies))
    sys.exit(main(args.notebooks))
