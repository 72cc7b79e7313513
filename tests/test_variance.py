"""fido_lib.experiments.variance: determinism, noise pairing, batching, save/load, comparison, errors."""
import hashlib
import json

import numpy as np
import pytest
import torch

from fido_lib import stats
from fido_lib.concrete import drop_mask
from fido_lib.experiments import variance as V

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


def test_adamw_is_the_published_optimizer_without_weight_decay():
    # the published code: AdamW(lr=10, eps=0.1, weight_decay=config.l2) with l2 = 0.0
    cls, lr, eps, weight_decay = V.OPTIMIZERS["adamw"]
    assert (cls, lr, eps, weight_decay) == (torch.optim.AdamW, 10.0, 0.1, 0.0)
    # with no decay AdamW is Adam: the same traces, bit for bit
    adamw = V.run_experiment(EQUAL_T, **SMALL)
    adam = V.run_experiment(EQUAL_T, optimizer="adam", lr=10.0, optimizer_eps=0.1, **SMALL)
    assert np.array_equal(adamw.grad_norm, adam.grad_norm)
    # torch's default decay of 0.01 is a different optimiser: the traces part after the first step
    decayed = V.run_experiment(EQUAL_T, weight_decay=0.01, **SMALL)
    assert decayed.metadata["config"]["weight_decay"] == 0.01
    assert np.array_equal(decayed.grad_norm[:, :, 0], adamw.grad_norm[:, :, 0])
    assert not np.allclose(decayed.grad_norm[:, :, 1:], adamw.grad_norm[:, :, 1:], rtol=1e-3)


def test_one_input_per_run():
    one = V.make_problem(runs=3, image_size=16)
    per_run = V.make_problem(runs=3, image_size=16, inputs="per_run")
    assert one.image.shape == (1, 3, 16, 16) and per_run.image.shape == (3, 3, 16, 16)
    assert torch.equal(per_run.image[:1], one.image)  # run 0's input is the single input
    assert not torch.equal(per_run.image[1], per_run.image[0])
    with pytest.raises(ValueError, match="targets"):
        _ = per_run.target
    # run 0 of a per-run experiment is the one-input experiment's run 0 (same noise, same input)
    a = V.run_experiment(EQUAL_T, dtype="float64", **SMALL)
    b = V.run_experiment(EQUAL_T, dtype="float64", inputs="per_run", **SMALL)
    np.testing.assert_allclose(b.grad_norm[:, 0], a.grad_norm[:, 0], rtol=1e-12)
    assert not np.allclose(b.grad_norm[:, 1:], a.grad_norm[:, 1:], rtol=1e-3)
    assert b.metadata["config"]["inputs"] == "per_run" and len(b.metadata["targets"]) == 3


def test_per_run_inputs_with_different_targets_use_each_runs_target():
    # model_seed 5 gives different top classes on the first inputs (6, 7, 6, ...)
    config = V.VarianceConfig(runs=3, samples=2, image_size=32, model_seed=5, inputs="per_run", dtype="float64")
    problem = V.make_problem(config)
    assert len(set(problem.targets.tolist())) == 2
    g = torch.Generator().manual_seed(2)
    theta = torch.randn((3, 1, 32, 32), generator=g, dtype=torch.float64)
    u = V.draw_noise(g, config).double()
    arm = V.Arm("paper", "paper", temp=0.5)
    step = V.step_gradient(theta, u, arm, problem, config)
    for r in range(3):  # each run alone, as a one-input problem with its own input and target
        single = V.Problem(problem.classifier, problem.image[r : r + 1], problem.infill[r : r + 1],
                           problem.targets[r : r + 1])
        alone = V.step_gradient(theta[r : r + 1], u[r : r + 1], arm, single, config)
        torch.testing.assert_close(step.data[r : r + 1], alone.data, rtol=1e-10, atol=1e-14)
        torch.testing.assert_close(step.log_odds[r : r + 1], alone.log_odds, rtol=1e-10, atol=1e-14)


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


# ----------------------------------------------------------------- the published code's sign handling
def test_published_sign_arm_blends_the_relaxations_output_as_the_keep_rate():
    # sample_as="keep" blends y·x + (1 - y)·infill: the data term at (θ, u) is the one
    # of the usual drop arm at (-θ, 1 - u), whose drop mask σ((-θ - n)/T) = 1 - y
    config = V.VarianceConfig(**SMALL, dtype="float64")
    problem = V.make_problem(config)
    g = torch.Generator().manual_seed(2)
    theta = torch.randn((3, 1, 16, 16), generator=g, dtype=torch.float64)
    u = V.draw_noise(g, config).double()
    keep = V.Arm("keep", "stable", temp=0.7, sample_as="keep")
    drop = V.Arm("drop", "stable", temp=0.7)
    a = V.step_gradient(theta, u, keep, problem, config, iteration=0)
    b = V.step_gradient(-theta, 1 - u, drop, problem, config, iteration=0)
    torch.testing.assert_close(a.log_odds, b.log_odds, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(a.per_sample, -b.per_sample, rtol=1e-7, atol=1e-12)
    # ... while the regulariser is the same function of θ for both
    a, b = (V.step_gradient(theta, u, arm, problem, config, iteration=10) for arm in (keep, drop))
    torch.testing.assert_close(a.reg, b.reg, rtol=0, atol=0)
    assert not torch.allclose(a.data, b.data)


def test_published_sign_makes_data_term_and_l1_pull_the_same_way():
    # at θ = 0 the SSR L1 term asks every pixel for more drop logit; the data term
    # asks for less with the corrected sign (they compete) and for more with the
    # published sign (they cooperate: nothing holds θ back)
    assert V.PUBLISHED_SIGN_ARM.sample_as == "keep" and V.PUBLISHED_ARMS[1].sample_as == "drop"
    assert (V.PUBLISHED_SIGN_ARM.relaxation, V.PUBLISHED_SIGN_ARM.temp) == ("paper", 1.0)
    for seed in (0, 1):
        config = V.VarianceConfig(runs=1, iterations=1, image_size=16, seed=seed)
        problem = V.make_problem(config)
        u = V.draw_noise(torch.Generator().manual_seed(seed), config)
        theta = torch.zeros(1, 1, 16, 16)
        fixed, published = (V.step_gradient(theta, u, arm, problem, config, iteration=10)
                            for arm in (V.PUBLISHED_ARMS[1], V.PUBLISHED_SIGN_ARM))
        assert fixed.reg.sum() < 0 and published.reg.sum() < 0
        assert fixed.data.sum() > 0 > published.data.sum()


def test_published_sign_arm_saturates_and_its_gradient_fades():
    # nothing holds θ back, so it runs into the sigmoid's flat tail faster than the
    # corrected arm's: from the same start and noise its gradient ends smaller in every run
    r = V.run_experiment([V.PUBLISHED_ARMS[1], V.PUBLISHED_SIGN_ARM], runs=3, iterations=40, samples=2, image_size=16)
    np.testing.assert_allclose(r.grad_norm[0, :, 0], r.grad_norm[1, :, 0], rtol=0.2)  # alike at the start
    assert (r.grad_norm[1, :, -1] < 0.8 * r.grad_norm[0, :, -1]).all()
    rates = r.final_drop_rate
    assert set(rates) == set(r.labels) and all(v.shape == (3,) for v in rates.values())
    # the corrected arm learns to keep (θ falls), the published sign raises θ: "drop" for L1 and the maps
    assert (rates["simplified"] < 0.5).all() and (rates["simplified, published sign"] > 0.5).all()


def test_final_drop_rate_is_the_mean_sigmoid_of_the_last_logits():
    config = V.VarianceConfig(runs=2, iterations=3, samples=2, image_size=16, init_logit=1.5, lr=1e-12)
    r = V.run_experiment(EQUAL_T, config)  # lr 1e-12: θ stays at its start
    for v in r.final_drop_rate.values():
        np.testing.assert_allclose(v, [1 / (1 + np.exp(-1.5))] * 2, rtol=1e-6)


# ----------------------------------------------------------------- joining results
def test_join_equals_one_call_and_round_trips(tmp_path):
    arms = [*V.PUBLISHED_ARMS, V.PUBLISHED_SIGN_ARM]
    together = V.run_experiment(arms, **SMALL)
    first, second = V.run_experiment(arms[:2], **SMALL), V.run_experiment(arms[2:], **SMALL)
    before = (first.labels, first.grad_norm.copy(), json_copy(first.metadata))
    joined = V.VarianceResult.join(first, second)
    assert (first.labels, json_copy(first.metadata)) == before[::2] and np.array_equal(first.grad_norm, before[1])
    assert joined.labels == together.labels
    for name in V.VarianceResult._ARRAYS:
        assert np.array_equal(getattr(joined, name), getattr(together, name)), name
    assert joined.metadata["arms"] == together.metadata["arms"]
    assert joined.noise_digests == together.noise_digests
    back = V.VarianceResult.load(joined.save(tmp_path / "joined"))  # digests rechecked from the seed
    assert back.labels == joined.labels and back.metadata["arms"][2]["sample_as"] == "keep"
    assert V.compare(back, "original", "simplified, published sign") == V.compare(together, "original",
                                                                                   "simplified, published sign")


@pytest.mark.parametrize("bad", [[[0.5, 0.5, 0.5]], [[0.5, 0.5, 1.5]] * 2, [[0.5, 0.5]] * 2, "half"])
def test_load_refuses_a_malformed_final_drop_rate(tmp_path, bad):
    path = V.run_experiment(EQUAL_T, **SMALL).save(tmp_path / "r.npz")
    with np.load(path, allow_pickle=False) as f:
        raw = {k: f[k] for k in f.files}
    meta = json.loads(str(raw.pop("metadata")))
    assert len(meta["final_drop_rate"]) == 2 and len(meta["final_drop_rate"][0]) == 3
    meta["final_drop_rate"] = bad
    np.savez(path, metadata=np.array(json.dumps(meta)), **raw)
    with pytest.raises(ValueError, match="final_drop_rate"):
        V.VarianceResult.load(path)


def json_copy(x):
    return json.loads(json.dumps(x))


def test_join_refuses_what_is_not_one_experiment():
    a = V.run_experiment(EQUAL_T[:1], **SMALL)
    b = V.run_experiment(EQUAL_T[1:], **SMALL)
    with pytest.raises(ValueError, match="at least one"):
        V.VarianceResult.join()
    with pytest.raises(TypeError, match="VarianceResult"):
        V.VarianceResult.join(a, "b")
    with pytest.raises(ValueError, match="distinct"):
        V.VarianceResult.join(a, a)
    other_seed = V.run_experiment(EQUAL_T[1:], seed=1, **SMALL)
    with pytest.raises(ValueError, match="'config'"):
        V.VarianceResult.join(a, other_seed)
    unpaired = [V.run_experiment(arms, paired=False, **SMALL) for arms in (EQUAL_T[:1], EQUAL_T[1:])]
    with pytest.raises(ValueError, match="unpaired"):
        V.VarianceResult.join(*unpaired)
    assert V.VarianceResult.join(a, b).labels == ("gal", "paper")


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
        (dict(inputs="many"), ValueError, "inputs"),
        (dict(weight_decay=-0.01), ValueError, "weight_decay"),
        (dict(weight_decay="none"), TypeError, "weight_decay"),
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
        (dict(label="x", relaxation="paper", temp=1.0, sample_as="keep rate"), ValueError, "sample_as"),
        (dict(label="x", relaxation="paper", temp=1.0, sample_as=None), ValueError, "sample_as"),
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
        stats.per_run_std(r.trace("gal"), skip=3)
    with pytest.raises(ValueError, match="same length"):
        stats.sign_test([1.0, 2.0], [1.0])


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
def test_saturated_logits_give_gal_an_exact_zero_gradient_and_the_paper_a_small_one():
    # float32, θ = 17: σ(θ) rounds to 1. Gal's formula returns an exactly-zero gradient,
    # with eps = 1e-7 (its logit is capped near 16.1) and with eps = 0 (p = 1 is taken
    # as "always drop", never log(0)); the paper's Function takes θ directly
    arms = [V.Arm("gal0", "gal", temp=1.0, eps=0.0), V.Arm("gal", "gal", temp=1.0), V.Arm("paper", "paper", temp=1.0)]
    r = V.run_experiment(arms, init_logit=17.0, optimizer="adam", **SMALL)
    assert r.stopped_runs == {"gal0": 0, "gal": 0, "paper": 0}
    for k in (0, 1):
        assert (r.data_grad_norm[k] == 0).all() and (r.zero_fraction[k] == 1).all()
    assert (r.data_grad_norm[2] > 0).all()


def test_a_nan_gradient_stops_that_run_and_compare_leaves_it_out(monkeypatch):
    from fido_lib.experiments.variance import runner

    real = runner.step_gradient

    def nan_in_run_1(theta, u, arm, problem, config, iteration=0):  # a NaN in run 1 of arm "bad" from iteration 2
        step = real(theta, u, arm, problem, config, iteration=iteration)
        if arm.label == "bad" and iteration >= 2:
            step.data[1] = float("nan")
        return step

    monkeypatch.setattr(runner, "step_gradient", nan_in_run_1)
    arms = [V.Arm("bad", "paper", temp=1.0), V.Arm("good", "paper", temp=1.0)]
    r = V.run_experiment(arms, **SMALL)
    assert r.stopped_runs == {"bad": 1, "good": 0}
    assert np.isnan(r.grad_norm[0, 1, 2:]).all() and np.isfinite(r.grad_norm[0, 1, :2]).all()
    # the other runs of the batch go on, exactly as without the NaN
    np.testing.assert_array_equal(r.grad_norm[0, [0, 2]], r.grad_norm[1, [0, 2]])
    c = V.compare(r, "good", "bad")
    assert c.runs == 2 and c.left_out == 1
    # with 2 runs, one stopped, fewer than 2 complete runs are left: refused, naming the NaN
    r_two = V.run_experiment(arms, runs=2, iterations=4, samples=2, image_size=16)
    with pytest.raises(ValueError, match="NaN"):
        V.compare(r_two, "good", "bad")
    with pytest.raises(ValueError, match="finite"):
        stats.sign_test([np.nan, 1.0], [0.0, 0.0])


def test_across_run_ratio_has_a_seeded_interval_around_it():
    r = V.run_experiment(V.ABLATION_ARMS, runs=8, iterations=6, samples=2, image_size=16)
    c = V.compare(r, "gal T=0.1", "gal T=1.0", measure="step")
    assert c.across_ci[0] <= c.across_run_ratio <= c.across_ci[1]
    assert V.compare(r, "gal T=0.1", "gal T=1.0", measure="step").across_ci == c.across_ci  # seeded
    same = V.compare(r, "gal T=0.1", "gal T=0.1")
    assert same.across_run_ratio == 1.0 and same.across_ci == (1.0, 1.0)


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
    signs = V.run_experiment([*V.PUBLISHED_ARMS, V.PUBLISHED_SIGN_ARM], **SMALL)
    b = P.plot_figure1(signs).axes[1]  # three arms, two of them the paper's Function at T = 1
    assert len({line.get_linestyle() for line in b.lines}) == 3
    names = b.get_legend_handles_labels()[1]
    assert len(set(names)) == 3 and "keep" in names[2] and "keep" not in names[1]
    plt.close(b.figure)
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
    config = V.VarianceConfig(runs=1, samples=3, image_size=16)
    maps = {f"T = {t}": V.step_gradient(theta, u, V.Arm("x", "paper", temp=t), problem, config).per_sample[0, 0]
            for t in (0.1, 1.0)}
    fig5 = P.plot_gradient_maps(maps, columns=2)
    assert len(fig5.axes) == 2 * 3 + 2  # two rows of 2 samples + their mean, one colour bar per row
    with pytest.raises(ValueError, match="samples, H, W"):
        P.plot_gradient_maps({"flat": torch.zeros(16, 16)})
    with pytest.raises(ValueError, match="non-empty"):
        P.plot_gradient_maps({})
    for f in (fig, fig1, fig2, fig3, fig4, fig5):
        plt.close(f)
