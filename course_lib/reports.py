"""What the training loop reports while it runs: sample images of the network's output, and an
early projection of how long the rest will take."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from .config import say
from .images import save_image


def say_projection(step_seconds: float, remaining: int, device: torch.device) -> None:
    """After the first steps: how long the rest will take, and on a CPU the fast settings."""
    minutes = step_seconds * remaining / 60
    text = f"{minutes / 60:.1f} h" if minutes >= 90 else f"{minutes:.0f} min" if minutes >= 1 else \
        f"{minutes * 60:.0f} s"
    message = f"Projected: about {text} for the remaining {remaining:,} steps ({step_seconds:.3f} s/step on {device})."
    if device.type == "cpu" and minutes > 30:
        message += (" That is long for a CPU: try the fast settings (--image-size 96 --batch-size 2 "
                    "--steps 2000), or a GPU.")
    say(message)


@torch.no_grad()
def save_sample(model: nn.Module, sample: torch.Tensor, path: Path, device: torch.device) -> None:
    was_training = model.training
    model.eval()
    sample = sample.to(device)
    styles = getattr(model, "styles", 1)
    if styles > 1:  # one network of several styles: the sample in each of them, side by side
        output = torch.cat([model(sample, style=s) for s in range(styles)], dim=-1)
    else:
        output = model(sample)
    save_image(output.float().clamp(0, 1).cpu(), path)
    model.train(was_training)
