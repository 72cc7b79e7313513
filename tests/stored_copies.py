"""Edited copies of a stored ``.npz`` result, for the loaders' hostile-file tests."""
import numpy as np


def edited_copy(src, dst, changes):
    """Write to ``dst`` a copy of the stored ``src`` with arrays replaced (``None``: dropped) or
    added; return ``dst``."""
    with np.load(src) as data:
        arrays = {k: data[k] for k in data.files}
    for k, v in changes.items():
        if v is None:
            arrays.pop(k)
        else:
            arrays[k] = v
    np.savez_compressed(dst, **arrays)
    return dst
