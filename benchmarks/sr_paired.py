"""Is one super-resolution model nearer the HR images than another, or is the gap noise?

    COURSE_DATA=../shared/data python benchmarks/sr_paired.py --scale 8 --models sr8-feat sr8-pixel
        [sr8-pixel-blur1 ...] [--metrics relu3_3 ...] [--blur 0] [--sets DIR ...] [--resamples 10000]

The means of ``benchmarks/sr_table.py`` hide how the images split. Here the first model is
compared with each other one on the same images, image by image: the mean of the per-image
differences (first − other) of each of ``--metrics`` (a feature distance of eq. 2 at relu2_2 or relu3_3
of the paper's VGG-16, lower is nearer; or PSNR in dB), its 95 % bootstrap interval over images
(scipy's BCa, a fixed seed), how many images favour the first model, and the two-sided sign
test's p-value on that count. An interval that contains 0 means the sets cannot tell the two
models apart on that metric. One markdown table per metric on standard output, whose rows name
both models, so that the rows of several runs (say ×8 and ×4) can stand under one header.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

LOWER_IS_BETTER = {"relu2_2": True, "relu3_3": True, "psnr": False}


def paired(first: dict[str, float], other: dict[str, float], lower_is_better: bool, resamples: int) -> dict:
    """The per-image differences first − other (same image names), their mean, a 95 % BCa bootstrap
    interval of that mean, the number of images where ``first`` is better, and the sign test."""
    if first.keys() != other.keys():
        raise ValueError(f"the two models were scored on different images: {sorted(first.keys() ^ other.keys())}")
    diff = np.array([first[name] - other[name] for name in first])
    ci = stats.bootstrap((diff,), np.mean, n_resamples=resamples, confidence_level=0.95, method="BCa",
                         random_state=np.random.default_rng(0)).confidence_interval
    better = int(np.sum(diff < 0 if lower_is_better else diff > 0))
    ties = int(np.sum(diff == 0))
    p = stats.binomtest(better, len(diff) - ties).pvalue if len(diff) > ties else 1.0
    return {"mean": float(diff.mean()), "low": float(ci.low), "high": float(ci.high), "better": better,
            "images": len(diff), "sign_p": float(p)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, required=True, choices=(4, 8))
    parser.add_argument("--models", nargs="+", required=True,
                        help="shipped models or 'bicubic'; the first is compared with each of the others")
    parser.add_argument("--metrics", nargs="+", default=["relu3_3"], choices=sorted(LOWER_IS_BETTER))
    parser.add_argument("--blur", type=float, default=0.0, help="σ of the blur before downsampling (0: standard)")
    parser.add_argument("--sets", nargs="+", default=None, help="folders of HR images (default: COURSE_DATA's)")
    parser.add_argument("--resamples", type=int, default=10_000, help="bootstrap resamples")
    args = parser.parse_args()
    if len(args.models) < 2:
        parser.error("--models: name at least two models")

    from course_lib import data
    from course_lib.checkpoints import load_model
    from course_lib.hparams import SR_PERCEPTUAL_LAYERS
    from course_lib.sr import evaluate_models
    from course_lib.vgg import loss_network

    sets = [Path(s) for s in args.sets] if args.sets else list(data.sr_sets().values())
    net = loss_network(SR_PERCEPTUAL_LAYERS, weights="caffe")
    scores = {folder.name: evaluate_models({name: None if name == "bicubic" else load_model(name)
                                            for name in args.models}, folder, args.scale, blur=args.blur, loss_net=net)
              for folder in sets}  # set -> model -> scores
    first = args.models[0]
    for metric in args.metrics:
        unit, per, better = (" (×10³)", 1e3, "is nearer") if metric.startswith("relu") else \
            (" (dB)", 1.0, "has the higher PSNR")
        print(f"×{args.scale}, σ = {args.blur:g}, {metric}{unit}; {'lower' if LOWER_IS_BETTER[metric] else 'higher'} "
              f"is better\n")
        print(f"| first | other | set | mean difference (first − other) | 95 % interval | images where the first "
              f"{better} | sign test p |\n|---|---|---|---|---|---|---|")
        for other in args.models[1:]:
            for folder in sets:
                a, b = ({image: s[metric] for image, s in scores[folder.name][name]["per_image"].items()}
                        for name in (first, other))
                r = paired(a, b, LOWER_IS_BETTER[metric], args.resamples)
                print(f"| `{first}` | `{other}` | {folder.name} | {r['mean'] / per:+.2f} | {r['low'] / per:+.2f} … "
                      f"{r['high'] / per:+.2f} | {r['better']} of {r['images']} | {r['sign_p']:.2g} |")
        print()


if __name__ == "__main__":
    main()
