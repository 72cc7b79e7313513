"""The grading manual's nbgrader recipe, run as written with a real nbgrader 0.9.6 (slow).

nbgrader goes into a throwaway virtual environment of its own (from the package index;
``FIDO_NBGRADER_VENV`` names one already made, to skip the install), its ``python3``
kernel is this project's interpreter, and the course folder lies outside the repository.
The recipe: ``nbgrader_config.py`` with the course id and the exchange, then
generate_assignment → release_assignment → (a student) fetch_assignment, answer, submit →
collect; two more submissions are copied into ``submitted/<student>/<assignment>/`` by hand
(the manual's other way); autograde; export. Checked:

* the release nbgrader writes equals what ``make assignments`` writes into ``assignments/``
  in every cell's id, type, source, outputs (none), nbgrader metadata and lock flags,
  except where the difference is ours on purpose (the launch badges point at the student
  version) or nbgrader's (it keeps the notebook's widget state);
* nbgrader's automatic score of every graded cell equals ``python -m fido_lib.course
  grade``'s (run with ``--jobs 2``, or 1 on one CPU) for a perfect, a blank and a cheating student;
* nothing was written into the repository.
"""
import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from fido_lib.course import max_jobs, student_notebook
from fido_lib.course.assignments import nbgrader

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
NBGRADER = "nbgrader==0.9.6"
NOTEBOOK = "01_concrete_distribution"
ASSIGNMENT = "ps01"
COURSE_ID = "fido"
#: nbgrader's gradebook, read with nbgrader's own API (run by the nbgrader environment's Python).
READ_GRADEBOOK = """
import json, sys
from nbgrader.api import Gradebook
notebook, assignment, students = sys.argv[1], sys.argv[2], sys.argv[3:]
out = {}
with Gradebook("sqlite:///gradebook.db") as gb:
    for student in students:
        nb = gb.find_submission_notebook(notebook, assignment, student)
        out[student] = {g.name: [g.auto_score, g.max_score] for g in nb.grades}
print(json.dumps(out))
"""


def _run(args, cwd, env, timeout=900):
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(map(str, args))} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def nbgrader_venv(tmp_path_factory):
    """A virtual environment with nbgrader 0.9.6 whose ``python3`` kernel is this project's Python."""
    given = os.environ.get("FIDO_NBGRADER_VENV")
    venv = Path(given) if given else tmp_path_factory.mktemp("nbgrader") / "venv"
    if not given:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
        done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", NBGRADER],
                              capture_output=True, text=True, timeout=1200)
        if done.returncode != 0:
            pytest.skip(f"{NBGRADER} could not be installed from the package index "
                        f"(pip exit {done.returncode}): {done.stderr.strip()[-500:]}")
    version = subprocess.run([str(venv / "bin" / "python"), "-c", "import nbgrader; print(nbgrader.__version__)"],
                             capture_output=True, text=True, timeout=120)
    assert version.stdout.strip() == NBGRADER.split("==")[1], version.stderr
    # the kernel nbgrader runs: this project's interpreter (fido_lib installed), as the manual says
    subprocess.run([sys.executable, "-m", "ipykernel", "install", "--prefix", str(venv), "--name", "python3"],
                   check=True, capture_output=True, timeout=120)
    return venv


def _answered(release: Path, full, how: str):
    """The released notebook as a student hands it in: "perfect" (the full notebook's answers),
    "blank" (as released) or "cheat" (the first answer right, the others wrong, every test cell
    edited into ``pass``: both graders put the tests back)."""
    nb = nbformat.read(release, as_version=4)
    solutions = {nbgrader(c)["grade_id"]: c.source for c in full.cells if nbgrader(c).get("solution")}
    first = next(iter(solutions))
    for cell in nb.cells:
        meta = nbgrader(cell)
        if meta.get("solution") and (how == "perfect" or (how == "cheat" and meta["grade_id"] == first)):
            cell.source = solutions[meta["grade_id"]]
        elif meta.get("solution") and how == "cheat" and cell.cell_type == "code":
            cell.source = "raise RuntimeError('a wrong answer')"
        elif how == "cheat" and meta.get("grade") and cell.cell_type == "code":
            cell.source = "pass"
    return nb


def _cells(nb):
    """What must agree between nbgrader's release and assignments/: per cell, everything but outputs."""
    rows = []
    for cell in nb.cells:
        meta = {k: cell.metadata[k] for k in ("nbgrader", "editable", "deletable") if k in cell.metadata}
        rows.append({"id": cell.get("id"), "type": cell.cell_type, "source": cell.source, "meta": meta,
                     "outputs": cell.get("outputs"), "count": cell.get("execution_count")})
    return rows


def test_the_manuals_nbgrader_recipe_works_and_agrees_with_fido_lib_grade(nbgrader_venv, tmp_path):
    made_by_nbgrader = ("gradebook.db", "source", "release", "submitted", "autograded", "feedback", "grades.csv")
    before = {name for name in made_by_nbgrader if (ROOT / name).exists()}
    course, exchange, home = tmp_path / "course", tmp_path / "exchange", tmp_path / "student"
    for folder in (course / "source" / ASSIGNMENT, exchange, home):
        folder.mkdir(parents=True)
    config = (f"c = get_config()\nc.CourseDirectory.course_id = {COURSE_ID!r}\n"
              f"c.Exchange.root = {str(exchange)!r}\n")
    (course / "nbgrader_config.py").write_text(config)
    (home / "nbgrader_config.py").write_text(config)  # a student's: the same course and exchange
    full_path = ROOT / "notebooks" / f"{NOTEBOOK}.ipynb"
    shutil.copy(full_path, course / "source" / ASSIGNMENT)
    full = nbformat.read(full_path, as_version=4)
    # nbgrader's environment "activated": its bin first on PATH (nbgrader calls alembic by name);
    # Jupyter's user folders empty, so the python3 kernel is the one installed into that environment
    env = {**os.environ, "PATH": f"{nbgrader_venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
           "VIRTUAL_ENV": str(nbgrader_venv), "JUPYTER_DATA_DIR": str(tmp_path / "jupyter-data"),
           "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config"), "HOME": str(tmp_path)}
    env.pop("PYTHONHOME", None)

    _run(["nbgrader", "generate_assignment", ASSIGNMENT], course, env)
    release = course / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    # what `make assignments` writes into assignments/ (test_assignments.py: the committed files are these)
    ours = student_notebook(full, f"assignments/{NOTEBOOK}.ipynb", f"notebooks/{NOTEBOOK}.ipynb")
    theirs = nbformat.read(release, as_version=4)
    assert set(theirs.metadata) - set(ours.metadata) <= {"widgets"}  # nbgrader keeps the widget state
    mine, nbg = _cells(ours), _cells(theirs)
    assert [r["id"] for r in mine] == [r["id"] for r in nbg]
    for a, b in zip(mine, nbg):
        if "mybinder.org/badge" in a["source"]:  # ours on purpose: the badges open the student version
            assert "assignments%2F" in a["source"] and "notebooks%2F" in b["source"]
            a, b = {**a, "source": ""}, {**b, "source": ""}
        assert a == b, f"cell {a['id']}: assignments/ differs from nbgrader's release"

    _run(["nbgrader", "release_assignment", ASSIGNMENT], course, env)
    _run(["nbgrader", "fetch_assignment", ASSIGNMENT], home, env)
    fetched = home / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    nbformat.write(_answered(fetched, full, "perfect"), fetched)
    _run(["nbgrader", "submit", ASSIGNMENT], home, env)
    _run(["nbgrader", "collect", ASSIGNMENT], course, env)
    collected = [p.name for p in (course / "submitted").iterdir()]  # the exchange names a student by login
    assert len(collected) == 1 and (course / "submitted" / collected[0] / ASSIGNMENT / f"{NOTEBOOK}.ipynb").is_file()
    perfect, blank, cheat = collected[0], "blank-student", "cheating-student"
    for name in (blank, cheat):  # the manual's other way in: copied into submitted/ by hand
        folder = course / "submitted" / name / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(_answered(release, full, "blank" if name == blank else "cheat"), folder / f"{NOTEBOOK}.ipynb")
    _run(["nbgrader", "autograde", ASSIGNMENT], course, env)
    _run(["nbgrader", "export"], course, env)
    exported = {r["student_id"]: r for r in csv.DictReader(io.StringIO((course / "grades.csv").read_text()))}
    students = [perfect, blank, cheat]
    assert sorted(exported) == sorted(students)
    read = [str(nbgrader_venv / "bin" / "python"), "-c", READ_GRADEBOOK, NOTEBOOK, ASSIGNMENT, *students]
    scores = json.loads(_run(read, course, env).stdout)

    graded = [str(course / "submitted" / s / ASSIGNMENT / f"{NOTEBOOK}.ipynb") for s in students]
    grade = [sys.executable, "-m", "fido_lib.course", "--root", str(ROOT), "grade", "--jobs", str(min(2, max_jobs())),
             "--timeout", "600", *graded]
    done = subprocess.run(grade, cwd=course, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    ours = {(Path(r["submission"]).parents[1].name, r["grade_id"]): r for r in rows}
    graded_ids = [nbgrader(c)["grade_id"] for c in full.cells if nbgrader(c).get("grade")]
    totals = {}
    for s in students:
        assert sorted(scores[s]) == sorted(graded_ids)
        for grade_id in graded_ids:
            auto, max_score = scores[s][grade_id]
            row = ours[(s, grade_id)]
            assert float(row["max_points"]) == max_score, (s, grade_id)
            if auto is None:  # a written answer: nbgrader leaves it to a person, as the package does
                assert row["status"] == "by hand", (s, grade_id, row)
            else:
                assert float(row["points"]) == auto, (s, grade_id, auto, row)
        totals[s] = sum(float(ours[(s, g)]["points"]) for g in graded_ids)
    assert totals[perfect] > totals[cheat] > totals[blank] == 0, totals  # the three differ, as they should
    assert all(float(exported[s]["raw_score"]) == totals[s] for s in students), (exported, totals)
    assert {name for name in made_by_nbgrader if (ROOT / name).exists()} == before  # nothing in the repository
