"""Checked notebook outputs are portable by construction (issue 17).

nbval compares a cell marked ``# NBVAL_CHECK_OUTPUT`` character by character with its
stored output, after the regexes of ``tests/nbval_sanitize.cfg``. A number computed in
floating point can print differently on another CPU, kernel set or thread count (``65×``
became ``66×`` on a third CPU), so a checked cell may print a computed non-integer only
through ``fido_lib.checks.check_within`` (the sanitizer masks the value, nbval compares the
verdict and the range) — or, when every number it prints is exact (a count, a setting, an
integer, exact rational arithmetic, plain Python on shipped data), the cell says so with a
comment ``# exact: <reason>``.

What counts as a risky number in a checked cell's stored output (stdout and every compared
data type, after the sanitizer): one with a decimal point or an exponent (``0.25``,
``1e-6``), and any number followed by ``%`` or ``×``/``x`` (a rounded ratio or share of a
computed float, ``65×``, ``12 %``). Integers are counts and pass. A line that
``check_within`` printed passes once its value is masked: its name (``T = 0.1, SSR``) and its
bounds (``within [0.9, 1.1]``) are text and settings the cell writes — unless a bound shows six
significant digits, the mark of a bound computed from a float (``:g``), which is caught.
"""
import re
from pathlib import Path

import nbformat
import pytest
from nbval.plugin import find_comment_markers, find_metadata_tags, get_sanitize_patterns

from fido_lib import checks

ROOT = Path(__file__).resolve().parents[1]
SANITIZE = ROOT / "tests" / "nbval_sanitize.cfg"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

#: nbval compares every output key but these (plugin.IPyNbFile.skip_compare, without
#: --nbval-nbdime) and conftest.py adds stderr.
SKIPPED_DATA = {"image/png", "image/jpeg", "application/vnd.jupyter.widget-view+json"}
#: a number, as a whole word: digits with an optional fraction and exponent, then an
#: optional percent or times sign (with or without a space before it)
NUMBER = re.compile(
    r"(?<![\w.])[-+−]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+−]?\d+)?(?:\s?[%×]|x(?![\w]))?(?![\w])")
RISKY = re.compile(r"[.eE%×x]")
#: a check_within line once sanitized: its name is text the cell writes (settings such as
#: ``T = 0.1``), its value is masked, its range the bounds the cell passes
CHECKED_LINE = re.compile(r"^\s*✓ .*: VALUE within \[([^\]\n]*)\]\s*$")
#: check_within prints its bounds with ``:g`` (six significant digits): a fractional bound that shows
#: six is almost surely computed from a float, not written in the cell, and can print differently elsewhere
COMPUTED_BOUND = re.compile(r"^[-+]?0*(?:\.0*)?[1-9](?:\.?\d){5}")
EXACT = re.compile(r"^[ \t]*#[ \t]*exact:[ \t]*\S", re.MULTILINE)


def sanitizers(path=SANITIZE):
    """The (regex, replacement) pairs nbval reads from ``path``, parsed by nbval itself."""
    return get_sanitize_patterns(Path(path).read_text("utf-8"))


def is_checked(cell) -> bool:
    """Whether nbval --nbval-lax compares this cell's output (and runs it at all)."""
    if cell.get("cell_type") != "code":
        return False
    markers = dict(find_comment_markers(cell.source))
    markers.update(dict(find_metadata_tags(cell.get("metadata", {}))))
    return bool(markers.get("check")) and not markers.get("skip")


def compared_text(cell) -> str:
    """The stored output text nbval compares: stdout and every data type but images."""
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            if out.get("name") != "stderr":
                parts.append(out.get("text", ""))
        elif out.get("output_type") in ("execute_result", "display_data"):
            for key, value in out.get("data", {}).items():
                if key not in SKIPPED_DATA and isinstance(value, str):
                    parts.append(value)
    return "\n".join(parts)


def sanitize(text: str, patterns) -> str:
    for regex, replace in patterns:
        text = re.sub(regex, replace, text)
    return text


def risky_numbers(text: str) -> list[tuple[str, str]]:
    """``(number, line)`` for every non-integer number or rounded ratio left in ``text``."""
    found = []
    for line in text.splitlines():
        checked = CHECKED_LINE.match(line)
        if checked is None:
            found += [(m.group(0), line.strip()) for m in NUMBER.finditer(line) if RISKY.search(m.group(0))]
        else:
            found += [(m.group(0), line.strip()) for m in NUMBER.finditer(checked.group(1))
                      if "." in m.group(0) and COMPUTED_BOUND.search(m.group(0))]
    return found


def violations(nb, patterns) -> dict[int, list[tuple[str, str]]]:
    """Cell index -> risky numbers, for each checked cell without an ``# exact: <reason>`` comment."""
    bad = {}
    for i, cell in enumerate(nb.cells):
        if not is_checked(cell) or EXACT.search(cell.source):
            continue
        found = risky_numbers(sanitize(compared_text(cell), patterns))
        if found:
            bad[i] = found
    return bad


def report(name: str, bad) -> str:
    lines = [f"{name}: {sum(map(len, bad.values()))} computed-looking numbers in checked cells "
             "(print them with checks.check_within, or mark the cell `# exact: <reason>` if every "
             "number it prints is exact):"]
    for i, found in bad.items():
        lines.append(f"  cell {i}: " + ", ".join(n for n, _ in found) + f"   | {found[0][1][:100]}")
    return "\n".join(lines)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_checked_cells_print_computed_floats_only_through_check_within(path):
    nb = nbformat.read(path, as_version=4)
    bad = violations(nb, sanitizers())
    assert not bad, report(path.name, bad)


# --- the checker itself, on synthetic notebooks ---------------------------------------------

def _notebook(source: str, text: str, *, tags=None):
    cell = nbformat.v4.new_code_cell(source)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
    if tags:
        cell.metadata["tags"] = tags
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("0.5 in prose"), cell])


def test_a_checked_cell_printing_a_rounded_computed_ratio_fails():
    nb = _notebook("# NBVAL_CHECK_OUTPUT\nprint(f'{a / b:.0f}×')", "stable vs paper  65×  (expected ≥ 10×)\n")
    bad = violations(nb, sanitizers())
    assert list(bad) == [1]
    assert [n for n, _ in bad[1]] == ["65×", "10×"]


@pytest.mark.parametrize("text", ["mean 0.2951\n", "tolerance 1e-6\n", "share 12 %\n", "4.3%\n",
                                  "speed-up 3x\n", "-17.3\n", "value = 2.4e-07\n"])
def test_every_kind_of_computed_looking_number_is_caught(text):
    assert violations(_notebook("# NBVAL_CHECK_OUTPUT\nprint(x)", text), sanitizers())


def test_a_cell_checked_through_its_metadata_tag_is_checked_too():
    nb = _notebook("print(x)", "0.25\n", tags=["nbval-check-output"])
    assert violations(nb, sanitizers())


@pytest.mark.parametrize("source, text", [
    ("# NBVAL_CHECK_OUTPUT\nprint(n)", "79315 of 100000 draws, 800 steps, cell 3\n"),  # integers
    ("print(x)", "0.2951\n"),  # not checked
    ("# NBVAL_CHECK_OUTPUT\n# NBVAL_SKIP\nprint(x)", "0.2951\n"),  # never run
    ("# NBVAL_CHECK_OUTPUT\n# exact: the settings the cell passes\nprint(p)", "p = 0.3, T = 0.1\n"),
])
def test_integers_unchecked_cells_and_exact_cells_pass(source, text):
    assert not violations(_notebook(source, text), sanitizers())


def test_an_exact_comment_needs_a_reason():
    nb = _notebook("# NBVAL_CHECK_OUTPUT\n# exact:\nprint(x)", "0.2951\n")
    assert violations(nb, sanitizers())


def test_check_within_output_passes_once_sanitized(capsys):
    checks.check_within("stable vs paper gradients, ratio", 65.4321, 10, 1e4)
    checks.check_within("fraction dropped", 0.2951, 0.28, 0.32)
    text = capsys.readouterr().out
    assert "65.43" in text and "0.2951" in text  # a reader still sees the numbers
    nb = _notebook("# NBVAL_CHECK_OUTPUT\ncheck_within(...)", text)
    assert not violations(nb, sanitizers())
    assert violations(nb, []), "without the sanitizer the measured values are risky"


def test_a_number_beside_a_check_within_line_is_still_caught(capsys):
    checks.check_within("ratio", 65.4, 10, 1e4)
    nb = _notebook("# NBVAL_CHECK_OUTPUT\n...", capsys.readouterr().out + "ratio rounded: 65×\n")
    assert [n for n, _ in violations(nb, sanitizers())[1]] == ["65×"]


def test_settings_in_a_check_within_name_pass(capsys):
    checks.check_within("T = 0.1, SSR: mean |a - b|", 0.0042, 0, 0.01)
    nb = _notebook("# NBVAL_CHECK_OUTPUT\n...", capsys.readouterr().out)
    assert not violations(nb, sanitizers())


def test_a_check_within_bound_computed_from_a_float_is_caught(capsys):
    low = 1 / 3 - 0.01  # computed: prints as 0.323333
    checks.check_within("fraction", 0.333, low, 0.35)
    checks.check_within("ratio", 65.4, 10, 100000)  # six digits, but an integer: a setting
    checks.check_within("small", 2e-7, 1.5e-7, 0.000125)  # literals with few digits
    nb = _notebook("# NBVAL_CHECK_OUTPUT\n...", capsys.readouterr().out)
    assert [n for n, _ in violations(nb, sanitizers())[1]] == ["0.323333"]
