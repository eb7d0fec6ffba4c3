"""PSNR and SSIM as super-resolution papers report them (paper §5, Table 2).

Protocol: both images are converted to 8 bits, then to the luma channel Y of ITU-R BT.601
(values 16–235, :func:`skimage.color.rgb2ycbcr`); ``border`` pixels (the scale factor) are
cropped from every side; PSNR uses a data range of 255; SSIM is Wang et al.'s with an 11×11
Gaussian window of σ = 1.5 (``skimage.metrics.structural_similarity`` with
``gaussian_weights=True, use_sample_covariance=False``).
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from skimage.color import rgb2ycbcr
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from .images import to_pil


def luma(image: torch.Tensor) -> np.ndarray:
    """The Y channel (BT.601, 16–235) of a 1×3×H×W image in [0, 1], after rounding to 8 bits."""
    rgb8 = np.asarray(to_pil(image), dtype=np.float64) / 255.0
    return rgb2ycbcr(rgb8)[..., 0]


def psnr_ssim(output: torch.Tensor, target: torch.Tensor, border: int) -> tuple[float, float]:
    """PSNR (dB) and SSIM between two images on Y, with ``border`` pixels cropped on each side."""
    if output.shape != target.shape:
        raise ValueError(f"output {tuple(output.shape)} and target {tuple(target.shape)} differ in size")
    y_out, y_ref = luma(output), luma(target)
    if border:
        y_out, y_ref = y_out[border:-border, border:-border], y_ref[border:-border, border:-border]
    psnr = peak_signal_noise_ratio(y_ref, y_out, data_range=255)
    ssim = structural_similarity(y_ref, y_out, data_range=255, gaussian_weights=True, sigma=1.5,
                                 use_sample_covariance=False)
    return float(psnr), float(ssim)


def bicubic(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize a 1×3×H×W image in [0, 1] to (H, W) = ``size`` with PIL's bicubic filter, in 8 bits:
    the resampling behind the literature's bicubic figures."""
    pil = to_pil(image).resize((size[1], size[0]), Image.Resampling.BICUBIC)
    return torch.from_numpy(np.asarray(pil, dtype=np.float32) / 255.0).permute(2, 0, 1).unsqueeze(0)
