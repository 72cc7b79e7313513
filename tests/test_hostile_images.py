"""Hostile inputs to fido_lib.images (issue 11): every kind of PNG/JPEG a student may
upload, EXIF orientation, huge and corrupt files."""
import io

import numpy as np
import pytest
import torch
from PIL import Image

from fido_lib import images


def _png(img, **kw):
    buf = io.BytesIO()
    img.save(buf, "PNG", **kw)
    return buf.getvalue()


def test_a_16_bit_greyscale_png_is_scaled_not_clipped():
    ramp = np.linspace(0, 65535, 256 * 4).round().astype(np.uint16).reshape(4, 256)
    img = images.load_image(_png(Image.fromarray(ramp)))
    out = np.asarray(img)
    assert img.mode == "RGB" and out.shape == (4, 256, 3)
    expected = np.round(ramp / 257.0)
    assert np.abs(out[..., 0].astype(float) - expected).max() <= 1
    assert (out == 255).mean() < 0.01  # clipping made 99.6 % of the pixels 255


def test_a_16_bit_image_in_to_tensor_is_scaled_too():
    ramp = np.linspace(0, 65535, 64).round().astype(np.uint16).reshape(8, 8)
    x = images.to_tensor(Image.fromarray(ramp))
    assert x.shape == (3, 8, 8)
    assert torch.allclose(x[0], torch.tensor(ramp / 65535.0, dtype=torch.float32), atol=1 / 255)


def test_a_16_bit_array_is_scaled():
    a = np.full((4, 4, 3), 65535, np.uint16)
    a[0, 0] = 0
    x = images.to_tensor(a)
    assert float(x.max()) == 1.0 and float(x.min()) == 0.0


@pytest.mark.parametrize("mode", ["L", "LA", "P", "RGBA", "1", "CMYK", "I", "F"])
def test_every_common_mode_loads_as_rgb(mode):
    base = Image.new("RGB", (16, 12), (200, 100, 50))
    img = base.convert(mode)
    fmt = "TIFF" if mode in ("CMYK", "F", "I") else "PNG"
    buf = io.BytesIO()
    img.save(buf, fmt)
    out = images.load_image(buf.getvalue())
    assert out.mode == "RGB" and out.size == (16, 12)
    assert images.to_tensor(img).shape == (3, 12, 16)


def test_transparent_pixels_become_white_not_their_hidden_colour():
    img = Image.new("RGBA", (4, 4), (0, 0, 0, 0))  # fully transparent black
    img.putpixel((0, 0), (255, 0, 0, 255))
    out = np.asarray(images.load_image(_png(img)))
    assert tuple(out[0, 0]) == (255, 0, 0) and tuple(out[3, 3]) == (255, 255, 255)


def test_exif_orientation_is_applied():
    # a phone photo stored landscape with "rotate 90° clockwise" in its EXIF
    img = Image.new("RGB", (40, 20), (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, 10, 20))  # red on the stored left edge
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif, quality=95)
    out = images.load_image(buf.getvalue())
    assert out.size == (20, 40)  # upright: portrait
    a = np.asarray(out).astype(int)
    assert a[2, 10, 0] > 200 and a[-3, 10, 0] < 60  # the red band is now at the top


def test_a_huge_png_is_refused_with_the_limit_before_decoding():
    big = _png(Image.new("1", (8000, 8000)))  # 64 MP in a few kB
    with pytest.raises(ValueError, match=r"8000×8000.*at most 50 megapixels"):
        images.load_image(big)


def test_a_large_photo_is_downscaled_early():
    side = images.MAX_SIDE * 2 + 10
    out = images.load_image(_png(Image.new("L", (side, side // 2), 128)))
    assert max(out.size) == images.MAX_SIDE and out.size[0] == 2 * out.size[1]


def test_a_large_jpeg_is_decoded_at_reduced_size():
    buf = io.BytesIO()
    Image.new("RGB", (5000, 3000), (10, 200, 30)).save(buf, "JPEG", quality=50)
    out = images.load_image(buf.getvalue())
    assert max(out.size) <= images.MAX_SIDE


def test_pils_decompression_bomb_error_and_warning_become_value_errors(monkeypatch):
    data = _png(Image.new("L", (100, 100)))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 3000)  # 10 000 px: > 2× the limit, PIL's error
    with pytest.raises(ValueError, match="decompression bomb|too large"):
        images.load_image(data)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 6000)  # between 1× and 2×: PIL only warns
    with pytest.raises(ValueError, match="decompression bomb|too large"):
        images.load_image(data)


@pytest.mark.parametrize("cut", [10, 40, 100])
def test_truncated_and_corrupt_files_are_value_errors(cut):
    data = _png(Image.new("RGB", (64, 64), (1, 2, 3)))
    with pytest.raises(ValueError, match="not an image Pillow can read|truncated|corrupt"):
        images.load_image(data[:cut])
    broken = bytearray(data)
    broken[60:90] = b"\xff" * 30
    with pytest.raises(ValueError):
        images.load_image(bytes(broken))


def test_to_tensor_refuses_empty_and_oversized_inputs_with_the_limit():
    with pytest.raises(ValueError, match="empty"):
        images.to_tensor(np.zeros((0, 5, 3), np.uint8))
    with pytest.raises(ValueError, match="at most 50 megapixels"):
        images.to_tensor(torch.zeros(3, 8000, 8000).expand(3, 8000, 8000))


# ---------------------------------------------------------------- issue 18
def test_a_float_pil_image_in_0_1_is_scaled_not_black():
    img = Image.fromarray(np.full((6, 7), 0.8, np.float32))  # mode F: the usual way students make one
    assert img.mode == "F"
    assert float(images.to_tensor(img)[0, 0, 0]) == pytest.approx(204 / 255)  # was 0 (black)


def test_a_float_pil_image_in_0_255_keeps_its_values():
    img = Image.fromarray(np.full((6, 7), 128.0, np.float32))
    assert float(images.to_tensor(img)[1, 2, 3]) == pytest.approx(128 / 255)


@pytest.mark.parametrize("bad, match", [(np.nan, "NaN or inf"), (np.inf, "NaN or inf"),
                                        (-3.0, r"\[0, 1\] or \[0, 255\]"), (900.0, r"\[0, 1\] or \[0, 255\]")])
def test_a_float_pil_image_with_nan_or_out_of_range_values_is_refused(bad, match):
    a = np.full((6, 7), 0.5, np.float32)
    a[2, 3] = bad
    with pytest.raises(ValueError, match=match):
        images.to_tensor(Image.fromarray(a))


def test_a_float32_tiff_loads_scaled_not_black():
    buf = io.BytesIO()
    Image.fromarray(np.full((5, 9), 0.25, np.float32)).save(buf, format="TIFF")
    rgb = images.load_image(buf.getvalue())
    assert rgb.mode == "RGB" and rgb.getpixel((4, 2)) == (64, 64, 64)


def test_a_float32_tiff_with_nan_is_refused_naming_the_cause():
    a = np.full((5, 9), 0.25, np.float32)
    a[0, 0] = np.nan
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="TIFF")
    with pytest.raises(ValueError, match="NaN or inf"):
        images.load_image(buf.getvalue())
