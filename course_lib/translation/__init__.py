"""Image-to-image translation after perceptual losses (notebook 6): pix2pix, pix2pixHD's
additions, CycleGAN. One module per job: :mod:`.networks`, :mod:`.losses`, :mod:`.objectives`,
:mod:`.data`.

- pix2pix (Isola et al., CVPR 2017): a U-Net generator (:class:`UNetGenerator`) and a 70×70
  PatchGAN (:class:`PatchDiscriminator`) that sees input and output together; loss cGAN + λ·L1
  with λ = 100.
- pix2pixHD (Wang et al., CVPR 2018): three discriminators at 1, ½ and ¼ resolution
  (:class:`MultiScaleDiscriminator`), a feature-matching loss on their features, and a VGG
  perceptual loss — this paper's ℓ_feat.
- CycleGAN (Zhu et al., ICCV 2017): unpaired; two generators, which are Johnson et al.'s
  transformation network (:class:`course_lib.networks.TransformerNet`), two PatchGANs, an LSGAN
  objective, the cycle loss (λ = 10) and an optional identity loss, and a history of generated
  images for the discriminators.

Both train in the course's one loop (:func:`course_lib.train.train`): their objectives yield a
discriminator step and a generator step, each with its own optimiser.
"""

from .data import TASKS, PairedDataset, UnpairedDataset, make_input
from .losses import cycle_loss, discriminator_loss, feature_matching_loss, gan_loss, generator_loss, identity_loss
from .networks import (
                       CycleGAN,
                       ImagePool,
                       MultiScaleDiscriminator,
                       PatchDiscriminator,
                       Pix2Pix,
                       UNetGenerator,
                       layer_receptive_field,
                       measured_receptive_field,
                       patch_layers,
)
from .objectives import HD_LAYERS, VARIANTS, CycleGANObjective, Pix2PixObjective

__all__ = ["TASKS", "PairedDataset", "UnpairedDataset", "make_input", "cycle_loss", "discriminator_loss",
           "feature_matching_loss", "gan_loss", "generator_loss", "identity_loss", "CycleGAN", "ImagePool",
           "MultiScaleDiscriminator", "PatchDiscriminator", "Pix2Pix", "UNetGenerator", "layer_receptive_field",
           "measured_receptive_field", "patch_layers", "HD_LAYERS", "VARIANTS", "CycleGANObjective", "Pix2PixObjective"]
