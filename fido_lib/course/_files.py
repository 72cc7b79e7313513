"""Notebook files and this package's own cell roles: shared by launch, assignments and grading."""
from __future__ import annotations

from pathlib import Path

import nbformat

__all__ = [
    "ASSIGNMENT_DIR",
    "BADGES_ROLE",
    "INSTALL_ROLE",
    "META_KEY",
    "NOTEBOOK_DIR",
    "STUDENT_NOTE_ROLE",
    "find_role",
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
