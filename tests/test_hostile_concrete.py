"""Hostile inputs to the relaxations (issue 11): NaN logits refused, ±inf logits defined.

Semantics under test (fido_lib.concrete's module docstring): a drop logit of +inf
means "always drop" (result exactly 1, gradient exactly 0) and -inf "never drop"
(result 0, gradient 0), whatever the noise ``u`` — also where ``u`` is 0 or 1, where
the noise's own logit is ∓inf and the sum would be NaN.
"""
import math

import pytest
import torch

from fido_lib import concrete as C

NAMED = {
    "stable": C.stable_concrete_dropout,
    "paper": C.concrete_dropout,
}


@pytest.mark.parametrize("fn", list(NAMED.values()), ids=list(NAMED))
def test_nan_logits_are_refused_by_every_logit_relaxation(fn):
    theta = torch.tensor([0.0, math.nan, 1.0])
    with pytest.raises(ValueError, match="logit_p.*NaN"):
        fn(theta, 0.5, torch.full((3,), 0.5))
    with pytest.raises(ValueError, match="logit_p.*NaN"):
        fn(theta, 0.5)  # noise drawn inside: refused all the same


@pytest.mark.parametrize("relaxation", C.RELAXATIONS)
def test_drop_mask_refuses_nan_logits_naming_the_parameter(relaxation):
    with pytest.raises(ValueError, match="logit.*NaN"):
        C.drop_mask(torch.tensor([math.nan]), relaxation=relaxation, u=torch.tensor([0.5]))


def _value_and_grad(fn, theta, u):
    theta = theta.clone().requires_grad_(True)
    y = fn(theta, u)
    y.sum().backward()
    return y.detach(), theta.grad


CASES = {
    "stable": lambda t, u: C.stable_concrete_dropout(t, 0.3, u),
    "paper": lambda t, u: C.concrete_dropout(t, 0.3, u),
    "drop_mask stable": lambda t, u: C.drop_mask(t, relaxation="stable", temp=0.3, u=u),
    "drop_mask paper": lambda t, u: C.drop_mask(t, relaxation="paper", temp=0.3, u=u),
    "drop_mask gal": lambda t, u: C.drop_mask(t, relaxation="gal", temp=0.3, u=u),
    "drop_mask gal eps=0": lambda t, u: C.drop_mask(t, relaxation="gal", temp=0.3, u=u, eps=0.0),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_infinite_logits_mean_always_or_never_drop(case, dtype):
    # every u, including the ends 0 and 1 where log(u / (1 - u)) is -inf / +inf
    u = torch.tensor([0.0, 1e-30, 0.3, 0.5, 0.9, 1.0], dtype=dtype)
    for sign, expected in ((1, 1.0), (-1, 0.0)):
        theta = torch.full_like(u, sign * math.inf)
        y, g = _value_and_grad(CASES[case], theta, u)
        assert torch.equal(y, torch.full_like(u, expected)), (case, sign, y)
        assert torch.equal(g, torch.zeros_like(u)), (case, sign, g)


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_infinite_logits_leave_finite_neighbours_and_their_gradient_alone(case):
    u = torch.tensor([0.0, 0.5, 0.5, 1.0])
    theta = torch.tensor([math.inf, 0.0, 1.0, -math.inf])
    y, g = _value_and_grad(CASES[case], theta, u)
    ref_y, ref_g = _value_and_grad(CASES[case], theta[1:3], u[1:3])
    assert torch.equal(y[[0, 3]], torch.tensor([1.0, 0.0]))
    assert torch.equal(y[1:3], ref_y) and torch.equal(g[1:3], ref_g)
    assert torch.isfinite(g).all() and torch.equal(g[[0, 3]], torch.zeros(2))


def test_gal_with_eps_zero_and_probability_one_is_always_drop():
    # p = 1 with eps = 0 is logit +inf; u = 0 is logit -inf: the drop probability wins
    p = torch.tensor([1.0, 0.0, 1.0, 0.0], requires_grad=True)
    u = torch.tensor([0.0, 1.0, 0.5, 0.5])
    y = C.gal_concrete_dropout(p, 0.1, u, eps=0.0)
    y.sum().backward()
    assert torch.equal(y.detach(), torch.tensor([1.0, 0.0, 1.0, 0.0]))
    assert torch.isfinite(p.grad).all()


def test_gal_with_default_eps_is_documented_not_always_drop():
    # Gal's ε round trip caps the logit at log((1+ε)/ε) ≈ 16.1: p = 1 is not "always
    # drop" there (the docstring says so); the result is finite and < 1 for u = 0
    y = C.gal_concrete_dropout(torch.tensor([1.0]), 0.1, torch.tensor([0.0]))
    assert torch.isfinite(y).all() and 0.0 < float(y) < 1.0


@pytest.mark.parametrize("relaxation", C.RELAXATIONS)
@pytest.mark.parametrize("temp", [1e-300, 1e-45, 1e300])
def test_temperatures_whose_inverse_overflows_float32_are_refused(relaxation, temp):
    # T = 1e-300 gave NaN masks silently, 1e-45 an inf gradient, 1e300 a RuntimeError deep in torch
    with pytest.raises(ValueError, match=r"temp must be .*\[1e-30, 1e\+30\]"):
        C.drop_mask(torch.zeros(3), relaxation=relaxation, temp=temp, u=torch.full((3,), 0.5))


def test_meta_tensors_pass_through_without_value_checks():
    # meta tensors carry shapes only (torch uses them to trace): no NaN check can run
    y = C.drop_mask(torch.zeros(3, device="meta"), u=torch.rand(3, device="meta"))
    assert y.device.type == "meta" and y.shape == (3,)


# ---------------------------------------------------------------- issue 18
def test_seeds_beyond_64_bits_name_the_parameter():
    from fido_lib.concrete import make_generator
    with pytest.raises(ValueError, match=r"generator must be an int .*<= 18446744073709551615"):
        C.drop_mask(torch.zeros(3), generator=2**64)
    with pytest.raises(ValueError, match="seed must be an int"):
        make_generator(-(2**63) - 1, name="seed")
    assert make_generator(2**64 - 1) is not None  # the largest seed torch takes


@pytest.mark.parametrize("shape, exc", [(-1, ValueError), ((2, -3), ValueError), ("4", TypeError),
                                        ((2.5,), TypeError), ((2**20, 2**20), ValueError)])
def test_uniform_noise_checks_its_shape_before_drawing(shape, exc):
    from fido_lib.concrete import uniform_noise
    with pytest.raises(exc, match="shape"):
        uniform_noise(shape)


@pytest.mark.parametrize("relaxation", ["stable", "paper"])
def test_hand_written_backwards_refuse_a_u_that_wants_a_gradient(relaxation):
    u = torch.full((3,), 0.5, requires_grad=True)
    with pytest.raises(ValueError, match="no gradient w.r.t. u"):
        C.drop_mask(torch.zeros(3), relaxation=relaxation, u=u)


def test_gal_keeps_the_gradient_wrt_u():
    u = torch.full((3,), 0.5, requires_grad=True)
    C.drop_mask(torch.zeros(3), relaxation="gal", u=u).sum().backward()
    assert u.grad is not None and bool((u.grad != 0).all())


@pytest.mark.parametrize("relaxation", ["stable", "paper", "gal"])
def test_a_temperature_tensor_that_wants_a_gradient_is_refused(relaxation):
    temp = torch.tensor(0.5, requires_grad=True)
    with pytest.raises(ValueError, match="temp is a tensor that requires grad"):
        C.drop_mask(torch.zeros(3), relaxation=relaxation, temp=temp, generator=0)


def test_float16_logits_give_float16_masks_in_every_relaxation_whatever_the_dtype_of_u():
    theta = torch.zeros(5, dtype=torch.float16)
    u = torch.rand(5)  # float32 noise
    dtypes = {r: C.drop_mask(theta, relaxation=r, u=u).dtype for r in ("stable", "paper", "gal")}
    assert set(dtypes.values()) == {torch.float16}, dtypes
