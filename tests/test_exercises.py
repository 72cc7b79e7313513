"""The exercises work: a student notebook runs with no answers, each reference solution passes
its own checks on its own, and each recorded wrong answer fails them (issue 17).

Each notebook NN with exercises may have a case file ``tests/exercise_cases/nbNN.py`` holding ::

    WRONG_ANSWERS = {
        "<grade_id of a code answer cell>": [
            ("what the mistake is", "source that replaces the whole answer cell"),
            ...
        ],
    }

One kernel per notebook runs the student notebook exactly as ``make assignments`` writes it
(``fido_lib.course.student_notebook``, here in memory; ``tests/test_assignments.py`` checks
that ``assignments/`` equals it) from top to bottom. Just before each graded code answer cell
it makes attempts, each from the same state and put back afterwards (the namespace's names and
the ``random``, ``numpy`` and ``torch`` generators; objects an attempt mutates stay mutated):

* the reference solution from ``notebooks/`` (the whole cell as the instructor wrote it), then
  the exercise's test cells (hidden tests included, as the grader runs them) — every one must
  pass;
* each wrong answer of the case file, then the same test cells — at least one must fail.

During an attempt the names that only the *other* exercises' cells bind (their answers and
their test cells) are hidden, so a check that leans on another exercise's data (a variable a
test cell before it assigned) fails here as it would for a student who does the exercises out
of order. The exercise's answer cells and test cells are then run as generated, and every cell
that is not an exercise cell must run without an error. An exercise's test cells are the test
cells after its answer cell, up to the next code answer cell.
"""
from __future__ import annotations

import ast
import importlib.util
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager
from nbclient import NotebookClient

from fido_lib import course
from fido_lib.course.assignments import is_test_cell, nbgrader, student_notebook

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "tests" / "exercise_cases"
FULL = sorted((ROOT / course.NOTEBOOK_DIR).glob("[0-9][0-9]_*.ipynb"))
TIMEOUT = 900

_SNAPSHOT = """\
_fido_exercise_state = (dict(globals()), __import__("random").getstate(),
    __import__("numpy").random.get_state() if "numpy" in __import__("sys").modules else None,
    __import__("torch").get_rng_state() if "torch" in __import__("sys").modules else None)"""
_HIDE = "list(map(globals().pop, {names!r}, [None] * {count}));"
_RESTORE = """\
(lambda names, saved: (names.clear(), names.update(saved[0]), names.__setitem__("_fido_exercise_state", saved),
    __import__("random").setstate(saved[1]),
    saved[2] is not None and __import__("numpy").random.set_state(saved[2]),
    saved[3] is not None and __import__("torch").set_rng_state(saved[3])))(globals(), _fido_exercise_state);"""


@dataclass
class Exercise:
    grade_id: str
    answer: int  # index of the answer cell
    tests: list[int]  # indices of its test cells
    cells: set[int] = field(default_factory=set)  # every cell of the exercise


def exercises(nb) -> list[Exercise]:
    """The graded code exercises of a full notebook, in order."""
    found, current = [], None
    for i, cell in enumerate(nb.cells):
        meta = nbgrader(cell)
        if cell.cell_type == "code" and meta.get("solution"):
            current = Exercise(meta["grade_id"], i, [], {i})
            found.append(current)
        elif current is not None and is_test_cell(cell):
            current.tests.append(i)
            current.cells.add(i)
    return [e for e in found if e.tests]


def exercise_cells(nb) -> set[int]:
    """Every cell an exercise owns: answer cells (code or text) and test cells."""
    return {i for i, c in enumerate(nb.cells) if nbgrader(c).get("solution") or is_test_cell(c)}


def bound_names(source: str) -> set[str]:
    """Names a cell's code binds anywhere (assignments, defs, classes, imports, loop targets)."""
    try:
        tree = ast.parse(TransformerManager().transform_cell(source))
    except (SyntaxError, ValueError):
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names if a.name != "*")
    return names


def load_cases(path: Path) -> dict[str, list[tuple[str, str]]]:
    """``WRONG_ANSWERS`` of the case file for notebook ``path`` ({} when there is none), checked."""
    case_file = CASES / f"nb{path.name[:2]}.py"
    if not case_file.exists():
        return {}
    spec = importlib.util.spec_from_file_location(f"exercise_cases_{case_file.stem}", case_file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cases = getattr(module, "WRONG_ANSWERS", None)
    assert isinstance(cases, dict), f"{case_file.name}: WRONG_ANSWERS must be a dict"
    for grade_id, wrong in cases.items():
        assert isinstance(wrong, list) and wrong, f"{case_file.name}: {grade_id!r} needs a non-empty list"
        for entry in wrong:
            assert (isinstance(entry, tuple) and len(entry) == 2 and all(isinstance(s, str) and s for s in entry)), \
                f"{case_file.name}: {grade_id!r}: each wrong answer is ('what the mistake is', 'source')"
    return cases


@cache
def _full(path: Path):
    return nbformat.read(path, as_version=4)


def _student(path: Path):
    rel = path.relative_to(ROOT)
    return student_notebook(_full(path), (ROOT / course.ASSIGNMENT_DIR / path.name).relative_to(ROOT).as_posix(),
                            rel.as_posix())


@dataclass
class Run:
    """What one kernel's pass over a student notebook found."""

    as_generated: dict[int, str]  # cell index -> "" (ran) or the error
    reference: dict[str, list[str]]  # grade_id -> each test cell's error ("" passed), or the answer's
    wrong: dict[tuple[str, int], list[str]]  # (grade_id, k) -> each test cell's error


def _plan(path: Path):
    """The cells one kernel runs, each with what it is for."""
    full, student = _full(path), _student(path)
    cases = load_cases(path)
    owned = exercise_cells(full)
    plain = set().union(*(bound_names(c.source) for i, c in enumerate(full.cells)
                          if c.cell_type == "code" and i not in owned))
    by_exercise = {}
    for e in exercises(full):
        names = set()
        for i in e.cells:
            names |= bound_names(full.cells[i].source) | bound_names(student.cells[i].source)
        by_exercise[e.grade_id] = names - plain
    plan = []
    starts = {e.answer: e for e in exercises(full)}
    for i, cell in enumerate(student.cells):
        if cell.cell_type != "code":
            continue
        e = starts.get(i)
        if e is not None:
            hidden = sorted(set().union(*(n for g, n in by_exercise.items() if g != e.grade_id)))
            attempts = [("reference", 0, full.cells[e.answer].source)]
            attempts += [("wrong", k, source) for k, (_, source) in enumerate(cases.get(e.grade_id, []))]
            plan.append((None, _SNAPSHOT))
            for kind, k, source in attempts:
                plan.append((None, _HIDE.format(names=hidden, count=len(hidden))))
                plan.append(((kind, e.grade_id, k, "answer"), source))
                plan += [((kind, e.grade_id, k, t), full.cells[t].source) for t in e.tests]
                plan.append((None, _RESTORE))
            plan.append((None, "del _fido_exercise_state"))
        plan.append((("as generated", i), cell.source))
    return plan


def _error(reply: dict) -> str:
    content = (reply or {}).get("content", {})
    if content.get("status") == "ok":
        return ""
    return f"{content.get('ename', 'error')}: {content.get('evalue', content.get('status', 'no reply'))}"[:500]


@cache
def run_notebook(path: Path) -> Run:
    plan = _plan(path)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for _, source in plan])
    replies = {}

    def record(cell, cell_index, execute_reply):
        replies[cell_index] = execute_reply

    client = NotebookClient(nb, timeout=TIMEOUT, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(ROOT / course.ASSIGNMENT_DIR)}},
                            on_cell_executed=record)
    client.execute()
    run = Run({}, {}, {})
    for j, (what, _) in enumerate(plan):
        error = _error(replies.get(j))
        if what is None:
            assert not error, f"{path.name}: the test's own bookkeeping cell failed: {error}\n{plan[j][1]}"
        elif what[0] == "as generated":
            run.as_generated[what[1]] = error
        else:
            kind, grade_id, k, cell = what
            results = run.reference.setdefault(grade_id, []) if kind == "reference" \
                else run.wrong.setdefault((grade_id, k), [])
            if cell == "answer":
                results.append(f"the answer cell itself raised {error}" if error else "")
            else:
                results.append(error)
    return run


def _exercise_params():
    params = []
    for path in FULL:
        for e in exercises(_full(path)):
            params.append(pytest.param(path, e.grade_id, id=f"{path.name[:2]}-{e.grade_id}"))
    return params


def _wrong_params():
    params = []
    for path in FULL:
        for grade_id, wrong in load_cases(path).items():
            for k, (what, _) in enumerate(wrong):
                params.append(pytest.param(path, grade_id, k, what, id=f"{path.name[:2]}-{grade_id}-{k}"))
    return params


WITH_EXERCISES = [p for p in FULL if exercises(_full(p))]


# --- fast: the case files fit their notebooks ------------------------------------------------

@pytest.mark.parametrize("path", WITH_EXERCISES, ids=[p.name for p in WITH_EXERCISES])
def test_every_graded_exercise_has_a_recorded_wrong_answer(path):
    cases = load_cases(path)
    ids = [e.grade_id for e in exercises(_full(path))]
    unknown = sorted(set(cases) - set(ids))
    assert not unknown, f"tests/exercise_cases/nb{path.name[:2]}.py names no graded code answer cell: {unknown}"
    missing = [g for g in ids if g not in cases]
    assert not missing, (f"{path.name}: no wrong answer recorded in tests/exercise_cases/nb{path.name[:2]}.py "
                         f"for {missing}")


def test_the_plan_hides_other_exercises_names_and_keeps_plain_ones():
    path = next(p for p in FULL if p.name.startswith("03_"))
    plan = _plan(path)
    hides = [source for what, source in plan if what is None and source.startswith("list(map(globals().pop")]
    assert hides, "no attempt was planned"
    assert all("'theta_ex'" in h or "'T_ex'" in h for h in hides)
    assert not any("'torch'" in h for h in hides), "a name a plain cell binds must never be hidden"


# --- slow: run the notebooks ------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("path", WITH_EXERCISES, ids=[p.name for p in WITH_EXERCISES])
def test_student_notebook_runs_with_no_answers(path):
    run = run_notebook(path)
    owned = exercise_cells(_full(path))
    failed = {i: e for i, e in run.as_generated.items() if e and i not in owned}
    assert not failed, f"{path.name}: cells that are not exercise cells failed with no answers: {failed}"


@pytest.mark.slow
@pytest.mark.parametrize("path, grade_id", _exercise_params())
def test_reference_solution_alone_passes_its_checks(path, grade_id):
    results = run_notebook(path).reference[grade_id]
    assert not any(results), f"{path.name} {grade_id}: with the reference answer alone: {results}"


@pytest.mark.slow
@pytest.mark.parametrize("path, grade_id, k, what", _wrong_params())
def test_a_recorded_wrong_answer_fails_its_checks(path, grade_id, k, what):
    results = run_notebook(path).wrong[(grade_id, k)]
    assert not results[0], f"{path.name} {grade_id} wrong answer {what!r}: {results[0]} (fix the case)"
    assert any(results[1:]), f"{path.name} {grade_id}: the checks accept a wrong answer: {what}"
