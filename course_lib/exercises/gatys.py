"""The exercises of notebook 3: eq. 5 for one image, and L-BFGS's closure."""

from __future__ import annotations

import torch

from ..config import device_of
from .engine import Exercise, gen, loss_and_parts, small_problem


def closure_exercise() -> Exercise:
    """``make_closure(optimizer, image, loss_fn)`` for L-BFGS (notebook 3), run for three
    L-BFGS steps on a small problem; the resulting image is compared."""
    from ..gatys import make_closure

    def run(factory):
        start, target = small_problem()
        image = start.clone().requires_grad_(True)
        optimizer = torch.optim.LBFGS([image], max_iter=1)
        closure = factory(optimizer, image, lambda img: (((img - target) ** 2).sum() + img.pow(4).sum(), {}))
        for _ in range(3):
            optimizer.step(closure)
        return image.detach()

    def no_zero_grad(optimizer, image, loss_fn):
        def closure():
            total, _ = loss_fn(image)
            total.backward()
            return total
        return closure
    return Exercise(make_closure, run=run, mistakes=[
        (no_zero_grad, "the gradients accumulate from call to call: call optimizer.zero_grad() at the start of "
                       "the closure")])


def gatys_objective_exercise(loss_net) -> Exercise:
    """``gatys_objective(image, loss_net, content_targets, style_grams, weights)`` → (total,
    parts): eq. 5 (notebook 3), compared on a small image with ``loss_net``."""
    from ..objectives import LossWeights, PerceptualObjective

    device = device_of(loss_net)

    def inputs():
        g = gen(5)
        content, style, image = (torch.rand(1, 3, 32, 32, generator=g).to(device) for _ in range(3))
        weights = LossWeights(content=2.0, style=30.0, tv=1e-3)
        eq5 = PerceptualObjective(loss_net, style, weights)
        return image, loss_net, eq5.targets(content), eq5.grams, weights

    def reference(image, net, targets, grams, weights):
        return PerceptualObjective(net, weights=weights, style_grams=grams)(image, targets)

    def without(term):
        def mistake(image, net, targets, grams, weights):
            from dataclasses import replace
            return reference(image, net, targets, grams, replace(weights, **{term: 0.0}))
        return mistake
    return Exercise(reference, inputs, compare=loss_and_parts, threshold=1e-4, mistakes=[
        (without("tv"), "the TV term λ_TV·ℓ_TV(ŷ) is missing"),
        (without("style"), "the style term λ_s·ℓ_style is missing"),
        (without("content"), "the content term λ_c·ℓ_feat is missing")])
