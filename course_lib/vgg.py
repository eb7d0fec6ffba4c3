"""The loss network φ: a frozen VGG that returns named activations (paper §3).

Johnson et al. use VGG-16 pretrained on ImageNet as a fixed loss network: the feature
reconstruction loss compares activations at relu2_2 (:data:`CONTENT_LAYERS`), the style loss
compares Gram matrices at relu1_2, relu2_2, relu3_3 and relu4_3 (:data:`STYLE_LAYERS`).

The ImageNet weights are torchvision's ``VGG16_Weights.IMAGENET1K_V1``, read from torchvision's
cache folder (``$TORCH_HOME/hub/checkpoints``) or downloaded there. The file is checked against
the SHA-256 prefix in its name *before* it is read, and read with ``weights_only=True``: a file
planted in the cache cannot run code.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from typing import Iterable

import torch
from torch import nn
from torchvision import models

from .config import say

CONTENT_LAYERS = ("relu2_2",)  # paper §4.1 (the authors' Lua code uses relu3_3)
STYLE_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")  # paper §4.1
# Convolutions per block; every conv is followed by a ReLU, every block by a max-pool.
_BLOCKS = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}
_TORCHVISION = {
    "vgg16": (models.vgg16, models.VGG16_Weights.IMAGENET1K_V1),
    "vgg19": (models.vgg19, models.VGG19_Weights.IMAGENET1K_V1),
}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
RANDOM_SEED = 0


class RandomWeightsWarning(UserWarning):
    """The loss network has random weights: its 'features' are not perceptual."""


class WeightsUnavailable(RuntimeError):
    """The ImageNet weights are neither in torchvision's cache nor downloadable now."""


def layer_names(arch: str = "vgg16") -> list[str]:
    """Names of ``torchvision.models.<arch>().features`` in order: conv1_1, relu1_1, ..., pool5."""
    if arch not in _BLOCKS:
        raise ValueError(f"arch must be one of {sorted(_BLOCKS)}, got {arch!r}")
    names = []
    for block, convs in enumerate(_BLOCKS[arch], start=1):
        for i in range(1, convs + 1):
            names += [f"conv{block}_{i}", f"relu{block}_{i}"]
        names.append(f"pool{block}")
    return names


def _random_vgg(arch: str) -> nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(RANDOM_SEED)
        model = _TORCHVISION[arch][0](weights=None)
        for module in model.features:
            if isinstance(module, nn.Conv2d):
                # torchvision's default (fan-out) init shrinks activations layer by layer; fan-in
                # keeps them at a trained network's scale, so loss weights mean roughly the same.
                nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
                nn.init.zeros_(module.bias)
    say(f"\n{'!' * 78}\n!! {arch.upper()} WITH RANDOM WEIGHTS (seed {RANDOM_SEED}): its features are NOT "
        f"perceptual.\n!! Losses and images computed with it only show the mechanics.\n"
        f"!! For the real thing: COURSE_VGG_WEIGHTS=imagenet (needs the torchvision\n!! download "
        f"or its cached file) or COURSE_VGG_WEIGHTS=/path/to/{arch}.pth.\n{'!' * 78}")
    # warn_explicit: no source line is echoed under the banner
    warnings.warn_explicit(f"{arch} loss network has random weights (seed {RANDOM_SEED}); features are "
                           f"not perceptual", RandomWeightsWarning, filename="course_lib.vgg", lineno=0,
                           module="course_lib.vgg")
    return model


def _weights_url(arch: str) -> str:
    return _TORCHVISION[arch][1].url


def imagenet_file(arch: str = "vgg16") -> Path:
    """Where torchvision caches the ImageNet weights of ``arch`` (``$TORCH_HOME/hub/checkpoints``)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(_weights_url(arch)).name


def _load_state(path: Path, arch: str) -> nn.Module:
    """A torchvision ``arch`` with the state dict in ``path``, read without unpickling code."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise ValueError(f"{path}: not a loadable torch state dict ({str(err).splitlines()[0]})") from None
    model = _TORCHVISION[arch][0](weights=None)
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as err:
        raise ValueError(f"{path}: not a torchvision {arch} state dict "
                         f"({str(err).splitlines()[0]})") from None
    return model


def _imagenet_vgg(arch: str) -> nn.Module:
    path, url = imagenet_file(arch), _weights_url(arch)
    prefix = re.search(torch.hub.HASH_REGEX, path.name).group(1)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:  # torch.hub checks the hash prefix and deletes a mismatching download
            torch.hub.download_url_to_file(url, str(path), hash_prefix=prefix)
        except Exception as err:
            raise WeightsUnavailable(
                f"torchvision's ImageNet {arch} weights are not in {path} and could not be downloaded "
                f"from {url} ({str(err).splitlines()[0] if str(err) else type(err).__name__}). Fix: go "
                f"online once, or copy that file to {path} (TORCH_HOME moves the folder), or pass "
                f"weights='/path/to/{arch}.pth' / set COURSE_VGG_WEIGHTS to a torchvision {arch} "
                f"state dict; weights=None gives random weights (mechanics only).") from None
    # check_hash against the name's prefix before anything is read from the file
    from .downloads import sha256_of

    digest = sha256_of(path)
    if not digest.startswith(prefix):
        raise ValueError(f"{path}: its SHA-256 ({digest[:16]}…) does not start with {prefix}, the hash "
                         f"in its name: it is not torchvision's file (corrupt or replaced), so it was "
                         f"not read. Delete it and download it again")
    return _load_state(path, arch)


def load_vgg(arch: str = "vgg16", weights: str | os.PathLike | None = "imagenet") -> tuple[nn.Module, str]:
    """A torchvision VGG and a description of its weights.

    ``weights``: ``"imagenet"`` (torchvision's IMAGENET1K_V1, hash-checked from its cache or
    downloaded), a path to a torchvision-format state dict, ``None`` or ``"random"`` (seeded
    random init, with a loud warning), or ``"auto"`` (ImageNet if it can be had, otherwise
    random, said loudly). A cached file that fails its hash check is an error even with
    ``"auto"``: it is never silently replaced by random weights.
    """
    if arch not in _TORCHVISION:
        raise ValueError(f"arch must be one of {sorted(_TORCHVISION)}, got {arch!r}")
    if weights is None or weights == "random":
        return _random_vgg(arch), f"random (seed {RANDOM_SEED})"
    if weights == "imagenet":
        return _imagenet_vgg(arch), "imagenet"
    if weights == "auto":
        try:
            return _imagenet_vgg(arch), "imagenet"
        except WeightsUnavailable as err:
            say(f"ImageNet weights unavailable: {err}")
            return _random_vgg(arch), f"random (seed {RANDOM_SEED})"
    path = Path(weights).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"{path}: VGG weights file not found (weights are 'imagenet', "
                                f"'random', 'auto' or a state dict file)")
    return _load_state(path, arch), str(weights)


class VGGFeatures(nn.Module):
    """Frozen VGG returning ``{layer name: activation}`` for images in [0, 1].

    The ImageNet normalisation is applied inside. Only the layers up to the deepest one
    requested are kept, so relu2_2 alone costs 9 of VGG-16's 31 feature layers.
    ``weights`` as in :func:`load_vgg`; notebooks pass :func:`course_lib.config.vgg_weights`.

    >>> VGGFeatures(("relu4_3",), weights=None)(torch.rand(1, 3, 64, 64))["relu4_3"].shape
    torch.Size([1, 512, 8, 8])
    """

    def __init__(self, layers: Iterable[str] = STYLE_LAYERS, arch: str = "vgg16",
                 weights: str | os.PathLike | None = "imagenet") -> None:
        super().__init__()
        self.layers = tuple(layers)
        names = layer_names(arch)
        unknown = [name for name in self.layers if name not in names]
        if unknown or not self.layers:
            raise ValueError(f"unknown {arch} layer(s) {unknown or '(none given)'}; "
                             f"choose from {', '.join(names)}")
        model, self.weights_source = load_vgg(arch, weights)
        last = max(names.index(name) for name in self.layers)
        self.features = model.features[: last + 1]
        for name, module in zip(names, self.features):
            if isinstance(module, nn.ReLU):  # in place saves memory, unless it would overwrite a
                module.inplace = name.replace("relu", "conv") not in self.layers  # returned conv output
        self._names = names[: last + 1]
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> "VGGFeatures":
        """Always stays in eval mode: the loss network is fixed (paper §3)."""
        return super().train(False)

    def forward(self, images: torch.Tensor, layers: Iterable[str] | None = None) -> dict[str, torch.Tensor]:
        """Activations of ``layers`` (default: all of this module's layers); the pass stops at
        the deepest one asked for, so content targets at relu2_2 cost a third of a full pass."""
        wanted = set(self.layers if layers is None else layers)
        if not wanted <= set(self.layers):
            raise ValueError(f"layers {sorted(wanted - set(self.layers))} not among {self.layers}")
        x = (images - self.mean) / self.std
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
