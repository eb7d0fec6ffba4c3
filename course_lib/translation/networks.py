"""The networks of notebook 6: pix2pix's U-Net generator and (multi-scale) PatchGAN, CycleGAN's
pair of Johnson et al.'s networks with an image history, and the PatchGAN's receptive field."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..hparams import CYCLEGAN, PIX2PIX
from ..networks import TransformerNet, norm_layer, pad_to_multiple


class UNetGenerator(nn.Module):
    """pix2pix's U-Net: ``depth`` 4×4 stride-2 convolutions down (LeakyReLU 0.2; no norm on the
    first), as many 4×4 transposed convolutions up (ReLU; dropout 0.5 in the three innermost),
    each level's encoder output concatenated to the decoder's: the skip connections carry the
    input's detail straight to the output. Channels: ``width`` doubling up to 8·width (pix2pix:
    width 64, depth 8 for 256²). Input and output B×3×H×W in [0, 1], H and W multiples of 2^depth.
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 3, width: int = 64, depth: int = 8,
                 norm: str = "batch", dropout: float = 0.5) -> None:
        super().__init__()
        self.depth = depth
        channels = [min(width * 2 ** i, 8 * width) for i in range(depth)]
        self.down = nn.ModuleList()
        for i, c in enumerate(channels):
            before = in_channels if i == 0 else channels[i - 1]
            layers = [nn.Conv2d(before, c, 4, 2, 1)]
            if 0 < i < depth - 1:
                layers.append(norm_layer(norm, c))
            self.down.append(nn.Sequential(*layers))
        self.up = nn.ModuleList()
        for i in reversed(range(depth)):
            after = out_channels if i == 0 else channels[i - 1]
            inner = channels[i] if i == depth - 1 else 2 * channels[i]
            layers = [nn.ReLU(), nn.ConvTranspose2d(inner, after, 4, 2, 1)]
            if i > 0:
                layers.append(norm_layer(norm, after))
                if i >= depth - 3 and dropout:
                    layers.append(nn.Dropout(dropout))
            self.up.append(nn.Sequential(*layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Sides that are not multiples of 2^depth are reflection-padded, the output cropped back."""
        height, width = x.shape[-2:]
        skips = []
        h = pad_to_multiple(x, 2 ** self.depth) * 2 - 1  # [0, 1] → [-1, 1], as pix2pix's data
        for i, layer in enumerate(self.down):
            h = layer(h if i == 0 else F.leaky_relu(h, 0.2))
            skips.append(h)
        for i, layer in enumerate(self.up):
            h = layer(h if i == 0 else torch.cat([h, skips[-1 - i]], dim=1))
        return ((torch.tanh(h) + 1) / 2)[..., :height, :width]


class PatchDiscriminator(nn.Module):
    """PatchGAN (Isola et al.; after Li & Wand's Markovian GANs): a fully convolutional
    classifier whose every output judges one patch of the input. ``n_layers`` = 3 is pix2pix's
    70×70 PatchGAN: C64-C128-C256-C512 with 4×4 kernels, strides 2-2-2-1, LeakyReLU 0.2, no norm
    on the first layer, then a 1-channel 4×4 conv. Conditional (pix2pix): ``in_channels`` = 6,
    input and output concatenated. ``features=True`` also returns every layer's activations
    (for pix2pixHD's feature matching)."""

    def __init__(self, in_channels: int = 6, n_layers: int = 3, width: int = 64, norm: str = "batch") -> None:
        super().__init__()
        channels = [min(width * 2 ** i, 8 * width) for i in range(n_layers + 1)]
        self.layers = nn.ModuleList([nn.Conv2d(in_channels, channels[0], 4, 2, 1)])
        for i in range(1, n_layers + 1):
            stride = 2 if i < n_layers else 1
            self.layers.append(nn.Sequential(nn.Conv2d(channels[i - 1], channels[i], 4, stride, 1),
                                             norm_layer(norm, channels[i])))
        self.head = nn.Conv2d(channels[-1], 1, 4, 1, 1)

    def forward(self, x: torch.Tensor, features: bool = False):
        h, outputs = x * 2 - 1, []
        for layer in self.layers:
            h = F.leaky_relu(layer(h), 0.2)
            outputs.append(h)
        prediction = self.head(h)
        return (prediction, outputs) if features else prediction


class MultiScaleDiscriminator(nn.Module):
    """pix2pixHD's discriminators: ``scales`` PatchGANs of the same architecture, on the input at
    full, half and quarter resolution (3×3 average pooling, stride 2). Returns one
    (prediction, features) pair per scale."""

    def __init__(self, in_channels: int = 6, scales: int = 3, n_layers: int = 3, width: int = 64,
                 norm: str = "batch") -> None:
        super().__init__()
        self.discriminators = nn.ModuleList(PatchDiscriminator(in_channels, n_layers, width, norm)
                                            for _ in range(scales))

    def forward(self, x: torch.Tensor, features: bool = True) -> list:
        results = []
        for i, discriminator in enumerate(self.discriminators):
            if i:
                x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
            results.append(discriminator(x, features=True))
        return results if features else [p for p, _ in results]


def layer_receptive_field(layers: list[tuple[int, int]]) -> int:
    """The receptive field of a stack of convolutions given as (kernel, stride) pairs, first
    layer first: r = 1 + Σ_l (k_l − 1)·Π_{i<l} s_i (each layer widens the window by k − 1 steps
    of the input spacing its input has). pix2pix's PatchGAN: 70."""
    field, jump = 1, 1
    for kernel, stride in layers:
        field += (kernel - 1) * jump
        jump *= stride
    return field


def patch_layers(n_layers: int = 3) -> list[tuple[int, int]]:
    """(kernel, stride) of :class:`PatchDiscriminator`'s convolutions, the output conv included."""
    return [(4, 2)] * n_layers + [(4, 1), (4, 1)]


def measured_receptive_field(discriminator: nn.Module, channels: int, size: int = 160) -> tuple[int, int]:
    """The input window one output unit of ``discriminator`` depends on, measured: the extent of
    the input gradient of the central output (in eval mode, so that no batch statistics mix
    positions)."""
    was_training = discriminator.training
    x = torch.rand(1, channels, size, size, requires_grad=True)
    out = discriminator.eval()(x)
    h, w = out.shape[-2:]
    out[0, 0, h // 2, w // 2].backward()
    discriminator.train(was_training)
    rows = x.grad.abs().sum(dim=(0, 1, 3)).nonzero()
    cols = x.grad.abs().sum(dim=(0, 1, 2)).nonzero()
    return int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)


class ImagePool(nn.Module):
    """CycleGAN's history of generated images (Shrivastava et al. 2017): the discriminator sees a
    mix of new fakes and up to ``size`` older ones, which steadies training. Its contents are
    buffers, saved with the model, so a resumed run continues exactly."""

    def __init__(self, size: int = 50, shape: tuple[int, int, int] = (3, 64, 64)) -> None:
        super().__init__()
        self.size = size
        self.register_buffer("images", torch.zeros(size, *shape))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    def forward(self, fakes: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return fakes
        out = []
        for fake in fakes.detach():
            n = int(self.count)
            if fake.shape != self.images.shape[1:]:
                out.append(fake)
            elif n < self.size:
                self.images[n] = fake
                self.count += 1
                out.append(fake)
            elif torch.rand(()) < 0.5:
                slot = int(torch.randint(self.size, ()))
                out.append(self.images[slot].clone())
                self.images[slot] = fake
            else:
                out.append(fake)
        return torch.stack(out)


class Pix2Pix(nn.Module):
    """A pix2pix generator and its (multi-scale, for pix2pixHD) PatchGAN; ``model(x)`` translates."""

    def __init__(self, width: int = PIX2PIX.course.width, depth: int = PIX2PIX.course.depth,
                 d_width: int = PIX2PIX.course.d_width, scales: int = PIX2PIX.course.scales, norm: str = "batch") -> None:
        super().__init__()
        self.generator = UNetGenerator(width=width, depth=depth, norm=norm)
        self.discriminator = MultiScaleDiscriminator(6, scales=scales, width=d_width, norm=norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.generator(x)


class CycleGAN(nn.Module):
    """CycleGAN: G: A→B and F: B→A are :class:`course_lib.networks.TransformerNet` (Johnson et
    al.'s network, ``blocks`` residual blocks, instance norm), D_A and D_B 70×70 PatchGANs (one
    image, 3 channels), and the two image histories. ``model(x)`` maps A→B."""

    def __init__(self, width: int = CYCLEGAN.course.width, blocks: int = CYCLEGAN.course.blocks,
                 d_width: int = CYCLEGAN.course.d_width, pool: int = CYCLEGAN.course.pool, crop: int = 64) -> None:
        super().__init__()
        self.g_ab = TransformerNet(width=width, blocks=blocks)
        self.g_ba = TransformerNet(width=width, blocks=blocks)
        self.d_a = PatchDiscriminator(3, width=d_width, norm="instance")
        self.d_b = PatchDiscriminator(3, width=d_width, norm="instance")
        self.pool_a = ImagePool(pool, (3, crop, crop))
        self.pool_b = ImagePool(pool, (3, crop, crop))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.g_ab(x)
