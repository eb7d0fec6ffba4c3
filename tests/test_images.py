"""load_image / save_image / show_images on every kind of input a student may hand in."""

import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from course_lib.images import load_image, quantize, resize, save_image, show_images, to_pil, to_uint8


def rgb_array(h=32, w=48):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_rgb_png_round_trip(tmp_path):
    array = rgb_array()
    Image.fromarray(array).save(tmp_path / "a.png")
    image = load_image(tmp_path / "a.png")
    assert image.shape == (1, 3, 32, 48) and image.dtype == torch.float32
    assert 0.0 <= image.min() and image.max() <= 1.0
    assert torch.equal((image[0].permute(1, 2, 0) * 255).round().byte(), torch.from_numpy(array))
    save_image(image, tmp_path / "out" / "b.png")
    assert torch.equal(load_image(tmp_path / "out" / "b.png"), image)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["b.png"]  # no temp file left


def test_resize_longer_side_or_exact(tmp_path):
    Image.fromarray(rgb_array(64, 128)).save(tmp_path / "a.png")
    assert load_image(tmp_path / "a.png", size=32).shape == (1, 3, 16, 32)
    assert load_image(tmp_path / "a.png", size=(20, 30)).shape == (1, 3, 20, 30)


def test_max_size_shrinks_but_never_enlarges(tmp_path):
    Image.fromarray(rgb_array(100, 150)).save(tmp_path / "small.png")
    assert load_image(tmp_path / "small.png", max_size=1024).shape == (1, 3, 100, 150)
    assert load_image(tmp_path / "small.png", max_size=75).shape == (1, 3, 50, 75)


def test_one_resize_names_its_interpolation():
    image = torch.rand(1, 3, 40, 60, generator=torch.Generator().manual_seed(0))
    assert resize(image, 30, "bicubic").shape == (1, 3, 20, 30)
    assert resize(image, 20, "bilinear", which="shorter").shape == (1, 3, 20, 30)
    assert resize(image, (80, 120), "nearest")[0, :, ::2, ::2].equal(image[0])
    assert resize(image, (40, 60), "bicubic") is image  # same size: untouched
    with pytest.raises(ValueError, match="interpolation"):
        resize(image, 10, "lanczos")


def test_eight_bits_are_rounded_not_truncated(tmp_path):
    levels = torch.tensor([0.0, 100.4, 100.6, 100.9, 254.6, 254.9]) / 255
    image = levels.view(1, 1, 1, 6).expand(1, 3, 1, 6)
    assert to_uint8(image)[0, :, 0].tolist() == [0, 100, 101, 101, 255, 255]
    assert np.asarray(to_pil(image))[0, :, 1].tolist() == [0, 100, 101, 101, 255, 255]
    assert (quantize(image) * 255).round()[0, 0, 0].tolist() == [0, 100, 101, 101, 255, 255]
    save_image(torch.full((1, 3, 4, 4), 0.999), tmp_path / "white.png")
    assert np.asarray(Image.open(tmp_path / "white.png")).min() == 255  # truncation gave 254


def test_float_images_outside_unit_range_are_refused(tmp_path):
    Image.fromarray(np.full((20, 20), 0.5, np.float32), mode="F").save(tmp_path / "half.tif")
    assert load_image(tmp_path / "half.tif").mean().item() == pytest.approx(128 / 255)
    Image.fromarray(np.linspace(0, 2, 400, dtype=np.float32).reshape(20, 20), mode="F").save(tmp_path / "hdr.tif")
    with pytest.raises(ValueError, match="hdr.tif.*floating-point.*0 to 2"):
        load_image(tmp_path / "hdr.tif")


def test_grey_becomes_rgb(tmp_path):
    Image.fromarray(np.full((20, 20), 100, np.uint8), "L").save(tmp_path / "g.png")
    image = load_image(tmp_path / "g.png")
    assert image.shape == (1, 3, 20, 20)
    assert torch.allclose(image, torch.full_like(image, 100 / 255))


def test_rgba_composited_on_white(tmp_path):
    array = np.zeros((20, 20, 4), np.uint8)
    array[..., 0] = 255
    array[:10, ..., 3] = 255  # top half opaque red, bottom half fully transparent
    Image.fromarray(array, "RGBA").save(tmp_path / "t.png")
    image = load_image(tmp_path / "t.png")[0]
    assert torch.allclose(image[:, 0, 0], torch.tensor([1.0, 0.0, 0.0]))
    assert torch.allclose(image[:, 15, 0], torch.ones(3))


def test_palette_and_cmyk(tmp_path):
    Image.new("P", (20, 20), 0).save(tmp_path / "p.gif")  # default palette entry 0 is black
    assert load_image(tmp_path / "p.gif").max() == 0
    Image.new("CMYK", (20, 20), (0, 255, 255, 0)).save(tmp_path / "c.jpg")  # pure red in CMYK
    pixel = load_image(tmp_path / "c.jpg")[0, :, 10, 10]
    assert pixel[0] > 0.9 and pixel[1] < 0.1 and pixel[2] < 0.1


def test_16_bit_grey_keeps_its_range(tmp_path):
    array = np.zeros((20, 20), np.uint16)
    array[:, 10:] = 65535
    array[:10, :10] = 32768
    Image.fromarray(array).save(tmp_path / "deep.png")
    image = load_image(tmp_path / "deep.png")[0]
    assert image[0, 15, 15] == 1.0 and image[0, 15, 5] == 0.0
    assert image[0, 5, 5].item() == pytest.approx(0.5, abs=1 / 255)


def test_exif_orientation_applied(tmp_path):
    array = np.zeros((20, 40, 3), np.uint8)  # stored landscape, left half white
    array[:, :20] = 255
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    Image.fromarray(array).save(tmp_path / "phone.jpg", exif=exif, quality=95)
    image = load_image(tmp_path / "phone.jpg")
    assert image.shape == (1, 3, 40, 20)  # displayed portrait
    assert image[0, :, 5, 10].mean() > 0.9 and image[0, :, 35, 10].mean() < 0.1  # white on top


@pytest.mark.parametrize("content, problem", [
    (b"this is a text file, not a picture\n", "not an image"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "not an image|corrupt"),
])
def test_non_images_refused_with_file_name(tmp_path, content, problem):
    path = tmp_path / "notes.png"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=f"notes.png.*({problem})"):
        load_image(path)


def test_truncated_file_refused(tmp_path):
    Image.fromarray(rgb_array(64, 64)).save(tmp_path / "full.jpg", quality=95)
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="cut.jpg.*corrupt or truncated"):
        load_image(tmp_path / "cut.jpg")


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="gone.jpg"):
        load_image(tmp_path / "gone.jpg")


def test_too_small_for_the_network(tmp_path):
    Image.fromarray(rgb_array(8, 100)).save(tmp_path / "tiny.png")
    with pytest.raises(ValueError, match="tiny.png.*100×8.*smaller"):
        load_image(tmp_path / "tiny.png")


def test_pixel_limit(tmp_path):
    Image.fromarray(rgb_array(100, 100)).save(tmp_path / "big.png")
    with pytest.raises(ValueError, match="big.png.*10,000 pixels.*decompression bomb"):
        load_image(tmp_path / "big.png", max_pixels=5000)


def test_decompression_bomb_header(tmp_path):
    """A 40000×40000 PNG header with almost no data: refused before any decoding."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    header = struct.pack(">IIBBBBB", 40000, 40000, 1, 0, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) \
        + chunk(b"IEND", b"")
    (tmp_path / "bomb.png").write_bytes(png)
    with pytest.raises(ValueError, match="bomb.png.*decompression bomb"):
        load_image(tmp_path / "bomb.png")


def test_save_refuses_unknown_suffix_and_batches(tmp_path):
    with pytest.raises(ValueError, match="out.xyz"):
        save_image(torch.rand(1, 3, 8, 8), tmp_path / "out.xyz")
    with pytest.raises(ValueError, match="batch of 2"):
        save_image(torch.rand(2, 3, 8, 8), tmp_path / "out.png")


def test_show_images_grid_with_titles():
    import matplotlib

    matplotlib.use("Agg")
    fig = show_images([torch.rand(1, 3, 8, 8)] * 3, titles=["a", "b", "c"], ncols=2)
    titles = [ax.get_title() for ax in fig.axes]
    assert len(fig.axes) == 4 and titles[:3] == ["a", "b", "c"]
    with pytest.raises(ValueError, match="3 images but 2 titles"):
        show_images([torch.rand(1, 3, 8, 8)] * 3, titles=["a", "b"])
