"""Timing feed-forward style transfer against Gatys et al. (the paper's Table 1).

Both are timed on the same device with the same loss network. The feed-forward pass is timed
by ``torch.utils.benchmark.Timer`` (warm-up, CUDA synchronisation, blocks of runs; median and
interquartile range). Gatys runs ``gatys_steps`` real L-BFGS iterations per size; the times for
100/300/500 iterations are that median seconds-per-iteration times the count, and the output
says how many iterations were actually run.
"""

from __future__ import annotations

import logging
import statistics
import time
from typing import Sequence

import torch
from torch import nn

# torch.utils.benchmark imports cpp_extension, which warns "No CUDA runtime is found" on a CPU
# machine that has a CUDA toolkit folder: nothing the timing uses, so not shown to students.
logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
from torch.utils import benchmark  # noqa: E402

from .gatys import stylize
from .vgg import VGGFeatures

# Johnson et al. 2016, Table 1 (GTX Titan X): the feed-forward network's seconds per image, and the
# speed-ups at 500 L-BFGS iterations as the paper prints them (computing them from its rounded
# times gives 1057×, 1097×, 1021× instead).
PAPER_TABLE1 = {256: {"ours": 0.015, "speedup": {500: 1060}}, 512: {"ours": 0.05, "speedup": {500: 1026}},
                1024: {"ours": 0.21, "speedup": {500: 1042}}}
PAPER_FPS_512 = 20  # "20 FPS" at 512×512, paper §4.1


@torch.no_grad()
def feed_forward_seconds(model: nn.Module, size: int, device: torch.device, min_run_time: float = 1.0,
                         dtype: torch.dtype | None = None) -> dict[str, float]:
    """One forward pass of ``model`` on a 1×3×size×size image: median seconds and the
    interquartile range over blocks of runs (``torch.utils.benchmark``)."""
    model = model.to(device).eval()
    x = torch.rand(1, 3, size, size, device=device)

    def run() -> None:
        with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            model(x)

    run()  # warm-up: cuDNN autotuning, allocator
    measurement = benchmark.Timer(stmt="run()", globals={"run": run}).blocked_autorange(min_run_time=min_run_time)
    return {"median_s": measurement.median, "iqr_s": measurement.iqr, "runs": len(measurement.times)}


def gatys_seconds_per_step(loss_net: VGGFeatures, size: int, device: torch.device, steps: int = 5) -> float:
    """Median seconds of one L-BFGS iteration of :func:`course_lib.gatys.stylize` at size×size."""
    content = torch.rand(1, 3, size, size, device=device)
    seconds: list[float] = []

    def clock(step: int, image: torch.Tensor, parts: dict) -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds.append(time.perf_counter())

    stylize(content, content, loss_net=loss_net, steps=steps + 1, callback=clock, callback_every=1,
            progress=False)
    return statistics.median(b - a for a, b in zip(seconds, seconds[1:]))


def table1(model: nn.Module, loss_net: VGGFeatures, device: torch.device,
           sizes: Sequence[int] = (256, 512, 1024), iterations: Sequence[int] = (100, 300, 500),
           gatys_steps: int = 5, min_run_time: float = 1.0) -> list[dict]:
    """One row per size: Gatys seconds for each iteration count, feed-forward seconds, speed-ups."""
    rows = []
    for size in sizes:
        per_step = gatys_seconds_per_step(loss_net, size, device, gatys_steps)
        ours = feed_forward_seconds(model, size, device, min_run_time)
        rows.append({"size": size, "gatys_seconds_per_step": per_step, "gatys_steps_run": gatys_steps,
                     "gatys_s": {n: per_step * n for n in iterations}, "feed_forward_s": ours["median_s"],
                     "feed_forward_iqr_s": ours["iqr_s"], "feed_forward_fps": 1 / ours["median_s"],
                     "speedup": {n: per_step * n / ours["median_s"] for n in iterations}})
    return rows


def markdown(rows: list[dict], device_name: str) -> str:
    """The rows as a table in the layout of the paper's Table 1, with the paper's figures beside."""
    iterations = list(rows[0]["gatys_s"])
    head = " | ".join(f"Gatys {n} it." for n in iterations)
    lines = [f"| image size | {head} | feed-forward | speed-up ({iterations[-1]} it.) | "
             f"paper: feed-forward | paper: speed-up (500 it.) |",
             "|" + "---|" * (len(iterations) + 5)]
    for row in rows:
        gatys = " | ".join(f"{row['gatys_s'][n]:.2f} s" for n in iterations)
        paper = PAPER_TABLE1.get(row["size"])
        paper_ours = f"{paper['ours']} s" if paper else "n/a"
        paper_speedup = f"{paper['speedup'][500]}×" if paper else "n/a"
        lines.append(f"| {row['size']}² | {gatys} | {row['feed_forward_s'] * 1000:.1f} ms | "
                     f"{row['speedup'][iterations[-1]]:.0f}× | {paper_ours} | {paper_speedup} |")
    lines.append(f"\nMeasured on {device_name}; Gatys times = median seconds per L-BFGS iteration "
                 f"({rows[0]['gatys_steps_run']} run per size) × iterations; feed-forward = median of "
                 f"torch.utils.benchmark blocks. Paper: GTX Titan X, its printed speed-ups.")
    return "\n".join(lines)
