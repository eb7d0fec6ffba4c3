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


def _train_style(args: argparse.Namespace) -> int:
    import torch

    from .images import load_image
    from .networks import build
    from .train import StyleTransferObjective, TrainConfig, train
    from .vgg import VGGFeatures

    device = torch.device(args.device) if args.device else config.device()
    style = load_image(args.style, size=args.style_size).to(device)
    paths = data._list(Path(args.data)) if Path(args.data).is_dir() else []
    if not paths:
        raise FileNotFoundError(f"{args.data}: no images found (jpg, png, ...)")
    dataset = data.CropDataset(paths, crop=args.image_size, resize=args.image_size)
    loss_net = VGGFeatures(weights=args.vgg_weights).to(device)
    objective = StyleTransferObjective(loss_net, style, content_weight=args.content_weight,
                                       style_weight=args.style_weight, tv_weight=args.tv_weight)
    torch.manual_seed(args.seed)
    model = build("style", upsampling=args.upsampling, norm=args.norm, width=args.width)
    sample = dataset[(0, args.seed)].unsqueeze(0)
    cfg = TrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                      checkpoint_every=args.checkpoint_every, sample_every=args.sample_every,
                      seed=args.seed, num_workers=args.workers, amp=args.amp,
                      channels_last=not args.no_channels_last, compile=args.compile)
    history = train(model, objective, dataset, args.out, cfg, device=device, sample_input=sample)
    if history:
        print(f"step {history[-1]['step']}: loss {history[-1]['total']:.4g}; checkpoint in "
              f"{Path(args.out) / 'checkpoint.pt'}")
    return 0


def _stylize(args: argparse.Namespace) -> int:
    import torch

    from .images import load_image, save_image
    from .train import load_model

    device = torch.device(args.device) if args.device else config.device()
    model = load_model(args.model, device)
    source, target = Path(args.input), Path(args.output)
    pairs = [(p, target / f"{p.stem}.jpg") for p in data._list(source)] if source.is_dir() else [(source, target)]
    if source.is_dir() and not pairs:
        raise FileNotFoundError(f"{source}: no images in it")
    for path_in, path_out in pairs:
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
    ts.add_argument("--out", required=True, help="folder for checkpoint.pt and samples/; rerun to resume")
    ts.add_argument("--steps", type=int, default=40_000, help=f"iterations {PAPER}")
    ts.add_argument("--image-size", type=int, default=256, help=f"training crop side {PAPER}")
    ts.add_argument("--batch-size", type=int, default=4, help=f"batch size {PAPER}")
    ts.add_argument("--lr", type=float, default=1e-3, help=f"Adam learning rate {PAPER}")
    ts.add_argument("--style-size", type=int, default=512, help="longer side of the style image")
    ts.add_argument("--content-weight", type=float, default=1.0, help="λ_c, feature loss at relu2_2")
    ts.add_argument("--style-weight", type=float, default=5.0, help="λ_s, style loss at relu1_2..relu4_3")
    ts.add_argument("--tv-weight", type=float, default=1e-5, help="λ_TV (the paper picks 1e-6..1e-4 per style, in 0-255 units)")
    ts.add_argument("--upsampling", choices=("nearest", "transpose"), default="nearest",
                    help="nearest+conv (no checkerboard) or the paper's stride-1/2 conv")
    ts.add_argument("--norm", choices=("instance", "batch"), default="instance",
                    help="instance norm (later work) or the paper's batch norm")
    ts.add_argument("--width", type=int, default=32, help="channels of the first layer (paper: 32)")
    ts.add_argument("--checkpoint-every", type=int, default=1000, help="steps between checkpoints")
    ts.add_argument("--sample-every", type=int, default=1000, help="steps between sample images")
    ts.add_argument("--amp", choices=("auto", "bf16", "fp16", "off"), default="auto",
                    help="mixed precision (auto: bf16 or fp16 on CUDA, off on CPU)")
    ts.add_argument("--compile", action="store_true", help="torch.compile the network")
    ts.add_argument("--no-channels-last", action="store_true", help="keep NCHW memory layout")
    ts.add_argument("--workers", type=int, default=2, help="DataLoader worker processes")
    ts.add_argument("--seed", type=int, default=0, help="seed of the initialisation and data order")
    ts.add_argument("--device", default=None, help="cuda, mps or cpu (default: COURSE_DEVICE or best)")
    ts.add_argument("--vgg-weights", default=config.vgg_weights(),
                    help="imagenet, random, auto, or a torchvision VGG-16 state dict file")
    ts.set_defaults(run=_train_style)

    st = commands.add_parser("stylize", formatter_class=formatter,
                             help="apply a trained style network to an image or a folder")
    st.add_argument("--model", required=True, help="checkpoint.pt written by train-style")
    st.add_argument("--input", required=True, help="an image, or a folder of images")
    st.add_argument("--output", required=True, help="output image (or folder, for a folder input)")
    st.add_argument("--max-size", type=int, default=None, help="scale the longer side to this first")
    st.add_argument("--export-onnx", default=None, metavar="PATH", help="also export the network to ONNX")
    st.add_argument("--device", default=None, help="cuda, mps or cpu")
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
