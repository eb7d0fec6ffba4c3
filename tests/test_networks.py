"""The image transformation networks (paper §3.1, supplementary material)."""

import pytest
import torch
from torch import nn

from course_lib.architectures import build
from course_lib.networks import SRCNN, NearestUpsampleConv, ResidualBlock, SuperResolutionNet, TransformerNet


def test_transformer_shapes_range_and_layers():
    net = TransformerNet()
    x = torch.rand(2, 3, 64, 48)
    y = net(x)
    assert y.shape == x.shape and 0 <= y.min() and y.max() <= 1
    assert sum(isinstance(m, ResidualBlock) for m in net.modules()) == 5
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert convs[0].kernel_size == (9, 9) and convs[-1].kernel_size == (9, 9)
    assert [c.stride for c in convs[1:3]] == [(2, 2), (2, 2)]
    assert sum(isinstance(m, nn.ReflectionPad2d) for m in net.modules()) > 0


def test_any_input_size_is_padded_and_cropped_back():
    assert TransformerNet(width=8)(torch.rand(1, 3, 37, 50)).shape == (1, 3, 37, 50)


@pytest.mark.parametrize("upsampling", ["nearest", "transpose"])
@pytest.mark.parametrize("norm", ["instance", "batch"])
def test_options(upsampling, norm):
    net = TransformerNet(upsampling=upsampling, norm=norm, width=8)
    assert net(torch.rand(2, 3, 32, 32)).shape == (2, 3, 32, 32)
    transposed = any(isinstance(m, nn.ConvTranspose2d) for m in net.modules())
    assert transposed == (upsampling == "transpose")


def test_instance_norm_is_per_image_and_channel():
    net = TransformerNet(width=8).eval()
    x = torch.rand(1, 3, 32, 32)
    other = torch.rand(1, 3, 32, 32) * 0.1
    assert torch.allclose(net(torch.cat([x, other]))[:1], net(x), atol=1e-5)  # batch-independent


def test_nearest_upsample_conv_equals_upsample_then_conv():
    torch.manual_seed(0)
    fast = NearestUpsampleConv(6, 5)
    plain = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.ReflectionPad2d(1), fast.conv)
    x = torch.randn(2, 6, 9, 7, requires_grad=True)
    a, b = fast(x), plain(x)
    assert a.shape == (2, 5, 18, 14) and torch.allclose(a, b, atol=1e-5)
    ga = torch.autograd.grad(a.square().sum(), [x, fast.conv.weight])
    gb = torch.autograd.grad(b.square().sum(), [x, fast.conv.weight])
    for p, q in zip(ga, gb):
        assert torch.allclose(p, q, rtol=1e-4, atol=1e-4)


def test_nearest_upsample_conv_compiles_with_channels_last():
    """torch.compile of the course's training step (train-style --compile, the GPU benchmark's
    ablation) with channels_last: the backward through the upsampling's padding must compile."""
    torch.manual_seed(0)
    layer = NearestUpsampleConv(8, 4)
    x = torch.randn(2, 8, 12, 10).to(memory_format=torch.channels_last).requires_grad_()
    eager = torch.autograd.grad(layer(x).square().sum(), [x, layer.conv.weight])
    compiled = torch.autograd.grad(torch.compile(layer)(x).square().sum(), [x, layer.conv.weight])
    for p, q in zip(compiled, eager):
        assert torch.allclose(p, q, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("scale, stages", [(4, 2), (8, 3)])
def test_super_resolution_net(scale, stages):
    net = SuperResolutionNet(scale)
    assert net(torch.rand(1, 3, 12, 10)).shape == (1, 3, 12 * scale, 10 * scale)
    assert sum(isinstance(m, NearestUpsampleConv) for m in net.modules()) == stages
    assert all(isinstance(b.body[1], nn.BatchNorm2d) and b.body[1].num_features == 64
               for b in net.modules() if isinstance(b, ResidualBlock))  # the paper's batch norm
    assert sum(isinstance(m, ResidualBlock) for m in net.modules()) == 4
    with pytest.raises(ValueError, match="power of two"):
        SuperResolutionNet(3)


def test_instance_norm_cannot_keep_brightness():
    """Why the SR network does not use instance norm: without the global skip, its output
    ignores the input's mean."""
    net = SuperResolutionNet(4, norm="instance", residual=False).eval()
    texture = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(1)) * 0.1
    with torch.no_grad():
        assert abs((net(texture + 0.8).mean() - net(texture + 0.1).mean()).item()) < 0.01


def test_srcnn_is_dong_et_al():
    net = SRCNN(4)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.kernel_size[0], c.out_channels) for c in convs] == [(9, 64), (1, 32), (5, 3)]
    assert net(torch.rand(2, 3, 10, 12)).shape == (2, 3, 40, 48)


def test_build_records_config():
    net = build("style", width=8, upsampling="transpose")
    assert net.config == {"kind": "style", "width": 8, "upsampling": "transpose", "norm": "instance", "blocks": 5,
                          "styles": 1}
    assert build("style").config == build("style", norm="instance").config
    with pytest.raises(ValueError, match="kind"):
        build("gan")
