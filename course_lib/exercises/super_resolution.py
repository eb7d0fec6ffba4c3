"""The exercises of notebook 5: the degradation, SRCNN's forward pass, the network, the ℓ_feat
objective."""

from __future__ import annotations

import torch
from torch import nn

from ..config import device_of
from .engine import Exercise, features, gen, loss_and_parts, same_function, swapped


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


def sr_network_exercise() -> Exercise:
    """``sr_layers(scale, channels, blocks)`` → the super-resolution network in plain layers
    (notebook 5), its last conv starting at zero; checked like notebook 4's network."""
    from ..architectures import build
    from ..networks import ResidualBlock, ScaledTanh
    from ..plain import plain_sr_layers

    def run(factory):
        torch.manual_seed(0)
        layers = factory(scale=4, channels=8, blocks=2)
        last = [m for m in layers.modules() if isinstance(m, nn.Conv2d)][-1:]
        if not last or last[0].weight.any() or (last[0].bias is not None and last[0].bias.any()):
            raise ValueError("the last convolution must start at zero (torch.nn.init.zeros_ on its weight and "
                             "bias): its output is added to the bicubic enlargement, so the untrained network is "
                             "then exactly bicubic")
        return same_function(build("sr", scale=4, channels=8, blocks=2).layers, layers,
                             features(1, 3, 12, 12, seed=6), "at ×4 (log2 4 = 2 upsampling stages) with 8 channels and 2 residual blocks")

    def transposed(scale, channels, blocks):
        layers = plain_sr_layers(scale, channels, blocks)
        for i, m in enumerate(layers):
            if isinstance(m, nn.Sequential) and isinstance(m[0], nn.Upsample):
                layers[i] = nn.ConvTranspose2d(channels, channels, 3, stride=2, padding=1, output_padding=1)
        return layers
    return Exercise(plain_sr_layers, run=run, threshold=1e-4, mistakes=[
        (swapped(plain_sr_layers, nn.BatchNorm2d, lambda m: nn.InstanceNorm2d(m.num_features, affine=True)),
         "super-resolution keeps the paper's batch norm (nn.BatchNorm2d; Question 2 below says why), not "
         "instance norm"),
        (swapped(plain_sr_layers, ResidualBlock, lambda m: ResidualBlock(m.body[0][1].in_channels)),
         "the residual blocks need batch norm too: ResidualBlock(channels, \"batch\") (its default is notebook 4's "
         "instance norm)"),
        (transposed, "the course upsamples with nearest-neighbour, then a 3×3 conv (no checkerboard); the paper's "
                     "stride-½ convolutions are what it replaces"),
        (lambda scale, channels, blocks: nn.Sequential(*plain_sr_layers(scale, channels, blocks), ScaledTanh()),
         "no scaled tanh at the end: the course's network adds its last conv's output to the bicubic "
         "enlargement (the paper's network, without that skip, ends with the tanh)")])
