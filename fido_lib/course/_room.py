"""The grader's side of the closed room: a submission's temporary folder, its kernel's
environment, and a tripwire over the files a later grading reads.

Each submission runs in a copy of its own folder under a temporary batch folder, never
in the folder itself: a relative path from the kernel reaches nothing the grader keeps.
The kernel's IPython profile and temporary files live in the room too, so nothing it
writes there (a startup file, a module on ``sys.path``) survives into the next kernel.
The tripwire records the files the next kernel and the grader itself read (the full
notebooks, the submissions, ``fido_lib``'s sources, the folders on ``sys.path``, the
kernel's interpreter); a submission that changes one of them stops the batch.
"""
from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import fido_lib

__all__ = ["MAX_FOLDER_BYTES", "MAX_FOLDER_FILES", "Room", "Tripwire", "kernel_environment"]

#: A submission's folder is copied into its room; beyond these it is refused (the limit is in the message).
MAX_FOLDER_BYTES = 500 * 2**20
MAX_FOLDER_FILES = 10_000
_SKIPPED_FOLDERS = (".ipynb_checkpoints", "__pycache__")


@dataclass(frozen=True)
class Room:
    """One submission's temporary folders: ``work`` (the copy, the kernel's working
    folder), ``ipython`` (its profile) and ``tmp`` (its TMPDIR), all under ``path``."""

    path: Path

    @property
    def work(self) -> Path:
        return self.path / "work"

    @property
    def ipython(self) -> Path:
        return self.path / "ipython"

    @property
    def tmp(self) -> Path:
        return self.path / "tmp"

    def fill(self, submission: Path) -> Path:
        """Copy the submission's folder into ``work`` and return the copy of the notebook.

        Regular files and folders only (a symbolic link could lead back out), and of the
        notebooks only the submission itself (a flat folder of everyone's notebooks is not
        shared with each kernel); refused beyond ``MAX_FOLDER_BYTES`` / ``MAX_FOLDER_FILES``
        before anything is copied.
        """
        folder = submission.parent
        plan, total = [], 0
        for here, folders, files in os.walk(folder):  # does not follow links to folders
            folders[:] = sorted(f for f in folders if f not in _SKIPPED_FOLDERS
                                and not os.path.islink(os.path.join(here, f)))
            for name in sorted(files):
                source = Path(here, name)
                if source.is_symlink() or not source.is_file():
                    continue
                if source.suffix == ".ipynb" and source != submission:
                    continue
                total += source.stat().st_size
                plan.append(source)
                if len(plan) > MAX_FOLDER_FILES or total > MAX_FOLDER_BYTES:
                    raise ValueError(
                        f"the folder of {submission} holds more than {MAX_FOLDER_FILES} files or "
                        f"{MAX_FOLDER_BYTES // 2**20} MB, which each kernel would get a copy of: give each "
                        "submission a folder of its own (e.g. submitted/<student>/<assignment>/)")
        for path in (self.work, self.ipython, self.tmp):
            path.mkdir(parents=True)
        for source in plan:
            target = self.work / source.relative_to(folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        return self.work / submission.name


def kernel_environment(room: Room, threads: int | None = None) -> dict[str, str]:
    """The grader's environment with the kernel's profile, temporary files and working
    folder in the room, and no bytecode written (nothing a kernel imports leaves a file)."""
    env = dict(os.environ)
    for name in ("OLDPWD", "PYTHONSTARTUP", "JPY_PARENT_PID"):
        env.pop(name, None)
    env.update(IPYTHONDIR=str(room.ipython), TMPDIR=str(room.tmp), TEMP=str(room.tmp), TMP=str(room.tmp),
               PWD=str(room.work), PYTHONDONTWRITEBYTECODE="1")
    if threads is not None:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    return env


def _stat(path: Path):
    try:
        s = path.stat()
    except OSError:
        return None
    return (s.st_size, s.st_mtime_ns, s.st_ctime_ns, s.st_ino)


class Tripwire:
    """The state (size, mtime, ctime, inode) of the files a later kernel or the grader reads.

    ``files`` are watched one by one, ``trees`` with every ``.py``/``.pth``/``.so``/
    ``.json`` file below them, ``folders`` by their entries (a new ``.pth`` file or
    ``sitecustomize.py`` on ``sys.path``). ``changed()`` lists what differs since the start.
    """

    def __init__(self, files=(), trees=(), folders=()):
        self.files = [Path(f) for f in files]
        self.trees = [Path(t) for t in trees]
        self.folders = [Path(f) for f in folders]
        self.start = self._state()

    @classmethod
    def for_grading(cls, files, interpreter: str | None = None) -> Tripwire:
        """Watch ``files`` (full notebooks, submissions), ``fido_lib``'s sources, the
        top of every folder on ``sys.path`` and the kernel's interpreter."""
        package = Path(fido_lib.__file__).resolve().parent
        folders = sorted({Path(p).resolve() for p in sys.path if p and Path(p).is_dir()
                          and Path(p).resolve() != Path.cwd().resolve()})
        extra = [Path(interpreter).resolve()] if interpreter else []
        return cls(files=[*files, *extra], trees=[package], folders=folders)

    def _state(self) -> dict:
        state = {str(f): _stat(f) for f in self.files}
        for tree in self.trees:
            for here, folders, names in os.walk(tree):
                folders[:] = [f for f in folders if f != "__pycache__"]
                for name in names:
                    if name.endswith((".py", ".pth", ".so", ".json")):
                        state[os.path.join(here, name)] = _stat(Path(here, name))
        for folder in self.folders:
            try:
                state[f"{folder}/"] = tuple(sorted(e.name for e in os.scandir(folder) if e.name != "__pycache__"))
            except OSError:
                state[f"{folder}/"] = None
            for name in state[f"{folder}/"] or ():
                if name.endswith((".pth", ".py")):
                    state[str(folder / name)] = _stat(folder / name)
        return state

    def changed(self) -> list[str]:
        """The watched paths that differ from the start (added, removed or changed)."""
        now = self._state()
        return sorted(k for k in now.keys() | self.start.keys() if now.get(k) != self.start.get(k))
