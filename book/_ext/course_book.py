"""Sphinx directives of the course book: the syllabus' tables, computed from one data file.

``book/course_hours.toml`` holds the measured run times, the study-time estimates and
the course plans; the notebooks' own headers give each one's title, learning goals and
prerequisites. So a re-measured run time or an edited header changes the syllabus with
no page edited by hand.

    ```{course-goals}
    ```
    ```{course-hours}
    ```
    ```{course-exercises}
    ```
    ```{course-plan} two-weeks
    ```
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

from fido_lib.course import hours as course_hours
from fido_lib.course.hours import minutes_text, seconds_text

HOURS_FILE = Path(__file__).resolve().parents[2] / course_hours.HOURS_FILE
_FIELD = re.compile(r"\*\*(?P<name>[^*]+?):\*\*\s*(?P<text>.*?)\s*$")


def load_hours(path: Path = HOURS_FILE) -> dict:
    """The parsed hours file (``fido_lib.course.hours.load_hours``)."""
    return course_hours.load_hours(path)


_LITERAL = re.compile(r"(``.+?``)")
_TRAILING_UNDERSCORE = re.compile(r"(?<=\w)_(?=[\s.,;:!?)\]}'\"…”’]|$)")


def escape_link_underscores(lines: list[str]) -> None:
    """Docstrings are plain text: a word ending in ``_`` ("ssr_…") is not a reST link reference.

    Escapes such underscores in place, outside ``literal`` text, so docutils neither warns
    nor leaves a link to nowhere on the page.
    """
    for i, line in enumerate(lines):
        parts = _LITERAL.split(line)
        lines[i] = "".join(part if k % 2 else _TRAILING_UNDERSCORE.sub(r"\\_", part) for k, part in enumerate(parts))


def _process_docstring(app, what, name, obj, options, lines):
    escape_link_underscores(lines)


def notebook_header(path: Path) -> dict:
    """Title and the header's ``**Name:** text`` fields (You will learn, Prerequisites, …) of a notebook."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    title, fields = path.stem, {}
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        lines = source.splitlines()
        heading = next((line for line in lines if line.startswith("# ")), None)
        if heading is None:
            continue
        title = heading[2:].strip()
        for line in lines:
            match = _FIELD.search(line.lstrip("> ").strip())
            if match and line.lstrip().startswith(">"):
                fields[match["name"].strip()] = match["text"].strip()
        break
    return {"title": title, **fields}


class _CourseDirective(SphinxDirective):
    def notebooks(self) -> dict[str, Path]:
        """The staged notebooks by file stem, in course order."""
        folder = Path(self.env.srcdir) / "notebooks"
        return {p.stem: p for p in sorted(folder.glob("[0-9][0-9]_*.ipynb"))}

    def hours(self) -> dict:
        self.env.note_dependency(str(HOURS_FILE))
        return load_hours()

    def study(self, data: dict, stem: str) -> tuple[float | None, float | None, float | None]:
        """(reading min, exercise min, run time s) of one notebook; None where not stated/measured."""
        return course_hours.study_minutes(data, stem)

    def render(self, markdown: str) -> list[nodes.Node]:
        container = nodes.container()
        self.state.nested_parse(StringList(markdown.splitlines(), source=self.get_source_info()[0]),
                                self.content_offset, container)
        return container.children


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


class CourseGoals(_CourseDirective):
    """One row per notebook: what it teaches and what it needs, from the notebook's own header."""

    def run(self):
        rows = ["| notebook | you will learn | prerequisites |", "| --- | --- | --- |"]
        for stem, path in self.notebooks().items():
            header = notebook_header(path)
            rows.append(f"| {{doc}}`{_cell(header['title'])} </notebooks/{stem}>` "
                        f"| {_cell(header.get('You will learn', '—'))} | {_cell(header.get('Prerequisites', '—'))} |")
        return self.render("\n".join(rows))


class CourseHours(_CourseDirective):
    """One row per notebook: measured run time, estimated reading and exercise time, their sum."""

    def run(self):
        data = self.hours()
        rows = ["| notebook | run time (measured) | reading | exercises | study time |",
                "| --- | ---: | ---: | ---: | ---: |"]
        total_run = total_study = 0.0
        unmeasured, unestimated = [], []
        for stem in self.notebooks():
            reading, exercises, run = self.study(data, stem)
            run_text = seconds_text(run) if run is not None else "not measured yet"
            if run is None:
                unmeasured.append(stem[:2])
            else:
                total_run += run
            if reading is None or exercises is None:
                unestimated.append(stem[:2])
                study_text = reading_text = exercise_text = "no estimate yet"
            else:
                study = reading + exercises + (run or 0) / 60
                total_study += study
                study_text, reading_text, exercise_text = (minutes_text(study), minutes_text(reading),
                                                           minutes_text(exercises))
            rows.append(f"| {{doc}}`{stem[:2]} </notebooks/{stem}>` | {run_text} | {reading_text} "
                        f"| {exercise_text} | {study_text} |")
        # the run's own total where it is recorded (the sum of rounded rows can differ by a second)
        total_run = data["run_time"].get("total_seconds", total_run) if not unmeasured else total_run
        rows.append(f"| **all** | {seconds_text(total_run)} | | | **{minutes_text(total_study)}** |")
        notes = [f"Run times: one run of `{data['run_time'].get('command', 'make notebook-times')}` on "
                 f"{data['run_time'].get('machine', 'an unnamed machine')}; each notebook top to bottom in a "
                 "fresh kernel, kernel start included. Reading and exercises: "
                 f"{data['study'].get('source', 'an estimate')}. Study time = reading + exercises + run time."]
        if unmeasured:
            notes.append(f"Not measured yet: {', '.join(unmeasured)} (totals leave them out).")
        if unestimated:
            notes.append(f"No study-time estimate yet: {', '.join(unestimated)} (totals leave them out).")
        return self.render("\n".join(rows) + "\n\n" + " ".join(notes))


class CoursePlan(_CourseDirective):
    """One row per session of a plan in course_hours.toml, its study time summed from the notebooks'."""

    required_arguments = 1

    def run(self):
        data = self.hours()
        name = self.arguments[0]
        plans = data.get("plan", {})
        if name not in plans:
            raise self.error(f"course-plan: no plan {name!r} in {HOURS_FILE.name} (plans: {', '.join(plans)})")
        by_number = {stem[:2]: (stem, path) for stem, path in self.notebooks().items()}
        rows = ["| session | notebooks | study time | also |", "| --- | --- | ---: | --- |"]
        total, gaps = 0.0, False
        for session in plans[name]:
            links, minutes = [], 0.0
            for number in session.get("notebooks", []):
                if number not in by_number:
                    links.append(f"{number} (not in the course yet)")
                    gaps = True
                    continue
                stem, path = by_number[number]
                links.append(f"{{doc}}`{number} </notebooks/{stem}>`")
                reading, exercises, run = self.study(data, stem)
                if reading is None or exercises is None:
                    gaps = True
                else:
                    minutes += reading + exercises + (run or 0) / 60
            total += minutes
            rows.append(f"| {_cell(session.get('session', ''))} | {', '.join(links) or '—'} "
                        f"| {minutes_text(minutes) if minutes else '—'} | {_cell(session.get('also', ''))} |")
        rows.append(f"| **all** | | **{minutes_text(total)}** | |")
        note = ("Study time: the notebooks' reading + exercises + run time from the table above; lectures "
                "and discussion come on top.")
        if gaps:
            note += " A notebook without an estimate (or not yet in the course) adds nothing to it."
        return self.render("\n".join(rows) + "\n\n" + note)


class CourseExercises(_CourseDirective):
    """Per notebook: its graded cells and points, from the nbgrader metadata of the notebook itself."""

    def run(self):
        rows = ["| notebook | exercises | checked automatically | graded by hand (written answers) | points |",
                "| --- | ---: | --- | --- | ---: |"]
        total = 0.0
        for stem, path in self.notebooks().items():
            nb = json.loads(path.read_text(encoding="utf-8"))
            auto = hand = 0.0
            n_auto = n_hand = 0
            exercises = 0
            for cell in nb["cells"]:
                source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
                if cell["cell_type"] == "markdown":
                    exercises += sum(1 for line in source.splitlines() if line.startswith("### Exercise"))
                meta = cell.get("metadata", {}).get("nbgrader") or {}
                if not meta.get("grade"):
                    continue
                points = float(meta.get("points") or 0)
                if meta.get("solution"):
                    hand, n_hand = hand + points, n_hand + 1
                else:
                    auto, n_auto = auto + points, n_auto + 1
            total += auto + hand
            rows.append(f"| {{doc}}`{stem[:2]} </notebooks/{stem}>` | {exercises} | {n_auto} cells, {auto:g} points "
                        f"| {n_hand} answers, {hand:g} points | {auto + hand:g} |")
        rows.append(f"| **all** | | | | **{total:g}** |")
        return self.render("\n".join(rows))


def setup(app):
    app.add_directive("course-exercises", CourseExercises)
    app.add_directive("course-goals", CourseGoals)
    app.add_directive("course-hours", CourseHours)
    app.add_directive("course-plan", CoursePlan)
    app.connect("autodoc-process-docstring", _process_docstring)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
