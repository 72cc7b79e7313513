"""The course's own exercises: student notebooks current, runnable, and stopping at the first exercise.

The full notebooks' solutions are checked by nbval (`make test` runs every notebook,
and each exercise's check cell raises when a solution is wrong). A student notebook's
code up to its first exercise is the full notebook's code, which nbval runs in the same
`make test`; running each student notebook again (about 3 minutes, mostly notebooks 04
and 05's fits) is marked ``slow`` and left to `make test-slow`, which CI runs.
"""
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from fido_lib import course

ROOT = Path(__file__).resolve().parents[1]
FULL = sorted((ROOT / course.NOTEBOOK_DIR).glob("[0-9][0-9]_*.ipynb"))
STUDENT = sorted((ROOT / course.ASSIGNMENT_DIR).glob("[0-9][0-9]_*.ipynb"))
CHECK_CALLS = ("check_", "assert ")


def _ids(paths):
    return [p.name for p in paths]


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader") or {}


def test_committed_student_notebooks_equal_freshly_generated_ones():
    status = course.generate_assignments(ROOT, check=True)
    wrong = {p.relative_to(ROOT).as_posix(): s for p, s in status.items() if s != "ok"}
    assert not wrong, f"run `make assignments` and commit assignments/: {wrong}"


@pytest.mark.parametrize("path", FULL, ids=_ids(FULL))
def test_exercises_are_well_formed(path):
    nb = nbformat.read(path, as_version=4)
    cells = nb.cells
    for i, cell in enumerate(cells):
        meta = _nbgrader(cell)
        if meta.get("grade") and not meta.get("solution"):
            assert any(call in cell.source for call in CHECK_CALLS), \
                f"{path.name} cell {i} ({meta['grade_id']}) is a test cell without a check or assert"
        if meta.get("solution") and cell.cell_type == "code":
            following = [_nbgrader(c) for c in cells[i + 1:]]
            assert any(m.get("grade") and not m.get("solution") for m in following), \
                f"{path.name} cell {i} ({meta['grade_id']}) is an answer cell with no test cell after it"


def _first_exercise(nb) -> tuple[int, int]:
    """Index of the first code answer cell and of the first test cell after it."""
    answer = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and _nbgrader(c).get("solution"))
    test = next(i for i, c in enumerate(nb.cells) if i > answer and _nbgrader(c).get("grade")
                and not _nbgrader(c).get("solution"))
    return answer, test


def _code_before(nb, stop: int) -> list[str]:
    return [c.source for c in nb.cells[:stop] if c.cell_type == "code"]


@pytest.mark.parametrize("path", STUDENT, ids=_ids(STUDENT))
def test_student_notebook_runs_the_full_notebooks_code_up_to_its_first_exercise(path):
    full_path = ROOT / course.NOTEBOOK_DIR / path.name
    assert full_path.exists(), f"{path.name} has no full notebook {full_path.relative_to(ROOT)}"
    student, full = nbformat.read(path, as_version=4), nbformat.read(full_path, as_version=4)
    answer, _ = _first_exercise(student)
    full_answer, _ = _first_exercise(full)
    mine, theirs = _code_before(student, answer), _code_before(full, full_answer)
    assert mine == theirs, (
        f"{path.relative_to(ROOT)}: the code before the first exercise differs from "
        f"{full_path.relative_to(ROOT)}'s "
        f"({len(mine)} vs {len(theirs)} cells; first difference at code cell "
        f"{next((i for i, (a, b) in enumerate(zip(mine, theirs)) if a != b), min(len(mine), len(theirs)))})")
    stub = student.cells[answer].source
    assert "raise NotImplementedError()" in stub and "### BEGIN SOLUTION" not in stub, \
        f"{path.name} cell {answer}: the first answer cell must be cut to a stub that raises, got {stub!r}"


@pytest.mark.slow
@pytest.mark.parametrize("path", STUDENT, ids=_ids(STUDENT))
def test_student_notebook_runs_to_its_first_exercise_and_stops_there(path):
    nb = nbformat.read(path, as_version=4)
    answer, test = _first_exercise(nb)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    with pytest.raises(CellExecutionError) as info:
        client.execute()
    assert info.value.ename == "NotImplementedError", \
        f"{path.name} stopped with {info.value.ename}: {info.value.evalue}"
    failed = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
              and any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    assert failed and answer <= failed[0] <= test, \
        f"{path.name} stopped at cell {failed[:1]}, expected between the first answer cell {answer} and its test {test}"


COURSE_NUMBERS = [f"{n:02d}" for n in range(1, 8)]


@pytest.mark.parametrize("number", COURSE_NUMBERS)
def test_every_course_notebook_has_at_least_two_checked_exercises(number):
    paths = [p for p in FULL if p.name.startswith(number + "_")]
    assert len(paths) == 1, f"expected one notebook {number}_*.ipynb, found {[p.name for p in paths]}"
    nb = nbformat.read(paths[0], as_version=4)
    tests = [c for c in nb.cells if c.cell_type == "code" and _nbgrader(c).get("grade")
             and not _nbgrader(c).get("solution")]
    assert len(tests) >= 2, f"{paths[0].name} has {len(tests)} graded test cells, needs at least 2"
