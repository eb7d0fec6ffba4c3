"""Large images in tiles: the same result as the whole image, without seams."""

import pytest
import torch

from course_lib.architectures import build
from course_lib.networks import TransformerNet
from course_lib.tiling import auto_tile, estimated_bytes, tiled


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return TransformerNet(width=8).eval()


def smooth_image(h, w):
    g = torch.Generator().manual_seed(3)
    coarse = torch.rand(1, 3, h // 16, w // 16, generator=g)
    return torch.nn.functional.interpolate(coarse, size=(h, w), mode="bicubic").clamp(0, 1)


@pytest.mark.parametrize("norm", ["instance", "batch"])
def test_tiled_agrees_with_whole_image(norm):
    """With the instance-norm statistics of the whole image, tiles reproduce the whole-image
    result to float rounding (tolerance 1e-4, a fortieth of one 8-bit level), borders included."""
    torch.manual_seed(0)
    model = TransformerNet(width=8, norm=norm).eval()
    image = smooth_image(210, 622)
    with torch.no_grad():
        whole = model(image)
    pieces = tiled(model, image, tile=320, overlap=144)
    assert pieces.shape == whole.shape
    assert (pieces - whole).abs().max().item() < 1e-4


def test_no_seam_where_tiles_meet(net):
    """Along the tile boundaries the output is as smooth as elsewhere: the largest step between
    neighbouring columns near a boundary is no larger than the largest step anywhere."""
    image = smooth_image(128, 700)
    out = tiled(net, image, tile=320, overlap=144)
    steps = (out[..., :, 1:] - out[..., :, :-1]).abs().amax(dim=(0, 1, 2))
    with torch.no_grad():
        reference = (net(image)[..., :, 1:] - net(image)[..., :, :-1]).abs().amax(dim=(0, 1, 2))
    assert steps.max() <= reference.max() + 1 / 255


def test_overlap_must_fit_the_tile(net):
    with pytest.raises(ValueError, match="twice the overlap"):
        tiled(net, smooth_image(64, 64), tile=64, overlap=32)


def test_tiling_starts_when_memory_would_not_suffice(monkeypatch):
    model = build("style")
    import course_lib.tiling as tiling

    monkeypatch.setattr(tiling, "available_bytes", lambda device: 8 << 30)
    assert auto_tile(model, 1024, 1024, torch.device("cpu")) is None
    assert estimated_bytes(model, 9000, 9000) > 8 << 30
    tile = auto_tile(model, 9000, 9000, torch.device("cpu"))
    assert tile is not None and estimated_bytes(model, tile, tile) <= (8 << 30) // 4
