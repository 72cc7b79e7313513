"""Sample photos shipped with fido_lib (CC0 only), loading your own photo, image conversion.

The photos lie in ``fido_lib/data`` with a ``.txt`` beside each that names its
photographer, source and licence; :func:`sample_info` returns that text.
"""
from __future__ import annotations

import io
import os
from importlib import resources

import numpy as np
import torch

__all__ = ["SAMPLES", "load_image", "sample", "sample_info", "to_tensor"]

#: Names of the shipped photos (all CC0; see :func:`sample_info`).
SAMPLES = ("chelsea", "coffee")


def _data_file(filename):
    return resources.files("fido_lib").joinpath("data", filename)


def _check_sample(name):
    if name not in SAMPLES:
        raise ValueError(f"name must be one of the shipped photos {', '.join(map(repr, SAMPLES))}; got {name!r}")


def sample(name: str = "chelsea"):
    """A shipped photo as an RGB ``PIL.Image``: ``"chelsea"`` (a cat) or ``"coffee"`` (an espresso)."""
    from PIL import Image

    _check_sample(name)
    with _data_file(f"{name}.png").open("rb") as f:
        img = Image.open(f)
        img.load()
    return img.convert("RGB")


def sample_info(name: str) -> str:
    """Source, photographer and licence of a shipped photo (the text beside it)."""
    _check_sample(name)
    return _data_file(f"{name}.txt").read_text("utf-8")


def load_image(source):
    """Your photo as an RGB ``PIL.Image``, from a path or from the file's bytes.

    Raises ``FileNotFoundError`` if the path does not exist and ``ValueError`` if the
    file is not an image Pillow can read (wrong format, truncated, empty).
    """
    from PIL import Image, UnidentifiedImageError

    if isinstance(source, (bytes, bytearray, memoryview)):
        stream, label = io.BytesIO(bytes(source)), "the uploaded bytes"
    elif isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if not os.path.exists(path):
            raise FileNotFoundError(f"image file {path!r} does not exist")
        if os.path.isdir(path):
            raise ValueError(f"image path {path!r} is a folder, not an image file")
        stream, label = path, repr(path)
    else:
        raise TypeError(f"source must be a path (str or PathLike) or bytes, got {type(source).__name__}")
    try:
        with Image.open(stream) as img:
            img.load()  # decode now, so a truncated file fails here and not later
            return img.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise ValueError(f"{label} is not an image Pillow can read (PNG, JPEG, …): {err}") from None


def to_tensor(image) -> torch.Tensor:
    """A ``3×H×W`` float32 tensor in [0, 1] from a PIL image, an ``H×W×3`` uint8 array or such a tensor.

    Float tensors must already be ``3×H×W`` with values in [0, 1]; anything else
    raises a ``TypeError``/``ValueError`` that says what was given.
    """
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - pillow is a dependency
        Image = None
    if Image is not None and isinstance(image, Image.Image):
        image = np.asarray(image.convert("RGB"))
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8:
            raise TypeError(
                f"image arrays must be uint8 H×W×3 (0..255), got dtype {image.dtype}; "
                "pass floats as a 3×H×W torch tensor in [0, 1]"
            )
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"image array must have shape H×W×3, got {image.shape}")
        return torch.tensor(image).permute(2, 0, 1).float().div_(255.0).contiguous()
    if isinstance(image, torch.Tensor):
        if image.dtype == torch.uint8:
            raise TypeError("uint8 tensors are ambiguous (3×H×W or H×W×3?): pass a float 3×H×W tensor in [0, 1] or a numpy array")
        if not image.is_floating_point():
            raise TypeError(f"image tensor must be floating point in [0, 1], got dtype {image.dtype}")
        if image.dim() != 3 or image.shape[0] != 3:
            raise ValueError(f"image tensor must have shape 3×H×W, got {tuple(image.shape)}")
        if image.numel() == 0:
            raise ValueError("image tensor is empty")
        lo, hi = float(image.min()), float(image.max())
        if not (lo >= 0.0 and hi <= 1.0):  # also catches NaN
            raise ValueError(f"image tensor values must lie in [0, 1], got [{lo:g}, {hi:g}]")
        return image.detach().to("cpu", torch.float32).contiguous()
    raise TypeError(
        f"image must be a PIL image, an H×W×3 uint8 numpy array or a 3×H×W float tensor in [0, 1]; "
        f"got {type(image).__name__}"
    )
