"""The exercises of notebook 4: the residual block, the transformation network, the training
objective, one training step."""

from __future__ import annotations

import torch
from torch import nn

from ..config import device_of
from .engine import Exercise, features, gen, loss_and_parts, same_function, swapped


def residual_exercise() -> Exercise:
    """``residual_forward(block, x)`` for a :class:`course_lib.networks.ResidualBlock` (notebook 4)."""
    from ..networks import ResidualBlock

    def inputs():
        torch.manual_seed(0)
        return ResidualBlock(8).eval(), features(2, 8, 6, 6, seed=1)
    return Exercise(lambda block, x: block(x), inputs, mistakes=[
        (lambda block, x: block.body(x), "the identity is missing: a residual block returns x + F(x)"),
        (lambda block, x: torch.relu(x + block.body(x)), "no ReLU after the addition in the paper's residual "
                                                         "block (its supplementary Fig. 1): return x + F(x)")])


def network_exercise() -> Exercise:
    """``transformation_layers(width, blocks)`` → the style network in plain layers (notebook 4),
    checked by :func:`~course_lib.exercises.engine.same_function` against the course's network."""
    from ..architectures import build
    from ..plain import plain_layers

    def run(factory):
        torch.manual_seed(0)
        return same_function(build("style", width=8, blocks=2).layers, factory(width=8, blocks=2),
                             features(1, 3, 32, 32, seed=5), "with width 8 and 2 residual blocks")

    def unstrided(width, blocks):
        layers = plain_layers(width, blocks)
        for module in layers.modules():
            if isinstance(module, nn.Conv2d) and module.stride == (2, 2):
                module.stride = (1, 1)
        return layers
    return Exercise(plain_layers, run=run, threshold=1e-4, mistakes=[
        (swapped(plain_layers, nn.InstanceNorm2d, lambda m: nn.BatchNorm2d(m.num_features)),
         "the course's network uses instance norm (nn.InstanceNorm2d(c, affine=True)), not batch norm"),
        (swapped(plain_layers, nn.Upsample, lambda m: nn.Upsample(scale_factor=2, mode="bilinear")),
         "upsample with nearest-neighbour (mode='nearest'), then convolve: the course's u-layers"),
        (swapped(plain_layers, nn.ReflectionPad2d, lambda m: nn.ZeroPad2d(m.padding)),
         "pad by reflection (the course's conv(...)), not with zeros: zeros darken the borders"),
        (unstrided, "d64 and d128 halve the image: their 3×3 convs have stride 2"),
        (lambda width, blocks: plain_layers(width, blocks)[:-1],
         "the output layer is missing: a scaled tanh, (tanh(x) + 1) / 2, maps the last conv into [0, 1]")])


def training_objective_exercise(loss_net) -> Exercise:
    """``make_objective(loss_net, style, weights)`` → ``objective(model, x)`` → (total, parts),
    the feed-forward training objective (notebook 4); its total on a small network and batch is
    compared, and computing the style Gram matrices at every call is caught."""
    from ..networks import TransformerNet
    from ..objectives import LossWeights, PerceptualObjective

    device = device_of(loss_net)
    style = torch.rand(1, 3, 40, 40, generator=gen(7)).to(device)
    weights = LossWeights(content=1.0, style=20.0, tv=1e-2)
    style_passes = []

    class Counting(torch.nn.Module):
        """The loss network, counting the passes it makes over the style image."""

        def __init__(self):
            super().__init__()
            self.net, self.layers = loss_net, loss_net.layers

        def forward(self, images, layers=None):
            style_passes.append(images.shape[-1] == 40)
            return self.net(images, layers)

    def run(factory):
        style_passes.clear()
        torch.manual_seed(0)
        model = TransformerNet(width=4).to(device)
        batch = torch.rand(2, 3, 32, 32, generator=gen(8)).to(device)
        objective = factory(Counting(), style, weights)
        totals = [objective(model, batch) for _ in range(2)]
        if sum(style_passes) > 1:
            raise ValueError("it runs the loss network on the style image at every call: compute the style "
                             "image's Gram matrices once, in make_objective, outside the objective")
        return loss_and_parts(totals[0])

    def reference(net, style_image, w):
        return PerceptualObjective(net, style_image, w).loss

    def no_tv(net, style_image, w):
        from dataclasses import replace
        return reference(net, style_image, replace(w, tv=0.0))
    return Exercise(reference, run=run, threshold=1e-4, mistakes=[(no_tv, "the TV term is missing")])


def train_step_exercise() -> Exercise:
    """``train_step(model, loss_fn, optimizer, batch)`` → (loss, parts) (notebook 4), run for
    three steps on copies of one small model; the weights after them are compared."""
    from ..train import step

    def run(step_fn):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(4, 3, 1))
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
        batch = torch.rand(2, 3, 8, 8, generator=gen(2))

        def loss_fn(m, x):
            loss = (m(x) - x.flip(-1)).pow(2).mean()
            return loss, {"pixel": loss}
        for _ in range(3):
            returned = step_fn(model, loss_fn, optimizer, batch)
            loss_and_parts(returned)  # the loop logs what the step returns: (loss, parts), as loss_fn gave them
        return torch.cat([p.detach().flatten() for p in model.parameters()])

    def no_zero_grad(model, loss_fn, optimizer, batch):
        loss, parts = loss_fn(model, batch)
        loss.backward()
        optimizer.step()
        return loss, parts

    def step_first(model, loss_fn, optimizer, batch):
        optimizer.zero_grad()
        optimizer.step()
        loss, parts = loss_fn(model, batch)
        loss.backward()
        return loss, parts
    return Exercise(step, run=run, threshold=1e-5, mistakes=[
        (no_zero_grad, "gradients from the previous steps are added to this one's: call optimizer.zero_grad() "
                       "before loss.backward()"),
        (step_first, "optimizer.step() uses the gradients: call it after loss.backward(), not before")])
