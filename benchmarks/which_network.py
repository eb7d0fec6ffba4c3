"""Gatys et al. with each loss network of the registry, with and without SWAG, as one JSON object.

    python benchmarks/which_network.py --content ../shared/data/content/amber.jpg \
        --style ../shared/data/styles/candy.jpg [--size 256 --steps 300 --grid which.jpg]
        [--networks efficientnet-lite0+swag --temperatures 1 2 4]

Each network (:mod:`course_lib.loss_networks`) optimises the same photo towards the same style
(eq. 5 with its calibrated λ, L-BFGS from the photo). Every result is then judged under networks
it was *not* optimised with, so that no network grades its own homework: its style loss under
each judge (unweighted ℓ_style, as a fraction of the photo's own: 1 is no closer to the style
than the photo, 0 is the style's Gram matrices exactly), and how far its colour statistics are
from the style image's (:func:`course_lib.color.color_distance`; the photo's own distance
is given too). ``--grid`` saves the pictures side by side.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

JUDGES = ("vgg16-caffe", "efficientnet-lite0")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--content", required=True)
    parser.add_argument("--style", required=True)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=300, help="L-BFGS iterations")
    parser.add_argument("--networks", nargs="+", default=None, help="registry names (default: all available)")
    parser.add_argument("--grid", default=None, help="save the pictures side by side to this file")
    parser.add_argument("--temperatures", type=float, nargs="+", default=None,
                        help="SWAG temperatures for the +swag networks (default: loss_networks.SWAG_TEMPERATURE)")
    args = parser.parse_args()

    import torch

    from course_lib import loss_networks
    from course_lib.color import color_distance
    from course_lib.data import fallback_images
    from course_lib.gatys import stylize
    from course_lib.images import load_image, resize, save_image
    from course_lib.vgg_weights import WeightsUnavailable

    if args.content.startswith("sample:"):
        args.content = next(str(p) for p in fallback_images("content") if p.stem == args.content[len("sample:"):])
    content, style = load_image(args.content, size=args.size), load_image(args.style, size=args.size)
    judges = {name: loss_networks.build(name) for name in JUDGES}

    results, pictures = {}, [content, resize(style, tuple(content.shape[-2:]), "bicubic")]
    runs = [(name, t) for name in args.networks or loss_networks.NAMES
            for t in (args.temperatures or [None] if name.endswith(loss_networks.SWAG) else [None])]
    for name, temperature in runs:
        try:
            net = loss_networks.build(name)
        except WeightsUnavailable:
            continue
        if temperature is not None:  # that smoothing, with λ calibrated to it on this pair
            net = loss_networks.Smoothed(net.net, temperature)
            net.style_weights = loss_networks.calibrate(net, loss_networks.entry(name), content, style,
                                                        judges["vgg16-caffe"])
        spec = loss_networks.entry(name)
        image, history = stylize(content, style, loss_net=net, steps=args.steps, content_layers=spec.content_layers,
                                 style_layers=spec.style_layers, progress=False)
        pictures.append(resize(image, tuple(content.shape[-2:]), "bicubic"))
        results[name if temperature is None else f"{name} T={temperature:g}"] = {"seconds": round(history[-1]["seconds"], 1),
                         **{f"style_under_{j}": round(loss_networks.style_fraction(image, content, style, j,
                                                                                   judges[j]), 3)
                            for j in JUDGES if j != name.removesuffix(loss_networks.SWAG)},
                         "color_distance_to_style": round(color_distance(image, style), 3)}
    if args.grid:
        save_image(torch.cat(pictures, dim=-1), args.grid)
    print(json.dumps({"content": Path(args.content).name, "style": Path(args.style).name, "size": args.size,
                      "steps": args.steps, "photo_color_distance_to_style": round(color_distance(content, style), 3),
                      "order_in_grid": ["content", "style", *results], "networks": results}, indent=1))


if __name__ == "__main__":
    main()
