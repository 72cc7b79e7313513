"""Recorded wrong answers for notebook 02's exercises (tests/test_exercises.py)."""

_SYMBOLS = 'Y, Z = sp.symbols("Y Z", real=True)\n'

WRONG_ANSWERS = {
    "nb02-dy-dT": [
        ("sympy's derivative of `simplified` instead of a derivation", _SYMBOLS + "dy_dT = sp.diff(simplified, T)\n"),
        ("dz/dT taken as 1/T: sign and z lost", _SYMBOLS + "dy_dT = Y * (1 - Y) / T\n"),
        ("dz/dT = −z/T², one T too many", _SYMBOLS + "dy_dT = -Y * (1 - Y) * Z / T**2\n"),
    ],
    "nb02-theta-half": [
        ("solved the first-order form 1 − ε(e^θ + e^(−θ)) = 1/2 instead of F",
         "theta_half = float(sp.nsolve(first_order.subs(eps, sp.Rational(1, 10**7)) - sp.Rational(1, 2),\n"
         "                             theta, 16))\n"),
        ("started nsolve on the negative side: the negative root",
         "theta_half = float(sp.nsolve(F.subs(eps, sp.Rational(1, 10**7)) - sp.Rational(1, 2), theta, -16))\n"),
    ],
    "nb02-theta-half-eps": [
        ("ε given to sympy as a Python float: 1 + 2.2e-16 rounds in double precision",
         "theta_half_by_eps = {\n"
         "    e: float(sp.nsolve(F.subs(eps, e) - sp.Rational(1, 2), theta, float(sp.log(1 / e)), prec=30))\n"
         "    for e in (1e-4, 2.2e-16)\n"
         "}\n"),
        ("θ½ taken as log(1/ε) without solving",
         "theta_half_by_eps = {e: float(sp.log(1 / sp.Rational(str(e)))) for e in (1e-4, 2.2e-16)}\n"),
    ],
}
