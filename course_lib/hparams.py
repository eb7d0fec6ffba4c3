"""The hyper-parameters of every task, the paper's and the course's, in one place (in the spirit
of pystiche_papers' ``hyper_parameters(impl_params=...)``). The recipes (:mod:`course_lib.tasks`),
the command line (whose options and defaults are generated from these fields) and the notebooks
all read them; nothing else writes a default.

    from course_lib import hparams
    hp = hparams.STYLE.paper            # or .course, or hparams.STYLE["paper"]
    hp = replace(hparams.STYLE.course, steps=2000)

| choice | the paper (Johnson et al. 2016) | the course (later practice) |
|---|---|---|
| normalisation in the style network | batch norm | instance norm (Ulyanov et al. 2016) |
| ×2 upsampling | stride-½ transposed conv | nearest neighbour, then a 3×3 conv (Odena et al. 2016) |
| content layer | relu2_2 | relu2_2 (the authors' Lua code: relu3_3) |
| super-resolution network | batch norm, transposed convs, output through a scaled tanh | batch norm, nearest + conv, output added to the bicubic enlargement (a global skip) |

pix2pix and CycleGAN have one set of hyper-parameters each: their papers' (Isola et al. 2017;
Zhu et al. 2017).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any, Generic, TypeVar

# The loss networks' families (VGGFeatures.preprocessing): the right loss weights depend on
# their activation scale. "caffe", the paper's network, sees 0-255 images: its activations are
# ~100× those of a torchvision-normalised network, its Gram losses ~10⁸×. The paper's own
# numbers (the authors' code: content 1, style 5 on the mean over the C_j² Gram entries, TV 1e-6,
# for 0-255 images) give a loss of ~10⁷, where torch's L-BFGS (absolute tolerances, first step
# 1/|g|₁) stalls or diverges. So the paper's balance is kept and scaled by 1e-6: λ_c = 1e-6;
# λ_s = 1.5e-10 gives ℓ_style the authors' weight at the content image (their 5/C_j² per layer
# ≈ 1.6e-10 of the Frobenius sum here); λ_TV = 1e-6 · 255² · 1e-6 = 6.5e-8 is their 1e-6 on
# [0, 1] images. "imagenet" (torchvision's weights, and the random network, whose fan-in init
# keeps that scale): the course's weights since its start.
FAMILIES = ("caffe", "imagenet")


@dataclass(frozen=True)
class LossWeights:
    """λ_c, λ_s, λ_TV (and λ_pixel) of eq. 5, for images in [0, 1] and ℓ_style as the paper
    writes it (a squared Frobenius norm). Their right values depend on the loss network's
    activation scale: :data:`STYLE_WEIGHTS` and :data:`SR_WEIGHTS` give each family's."""

    content: float = 1.0
    style: float = 5.0
    tv: float = 1e-5
    pixel: float = 0.0


STYLE_WEIGHTS = {"caffe": LossWeights(content=1e-6, style=1.5e-10, tv=6.5e-8),
                 "imagenet": LossWeights(content=1.0, style=5.0, tv=1e-5)}
SR_PIXEL_WEIGHTS = LossWeights(content=0.0, style=0.0, tv=1e-6, pixel=1.0)  # §4.2, ℓ_pixel (any loss network)
SR_FEAT_WEIGHTS = {"caffe": LossWeights(content=1e-6, style=0.0, tv=6.5e-8),  # §4.2, ℓ_feat at relu2_2
                   "imagenet": LossWeights(content=1.0, style=0.0, tv=1e-6)}
SR_WEIGHTS: dict[str, Any] = {"pixel": SR_PIXEL_WEIGHTS, "feat": SR_FEAT_WEIGHTS}
# The layers at which super-resolution outputs are scored against the HR image (eq. 2):
# ℓ_feat's own layer, and one it never trained on.
SR_PERCEPTUAL_LAYERS = ("relu2_2", "relu3_3")


@dataclass(frozen=True)
class TranslationWeights:
    """The weights of pix2pix's generator loss and pix2pixHD's additions: λ_GAN·cGAN + λ_L1·L1
    (pix2pix: λ_L1 = 100) + λ_FM·feature matching + λ_VGG·ℓ_feat (pix2pixHD: 10 and 10)."""

    gan: float = 1.0
    l1: float = 100.0
    feature_matching: float = 0.0
    vgg: float = 0.0


PIX2PIX_WEIGHTS = TranslationWeights()
PIX2PIX_HD_WEIGHTS = TranslationWeights(feature_matching=10.0, vgg=10.0)
# λ_VGG is given in pix2pixHD's units (10, as its λ_FM); the loss network's family scales it. The
# Caffe network's activations are far larger: with 5e-6, on pix2pix-edges' outputs for eight 64²
# training crops the VGG term (7.4e4 × 5e-5 = 3.7) equals the FM term of the random-VGG
# pix2pix-edges-hd's discriminator (3.7), as pix2pixHD's equal λ intend (2026-12-04; benchmarks/RESULTS.md).
TRANSLATION_VGG_SCALE = {"caffe": 5e-6, "imagenet": 1.0}


def _by_family(table: dict, part: str) -> str:
    return "; ".join(f"{family} {getattr(weights, part)}" for family, weights in table.items())


def option(default, help: str, kind: str | None = None, choices: tuple | None = None, required: bool = False):
    """A hyper-parameter: its default, the help of its command-line option, how the command
    line checks it (``kind``: positive, non_negative, positive_float, weight, fraction) and its
    choices. ``required``: the command line asks for it (it has no sensible default there)."""
    return field(default=default, metadata={"help": help, "kind": kind, "choices": choices, "required": required})


NORMS = ("batch", "instance")
# The registry of course_lib.loss_networks (each also with "+swag"), named here so that the
# command line can offer them without building anything.
LOSS_NETWORKS = ("vgg16-caffe", "vgg16", "vgg19", "efficientnet-lite0", "vgg16-random")
LOSS_NETWORK_HELP = ("a loss network of the registry instead of --vgg-weights' VGG-16: its own layers and "
                     "calibrated λ (course_lib.loss_networks; notebook 7); NAME+swag smooths its activations")
UPSAMPLINGS = ("nearest", "transpose")
GAN_MODES = ("vanilla", "lsgan")


@dataclass(frozen=True)
class Schedule:
    """The training schedule every task has (the paper's style transfer, §4.1, by default)."""

    steps: int = option(40_000, "iterations", "positive")
    image_size: int = option(256, "training crop side", "positive")
    batch_size: int = option(4, "batch size", "positive")
    lr: float = option(1e-3, "Adam learning rate", "positive_float")
    beta1: float = option(0.9, "Adam's β1", "fraction")
    warmup: int = option(0, "steps over which the learning rate rises linearly to --lr (0: none, as the paper)",
                         "non_negative")


@dataclass(frozen=True)
class StyleParams(Schedule):
    """Feed-forward style transfer (§4.1 and the supplementary material)."""

    style_size: int = option(512, "longer side of the style image", "positive")
    content_layer: str = option("relu2_2", "layer of the feature loss (paper: relu2_2; the authors' code: relu3_3)")
    content_weight: float | None = option(None, f"λ_c, feature loss (default by loss network: "
                                                f"{_by_family(STYLE_WEIGHTS, 'content')})", "weight")
    style_weight: float | None = option(None, f"λ_s, style loss at relu1_2..relu4_3 (default by loss network: "
                                              f"{_by_family(STYLE_WEIGHTS, 'style')})", "weight")
    tv_weight: float | None = option(None, f"λ_TV (default by loss network: {_by_family(STYLE_WEIGHTS, 'tv')}; "
                                           f"the paper picks 1e-6..1e-4 for 0-255 images)", "weight")
    norm: str = option("instance", "instance norm (later work) or the paper's batch norm", choices=NORMS)
    upsampling: str = option("nearest", "nearest+conv (no checkerboard) or the paper's stride-1/2 conv",
                             choices=UPSAMPLINGS)
    width: int = option(32, "channels of the first layer (paper: 32)", "positive")
    vgg_weights: str | None = option(None, "the loss network: caffe (the paper's), imagenet, random, auto, or a "
                                           "weights file (default: COURSE_VGG_WEIGHTS, else auto)")
    loss_network: str | None = option(None, LOSS_NETWORK_HELP,
                                      choices=LOSS_NETWORKS + tuple(f"{n}+swag" for n in LOSS_NETWORKS))
    temporal: float = option(0.0, "weight of a temporal-consistency term against flicker in video (Huang et al. "
                                  "2017; course_lib.video); 0: none, as the paper", "weight")


@dataclass(frozen=True)
class SuperResolutionParams(Schedule):
    """Single-image super-resolution (§4.2): ×4 and ×8, ℓ_pixel or ℓ_feat at relu2_2, or SRCNN."""

    steps: int = option(200_000, "iterations", "positive")
    image_size: int = option(288, "training crop side (high resolution)", "positive")
    scale: int = option(4, "upscaling factor", choices=(2, 4, 8), required=True)
    loss: str = option("pixel", "per-pixel loss, or feature loss at relu2_2", choices=tuple(SR_WEIGHTS),
                       required=True)
    arch: str = option("sr", "the paper's network, or the SRCNN baseline (Dong et al. 2014)", choices=("sr", "srcnn"))
    blur: float = option(1.0, "σ of the Gaussian blur before downsampling (paper: 1.0)", "weight")
    tv_weight: float | None = option(None, f"λ_TV (default: pixel {SR_PIXEL_WEIGHTS.tv}; feat by loss network: "
                                           f"{_by_family(SR_FEAT_WEIGHTS, 'tv')})", "weight")
    norm: str = option("batch", "the paper's batch norm, or instance norm", choices=NORMS)
    upsampling: str = option("nearest", "nearest+conv (no checkerboard) or the paper's stride-1/2 conv",
                             choices=UPSAMPLINGS)
    residual: bool = option(True, "add the output to the bicubic enlargement (the course), or a scaled tanh "
                                  "(the paper)")
    vgg_weights: str | None = option(None, "the loss network of ℓ_feat: caffe, imagenet, random, auto, or a "
                                           "weights file (default: COURSE_VGG_WEIGHTS, else auto)")
    loss_network: str | None = option(None, LOSS_NETWORK_HELP,
                                      choices=LOSS_NETWORKS + tuple(f"{n}+swag" for n in LOSS_NETWORKS))


@dataclass(frozen=True)
class Pix2PixParams(Schedule):
    """pix2pix (Isola et al. 2017), with pix2pixHD's additions (Wang et al. 2018) as options."""

    steps: int = option(80_000, "iterations", "positive")
    batch_size: int = option(1, "batch size", "positive")
    lr: float = option(2e-4, "Adam learning rate", "positive_float")
    beta1: float = option(0.5, "Adam's β1", "fraction")
    l1: float = option(PIX2PIX_WEIGHTS.l1, "λ_L1", "weight")
    gan: float = option(PIX2PIX_WEIGHTS.gan, "λ_GAN; 0 trains with L1 alone", "weight")
    feature_matching: float = option(PIX2PIX_WEIGHTS.feature_matching,
                                     "λ_FM, pix2pixHD's feature matching (pix2pixHD: 10)", "weight")
    vgg: float = option(PIX2PIX_WEIGHTS.vgg, "λ_VGG, pix2pixHD's VGG loss (pix2pixHD: 10; scaled by the loss "
                                             f"network's family: {TRANSLATION_VGG_SCALE})", "weight")
    gan_mode: str = option("vanilla", "cross-entropy (pix2pix) or least squares", choices=GAN_MODES)
    scales: int = option(1, "discriminators at 1, 1/2, 1/4 ... resolution (pix2pixHD: 3)", "positive")
    width: int = option(64, "U-Net's first channels", "positive")
    depth: int = option(8, "U-Net levels (8 for 256² crops: down to 1×1)", "positive")
    d_width: int = option(64, "the PatchGAN's first channels", "positive")
    vgg_weights: str | None = option(None, "the loss network of λ_VGG: caffe, imagenet, random, auto, or a "
                                           "weights file (default: COURSE_VGG_WEIGHTS, else auto)")

    def weights(self) -> TranslationWeights:
        return TranslationWeights(gan=self.gan, l1=self.l1, feature_matching=self.feature_matching, vgg=self.vgg)


@dataclass(frozen=True)
class CycleGANParams(Schedule):
    """CycleGAN (Zhu et al. 2017): two of Johnson et al.'s networks and two PatchGANs."""

    steps: int = option(200_000, "iterations", "positive")
    batch_size: int = option(1, "batch size", "positive")
    lr: float = option(2e-4, "Adam learning rate", "positive_float")
    beta1: float = option(0.5, "Adam's β1", "fraction")
    cycle: float = option(10.0, "λ_cyc", "weight")
    identity: float = option(5.0, "λ_identity, 0.5·λ_cyc (paper, some tasks)", "weight")
    width: int = option(32, "generators' first channels (Johnson et al.'s network)", "positive")
    blocks: int = option(9, "residual blocks (paper: 9 at 256², 6 at 128²)", "positive")
    pool: int = option(50, "history of generated images", "non_negative")
    d_width: int = option(64, "the PatchGANs' first channels", "positive")


T = TypeVar("T")


@dataclass(frozen=True)
class Variants(Generic[T]):
    """A task's hyper-parameters as the paper has them and as the course uses them."""

    paper: T
    course: T

    def __getitem__(self, name: str) -> T:
        if name not in ("paper", "course"):
            raise ValueError(f"variants are paper and course, got {name!r}")
        return getattr(self, name)


STYLE = Variants(paper=StyleParams(norm="batch", upsampling="transpose"), course=StyleParams())
SUPER_RESOLUTION = Variants(paper=SuperResolutionParams(upsampling="transpose", residual=False), course=SuperResolutionParams())
PIX2PIX = Variants(paper=Pix2PixParams(), course=Pix2PixParams())
CYCLEGAN = Variants(paper=CycleGANParams(), course=CycleGANParams())


def variants_of(hp: Schedule) -> Variants:
    """The paper's and the course's values of ``hp``'s task."""
    table: dict[type, Variants] = {StyleParams: STYLE, SuperResolutionParams: SUPER_RESOLUTION,
                                   Pix2PixParams: PIX2PIX, CycleGANParams: CYCLEGAN}
    return table[type(hp)]


# The fields of a notebook's mode (course_lib.config.Preset) that size each task's run.
PRESET_FIELDS = {StyleParams: {"steps": "train_steps", "image_size": "image_size", "style_size": "style_size",
                               "batch_size": "batch_size"},
                 SuperResolutionParams: {"steps": "sr_steps", "image_size": "sr_crop", "batch_size": "batch_size"},
                 Pix2PixParams: {"steps": "train_steps"}, CycleGANParams: {"steps": "train_steps"}}


def in_mode(hp: Schedule, preset, **changes) -> Schedule:
    """``hp`` sized for a notebook's mode (``preset``: :func:`course_lib.config.preset`), with ``changes``."""
    sizes = {name: getattr(preset, field_) for name, field_ in PRESET_FIELDS.get(type(hp), {}).items()}
    return replace(hp, **{**sizes, **changes})


def differences(hp, base) -> dict:
    """The fields where ``hp`` differs from ``base``: what a run changed from its variant."""
    return {f.name: getattr(hp, f.name) for f in fields(hp) if getattr(hp, f.name) != getattr(base, f.name)}
