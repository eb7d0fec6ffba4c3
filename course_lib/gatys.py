"""Optimisation-based style transfer (Gatys, Ecker & Bethge 2016): the paper's baseline (§4.1).

The image ŷ itself is optimised to minimise eq. 5 (:class:`course_lib.objectives.PerceptualObjective`)
by L-BFGS (as in Gatys et al. and the paper's baseline) or Adam. Each step needs a forward and
a backward pass through VGG, stopped at the deepest layer the objective uses: this is what the
feed-forward network of §4 avoids.
"""

from __future__ import annotations

import math
import time
from typing import Callable, Iterable, Mapping

import torch
from torch import nn

from .config import device_of, say
from .config import progress as progress_bar
from .objectives import LossWeights, PerceptualObjective, style_weights
from .vgg import CONTENT_LAYERS, STYLE_LAYERS

LossFn = Callable[[torch.Tensor], tuple[torch.Tensor, dict]]
Callback = Callable[[int, torch.Tensor, dict], None]


def make_closure(optimizer: torch.optim.Optimizer, image: torch.Tensor, loss_fn: LossFn) -> Callable[[], torch.Tensor]:
    """The closure L-BFGS calls (possibly several times per step): zero the image's gradient,
    compute the loss, backpropagate, return the loss."""
    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        total, _ = loss_fn(image)
        total.backward()
        return total
    return closure


def stylize(content: torch.Tensor, style: torch.Tensor, *, loss_net: nn.Module,
            weights: LossWeights | None = None, steps: int = 500, optimizer: str = "lbfgs",
            lr: float | None = None, init: str | torch.Tensor = "content",
            content_layers: Iterable[str] = CONTENT_LAYERS, style_layers: Iterable[str] = STYLE_LAYERS,
            style_layer_weights: Mapping[str, float] | None = None, project: bool = False,
            objective: LossFn | None = None, closure: Callable = make_closure,
            callback: Callback | None = None, callback_every: int = 10, seed: int = 0,
            progress: bool = True) -> tuple[torch.Tensor, list[dict[str, float]]]:
    """Stylise ``content`` (1×3×H×W in [0, 1]) with ``style`` by optimising the image.

    ``optimizer``: ``"lbfgs"`` (one L-BFGS iteration per step, curvature history kept across
    steps) or ``"adam"`` (``lr`` default 0.02). Adam's image is clamped to [0, 1] after every
    step; L-BFGS's only at the end, unless ``project`` (the paper's baseline: clip after every
    iteration, which disturbs L-BFGS's curvature estimate). ``init``: ``"content"``, ``"noise"``
    (seeded uniform) or a tensor, e.g. a previous result, to continue where it stopped.
    ``objective``: a function image → (total, parts) replacing eq. 5 (a student's own);
    ``closure``: the factory of the L-BFGS closure, as :func:`make_closure`.
    ``callback(step, image, parts)`` runs every ``callback_every`` steps and at the end.

    Returns the image (clamped to [0, 1]) and the loss history: one dict per step with the
    weighted loss terms, the ``total`` and the elapsed ``seconds``. Ctrl-C (KeyboardInterrupt)
    stops early and returns what there is; a non-finite loss raises ``FloatingPointError``
    naming the step and the weights.
    """
    device = device_of(loss_net)
    content, style = content.to(device), style.to(device)
    weights = style_weights(loss_net) if weights is None else weights
    if objective is None:
        eq5 = PerceptualObjective(loss_net, style, weights, content_layers, style_layers, style_layer_weights)
        targets = eq5.targets(content)
        objective = lambda image: eq5(image, targets, content)  # noqa: E731
    if isinstance(init, torch.Tensor):
        start = init.detach().to(device)
    elif init == "content":
        start = content
    elif init == "noise":
        generator = torch.Generator().manual_seed(seed)
        start = torch.rand(content.shape, generator=generator).to(device)
    else:
        raise ValueError(f"init must be 'content', 'noise' or a tensor, got {init!r}")
    image = start.clone().requires_grad_(True)
    if optimizer == "lbfgs":
        opt = torch.optim.LBFGS([image], lr=lr or 1.0, max_iter=1, history_size=50)
    elif optimizer == "adam":
        opt = torch.optim.Adam([image], lr=lr or 0.02)
    else:
        raise ValueError(f"optimizer must be 'lbfgs' or 'adam', got {optimizer!r}")

    last: dict[str, torch.Tensor] = {}

    def recorded(img: torch.Tensor):
        total, parts = objective(img)
        last.update({k: v.detach() for k, v in parts.items()}, total=total.detach())
        return total, parts

    step_fn = closure(opt, image, recorded)
    history: list[dict[str, float]] = []
    began = time.perf_counter()
    bar = progress_bar(range(1, steps + 1), desc=f"Gatys ({optimizer})", disable=not progress)
    try:
        for step in bar:
            opt.step(step_fn)
            if optimizer == "adam" or project:
                with torch.no_grad():
                    image.clamp_(0, 1)
            parts = {k: float(v) for k, v in last.items()}
            if not all(math.isfinite(v) for v in parts.values()):
                raise FloatingPointError(f"loss became non-finite at step {step} ({parts}); lower lr or "
                                         f"the weights ({weights})")
            history.append({"step": step, **parts, "seconds": time.perf_counter() - began})
            bar.set_postfix(total=f"{parts['total']:.4g}", refresh=False)
            if callback and (step % callback_every == 0 or step == steps):
                callback(step, image.detach().clamp(0, 1), parts)
    except KeyboardInterrupt:
        say(f"Interrupted after {len(history)} steps; pass init=<returned image> to continue.")
    finally:
        bar.close()
    return image.detach().clamp(0, 1), history
