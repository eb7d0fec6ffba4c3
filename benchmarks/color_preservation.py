"""Keeping the photo's colours (notebook 7, §1): how far each method's colours are from the photo's, as JSON.

    python benchmarks/color_preservation.py --content ../shared/data/content/amber.jpg \
        --styles ../shared/data/styles/*.jpg [--size 128 --steps 100]

For each style: Gatys et al. with the paper's network (L-BFGS from the photo, the course's λ),
plain and with the style image recoloured to the photo's colour statistics first (histogram
matching, Gatys et al. 2017 §5.2), and the plain result with luminance-only transfer (§5.1).
Each number is :func:`course_lib.color.color_distance` to the photo (RGB means and
covariances; 0 keeps the photo's colour statistics exactly), beside the style image's own.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--content", required=True)
    parser.add_argument("--styles", nargs="+", required=True)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=100, help="L-BFGS iterations")
    args = parser.parse_args()

    from course_lib import color, loss_networks
    from course_lib.gatys import stylize
    from course_lib.images import load_image

    photo = load_image(args.content, size=args.size)
    net = loss_networks.build("vgg16-caffe")
    out = {}
    for path in args.styles:
        style = load_image(path, size=args.size)
        plain, _ = stylize(photo, style, loss_net=net, steps=args.steps, progress=False)
        matched, _ = stylize(photo, color.match_colors(style, photo), loss_net=net, steps=args.steps, progress=False)
        results = {"style image": style, "plain": plain, "histogram matching": matched,
                   "luminance only": color.luminance_transfer(plain, photo)}
        out[Path(path).stem] = {name: round(color.color_distance(image, photo), 4) for name, image in results.items()}
    print(json.dumps({"content": Path(args.content).name, "size": args.size, "steps": args.steps,
                      "color_distance_to_photo": out}, indent=1))


if __name__ == "__main__":
    main()
