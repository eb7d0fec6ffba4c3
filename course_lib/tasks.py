"""One recipe per task: the network, the objective, the training data and a sample image to
watch, put together from one hyper-parameter object (:mod:`course_lib.hparams`). The command
line and the notebooks both train through these, so they build the same run from the same
settings::

    run = tasks.style("candy.jpg", data.images("train"), hp=hparams.STYLE.course)
    history = run.train()                          # in the cache's runs/ folder, resumable

A recipe checks its sizes before it reads any image or builds any network. It builds everything
on the CPU; :meth:`Run.train` moves the run to its device.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from . import config, loss_networks
from .architectures import build
from .hparams import (
    CYCLEGAN,
    PIX2PIX,
    STYLE,
    SUPER_RESOLUTION,
    CycleGANParams,
    Pix2PixParams,
    Schedule,
    StyleParams,
    SuperResolutionParams,
    differences,
    variants_of,
)
from .images import load_image
from .networks import MIN_INPUT_SIDE
from .objectives import (
    FunctionObjective,
    LossWeights,
    MultiStyleObjective,
    Objective,
    PerceptualObjective,
    sr_weights,
    style_weights,
)
from .runs import TrainConfig, notebook_loop, run_folder
from .train import train
from .vgg import VGGFeatures, loss_network
from .video import TemporalObjective

MIN_TRAINING_SIDE = 16  # relu4_3 sits behind three 2×2 poolings; the transformation network halves twice


@dataclass
class Run:
    """A training run put together by a recipe: what :func:`course_lib.train.train` needs, and
    the hyper-parameters it came from (recorded in its checkpoints)."""

    name: str
    model: nn.Module
    objective: Objective
    dataset: torch.utils.data.Dataset
    sample: torch.Tensor
    hp: Schedule
    seed: int = 0
    record: dict = field(default_factory=dict)

    def config(self, **loop) -> TrainConfig:
        """The loop's settings: the schedule of :attr:`hp`, the run's seed, and ``loop``'s options."""
        return TrainConfig.of(self.hp, **{"seed": self.seed, **loop})

    def folder(self, root: str | os.PathLike | None = None, **loop) -> Path:
        """``root/<name>-<hash of the run's settings>`` (root: the cache's ``runs/``)."""
        root = Path(root) if root is not None else config.cache_dir() / "runs"
        return run_folder(root, self.name, self.model, self.objective, self.dataset, self.config(**loop))

    def train(self, out: str | os.PathLike | None = None, device: torch.device | str | None = None,
              step_fn=None, restart: bool = False, **loop) -> list[dict[str, float]]:
        """Train (or resume, or reuse a finished run) in ``out``, by default :meth:`folder`.
        ``loop``: the loop's options; by default the notebooks' (every step logged)."""
        loop = loop or notebook_loop(self.hp.steps)
        out = out if out is not None else self.folder(**loop)
        return train(self.model, self.objective, self.dataset, out, self.config(**loop),
                     device=device if device is not None else config.device(), sample_input=self.sample,
                     restart=restart, step_fn=step_fn, record=self.record)


def record(hp: Schedule, variant: str, given: dict | None = None) -> dict:
    """What a checkpoint keeps about the hyper-parameters: every value, the variant they started
    from, and which ones differ from it (``given``: the options a command line set)."""
    base = variants_of(hp)[variant]
    return {"variant": variant, "values": asdict(hp), "changed": differences(hp, base),
            **({"given": given} if given is not None else {})}


def _wrapped(objective: Objective | Callable | None) -> Objective | None:
    """A student's plain objective function as an :class:`Objective` (None and objectives as they are)."""
    return objective if objective is None or isinstance(objective, Objective) else FunctionObjective(objective)


def at_least(name: str, value: int, minimum: int, why: str) -> None:
    """Refuse a size below what the networks need, before any data or network is built."""
    if value < minimum:
        raise ValueError(f"--{name.replace('_', '-')} {value} is below the {minimum} pixels {why}")


def first_example(dataset, seed: int):
    """The first readable example (a sample to watch during training)."""
    for index in range(len(dataset)):
        try:
            return dataset[(index, seed)]
        except ValueError:
            continue
    raise ValueError("none of the training images can be read")


def _images(images: list[Path] | str | os.PathLike) -> list[Path]:
    from .data import list_images

    if isinstance(images, (str, os.PathLike)):
        found = list_images(Path(images))
        if not found:
            raise FileNotFoundError(f"{images}: no images found (jpg, png, ...)")
        return found
    return list(images)


def _given(value: float | None, default: float) -> float:
    return default if value is None else value


def style(styles, images, hp: StyleParams = STYLE.course, *, variant: str = "course", loss_net: nn.Module | None = None,
          objective: Objective | Callable | None = None, model: nn.Module | None = None, cache: bool = False, seed: int = 0,
          given: dict | None = None) -> Run:
    """Feed-forward style transfer (§4.1): ``styles`` (an image or path, or several for one
    network of many styles), random crops of ``images`` (paths or a folder). ``loss_net``: share
    one already built; ``objective``, ``model``: train with another objective or network (a
    student's: a plain function ``objective(model, batch) → (loss, parts)`` is wrapped in
    :class:`FunctionObjective`, which fingerprints it; the network is used as it is)."""
    from .data import CropDataset

    at_least("image_size", hp.image_size, MIN_TRAINING_SIDE, "the networks need (relu4_3 is 8× smaller)")
    at_least("style_size", hp.style_size, MIN_TRAINING_SIDE, "the loss network needs (relu4_3 is 8× smaller)")
    styles = styles if isinstance(styles, (list, tuple)) else [styles]
    if len(styles) > 1 and hp.temporal:
        raise ValueError("--temporal trains one style at a time; drop --temporal or give one --style")
    if len(styles) > 1 and hp.norm != "instance":
        raise ValueError(f"{hp.norm} norm cannot hold several styles (conditional instance norm does): use "
                         f"instance norm (drop --paper)")
    names = [f"style {i}" if isinstance(s, torch.Tensor) else Path(s).stem for i, s in enumerate(styles)]
    styles = [s if isinstance(s, torch.Tensor) else load_image(s, size=hp.style_size) for s in styles]
    dataset = CropDataset(_images(images), crop=hp.image_size, resize=hp.image_size, cache=cache)
    objective = _wrapped(objective)
    if objective is None:
        make, content_layers, style_layers = loss_networks.for_recipe(
            hp.loss_network, hp.vgg_weights, hp.content_layer, STYLE.course.content_layer)
        loss_net = loss_net or (make() if make else loss_network(weights=hp.vgg_weights, device="cpu"))
        d = style_weights(loss_net)  # weights not given take the loss network's defaults
        weights = LossWeights(content=_given(hp.content_weight, d.content), style=_given(hp.style_weight, d.style),
                              tv=_given(hp.tv_weight, d.tv))
        if len(styles) > 1:
            objective = MultiStyleObjective(loss_net, styles, weights, content_layers, style_layers)
        else:
            single = PerceptualObjective(loss_net, styles[0], weights, content_layers, style_layers)
            objective = TemporalObjective(single, hp.temporal) if hp.temporal else single
    torch.manual_seed(seed)
    if model is None:
        model = build("style", width=hp.width, styles=len(styles), norm=hp.norm, upsampling=hp.upsampling)
    return Run("style", model, objective, dataset, first_example(dataset, seed).unsqueeze(0), hp,
               seed, {**record(hp, variant, given), **({"styles": names} if len(styles) > 1 else {})})


def super_resolution(images, hp: SuperResolutionParams = SUPER_RESOLUTION.course, *, variant: str = "course",
                     loss_net: nn.Module | None = None, objective: Objective | Callable | None = None,
                     model: nn.Module | None = None, cache: bool = False, seed: int = 0,
                     given: dict | None = None) -> Run:
    """Super-resolution ×``hp.scale`` (§4.2) with ℓ_pixel or ℓ_feat, or SRCNN: HR crops of
    ``images``, their LR inputs made by :class:`course_lib.sr.Degradation` (blur σ, bicubic).
    ``objective``, ``model``: as for :func:`style` (a student's, used as they are)."""
    from .data import CropDataset
    from .sr import Degradation

    if hp.arch == "srcnn" and hp.loss != "pixel":
        raise ValueError("SRCNN is trained with the per-pixel loss: use --loss pixel")
    if hp.image_size % hp.scale:
        raise ValueError(f"--image-size {hp.image_size} is not a multiple of --scale {hp.scale}")
    at_least("image_size", hp.image_size, MIN_INPUT_SIDE * hp.scale,
             f"that ×{hp.scale} needs (its low-resolution input must be at least {MIN_INPUT_SIDE} pixels)")
    dataset = CropDataset(_images(images), crop=hp.image_size, cache=cache)
    degradation = Degradation(hp.scale, hp.blur)
    objective = _wrapped(objective)
    if objective is None:
        content_layers: tuple[str, ...] = ("relu2_2",)
        if hp.loss == "feat":
            make, content_layers, _ = loss_networks.for_recipe(hp.loss_network, hp.vgg_weights, "relu2_2",
                                                               "relu2_2")
            loss_net = loss_net or (make() if make else loss_network(content_layers, weights=hp.vgg_weights,
                                                                     device="cpu"))
        elif hp.loss_network is not None:
            raise ValueError(f"--loss-network {hp.loss_network} is for --loss feat (ℓ_pixel uses no loss network)")
        defaults = sr_weights(hp.loss, loss_net if hp.loss == "feat" else None)
        weights = LossWeights(**{**asdict(defaults), "tv": _given(hp.tv_weight, defaults.tv)})
        objective = PerceptualObjective(loss_net if hp.loss == "feat" else None, weights=weights,
                                        content_layers=content_layers, input_transform=degradation)
    torch.manual_seed(seed)
    if model is None:
        model = build("srcnn", scale=hp.scale) if hp.arch == "srcnn" else \
            build("sr", scale=hp.scale, upsampling=hp.upsampling, norm=hp.norm, residual=hp.residual)
    name = f"srcnn{hp.scale}" if hp.arch == "srcnn" else f"sr{hp.scale}-{hp.loss}"
    return Run(name, model, objective, dataset, degradation(first_example(dataset, seed).unsqueeze(0)), hp,
               seed, record(hp, variant, given))


def pix2pix(images, hp: Pix2PixParams = PIX2PIX.course, *, task: str | None = None, resize: int | None = None,
            reverse: bool = False, loss_net: VGGFeatures | None = None, objective: Objective | None = None,
            cache: bool = False, seed: int = 0, variant: str = "course", given: dict | None = None) -> Run:
    """pix2pix (and pix2pixHD's additions): photos made into (input, photo) pairs by ``task``, or
    side-by-side pairs without one."""
    from .translation import HD_LAYERS, PairedDataset, Pix2PixObjective

    if task is None and resize is not None:
        raise ValueError("--resize applies to the photos of a --task; side-by-side pairs (no --task) are "
                         "cropped as they are. Drop --resize, or give --task")
    at_least("image_size", hp.image_size, 2 ** hp.depth, f"a U-Net of --depth {hp.depth} halves down to (2^{hp.depth})")
    at_least("image_size", hp.image_size, 32 * 2 ** (hp.scales - 1),
             f"--scales {hp.scales} PatchGANs need (32 at the coarsest, each scale halving)")
    dataset = PairedDataset(_images(images), crop=hp.image_size, task=task, cache=cache, resize=resize,
                            reverse=reverse)
    if objective is None:
        if hp.vgg and loss_net is None:
            loss_net = loss_network(tuple(HD_LAYERS), weights=hp.vgg_weights, device="cpu")
        objective = Pix2PixObjective(hp.weights(), hp.gan_mode, loss_net if hp.vgg else None)
    torch.manual_seed(seed)
    model = build("pix2pix", width=hp.width, depth=hp.depth, d_width=hp.d_width, scales=hp.scales)
    return Run("pix2pix", model, objective, dataset, first_example(dataset, seed)[0].unsqueeze(0), hp,
               seed, record(hp, variant, given))


def cyclegan(images_a, images_b, hp: CycleGANParams = CYCLEGAN.course, *, resize: int | None = None,
             objective: Objective | None = None, cache: bool = False, seed: int = 0, variant: str = "course",
             given: dict | None = None) -> Run:
    """CycleGAN between two unpaired collections (paths or folders)."""
    from .translation import CycleGANObjective, UnpairedDataset

    dataset = UnpairedDataset(_images(images_a), _images(images_b), crop=hp.image_size, cache=cache, resize=resize)
    torch.manual_seed(seed)
    model = build("cyclegan", width=hp.width, blocks=hp.blocks, d_width=hp.d_width, pool=hp.pool, crop=hp.image_size)
    objective = objective or CycleGANObjective(cycle=hp.cycle, identity=hp.identity)
    return Run("cyclegan", model, objective, dataset, first_example(dataset, seed)[0].unsqueeze(0), hp,
               seed, record(hp, variant, given))
