"""λ of eq. 5 for each loss network of the registry, calibrated to the paper's, as one JSON object.

    python benchmarks/calibrate_loss_networks.py --content ../shared/data/content/amber.jpg \
        --styles ../shared/data/styles/*.jpg [--size 256]

For each network (:data:`course_lib.loss_networks.NAMES`; torchvision's are skipped when their
weights cannot be had offline) and each style, :func:`course_lib.loss_networks.calibrate` gives
the λ_content and λ_style that make its eq. 5 terms as large as the paper's λ make the paper's
VGG-16's on that pair; the median over the styles is the network's calibrated λ, and the
spread (max/min over the styles) says how far one number fits all styles.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--content", required=True, help="the content photo")
    parser.add_argument("--styles", nargs="+", required=True, help="style images")
    parser.add_argument("--size", type=int, default=256, help="side of the images")
    args = parser.parse_args()

    from course_lib import loss_networks
    from course_lib.images import load_image
    from course_lib.vgg_weights import WeightsUnavailable

    content = load_image(args.content, size=args.size)
    styles = {Path(s).stem: load_image(s, size=args.size) for s in args.styles}
    reference = loss_networks.build("vgg16-caffe")
    out = {}
    for name in loss_networks.NAMES:
        try:
            net = loss_networks.build(name)
        except WeightsUnavailable as err:
            out[name] = {"skipped": str(err).split(" (")[0]}
            continue
        per_style = {s: loss_networks.calibrate(net, loss_networks.entry(name), content, image, reference)
                     for s, image in styles.items()}
        weights = {term: [getattr(w, term) for w in per_style.values()] for term in ("content", "style")}
        out[name] = {**{term: float(f"{statistics.median(v):.3g}") for term, v in weights.items()},
                     "tv": next(iter(per_style.values())).tv,
                     **{f"{term}_spread": round(max(v) / min(v), 2) for term, v in weights.items()}}
    print(json.dumps({"size": args.size, "content": Path(args.content).name, "styles": list(styles),
                      "weights": out}, indent=1))


if __name__ == "__main__":
    main()
