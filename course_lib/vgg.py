"""The loss network φ: a frozen VGG that returns named activations (paper §3).

Johnson et al. use VGG-16 pretrained on ImageNet as a fixed loss network: the feature
reconstruction loss compares activations at relu2_2 (:data:`CONTENT_LAYERS`), the style loss
compares Gram matrices at relu1_2, relu2_2, relu3_3 and relu4_3 (:data:`STYLE_LAYERS`). Which
weights it has (the paper's Caffe VGG-16, torchvision's, random) and where they come from is
:mod:`course_lib.vgg_weights`.
"""

from __future__ import annotations

import os
from typing import Iterable

import torch
from torch import nn

from . import caffe_vgg
from .vgg_weights import layer_names, load_vgg

CONTENT_LAYERS = ("relu2_2",)  # paper §4.1 (the authors' Lua code uses relu3_3)
STYLE_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")  # paper §4.1
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class VGGFeatures(nn.Module):
    """Frozen VGG returning ``{layer name: activation}`` for images in [0, 1].

    The preprocessing its weights were trained with is applied inside (Caffe: RGB → BGR, ×255,
    minus the mean pixel; torchvision: mean/std), never folded into conv1_1, which would be wrong
    at the zero-padded borders. Only the layers up to the deepest one requested are kept, so
    relu2_2 alone costs 9 of VGG-16's 31 feature layers. ``weights`` as in :func:`load_vgg`;
    notebooks pass :func:`course_lib.config.vgg_weights`.

    >>> VGGFeatures(("relu4_3",), weights=None)(torch.rand(1, 3, 64, 64))["relu4_3"].shape
    torch.Size([1, 512, 8, 8])
    """

    def __init__(self, layers: Iterable[str] = STYLE_LAYERS, arch: str = "vgg16",
                 weights: str | os.PathLike | None = "auto") -> None:
        super().__init__()
        self.layers = tuple(layers)
        names = layer_names(arch)
        unknown = [name for name in self.layers if name not in names]
        if unknown or not self.layers:
            raise ValueError(f"unknown {arch} layer(s) {unknown or '(none given)'}; "
                             f"choose from {', '.join(names)}")
        model, self.weights_source, self.preprocessing = load_vgg(arch, weights)
        last = max(names.index(name) for name in self.layers)
        self.features = model[: last + 1]
        for name, module in zip(names, self.features):
            if isinstance(module, nn.ReLU):  # in place saves memory, unless it would overwrite a
                module.inplace = name.replace("relu", "conv") not in self.layers  # returned conv output
        self._names = names[: last + 1]
        caffe = self.preprocessing == "caffe"
        mean = tuple(m / 255 for m in reversed(caffe_vgg.MEAN_BGR)) if caffe else IMAGENET_MEAN
        std = (1 / 255,) * 3 if caffe else IMAGENET_STD
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1))  # RGB order, images in [0, 1]
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()

    @property
    def identity(self) -> str:
        """What the weights are, independent of where they were read from (for a run's fingerprint)."""
        if self.preprocessing == "caffe":
            return f"caffe sha256 {caffe_vgg.SHA256}"
        return self.weights_source.split(":")[0]

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """The network's input for images in [0, 1]: Caffe's ``BGR·255 − mean`` or ``(x − mean) / std``."""
        x = (images - self.mean) / self.std
        return x.flip(1) if self.preprocessing == "caffe" else x

    def train(self, mode: bool = True) -> "VGGFeatures":
        """Always stays in eval mode: the loss network is fixed (paper §3)."""
        return super().train(False)

    def forward(self, images: torch.Tensor, layers: Iterable[str] | None = None) -> dict[str, torch.Tensor]:
        """Activations of ``layers`` (default: all of this module's layers); the pass stops at
        the deepest one asked for, so content targets at relu2_2 cost a third of a full pass."""
        wanted = set(self.layers if layers is None else layers)
        if not wanted <= set(self.layers):
            raise ValueError(f"layers {sorted(wanted - set(self.layers))} not among {self.layers}")
        if images.device.type == "cpu" and not images.requires_grad and images.numel() \
                and float(images.amax()) > 2:
            # a photo or target given in 0-255 (an optimised image or a network's output, which may
            # overshoot while it learns, is not checked); on the CPU the check costs nothing next to
            # the network, on a GPU it would cost a sync
            raise ValueError(f"VGGFeatures expects images in [0, 1] (it applies its own preprocessing), got values "
                             f"up to {float(images.detach().amax()):.4g}: divide 0-255 images by 255")
        x = self.normalize(images)
        out = {}
        for name, module in zip(self._names, self.features):
            x = module(x)
            if name in wanted:
                out[name] = x
                if len(out) == len(wanted):
                    break
        return out

    def extra_repr(self) -> str:
        return f"layers={self.layers}, weights={self.weights_source}"


def loss_network(layers: Iterable[str] = STYLE_LAYERS, weights: str | os.PathLike | None = None,
                 device: torch.device | str | None = None) -> VGGFeatures:
    """The loss network of the course's settings: :class:`VGGFeatures` of ``layers`` with
    ``weights`` (default: ``COURSE_VGG_WEIGHTS``, see :func:`course_lib.config.vgg_weights`), on
    ``device`` (default: the course's device)."""
    from . import config

    return VGGFeatures(layers, weights=config.vgg_weights() if weights is None else weights).to(
        config.device() if device is None else device)
