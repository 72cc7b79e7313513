"""Reading stored ``.npz`` results without trusting them: the JSON member first (size-bounded),
then every array's ``.npy`` header (dtype, shape, and a member no larger than the header
promises), and only then the arrays. No pickle anywhere."""
from __future__ import annotations

import contextlib
import json
import math
import zipfile
from pathlib import Path

import numpy as np

__all__ = ["MAX_JSON_BYTES", "check_arrays", "check_header", "members", "members_and_json", "opened", "read_array",
           "read_header", "read_json"]

_KINDS = {"f": "floats", "i": "ints", "u": "unsigned ints", "b": "bools"}
#: The largest JSON member read (text of a few kB in every file fido_lib writes).
MAX_JSON_BYTES = 2**22


def members(z: zipfile.ZipFile) -> dict:
    """``{array name: ZipInfo}`` of an ``.npz`` (``"x.npy"`` → ``"x"``); other members are refused."""
    out = {}
    for info in z.infolist():
        if not info.filename.endswith(".npy"):
            raise ValueError(f"it holds a member {info.filename!r} that is no .npy array")
        out[info.filename[:-4]] = info
    return out


def members_and_json(z: zipfile.ZipFile, name: str, where: str, what: str = ""):
    """``(members(z), the JSON object in member name)``: every stored-result loader starts so.
    A file without ``name`` raises ``ValueError`` ("it holds no NAME WHAT")."""
    infos = members(z)
    if name not in infos:
        raise ValueError(f"{where}: it holds no {name}{what}")
    return infos, read_json(z, infos[name], name, where)


def read_json(z, info, name, where):
    """The JSON object stored as a 0-d string array ``name``; its size checked before it is read."""
    if info.file_size > MAX_JSON_BYTES:
        raise ValueError(f"{where}: its {name} would inflate to {info.file_size} bytes (at most {MAX_JSON_BYTES})")
    with z.open(info) as f:
        arr = np.lib.format.read_array(f, allow_pickle=False)
    if arr.shape != () or arr.dtype.kind != "U":
        raise ValueError(f"{where}: its {name} must be one JSON string, got dtype {arr.dtype} shape {arr.shape}")
    try:
        value = json.loads(str(arr))
    except json.JSONDecodeError as err:
        raise ValueError(f"{where}: its {name} is not JSON ({err})") from None
    if not isinstance(value, dict):
        raise ValueError(f"{where}: its {name} must be a JSON object, got {type(value).__name__}")
    return value


def read_header(z, info, name, where):
    """``(shape, dtype)`` from the ``.npy`` header of ``name``, checked to promise exactly the
    member's inflated size (so nothing larger hides behind it). Reads no data."""
    with z.open(info) as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(f)
        elif version in ((2, 0), (3, 0)):
            shape, _, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise ValueError(f"{where}: {name} has .npy version {version}")
        header_bytes = f.tell()
    size = header_bytes + dtype.itemsize * math.prod(shape)
    if info.file_size != size:
        raise ValueError(f"{where}: {name} would inflate to {info.file_size} bytes, but its header promises {size}")
    return tuple(shape), dtype


def check_header(z, info, name, shape, kinds, where, source="the stored config"):
    """The ``.npy`` header of ``name``: dtype kind in ``kinds`` (``"f"``, ``"i"``, ``"b"`` …), the
    given ``shape`` (``None``: any) and the member's size (:func:`read_header`). Reads no data;
    returns the shape."""
    got, dtype = read_header(z, info, name, where)
    if dtype.hasobject or dtype.kind not in kinds:
        raise ValueError(f"{where}: {name} must hold {' or '.join(_KINDS[k] for k in kinds)}, got dtype {dtype}")
    if shape is not None and got != tuple(shape):
        raise ValueError(f"{where}: {name} must have shape {tuple(shape)} from {source}, got {got}")
    return got


def check_arrays(z, infos, expected, where, *, json_member="config", source="the stored config"):
    """Exactly the arrays of ``expected`` (``{name: (shape, kinds)}``) besides ``json_member``, none
    missing and none more, each ``.npy`` header with its dtype kind and shape (and the member no
    larger than its header promises). Reads no data."""
    missing = sorted(set(expected) - set(infos))
    unexpected = sorted(set(infos) - set(expected) - {json_member})
    if missing or unexpected:
        raise ValueError(f"{where}: " + "; ".join(
            ([f"it lacks {', '.join(missing)}"] if missing else []) +
            ([f"it holds arrays no such file has: {', '.join(unexpected)}"] if unexpected else [])))
    for name, (shape, kinds) in expected.items():
        check_header(z, infos[name], name, shape, kinds, where, source)


def read_array(z, info):
    with z.open(info) as f:
        return np.lib.format.read_array(f, allow_pickle=False)


@contextlib.contextmanager
def opened(path, kind: str, remake: str):
    """``with opened(path, "FIDO-settings", "python -m …") as (z, where)``: the stored ``.npz`` at
    ``path`` as a ``ZipFile`` and the prefix of every error about it (``"PATH is not a valid KIND
    file"``). No file: ``FileNotFoundError`` naming the command that makes one. Inside, a zip
    that cannot be read, and any ``TypeError`` / ``ValueError`` / ``AttributeError`` whose
    message starts neither with that prefix nor with ``"PATH holds "``, become one
    ``ValueError`` that starts with the prefix."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no {kind} file at {path}; run `{remake}`")
    where = f"{path} is not a valid {kind} file"
    try:
        with zipfile.ZipFile(path) as z:
            yield z, where
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, KeyError, NotImplementedError) as err:
        raise ValueError(f"{where} (truncated or corrupt?): {type(err).__name__}: {err}") from None
    except (TypeError, ValueError, AttributeError) as err:
        if str(err).startswith((where, f"{path} holds ")):  # already says which file, and what
            raise
        raise ValueError(f"{where} (truncated, corrupt or edited?): {type(err).__name__}: {err}") from None
