"""Command line of the course: ``python -m course_lib <command> --help`` for each command."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import config, data

PAPER = "(paper: %(default)s)"


def _info(args: argparse.Namespace) -> int:
    print(config.describe())
    return 0


def _download(args: argparse.Namespace) -> int:
    items = data.manifest()
    if not args.names:
        for item in items.values():
            print(f"{item.name:16} {item.kind:8} {item.size_hint or '':7} {item.attribution}")
        return 0
    for name in args.names:
        print(data.fetch(name))
    return 0


def _training_images(folder: str) -> list[Path]:
    paths = data.list_images(Path(folder))
    if not paths:
        raise FileNotFoundError(f"{folder}: no images found (jpg, png, ...)")
    return paths


def _fit(args: argparse.Namespace, model, objective, dataset, sample, device) -> int:
    """Run course_lib.train.train with the shared command-line options."""
    from .train import TrainConfig, train

    cfg = TrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                      checkpoint_every=args.checkpoint_every, sample_every=args.sample_every,
                      seed=args.seed, num_workers=args.workers, amp=args.amp,
                      channels_last=not args.no_channels_last, compile=args.compile)
    history = train(model, objective, dataset, args.out, cfg, device=device, sample_input=sample)
    if history:
        print(f"step {history[-1]['step']}: loss {history[-1]['total']:.4g}; checkpoint in "
              f"{Path(args.out) / 'checkpoint.pt'}")
    return 0


def _train_style(args: argparse.Namespace) -> int:
    import torch

    from .images import load_image
    from .networks import build
    from .train import StyleTransferObjective
    from .vgg import VGGFeatures

    device = torch.device(args.device) if args.device else config.device()
    style = load_image(args.style, size=args.style_size).to(device)
    dataset = data.CropDataset(_training_images(args.data), crop=args.image_size, resize=args.image_size)
    loss_net = VGGFeatures(weights=args.vgg_weights).to(device)
    objective = StyleTransferObjective(loss_net, style, content_weight=args.content_weight,
                                       style_weight=args.style_weight, tv_weight=args.tv_weight)
    torch.manual_seed(args.seed)
    model = build("style", upsampling=args.upsampling, norm=args.norm, width=args.width)
    return _fit(args, model, objective, dataset, dataset[(0, args.seed)].unsqueeze(0), device)


def _train_sr(args: argparse.Namespace) -> int:
    import torch

    from .networks import build
    from .sr import PairDataset, SRObjective
    from .vgg import VGGFeatures

    device = torch.device(args.device) if args.device else config.device()
    dataset = PairDataset(_training_images(args.data), args.scale, crop=args.image_size, blur=args.blur)
    loss_net = VGGFeatures(("relu2_2",), weights=args.vgg_weights).to(device) if args.loss == "feat" else None
    objective = SRObjective(args.loss, loss_net, tv_weight=args.tv_weight)
    torch.manual_seed(args.seed)
    model = build("sr", scale=args.scale, upsampling=args.upsampling, norm=args.norm)
    return _fit(args, model, objective, dataset, dataset[(0, args.seed)][0].unsqueeze(0), device)


def _upscale(args: argparse.Namespace) -> int:
    import torch

    from .images import load_image, save_image
    from .sr import upscale
    from .train import load_model

    device = torch.device(args.device) if args.device else config.device()
    model = load_model(args.model, device)
    if getattr(model, "scale", None) is None:
        raise ValueError(f"{args.model}: not a super-resolution model (train it with train-sr)")
    for path_in, path_out in _pairs(args.input, args.output, ".png"):
        print(save_image(upscale(model, load_image(path_in, min_side=4), args.match_histogram), path_out))
    return 0


def _eval_sr(args: argparse.Namespace) -> int:
    import json

    import torch

    from .sr import evaluate
    from .train import load_model

    device = torch.device(args.device) if args.device else config.device()
    model = None if args.model == "bicubic" else load_model(args.model, device)
    if model is not None and getattr(model, "scale", None) != args.scale:
        raise ValueError(f"{args.model} upscales ×{getattr(model, 'scale', '?')}, not ×{args.scale}")
    results = {Path(folder).name: evaluate(model, Path(folder), args.scale, args.blur, args.match_histogram)
               for folder in args.sets}
    print(json.dumps({"model": args.model, "scale": args.scale, "blur": args.blur,
                      "match_histogram": args.match_histogram, "sets": results}))
    print("\n| set | images | PSNR (dB) | SSIM |\n|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['images']} | {r['psnr']:.2f} | {r['ssim']:.4f} |")
    for name, r in results.items():
        for line in r["cropped_to_multiple_of_scale"]:
            print(f"note: {name}/{line} (cropped to a multiple of {args.scale})", file=sys.stderr)
    return 0


def _pairs(source: str, target: str, suffix: str) -> list[tuple[Path, Path]]:
    """(input, output) paths for an image or every image of a folder."""
    source_path, target_path = Path(source), Path(target)
    if not source_path.is_dir():
        return [(source_path, target_path)]
    pairs = [(p, target_path / f"{p.stem}{suffix}") for p in data.list_images(source_path)]
    if not pairs:
        raise FileNotFoundError(f"{source_path}: no images in it")
    return pairs


def _stylize(args: argparse.Namespace) -> int:
    import torch

    from .images import load_image, save_image
    from .train import load_model

    device = torch.device(args.device) if args.device else config.device()
    model = load_model(args.model, device)
    for path_in, path_out in _pairs(args.input, args.output, ".jpg"):
        image = load_image(path_in, size=args.max_size).to(device)
        try:
            with torch.no_grad():
                output = model(image)
        except torch.OutOfMemoryError:
            raise MemoryError(f"{path_in}: {image.shape[-1]}×{image.shape[-2]} does not fit in "
                              f"{device} memory; pass a smaller --max-size") from None
        print(save_image(output.cpu(), path_out))
    if args.export_onnx:
        dummy = torch.rand(1, 3, 256, 256, device=device)
        torch.onnx.export(model, dummy, args.export_onnx, input_names=["image"], output_names=["stylized"],
                          dynamic_axes={"image": {2: "height", 3: "width"}, "stylized": {2: "height", 3: "width"}},
                          dynamo=False)
        print(f"ONNX model written to {args.export_onnx}")
    return 0


def _training_options(p: argparse.ArgumentParser, steps: int, image_size: int, tv_weight: float) -> None:
    """The options train-style and train-sr share, with the paper's defaults for the task."""
    p.add_argument("--out", required=True, help="folder for checkpoint.pt and samples/; rerun to resume")
    p.add_argument("--steps", type=int, default=steps, help=f"iterations {PAPER}")
    p.add_argument("--image-size", type=int, default=image_size, help=f"training crop side {PAPER}")
    p.add_argument("--batch-size", type=int, default=4, help=f"batch size {PAPER}")
    p.add_argument("--lr", type=float, default=1e-3, help=f"Adam learning rate {PAPER}")
    p.add_argument("--tv-weight", type=float, default=tv_weight,
                   help="λ_TV (the paper picks 1e-6..1e-4, in 0-255 units)")
    p.add_argument("--upsampling", choices=("nearest", "transpose"), default="nearest",
                   help="nearest+conv (no checkerboard) or the paper's stride-1/2 conv")
    p.add_argument("--norm", choices=("instance", "batch"), default="instance",
                   help="instance norm (later work) or the paper's batch norm")
    p.add_argument("--checkpoint-every", type=int, default=1000, help="steps between checkpoints")
    p.add_argument("--sample-every", type=int, default=1000, help="steps between sample images")
    p.add_argument("--amp", choices=("auto", "bf16", "fp16", "off"), default="auto",
                   help="mixed precision (auto: bf16 or fp16 on CUDA, off on CPU)")
    p.add_argument("--compile", action="store_true", help="torch.compile the network")
    p.add_argument("--no-channels-last", action="store_true", help="keep NCHW memory layout")
    p.add_argument("--workers", type=int, default=2, help="DataLoader worker processes")
    p.add_argument("--seed", type=int, default=0, help="seed of the initialisation and data order")
    p.add_argument("--device", default=None, help="cuda, mps or cpu (default: COURSE_DEVICE or best)")
    p.add_argument("--vgg-weights", default=config.vgg_weights(),
                   help="imagenet, random, auto, or a torchvision VGG-16 state dict file")


def _inference_options(p: argparse.ArgumentParser, trained_by: str) -> None:
    """The options of the commands that apply a trained network (stylize, upscale)."""
    p.add_argument("--model", required=True, help=f"checkpoint.pt written by {trained_by}")
    p.add_argument("--input", required=True, help="an image, or a folder of images")
    p.add_argument("--output", required=True, help="output image (or folder, for a folder input)")
    p.add_argument("--device", default=None, help="cuda, mps or cpu")


def _match_histogram_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--match-histogram", action="store_true",
                   help="histogram-match each output to its LR input (the paper's post-processing)")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m course_lib", description=__doc__,
                                  formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    commands = top.add_subparsers(dest="command", required=True)
    formatter = argparse.ArgumentDefaultsHelpFormatter

    commands.add_parser("info", help="print the device, mode and data source in use").set_defaults(run=_info)

    get = commands.add_parser("download", help="download manifest entries into the cache")
    get.add_argument("names", nargs="*", help="entries to fetch (none: list them)")
    get.set_defaults(run=_download)

    ts = commands.add_parser("train-style", formatter_class=formatter,
                             help="train a feed-forward style transfer network (paper §4)")
    ts.add_argument("--style", required=True, help="style image")
    ts.add_argument("--data", required=True, help="folder of training images (paper: COCO 2014 train)")
    _training_options(ts, steps=40_000, image_size=256, tv_weight=1e-5)
    ts.add_argument("--style-size", type=int, default=512, help="longer side of the style image")
    ts.add_argument("--content-weight", type=float, default=1.0, help="λ_c, feature loss at relu2_2")
    ts.add_argument("--style-weight", type=float, default=5.0, help="λ_s, style loss at relu1_2..relu4_3")
    ts.add_argument("--width", type=int, default=32, help="channels of the first layer (paper: 32)")
    ts.set_defaults(run=_train_style)

    tsr = commands.add_parser("train-sr", formatter_class=formatter,
                              help="train a super-resolution network (paper §5)")
    tsr.add_argument("--scale", type=int, choices=(4, 8), required=True, help="upscaling factor")
    tsr.add_argument("--loss", choices=("pixel", "feat"), required=True,
                     help="per-pixel loss, or feature loss at relu2_2")
    tsr.add_argument("--data", required=True, help="folder of training images (paper: 10k COCO images)")
    _training_options(tsr, steps=200_000, image_size=288, tv_weight=1e-6)
    tsr.add_argument("--blur", type=float, default=1.0, help=f"σ of the Gaussian blur before downsampling {PAPER}")
    tsr.set_defaults(run=_train_sr)

    up = commands.add_parser("upscale", formatter_class=formatter,
                             help="enlarge an image or a folder with a trained super-resolution network")
    _inference_options(up, "train-sr")
    _match_histogram_option(up)
    up.set_defaults(run=_upscale)

    ev = commands.add_parser("eval-sr", formatter_class=formatter,
                             help="PSNR/SSIM on Y of a model or of bicubic upscaling on benchmark sets")
    ev.add_argument("--model", required=True, help="checkpoint.pt written by train-sr, or 'bicubic'")
    ev.add_argument("--scale", type=int, choices=(4, 8), required=True, help="upscaling factor")
    ev.add_argument("--sets", nargs="+", required=True, help="folders of HR images (e.g. sr/Set5)")
    ev.add_argument("--blur", type=float, default=0.0,
                    help="σ of a Gaussian blur before the bicubic downsampling (0: the standard benchmark LR)")
    ev.add_argument("--device", default=None, help="cuda, mps or cpu")
    _match_histogram_option(ev)
    ev.set_defaults(run=_eval_sr)

    st = commands.add_parser("stylize", formatter_class=formatter,
                             help="apply a trained style network to an image or a folder")
    _inference_options(st, "train-style")
    st.add_argument("--max-size", type=int, default=None, help="scale the longer side to this first")
    st.add_argument("--export-onnx", default=None, metavar="PATH", help="also export the network to ONNX")
    st.set_defaults(run=_stylize)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, FileNotFoundError, KeyError, MemoryError, FloatingPointError,
            data.DownloadError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
