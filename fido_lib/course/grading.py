"""Grading without nbgrader: run a student's notebook in a closed room and score its test cells.

The full (instructor's) notebook is the only authority on which cells are graded,
their code and their points. It is read once, into memory, before any kernel starts;
a submission's own nbgrader metadata decides nothing:

* every test cell is replaced by the full notebook's cell of the same ``grade_id``
  (hidden tests restored, edits of the locked cell undone, whatever the submission's
  metadata now says about the cell);
* points come from the full notebook;
* a graded cell of the full notebook that the submission lacks scores 0, "missing";
* a graded cell the submission added scores nothing and is reported, "extra".

**The closed room.** Each submission runs in a temporary copy of its own folder (its
kernel's IPython profile and temporary files there too, its stdout and stderr not the
grader's), under a kernel specification resolved once for the batch. Inside the kernel
(``fido_lib._grading_guard``) a fence refuses writes outside the room, reads of the other submissions
and the full notebooks, processes, ctypes and tracing; before each test cell, IPython's
input and AST transformers, its execution machinery, ``sys.modules``, every module's
functions, classes and constants (``fido_lib.checks`` and what it imports, ``torch``,
``numpy``, ``builtins`` …) and the names the full notebook imports are put back; what
had to be put back is reported in the ``note`` column. The checks read answers as plain
tensors and numbers (``fido_lib.checks``). Between submissions a tripwire (``_room``)
checks the files the next kernel reads; a change stops the batch.

A test cell passes when the kernel's reply to it says "ok", so hiding tracebacks does
not help. A cell that runs past the timeout or kills the kernel stops the run: the
cells after it score 0, "not run". In a batch, a submission that cannot be graded at
all (not a notebook, no full notebook to grade against) is reported and the others
are graded.

What no grader inside the kernel can stop: the student's code runs in the kernel with
the grader's privileges, and code that runs *during* a test (a function the test
calls, a thread or finalizer left behind) can change what the test uses then. Read the
submissions whose notes are not empty; for real isolation grade each submission in a
container or as a user of its own.
"""
from __future__ import annotations

import ast
import concurrent.futures
import copy
import csv
import math
import multiprocessing
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import nbformat
from jupyter_core.paths import jupyter_runtime_dir
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from ._files import INSTALL_ROLE, NOTEBOOK_DIR, read_notebook, role
from ._kernel import GradingClient, interpreter, kernel_spec, pinned_manager
from ._room import Room, Tripwire, kernel_environment
from .assignments import is_test_cell, nbgrader, validate_exercises

__all__ = [
    "CSV_COLUMNS",
    "MAX_NOTEBOOK_BYTES",
    "Grade",
    "SubmissionReport",
    "grade_notebook",
    "grade_submissions",
    "max_jobs",
    "write_grades_csv",
]

CSV_COLUMNS = ("submission", "grade_id", "points", "max_points", "status", "error", "note")
#: A submitted notebook larger than this is refused before it is read.
MAX_NOTEBOOK_BYTES = 100 * 2**20
_MAX_MESSAGE = 2_000
_GUARD = "__import__('fido_lib._grading_guard', fromlist=['_']).{call}"


@dataclass(frozen=True)
class Grade:
    """One graded cell of a submission.

    ``status``: "passed", "failed" (with the error), "not run" (a cell before it timed
    out or killed the kernel), "by hand" (an answer a person grades), "missing" (the
    submission lacks the cell) or "extra" (a graded cell the full notebook does not
    have; never counted, ``max_points`` 0). ``note``: what the grader had to put back in
    the kernel before this test (empty for a submission that changed nothing) — read it.
    """

    grade_id: str
    points: float
    max_points: float
    status: str
    error: str = ""
    note: str = ""


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


def max_jobs() -> int:
    """The most submissions graded at once: this machine's CPU count (each one is a kernel)."""
    return max(1, os.cpu_count() or 1)


def _check_jobs(jobs) -> int:
    if isinstance(jobs, bool) or not isinstance(jobs, int):
        raise TypeError(f"jobs must be an int, got {type(jobs).__name__} {jobs!r}")
    if not 1 <= jobs <= max_jobs():
        raise ValueError(f"jobs must be from 1 to {max_jobs()} (this machine's CPU count: each job is a "
                         f"kernel of its own), got {jobs}")
    return jobs


def _read(path: Path, what: str):
    try:
        size = path.stat().st_size
    except OSError as error:
        raise ValueError(f"{what} {path} cannot be read: {error}") from None
    if size > MAX_NOTEBOOK_BYTES:
        raise ValueError(f"{what} {path} is {size / 2**20:.0f} MB; notebooks over "
                         f"{MAX_NOTEBOOK_BYTES // 2**20} MB are refused")
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


# ---------------------------------------------------------------- what the tests import
def _python(source: str) -> ast.Module | None:
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return ast.parse(TransformerManager().transform_cell(source))
    except (SyntaxError, ValueError):
        return None


def notebook_imports(nb) -> tuple[list[str], list[tuple[str, str, str | None]]]:
    """The modules the full notebook's own cells import, and the names bound only by imports.

    A binding is ``(name, module, attribute)``: ``import numpy as np`` gives
    ``("np", "numpy", None)``, ``from fido_lib.checks import check_tensor_close`` gives
    ``("check_tensor_close", "fido_lib.checks", "check_tensor_close")``. A name also
    assigned anywhere in the notebook (a solution included), or imported from two
    places, is left out: the guard puts only the listed names back before each test.
    Solution cells' imports are the student's, not the notebook's, and are not listed.
    """
    modules, targets, assigned, unreadable = [], {}, set(), False
    for cell in nb.cells:
        if cell.cell_type != "code" or role(cell) == INSTALL_ROLE:
            continue
        tree = _python(cell.source)
        if tree is None:
            unreadable = True
            continue
        solution = bool(nbgrader(cell).get("solution"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import) and not solution:
                for alias in node.names:
                    modules.append(alias.name)
                    if alias.asname:
                        targets.setdefault(alias.asname, set()).add((alias.name, None))
                    else:
                        top = alias.name.split(".")[0]
                        targets.setdefault(top, set()).add((top, None))
            elif isinstance(node, ast.ImportFrom) and not solution and node.level == 0 and node.module:
                modules.append(node.module)
                for alias in node.names:
                    if alias.name != "*":
                        targets.setdefault(alias.asname or alias.name, set()).add((node.module, alias.name))
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                assigned.update((a.asname or a.name).split(".")[0] for a in node.names)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
                assigned.add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                assigned.add(node.name)
            elif isinstance(node, (ast.Global, ast.Nonlocal)):
                assigned.update(node.names)
    if unreadable:  # a cell we cannot read could assign anything
        return list(dict.fromkeys(modules)), []
    bindings = [(name, *next(iter(found))) for name, found in sorted(targets.items())
                if len(found) == 1 and name not in assigned]
    return list(dict.fromkeys(modules)), bindings


def _literal_list(text: str) -> list[str] | None:
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    return value if isinstance(value, list) and all(isinstance(v, str) for v in value) else None


def _run(nb, room: Room, timeout: float, spec: dict, kernel_name: str, tests: set[int], imports: list[str],
         bindings: list, protected: list[str], threads: int | None, timings: dict | None):
    """Execute every code cell in the room: the kernel's replies, (index, why) of a cell that
    stopped the run, and per test cell what the guard had to put back (or why it could not).
    ``timings`` (a dict, if given) gets the seconds of each phase."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    replies, notes = {}, {}
    clock = {"kernel start": 0.0, "guard install": 0.0, "guard restore": 0.0, "cells": {}}
    if timings is not None:
        timings.update(clock)
        clock = timings

    def record(cell, cell_index, execute_reply):
        replies[cell_index] = execute_reply or {}

    client = GradingClient(nb, keep=tests, timeout=timeout, kernel_name=kernel_name, allow_errors=True,
                            resources={"metadata": {"path": str(room.work)}}, on_cell_executed=record,
                            kernel_manager_class=pinned_manager(spec, kernel_name))
    env = kernel_environment(room, threads)
    started = time.perf_counter()
    with client.setup_kernel(env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
        clock["kernel start"] = time.perf_counter() - started
        try:
            started = time.perf_counter()
            call = f"install({str(room.work)!r}, {protected!r}, {imports!r}, writable={str(room.path)!r})"
            ok, answer = client.ask(_GUARD.format(call=call))
            clock["guard install"] = time.perf_counter() - started
        except (CellTimeoutError, DeadKernelError) as error:
            raise RuntimeError(f"the grading guard could not be installed: {error}") from None
        if not ok:
            raise RuntimeError(f"the grading guard could not be installed: {answer}")
        for index, cell in enumerate(nb.cells):
            try:
                if index in tests:
                    started = time.perf_counter()
                    ok, answer = client.ask(_GUARD.format(call=f"restore({bindings!r})"))
                    put_back = _literal_list(answer) if ok else None
                    notes[index] = (put_back, "" if put_back is not None else
                                    f"the grader could not put the kernel back before this test ({answer[:200]})")
                    clock["guard restore"] += time.perf_counter() - started
                if cell.cell_type == "code":
                    started = time.perf_counter()
                    client.execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
                    clock["cells"][index] = time.perf_counter() - started
            except CellTimeoutError:
                return replies, (index, f"cell {index} ran past the {timeout:g} s timeout"), notes
            except DeadKernelError:
                return replies, (index, f"the kernel died in cell {index}"), notes
    return replies, None, notes


def _short(text: str) -> str:
    return text if len(text) <= _MAX_MESSAGE else text[:_MAX_MESSAGE] + " …"


def _note(put_back: list[str] | None) -> str:
    if not put_back:
        return ""
    shown = sorted(dict.fromkeys(put_back))
    more = f" and {len(shown) - 12} more" if len(shown) > 12 else ""
    return "put back before this test: " + ", ".join(shown[:12]) + more


def grade_notebook(submission, source=None, timeout: float = 600, kernel_name: str = "python3", *,
                   protected=(), timings: dict | None = None, _spec=None, _room=None, _threads=None) -> list[Grade]:
    """Run a student's notebook top to bottom in a closed room and score its graded cells.

    A test cell passes when the kernel reports that it ran without an error (its
    reply's status, not only the absence of a traceback in its outputs).

    ``source`` is the full notebook, a path or a notebook already read: the only
    authority on which cells are graded, their code and their points (see the module's
    docstring). Without it the submission's own cells and points are trusted — for a
    student checking their own work, never for marks. ``protected``: further paths the
    kernel may not read. ``timings``: a dict that gets the seconds of each phase (kernel
    start, guard install and restores, each code cell by index; ``benchmarks/grading_time.py``).
    Grades follow the full notebook's order; extra graded cells come last.
    """
    _check_timeout(timeout)
    submission = Path(submission)
    nb = _read(submission, "submission")
    if source is None:
        reference, name = copy.deepcopy(nb), submission.name
    elif isinstance(source, nbformat.NotebookNode):
        reference, name = copy.deepcopy(source), "the full notebook"
    else:
        reference, name = _read(Path(source), "full notebook"), Path(source).name
    validate_exercises(reference, name)
    spec = _spec if _spec is not None else kernel_spec(kernel_name)
    graded = {nbgrader(c)["grade_id"]: c for c in reference.cells if nbgrader(c).get("grade")}
    where, extra = _restore(nb, graded)
    imports, bindings = notebook_imports(reference)
    tests = {i for gid, i in where.items() if is_test_cell(graded[gid])}
    if isinstance(source, (str, os.PathLike)):
        protected = [*protected, str(Path(source).resolve().parent)]
    protected = sorted({str(Path(p).resolve()) for p in (*protected, submission.resolve().parent,
                                                           _runtime_dir())})
    room = Room(Path(_room) if _room is not None else Path(tempfile.mkdtemp(prefix="fido-grade-")) / "room")
    try:
        room.fill(submission)
        replies, stopped, notes = _run(nb, room, timeout, spec, kernel_name, tests, imports, bindings,
                                       protected, _threads, timings)
    finally:
        shutil.rmtree(room.path if _room is not None else room.path.parent, ignore_errors=True)
    grades = []
    for grade_id, reference_cell in graded.items():
        max_points = float(nbgrader(reference_cell)["points"])
        index = where.get(grade_id)
        put_back, trouble = notes.get(index, (None, ""))
        note = _note(put_back)
        if index is None:
            grades.append(Grade(grade_id, 0.0, max_points, "missing", "the submission has no cell with this grade_id"))
        elif not is_test_cell(reference_cell):
            grades.append(Grade(grade_id, 0.0, max_points, "by hand"))
        elif stopped is not None and index >= stopped[0]:
            status = "failed" if index == stopped[0] else "not run"
            grades.append(Grade(grade_id, 0.0, max_points, status, stopped[1], note))
        elif trouble:
            grades.append(Grade(grade_id, 0.0, max_points, "failed", trouble, note))
        else:
            errors = [o for o in nb.cells[index].get("outputs", []) if o.get("output_type") == "error"]
            reply = replies.get(index, {}).get("content", {})
            if errors:
                message = f"{errors[0].get('ename', '')}: {errors[0].get('evalue', '')}".strip()
                grades.append(Grade(grade_id, 0.0, max_points, "failed", _short(message), note))
            elif reply.get("status") != "ok":
                message = f"{reply.get('ename', '')}: {reply.get('evalue', '')}".strip(": ")
                grades.append(Grade(grade_id, 0.0, max_points, "failed",
                                    _short(message) or f"the kernel answered {reply.get('status')!r}, not 'ok'",
                                    note))
            else:
                grades.append(Grade(grade_id, max_points, max_points, "passed", "", note))
    grades += [Grade(_short(grade_id), 0.0, 0.0, "extra", "graded cell not in the full notebook: not counted")
               for grade_id in extra]
    return grades


def _runtime_dir() -> str:
    """Jupyter's runtime folder: every kernel's connection file (with its key) lies there."""
    return jupyter_runtime_dir()


# ---------------------------------------------------------------- a batch
def _grade_one(job: dict) -> SubmissionReport:
    """Grade one submission of a batch (in this process or a worker's)."""
    path = Path(job["path"])
    try:
        source = nbformat.from_dict(job["source"])
        grades = grade_notebook(path, source, job["timeout"], job["kernel_name"], protected=job["protected"],
                                _spec=job["spec"], _room=job["room"], _threads=job["threads"])
        return SubmissionReport(path, tuple(grades))
    except Exception as error:  # report it and grade the others
        return SubmissionReport(path, error=_short(f"{type(error).__name__}: {error}"))


def grade_submissions(submissions, source=None, root=".", timeout: float = 600,
                      kernel_name: str = "python3", jobs: int = 1) -> list[SubmissionReport]:
    """Grade each submission against ``source`` (default: ``root/notebooks/<same file name>``).

    Every full notebook is read once, into memory, before the first kernel starts; the
    kernel specification is resolved then too. ``jobs`` submissions are graded at once,
    each in a process of its own (from 1 to :func:`max_jobs`); the reports come in the
    order of ``submissions`` whatever the order they finish in. Between submissions the
    tripwire checks the files a later grading reads: after a change every submission not
    yet graded is reported, not graded (and with ``jobs`` > 1 the ones graded meanwhile).

    One submission that cannot be graded (unreadable, not a notebook, no full
    notebook, a kernel that does not start) gets a report with its ``error`` and the
    batch goes on. Ctrl-C still stops the batch. A bad ``timeout`` or ``jobs`` raises before any work.
    """
    _check_timeout(timeout)
    _check_jobs(jobs)
    spec = kernel_spec(kernel_name)
    paths = [Path(p) for p in submissions]
    fulls = [Path(source) if source is not None else Path(root) / NOTEBOOK_DIR / p.name for p in paths]
    sources, unreadable = {}, {}
    for full in dict.fromkeys(fulls):
        if not full.is_file():
            unreadable[full] = f"no full notebook {full.as_posix()} to grade against"
            continue
        try:
            sources[full] = _read(full, "full notebook")
            validate_exercises(sources[full], full.name)
        except ValueError as error:
            sources.pop(full, None)
            unreadable[full] = str(error)
    folders = sorted({str(p.resolve().parent) for p in [*paths, *sources]})
    scratch = tempfile.mkdtemp(prefix="fido-grade-")
    rooms = [str(Path(scratch) / f"{i:05d}") for i in range(len(paths))]
    tripwire = Tripwire.for_grading([*sources, *paths], interpreter(spec))
    threads = max(1, max_jobs() // jobs) if jobs > 1 else None

    def job(i: int) -> dict:
        others = [r for k, r in enumerate(rooms) if k != i]
        return {"path": str(paths[i]), "source": sources[fulls[i]], "timeout": timeout, "kernel_name": kernel_name,
                "protected": [*folders, *others], "spec": spec, "room": rooms[i], "threads": threads}

    reports: list[SubmissionReport | None] = [None] * len(paths)
    for i, full in enumerate(fulls):
        if full in unreadable:
            reports[i] = SubmissionReport(paths[i], error=unreadable[full])
    todo = [i for i in range(len(paths)) if reports[i] is None]
    stopped = None
    try:
        if jobs == 1:
            for i in todo:
                if stopped is not None:
                    break
                reports[i] = _grade_one(job(i))
                changed = tripwire.changed()
                if changed:
                    stopped = (i, changed)
        else:
            stopped = _in_parallel(todo, job, jobs, reports, tripwire)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if stopped is not None:
        culprits, changed = stopped
        culprits = culprits if isinstance(culprits, list) else [culprits]
        shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
        names = ", ".join(paths[k].as_posix() for k in culprits)
        for k in culprits:
            reports[k] = SubmissionReport(paths[k], error=_short(
                f"while this was graded, files a later grading reads changed: {shown} (check them, e.g. "
                "`git status`, and grade again)"))
        for k in range(len(paths)):
            if reports[k] is None:
                reports[k] = SubmissionReport(paths[k], error=_short(
                    f"not graded: the grading of {names} changed files a later grading reads ({shown})"))
    return reports


def _in_parallel(todo, job, jobs, reports, tripwire):
    """Grade ``todo`` in ``jobs`` worker processes, filling ``reports``; None, or (the
    submissions being graded when the tripwire saw a change, what changed)."""
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no event loop or zmq state forked
    with concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        running = {pool.submit(_grade_one, job(i)): i for i in todo}
        trusted = set()
        try:
            for future in concurrent.futures.as_completed(running):
                reports[running[future]] = future.result()
                changed = tripwire.changed()
                if not changed:
                    trusted.add(future)
                    continue
                for other in running:
                    other.cancel()  # those not started yet
                # whichever of the ones graded meanwhile did it, none of them can be trusted
                return [k for f, k in running.items() if not f.cancelled() and f not in trusted], changed
        except BaseException:
            for other in running:
                other.cancel()
            raise
    return None


def _csv_text(text: str) -> str:
    """A cell a spreadsheet will not run as a formula (text a submission chose may start with '=')."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write_grades_csv(reports, file: TextIO) -> None:
    """One CSV row per graded cell (``CSV_COLUMNS``); a submission that could not be graded: one "error" row."""
    writer = csv.writer(file, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for report in reports:
        name = report.path.as_posix()
        if report.error:
            writer.writerow([name, "", 0, 0, "error", _csv_text(report.error), ""])
        for g in report.grades:
            writer.writerow([name, _csv_text(g.grade_id), f"{g.points:g}", f"{g.max_points:g}", g.status,
                             _csv_text(g.error), g.note])
