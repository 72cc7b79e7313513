"""fido_lib.plotting as a package: what it exports, which way its imports point, the style
helpers, and the figures of notebooks 05 and 06 on duck-typed results (no experiment needed)."""
import ast
import json
import re
import subprocess
import sys
import types
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from fido_lib import plotting as P  # noqa: E402
from fido_lib import stats  # noqa: E402
from fido_lib.plotting import concrete, fido, mask_quality, style, variance  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(P.__file__).parent
SUBMODULES = (style, concrete, fido, variance, mask_quality)
#: What the core library may not import (experiments -> library, never back); the last two
#: are the experiments' former homes.
EXPERIMENTS = ("fido_lib.experiments", "fido_lib.variance", "fido_lib.mask_quality")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _notebook_names():
    """Every plotting name a notebook's code cells use: ``plotting.X`` and ``from fido_lib.plotting import X``."""
    names = {}
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        found = set(re.findall(r"\bplotting\.(\w+)", code))
        for group in re.findall(r"from fido_lib\.plotting import (\([^)]*\)|[^\n#]*)", code):
            found |= {n.split(" as ")[0].strip() for n in group.strip("()").split(",") if n.strip()}
        for name in found:
            names.setdefault(name, []).append(path.name)
    return names


# ----------------------------------------------------------------- the package's surface
def test_every_name_the_notebooks_use_is_exported():
    names = _notebook_names()
    assert len(names) >= 15  # the notebooks do use the package: the search found them
    missing = {n: nbs for n, nbs in names.items() if n not in P.__all__ or not hasattr(P, n)}
    assert not missing, f"used by notebooks but not exported by fido_lib.plotting: {missing}"


def test_the_package_reexports_every_public_name_of_its_modules_once():
    for module in SUBMODULES:
        assert module.__all__, module.__name__
        for name in module.__all__:
            assert getattr(P, name) is getattr(module, name), f"{module.__name__}.{name}"
    from_modules = [n for m in SUBMODULES for n in m.__all__]
    assert len(from_modules) == len(set(from_modules))  # each name lives in one module
    assert sorted(P.__all__) == sorted(from_modules + ["plt"])
    assert P.plt is plt  # callers close figures with plotting.plt.close
    public = {n for n in dir(P) if n.startswith("plot_")}
    assert public <= set(P.__all__)


def test_modules_are_small_import_at_the_top_and_never_import_the_experiments():
    for path in sorted(PACKAGE.glob("*.py")):
        source = path.read_text()
        assert source.count("\n") <= 600, path.name
        tree = ast.parse(source)
        top = set(map(id, tree.body))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):  # resolve relative imports from fido_lib.plotting.X
                base = {0: "", 1: "fido_lib.plotting.", 2: "fido_lib."}[node.level]
                modules = [base + (node.module or "")]
            else:
                continue
            for module in modules:
                assert not module.startswith(EXPERIMENTS), f"{path.name} imports {module}: an experiment"
                # one documented exception: the optional inline backend, only inside IPython
                assert id(node) in top or module == "matplotlib_inline.backend_inline", \
                    f"{path.name}:{node.lineno} imports {module} inside a function"
    # and at run time: importing the package loads no experiment
    code = f"import sys, fido_lib.plotting; print(sorted(m for m in sys.modules if m.startswith({EXPERIMENTS})))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"MPLBACKEND": "Agg", "PATH": ""}).stdout
    assert out.strip() == "[]"


# ----------------------------------------------------------------- style
def test_one_colour_per_relaxation_from_the_okabe_ito_palette():
    assert set(P.RELAXATION_COLOURS) == {"gal", "paper", "stable"}
    assert len(set(P.RELAXATION_COLOURS.values())) == 3
    assert set(P.RELAXATION_COLOURS.values()) <= set(P.OKABE_ITO)


@pytest.fixture
def _rc():
    with matplotlib.rc_context():
        yield


@pytest.mark.usefixtures("_rc")
def test_sharp_figures_sets_the_dpi_and_asks_ipython_for_retina(monkeypatch):
    calls = []
    backend = types.ModuleType("matplotlib_inline.backend_inline")
    backend.set_matplotlib_formats = lambda *formats: calls.append(formats)
    monkeypatch.setitem(sys.modules, "matplotlib_inline.backend_inline", backend)
    # outside IPython: only the dpi
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    P.sharp_figures(120)
    assert plt.rcParams["figure.dpi"] == 120 and calls == []
    # inside IPython (a shell is running): retina PNGs as well, unless asked not to
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: object()))
    P.sharp_figures()
    assert plt.rcParams["figure.dpi"] == 110 and calls == [("retina",)]
    P.sharp_figures(100, retina=False)
    assert plt.rcParams["figure.dpi"] == 100 and calls == [("retina",)]
    # a plain IPython import without a shell (e.g. a script) is not a notebook
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: None))
    P.sharp_figures(150)
    assert calls == [("retina",)]


@pytest.mark.usefixtures("_rc")
@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"dpi": 72}, ValueError, "dpi must be >= 100"),
    ({"dpi": float("nan")}, ValueError, "dpi"),
    ({"dpi": "200"}, TypeError, "dpi must be a number"),
    ({"dpi": True}, TypeError, "dpi"),
    ({"retina": 1}, TypeError, "retina"),
])
def test_sharp_figures_refuses_bad_input_before_changing_anything(kwargs, error, match):
    before = plt.rcParams["figure.dpi"]
    with pytest.raises(error, match=match):
        P.sharp_figures(**kwargs)
    assert plt.rcParams["figure.dpi"] == before


# ----------------------------------------------------------------- variance figures (05), duck-typed
class _VarianceResult:
    """The attributes the variance figures read, and nothing else."""

    def __init__(self, grad_norm, arms):
        self.grad_norm = grad_norm
        self.labels = tuple(a["label"] for a in arms)
        self.metadata = {"arms": arms}

    def index(self, label):
        if label not in self.labels:
            raise ValueError(f"label must be one of {list(self.labels)}, got {label!r}")
        return self.labels.index(label)

    def trace(self, label):
        return self.grad_norm[self.index(label)]


def _ablation():
    arms = [{"label": f"{r}{t:g}", "relaxation": r, "temp": t} for r in ("gal", "paper") for t in (0.1, 1.0)]
    grad_norm = np.random.default_rng(0).gamma(2.0, size=(4, 5, 12))
    return _VarianceResult(grad_norm, arms)


def test_across_run_std_plots_the_library_statistic():
    result = _ablation()
    ax = P.plot_across_run_std(result).axes[0]
    assert len(ax.lines) == 4 and ax.get_xlabel() and ax.get_ylabel()
    for line, label in zip(ax.lines, result.labels, strict=True):
        np.testing.assert_array_equal(line.get_ydata(), stats.across_run_std(result.trace(label)))
        assert line.get_color() == P.RELAXATION_COLOURS[label.rstrip("0.1")]


def test_variance_ablation_scatters_the_per_run_measure():
    result = _ablation()
    fig = P.plot_variance_ablation(result, measure="std", skip=2)
    b = fig.axes[1]
    x, y = b.collections[0].get_offsets().T  # first temperature: gal on x, paper on y
    np.testing.assert_allclose(x, stats.per_run_std(result.trace("gal0.1"), 2))
    np.testing.assert_allclose(y, stats.per_run_std(result.trace("paper0.1"), 2))
    with pytest.raises(ValueError, match="measure must be one of"):
        P.plot_variance_ablation(result, measure="mad")


# ----------------------------------------------------------------- mask-quality figures (06), duck-typed
def _Study(values):
    """A mask-quality study's results: values of shape (settings, batch sizes, images, seeds)."""
    from fido_lib.experiments.mask_quality import StudyResults

    return StudyResults({"settings": [["gal", 0.1], ["stable", 1.0]], "batch_sizes": [1, 4]}, values, {})


def test_mask_quality_averages_seeds_then_bootstraps_over_images():
    rng = np.random.default_rng(1)
    mass = rng.random((2, 2, 6, 2))
    mass[1, 0, 0] = np.nan  # an image not fitted: left out, not a NaN point
    agree = rng.random((2, 2, 6))  # already one number per image
    fig = P.plot_mask_quality(_Study({"ssr_mass": mass, "ssr_agree": agree}), metrics=("ssr_mass", "ssr_agree"))
    ax_mass, ax_agree = fig.axes[:2]
    assert ax_mass.get_ylabel().startswith("SSR") and ax_mass.get_xscale() == "log"
    # one errorbar line per setting, at the mean over images of the per-image (seed-mean) value
    bars = ax_mass.containers
    assert [c.get_label() for c in bars] == ["Gal, T = 0.1", "simplified, T = 1"]
    lines = [c.lines[0] for c in bars]  # each errorbar's data line
    per_image = mass.mean(axis=-1)
    np.testing.assert_allclose(lines[0].get_ydata(), per_image[0].mean(axis=-1))
    np.testing.assert_allclose(lines[1].get_ydata(), [np.nanmean(per_image[1, 0]), per_image[1, 1].mean()])
    assert lines[0].get_color() == P.RELAXATION_COLOURS["gal"]
    agree_line = next(c.lines[0] for c in ax_agree.containers if c.get_label() == "Gal, T = 0.1")
    np.testing.assert_allclose(agree_line.get_ydata(), agree[0].mean(axis=-1))


def test_crop_accuracy_bars_are_the_accuracies():
    correct = {"whole photo": np.array([1, 1, 0, 1], bool), "FIDO crop, gal": np.array([1, 0, 0, 0], bool)}
    fig = P.plot_crop_accuracy({"correct": correct, "labels": [0, 1, 2, 3]})
    ax = fig.axes[0]
    assert [round(p.get_width(), 6) for p in ax.patches] == [0.75, 0.25]
    assert "4 photos" in ax.get_xlabel()


def test_toy_birds_and_gallery_draw_one_panel_per_item():
    class Birds:
        images = torch.rand(3, 3, 8, 8, generator=torch.Generator().manual_seed(0))
        part_masks = torch.zeros(3, 8, 8, dtype=torch.bool)
        part_masks[:, 2:5, 2:5] = True
        labels = torch.tensor([1, 0, 1])
        class_names = ["finch", "robin"]

        def __len__(self):
            return 3

    fig = P.plot_toy_birds(Birds(), n=3, columns=2)
    assert [ax.get_title() for ax in fig.axes] == ["robin", "finch", "robin", ""]
    maps = np.random.default_rng(2).random((2, 3, 8, 8))
    fig = P.plot_mask_gallery(Birds.images[0], Birds.part_masks[0], maps, [["gal", 0.1], ["stable", 1.0]], [1, 4, 16])
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["B = 1", "B = 4", "B = 16"]
    assert len(fig.axes) == 2 * 4 + 1  # a photo and three maps per setting, and the colour bar
