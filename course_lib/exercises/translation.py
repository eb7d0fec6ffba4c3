"""The exercises of notebook 6: the PatchGAN's receptive field, pix2pix's losses, CycleGAN's cycle loss."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..hparams import TranslationWeights
from .engine import Exercise, features, gen, loss_and_parts


def _catalogue() -> dict[str, Exercise]:
    from ..translation import cycle_loss, discriminator_loss, gan_loss, generator_loss, layer_receptive_field

    def g_inputs():
        g = gen(9)
        return (torch.randn(2, 1, 6, 6, generator=g), torch.rand(2, 3, 8, 8, generator=g),
                torch.rand(2, 3, 8, 8, generator=g), TranslationWeights(gan=2.0, l1=3.0))

    def d_inputs():
        g = gen(10)
        return torch.randn(2, 1, 6, 6, generator=g), torch.randn(2, 1, 6, 6, generator=g)

    def no_jumps(layers):
        return 1 + sum(k - 1 for k, _ in layers)

    def own_stride(layers):
        field, jump = 1, 1
        for k, s in layers:
            jump *= s
            field += (k - 1) * jump
        return field
    return {
        "receptive_field": Exercise(layer_receptive_field, lambda: ([(3, 1), (4, 2), (4, 2), (3, 1), (5, 2)],), [
            (no_jumps, "each layer's kernel spans pixels of its own input, which are the product of the earlier "
                       "strides apart in the image: multiply (k − 1) by that product"),
            (own_stride, "a layer's own stride does not widen its own window: multiply (k − 1) by the strides of "
                         "the layers *before* it")]),
        "generator_loss": Exercise(generator_loss, g_inputs, compare=loss_and_parts, threshold=1e-4, mistakes=[
            (lambda p, f, t, w: (w.gan * gan_loss(p, False) + w.l1 * F.l1_loss(f, t), {}),
             "the generator wants the discriminator to call its output *real*: use the label True (1)"),
            (lambda p, f, t, w: (w.gan * gan_loss(p, True) + w.l1 * F.mse_loss(f, t), {}),
             "pix2pix uses the L1 distance (mean absolute difference), not L2: L1 blurs less"),
            (lambda p, f, t, w: (gan_loss(p, True) + F.l1_loss(f, t), {}), "weight the terms: λ_GAN·cGAN + λ_L1·L1 (pix2pix: λ_L1 = 100)"),
            (lambda p, f, t, w: (w.l1 * F.l1_loss(f, t), {}), "the adversarial term λ_GAN·cGAN is missing")]),
        "discriminator_loss": Exercise(discriminator_loss, d_inputs, mistakes=[
            (lambda r, f: gan_loss(r, True) + gan_loss(f, False),
             "pix2pix halves the discriminator's loss, so that it learns more slowly than the generator"),
            (lambda r, f: 0.5 * (gan_loss(r, False) + gan_loss(f, True)),
             "the labels are swapped: real pairs are 1 (True), generated pairs 0 (False)")]),
        "cycle_loss": Exercise(cycle_loss, lambda: (features(2, 3, 8, 8, seed=11), features(2, 3, 8, 8, seed=12)), [
            (lambda a, b: F.mse_loss(b, a), "CycleGAN's cycle loss is L1 (mean absolute difference), not L2"),
            (lambda a, b: (a - b).abs().sum(), "average the absolute differences (.mean()), do not sum them")]),
    }


EXERCISES = _catalogue()
