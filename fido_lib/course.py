"""Course tooling: launch badges, the Colab install cell, forks and student notebooks.

The repository a course runs from is written in one place, ``course.toml`` at the
repository root. Everything that names it is generated from there:

* a Binder and an "Open in Colab" badge at the top of every notebook and in the README;
* the first code cell of every notebook, which on Google Colab (only) installs this
  package from that repository without touching Colab's own torch;
* the student notebooks in ``assignments/``: each full notebook in ``notebooks/``
  with its exercises' solutions cut out, following nbgrader's conventions
  (``### BEGIN SOLUTION`` / ``### END SOLUTION``, ``### BEGIN HIDDEN TESTS`` /
  ``### END HIDDEN TESTS``, ``nbgrader`` cell metadata), so an instructor can also
  feed the full notebooks to nbgrader itself.

From the repository root::

    python -m fido_lib.course set-repo OWNER/NAME --branch main   # a fork: rewrite everything
    python -m fido_lib.course launch                              # add/refresh badges and install cells
    python -m fido_lib.course assignments [--check]               # (re)generate assignments/
    python -m fido_lib.course grade submissions/alice/03_*.ipynb    # score test cells, no nbgrader needed
    python -m fido_lib.course show                                # print the configured repository

Every rewrite is idempotent: running a command twice changes nothing the second time.
"""
from __future__ import annotations

import argparse
import copy
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

import nbformat

__all__ = [
    "ASSIGNMENT_DIR",
    "CONFIG_FILE",
    "NOTEBOOK_DIR",
    "LaunchLink",
    "Repository",
    "add_launch_cells",
    "badge_source",
    "Grade",
    "generate_assignments",
    "grade_notebook",
    "install_source",
    "launch_links",
    "main",
    "nbgrader_metadata",
    "read_repository",
    "rewrite_launch_urls",
    "set_repository",
    "student_notebook",
    "update_readme",
    "write_repository",
]

CONFIG_FILE = "course.toml"
NOTEBOOK_DIR = "notebooks"
ASSIGNMENT_DIR = "assignments"
#: Key of this module's own cell metadata: ``{"fido_lib": {"role": ...}}``.
META_KEY = "fido_lib"
BADGES_ROLE, INSTALL_ROLE, STUDENT_NOTE_ROLE = "launch-badges", "colab-install", "student-note"

BINDER_BADGE = "https://mybinder.org/badge_logo.svg"
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"

# GitHub owner and repository names; branches without "/" (Binder and Colab URLs
# would need it escaped differently) and without characters a shell or URL treats specially.
_SLUG_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
_BRANCH_RE = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
_BINDER_RE = re.compile(
    r"https://mybinder\.org/v2/gh/(?P<slug>[^/\s]+/[^/\s]+)/(?P<branch>[^?\s)#/\"']+)"
    r"(?:\?labpath=(?P<path>[^\s)#&\"']+))?")
_COLAB_RE = re.compile(
    r"https://colab\.research\.google\.com/github/(?P<slug>[^/\s]+/[^/\s]+)/blob/"
    r"(?P<branch>[^/\s]+)/(?P<path>[^\s)#?\"']+)")
_PIP_URL_RE = re.compile(r"git\+https://github\.com/(?P<slug>[^/\s@]+/[^/\s@]+)@(?P<branch>[^\s\"']+)")

# Packages Google Colab ships: the install cell leaves them as they are (torch above
# all: replacing Colab's CUDA build would pull gigabytes and break its runtime).
# jupyterlab is listed because Colab brings its own notebook front end.
COLAB_PROVIDES = {
    "torch", "torchvision", "numpy", "sympy", "matplotlib", "ipywidgets", "ipykernel",
    "pillow", "jupyterlab", "scipy", "scikit-image", "pandas", "tqdm", "requests",
}


# ---------------------------------------------------------------- the repository
@dataclass(frozen=True)
class Repository:
    """A GitHub repository ``slug`` ("owner/name") and ``branch`` the course runs from."""

    slug: str
    branch: str = "main"

    def __post_init__(self):
        if not isinstance(self.slug, str) or not _SLUG_RE.match(self.slug):
            raise ValueError(f"repository must look like 'owner/name' (GitHub names: letters, digits, "
                             f"'-', '.', '_'), got {self.slug!r}")
        if not isinstance(self.branch, str) or not _BRANCH_RE.match(self.branch):
            raise ValueError(f"branch must be a branch name of letters, digits, '.', '_' or '-' "
                             f"(no '/'), got {self.branch!r}")

    def binder_url(self, path: str) -> str:
        """Binder, opening ``path`` in JupyterLab (``labpath``)."""
        return f"https://mybinder.org/v2/gh/{self.slug}/{self.branch}?labpath={quote(path, safe='')}"

    def colab_url(self, path: str) -> str:
        return f"https://colab.research.google.com/github/{self.slug}/blob/{self.branch}/{quote(path)}"

    @property
    def pip_requirement(self) -> str:
        return f"fido_lib @ git+https://github.com/{self.slug}@{self.branch}"


def read_repository(root) -> Repository:
    """The repository named in ``root/course.toml``."""
    path = Path(root) / CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run this from the repository root (where {CONFIG_FILE} is)")
    text = path.read_text(encoding="utf-8")
    values = {}
    for key in ("repository", "branch"):
        match = re.search(rf'^\s*{key}\s*=\s*"([^"]*)"', text, re.MULTILINE)
        if not match:
            raise ValueError(f'{path} has no line `{key} = "..."`')
        values[key] = match.group(1)
    return Repository(values["repository"], values["branch"])


def write_repository(root, repo: Repository) -> bool:
    """Rewrite the two values in ``root/course.toml`` (comments kept); True if it changed."""
    path = Path(root) / CONFIG_FILE
    text = path.read_text(encoding="utf-8")
    new = re.sub(r'^(\s*repository\s*=\s*)"[^"]*"', lambda m: f'{m.group(1)}"{repo.slug}"', text, flags=re.MULTILINE)
    new = re.sub(r'^(\s*branch\s*=\s*)"[^"]*"', lambda m: f'{m.group(1)}"{repo.branch}"', new, flags=re.MULTILINE)
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text


# ---------------------------------------------------------------- badges and links
def badge_source(repo: Repository, path: str) -> str:
    """Markdown for the Binder and Colab badges of the notebook at repository path ``path``."""
    return (f"[![Open in Binder]({BINDER_BADGE})]({repo.binder_url(path)}) "
            f"[![Open in Colab]({COLAB_BADGE})]({repo.colab_url(path)})")


@dataclass(frozen=True)
class LaunchLink:
    """One Binder or Colab link found in a text: which service, repository, branch and path."""

    service: str
    slug: str
    branch: str
    path: str | None


def launch_links(text: str) -> list[LaunchLink]:
    """Every Binder (``/v2/gh/...``) and Colab (``/github/...``) link in ``text``, in order."""
    found = []
    for service, pattern in (("binder", _BINDER_RE), ("colab", _COLAB_RE)):
        for m in pattern.finditer(text):
            path = m.group("path")
            found.append((m.start(), LaunchLink(service, m.group("slug"), m.group("branch"),
                                                unquote(path) if path else None)))
    return [link for _, link in sorted(found, key=lambda item: item[0])]


def rewrite_launch_urls(text: str, repo: Repository) -> str:
    """``text`` with every Binder, Colab and pip-from-GitHub link pointing at ``repo``."""
    text = _BINDER_RE.sub(lambda m: f"https://mybinder.org/v2/gh/{repo.slug}/{repo.branch}"
                          + (f"?labpath={m.group('path')}" if m.group("path") else ""), text)
    text = _COLAB_RE.sub(lambda m: f"https://colab.research.google.com/github/{repo.slug}/blob/"
                         f"{repo.branch}/{m.group('path')}", text)
    return _PIP_URL_RE.sub(f"git+https://github.com/{repo.slug}@{repo.branch}", text)


def _requirement_name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;@]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _colab_missing_requirements(root) -> list[str]:
    """The package's runtime requirements that Colab does not ship, from pyproject.toml."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    project = tomllib.loads((Path(root) / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [r for r in project["dependencies"] if _requirement_name(r) not in COLAB_PROVIDES]


def install_source(repo: Repository, extra_requirements) -> str:
    """Source of the Colab install cell: silent off Colab; on Colab, torch stays as it is.

    ``fido_lib`` itself goes in with ``--no-deps`` (its ``torch>=2.1`` and
    ``jupyterlab`` would otherwise be resolved again), then only
    ``extra_requirements`` (what Colab lacks) — all under a constraint pinning
    torch to the installed version, so pip fails loudly rather than replace it.
    ``--no-warn-conflicts``: Colab lacks jupyterlab (it has its own front end), which
    pip would otherwise report as a missing requirement of fido_lib after every install.
    """
    extras = ", ".join(f'"{r}"' for r in extra_requirements)
    return "\n".join([
        "# On Google Colab only: install fido_lib from the course repository, keeping Colab's torch.",
        "# Anywhere else (make lab, Binder) fido_lib is installed already and this cell does nothing.",
        "import sys",
        "",
        'if "google.colab" in sys.modules:',
        "    import subprocess",
        "    import tempfile",
        "    from importlib.metadata import version",
        "",
        '    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as keep:',
        '        keep.write(f"torch=={version(\'torch\')}\\n")  # constraint: never replace torch',
        '    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-warn-conflicts", "--constraint", keep.name]',
        f'    subprocess.run(pip + ["--no-deps", "{repo.pip_requirement}"], check=True)',
        f"    subprocess.run(pip + [{extras}], check=True)" if extras else "    pass",
        "    from google.colab import output",
        "",
        "    output.enable_custom_widget_manager()  # lets Colab's front end draw ipywidgets 8 controls",
    ])


def _role(cell) -> str | None:
    meta = cell.get("metadata", {}).get(META_KEY)
    return meta.get("role") if isinstance(meta, dict) else None


def _find_role(nb, role: str) -> int | None:
    for i, cell in enumerate(nb.cells):
        if _role(cell) == role:
            return i
    return None


def _move(cells: list, old: int, new: int) -> None:
    cells.insert(new, cells.pop(old))


def add_launch_cells(nb, repo: Repository, path: str, extra_requirements=()) -> bool:
    """Put the badge cell first and the Colab install cell before every other code cell.

    Inserts them when missing, moves them into place and refreshes their source
    when present; a refreshed cell keeps its execution count and outputs, so a fork
    does not need the notebooks re-executed. Every other markdown cell gets its
    launch links rewritten. Returns True when ``nb`` changed; a second call returns False.
    """
    before = nbformat.writes(nb)
    cells = nb.cells
    badges = badge_source(repo, path)
    i = _find_role(nb, BADGES_ROLE)
    if i is None:
        cell = nbformat.v4.new_markdown_cell(badges, id=BADGES_ROLE)
        cell.metadata[META_KEY] = {"role": BADGES_ROLE}
        cells.insert(0, cell)
    else:
        cells[i].source = badges
        if i != 0:
            _move(cells, i, 0)
    install = install_source(repo, extra_requirements)
    i = _find_role(nb, INSTALL_ROLE)
    first_code = next((k for k, c in enumerate(cells) if c.cell_type == "code" and _role(c) != INSTALL_ROLE), len(cells))
    if i is None:
        cell = nbformat.v4.new_code_cell(install, id=INSTALL_ROLE)
        cell.metadata[META_KEY] = {"role": INSTALL_ROLE}
        cells.insert(first_code, cell)
    else:
        cells[i].source = install
        if i > first_code:
            _move(cells, i, first_code)
    for cell in cells:
        if cell.cell_type == "markdown" and _role(cell) != BADGES_ROLE:
            cell.source = rewrite_launch_urls(cell.source, repo)
    return nbformat.writes(nb) != before


def update_readme(text: str, repo: Repository, first_notebook: str | None) -> str:
    """README text with its launch links pointing at ``repo`` and its badge block filled.

    The block sits between ``<!-- badges -->`` and ``<!-- end badges -->`` (the end
    marker is added when missing) and holds the badges of ``first_notebook``, where
    a reader starts; with no notebook it holds a Binder badge to the repository.
    """
    text = rewrite_launch_urls(text, repo)
    start = "<!-- badges -->"
    if start not in text:
        return text
    if first_notebook:
        block = badge_source(repo, first_notebook)
    else:
        block = f"[![Open in Binder]({BINDER_BADGE})](https://mybinder.org/v2/gh/{repo.slug}/{repo.branch})"
    end = "<!-- end badges -->"
    head, rest = text.split(start, 1)
    tail = rest.split(end, 1)[1] if end in rest else rest
    return f"{head}{start}\n{block}\n{end}{tail}"


# ---------------------------------------------------------------- files in a repository
def _notebooks(root, folder: str) -> list[Path]:
    return sorted((Path(root) / folder).glob("[0-9][0-9]_*.ipynb"))


def _read(path: Path):
    return nbformat.read(path, as_version=4)


def _write_if_changed(path: Path, nb) -> bool:
    text = nbformat.writes(nb)
    if not text.endswith("\n"):
        text += "\n"
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


def refresh_launch(root, repo: Repository | None = None, readme: bool = True) -> list[Path]:
    """Badges and install cells in every ``notebooks/NN_*.ipynb`` (and README); the files changed."""
    root = Path(root)
    repo = repo or read_repository(root)
    extra = _colab_missing_requirements(root)
    changed = []
    for path in _notebooks(root, NOTEBOOK_DIR):
        nb = _read(path)
        if add_launch_cells(nb, repo, path.relative_to(root).as_posix(), extra) and _write_if_changed(path, nb):
            changed.append(path)
    readme_path = root / "README.md"
    if readme and readme_path.is_file():
        notebooks = _notebooks(root, NOTEBOOK_DIR)
        first = notebooks[0].relative_to(root).as_posix() if notebooks else None
        text = readme_path.read_text(encoding="utf-8")
        new = update_readme(text, repo, first)
        if new != text:
            readme_path.write_text(new, encoding="utf-8")
            changed.append(readme_path)
    return changed


def set_repository(root, slug: str, branch: str = "main") -> list[Path]:
    """Point the whole course at ``slug``/``branch``: course.toml, notebooks, README, assignments.

    Returns the files that changed; run twice, the second call returns ``[]``.
    """
    root = Path(root)
    repo = Repository(slug, branch)  # validates before anything is written
    changed = [root / CONFIG_FILE] if write_repository(root, repo) else []
    changed += refresh_launch(root, repo)
    changed += [p for p, status in generate_assignments(root).items() if status in ("written", "removed")]
    return changed


# ---------------------------------------------------------------- exercises (nbgrader)
BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
CODE_STUB = ["# YOUR CODE HERE", "raise NotImplementedError()"]
TEXT_STUB = ["YOUR ANSWER HERE"]
_GRADE_ID_RE = re.compile(r"^[A-Za-z0-9_-]+$")


def nbgrader_metadata(grade_id: str, *, solution=False, grade=False, points=0, locked=None, task=False) -> dict:
    """nbgrader's cell metadata (schema 3) for an exercise cell.

    An answer cell: ``solution=True``. A test cell: ``grade=True, points=n`` (locked).
    A cell both is graded and holds a solution: an answer graded by hand.
    """
    if not isinstance(grade_id, str) or not _GRADE_ID_RE.match(grade_id):
        raise ValueError(f"grade_id must be letters, digits, '-' or '_', got {grade_id!r}")
    if isinstance(points, bool) or not isinstance(points, (int, float)) or points < 0:
        raise ValueError(f"points must be a number >= 0, got {points!r}")
    if locked is None:
        locked = not solution
    meta = {"grade": bool(grade), "grade_id": grade_id, "locked": bool(locked),
            "schema_version": 3, "solution": bool(solution), "task": bool(task)}
    if grade or task:
        meta["points"] = points
    return meta


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


def _validate_exercises(nb, name: str) -> list[int]:
    """Indices of nbgrader cells; raises ValueError on malformed markers or metadata."""
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
        if not isinstance(meta, dict) or not _GRADE_ID_RE.match(str(meta.get("grade_id", ""))):
            raise ValueError(f"{where}: nbgrader metadata needs a grade_id of letters, digits, '-' or '_'")
        grade_id = meta["grade_id"]
        if grade_id in seen:
            raise ValueError(f"{where}: grade_id {grade_id!r} already used by cell {seen[grade_id]}")
        seen[grade_id] = i
        if has_solution and not meta.get("solution"):
            raise ValueError(f"{where} ({grade_id}) has '{BEGIN_SOLUTION}' but nbgrader solution is not true")
        if has_hidden and not (meta.get("grade") and not meta.get("solution")):
            raise ValueError(f"{where} ({grade_id}) has hidden tests but is not a test cell (grade true, solution false)")
        if meta.get("grade") and not isinstance(meta.get("points"), (int, float)):
            raise ValueError(f"{where} ({grade_id}) is graded but has no points")
        cells.append(i)
    return cells


def student_note_source(source_path: str) -> str:
    return (f"**Student version** of `{source_path}`, generated by `make assignments`. "
            "Fill in every cell marked `# YOUR CODE HERE` (or *YOUR ANSWER HERE*), then run "
            "the check cell below it: it says what differs, where and by how much.")


def student_notebook(nb, path: str, source_path: str):
    """The student version of a full notebook: solutions and hidden tests cut, outputs cleared.

    ``path`` is where the student notebook lives (its badges point there) and
    ``source_path`` the full notebook it comes from. Solution regions become
    ``# YOUR CODE HERE`` / ``raise NotImplementedError()`` (code) or *YOUR ANSWER
    HERE* (markdown); a solution cell without markers is replaced whole, as nbgrader
    does. nbgrader metadata is kept; locked cells become read-only in JupyterLab.
    """
    name = Path(source_path).name
    _validate_exercises(nb, name)
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
        if meta.get("locked"):
            cell.metadata["editable"] = False
            cell.metadata["deletable"] = False
    badges = _find_role(student, BADGES_ROLE)
    if badges is not None:
        repo = _repo_from_badges(student.cells[badges].source)
        if repo is not None:
            student.cells[badges].source = badge_source(repo, path)
    note = nbformat.v4.new_markdown_cell(student_note_source(source_path), id=STUDENT_NOTE_ROLE)
    note.metadata[META_KEY] = {"role": STUDENT_NOTE_ROLE}
    student.cells.insert(0 if badges is None else badges + 1, note)
    return student


def _repo_from_badges(text: str) -> Repository | None:
    links = launch_links(text)
    return Repository(links[0].slug, links[0].branch) if links else None


def has_exercises(nb) -> bool:
    return any(cell.get("metadata", {}).get("nbgrader", {}).get("solution") for cell in nb.cells)


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
    for source in _notebooks(root, NOTEBOOK_DIR):
        nb = _read(source)
        if not has_exercises(nb):
            continue
        target = out_dir / source.name
        wanted.add(target)
        student = student_notebook(nb, target.relative_to(root).as_posix(), source.relative_to(root).as_posix())
        if check:
            text = nbformat.writes(student)
            text += "" if text.endswith("\n") else "\n"
            if not target.is_file():
                status[target] = "missing"
            else:
                status[target] = "ok" if target.read_text(encoding="utf-8") == text else "differs"
        else:
            status[target] = "written" if _write_if_changed(target, student) else "unchanged"
    for old in _notebooks(root, ASSIGNMENT_DIR):
        if old not in wanted:
            if check:
                status[old] = "stale"
            else:
                old.unlink()
                status[old] = "removed"
    return status


# ---------------------------------------------------------------- grading without nbgrader
@dataclass(frozen=True)
class Grade:
    """One graded cell of a submission: ``status`` is "passed", "failed" or "by hand"."""

    grade_id: str
    points: float
    max_points: float
    status: str
    error: str = ""


def grade_notebook(submission, source=None, timeout: int = 600, kernel_name: str = "python3") -> list[Grade]:
    """Run a student's notebook top to bottom and score its test cells, as nbgrader's autograde does.

    With ``source`` (the full notebook), every test cell is first replaced by the
    full notebook's cell of the same ``grade_id``: that restores the hidden tests and
    undoes any edit of a locked cell. A test cell passes when it runs without an
    error; graded markdown answers are left for a person ("by hand").
    """
    from nbclient import NotebookClient

    submission = Path(submission)
    nb = _read(submission)
    _validate_exercises(nb, submission.name)
    if source is not None:
        reference = _read(Path(source))
        tests = {c.metadata["nbgrader"]["grade_id"]: c for c in reference.cells
                 if _is_test_cell(c)}
        for cell in nb.cells:
            if _is_test_cell(cell) and cell.metadata["nbgrader"]["grade_id"] in tests:
                cell.source = tests[cell.metadata["nbgrader"]["grade_id"]].source
    NotebookClient(nb, timeout=timeout, kernel_name=kernel_name, allow_errors=True,
                   resources={"metadata": {"path": str(submission.parent)}}).execute()
    grades = []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader") or {}
        if not meta.get("grade"):
            continue
        max_points = float(meta.get("points", 0))
        if cell.cell_type != "code":
            grades.append(Grade(meta["grade_id"], 0.0, max_points, "by hand"))
            continue
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if errors:
            message = f"{errors[0].get('ename', '')}: {errors[0].get('evalue', '')}".strip()
            grades.append(Grade(meta["grade_id"], 0.0, max_points, "failed", message))
        else:
            grades.append(Grade(meta["grade_id"], max_points, max_points, "passed"))
    return grades


def _is_test_cell(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader") or {}
    return bool(meta.get("grade")) and not meta.get("solution") and cell.cell_type == "code"


# ---------------------------------------------------------------- command line
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fido_lib.course", description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=".", help="repository root (default: the current directory)")
    commands = parser.add_subparsers(dest="command", required=True)
    fork = commands.add_parser("set-repo", help="point badges, install cells and assignments at a repository")
    fork.add_argument("repository", help="GitHub owner/name, e.g. my-uni/fido_lib")
    fork.add_argument("--branch", default="main")
    launch = commands.add_parser("launch", help="add or refresh the badges and Colab install cells")
    launch.add_argument("--no-readme", action="store_true", help="leave README.md alone")
    assignments = commands.add_parser("assignments", help="generate the student notebooks in assignments/")
    assignments.add_argument("--check", action="store_true", help="only check that they are up to date")
    grade = commands.add_parser("grade", help="run submitted notebooks and score their test cells")
    grade.add_argument("submissions", nargs="+", help="students' notebooks, e.g. submissions/alice/03_*.ipynb")
    grade.add_argument("--source", help="the full notebook (default: notebooks/<same name> under --root)")
    commands.add_parser("show", help="print the configured repository")
    args = parser.parse_args(argv)
    root = Path(args.root)
    try:
        if args.command == "show":
            repo = read_repository(root)
            print(f"{repo.slug} (branch {repo.branch})")
            return 0
        if args.command == "grade":
            return _grade_command(root, args.submissions, args.source)
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
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for path in changed:
        print(f"updated  {path.relative_to(root).as_posix()}")
    if not changed:
        print("nothing to change")
    return 0


def _grade_command(root: Path, submissions, source) -> int:
    print("submission,grade_id,points,max_points,status,error")
    for path in map(Path, submissions):
        full = Path(source) if source else root / NOTEBOOK_DIR / path.name
        if not full.is_file():
            print(f"warning: no full notebook {full}; grading {path.name} without its hidden tests", file=sys.stderr)
            full = None
        for g in grade_notebook(path, full):
            error = g.error.replace(",", ";").replace("\n", " ")
            print(f"{path.as_posix()},{g.grade_id},{g.points:g},{g.max_points:g},{g.status},{error}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
