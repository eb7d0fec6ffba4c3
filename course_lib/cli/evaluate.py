"""``eval-sr``: PSNR/SSIM on Y (and, with ``--perceptual``, what PSNR misses) of a
super-resolution model or of bicubic upscaling on benchmark sets (the paper's Table 2)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .. import data
from ..checkpoints import load_model
from ..config import say
from ..hparams import SR_PERCEPTUAL_LAYERS
from .apply import match_histogram_option
from .options import SHIPPED, Help, device, model_option, weight


def _eval_sr(args: argparse.Namespace) -> int:
    from ..sr import evaluate
    from ..vgg import loss_network

    model = None if args.model == "bicubic" else load_model(args.model, device(args), kinds=("sr", "srcnn"))
    if model is not None and model.scale != args.scale:
        raise ValueError(f"{args.model} upscales ×{model.scale}, not ×{args.scale}")
    folders = [Path(f) for f in args.sets] if args.sets else list(data.sr_sets().values())
    names = [folder.name for folder in folders]
    clashes = sorted({str(f) for f in folders if names.count(f.name) > 1})
    if clashes:
        raise ValueError(f"--sets {' '.join(clashes)}: the results are keyed by folder name, and these share one; "
                         f"score them in separate runs")
    loss_net = loss_network(SR_PERCEPTUAL_LAYERS, device=device(args)) if args.perceptual else None
    results = {folder.name: evaluate(model, folder, args.scale, args.blur, args.match_histogram, loss_net=loss_net)
               for folder in folders}
    for name, r in results.items():
        for line in r["cropped_to_multiple_of_scale"]:
            say(f"note: {name}/{line} (cropped to a multiple of {args.scale})")
    if args.markdown:
        extra = [*SR_PERCEPTUAL_LAYERS, "sharpness_ratio"] if args.perceptual else []
        print("| set | images | " + " | ".join([f"×{args.scale} PSNR (dB)", "SSIM", *extra]) + " |\n"
              + "|---" * (4 + len(extra)) + "|")
        for name, r in results.items():
            print(f"| {name} | {r['images']} | {r['psnr']:.2f} | {r['ssim']:.4f} |"
                  + "".join(f" {r[key]:.4g} |" for key in extra))
    else:
        print(json.dumps({"model": args.model, "scale": args.scale, "blur": args.blur,
                          "match_histogram": args.match_histogram, "sets": results}))
    return 0


def register(commands) -> None:
    """Add ``eval-sr`` to ``commands``."""
    ev = commands.add_parser("eval-sr", formatter_class=Help,
                             help="PSNR/SSIM on Y of a model or of bicubic upscaling on benchmark sets")
    model_option(ev, f"checkpoint.pt written by train-sr, a shipped model's name ({SHIPPED}), or 'bicubic'",
                 ("sr", "srcnn"))
    ev.add_argument("--scale", type=int, choices=(2, 4, 8), required=True, help="upscaling factor")
    ev.add_argument("--sets", nargs="+", default=None,
                    help="folders of HR images (default: the benchmark sets of COURSE_DATA or the cache)")
    ev.add_argument("--blur", type=weight, default=0.0,
                    help="σ of a Gaussian blur before the bicubic downsampling (0: the standard benchmark LR)")
    ev.add_argument("--markdown", action="store_true", help="print a markdown table instead of JSON")
    ev.add_argument("--perceptual", action="store_true",
                    help=f"also the feature distance to the HR image at {' and '.join(SR_PERCEPTUAL_LAYERS)} of the "
                         f"loss network (COURSE_VGG_WEIGHTS) and the sharpness ratio (1: the HR image's edges)")
    ev.add_argument("--device", default=None, help="cuda, mps or cpu")
    match_histogram_option(ev)
    ev.set_defaults(run=_eval_sr)
