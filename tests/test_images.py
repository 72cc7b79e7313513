"""fido_lib.images: shipped photos with licences, loading user files, conversions."""
from importlib import resources

import numpy as np
import pytest
import torch
from PIL import Image

from fido_lib import images


def test_every_sample_loads_as_rgb_and_names_its_licence():
    for name in images.SAMPLES:
        img = images.sample(name)
        assert img.mode == "RGB" and min(img.size) >= 224
        info = images.sample_info(name)
        assert ("CC0" in info or "public domain" in info) and "Source" in info and "Photographer" in info


def test_every_shipped_picture_has_its_source_and_licence_beside_it():
    data = resources.files("fido_lib").joinpath("data")
    pictures = [p for p in data.iterdir() if p.name.endswith((".png", ".jpg", ".jpeg"))]
    assert {p.name.rsplit(".", 1)[0] for p in pictures} == set(images.SAMPLES)
    for p in pictures:
        text = data.joinpath(p.name.rsplit(".", 1)[0] + ".txt").read_text("utf-8")
        assert "Licence" in text


def test_unknown_sample_name_lists_the_options():
    with pytest.raises(ValueError, match="chelsea"):
        images.sample("puppy")


def test_load_image_reads_a_file_and_its_bytes(tmp_path):
    path = tmp_path / "red.png"
    Image.new("RGBA", (5, 4), (255, 0, 0, 255)).save(path)
    img = images.load_image(path)
    assert img.mode == "RGB" and img.size == (5, 4)
    assert images.load_image(path.read_bytes()).getpixel((0, 0)) == (255, 0, 0)
    assert images.load_image(str(path)).size == (5, 4)


def test_load_image_errors_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        images.load_image(tmp_path / "missing.png")
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    with pytest.raises(ValueError, match="not an image"):
        images.load_image(text)
    good = tmp_path / "good.png"
    Image.new("RGB", (64, 64), (0, 128, 0)).save(good)
    truncated = tmp_path / "cut.png"
    truncated.write_bytes(good.read_bytes()[:60])
    with pytest.raises(ValueError, match="not an image"):
        images.load_image(truncated)
    with pytest.raises(ValueError, match="folder"):
        images.load_image(tmp_path)
    with pytest.raises(ValueError, match="not an image"):
        images.load_image(b"")
    with pytest.raises(TypeError, match="path"):
        images.load_image(42)


def test_to_tensor_accepts_the_three_formats():
    arr = np.random.default_rng(0).integers(0, 256, (6, 7, 3), dtype=np.uint8)
    a = images.to_tensor(arr)
    b = images.to_tensor(Image.fromarray(arr))
    c = images.to_tensor(a.double())
    assert a.shape == (3, 6, 7) and a.dtype == torch.float32
    assert torch.equal(a, b) and torch.equal(a, c)
    assert float(a.max()) <= 1.0


@pytest.mark.parametrize(
    "bad, error, match",
    [
        (np.zeros((4, 4, 3), np.float32), TypeError, "uint8"),
        (np.zeros((4, 4), np.uint8), ValueError, "H×W×3"),
        (torch.zeros(4, 4, 3), ValueError, "3×H×W"),
        (torch.full((3, 4, 4), 2.0), ValueError, r"\[0, 1\]"),
        (torch.full((3, 4, 4), float("nan")), ValueError, r"\[0, 1\]"),
        (torch.zeros(3, 4, 4, dtype=torch.uint8), TypeError, "ambiguous"),
        ([[0, 1]], TypeError, "PIL"),
    ],
)
def test_to_tensor_rejects_bad_images(bad, error, match):
    with pytest.raises(error, match=match):
        images.to_tensor(bad)
