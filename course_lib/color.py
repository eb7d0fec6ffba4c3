"""Keeping the content's colours (Gatys, Bethge, Hertzmann & Shechtman 2017, "Controlling
Perceptual Factors in Neural Style Transfer", §5), for Gatys' method and the feed-forward models.

- **Luminance-only transfer** (their §5.1): the style acts on luminance only. The result's luma
  Y (YIQ, as in their paper) is kept and the content's chroma I, Q put back, so that the colours
  are the photo's and the strokes and textures the painting's.
- **Colour histogram matching** (their §5.2): an affine map of RGB values that gives one image
  the mean and covariance of another's colours (the "Cholesky" variant of the paper, through
  the symmetric square root). Before Gatys' optimisation it recolours the style image with the
  content's palette; after a feed-forward model, it recolours the output.

:func:`color_distance` measures how far two images' colour statistics are apart (mean and
covariance of their RGB values), the number notebook 7 reports for each method.
"""

from __future__ import annotations

import torch

# RGB → YIQ (NTSC, as Gatys et al. 2017); its inverse is computed, not copied.
RGB_TO_YIQ = torch.tensor([[0.299, 0.587, 0.114],
                           [0.595716, -0.274453, -0.321263],
                           [0.211456, -0.522591, 0.311135]])
MODES = ("luminance", "histogram")


def _pixels(image: torch.Tensor) -> torch.Tensor:
    if image.dim() != 4 or image.shape[:2] != (1, 3):
        raise ValueError(f"expected one RGB image 1×3×H×W in [0, 1], got shape {tuple(image.shape)}")
    return image[0].reshape(3, -1).double()


def to_yiq(image: torch.Tensor) -> torch.Tensor:
    """1×3×H×W RGB in [0, 1] → YIQ (Y in [0, 1], I and Q around 0)."""
    return (RGB_TO_YIQ.double() @ _pixels(image)).reshape(image.shape).to(image.dtype)


def from_yiq(image: torch.Tensor) -> torch.Tensor:
    """YIQ → RGB (not clamped)."""
    return (torch.linalg.inv(RGB_TO_YIQ.double()) @ _pixels(image)).reshape(image.shape).to(image.dtype)


def luminance_transfer(stylized: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """``stylized``'s luminance with ``content``'s chroma (same size; the content is resized to
    the result's if needed), in [0, 1]."""
    if content.shape[-2:] != stylized.shape[-2:]:
        from .images import resize

        content = resize(content, tuple(stylized.shape[-2:]), "bicubic")
    yiq = to_yiq(content)
    yiq[:, 0] = to_yiq(stylized)[:, 0]
    return from_yiq(yiq).clamp(0, 1)


def _stats(image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    pixels = _pixels(image)
    return pixels.mean(dim=1), torch.cov(pixels)


def _sqrt(matrix: torch.Tensor, inverse: bool = False) -> torch.Tensor:
    values, vectors = torch.linalg.eigh(matrix + 1e-8 * torch.eye(3, dtype=matrix.dtype))
    roots = values.clamp_min(1e-12).sqrt()
    return vectors @ torch.diag(1 / roots if inverse else roots) @ vectors.T


def match_colors(image: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """``image`` with its RGB values mapped affinely so that their mean and covariance are
    ``reference``'s (colour histogram matching), clamped to [0, 1]."""
    mean, cov = _stats(image)
    target_mean, target_cov = _stats(reference)
    transform = _sqrt(target_cov) @ _sqrt(cov, inverse=True)
    pixels = transform @ (_pixels(image) - mean[:, None]) + target_mean[:, None]
    return pixels.reshape(image.shape).to(image.dtype).clamp(0, 1)


def preserve(stylized: torch.Tensor, content: torch.Tensor, mode: str) -> torch.Tensor:
    """A feed-forward model's output with the content's colours kept, by ``mode`` (see :data:`MODES`)."""
    if mode == "luminance":
        return luminance_transfer(stylized, content)
    if mode == "histogram":
        return match_colors(stylized, content)
    raise ValueError(f"preserve-color must be one of {', '.join(MODES)}, got {mode!r}")


def color_distance(image: torch.Tensor, reference: torch.Tensor) -> float:
    """How far ``image``'s colour statistics are from ``reference``'s: the distance of the RGB
    means plus the Frobenius distance of the RGB covariances (values in [0, 1])."""
    mean, cov = _stats(image)
    target_mean, target_cov = _stats(reference)
    return float(torch.linalg.vector_norm(mean - target_mean) + torch.linalg.matrix_norm(cov - target_cov))
