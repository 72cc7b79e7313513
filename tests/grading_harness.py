"""Run attacks on the grading guard in one IPython shell (a subprocess of the tests, never pytest itself).

``python tests/grading_harness.py SPEC.json`` prints one JSON object. SPEC holds the
room (the working folder), the protected paths, the full notebook's imports and
bindings, its setup cell and test cells, and two lists of snippets:

* ``attacks``: each is run as the student's answer cell, then the guard's ``restore``,
  then every test cell; reported: whether each test passed and what was put back;
* ``probes``: each is run under the fence; reported: whether it raised PermissionError
  (or, for an audit hook, whether the new hook never ran).

The shell is IPython's own (``run_cell``: input and AST transformers, events,
``set_custom_exc``), without a kernel around it: one process runs every attack in a
few seconds. The guard is installed before the first cell, as the grader does.
"""
import json
import sys


def main(spec_path: str) -> None:
    with open(spec_path, encoding="utf-8") as f:
        spec = json.load(f)
    import os

    os.chdir(spec["room"])
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    from fido_lib import _grading_guard as guard

    guard.install(spec["room"], spec["protected"], spec["imports"])
    assert shell.run_cell(spec["setup"]).success, "the setup cell failed"
    bindings = [tuple(b) for b in spec["bindings"]]
    results = {"attacks": {}, "probes": {}}
    for name, code in spec["attacks"]:
        answer = shell.run_cell(code)
        put_back = guard.restore(bindings)
        tests = [shell.run_cell(test).success for test in spec["tests"]]
        results["attacks"][name] = {"tests": tests, "put_back": put_back,
                                    "answer_error": repr(answer.error_in_exec or answer.error_before_exec)}
        shell.run_cell("double = None")
    for name, code in spec["probes"]:
        shell.user_ns.pop("refused", None)
        result = shell.run_cell(code)
        error = result.error_in_exec
        refused = shell.user_ns.get("refused", isinstance(error, PermissionError))
        results["probes"][name] = {"refused": bool(refused), "error": repr(error)}
    print(json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1])
