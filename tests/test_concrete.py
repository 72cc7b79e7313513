"""fido_lib.concrete: gradients, agreement, the published listing, dtypes, errors."""
import math

import pytest
import sympy as sp
import torch
from torch.autograd import gradcheck

from fido_lib import symbolic as S
from fido_lib.concrete import (
    RELAXATIONS,
    concrete_dropout,
    drop_mask,
    gal_concrete_dropout,
    stable_concrete_dropout,
)

FLOAT_DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]


def _u(shape, seed=0, dtype=torch.float64):
    # keep away from 0 and 1 so that Gal's eps inside log(u+eps) is negligible
    g = torch.Generator().manual_seed(seed)
    return (0.02 + 0.96 * torch.rand(shape, generator=g, dtype=torch.float64)).to(dtype)


# ----------------------------------------------------------------- gradcheck (float64)
@pytest.mark.parametrize("temp", [0.1, 0.5, 2.0])
@pytest.mark.parametrize("name", ["stable", "paper"])
def test_gradcheck_logit_implementations(name, temp):
    theta = torch.linspace(-4, 4, 17, dtype=torch.float64, requires_grad=True)
    u = _u(17)
    f = stable_concrete_dropout if name == "stable" else concrete_dropout
    assert gradcheck(lambda t: f(t, temp, u), (theta,))


@pytest.mark.parametrize("temp", [0.1, 0.5, 2.0])
def test_gradcheck_gal(temp):
    p = torch.linspace(0.05, 0.95, 17, dtype=torch.float64, requires_grad=True)
    assert gradcheck(lambda q: gal_concrete_dropout(q, temp, _u(17)), (p,))


@pytest.mark.parametrize("name", RELAXATIONS)
def test_gradcheck_with_broadcast_noise(name):
    # several noise samples for one logit map, as FIDO draws them
    theta = torch.randn(3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    theta.requires_grad_()
    u = _u((5, 3, 4), seed=2)
    assert gradcheck(lambda t: drop_mask(t, relaxation=name, temp=0.5, u=u), (theta,))


# ----------------------------------------------------------- against sympy's derivative
@pytest.mark.parametrize("name", RELAXATIONS)
def test_gradient_equals_sympy(name):
    theta = torch.linspace(-6, 6, 25, dtype=torch.float64, requires_grad=True)
    u, temp, eps = _u(25, seed=3), 0.3, 1e-7
    drop_mask(theta, relaxation=name, temp=temp, u=u, eps=eps).sum().backward()
    expr = S.gal_gradient() if name == "gal" else S.simplified_gradient()
    f = sp.lambdify((S.theta, S.u, S.T, S.eps), expr, "math")
    # the stable sampler has no eps in its noise; the paper's has 1e-7 (as has Gal's)
    e = 0.0 if name == "stable" else eps
    # the listing stores T with torch.scalar_tensor, i.e. in float32, even for float64 input
    t = float(torch.tensor(temp, dtype=torch.float32)) if name == "paper" else temp
    expected = torch.tensor([f(a, v, t, e) for a, v in zip(theta.tolist(), u.tolist())], dtype=torch.float64)
    torch.testing.assert_close(theta.grad, expected, rtol=1e-9, atol=1e-12)


# ------------------------------------------------------------------ forward agreement
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_forwards_agree_for_the_same_noise(dtype):
    theta = torch.linspace(-8, 8, 401, dtype=dtype)
    u = _u(401, seed=4, dtype=dtype)
    outs = {n: drop_mask(theta, relaxation=n, temp=0.5, u=u) for n in RELAXATIONS}
    # with the default eps = 1e-7 the differences are eps-sized
    torch.testing.assert_close(outs["stable"], outs["paper"], rtol=0, atol=1e-5)
    torch.testing.assert_close(outs["stable"], outs["gal"], rtol=0, atol=1e-5)
    # without eps Gal's formula is the same function as the stable one
    if dtype == torch.float64:
        gal0 = drop_mask(theta, relaxation="gal", temp=0.5, u=u, eps=0.0)
        torch.testing.assert_close(outs["stable"], gal0, rtol=0, atol=1e-12)


def test_mask_is_a_drop_mask():
    # high drop logit -> mostly dropped (close to 1), low -> mostly kept (close to 0)
    u = _u(1000, seed=5, dtype=torch.float32)
    for n in RELAXATIONS:
        assert drop_mask(torch.full((1000,), 5.0), relaxation=n, u=u).mean() > 0.95
        assert drop_mask(torch.full((1000,), -5.0), relaxation=n, u=u).mean() < 0.05


@pytest.mark.parametrize("name", RELAXATIONS)
def test_mean_tends_to_sigmoid_as_temperature_goes_to_zero(name):
    theta = torch.tensor([-2.0, -0.5, 0.0, 1.0, 2.5], dtype=torch.float64)
    g = torch.Generator().manual_seed(6)
    u = torch.rand(200_000, 5, generator=g, dtype=torch.float64)
    for temp, tol in [(0.01, 0.006), (1e-3, 0.006)]:
        mean = drop_mask(theta, relaxation=name, temp=temp, u=u).mean(0)
        assert torch.allclose(mean, torch.sigmoid(theta), atol=tol), (temp, mean)
    # at a high temperature the mean is pulled towards 1/2: the limit is not trivial
    warm = drop_mask(theta, relaxation=name, temp=5.0, u=u).mean(0)
    assert (warm - torch.sigmoid(theta)).abs().max() > 0.05


def test_generator_and_seed_give_the_same_samples():
    theta = torch.zeros(50)
    for n in RELAXATIONS:
        a = drop_mask(theta, relaxation=n, generator=7)
        b = drop_mask(theta, relaxation=n, generator=torch.Generator().manual_seed(7))
        c = drop_mask(theta, relaxation=n, generator=8)
        assert torch.equal(a, b) and not torch.equal(a, c)


# ------------------------------------------------------ the published listing, bit for bit
def _listing(logit_p, temp, u):
    """Supplement Sect. S1 retyped op by op, forward and backward, as plain tensors."""
    eps = 1e-7
    t = torch.scalar_tensor(temp)
    noise = ((u + eps) / (1 - u + eps)).log()
    zz = (logit_p + noise) / t
    res = zz.sigmoid()
    grad = torch.zeros_like(res)
    mask = res != 0
    grad[mask] = res[mask] ** 2 * (-zz[mask]).exp() / t
    return res, grad


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_paper_function_matches_listing_bit_for_bit(dtype):
    theta = torch.linspace(-30, 30, 301, dtype=dtype)
    u = torch.rand(301, generator=torch.Generator().manual_seed(9), dtype=dtype)
    want_y, want_g = _listing(theta, 0.1, u)
    x = theta.clone().requires_grad_()
    y = concrete_dropout(x, 0.1, u)
    y.backward(torch.ones_like(y))
    assert torch.equal(y.detach(), want_y)
    assert torch.equal(x.grad, want_g)


def test_paper_function_gives_nan_in_float16():
    # the trap notebook 03 shows: e^(-z) overflows to inf where y is small but not 0
    theta = torch.linspace(-3, 0, 200, dtype=torch.float16, requires_grad=True)
    concrete_dropout(theta, 0.1, torch.full((200,), 0.5, dtype=torch.float16)).sum().backward()
    assert torch.isnan(theta.grad).any()


# -------------------------------------------------------------- the default's dtype sweep
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("temp", [0.01, 0.1, 1.0, 10.0])
def test_stable_is_finite_everywhere(dtype, temp):
    theta = torch.cat([torch.linspace(-1e4, 1e4, 2001), torch.linspace(-40, 40, 801)]).to(dtype)
    theta.requires_grad_()
    u = torch.rand(theta.shape, generator=torch.Generator().manual_seed(10)).to(dtype)
    for noise in (u, torch.zeros_like(u), torch.ones_like(u), None):
        theta.grad = None
        y = stable_concrete_dropout(theta, temp, noise, generator=11)
        y.backward(torch.ones_like(y))
        assert y.dtype == dtype and theta.grad.dtype == dtype
        assert torch.isfinite(y).all() and torch.isfinite(theta.grad).all()
        assert ((y >= 0) & (y <= 1)).all()


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("temp", [0.01, 0.1, 1.0, 10.0])
def test_stable_gradient_keeps_both_tails(dtype, temp):
    # z = θ/T swept far into both tails; the true gradient σ(z)σ(−z)/T in float64
    theta = torch.linspace(-150 * temp, 150 * temp, 6001, dtype=torch.float64).to(dtype)
    x = theta.clone().requires_grad_()
    stable_concrete_dropout(x, temp, torch.full((1,), 0.5, dtype=dtype)).sum().backward()
    zz = theta.double() / temp
    true = torch.sigmoid(zz) * torch.sigmoid(-zz) / temp
    normal = true >= torch.finfo(dtype).tiny
    got = x.grad.double()
    assert (got[normal] != 0).all(), "a normal-sized gradient rounded to 0"
    rel = ((got - true).abs() / true)[normal].max().item()
    assert rel < 8 * torch.finfo(dtype).eps * max(1.0, 150 / 16)  # exp amplifies z's rounding


@pytest.mark.parametrize("name,lo,hi", [("gal", 1.7, 2.5), ("paper", -6.0, -5.4), ("stable", -6.0, 2.5)])
def test_which_tail_each_implementation_loses(name, lo, hi):
    # float32, T = 0.1: the true gradient σ(z)σ(−z)/T is a normal float all along
    # Gal's is exactly 0 for z > 16.6 (p rounds to 1); the listing's for z < −52 (y² underflows)
    theta = torch.linspace(lo, hi, 9, dtype=torch.float32, requires_grad=True)
    drop_mask(theta, relaxation=name, temp=0.1, u=torch.full((9,), 0.5)).sum().backward()
    assert (theta.grad == 0).any() == (name != "stable")


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("name", RELAXATIONS)
@pytest.mark.parametrize("temp", [0, -1.0, math.inf, math.nan])
def test_bad_temperature(name, temp):
    with pytest.raises(ValueError, match="temp"):
        drop_mask(torch.zeros(3), relaxation=name, temp=temp)


@pytest.mark.parametrize("name", RELAXATIONS)
def test_temperature_of_the_wrong_type(name):
    for temp in ("0.1", True, None):
        with pytest.raises(TypeError, match="temp"):
            drop_mask(torch.zeros(3), relaxation=name, temp=temp)


@pytest.mark.parametrize("name", RELAXATIONS)
def test_noise_outside_unit_interval(name):
    for bad in (torch.tensor([0.5, 1.5, 0.2]), torch.tensor([-0.1, 0.5, 0.5]), torch.tensor([0.5, math.nan, 0.5])):
        with pytest.raises(ValueError, match=r"u must lie in \[0, 1\]"):
            drop_mask(torch.zeros(3), relaxation=name, u=bad)


@pytest.mark.parametrize("name", RELAXATIONS)
def test_noise_that_does_not_broadcast(name):
    with pytest.raises(ValueError, match=r"u has shape \(4,\)"):
        drop_mask(torch.zeros(3), relaxation=name, u=torch.full((4,), 0.5))


@pytest.mark.parametrize("name", RELAXATIONS)
def test_integer_tensors_are_refused(name):
    with pytest.raises(TypeError, match="floating-point"):
        drop_mask(torch.zeros(3, dtype=torch.int64), relaxation=name)
    with pytest.raises(TypeError, match="u must be a floating-point"):
        drop_mask(torch.zeros(3), relaxation=name, u=torch.zeros(3, dtype=torch.int64))


def test_probability_outside_unit_interval():
    with pytest.raises(ValueError, match=r"p must lie in \[0, 1\]"):
        gal_concrete_dropout(torch.tensor([0.2, 1.2]))
    with pytest.raises(TypeError, match="p must be a torch.Tensor"):
        gal_concrete_dropout([0.2, 0.3])


def test_unknown_relaxation_and_bad_generator():
    with pytest.raises(ValueError, match="relaxation must be one of 'stable', 'paper', 'gal'"):
        drop_mask(torch.zeros(3), relaxation="hard")
    with pytest.raises(TypeError, match="generator"):
        drop_mask(torch.zeros(3), generator="seed")
