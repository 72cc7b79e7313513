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
