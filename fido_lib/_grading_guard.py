"""Inside a grading kernel: a fence around the submission, and the tests' tools put back before each test.

Part of ``fido_lib.course.grading``, kept outside ``fido_lib.course`` so that a kernel
loads it without the course tooling (nbclient, jupyter_client: a second per kernel).
``grading`` loads this module into each kernel it starts, before the submission's
first cell, with :func:`install` (a silent request of its own); before each test cell
it calls :func:`restore` through the request's ``user_expressions``, which IPython
evaluates without its input or AST transformers. Two layers:

* **the fence**, an audit hook (PEP 578) that Python offers no way to remove. It
  refuses (``PermissionError``) writing outside the submission's room (its temporary
  folder), reading the paths the grader protects (the other submissions, the full
  notebooks), starting processes, signalling other processes, ctypes, tracing and
  profiling, replacing a function's code or defaults, and further audit hooks.
* **the restore**: what the submission's cells may have changed since the kernel
  started is put back — IPython's input and AST transformers, its execution machinery
  and event callbacks, the kernel's session and sockets that carry a test's reply and
  error output to the grader (``Session.send``, ``session.pack``, their classes …),
  ``sys.modules`` and the import system, every module's functions, classes and public
  constants (``builtins``, ``torch``, ``numpy``, ``fido_lib.checks`` …), the classes'
  methods, the names the full notebook imports (``check_tensor_close`` …), the working
  folder, signal handlers, timers and garbage-collector callbacks. It returns what it
  had to put back, for the report.

Neither is a sandbox, and PEP 578 says audit hooks are not one: code that runs during a
test (a function the test calls, a thread or finalizer the submission left behind) can
still change what the test uses, and a submission that targets this module itself can
get around it. Real isolation is a container or a separate user per submission.
"""
from __future__ import annotations

import builtins
import gc
import importlib
import os
import pathlib
import posix
import signal
import stat
import sys
import sysconfig
import threading
import types

from IPython import get_ipython

import fido_lib

__all__ = ["install", "restore"]

_state = None

#: Audit events that start a process or reach outside Python's own checks.
_REFUSED = frozenset({
    "subprocess.Popen", "os.system", "os.exec", "os.spawn", "os.posix_spawn", "os.fork", "os.forkpty",
    "pty.spawn", "os.startfile", "ctypes.dlopen", "ctypes.dlsym", "ctypes.dlsym/handle",
    "ctypes.call_function", "ctypes.cdata", "ctypes.cdata/buffer", "ctypes.string_at", "ctypes.wstring_at",
    "sys.settrace", "sys.setprofile", "sys._settraceallthreads", "sys._setprofileallthreads",
})
#: Audit events that change the file system, with the positions of their path arguments
#: and of their ``dir_fd`` arguments (a path relative to an open folder cannot be checked).
_WRITES = {
    "os.rename": ((0, 1), (2, 3)), "os.link": ((0, 1), (2, 3)), "os.symlink": ((1,), (2,)),
    "os.remove": ((0,), (1,)), "os.rmdir": ((0,), (1,)), "os.mkdir": ((0,), (2,)),
    "os.chmod": ((0,), (2,)), "os.chown": ((0,), (3,)), "os.utime": ((0,), (3,)),
    "os.truncate": ((0,), ()), "os.chflags": ((0,), ()), "os.lchflags": ((0,), ()), "os.lchmod": ((0,), ()),
    "os.setxattr": ((0,), ()), "os.removexattr": ((0,), ()), "shutil.rmtree": ((0,), (1,)),
    "shutil.copyfile": ((1,), ()), "shutil.copymode": ((1,), ()), "shutil.copystat": ((1,), ()),
    "shutil.copytree": ((1,), ()), "shutil.move": ((0, 1), ()), "shutil.chown": ((0,), ()),
    "shutil.unpack_archive": ((1,), ()), "shutil.make_archive": ((0,), ()), "sqlite3.connect": ((0,), ()),
}
#: Audit events that read a path: refused for the protected paths.
_READS = {"os.listdir": 0, "os.scandir": 0, "glob.glob": 0, "os.chdir": 0}
_FUNCTION_FIELDS = frozenset({"__code__", "__defaults__", "__kwdefaults__"})


def _make_fence(room: str, protected: tuple, pathlib_reads: tuple, frozen: frozenset):
    """The audit hook. Everything it calls is bound now, as a positional default, to a
    C function or an immutable value: the submission can rebind ``os.path``, ``builtins``
    or ``posix``, not these (and replacing a function's defaults is refused). ``frozen``:
    the ids of the functions that existed before the submission ran, whose code and
    defaults may not be replaced (libraries set them on functions they make later,
    e.g. ``collections.namedtuple``)."""
    room = room.rstrip("/") + "/"
    allowed_writes = (room, "/dev/null/")

    def resolve(path, _cwd=posix.getcwd, _lstat=posix.lstat, _readlink=posix.readlink, _islnk=stat.S_ISLNK,
                _str=str, _bytes=bytes, _type=type, _OSError=OSError):
        """The absolute path with symbolic links resolved (what ``open`` reaches), or None."""
        if _type(path) is _bytes:
            path = _bytes.decode(path, "utf-8", "surrogateescape")
        if _type(path) is not _str:
            return None
        if not _str.startswith(path, "/"):
            path = _cwd() + "/" + path
        parts, done, hops = _str.split(path, "/"), [], 0
        parts.reverse()
        while parts:
            part = parts.pop()
            if part in ("", "."):
                continue
            if part == "..":
                if done:
                    done.pop()
                continue
            done.append(part)
            try:
                is_link = _islnk(_lstat("/" + "/".join(done)).st_mode)
            except _OSError:
                is_link = False
            if is_link:
                hops += 1
                if hops > 40:
                    return None
                target = _readlink("/" + "/".join(done))
                done.pop()
                if _str.startswith(target, "/"):
                    done = []
                more = _str.split(target, "/")
                more.reverse()
                parts.extend(more)
        return "/" + "/".join(done)

    def inside(path, prefixes, _str=str):
        """Whether ``path`` is one of ``prefixes`` (each ending in "/") or lies below one."""
        path = path.rstrip("/") + "/"
        for prefix in prefixes:
            if _str.startswith(path, prefix):
                return True
        return False

    def as_path(path, _type=type, _str=str, _bytes=bytes, _int=int, _fspath=posix.fspath, _reads=pathlib_reads):
        """A ``str``/``bytes``/``int`` path, or a ``pathlib`` path whose ``__fspath__`` is still
        pathlib's own (a path object of another kind could name one file here and another to ``open``)."""
        if _type(path) in (_str, _bytes, _int):
            return path
        cls, original = _reads
        if _type(path) is cls and _type(path).__fspath__ is original:
            return _fspath(path)
        raise PermissionError("grading: name files by str or pathlib paths")

    def hook(event, args, _refused=_REFUSED, _writes=_WRITES, _reads=_READS, _fields=_FUNCTION_FIELDS,
             _protected=protected, _allowed=allowed_writes, _resolve=resolve, _inside=inside, _as_path=as_path,
             _getpid=posix.getpid, _type=type, _int=int, _len=len, _function=types.FunctionType,
             _frozen=frozen, _id=id,
             _PermissionError=PermissionError, _RuntimeError=RuntimeError,
             _write_flags=posix.O_WRONLY | posix.O_RDWR | posix.O_APPEND | posix.O_CREAT | posix.O_TRUNC):
        if event == "open":
            path, mode, flags = args
            path = _as_path(path)
            if _type(path) is _int:
                return
            if mode is None:  # os.open: flags say it; a relative path may be relative to a dir_fd
                writing = flags & _write_flags
                if not (path[:1] == "/" or path[:1] == b"/"):
                    raise _PermissionError(f"grading: os.open needs an absolute path, got {path!r}")
            else:
                writing = "w" in mode or "a" in mode or "x" in mode or "+" in mode
            where = _resolve(path)
            if where is not None and _inside(where, _allowed):
                return
            if where is None or writing or _inside(where, _protected):
                raise _PermissionError(f"grading: the submission may not {'write' if writing else 'read'} {path!r}")
        elif event in _refused:
            raise _PermissionError(f"grading: the submission may not use {event}")
        elif event in _writes:
            paths, dir_fds = _writes[event]
            for i in dir_fds:
                if i < _len(args) and args[i] is not None and args[i] != -1:
                    raise _PermissionError(f"grading: {event} relative to a folder descriptor is refused")
            for i in paths:
                if i >= _len(args):
                    continue
                path = _as_path(args[i])
                if event == "sqlite3.connect" and path in (":memory:", "", b":memory:", b""):
                    continue
                if _type(path) is _int and event == "os.truncate":
                    continue  # a descriptor open for writing passed the "open" check
                where = _resolve(path) if _type(path) is not _int else None
                if where is None or not _inside(where, _allowed):
                    raise _PermissionError(f"grading: the submission may not change {args[i]!r}")
        elif event in _reads:
            path = args[_reads[event]]
            if path is None or _type(path) is _int:
                return
            where = _resolve(_as_path(path))
            if where is None or (_inside(where, _protected) and not _inside(where, _allowed)):
                raise _PermissionError(f"grading: the submission may not read {path!r}")
        elif event in ("os.kill", "os.killpg", "signal.pthread_kill"):
            if event != "os.kill" or args[0] != _getpid():
                raise _PermissionError(f"grading: the submission may not use {event} on another process")
        elif event == "object.__setattr__":
            if _type(args[0]) is _function and args[1] in _fields and _id(args[0]) in _frozen:
                raise _PermissionError(f"grading: the submission may not replace a function's {args[1]}")
        elif event == "sys.addaudithook":
            raise _RuntimeError("grading: no further audit hooks")  # Python drops the new hook silently

    return hook


# ---------------------------------------------------------------- what restore puts back
_CONSTANTS = (int, float, complex, str, bytes, bool, tuple, frozenset)  # not None: "not computed yet"


def _restorable(key: str, value) -> bool:
    """A module entry worth putting back: a module, class or callable, or a public constant.
    Private data (caches, counters, lazily built tables) is left as the library left it."""
    kind = type(value)  # not isinstance: a lazy proxy's __class__ could import
    if issubclass(kind, (types.ModuleType, type)) or callable(value):
        return True
    return not key.startswith("_") and issubclass(kind, _CONSTANTS)


#: The classes whose methods are put back: those the checks and the kernel's machinery use.
#: (Others change lazily by design: torch.optim wraps ``Optimizer.step`` on first use,
#: torch.distributed patches its placement types when it is imported.)
_WATCHED_CLASSES = ("fido_lib", "IPython", "ipykernel", "sympy", "mpmath", "numpy", "torch._tensor",
                    "torch.nn.parameter", "torch.autograd", "torch.overrides", "torch.types", "builtins",
                    # what carries a test's result to the grader: its session and sockets (``Session.send``)
                    "jupyter_client", "zmq", "tornado")


def _watched_class(cls) -> bool:
    module = cls.__dict__.get("__module__")
    return isinstance(module, str) and (module in _WATCHED_CLASSES or module == "torch"  # torch.Tensor
                                        or module.startswith(tuple(m + "." for m in _WATCHED_CLASSES)))


def _heap_class(value) -> bool:
    return issubclass(type(value), type) and not value.__flags__ & (1 << 8)  # Py_TPFLAGS_IMMUTABLETYPE


class _Snapshot:
    """Everything ``restore`` puts back, taken once, before the submission's first cell."""

    def __init__(self, shell, room: str):
        self.room = room
        self.roots = _library_roots()
        self.modules = dict(sys.modules)
        self.module_dicts, self.classes, self.functions = [], [], []
        seen_classes, seen_functions = set(), set()

        def add_function(fn):
            if id(fn) not in seen_functions:
                seen_functions.add(id(fn))
                kwdefaults = fn.__kwdefaults__
                cells = tuple((cell, _cell_value(cell)) for cell in fn.__closure__ or ())
                self.functions.append((fn, kwdefaults, dict(kwdefaults) if kwdefaults else None, cells))

        def add_class(cls):
            if id(cls) in seen_classes or not _heap_class(cls) or not _watched_class(cls):
                return
            seen_classes.add(id(cls))
            members = dict(cls.__dict__)
            self.classes.append((cls, members))
            for member in members.values():
                fn = member.__func__ if isinstance(member, (staticmethod, classmethod)) else member
                if isinstance(fn, types.FunctionType):
                    add_function(fn)

        self.builtins = (builtins, {k: v for k, v in vars(builtins).items() if _restorable(k, v)})
        for module in list(self.modules.values()):
            namespace = getattr(module, "__dict__", None)
            if not isinstance(namespace, dict):
                continue
            kept = {k: v for k, v in list(namespace.items()) if isinstance(k, str) and _restorable(k, v)}
            self.module_dicts.append((module, kept, frozenset(namespace)))
            for value in kept.values():
                if isinstance(value, types.FunctionType):
                    add_function(value)
                elif isinstance(value, type):
                    add_class(value)
        # the fido_lib modules' own tables (the checks' dtype maps …) are put back by content too
        self.containers = [(v, _copy(v)) for m, kept, _ in self.module_dicts
                           if getattr(m, "__name__", "").split(".")[0] == "fido_lib"
                           for v in kept.values() if isinstance(v, (dict, list, set))]
        self.sys_lists = {name: (getattr(sys, name), list(getattr(sys, name)))
                          for name in ("meta_path", "path_hooks", "path")}
        self.sys_modules = sys.modules
        self.gc_callbacks = list(gc.callbacks)
        self.signals = {s: signal.getsignal(s) for s in signal.valid_signals()
                        if s not in (signal.SIGKILL, signal.SIGSTOP)}
        self.threads = {t.ident for t in threading.enumerate()}
        self.shell = shell
        self.shell_parts = _machinery(shell)

    def restore(self, bindings) -> list[str]:
        # builtins first, with dict operations only: the rest of this method uses them
        builtins_module, kept = self.builtins
        namespace = builtins_module.__dict__
        changed = [f"builtins.{key}" for key, value in kept.items() if namespace.get(key, _MISSING) is not value]
        namespace.update(kept)
        # then what could run again while the rest is put back: timers, signal handlers, gc callbacks
        if list(gc.callbacks) != self.gc_callbacks:
            gc.callbacks[:] = self.gc_callbacks
            changed.append("gc.callbacks")
        for number, handler in self.signals.items():
            if signal.getsignal(number) is not handler and handler is not None:
                try:
                    signal.signal(number, handler)
                    changed.append(f"signal {signal.Signals(number).name}")
                except (OSError, ValueError, TypeError):
                    pass
        for timer in (signal.ITIMER_REAL, signal.ITIMER_VIRTUAL, signal.ITIMER_PROF):
            if signal.getitimer(timer) != (0.0, 0.0):
                signal.setitimer(timer, 0)
                changed.append("an interval timer")
        if sys.modules is not self.sys_modules:
            sys.modules = self.sys_modules
            changed.append("sys.modules")
        for name, module in self.modules.items():
            if sys.modules.get(name) is not module:
                sys.modules[name] = module
                changed.append(f"sys.modules[{name!r}]")
        for name, (original, items) in self.sys_lists.items():
            if getattr(sys, name) is not original:
                setattr(sys, name, original)
            if original != items:
                original[:] = items
                changed.append(f"sys.{name}")
        shadows = builtins_module.__dict__
        roots = self.roots
        for module, kept, keys in self.module_dicts:
            namespace, name = module.__dict__, getattr(module, "__name__", "?")
            for key, value in kept.items():
                now = namespace.get(key, _MISSING)
                if now is value:
                    continue
                if now is not _MISSING and callable(value) and _made_by_library(now, roots):
                    kept[key] = now  # a library's own lazy change (e.g. pyplot's draw_if_interactive)
                    continue
                namespace[key] = value
                changed.append(f"{name}.{key}")
            # a new global named like a builtin (``checks.isinstance = …``) shadows it in every function;
            # a submodule imported since (``pygments.filter``) is a plain module, which cannot stand in for one
            if module is not builtins_module and len(namespace) != len(keys):
                for key in [k for k in namespace if k not in keys and k in shadows
                            and not _submodule(namespace[k], f"{name}.{k}")]:
                    del namespace[key]
                    changed.append(f"{name}.{key}")
        for container, items in self.containers:
            if container != items:
                _put_back(container, items)
                changed.append("a table of fido_lib")
        for cls, members in self.classes:
            changed += _put_back_class(cls, members, roots)
        # a function's code and defaults cannot be replaced (the fence), but its keyword
        # defaults dict and its closure's cells can be changed in place
        for fn, kwdefaults, items, cells in self.functions:
            if kwdefaults is not None and kwdefaults != items:
                kwdefaults.clear()
                kwdefaults.update(items)
                changed.append(f"{fn.__module__}.{fn.__qualname__} keyword defaults")
            for cell, value in cells:
                if _cell_value(cell) is not value:
                    if value is _MISSING:
                        del cell.cell_contents
                    else:
                        cell.cell_contents = value
                    changed.append(f"{fn.__module__}.{fn.__qualname__} closure")
        changed += _put_back_machinery(self.shell, self.shell_parts, roots)
        if os.getcwd() != self.room:
            os.chdir(self.room)
            changed.append("the working folder")
        namespace = self.shell.user_ns
        if namespace.get("__builtins__") is not builtins_module:
            namespace["__builtins__"] = builtins_module
            changed.append("__builtins__")
        for name, module_name, attribute in bindings:
            target = sys.modules.get(module_name)
            if target is None:
                continue
            if attribute is not None:
                target = target.__dict__.get(attribute, _MISSING)
                if target is _MISSING:
                    continue
            if namespace.get(name, _MISSING) is not target:
                namespace[name] = target
                changed.append(name)
        threads = sorted(t.name for t in threading.enumerate() if t.ident not in self.threads and t.is_alive()
                         and not _made_by_library(t.__dict__.get("_target") or t, roots))
        if threads:
            changed.append(f"(still running: thread(s) {', '.join(threads)} the submission started)")
        return changed


_MISSING = object()


def _submodule(value, name: str) -> bool:
    """Whether ``value`` is the plain module ``name`` as imported (not callable, so no stand-in for a builtin)."""
    return type(value) is types.ModuleType and sys.modules.get(name) is value


def _library_roots() -> tuple:
    """Where library code lives: the standard library, site-packages, fido_lib, frozen modules."""
    roots = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    roots |= {p for p in sys.path if "site-packages" in p or "dist-packages" in p}
    roots.add(fido_lib.__path__[0])
    return tuple(sorted(r.rstrip("/") + "/" for r in roots if r)) + ("<frozen ",)


def _made_by_library(value, roots: tuple) -> bool:
    """Whether ``value`` is a function (or method, or an instance of a class) whose code lies in a
    library file: what a library sets lazily (a backend's hook, a patched ``Optimizer.step``),
    not a submission's cell (whose code lies in the kernel's temporary folder). Read by type."""
    kind = type(value)
    if kind is types.MethodType or kind is staticmethod or kind is classmethod:
        value, kind = value.__func__, type(value.__func__)
    if kind is not types.FunctionType:
        methods = [v for v in vars(kind).values() if type(v) is types.FunctionType] if _heap_class(kind) else []
        if not methods:
            return False
        value = methods[0]
    return value.__code__.co_filename.startswith(roots)


def _put_back_class(cls, members: dict, roots: tuple) -> list[str]:
    """Put back a class's methods and public data; what was put back.

    Left alone, and taken into ``members``: what a library changes lazily (its caches,
    private data, methods whose code lies in a library file, new data that shadows
    nothing). Put back: any other method or descriptor, changed or added, and public
    data, changed, or added where it shadows a base class's attribute (``Tensor.shape``)."""
    now, changed = cls.__dict__, []
    where = f"{cls.__module__}.{cls.__qualname__}"
    for key in [k for k in now if k not in members and not _class_cache(k)]:
        value = now[key]
        behaves = callable(value) or hasattr(type(value), "__get__")
        shadows = any(key in vars(base) for base in cls.__mro__[1:])
        if (behaves and not _made_by_library(value, roots)) or (not behaves and shadows):
            type.__delattr__(cls, key)
            changed.append(f"{where}.{key}")
        else:
            members[key] = value
    for key, value in members.items():
        current = now.get(key, _MISSING)
        if current is value or _class_cache(key):
            continue
        behaves = callable(value) or hasattr(type(value), "__get__")
        if not behaves and key.startswith("_"):
            continue  # private data: a cache or counter
        if current is not _MISSING and behaves and _made_by_library(current, roots):
            members[key] = current
            continue
        type.__setattr__(cls, key, value)
        changed.append(f"{where}.{key}")
    return changed


def _cell_value(cell):
    try:
        return cell.cell_contents
    except ValueError:  # an empty cell
        return _MISSING


def _class_cache(key: str) -> bool:
    """Class attributes Python and the libraries set lazily (copy's, abc's, typing's caches)."""
    return key in ("__slotnames__", "__abstractmethods__", "__parameters__") or key.startswith("_abc_")


def _copy(container):
    return dict(container) if isinstance(container, dict) else type(container)(container)


def _put_back(container, items) -> None:
    container.clear()
    if isinstance(container, dict):
        container.update(items)
    elif isinstance(container, list):
        container.extend(items)
    else:
        container.update(items)


#: IPython's and ipykernel's parts that decide what a cell runs, and their lists.
_SHELL_ATTRIBUTES = ("input_transformer_manager", "input_transformers_post", "ast_transformers", "compile",
                     "events", "custom_exceptions", "CustomTB", "user_module", "user_ns", "kernel",
                     "displayhook", "display_pub", "InteractiveTB", "SyntaxTB")


#: The kernel's attributes that carry a test's result to the grader, and the attributes of
#: those carriers (and of the kernel, its session, display hook and publisher) pinned by
#: identity: ``kernel.session = …`` or ``session.pack = …`` could rewrite an error reply into "ok".
_KERNEL_CARRIERS = ("iopub_socket", "iopub_thread", "shell_stream", "control_stream", "stdin_socket")
_PINNED_ATTRIBUTES = ("session", "pub_socket", "pub_thread", "shell", "kernel", "pack", "unpack",
                      *_KERNEL_CARRIERS)


def _machinery(shell) -> dict:
    parts = {"attributes": {name: getattr(shell, name, None) for name in _SHELL_ATTRIBUTES}}
    manager = shell.input_transformer_manager
    parts["lists"] = [(label, lst, list(lst)) for label, lst in (
        ("IPython's input transformers", manager.cleanup_transforms),
        ("IPython's input transformers", manager.line_transforms),
        ("IPython's input transformers", manager.token_transformers),
        ("IPython's input transformers", shell.input_transformers_post),
        ("IPython's AST transformers", shell.ast_transformers),
        *((f"IPython's {event} callbacks", callbacks) for event, callbacks in shell.events.callbacks.items()))]
    parts["compile_flags"] = shell.compile.flags
    kernel = getattr(shell, "kernel", None)
    owners = [shell, manager, shell.compile, shell.events, shell.displayhook, shell.display_pub]
    if kernel is not None:
        owners.append(kernel)
        parts["handlers"] = [(d, dict(d)) for d in (kernel.shell_handlers, kernel.control_handlers)]
    # the objects that carry a test's result to the grader (the execute reply, the error output)
    carriers = [kernel, getattr(kernel, "session", None), shell.displayhook, shell.display_pub,
                *(getattr(kernel, name, None) for name in _KERNEL_CARRIERS)]
    parts["pinned"] = [(obj, name, getattr(obj, name)) for obj in carriers if obj is not None
                       for name in _PINNED_ATTRIBUTES if hasattr(obj, name)]
    owners += [obj for obj in carriers[1:] if obj is not None and hasattr(obj, "__dict__")
               and not any(obj is known for known in owners)]
    parts["instances"] = [(obj, dict(vars(obj))) for obj in owners]
    # ``obj.__class__ = Subclass`` would bring methods of the submission's own
    parts["types"] = [(obj, type(obj)) for obj in owners]
    return parts


def _same(a: list, b: list) -> bool:
    """Element by element identity (``==`` would ask the elements, which a submission may have made)."""
    return len(a) == len(b) and all(x is y for x, y in zip(a, b))


def _put_back_machinery(shell, parts, roots: tuple) -> list[str]:
    changed = []
    for name, value in parts["attributes"].items():
        if getattr(shell, name, None) is not value:
            setattr(shell, name, value)
            changed.append(f"IPython's {name}")
    for label, lst, items in parts["lists"]:
        if _same(lst, items):
            continue
        # keep what a library registered (matplotlib's inline backend flushes figures after each cell)
        kept = [x for x in lst if any(x is y for y in items) or _made_by_library(x, roots)]
        wanted = kept + [y for y in items if not any(x is y for x in kept)]
        if not _same(wanted, [x for x in lst]) or len(kept) < len(lst):
            changed.append(label)
        lst[:] = wanted
        items[:] = wanted
    if shell.compile.flags != parts["compile_flags"]:
        shell.compile.flags = parts["compile_flags"]
        changed.append("IPython's compiler flags")
    for mapping, items in parts.get("handlers", ()):
        if mapping != items:
            mapping.clear()
            mapping.update(items)
            changed.append("the kernel's message handlers")
    for obj, cls in parts["types"]:
        if type(obj) is not cls:
            object.__setattr__(obj, "__class__", cls)
            changed.append(f"the class of the kernel's {cls.__module__}.{cls.__qualname__}")
    for obj, name, value in parts["pinned"]:
        if getattr(obj, name, _MISSING) is not value:
            setattr(obj, name, value)
            changed.append(f"{type(obj).__name__}.{name}")
    for obj, members in parts["instances"]:
        now = vars(obj)
        for key in list(now):
            # an instance attribute that shadows a method (``shell.run_cell = …``) goes
            if key not in members and callable(getattr(type(obj), key, None)):
                del now[key]
                changed.append(f"{type(obj).__name__}.{key}")
        for key, value in members.items():
            if callable(value) and now.get(key, _MISSING) is not value:
                now[key] = value
                changed.append(f"{type(obj).__name__}.{key}")
    return changed


# ---------------------------------------------------------------- entry points
def install(room: str, protected=(), imports=(), writable=None) -> str:
    """Import the modules the full notebook imports, take the snapshot, raise the fence.

    ``room``: the submission's folder, the kernel's working folder; ``writable``: the
    folder writes must stay in (default ``room``; the grader gives the room's parent, which
    also holds the kernel's IPython profile and TMPDIR); ``protected``: absolute paths the
    kernel may not read; ``imports``: module names. Runs once per kernel."""
    global _state
    if _state is not None:
        raise RuntimeError("the grading guard is already installed in this kernel")
    for name in ("fido_lib.checks", *imports):
        try:
            importlib.import_module(name)
        except Exception:  # the notebook's own cell will report it
            pass
    shell = get_ipython()
    _state = _Snapshot(shell, room)
    frozen = frozenset(id(fn) for fn, *_ in _state.functions)
    sys.addaudithook(_make_fence(writable or room, tuple(p.rstrip("/") + "/" for p in protected),
                                 (pathlib.PosixPath, pathlib.PurePath.__fspath__), frozen))
    return "installed"


def restore(bindings=()) -> list[str]:
    """Put back what changed since :func:`install`; what was put back (empty: nothing)."""
    if _state is None:
        raise RuntimeError("the grading guard is not installed in this kernel")
    return _state.restore(bindings)
