"""Image transformation networks f_W (paper §3.1 and its supplementary material), and SRCNN.

Style transfer: 9×9 conv, two stride-2 convs, five residual blocks of 128 channels, two ×2
upsampling stages, 9×9 conv, scaled tanh. Super-resolution ×f: 9×9 conv, four residual
blocks of 64 channels, log2(f) ×2 upsampling stages, 9×9 conv. Both use reflection padding.

The course's defaults for style transfer follow later practice, each selectable: instance
normalisation (Ulyanov et al. 2016: each image is normalised by its own statistics, so the
output does not depend on the content image's contrast, and training and testing behave the
same) instead of batch normalisation, and nearest-neighbour upsampling followed by a conv
(Odena et al. 2016: no checkerboard artefacts) instead of fractionally-strided convs.
Super-resolution keeps the paper's batch normalisation: instance normalisation removes each
image's mean brightness, which a super-resolution network must reproduce.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .hparams import STYLE, SUPER_RESOLUTION, UPSAMPLINGS
from .images import resize


class InstanceNorm(nn.GroupNorm):
    """Instance normalisation with a learned (γ, β) per channel (Ulyanov et al. 2016, which the
    course uses in place of the paper's batch norm): GroupNorm with one group per channel, the
    same maths and parameters as ``InstanceNorm2d(affine=True)``.

    The networks run channels_last, which makes the convolutions around this layer fast
    (oneDNN/cuDNN; ``InstanceNorm2d`` returns NCHW, and a 3-channel 9×9 conv's backward is then
    ~7× slower on a CPU). Group norm's own backward pass over channels_last tensors is slow on a
    CPU, though (~14× its NCHW time: ``benchmarks/train_step.py``), so on a CPU it normalises a
    contiguous copy and hands the result back in the input's layout."""

    def __init__(self, channels: int, affine: bool = True) -> None:
        super().__init__(channels, channels, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type != "cpu" or x.is_contiguous():
            return super().forward(x)
        return super().forward(x.contiguous()).contiguous(memory_format=torch.channels_last)


NORMS = {"instance": InstanceNorm, "batch": nn.BatchNorm2d,  # the choices: hparams.NORMS
         "none": lambda c: nn.Identity()}  # (no normalisation: the first layer of a PatchGAN)
MIN_INPUT_SIDE = 8  # the 9×9 convs reflect-pad by 4, which needs at least 5 pixels


def conv(in_channels: int, out_channels: int, kernel: int, stride: int = 1) -> nn.Sequential:
    """Reflection padding then convolution, so borders are not darkened by zero padding."""
    return nn.Sequential(nn.ReflectionPad2d(kernel // 2),
                         nn.Conv2d(in_channels, out_channels, kernel, stride))


class NearestUpsampleConv(nn.Module):
    """×2 nearest-neighbour upsampling, then a reflection-padded 3×3 conv, computed at low resolution.

    The output equals ``Sequential(Upsample(2, "nearest"), ReflectionPad2d(1), Conv2d(c_in, c_out, 3))``
    with the same weights: on the upsampled grid a 3×3 window covers only 2×2 distinct input
    pixels, so each of the four output phases is a 2×2 conv of the (replicate-padded) input with
    taps summed from the 3×3 kernel. That is 16 multiply-adds per input pixel instead of 36.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3)

    @staticmethod
    def _phases(k: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Along ``dim`` (size 3), the 2-tap kernels of the even and odd output phases."""
        k0, k1, k2 = k.unbind(dim)
        return torch.stack([k0, k1 + k2], dim), torch.stack([k0 + k1, k2], dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        # Replicate padding by one pixel, written as concatenation: torch.compile (inductor, torch
        # 2.14) fails on F.pad(mode="replicate") over channels_last tensors, whose backward it
        # expects in NCHW strides (AssertionError in replication_pad2d_backward).
        padded = torch.cat([x[..., :1, :], x, x[..., -1:, :]], dim=-2)
        padded = torch.cat([padded[..., :1], padded, padded[..., -1:]], dim=-1)
        outputs = []
        for a, rows in enumerate(self._phases(self.conv.weight, 2)):
            for b, kernel in enumerate(self._phases(rows, 3)):
                outputs.append(nn.functional.conv2d(padded[..., a:a + h + 1, b:b + w + 1], kernel, self.conv.bias))
        stacked = torch.stack(outputs, dim=2)  # B × C × 4 phases × H × W
        return nn.functional.pixel_shuffle(stacked.flatten(1, 2), 2)


def upsample(in_channels: int, out_channels: int, mode: str) -> nn.Module:
    """×2 upsampling: ``"transpose"`` is the paper's stride-½ conv; ``"nearest"`` is nearest-
    neighbour resizing followed by a 3×3 conv (computed by :class:`NearestUpsampleConv`)."""
    if mode == "transpose":
        return nn.ConvTranspose2d(in_channels, out_channels, 3, stride=2, padding=1, output_padding=1)
    if mode == "nearest":
        return NearestUpsampleConv(in_channels, out_channels)
    raise ValueError(f"upsampling must be one of {UPSAMPLINGS}, got {mode!r}")


class Styled(nn.Module):
    """A network of several styles with its style and strength fixed: an ordinary image-to-image
    module (for tiling, export, and code that calls ``model(x)``)."""

    def __init__(self, model: nn.Module, style, strength: float = 1.0) -> None:
        super().__init__()
        self.model, self.style, self.strength = model, style, strength

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x, style=self.style, strength=self.strength)


class ConditionalInstanceNorm(nn.Module):
    """Conditional instance normalisation (Dumoulin, Shlens & Kudlur 2017, eq. 5): instance norm
    with one (γ, β) pair per style; every other weight of the network is shared by the styles.
    :meth:`TransformerNet.forward` sets ``mix`` (B×S weights over the styles, rows summing to 1
    for interpolation) and ``strength`` (1: the style's (γ, β); 0: the identity γ = 1, β = 0,
    i.e. the plain normalised features, not a blend of pixels)."""

    def __init__(self, channels: int, styles: int) -> None:
        super().__init__()
        self.norm = InstanceNorm(channels, affine=False)
        self.gamma = nn.Parameter(torch.ones(styles, channels))
        self.beta = nn.Parameter(torch.zeros(styles, channels))
        self.mix: torch.Tensor | None = None
        self.strength = 1.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gamma, beta = style_parameters(self.gamma, self.beta, self.mix, self.strength)
        return self.norm(x) * gamma[:, :, None, None] + beta[:, :, None, None]


def style_parameters(gamma: torch.Tensor, beta: torch.Tensor, mix: torch.Tensor,
                     strength: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Each image's (γ, β) in a conditional instance norm (Dumoulin et al. 2017: one row of γ and
    β per style; their style interpolation is a convex combination of rows). ``gamma`` and
    ``beta`` hold one row per style (S×C), ``mix`` weighs the styles for each image (B×S, rows
    summing to 1; a one-hot row picks one style), and ``strength`` moves the mixture towards the
    identity γ = 1, β = 0 (0: the normalised features unstyled, 1: the mixture itself). Returns
    B×C each."""
    return 1 + strength * (mix @ gamma - 1), strength * (mix @ beta)


def one_style_to_many(weights: dict[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """A one-style network's ``weights`` made to fit ``model``, a network of several styles with
    the same layout: every style's (γ, β) starts as the one style's instance-norm (γ, β), so each
    style begins as that network and differs from it only where the styles' (γ, β) go apart
    (Dumoulin et al. 2017, §3: the styles live in the normalisation parameters, the convolutions
    are shared). Weights that already fit ``model`` are returned as they are."""
    out = dict(weights)
    for name, module in model.named_modules():
        if isinstance(module, ConditionalInstanceNorm) and f"{name}.weight" in out:
            styles = module.gamma.shape[0]
            out[f"{name}.gamma"] = out.pop(f"{name}.weight").expand(styles, -1).clone()
            out[f"{name}.beta"] = out.pop(f"{name}.bias").expand(styles, -1).clone()
    return out


def norm_layer(norm: str, channels: int, styles: int = 1) -> nn.Module:
    """The normalisation layer ``norm`` over ``channels`` (conditional, for several ``styles``)."""
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {sorted(NORMS)}, got {norm!r}")
    if styles > 1:
        if norm != "instance":
            raise ValueError("several styles in one network need instance norm (conditional instance norm)")
        return ConditionalInstanceNorm(channels, styles)
    return NORMS[norm](channels)


class ResidualBlock(nn.Module):
    """Two 3×3 convs with normalisation and a ReLU between, plus the identity (He et al.; the
    paper's supplementary Fig. 1, with the same padding on both convs so no cropping is needed)."""

    def __init__(self, channels: int, norm: str = "instance", styles: int = 1) -> None:
        super().__init__()
        self.body = nn.Sequential(conv(channels, channels, 3), norm_layer(norm, channels, styles), nn.ReLU(),
                                  conv(channels, channels, 3), norm_layer(norm, channels, styles))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def _block(layer: nn.Module, out_channels: int, norm: str, styles: int = 1) -> list[nn.Module]:
    """A conv (or upsampling) layer, then normalisation and ReLU."""
    return [layer, norm_layer(norm, out_channels, styles), nn.ReLU()]


class ScaledTanh(nn.Module):
    """Output layer: (tanh(x) + 1) / 2 maps to [0, 1] (the paper's scaled tanh maps to [0, 255])."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (torch.tanh(x) + 1) / 2


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Reflection-pad the bottom and right of ``x`` to sides that are multiples of ``multiple``
    (always padding, often by 0: an ``if`` would be frozen into an exported ONNX graph)."""
    h, w = x.shape[-2:]
    return nn.functional.pad(x, (0, -w % multiple, 0, -h % multiple), mode="reflect")


class TransformerNet(nn.Module):
    """The style transfer network. Input and output: B×3×H×W in [0, 1].

    ``width`` scales every layer (32 gives the paper's 32-64-128 channels; 16 is the half-width
    network users ask for on small GPUs). ``blocks``: residual blocks (paper: 5; CycleGAN's
    generator, the same design, uses 6 or 9). ``styles`` > 1: one network for several styles,
    with conditional instance norm (Dumoulin et al. 2017); ``forward(x, style=…)`` picks them.
    """

    def __init__(self, upsampling: str = STYLE.course.upsampling, norm: str = STYLE.course.norm,
                 width: int = STYLE.course.width, blocks: int = 5, styles: int = 1) -> None:
        super().__init__()
        c1, c2, c3 = width, 2 * width, 4 * width
        self.styles = styles
        self.layers = nn.Sequential(
            *_block(conv(3, c1, 9), c1, norm, styles),
            *_block(conv(c1, c2, 3, stride=2), c2, norm, styles),
            *_block(conv(c2, c3, 3, stride=2), c3, norm, styles),
            *[ResidualBlock(c3, norm, styles) for _ in range(blocks)],
            *_block(upsample(c3, c2, upsampling), c2, norm, styles),
            *_block(upsample(c2, c1, upsampling), c1, norm, styles),
            conv(c1, 3, 9), ScaledTanh())

    def style_mix(self, style, batch: int, device: torch.device) -> torch.Tensor:
        """B×S weights over the styles from ``style``: an index, one index per image, or
        weights over the styles (S, or B×S) for interpolation."""
        style = torch.as_tensor(style, device=device)
        if style.is_floating_point():
            mix = style.float().expand(batch, self.styles) if style.dim() == 1 else style.float()
            if mix.shape != (batch, self.styles):
                raise ValueError(f"style weights must have {self.styles} entries (or be B×{self.styles})")
            return mix
        index = style.long().expand(batch) if style.dim() == 0 else style.long()
        if index.shape != (batch,) or int(index.min()) < 0 or int(index.max()) >= self.styles:
            raise ValueError(f"style must be an index in 0..{self.styles - 1} (one, or one per image)")
        return nn.functional.one_hot(index, self.styles).float()

    def forward(self, x: torch.Tensor, style=None, strength: float = 1.0) -> torch.Tensor:
        """Sides that are not multiples of 4 are reflection-padded, and the output cropped back.
        ``style`` and ``strength`` for a network of several styles (see :class:`ConditionalInstanceNorm`)."""
        if self.styles > 1:
            if style is None:
                raise ValueError(f"this network holds {self.styles} styles: pass style=<index or weights>")
            mix = self.style_mix(style, x.shape[0], x.device)
            for module in self.modules():
                if isinstance(module, ConditionalInstanceNorm):
                    module.mix, module.strength = mix, strength
        h, w = x.shape[-2:]
        return self.layers(pad_to_multiple(x, 4))[..., :h, :w]


class SuperResolutionNet(nn.Module):
    """The super-resolution network for factor ``scale`` (a power of two: 4 or 8 in the paper):
    input B×3×h×w in [0, 1], output B×3×(scale·h)×(scale·w).

    ``residual`` (the course's default; ``False`` is the paper's network): the last conv's output
    is added to the bicubic enlargement of the input (a global skip, as in VDSR and later work)
    instead of passing through the scaled tanh, so the network only has to learn the missing
    detail; that conv starts at zero, so the untrained network is bicubic interpolation. On the
    course's CPU budget the paper's network stays below bicubic (benchmarks/RESULTS.md).
    """

    def __init__(self, scale: int = SUPER_RESOLUTION.course.scale, upsampling: str = SUPER_RESOLUTION.course.upsampling,
                 norm: str = SUPER_RESOLUTION.course.norm, channels: int = 64, blocks: int = 4,
                 residual: bool = SUPER_RESOLUTION.course.residual) -> None:
        super().__init__()
        stages = math.log2(scale)
        if scale < 2 or stages != int(stages):
            raise ValueError(f"scale must be a power of two ≥ 2, got {scale}")
        self.scale, self.residual = scale, residual
        self.layers = nn.Sequential(
            *_block(conv(3, channels, 9), channels, norm),
            *[ResidualBlock(channels, norm) for _ in range(blocks)],
            *[m for _ in range(int(stages)) for m in _block(upsample(channels, channels, upsampling),
                                                              channels, norm)],
            conv(channels, 3, 9), *([] if residual else [ScaledTanh()]))
        if residual:
            nn.init.zeros_(self.layers[-1][1].weight)
            nn.init.zeros_(self.layers[-1][1].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.layers(x)
        if self.residual:
            h, w = x.shape[-2:]
            out = out + resize(x, (h * self.scale, w * self.scale), "bicubic")
        return out


class SRCNN(nn.Module):
    """SRCNN (Dong et al. 2014), the super-resolution baseline of the paper's Table 2: the input
    is enlarged ×``scale`` by bicubic interpolation, then 9×9 conv (64) → ReLU → 1×1 conv (32)
    → ReLU → 5×5 conv (3), trained with the per-pixel loss. Same interface as
    :class:`SuperResolutionNet`: B×3×h×w in, B×3×(scale·h)×(scale·w) out."""

    def __init__(self, scale: int = 4, filters: tuple[int, int] = (64, 32)) -> None:
        super().__init__()
        self.scale = scale
        f1, f2 = filters
        self.layers = nn.Sequential(conv(3, f1, 9), nn.ReLU(), nn.Conv2d(f1, f2, 1), nn.ReLU(), conv(f2, 3, 5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        return self.layers(resize(x, (h * self.scale, w * self.scale), "bicubic"))
