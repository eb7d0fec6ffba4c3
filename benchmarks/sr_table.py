"""The paper's Table 2 with the shipped models, and what PSNR misses, as one markdown table.

    COURSE_DATA=../shared/data python benchmarks/sr_table.py [--scales 4 8] [--blur 0] [--match]
        [--models NAME ...] [--sets DIR ...]

For each scale: bicubic, SRCNN, ℓ_pixel and ℓ_feat (the shipped models of that scale, by name),
scored with :func:`course_lib.sr.evaluate_models` on each benchmark set (default: those of
``COURSE_DATA``): PSNR / SSIM on Y, the feature distance (eq. 2) to the HR image at relu2_2 and
relu3_3 of the paper's VGG-16, and the sharpness ratio to the HR image (1: the HR image's edge
energy). ``--blur`` makes the LR inputs with the paper's Gaussian blur first (σ; 0 is the
standard benchmark input). ``--match`` histogram-matches each network's output to its LR input
first, the paper's post-processing (§4.2); bicubic is left as it is. ``--models`` scores other
shipped models of the scale instead of its four methods.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

METHODS = {4: ("bicubic", "srcnn4", "sr4-pixel", "sr4-feat"), 8: ("bicubic", "srcnn8", "sr8-pixel", "sr8-feat")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[4, 8], choices=(4, 8))
    parser.add_argument("--blur", type=float, default=0.0, help="σ of the blur before downsampling (0: standard)")
    parser.add_argument("--match", action="store_true",
                        help="histogram-match each network's output to its LR input (the paper's post-processing)")
    parser.add_argument("--models", nargs="+", default=None, help="shipped models to score instead of the four")
    parser.add_argument("--sets", nargs="+", default=None, help="folders of HR images (default: COURSE_DATA's)")
    args = parser.parse_args()

    from course_lib import data
    from course_lib.checkpoints import load_model
    from course_lib.hparams import SR_PERCEPTUAL_LAYERS
    from course_lib.sr import evaluate_models
    from course_lib.vgg import loss_network

    sets = [Path(s) for s in args.sets] if args.sets else list(data.sr_sets().values())
    net = loss_network(SR_PERCEPTUAL_LAYERS, weights="caffe")
    matched = ", networks' outputs histogram-matched to their LR inputs" if args.match else ""
    print(f"σ = {args.blur:g}{matched}. PSNR (dB) / SSIM on Y · relu2_2 / relu3_3 distance (×10³) · sharpness ratio\n")
    print("| scale | method | " + " | ".join(s.name for s in sets) + " |\n|---|---|" + "---|" * len(sets))
    for scale in args.scales:
        models = {name: None if name == "bicubic" else load_model(name) for name in args.models or METHODS[scale]}
        bicubic = {n: m for n, m in models.items() if m is None}
        networks = {n: m for n, m in models.items() if m is not None}
        results: dict[Path, dict[str, dict]] = {}
        for folder in sets:  # bicubic is never matched; the networks share each set's LR inputs and HR features
            results[folder] = {}
            for group, match in ((bicubic, False), (networks, args.match)):
                if group:
                    results[folder].update(evaluate_models(group, folder, scale, blur=args.blur, match=match,
                                                           loss_net=net))
        for name in models:
            cells = [f"{r['psnr']:.2f} / {r['ssim']:.4f} · {r['relu2_2'] / 1e3:.1f} / {r['relu3_3'] / 1e3:.1f} · "
                     f"{r['sharpness_ratio']:.2f}" for r in (results[folder][name] for folder in sets)]
            print(f"| ×{scale} | `{name}` | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
