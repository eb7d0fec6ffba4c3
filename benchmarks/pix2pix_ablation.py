"""Notebook 6's ablation on held-out photos, as JSON: what each term of pix2pix(HD) changes.

    COURSE_DATA=../shared/data python benchmarks/pix2pix_ablation.py [--photos DIR] [--models NAME ...]

The shipped edges → photo models (L1 only; + GAN; + feature matching with two discriminator
scales; + the VGG feature loss of pix2pixHD, Wang et al. 2018 §3.2) are run on the Canny edges
of photos no model trained on (default: BSD100; training used the Sun-Hays 80 of ``train/``),
each scaled to 128 pixels and cut into the two 64² crops notebook 6 uses (top left, bottom
right), the training crops' size. Per crop: PSNR and SSIM on Y against the photo, the sharpness
ratio to the photo (1: the photo's edge energy), and the feature distance (eq. 2) at relu2_2
and relu3_3 of the paper's VGG-16. Reported: each model's median and quartiles, and for each
model after the first the paired comparison with the one before it (the median of the
per-crop differences, and the share of crops where it is closer to the photo), so that the
last pair isolates the VGG term: ``pix2pix-edges-fm`` differs from ``pix2pix-edges-hd`` only in
λ_VGG = 0.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MODELS = ("pix2pix-edges-l1", "pix2pix-edges", "pix2pix-edges-fm", "pix2pix-edges-hd")
CROP = 64


def crops(folder: Path) -> list[torch.Tensor]:
    """The two 64² crops of each photo in ``folder`` scaled to 128 (3×64×64 each)."""
    from course_lib.data import list_images
    from course_lib.images import load_image

    photos = [load_image(p, size=2 * CROP)[0] for p in list_images(folder)]
    return [t[:, :CROP, :CROP] for t in photos] + [t[:, -CROP:, -CROP:] for t in photos]


def scores(name: str, tests: list[torch.Tensor], net: torch.nn.Module) -> dict[str, np.ndarray]:
    """Per-crop PSNR, SSIM, sharpness ratio and feature distances of model ``name``."""
    from course_lib.checkpoints import load_model
    from course_lib.metrics import feature_distance, psnr_ssim, sharpness_ratio
    from course_lib.translation.data import make_input

    model = load_model(name).float()
    with torch.no_grad():
        outputs = model(torch.stack([make_input(t, "edges") for t in tests])).clamp(0, 1)
    rows = []
    for output, photo in zip(outputs, tests):
        psnr, ssim = psnr_ssim(output[None], photo[None], border=0)
        rows.append({"psnr": psnr, "ssim": ssim, "sharpness_ratio": sharpness_ratio(output[None], photo[None]),
                     **feature_distance(output, photo, net)})
    return {key: np.array([r[key] for r in rows]) for key in rows[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, default=None, help="held-out photos (default: COURSE_DATA's BSD100)")
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    args = parser.parse_args()

    from course_lib import data
    from course_lib.hparams import SR_PERCEPTUAL_LAYERS
    from course_lib.vgg import loss_network

    folder = args.photos or data.sr_sets()["BSD100"]
    tests = crops(folder)
    net = loss_network(SR_PERCEPTUAL_LAYERS, weights="caffe")
    results = {name: scores(name, tests, net) for name in args.models}
    higher_is_closer = {"psnr", "ssim"}
    report = {"photos": str(folder), "crops": len(tests), "size": CROP, "models": {}, "paired": {}}
    for name, s in results.items():
        report["models"][name] = {k: [round(float(q), 4) for q in np.percentile(v, [25, 50, 75])] for k, v in s.items()}
    for before, after in zip(args.models, args.models[1:]):
        pair = {}
        for key in results[after]:
            diff = results[after][key] - results[before][key]
            closer = (diff > 0 if key in higher_is_closer else diff < 0) if key != "sharpness_ratio" else \
                np.abs(np.log(results[after][key])) < np.abs(np.log(results[before][key]))
            pair[key] = {"median_difference": round(float(np.median(diff)), 4),
                         "share_closer": round(float(closer.mean()), 3)}
        report["paired"][f"{after} vs {before}"] = pair
    report["quartiles"] = "each model's entries: 25th, 50th and 75th percentile over the crops"
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
