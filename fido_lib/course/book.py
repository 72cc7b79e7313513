"""The course book: every notebook with its stored outputs, as a static site, in two editions.

    python -m fido_lib.course.book [--edition student|instructor|all] [--out build/book] [--check-only]

Sphinx + MyST-NB render the pages in ``book/`` and the notebooks that
``notebooks/NN_*.ipynb`` holds at build time (never executed: their stored outputs are
shown), with MathJax served from the site itself, so the build and the pages need no
network. Two editions come from the same sources:

* **student**: each notebook as ``assignments/`` gives it (``student_notebook``: solution
  regions and hidden tests cut), but with the stored outputs of every cell that is not
  an exercise cell; answer cells are shown as tasks; the instructor's pages are left out;
* **instructor**: the full notebooks, every solution folded (a click shows it), and the
  instructor's guide.

In both, the launch badges (remote images) and the Colab install cell are removed, and
widget outputs (which would need a widget manager from a CDN) are replaced by a note.
Each edition is staged into ``OUT/EDITION/src`` and built into ``OUT/EDITION/html``;
then every page is checked (``check_site``): every internal link and image resolves,
nothing is loaded from another host, and the student edition holds no line of a
solution or hidden test.
"""
from __future__ import annotations

import argparse
import copy
import html.parser
import importlib
import os
import pkgutil
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat

from ._files import (
    ASSIGNMENT_DIR,
    BADGES_ROLE,
    INSTALL_ROLE,
    NOTEBOOK_DIR,
    STUDENT_NOTE_ROLE,
    notebooks,
    read_notebook,
    role,
)
from .assignments import (
    BEGIN_HIDDEN,
    BEGIN_SOLUTION,
    END_HIDDEN,
    END_SOLUTION,
    is_test_cell,
    nbgrader,
    student_notebook,
    validate_exercises,
)
from .repository import Repository, read_repository

__all__ = [
    "BOOK_DIR",
    "EDITIONS",
    "book_notebook",
    "build_edition",
    "check_site",
    "edition_text",
    "main",
    "solution_lines",
    "stage_edition",
]

BOOK_DIR = "book"
FIGURE_DIR = "figures"
EDITIONS = ("student", "instructor")
#: Page text only one edition shows sits between these comment lines (markers included).
ONLY_MARKERS = {edition: (f"<!-- {edition} only -->", f"<!-- end {edition} only -->") for edition in EDITIONS}
#: Files in book/ that configure the build and are not pages.
_NOT_PAGES = {"conf.py", "_ext", "_static", "__pycache__"}
_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
_PROGRESS_BAR = re.compile(r"\d+%\|")  # tqdm's text fallback: "FIDO both:  0%|    | 0/40"
_NBVAL_LINE = re.compile(r"^\s*# NBVAL_[A-Z_]+\s*$")  # test markers: nothing a reader needs
LIBRARY_PACKAGE = "fido_lib"
API_DIR = "library/api"
WIDGET_NOTE = ("*An interactive widget: it runs when you open this notebook in JupyterLab, Binder or Colab. "
               "The page shows the code; the plain calls beside it do the same.*")
TASK_TAGS = ("exercise-task", "exercise-check", "exercise-solution")


def _check_edition(edition) -> str:
    if not isinstance(edition, str):
        raise TypeError(f"edition must be a str, got {type(edition).__name__} {edition!r}")
    if edition not in EDITIONS:
        raise ValueError(f"edition must be one of {', '.join(EDITIONS)}, got {edition!r}")
    return edition


def edition_text(text: str, edition: str) -> str:
    """``text`` with the blocks only the *other* edition shows cut out (their markers too).

    A block is ``<!-- student only -->`` … ``<!-- end student only -->`` (or instructor);
    the markers of this edition's own blocks are dropped and their text kept.
    """
    _check_edition(edition)
    for name, (begin, end) in ONLY_MARKERS.items():
        pattern = re.compile(rf"^[ \t]*{re.escape(begin)}[ \t]*\n(.*?)^[ \t]*{re.escape(end)}[ \t]*\n?",
                             re.DOTALL | re.MULTILINE)
        text = pattern.sub("" if name != edition else r"\1", text)
        for marker in (begin, end):
            if marker in text:
                raise ValueError(f"unmatched {marker!r}: each block needs both markers, each on a line of its own")
    return text


def _strip_markers(source: str, *markers: str) -> str:
    return "\n".join(line for line in source.splitlines() if line.strip() not in markers).strip("\n")


def _tag(cell, *tags: str) -> None:
    existing = cell.metadata.setdefault("tags", [])
    existing.extend(t for t in tags if t not in existing)


def _admonition(title: str, classes: str, body: str) -> str:
    # a fence longer than any colon run in the body, so the body cannot close it early
    longest = max((len(m) for m in re.findall(r"^:{3,}", body, flags=re.MULTILINE)), default=0)
    fence = ":" * max(3, longest + 1)
    return f"{fence}{{admonition}} {title}\n:class: {classes}\n{body}\n{fence}"


def _replace_widget_outputs(cell) -> None:
    """Widget views need a widget manager from a CDN: drop progress bars, note the others."""
    outputs = []
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        if _WIDGET_VIEW not in data:
            outputs.append(output)
            continue
        if _PROGRESS_BAR.search(str(data.get("text/plain", ""))):
            continue
        outputs.append(nbformat.v4.new_output("display_data", data={"text/markdown": WIDGET_NOTE}))
    cell.outputs = outputs


def _launch_note(repo: Repository | None, path: str) -> str:
    where = f"`{path}`"
    if repo is None:
        return f"This page shows {where} with its stored outputs. Run it yourself with `make lab` in a clone."
    return (f"This page shows {where} with its stored outputs. Run it yourself: "
            f"[on Binder]({repo.binder_url(path)}) · [on Colab]({repo.colab_url(path)}) · "
            "`make lab` in a clone.")


def book_notebook(nb, source_path: str, edition: str, repo: Repository | None = None):
    """The notebook as the book's ``edition`` shows it (a new object; ``nb`` is not changed).

    ``source_path`` is the full notebook's repository path (``notebooks/NN_*.ipynb``).
    """
    _check_edition(edition)
    name = Path(source_path).name
    validate_exercises(nb, name)
    if any("id" not in cell for cell in nb.cells):
        raise ValueError(f"{name}: every cell needs an id (nbformat 4.5); re-save the notebook with nbformat")
    if edition == "student":
        shown_path = f"{ASSIGNMENT_DIR}/{name}"
        book = student_notebook(nb, shown_path, source_path)
        stored = {cell.id: cell for cell in nb.cells}
        for cell in book.cells:
            original = stored.get(cell.get("id"))
            meta = nbgrader(cell)
            if cell.cell_type == "code" and original is not None and not meta:
                cell.outputs = copy.deepcopy(original.outputs)  # outputs of the lesson, not of an exercise
                cell.execution_count = original.execution_count
            if meta.get("solution") and cell.cell_type == "code":
                _tag(cell, "exercise-task")
            elif meta.get("solution"):  # a written answer: shown as the task it is
                cell.source = _admonition("Your answer", "exercise-task",
                                          "Write your answer in this cell when you run the notebook.")
            elif is_test_cell(cell):
                _tag(cell, "exercise-check")
    else:
        shown_path = source_path
        book = copy.deepcopy(nb)
        for cell in book.cells:
            meta = nbgrader(cell)
            if meta.get("solution") and cell.cell_type == "code":
                _tag(cell, "exercise-solution", "hide-input")  # folded: "Show code cell source"
            elif meta.get("solution"):
                body = _strip_markers(cell.source, BEGIN_SOLUTION, END_SOLUTION)
                cell.source = _admonition("Model answer", "dropdown exercise-solution", body)
            elif is_test_cell(cell):
                _tag(cell, "exercise-check")
    book.metadata.pop("widgets", None)
    book.cells = [cell for cell in book.cells
                  if role(cell) not in (BADGES_ROLE, INSTALL_ROLE, STUDENT_NOTE_ROLE)]
    for cell in book.cells:
        if cell.cell_type == "code":
            _replace_widget_outputs(cell)
            cell.source = "\n".join(line for line in cell.source.splitlines() if not _NBVAL_LINE.match(line))
    title = next((i for i, cell in enumerate(book.cells)
                  if cell.cell_type == "markdown" and cell.source.lstrip().startswith("# ")), None)
    note = nbformat.v4.new_markdown_cell(_launch_note(repo, shown_path), id="book-launch-note")
    book.cells.insert(0 if title is None else title + 1, note)
    return book


def solution_lines(nb, min_length: int = 16) -> list[str]:
    """Distinctive lines of a full notebook's solutions and hidden tests: the student edition must hold none.

    A line counts when it is at least ``min_length`` characters long (stripped) and
    appears in no cell of the student notebook (so a line a solution shares with the
    lesson does not count).
    """
    student_text = "\n".join(cell.source for cell in student_notebook(nb, "x.ipynb", "x.ipynb").cells)
    found = []
    for cell in nb.cells:
        lines = cell.source.splitlines()
        for begin, end in ((BEGIN_SOLUTION, END_SOLUTION), (BEGIN_HIDDEN, END_HIDDEN)):
            inside = False
            for line in lines:
                marker = line.strip()
                if marker == begin:
                    inside = True
                elif marker == end:
                    inside = False
                elif inside and len(marker) >= min_length and marker not in student_text:
                    found.append(marker)
        if nbgrader(cell).get("solution") and not any(line.strip() == BEGIN_SOLUTION for line in lines):
            found += [line.strip() for line in lines  # a solution cell without markers is replaced whole
                      if len(line.strip()) >= min_length and line.strip() not in student_text]
    return list(dict.fromkeys(found))


def _copy_pages(book_dir: Path, src: Path, edition: str) -> None:
    for path in sorted(book_dir.rglob("*")):
        rel = path.relative_to(book_dir)
        if rel.parts[0] in _NOT_PAGES or path.is_dir() or "__pycache__" in rel.parts:
            continue
        if edition == "student" and rel.parts[0] == "instructor":
            continue  # answers, rubrics, the grading manual: never in the student edition
        target = src / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".md":
            target.write_text(edition_text(path.read_text(encoding="utf-8"), edition), encoding="utf-8")
        else:
            shutil.copy2(path, target)


def library_modules() -> list[str]:
    """Every public module of the library (no part of its dotted name starts with '_'), sorted."""
    package = importlib.import_module(LIBRARY_PACKAGE)
    names = [info.name for info in pkgutil.walk_packages(package.__path__, f"{LIBRARY_PACKAGE}.")]
    return sorted(name for name in names if not any(part.startswith("_") for part in name.split(".")))


def _write_api_pages(src: Path) -> None:
    """One reference page per public module, from its docstrings (autodoc).

    Each page documents what its module defines (``:ignore-module-all:``), so a function a
    package re-exports appears once, under the module that defines it.
    """
    folder = src / API_DIR
    folder.mkdir(parents=True, exist_ok=True)
    for name in library_modules():
        page = f"# `{name}`\n\n```{{eval-rst}}\n.. automodule:: {name}\n   :members:\n   :ignore-module-all:\n```\n"
        (folder / f"{name}.md").write_text(page, encoding="utf-8")


def stage_edition(root, edition: str, stage: Path, *, api: bool = True) -> list[Path]:
    """Write one edition's sources into ``stage``: ``stage/src`` (pages, notebooks) and ``stage/figures``.

    Pages refer to figures as ``../figures/NAME.png``, as they do in the repository.
    Returns the staged notebooks. ``stage`` is emptied first. ``api=False`` leaves out
    the library reference pages (a quicker build, for tests).
    """
    _check_edition(edition)
    root, stage = Path(root), Path(stage)
    book_dir = root / BOOK_DIR
    if not (book_dir / "conf.py").is_file():
        raise FileNotFoundError(f"{book_dir / 'conf.py'} not found: run from the repository root")
    sources = notebooks(root, NOTEBOOK_DIR)
    if not sources:
        raise FileNotFoundError(f"no notebooks {NOTEBOOK_DIR}/NN_*.ipynb under {root}")
    try:
        repo = read_repository(root)
    except FileNotFoundError:
        repo = None
    books = [(source, book_notebook(read_notebook(source), source.relative_to(root).as_posix(), edition, repo))
             for source in sources]  # every notebook converted before anything is written
    if stage.exists():
        shutil.rmtree(stage)
    src = stage / "src"
    _copy_pages(book_dir, src, edition)
    if api:
        _write_api_pages(src)
    staged = []
    for source, nb in books:
        target = src / NOTEBOOK_DIR / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)
        staged.append(target)
    shutil.copytree(root / FIGURE_DIR, stage / FIGURE_DIR, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return staged


def build_edition(root, edition: str, out, *, quiet: bool = True, api: bool = True) -> Path:
    """Stage and build one edition with Sphinx into ``out/EDITION/html``; the folder built.

    Sphinx runs with ``-W``: a warning (a broken cross-reference, a missing image, a
    docstring that does not parse) fails the build.
    """
    root, out = Path(root).resolve(), Path(out).resolve()
    stage = out / edition
    stage_edition(root, edition, stage, api=api)
    html_dir = stage / "html"
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-c", str(root / BOOK_DIR), "-t", edition,
               "-W", "--keep-going", "-d", str(stage / "doctrees"), str(stage / "src"), str(html_dir)]
    if quiet:
        command.insert(3, "-q")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])))
    result = subprocess.run(command, cwd=root, env=env)
    if result.returncode:
        raise RuntimeError(f"sphinx-build failed for the {edition} edition (exit {result.returncode}); see above")
    return html_dir


class _PageParser(html.parser.HTMLParser):
    """Links, resources, ids and visible text of one HTML page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links, self.resources, self.ids, self.text = [], [], set(), []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("name"):
            self.ids.add(attrs["name"])
        if tag == "a" and attrs.get("href") is not None:
            self.links.append(attrs["href"])
        for key in ("src", "data-src"):
            if attrs.get(key):
                self.resources.append(attrs[key])
        if tag == "link" and attrs.get("href") and attrs.get("rel") not in ("canonical",):
            self.resources.append(attrs["href"])
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def _parse(page: Path) -> _PageParser:
    parser = _PageParser()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def check_site(html_dir, edition: str, forbidden_lines=()) -> list[str]:
    """Problems with a built edition, one line each (empty: none).

    Every ``href`` and ``src`` of every page that points inside the site must name a
    file that exists (and, with ``#anchor``, an id on that page); nothing may load from
    another host (links to other sites are fine); the student edition must contain none
    of ``forbidden_lines`` (``solution_lines`` of every notebook).
    """
    _check_edition(edition)
    html_dir = Path(html_dir)
    # _static/ holds the themes' template fragments (Jinja, not pages)
    pages = sorted(p for p in html_dir.rglob("*.html") if p.relative_to(html_dir).parts[0] != "_static")
    if not pages:
        return [f"{html_dir}: no HTML pages (was the book built?)"]
    parsed = {page: _parse(page) for page in pages}
    problems = []
    forbidden = [line for line in forbidden_lines if line]
    for page, parser in parsed.items():
        rel = page.relative_to(html_dir).as_posix()
        for kind, targets in (("link", parser.links), ("resource", parser.resources)):
            for target in targets:
                parts = urlsplit(target)
                if parts.scheme in ("http", "https") or target.startswith("//"):
                    if kind == "resource":
                        problems.append(f"{rel}: loads {target} from another host")
                    continue
                if parts.scheme:  # mailto:, javascript:, data:
                    continue
                path = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
                if path.is_dir():
                    path = path / "index.html"
                if not path.is_file():
                    problems.append(f"{rel}: {kind} {target} -> no such file")
                    continue
                if parts.fragment and path.suffix == ".html":
                    ids = parsed[path].ids if path in parsed else _parse(path).ids
                    if unquote(parts.fragment) not in ids:
                        problems.append(f"{rel}: link {target} -> no id {parts.fragment!r} there")
        if edition == "student" and forbidden:
            text = " ".join("".join(parser.text).split())
            for line in forbidden:
                if " ".join(line.split()) in text:
                    problems.append(f"{rel}: shows solution text {line!r}")
    if edition == "student":
        sources = html_dir / "_sources"
        for path in sorted(sources.rglob("*")) if sources.is_dir() else []:
            if path.is_file():
                text = path.read_text(encoding="utf-8", errors="replace")
                problems += [f"_sources/{path.relative_to(sources).as_posix()}: holds solution text {line!r}"
                             for line in forbidden if line in text]
        problems += [f"{page.relative_to(html_dir).as_posix()}: the instructor's pages are in the student edition"
                     for page in pages if page.relative_to(html_dir).parts[0] == "instructor"]
    return problems


def forbidden_lines(root) -> list[str]:
    """``solution_lines`` of every full notebook under ``root``."""
    lines = []
    for source in notebooks(root, NOTEBOOK_DIR):
        lines += solution_lines(read_notebook(source))
    return list(dict.fromkeys(lines))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fido_lib.course.book", description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=".", help="repository root (default: the current directory)")
    parser.add_argument("--edition", choices=[*EDITIONS, "all"], default="all")
    parser.add_argument("--out", default="build/book", help="output folder (default: build/book)")
    parser.add_argument("--check-only", action="store_true", help="check an existing build, do not build")
    args = parser.parse_args(argv)
    root = Path(args.root)
    editions = EDITIONS if args.edition == "all" else (args.edition,)
    try:
        forbidden = forbidden_lines(root)
        failed = False
        for edition in editions:
            html_dir = Path(args.out).resolve() / edition / "html"
            if not args.check_only:
                start = time.perf_counter()
                html_dir = build_edition(root, edition, args.out)
                print(f"built the {edition} edition in {time.perf_counter() - start:.0f} s: {html_dir}")
            problems = check_site(html_dir, edition, forbidden)
            pages = sum(1 for p in html_dir.rglob("*.html") if p.relative_to(html_dir).parts[0] != "_static")
            for problem in problems:
                print(f"{edition}: {problem}", file=sys.stderr)
            print(f"checked the {edition} edition: {pages} pages, {len(problems)} problems")
            failed = failed or bool(problems)
    except (ValueError, TypeError, FileNotFoundError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
