"""The paper's Table 1 on this machine: feed-forward style transfer against Gatys et al.

    python benchmarks/speed_table.py [--sizes 256 512 1024] [--gatys-steps 5] [--markdown]

Prints one JSON object: the device, and per size the median seconds per Gatys L-BFGS iteration
(``gatys_steps`` run; 100/300/500 iterations = that × the count), the median seconds of one
forward pass of the transformation network (torch.utils.benchmark blocks over
``--min-run-time`` seconds, with the interquartile range), frames per second, and the speed-ups. ``--markdown`` also prints the
table in the paper's layout with the paper's speed-ups beside. Weights are random: speed does
not depend on them.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--gatys-steps", type=int, default=5, help="L-BFGS iterations timed per size")
    parser.add_argument("--min-run-time", type=float, default=2.0, help="seconds of forward passes timed per size")
    parser.add_argument("--markdown", action="store_true", help="also print the table as markdown")
    parser.add_argument("--vgg-weights", default="auto", help="the loss network's weights (speed does not depend "
                                                             "on them; the JSON names them): caffe, imagenet, random, auto")
    args = parser.parse_args()

    import torch

    from course_lib import config
    from course_lib.architectures import build
    from course_lib.speed import markdown, table1
    from course_lib.vgg import VGGFeatures

    device = config.device()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loss_net = VGGFeatures(weights=args.vgg_weights).to(device)
    torch.manual_seed(0)
    rows = table1(build("style"), loss_net, device, sizes=args.sizes, gatys_steps=args.gatys_steps,
                  min_run_time=args.min_run_time)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else \
        f"CPU, {torch.get_num_threads()} threads"
    print(json.dumps({"device": str(device), "device_name": name, "torch": torch.__version__,
                      "vgg_weights": loss_net.identity, "rows": rows}))
    if args.markdown:
        print(markdown(rows, name))


if __name__ == "__main__":
    main()
