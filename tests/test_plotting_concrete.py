"""fido_lib.plotting, section "concrete": the figures of notebooks 01–03."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from fido_lib import plotting as P  # noqa: E402
from fido_lib.concrete import drop_mask, uniform_noise  # noqa: E402
from fido_lib.symbolic import FLOAT_CLASSES  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _labelled(ax):
    return ax.get_xlabel() and ax.get_ylabel()


def test_histograms_one_panel_per_temperature_with_the_sample_mean():
    fig = P.plot_concrete_histograms(1.5, [2.0, 0.1], n_samples=500, seed=3)
    axes = fig.axes
    assert len(axes) == 2 and _labelled(axes[0]) and axes[1].get_xlabel()
    # bar heights are fractions of the samples, and the title's mean is the samples' mean
    heights = sum(patch.get_height() for patch in axes[1].patches)
    assert heights == pytest.approx(1.0)
    u = uniform_noise(500, dtype=torch.float64, generator=3)
    mean = drop_mask(torch.full((500,), 1.5, dtype=torch.float64), temp=0.1, u=u).mean()
    assert f"mean {mean:.3f}" in axes[1].get_title()
    assert P.plot_concrete_histograms(0.0, 0.5, n_samples=10).axes[0].get_title().startswith("T = 0.5")


@pytest.mark.parametrize("bad", [[], [0.0], [-1.0], ["1"], [True]])
def test_histograms_refuse_bad_temperatures(bad):
    with pytest.raises(ValueError, match="temps"):
        P.plot_concrete_histograms(0.0, bad)


def test_histograms_refuse_bad_logit_and_sample_count():
    with pytest.raises(ValueError, match="logit"):
        P.plot_concrete_histograms(float("nan"), [1.0])
    with pytest.raises(ValueError, match="n_samples"):
        P.plot_concrete_histograms(0.0, [1.0], n_samples=0)


def test_logistic_noise_histogram_matches_its_density():
    fig = P.plot_logistic_noise(n_samples=20_000, seed=1, bins=20)
    ax = fig.axes[0]
    assert _labelled(ax)
    bars = ax.patches
    centre = min(bars, key=lambda b: abs(b.get_x() + b.get_width() / 2))
    assert centre.get_height() == pytest.approx(0.25, abs=0.02)  # density at 0 is 1/4
    with pytest.raises(ValueError, match="n_samples"):
        P.plot_logistic_noise(n_samples=1)


def test_eps_factor_plot():
    fig = P.plot_eps_factor(eps=1e-7, theta_max=20, points=41)
    ax, ax_log = fig.axes
    assert _labelled(ax) and _labelled(ax_log) and ax_log.get_yscale() == "log"
    f = ax.lines[0].get_ydata()
    assert f[0] == pytest.approx(1.0, abs=1e-6) and 0 < f[-1] < 0.05  # F(20) = 0.020
    with pytest.raises(ValueError, match="eps"):
        P.plot_eps_factor(eps=0)


def test_float_map_rows_and_classes():
    z = torch.arange(-200, 201) / 10  # z[200] is exactly 0
    fig = P.plot_float_map(z, {"e^(−z) · float16": torch.exp(-z.half()), "z · float32": z})
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["e^(−z) · float16", "z · float32"]
    grid = ax.images[0].get_array()
    assert grid.shape == (2, 401)
    assert grid[0, 0] == FLOAT_CLASSES.index("inf") and grid[0, -1] == FLOAT_CLASSES.index("0")
    assert grid[1, 200] == FLOAT_CLASSES.index("0") and grid[1, 0] == FLOAT_CLASSES.index("normal")
    with pytest.raises(ValueError, match="shape"):
        P.plot_float_map(z, {"short": z[:3]})
    with pytest.raises(ValueError, match="at least one"):
        P.plot_float_map(z, {})


def test_gradient_tails_marks_zeros_and_nans():
    z = torch.linspace(-5, 5, 11, dtype=torch.float64)
    g = torch.sigmoid(z) * torch.sigmoid(-z)
    bad = g.clone()
    bad[0], bad[-1] = 0.0, float("nan")
    fig = P.plot_gradient_tails(z, {"paper": bad, "stable": g}, true=g, title="t")
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and _labelled(ax) and ax.get_title() == "t"
    rug_zero = [ln for ln in ax.lines if ln.get_marker() == "|" and len(ln.get_xdata())]
    rug_nan = [ln for ln in ax.lines if ln.get_marker() == "x" and len(ln.get_xdata())]
    assert [list(ln.get_xdata()) for ln in rug_zero] == [[-5.0]]
    assert [list(ln.get_xdata()) for ln in rug_nan] == [[5.0]]
    assert rug_zero[0].get_color() == P.RELAXATION_COLOURS["paper"]
    with pytest.raises(ValueError, match="grads"):
        P.plot_gradient_tails(z, {})
