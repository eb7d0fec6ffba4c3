"""Image-to-image translation after perceptual losses (notebook 6): pix2pix, pix2pixHD's
additions, CycleGAN.

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

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .data import CropDataset, random_crop
from .images import resize
from .networks import TransformerNet, pad_to_multiple
from .objectives import LossWeights, Objective, Parts, PerceptualObjective, source_sha256
from .vgg import VGGFeatures

GAN_MODES = ("vanilla", "lsgan")
HD_LAYERS = {"relu1_1": 1 / 32, "relu2_1": 1 / 16, "relu3_1": 1 / 8, "relu4_1": 1 / 4, "relu5_1": 1.0}  # pix2pixHD


def _norm(kind: str, channels: int) -> nn.Module:
    return {"batch": nn.BatchNorm2d, "instance": lambda c: nn.GroupNorm(c, c),
            "none": lambda c: nn.Identity()}[kind](channels)


class UNetGenerator(nn.Module):
    """pix2pix's U-Net: ``depth`` 4×4 stride-2 convolutions down (LeakyReLU 0.2; no norm on the
    first), as many 4×4 transposed convolutions up (ReLU; dropout 0.5 in the three innermost),
    each level's encoder output concatenated to the decoder's: the skip connections carry the
    input's detail straight to the output. Channels: ``width`` doubling up to 8·width (pix2pix:
    width 64, depth 8 for 256²). Input and output B×3×H×W in [0, 1], H and W multiples of 2^depth.
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 3, width: int = 64, depth: int = 8,
                 norm: str = "batch", dropout: float = 0.5) -> None:
        super().__init__()
        self.depth = depth
        channels = [min(width * 2 ** i, 8 * width) for i in range(depth)]
        self.down = nn.ModuleList()
        for i, c in enumerate(channels):
            before = in_channels if i == 0 else channels[i - 1]
            layers = [nn.Conv2d(before, c, 4, 2, 1)]
            if 0 < i < depth - 1:
                layers.append(_norm(norm, c))
            self.down.append(nn.Sequential(*layers))
        self.up = nn.ModuleList()
        for i in reversed(range(depth)):
            after = out_channels if i == 0 else channels[i - 1]
            inner = channels[i] if i == depth - 1 else 2 * channels[i]
            layers = [nn.ReLU(), nn.ConvTranspose2d(inner, after, 4, 2, 1)]
            if i > 0:
                layers.append(_norm(norm, after))
                if i >= depth - 3 and dropout:
                    layers.append(nn.Dropout(dropout))
            self.up.append(nn.Sequential(*layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Sides that are not multiples of 2^depth are reflection-padded, the output cropped back."""
        height, width = x.shape[-2:]
        skips = []
        h = pad_to_multiple(x, 2 ** self.depth) * 2 - 1  # [0, 1] → [-1, 1], as pix2pix's data
        for i, layer in enumerate(self.down):
            h = layer(h if i == 0 else F.leaky_relu(h, 0.2))
            skips.append(h)
        for i, layer in enumerate(self.up):
            h = layer(h if i == 0 else torch.cat([h, skips[-1 - i]], dim=1))
        return ((torch.tanh(h) + 1) / 2)[..., :height, :width]


class PatchDiscriminator(nn.Module):
    """PatchGAN (Isola et al.; after Li & Wand's Markovian GANs): a fully convolutional
    classifier whose every output judges one patch of the input. ``n_layers`` = 3 is pix2pix's
    70×70 PatchGAN: C64-C128-C256-C512 with 4×4 kernels, strides 2-2-2-1, LeakyReLU 0.2, no norm
    on the first layer, then a 1-channel 4×4 conv. Conditional (pix2pix): ``in_channels`` = 6,
    input and output concatenated. ``features=True`` also returns every layer's activations
    (for pix2pixHD's feature matching)."""

    def __init__(self, in_channels: int = 6, n_layers: int = 3, width: int = 64, norm: str = "batch") -> None:
        super().__init__()
        channels = [min(width * 2 ** i, 8 * width) for i in range(n_layers + 1)]
        self.layers = nn.ModuleList([nn.Conv2d(in_channels, channels[0], 4, 2, 1)])
        for i in range(1, n_layers + 1):
            stride = 2 if i < n_layers else 1
            self.layers.append(nn.Sequential(nn.Conv2d(channels[i - 1], channels[i], 4, stride, 1),
                                             _norm(norm, channels[i])))
        self.head = nn.Conv2d(channels[-1], 1, 4, 1, 1)

    def forward(self, x: torch.Tensor, features: bool = False):
        h, outputs = x * 2 - 1, []
        for layer in self.layers:
            h = F.leaky_relu(layer(h), 0.2)
            outputs.append(h)
        prediction = self.head(h)
        return (prediction, outputs) if features else prediction


class MultiScaleDiscriminator(nn.Module):
    """pix2pixHD's discriminators: ``scales`` PatchGANs of the same architecture, on the input at
    full, half and quarter resolution (3×3 average pooling, stride 2). Returns one
    (prediction, features) pair per scale."""

    def __init__(self, in_channels: int = 6, scales: int = 3, n_layers: int = 3, width: int = 64,
                 norm: str = "batch") -> None:
        super().__init__()
        self.discriminators = nn.ModuleList(PatchDiscriminator(in_channels, n_layers, width, norm)
                                            for _ in range(scales))

    def forward(self, x: torch.Tensor, features: bool = True) -> list:
        results = []
        for i, discriminator in enumerate(self.discriminators):
            if i:
                x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
            results.append(discriminator(x, features=True))
        return results if features else [p for p, _ in results]


def layer_receptive_field(layers: list[tuple[int, int]]) -> int:
    """The receptive field of a stack of convolutions given as (kernel, stride) pairs, first
    layer first: r = 1 + Σ_l (k_l − 1)·Π_{i<l} s_i (each layer widens the window by k − 1 steps
    of the input spacing its input has). pix2pix's PatchGAN: 70."""
    field, jump = 1, 1
    for kernel, stride in layers:
        field += (kernel - 1) * jump
        jump *= stride
    return field


def patch_layers(n_layers: int = 3) -> list[tuple[int, int]]:
    """(kernel, stride) of :class:`PatchDiscriminator`'s convolutions, the output conv included."""
    return [(4, 2)] * n_layers + [(4, 1), (4, 1)]


def measured_receptive_field(discriminator: nn.Module, channels: int, size: int = 160) -> tuple[int, int]:
    """The input window one output unit of ``discriminator`` depends on, measured: the extent of
    the input gradient of the central output (in eval mode, so that no batch statistics mix
    positions)."""
    was_training = discriminator.training
    x = torch.rand(1, channels, size, size, requires_grad=True)
    out = discriminator.eval()(x)
    h, w = out.shape[-2:]
    out[0, 0, h // 2, w // 2].backward()
    discriminator.train(was_training)
    rows = x.grad.abs().sum(dim=(0, 1, 3)).nonzero()
    cols = x.grad.abs().sum(dim=(0, 1, 2)).nonzero()
    return int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)


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


class ImagePool(nn.Module):
    """CycleGAN's history of generated images (Shrivastava et al. 2017): the discriminator sees a
    mix of new fakes and up to ``size`` older ones, which steadies training. Its contents are
    buffers, saved with the model, so a resumed run continues exactly."""

    def __init__(self, size: int = 50, shape: tuple[int, int, int] = (3, 64, 64)) -> None:
        super().__init__()
        self.size = size
        self.register_buffer("images", torch.zeros(size, *shape))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    def forward(self, fakes: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return fakes
        out = []
        for fake in fakes.detach():
            n = int(self.count)
            if fake.shape != self.images.shape[1:]:
                out.append(fake)
            elif n < self.size:
                self.images[n] = fake
                self.count += 1
                out.append(fake)
            elif torch.rand(()) < 0.5:
                slot = int(torch.randint(self.size, ()))
                out.append(self.images[slot].clone())
                self.images[slot] = fake
            else:
                out.append(fake)
        return torch.stack(out)


class Pix2Pix(nn.Module):
    """A pix2pix generator and its (multi-scale, for pix2pixHD) PatchGAN; ``model(x)`` translates."""

    def __init__(self, width: int = 64, depth: int = 8, d_width: int = 64, scales: int = 1,
                 norm: str = "batch") -> None:
        super().__init__()
        self.generator = UNetGenerator(width=width, depth=depth, norm=norm)
        self.discriminator = MultiScaleDiscriminator(6, scales=scales, width=d_width, norm=norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.generator(x)


class CycleGAN(nn.Module):
    """CycleGAN: G: A→B and F: B→A are :class:`course_lib.networks.TransformerNet` (Johnson et
    al.'s network, ``blocks`` residual blocks, instance norm), D_A and D_B 70×70 PatchGANs (one
    image, 3 channels), and the two image histories. ``model(x)`` maps A→B."""

    def __init__(self, width: int = 32, blocks: int = 6, d_width: int = 64, pool: int = 50, crop: int = 64) -> None:
        super().__init__()
        self.g_ab = TransformerNet(width=width, blocks=blocks)
        self.g_ba = TransformerNet(width=width, blocks=blocks)
        self.d_a = PatchDiscriminator(3, width=d_width, norm="instance")
        self.d_b = PatchDiscriminator(3, width=d_width, norm="instance")
        self.pool_a = ImagePool(pool, (3, crop, crop))
        self.pool_b = ImagePool(pool, (3, crop, crop))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.g_ab(x)


@dataclass(frozen=True)
class TranslationWeights:
    """The weights of pix2pix's generator loss and pix2pixHD's additions: λ_GAN·cGAN + λ_L1·L1
    (pix2pix: λ_L1 = 100) + λ_FM·feature matching + λ_VGG·ℓ_feat (pix2pixHD: 10 and 10)."""

    gan: float = 1.0
    l1: float = 100.0
    feature_matching: float = 0.0
    vgg: float = 0.0


PIX2PIX = TranslationWeights()
VARIANTS = {"L1 only": TranslationWeights(gan=0.0),
            "L1 + GAN (pix2pix)": PIX2PIX,
            "L1 + GAN + VGG + FM (pix2pixHD's additions)": TranslationWeights(feature_matching=10.0, vgg=10.0)}


class Pix2PixObjective(Objective):
    """pix2pix's objective (and pix2pixHD's additions): for a batch of (input x, target y)
    pairs, a discriminator step on D(x, y) → real and D(x, G(x)) → fake (halved, as pix2pix
    does), then a generator step on ``weights``. With λ_GAN = λ_FM = 0 there is no
    discriminator step: plain L1 regression."""

    def __init__(self, weights: TranslationWeights = PIX2PIX, mode: str = "vanilla",
                 loss_net: VGGFeatures | None = None, generator_fn=None, discriminator_fn=None) -> None:
        super().__init__()
        if mode not in GAN_MODES:
            raise ValueError(f"mode must be one of {GAN_MODES}, got {mode!r}")
        self.weights, self.mode = weights, mode
        # a student's own losses for one discriminator: generator_fn(prediction on the fake pair,
        # fake, target, weights) → (loss, parts); discriminator_fn(prediction real, prediction fake) → loss
        self.generator_fn, self.discriminator_fn = generator_fn, discriminator_fn
        self.perceptual = None
        if weights.vgg:
            if loss_net is None:
                raise ValueError("the VGG term needs a loss network; pass loss_net=")
            self.perceptual = PerceptualObjective(loss_net, weights=LossWeights(content=weights.vgg, style=0, tv=0),
                                                  content_layers=tuple(HD_LAYERS), content_layer_weights=HD_LAYERS)

    @property
    def adversarial(self) -> bool:
        return bool(self.weights.gan or self.weights.feature_matching)

    def groups(self, model: Pix2Pix) -> dict:
        return {"discriminator": model.discriminator.parameters(), "generator": model.generator.parameters()}

    def discriminator_loss(self, model: Pix2Pix, x: torch.Tensor, y: torch.Tensor, fake: torch.Tensor):
        """pix2pix's discriminator loss, halved: real pairs → 1, generated pairs → 0, at every scale."""
        real = model.discriminator(torch.cat([x, y], 1), features=False)
        generated = model.discriminator(torch.cat([x, fake.detach()], 1), features=False)
        if self.discriminator_fn is not None:
            loss = sum(self.discriminator_fn(r, g) for r, g in zip(real, generated)) / len(real)
        else:
            loss = sum(gan_loss(r, True, self.mode) + gan_loss(g, False, self.mode)
                       for r, g in zip(real, generated)) / (2 * len(real))
        return loss, {"D": loss}

    def generator_loss(self, model: Pix2Pix, x: torch.Tensor, y: torch.Tensor, fake: torch.Tensor):
        """λ_GAN·cGAN + λ_L1·L1 + λ_FM·feature matching + λ_VGG·ℓ_feat."""
        w = self.weights
        if self.generator_fn is not None:
            model.discriminator.requires_grad_(False)
            prediction = model.discriminator(torch.cat([x, fake], 1), features=False)[0]
            model.discriminator.requires_grad_(True)
            return self.generator_fn(prediction, fake, y, w)
        parts: Parts = {"G_L1": w.l1 * F.l1_loss(fake.float(), y.float())}
        if self.adversarial:
            model.discriminator.requires_grad_(False)  # its gradients are not needed for this step
            generated = model.discriminator(torch.cat([x, fake], 1))
            if w.gan:
                parts["G_GAN"] = w.gan * sum(gan_loss(p, True, self.mode) for p, _ in generated) / len(generated)
            if w.feature_matching:
                with torch.no_grad():
                    real = model.discriminator(torch.cat([x, y], 1))
                parts["G_FM"] = w.feature_matching * sum(feature_matching_loss(r, g) for (_, r), (_, g)
                                                         in zip(real, generated)) / len(generated)
            model.discriminator.requires_grad_(True)
        if self.perceptual is not None:
            parts["G_VGG"] = self.perceptual(fake, self.perceptual.targets(y))[0]
        return sum(parts.values()), parts

    def losses(self, model: Pix2Pix, batch) -> Iterator[tuple[str, torch.Tensor, Parts]]:
        x, y = batch
        fake = model.generator(x)
        if self.adversarial:
            yield ("discriminator", *self.discriminator_loss(model, x, y, fake))
        yield ("generator", *self.generator_loss(model, x, y, fake))

    def settings(self) -> dict:
        return {"objective": "pix2pix", "weights": asdict(self.weights), "mode": self.mode,
                "loss_net": None if self.perceptual is None else self.perceptual.loss_net.identity,
                "own_losses": [source_sha256(f) for f in (self.generator_fn, self.discriminator_fn) if f]}


class CycleGANObjective(Objective):
    """CycleGAN's objective for unpaired batches (a, b): the generators' step on LSGAN
    adversarial losses + λ_cyc·(‖F(G(a)) − a‖₁ + ‖G(F(b)) − b‖₁) + λ_id·identity, then the
    discriminators' step on real images against generated ones from the histories (halved)."""

    def __init__(self, cycle: float = 10.0, identity: float = 5.0, mode: str = "lsgan", cycle_fn=cycle_loss) -> None:
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
                "cycle_loss": source_sha256(self.cycle_fn)}


TASKS = ("edges", "colorize", "restore")


def make_input(photo: torch.Tensor, task: str) -> torch.Tensor:
    """The input of a paired task made from a photo (3×H×W in [0, 1]): ``edges``, Canny edges
    (scikit-image, σ = 2) as white lines on black; ``colorize``, the photo in grey (luma,
    BT.601), three equal channels; ``restore``, the photo shrunk 4× and enlarged again (bicubic)."""
    if not isinstance(photo, torch.Tensor) or photo.dim() != 3 or photo.shape[0] != 3:
        raise ValueError(f"make_input expects one RGB photo of shape 3×H×W in [0, 1], got "
                         f"{tuple(photo.shape) if isinstance(photo, torch.Tensor) else type(photo).__name__}"
                         + (": take one image of the batch, photo[0]" if isinstance(photo, torch.Tensor)
                            and photo.dim() == 4 else ""))
    if task == "edges":
        from skimage.feature import canny

        grey = (0.299 * photo[0] + 0.587 * photo[1] + 0.114 * photo[2]).numpy()
        edges = torch.from_numpy(canny(grey, sigma=2.0).astype(np.float32))
        return edges.expand(3, -1, -1).clone()
    if task == "colorize":
        return (0.299 * photo[0] + 0.587 * photo[1] + 0.114 * photo[2]).expand(3, -1, -1).clone()
    if task == "restore":
        h, w = photo.shape[-2:]
        return resize(resize(photo, (h // 4, w // 4), "bicubic"), (h, w), "bicubic")
    raise ValueError(f"task must be one of {TASKS}, got {task!r}")


class PairedDataset(torch.utils.data.Dataset):
    """(input, target) pairs: for a ``task``, random crops of photos and :func:`make_input` of
    them; without a task, image files that hold the pair side by side (input left, target
    right), as the pix2pix datasets (facades, edges2shoes, …) store them, cropped at the same
    place in both halves; ``reverse`` swaps them (right → left). ``resize``: photos are first
    scaled so their shorter side is this (for a task), so that a crop holds more of the scene."""

    def __init__(self, paths: list[Path], crop: int, task: str | None = None, cache: bool = True,
                 resize: int | None = None, reverse: bool = False) -> None:
        if task is not None and task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {task!r}")
        self.task, self.crop, self.reverse = task, crop, reverse
        self.files = CropDataset(paths, crop, resize=resize if task else None, cache=cache)

    def __len__(self) -> int:
        return len(self.files)

    def settings(self) -> dict:
        return {**self.files.settings(), "task": self.task, "reverse": self.reverse}

    def __getitem__(self, key) -> tuple[torch.Tensor, torch.Tensor]:
        if self.task:
            photo = self.files[key]
            return make_input(photo, self.task), photo
        index, seed = key if isinstance(key, tuple) else (key, None)
        image = self.files.image(index)[0]
        half = image.shape[-1] // 2
        pair = torch.cat([image[..., :half], image[..., half:2 * half]])  # 6 channels: input, target
        if min(pair.shape[-2:]) < self.crop:
            pair = resize(pair, self.crop, "bilinear", which="shorter")
        window = random_crop(pair, self.crop, seed)
        return (window[3:], window[:3]) if self.reverse else (window[:3], window[3:])


class UnpairedDataset(torch.utils.data.Dataset):
    """(a, b) crops from two unrelated collections (CycleGAN's data): example k pairs photo k of
    A with a photo of B drawn by the example's seed. ``resize``: shorter sides scaled to this first."""

    def __init__(self, a_paths: list[Path], b_paths: list[Path], crop: int, cache: bool = True,
                 resize: int | None = None) -> None:
        self.a = CropDataset(a_paths, crop, resize=resize, cache=cache)
        self.b = CropDataset(b_paths, crop, resize=resize, cache=cache)

    def __len__(self) -> int:
        return len(self.a)

    def settings(self) -> dict:
        return {"a": self.a.settings(), "b": self.b.settings()}

    def __getitem__(self, key) -> tuple[torch.Tensor, torch.Tensor]:
        index, seed = key if isinstance(key, tuple) else (key, int(torch.randint(2**31, ())))
        other = int(torch.randint(len(self.b), (1,), generator=torch.Generator().manual_seed(seed)))
        return self.a[(index, seed)], self.b[(other, seed + 1)]
