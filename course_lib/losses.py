"""The loss functions of Johnson et al. (2016), §3.

Notation of the paper: φ_j(x) is the activation of layer j of the loss network, of shape
C_j × H_j × W_j. All losses here average over the batch.
"""

from __future__ import annotations

from typing import Mapping

import torch
import torch.nn.functional as F


def pixel_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Pixel loss (§3.3): ℓ_pixel(ŷ, y) = ‖ŷ − y‖²₂ / (C·H·W), averaged over the batch."""
    return F.mse_loss(output, target)


def feature_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Feature reconstruction loss (eq. 2): ℓ_feat^{φ,j}(ŷ, y) = ‖φ_j(ŷ) − φ_j(y)‖²₂ / (C_j·H_j·W_j).

    ``features`` = φ_j(ŷ) and ``target`` = φ_j(y), both B×C×H×W (a 1×C×H×W target is broadcast).
    """
    return F.mse_loss(features, target.expand_as(features))


class _Gram(torch.autograd.Function):
    """ψᵀψ · scale for ψ of shape B×K×C, in float32 even under autocast. Its backward uses the
    symmetry of G: dψ = ψ (dG + dGᵀ) · scale, one batched matrix product where autograd's
    generic rule for ψᵀψ computes two (about 45 % less time for the Gram matrices on a CPU)."""

    @staticmethod
    def forward(ctx, rows: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.save_for_backward(rows)
        ctx.scale = scale
        with torch.autocast(rows.device.type, enabled=False):
            return torch.bmm(rows.transpose(1, 2), rows) * scale

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (rows,) = ctx.saved_tensors
        return torch.bmm(rows, (grad + grad.transpose(1, 2)) * ctx.scale), None


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """Gram matrix (eq. 3): G_j(x)_{c,c'} = Σ_{h,w} φ_j(x)_{h,w,c} φ_j(x)_{h,w,c'} / (C_j·H_j·W_j).

    B×C×H×W features give B×C×C matrices, computed in float32 even under autocast, where
    half-precision sums over H·W terms lose too many digits. ψ is taken as a view of the
    features in whichever memory layout they have (no copy for channels_last).
    """
    if features.dim() != 4:
        raise ValueError(f"gram_matrix expects a batch of activations B×C×H×W, got shape {tuple(features.shape)}"
                         + (": add the batch dimension with .unsqueeze(0)" if features.dim() == 3 else ""))
    b, c, h, w = features.shape
    if features.is_contiguous(memory_format=torch.channels_last) and not features.is_contiguous():
        rows = features.permute(0, 2, 3, 1).reshape(b, h * w, c)  # a view: no copy
    else:
        rows = features.reshape(b, c, h * w).transpose(1, 2)
    return _Gram.apply(rows.float(), 1.0 / (c * h * w))


def style_loss(features: Mapping[str, torch.Tensor], target_grams: Mapping[str, torch.Tensor],
               weights: Mapping[str, float] | None = None) -> torch.Tensor:
    """Style reconstruction loss (§3.2): Σ_j w_j ‖G_j(ŷ) − G_j(y_s)‖²_F, averaged over the batch.

    ``features``: layer → φ_j(ŷ); ``target_grams``: layer → G_j(y_s) (1×C×C is broadcast over the
    batch; compute it once with :func:`gram_matrix`). ``weights``: layer → w_j (default 1 each).
    Only the layers in ``target_grams`` count.
    """
    missing = [layer for layer in target_grams if layer not in features]
    if missing:
        raise KeyError(f"no features for style layer(s) {missing}; have {sorted(features)}")
    total = features[next(iter(target_grams))].new_zeros((), dtype=torch.float32)
    for layer, target in target_grams.items():
        gram = gram_matrix(features[layer])
        diff = gram - target.to(gram.dtype).expand_as(gram)
        weight = 1.0 if weights is None else weights.get(layer, 0.0)
        total = total + weight * diff.pow(2).sum(dim=(1, 2)).mean()
    return total


def tv_loss(images: torch.Tensor) -> torch.Tensor:
    """Total variation regulariser ℓ_TV (§3.3, after Mahendran & Vedaldi): the sum of squared
    differences between horizontally and vertically neighbouring pixels, per image, averaged over
    the batch. The paper weights it between 1e-6 and 1e-4 (for pixel values in [0, 255])."""
    if images.dim() != 4:
        raise ValueError(f"tv_loss expects a batch of images B×C×H×W, got shape {tuple(images.shape)}"
                         + (": add the batch dimension with .unsqueeze(0)" if images.dim() == 3 else ""))
    dh = (images[..., 1:, :] - images[..., :-1, :]).pow(2).sum(dim=(1, 2, 3))
    dw = (images[..., :, 1:] - images[..., :, :-1]).pow(2).sum(dim=(1, 2, 3))
    return (dh + dw).mean()
