"""Student notebooks: each full notebook with its exercises' solutions cut out (nbgrader's conventions).

Exercise cells carry nbgrader's cell metadata (schema 3) and markers: ``### BEGIN
SOLUTION`` / ``### END SOLUTION`` in answer cells, ``### BEGIN HIDDEN TESTS`` /
``### END HIDDEN TESTS`` in test cells, so an instructor can also feed the full
notebooks to nbgrader itself.
"""
from __future__ import annotations

import copy
import hashlib
import math
import re
from pathlib import Path

from ._files import (
    ASSIGNMENT_DIR,
    BADGES_ROLE,
    NOTEBOOK_DIR,
    find_role,
    notebook_text,
    notebooks,
    read_notebook,
    write_if_changed,
)
from .repository import badge_source, repository_from_links

__all__ = [
    "BEGIN_HIDDEN",
    "BEGIN_SOLUTION",
    "CODE_STUB",
    "END_HIDDEN",
    "END_SOLUTION",
    "TEXT_STUB",
    "generate_assignments",
    "has_exercises",
    "is_test_cell",
    "nbgrader",
    "nbgrader_checksum",
    "nbgrader_metadata",
    "student_notebook",
    "validate_exercises",
]

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
CODE_STUB = ["# YOUR CODE HERE", "raise NotImplementedError()"]
TEXT_STUB = ["YOUR ANSWER HERE"]
_GRADE_ID_RE = re.compile(r"[A-Za-z0-9_-]+")


def _valid_points(points) -> bool:
    return (not isinstance(points, bool) and isinstance(points, (int, float))
            and math.isfinite(points) and points >= 0)


def nbgrader_metadata(grade_id: str, *, solution: bool = False, grade: bool = False, points: float = 0,
                      locked: bool | None = None, task: bool = False) -> dict:
    """nbgrader's cell metadata (schema 3) for an exercise cell.

    An answer cell: ``solution=True``. A test cell: ``grade=True, points=n`` (locked).
    A cell both is graded and holds a solution: an answer graded by hand.
    """
    if not isinstance(grade_id, str) or not _GRADE_ID_RE.fullmatch(grade_id):
        raise ValueError(f"grade_id must be letters, digits, '-' or '_', got {grade_id!r}")
    if not _valid_points(points):
        raise ValueError(f"points must be a finite number >= 0, got {points!r}")
    if locked is None:
        locked = not solution
    meta = {"grade": bool(grade), "grade_id": grade_id, "locked": bool(locked),
            "schema_version": 3, "solution": bool(solution), "task": bool(task)}
    if grade or task:
        meta["points"] = points
    return meta


def nbgrader(cell) -> dict:
    """A cell's nbgrader metadata, or {} when it has none (or something that is not a dict)."""
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def is_test_cell(cell) -> bool:
    """A code cell graded automatically: nbgrader ``grade`` true and ``solution`` false."""
    meta = nbgrader(cell)
    return bool(meta.get("grade")) and not meta.get("solution") and cell.get("cell_type") == "code"


def _cut_regions(lines: list[str], begin: str, end: str, stub: list[str] | None, where: str) -> list[str]:
    """Replace each ``begin``…``end`` region (marker lines included) by ``stub`` at the marker's indent."""
    out, inside, indent = [], False, ""
    for number, line in enumerate(lines, 1):
        marker = line.strip()
        if marker == begin:
            if inside:
                raise ValueError(f"{where}: line {number} opens '{begin}' inside another one")
            inside, indent = True, line[: len(line) - len(line.lstrip())]
            out += [indent + s for s in stub] if stub else []
        elif marker == end:
            if not inside:
                raise ValueError(f"{where}: line {number} has '{end}' without a '{begin}' before it")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{where}: '{begin}' is never closed by '{end}'")
    return out


def _has_marker(lines: list[str], *markers: str) -> bool:
    return any(line.strip() in markers for line in lines)


def validate_exercises(nb, name: str) -> list[int]:
    """Indices of a full notebook's nbgrader cells; raises ValueError on malformed markers or metadata."""
    seen, cells = {}, []
    for i, cell in enumerate(nb.cells):
        where = f"{name} cell {i}"
        meta = cell.get("metadata", {}).get("nbgrader")
        lines = cell.source.splitlines()
        has_solution = _has_marker(lines, BEGIN_SOLUTION, END_SOLUTION)
        has_hidden = _has_marker(lines, BEGIN_HIDDEN, END_HIDDEN)
        if meta is None:
            if has_solution or has_hidden:
                raise ValueError(f"{where} has nbgrader markers but no nbgrader metadata "
                                 "(use fido_lib.course.nbgrader_metadata)")
            continue
        if not isinstance(meta, dict) or not _GRADE_ID_RE.fullmatch(str(meta.get("grade_id", ""))):
            raise ValueError(f"{where}: nbgrader metadata needs a grade_id of letters, digits, '-' or '_'")
        grade_id = meta["grade_id"]
        if grade_id in seen:
            raise ValueError(f"{where}: grade_id {grade_id!r} already used by cell {seen[grade_id]}")
        seen[grade_id] = i
        if has_solution and not meta.get("solution"):
            raise ValueError(f"{where} ({grade_id}) has '{BEGIN_SOLUTION}' but nbgrader solution is not true")
        if has_hidden and not (meta.get("grade") and not meta.get("solution")):
            raise ValueError(f"{where} ({grade_id}) has hidden tests but is not a test cell "
                             "(grade true, solution false)")
        if meta.get("grade") and not _valid_points(meta.get("points")):
            raise ValueError(f"{where} ({grade_id}) is graded but has no points (a finite number >= 0), "
                             f"got {meta.get('points')!r}")
        cells.append(i)
    return cells


def nbgrader_checksum(cell) -> str:
    """nbgrader's checksum of a graded, answer or locked cell (``nbgrader.utils.compute_checksum``).

    The md5 of the source, the cell type, whether it is graded, an answer, locked, its
    ``grade_id`` and (graded) its points as a float: what ``nbgrader autograde`` compares
    to tell an edited locked cell. nbgrader counts a test cell as locked whatever its
    ``locked`` flag says, an answer cell as unlocked.
    """
    meta = nbgrader(cell)
    grade, solution = bool(meta.get("grade")), bool(meta.get("solution"))
    locked = False if solution else (True if grade else bool(meta.get("locked")))
    parts = [cell.source, cell.cell_type, str(grade), str(solution), str(locked), meta["grade_id"]]
    if grade:
        parts.append(str(float(meta["points"])))
    return hashlib.md5("".join(parts).encode("utf-8")).hexdigest()


def _lock(cell) -> None:
    """Cell metadata as nbgrader's ``LockCells`` writes it: answer cells cannot be deleted,
    test cells and locked cells can be neither deleted nor edited."""
    meta = nbgrader(cell)
    if meta.get("solution"):
        cell.metadata["deletable"] = False
    elif meta.get("grade") or meta.get("locked"):
        cell.metadata["deletable"] = False
        cell.metadata["editable"] = False


def student_notebook(nb, path: str, source_path: str):
    """The student version of a full notebook: what ``nbgrader generate_assignment`` writes.

    ``path`` is where the student notebook lives (its badges point there) and
    ``source_path`` the full notebook it comes from. Solution regions become
    ``# YOUR CODE HERE`` / ``raise NotImplementedError()`` (code) or *YOUR ANSWER
    HERE* (markdown); a solution cell without markers is replaced whole, as nbgrader
    does; hidden tests are cut; cells are locked as nbgrader locks them and carry its
    ``cell_type`` and ``checksum``, so a student version can be submitted to nbgrader.
    Where it differs from nbgrader's release, on purpose: the launch badges point at the
    student version (nbgrader keeps the full notebook's links), and outputs' widget state
    and cells' execution timestamps are dropped (nbgrader keeps them).
    """
    name = Path(source_path).name
    validate_exercises(nb, name)
    student = copy.deepcopy(nb)
    student.metadata.pop("widgets", None)  # widget state belongs to the stored outputs
    for i, cell in enumerate(student.cells):
        where = f"{name} cell {i}"
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        meta = cell.metadata.get("nbgrader")
        if not meta:
            continue
        lines = cell.source.splitlines()
        if meta.get("solution"):
            stub = CODE_STUB if cell.cell_type == "code" else TEXT_STUB
            lines = _cut_regions(lines, BEGIN_SOLUTION, END_SOLUTION, stub, where) \
                if _has_marker(lines, BEGIN_SOLUTION, END_SOLUTION) else list(stub)
        if meta.get("grade") and not meta.get("solution"):
            lines = _cut_regions(lines, BEGIN_HIDDEN, END_HIDDEN, None, where)
        cell.source = "\n".join(lines)
        _lock(cell)
        if meta.get("grade") or meta.get("solution") or meta.get("locked"):
            meta["checksum"], meta["cell_type"] = nbgrader_checksum(cell), cell.cell_type
    badges = find_role(student, BADGES_ROLE)
    if badges is not None:
        repo = repository_from_links(student.cells[badges].source)
        if repo is not None:
            student.cells[badges].source = badge_source(repo, path)
    return student


def has_exercises(nb) -> bool:
    """True when some cell of ``nb`` is an nbgrader answer cell."""
    return any(nbgrader(cell).get("solution") for cell in nb.cells)


def generate_assignments(root, check: bool = False) -> dict[Path, str]:
    """Write ``assignments/NN_*.ipynb`` for every full notebook that has exercises.

    Returns each file's status: ``"written"``, ``"unchanged"``, ``"removed"`` (a
    student notebook whose full notebook is gone or has no exercises any more). With
    ``check=True`` nothing is written and statuses are ``"ok"``, ``"differs"``,
    ``"missing"`` or ``"stale"``.
    """
    root = Path(root)
    out_dir = root / ASSIGNMENT_DIR
    status, wanted = {}, set()
    for source in notebooks(root, NOTEBOOK_DIR):
        nb = read_notebook(source)
        if not has_exercises(nb):
            continue
        target = out_dir / source.name
        wanted.add(target)
        student = student_notebook(nb, target.relative_to(root).as_posix(), source.relative_to(root).as_posix())
        if check:
            if not target.is_file():
                status[target] = "missing"
            else:
                status[target] = "ok" if target.read_text(encoding="utf-8") == notebook_text(student) else "differs"
        else:
            status[target] = "written" if write_if_changed(target, student) else "unchanged"
    for old in notebooks(root, ASSIGNMENT_DIR):
        if old not in wanted:
            if check:
                status[old] = "stale"
            else:
                old.unlink()
                status[old] = "removed"
    return status
