"""Grading as a closed room: each way a submission tried to raise its grade, and what happens now.

Three layers are tested apart, on small synthetic notebooks:

* the guard inside the kernel (``fido_lib._grading_guard``): every attack runs in one
  IPython shell in a subprocess (``grading_harness.py``), followed by the guard's
  restore and the test cells, and every probe runs under its fence;
* the checks (``fido_lib.checks``), which read answers as plain tensors and numbers;
* the grader end to end (kernels): the three attacks of issue 18, a forged CSV row on
  the kernel's stdout, a huge output, a batch in parallel (``--jobs``) giving the same
  CSV as a serial one, the tripwire between submissions.
"""
import csv
import io
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from fido_lib import course
from fido_lib.checks import CheckFailed, check_gradient, check_sympy_equal, check_tensor_close
from fido_lib.course import _room, grading

HERE = Path(__file__).resolve().parent
SETUP = "import torch\nfrom fido_lib.checks import check_tensor_close"
SOLUTION = "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"
TESTS = [
    'check_tensor_close("double", double(torch.tensor([1.0, 2.0])), torch.tensor([2.0, 4.0]))\n'
    "### BEGIN HIDDEN TESTS\n"
    'check_tensor_close("double of 3", double(torch.tensor(3.0)), torch.tensor(6.0))\n'
    "### END HIDDEN TESTS",
    'assert isinstance(double(1.5), float), "double of a Python float must be a Python float"',
    'assert open("data.txt").read() == "42", "the data file next to the notebook"',
]
GRADE_IDS = ["double-test", "double-type", "data-file"]
WRONG = "def double(x):\n    return x * 1\n"  # right type, wrong value
TENSOR_ANSWER = "def double(x):\n    return torch.as_tensor(x) * 2\n"  # right values, a tensor for a float


def full_notebook():
    """An exercise with three test cells: a check (2 points), a type assert and a data file (1 each)."""
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.cells = [new_markdown_cell("# 08 Doubling"), new_code_cell(SETUP),
                new_code_cell(SOLUTION, metadata={"nbgrader": course.nbgrader_metadata("double", solution=True)})]
    for grade_id, source, points in zip(GRADE_IDS, TESTS, (2, 1, 1)):
        nb.cells.append(new_code_cell(source, metadata={"nbgrader": course.nbgrader_metadata(
            grade_id, grade=True, points=points)}))
    return nb


def submission(answer: str):
    """The student version of ``full_notebook`` with ``answer`` in the answer cell."""
    nb = course.student_notebook(full_notebook(), "assignments/08_double.ipynb", "notebooks/08_double.ipynb")
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "double")
    cell.source = answer
    return nb


@pytest.fixture
def course_folder(tmp_path):
    """notebooks/08_double.ipynb and a function that writes a student's folder (with data.txt)."""
    (tmp_path / "notebooks").mkdir()
    full = tmp_path / "notebooks" / "08_double.ipynb"
    nbformat.write(full_notebook(), full)
    (tmp_path / "notebooks" / "data.txt").write_text("42")

    def student(name: str, answer: str) -> Path:
        folder = tmp_path / "submitted" / name
        folder.mkdir(parents=True)
        (folder / "data.txt").write_text("42")
        nbformat.write(submission(answer), folder / "08_double.ipynb")
        return folder / "08_double.ipynb"

    return full, student


def _points(grades):
    return {g.grade_id: g.points for g in grades}


# ---------------------------------------------------------------- the guard, attack by attack
ATTACKS = [
    # (name, answer cell, {test index: expected pass}, a word the put-back list must contain)
    ("honest", "def double(x):\n    return 2 * x\n", {0: True, 1: True, 2: True}, None),
    ("wrong", WRONG, {0: False, 1: True, 2: True}, None),
    ("issue 18: input_transformers_cleanup turns the test cells into pass",
     "get_ipython().input_transformers_cleanup.append(\n"
     "    lambda L: ['pass\\n'] if any('check_' in l or 'assert' in l for l in L) else L)\n" + WRONG,
     {0: False}, "transformers"),
    ("input_transformers_post",
     "get_ipython().input_transformers_post.append(lambda L: ['pass\\n'] if any('check_' in l for l in L) else L)\n"
     + WRONG, {0: False}, "transformers"),
    ("line_transforms of the transformer manager",
     "get_ipython().input_transformer_manager.line_transforms.append(\n"
     "    lambda L: ['pass\\n'] if any('check_' in l for l in L) else L)\n" + WRONG, {0: False}, "transformers"),
    ("an AST transformer", "import ast\n"
     "class Gut(ast.NodeTransformer):\n"
     "    def visit_Module(self, node):\n"
     "        return ast.Module(body=[ast.Pass()], type_ignores=[]) if 'check_' in ast.unparse(node) else node\n"
     "get_ipython().ast_transformers.append(Gut())\n" + WRONG, {0: False}, "transformers"),
    ("a pre_run_cell callback that patches the checks again before each cell",
     "import fido_lib.checks as C\n"
     "get_ipython().events.register('pre_run_cell', lambda *a: setattr(C, '_fail', lambda *a: None))\n" + WRONG,
     {0: False}, "pre_run_cell callbacks"),
    ("the shell's run_cell replaced on the instance",
     "ip = get_ipython()\nrun = ip.run_cell\nip.run_cell = lambda cell, *a, **k: run('pass', *a, **k)\n" + WRONG,
     {0: False}, "run_cell"),
    ("the shell's transform_cell replaced on the class",
     "type(get_ipython()).transform_cell = lambda self, cell: 'pass\\n'\n" + WRONG, {0: False}, "transform_cell"),
    ("the test's name rebound", "check_tensor_close = lambda *a, **k: None\n" + WRONG,
     {0: False}, "check_tensor_close"),
    ("fido_lib.checks patched and imported again", "import fido_lib.checks as C\n"
     "C.check_tensor_close = lambda *a, **k: None\nfrom fido_lib.checks import check_tensor_close\n" + WRONG,
     {0: False}, "fido_lib.checks.check_tensor_close"),
    ("the checks' own failure helper", "import fido_lib.checks as C\nC._fail = lambda *a: None\n" + WRONG,
     {0: False}, "fido_lib.checks._fail"),
    ("a global shadowing a builtin in fido_lib.checks", "import fido_lib.checks as C\n"
     "C.issubclass = lambda *a: False\n" + WRONG, {0: False}, "fido_lib.checks.issubclass"),
    ("torch.equal answers True", "torch.equal = lambda *a, **k: True\n" + WRONG, {0: False}, "torch.equal"),
    ("a method of torch.Tensor", "torch.Tensor.any = lambda self, *a, **k: torch.tensor(False)\n" + WRONG,
     {0: False}, "torch.Tensor.any"),
    ("builtins.isinstance answers True", "import builtins\nbuiltins.isinstance = lambda *a: True\n" + TENSOR_ANSWER,
     {0: True, 1: False}, "builtins.isinstance"),
    ("sys.modules holds a fake fido_lib.checks", "import sys, types\n"
     "fake = types.ModuleType('fido_lib.checks')\nfake.check_tensor_close = lambda *a, **k: None\n"
     "sys.modules['fido_lib.checks'] = fake\nfrom fido_lib.checks import check_tensor_close\n" + WRONG,
     {0: False}, "sys.modules"),
    ("the check's keyword defaults loosened",
     "check_tensor_close.__kwdefaults__.update(rtol=1e9, atol=1e9)\n" + WRONG, {0: False}, "keyword defaults"),
    ("the check's code replaced (refused by the fence)",
     WRONG + "check_tensor_close.__code__ = (lambda *a, **k: None).__code__\n", {0: False}, None),
    ("a timer whose signal handler patches the checks during the test",
     "import signal, fido_lib.checks as C\n"
     "signal.signal(signal.SIGALRM, lambda *a: setattr(C, '_fail', lambda *a: None))\n"
     "signal.setitimer(signal.ITIMER_REAL, 0.0005, 0.0005)\n" + WRONG, {0: False}, "timer"),
    ("a garbage-collector callback", "import gc, fido_lib.checks as C\n"
     "gc.callbacks.append(lambda *a: setattr(C, '_fail', lambda *a: None))\n" + WRONG, {0: False}, "gc.callbacks"),
    ("issue 18: a tensor subclass that answers True for torch.equal",
     "class Liar(torch.Tensor):\n"
     "    @classmethod\n"
     "    def __torch_function__(cls, func, types, args=(), kwargs=None):\n"
     "        return True if func is torch.equal else super().__torch_function__(func, types, args, kwargs or {})\n"
     "def double(x):\n    return torch.zeros_like(torch.as_tensor(x)).as_subclass(Liar)\n", {0: False}, None),
    ("os.chdir away from the data file (an honest answer)",
     "import os\nos.chdir('/')\ndef double(x):\n    return 2 * x\n", {0: True, 1: True, 2: True}, "working folder"),
    ("__builtins__ of the notebook replaced (an honest answer)",
     "def double(x):\n    return 2 * x\nglobals()['__builtins__'] = {'__import__': __import__}\n", {0: True, 2: True},
     "__builtins__"),
    ("honest, last (nothing leaked from the attacks)", "def double(x):\n    return 2 * x\n",
     {0: True, 1: True, 2: True}, None),
]


def _probes(outside: Path, protected_file: Path, runtime: str):
    """Snippets that must raise PermissionError under the fence (``refused`` set when that is not the sign)."""
    o, p = str(outside), str(protected_file)
    return [
        ("write a file outside the room", f"open({o!r}, 'w').write('x')"),
        ("os.open outside the room", f"import os\nos.close(os.open({o!r}, os.O_WRONLY | os.O_CREAT))"),
        ("os.open with a relative path (could be relative to a dir_fd)",
         "import os\nos.close(os.open('x.txt', os.O_WRONLY | os.O_CREAT))"),
        ("pathlib write outside the room", f"import pathlib\npathlib.Path({o!r}).write_text('x')"),
        ("a path object that names one file to the fence and another to open",  # io.open asks it once
         f"import os\nclass P(os.PathLike):\n    n = 0\n    def __fspath__(self):\n"
         f"        P.n += 1\n        return 'inside.txt' if P.n == 1 else {o!r}\nopen(P(), 'w').write('x')\n"
         f"refused = not os.path.exists({o!r})"),
        ("read another submission", f"open({p!r}).read()"),
        ("list the protected folder", f"import os\nos.listdir({str(protected_file.parent)!r})"),
        ("read the kernels' connection files", f"import os\nos.listdir({runtime!r})"),
        ("rename a file to outside the room",
         f"import os\nopen('inside.txt', 'w').write('x')\nos.rename('inside.txt', {o!r})"),
        ("a symbolic link to outside, written through",
         f"import os\nos.symlink({o!r}, 'link.txt')\nopen('link.txt', 'w').write('x')"),
        ("a hard link to a protected file", f"import os\nos.link({p!r}, 'hard.txt')"),
        ("mkdir relative to a folder descriptor",
         "import os\nfd = os.open('/', os.O_RDONLY)\nos.mkdir('fido-grade-probe', dir_fd=fd)"),
        ("sqlite outside the room", f"import sqlite3\nsqlite3.connect({o + '.db'!r}).close()"),
        ("shutil.copy to outside the room", f"import shutil\nopen('inside.txt', 'w').write('x')\n"
                                            f"shutil.copy('inside.txt', {o!r})"),
        ("start a process", "import subprocess\nsubprocess.run(['true'])"),
        ("os.system", "import os\nos.system('true')"),
        ("fork", "import os\npid = os.fork()\nif pid == 0:\n    os._exit(0)"),
        ("signal the grader", "import os, signal\nos.kill(os.getppid(), signal.SIGCONT)"),
        ("ctypes", "import ctypes\nctypes.CDLL(None)"),
        ("ctypes through pythonapi", "import ctypes\nctypes.pythonapi.Py_IsInitialized()"),
        ("sys.settrace", "import sys\ntry:\n    sys.settrace(lambda *a: None)\nfinally:\n    sys.settrace(None)"),
        ("a library function's code replaced", "import fido_lib.checks as C\n"
                                               "C.check_mask.__code__ = (lambda *a, **k: None).__code__"),
        ("a library function's defaults replaced", "import fido_lib.checks as C\n"
                                                   "C._plain.__defaults__ = (0,)"),
        ("a second audit hook", "import sys\nseen = []\nsys.addaudithook(lambda e, a: seen.append(e))\n"
                                "open('inside.txt', 'w').close()\nrefused = not seen"),
        ("the grader's stdout through /proc", "import os\nopen(f'/proc/{os.getppid()}/fd/1', 'a')"),
    ]


ALLOWED = [
    ("a namedtuple made now (collections sets its __defaults__)",
     "import collections\nP = collections.namedtuple('P', 'a b', defaults=(1,))\nrefused = P(0).b != 1"),
    ("write inside the room", "open('ok.txt', 'w').write('x')\nrefused = open('ok.txt').read() != 'x'"),
    ("a temporary file", "import tempfile\nwith tempfile.NamedTemporaryFile('w') as f:\n    f.write('x')\n"
                         "refused = False"),
    ("/dev/null", "open('/dev/null', 'w').write('x')\nrefused = False"),
    ("read fido_lib's source", "import inspect, fido_lib.checks\nrefused = not inspect.getsource(fido_lib.checks)"),
    ("import a module not imported yet", "import wave\nrefused = False"),
    ("torch", "import torch\nrefused = float(torch.ones(3).sum()) != 3"),
]


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    """Every attack and probe, in one IPython shell under the guard (a subprocess)."""
    base = tmp_path_factory.mktemp("harness")
    room, protected = base / "room", base / "protected"
    room.mkdir()
    protected.mkdir()
    (room / "data.txt").write_text("42")
    (protected / "08_double.ipynb").write_text("{}")
    from jupyter_core.paths import jupyter_runtime_dir

    imports, bindings = course.notebook_imports(full_notebook())
    spec = {"room": str(room), "protected": [str(protected), jupyter_runtime_dir()], "imports": imports,
            "bindings": bindings, "setup": SETUP, "tests": [t for t in TESTS],
            "attacks": [(name, code) for name, code, _, _ in ATTACKS],
            "probes": _probes(base / "outside.txt", protected / "08_double.ipynb", jupyter_runtime_dir()) + ALLOWED}
    (base / "spec.json").write_text(json.dumps(spec))
    env = {**os.environ, "TMPDIR": str(room)}
    done = subprocess.run([sys.executable, str(HERE / "grading_harness.py"), str(base / "spec.json")],
                          capture_output=True, text=True, timeout=300, cwd=room, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    results["outside"] = base / "outside.txt"
    return results


@pytest.mark.parametrize("name, code, expected, put_back", ATTACKS, ids=[a[0] for a in ATTACKS])
def test_the_guard_puts_back_what_an_answer_changed(harness, name, code, expected, put_back):
    result = harness["attacks"][name]
    got = {i: result["tests"][i] for i in expected}
    assert got == expected, f"test cells passed: {result['tests']}, put back: {result['put_back']}, " \
                            f"answer cell: {result['answer_error']}"
    if put_back is None:
        assert name.startswith(("honest", "wrong", "issue 18: a tensor", "the check's code")) or not put_back
    else:
        assert any(put_back in entry for entry in result["put_back"]), result["put_back"]
    if name.startswith(("honest", "wrong")):
        assert result["put_back"] == [], f"an honest answer must not be reported: {result['put_back']}"


@pytest.mark.parametrize("name", [p[0] for p in _probes(Path("/o"), Path("/p/x"), "/r")])
def test_the_fence_refuses(harness, name):
    probe = harness["probes"][name]
    assert probe["refused"], probe["error"]
    assert not harness["outside"].exists() and not Path(str(harness["outside"]) + ".db").exists()


@pytest.mark.parametrize("name", [p[0] for p in ALLOWED])
def test_the_fence_lets_a_notebook_work(harness, name):
    probe = harness["probes"][name]
    assert not probe["refused"], probe["error"]


# ---------------------------------------------------------------- the checks read plain values
class _EqualLiar(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func is torch.equal:
            return True
        return super().__torch_function__(func, types, args, kwargs or {})


class _DispatchWrapper(torch.Tensor):
    @staticmethod
    def __new__(cls, elem):
        return torch.Tensor._make_wrapper_subclass(cls, elem.shape, dtype=elem.dtype)

    @classmethod
    def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
        return torch.ones(3)


class _LyingFloat(float):
    def __eq__(self, other):
        return True

    def __float__(self):
        return 1.0

    __hash__ = float.__hash__


class _LyingList(list):
    def __iter__(self):
        return iter([1.0, 1.0])


class _LyingArray(np.ndarray):
    def __array__(self, *args, **kwargs):
        return np.ones(3)


@pytest.mark.parametrize("got, expected", [
    (torch.zeros(3).as_subclass(_EqualLiar), torch.ones(3)),  # issue 18
    (_LyingFloat(0.0), 1.0),
    (_LyingList([0.0, 0.0]), [1.0, 1.0]),
    (np.zeros(3).view(_LyingArray), np.ones(3)),
], ids=["torch_function subclass", "float subclass", "list subclass", "ndarray subclass"])
def test_a_wrong_answer_that_lies_about_itself_fails(got, expected):
    with pytest.raises(CheckFailed, match="values differ"):
        check_tensor_close("answer", got, expected)


def test_a_tensor_that_intercepts_dispatch_is_refused():
    with pytest.raises(CheckFailed, match="intercepts torch's dispatch"):
        check_tensor_close("answer", _DispatchWrapper(torch.zeros(3)), torch.ones(3))


def test_python_floats_are_compared_in_float64():
    # torch.tensor(0.1) is float32: 0.1 and 0.1 + 1e-12 would be "exact"
    with pytest.raises(CheckFailed, match="1 of 1 values differ"):
        check_tensor_close("f", 0.1, 0.1 + 1e-12, rtol=1e-14, atol=0)
    with pytest.raises(CheckFailed, match="differ"):
        check_tensor_close("list", [0.1, 0.2], [0.1, 0.2 + 1e-12], rtol=1e-14, atol=0)


@pytest.mark.parametrize("got", [torch.nn.Parameter(torch.ones(3)), torch.eye(3)[0].to_sparse(), [1, 1.0, 1],
                                 (1.0, np.float32(1.0), torch.tensor(1.0)), np.ones(3, np.float32)],
                         ids=["Parameter", "sparse", "list", "mixed tuple", "float32 array"])
def test_plain_answers_of_every_kind_still_pass(got, capsys):
    expected = torch.ones(3) if not isinstance(got, torch.Tensor) or not got.is_sparse else torch.eye(3)[0]
    check_tensor_close("answer", got, expected)
    assert capsys.readouterr().out.startswith("✓")


@pytest.mark.parametrize("got, match", [
    ([[1.0], [1.0, 2.0]], "ragged"), (np.array([1, None]), "array of object"), ("1.0", "got str"),
    (torch.zeros(3, device="meta"), "cannot be read"),
])
def test_answers_that_are_not_numbers_fail_with_a_hint(got, match):
    with pytest.raises(CheckFailed, match=match):
        check_tensor_close("answer", got, torch.ones(3))


def test_a_self_containing_list_fails_instead_of_recursing():
    a = []
    a.append(a)
    with pytest.raises(CheckFailed, match="nested more than"):
        check_tensor_close("answer", a, [1.0])


def test_a_sympy_subclass_that_lies_about_subtraction_is_refused():
    import sympy as sp

    class Liar(sp.Symbol):
        def __sub__(self, other):
            return sp.Integer(0)

    x = sp.Symbol("x", positive=True)
    with pytest.raises(CheckFailed, match="not one of sympy's own classes"):
        check_sympy_equal("answer", Liar("x", positive=True), x**2)
    check_sympy_equal("undefined function", sp.Function("f")(x) + 1, 1 + sp.Function("f")(x))
    with pytest.raises(CheckFailed, match="not a string"):
        check_sympy_equal("a string", "x**2", x**2)


def test_sympy_numbers_are_compared_at_their_own_precision_not_mpmaths():
    import mpmath
    import sympy as sp

    x = sp.Symbol("x", positive=True)
    old = mpmath.mp.dps
    mpmath.mp.dps = 3  # a notebook (or a student) left mpmath at 3 digits
    try:
        with pytest.raises(CheckFailed, match="differs"):
            check_sympy_equal("answer", x + sp.Float("1e-6") * sp.sin(x), x)
    finally:
        mpmath.mp.dps = old


def test_check_gradient_runs_the_students_backward_before_any_reference_exists():
    seen = []

    class Spy(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return 2 * x

        @staticmethod
        def backward(ctx, g):
            import inspect

            seen.extend(k for f in inspect.stack() for k in f.frame.f_locals if k in ("expected", "ref_out"))
            return 2 * g

    check_gradient("spy", Spy.apply, torch.ones(3, dtype=torch.float64), reference=lambda x: 2 * x)
    assert not seen, f"the reference was in scope while the student's backward ran: {seen}"


# ---------------------------------------------------------------- what the full notebook imports
def test_notebook_imports_lists_names_bound_only_by_imports():
    nb = full_notebook()
    nb.cells.insert(2, new_code_cell("%matplotlib inline\nimport numpy as np\nimport fido_lib.metrics\n"
                                     "from math import log as ln\nln = 2"))
    nb.cells.insert(3, new_code_cell("from os import path\n", metadata={"nbgrader": course.nbgrader_metadata(
        "other", solution=True)}))
    modules, bindings = course.notebook_imports(nb)
    assert {"torch", "fido_lib.checks", "numpy", "fido_lib.metrics", "math"} <= set(modules)
    assert "os" not in modules  # a solution's import is the student's
    assert ("check_tensor_close", "fido_lib.checks", "check_tensor_close") in bindings
    assert ("np", "numpy", None) in bindings and ("fido_lib", "fido_lib", None) in bindings
    names = [b[0] for b in bindings]
    assert "ln" not in names and "path" not in names and "double" not in names


# ---------------------------------------------------------------- the room and the tripwire
def test_the_room_copies_the_folder_without_links_or_other_notebooks(tmp_path):
    folder = tmp_path / "alice"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "x.txt").write_text("1")
    nbformat.write(new_notebook(), folder / "08_double.ipynb")
    nbformat.write(new_notebook(), folder / "09_bob_s_copy.ipynb")
    (folder / "link.ipynb").symlink_to(tmp_path / "elsewhere.ipynb")
    (folder / "up").symlink_to(tmp_path)
    room = _room.Room(tmp_path / "room")
    copied = room.fill(folder / "08_double.ipynb")
    assert copied == room.work / "08_double.ipynb" and copied.is_file()
    found = sorted(p.relative_to(room.work).as_posix() for p in room.work.rglob("*"))
    assert found == ["08_double.ipynb", "data", "data/x.txt"]


def test_the_room_refuses_a_huge_folder_before_copying(tmp_path, monkeypatch):
    folder = tmp_path / "flat"
    folder.mkdir()
    for i in range(5):
        (folder / f"{i}.txt").write_text("x")
    nbformat.write(new_notebook(), folder / "08_double.ipynb")
    monkeypatch.setattr(_room, "MAX_FOLDER_FILES", 3)
    room = _room.Room(tmp_path / "room")
    with pytest.raises(ValueError, match="more than 3 files"):
        room.fill(folder / "08_double.ipynb")
    assert not room.path.exists()


def test_the_kernel_environment_keeps_profile_and_temporary_files_in_the_room(tmp_path):
    room = _room.Room(tmp_path)
    env = _room.kernel_environment(room, threads=2)
    assert env["IPYTHONDIR"] == str(room.ipython) and env["TMPDIR"] == str(room.tmp)
    assert env["PWD"] == str(room.work) and env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["OMP_NUM_THREADS"] == "2" and "OLDPWD" not in env


def test_the_tripwire_sees_a_changed_added_or_removed_file(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text("x = 1\n")
    (tmp_path / "site").mkdir()
    (tmp_path / "notebook.ipynb").write_text("{}")
    wire = _room.Tripwire(files=[tmp_path / "notebook.ipynb"], trees=[tmp_path / "pkg"], folders=[tmp_path / "site"])
    assert wire.changed() == []
    (tmp_path / "pkg" / "mod.py").write_text("x = 2\n")
    (tmp_path / "site" / "evil.pth").write_text("import os\n")
    os.utime(tmp_path / "notebook.ipynb", (0, 0))
    assert wire.changed() == sorted([str(tmp_path / "pkg" / "mod.py"), str(tmp_path / "site") + "/",
                                     str(tmp_path / "site" / "evil.pth"), str(tmp_path / "notebook.ipynb")])


def test_a_batch_stops_when_a_submission_changed_what_later_gradings_read(course_folder, monkeypatch):
    full, student = course_folder
    paths = [student(name, WRONG) for name in ("ann", "ben", "cid")]
    calls = []

    def fake_grade_one(job):  # the second submission's kernel "rewrote" the full notebook
        calls.append(Path(job["path"]).parent.name)
        if len(calls) == 2:
            full.write_text(full.read_text().replace("check_tensor_close(", "pass  # ("))
        return grading.SubmissionReport(Path(job["path"]), (grading.Grade("double-test", 0, 2, "failed"),))

    monkeypatch.setattr(grading, "_grade_one", fake_grade_one)
    reports = course.grade_submissions(paths, root=full.parents[1])
    assert calls == ["ann", "ben"]
    assert reports[0].grades and not reports[0].error
    assert "files a later grading reads changed" in reports[1].error and str(full) in reports[1].error
    assert reports[2].error.startswith("not graded: the grading of") and not reports[2].grades


@pytest.mark.parametrize("jobs, error", [(0, ValueError), (10**6, ValueError), (1.5, TypeError), (True, TypeError)])
def test_jobs_is_bounded_with_the_limit_in_the_message(course_folder, jobs, error):
    full, student = course_folder
    with pytest.raises(error, match="jobs must"):
        course.grade_submissions([student("ann", WRONG)], root=full.parents[1], jobs=jobs)
    if error is ValueError:
        with pytest.raises(ValueError, match=f"from 1 to {course.max_jobs()}"):
            course.grade_submissions([full], root=full.parents[1], jobs=jobs)


def test_grade_command_rejects_bad_jobs_before_any_work(course_folder, capsys):
    full, student = course_folder
    path = student("ann", WRONG)
    assert course.main(["--root", str(full.parents[1]), "grade", "--jobs", "0", str(path)]) == 2
    captured = capsys.readouterr()
    assert "jobs must be from 1 to" in captured.err and captured.out == ""


# ---------------------------------------------------------------- end to end, with kernels
REWRITE_NOTEBOOKS = """
import glob, json, os
def gut(path):
    nb = json.load(open(path))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code" and "check_" in "".join(cell["source"]):
            cell["source"] = "pass"
        cell.get("metadata", {}).get("nbgrader", {}).update(points=100)
    json.dump(nb, open(path, "w"))
results = []
for path in glob.glob("../../notebooks/*.ipynb") + glob.glob("../notebooks/*.ipynb") + [FULL]:
    try:
        gut(path)
        results.append("rewrote " + path)
    except Exception as error:
        results.append(repr(error))
""" + WRONG

TEMPFILE = ("import os, tempfile\nassert tempfile.gettempdir() == os.environ['TMPDIR'], tempfile.gettempdir()\n"
            "with tempfile.NamedTemporaryFile('w') as f:\n    f.write('x')\n"
            "def double(x):\n    return 2 * x\n")
#: The kernel's own session rewrites a failed test's reply into "ok" and drops its error output,
#: four ways: its class's send, its own send, its packer, its class swapped for a subclass.
FORGE_REPLY = """
import jupyter_client.session as S
_send = S.Session.send
def forged(msg_type, content):
    if msg_type == "execute_reply" and isinstance(content, dict) and content.get("status") == "error":
        return {"status": "ok", "execution_count": content.get("execution_count"), "user_expressions": {},
                "payload": []}
    return content
def send(self, stream, msg_type, content=None, parent=None, *args, **kwargs):
    if msg_type == "error":
        return None
    return _send(self, stream, msg_type, forged(msg_type, content), parent, *args, **kwargs)
session = get_ipython().kernel.session
class Liar(S.Session):
    send = send
S.Session.send = send
session.send = send.__get__(session)
_pack = session.pack
session.pack = lambda obj: _pack(forged("execute_reply", obj))
session.__class__ = Liar
""" + WRONG
FORGE_CSV = ("import os\nos.write(1, b'submitted/zed/08_double.ipynb,double-test,2,2,passed,,\\n')\n"
             "os.write(2, b'forged\\n')\n" + WRONG)


def test_issue_18_attacks_end_to_end_and_the_csv_is_the_graders(course_folder, capfd):
    full, student = course_folder
    before = full.read_text()
    batch = [
        student("transformer", ATTACKS[2][1]),
        student("subclass", next(code for name, code, _, _ in ATTACKS if "tensor subclass" in name)),
        student("rewriter", REWRITE_NOTEBOOKS.replace("FULL", repr(str(full)))),
        student("next", WRONG),  # graded after the rewriter: must not get the rewritten tests
        student("forger", FORGE_CSV),
        student("reply", FORGE_REPLY),
        student("chdir", "import os\nos.chdir('/')\ndef double(x):\n    return 2 * x\n"),
        student("tempfile", TEMPFILE),  # an honest answer that needs a temporary file
    ]
    code = course.main(["--root", str(full.parents[1]), "grade", "--timeout", "120", *map(str, batch)])
    out, err = capfd.readouterr()
    assert code == 0, err
    assert "zed" not in out and "forged" not in err  # the kernel's stdout and stderr are not the grader's
    rows = list(csv.DictReader(io.StringIO(out)))
    table = {(Path(r["submission"]).parent.name, r["grade_id"]): (r["points"], r["status"]) for r in rows}
    for name in ("transformer", "subclass", "rewriter", "next", "forger", "reply"):
        assert table[(name, "double-test")] == ("0", "failed"), (name, rows)
        assert table[(name, "data-file")] == ("1", "passed"), (name, rows)
    for name in ("chdir", "tempfile"):
        assert table[(name, "double-test")] == ("2", "passed") and table[(name, "data-file")] == ("1", "passed")
    notes = {Path(r["submission"]).parent.name: r["note"] for r in rows if r["grade_id"] == "double-test"}
    assert "transformers" in notes["transformer"] and "working folder" in notes["chdir"]
    assert all(part in notes["reply"] for part in ("Session.send", "Session.pack", "the class of")), notes["reply"]
    assert notes["next"] == "" and notes["subclass"] == ""
    assert full.read_text() == before  # the instructor's notebook was never writable from the kernel


@pytest.mark.parametrize("loud", ["for _ in range(300):\n    print('x' * 2**20)\n",  # many messages
                                  "print('x' * 300 * 2**20)\n"], ids=["300 prints of 1 MB", "one print of 300 MB"])
def test_a_huge_output_does_not_fill_the_graders_memory(course_folder, loud):
    full, student = course_folder
    path = student("loud", loud + WRONG)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    grades = course.grade_notebook(path, full, timeout=120)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert _points(grades) == {"double-test": 0, "double-type": 1, "data-file": 1}
    assert grown_mb < 150, f"the grader grew by {grown_mb:.0f} MB for 300 MB of output"


def test_jobs_gives_the_same_csv_as_a_serial_run(course_folder, capsys):
    full, student = course_folder
    batch = [str(student(name, answer)) for name, answer in [
        ("a", WRONG), ("b", "def double(x):\n    return 2 * x\n"), ("c", ATTACKS[2][1]), ("d", TENSOR_ANSWER)]]
    batch.insert(2, str(full.parents[1] / "missing" / "08_double.ipynb"))  # an error row in the middle
    outputs = []
    for jobs in ("1", "2"):
        course.main(["--root", str(full.parents[1]), "grade", "--jobs", jobs, *batch])
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1]
    rows = list(csv.DictReader(io.StringIO(outputs[0])))
    order = list(dict.fromkeys(Path(r["submission"]).parent.name for r in rows))
    assert order == ["a", "b", "missing", "c", "d"]
    assert [r["points"] for r in rows if Path(r["submission"]).parent.name == "b"] == ["2", "1", "1"]


def test_a_submission_that_edits_grade_ids_or_points_gains_nothing(course_folder):
    full, student = course_folder
    path = student("meta", WRONG)
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade_id") == "double-test":
            cell.source = "pass"
            meta.update(points=1000, grade_id="double-test")
        if meta.get("grade_id") == "double-type":
            meta.update(grade_id="renamed", points=50)
    nbformat.write(nb, path)
    grades = course.grade_notebook(path, full, timeout=120)
    assert {g.grade_id: (g.points, g.max_points, g.status) for g in grades} == {
        "double-test": (0, 2, "failed"), "double-type": (0, 1, "missing"), "data-file": (1, 1, "passed"),
        "renamed": (0, 0, "extra")}
