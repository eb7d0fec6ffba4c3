"""PSNR and SSIM as super-resolution papers report them (paper §4.2, Table 2), and the two
halves of the paper's finding that PSNR misses: how far an output is from its original in a loss
network's features (:func:`feature_distance`) and how sharp it is (:func:`sharpness_ratio`).

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

from .config import device_of
from .images import quantize, to_uint8


def luma(image: torch.Tensor) -> np.ndarray:
    """The Y channel (BT.601, 16–235) of a 1×3×H×W image in [0, 1], after rounding to 8 bits."""
    return rgb2ycbcr(to_uint8(image).astype(np.float64) / 255.0)[..., 0]


def _crop(image, border: int):
    """``image`` (a tensor or an array) without ``border`` pixels on each side of its last two axes."""
    return image[..., border:-border, border:-border] if border else image


def psnr_ssim(output: torch.Tensor, target: torch.Tensor, border: int) -> tuple[float, float]:
    """PSNR (dB) and SSIM between two images on Y, with ``border`` pixels cropped on each side."""
    if output.shape != target.shape:
        raise ValueError(f"output {tuple(output.shape)} and target {tuple(target.shape)} differ in size")
    y_out, y_ref = luma(output), luma(target)
    y_out, y_ref = _crop(y_out, border), _crop(y_ref, border)
    with np.errstate(divide="ignore"):  # identical images: an infinite PSNR, not a warning
        psnr = peak_signal_noise_ratio(y_ref, y_out, data_range=255)
    ssim = structural_similarity(y_ref, y_out, data_range=255, gaussian_weights=True, sigma=1.5,
                                 use_sample_covariance=False)
    return float(psnr), float(ssim)


def features(image: torch.Tensor, loss_net: torch.nn.Module, border: int = 0) -> dict[str, torch.Tensor]:
    """``loss_net``'s features of ``image`` rounded to 8 bits with ``border`` pixels cropped: the
    target side of :func:`feature_distance`, computed once when several outputs share a target."""
    with torch.no_grad():
        return loss_net(_crop(quantize(image).reshape(1, *image.shape[-3:]), border).to(device_of(loss_net)))


def feature_distance(output: torch.Tensor, target: torch.Tensor | dict[str, torch.Tensor],
                     loss_net: torch.nn.Module, border: int = 0) -> dict[str, float]:
    """The feature reconstruction loss of eq. 2, ‖φ_j(ŷ) − φ_j(y)‖² / (C_j H_j W_j), at each layer
    of ``loss_net`` (a :class:`course_lib.vgg.VGGFeatures`), between the 8-bit rounded images with
    ``border`` pixels cropped; ``target`` is the image y or its :func:`features`. ℓ_feat trained
    at relu2_2 optimises the first of these directly; relu3_3 is a layer it never saw."""
    target = target if isinstance(target, dict) else features(target, loss_net, border)
    output = features(output, loss_net, border)
    return {layer: (output[layer] - f).float().pow(2).mean().item() for layer, f in target.items()}


def sharpness_ratio(output: torch.Tensor, target: torch.Tensor, border: int = 0) -> float:
    """:func:`sharpness` of ``output`` over that of its original ``target`` (``border`` cropped):
    1 has the original's edge energy, below 1 is blurrier, above 1 has more (or false) edges."""
    return sharpness(_crop(output, border)) / sharpness(_crop(target, border))


def sharpness(image: torch.Tensor) -> float:
    """Mean absolute difference between neighbouring pixels (vertical plus horizontal): larger
    means more edges. A blurry output scores lower than its sharp original."""
    return ((image[..., 1:, :] - image[..., :-1, :]).abs().mean()
            + (image[..., :, 1:] - image[..., :, :-1]).abs().mean()).item()
