"""The objectives of notebook 6: pix2pix (and pix2pixHD's additions) and CycleGAN, each
yielding a discriminator step and a generator step for the course's one loop."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from functools import partial

import torch
import torch.nn.functional as F

from ..hashing import function_sha256
from ..hparams import CYCLEGAN, GAN_MODES, PIX2PIX, PIX2PIX_HD_WEIGHTS, PIX2PIX_WEIGHTS, TranslationWeights
from ..objectives import LossWeights, Objective, Parts, PerceptualObjective, translation_vgg_scale
from ..vgg import VGGFeatures
from .losses import cycle_loss, discriminator_loss, feature_matching_loss, gan_loss, generator_loss, identity_loss
from .networks import CycleGAN, Pix2Pix

HD_LAYERS = {"relu1_1": 1 / 32, "relu2_1": 1 / 16, "relu3_1": 1 / 8, "relu4_1": 1 / 4, "relu5_1": 1.0}  # pix2pixHD


VARIANTS = {"L1 only": TranslationWeights(gan=0.0), "L1 + GAN (pix2pix)": PIX2PIX_WEIGHTS,
            "L1 + GAN + VGG + FM (pix2pixHD's additions)": PIX2PIX_HD_WEIGHTS}


class Pix2PixObjective(Objective):
    """pix2pix's objective (and pix2pixHD's additions): for a batch of (input x, target y)
    pairs, a discriminator step on D(x, y) → real and D(x, G(x)) → fake (halved, as pix2pix
    does), then a generator step on ``weights``. With λ_GAN = λ_FM = 0 there is no
    discriminator step: plain L1 regression."""

    def __init__(self, weights: TranslationWeights = PIX2PIX_WEIGHTS, mode: str = PIX2PIX.course.gan_mode,
                 loss_net: VGGFeatures | None = None, generator_fn=None, discriminator_fn=None) -> None:
        super().__init__()
        if mode not in GAN_MODES:
            raise ValueError(f"mode must be one of {GAN_MODES}, got {mode!r}")
        self.weights, self.mode = weights, mode
        # a student's own losses for one discriminator: generator_fn(prediction on the fake pair,
        # fake, target, weights) → (loss, parts); discriminator_fn(prediction real, prediction fake) → loss
        self.generator_fn, self.discriminator_fn = generator_fn, discriminator_fn
        self.perceptual, self.vgg_scale = None, 1.0
        if weights.vgg:
            if loss_net is None:
                raise ValueError("the VGG term needs a loss network; pass loss_net=")
            self.vgg_scale = translation_vgg_scale(loss_net)
            self.perceptual = PerceptualObjective(loss_net, weights=LossWeights(content=weights.vgg * self.vgg_scale,
                                                                               style=0, tv=0),
                                                  content_layers=tuple(HD_LAYERS), content_layer_weights=HD_LAYERS)

    @property
    def adversarial(self) -> bool:
        return bool(self.weights.gan or self.weights.feature_matching)

    def groups(self, model: Pix2Pix) -> dict:
        return {"discriminator": model.discriminator.parameters(), "generator": model.generator.parameters()}

    def discriminator_loss(self, model: Pix2Pix, x: torch.Tensor, y: torch.Tensor, fake: torch.Tensor):
        """pix2pix's discriminator loss (:func:`discriminator_loss`, or a student's), averaged over the scales."""
        real = model.discriminator(torch.cat([x, y], 1), features=False)
        generated = model.discriminator(torch.cat([x, fake.detach()], 1), features=False)
        one_scale = self.discriminator_fn or partial(discriminator_loss, mode=self.mode)
        loss = sum(one_scale(r, g) for r, g in zip(real, generated)) / len(real)
        return loss, {"D": loss}

    def generator_loss(self, model: Pix2Pix, x: torch.Tensor, y: torch.Tensor, fake: torch.Tensor):
        """:func:`generator_loss` (or a student's) averaged over the scales, + λ_FM·feature
        matching + λ_VGG·ℓ_feat; with λ_GAN = λ_FM = 0, L1 alone and no discriminator."""
        w = self.weights
        if not self.adversarial and self.generator_fn is None:
            loss = w.l1 * F.l1_loss(fake.float(), y.float())
            parts: Parts = {"G_L1": loss}
        else:
            one_scale = self.generator_fn or partial(generator_loss, mode=self.mode)
            model.discriminator.requires_grad_(False)  # its gradients are not needed for this step
            generated = model.discriminator(torch.cat([x, fake], 1))
            results = [one_scale(prediction, fake, y, w) for prediction, _ in generated]
            loss = sum(scale_loss for scale_loss, _ in results) / len(results)
            parts = {k: sum(p[k] for _, p in results) / len(results) for k in results[0][1]}
            if w.feature_matching:
                with torch.no_grad():
                    real = model.discriminator(torch.cat([x, y], 1))
                parts["G_FM"] = w.feature_matching * sum(feature_matching_loss(r, g) for (_, r), (_, g)
                                                         in zip(real, generated)) / len(generated)
                loss = loss + parts["G_FM"]
            model.discriminator.requires_grad_(True)
        if self.perceptual is not None:
            parts["G_VGG"] = self.perceptual(fake, self.perceptual.targets(y))[0]
            loss = loss + parts["G_VGG"]
        return loss, parts

    def losses(self, model: Pix2Pix, batch) -> Iterator[tuple[str, torch.Tensor, Parts]]:
        x, y = batch
        fake = model.generator(x)
        if self.adversarial:
            yield ("discriminator", *self.discriminator_loss(model, x, y, fake))
        yield ("generator", *self.generator_loss(model, x, y, fake))

    def settings(self) -> dict:
        scaled = {"vgg_scale": self.vgg_scale} if self.vgg_scale != 1.0 else {}  # (runs before it keep their key)
        return {"objective": "pix2pix", "weights": asdict(self.weights), "mode": self.mode,
                "loss_net": None if self.perceptual is None else self.perceptual.loss_net.identity,
                "own_losses": [function_sha256(f) for f in (self.generator_fn, self.discriminator_fn) if f], **scaled}


class CycleGANObjective(Objective):
    """CycleGAN's objective for unpaired batches (a, b): the generators' step on LSGAN
    adversarial losses + λ_cyc·(‖F(G(a)) − a‖₁ + ‖G(F(b)) − b‖₁) + λ_id·identity, then the
    discriminators' step on real images against generated ones from the histories (halved)."""

    def __init__(self, cycle: float = CYCLEGAN.course.cycle, identity: float = CYCLEGAN.course.identity,
                 mode: str = "lsgan", cycle_fn=cycle_loss) -> None:
        super().__init__()
        self.cycle, self.identity, self.mode = cycle, identity, mode
        self.cycle_fn = cycle_fn  # (original, reconstructed) → loss; a student's own in notebook 6

    def groups(self, model: CycleGAN) -> dict:
        return {"generator": [*model.g_ab.parameters(), *model.g_ba.parameters()],
                "discriminator": [*model.d_a.parameters(), *model.d_b.parameters()]}

    def losses(self, model: CycleGAN, batch) -> Iterator[tuple[str, torch.Tensor, Parts]]:
        a, b = batch
        fake_b, fake_a = model.g_ab(a), model.g_ba(b)
        for d in (model.d_a, model.d_b):
            d.requires_grad_(False)
        parts: Parts = {"G_GAN": gan_loss(model.d_b(fake_b), True, self.mode) + gan_loss(model.d_a(fake_a), True, self.mode),
                        "G_cycle": self.cycle * (self.cycle_fn(a, model.g_ba(fake_b)) + self.cycle_fn(b, model.g_ab(fake_a)))}
        if self.identity:
            parts["G_identity"] = self.identity * (identity_loss(b, model.g_ab(b)) + identity_loss(a, model.g_ba(a)))
        for d in (model.d_a, model.d_b):
            d.requires_grad_(True)
        yield "generator", sum(parts.values()), parts
        old_b, old_a = model.pool_b(fake_b), model.pool_a(fake_a)
        d_loss = 0.5 * (gan_loss(model.d_b(b), True, self.mode) + gan_loss(model.d_b(old_b), False, self.mode)
                        + gan_loss(model.d_a(a), True, self.mode) + gan_loss(model.d_a(old_a), False, self.mode))
        yield "discriminator", d_loss, {"D": d_loss}

    def settings(self) -> dict:
        return {"objective": "cyclegan", "cycle": self.cycle, "identity": self.identity, "mode": self.mode,
                "cycle_loss": function_sha256(self.cycle_fn)}
