"""Notebook files and this package's own cell roles: shared by launch, assignments and grading."""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "ASSIGNMENT_DIR",
    "BADGES_ROLE",
    "INSTALL_ROLE",
    "META_KEY",
    "NOTEBOOK_DIR",
    "STUDENT_NOTE_ROLE",
    "find_role",
    "load_toml",
    "notebook_text",
    "notebooks",
    "read_notebook",
    "role",
    "write_if_changed",
]

NOTEBOOK_DIR = "notebooks"
ASSIGNMENT_DIR = "assignments"
#: Key of this package's own cell metadata: ``{"fido_lib": {"role": ...}}``.
META_KEY = "fido_lib"
BADGES_ROLE, INSTALL_ROLE, STUDENT_NOTE_ROLE = "launch-badges", "colab-install", "student-note"


def role(cell) -> str | None:
    """The ``fido_lib`` role of a cell (badges, install cell, student note), or None."""
    meta = cell.get("metadata", {}).get(META_KEY)
    return meta.get("role") if isinstance(meta, dict) else None


def find_role(nb, wanted: str) -> int | None:
    """Index of the first cell with role ``wanted``, or None."""
    for i, cell in enumerate(nb.cells):
        if role(cell) == wanted:
            return i
    return None


def notebooks(root, folder: str) -> list[Path]:
    """The course's ``NN_*.ipynb`` files in ``root/folder``, in order."""
    return sorted((Path(root) / folder).glob("[0-9][0-9]_*.ipynb"))


def read_notebook(path: Path):
    return nbformat.read(path, as_version=4)


def notebook_text(nb) -> str:
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


def write_if_changed(path: Path, nb) -> bool:
    """Write ``nb`` to ``path`` unless the file already holds exactly that; True if written."""
    text = notebook_text(nb)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


def load_toml(text: str, path) -> dict:
    """Parse TOML ``text`` read from ``path`` (standard library ``tomllib``; ``tomli`` on 3.10);
    invalid TOML is a ``ValueError`` naming the file."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path} is not valid TOML: {error}") from None
