"""Launch cells: the Binder/Colab badges and the Colab install cell of every notebook, and forks.

The install cell is the first code cell of every notebook. Off Colab it does nothing.
On Colab it installs ``fido_lib`` from the course repository without touching Colab's
torch, brings ipywidgets 8 (Colab ships 7.7, which the widget notebook cannot use) and
switches on Colab's custom widget manager, which draws ipywidgets 8 controls.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat

from ._files import (
    BADGES_ROLE,
    INSTALL_ROLE,
    META_KEY,
    NOTEBOOK_DIR,
    find_role,
    load_toml,
    notebooks,
    read_notebook,
    role,
    write_if_changed,
)
from .assignments import generate_assignments
from .repository import (
    CONFIG_FILE,
    Repository,
    badge_source,
    read_repository,
    rewrite_launch_urls,
    update_readme,
    write_repository,
)

__all__ = [
    "COLAB_KEEPS",
    "add_launch_cells",
    "colab_requirements",
    "install_source",
    "refresh_launch",
    "set_repository",
]

# Colab's own builds, never installed by the cell: replacing Colab's CUDA torch would pull
# gigabytes and break its runtime. Every other runtime requirement is passed to pip, which
# leaves what Colab already has at a good enough version alone and upgrades the rest
# (ipywidgets 7.7 -> 8).
COLAB_KEEPS = frozenset({"torch", "torchvision"})


def _requirement_name(requirement: str) -> str:
    """The normalised project name of a requirement string ("Foo_Bar>=1" -> "foo-bar")."""
    return re.split(r"[<>=!~\[ ;@]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def colab_requirements(root) -> list[str]:
    """The package's runtime requirements (pyproject.toml) that the Colab cell installs: all but torch."""
    path = Path(root) / "pyproject.toml"
    project = load_toml(path.read_text(encoding="utf-8"), path)["project"]
    return [r for r in project["dependencies"] if _requirement_name(r) not in COLAB_KEEPS]


def install_source(repo: Repository, extra_requirements) -> str:
    """Source of the Colab install cell: silent off Colab; on Colab, torch stays as it is.

    ``fido_lib`` itself goes in with ``--no-deps`` (its ``torch>=2.1`` would otherwise be
    resolved again), then ``extra_requirements`` — all under a constraint pinning torch to
    the installed version, so pip fails loudly rather than replace it.
    ``--no-warn-conflicts``: pip would otherwise list every pin of Colab's preinstalled
    packages that an upgrade (ipywidgets 7 -> 8) leaves unmet, after every install.
    ``enable_custom_widget_manager`` lets Colab's front end draw ipywidgets 8 controls;
    if an older ipywidgets was imported before the cell ran, it asks for a restart.
    """
    if not isinstance(repo, Repository):
        raise TypeError(f"repo must be a Repository, got {type(repo).__name__}")
    extras = ", ".join(f'"{r}"' for r in extra_requirements)
    return "\n".join([
        "# On Google Colab only: install fido_lib from the course repository, keeping Colab's torch,",
        "# and ipywidgets 8 (Colab ships 7) with the widget manager that draws it.",
        "# Anywhere else (make lab, Binder) fido_lib is installed already and this cell does nothing.",
        "import sys",
        "",
        'if "google.colab" in sys.modules:',
        "    import subprocess",
        "    import tempfile",
        "    from importlib.metadata import version",
        "",
        "    from google.colab import output",
        "",
        '    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as keep:',
        '        keep.write(f"torch=={version(\'torch\')}\\n")  # constraint: never replace torch',
        '    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-warn-conflicts",',
        '           "--constraint", keep.name]',
        f'    subprocess.run(pip + ["--no-deps", "{repo.pip_requirement}"], check=True)',
        f"    subprocess.run(pip + [{extras}], check=True)" if extras else "    pass",
        "    output.enable_custom_widget_manager()  # Colab's front end draws ipywidgets 8 controls only with it",
        '    old = sys.modules.get("ipywidgets")',
        '    if old is not None and int(old.__version__.split(".")[0]) < 8:',
        '        print(f"ipywidgets {old.__version__} was imported before this cell: "',
        '              "Runtime > Restart session, then run the notebook from the top")',
    ])


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
    i = find_role(nb, BADGES_ROLE)
    if i is None:
        cell = nbformat.v4.new_markdown_cell(badges, id=BADGES_ROLE)
        cell.metadata[META_KEY] = {"role": BADGES_ROLE}
        cells.insert(0, cell)
    else:
        cells[i].source = badges
        if i != 0:
            cells.insert(0, cells.pop(i))
    install = install_source(repo, extra_requirements)
    i = find_role(nb, INSTALL_ROLE)
    first_code = next((k for k, c in enumerate(cells) if c.cell_type == "code" and role(c) != INSTALL_ROLE),
                      len(cells))
    if i is None:
        cell = nbformat.v4.new_code_cell(install, id=INSTALL_ROLE)
        cell.metadata[META_KEY] = {"role": INSTALL_ROLE}
        cells.insert(first_code, cell)
    else:
        cells[i].source = install
        if i > first_code:
            cells.insert(first_code, cells.pop(i))
    for cell in cells:
        if cell.cell_type == "markdown" and role(cell) != BADGES_ROLE:
            cell.source = rewrite_launch_urls(cell.source, repo)
    return nbformat.writes(nb) != before


def refresh_launch(root, repo: Repository | None = None, readme: bool = True) -> list[Path]:
    """Badges and install cells in every ``notebooks/NN_*.ipynb`` (and README); the files changed."""
    root = Path(root)
    repo = repo or read_repository(root)
    extra = colab_requirements(root)
    changed = []
    for path in notebooks(root, NOTEBOOK_DIR):
        nb = read_notebook(path)
        if add_launch_cells(nb, repo, path.relative_to(root).as_posix(), extra) and write_if_changed(path, nb):
            changed.append(path)
    readme_path = root / "README.md"
    if readme and readme_path.is_file():
        found = notebooks(root, NOTEBOOK_DIR)
        first = found[0].relative_to(root).as_posix() if found else None
        text = readme_path.read_text(encoding="utf-8")
        new = update_readme(text, repo, first)
        if new != text:
            readme_path.write_text(new, encoding="utf-8")
            changed.append(readme_path)
    return changed


def set_repository(root, slug: str, branch: str = "main") -> list[Path]:
    """Point the whole course at ``slug``/``branch``: course.toml, notebooks, README, assignments.

    The name is checked before anything is written. Returns the files that changed;
    run twice, the second call returns ``[]``.
    """
    root = Path(root)
    repo = Repository(slug, branch)
    changed = [root / CONFIG_FILE] if write_repository(root, repo) else []
    changed += refresh_launch(root, repo)
    changed += [p for p, status in generate_assignments(root).items() if status in ("written", "removed")]
    return changed
