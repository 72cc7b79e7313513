"""Course tooling: launch badges, the Colab install cell, forks, student notebooks and grading.

The repository a course runs from is written in one place, ``course.toml`` at the
repository root. Everything that names it is generated from there:

* a Binder and an "Open in Colab" badge at the top of every notebook and in the README;
* the first code cell of every notebook, which on Google Colab (only) installs this
  package from that repository without touching Colab's own torch, and brings the
  ipywidgets 8 the widget notebook needs;
* the student notebooks in ``assignments/``: each full notebook in ``notebooks/``
  with its exercises' solutions cut out, following nbgrader's conventions, so an
  instructor can also feed the full notebooks to nbgrader itself;
* grades: students' notebooks run and scored against the full notebook, the only
  authority on which cells are tests and what they are worth.

From the repository root::

    python -m fido_lib.course set-repo OWNER/NAME --branch main   # a fork: rewrite everything
    python -m fido_lib.course launch                              # add/refresh badges and install cells
    python -m fido_lib.course assignments [--check]               # (re)generate assignments/
    python -m fido_lib.course grade submissions/*/03_*.ipynb      # score test cells (CSV), no nbgrader needed
    python -m fido_lib.course show                                # print the configured repository

Every rewrite is idempotent: running a command twice changes nothing the second time.

Modules: ``repository`` (course.toml, badges and URLs), ``launch`` (the Colab cell,
forks), ``assignments`` (student notebooks), ``grading``, ``cli``; ``book`` (the course
book's two editions, ``python -m fido_lib.course.book``; needs the ``book`` extra).
"""
from ._files import ASSIGNMENT_DIR, BADGES_ROLE, INSTALL_ROLE, META_KEY, NOTEBOOK_DIR, STUDENT_NOTE_ROLE
from .assignments import (
    BEGIN_HIDDEN,
    BEGIN_SOLUTION,
    CODE_STUB,
    END_HIDDEN,
    END_SOLUTION,
    TEXT_STUB,
    generate_assignments,
    has_exercises,
    is_test_cell,
    nbgrader_checksum,
    nbgrader_metadata,
    student_notebook,
    validate_exercises,
)
from .cli import main
from .grading import (
    CSV_COLUMNS,
    Grade,
    SubmissionReport,
    grade_notebook,
    grade_submissions,
    max_jobs,
    notebook_imports,
    write_grades_csv,
)
from .launch import COLAB_KEEPS, add_launch_cells, colab_requirements, install_source, refresh_launch, set_repository
from .repository import (
    BINDER_BADGE,
    COLAB_BADGE,
    CONFIG_FILE,
    LaunchLink,
    Repository,
    badge_source,
    launch_links,
    read_repository,
    repository_from_links,
    rewrite_launch_urls,
    update_readme,
    write_repository,
)

__all__ = [
    "ASSIGNMENT_DIR",
    "BADGES_ROLE",
    "BEGIN_HIDDEN",
    "BEGIN_SOLUTION",
    "BINDER_BADGE",
    "CODE_STUB",
    "COLAB_BADGE",
    "COLAB_KEEPS",
    "CONFIG_FILE",
    "CSV_COLUMNS",
    "END_HIDDEN",
    "END_SOLUTION",
    "Grade",
    "INSTALL_ROLE",
    "LaunchLink",
    "META_KEY",
    "NOTEBOOK_DIR",
    "Repository",
    "STUDENT_NOTE_ROLE",
    "SubmissionReport",
    "TEXT_STUB",
    "add_launch_cells",
    "badge_source",
    "colab_requirements",
    "generate_assignments",
    "grade_notebook",
    "grade_submissions",
    "has_exercises",
    "install_source",
    "is_test_cell",
    "launch_links",
    "main",
    "max_jobs",
    "nbgrader_checksum",
    "nbgrader_metadata",
    "notebook_imports",
    "read_repository",
    "refresh_launch",
    "repository_from_links",
    "rewrite_launch_urls",
    "set_repository",
    "student_notebook",
    "update_readme",
    "validate_exercises",
    "write_grades_csv",
    "write_repository",
]
