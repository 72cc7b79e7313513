"""Grading without nbgrader: run a student's notebook and score its test cells.

The full (instructor's) notebook is the only authority on which cells are graded,
their code and their points. A submission's own nbgrader metadata decides nothing:

* every test cell is replaced by the full notebook's cell of the same ``grade_id``
  (hidden tests restored, edits of the locked cell undone, whatever the submission's
  metadata now says about the cell);
* points come from the full notebook;
* a graded cell of the full notebook that the submission lacks scores 0, "missing";
* a graded cell the submission added scores nothing and is reported, "extra".

A cell that runs past the timeout or kills the kernel stops the run: the cells after
it score 0, "not run". In a batch, a submission that cannot be graded at all (not a
notebook, no full notebook to grade against) is reported and the others are graded.

A test cell passes when the kernel's reply to it says "ok", so hiding tracebacks does
not help. What this cannot stop (nbgrader cannot either): the student's code runs in
the same kernel before the tests, so code that replaces the functions the tests call
(e.g. ``fido_lib.checks``) passes them. Read the submissions that pass suspiciously.
"""
from __future__ import annotations

import copy
import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from ._files import NOTEBOOK_DIR, read_notebook
from .assignments import is_test_cell, nbgrader, validate_exercises

__all__ = [
    "CSV_COLUMNS",
    "Grade",
    "SubmissionReport",
    "grade_notebook",
    "grade_submissions",
    "write_grades_csv",
]

CSV_COLUMNS = ("submission", "grade_id", "points", "max_points", "status", "error")


@dataclass(frozen=True)
class Grade:
    """One graded cell of a submission.

    ``status``: "passed", "failed" (with the error), "not run" (a cell before it timed
    out or killed the kernel), "by hand" (an answer a person grades), "missing" (the
    submission lacks the cell) or "extra" (a graded cell the full notebook does not
    have; never counted, ``max_points`` 0).
    """

    grade_id: str
    points: float
    max_points: float
    status: str
    error: str = ""


@dataclass(frozen=True)
class SubmissionReport:
    """The grades of one submitted notebook, or ``error``: why it could not be graded."""

    path: Path
    grades: tuple[Grade, ...] = ()
    error: str = ""


def _check_timeout(timeout) -> None:
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"timeout must be a number of seconds, got {type(timeout).__name__} {timeout!r}")
    if not (math.isfinite(timeout) and timeout > 0):
        raise ValueError(f"timeout must be a finite number of seconds > 0, got {timeout!r}")


def _read(path: Path, what: str):
    try:
        return read_notebook(path)
    except OSError as error:
        raise ValueError(f"{what} {path} cannot be read: {error}") from None
    except Exception as error:  # nbformat: NotJSONError, ValidationError, KeyError …
        raise ValueError(f"{what} {path} is not a Jupyter notebook: {type(error).__name__}: {error}") from None


def _restore(nb, graded: dict) -> tuple[dict[str, int], list[str]]:
    """Put the full notebook's graded cells into ``nb``; their indices, and the extra graded cells.

    Cells are matched by ``grade_id`` only: a test cell is replaced whole by the full
    notebook's (source, type, metadata), an answer graded by hand keeps the student's
    text under the full notebook's metadata. A graded cell whose id the full notebook
    does not grade (or that repeats one) loses its nbgrader metadata and is listed.
    """
    where, extra = {}, []
    for i, cell in enumerate(nb.cells):
        meta = nbgrader(cell)
        grade_id = meta.get("grade_id")
        if isinstance(grade_id, str) and grade_id in graded and grade_id not in where:
            where[grade_id] = i
            reference = graded[grade_id]
            if is_test_cell(reference):
                new = copy.deepcopy(reference)
                new.outputs, new.execution_count = [], None
                if "id" in cell:
                    new["id"] = cell["id"]
                nb.cells[i] = new
            else:
                cell.metadata["nbgrader"] = copy.deepcopy(reference.metadata["nbgrader"])
        elif meta.get("grade") or (isinstance(grade_id, str) and grade_id in graded):
            extra.append(grade_id if isinstance(grade_id, str) and grade_id else f"cell {i}")
            cell.metadata.pop("nbgrader", None)
    return where, extra


def _run(nb, directory: Path, timeout: float, kernel_name: str) -> tuple[dict[int, dict], tuple[int, str] | None]:
    """Execute every code cell: the kernel's reply to each cell, and (index, why) of a cell that stopped the run.

    The reply's status says whether the cell raised, also when the student's code
    silenced the traceback (``set_custom_exc``, a replaced ``showtraceback``) so that
    no error output appears.
    """
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    replies = {}

    def record(cell, cell_index, execute_reply):
        replies[cell_index] = execute_reply or {}

    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel_name, allow_errors=True,
                            resources={"metadata": {"path": str(directory)}}, on_cell_executed=record)
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            try:
                client.execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
            except CellTimeoutError:
                return replies, (index, f"cell {index} ran past the {timeout:g} s timeout")
            except DeadKernelError:
                return replies, (index, f"the kernel died in cell {index}")
    return replies, None


def grade_notebook(submission, source=None, timeout: float = 600, kernel_name: str = "python3") -> list[Grade]:
    """Run a student's notebook top to bottom and score its graded cells, as nbgrader's autograde does.

    A test cell passes when the kernel reports that it ran without an error (its
    reply's status, not only the absence of a traceback in its outputs).

    ``source`` is the full notebook: the only authority on which cells are graded,
    their code and their points (see the module's docstring). Without it the
    submission's own cells and points are trusted — for a student checking their
    own work, never for marks.
    Grades follow the full notebook's order; extra graded cells come last.
    """
    _check_timeout(timeout)
    submission = Path(submission)
    nb = _read(submission, "submission")
    reference = _read(Path(source), "full notebook") if source is not None else copy.deepcopy(nb)
    validate_exercises(reference, Path(source).name if source is not None else submission.name)
    graded = {nbgrader(c)["grade_id"]: c for c in reference.cells if nbgrader(c).get("grade")}
    where, extra = _restore(nb, graded)
    replies, stopped = _run(nb, submission.parent, timeout, kernel_name)
    grades = []
    for grade_id, reference_cell in graded.items():
        max_points = float(nbgrader(reference_cell)["points"])
        index = where.get(grade_id)
        if index is None:
            grades.append(Grade(grade_id, 0.0, max_points, "missing", "the submission has no cell with this grade_id"))
        elif not is_test_cell(reference_cell):
            grades.append(Grade(grade_id, 0.0, max_points, "by hand"))
        elif stopped is not None and index >= stopped[0]:
            status = "failed" if index == stopped[0] else "not run"
            grades.append(Grade(grade_id, 0.0, max_points, status, stopped[1]))
        else:
            errors = [o for o in nb.cells[index].get("outputs", []) if o.get("output_type") == "error"]
            reply = replies.get(index, {}).get("content", {})
            if errors:
                message = f"{errors[0].get('ename', '')}: {errors[0].get('evalue', '')}".strip()
                grades.append(Grade(grade_id, 0.0, max_points, "failed", message))
            elif reply.get("status") != "ok":
                message = f"{reply.get('ename', '')}: {reply.get('evalue', '')}".strip(": ")
                grades.append(Grade(grade_id, 0.0, max_points, "failed",
                                    message or f"the kernel answered {reply.get('status')!r}, not 'ok'"))
            else:
                grades.append(Grade(grade_id, max_points, max_points, "passed"))
    grades += [Grade(grade_id, 0.0, 0.0, "extra", "graded cell not in the full notebook: not counted")
               for grade_id in extra]
    return grades


def grade_submissions(submissions, source=None, root=".", timeout: float = 600,
                      kernel_name: str = "python3") -> list[SubmissionReport]:
    """Grade each submission against ``source`` (default: ``root/notebooks/<same file name>``).

    One submission that cannot be graded (unreadable, not a notebook, no full
    notebook, a kernel that does not start) gets a report with its ``error`` and the
    batch goes on. Ctrl-C still stops the batch. A bad ``timeout`` raises before any work.
    """
    _check_timeout(timeout)
    reports = []
    for path in map(Path, submissions):
        full = Path(source) if source is not None else Path(root) / NOTEBOOK_DIR / path.name
        if not full.is_file():
            reports.append(SubmissionReport(path, error=f"no full notebook {full.as_posix()} to grade against"))
            continue
        try:
            reports.append(SubmissionReport(path, tuple(grade_notebook(path, full, timeout, kernel_name))))
        except Exception as error:  # report it and grade the others
            reports.append(SubmissionReport(path, error=f"{type(error).__name__}: {error}"))
    return reports


def write_grades_csv(reports, file: TextIO) -> None:
    """One CSV row per graded cell (``CSV_COLUMNS``); a submission that could not be graded: one "error" row."""
    writer = csv.writer(file, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for report in reports:
        name = report.path.as_posix()
        if report.error:
            writer.writerow([name, "", 0, 0, "error", report.error])
        for g in report.grades:
            writer.writerow([name, g.grade_id, f"{g.points:g}", f"{g.max_points:g}", g.status, g.error])
