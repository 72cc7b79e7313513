"""fido_lib._util: one policy for bad arguments (TypeError for the type, ValueError for the
value), devices, threads, progress."""
import pytest
import torch

from fido_lib import _util


@pytest.mark.parametrize(
    "call, exc, words",
    [
        (lambda: _util.check_int("n", 2.5), TypeError, ["n", "2.5", "int"]),
        (lambda: _util.check_int("n", True), TypeError, ["n", "int"]),
        (lambda: _util.check_int("n", 0, low=1), ValueError, ["n", ">= 1", "0"]),
        (lambda: _util.check_int("n", 9, low=1, high=5), ValueError, ["<= 5", "9"]),
        (lambda: _util.check_real("lr", "fast"), TypeError, ["lr", "real number", "fast"]),
        (lambda: _util.check_real("lr", float("nan")), ValueError, ["lr", "finite", "nan"]),
        (lambda: _util.check_real("lr", 0.0, low=0.0, low_open=True), ValueError, ["lr", "> 0", "0.0"]),
        (lambda: _util.check_real("p", 1.0, high=1.0, high_open=True), ValueError, ["p", "< 1"]),
        (lambda: _util.check_bool("flag", 1), TypeError, ["flag", "True or False"]),
        (lambda: _util.check_choice("mode", "x", ("a", "b")), ValueError, ["mode", "'a', 'b'", "'x'"]),
    ],
)
def test_checks_name_parameter_value_and_what_is_allowed(call, exc, words):
    with pytest.raises(exc) as err:
        call()
    for word in words:
        assert word in str(err.value)


def test_checks_return_the_value():
    assert _util.check_int("n", 3, low=1) == 3
    assert _util.check_real("x", 2) == 2.0 and isinstance(_util.check_real("x", 2), float)
    assert _util.check_choice("m", "a", ("a",)) == "a"


def test_resolve_device():
    assert _util.resolve_device("cpu") == torch.device("cpu")
    assert _util.resolve_device(torch.device("cpu")) == torch.device("cpu")
    with pytest.raises(TypeError, match="device"):
        _util.resolve_device(0.5)
    with pytest.raises(ValueError, match="device"):
        _util.resolve_device("gpu please")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="cuda"):
            _util.resolve_device("cuda:0")
    else:
        with pytest.raises(ValueError, match="CUDA device"):
            _util.resolve_device(f"cuda:{torch.cuda.device_count()}")


def test_synchronize_accepts_cpu_and_none():
    _util.synchronize(None)
    _util.synchronize("cpu")


def test_num_threads_sets_and_restores_even_on_error():
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError):
        with _util.num_threads(1):
            assert torch.get_num_threads() == 1
            raise RuntimeError("boom")
    assert torch.get_num_threads() == before
    with _util.num_threads(None):
        assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="num_threads"):
        with _util.num_threads(0):
            pass


def test_progress_bar_counts_and_a_disabled_one_is_silent(capsys):
    with _util.progress_bar(3, "work") as bar:
        for _ in range(3):
            bar.update(1)
    assert "3/3" in capsys.readouterr().err
    with _util.progress_bar(3, "quiet", enabled=False) as bar:
        bar.update(3)
    assert capsys.readouterr().err == ""
