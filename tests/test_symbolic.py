"""fido_lib.symbolic: the identities notebook 02 relies on, checked by sympy and numerically."""
import math

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
