"""benchmarks/concrete_ops.py (quick run, table shape) and the timing helpers it uses."""
import importlib.util
import math
import re
import sys
from pathlib import Path

import nbformat
import pytest
import torch
from nbclient.exceptions import CellExecutionError

from fido_lib.concrete import stable_concrete_dropout
from fido_lib.timing import (
    cpu_name,
    format_seconds,
    forward_backward,
    machine_description,
    median_times,
    memory_bound_reference,
)

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "concrete_ops.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("concrete_ops", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def _table(text):
    rows = {}
    for line in text.splitlines():
        if line.startswith("| ") and not line.startswith("| variant") and not line.startswith("| ---"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            rows[cells[0]] = cells[1:]
    return rows


def test_quick_run_prints_every_variant_with_positive_ratios(bench, capsys):
    assert bench.main(["--quick", "--sizes", "1e3", "--no-compile"]) == 0
    out = capsys.readouterr().out
    rows = _table(out)
    names = [bench.REFERENCE] + [v.name for v in bench.build_variants(compile_default=False)]
    assert list(rows) == names
    compiled = "default: `stable_concrete_dropout`, `torch.compile`"
    for name, cells in rows.items():
        assert len(cells) == 4, (name, cells)  # one size, two requirements, both
        if name == compiled:
            assert cells[0] == "—"
            continue
        m = re.fullmatch(r"([0-9.e+]+)×? \((.+)\)", cells[0])
        assert m, (name, cells[0])
        ratio = float(m.group(1))
        assert math.isfinite(ratio) and ratio > 0
    # the requirement columns are computed: the default meets both, the published listing does not
    assert rows["default: `stable_concrete_dropout`, eager"][1:] == ["yes", "yes", "yes"]
    assert rows["paper: `ConcreteDropout` Function as published"][1] == "no: float16"
    assert rows["paper: `ConcreteDropout` Function as published"][3] == "no"
    assert "not run (--no-compile)" in out
    assert f"torch {torch.__version__}" in out and "CPU:" in out


def test_bad_options_are_refused(bench):
    for argv in (["--sizes", "ten"], ["--sizes", "0"], ["--repeats", "0"], ["--threads", "0"]):
        with pytest.raises(SystemExit):
            bench.main(argv)


def test_requirement_check_names_the_failing_dtype(bench):
    def nan_in_half(logit, temp, u):
        y = stable_concrete_dropout(logit, temp, u)
        return y * torch.nan if logit.dtype == torch.float16 else y

    def zero_gradient(logit, temp, u):
        return stable_concrete_dropout(logit.detach(), temp, u) + 0 * logit

    # a NaN is not an exact 0: each requirement reports its own failure
    assert bench.check_requirements(nan_in_half, quick=True) == ("no: float16", "yes")
    assert bench.check_requirements(zero_gradient, quick=True) == ("yes", "no: float16, bfloat16, float32, float64")


# ------------------------------------------------------------------ fido_lib.timing
def test_median_times_rotates_and_takes_the_median():
    calls = []
    runs = {name: (lambda name=name: calls.append(name)) for name in "abc"}
    times = median_times(runs, repeats=3, warmup=1)
    assert set(times) == {"a", "b", "c"} and all(t >= 0 for t in times.values())
    assert calls == list("abc") + list("abc") + list("bca") + list("cab")


def test_median_times_refuses_bad_arguments():
    with pytest.raises(ValueError, match="repeats"):
        median_times({"a": lambda: None}, repeats=0)
    with pytest.raises(ValueError, match="warmup"):
        median_times({"a": lambda: None}, warmup=-1)
    with pytest.raises(ValueError, match="non-empty"):
        median_times({})
    with pytest.raises(TypeError, match=r"runs\['a'\]"):
        median_times({"a": 3})


def test_forward_backward_runs_one_fresh_backward_each_call():
    seen = []

    def fn(logit, temp, u):
        seen.append(logit.grad)
        return stable_concrete_dropout(logit, temp, u)

    logit = torch.zeros(4)
    run = forward_backward(fn, logit, 0.5, torch.full((3, 4), 0.5))
    run()
    run()
    assert seen == [None, None]  # the gradient is reset, never accumulated
    assert logit.grad is None and not logit.requires_grad  # the caller's tensor is untouched


def test_reference_and_format():
    x = torch.ones(3)
    memory_bound_reference(x)()
    assert torch.equal(x, torch.ones(3))
    assert format_seconds(2.5) == "2.5 s"
    assert format_seconds(0.0412) == "41.2 ms"
    assert format_seconds(3.2e-5) == "32 µs"


def test_median_times_sets_and_restores_threads():
    before = torch.get_num_threads()
    seen = []
    median_times({"a": lambda: seen.append(torch.get_num_threads())}, repeats=1, warmup=0, threads=1)
    assert seen == [1] and torch.get_num_threads() == before
    with pytest.raises(ValueError, match="threads"):
        median_times({"a": lambda: None}, threads=0)


NOTEBOOK_TIMES = Path(__file__).resolve().parents[1] / "benchmarks" / "notebook_times.py"


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_notebook_times_runs_each_notebook_and_prints_one_row_each(tmp_path, capsys):
    times = _load(NOTEBOOK_TIMES, "notebook_times")
    paths = []
    for name, code in (("a.ipynb", "import time\ntime.sleep(0.5)"), ("b.ipynb", "x = 1")):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
        nbformat.write(nb, tmp_path / name)
        paths.append(tmp_path / name)
    before = [p.read_bytes() for p in paths]
    assert times.main([str(p) for p in paths]) == 0
    rows = {k: v for k, v in _table(capsys.readouterr().out).items() if k != "notebook"}  # not the header
    assert set(rows) == {"a.ipynb", "b.ipynb", "all"}
    assert float(rows["a.ipynb"][0]) >= 0 and float(rows["all"][0]) >= float(rows["b.ipynb"][0])
    assert [p.read_bytes() for p in paths] == before, "the notebooks on disk must not change"


def test_notebook_times_refuses_a_missing_notebook_and_a_failing_one_fails(tmp_path, capsys):
    times = _load(NOTEBOOK_TIMES, "notebook_times")
    with pytest.raises(SystemExit):
        times.main([str(tmp_path / "nope.ipynb")])
    assert "no such notebook" in capsys.readouterr().err
    bad = tmp_path / "bad.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 / 0")]), bad)
    with pytest.raises(CellExecutionError):
        times.main([str(bad)])


def test_machine_description_names_the_cpu_threads_build_and_load():
    line = machine_description()
    assert cpu_name() in line and f"torch {torch.__version__}" in line
    assert f"torch threads: {torch.get_num_threads()}" in line and "load average" in line
    assert cpu_name().strip() and "\n" not in line
