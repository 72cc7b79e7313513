"""The course's hours, from one data file: ``book/course_hours.toml``.

    python -m fido_lib.course.hours [--check | --apply | --record TIMES] [--root .]

The file holds each notebook's measured run time (one run of ``make notebook-times``),
a careful student's estimate of its reading and exercise minutes, and the course plans.
The book's syllabus (``book/_ext/course_book.py``) builds its tables from it, and every
notebook's header states the same two lines, ``**Run time:**`` and ``**Reading time:**``,
and the README's notebook map the same two columns, written by this module:

* no option: print each notebook's two header lines as they should read;
* ``--check``: exit 1 when a notebook's header or the README says something else (and name it);
* ``--apply``: rewrite those two lines in each notebook's title cell (nothing else
  changes; cell ids and outputs stay) and the README's two columns, then run ``make assignments``;
* ``--record TIMES``: copy the run times and the machine line of one run of
  ``make notebook-times`` (its output saved in the file ``TIMES``) into the data file's
  ``[run_time]`` table (the rest of the file is kept as it is).
"""
from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path

from ._files import NOTEBOOK_DIR, load_toml, notebooks, read_notebook, role, write_if_changed

__all__ = [
    "HOURS_FILE",
    "apply_header",
    "header_fields",
    "load_hours",
    "load_hours_text",
    "main",
    "minutes_text",
    "readme_table",
    "record_run_times",
    "run_time_text",
    "seconds_text",
    "study_minutes",
]

HOURS_FILE = "book/course_hours.toml"
README = "README.md"
RUN_FIELD, READING_FIELD = "Run time", "Reading time"
_FIELD_LINE = re.compile(r"^>\s*\*\*(?P<name>[^*]+?):\*\*")
_TIMES_ROW = re.compile(r"^\|\s*(?P<name>[^|]+?)\s*\|\s*(?P<seconds>\d+(?:\.\d+)?)\s*\|\s*$")
_INLINE_READING = re.compile(r"\s*\*\*Reading(?: time)?:\*\*.*$")  # "… no GPU needed. **Reading:** about 30 min"


def load_hours(path) -> dict:
    """The parsed hours file; a missing table or a value that is not a number >= 0 is a
    ValueError naming the file and the entry."""
    path = Path(path)
    return load_hours_text(path.read_text(encoding="utf-8"), path)


def load_hours_text(text: str, path) -> dict:
    """``load_hours`` of the file's text (``path`` names it in errors)."""
    data = load_toml(text, path)
    for table in ("run_time", "study"):
        if not isinstance(data.get(table), dict):
            raise ValueError(f"{path}: needs a [{table}] table")
    for key, values in (("run_time.seconds", data["run_time"].get("seconds", {})),
                        ("study.reading", data["study"].get("reading", {})),
                        ("study.exercises", data["study"].get("exercises", {}))):
        if not isinstance(values, dict):
            raise ValueError(f"{path}: [{key}] must be a table of notebook stem = number")
        for name, value in values.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{path}: [{key}] {name} must be a number >= 0, got {value!r}")
    return data


def minutes_text(minutes: float) -> str:
    """``95`` → ``1 h 35 min``; ``60`` → ``1 h``; ``40`` → ``40 min`` (rounded to a whole minute)."""
    minutes = int(round(minutes))
    hours, rest = divmod(minutes, 60)
    return f"{rest} min" if not hours else f"{hours} h" if not rest else f"{hours} h {rest:02d} min"


def seconds_text(seconds: float) -> str:
    """``52`` → ``52 s``; ``198`` → ``3 min 18 s``."""
    seconds = int(round(seconds))
    return f"{seconds} s" if seconds < 120 else f"{seconds // 60} min {seconds % 60:02d} s"


def run_time_text(seconds: float) -> str:
    """A measured run time as a header states it: ``about 5 s``, ``about 50 s``, ``about 2 min``."""
    if seconds < 20:
        return f"about {max(1, round(seconds))} s"
    if seconds < 90:
        return f"about {5 * round(seconds / 5)} s"
    return f"about {max(2, round(seconds / 60))} min"


def study_minutes(data: dict, stem: str) -> tuple[float | None, float | None, float | None]:
    """(reading min, exercise min, run time s) of one notebook; None where not stated or measured."""
    return (data["study"].get("reading", {}).get(stem), data["study"].get("exercises", {}).get(stem),
            data["run_time"].get("seconds", {}).get(stem))


def header_fields(data: dict, stem: str) -> dict[str, str]:
    """The header's ``Run time`` and ``Reading time`` texts for notebook ``stem``.

    A notebook without a measured run time says so; a KeyError names the study estimate
    ``course_hours.toml`` lacks for it.
    """
    reading, exercises, run = study_minutes(data, stem)
    missing = [key for key, value in (("study.reading", reading), ("study.exercises", exercises)) if value is None]
    if missing:
        raise KeyError(f"{HOURS_FILE} has no {', '.join(f'[{m}] {stem}' for m in missing)}")
    notes = data.get("header", {})
    machine = data["run_time"].get("short_machine", "a 2-core CPU")
    run_note = notes.get("run_note", {}).get(stem)
    reading_note = notes.get("reading_note", {}).get(stem)
    measured = f"{run_time_text(run)} on {machine}" if run is not None else "not measured yet on a quiet machine"
    run_text = (f"{measured}, no GPU needed (`make notebook-times`" + (f"; {run_note}" if run_note else "") + ").")
    reading_text = (f"about {minutes_text(reading)}, plus about {minutes_text(exercises)} for the exercises "
                    "(a careful student's estimate; the book's syllabus plans with it)"
                    + (f"; {reading_note}" if reading_note else "") + ".")
    return {RUN_FIELD: run_text, READING_FIELD: reading_text}


def readme_table(readme: str, data: dict, stems) -> str:
    """``readme`` with the last two cells of each notebook's row — run time, reading + exercises — from ``data``.

    A row is a line ``| [title](notebooks/STEM.ipynb) | … | run time | reading + exercises |``;
    a notebook of ``stems`` without one is a ValueError (add its row to the README's map).
    """
    lines = readme.split("\n")
    for stem in stems:
        reading, exercises, run = study_minutes(data, stem)
        row = re.compile(rf"^\| \[[^\]]+\]\(notebooks/{re.escape(stem)}\.ipynb\) \|(?P<middle>.*)\|[^|]*\|[^|]*\|$")
        found = [i for i, line in enumerate(lines) if row.match(line)]
        if not found:
            raise ValueError(f"README.md has no row '| [NN · title](notebooks/{stem}.ipynb) | … |' in its notebook map")
        run_cell = f"{round(run)} s" if run is not None else "not measured"
        study_cell = f"{round(reading + exercises)} min" if reading is not None and exercises is not None else "—"
        for i in found:
            middle = row.match(lines[i])["middle"]
            lines[i] = f"{lines[i][:lines[i].index(')') + 1]} |{middle}| {run_cell} | {study_cell} |"
    return "\n".join(lines)


def _short_machine(cpu_line: str) -> str:
    """``CPU: Intel(R) Xeon(R) Processor (AVX-512), 2 logical cores; …`` → ``a 2-core Intel Xeon``."""
    match = re.match(r"CPU:\s*(?P<cpu>.*?),\s*(?P<cores>\d+) logical cores", cpu_line)
    if match is None:
        raise ValueError(f"not the machine line of `make notebook-times`: {cpu_line!r}")
    words = re.sub(r"\((?:R|TM)\)|\(.*?\)|\bProcessor\b|\bCPU\b", " ", match["cpu"]).split()
    return f"a {match['cores']}-core {' '.join(words[:2]) or 'CPU'}"


def record_run_times(times: str, hours_text: str, stems) -> str:
    """``hours_text`` (the data file) with its ``[run_time]`` table replaced by the run ``times`` reports.

    ``times`` is what ``make notebook-times`` prints: a ``CPU: …`` machine line, a table
    ``| NN_name.ipynb | seconds |`` with an ``| all | seconds |`` row, and ``load average
    after: …``. Every notebook of ``stems`` must have a row (a partial run would mix two
    machines); a ValueError names what is missing. The other tables and every comment
    outside ``[run_time]`` are kept.
    """
    lines = times.splitlines()
    machine = next((line.strip() for line in lines if line.startswith("CPU:")), None)
    if machine is None:
        raise ValueError("no 'CPU: …' machine line: is this the output of `make notebook-times`?")
    after = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("load average after:")), "n/a")
    rows = {m["name"]: float(m["seconds"]) for m in map(_TIMES_ROW.match, lines) if m}
    total = rows.pop("all", None)
    seconds = {name.removesuffix(".ipynb"): value for name, value in rows.items()}
    missing = [stem for stem in stems if stem not in seconds]
    if missing or total is None:
        raise ValueError(f"the run lacks {', '.join(missing) or 'its | all | row'}: time every notebook in one run")
    start = re.search(r"^\[run_time\]\s*$", hours_text, re.MULTILINE)
    end = re.search(r"^\[study\]\s*$", hours_text, re.MULTILINE)
    if start is None or end is None or end.start() < start.start():
        raise ValueError("the hours file needs a [run_time] table followed by a [study] table")
    body = end.start()
    while True:  # keep the comment lines that introduce [study]
        previous = hours_text.rfind("\n", 0, body - 1)
        if previous < start.end() or not hours_text[previous + 1:body].startswith("#"):
            break
        body = previous + 1
    block = ["[run_time]",
             f"machine = {_toml_string(machine.removeprefix('CPU:').strip() + '; load average after: ' + after)}",
             'command = "make notebook-times"',
             "# how the notebooks' headers name the machine",
             f"short_machine = {_toml_string(_short_machine(machine))}",
             "# the run's own \"all\" line (the rows are rounded, so their sum can differ by a second)",
             f"total_seconds = {round(total)}",
             "# seconds, per notebook file stem",
             "[run_time.seconds]",
             *(f"{stem} = {round(value)}" for stem, value in seconds.items()), "", ""]
    return hours_text[:start.start()] + "\n".join(block) + hours_text[body:]


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _title_cell(nb):
    return next((cell for cell in nb.cells if cell.cell_type == "markdown" and role(cell) is None
                 and cell.source.lstrip().startswith("# ")), None)


def apply_header(nb, fields: dict[str, str]) -> bool:
    """Write ``fields`` (name → text) into the ``> **Name:** text`` lines of ``nb``'s title cell.

    A field's line is replaced whole (a trailing two-space line break is kept); an inline
    ``**Reading:**`` part of another field's line is dropped; a field the header lacks is
    added after the last field line. True if the cell changed. A notebook without a title
    cell, or without any ``> **Name:**`` line in it, is a ValueError.
    """
    cell = _title_cell(nb)
    if cell is None:
        raise ValueError("the notebook has no title cell (a markdown cell starting with '# ')")
    lines = cell.source.split("\n")
    field_rows = [i for i, line in enumerate(lines) if _FIELD_LINE.match(line)]
    if not field_rows:
        raise ValueError("the title cell has no '> **Name:** text' header lines")
    seen = set()
    for i in field_rows:
        name = _FIELD_LINE.match(lines[i])["name"].strip()
        if name in fields:
            lines[i] = f"> **{name}:** {fields[name]}"
            seen.add(name)
        elif READING_FIELD in fields:
            lines[i] = _INLINE_READING.sub("", lines[i].rstrip())
    last = field_rows[-1]
    for name, text in fields.items():
        if name not in seen:
            last += 1
            lines.insert(last, f"> **{name}:** {text}")
    rows = [i for i, line in enumerate(lines) if _FIELD_LINE.match(line)]
    for i in rows:  # a Markdown line break after every field line but the last
        lines[i] = lines[i].rstrip() + ("  " if i != rows[-1] else "")
    source = "\n".join(lines)
    if source == cell.source:
        return False
    cell.source = source
    return True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fido_lib.course.hours", description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=".", help="repository root (default: the current directory)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--check", action="store_true", help="exit 1 when a notebook's header differs")
    group.add_argument("--apply", action="store_true", help="rewrite the header lines in the notebooks")
    group.add_argument("--record", metavar="TIMES", type=Path,
                       help="copy one `make notebook-times` run (its output saved in TIMES) into the data file")
    args = parser.parse_args(argv)
    root = Path(args.root)
    if args.record:
        path = root / HOURS_FILE
        try:
            stems = [p.stem for p in notebooks(root, NOTEBOOK_DIR)]
            new = record_run_times(args.record.read_text(encoding="utf-8"), path.read_text(encoding="utf-8"), stems)
            load_hours_text(new, path)
        except (OSError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        path.write_text(new, encoding="utf-8")
        print(f"recorded the run times of {len(stems)} notebooks in {path}; now `--apply` and `make assignments`")
        return 0
    try:
        data = load_hours(root / HOURS_FILE)
        paths = notebooks(root, NOTEBOOK_DIR)
        if not paths:
            raise FileNotFoundError(f"no notebooks {NOTEBOOK_DIR}/NN_*.ipynb under {root}")
        wanted = {path: header_fields(data, path.stem) for path in paths}  # all checked before any write
    except (ValueError, KeyError, FileNotFoundError) as error:
        print(f"error: {error.args[0] if isinstance(error, KeyError) else error}", file=sys.stderr)
        return 2
    differ = []
    for path, fields in wanted.items():
        nb = read_notebook(path)
        try:
            changed = apply_header(nb, fields)
        except ValueError as error:
            print(f"error: {path.name}: {error}", file=sys.stderr)
            return 2
        if not args.check and not args.apply:
            print(f"{path.name}:\n" + "\n".join(f"> **{name}:** {text}" for name, text in fields.items()) + "\n")
        if changed:
            differ.append(path.name)
            if args.apply:
                write_if_changed(path, nb)
    readme_path = root / README
    if readme_path.is_file():
        readme = readme_path.read_text(encoding="utf-8")
        try:
            new_readme = readme_table(readme, data, [p.stem for p in paths])
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        if new_readme != readme:
            differ.append(README)
            if args.apply:
                readme_path.write_text(new_readme, encoding="utf-8")
    if args.check and differ:
        print(f"differ from {HOURS_FILE}: {', '.join(differ)} "
              "(run `python -m fido_lib.course.hours --apply`, then `make assignments`)", file=sys.stderr)
        return 1
    if args.apply:
        print(f"rewrote {len(differ)} file(s){': ' + ', '.join(differ) if differ else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
