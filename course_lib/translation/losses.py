"""The losses of notebook 6's models: adversarial (cross-entropy or least squares), pix2pix's
generator and discriminator losses, pix2pixHD's feature matching, CycleGAN's cycle and identity."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..hparams import GAN_MODES, TranslationWeights


def gan_loss(prediction: torch.Tensor, real: bool, mode: str = "vanilla") -> torch.Tensor:
    """The adversarial loss of a discriminator's ``prediction`` against the label ``real``:
    ``vanilla`` is the cross-entropy of GANs and pix2pix; ``lsgan`` the least-squares loss of
    CycleGAN (Mao et al. 2017), steadier gradients."""
    target = torch.full_like(prediction, 1.0 if real else 0.0)
    if mode == "vanilla":
        return F.binary_cross_entropy_with_logits(prediction.float(), target.float())
    if mode == "lsgan":
        return F.mse_loss(prediction.float(), target.float())
    raise ValueError(f"mode must be one of {GAN_MODES}, got {mode!r}")


def feature_matching_loss(real_features: list[torch.Tensor], fake_features: list[torch.Tensor]) -> torch.Tensor:
    """pix2pixHD's feature matching: the mean L1 distance between a discriminator's activations
    for the real and for the generated image, over its layers (the real ones are targets)."""
    return sum(F.l1_loss(f.float(), r.detach().float()) for r, f in zip(real_features, fake_features)) / len(real_features)


def cycle_loss(original: torch.Tensor, reconstructed: torch.Tensor) -> torch.Tensor:
    """CycleGAN's cycle-consistency loss: ‖F(G(x)) − x‖₁, the mean absolute difference."""
    return F.l1_loss(reconstructed, original)


def identity_loss(image: torch.Tensor, mapped: torch.Tensor) -> torch.Tensor:
    """CycleGAN's identity loss: a generator given an image of its own output domain should
    leave it unchanged, ‖G(y) − y‖₁ (keeps colours; weighted 0.5·λ_cyc on some tasks)."""
    return F.l1_loss(mapped, image)


def generator_loss(prediction: torch.Tensor, fake: torch.Tensor, target: torch.Tensor, weights: TranslationWeights,
                   mode: str = "vanilla") -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """pix2pix's generator loss at one discriminator scale: λ_GAN·cGAN, the discriminator's
    ``prediction`` on the generated pair against the label *real*, + λ_L1·‖y − G(x)‖₁."""
    parts = {"G_GAN": weights.gan * gan_loss(prediction, True, mode),
             "G_L1": weights.l1 * F.l1_loss(fake.float(), target.float())}
    return sum(parts.values()), parts


def discriminator_loss(prediction_real: torch.Tensor, prediction_fake: torch.Tensor,
                       mode: str = "vanilla") -> torch.Tensor:
    """pix2pix's discriminator loss at one scale, halved (to slow the discriminator down): real
    pairs → 1, generated pairs → 0."""
    return 0.5 * (gan_loss(prediction_real, True, mode) + gan_loss(prediction_fake, False, mode))
