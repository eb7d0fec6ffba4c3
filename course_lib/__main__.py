"""Command line of the course. Run `python -m course_lib COMMAND --help` for each command.

Results go to stdout, status messages to stderr. A mistake in the arguments, the settings or
the files ends with one line `error: …` and exit code 2 (arguments) or 1 (anything else);
Ctrl-C or SIGTERM during training saves a checkpoint and exits with 130 or 143.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import math
import sys
from pathlib import Path

from . import config, data
from .config import PAPER, say


class _Help(argparse.ArgumentDefaultsHelpFormatter):
    """Shows "(default: …)" only where there is a default worth showing."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.required or action.default in (None, False, argparse.SUPPRESS) or "%(default)" in text:
            return text
        return super()._get_help_string(action)


class _Parser(argparse.ArgumentParser):
    """argparse, with the error as the last line: `error: …` (exit code 2)."""

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(2, f"error: {message}\n")


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text}")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number ≥ 0, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = _weight(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _weight(text: str) -> float:
    """A loss weight or σ: a finite number ≥ 0 (NaN, inf and negatives are refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number ≥ 0, got {text}")
    return value


def _fraction(text: str) -> float:
    value = _weight(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def _default(cls, name: str):
    """The default of ``cls``'s constructor argument ``name``: the one place it is written."""
    return inspect.signature(cls).parameters[name].default


def _device(args: argparse.Namespace):
    return config.parse_device(args.device, "--device") if args.device else config.device()


def _info(args: argparse.Namespace) -> int:
    from .vgg import load_vgg

    for name, value in config.settings().items():
        print(f"{name:19} {value}")
    _, source, preprocessing = load_vgg("vgg16", config.vgg_weights())
    print(f"{'loss network':19} {source}")
    if preprocessing == "caffe":
        from .caffe_vgg import LICENCE, SHA256

        print(f"{'  sha256':19} {SHA256} (its 13 convolutions, checked on every read)\n{'  credit':19} {LICENCE}")
    return 0


def _download(args: argparse.Namespace) -> int:
    from .downloads import fetch, manifest

    items = manifest()
    if not args.names:
        for item in items.values():
            pinned = "pinned" if item.sha256 else "UNPINNED"
            print(f"{item.name:16} {item.kind:12} {item.size_hint or '':7} {pinned:9} {item.attribution}")
        say("UNPINNED: no SHA-256 in the manifest yet (the source could not be fetched to check it); such a file "
            "is reported as UNVERIFIED when downloaded and re-checked against what it was then")
        return 0
    for name in args.names:
        print(fetch(name))
    return 0


def _samples(args: argparse.Namespace) -> int:
    for kind in data.KINDS:
        for path in data.fallback_images(kind, Path(args.folder) / kind):
            print(path)
    return 0


def _training_images(folder: str) -> list[Path]:
    paths = data.list_images(Path(folder))
    if not paths:
        raise FileNotFoundError(f"{folder}: no images found (jpg, png, ...)")
    return paths


def _first_example(dataset, seed: int):
    """The first readable example (a sample to watch during training)."""
    for index in range(len(dataset)):
        try:
            return dataset[(index, seed)]
        except ValueError:
            continue
    raise ValueError("none of the training images can be read")


def _initialise(model, source: str) -> dict:
    """``--init``: start ``model`` from the weights of a checkpoint or a shipped model (to
    fine-tune it, e.g. at a lower learning rate). Returns what the run's fingerprint records."""
    from .objectives import tensor_sha256
    from .train import load_checkpoint, load_weights, resolve_model

    path = resolve_model(source)
    state = load_checkpoint(path)
    load_weights(model, state["model"], path, "this network (give the network options it was trained with)")
    weights = "".join(f"{k}:{tensor_sha256(v)}" for k, v in sorted(state["model"].items()))
    return {"init": {"from": path.name, "step": state.get("step", state.get("training", {}).get("steps")),
                     "weights_sha256": hashlib.sha256(weights.encode()).hexdigest()}}


def _fit(args: argparse.Namespace, model, objective, dataset, sample, device) -> int:
    """Run course_lib.train.train with the shared command-line options."""
    from .train import TrainConfig, train

    cfg = TrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr, betas=(args.beta1, 0.999), warmup=args.warmup,
                      checkpoint_every=args.checkpoint_every, sample_every=args.sample_every,
                      seed=args.seed, num_workers=args.workers, amp=args.amp,
                      channels_last=not args.no_channels_last, compile=args.compile,
                      extra=_initialise(model, args.init) if args.init else {})
    history = train(model, objective, dataset, args.out, cfg, device=device, sample_input=sample,
                    restart=args.restart)
    if history:
        print(json.dumps({"step": history[-1]["step"], "losses": {k: v for k, v in history[-1].items()
                                                                  if k not in ("step", "seconds")},
                          "checkpoint": str(Path(args.out) / "checkpoint.pt")}))
    return 0


MIN_TRAINING_SIDE = 16  # relu4_3 sits behind three 2×2 poolings; the transformation network halves twice


def _at_least(option: str, value: int, minimum: int, why: str) -> None:
    """Refuse a size below what the networks need, before any data or network is built."""
    if value < minimum:
        raise ValueError(f"{option} {value} is below the {minimum} pixels {why}")


def _given(value: float | None, default: float) -> float:
    return default if value is None else value


def _train_style(args: argparse.Namespace) -> int:
    import torch

    from .choices import choices
    from .images import load_image
    from .networks import build
    from .objectives import LossWeights, MultiStyleObjective, PerceptualObjective, style_weights
    from .vgg import VGGFeatures

    _at_least("--image-size", args.image_size, MIN_TRAINING_SIDE, "the networks need (relu4_3 is 8× smaller)")
    _at_least("--style-size", args.style_size, MIN_TRAINING_SIDE, "the loss network needs (relu4_3 is 8× smaller)")
    device = _device(args)
    styles = [load_image(path, size=args.style_size) for path in (args.styles or [args.style])]
    dataset = data.CropDataset(_training_images(args.data), crop=args.image_size, resize=args.image_size,
                               cache=args.cache_images)
    loss_net = VGGFeatures(weights=args.vgg_weights or config.vgg_weights()).to(device)
    d = style_weights(loss_net)  # options not given take the loss network's defaults
    weights = LossWeights(content=_given(args.content_weight, d.content), style=_given(args.style_weight, d.style),
                          tv=_given(args.tv_weight, d.tv))
    if len(styles) > 1:
        if args.paper:
            raise ValueError("--paper's batch norm cannot hold several styles (conditional instance norm does): "
                             "drop --paper")
        objective = MultiStyleObjective(loss_net, styles, weights, content_layers=(args.content_layer,))
    else:
        objective = PerceptualObjective(loss_net, styles[0], weights, content_layers=(args.content_layer,))
    torch.manual_seed(args.seed)
    network = choices("paper").style_network() if args.paper else {"upsampling": args.upsampling, "norm": args.norm}
    model = build("style", width=args.width, styles=len(styles), **network)
    return _fit(args, model, objective, dataset, _first_example(dataset, args.seed).unsqueeze(0), device)


def _train_sr(args: argparse.Namespace) -> int:
    from dataclasses import replace

    import torch

    from .choices import choices
    from .networks import build
    from .objectives import PerceptualObjective, sr_weights
    from .sr import Degradation
    from .vgg import VGGFeatures

    if args.arch == "srcnn" and args.paper:
        raise ValueError("--paper picks the paper's super-resolution network; SRCNN (--arch srcnn) has no "
                         "such variant: drop one of them")
    if args.arch == "srcnn" and args.loss != "pixel":
        raise ValueError("SRCNN is trained with the per-pixel loss: use --loss pixel")
    if args.image_size % args.scale:
        raise ValueError(f"--image-size {args.image_size} is not a multiple of --scale {args.scale}")
    from .networks import MIN_INPUT_SIDE

    _at_least("--image-size", args.image_size, MIN_INPUT_SIDE * args.scale,
              f"that ×{args.scale} needs (its low-resolution input must be at least {MIN_INPUT_SIDE} pixels)")
    device = _device(args)
    dataset = data.CropDataset(_training_images(args.data), crop=args.image_size, cache=args.cache_images)
    loss_net = VGGFeatures(("relu2_2",), weights=args.vgg_weights or config.vgg_weights()).to(device) \
        if args.loss == "feat" else None
    degradation = Degradation(args.scale, args.blur)
    defaults = sr_weights(args.loss, loss_net)
    objective = PerceptualObjective(loss_net, weights=replace(defaults, tv=_given(args.tv_weight, defaults.tv)),
                                    input_transform=degradation)
    torch.manual_seed(args.seed)
    model = build("srcnn", scale=args.scale) if args.arch == "srcnn" else \
        build("sr", scale=args.scale, **(choices("paper").sr_network() if args.paper else
                                         {"upsampling": args.upsampling, "norm": args.norm}))
    sample = degradation(_first_example(dataset, args.seed).unsqueeze(0))
    return _fit(args, model, objective, dataset, sample, device)


def _train_pix2pix(args: argparse.Namespace) -> int:
    import torch

    from .networks import build
    from .translation import PairedDataset, Pix2PixObjective, TranslationWeights
    from .vgg import VGGFeatures

    if args.task is None:
        if args.resize is not None:
            raise ValueError("--resize applies to the photos of a --task; side-by-side pairs (no --task) are "
                             "cropped as they are. Drop --resize, or give --task")
        say("note: no --task, so each training image is read as a side-by-side pair, left half → right half "
            "(--reverse: right → left). For ordinary photos give --task edges, colorize or restore.")
    _at_least("--image-size", args.image_size, 2 ** args.depth,
              f"a U-Net of --depth {args.depth} halves down to (2^{args.depth})")
    _at_least("--image-size", args.image_size, 32 * 2 ** (args.scales - 1),
              f"--scales {args.scales} PatchGANs need (32 at the coarsest, each scale halving)")
    device = _device(args)
    dataset = PairedDataset(_training_images(args.data), crop=args.image_size, task=args.task, cache=args.cache_images,
                            resize=args.resize, reverse=args.reverse)
    weights = TranslationWeights(gan=args.gan, l1=args.l1, feature_matching=args.feature_matching, vgg=args.vgg)
    loss_net = None
    if args.vgg:
        from .translation import HD_LAYERS

        loss_net = VGGFeatures(tuple(HD_LAYERS), weights=args.vgg_weights or config.vgg_weights()).to(device)
    objective = Pix2PixObjective(weights, args.gan_mode, loss_net)
    torch.manual_seed(args.seed)
    model = build("pix2pix", width=args.width, depth=args.depth, d_width=args.d_width, scales=args.scales)
    return _fit(args, model, objective, dataset, _first_example(dataset, args.seed)[0].unsqueeze(0), device)


def _train_cyclegan(args: argparse.Namespace) -> int:
    import torch

    from .networks import build
    from .translation import CycleGANObjective, UnpairedDataset

    device = _device(args)
    dataset = UnpairedDataset(_training_images(args.a), _training_images(args.b), crop=args.image_size,
                              cache=args.cache_images, resize=args.resize)
    torch.manual_seed(args.seed)
    model = build("cyclegan", width=args.width, blocks=args.blocks, d_width=args.d_width, pool=args.pool,
                  crop=args.image_size)
    objective = CycleGANObjective(cycle=args.cycle, identity=args.identity)
    return _fit(args, model, objective, dataset, _first_example(dataset, args.seed)[0].unsqueeze(0), device)


def _translate(args: argparse.Namespace) -> int:
    import torch

    from .images import load_image, save_image
    from .networks import MIN_INPUT_SIDE
    from .tiling import refuse_if_too_large
    from .train import load_checkpoint, load_model, resolve_model
    from .translation import make_input

    device = _device(args)
    model = load_model(args.model, device, kinds=("pix2pix", "cyclegan"))
    kind = model.config["kind"]
    if kind == "pix2pix" and args.direction != "ab":
        raise ValueError(f"{args.model} is a pix2pix model, which translates one way only; --direction is "
                         f"for CycleGAN models")
    network = model.generator if kind == "pix2pix" else (model.g_ab if args.direction == "ab" else model.g_ba)
    task = args.task
    if task == "auto":
        task = (load_checkpoint(resolve_model(args.model)).get("fingerprint", {}).get("data", {}).get("task")
                if kind == "pix2pix" else None)
    def one(path_in: Path, path_out: Path) -> None:
        depth = getattr(network, "depth", None)  # a U-Net reflection-pads its input to a multiple of 2^depth
        image = load_image(path_in, min_side=MIN_INPUT_SIDE if depth is None else 2 ** depth // 2 + 1)
        refuse_if_too_large(network, image, str(path_in), probe=2 ** (depth or 6))
        if task not in (None, "none"):
            image = make_input(image[0], task).unsqueeze(0)
        with torch.no_grad():
            print(save_image(network(image.to(device)).float().clamp(0, 1).cpu(), path_out))
    return _each(_pairs(args.input, args.output, ".png", args.overwrite), one)


def _each(pairs: list[tuple[Path, Path]], work) -> int:
    """``work(input, output)`` for every pair. In a batch, an input that cannot be processed (an
    unreadable image, a broken link, a folder named like an image) is skipped, named on stderr,
    and the others are still written; the command then fails, saying how many were skipped."""
    if len(pairs) == 1:
        work(*pairs[0])
        return 0
    skipped = 0
    for path_in, path_out in pairs:
        try:
            work(path_in, path_out)
        except (ValueError, OSError) as err:
            skipped += 1
            say(f"skipped {path_in}: {' '.join(str(err).split())}")
    if skipped:
        raise ValueError(f"{skipped} of {len(pairs)} inputs were skipped (each named above); the other "
                         f"{len(pairs) - skipped} were written")
    return 0


def _pairs(source: str, target: str, suffix: str, overwrite: bool) -> list[tuple[Path, Path]]:
    """(input, output) paths for an image or every image of a folder. Writing over an input, or
    into the input folder, is refused unless ``overwrite``."""
    source_path, target_path = Path(source), Path(target)
    if not source_path.exists():
        raise FileNotFoundError(f"{source_path}: no such file or folder")
    if source_path.is_dir():
        found = data.list_images(source_path)
        stems = [p.stem for p in found]  # a.png and a.jpg both kept: a_png.jpg, a_jpg.jpg
        pairs = [(p, target_path / (f"{p.stem}_{p.suffix[1:]}{suffix}" if stems.count(p.stem) > 1 else
                                    f"{p.stem}{suffix}")) for p in found]
        if not pairs:
            raise FileNotFoundError(f"{source_path}: no images in it")
        if not overwrite and target_path.exists() and target_path.resolve() == source_path.resolve():
            raise ValueError(f"--output {target} is the input folder: its images would be overwritten; "
                             f"choose another folder, or pass --overwrite")
    else:
        if target_path.is_dir():
            target_path = target_path / f"{source_path.stem}{suffix}"
        pairs = [(source_path, target_path)]
    inputs = {p.resolve() for p, _ in pairs}
    for _, out in pairs:
        if not overwrite and out.exists() and out.resolve() in inputs:
            raise ValueError(f"{out} is an input: it would be overwritten; choose another --output, "
                             f"or pass --overwrite")
    return pairs


def _upscale(args: argparse.Namespace) -> int:
    from .images import load_image, save_image
    from .networks import MIN_INPUT_SIDE
    from .sr import upscale
    from .tiling import refuse_if_too_large
    from .train import load_model

    device = _device(args)
    model = load_model(args.model, device, kinds=("sr", "srcnn"))
    def one(path_in: Path, path_out: Path) -> None:
        image = load_image(path_in, min_side=MIN_INPUT_SIDE)
        refuse_if_too_large(model, image, str(path_in))
        print(save_image(upscale(model, image, match=args.match_histogram), path_out))
    return _each(_pairs(args.input, args.output, ".png", args.overwrite), one)


def _eval_sr(args: argparse.Namespace) -> int:
    from .sr import evaluate
    from .train import load_model

    device = _device(args)
    model = None if args.model == "bicubic" else load_model(args.model, device, kinds=("sr", "srcnn"))
    if model is not None and model.scale != args.scale:
        raise ValueError(f"{args.model} upscales ×{model.scale}, not ×{args.scale}")
    folders = [Path(f) for f in args.sets] if args.sets else list(data.sr_sets().values())
    names = [folder.name for folder in folders]
    clashes = sorted({str(f) for f in folders if names.count(f.name) > 1})
    if clashes:
        raise ValueError(f"--sets {' '.join(clashes)}: the results are keyed by folder name, and these share one; "
                         f"score them in separate runs")
    results = {folder.name: evaluate(model, folder, args.scale, args.blur, args.match_histogram)
               for folder in folders}
    for name, r in results.items():
        for line in r["cropped_to_multiple_of_scale"]:
            say(f"note: {name}/{line} (cropped to a multiple of {args.scale})")
    if args.markdown:
        print(f"| set | images | ×{args.scale} PSNR (dB) | SSIM |\n|---|---|---|---|")
        for name, r in results.items():
            print(f"| {name} | {r['images']} | {r['psnr']:.2f} | {r['ssim']:.4f} |")
    else:
        print(json.dumps({"model": args.model, "scale": args.scale, "blur": args.blur,
                          "match_histogram": args.match_histogram, "sets": results}))
    return 0


def _stylize(args: argparse.Namespace) -> int:
    import torch

    from .images import load_image, save_image
    from .networks import MIN_INPUT_SIDE
    from .tiling import auto_tile, tiled
    from .train import load_model

    device = _device(args)
    model = load_model(args.model, device, kinds=("style",))
    if model.styles > 1:
        from .networks import Styled

        if args.style is None:
            raise ValueError(f"{args.model} holds {model.styles} styles: pick one with --style 0..{model.styles - 1} "
                             f"(or mix them with --style w1,w2,…)")
        weights = [float(w) for w in args.style.split(",")]
        if len(weights) == 1 and not weights[0].is_integer():
            raise ValueError(f"--style {args.style}: an index 0..{model.styles - 1}, or {model.styles} weights")
        model = Styled(model, int(weights[0]) if len(weights) == 1 else weights, args.strength)
    elif args.style is not None or args.strength != 1.0:
        raise ValueError(f"{args.model} holds one style: --style and --strength are for networks of several")
    pairs = _pairs(args.input, args.output, ".jpg", args.overwrite)
    if args.export_onnx:  # refused before anything is written
        from .train import resolve_model

        kept = {p.resolve() for p, _ in pairs} | {Path(resolve_model(args.model)).resolve()}
        if Path(args.export_onnx).exists() and Path(args.export_onnx).resolve() in kept and not args.overwrite:
            raise ValueError(f"--export-onnx {args.export_onnx} is an input or the model itself: it would be "
                             f"overwritten; choose another path")

    def one(path_in: Path, path_out: Path) -> None:
        image = load_image(path_in, max_size=args.max_size, min_side=MIN_INPUT_SIDE)
        h, w = image.shape[-2:]
        tile = args.tile or auto_tile(model, h, w, device)
        if tile and tile < max(h, w):
            say(f"{path_in}: {w}×{h} in tiles of {tile}² (with seam blending)")
            output = tiled(model, image, tile)
        else:
            try:
                with torch.no_grad():
                    output = model(image.to(device)).cpu()
            except torch.OutOfMemoryError:
                tile = 1024
                say(f"{path_in}: {w}×{h} does not fit in {device} memory; retrying in tiles of {tile}²")
                output = tiled(model, image, tile)
        if args.preserve_color:
            from .color import preserve

            output = preserve(output.clamp(0, 1), image, args.preserve_color)
        print(save_image(output, path_out))
    _each(pairs, one)
    if args.export_onnx:
        from .files import atomic_write

        onnx_path = Path(args.export_onnx)
        dummy = torch.rand(1, 3, 256, 256, device=device)
        with atomic_write(onnx_path) as tmp:
            torch.onnx.export(model, dummy, str(tmp), input_names=["image"], output_names=["stylized"],
                              dynamic_axes={"image": {2: "height", 3: "width"}, "stylized": {2: "height", 3: "width"}},
                              dynamo=False)
        say(f"ONNX model written to {onnx_path}")
    return 0


def _training_options(p: argparse.ArgumentParser, steps: int, image_size: int, batch_size: int = PAPER.batch_size,
                      lr: float = 1e-3, beta1: float = 0.9) -> None:
    """The options every training command shares, with the paper's defaults for the task."""
    from .train import AMP, TrainConfig

    defaults = TrainConfig()
    p.add_argument("--out", required=True, help="folder for checkpoint.pt and samples/; rerun to resume")
    p.add_argument("--restart", action="store_true",
                   help="start over even if --out holds a checkpoint (which is kept under another name)")
    p.add_argument("--init", default=None, metavar="MODEL",
                   help="start from the weights of a checkpoint.pt or a shipped model (fine-tuning, "
                        "e.g. with a lower --lr); a resumed run keeps its own weights")
    p.add_argument("--steps", type=_positive, default=steps, help="iterations (paper: %(default)s)")
    p.add_argument("--image-size", type=_positive, default=image_size, help="training crop side (paper: %(default)s)")
    p.add_argument("--batch-size", type=_positive, default=batch_size, help="batch size (paper: %(default)s)")
    p.add_argument("--lr", type=_positive_float, default=lr, help="Adam learning rate (paper: %(default)s)")
    p.add_argument("--beta1", type=_fraction, default=beta1, help="Adam's β1 (paper: %(default)s)")
    p.add_argument("--warmup", type=_non_negative, default=defaults.warmup,
                   help="steps over which the learning rate rises linearly to --lr (0: none, as the paper)")
    p.add_argument("--checkpoint-every", type=_positive, default=defaults.checkpoint_every,
                   help="steps between checkpoints")
    p.add_argument("--sample-every", type=_positive, default=defaults.sample_every,
                   help="steps between sample images")
    p.add_argument("--amp", choices=AMP, default=defaults.amp,
                   help="mixed precision (auto: bf16 where the GPU or CPU has it, fp16 on older GPUs, else off)")
    p.add_argument("--compile", action="store_true", help="torch.compile the network")
    p.add_argument("--no-channels-last", action="store_true", help="keep NCHW memory layout")
    p.add_argument("--workers", type=int, default=defaults.num_workers, help="DataLoader worker processes")
    p.add_argument("--cache-images", action="store_true",
                   help="keep the decoded training images in memory (for small training sets)")
    p.add_argument("--seed", type=int, default=defaults.seed, help="seed of the initialisation and data order")
    p.add_argument("--device", default=None, help="cuda, mps or cpu (default: COURSE_DEVICE or the best)")
    p.add_argument("--vgg-weights", default=None,
                   help="imagenet, random, auto, or a torchvision VGG-16 state dict file "
                        "(default: COURSE_VGG_WEIGHTS, else auto)")


def _weights_help(table: dict) -> str:
    return "; ".join(f"{name} {value}" for name, value in table.items())


def _network_options(p: argparse.ArgumentParser, network, tv_weights: dict) -> None:
    """The options of the paper's transformation networks (style, super-resolution)."""
    from .networks import NORMS, UPSAMPLINGS

    p.add_argument("--tv-weight", type=_weight, default=None,
                   help=f"λ_TV; default by loss network: {_weights_help(tv_weights)} (the paper picks 1e-6..1e-4 "
                        f"for 0-255 images)")
    p.add_argument("--upsampling", choices=UPSAMPLINGS, default=_default(network, "upsampling"),
                   help="nearest+conv (no checkerboard) or the paper's stride-1/2 conv")
    p.add_argument("--norm", choices=sorted(NORMS), default=_default(network, "norm"),
                   help="instance norm (later work) or the paper's batch norm")


def _shipped(kinds: tuple[str, ...]) -> str:
    """The names of the shipped models of ``kinds``, for a --model option's help."""
    import torch

    from .train import shipped_models

    names = [name for name, path in shipped_models().items()
             if torch.load(path, mmap=True, weights_only=True)["model_config"].get("kind") in kinds]
    return ", ".join(names) or "none yet"


def _inference_options(p: argparse.ArgumentParser, trained_by: str, kinds: tuple[str, ...]) -> None:
    """The options of the commands that apply a trained network (stylize, upscale, translate)."""
    p.add_argument("--model", required=True, help=f"checkpoint.pt written by {trained_by}, or the name of a "
                                                  f"shipped model: {_shipped(kinds)}")
    p.add_argument("--input", required=True, help="an image, or a folder of images")
    p.add_argument("--output", required=True, help="output image (or folder, for a folder input)")
    p.add_argument("--overwrite", action="store_true", help="allow writing over input files")
    p.add_argument("--device", default=None, help="cuda, mps or cpu")


def _match_histogram_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--match-histogram", action="store_true",
                   help="histogram-match each output to its LR input (the paper's post-processing)")


def parser() -> argparse.ArgumentParser:
    from .networks import SuperResolutionNet, TransformerNet
    from .objectives import SR_WEIGHTS, STYLE_WEIGHTS
    from .translation import GAN_MODES, PIX2PIX, TASKS, CycleGAN, Pix2Pix
    from .vgg import CONTENT_LAYERS

    style_defaults = {part: {name: getattr(w, part) for name, w in STYLE_WEIGHTS.items()}
                      for part in ("content", "style", "tv")}

    top = _Parser(prog="python -m course_lib", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = top.add_subparsers(dest="command", required=True, parser_class=_Parser)

    commands.add_parser("info", help="print every setting in force and the loss network with its source and hash").set_defaults(run=_info)

    samples = commands.add_parser("samples", help="write the offline sample images (scikit-image and scikit-learn "
                                                  "photos, generated patterns) into FOLDER/{content,styles,train}")
    samples.add_argument("folder", help="where to write them")
    samples.set_defaults(run=_samples)

    get = commands.add_parser("download", help="download manifest entries into the cache")
    get.add_argument("names", nargs="*", help="entries to fetch (none: list them)")
    get.set_defaults(run=_download)

    ts = commands.add_parser("train-style", formatter_class=_Help,
                             help="train a feed-forward style transfer network (paper §4.1)")
    which = ts.add_mutually_exclusive_group(required=True)
    which.add_argument("--style", help="style image")
    which.add_argument("--styles", nargs="+", metavar="IMAGE",
                       help="several style images for one network with conditional instance norm "
                            "(Dumoulin et al. 2017): each (γ, β) pair learns one style")
    ts.add_argument("--data", required=True, help="folder of training images (paper: COCO 2014 train)")
    _training_options(ts, PAPER.train_steps, PAPER.image_size)
    _network_options(ts, TransformerNet, style_defaults["tv"])
    ts.add_argument("--style-size", type=_positive, default=PAPER.style_size, help="longer side of the style image")
    ts.add_argument("--content-weight", type=_weight, default=None,
                    help=f"λ_c, feature loss; default by loss network: {_weights_help(style_defaults['content'])}")
    ts.add_argument("--style-weight", type=_weight, default=None, help=f"λ_s, style loss at relu1_2..relu4_3; default "
                                                                     f"by loss network: {_weights_help(style_defaults['style'])}")
    ts.add_argument("--content-layer", default=CONTENT_LAYERS[0],
                    help="layer of the feature loss (paper: relu2_2; the authors' code: relu3_3)")
    ts.add_argument("--width", type=_positive, default=_default(TransformerNet, "width"),
                    help="channels of the first layer (paper: 32)")
    ts.add_argument("--paper", action="store_true",
                    help="the paper's network exactly: batch norm and stride-1/2 transposed convs "
                         "(the course: instance norm, nearest upsampling + conv)")
    ts.set_defaults(run=_train_style)

    tsr = commands.add_parser("train-sr", formatter_class=_Help,
                              help="train a super-resolution network (paper §4.2) or SRCNN")
    tsr.add_argument("--scale", type=int, choices=(2, 4, 8), required=True, help="upscaling factor")
    tsr.add_argument("--loss", choices=tuple(SR_WEIGHTS), required=True,
                     help="per-pixel loss, or feature loss at relu2_2")
    tsr.add_argument("--data", required=True, help="folder of training images (paper: 10k COCO images)")
    _training_options(tsr, PAPER.sr_steps, PAPER.sr_crop)
    _network_options(tsr, SuperResolutionNet, {"pixel": SR_WEIGHTS["pixel"].tv,
                                               **{f"feat/{k}": w.tv for k, w in SR_WEIGHTS["feat"].items()}})
    tsr.add_argument("--blur", type=_weight, default=1.0, help="σ of the Gaussian blur before downsampling (paper: %(default)s)")
    tsr.add_argument("--arch", choices=("sr", "srcnn"), default="sr",
                     help="the paper's network, or the SRCNN baseline (Dong et al. 2014)")
    tsr.add_argument("--paper", action="store_true",
                     help="the paper's network exactly: transposed convs and a scaled tanh output, no "
                          "global skip (the course adds the output to the bicubic enlargement)")
    tsr.set_defaults(run=_train_sr)

    up = commands.add_parser("upscale", formatter_class=_Help,
                             help="enlarge an image or a folder with a trained super-resolution network")
    _inference_options(up, "train-sr", ("sr", "srcnn"))
    _match_histogram_option(up)
    up.set_defaults(run=_upscale)

    ev = commands.add_parser("eval-sr", formatter_class=_Help,
                             help="PSNR/SSIM on Y of a model or of bicubic upscaling on benchmark sets")
    ev.add_argument("--model", required=True,
                    help=f"checkpoint.pt written by train-sr, a shipped model's name ({_shipped(('sr', 'srcnn'))}), "
                         f"or 'bicubic'")
    ev.add_argument("--scale", type=int, choices=(2, 4, 8), required=True, help="upscaling factor")
    ev.add_argument("--sets", nargs="+", default=None,
                    help="folders of HR images (default: the benchmark sets of COURSE_DATA or the cache)")
    ev.add_argument("--blur", type=_weight, default=0.0,
                    help="σ of a Gaussian blur before the bicubic downsampling (0: the standard benchmark LR)")
    ev.add_argument("--markdown", action="store_true", help="print a markdown table instead of JSON")
    ev.add_argument("--device", default=None, help="cuda, mps or cpu")
    _match_histogram_option(ev)
    ev.set_defaults(run=_eval_sr)

    tp = commands.add_parser("train-pix2pix", formatter_class=_Help,
                             help="train pix2pix (Isola et al. 2017), optionally with pix2pixHD's additions")
    tp.add_argument("--data", required=True, help="folder of image pairs side by side (input left, target "
                                                  "right), or of photos with --task")
    tp.add_argument("--task", choices=TASKS, default=None,
                    help="make the inputs from photos: Canny edges, greyscale, or shrunk ×4 and enlarged")
    tp.add_argument("--reverse", action="store_true",
                    help="side-by-side pairs: translate right to left (facades: label map → photo)")
    tp.add_argument("--resize", type=_positive, default=None,
                    help="with --task: scale each photo's shorter side to this before cropping")
    _training_options(tp, 80_000, 256, batch_size=1, lr=2e-4, beta1=0.5)
    tp.add_argument("--l1", type=_weight, default=PIX2PIX.l1, help="λ_L1 (paper: %(default)s)")
    tp.add_argument("--gan", type=_weight, default=PIX2PIX.gan, help="λ_GAN; 0 trains with L1 alone")
    tp.add_argument("--feature-matching", type=_weight, default=PIX2PIX.feature_matching,
                    help="λ_FM, pix2pixHD's feature matching (pix2pixHD: 10)")
    tp.add_argument("--vgg", type=_weight, default=PIX2PIX.vgg, help="λ_VGG, pix2pixHD's VGG loss (pix2pixHD: 10)")
    tp.add_argument("--scales", type=_positive, default=_default(Pix2Pix, "scales"),
                    help="discriminators at 1, 1/2, 1/4 ... resolution (pix2pixHD: 3)")
    tp.add_argument("--width", type=_positive, default=_default(Pix2Pix, "width"), help="U-Net's first channels")
    tp.add_argument("--depth", type=_positive, default=_default(Pix2Pix, "depth"),
                    help="U-Net levels (8 for 256² crops: down to 1×1)")
    tp.add_argument("--d-width", type=_positive, default=_default(Pix2Pix, "d_width"),
                    help="the PatchGAN's first channels (paper: %(default)s)")
    tp.add_argument("--gan-mode", choices=GAN_MODES, default="vanilla", help="cross-entropy (pix2pix) or least squares")
    tp.set_defaults(run=_train_pix2pix)

    tc = commands.add_parser("train-cyclegan", formatter_class=_Help,
                             help="train CycleGAN (Zhu et al. 2017) on two unpaired image folders")
    tc.add_argument("--a", required=True, help="folder of images of domain A (e.g. photos)")
    tc.add_argument("--b", required=True, help="folder of images of domain B (e.g. paintings)")
    _training_options(tc, 200_000, 256, batch_size=1, lr=2e-4, beta1=0.5)
    tc.add_argument("--cycle", type=_weight, default=10.0, help="λ_cyc (paper: %(default)s)")
    tc.add_argument("--identity", type=_weight, default=5.0, help="λ_identity, 0.5·λ_cyc (paper, some tasks: %(default)s)")
    tc.add_argument("--width", type=_positive, default=_default(CycleGAN, "width"),
                    help="generators' first channels (Johnson et al.'s network)")
    tc.add_argument("--blocks", type=_positive, default=9, help="residual blocks (paper: 9 at 256², 6 at 128²)")
    tc.add_argument("--pool", type=_non_negative, default=50, help="history of generated images (paper: %(default)s)")
    tc.add_argument("--d-width", type=_positive, default=_default(CycleGAN, "d_width"),
                    help="the PatchGANs' first channels (paper: %(default)s)")
    tc.add_argument("--resize", type=_positive, default=None, help="scale each image's shorter side to this first")
    tc.set_defaults(run=_train_cyclegan)

    tr = commands.add_parser("translate", formatter_class=_Help,
                             help="apply a trained pix2pix or CycleGAN model to an image or a folder")
    _inference_options(tr, "train-pix2pix or train-cyclegan", ("pix2pix", "cyclegan"))
    tr.add_argument("--direction", choices=("ab", "ba"), default="ab", help="CycleGAN: A→B or B→A")
    tr.add_argument("--task", default="auto",
                    help="pix2pix: make the input from a photo as in training ('auto': the task the model "
                         "was trained on), or 'none' to use the images as they are")
    tr.set_defaults(run=_translate)

    st = commands.add_parser("stylize", formatter_class=_Help,
                             help="apply a trained style network to an image or a folder")
    _inference_options(st, "train-style", ("style",))
    st.add_argument("--max-size", type=_positive, default=None, help="shrink (never enlarge) the longer side to this")
    st.add_argument("--tile", type=_positive, default=None,
                    help="process in tiles of this side (automatic when the image would not fit in memory)")
    st.add_argument("--style", default=None,
                    help="for a network of several styles (train-style --styles): the style's index, or weights "
                         "over the styles to mix them, e.g. 0.5,0.5,0,0")
    st.add_argument("--strength", type=_weight, default=1.0,
                    help="for a network of several styles: 1 the full style, 0 none (the style's (γ, β) blended "
                         "towards the identity, not a blend of pixels)")
    st.add_argument("--preserve-color", choices=("luminance", "histogram"), default=None,
                    help="keep the photo's colours (Gatys et al. 2017): luminance, the result's luma with the "
                         "photo's chroma; histogram, the result's colours given the photo's mean and covariance")
    st.add_argument("--export-onnx", default=None, metavar="PATH", help="also export the network to ONNX")
    st.set_defaults(run=_stylize)
    return top


SIZE_OPTIONS = ("image_size", "style_size", "width", "batch_size", "max_size", "blur", "tile", "resize")


def _out_of_memory(err: RuntimeError) -> bool:
    """The CPU allocator's failure, which torch raises as a plain RuntimeError."""
    text = str(err)
    return "can't allocate memory" in text or "not enough memory" in text or "DefaultCPUAllocator" in text


def main(argv: list[str] | None = None) -> int:
    import torch

    from .caffe_vgg import CaffeWeightsUnavailable
    from .downloads import DownloadError
    from .files import LockedError
    from .train import Interrupted
    from .vgg import WeightsUnavailable

    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except Interrupted as stop:
        return 128 + stop.signal
    except KeyboardInterrupt:
        say("error: interrupted")
        return 130
    except OSError as err:
        message = f"{err.filename}: {err.strerror}" if err.filename else (err.strerror or str(err))
        say(f"error: {message}")
        return 1
    except (ValueError, KeyError, MemoryError, FloatingPointError, DownloadError, LockedError,
            WeightsUnavailable, CaffeWeightsUnavailable, torch.OutOfMemoryError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else str(err)
        say(f"error: {message.strip().splitlines()[0] if message.strip() else type(err).__name__}")
        return 1
    except RuntimeError as err:
        if not _out_of_memory(err):
            raise
        sizes = ", ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()
                          if k in SIZE_OPTIONS and v is not None)
        say(f"error: out of memory ({' '.join(str(err).split())[:160]}); lower {sizes or 'the image size'}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
