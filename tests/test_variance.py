"""fido_lib.variance: determinism, noise pairing, batching, save/load, statistics, errors."""
import hashlib
import itertools
import math

import numpy as np
import pytest
import torch

from fido_lib import variance as V
from fido_lib.concrete import drop_mask

SMALL = dict(runs=3, iterations=4, samples=2, image_size=16)
EQUAL_T = (V.Arm("gal", "gal", temp=0.5, eps=0.0), V.Arm("paper", "paper", temp=0.5))

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


# ----------------------------------------------------------------- determinism, pairing
@pytest.mark.parametrize("relaxation", ["gal", "paper", "stable"])
def test_same_seed_gives_identical_traces_on_cpu(relaxation):
    arms = [V.Arm("x", relaxation, temp=0.1)]
    a = V.run_experiment(arms, seed=3, **SMALL)
    b = V.run_experiment(arms, seed=3, **SMALL)
    for name in V.VarianceResult._ARRAYS:
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    c = V.run_experiment(arms, seed=4, **SMALL)
    assert not np.array_equal(a.grad_norm, c.grad_norm)


def test_shapes_and_finite_values():
    r = V.run_experiment(V.ABLATION_ARMS, **SMALL)
    assert r.labels == tuple(a.label for a in V.ABLATION_ARMS)
    for name in V.VarianceResult._ARRAYS:
        arr = getattr(r, name)
        assert arr.shape == (4, 3, 4) and np.isfinite(arr).all(), name
    assert (r.grad_norm > 0).all()


def _digest_of_stream(config, arm_index):
    g = torch.Generator().manual_seed(V.noise_seed(config.seed, arm_index, config.paired))
    h = hashlib.sha256()
    for _ in range(config.iterations):
        h.update(V.draw_noise(g, config).numpy().tobytes())
    return h.hexdigest()


def test_paired_noise_is_bit_identical_and_independent_noise_is_not():
    paired = V.run_experiment(EQUAL_T, paired=True, **SMALL)
    independent = V.run_experiment(EQUAL_T, paired=False, **SMALL)
    assert len(set(paired.noise_digests.values())) == 1
    assert len(set(independent.noise_digests.values())) == 2
    # the digest is the SHA-256 of exactly the u that draw_noise gives for noise_seed
    for result in (paired, independent):
        config = V.VarianceConfig(**result.metadata["config"])
        for k, label in enumerate(result.labels):
            assert result.noise_digests[label] == _digest_of_stream(config, k)


def test_paired_noise_makes_equal_temperature_implementations_agree():
    # same u, same T, eps = 0: the two formulas are the same function of θ, so the
    # traces agree to rounding; with independent u they do not
    paired = V.run_experiment(EQUAL_T, paired=True, dtype="float64", **SMALL)
    np.testing.assert_allclose(paired.grad_norm[0], paired.grad_norm[1], rtol=1e-6)
    independent = V.run_experiment(EQUAL_T, paired=False, dtype="float64", **SMALL)
    assert np.abs(independent.grad_norm[0] / independent.grad_norm[1] - 1).max() > 1e-3


def test_batched_runs_equal_runs_one_at_a_time():
    config = V.VarianceConfig(**SMALL, dtype="float64")
    problem = V.make_problem(config)
    g = torch.Generator().manual_seed(0)
    theta = torch.randn((3, 1, 16, 16), generator=g, dtype=torch.float64)
    u = V.draw_noise(g, config).double()
    arm = V.Arm("gal", "gal", temp=0.3)
    batched = V.step_gradient(theta, u, arm, problem, config, iteration=7)
    for r in range(3):
        single = V.step_gradient(theta[r : r + 1], u[r : r + 1], arm, problem, config, iteration=7)
        torch.testing.assert_close(batched.data[r : r + 1], single.data, rtol=1e-10, atol=1e-14)
        torch.testing.assert_close(batched.reg[r : r + 1], single.reg, rtol=1e-10, atol=1e-14)


def test_step_gradient_is_the_gradient_of_the_documented_loss():
    config = V.VarianceConfig(**SMALL, dtype="float64", warmup=4)
    problem = V.make_problem(config)
    g = torch.Generator().manual_seed(1)
    theta = torch.randn((3, 1, 16, 16), generator=g, dtype=torch.float64, requires_grad=True)
    u = V.draw_noise(g, config).double()
    arm = V.Arm("stable", "stable", temp=0.7)
    step = V.step_gradient(theta, u, arm, problem, config, iteration=2)
    # the SSR loss written out: -mean log-odds + ramp (l1 Σ keep + tv TV(drop rate))
    drop = drop_mask(theta[:, :, None], relaxation="stable", temp=0.7, u=u)[:, 0, :, None]
    images = (1 - drop) * problem.image + drop * problem.infill
    z = problem.classifier(images.reshape(-1, 3, 16, 16))
    c = problem.target
    others = torch.cat([z[:, :c], z[:, c + 1 :]], 1)
    log_odds = (z[:, c] - torch.logsumexp(others, 1)).reshape(3, 2).mean(1)
    rate = torch.sigmoid(theta[:, 0])
    tv = (rate[:, 1:] - rate[:, :-1]).abs().sum((1, 2)) + (rate[:, :, 1:] - rate[:, :, :-1]).abs().sum((1, 2))
    loss = -log_odds + 0.5 * (1e-3 * (1 - rate).sum((1, 2)) + 1e-2 * tv)
    (expected,) = torch.autograd.grad(loss.sum(), theta)
    torch.testing.assert_close(step.data + step.reg, expected, rtol=1e-10, atol=1e-14)
    torch.testing.assert_close(step.per_sample.sum(2), step.data)


@pytest.mark.parametrize("objective,masks", [("ssr", 1), ("sdr", 1), ("joint", 2)])
def test_objectives_run_and_use_their_masks(objective, masks):
    config = V.VarianceConfig(**SMALL, objective=objective)
    assert config.masks == masks
    r = V.run_experiment(EQUAL_T, config)
    assert np.isfinite(r.grad_norm).all()


def test_gal_has_more_exact_zeros_than_the_paper_at_low_temperature():
    # numerics.md: Gal's autograd gives exact 0 for z > 16.6 in float32; the paper's
    # backward keeps that tail. At θ = 0, T = 0.1 that is u > σ(1.66) ≈ 0.84.
    arms = [V.Arm("gal", "gal", temp=0.1), V.Arm("paper", "paper", temp=0.1)]
    r = V.run_experiment(arms, runs=4, iterations=1, samples=4, image_size=16)
    gal, paper = r.zero_fraction[:, :, 0].mean(1)
    assert 0.1 < gal < 0.25
    assert paper < 0.05


def test_num_threads_is_restored_and_does_not_change_the_numbers():
    before = torch.get_num_threads()
    a = V.run_experiment(EQUAL_T, **SMALL)  # one thread by default
    assert a.metadata["threads"] == 1 and torch.get_num_threads() == before
    b = V.run_experiment(EQUAL_T, num_threads=None, **SMALL)  # torch's own setting
    assert b.metadata["threads"] == before
    assert np.array_equal(a.grad_norm, b.grad_norm)
    with pytest.raises(ValueError, match="num_threads"):
        V.run_experiment(EQUAL_T, num_threads=0, **SMALL)


def test_optimizers_and_overrides():
    r = V.run_experiment(EQUAL_T, optimizer="adam", lr=0.05, **SMALL)
    assert r.metadata["config"]["optimizer"] == "adam" and r.metadata["config"]["lr"] == 0.05
    assert V.VarianceConfig(dtype=torch.float64).dtype == "float64"
    base = V.VarianceConfig(**SMALL)
    r2 = V.run_experiment(EQUAL_T, base, seed=5)
    assert r2.metadata["config"]["seed"] == 5


# ----------------------------------------------------------------- save / load
def test_save_load_round_trip(tmp_path):
    r = V.run_experiment(EQUAL_T, **SMALL)
    path = r.save(tmp_path / "result")
    assert path.suffix == ".npz"
    with np.load(path, allow_pickle=False) as f:  # nothing in it needs pickle
        assert set(f.files) == {"metadata", *V.VarianceResult._ARRAYS}
    back = V.VarianceResult.load(path)
    assert back.labels == r.labels
    assert back.metadata == r.metadata
    assert back.noise_digests == r.noise_digests
    for name in V.VarianceResult._ARRAYS:
        assert np.array_equal(getattr(back, name), getattr(r, name)), name
    assert V.compare(back, "gal", "paper") == V.compare(r, "gal", "paper")


# ----------------------------------------------------------------- statistics
def test_sign_test_exact_values():
    assert V.sign_test(np.ones(30), np.zeros(30)) == pytest.approx(2 / 2**30)
    assert V.sign_test([1, 2, 3], [1, 2, 3]) == 1.0  # all ties
    # 8 of 10 positive: 2 * P(X <= 2), X ~ Bin(10, 1/2)
    x = np.array([1] * 8 + [-1] * 2, dtype=float)
    assert V.sign_test(x, np.zeros(10)) == pytest.approx(2 * (1 + 10 + 45) / 1024)


def _wilcoxon_brute_force(d):
    d = d[d != 0]
    a = np.abs(d)
    ranks = np.array([np.mean(np.flatnonzero(np.sort(a) == v) + 1) for v in a])
    w = ranks[d > 0].sum()
    all_w = [ranks[list(s)].sum() for k in range(len(d) + 1) for s in itertools.combinations(range(len(d)), k)]
    mean = ranks.sum() / 2
    return w, np.mean(np.abs(np.array(all_w) - mean) >= abs(w - mean) - 1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_wilcoxon_matches_brute_force_with_ties(seed):
    rng = np.random.default_rng(seed)
    d = rng.integers(-4, 5, size=11).astype(float)  # ties and zeros on purpose
    w, p = V.wilcoxon_signed_rank(d, np.zeros_like(d))
    w_ref, p_ref = _wilcoxon_brute_force(d)
    assert w == pytest.approx(w_ref)
    assert p == pytest.approx(p_ref)


def test_wilcoxon_all_positive():
    w, p = V.wilcoxon_signed_rank(np.arange(1, 6, dtype=float), np.zeros(5))
    assert w == 15 and p == pytest.approx(2 / 32)


def test_bootstrap_ci_is_seeded_and_brackets_the_median():
    rng = np.random.default_rng(0)
    num, den = rng.uniform(0.5, 1.0, 30), rng.uniform(0.9, 1.1, 30)
    m1, ci1 = V.bootstrap_median_ratio_ci(num, den, n_boot=500, seed=1)
    m2, ci2 = V.bootstrap_median_ratio_ci(num, den, n_boot=500, seed=1)
    assert (m1, ci1) == (m2, ci2)
    assert ci1[0] <= m1 <= ci1[1]
    assert m1 == pytest.approx(np.median(num / den))


def test_step_noise_ignores_a_trend_that_std_counts():
    trend = np.tile(np.linspace(0, 1, 50), (3, 1))
    assert np.allclose(V.per_run_step_noise(trend), 0, atol=1e-12)
    assert (V.per_run_std(trend) > 0.2).all()
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 0.1, (3, 5000))
    np.testing.assert_allclose(V.per_run_step_noise(trend[:, :1] + noise), 0.1, rtol=0.05)


def test_across_run_std():
    trace = np.array([[1.0, 2.0], [3.0, 2.0]])
    np.testing.assert_allclose(V.across_run_std(trace), [math.sqrt(2), 0.0])


# ----------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "kwargs,exc,word",
    [
        (dict(runs=0), ValueError, "runs"),
        (dict(runs=2.5), TypeError, "runs"),
        (dict(iterations=0), ValueError, "iterations"),
        (dict(samples=0), ValueError, "samples"),
        (dict(device="tpu"), ValueError, "device"),
        (dict(device=3), TypeError, "device"),
        (dict(dtype="float16"), ValueError, "dtype"),
        (dict(objective="both"), ValueError, "objective"),
        (dict(optimizer="sgd"), ValueError, "optimizer"),
        (dict(lr=-1.0), ValueError, "lr"),
        (dict(init_logit=float("nan")), ValueError, "init_logit"),
        (dict(paired="yes"), TypeError, "paired"),
        (dict(seed=-1), ValueError, "seed"),
    ],
)
def test_bad_config_is_refused_by_name(kwargs, exc, word):
    with pytest.raises(exc, match=word):
        V.VarianceConfig(**kwargs)
    with pytest.raises(exc, match=word):
        V.run_experiment(EQUAL_T, **kwargs)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is present here")
def test_absent_cuda_is_refused():
    with pytest.raises(ValueError, match="cuda"):
        V.VarianceConfig(device="cuda")


@pytest.mark.parametrize(
    "kwargs,exc,word",
    [
        (dict(label="x", relaxation="concrete", temp=0.1), ValueError, "relaxation"),
        (dict(label="x", relaxation="gal", temp=0.0), ValueError, "temp"),
        (dict(label="x", relaxation="gal", temp="hot"), TypeError, "temp"),
        (dict(label="x", relaxation="gal", temp=0.1, eps=1.0), ValueError, "eps"),
        (dict(label="", relaxation="gal", temp=0.1), ValueError, "label"),
    ],
)
def test_bad_arm_is_refused_by_name(kwargs, exc, word):
    with pytest.raises(exc, match=word):
        V.Arm(**kwargs)


def test_bad_arms_are_refused_before_any_work():
    with pytest.raises(ValueError, match="arms"):
        V.run_experiment([], **SMALL)
    with pytest.raises(TypeError, match="arms"):
        V.run_experiment(EQUAL_T[0], **SMALL)
    with pytest.raises(TypeError, match="arms"):
        V.run_experiment(["gal"], **SMALL)
    with pytest.raises(ValueError, match="labels"):
        V.run_experiment([EQUAL_T[0], EQUAL_T[0]], **SMALL)


def test_bad_statistics_arguments():
    r = V.run_experiment(EQUAL_T, **SMALL)
    with pytest.raises(ValueError, match="label"):
        V.compare(r, "gal", "nope")
    with pytest.raises(ValueError, match="measure"):
        V.compare(r, "gal", "paper", measure="var")
    with pytest.raises(ValueError, match="skip"):
        V.per_run_std(r.trace("gal"), skip=3)
    with pytest.raises(ValueError, match="same length"):
        V.sign_test([1.0, 2.0], [1.0])


# ----------------------------------------------------------------- GPU
@pytest.mark.gpu
@cuda
def test_cuda_matches_cpu_at_the_first_iteration():
    arms = V.PUBLISHED_ARMS
    cpu = V.run_experiment(arms, **SMALL)
    gpu = V.run_experiment(arms, device="cuda", **SMALL)
    assert gpu.noise_digests == cpu.noise_digests  # the same u on both devices
    assert np.isfinite(gpu.grad_norm).all()
    # one step from the same θ and u: only rounding differs
    np.testing.assert_allclose(gpu.grad_norm[:, :, 0], cpu.grad_norm[:, :, 0], rtol=1e-4)


@pytest.mark.gpu
@cuda
def test_cuda_float64_agrees_with_cpu_float64():
    cpu = V.run_experiment(EQUAL_T, dtype="float64", **SMALL)
    gpu = V.run_experiment(EQUAL_T, dtype="float64", device="cuda", **SMALL)
    np.testing.assert_allclose(gpu.grad_norm, cpu.grad_norm, rtol=1e-6)


# ----------------------------------------------------------------- NaN handling
def test_a_nan_gradient_stops_that_run_and_compare_leaves_it_out():
    # float32, θ = 17: σ(θ) rounds to 1, so Gal's log(1 - p + eps) with eps = 0 is
    # log(0) and its gradient 0 · inf = NaN; with eps = 1e-7 the gradient is exactly 0
    arms = [V.Arm("gal0", "gal", temp=1.0, eps=0.0), V.Arm("gal", "gal", temp=1.0), V.Arm("paper", "paper", temp=1.0)]
    r = V.run_experiment(arms, init_logit=17.0, optimizer="adam", **SMALL)
    assert r.stopped_runs == {"gal0": 3, "gal": 0, "paper": 0}
    assert np.isnan(r.grad_norm[0]).all()
    assert (r.data_grad_norm[1] == 0).all() and (r.zero_fraction[1] == 1).all()
    assert (r.data_grad_norm[2] > 0).all()
    with pytest.raises(ValueError, match="NaN"):
        V.compare(r, "gal0", "paper")
    with pytest.raises(ValueError, match="finite"):
        V.sign_test([np.nan, 1.0], [0.0, 0.0])


def test_compare_says_whether_the_noise_was_paired():
    assert V.compare(V.run_experiment(EQUAL_T, **SMALL), "gal", "paper").paired
    unpaired = V.compare(V.run_experiment(EQUAL_T, paired=False, **SMALL), "gal", "paper")
    assert not unpaired.paired and "NOT paired" in str(unpaired)


# ----------------------------------------------------------------- figures
def test_variance_figures_draw_every_run_and_refuse_a_wrong_layout():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from fido_lib import plotting as P

    published = V.run_experiment(V.PUBLISHED_ARMS, **SMALL)
    fig = P.plot_gradient_norms(published)
    assert len(fig.axes[0].lines) == 2 * 3  # one line per run and arm
    assert fig.axes[0].get_xlabel() and fig.axes[0].get_ylabel()
    fig1 = P.plot_figure1(published)
    assert len(fig1.axes) == 2
    ablation = V.run_experiment(V.ABLATION_ARMS, runs=3, iterations=6, samples=2, image_size=16)
    fig2 = P.plot_variance_ablation(ablation, skip=1)
    assert len(fig2.axes) == 3
    with pytest.raises(ValueError, match="2 x 2"):
        P.plot_variance_ablation(published, skip=1)
    with pytest.raises(ValueError, match="measure"):
        P.plot_variance_ablation(ablation, measure="mad")
    with pytest.raises(ValueError, match="label"):
        P.plot_gradient_norms(published, labels=["nope"])
    theta = torch.zeros(1, 1, 16, 16)
    problem = V.make_problem(image_size=16)
    u = torch.rand(1, 1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    masks = {"T = 1": drop_mask(theta[:, :, None], relaxation="paper", temp=1.0, u=u)[0, 0]}
    fig3 = P.plot_drop_samples(problem.image[0], problem.infill[0], masks)
    fig4 = P.plot_noise_vs_samples([1, 2], {"a": [2.0, 1.0]})
    for f in (fig, fig1, fig2, fig3, fig4):
        plt.close(f)
