"""Stylising images too large for memory: overlapping tiles, blended without seams.

A transformation network's convolutions see only a neighbourhood (about 56 pixels each way for
the style network), so an image can be processed in tiles that overlap: in the shared band,
each tile's outer third is dropped (it saw padding instead of the image), and across the
middle third one tile fades out linearly as the next fades in. Tiles start at multiples of 4,
the network's total stride, so that every tile sees the same pixel grid as the whole image. Instance normalisation is not local: each tile would normalise by
its own statistics and come out in another tone. So the statistics of every instance-norm layer
are first measured on the whole image, shrunk to at most ``stats_side`` pixels (exactly the
whole image when it is that small), and every tile is normalised with them.
"""

from __future__ import annotations

import copy
import os

import torch
from torch import nn

from .config import device_of
from .images import resize

BYTES_PER_PIXEL_PER_WIDTH = 18  # TransformerNet inference, fp32: 17 measured by benchmarks/stylize_memory.py


class FrozenInstanceNorm(nn.Module):
    """Instance normalisation with fixed per-channel mean and variance (measured beforehand)."""

    def __init__(self, norm: nn.GroupNorm, mean: torch.Tensor, var: torch.Tensor) -> None:
        super().__init__()
        self.norm, self.mean, self.var = norm, mean, var

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = torch.rsqrt(self.var + self.norm.eps)
        out = (x - self.mean.to(x.dtype)) * scale.to(x.dtype)
        if not self.norm.affine:  # conditional instance norm applies its own (γ, β) after it
            return out
        return out * self.norm.weight.view(1, -1, 1, 1) + self.norm.bias.view(1, -1, 1, 1)


def _instance_norms(model: nn.Module) -> list[tuple[nn.Module, str, nn.GroupNorm]]:
    return [(parent, name, child) for parent in model.modules() for name, child in parent.named_children()
            if isinstance(child, nn.GroupNorm) and child.num_groups == child.num_channels]


@torch.no_grad()
def frozen_statistics(model: nn.Module, image: torch.Tensor) -> nn.Module:
    """A copy of ``model`` whose instance norms use the statistics they see on ``image``."""
    stats: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
    hooks = [norm.register_forward_hook(
        lambda module, inputs, output: stats.__setitem__(id(module), (
            inputs[0].float().mean((2, 3), keepdim=True), inputs[0].float().var((2, 3), keepdim=True, unbiased=False))))
        for _, _, norm in _instance_norms(model)]
    try:
        model(image)
    finally:
        for hook in hooks:
            hook.remove()
    frozen = copy.deepcopy(model)
    for (parent, name, norm), (_, _, original) in zip(_instance_norms(frozen), _instance_norms(model)):
        setattr(parent, name, FrozenInstanceNorm(norm, *stats[id(original)]))
    return frozen


STRIDE = 4  # the style network downsamples by 4


def _spans(length: int, tile: int, overlap: int) -> list[tuple[int, int]]:
    """[start, end) of the tiles along one axis: starts on multiples of :data:`STRIDE`, each
    overlapping the next by at least ``overlap``; the last one runs to the end."""
    if length <= tile:
        return [(0, length)]
    step = (tile - overlap) // STRIDE * STRIDE
    last = (length - tile) // STRIDE * STRIDE
    starts = sorted(set(range(0, last, step)) | {last})
    return [(a, b) for a, b in zip(starts, [s + tile for s in starts[:-1]] + [length])]


def _ramp(start: int, end: int, total: int, overlap: int) -> torch.Tensor:
    """Blending weights along one axis of a tile covering [start, end) of ``total``: at an edge
    another tile shares, 0 over the outer third of ``overlap``, rising linearly over the middle
    third; 1 elsewhere, and at the image's own borders."""
    weight = torch.ones(end - start)
    third = overlap // 3
    fade = torch.cat([torch.zeros(third), torch.linspace(0, 1, third + 2)[1:-1]])
    if start > 0:
        weight[: 2 * third] = fade
    if end < total:
        weight[-2 * third:] = torch.minimum(weight[-2 * third:], fade.flip(0))
    return weight


@torch.no_grad()
def tiled(model: nn.Module, image: torch.Tensor, tile: int, overlap: int = 192,
          stats_side: int = 1024) -> torch.Tensor:
    """``model(image)`` for a 1×3×H×W image computed in ``tile``×``tile`` pieces overlapping by
    ``overlap`` pixels; the result is on the CPU. Memory: one tile on the model's device, plus
    the output and its blending weights (on the CPU)."""
    if overlap * 2 >= tile:
        raise ValueError(f"tile ({tile}) must be more than twice the overlap ({overlap})")
    device = device_of(model)
    h, w = image.shape[-2:]
    small = resize(image, min(stats_side, max(h, w)), "bicubic") if max(h, w) > stats_side else image
    frozen = frozen_statistics(model, small.to(device))
    output = torch.zeros(1, 3, h, w)
    total = torch.zeros(1, 1, h, w)
    for top, bottom in _spans(h, tile, overlap):
        for left, right in _spans(w, tile, overlap):
            piece = frozen(image[..., top:bottom, left:right].to(device)).float().cpu()
            weight = _ramp(top, bottom, h, overlap).view(-1, 1) * _ramp(left, right, w, overlap).view(1, -1)
            output[..., top:bottom, left:right] += piece * weight
            total[..., top:bottom, left:right] += weight
    return output / total


def estimated_bytes(model: nn.Module, height: int, width: int) -> int:
    """Rough peak memory of ``model(image)`` at height×width in fp32, from a measured constant."""
    return int(BYTES_PER_PIXEL_PER_WIDTH * getattr(model, "config", {}).get("width", 32) * height * width)


@torch.no_grad()
def peak_bytes(model: nn.Module, height: int, width: int, probe: int = 64) -> int:
    """Estimated peak activation memory of ``model`` on a height×width input: the largest
    input + output of any of its layers on a probe×probe input (measured with hooks), scaled by
    the area, in the model's dtype."""
    device = device_of(model)
    largest = [0]

    def hook(module, inputs, output):
        sizes = [t.numel() * t.element_size() for t in (*inputs, output) if isinstance(t, torch.Tensor)]
        largest[0] = max(largest[0], sum(sizes))
    handles = [m.register_forward_hook(hook) for m in model.modules() if not list(m.children())]
    try:
        model(torch.rand(1, 3, probe, probe, device=device))
    finally:
        for handle in handles:
            handle.remove()
    return int(largest[0] * height * width / probe ** 2)


def refuse_if_too_large(model: nn.Module, image: torch.Tensor, name: str, probe: int = 64) -> None:
    """A ``MemoryError`` naming ``name``, its size and the estimate, when ``model(image)`` would
    need more than 80 % of the free memory (it would reach the allocator, then the OOM killer)."""
    device = device_of(model)
    h, w = image.shape[-2:]
    need, free = peak_bytes(model, h, w, probe), available_bytes(device)
    if need > 0.8 * free:
        raise MemoryError(f"{name}: {w}×{h} would need about {need / 2**30:.1f} GiB on {device} (the network's "
                          f"largest layer, scaled from a {probe}² probe), more than the {free / 2**30:.1f} GiB free; "
                          f"shrink the image first")


def available_bytes(device: torch.device) -> int:
    """Free memory on ``device``: the GPU's free memory, or the machine's available RAM."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def auto_tile(model: nn.Module, height: int, width: int, device: torch.device) -> int | None:
    """A tile side when the whole image would take more than half the free memory, else None."""
    free = available_bytes(device)
    if estimated_bytes(model, height, width) <= free // 2:
        return None
    side = int((free // 4 / estimated_bytes(model, 1, 1)) ** 0.5) // 4 * 4
    return max(512, side)
