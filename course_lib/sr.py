"""Single-image super-resolution (paper §5): data, objective and evaluation.

Training pairs as in the paper: 288×288 crops y of natural images; the input x is y blurred
with a Gaussian of σ = 1.0 and downsampled by the factor with bicubic interpolation. The network
is trained with ℓ_pixel, or with ℓ_feat at relu2_2, each plus λ_TV ℓ_TV.

Evaluation (the protocol of :mod:`course_lib.metrics`): each HR image is cropped to a multiple
of the factor (reported, not hidden), downsampled bicubically (``blur`` > 0 blurs first, as in
training), upscaled by the model or by bicubic interpolation, and scored on Y with a border of
``scale`` pixels.

Post-processing (paper §5): the network's output may be histogram-matched to its LR input
(:func:`match_histogram`), which undoes small colour shifts of the network; off by default, so
the scores are those of the network alone.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import numpy as np
import torch
from skimage.exposure import match_histograms
from torch import nn
from torchvision.transforms import functional as TF

from . import data
from .images import load_image
from .losses import feature_loss, pixel_loss, tv_loss
from .metrics import bicubic, psnr_ssim
from .vgg import VGGFeatures

LOSSES = ("pixel", "feat")


def degrade(hr: torch.Tensor, scale: int, blur: float = 1.0) -> torch.Tensor:
    """The paper's LR input: Gaussian blur of σ = ``blur`` (none for 0), then bicubic ×1/scale."""
    if blur > 0:
        radius = int(3 * blur + 0.5)
        hr = TF.gaussian_blur(hr, kernel_size=2 * radius + 1, sigma=blur)
    h, w = hr.shape[-2] // scale, hr.shape[-1] // scale
    return nn.functional.interpolate(hr, size=(h, w), mode="bicubic", antialias=True,
                                     align_corners=False).clamp(0, 1)


class PairDataset(torch.utils.data.Dataset):
    """(LR, HR) training pairs: random ``crop``² HR patches and their degraded versions."""

    def __init__(self, paths: list[Path], scale: int, crop: int = 288, blur: float = 1.0) -> None:
        if crop % scale:
            raise ValueError(f"crop {crop} is not a multiple of the scale {scale}")
        self.crops, self.scale, self.blur = data.CropDataset(paths, crop), scale, blur

    def __len__(self) -> int:
        return len(self.crops)

    def __getitem__(self, key) -> tuple[torch.Tensor, torch.Tensor]:
        hr = self.crops[key]
        return degrade(hr.unsqueeze(0), self.scale, self.blur)[0], hr


class SRObjective(nn.Module):
    """ℓ_pixel(f_W(x), y) or ℓ_feat^{relu2_2}(f_W(x), y), plus λ_TV ℓ_TV(f_W(x)) (paper §5)."""

    def __init__(self, loss: str = "feat", loss_net: VGGFeatures | None = None, tv_weight: float = 1e-6,
                 layer: str = "relu2_2") -> None:
        super().__init__()
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
        if loss == "feat" and loss_net is None:
            raise ValueError("the feature loss needs a loss network")
        self.loss, self.loss_net, self.tv_weight, self.layer = loss, loss_net, tv_weight, layer

    def forward(self, model: nn.Module, batch):
        lr, hr = batch
        output = model(lr)
        if self.loss == "pixel":
            main = pixel_loss(output.float(), hr)
        else:
            with torch.no_grad():
                target = self.loss_net(hr, (self.layer,))[self.layer]
            main = feature_loss(self.loss_net(output, (self.layer,))[self.layer], target)
        parts = {self.loss: main, "tv": self.tv_weight * tv_loss(output.float())}
        return sum(parts.values()), parts


def match_histogram(image: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """``image`` (1×3×H×W) with each channel's histogram matched to ``reference``'s (any size)."""
    def hwc(t: torch.Tensor) -> np.ndarray:
        return t[0].permute(1, 2, 0).double().numpy()

    matched = match_histograms(hwc(image), hwc(reference), channel_axis=-1)
    return torch.from_numpy(matched).permute(2, 0, 1).unsqueeze(0).to(image.dtype)


@torch.no_grad()
def upscale(model: nn.Module, lr: torch.Tensor, match: bool = False) -> torch.Tensor:
    """The model's output for the LR image ``lr`` (1×3×h×w, on CPU), in [0, 1] on CPU; with
    ``match``, histogram-matched to ``lr`` as the paper's post-processing."""
    device = next(model.parameters()).device
    output = model(lr.to(device)).float().cpu().clamp(0, 1)
    return match_histogram(output, lr) if match else output


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
def evaluate(model: nn.Module | None, folder: Path, scale: int, blur: float = 0.0,
             match: bool = False) -> dict:
    """Mean PSNR/SSIM of ``model`` (None: bicubic upscaling) on the HR images in ``folder``;
    ``match`` histogram-matches each output to its LR input first (see :func:`upscale`)."""
    images, cropped = _hr_images(Path(folder), scale)
    scores = []
    for _, hr in images:
        h, w = hr.shape[-2:]
        lr = bicubic(hr, (h // scale, w // scale)) if blur == 0 else degrade(hr, scale, blur)
        if model is None:
            output = bicubic(lr, (h, w))
            output = match_histogram(output, lr) if match else output
        else:
            output = upscale(model, lr, match)
        scores.append(psnr_ssim(output, hr, border=scale))
    return {"psnr": statistics.mean(s[0] for s in scores), "ssim": statistics.mean(s[1] for s in scores),
            "images": len(scores), "cropped_to_multiple_of_scale": cropped}
