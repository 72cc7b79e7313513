"""fido_lib.checks: each check passes right answers and names what differs in wrong ones."""
import numpy as np
import pytest
import sympy as sp
import torch

from fido_lib.checks import (
    CheckFailed,
    check_better_than,
    check_gradient,
    check_mask,
    check_sympy_equal,
    check_tensor_close,
)


def _fails(match, fn, *args, **kwargs):
    with pytest.raises(CheckFailed, match=match) as info:
        fn(*args, **kwargs)
    assert isinstance(info.value, AssertionError)  # nbgrader counts it as a failed test
    return str(info.value)


# ---------------------------------------------------------------- tensors
def test_exact_and_close_are_told_apart(capsys):
    x = torch.linspace(0, 1, 8)
    check_tensor_close("x", x, x.clone())
    assert capsys.readouterr().out == "✓ x: exact (shape (8,))\n"
    check_tensor_close("x", x.double() + 1e-9, x)
    assert capsys.readouterr().out.startswith("✓ x: close — max |diff| 1.0e-09")


def test_accepts_arrays_numbers_and_other_dtypes(capsys):
    check_tensor_close("a", np.array([0.5, 1.5]), torch.tensor([0.5, 1.5], dtype=torch.float64))
    check_tensor_close("s", 0.25, torch.tensor(0.25))
    check_tensor_close("h", torch.tensor([0.5], dtype=torch.float16), torch.tensor([0.5]))
    assert capsys.readouterr().out.count("✓") == 3


def test_names_the_worst_difference_and_where_it_is():
    expected = torch.zeros(3, 4)
    got = expected.clone()
    got[1, 2], got[2, 3] = 0.5, 0.1
    message = _fails("x", check_tensor_close, "x", got, expected)
    assert "2 of 12 values differ" in message and "max |diff| 0.5 at index (1, 2)" in message
    assert "got 0.5, expected 0" in message


def test_rtol_counts_relative_to_the_reference():
    check_tensor_close("big", torch.tensor([1000.001]), torch.tensor([1000.0]), rtol=1e-5)
    _fails("1 of 1 values differ", check_tensor_close, "small", torch.tensor([0.001]), torch.tensor([0.0]))


@pytest.mark.parametrize("got, match", [
    (torch.zeros(2, 3), r"shape \(2, 3\), expected \(3, 2\)"),
    (None, "forget to `return`"),
    ("text", "must be a tensor, an array or a number, got str"),
])
def test_wrong_kind_or_shape(got, match):
    _fails(match, check_tensor_close, "y", got, torch.zeros(3, 2))


def test_nan_and_inf_are_reported_not_hidden():
    expected = torch.tensor([1.0, 2.0, 3.0])
    message = _fails("NaN", check_tensor_close, "z", torch.tensor([1.0, float("nan"), 3.0]), expected)
    assert "index (1,)" in message and "got nan, expected 2" in message
    _fails("inf", check_tensor_close, "z", torch.tensor([1.0, 2.0, float("inf")]), expected)
    both = torch.tensor([float("nan"), float("inf")])
    _fails("NaN", check_tensor_close, "z", both, both)  # NaN != NaN unless asked
    check_tensor_close("z", both, both, equal_nan=True)


@pytest.mark.parametrize("kwargs", [{"rtol": -1}, {"atol": float("inf")}, {"rtol": "0.1"}])
def test_bad_tolerances_are_errors_not_failures(kwargs):
    with pytest.raises(ValueError, match="rtol|atol"):
        check_tensor_close("x", torch.zeros(1), torch.zeros(1), **kwargs)


def test_name_must_be_given():
    with pytest.raises(TypeError, match="name"):
        check_tensor_close("", torch.zeros(1), torch.zeros(1))


# ---------------------------------------------------------------- gradients
class _SquaredSigmoidBackward(torch.autograd.Function):
    """σ forward with the classic mistake σ² instead of σ(1 - σ) in the backward."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.sigmoid(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * torch.sigmoid(x) ** 2


def test_gradient_against_a_reference(capsys):
    theta = torch.linspace(-3, 3, 7)
    check_gradient("σ", torch.sigmoid, theta, lambda t: 1 / (1 + torch.exp(-t)))
    assert "gradient matches the reference" in capsys.readouterr().out
    message = _fails("gradient w.r.t. argument 0 \\(θ\\)", check_gradient, "σ", _SquaredSigmoidBackward.apply,
                     theta, torch.sigmoid, arg_names=["θ"])
    assert "values differ" in message


def test_gradient_against_finite_differences(capsys):
    check_gradient("product", lambda a, b: a * b.sin(), (torch.randn(4), torch.randn(4)))
    assert "central differences" in capsys.readouterr().out
    _fails("argument 0", check_gradient, "σ", _SquaredSigmoidBackward.apply, torch.randn(5))


def test_gradient_of_non_tensor_arguments_is_not_asked_for(capsys):
    check_gradient("scaled", lambda t, temp: torch.sigmoid(t / temp), (torch.randn(3), 0.5))
    assert "1 argument(s)" in capsys.readouterr().out


def test_wrong_forward_is_reported_before_gradients():
    _fails("forward", check_gradient, "σ", torch.tanh, torch.randn(4), torch.sigmoid)


@pytest.mark.parametrize("fn, match", [
    (lambda t: torch.sigmoid(t.detach()), "does not depend on the inputs"),
    (lambda t: None, "returned None"),
    (lambda t: 3.0, "must return a tensor"),
])
def test_broken_student_functions(fn, match):
    _fails(match, check_gradient, "f", fn, torch.randn(3))


def test_unused_argument_is_named():
    _fails("no gradient reached argument 1 \\(u\\)", check_gradient, "f", lambda t, u: t * 2,
           (torch.randn(3), torch.rand(3)), lambda t, u: t * 2 + 0 * u, arg_names=["θ", "u"])


def test_gradient_check_rejects_bad_setup():
    with pytest.raises(TypeError, match="fn"):
        check_gradient("f", "not callable", torch.randn(2))
    with pytest.raises(ValueError, match="floating-point"):
        check_gradient("f", lambda t: t, torch.arange(3))
    with pytest.raises(ValueError, match="max_numel"):
        check_gradient("f", torch.sigmoid, torch.randn(3000))


# ---------------------------------------------------------------- sympy
THETA, T = sp.symbols("theta T", real=True)


def test_sympy_equal_symbolically_and_numerically(capsys):
    sigma = 1 / (1 + sp.exp(-THETA / T))
    check_sympy_equal("dσ/dθ", sp.diff(sigma, THETA), sigma * (1 - sigma) / T)
    assert "simplify" in capsys.readouterr().out


def test_sympy_difference_names_a_point_and_both_values():
    message = _fails("differs from the reference at T=.*theta=", check_sympy_equal, "d", THETA / T, THETA * T)
    assert "got" in message and "expected" in message


def test_sympy_symbol_with_other_assumptions_is_explained():
    _fails("other assumptions", check_sympy_equal, "d", sp.Symbol("theta") * 2, THETA * 2)


@pytest.mark.parametrize("got, match", [(None, "None"), (lambda t: t, "Python function")])
def test_sympy_wrong_kind(got, match):
    _fails(match, check_sympy_equal, "d", got, THETA)


# ---------------------------------------------------------------- masks and measurements
def test_mask_checks(capsys):
    mask = torch.full((2, 4, 4), 0.25)
    check_mask("ssr", mask, shape=(2, 4, 4), area=(0.1, 0.3))
    assert "area 0.250" in capsys.readouterr().out
    _fails("shape", check_mask, "ssr", mask, shape=(4, 4))
    _fails("area .* outside", check_mask, "ssr", mask, area=(0.5, 1.0))
    _fails(r"\[0, 1\].*index \(0, 0, 1\)", check_mask, "ssr", torch.tensor([[[0.0, 1.5]]]))
    _fails("NaN or inf", check_mask, "ssr", torch.tensor([0.0, float("nan")]))
    with pytest.raises(ValueError, match="area"):
        check_mask("ssr", mask, area=(0.5, 0.2))


def test_better_than(capsys):
    check_better_than("insertion AUC", 0.61, 0.30, margin=0.1)
    assert "higher by 0.3100" in capsys.readouterr().out
    check_better_than("deletion AUC", torch.tensor(0.1), 0.3, higher_is_better=False)
    _fails("needed at least 0.1", check_better_than, "insertion AUC", 0.35, 0.30, margin=0.1)
    _fails("single numbers", check_better_than, "x", torch.zeros(2), 0.0)
    with pytest.raises(TypeError, match="higher_is_better"):
        check_better_than("x", 1.0, 0.0, higher_is_better="yes")


def test_check_within_prints_the_value_beside_its_range_and_refuses_outside():
    import io
    import re
    from contextlib import redirect_stdout
    from pathlib import Path

    from fido_lib.checks import CheckFailed, check_within

    out = io.StringIO()
    with redirect_stdout(out):
        check_within("ratio", 0.87312, 0.85, 0.90)
    line = out.getvalue().strip()
    assert line == "✓ ratio: 0.8731 within [0.85, 0.9]"
    # the sanitizer nbval uses masks the measured number, and only it
    cfg = (Path(__file__).parent / "nbval_sanitize.cfg").read_text().splitlines()
    i = next(k for k, row in enumerate(cfg) if "check_within" in row)
    regex, replace = cfg[i + 1].removeprefix("regex: "), cfg[i + 2].removeprefix("replace: ")
    assert re.sub(regex, replace, line) == "✓ ratio: VALUE within [0.85, 0.9]"
    for bad in (0.84, 0.91, float("nan")):
        with pytest.raises(CheckFailed, match="NOT within"):
            check_within("ratio", bad, 0.85, 0.90)
    with pytest.raises(ValueError, match="low must be <= high"):
        check_within("ratio", 0.5, 1, 0)
    with pytest.raises(ValueError, match="low"):
        check_within("ratio", 0.5, float("nan"), 1)
