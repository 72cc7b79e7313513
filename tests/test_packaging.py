"""environment.yml (Binder/conda) and pyproject.toml (pip) must name the same packages."""
import re
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
# conda-forge names that differ from the PyPI names
CONDA_TO_PIP = {"pytorch-cpu": "torch", "pytorch": "torch", "matplotlib-base": "matplotlib"}
# conda-only tooling, not runtime dependencies of the package
CONDA_ONLY = {"python", "pip"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _environment_yml_packages():
    conda, pip, section = set(), set(), None
    for line in (ROOT / "environment.yml").read_text().splitlines():
        line = line.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        if not line.startswith(" "):
            section = line.rstrip(":")
            continue
        item = line.strip()
        if section != "dependencies" or not item.startswith("- "):
            continue
        item = item[2:].strip()
        if item == "pip:":
            continue
        indent = len(line) - len(line.lstrip())
        if indent > 2:  # under `pip:`
            if item not in ("-e .", "."):
                pip.add(_name(item))
        else:
            conda.add(CONDA_TO_PIP.get(_name(item), _name(item)))
    return conda - CONDA_ONLY, pip


def test_environment_yml_names_the_same_dependencies_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"]}
    conda, pip = _environment_yml_packages()
    assert conda | pip == wanted, {"only in environment.yml": (conda | pip) - wanted, "only in pyproject.toml": wanted - (conda | pip)}


def test_environment_yml_installs_this_package():
    lines = [line.strip() for line in (ROOT / "environment.yml").read_text().splitlines()]
    assert "- -e ." in lines or "- ." in lines
