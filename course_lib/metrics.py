"""PSNR and SSIM as super-resolution papers report them (paper §4.2, Table 2), and a sharpness measure.

Protocol: both images are rounded to 8 bits (:func:`course_lib.images.to_uint8`), then
converted to the luma channel Y of ITU-R BT.601 (values 16–235, :func:`skimage.color.rgb2ycbcr`);
``border`` pixels (the scale factor) are cropped from every side; PSNR uses a data range of
255; SSIM is Wang et al.'s with an 11×11 Gaussian window of σ = 1.5
(``skimage.metrics.structural_similarity`` with ``gaussian_weights=True,
use_sample_covariance=False``).
"""

from __future__ import annotations

import numpy as np
import torch
from skimage.color import rgb2ycbcr
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from .images import to_uint8


def luma(image: torch.Tensor) -> np.ndarray:
    """The Y channel (BT.601, 16–235) of a 1×3×H×W image in [0, 1], after rounding to 8 bits."""
    return rgb2ycbcr(to_uint8(image).astype(np.float64) / 255.0)[..., 0]


def psnr_ssim(output: torch.Tensor, target: torch.Tensor, border: int) -> tuple[float, float]:
    """PSNR (dB) and SSIM between two images on Y, with ``border`` pixels cropped on each side."""
    if output.shape != target.shape:
        raise ValueError(f"output {tuple(output.shape)} and target {tuple(target.shape)} differ in size")
    y_out, y_ref = luma(output), luma(target)
    if border:
        y_out, y_ref = y_out[border:-border, border:-border], y_ref[border:-border, border:-border]
    with np.errstate(divide="ignore"):  # identical images: an infinite PSNR, not a warning
        psnr = peak_signal_noise_ratio(y_ref, y_out, data_range=255)
    ssim = structural_similarity(y_ref, y_out, data_range=255, gaussian_weights=True, sigma=1.5,
                                 use_sample_covariance=False)
    return float(psnr), float(ssim)


def sharpness(image: torch.Tensor) -> float:
    """Mean absolute difference between neighbouring pixels (vertical plus horizontal): larger
    means more edges. A blurry output scores lower than its sharp original."""
    return ((image[..., 1:, :] - image[..., :-1, :]).abs().mean()
            + (image[..., :, 1:] - image[..., :, :-1]).abs().mean()).item()
