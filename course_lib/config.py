"""Run-time settings of the course, read from environment variables.

``COURSE_DEVICE``
    ``cuda`` (or ``cuda:N``), ``mps`` or ``cpu``. Default: the first one available in that order.
``COURSE_MODE``
    ``fast`` (small images, few steps: for CPUs, tests and CI), ``full`` (the paper's sizes,
    schedules that fit about 20 minutes per notebook on a Colab-class GPU) or ``paper`` (the
    paper's schedules: hours). Default: ``full`` on a GPU, ``fast`` on a CPU.
``COURSE_DATA``
    A folder laid out like ``styles/ content/ train/ sr/<set>/``. Default: none,
    in which case :mod:`course_lib.data` downloads or falls back to sample images.
``COURSE_CACHE``
    Where downloads, fallback images and training runs go. Default: ``~/.cache/course_lib``.
``COURSE_VGG_WEIGHTS``
    The loss network's weights: ``caffe`` (the paper's VGG-16), ``imagenet`` (torchvision's),
    ``random``, ``auto`` (the default: the first of these that can be had) or a file (see
    :mod:`course_lib.vgg`).
``COURSE_PROGRESS``
    ``auto`` (tqdm's notebook or terminal bar) or ``text`` (a plain text bar, whose last state
    is what a stored notebook output shows).
``COURSE_PRESET``
    Overrides of the mode's sizes and step counts, e.g. ``train_steps=3000,image_size=128``:
    for instructors who store outputs from a longer run than ``fast`` on a CPU.

An invalid value raises :class:`SettingError`, which names the variable and the valid values.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import torch

MODES = ("fast", "full", "paper")
DEVICES = ("cuda", "cuda:N", "mps", "cpu")
VGG_WEIGHTS = ("auto", "caffe", "imagenet", "random")


class SettingError(ValueError):
    """An environment variable of the course holds a value it cannot use."""


def in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel whose output goes to a notebook."""
    return "ipykernel" in sys.modules and type(sys.stdout).__module__.startswith("ipykernel")


def say(message: str) -> None:
    """A status message (resuming, fallbacks, warnings): on stderr, so that a command's stdout
    carries only its results; in a notebook on stdout, where stderr is a red box that students
    read as an error."""
    print(message, file=sys.stdout if in_notebook() else sys.stderr, flush=True)


def short_path(path: str | os.PathLike) -> str:
    """``path`` with the home folder written as ``~`` (messages need not spell out a user's home)."""
    text, home = str(path), str(Path.home())
    return "~" + text[len(home):] if text == home or text.startswith(home + os.sep) else text


def parse_device(name: str, variable: str = "COURSE_DEVICE") -> torch.device:
    """``name`` as a usable device, or :class:`SettingError` naming ``variable`` and the choices."""
    name = name.strip().lower()
    try:
        device = torch.device(name)
    except RuntimeError:
        raise SettingError(f"{variable}={name!r} is not a device; use one of {', '.join(DEVICES)}") from None
    available = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available()}
    if device.type not in available:
        raise SettingError(f"{variable}={name!r} is not supported; use one of {', '.join(DEVICES)}")
    if not available[device.type]:
        raise SettingError(f"{variable}={name} but torch sees no {device.type.upper()} device here; "
                           f"use {variable}=cpu or unset it")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise SettingError(f"{variable}={name}: only {torch.cuda.device_count()} CUDA device(s)")
    return device


def device() -> torch.device:
    """The device to compute on: ``COURSE_DEVICE`` if set, else cuda, then mps, then cpu."""
    name = os.environ.get("COURSE_DEVICE", "").strip()
    if name:
        return parse_device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def device_of(module: torch.nn.Module) -> torch.device:
    """The device a network's weights (or, for a frozen loss network, its buffers) are on."""
    tensor: torch.Tensor | None = next(module.parameters(), None)
    if tensor is None:
        tensor = next(module.buffers(), None)
    return tensor.device if tensor is not None else torch.device("cpu")


def mode() -> str:
    """``COURSE_MODE`` if set (``fast`` or ``full``); otherwise ``full`` on a GPU, ``fast`` on CPU."""
    value = os.environ.get("COURSE_MODE", "").strip().lower()
    if not value:
        return "fast" if device().type == "cpu" else "full"
    if value not in MODES:
        raise SettingError(f"COURSE_MODE={value!r}; use one of {', '.join(MODES)}")
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
    """``COURSE_VGG_WEIGHTS``: ``caffe``, ``imagenet``, ``random``, ``auto`` (the default: the
    paper's network, else torchvision's, else a random init said plainly), or a weights file."""
    value = os.environ.get("COURSE_VGG_WEIGHTS", "").strip() or "auto"
    if value not in VGG_WEIGHTS and not Path(value).expanduser().is_file():
        raise SettingError(f"COURSE_VGG_WEIGHTS={value!r} is neither one of {', '.join(VGG_WEIGHTS)} "
                           f"nor an existing weights file")
    return value


PROGRESS = ("auto", "text")


def progress_setting() -> str:
    """``COURSE_PROGRESS``: ``auto`` (the default) or ``text``."""
    value = os.environ.get("COURSE_PROGRESS", "").strip().lower() or "auto"
    if value not in PROGRESS:
        raise SettingError(f"COURSE_PROGRESS={value!r}; use one of {', '.join(PROGRESS)}")
    return value


def progress(*args, **kwargs):
    """A tqdm progress bar: tqdm.auto's, or a plain text one when ``COURSE_PROGRESS=text``."""
    if progress_setting() == "text":
        from tqdm import tqdm

        kwargs.setdefault("mininterval", 30.0)  # a few lines, not hundreds, in a stored output
    else:
        from tqdm.auto import tqdm
    return tqdm(*args, **kwargs)


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
    sr_sets: int  # how many benchmark sets notebook 5 scores (Set5, Set14, BSD100)
    pixel_steps: int  # notebook 1's ℓ_pixel upsampler (3,000 make it beat bicubic; fewer show the loop)
    result_size: int  # notebook 3's main Gatys result, for two paintings (paper: 256)
    result_steps: int  # its L-BFGS iterations (paper: 500)


def _paper() -> Preset:
    """The paper's sizes and schedules, read from :mod:`course_lib.hparams` (written there once)."""
    from .hparams import STYLE, SUPER_RESOLUTION

    style, sr = STYLE.paper, SUPER_RESOLUTION.paper
    return Preset(image_size=style.image_size, style_size=style.style_size, gatys_steps=500, train_steps=style.steps,
                  batch_size=style.batch_size, sr_crop=sr.image_size, sr_steps=sr.steps, sr_sets=3, pixel_steps=3000,
                  result_size=style.image_size, result_steps=500)


# fast: minutes on a CPU (tests, CI). full: the paper's sizes with schedules cut to fit about 20
# minutes per notebook on a Colab-class GPU (notebook 4 trains 3,000 steps and five ablations of
# 1,000; notebook 5, 5,000 steps). paper: the paper's schedules (40,000 and 200,000 steps), hours
# on a GPU: for the command line's runs, or COURSE_MODE=paper where a notebook may run that long.
PRESETS: dict[str, Preset] = {
    "fast": Preset(image_size=96, style_size=128, gatys_steps=30, train_steps=20,
                   batch_size=2, sr_crop=96, sr_steps=20, sr_sets=1, pixel_steps=200, result_size=96,
                   result_steps=30),
    "full": Preset(image_size=256, style_size=512, gatys_steps=500, train_steps=3000,
                   batch_size=4, sr_crop=288, sr_steps=5000, sr_sets=3, pixel_steps=3000, result_size=256,
                   result_steps=500),
    "paper": _paper(),
}


def preset(name: str | None = None) -> Preset:
    """The :class:`Preset` of ``name`` (default: the current :func:`mode`), with the overrides
    of ``COURSE_PRESET`` (``field=value,...``) when ``name`` is not given."""
    if name is not None:
        return PRESETS[name]
    base = PRESETS[mode()]
    text = os.environ.get("COURSE_PRESET", "").strip()
    if not text:
        return base
    changes = {}
    for item in text.split(","):
        key, _, value = item.partition("=")
        key = key.strip()
        if key not in Preset.__dataclass_fields__ or not value.strip().isdigit() or int(value) <= 0:
            raise SettingError(f"COURSE_PRESET={text!r}: {item.strip()!r} is not field=positive whole number with a field "
                               f"among {', '.join(Preset.__dataclass_fields__)}")
        changes[key] = int(value)
    return replace(base, **changes)


def settings() -> dict[str, str]:
    """Every setting of the course as it is in force now (``python -m course_lib info`` prints them)."""
    folder = data_dir()
    return {"COURSE_DEVICE": str(device()), "COURSE_MODE": mode(),
            "COURSE_DATA": str(folder) if folder else "(unset: downloads / packaged samples)",
            "COURSE_CACHE": str(cache_dir()), "COURSE_VGG_WEIGHTS": vgg_weights(),
            "COURSE_PROGRESS": progress_setting(),
            "COURSE_PRESET": ", ".join(f"{k}={v}" for k, v in vars(preset()).items())}


def describe() -> str:
    """One line naming the device, the mode and the data source, for the top of a notebook."""
    folder = data_dir()
    source = f"COURSE_DATA={folder}" if folder else "downloads / packaged samples"
    preset()  # an invalid COURSE_PRESET is an error here, never printed as if applied
    extra = os.environ.get("COURSE_PRESET", "").strip()
    where = device()
    count = torch.get_num_threads()
    threads = f" ({count} thread{'s' * (count != 1)})" if where.type == "cpu" else ""
    return f"device={where}{threads}  mode={mode()}{f' ({extra})' if extra else ''}  data={source}"
