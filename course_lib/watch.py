"""What a checkpoint warns of: a loss that jumps (the checkpoint from before it is then kept) and
ReLU layers that no longer fire. Both are how ``sr8-feat``'s first run collapsed: its loss went from
about 0.08 to 0.37 in one step, and its last upsampling ReLU never fired again, so the network
added nothing to its bicubic skip (benchmarks/RESULTS.md)."""

from __future__ import annotations

import os
import shutil
import statistics
from pathlib import Path

import torch
from torch import nn

from .config import short_path

# A window's median loss this many times the window's before it is a jump.
JUMP = 3.0


def loss_jump(history: list[dict], window: int) -> tuple[float, float] | None:
    """The median total loss of the window of ``window`` steps before the last one, and the
    larger of the last window's median and its last three logs' (a jump near its end), when that
    is more than :data:`JUMP` times the first; else None (also with too few logs, and for a run of
    several optimiser groups, a GAN, whose losses move against each other)."""
    logged = [(h["step"], h["total"]) for h in history if "total" in h]
    if not logged:
        return None
    end = logged[-1][0]
    now = [loss for step, loss in logged if step > end - window]
    before = [loss for step, loss in logged if end - 2 * window < step <= end - window]
    if not before:
        return None
    pair = statistics.median(before), max(statistics.median(now), statistics.median(now[-3:]))
    return pair if pair[1] > JUMP * pair[0] else None


def keep_before_jump(path: Path, history: list[dict], window: int, step: int) -> Path | None:
    """Before ``path`` is overwritten at ``step``: if the loss jumped over the last ``window``
    steps, keep the checkpoint from before the jump beside it (a hard link where the file system
    has them: the atomic write then replaces only the name) and return where."""
    jump = loss_jump(history, window) if path.exists() else None
    if jump is None:
        return None
    kept = path.with_name(f"{path.stem}-before-jump-at-{step}{path.suffix}")
    try:
        os.link(path, kept)
    except OSError:
        shutil.copy2(path, kept)
    return kept


def dead_relus(model: nn.Module, sample: torch.Tensor) -> list[str]:
    """The names of ``model``'s ReLU modules that output no positive value on ``sample`` (in
    eval mode, in each of its styles): a layer that passes nothing on. Neither the weights, the
    normalisation statistics nor the random numbers change, so a run still resumes exactly."""
    fired: dict[str, bool] = {}

    def hook(name: str):
        return lambda module, inputs, output: fired.update({name: fired.get(name, False) or bool((output > 0).any())})
    hooks = [m.register_forward_hook(hook(n)) for n, m in model.named_modules() if isinstance(m, nn.ReLU)]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            styles = getattr(model, "styles", 1)
            for style in range(styles):
                model(sample, style=style) if styles > 1 else model(sample)
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    return [name for name, any_fired in fired.items() if not any_fired]


def checkpoint_warnings(path: Path, history: list[dict], window: int, step: int, model: nn.Module,
                        sample: torch.Tensor | None) -> list[str]:
    """The warnings of a checkpoint about to be written to ``path`` at ``step`` (``window``: the
    steps between checkpoints): a loss jump, whose checkpoint from before is kept
    (:func:`keep_before_jump`), and dead ReLUs on the run's sample image (:func:`dead_relus`)."""
    warnings = []
    kept = keep_before_jump(path, history, window, step)
    if kept:
        warnings.append(f"warning: the loss jumped (its median over the last {window} steps is more than {JUMP:g}× "
                        f"the {window} before); the checkpoint from before it is kept as {short_path(kept)}. If the "
                        f"run does not recover, fine-tune from it at a lower learning rate (--init).")
    dead = dead_relus(model, sample) if sample is not None else []
    if dead:
        warnings.append(f"warning: at step {step} the ReLU layer(s) {', '.join(dead)} output zero everywhere on the "
                        f"sample image: they pass nothing on. If the next checkpoints say so too, the run has "
                        f"collapsed; fine-tune from an earlier checkpoint at a lower learning rate (--init).")
    return warnings
