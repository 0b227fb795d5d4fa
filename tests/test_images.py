"""The one picture loader on awkward files."""

import io

import numpy as np
import pytest
from PIL import Image

from senet_viz.errors import ImageError
from senet_viz.images import load_image


def _bytes(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def test_rgba_is_composited_on_white():
    img = Image.new("RGBA", (4, 3), (255, 0, 0, 0))
    out = load_image(_bytes(img, "PNG"))
    assert out.mode == "RGB" and out.size == (4, 3) and out.getpixel((0, 0)) == (255, 255, 255)


def test_palette_with_transparency_and_la():
    p = Image.new("P", (5, 5), 0)
    p.putpalette([10, 20, 30] + [0, 0, 0] * 255)
    assert load_image(_bytes(p, "PNG")).getpixel((2, 2)) == (10, 20, 30)
    p.info["transparency"] = 0
    assert load_image(_bytes(p, "PNG", transparency=0)).getpixel((2, 2)) == (255, 255, 255)
    la = Image.new("LA", (3, 3), (100, 255))
    assert load_image(_bytes(la, "PNG")).getpixel((0, 0)) == (100, 100, 100)


def test_sixteen_bit_grey_is_scaled_to_eight_bits():
    a = np.array([[0, 65535], [32768, 1000]], dtype=np.uint16)
    out = np.asarray(load_image(_bytes(Image.fromarray(a), "PNG")))
    assert out.shape == (2, 2, 3) and out[0, 0, 0] == 0 and out[0, 1, 0] == 255 and 120 < out[1, 0, 0] < 135


def test_cmyk_jpeg():
    out = load_image(_bytes(Image.new("CMYK", (8, 8), (0, 255, 255, 0)), "JPEG"))
    r, g, b = out.getpixel((4, 4))
    assert out.mode == "RGB" and r > 200 and g < 60 and b < 60


def test_exif_orientation_is_applied():
    img = Image.new("RGB", (40, 20), (0, 0, 0))
    img.paste((255, 255, 255), (0, 0, 10, 20))  # white strip on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    out = load_image(_bytes(img, "JPEG", exif=exif.tobytes()))
    assert out.size == (20, 40)
    assert sum(out.getpixel((10, 2))) > 600 and sum(out.getpixel((10, 37))) < 100  # the strip is now on top


def test_animation_gives_its_first_frame():
    frames = [Image.new("RGB", (6, 6), c) for c in [(255, 0, 0), (0, 0, 255)]]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    r, g, b = load_image(buf.getvalue()).getpixel((3, 3))
    assert r > 200 and b < 50


def test_one_pixel_and_paths(tmp_path):
    path = tmp_path / "one.png"
    Image.new("RGB", (1, 1), (1, 2, 3)).save(path)
    assert load_image(path).getpixel((0, 0)) == (1, 2, 3)
    assert load_image(str(path)).size == (1, 1)
    with open(path, "rb") as f:
        assert load_image(f).size == (1, 1)


@pytest.mark.parametrize("data,match", [
    (b"", "empty"),
    (b"%PDF-1.4 not a picture at all", "not a picture"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 30, "not a|truncated|corrupt|readable"),
])
def test_non_pictures_are_one_clear_error(data, match):
    with pytest.raises(ImageError, match=match):
        load_image(data)


def test_truncated_jpeg():
    data = _bytes(Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)), "JPEG")
    with pytest.raises(ImageError, match="truncated or corrupt"):
        load_image(data[: len(data) // 2])


def test_oversized_files_and_pixel_bombs(tmp_path):
    with pytest.raises(ImageError, match="larger than"):
        load_image(b"x" * 2048, max_bytes=1024)
    big = tmp_path / "big.png"
    big.write_bytes(b"x" * 4096)
    with pytest.raises(ImageError, match="larger than"):
        load_image(big, max_bytes=1024)
    # a small file that claims many pixels is refused from its header, before decoding
    bomb = _bytes(Image.new("L", (6000, 6000), 0), "PNG")
    assert len(bomb) < 100_000
    with pytest.raises(ImageError, match="over the limit"):
        load_image(bomb, max_pixels=10_000_000)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ImageError, match="no such file"):
        load_image(tmp_path / "nope.jpg")
    with pytest.raises(ImageError, match="folder"):
        load_image(tmp_path)
