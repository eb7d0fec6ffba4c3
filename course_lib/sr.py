"""Single-image super-resolution (paper §4.2): data, upscaling and evaluation.

Training pairs as in the paper: 288×288 crops y of natural images; the input x is y blurred
with a Gaussian of σ = 1.0 and downsampled by the factor with bicubic interpolation
(:func:`degrade`, applied to each batch by :class:`Degradation`). The objective is
:class:`course_lib.objectives.PerceptualObjective` with :data:`course_lib.objectives.SR_WEIGHTS`:
ℓ_pixel, or ℓ_feat at relu2_2, each plus λ_TV ℓ_TV.

Evaluation (the protocol of :mod:`course_lib.metrics`): each HR image is cropped to a multiple
of the factor (reported, not hidden), downsampled bicubically (``blur`` > 0 blurs first, as in
training) and rounded to 8 bits like a stored LR image, upscaled by the model or by bicubic
interpolation, and scored on Y with a border of ``scale`` pixels.

Post-processing (paper §4.2): the network's output may be histogram-matched to its LR input
(:func:`match_histogram`), which undoes small colour shifts of the network; off by default, so
the scores are those of the network alone.
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path

import numpy as np
import torch
from skimage.exposure import match_histograms
from torch import nn
from torchvision.transforms import functional as TF

from . import data
from .config import device_of, progress
from .images import load_image, quantize, resize
from .metrics import feature_distance, features, psnr_ssim, sharpness_ratio


def degrade(hr: torch.Tensor, scale: int, blur: float = 1.0) -> torch.Tensor:
    """The paper's LR input: Gaussian blur of σ = ``blur`` (none for 0), then bicubic ×1/scale."""
    if not isinstance(scale, int) or scale < 1:
        raise ValueError(f"scale must be a whole number ≥ 1 (the paper: 4 or 8), got {scale!r}")
    if not math.isfinite(blur) or blur < 0:
        raise ValueError(f"blur must be a finite σ ≥ 0 (the paper: 1.0), got {blur!r}")
    if min(hr.shape[-2:]) < scale:
        raise ValueError(f"an image of {hr.shape[-1]}×{hr.shape[-2]} cannot be reduced ×{scale}")
    if blur > 0:
        radius = int(3 * blur + 0.5)
        hr = TF.gaussian_blur(hr, kernel_size=2 * radius + 1, sigma=blur)
    return resize(hr, (hr.shape[-2] // scale, hr.shape[-1] // scale), "bicubic")


class Degradation(nn.Module):
    """The paper's degradation as a module: HR batch in, LR batch out (:func:`degrade`). Given to
    :class:`course_lib.objectives.PerceptualObjective` as its ``input_transform``, it makes each
    training input from its HR crop on the training device (a GPU blurs and resizes a batch far
    faster than data-loading workers can)."""

    def __init__(self, scale: int, blur: float = 1.0) -> None:
        super().__init__()
        self.scale, self.blur = scale, blur

    def forward(self, hr: torch.Tensor) -> torch.Tensor:
        return degrade(hr, self.scale, self.blur)

    def settings(self) -> dict:
        return {"degradation": "gaussian blur, bicubic", "scale": self.scale, "blur": self.blur}


def match_histogram(image: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """``image`` (1×3×H×W, or a batch matched image by image against a batch of references of
    the same length) with each channel's histogram matched to ``reference``'s (any size)."""
    if image.dim() != 4 or reference.dim() != 4 or image.shape[0] != reference.shape[0]:
        raise ValueError(f"expected B×3×H×W images and as many references, got {tuple(image.shape)} and "
                         f"{tuple(reference.shape)}")
    if image.shape[0] > 1:
        return torch.cat([match_histogram(i[None], r[None]) for i, r in zip(image, reference)])

    def hwc(t: torch.Tensor) -> np.ndarray:
        return t[0].permute(1, 2, 0).double().numpy()

    matched = match_histograms(hwc(image), hwc(reference), channel_axis=-1)
    return torch.from_numpy(matched).permute(2, 0, 1).unsqueeze(0).to(image.dtype)


@torch.no_grad()
def upscale(model: nn.Module | None, lr: torch.Tensor, scale: int | None = None,
            match: bool = False) -> torch.Tensor:
    """The model's output for the LR image ``lr`` (1×3×h×w), in [0, 1] on the CPU; ``model``
    None is bicubic interpolation by ``scale``. With ``match``, histogram-matched to ``lr`` as
    the paper's post-processing."""
    if lr is None or not isinstance(lr, torch.Tensor) or lr.dim() != 4:
        raise ValueError(f"expected a low-resolution image of shape 1×3×h×w, got "
                         f"{tuple(lr.shape) if isinstance(lr, torch.Tensor) else type(lr).__name__}")
    if model is None:
        if not isinstance(scale, int) or scale < 1:
            raise ValueError(f"bicubic (model None) needs scale=, a whole number ≥ 1; got {scale!r}")
        output = resize(lr.cpu(), (lr.shape[-2] * scale, lr.shape[-1] * scale), "bicubic")
    else:
        device = device_of(model)
        output = model(lr.to(device)).float().cpu().clamp(0, 1)
    return match_histogram(output, lr.cpu()) if match else output


def _hr_images(folder: Path, scale: int) -> tuple[list[tuple[str, torch.Tensor]], list[str]]:
    """The set's HR images cropped to multiples of ``scale``, and the names of those cropped."""
    images, cropped = [], []
    for path in data.list_images(folder):
        hr = load_image(path, min_side=8 * scale)
        h, w = hr.shape[-2:]
        if h % scale or w % scale:
            cropped.append(f"{path.name}: {w}×{h} → {w - w % scale}×{h - h % scale}")
            hr = hr[..., : h - h % scale, : w - w % scale]
        images.append((path.name, hr))
    if not images:
        raise FileNotFoundError(f"{folder}: no images to evaluate")
    return images, cropped


@torch.no_grad()
def evaluate_models(models: dict[str, nn.Module | None], folder: Path, scale: int, blur: float = 0.0,
                    match: bool = False, degrade_fn=degrade, loss_net: nn.Module | None = None) -> dict[str, dict]:
    """:func:`evaluate` for several models (None: bicubic) on the same images, by name: each LR
    input and the HR image's features are made once for all of them. A progress bar counts the
    images (``COURSE_PROGRESS``)."""
    images, cropped = _hr_images(Path(folder), scale)
    scores: dict[str, dict[str, dict]] = {name: {} for name in models}
    for image, hr in progress(images, desc=f"{Path(folder).name} ×{scale}", unit="image", leave=False):
        lr = quantize(degrade_fn(hr, scale, blur))
        target = None if loss_net is None else features(hr, loss_net, border=scale)
        for name, model in models.items():
            output = upscale(model, lr, scale, match)
            psnr, ssim = psnr_ssim(output, hr, border=scale)
            scores[name][image] = {"psnr": psnr, "ssim": ssim}
            if target is not None:
                scores[name][image].update(feature_distance(output, target, loss_net, border=scale),
                                           sharpness_ratio=sharpness_ratio(output, hr, border=scale))
    return {name: _summary(per_image, cropped) for name, per_image in scores.items()}


def _summary(per_image: dict[str, dict], cropped: list[str]) -> dict:
    """The mean of each score over the images, with the images' own scores and the crop notes."""
    keys = next(iter(per_image.values()))
    means = {key: statistics.mean(s[key] for s in per_image.values()) for key in keys}
    return {**means, "images": len(per_image), "cropped_to_multiple_of_scale": cropped, "per_image": per_image}


def evaluate(model: nn.Module | None, folder: Path, scale: int, blur: float = 0.0,
             match: bool = False, degrade_fn=degrade, loss_net: nn.Module | None = None) -> dict:
    """Mean PSNR/SSIM of ``model`` (None: bicubic upscaling) on the HR images in ``folder``;
    ``match`` histogram-matches each output to its LR input first (see :func:`upscale`);
    ``degrade_fn(hr, scale, blur)`` makes the LR inputs (a student's own :func:`degrade`).
    With a ``loss_net``, also the paper's other half: the mean feature distance at each of its
    layers and the sharpness ratio to the HR image (:mod:`course_lib.metrics`). ``per_image`` holds
    each image's scores by file name, for paired comparisons of two models on the same images."""
    return evaluate_models({"model": model}, folder, scale, blur, match, degrade_fn, loss_net)["model"]
