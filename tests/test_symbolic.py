"""fido_lib.symbolic: the identities notebook 02 relies on, checked by sympy and numerically."""
import math

import pytest
import sympy as sp

from fido_lib import symbolic as S


def test_sigmoid_derivative_identities():
    checks = S.sigmoid_derivative_identities()
    assert len(checks) == 3 and all(checks.values()), checks


def test_gal_and_simplified_agree_at_eps_zero():
    assert S.gal_equals_simplified_at_eps_zero()


def test_gal_gradient_is_eps_factor_times_simplified_gradient():
    assert S.gal_gradient_factorises()


def test_supplement_closed_form_is_the_derivative():
    assert sp.simplify(S.simplified_gradient() - S.simplified_gradient_closed_form()) == 0


def test_eps_factor_values_and_series():
    f = sp.lambdify((S.theta, S.eps), S.eps_factor(), "mpmath")
    assert math.isclose(float(f(3.0, 0.0)), 1.0, rel_tol=1e-12)
    # values quoted in notebook 02 (eps = 1e-7)
    for th, want in [(8, 0.9997), (12, 0.984), (17, 0.293)]:
        assert math.isclose(float(f(th, 1e-7)), want, rel_tol=2e-3)
    series = sp.series(S.eps_factor(), S.eps, 0, 2).removeO()
    assert sp.simplify(series - S.eps_factor_first_order()) == 0


def test_a_wrong_identity_is_caught():
    # the checker must be able to say False
    assert not S._is_zero(S.sigmoid(S.z) - S.sigmoid(-S.z))



# ------------------------------------------ the library equals what notebook 02 derives by hand
# (moved here from the notebook: they keep fido_lib.symbolic honest, they teach nothing)
def _by_hand():
    """Notebook 02's expressions, written out as the notebook writes them."""
    th, u, eps = S.theta, S.u, S.eps

    def sigma(x):
        return 1 / (1 + sp.exp(-x))

    p = sigma(th)
    ell = sp.log(p + eps) - sp.log(1 - p + eps)
    noise = sp.log(u + eps) - sp.log(1 - u + eps)
    F = p * (1 - p) * (1 / (p + eps) + 1 / (1 - p + eps))
    return sigma, p, ell, noise, F


def test_library_samples_are_the_notebooks():
    sigma, p, ell, noise, F = _by_hand()
    assert sp.simplify(sigma((ell + noise) / S.T) - S.gal_sample()) == 0
    assert sp.simplify(sigma((S.theta + noise) / S.T) - S.simplified_sample()) == 0
    assert sp.simplify(S.logistic_noise() - noise) == 0
    assert sp.simplify(S.sigmoid(S.z) - sigma(S.z)) == 0


def test_library_gradients_are_the_notebooks():
    sigma, p, ell, noise, F = _by_hand()
    gal = sigma((ell + noise) / S.T)
    z_gal = (ell + noise) / S.T
    assert sp.simplify(sp.diff(gal, S.theta) - S.gal_gradient()) == 0
    assert sp.simplify(sigma(z_gal) * (1 - sigma(z_gal)) / S.T * F - S.gal_gradient()) == 0
    simplified = sigma((S.theta + noise) / S.T)
    z_s = (S.theta + noise) / S.T
    assert sp.simplify(sp.diff(simplified, S.theta) - S.simplified_gradient()) == 0
    assert sp.simplify(sigma(z_s) ** 2 * sp.exp(-z_s) / S.T - S.simplified_gradient_closed_form()) == 0


def test_library_eps_factor_is_the_notebooks_and_d_ell_d_theta():
    sigma, p, ell, noise, F = _by_hand()
    assert sp.simplify(F - S.eps_factor()) == 0
    assert sp.simplify(sp.diff(ell, S.theta) - S.eps_factor()) == 0
    assert sp.simplify(sp.series(F, S.eps, 0, 2).removeO() - S.eps_factor_first_order()) == 0
    assert sp.simplify(S.eps_factor().subs(S.eps, 0) - 1) == 0


def test_gal_logit_saturates_at_log_one_plus_eps_over_eps():
    sigma, p, ell, noise, F = _by_hand()
    limit = sp.limit(ell, S.theta, sp.oo)
    assert sp.simplify(limit - (sp.log(1 + S.eps) - sp.log(S.eps))) == 0
    assert float(limit.subs(S.eps, sp.Rational(1, 10**7))) == pytest.approx(16.118, abs=1e-3)


def test_eps_factor_halves_near_log_one_over_eps():
    # notebook 02, exercises 2 and 3: F(θ½) = 1/2 at θ½ ≈ log(1/ε)
    # ε exact: a float ε would make sympy round 1 + ε in double precision
    cases = [(sp.Rational(1, 10**4), 9.2104), (sp.Rational(1, 10**7), 16.118), (sp.Rational("2.2e-16"), 36.0529)]
    for e, want in cases:
        half = sp.nsolve(S.eps_factor().subs(S.eps, e) - sp.Rational(1, 2), S.theta, float(sp.log(1 / e)), prec=30)
        assert float(half) == pytest.approx(want, abs=2e-3)

# ----------------------------------------------------------- the floating-point map
import torch  # noqa: E402


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_float_class_names_each_kind_of_number(dtype):
    tiny = torch.finfo(dtype).tiny
    x = torch.tensor([1.0, -tiny, tiny / 4, 0.0, -math.inf, math.nan], dtype=torch.float64).to(dtype)
    names = [S.FLOAT_CLASSES[i] for i in S.float_class(x).tolist()]
    assert names == ["normal", "normal", "subnormal", "0", "inf", "NaN"]


def test_float_class_refuses_integers():
    with pytest.raises(TypeError, match="floating-point"):
        S.float_class(torch.arange(3))


def test_class_ranges_and_description():
    z = torch.tensor([-3.0, -2.0, -1.0, 0.0, 1.0])
    x = torch.tensor([math.inf, math.inf, 1.0, 0.0, 0.0])
    assert S.class_ranges(z, S.float_class(x)) == [("inf", -3.0, -2.0), ("normal", -1.0, -1.0), ("0", 0.0, 1.0)]
    assert S.describe_ranges(z, S.float_class(x), digits=0) == "inf [-3, -2] · normal [-1, -1] · 0 [0, 1]"
    with pytest.raises(ValueError, match="increasing"):
        S.class_ranges(z.flip(0), S.float_class(x))
    with pytest.raises(ValueError, match="same shape"):
        S.class_ranges(z, S.float_class(x[:3]))


def test_float_limits_are_exact_powers_of_two():
    lim = S.float_limits(torch.float16)
    assert lim["smallest_subnormal"] == sp.Rational(1, 2**24)
    assert lim["smallest_normal"] == sp.Rational(1, 2**14)
    assert lim["largest"] == 65504 and lim["eps"] == sp.Rational(1, 2**10)
    with pytest.raises(TypeError, match="dtype"):
        S.float_limits(torch.int32)


def _first_z(z, mask, last=False):
    hits = z[mask]
    return float(hits.max() if last else hits.min())


@pytest.mark.parametrize("dtype", [torch.float16, torch.float32])
def test_float_thresholds_agree_with_torch(dtype):
    # a fine grid in float64, each piece evaluated once in the dtype (torch rounds once here)
    z = torch.arange(-120, 120, 0.001, dtype=torch.float64)
    zd = z.to(dtype)
    want = S.float_thresholds(dtype)
    e = torch.exp(-zd)
    sig = torch.sigmoid(zd)
    tol = 0.01
    assert abs(_first_z(z, torch.isinf(e), last=True) - want["e^(−z) = inf for z <"]) < tol
    assert abs(_first_z(z, (e == 0) & (z > 0)) - want["e^(−z) = 0 for z >"]) < tol
    assert abs(_first_z(z, (sig * sig == 0) & (z < 0), last=True) - want["σ(z)² = 0 for z <"]) < tol
    if dtype == torch.float16:
        # computed in float32 and rounded once: the textbook boundaries hold
        assert abs(_first_z(z, (1 - sig == 0) & (z > 0)) - want["1 − σ(z) = 0 for z >"]) < tol
        both = sig * torch.sigmoid(-zd)
        assert abs(_first_z(z, (both == 0) & (z > 0)) - want["σ(z)σ(−z) = 0 for |z| >"]) < tol
    else:
        # float32 sigmoid is 1/(1+e^(−z)) in float32: it reaches 1 and 0 before the format must
        assert _first_z(z, (1 - sig == 0) & (z > 0)) < want["1 − σ(z) = 0 for z >"] - 0.5
        assert _first_z(z, (sig == 0) & (z < 0), last=True) > -want["σ(z)σ(−z) = 0 for |z| >"] + 10
