"""The course's two transformation networks in plain PyTorch layers, as the paper's
supplementary tables write them: the reference answers of notebook 4's and notebook 5's network
exercises. :mod:`course_lib.networks` computes the same functions with the same weights, faster:
``InstanceNorm`` (group norm with one group per channel) keeps the channels_last layout, and
:class:`~course_lib.networks.NearestUpsampleConv` convolves at the low resolution."""

from __future__ import annotations

import math

from torch import nn

from .hparams import STYLE
from .networks import ResidualBlock, ScaledTanh, conv


def _block(layer: nn.Module, norm: nn.Module) -> list[nn.Module]:
    """A conv (or upsampling) layer, then its normalisation and a ReLU."""
    return [layer, norm, nn.ReLU()]


def _up(c_in: int, c_out: int) -> nn.Sequential:
    """×2 nearest-neighbour upsampling, then a reflection-padded 3×3 conv."""
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), conv(c_in, c_out, 3))


def plain_layers(width: int = STYLE.course.width, blocks: int = 5) -> nn.Sequential:
    """The style network (§3.1, supplementary Table 1): c9s1-32, d64, d128, R128×5, u64, u32,
    c9s1-3, then the scaled tanh; each conv but the last followed by instance norm and a ReLU,
    every conv reflection-padded."""
    c1, c2, c3 = width, 2 * width, 4 * width

    def norm(c: int) -> nn.Module:
        return nn.InstanceNorm2d(c, affine=True)
    return nn.Sequential(*_block(conv(3, c1, 9), norm(c1)), *_block(conv(c1, c2, 3, stride=2), norm(c2)),
                         *_block(conv(c2, c3, 3, stride=2), norm(c3)), *[ResidualBlock(c3) for _ in range(blocks)],
                         *_block(_up(c3, c2), norm(c2)), *_block(_up(c2, c1), norm(c1)), conv(c1, 3, 9), ScaledTanh())


def plain_sr_layers(scale: int = 4, channels: int = 64, blocks: int = 4) -> nn.Sequential:
    """The course's super-resolution network ×``scale`` (§4.2, supplementary Table 2, with
    nearest + conv upsampling): c9s1-64, R64×``blocks``, log2(scale) upsampling stages u64, then
    c9s1-3; batch norm and a ReLU after each conv but the last. The last conv starts at zero:
    its output is added to the bicubic enlargement (:class:`~course_lib.networks.SuperResolutionNet`),
    so the untrained network is bicubic interpolation."""
    def norm(c: int) -> nn.Module:
        return nn.BatchNorm2d(c)
    last = conv(channels, 3, 9)
    nn.init.zeros_(last[1].weight)
    nn.init.zeros_(last[1].bias)
    return nn.Sequential(*_block(conv(3, channels, 9), norm(channels)),
                         *[ResidualBlock(channels, "batch") for _ in range(blocks)],
                         *[m for _ in range(int(math.log2(scale))) for m in _block(_up(channels, channels), norm(channels))],
                         last)
