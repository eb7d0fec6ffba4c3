"""Timing of feed-forward style transfer against Gatys et al. (the paper's Table 1).

Both are timed on the same device with the same loss network; CUDA work is synchronised
before each clock reading. Gatys runs ``gatys_steps`` real L-BFGS iterations per size; the
times for 100/300/500 iterations are that median seconds-per-iteration times the count, and the
output says how many iterations were actually run.
"""

from __future__ import annotations

import statistics
import time
from typing import Sequence

import torch
from torch import nn

from .gatys import stylize
from .vgg import VGGFeatures

# Seconds on a GTX Titan X, Johnson et al. 2016, Table 1; they agree with shared/notes/paper.md
# (≈0.015 / 0.05 / 0.21 s feed-forward, ≈1000× at 500 iterations) but were not re-read from the PDF.
PAPER_TABLE1 = {
    256: {"gatys": {100: 3.17, 300: 9.52, 500: 15.86}, "ours": 0.015},
    512: {"gatys": {100: 10.97, 300: 32.91, 500: 54.85}, "ours": 0.05},
    1024: {"gatys": {100: 42.89, 300: 128.66, 500: 214.44}, "ours": 0.21},
}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@torch.no_grad()
def feed_forward_seconds(model: nn.Module, size: int, device: torch.device, repeats: int = 10,
                         dtype: torch.dtype | None = None) -> float:
    """Median seconds of one forward pass of ``model`` on a 1×3×size×size image."""
    model = model.to(device).eval()
    x = torch.rand(1, 3, size, size, device=device)
    times = []
    for i in range(repeats + 2):  # two warm-up passes (cuDNN autotuning, allocator)
        _sync(device)
        began = time.perf_counter()
        with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            model(x)
        _sync(device)
        if i >= 2:
            times.append(time.perf_counter() - began)
    return statistics.median(times)


def gatys_seconds_per_step(loss_net: VGGFeatures, size: int, device: torch.device, steps: int = 5) -> float:
    """Median seconds of one L-BFGS iteration of :func:`course_lib.gatys.stylize` at size×size."""
    content = torch.rand(1, 3, size, size, device=device)
    seconds: list[float] = []

    def clock(step: int, image: torch.Tensor, parts: dict) -> None:
        _sync(device)
        seconds.append(time.perf_counter())

    stylize(content, content, loss_net=loss_net, steps=steps + 1, callback=clock, callback_every=1,
            progress=False)
    return statistics.median(b - a for a, b in zip(seconds, seconds[1:]))


def table1(model: nn.Module, loss_net: VGGFeatures, device: torch.device,
           sizes: Sequence[int] = (256, 512, 1024), iterations: Sequence[int] = (100, 300, 500),
           gatys_steps: int = 5, repeats: int = 10) -> list[dict]:
    """One row per size: Gatys seconds for each iteration count, feed-forward seconds, speed-ups."""
    rows = []
    for size in sizes:
        per_step = gatys_seconds_per_step(loss_net, size, device, gatys_steps)
        ours = feed_forward_seconds(model, size, device, repeats)
        rows.append({"size": size, "gatys_seconds_per_step": per_step, "gatys_steps_run": gatys_steps,
                     "gatys_s": {n: per_step * n for n in iterations}, "feed_forward_s": ours,
                     "speedup": {n: per_step * n / ours for n in iterations}})
    return rows


def markdown(rows: list[dict], device_name: str) -> str:
    """The rows as a table in the layout of the paper's Table 1, with the paper's figures beside."""
    iterations = list(rows[0]["gatys_s"])
    head = " | ".join(f"Gatys {n} it." for n in iterations)
    lines = [f"| image size | {head} | feed-forward | speed-up ({iterations[-1]} it.) | paper: speed-up |",
             "|" + "---|" * (len(iterations) + 4)]
    for row in rows:
        gatys = " | ".join(f"{row['gatys_s'][n]:.2f} s" for n in iterations)
        paper = PAPER_TABLE1.get(row["size"])
        paper_speedup = f"{paper['gatys'][500] / paper['ours']:.0f}×" if paper else "n/a"
        lines.append(f"| {row['size']}² | {gatys} | {row['feed_forward_s'] * 1000:.1f} ms | "
                     f"{row['speedup'][iterations[-1]]:.0f}× | {paper_speedup} |")
    lines.append(f"\nMeasured on {device_name}; Gatys times = median seconds per L-BFGS iteration "
                 f"({rows[0]['gatys_steps_run']} run per size) × iterations.")
    return "\n".join(lines)
