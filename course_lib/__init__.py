"""course_lib: the helper library of the Perceptual Losses course.

Johnson, Alahi, Fei-Fei, "Perceptual Losses for Real-Time Style Transfer and
Super-Resolution", ECCV 2016. One small module per job:

- :mod:`course_lib.config`: device, fast/full mode, data folder, progress bars
- :mod:`course_lib.hparams`: every task's hyper-parameters, the paper's and the course's
- :mod:`course_lib.tasks`: one recipe per task (network, objective, data) from those
- :mod:`course_lib.images`: load, save, resize and show images as 1×3×H×W tensors in [0, 1]
- :mod:`course_lib.vgg`: the frozen loss network returning named activations; the paper's layers
- :mod:`course_lib.losses`: pixel, feature, Gram/style and total-variation losses
- :mod:`course_lib.objectives`: eq. 5, one objective for Gatys, style transfer and super-resolution
- :mod:`course_lib.downloads`: the manifest and checked, resumable downloads
- :mod:`course_lib.data`: where images come from (data folder, downloads, samples), random crops
- :mod:`course_lib.files`: atomic file writes, the run-folder lock
- :mod:`course_lib.gatys`: optimisation-based style transfer (the paper's baseline)
- :mod:`course_lib.networks`: the image transformation networks (style, super-resolution), SRCNN
- :mod:`course_lib.plain`: the same two networks in plain PyTorch layers (the exercises' answers)
- :mod:`course_lib.architectures`: every network by name
- :mod:`course_lib.translation`: notebook 6's networks, losses, objectives and data
- :mod:`course_lib.tiling`: large images in blended tiles
- :mod:`course_lib.train`, :mod:`course_lib.runs`, :mod:`course_lib.checkpoints`: the one training
  loop, what defines a run, the one checkpoint format
- :mod:`course_lib.sr`: super-resolution data, upscaling and evaluation
- :mod:`course_lib.metrics`: PSNR/SSIM on Y as super-resolution papers report them
- :mod:`course_lib.speed`: timing feed-forward against Gatys (the paper's Table 1)
- :mod:`course_lib.widgets`: the interactive panels
- :mod:`course_lib.exercises`: check cells for the notebooks' exercises
- :mod:`course_lib.cli`: the command line (``python -m course_lib``)
"""

from __future__ import annotations

from . import config, data, images, losses, vgg, vgg_weights
from .images import load_image, save_image, show_images
from .vgg import VGGFeatures

__version__ = "0.1.0"
__all__ = ["config", "data", "images", "losses", "vgg", "load_image", "save_image",
           "show_images", "VGGFeatures", "setup"]


def setup(seed: int = 0):
    """The second cell of every notebook: seed torch, print the settings in use, and return
    (device, preset) for the notebook's mode."""
    import torch

    torch.manual_seed(seed)
    print(config.describe())
    print(f"loss network: {vgg_weights.summary(config.vgg_weights())}")
    return config.device(), config.preset()
