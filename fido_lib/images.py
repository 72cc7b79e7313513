"""Sample photos shipped with fido_lib (CC0 or public domain), loading your own photo, image conversion.

The photos lie in ``fido_lib/data`` with a ``.txt`` beside each that names its
photographer, source and licence; :func:`sample_info` returns that text.
"""
from __future__ import annotations

import io
import os
import struct
import warnings
from importlib import resources

import numpy as np
import torch

__all__ = ["MAX_PIXELS", "MAX_SIDE", "SAMPLES", "load_image", "sample", "sample_info", "to_tensor"]

#: The most pixels an image may have: :func:`load_image` refuses larger files before
#: decoding them (JPEGs are first decoded at a reduced size), :func:`to_tensor` larger
#: inputs. 50 MP is a 3×8-bit image of 150 MB; a classifier sees 224×224.
MAX_PIXELS = 50_000_000
#: :func:`load_image` downscales photos whose longer side exceeds this (area-averaging),
#: so that later steps (``Classifier.prepare``) never hold a huge float copy.
MAX_SIDE = 2048

#: Names of the shipped photos (CC0 or public domain; see :func:`sample_info`), from
#: scikit-image's bundled data: a cat, an espresso, a tripod camera, a rocket launch, an astronaut.
SAMPLES = ("chelsea", "coffee", "camera", "rocket", "astronaut")
# file names where the photo is not a PNG (kept byte for byte as shipped upstream)
_FILES = {"rocket": "rocket.jpg"}


def _data_file(filename):
    return resources.files("fido_lib").joinpath("data", filename)


def _check_sample(name):
    if name not in SAMPLES:
        raise ValueError(f"name must be one of the shipped photos {', '.join(map(repr, SAMPLES))}; got {name!r}")


def sample(name: str = "chelsea"):
    """A shipped photo as an RGB ``PIL.Image`` by name (:data:`SAMPLES`): ``"chelsea"`` (a cat), …"""
    from PIL import Image

    _check_sample(name)
    with _data_file(_FILES.get(name, f"{name}.png")).open("rb") as f:
        img = Image.open(f)
        img.load()
    return img.convert("RGB")


def sample_info(name: str) -> str:
    """Source, photographer and licence of a shipped photo (the text beside it)."""
    _check_sample(name)
    return _data_file(f"{name}.txt").read_text("utf-8")


def _megapixels(w, h):
    return f"{w}×{h} = {w * h / 1e6:.1f} megapixels"


def _check_pixels(w, h, what):
    if w * h > MAX_PIXELS:
        raise ValueError(f"{what} is {_megapixels(w, h)}; fido_lib takes at most {MAX_PIXELS // 1_000_000} "
                         f"megapixels (MAX_PIXELS): downscale it first (a classifier sees about 224×224)")


def _rgb(img):
    """An 8-bit RGB copy of a PIL image of any mode, with values scaled, not clipped.

    16-bit greyscale (``I;16*``, what Pillow makes of a 16-bit PNG) is divided by 257
    (65535 → 255); 32-bit ``I`` likewise when its values exceed 255 (else Pillow's
    convention, 0–255, holds); 32-bit float ``F`` (``Image.fromarray(float_array)``, a
    float TIFF) is read as [0, 1] when its values lie there, as 0–255 when they lie
    there, and refused otherwise or when it holds NaN/inf (Pillow's own conversion
    turned 0.8 into black); transparent pixels (RGBA, LA, PA, a palette with
    transparency) are composited over white; every other mode goes through Pillow's
    own conversion.
    """
    from PIL import Image

    if img.mode == "F":
        a = np.asarray(img, dtype=np.float64)
        if a.size and not np.isfinite(a).all():
            raise ValueError(f"a float (mode 'F') image holds NaN or inf in {int((~np.isfinite(a)).sum())} of "
                             f"{a.size} pixels; a photo must be numbers")
        lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
        if lo < 0 or hi > 255:
            raise ValueError(f"a float (mode 'F') image must hold values in [0, 1] or [0, 255], got "
                             f"[{lo:g}, {hi:g}]; rescale it first")
        scale = 255.0 if hi <= 1.0 else 1.0
        grey = np.clip(np.round(a * scale), 0, 255).astype(np.uint8)
        return Image.fromarray(grey, "L").convert("RGB")
    if img.mode.startswith("I"):
        a = np.asarray(img).astype(np.float64)
        top = float(a.max()) if a.size else 0.0
        if img.mode.startswith("I;16") or top > 255:
            scale = 65535.0 if top <= 65535 else float(2**32 - 1)
            a = np.clip(a, 0, None) / scale * 255.0
        grey = np.clip(np.round(a), 0, 255).astype(np.uint8)
        return Image.fromarray(grey, "L").convert("RGB")
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert("RGB")


def load_image(source):
    """Your photo as an RGB ``PIL.Image``, from a path or from the file's bytes.

    Any mode Pillow reads: 16-bit greyscale is scaled to 8 bits (not clipped), a
    32-bit float image (float TIFF) read as [0, 1] or 0–255 (refused otherwise or with NaN),
    transparency is composited over white, the EXIF orientation of phone photos is
    applied. Files over :data:`MAX_PIXELS` are refused before decoding (a JPEG is
    first decoded at a reduced size); a photo whose longer side exceeds
    :data:`MAX_SIDE` is downscaled to it.

    Raises ``FileNotFoundError`` if the path does not exist and ``ValueError`` if the
    file is not an image Pillow can read (wrong format, truncated, corrupt, empty) or
    is too large (Pillow's decompression-bomb guard included).
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

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
        with warnings.catch_warnings():
            # Pillow warns above Image.MAX_IMAGE_PIXELS (and raises above twice that): both refuse
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(stream) as img:
                img.draft("RGB", (MAX_SIDE, MAX_SIDE))  # JPEG: decode at 1/2, 1/4 or 1/8 size when that suffices
                _check_pixels(*img.size, label)
                img.load()  # decode now, so a truncated file fails here and not later
                img = ImageOps.exif_transpose(img)  # phone photos: stored sideways, EXIF says how to turn them
                rgb = _rgb(img)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise ValueError(f"{label} is too large: Pillow's decompression-bomb guard refused it ({err})") from None
    except (UnidentifiedImageError, OSError, SyntaxError, EOFError, IndexError, KeyError, TypeError,
            ZeroDivisionError, struct.error) as err:
        raise ValueError(f"{label} is not an image Pillow can read (PNG, JPEG, …; truncated or corrupt?): "
                         f"{type(err).__name__}: {err}") from None
    except ValueError as err:
        if "megapixels" in str(err):
            raise
        if "(mode 'F')" in str(err):  # our own verdict on a float image, already clear
            raise ValueError(f"{label}: {err}") from None
        raise ValueError(f"{label} is not an image Pillow can read (PNG, JPEG, …): {err}") from None
    if max(rgb.size) > MAX_SIDE:
        rgb.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.BOX)  # area average: no aliasing, fast
    return rgb


def to_tensor(image) -> torch.Tensor:
    """A ``3×H×W`` float32 tensor in [0, 1] from a PIL image, an ``H×W×3`` uint8 array or such a tensor.

    PIL images of any mode are converted as :func:`load_image` does (16-bit scaled,
    transparency over white); ``H×W×3`` uint16 arrays are divided by 65535. Float
    tensors must already be ``3×H×W`` with values in [0, 1]. At most
    :data:`MAX_PIXELS` pixels. Anything else raises a ``TypeError``/``ValueError``
    that says what was given.
    """
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - pillow is a dependency
        Image = None
    if Image is not None and isinstance(image, Image.Image):
        _check_pixels(*image.size, "image")
        image = np.asarray(_rgb(image))
    if isinstance(image, np.ndarray):
        if image.dtype not in (np.uint8, np.uint16):
            raise TypeError(
                f"image arrays must be uint8 (0..255) or uint16 (0..65535) H×W×3, got dtype {image.dtype}; "
                "pass floats as a 3×H×W torch tensor in [0, 1]"
            )
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"image array must have shape H×W×3, got {image.shape}")
        if image.size == 0:
            raise ValueError(f"image array is empty (shape {image.shape})")
        _check_pixels(image.shape[1], image.shape[0], "image array")
        scale = 255.0 if image.dtype == np.uint8 else 65535.0
        return torch.from_numpy(image.astype(np.float32)).permute(2, 0, 1).div_(scale).contiguous()
    if isinstance(image, torch.Tensor):
        if image.dtype == torch.uint8:
            raise TypeError(
                "uint8 tensors are ambiguous (3×H×W or H×W×3?): pass a float 3×H×W tensor in [0, 1] or a numpy array"
            )
        if not image.is_floating_point():
            raise TypeError(f"image tensor must be floating point in [0, 1], got dtype {image.dtype}")
        if image.dim() != 3 or image.shape[0] != 3:
            raise ValueError(f"image tensor must have shape 3×H×W, got {tuple(image.shape)}")
        if image.numel() == 0:
            raise ValueError("image tensor is empty")
        _check_pixels(image.shape[2], image.shape[1], "image tensor")
        lo, hi = float(image.min()), float(image.max())
        if not (lo >= 0.0 and hi <= 1.0):  # also catches NaN
            raise ValueError(f"image tensor values must lie in [0, 1], got [{lo:g}, {hi:g}]")
        return image.detach().to("cpu", torch.float32).contiguous()
    raise TypeError(
        f"image must be a PIL image, an H×W×3 uint8 numpy array or a 3×H×W float tensor in [0, 1]; "
        f"got {type(image).__name__}"
    )
