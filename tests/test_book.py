"""The course book (fido_lib.course.book, book/) and the README that points into it.

Behaviour of the editions on the real notebooks (fast: no Sphinx), the site checker on
small hand-made sites, one small real Sphinx build, and the README's promises: at most
1 500 words, run times equal to the syllabus' data file, every relative link and every
`make` target it names existing. The full build of both editions and the browser test are
`make book-test` (CI).
"""
from __future__ import annotations

import copy
import re
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

from fido_lib import course
from fido_lib.course import book, hours

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = course._files.notebooks(ROOT, course.NOTEBOOK_DIR)
README = (ROOT / "README.md").read_text(encoding="utf-8")
README_WORD_LIMIT = 1500


def _nb(stem_prefix: str):
    path = next(p for p in NOTEBOOKS if p.name.startswith(stem_prefix))
    return path, nbformat.read(path, as_version=4)


# ---------------------------------------------------------------- editions of one notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_student_edition_holds_no_solution_line_and_keeps_the_lessons_outputs(path):
    nb = nbformat.read(path, as_version=4)
    before = nbformat.writes(nb)
    shown = book.book_notebook(nb, f"notebooks/{path.name}", "student")
    assert nbformat.writes(nb) == before, "book_notebook changed the caller's notebook"
    text = nbformat.writes(shown)
    lines = book.solution_lines(nb)
    assert lines or not course.has_exercises(nb)
    assert [line for line in lines if line in text] == []
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    original = {cell.id: cell for cell in nb.cells}
    for cell in shown.cells:
        assert course._files.role(cell) not in (course.BADGES_ROLE, course.INSTALL_ROLE)
        assert "mybinder.org/badge_logo.svg" not in cell.source  # remote images cannot load offline
        if cell.cell_type != "code":
            continue
        assert not re.search(r"^\s*# NBVAL_", cell.source, re.MULTILINE)
        for output in cell.outputs:
            assert "application/vnd.jupyter.widget-view+json" not in output.get("data", {})
        if course.assignments.nbgrader(cell):
            assert cell.outputs == [], "an exercise cell shows the outputs of the solution"
        elif cell.id in original and original[cell.id].outputs and not any(
                "application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in original[cell.id].outputs):
            assert cell.outputs, f"cell {cell.id} lost its stored outputs"
    tasks = [c for c in shown.cells if "exercise-task" in c.metadata.get("tags", []) or "exercise-task" in c.source]
    assert len(tasks) == sum(1 for c in nb.cells if course.assignments.nbgrader(c).get("solution"))


def test_instructor_edition_folds_every_solution_and_shows_written_answers_as_dropdowns():
    _, nb = _nb("01_")
    shown = book.book_notebook(nb, "notebooks/01.ipynb", "instructor")
    solutions = [c for c in shown.cells if course.assignments.nbgrader(c).get("solution")]
    assert solutions
    for cell in solutions:
        if cell.cell_type == "code":
            assert {"hide-input", "exercise-solution"} <= set(cell.metadata["tags"])
            assert "BEGIN SOLUTION" in cell.source and cell.outputs == next(
                c for c in nb.cells if c.id == cell.id).outputs
        else:
            assert cell.source.startswith(":::{admonition} Model answer\n:class: dropdown exercise-solution")
            assert "BEGIN SOLUTION" not in cell.source  # a marker line would render as a heading
    assert "T_star ≈ 0.28" in nbformat.writes(shown)


def test_widget_outputs_become_a_note_and_progress_bars_go():
    _, nb = _nb("04_")
    shown = book.book_notebook(nb, "notebooks/04.ipynb", "instructor")
    notes = [o for c in shown.cells if c.cell_type == "code" for o in c.outputs
             if o.get("data", {}).get("text/markdown") == book.WIDGET_NOTE]
    assert len(notes) == 1  # the FidoExplorer; the two tqdm bars are dropped
    assert "widgets" not in shown.metadata


def test_launch_note_links_the_edition_s_own_notebook():
    _, nb = _nb("02_")
    repo = course.read_repository(ROOT)
    student = book.book_notebook(nb, "notebooks/02_symbolic_gradient.ipynb", "student", repo)
    instructor = book.book_notebook(nb, "notebooks/02_symbolic_gradient.ipynb", "instructor", repo)
    note = next(c for c in student.cells if c.get("id") == "book-launch-note").source
    assert repo.colab_url("assignments/02_symbolic_gradient.ipynb") in note
    note = next(c for c in instructor.cells if c.get("id") == "book-launch-note").source
    assert repo.binder_url("notebooks/02_symbolic_gradient.ipynb") in note


def test_bad_edition_and_broken_notebook_are_refused_before_any_work():
    _, nb = _nb("01_")
    with pytest.raises(ValueError, match="edition must be one of student, instructor"):
        book.book_notebook(nb, "notebooks/01.ipynb", "teacher")
    with pytest.raises(TypeError, match="edition must be a str"):
        book.book_notebook(nb, "notebooks/01.ipynb", None)
    no_ids = copy.deepcopy(nb)
    del no_ids.cells[3]["id"]
    with pytest.raises(ValueError, match="every cell needs an id"):
        book.book_notebook(no_ids, "notebooks/01.ipynb", "student")
    unclosed = copy.deepcopy(nb)
    cell = next(c for c in unclosed.cells if course.assignments.nbgrader(c).get("solution"))
    cell.source = "### BEGIN SOLUTION\nx = 1"
    with pytest.raises(ValueError, match="never closed"):
        book.book_notebook(unclosed, "notebooks/01.ipynb", "student")


def test_edition_text_keeps_one_edition_s_blocks_and_refuses_unmatched_markers():
    text = ("a\n<!-- student only -->\nS\n<!-- end student only -->\n"
            "<!-- instructor only -->\nI\n<!-- end instructor only -->\nb\n")
    assert book.edition_text(text, "student") == "a\nS\nb\n"
    assert book.edition_text(text, "instructor") == "a\nI\nb\n"
    with pytest.raises(ValueError, match="unmatched"):
        book.edition_text("<!-- student only -->\nS\n", "instructor")


# ---------------------------------------------------------------- the site checker
def _site(tmp_path, pages: dict[str, str]) -> Path:
    for name, body in pages.items():
        page = tmp_path / name
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(f"<html><body>{body}</body></html>", encoding="utf-8")
    return tmp_path


def test_check_site_finds_broken_links_missing_anchors_remote_resources_and_solutions(tmp_path):
    site = _site(tmp_path, {
        "index.html": '<a href="a.html#here">ok</a> <a href="a.html#gone">x</a> <a href="missing.html">x</a>'
                      ' <a href="https://example.org/">fine: another site</a> <img src="https://example.org/x.png">'
                      ' <a href="sub/">dir</a>',
        "a.html": '<h2 id="here">h</h2><pre><span>jump_theta</span> = <span>-1.386</span></pre>',
        "sub/index.html": '<a href="../index.html">up</a>',
        "instructor/index.html": "answers",
    })
    problems = book.check_site(site, "student", ["jump_theta = -1.386"])
    joined = "\n".join(problems)
    assert "index.html: link a.html#gone -> no id 'gone' there" in joined
    assert "index.html: link missing.html -> no such file" in joined
    assert "loads https://example.org/x.png from another host" in joined
    assert "a.html: shows solution text 'jump_theta = -1.386'" in joined
    assert "instructor/index.html: the instructor's pages are in the student edition" in joined
    assert "a.html#here" not in joined and "example.org/\n" not in joined and "sub/" not in joined
    assert len(problems) == 5
    instructor = book.check_site(site, "instructor", ["jump_theta = -1.386"])
    assert len(instructor) == 3  # solutions and instructor pages are the instructor edition's business


def test_check_site_on_nothing_says_so(tmp_path):
    assert book.check_site(tmp_path, "student") == [f"{tmp_path}: no HTML pages (was the book built?)"]


# ---------------------------------------------------------------- one small real build
def test_a_small_book_builds_offline_and_passes_its_checks(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("myst_nb")
    root = tmp_path / "repo"
    (root / "book").mkdir(parents=True)
    for name in ("conf.py", "course_hours.toml"):
        shutil.copy2(ROOT / "book" / name, root / "book" / name)
    for name in ("_ext", "_static"):
        shutil.copytree(ROOT / "book" / name, root / "book" / name, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "book" / "index.md").write_text(
        "# A small book\n\n$e^{i\\pi} + 1 = 0$\n\n```{toctree}\n:glob:\n\nsyllabus\nnotebooks/*\n```\n"
        "<!-- instructor only -->\nFor instructors.\n<!-- end instructor only -->\n", encoding="utf-8")
    directives = "".join(f"```{{{name}}}\n```\n\n" for name in ("course-goals", "course-hours", "course-exercises"))
    (root / "book" / "syllabus.md").write_text("# Syllabus\n\n" + directives, encoding="utf-8")
    (root / "figures").mkdir()
    shutil.copy2(ROOT / "course.toml", root / "course.toml")
    nb = nbformat.v4.new_notebook()
    solution = nbformat.v4.new_code_cell("### BEGIN SOLUTION\nanswer = 41 + 1  # the distinctive solution line\n"
                                         "### END SOLUTION", id="answer")
    solution.metadata["nbgrader"] = course.nbgrader_metadata("small-answer", solution=True)
    test_cell = nbformat.v4.new_code_cell("assert answer == 42", id="check")
    test_cell.metadata["nbgrader"] = course.nbgrader_metadata("small-check", grade=True, points=1)
    lesson = nbformat.v4.new_code_cell("print(6 * 7)", id="lesson", execution_count=1,
                                       outputs=[nbformat.v4.new_output("stream", name="stdout", text="42\n")])
    nb.cells = [nbformat.v4.new_markdown_cell("# 01 · Small\n\n> **You will learn:** to add.  \n"
                                              "> **Prerequisites:** none.", id="title"),
                lesson, nbformat.v4.new_markdown_cell("## Exercises\n\n### Exercise 1 · Add", id="ex"),
                solution, test_cell]
    (root / "notebooks").mkdir()
    nbformat.write(nb, root / "notebooks" / "01_small.ipynb")
    out = tmp_path / "out"
    for edition in book.EDITIONS:
        html = book.build_edition(root, edition, out, api=False)
        page = (html / "notebooks" / "01_small.html").read_text(encoding="utf-8")
        assert "42" in page and "not measured yet" in (html / "syllabus.html").read_text(encoding="utf-8")
        assert ("the distinctive solution line" in page) == (edition == "instructor")
        assert ("For instructors." in (html / "index.html").read_text(encoding="utf-8")) == (edition == "instructor")
        assert (html / "_static" / "mathjax" / "tex-chtml.js").is_file()  # MathJax from the site itself
        assert "cdn.jsdelivr" not in page and "mathjax@" not in page
        assert book.check_site(html, edition, book.forbidden_lines(root)) == []


# ---------------------------------------------------------------- instructor's kit covers every notebook
def _understanding_questions(nb) -> int:
    for cell in nb.cells:
        if cell.cell_type == "markdown" and "## Check your understanding" in cell.source:
            part = cell.source.split("## Check your understanding", 1)[1].split("\n## ", 1)[0]
            return len(re.findall(r"^\d+\.\s", part, re.MULTILINE))
    return 0


def _answer_sections() -> dict[str, str]:
    text = (ROOT / "book" / "instructor" / "answers.md").read_text(encoding="utf-8")
    return {m.group(1): m.group(2) for m in re.finditer(r"^## (\d\d) · [^\n]*\n(.*?)(?=^## |\Z)", text, re.S | re.M)}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_check_your_understanding_question_has_an_answer(path):
    asked = _understanding_questions(nbformat.read(path, as_version=4))
    section = _answer_sections().get(path.name[:2])
    assert section is not None, f"book/instructor/answers.md has no section '## {path.name[:2]} · …'"
    if f"<!-- answers: notebook {path.name[:2]}" in section:
        pytest.skip(f"notebook {path.name[:2]}: answers marked as still to be written")
    answered = len(re.findall(r"^\d+\.\s\*\*", section, re.MULTILINE))
    assert answered == asked, (f"notebook {path.name[:2]} asks {asked} 'check your understanding' questions, "
                               f"book/instructor/answers.md answers {answered}")


def test_every_written_answer_has_a_rubric():
    rubrics = (ROOT / "book" / "instructor" / "rubrics.md").read_text(encoding="utf-8")
    missing = []
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            meta = course.assignments.nbgrader(cell)
            if meta.get("grade") and meta.get("solution") and f"`{meta['grade_id']}`" not in rubrics:
                if f"<!-- rubrics: notebook {path.name[:2]}" not in rubrics:
                    missing.append(f"{path.name}: {meta['grade_id']}")
    assert not missing, f"written answers without a rubric in book/instructor/rubrics.md: {missing}"


# ---------------------------------------------------------------- the README
def readme_words(text: str) -> int:
    """Words a reader reads: comments dropped, link and image targets dropped, code kept."""
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.DOTALL)
    text = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    return len(re.findall(r"[\w@.+-]*\w[\w@.+'’-]*", text))


def test_readme_word_count_counts_what_a_reader_reads():
    assert readme_words("one [two](http://x/y z) ![three](a.svg) <!-- not read -->\n`four`") == 4


def test_readme_is_short():
    words = readme_words(README)
    assert words <= README_WORD_LIMIT, f"README.md has {words} words, the limit is {README_WORD_LIMIT}"


def test_readme_run_times_are_the_syllabus_data():
    hours = tomllib.loads((ROOT / "book" / "course_hours.toml").read_text(encoding="utf-8"))
    seconds, study = hours["run_time"]["seconds"], hours["study"]
    rows = re.findall(r"^\| \[[^\]]+\]\(notebooks/([^)]+)\.ipynb\) \|.*\| (\d+ s|not measured) \| (\d+) min \|$",
                      README, re.M)
    assert rows, "README.md: no notebook rows with '| N s | M min |' found"
    for stem, run, minutes in rows:
        wanted = f"{seconds[stem]} s" if stem in seconds else "not measured"
        assert run == wanted, f"README.md: {stem} run time {run}, book/course_hours.toml {wanted}"
        assert int(minutes) == study["reading"][stem] + study["exercises"][stem], f"README.md: {stem} study time"
    assert {stem for stem, _, _ in rows} == {p.stem for p in NOTEBOOKS}, "README.md's notebook map lacks a notebook"


def test_readme_relative_links_and_make_targets_exist():
    missing = [target for target in re.findall(r"\]\(([^)#\s]+)[^)]*\)", README)
               if not re.match(r"[a-z]+:", target) and not (ROOT / target).exists()]
    assert not missing, f"README.md links to files that do not exist: {missing}"
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, re.MULTILINE))
    named = set(re.findall(r"`make ([a-z][\w-]*)", README))
    assert named and not named - targets, f"README.md names make targets the Makefile lacks: {named - targets}"


def test_syllabus_data_names_only_course_notebooks_and_sane_plans():
    hours = tomllib.loads((ROOT / "book" / "course_hours.toml").read_text(encoding="utf-8"))
    stems = {p.stem for p in NOTEBOOKS}
    for table in (hours["run_time"]["seconds"], hours["study"]["reading"], hours["study"]["exercises"]):
        assert set(table) <= stems, f"book/course_hours.toml names notebooks not in notebooks/: {set(table) - stems}"
    numbers = {p.name[:2] for p in NOTEBOOKS}
    for name, sessions in hours["plan"].items():
        covered = {n for s in sessions for n in s["notebooks"]}
        assert numbers <= covered, f"plan {name} leaves out notebooks {sorted(numbers - covered)}"
    book_dir = ROOT / "book"
    syllabus = (book_dir / "syllabus.md").read_text(encoding="utf-8")
    assert all(f"{{course-plan}} {name}" in syllabus for name in hours["plan"])


def test_shared_book_pages_hold_no_solution_line():
    """The pages in book/ shared by both editions hold no solution line (the answers live in instructor/)."""
    lines = book.forbidden_lines(ROOT)
    for page in (ROOT / "book").rglob("*.md"):
        if "instructor" in page.relative_to(ROOT / "book").parts:
            continue
        text = book.edition_text(page.read_text(encoding="utf-8"), "student")
        assert [line for line in lines if line in text] == [], page


# ---------------------------------------------------------------- hours: one data file, the headers agree
def _hours_notebook(source: str):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(source, id="title"), nbformat.v4.new_code_cell("x = 1", id="code")]
    return nb


def test_run_and_study_times_are_written_as_a_reader_reads_them():
    assert [hours.run_time_text(s) for s in (4.6, 17, 52, 113, 198)] == [
        "about 5 s", "about 17 s", "about 50 s", "about 2 min", "about 3 min"]
    assert [hours.minutes_text(m) for m in (40, 60, 95, 60.08, 81.9)] == [
        "40 min", "1 h", "1 h 35 min", "1 h", "1 h 22 min"]
    assert [hours.seconds_text(s) for s in (52, 198)] == ["52 s", "3 min 18 s"]


def test_apply_header_rewrites_only_the_two_lines_and_is_idempotent():
    source = ("# 01 · Small\n\nSome prose.\n\n> **You will learn:** to add.  \n> **Prerequisites:** none.  \n"
              "> **Run time:** about 3 min somewhere. **Reading:** about 30 min\n\nMore prose.")
    nb = _hours_notebook(source)
    fields = {"Run time": "about 5 s.", "Reading time": "about 35 min."}
    assert hours.apply_header(nb, fields) is True
    assert nb.cells[0].source == ("# 01 · Small\n\nSome prose.\n\n> **You will learn:** to add.  \n"
                                  "> **Prerequisites:** none.  \n> **Run time:** about 5 s.  \n"
                                  "> **Reading time:** about 35 min.\n\nMore prose.")
    assert [c.id for c in nb.cells] == ["title", "code"] and nb.cells[1].source == "x = 1"
    assert hours.apply_header(nb, fields) is False
    with pytest.raises(ValueError, match="no '> \\*\\*Name:\\*\\* text' header lines"):
        hours.apply_header(_hours_notebook("# 01 · Small\n\nno header"), fields)
    with pytest.raises(ValueError, match="no title cell"):
        hours.apply_header(_hours_notebook("no title"), fields)


def test_hours_file_errors_name_the_entry(tmp_path):
    path = tmp_path / "hours.toml"
    path.write_text("[run_time.seconds]\n01_a = -1\n[study]\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"\[run_time.seconds\] 01_a must be a number >= 0, got -1"):
        hours.load_hours(path)
    path.write_text("[run_time]\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"needs a \[study\] table"):
        hours.load_hours(path)
    data = {"run_time": {"seconds": {"01_a": 5}}, "study": {"reading": {"01_a": 10}}}
    with pytest.raises(KeyError, match=r"no \[study.exercises\] 01_a"):
        hours.header_fields(data, "01_a")


def test_every_notebook_header_states_the_hours_of_the_data_file(capsys):
    """The lines `python -m fido_lib.course.hours --apply` writes; after a re-measurement run it."""
    assert hours.main(["--root", str(ROOT), "--check"]) == 0, capsys.readouterr().err


# ---------------------------------------------------------------- the book's other pages follow the code
def test_library_page_names_every_public_module():
    """Each public module, or its package, or a module inside it, has a row in book/library/index.md."""
    text = (ROOT / "book" / "library" / "index.md").read_text(encoding="utf-8")
    named = set(re.findall(r"^\| `(fido_lib[\w.]*)` \|", text, re.MULTILINE))
    modules = book.library_modules()
    missing = [m for m in modules
               if not any(m == n or m.startswith(n + ".") or n.startswith(m + ".") for n in named)]
    assert not missing, f"book/library/index.md has no row for {missing}"


def _notebook_text(path) -> str:
    nb = nbformat.read(path, as_version=4)
    parts = []
    for cell in nb.cells:
        parts.append(cell.source)
        for output in cell.get("outputs", []):
            parts.append(str(output.get("text", "")))
            parts += [str(v) for k, v in output.get("data", {}).items() if k.startswith("text/")]
    return "\n".join(parts)


#: numbers in the instructor's pages that are arithmetic, not a notebook's output
_ARITHMETIC = {"0.4"}  # answers 02: 2⁻⁸ ≈ 0.4 %


@pytest.mark.parametrize("page", ["answers.md", "rubrics.md"])
def test_every_decimal_in_the_answers_is_printed_by_its_notebook(page):
    """A model answer quoting 0.7937 (or 4294) for a notebook goes stale when it stops printing it."""
    text = (ROOT / "book" / "instructor" / page).read_text(encoding="utf-8")
    sections = re.split(r"^## (\d\d)\b[^\n]*\n", text, flags=re.MULTILINE)
    stale = []
    for number, body in zip(sections[1::2], sections[2::2]):
        path = next((p for p in NOTEBOOKS if p.name.startswith(number + "_")), None)
        if path is None:
            continue  # a notebook still being written: its section says so
        shown = _notebook_text(path)
        quoted = set(re.findall(r"(?<![\w.])\d+\.\d+(?:e-?\d+)?(?![\w.])|(?<![\w.,])\d{3,}(?![\w.])", body))
        quoted -= _ARITHMETIC
        stale += [f"{number}: {q}" for q in sorted(quoted) if q not in shown]
    assert not stale, f"book/instructor/{page} quotes numbers its notebook no longer prints: {stale}"


def test_a_plain_text_docstring_word_ending_in_underscore_is_no_link():
    pytest.importorskip("sphinx")
    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    try:
        import course_book
    finally:
        sys.path.remove(str(ROOT / "book" / "_ext"))
    lines = ['per map: "ssr_…" and sdr_, or name_', "``ssr_`` and x_y stay"]
    course_book.escape_link_underscores(lines)
    assert lines == ['per map: "ssr\\_…" and sdr\\_, or name\\_', "``ssr_`` and x_y stay"]


_TIMES = """CPU: AMD EPYC 7B13, 2 logical cores; torch threads: 2; torch 2.13.0+cpu; Python 3.11.7; \
OMP_WAIT_POLICY=PASSIVE; load average (1/5/15 min): 0.52 / 0.61 / 0.70

| notebook | run time, s |
| --- | --- |
| 01_a.ipynb | 5 |
| 02_b.ipynb | 121.4 |
| all | 126 |

load average after: 1.10 / 0.90 / 0.80
"""
_HOURS = """# comment kept
[run_time]
machine = "old"
[run_time.seconds]
01_a = 4
# introduces the study table: kept
[study]
[study.reading]
01_a = 10
02_b = 20
[study.exercises]
01_a = 5
02_b = 5
"""


def test_a_notebook_times_run_is_recorded_in_the_hours_file_and_nothing_else_changes():
    new = hours.record_run_times(_TIMES, _HOURS, ["01_a", "02_b"])
    data = hours.load_hours_text(new, "x.toml")
    assert data["run_time"]["seconds"] == {"01_a": 5, "02_b": 121} and data["run_time"]["total_seconds"] == 126
    assert data["run_time"]["short_machine"] == "a 2-core AMD EPYC"
    assert data["run_time"]["machine"].startswith("AMD EPYC 7B13, 2 logical cores")
    assert data["run_time"]["machine"].endswith("load average after: 1.10 / 0.90 / 0.80")
    assert new.startswith("# comment kept\n[run_time]\n") and new.endswith(_HOURS[_HOURS.index("# introduces"):])
    with pytest.raises(ValueError, match="the run lacks 03_c"):
        hours.record_run_times(_TIMES, _HOURS, ["01_a", "02_b", "03_c"])
    with pytest.raises(ValueError, match="no 'CPU: …' machine line"):
        hours.record_run_times(_TIMES.split("\n", 1)[1], _HOURS, ["01_a"])


def test_readme_table_rewrites_the_two_time_columns_of_each_row():
    data = hours.load_hours_text(hours.record_run_times(_TIMES, _HOURS, ["01_a", "02_b"]), "x.toml")
    del data["run_time"]["seconds"]["02_b"]
    readme = ("intro\n| [01 · A](notebooks/01_a.ipynb) | teaches a | [x](y) | 9 s | 1 min |\n"
              "| [02 · B](notebooks/02_b.ipynb) | teaches b | [x](y) | 3 s | 2 min |\nend")
    assert hours.readme_table(readme, data, ["01_a", "02_b"]) == (
        "intro\n| [01 · A](notebooks/01_a.ipynb) | teaches a | [x](y) | 5 s | 15 min |\n"
        "| [02 · B](notebooks/02_b.ipynb) | teaches b | [x](y) | not measured | 25 min |\nend")
    with pytest.raises(ValueError, match="no row .*notebooks/03_c.ipynb"):
        hours.readme_table(readme, data, ["03_c"])
