"""Reading, writing, resizing and showing images as float tensors in [0, 1].

Every image in the course is a tensor of shape 1×3×H×W with values in [0, 1]; the
loss network (:mod:`course_lib.vgg`) applies the ImageNet normalisation itself.
Whatever a user hands in (grey, RGBA, palette, CMYK, 16-bit, rotated phone photos)
becomes RGB here, and anything that cannot be read is refused with a ``ValueError``
that names the file and the problem.

:func:`resize` is the course's one way to change an image's size (torchvision's, with
antialiasing), and :func:`to_uint8` its one way to 8 bits (rounded, not truncated).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as TF

from .files import atomic_write

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")
MIN_SIDE = 16  # the transformation network downsamples by 4 and VGG's relu4_3 by 8
MAX_PIXELS = Image.MAX_IMAGE_PIXELS  # larger images are refused before decoding (decompression bombs)
INTERPOLATIONS = {"nearest": InterpolationMode.NEAREST, "bilinear": InterpolationMode.BILINEAR,
                  "bicubic": InterpolationMode.BICUBIC}


def _to_rgb(img: Image.Image, path: Path) -> Image.Image:
    """Convert any PIL mode to 8-bit RGB; transparent pixels are composited on white."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(img).astype(np.float64)
        top = float(arr.max(initial=0.0))
        if img.mode == "F":
            if top > 1.0 or float(arr.min(initial=0.0)) < 0.0:
                raise ValueError(f"{path}: floating-point image with values from {arr.min():.4g} to "
                                 f"{top:.4g}; the course reads float images only in [0, 1]. Save it "
                                 f"as 8- or 16-bit, or scale it to [0, 1] first")
            scale = 1.0
        else:  # 16-bit (or 32-bit int holding 16-bit) greyscale
            scale = 65535.0 if top > 255 or img.mode.startswith("I;16") else 255.0
        arr = np.clip(np.rint(arr / scale * 255.0), 0, 255).astype(np.uint8)
        return Image.fromarray(arr, mode="L").convert("RGB")
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img.convert("RGB")


def fit(height: int, width: int, side: int, which: str = "longer") -> tuple[int, int]:
    """(H, W) scaled so that the ``which`` side (``"longer"`` or ``"shorter"``) becomes ``side``."""
    reference = max(height, width) if which == "longer" else min(height, width)
    scale = side / reference
    return max(1, round(height * scale)), max(1, round(width * scale))


def _check_size(size, name: str) -> None:
    sides = (size,) if isinstance(size, (int, float)) else tuple(size)
    if not sides or any(not isinstance(s, (int, np.integer)) or s < 1 for s in sides):
        raise ValueError(f"{name} must be a positive whole number of pixels (or an (H, W) pair of them), got {size!r}")


def resize(image: torch.Tensor, size: int | tuple[int, int], interpolation: str,
           which: str = "longer") -> torch.Tensor:
    """``image`` (…×H×W, float in [0, 1]) resized with ``interpolation`` (``"bicubic"``,
    ``"bilinear"`` or ``"nearest"``), antialiased when shrinking, clamped to [0, 1].

    ``size``: (H, W) exactly, or an int for the ``which`` side (aspect kept).
    """
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {sorted(INTERPOLATIONS)}, got {interpolation!r}")
    _check_size(size, "size")
    target = fit(*image.shape[-2:], size, which) if isinstance(size, int) else (int(size[0]), int(size[1]))
    if tuple(image.shape[-2:]) == target:
        return image
    out = TF.resize(image, list(target), interpolation=INTERPOLATIONS[interpolation],
                    antialias=interpolation != "nearest")
    return out.clamp(0, 1)


def load_image(path: str | os.PathLike, size: int | tuple[int, int] | None = None,
               max_size: int | None = None, min_side: int = MIN_SIDE,
               max_pixels: int = MAX_PIXELS) -> torch.Tensor:
    """Read an image file as a 1×3×H×W float tensor in [0, 1].

    EXIF orientation is applied; grey, RGBA, palette, CMYK and 16-bit inputs become RGB.
    ``size``: None keeps the size; an int scales the longer side to it; (H, W) resizes exactly.
    ``max_size``: shrink (never enlarge) so that the longer side is at most this.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` naming the file for a
    non-image, corrupt or truncated data, an image smaller than ``min_side`` pixels on a side,
    one with more than ``max_pixels`` pixels, or a float image outside [0, 1].
    """
    path = Path(path)
    for name, value in (("size", size), ("max_size", max_size)):
        if value is not None:
            _check_size(value, name)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # checked below
            with Image.open(path) as img:
                w, h = img.size
                if w * h > max_pixels:
                    raise ValueError(f"{path}: image is {w}×{h} = {w * h:,} pixels, more than the "
                                     f"limit of {max_pixels:,} (possible decompression bomb); "
                                     f"pass max_pixels= to allow it")
                img.load()
                img = ImageOps.exif_transpose(img)
                rgb = _to_rgb(img, path)
    except UnidentifiedImageError:
        raise ValueError(f"{path}: not an image file, or a format Pillow cannot read") from None
    except Image.DecompressionBombError as err:
        raise ValueError(f"{path}: refused as a possible decompression bomb ({err})") from None
    except (OSError, SyntaxError) as err:
        raise ValueError(f"{path}: corrupt or truncated image data ({err})") from None
    if min(rgb.size) < min_side:
        raise ValueError(f"{path}: image is {rgb.size[0]}×{rgb.size[1]}, smaller than the "
                         f"{min_side} pixels a side the networks need")
    image = TF.to_tensor(rgb).unsqueeze(0)
    if size is not None:
        image = resize(image, size, "bicubic")
    if max_size is not None and max(image.shape[-2:]) > max_size:
        image = resize(image, max_size, "bicubic")
    if min(image.shape[-2:]) < min_side:
        raise ValueError(f"{path}: resized to {image.shape[-1]}×{image.shape[-2]} (size={size}, max_size={max_size}), "
                         f"smaller than the {min_side} pixels a side the networks need; ask for a larger size")
    return image


def checked(image: torch.Tensor) -> torch.Tensor:
    """``image`` as one 3×H×W float image in [0, 1], or a ``ValueError`` that says what was
    expected: a 3×H×W or 1×3×H×W float tensor in [0, 1] (a grey 1×H×W or 1×1×H×W one is
    repeated to RGB). Refused: a batch, 2-D, uint8 or 0–255 values, NaN."""
    if not isinstance(image, torch.Tensor):
        raise ValueError(f"expected an image tensor (1×3×H×W in [0, 1]), got a {type(image).__name__}")
    shape = "×".join(map(str, image.shape))
    if image.dim() == 4:
        if image.shape[0] != 1:
            raise ValueError(f"expected one image (1×3×H×W), got a batch of {image.shape[0]} ({shape}): "
                             f"pass image[i:i+1]")
        image = image[0]
    if image.dim() != 3 or image.shape[0] not in (1, 3):
        raise ValueError(f"expected an image of shape 3×H×W or 1×3×H×W (grey: 1×H×W), got {shape}"
                         + (": add the channel with .unsqueeze(0)" if image.dim() == 2 else ""))
    if not image.is_floating_point():
        raise ValueError(f"expected a float image in [0, 1], got {image.dtype} values: use .float() / 255")
    if torch.isnan(image).any():
        raise ValueError("the image contains NaN values (a diverged computation?): nothing to show or save")
    if image.numel() and float(image.max()) > 2:
        raise ValueError(f"expected values in [0, 1], got up to {float(image.max()):.4g}: is it 0-255? divide by 255")
    return image.expand(3, -1, -1) if image.shape[0] == 1 else image


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """A 3×H×W or 1×3×H×W tensor in [0, 1] (see :func:`checked`) as an H×W×3 uint8 array,
    *rounded* to the nearest level (values slightly outside [0, 1] are clipped): 100.9/255
    becomes 101, 0.999 becomes 255."""
    image = checked(image)
    levels = image.detach().float().cpu().mul(255).round_().clamp_(0, 255)
    return levels.to(torch.uint8).permute(1, 2, 0).numpy()


def quantize(image: torch.Tensor) -> torch.Tensor:
    """``image`` rounded to 8 bits, as a float tensor in [0, 1] (what saving and reloading give)."""
    return image.detach().float().mul(255).round().clamp(0, 255).div(255)


def to_pil(image: torch.Tensor) -> Image.Image:
    """A 3×H×W or 1×3×H×W tensor in [0, 1] as an 8-bit RGB PIL image (see :func:`to_uint8`)."""
    return Image.fromarray(to_uint8(image), mode="RGB")


def save_image(image: torch.Tensor, path: str | os.PathLike) -> Path:
    """Write a 1×3×H×W (or 3×H×W) tensor in [0, 1] to ``path``; the format follows the suffix.

    The file is written to a temporary name in the same folder and renamed, so an
    interrupted save never leaves a half-written image behind.
    """
    path = Path(path)
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise ValueError(f"{path}: unknown image suffix; use one of {', '.join(IMAGE_SUFFIXES)}")
    pil = to_pil(image)
    with atomic_write(path) as tmp:
        pil.save(tmp, format=Image.registered_extensions()[path.suffix.lower()])
    return path


def show_images(images: Sequence[torch.Tensor], titles: Sequence[str] | None = None,
                ncols: int | None = None, size: float = 4.0):
    """Show images side by side (a grid of ``ncols`` columns) with titles; returns the figure."""
    import matplotlib.pyplot as plt

    images = list(images)
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"{len(images)} images but {len(titles)} titles")
    ncols = ncols or len(images)
    nrows = -(-len(images) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < len(images):
            ax.imshow(to_pil(images[i]))
            if titles is not None:
                ax.set_title(titles[i])
    fig.tight_layout()
    return fig
