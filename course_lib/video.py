"""Video without flicker (notebook 7): test sequences with known motion, the warping error that
measures flicker, and the temporal-consistency term (Ruder, Dosovitskiy & Brox 2016, "Artistic
Style Transfer for Videos"; Huang et al. 2017, "Real-Time Neural Style Transfer for Videos").

No video can be downloaded here, so a sequence is made from a still photo by moving a square
crop window over it (:func:`camera`: pan, zoom and a small rotation per frame). Each frame is the
photo sampled through an affine map θ_t (``F.affine_grid``'s convention: frame coordinates in
[-1, 1] to photo coordinates), so the motion is known exactly: the pixel q of frame t+1 shows the
photo point θ_{t+1}(q), which frame t shows at θ_t⁻¹(θ_{t+1}(q)). :func:`warp` brings frame t
(or its stylised version) onto frame t+1 along that map, with a mask of the pixels whose
source lies inside frame t (the rest just entered the view: they have no past to agree with).

The flicker measure (:func:`warping_error`) is the mean squared difference between each output
frame and its warped predecessor over those pixels, the measure of Lai et al. 2018 ("Learning
Blind Video Temporal Consistency") with exact flow in place of an estimated one.

Training against flicker (:class:`TemporalObjective`) needs no video either: each training crop
is paired with itself seen through a small random camera motion, and the two outputs must agree
where the motion maps one onto the other.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .objectives import Objective, Parts, PerceptualObjective


def camera(frames: int, pan: tuple[float, float] = (0.02, 0.01), zoom: float = 0.99, turn: float = 0.5,
           window: float = 0.7) -> torch.Tensor:
    """``frames``×2×3 affine maps θ_t of a square window covering ``window`` of the photo's side,
    starting at its centre, moving by ``pan`` (a fraction of the photo per frame, x and y),
    scaling by ``zoom`` and turning by ``turn`` degrees per frame."""
    t = torch.arange(frames, dtype=torch.float64)
    scale = window * zoom ** t
    angle = torch.deg2rad(turn * t)
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    limit = 1 - window * math.sqrt(2)  # keep the turned window inside the photo
    x = (t * 2 * pan[0]).clamp(-abs(limit), abs(limit))
    y = (t * 2 * pan[1]).clamp(-abs(limit), abs(limit))
    return torch.stack([torch.stack([cos, -sin, x], -1), torch.stack([sin, cos, y], -1)], 1).float()


def sequence(photo: torch.Tensor, thetas: torch.Tensor, size: int) -> torch.Tensor:
    """The frames (T×3×size×size) that the maps ``thetas`` cut from ``photo`` (1×3×H×W, square
    or centre-cropped to a square, so that a turn is a turn)."""
    side = min(photo.shape[-2:])
    top, left = (photo.shape[-2] - side) // 2, (photo.shape[-1] - side) // 2
    square = photo[..., top:top + side, left:left + side].expand(len(thetas), -1, -1, -1)
    grid = F.affine_grid(thetas, [len(thetas), 3, size, size], align_corners=False)
    return F.grid_sample(square, grid, mode="bicubic", padding_mode="border", align_corners=False).clamp(0, 1)


def relative(theta_from: torch.Tensor, theta_to: torch.Tensor) -> torch.Tensor:
    """The map (B×2×3) from frame ``to``'s coordinates to frame ``from``'s: θ_from⁻¹ ∘ θ_to."""
    def square(theta: torch.Tensor) -> torch.Tensor:
        bottom = torch.tensor([0.0, 0.0, 1.0], dtype=theta.dtype).expand(len(theta), 1, 3)
        return torch.cat([theta, bottom], 1)
    return (torch.linalg.inv(square(theta_from)) @ square(theta_to))[:, :2]


def warp(frames: torch.Tensor, maps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``frames`` (B×C×H×W) moved along ``maps`` (B×2×3, :func:`relative`), and a B×1×H×W mask
    of the pixels whose source lies inside the frame, one pixel clear of its border."""
    grid = F.affine_grid(maps.to(frames.dtype), list(frames.shape), align_corners=False)
    margin = 1 - 2 / min(frames.shape[-2:])
    mask = (grid.abs() <= margin).all(-1, keepdim=True).permute(0, 3, 1, 2).to(frames.dtype)
    return F.grid_sample(frames, grid, mode="bilinear", padding_mode="border", align_corners=False), mask


def masked_mse(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of ``a`` and ``b`` over the pixels where ``mask`` is 1."""
    return ((a - b).pow(2) * mask).sum() / (mask.sum() * a.shape[1]).clamp(min=1)


def warping_error(outputs: torch.Tensor, thetas: torch.Tensor) -> float:
    """Flicker: the mean, over consecutive frames, of the masked MSE between output t+1 and
    output t warped onto it (``outputs``: T×3×H×W made from the frames of ``thetas``)."""
    previous, mask = warp(outputs[:-1], relative(thetas[:-1], thetas[1:]))
    return masked_mse(outputs[1:], previous, mask).item()


def jitter(batch: int, shift: float = 0.04, turn: float = 1.0, zoom: float = 0.02) -> torch.Tensor:
    """``batch`` random small camera motions (B×2×3): a shift up to ``shift`` of the frame, a turn
    up to ``turn`` degrees and a zoom up to ``zoom``, each uniform (torch's generator, so a
    resumed run draws the same)."""
    u = torch.rand(batch, 4) * 2 - 1
    angle, scale = torch.deg2rad(u[:, 0] * turn), 1 + u[:, 1] * zoom
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    return torch.stack([torch.stack([cos, -sin, u[:, 2] * 2 * shift], -1),
                        torch.stack([sin, cos, u[:, 3] * 2 * shift], -1)], 1)


class TemporalObjective(Objective):
    """Eq. 5 plus a temporal-consistency term (Huang et al. 2017, §3; Ruder et al. 2016): a crop x
    and the same crop x' seen through a small camera motion m (:func:`jitter`, so x' = x∘m
    exactly) give outputs that should satisfy f(x') = f(x)∘m; the term is ``weight`` times the
    mean squared difference over the pixels that stay in view. ``base`` is the style objective
    (content, style and TV terms on x, as without the term)."""

    def __init__(self, base: PerceptualObjective, weight: float) -> None:
        super().__init__()
        self.base, self.weight = base, weight

    def loss(self, model: nn.Module, batch: torch.Tensor) -> tuple[torch.Tensor, Parts]:
        motion = jitter(batch.shape[0]).to(batch.device)
        moved, _ = warp(batch, motion)
        outputs = model(torch.cat([batch, moved]))
        output, moved_output = outputs.chunk(2)
        total, parts = self.base(output, self.base.targets(batch), batch)
        expected, mask = warp(output.float(), motion)
        parts = {**parts, "temporal": self.weight * masked_mse(moved_output.float(), expected, mask)}
        return total + parts["temporal"], parts

    def settings(self) -> dict:
        return {**self.base.settings(), "temporal_weight": self.weight}


def side_by_side_gif(*sequences: torch.Tensor, fps: float = 8.0) -> bytes:
    """An animated GIF (looping) of ``sequences`` (each T×3×H×W in [0, 1], the same T and H)
    played side by side, left to right: to compare stylised videos in a notebook
    (``IPython.display.Image(data=...)``). GIF keeps 256 colours per frame, enough to see flicker."""
    import io

    from PIL import Image

    frames = torch.cat([s.detach().float().cpu().clamp(0, 1) for s in sequences], dim=-1)
    pictures = [Image.fromarray(f.mul(255).round().byte().permute(1, 2, 0).numpy()) for f in frames]
    out = io.BytesIO()
    pictures[0].save(out, format="GIF", save_all=True, append_images=pictures[1:], duration=round(1000 / fps),
                     loop=0)
    return out.getvalue()
