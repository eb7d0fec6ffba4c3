"""Run-time settings of the course, read from environment variables.

Three settings drive every notebook and script:

``COURSE_DEVICE``
    ``cuda``, ``mps`` or ``cpu``. Default: the first one available in that order.
``COURSE_MODE``
    ``fast`` (small images, few steps: for CPUs, tests and CI) or ``full`` (the
    paper's sizes and schedules). Default: ``full`` on a GPU, ``fast`` on a CPU.
``COURSE_DATA``
    A folder laid out like ``styles/ content/ train/ sr/<set>/``. Default: none,
    in which case :mod:`course_lib.data` downloads or falls back to sample images.

``COURSE_VGG_WEIGHTS`` picks the loss network's weights (see :mod:`course_lib.vgg`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

MODES = ("fast", "full")


def device() -> torch.device:
    """The device to compute on: ``COURSE_DEVICE`` if set, else cuda, then mps, then cpu."""
    name = os.environ.get("COURSE_DEVICE", "").strip().lower()
    if name:
        if name.startswith("cuda") and not torch.cuda.is_available():
            raise RuntimeError(f"COURSE_DEVICE={name} but torch sees no CUDA device")
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def mode() -> str:
    """``COURSE_MODE`` if set (``fast`` or ``full``); otherwise ``full`` on a GPU, ``fast`` on CPU."""
    value = os.environ.get("COURSE_MODE", "").strip().lower()
    if not value:
        return "fast" if device().type == "cpu" else "full"
    if value not in MODES:
        raise ValueError(f"COURSE_MODE must be one of {MODES}, got {value!r}")
    return value


def data_dir() -> Path | None:
    """The folder named by ``COURSE_DATA``, or None when unset. A missing folder is an error."""
    value = os.environ.get("COURSE_DATA", "").strip()
    if not value:
        return None
    path = Path(value).expanduser().resolve()
    if not path.is_dir():
        raise FileNotFoundError(f"COURSE_DATA={value} is not a folder")
    return path


def cache_dir() -> Path:
    """Where downloads go: ``COURSE_CACHE`` or ``~/.cache/course_lib``."""
    value = os.environ.get("COURSE_CACHE", "").strip()
    return Path(value).expanduser() if value else Path.home() / ".cache" / "course_lib"


def vgg_weights() -> str:
    """``COURSE_VGG_WEIGHTS``: ``imagenet``, ``random``, a file path, or ``auto`` (the default:
    ImageNet when it can be had, otherwise a loudly announced random init)."""
    return os.environ.get("COURSE_VGG_WEIGHTS", "auto").strip() or "auto"


@dataclass(frozen=True)
class Preset:
    """Sizes and iteration counts that a notebook uses in one mode."""

    image_size: int  # content / training image side (paper: 256)
    style_size: int  # style image side
    gatys_steps: int  # optimisation steps of Gatys et al. (paper baseline: 500)
    train_steps: int  # feed-forward training iterations (paper: 40k)
    batch_size: int  # training batch (paper: 4)
    sr_crop: int  # HR crop side for super-resolution (paper: 288)
    sr_steps: int  # super-resolution training iterations (paper: 200k)


PRESETS: dict[str, Preset] = {
    "fast": Preset(image_size=96, style_size=128, gatys_steps=30, train_steps=20,
                   batch_size=2, sr_crop=96, sr_steps=20),
    "full": Preset(image_size=256, style_size=512, gatys_steps=500, train_steps=40_000,
                   batch_size=4, sr_crop=288, sr_steps=200_000),
}


def preset(name: str | None = None) -> Preset:
    """The :class:`Preset` of ``name`` (default: the current :func:`mode`)."""
    return PRESETS[name or mode()]


def describe() -> str:
    """One line naming the device, the mode and the data source, for the top of a notebook."""
    folder = data_dir()
    source = f"COURSE_DATA={folder}" if folder else "downloads / packaged samples"
    return f"device={device()}  mode={mode()}  data={source}"
