"""Hostile inputs to fido_lib.checks (issue 11): integers compared as integers."""
import pytest
import torch

from fido_lib.checks import CheckFailed, check_tensor_close

BIG = 2**53


def test_big_integers_that_differ_are_not_called_exact(capsys):
    # float64 rounds 2**53 + 1 to 2**53: a comparison in float64 would call them "exact"
    check_tensor_close("ints", torch.tensor([BIG + 1]), torch.tensor([BIG]))
    out = capsys.readouterr().out
    assert "exact" not in out and "close" in out and "max |diff| 1.0e+00" in out


def test_big_integers_that_differ_fail_without_tolerance():
    with pytest.raises(CheckFailed, match=r"1 of 1 values differ — max \|diff\| 1 "):
        check_tensor_close("ints", torch.tensor([BIG + 1]), torch.tensor([BIG]), rtol=0, atol=0)
    with pytest.raises(CheckFailed, match="got 9007199254740993, expected 9007199254740992"):
        check_tensor_close("ints", [BIG + 1], [BIG], rtol=0, atol=0)


def test_equal_big_integers_are_exact(capsys):
    check_tensor_close("ints", [BIG + 1, -3], [BIG + 1, -3])
    assert "exact" in capsys.readouterr().out


def test_an_integer_a_float_cannot_hold_is_not_exactly_equal_to_that_float(capsys):
    check_tensor_close("mixed", torch.tensor([BIG + 1]), torch.tensor([float(BIG)], dtype=torch.float64))
    assert "exact" not in capsys.readouterr().out


def test_extreme_int64_values_do_not_overflow_the_difference():
    lo, hi = -(2**63), 2**63 - 1
    with pytest.raises(CheckFailed, match="values differ"):
        check_tensor_close("extremes", torch.tensor([hi]), torch.tensor([lo]), rtol=0, atol=0)


# ---------------------------------------------------------------- issue 18: the caller's arguments are not the answer
def test_check_mask_blames_a_bad_shape_argument_not_the_mask():
    from fido_lib.checks import check_mask
    with pytest.raises(TypeError, match="shape must be None or a tuple of sizes"):
        check_mask("m", torch.rand(4, 4), shape="4x4")  # said the student's mask had the wrong shape
    with pytest.raises(TypeError, match="shape"):
        check_mask("m", torch.rand(4, 4), shape=(4, 4.0))


@pytest.mark.parametrize("kw, exc, match", [
    (dict(step=float("inf")), ValueError, r"step must be a finite number in \(0, 1\]"),
    (dict(step=float("nan")), ValueError, "step"),
    (dict(step="1e-6"), TypeError, "step must be a number"),
    (dict(seed=2**64), ValueError, "seed must be an int"),
    (dict(rtol=-1.0), ValueError, "rtol"),
    (dict(dtype=torch.int64), TypeError, "dtype"),
    (dict(max_numel=10**9), ValueError, "max_numel"),
])
def test_check_gradient_blames_its_own_bad_arguments_before_running_the_answer(kw, exc, match):
    from fido_lib.checks import check_gradient
    calls = []

    def answer(x):
        calls.append(1)
        return x * 2

    with pytest.raises(exc, match=match):
        check_gradient("g", answer, (torch.rand(3),), **kw)
    assert not calls


def test_check_sympy_equal_bounds_its_points():
    sp = pytest.importorskip("sympy")
    from fido_lib.checks import check_sympy_equal
    x = sp.Symbol("x")
    with pytest.raises(ValueError, match=r"points must be an int .*<= 10000"):
        check_sympy_equal("e", x, x, points=10**9)
    with pytest.raises(ValueError, match="low and high"):
        check_sympy_equal("e", x, x, low=1.0, high=float("nan"))
