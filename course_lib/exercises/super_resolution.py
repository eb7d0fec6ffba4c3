"""The exercises of notebook 5: the degradation, the ℓ_feat objective, SRCNN's forward pass."""

from __future__ import annotations

import torch

from ..config import device_of
from .engine import Exercise, features, gen, loss_and_parts


def degrade_exercise() -> Exercise:
    """``degrade(hr, scale, blur)``: the paper's LR input (notebook 5)."""
    from torchvision.transforms import functional as TF

    from ..images import resize
    from ..sr import degrade

    def inputs():
        coarse = torch.rand(1, 3, 16, 16, generator=gen(3))
        return resize(coarse, (64, 64), "bicubic"), 4, 1.0
    return Exercise(degrade, inputs, threshold=1e-3, mistakes=[
        (lambda hr, s, b: degrade(hr, s, 0.0), "the Gaussian blur (σ = 1) before the downsampling is missing"),
        (lambda hr, s, b: TF.gaussian_blur(resize(hr, (hr.shape[-2] // s, hr.shape[-1] // s), "bicubic"), 7, b),
         "blur first, then downsample: the blur stands for the camera's optics, before the sampling"),
        (lambda hr, s, b: resize(TF.gaussian_blur(hr, 7, b), (hr.shape[-2] // s, hr.shape[-1] // s), "bilinear"),
         "the paper downsamples with bicubic interpolation, not bilinear")])


def sr_objective_exercise(loss_net) -> Exercise:
    """``make_sr_objective(loss_net, degrade_fn, tv_weight)`` → ``objective(model, hr)`` →
    (total, parts): ℓ_feat at relu2_2 plus TV for super-resolution (notebook 5)."""
    from ..networks import SuperResolutionNet
    from ..objectives import LossWeights, PerceptualObjective
    from ..sr import Degradation, degrade

    device = device_of(loss_net)

    def run(factory):
        torch.manual_seed(0)
        model = SuperResolutionNet(4, channels=8, blocks=1).to(device)
        hr = torch.rand(2, 3, 32, 32, generator=gen(4)).to(device)
        return loss_and_parts(factory(loss_net, lambda x: degrade(x, 4, 1.0), 1e-4)(model, hr))

    def reference(net, degrade_fn, tv_weight):
        return PerceptualObjective(net, weights=LossWeights(content=1.0, style=0.0, tv=tv_weight),
                                   input_transform=Degradation(4, 1.0)).loss

    def pixel_instead(net, degrade_fn, tv_weight):
        return PerceptualObjective(weights=LossWeights(content=0.0, style=0.0, tv=tv_weight, pixel=1.0),
                                   input_transform=Degradation(4, 1.0)).loss
    return Exercise(reference, run=run, threshold=1e-4, mistakes=[
        (pixel_instead, "that is ℓ_pixel: compare φ_relu2_2 of the output with φ_relu2_2 of the HR image")])


def srcnn_exercise() -> Exercise:
    """``srcnn_forward(net, lr)``: SRCNN's forward pass (notebook 5)."""
    from ..images import resize
    from ..networks import SRCNN

    def inputs():
        torch.manual_seed(0)
        return SRCNN(4, filters=(8, 4)).eval(), features(1, 3, 10, 12, seed=2)

    def enlarge(mode):
        return lambda net, x: net.layers(resize(x, (x.shape[-2] * 4, x.shape[-1] * 4), mode))
    return Exercise(lambda net, x: net(x), inputs, mistakes=[
        (lambda net, x: net.layers(x), "SRCNN works on the enlarged image: resize the input ×scale with bicubic "
                                       "interpolation first, then apply the three convolutions"),
        (enlarge("nearest"), "enlarge with bicubic interpolation, as SRCNN does, not nearest neighbour"),
        (enlarge("bilinear"), "enlarge with bicubic interpolation, as SRCNN does, not bilinear")])
