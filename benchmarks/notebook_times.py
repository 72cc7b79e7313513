"""How long each notebook takes, top to bottom, in a fresh kernel (the README's run-time column).

    python benchmarks/notebook_times.py [NOTEBOOK ...] [--timeout S]

Runs every notebook given (default: notebooks/[0-9][0-9]_*.ipynb) one after the other
in a fresh kernel, the way a student's "Restart and run all" does, and prints one
Markdown table: wall time from kernel start to the last cell's reply. The notebooks
on disk are not changed (their outputs are not stored). The header names the CPU, the
torch build and thread count, and the load average before and after, because a busy
neighbour slows every number here (README: a shared CPU).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from fido_lib.timing import load_average, machine_description

ROOT = Path(__file__).resolve().parents[1]


def run_notebook(nb, path: Path, timeout: int) -> float:
    """Seconds from kernel start to the last cell's reply; raises if a cell fails."""
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebooks to time (default: notebooks/[0-9][0-9]_*.ipynb)")
    parser.add_argument("--timeout", type=int, default=1200, help="seconds per cell (default 1200)")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")
    if args.timeout < 1:
        parser.error(f"--timeout must be >= 1 second, got {args.timeout}")
    notebooks = {}
    for path in paths:  # all read before any runs: a broken file fails at once, not after minutes
        try:
            notebooks[path] = nbformat.read(path, as_version=4)
        except Exception as error:  # nbformat raises several types for a file that is not a notebook
            parser.error(f"{path} is not a readable notebook: {error}")

    print(machine_description())  # each notebook runs in its own kernel with this environment
    print()
    print("| notebook | run time, s |")
    print("| --- | --- |")
    total = 0.0
    for path, nb in notebooks.items():
        seconds = run_notebook(nb, path, args.timeout)
        total += seconds
        print(f"| {path.name} | {seconds:.0f} |", flush=True)
    print(f"| all | {total:.0f} |")
    print()
    print(f"load average after: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
