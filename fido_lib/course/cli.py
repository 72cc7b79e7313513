"""``python -m fido_lib.course``: the command line of the course tools."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .assignments import generate_assignments
from .grading import grade_submissions, write_grades_csv
from .launch import refresh_launch, set_repository
from .repository import read_repository

__all__ = ["main"]

DESCRIPTION = "Course tooling: launch badges, the Colab install cell, forks, student notebooks and grading."


def main(argv=None) -> int:
    """Run one command; the exit status (0 fine, 1 out of date or not all graded, 2 bad input)."""
    parser = argparse.ArgumentParser(prog="python -m fido_lib.course", description=DESCRIPTION)
    parser.add_argument("--root", default=".", help="repository root (default: the current directory)")
    commands = parser.add_subparsers(dest="command", required=True)
    fork = commands.add_parser("set-repo", help="point badges, install cells and assignments at a repository")
    fork.add_argument("repository", help="GitHub owner/name, e.g. my-uni/fido_lib")
    fork.add_argument("--branch", default="main")
    launch = commands.add_parser("launch", help="add or refresh the badges and Colab install cells")
    launch.add_argument("--no-readme", action="store_true", help="leave README.md alone")
    assignments = commands.add_parser("assignments", help="generate the student notebooks in assignments/")
    assignments.add_argument("--check", action="store_true", help="only check that they are up to date")
    grade = commands.add_parser("grade", help="run submitted notebooks and score their test cells (CSV on stdout)")
    grade.add_argument("submissions", nargs="+", help="students' notebooks, e.g. submissions/alice/03_*.ipynb")
    grade.add_argument("--source", help="the full notebook (default: notebooks/<same name> under --root)")
    grade.add_argument("--timeout", type=float, default=600, help="seconds one cell may run (default: 600)")
    grade.add_argument("--jobs", type=int, default=1,
                       help="submissions graded at once, each in a process and kernel of its own "
                            "(default: 1; at most the CPU count); the CSV keeps the submissions' order")
    commands.add_parser("show", help="print the configured repository")
    args = parser.parse_args(argv)
    root = Path(args.root)
    try:
        if args.command == "show":
            repo = read_repository(root)
            print(f"{repo.slug} (branch {repo.branch})")
            return 0
        if args.command == "grade":
            reports = grade_submissions(args.submissions, args.source, root, timeout=args.timeout, jobs=args.jobs)
            write_grades_csv(reports, sys.stdout)
            failed = [r for r in reports if r.error]
            for report in failed:
                print(f"not graded: {report.path.as_posix()}: {report.error}", file=sys.stderr)
            return 1 if failed else 0
        if args.command == "set-repo":
            changed = set_repository(root, args.repository, args.branch)
        elif args.command == "launch":
            changed = refresh_launch(root, readme=not args.no_readme)
        else:
            status = generate_assignments(root, check=args.check)
            for path, state in status.items():
                print(f"{state:>9}  {path.relative_to(root).as_posix()}")
            bad = [p for p, s in status.items() if s in ("differs", "missing", "stale")]
            if bad:
                print("assignments/ is out of date: run `make assignments` and commit the result", file=sys.stderr)
            return 1 if bad else 0
    except (ValueError, TypeError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for path in changed:
        print(f"updated  {path.relative_to(root).as_posix()}")
    if not changed:
        print("nothing to change")
    return 0
