"""The commands that apply a trained network: ``stylize``, ``upscale`` and ``translate``
(``eval-sr``, which scores one, is in :mod:`.evaluate`). Each takes an image or a folder (a
batch skips what it cannot read, names it, and still writes the rest) and a ``--model``: a
checkpoint or a shipped model's name."""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import torch
from torch import nn

from ..checkpoints import Checkpoint, load_model, resolve
from ..config import say
from ..data import list_images
from ..video_files import VIDEO_SUFFIXES
from .options import SHIPPED, Help, device, model_option, non_negative, positive, weight


def _translate(args: argparse.Namespace) -> int:
    from ..images import load_image, resize, save_image
    from ..networks import MIN_INPUT_SIDE
    from ..tiling import refuse_if_too_large
    from ..translation import make_input

    where = device(args)
    stored = Checkpoint(args.model, where)
    model = stored.model(where, kinds=("pix2pix", "cyclegan"))
    kind = stored.kind
    if kind == "pix2pix" and args.direction != "ab":
        raise ValueError(f"{args.model} is a pix2pix model, which translates one way only; --direction is "
                         f"for CycleGAN models")
    part = "generator" if kind == "pix2pix" else ("g_ab" if args.direction == "ab" else "g_ba")
    network: nn.Module = model.get_submodule(part)
    task = args.task
    if task == "auto":
        task = stored.task if kind == "pix2pix" else None

    side = stored.photo_side if args.resize is None else args.resize
    made = task not in (None, "none")

    def one(path_in: Path, path_out: Path) -> None:
        depth = getattr(network, "depth", None)  # a U-Net reflection-pads its input to a multiple of 2^depth
        image = load_image(path_in, min_side=MIN_INPUT_SIDE if depth is None else 2 ** depth // 2 + 1)
        label = str(path_in)
        if made and side:  # edges drawn at the scale the model learned them
            image = resize(image, side, "bilinear", which="shorter")
            label += f" (scaled to the model's training --resize {side})"
        refuse_if_too_large(network, image, label, probe=2 ** (depth or 6))
        if made:
            image = make_input(image[0], task).unsqueeze(0)
        with torch.no_grad():
            print(save_image(network(image.to(where)).float().clamp(0, 1).cpu(), path_out))
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
        found = list_images(source_path)
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
    from ..images import load_image, save_image
    from ..networks import MIN_INPUT_SIDE
    from ..sr import upscale
    from ..tiling import refuse_if_too_large

    model = load_model(args.model, device(args), kinds=("sr", "srcnn"))
    def one(path_in: Path, path_out: Path) -> None:
        image = load_image(path_in, min_side=MIN_INPUT_SIDE)
        refuse_if_too_large(model, image, str(path_in))
        print(save_image(upscale(model, image, match=args.match_histogram), path_out))
    return _each(_pairs(args.input, args.output, ".png", args.overwrite), one)


def _style_choice(text: str, styles: int, names: list[str]):
    """``--style``: a style's name or index (an int), or weights over the styles (a list)."""
    if text in names:
        return names.index(text)
    try:
        weights = [float(w) for w in text.split(",")]
    except ValueError:
        weights = []
    if len(weights) > 1:
        return weights
    if len(weights) == 1 and weights[0].is_integer():
        return int(weights[0])
    named = f", a name ({', '.join(names)})" if names else ""
    raise ValueError(f"--style {text}: an index 0..{styles - 1}{named}, or {styles} weights")


def _stylize(args: argparse.Namespace) -> int:
    from ..images import load_image, save_image
    from ..networks import MIN_INPUT_SIDE, Styled
    from ..tiling import auto_tile, tiled
    from ..video_files import is_video, map_video

    where = device(args)
    stored = Checkpoint(args.model, where)
    model = stored.model(where, kinds=("style",))
    styles, names = int(getattr(model, "styles", 1)), stored.style_names
    if styles > 1:
        named = f" or a name ({', '.join(names)})" if names else ""
        if args.style is None:
            raise ValueError(f"{args.model} holds {styles} styles: pick one with --style 0..{styles - 1}{named} "
                             f"(or mix them with --style w1,w2,…)")
        model = Styled(model, _style_choice(args.style, styles, names), args.strength)
    elif args.style is not None or args.strength != 1.0:
        raise ValueError(f"{args.model} holds one style: --style and --strength are for networks of several")
    video = is_video(args.input)
    pairs = _pairs(args.input, args.output, ".mp4" if video else ".jpg", args.overwrite)
    if args.export_onnx:  # refused before anything is written
        kept = {p.resolve() for p, _ in pairs} | {resolve(args.model).resolve()}
        if Path(args.export_onnx).exists() and Path(args.export_onnx).resolve() in kept and not args.overwrite:
            raise ValueError(f"--export-onnx {args.export_onnx} is an input or the model itself: it would be "
                             f"overwritten; choose another path")

    said: set[str] = set()

    def once(line: str) -> None:  # a video's frames share one size: one line, not one a frame
        if line not in said:
            said.add(line)
            say(line)

    def stylise(image: torch.Tensor, label: str) -> torch.Tensor:
        h, w = image.shape[-2:]
        tile = args.tile or auto_tile(model, h, w, where)
        if tile and tile < max(h, w):
            once(f"{label}: {w}×{h} in tiles of {tile}² (with seam blending)")
            output = tiled(model, image, tile)
        else:
            try:
                with torch.no_grad():
                    output = model(image.to(where)).cpu()
            except torch.OutOfMemoryError:
                tile = 1024
                once(f"{label}: {w}×{h} does not fit in {where} memory; retrying in tiles of {tile}²")
                output = tiled(model, image, tile)
        if args.preserve_color:
            from ..color import preserve

            output = preserve(output.clamp(0, 1), image, args.preserve_color)
        return output

    def one(path_in: Path, path_out: Path) -> None:
        if video:
            frames = map_video(path_in, path_out, lambda frame: stylise(frame, str(path_in)), args.max_size)
            print(f"{path_out} ({frames} frames)")
            return
        image = load_image(path_in, max_size=args.max_size, min_side=MIN_INPUT_SIDE)
        print(save_image(stylise(image, str(path_in)), path_out))
    _each(pairs, one)
    if args.export_onnx:
        from ..files import atomic_write

        onnx_path = Path(args.export_onnx)
        dummy = torch.rand(1, 3, 256, 256, device=where)
        with atomic_write(onnx_path) as tmp, warnings.catch_warnings():
            # The exporter's notes that it cannot fold the padding's slices, which depend on the
            # image size: as intended (the export takes any size), so not shown to the student.
            warnings.filterwarnings("ignore", message="Constant folding - Only steps=1", category=UserWarning)
            torch.onnx.export(model, (dummy,), str(tmp), input_names=["image"], output_names=["stylized"],
                              dynamic_axes={"image": {2: "height", 3: "width"}, "stylized": {2: "height", 3: "width"}},
                              dynamo=False)
        say(f"ONNX model written to {onnx_path}")
    return 0


def _model_options(p: argparse.ArgumentParser, trained_by: str, kinds: tuple[str, ...], video: str = "") -> None:
    """The options of the commands that apply a trained network (stylize, upscale, translate);
    ``video``: what the command does with a video file, for --input's help."""
    model_option(p, f"checkpoint.pt written by {trained_by}, or the name of a shipped model: {SHIPPED}", kinds)
    p.add_argument("--input", required=True, help="an image, or a folder of images" + video)
    p.add_argument("--output", required=True, help="output image (or folder, for a folder input)")
    p.add_argument("--overwrite", action="store_true", help="allow writing over input files")
    p.add_argument("--device", default=None, help="cuda, mps or cpu")


def match_histogram_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--match-histogram", action="store_true",
                   help="histogram-match each output to its LR input (the paper's post-processing)")


def register(commands) -> None:
    """Add the commands that apply trained networks to ``commands``."""
    up = commands.add_parser("upscale", formatter_class=Help,
                             help="enlarge an image or a folder with a trained super-resolution network")
    _model_options(up, "train-sr", ("sr", "srcnn"))
    match_histogram_option(up)
    up.set_defaults(run=_upscale)

    tr = commands.add_parser("translate", formatter_class=Help,
                             help="apply a trained pix2pix or CycleGAN model to an image or a folder")
    _model_options(tr, "train-pix2pix or train-cyclegan", ("pix2pix", "cyclegan"))
    tr.add_argument("--direction", choices=("ab", "ba"), default="ab", help="CycleGAN: A→B or B→A")
    tr.add_argument("--task", default="auto",
                    help="pix2pix: make the input from a photo as in training ('auto': the task the model "
                         "was trained on), or 'none' to use the images as they are")
    tr.add_argument("--resize", type=non_negative, default=None,
                    help="pix2pix with a task: first scale the photo's shorter side to this, so that its "
                         "edges come at the scale the model learned (default: the model's own training "
                         "--resize; 0: the photo's size)")
    tr.set_defaults(run=_translate)

    st = commands.add_parser("stylize", formatter_class=Help,
                             help="apply a trained style network to an image or a folder")
    _model_options(st, "train-style", ("style",),
                   video=f", or a video file ({', '.join(VIDEO_SUFFIXES)}; needs PyAV: pip install av), "
                         f"stylised frame by frame into an .mp4")
    st.add_argument("--max-size", type=positive, default=None, help="shrink (never enlarge) the longer side to this")
    st.add_argument("--tile", type=positive, default=None,
                    help="process in tiles of this side (automatic when the image would not fit in memory)")
    st.add_argument("--style", default=None,
                    help="for a network of several styles (train-style --styles): the style's index or name "
                         "(its style image's file name), or weights over the styles to mix them, e.g. 0.5,0.5,0,0")
    st.add_argument("--strength", type=weight, default=1.0,
                    help="for a network of several styles: 1 the full style, 0 none (the style's (γ, β) blended "
                         "towards the identity, not a blend of pixels)")
    st.add_argument("--preserve-color", choices=("luminance", "histogram"), default=None,
                    help="keep the photo's colours (Gatys et al. 2017): luminance, the result's luma with the "
                         "photo's chroma; histogram, the result's colours given the photo's mean and covariance")
    st.add_argument("--export-onnx", default=None, metavar="PATH", help="also export the network to ONNX")
    st.set_defaults(run=_stylize)
