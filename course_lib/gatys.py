"""Optimisation-based style transfer (Gatys, Ecker & Bethge 2016): the paper's baseline (§4.1).

The image ŷ itself is optimised to minimise
    λ_c ℓ_feat(ŷ, y_c) + λ_s ℓ_style(ŷ, y_s) + λ_TV ℓ_TV(ŷ)        (paper eq. 5 with the losses of §3)
by L-BFGS (as in Gatys et al. and the paper's baseline) or Adam. Each step needs a forward and
a backward pass through VGG: this is what the feed-forward network of §4 avoids.
"""

from __future__ import annotations

import math
import time
from typing import Callable, Sequence

import torch
from tqdm.auto import tqdm

from .losses import feature_loss, gram_matrix, style_loss, tv_loss
from .vgg import VGGFeatures

CONTENT_LAYERS = ("relu2_2",)  # paper §4.1 (the authors' Lua code uses relu3_3)
STYLE_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")

Callback = Callable[[int, torch.Tensor, dict], None]


class StyleObjective:
    """The weighted loss of eq. 5 for one content and one style image; targets computed once."""

    def __init__(self, loss_net: VGGFeatures, content: torch.Tensor, style: torch.Tensor, *,
                 content_weight: float, style_weight: float, tv_weight: float,
                 content_layers: Sequence[str] = CONTENT_LAYERS,
                 style_layers: Sequence[str] = STYLE_LAYERS) -> None:
        missing = (set(content_layers) | set(style_layers)) - set(loss_net.layers)
        if missing:
            raise ValueError(f"the loss network does not compute layers {sorted(missing)}")
        self.loss_net, self.content_layers, self.style_layers = loss_net, tuple(content_layers), tuple(style_layers)
        self.weights = (content_weight, style_weight, tv_weight)
        with torch.no_grad():
            feats = loss_net(content)
            self.content_targets = {k: feats[k] for k in self.content_layers}
            style_feats = loss_net(style)
            self.style_targets = {k: gram_matrix(style_feats[k]) for k in self.style_layers}

    def __call__(self, image: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        feats = self.loss_net(image)
        wc, ws, wtv = self.weights
        content = sum(feature_loss(feats[k], t) for k, t in self.content_targets.items())
        style = style_loss(feats, self.style_targets)
        tv = tv_loss(image)
        total = wc * content + ws * style + wtv * tv
        parts = {"content": wc * content.item(), "style": ws * style.item(), "tv": wtv * tv.item(),
                 "total": total.item()}
        return total, parts


def stylize(content: torch.Tensor, style: torch.Tensor, *, loss_net: VGGFeatures,
            content_weight: float = 1.0, style_weight: float = 5.0, tv_weight: float = 1e-5,
            steps: int = 500, optimizer: str = "lbfgs", lr: float | None = None,
            init: str | torch.Tensor = "content", content_layers: Sequence[str] = CONTENT_LAYERS,
            style_layers: Sequence[str] = STYLE_LAYERS, callback: Callback | None = None,
            callback_every: int = 10, seed: int = 0, progress: bool = True,
            ) -> tuple[torch.Tensor, list[dict[str, float]]]:
    """Stylise ``content`` (1×3×H×W in [0, 1]) with ``style`` by optimising the image.

    ``optimizer``: ``"lbfgs"`` (one L-BFGS iteration per step, curvature history kept across
    steps; the image is clamped to [0, 1] only at the end, as clamping
    mid-run corrupts L-BFGS's curvature estimate) or ``"adam"`` (``lr`` default 0.02, the image
    clamped to [0, 1] after every step). ``init``: ``"content"``, ``"noise"`` (seeded uniform) or a
    tensor, e.g. a previous result, to continue where it stopped. ``callback(step, image, parts)``
    runs every ``callback_every`` steps and at the end.

    Returns the image (clamped to [0, 1]) and the loss history: one dict per step with the
    weighted ``content``, ``style``, ``tv`` and ``total`` losses and the elapsed ``seconds``.
    Ctrl-C (KeyboardInterrupt) stops early and returns what there is; a non-finite loss raises
    ``FloatingPointError`` naming the step and the weights.
    """
    device = next(loss_net.buffers()).device
    content, style = content.to(device), style.to(device)
    objective = StyleObjective(loss_net, content, style, content_weight=content_weight,
                               style_weight=style_weight, tv_weight=tv_weight,
                               content_layers=content_layers, style_layers=style_layers)
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

    history: list[dict[str, float]] = []
    parts: dict[str, float] = {}

    def closure() -> torch.Tensor:
        nonlocal parts
        opt.zero_grad()
        total, parts = objective(image)
        total.backward()
        return total

    began = time.perf_counter()
    bar = tqdm(range(1, steps + 1), desc=f"Gatys ({optimizer})", disable=not progress)
    try:
        for step in bar:
            opt.step(closure)
            if optimizer == "adam":
                with torch.no_grad():
                    image.clamp_(0, 1)
            if not all(math.isfinite(v) for v in parts.values()):
                raise FloatingPointError(
                    f"loss became non-finite at step {step} ({parts}); lower lr or the weights "
                    f"(content {content_weight}, style {style_weight}, tv {tv_weight})")
            history.append({"step": step, **parts, "seconds": time.perf_counter() - began})
            bar.set_postfix(total=f"{parts['total']:.4g}")
            if callback and (step % callback_every == 0 or step == steps):
                callback(step, image.detach().clamp(0, 1), parts)
    except KeyboardInterrupt:
        print(f"Interrupted after {len(history)} steps; pass init=<returned image> to continue.")
    finally:
        bar.close()
    return image.detach().clamp(0, 1), history
