"""Packaging tells the truth: environment.yml (Binder/conda) and pyproject.toml (pip) name the
same packages; a built wheel declares every shipped licence file, its URLs, one version and
py.typed; CITATION.cff cites the papers README cites."""
import re
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

import fido_lib
from fido_lib import course

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "fido_lib" / "data"
# conda-forge names that differ from the PyPI names
CONDA_TO_PIP = {"pytorch-cpu": "torch", "pytorch": "torch", "matplotlib-base": "matplotlib"}
# conda-only tooling, not runtime dependencies of the package
CONDA_ONLY = {"python", "pip"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


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


def test_environment_yml_names_the_library_and_lab_dependencies_of_pyproject():
    project = _project()
    wanted = {_name(r) for r in project["dependencies"] + project["optional-dependencies"]["lab"]}
    conda, pip = _environment_yml_packages()
    assert conda | pip == wanted, {"only in environment.yml": (conda | pip) - wanted,
                                   "only in pyproject.toml": wanted - (conda | pip)}


def test_environment_yml_installs_this_package():
    lines = [line.strip() for line in (ROOT / "environment.yml").read_text().splitlines()]
    assert "- -e ." in lines or "- ." in lines


def test_extras_match_their_use():
    project = _project()
    core = {_name(r) for r in project["dependencies"]}
    extras = {k: {_name(r) for r in v} for k, v in project["optional-dependencies"].items()}
    assert not core & {"jupyterlab", "ipykernel", "nbformat", "nbclient", "pytest", "torchvision"}
    assert {"nbformat", "nbclient", "tomli"} <= extras["course"] and {"jupyterlab", "ipykernel"} <= extras["lab"]
    dev = project["optional-dependencies"]["dev"]
    assert "fido-lib" in extras["dev"] and any("course" in r and "lab" in r for r in dev)
    assert {"pytest", "nbval", "ruff", "scipy"} <= extras["dev"]
    tomli = next(r for r in project["optional-dependencies"]["course"] if _name(r) == "tomli")
    assert "python_version < '3.11'" in tomli.replace('"', "'")


def test_version_is_written_once():
    assert "version" not in _project() and "version" in _project()["dynamic"]
    for name in ("pyproject.toml", "CITATION.cff"):
        assert not re.search(r"^version\s*[:=]\s*[\"']?\d", (ROOT / name).read_text(), re.MULTILINE), name


def test_every_shipped_image_has_its_licence_notice():
    for image in sorted(p for p in DATA.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg")):
        notice = image.with_suffix(".txt")
        assert notice.is_file(), f"{image.name} has no {notice.name} (photographer, licence, source)"
        assert re.search(r"^Licence: ", notice.read_text(), re.MULTILINE), f"{notice.name} names no licence"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """A wheel built offline from a copy of the sources (the working tree gets no build/ folder)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist")
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "fido_lib", src / "fido_lib", ignore=ignore)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", str(src), "-w", str(tmp / "dist")], check=True, capture_output=True)
    (path,) = (tmp / "dist").glob("fido_lib-*.whl")
    with zipfile.ZipFile(path) as whl:
        names = set(whl.namelist())
        metadata_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(whl.read(metadata_name).decode())
    return names, metadata


def test_wheel_metadata_declares_every_licence_file(wheel):
    names, metadata = wheel
    assert metadata["License-Expression"] == "MIT"
    declared = set(metadata.get_all("License-File"))
    shipped = {"LICENSE"} | {p.relative_to(ROOT).as_posix() for p in DATA.glob("*.txt")}
    assert {"fido_lib/data/LICENSE-Apache-2.0.txt", "fido_lib/data/LICENSE-WordNet-3.0.txt",
            "fido_lib/data/chelsea.txt"} <= shipped
    assert declared == shipped
    dist_info = next(n for n in names if n.endswith(".dist-info/METADATA")).rsplit("/", 1)[0]
    assert {f"{dist_info}/licenses/{f}" for f in shipped} <= names


def test_wheel_ships_types_course_package_and_data(wheel):
    names, metadata = wheel
    assert metadata["Version"] == fido_lib.__version__
    assert {"fido_lib/py.typed", "fido_lib/course/__main__.py", "fido_lib/course/grading.py",
            "fido_lib/data/chelsea.png", "fido_lib/data/toy_birds_cnn.pt"} <= names
    assert "Typing :: Typed" in metadata.get_all("Classifier")
    requires = metadata.get_all("Requires-Dist")
    assert any(r.startswith("tqdm") for r in requires)
    assert any(r.startswith("nbformat") and 'extra == "course"' in r for r in requires)


def test_project_urls_point_at_the_course_repository(wheel):
    _, metadata = wheel
    repo = course.read_repository(ROOT)
    urls = dict(u.split(", ", 1) for u in metadata.get_all("Project-URL"))
    assert set(urls) >= {"Homepage", "Source", "Issues", "Documentation"}
    assert all(url.startswith(f"https://github.com/{repo.slug}") for url in urls.values()), urls


def test_citation_cites_the_software_and_the_three_papers():
    yaml = pytest.importorskip("yaml")
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "software" and cff["license"] == "MIT"
    repo = course.read_repository(ROOT)
    assert cff["repository-code"] == f"https://github.com/{repo.slug}"
    readme = (ROOT / "README.md").read_text()
    bibtex_titles = re.findall(r"^\s*title\s*=\s*\{(.+)\},?$", readme, re.MULTILINE)
    cited = {(ref["title"].replace(" - ", " -- "), ref["year"]) for ref in cff["references"]}
    years = re.findall(r"^\s*year\s*=\s*\{(\d+)\}", readme, re.MULTILINE)
    assert cited == {(t, int(y)) for t, y in zip(bibtex_titles, years, strict=True)} and len(cited) == 3
    korsch = next(r for r in cff["references"] if r["authors"][0]["family-names"] == "Korsch")
    assert any(i["value"] == "arXiv:2307.14825" for i in korsch["identifiers"])


def test_ci_lints_before_it_tests():
    ruff = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]
    assert ruff["line-length"] == 120 and {"E", "F", "W", "I", "B", "UP"} <= set(ruff["lint"]["select"])
    steps = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert "make lint" in steps and steps.index("make lint") < steps.index("make test")
    assert re.search(r"^lint: .*\n\t\$\(VENV\)/bin/ruff check \.$", (ROOT / "Makefile").read_text(), re.MULTILINE)
