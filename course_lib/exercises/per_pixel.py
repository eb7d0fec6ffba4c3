"""The exercises of notebook 1: the per-pixel loss and PSNR."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .. import losses
from .engine import Exercise, features, mean_square_mistakes


def _psnr_reference(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return 10 * torch.log10(255.0 ** 2 / F.mse_loss(a.double(), b.double()))




EXERCISES = {
    "pixel_loss": Exercise(losses.pixel_loss, lambda: (features(2, 3, 8, 8, seed=1), features(2, 3, 8, 8, seed=2)),
                           mean_square_mistakes("pixel loss")),
    "psnr": Exercise(_psnr_reference, lambda: (features(20, 20, seed=1) * 255, features(20, 20, seed=2) * 255),
                     [(lambda a, b: 20 * torch.log10(255.0 ** 2 / F.mse_loss(a, b)),
                       "20·log10 is for amplitudes; PSNR with the squared peak 255² over the MSE takes 10·log10"),
                      (lambda a, b: 10 * torch.log10(1.0 / F.mse_loss(a, b)),
                       "the images are in 0–255 here: the peak is 255, so the ratio is 255² / MSE")],
                     threshold=1e-4),
}
