"""fido_lib.plotting.concrete: the figures of notebooks 01–03."""
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


def test_gradient_tails_one_panel_per_implementation_shading_zeros_and_nans():
    z = torch.linspace(-5, 5, 11, dtype=torch.float64)
    g = torch.sigmoid(z) * torch.sigmoid(-z)
    bad = g.clone()
    bad[0], bad[-1] = 0.0, float("nan")
    fig = P.plot_gradient_tails(z, {"paper": bad, "stable": g}, true=g, title="t")
    paper, stable = fig.axes
    assert paper.get_yscale() == "log" and paper.get_ylabel() and stable.get_xlabel() and paper.get_title() == "t"
    # the computed points: every finite non-zero entry, in the relaxation's colour
    dots = [ln for ln in paper.lines if ln.get_marker() == "."]
    assert len(dots) == 1 and list(dots[0].get_xdata()) == z[1:-1].tolist()
    assert dots[0].get_color() == P.RELAXATION_COLOURS["paper"]
    # one shaded span for the lost 0 at z = -5, one for the NaN at z = 5; none in the clean panel
    spans = sorted((p.get_x(), p.get_x() + p.get_width()) for p in paper.patches)
    assert spans == [(-5.5, -4.5), (4.5, 5.5)]
    assert not stable.patches
    legend = [t.get_text() for t in paper.get_legend().get_texts()]
    assert "exactly 0, true value normal: 1 points" in legend and "NaN or inf: 1 points" in legend
    with pytest.raises(ValueError, match="grads"):
        P.plot_gradient_tails(z, {}, true=g)
    with pytest.raises(ValueError, match="shape"):
        P.plot_gradient_tails(z, {"gal": g[:3]}, true=g)


def test_gradient_health_classes():
    from fido_lib.plotting.concrete import GRADIENT_HEALTH, gradient_health

    true = torch.tensor([1.0, 1.0, 1.0, 1.0, 1e-40, 1e-40], dtype=torch.float64)
    grad = torch.tensor([1.005, 1.5, 0.0, float("nan"), 0.0, float("inf")], dtype=torch.float32)
    names = [GRADIENT_HEALTH[i] for i in gradient_health(grad, true).tolist()]
    assert names == ["correct (within 1 %)", "off by more than 1 %", "exactly 0, true value normal",
                     "NaN or inf", "true value below the dtype's normal range", "NaN or inf"]
    # the same 1e-40 is a normal float64: an exact 0 there is a lost gradient
    assert GRADIENT_HEALTH[int(gradient_health(torch.zeros(1, dtype=torch.float64), true[4:5]))] \
        == "exactly 0, true value normal"
    with pytest.raises(TypeError, match="grad"):
        gradient_health(torch.zeros(2, dtype=torch.int64), true[:2])
    with pytest.raises(ValueError, match="shape"):
        gradient_health(grad, true[:2])
    with pytest.raises(ValueError, match="rtol"):
        gradient_health(grad, true, rtol=0)


def test_gradient_map_rows_colours_and_classes():
    from fido_lib.plotting.concrete import GRADIENT_HEALTH

    z = torch.arange(-200, 201, dtype=torch.float64) / 2
    true = torch.sigmoid(z) * torch.sigmoid(-z)
    x = z.float()
    s = torch.sigmoid(x)
    rows = {"gal · float32": s * (1 - s), "stable · float32": s * torch.sigmoid(-x)}
    fig = P.plot_gradient_map(z, rows, {k: true for k in rows}, title="t")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == list(rows)
    colours = [t.get_color() for t in ax.get_yticklabels()]
    assert colours == [P.RELAXATION_COLOURS["gal"], P.RELAXATION_COLOURS["stable"]]
    grid = ax.images[0].get_array()
    assert grid.shape == (2, 401)
    at_20 = 240  # z = 20: σ(z) has rounded to 1 in float32, so 1 − σ(z) = 0
    assert GRADIENT_HEALTH[grid[0, at_20]] == "exactly 0, true value normal"
    assert GRADIENT_HEALTH[grid[1, at_20]] == "correct (within 1 %)"
    assert GRADIENT_HEALTH[grid[1, 0]] == "true value below the dtype's normal range"  # z = -100
    with pytest.raises(ValueError, match="no exact gradient"):
        P.plot_gradient_map(z, rows, {"gal · float32": true})
    with pytest.raises(ValueError, match="at least one"):
        P.plot_gradient_map(z, {}, true)


def test_step_vs_relaxation_lines_and_slopes():
    fig = P.plot_step_vs_relaxation(u=0.3, temps=[1.0, 0.1], theta_range=(-3, 3), points=61)
    ax, ax_d = fig.axes
    assert _labelled(ax) and _labelled(ax_d) and ax_d.get_yscale() == "log"
    step, t1, t01 = [ln for ln in ax.lines if len(ln.get_xdata()) == 61]
    n = torch.logit(torch.tensor(0.3, dtype=torch.float64)).item()
    theta = torch.linspace(-3, 3, 61, dtype=torch.float64)
    assert list(step.get_ydata()) == (theta + n > 0).double().tolist()
    expected = torch.sigmoid((theta + n) / 0.1)
    assert torch.allclose(torch.as_tensor(t01.get_ydata()), expected, atol=1e-6)
    # the slope is σ'(z)/T, with its peak 1/(4T) at θ = −n named in the legend
    slopes = [ln for ln in ax_d.lines if len(ln.get_xdata()) == 61]
    z = (theta + n) / 0.1
    assert torch.allclose(torch.as_tensor(slopes[1].get_ydata()), torch.sigmoid(z) * torch.sigmoid(-z) / 0.1, rtol=1e-5)
    assert "peak 1/(4T) = 2.5" in slopes[1].get_label()
    assert t1.get_color() == t01.get_color() == P.RELAXATION_COLOURS["stable"]
    with pytest.raises(ValueError, match="u"):
        P.plot_step_vs_relaxation(u=1.0)
    with pytest.raises(ValueError, match="temps"):
        P.plot_step_vs_relaxation(temps=[0.0])
    with pytest.raises(ValueError, match="theta_range"):
        P.plot_step_vs_relaxation(theta_range=(1, -1))
