"""Self-checks for the exercises: say what differs, where and by how much.

Every ``check_*`` function prints one line starting with ``✓`` when the answer is
right, and raises :class:`CheckFailed` (an ``AssertionError``, so nbgrader counts it
as a failed test) with a message a student can act on when it is not::

    check_tensor_close("drop mask", mine, reference)
    ✓ drop mask: close — max |diff| 3.0e-08 at index (2,), within rtol=1e-05, atol=1e-08

    CheckFailed: ✗ drop mask: 3 of 8 values differ — max |diff| 0.25 at index (5,):
    got 0.75, expected 0.5 (rtol=1e-05, atol=1e-08)

"Close" means ``|got - expected| <= atol + rtol·|expected|`` elementwise, the rule of
``torch.allclose``; "exact" means every value is bitwise equal.
"""
from __future__ import annotations

import contextlib
import functools
import io
import math
import numbers
import sys

import numpy as np
import torch

from ._util import check_int, check_seed

__all__ = [
    "MAX_NUMEL",
    "MAX_POINTS",
    "CheckFailed",
    "check_better_than",
    "check_gradient",
    "check_mask",
    "check_sympy_equal",
    "check_tensor_close",
    "check_within",
]


#: Largest ``max_numel`` :func:`check_gradient` takes: each element costs two forward passes.
MAX_NUMEL = 100_000
#: Most random points :func:`check_sympy_equal` evaluates (each at 30 digits with mpmath).
MAX_POINTS = 10_000


class CheckFailed(AssertionError):
    """An exercise's answer is wrong; the message says what differs."""


def _fail(name: str, why: str) -> None:
    raise CheckFailed(f"✗ {name}: {why}")


def _ok(name: str, what: str) -> None:
    print(f"✓ {name}: {what}")


def _check_name(name) -> str:
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty string naming what is checked, got {name!r}")
    return name


def _check_tolerance(label: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0 or math.isinf(value):
        raise ValueError(f"{label} must be a finite number >= 0, got {value!r}")
    return float(value)


def _as_tensor(name: str, value, role: str) -> torch.Tensor:
    """A plain CPU tensor of its own from a tensor, array, number or nested list of them.

    The answer is converted once, by its type, without calling any method it brings
    (no ``__torch_function__``, ``__float__``, ``__iter__`` or ``__array__`` of a
    subclass): a value cannot lie to the comparison, nor run code while the reference
    is in scope. Python floats become float64 (``torch.tensor(0.1)`` would be float32
    and hide differences below 1e-7); a wrong kind fails with a hint.
    """
    if value is None:
        _fail(name, f"{role} is None — did the function forget to `return` its result?")
    try:
        return _plain(value, 0)
    except _NotPlain as why:
        _fail(name, f"{role} {why}")
    except (TypeError, ValueError, RuntimeError) as error:  # e.g. a meta tensor, an int beyond int64
        _fail(name, f"{role} cannot be read as numbers: {type(error).__name__}: {error}")


class _NotPlain(Exception):
    """Why a value is not a tensor, an array or a number (the message completes "your result …")."""


_MAX_NESTING = 32
_PLAIN_NUMBERS = ((int, int.__index__, torch.int64), (float, float.__float__, torch.float64),
                  (complex, complex.__complex__, torch.complex128))
_NUMPY_SCALARS = frozenset(t for t in np.sctypeDict.values() if t not in (np.object_, np.str_, np.bytes_, np.void))
#: Number types of these packages are read with their own ``float()`` / ``int()``.
_NUMBER_LIBRARIES = ("fractions", "decimal", "sympy", "mpmath")


def _library_class(cls) -> bool:
    """Whether ``cls`` is the class its ``__module__`` and ``__qualname__`` name in one of
    ``_NUMBER_LIBRARIES`` (a class that only claims that module is not)."""
    module = sys.modules.get(type.__getattribute__(cls, "__module__") or "")
    if module is None or module.__name__.split(".")[0] not in _NUMBER_LIBRARIES:
        return False
    found = module
    for part in type.__getattribute__(cls, "__qualname__").split("."):
        found = getattr(found, part, None)
    return found is cls


def _plain(value, depth: int) -> torch.Tensor:
    kind = type(value)  # never isinstance: it would ask the value's own __class__
    if issubclass(kind, torch.Tensor):
        return _plain_tensor(value)
    if issubclass(kind, np.ndarray):
        array = np.ndarray.view(value, np.ndarray)  # the data, without the subclass's methods
        if array.dtype.hasobject or array.dtype.kind not in "biufc":
            raise _NotPlain(f"is an array of {array.dtype}, not of numbers")
        return torch.from_numpy(array.copy())
    if kind is bool or kind is np.bool_:
        if depth == 0:
            raise _NotPlain(f"must be a tensor, an array or a number, got {kind.__name__}")
        return torch.tensor(bool(value))
    for base, read, dtype in _PLAIN_NUMBERS:
        if issubclass(kind, base):  # a subclass's value, read by the base type's own method
            return torch.tensor(read(value), dtype=dtype)
    if kind in _NUMPY_SCALARS:
        return torch.from_numpy(np.array(value))
    if issubclass(kind, numbers.Number) and _library_class(kind):
        if issubclass(kind, numbers.Integral):
            return torch.tensor(int(value), dtype=torch.int64)
        if issubclass(kind, numbers.Real):
            return torch.tensor(float(value), dtype=torch.float64)
        return torch.tensor(complex(value), dtype=torch.complex128)
    if issubclass(kind, (list, tuple)):
        if depth >= _MAX_NESTING:
            raise _NotPlain(f"is nested more than {_MAX_NESTING} lists deep")
        iterate = list.__iter__ if issubclass(kind, list) else tuple.__iter__  # not a subclass's own
        items = [_plain(item, depth + 1) for item in iterate(value)]
        if not items:
            return torch.zeros(0, dtype=torch.float64)
        if len({tuple(t.shape) for t in items}) > 1:
            raise _NotPlain("is a ragged list: its items have different shapes")
        dtype = functools.reduce(torch.promote_types, (t.dtype for t in items))
        return torch.stack([t.to(dtype) for t in items])
    if issubclass(kind, numbers.Number):
        raise _NotPlain(f"is a {kind.__module__}.{kind.__qualname__}, not a plain number: convert it with "
                        "float() or int() before the check")
    raise _NotPlain(f"must be a tensor, an array or a number, got {kind.__name__}")


def _plain_tensor(value) -> torch.Tensor:
    """A plain ``torch.Tensor`` copy of a tensor or tensor subclass, on the CPU, detached.

    Read with torch's own methods and ``__torch_function__`` disabled, so a subclass
    cannot answer for itself (e.g. ``torch.equal`` → True); a subclass that intercepts
    torch's dispatch (a wrapper without data of its own) is refused.
    """
    with torch._C.DisableTorchFunction():
        if "Python" in repr(torch._C._dispatch_keys(value)):
            raise _NotPlain(f"is a {type(value).__name__}, a tensor subclass that intercepts torch's "
                            "dispatch: return a plain torch.Tensor")
        plain = torch._C.TensorBase.detach(value)
        if plain.layout != torch.strided:
            plain = torch._C.TensorBase.to_dense(plain)
        plain = torch._C.TensorBase.cpu(plain)
        plain = torch._C.TensorBase.clone(plain)
        return torch._C.TensorBase.as_subclass(plain, torch.Tensor)


def _index(flat_index: int, shape) -> tuple:
    return tuple(int(i) for i in np.unravel_index(flat_index, tuple(shape))) if len(shape) else ()


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def _exact_in_float64(t: torch.Tensor) -> bool:
    """Whether float64 holds every value of ``t`` exactly (always for float tensors)."""
    if t.is_floating_point() or t.dtype == torch.bool:
        return True
    t = t.to(torch.int64)
    return torch.equal(t.to(torch.float64).to(torch.int64), t)


def check_tensor_close(name, got, expected, *, rtol=1e-5, atol=1e-8, equal_nan=False):
    """Check ``got`` against ``expected`` elementwise: ``|got - expected| <= atol + rtol·|expected|``.

    Reports "exact" or "close" (with the largest difference and where it is) on
    success; on failure the first problem found: wrong type, wrong shape, a NaN or
    inf that the reference does not have, or how many values differ, the largest
    difference, its index and both values there. Compares in float64 on the CPU,
    so ``got`` may have another float dtype or device than ``expected``.
    """
    name = _check_name(name)
    rtol, atol = _check_tolerance("rtol", rtol), _check_tolerance("atol", atol)
    expected_t = _as_tensor(name, expected, "the reference")
    got_t = _as_tensor(name, got, "your result")
    if got_t.shape != expected_t.shape:
        _fail(name, f"shape {tuple(got_t.shape)}, expected {tuple(expected_t.shape)}")
    if got_t.is_complex() or expected_t.is_complex():
        _fail(name, "complex values are not supported by this check")
    g, e = got_t.to(torch.float64), expected_t.to(torch.float64)
    both_nan = g.isnan() & e.isnan() if equal_nan else torch.zeros_like(g, dtype=torch.bool)
    # integers are compared as integers: float64 holds them exactly only up to 2**53
    # (2**53 + 1 would round to 2**53 and pass as "exact")
    ints = not got_t.is_floating_point() and not expected_t.is_floating_point()
    if ints:
        gi, ei = got_t.to(torch.int64), expected_t.to(torch.int64)
        exact = torch.equal(gi, ei)
    else:
        exact = (torch.equal(torch.where(both_nan, 0.0, g), torch.where(both_nan, 0.0, e))
                 and _exact_in_float64(got_t) and _exact_in_float64(expected_t))
    if exact:
        _ok(name, f"exact (shape {tuple(g.shape)})")
        return
    fmt = (lambda t, where: str(int(t[where].item()))) if ints else (lambda t, where: _fmt(t[where].item()))
    # non-finite values first: their differences are NaN or inf and would hide behind max()
    for label, wrong in (
        ("NaN", (g.isnan() | e.isnan()) & ~both_nan),
        ("±inf", (g.isinf() | e.isinf()) & (g != e)),
    ):
        if wrong.any():
            where = _index(int(wrong.flatten().nonzero()[0]), g.shape)
            _fail(name, f"{int(wrong.sum())} of {g.numel()} values do not match because of {label}, "
                        f"first at index {where}: got {_fmt(g[where].item())}, expected {_fmt(e[where].item())}")
    finite = g.isfinite() & e.isfinite()
    diff = torch.where(finite, (g - e).abs(), torch.zeros_like(g))
    if ints:  # the exact integer difference where int64 holds it (below 2**62), else the float64 one
        diff = torch.where(diff < 2.0**62, (gi - ei).abs().to(torch.float64), diff)
    allowed = atol + rtol * e.abs()
    bad = finite & (diff > allowed)
    worst = int(diff.flatten().argmax())
    where = _index(worst, g.shape)
    tol = f"(rtol={rtol:g}, atol={atol:g})"
    if bad.any():
        worst_bad = int(torch.where(bad, diff - allowed, torch.full_like(diff, -1.0)).flatten().argmax())
        where = _index(worst_bad, g.shape)
        _fail(name, f"{int(bad.sum())} of {g.numel()} values differ — max |diff| {diff[where].item():.3g} at index "
                    f"{where}: got {fmt(got_t, where)}, expected {fmt(expected_t, where)} {tol}")
    _ok(name, f"close — max |diff| {diff[where].item():.1e} at index {where}, within {tol}")


def _inputs_tuple(inputs) -> tuple:
    if isinstance(inputs, torch.Tensor):
        return (inputs,)
    if isinstance(inputs, (list, tuple)) and inputs:
        return tuple(inputs)
    raise TypeError(f"inputs must be a tensor or a non-empty tuple of arguments, got {type(inputs).__name__}")


def _prepared(inputs: tuple, dtype) -> list:
    out = []
    for x in inputs:
        if isinstance(x, torch.Tensor) and x.is_floating_point():
            x = x.detach().to(dtype if dtype is not None else x.dtype).clone().requires_grad_(True)
        out.append(x)
    return out


def _arg_label(i: int, arg_names) -> str:
    return f"argument {i}" + (f" ({arg_names[i]})" if arg_names and i < len(arg_names) else "")


def _forward(name: str, fn, args) -> torch.Tensor:
    out = fn(*args)
    if out is None:
        _fail(name, "the function returned None — did it forget to `return` its result?")
    if not issubclass(type(out), torch.Tensor):
        _fail(name, f"the function must return a tensor, got {type(out).__name__}")
    with torch._C.DisableTorchFunction():  # a plain tensor, still attached to the autograd graph
        if "Python" in repr(torch._C._dispatch_keys(out)):
            _fail(name, f"the function returned a {type(out).__name__}, a tensor subclass that intercepts "
                        "torch's dispatch: return a plain torch.Tensor")
        return torch._C.TensorBase.as_subclass(out, torch.Tensor)


def _gradients(name: str, out: torch.Tensor, args: list, grad_output: torch.Tensor, arg_names, who: str) -> list:
    wanted = [a for a in args if isinstance(a, torch.Tensor) and a.requires_grad]
    if not out.requires_grad:
        _fail(name, f"{who} output does not depend on the inputs through autograd — was something "
                    "computed with .detach(), .item(), numpy or torch.no_grad()?")
    grads = torch.autograd.grad(out, wanted, grad_output, allow_unused=True)
    result, k = [], 0
    for i, a in enumerate(args):
        if isinstance(a, torch.Tensor) and a.requires_grad:
            if grads[k] is None:
                _fail(name, f"no gradient reached {_arg_label(i, arg_names)} in {who} function")
            result.append((i, grads[k]))
            k += 1
    return result


def _numerical_gradients(fn, args: list, grad_output: torch.Tensor, step: float) -> list:
    """Central differences of ``sum(fn(args) * grad_output)`` for every float tensor argument."""
    result = []
    with torch.no_grad():
        plain = [a.detach().clone() if isinstance(a, torch.Tensor) else a for a in args]
        for i, a in enumerate(plain):
            if not (isinstance(a, torch.Tensor) and a.is_floating_point()):
                continue
            grad = torch.zeros_like(a)
            flat, grad_flat = a.view(-1), grad.view(-1)
            for j in range(flat.numel()):
                keep = flat[j].item()
                flat[j] = keep + step
                up = (fn(*plain) * grad_output).sum().item()
                flat[j] = keep - step
                down = (fn(*plain) * grad_output).sum().item()
                flat[j] = keep
                grad_flat[j] = (up - down) / (2 * step)
            result.append((i, grad))
    return result


def check_gradient(name, fn, inputs, reference=None, *, arg_names=None, rtol=1e-5, atol=1e-7,
                   dtype=torch.float64, seed=0, step=1e-6, max_numel=2000):
    """Check a function's gradient, against a ``reference`` function or finite differences.

    ``fn(*inputs)`` must return a tensor. Each float tensor in ``inputs`` gets
    ``requires_grad``; both functions are run on copies cast to ``dtype`` (float64 by
    default, so rounding does not hide a wrong formula), and ``sum(out · g)`` is
    differentiated for a seeded random ``g`` — all-ones would let a transposed or
    misplaced gradient pass. With a ``reference``: forward values, then the gradient
    with respect to each argument, must be close. Without one: the gradient must match
    central differences ``(f(x+h) - f(x-h)) / 2h`` with ``h = step`` (``max_numel``
    caps the cost of that loop). Failures name the argument (``arg_names``) and the
    largest difference with its index.
    """
    name = _check_name(name)
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    if reference is not None and not callable(reference):
        raise TypeError(f"reference must be callable or None, got {type(reference).__name__}")
    if isinstance(step, bool) or not isinstance(step, numbers.Real):
        raise TypeError(f"step must be a number, got {type(step).__name__} {step!r}")
    if not (math.isfinite(step) and 0 < step <= 1):  # inf or NaN steps made every answer look wrong
        raise ValueError(f"step must be a finite number in (0, 1], got {step!r}")
    _check_tolerance("rtol", rtol)
    _check_tolerance("atol", atol)
    check_seed("seed", seed)
    if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise TypeError(f"dtype must be a floating-point torch.dtype, got {dtype!r}")
    check_int("max_numel", max_numel, low=1, high=MAX_NUMEL)
    inputs = _inputs_tuple(inputs)
    if not any(isinstance(x, torch.Tensor) and x.is_floating_point() for x in inputs):
        raise ValueError("inputs must contain at least one floating-point tensor to differentiate")
    if reference is None:
        numel = sum(x.numel() for x in inputs if isinstance(x, torch.Tensor) and x.is_floating_point())
        if numel > max_numel:
            raise ValueError(f"finite differences over {numel} elements is slow; pass a reference or "
                             f"smaller inputs (max_numel={max_numel})")
    args = _prepared(inputs, dtype)
    out = _forward(name, fn, args)
    generator = torch.Generator().manual_seed(int(seed))
    grad_output = torch.randn(out.shape, generator=generator, dtype=out.dtype if out.is_floating_point()
                              else torch.float64).to(out.device)
    # the student's backward runs before any reference value exists (it cannot look one up)
    try:
        got, got_failed = {i: _as_tensor(name, g, "your gradient")
                           for i, g in _gradients(name, out, args, grad_output, arg_names, "your")}, None
    except CheckFailed as failure:  # reported after the forward check: a wrong forward explains it
        got, got_failed = {}, failure
    if reference is not None:
        ref_args = _prepared(inputs, dtype)
        ref_out = _forward(f"{name} (reference)", reference, ref_args)
        _quietly(check_tensor_close, f"{name} forward", out, ref_out, rtol=rtol, atol=atol)
        if got_failed is not None:
            raise got_failed
        expected = _gradients(name, ref_out, ref_args, grad_output, arg_names, "the reference")
        source = "the reference's autograd gradient"
    else:
        if got_failed is not None:
            raise got_failed
        expected = _numerical_gradients(fn, args, grad_output, step)
        source = f"central differences (h={step:g})"
    worst = 0.0
    for i, expected_grad in expected:
        label = f"{name}, gradient w.r.t. {_arg_label(i, arg_names)}"
        _quietly(check_tensor_close, label, got[i], expected_grad, rtol=rtol, atol=atol)
        worst = max(worst, (got[i].to(torch.float64) - expected_grad.detach().to(torch.float64)).abs().max().item())
    _ok(name, f"gradient matches {source} for {len(expected)} argument(s) — max |diff| {worst:.1e}")


def _quietly(check, *args, **kwargs):
    """Run a check for its failure only (its success line would be noise inside another check)."""
    with contextlib.redirect_stdout(io.StringIO()):
        check(*args, **kwargs)


def check_sympy_equal(name, got, expected, *, points=12, seed=0, low=0.05, high=0.95):
    """Check that a sympy expression equals the reference, symbolically or at random points.

    First ``simplify(got - expected) == 0``; when sympy cannot decide, both are
    evaluated at ``points`` seeded random values of their symbols in ``[low, high]``
    (inside every domain the notebooks use: u, p in (0, 1), T > 0, any θ). Fails
    naming symbols that only one side has (a symbol made with other assumptions is a
    different symbol to sympy) or the first point where the two differ, with both values.
    """
    import mpmath
    import sympy as sp

    name = _check_name(name)
    check_int("points", points, low=1, high=MAX_POINTS)
    check_int("seed", seed, low=0)
    if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v) for v in (low, high)) \
            or not low < high:
        raise ValueError(f"low and high must be finite numbers with low < high, got {low!r} and {high!r}")
    if got is None:
        _fail(name, "your expression is None — did you assign or return it?")
    if callable(got) and not issubclass(type(got), sp.Basic):
        _fail(name, "got a Python function; pass the sympy expression (e.g. the function's result)")
    got_e = _plain_sympy(name, got)
    try:
        expected_e = sp.sympify(expected)
    except (sp.SympifyError, TypeError) as error:
        raise TypeError(f"expected must be a sympy expression or a number, got {type(expected).__name__}: "
                        f"{error}") from None
    extra = got_e.free_symbols - expected_e.free_symbols
    if extra:
        same_name = {s.name for s in extra} & {s.name for s in expected_e.free_symbols}
        hint = (f" — {sorted(same_name)} has the reference's name but other assumptions; use the "
                "notebook's symbols" if same_name else "")
        _fail(name, f"uses symbol(s) {sorted(s.name for s in extra)} that the reference does not{hint}")
    if sp.simplify(got_e - expected_e) == 0:
        _ok(name, "equal to the reference (simplify(got − expected) = 0)")
        return
    symbols = sorted(got_e.free_symbols | expected_e.free_symbols, key=lambda s: s.name)
    rng = np.random.default_rng(seed)
    f_got, f_expected = sp.lambdify(symbols, got_e, "mpmath"), sp.lambdify(symbols, expected_e, "mpmath")
    for _ in range(points):
        values = [float(v) for v in rng.uniform(low, high, size=len(symbols))]
        with mpmath.workdps(30):  # whatever precision the notebook left mpmath at
            a, b = complex(f_got(*values)), complex(f_expected(*values))
        if not (abs(a - b) <= 1e-9 * max(1.0, abs(b))):
            at = ", ".join(f"{s}={v:.4g}" for s, v in zip(symbols, values))
            show = lambda z: _fmt(z.real) if abs(z.imag) < 1e-12 else f"{z:.6g}"  # noqa: E731
            _fail(name, f"differs from the reference at {at or 'every point'}: got {show(a)}, expected {show(b)}")
    _ok(name, f"equal to the reference at {points} random points "
              "(sympy could not simplify the difference to 0 by itself)")


_MAX_SYMPY_NODES = 100_000
#: What sympy itself puts into the class of an undefined function ``sp.Function("f")``.
_UNDEFINED_FUNCTION_KEYS = frozenset({"_kwargs", "__module__", "__doc__", "_explicit_class_assumptions",
                                      "default_assumptions", "_prop_handler", "name", "_sage_", "_nargs"})


def _sympy_class(cls) -> bool:
    """One of sympy's own classes, or the class of an undefined function made by ``sp.Function``
    without methods of its own (a subclass a student wrote could answer ``got - expected = 0``)."""
    from sympy.core.function import UndefinedFunction

    if type(cls) is UndefinedFunction:
        return all(key in _UNDEFINED_FUNCTION_KEYS or (key.startswith("is_") and value in (True, False, None))
                   for key, value in type.__getattribute__(cls, "__dict__").items())
    module = sys.modules.get(type.__getattribute__(cls, "__module__") or "")
    return module is not None and module.__name__.split(".")[0] == "sympy" and _library_class(cls)


def _plain_sympy(name: str, value):
    """``value`` as a sympy expression, refused unless every node of it is sympy's own.

    Read by type, so no method of the answer runs (neither ``__sub__`` nor ``__sympy__``);
    a number becomes a sympy number. Strings are refused: sympify would evaluate them.
    """
    import sympy as sp

    kind = type(value)
    for base, read in ((int, int.__index__), (float, float.__float__)):
        if issubclass(kind, base) and kind is not bool:
            return sp.sympify(read(value))
    if not issubclass(kind, sp.Basic):
        hint = " (build it from the notebook's symbols, not a string)" if issubclass(kind, str) else ""
        _fail(name, f"your answer must be a sympy expression, got {kind.__name__}{hint}")
    todo, seen = [value], 0
    while todo:
        node = todo.pop()
        seen += 1
        if seen > _MAX_SYMPY_NODES:
            _fail(name, f"your expression has more than {_MAX_SYMPY_NODES} nodes")
        if issubclass(type(node), sp.Basic):
            if not _sympy_class(type(node)):
                _fail(name, f"your expression contains a {type(node).__qualname__}, which is not one of "
                            "sympy's own classes: build it from sympy's functions and the notebook's symbols")
            todo.extend(node.args)
        elif type(node) not in (int, float, str, bool, type(None)):
            _fail(name, f"your expression contains a {type(node).__name__}, not a sympy object")
    return value


def check_mask(name, mask, *, shape=None, area=None):
    """Check that ``mask`` is a valid mask: finite, in [0, 1], of ``shape``, with mean in ``area``.

    ``area`` is a ``(low, high)`` range for the mean value (the fraction of the image
    the mask covers). Reports the shape, range and area on success.
    """
    name = _check_name(name)
    if shape is not None and (not isinstance(shape, (tuple, list, torch.Size)) or any(
            isinstance(d, bool) or not isinstance(d, numbers.Integral) or d < 0 for d in shape)):
        raise TypeError(f"shape must be None or a tuple of sizes (ints >= 0) such as (4, 4), got {shape!r}")
    if area is not None:
        if (not isinstance(area, (tuple, list)) or len(area) != 2
                or not all(isinstance(a, numbers.Real) and not isinstance(a, bool) for a in area)
                or not 0 <= area[0] <= area[1] <= 1):
            raise ValueError(f"area must be a (low, high) pair with 0 <= low <= high <= 1, got {area!r}")
    m = _as_tensor(name, mask, "your mask").to(torch.float64)
    if shape is not None and tuple(m.shape) != tuple(shape):
        _fail(name, f"shape {tuple(m.shape)}, expected {tuple(shape)}")
    if m.numel() == 0:
        _fail(name, "the mask is empty")
    if not m.isfinite().all():
        where = _index(int((~m.isfinite()).flatten().nonzero()[0]), m.shape)
        _fail(name, f"{int((~m.isfinite()).sum())} values are NaN or inf, first at index {where}")
    low, high = m.min().item(), m.max().item()
    if low < 0 or high > 1:
        where = _index(int(((m < 0) | (m > 1)).flatten().nonzero()[0]), m.shape)
        _fail(name, f"values must lie in [0, 1]; found range [{low:.4g}, {high:.4g}], first outside at "
                    f"index {where} ({m[where].item():.4g})")
    mean = m.mean().item()
    if area is not None and not area[0] <= mean <= area[1]:
        _fail(name, f"area (mean value) {mean:.3f} is outside the allowed range [{area[0]:g}, {area[1]:g}]")
    _ok(name, f"valid mask, shape {tuple(m.shape)}, values in [{low:.3f}, {high:.3f}], area {mean:.3f}")


def check_better_than(name, value, baseline, *, margin=0.0, higher_is_better=True):
    """Check that a measured ``value`` beats a ``baseline`` by at least ``margin``.

    E.g. an SSR mask's insertion AUC against a random order's. Reports both numbers
    and the gap, so a student defends a choice with the measurement itself.
    """
    name = _check_name(name)
    _check_tolerance("margin", margin)
    if not isinstance(higher_is_better, bool):
        raise TypeError(f"higher_is_better must be True or False, got {higher_is_better!r}")
    v = _as_tensor(name, value, "your value")
    b = _as_tensor(name, baseline, "the baseline")
    if v.numel() != 1 or b.numel() != 1:
        _fail(name, f"value and baseline must be single numbers, got shapes {tuple(v.shape)} and {tuple(b.shape)}")
    v, b = float(v.item()), float(b.item())
    if not (math.isfinite(v) and math.isfinite(b)):
        _fail(name, f"value {v} and baseline {b} must be finite")
    gap = v - b if higher_is_better else b - v
    word = "higher" if higher_is_better else "lower"
    if gap < margin:
        _fail(name, f"{v:.4f} against baseline {b:.4f}: {word} by {gap:+.4f}, needed at least {margin:g}")
    _ok(name, f"{v:.4f} against baseline {b:.4f} — {word} by {gap:.4f} (needed ≥ {margin:g})")


def check_within(name, value, low, high, *, digits=4):
    """Check that a measured number lies in ``[low, high]`` and print it beside that range.

    For the checked cells of the notebooks: a value that depends on floating-point
    summation order (another CPU, kernel set or thread count) is checked against a
    tolerance, not against stored digits. The line reads
    ``✓ name: 0.9613 within [0.9, 1.01]``; ``tests/nbval_sanitize.cfg`` masks the
    measured number (only on ``✓`` lines) so nbval compares the verdict and the range on
    any machine, while a reader still sees the number.
    """
    name = _check_name(name)
    if isinstance(digits, bool) or not isinstance(digits, numbers.Integral) or not 1 <= digits <= 17:
        raise ValueError(f"digits must be an int in [1, 17], got {digits!r}")
    bounds = []
    for label, bound in (("low", low), ("high", high)):
        if isinstance(bound, bool) or not isinstance(bound, numbers.Real) or math.isnan(bound):
            raise ValueError(f"{label} must be a real number, got {bound!r}")
        bounds.append(float(bound))
    low, high = bounds
    if low > high:
        raise ValueError(f"low must be <= high, got low={low:g}, high={high:g}")
    v = _as_tensor(name, value, "your value")
    if v.numel() != 1:
        _fail(name, f"must be a single number, got shape {tuple(v.shape)}")
    v = float(v.item())
    shown = f"{v:.{int(digits)}g}"
    if not low <= v <= high:  # also refuses NaN
        _fail(name, f"{shown} is NOT within [{low:g}, {high:g}]")
    _ok(name, f"{shown} within [{low:g}, {high:g}]")
