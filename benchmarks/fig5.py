"""The paper's Fig. 5 for a trained style network: how many Gatys iterations one pass is worth, as JSON.

    python benchmarks/fig5.py --model candy --style ../shared/data/styles/candy.jpg \
        --photos ../shared/data/content/amber.jpg SAMPLES/chelsea.png [--size 256 --iterations 200]
        [--reuse previous.json] [--plot fig5.png]

For each held-out photo (longer side ``--size``), eq. 5 exactly as the network was trained on
it (the weights, layers, loss network and style image of its record; the style image is checked
against the record's SHA-256) is evaluated on the network's output, and on Gatys et al.'s image
after each L-BFGS iteration from noise (§4.1: "we use L-BFGS ... initialised with white noise").
The equivalent iteration count is the first iteration whose loss is at or below the network's
(null: not within ``--iterations``). The paper reports 50 to 100 iterations after 40,000 steps
on COCO. ``--reuse`` takes the Gatys curves of an earlier output whose settings are identical
(the curves do not depend on the network), so that a later checkpoint costs one pass per photo.
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
    parser.add_argument("--model", required=True, help="a shipped style model's name or a checkpoint")
    parser.add_argument("--style", required=True, help="the style image the network was trained on")
    parser.add_argument("--style-size", type=int, default=512, help="its train-style --style-size")
    parser.add_argument("--photos", nargs="+", required=True, help="held-out photos (never in the training data)")
    parser.add_argument("--size", type=int, default=256, help="longer side of each photo")
    parser.add_argument("--iterations", type=int, default=200, help="Gatys L-BFGS iterations")
    parser.add_argument("--reuse", default=None, help="an earlier output of this script: its matching curves")
    parser.add_argument("--plot", default=None, help="also draw the figure (one panel per photo) to this file")
    args = parser.parse_args()

    import torch

    from course_lib.checkpoints import Checkpoint
    from course_lib.gatys import stylize
    from course_lib.hashing import tensor_sha256
    from course_lib.hparams import LossWeights
    from course_lib.images import load_image
    from course_lib.objectives import PerceptualObjective
    from course_lib.vgg import loss_network

    stored = Checkpoint(args.model)
    seen = stored.fingerprint["objective"]
    model = stored.model("cpu", kinds=("style",)).float().eval()
    net = loss_network(weights="caffe", device="cpu")
    if seen["loss_net"] != net.identity:
        sys.exit(f"error: {args.model}: trained with loss network {seen['loss_net']}, not the paper's ({net.identity})")
    style = load_image(args.style, size=args.style_size)
    settings = {"weights": seen["weights"], "content_layers": seen["content_layers"],
                "style_layers": seen["style_layers"], "loss_net": net.identity, "style_sha256": tensor_sha256(style)}
    if settings["style_sha256"] != seen["style_sha256"]:
        sys.exit(f"error: {args.style} at --style-size {args.style_size} is not the style image {args.model} "
                 f"was trained on (SHA-256 {settings['style_sha256'][:12]}, the record's {seen['style_sha256'][:12]})")
    weights = LossWeights(**seen["weights"])
    eq5 = PerceptualObjective(net, style, weights, seen["content_layers"], seen["style_layers"], seen["style_layers"],
                              content_layer_weights=seen["content_layers"])
    earlier = json.loads(Path(args.reuse).read_text())["photos"] if args.reuse else {}

    photos = {}
    for path in args.photos:
        photo = load_image(path, size=args.size)
        key = {**settings, "photo_sha256": tensor_sha256(photo), "iterations": args.iterations}
        with torch.no_grad():
            ours = eq5(model(photo), eq5.targets(photo), photo)[0].item()
        old = earlier.get(Path(path).name, {})
        if old.get("settings") == key:
            curve = old["gatys"]
        else:
            _, history = stylize(photo, style, loss_net=net, weights=weights, steps=args.iterations, init="noise",
                                 content_layers=seen["content_layers"], style_layers=seen["style_layers"],
                                 style_layer_weights=seen["style_layers"], progress=False)
            curve = [h["total"] for h in history]
        reached = [i for i, loss in enumerate(curve, 1) if loss <= ours]
        photos[Path(path).name] = {"settings": key, "shape": list(photo.shape[-2:]), "network": ours,
                                   "equivalent_iterations": reached[0] if reached else None, "gatys": curve}
    found = [p["equivalent_iterations"] for p in photos.values()]
    print(json.dumps({"model": args.model, "steps": stored.steps, "size": args.size,
                      "median_equivalent_iterations": statistics.median(found) if None not in found else None,
                      "photos": photos}))
    if args.plot:
        plot(photos, f"{Path(args.model).parent.name if Path(args.model).is_file() else args.model}, "
                     f"step {stored.steps:,}", args.plot)


def plot(photos: dict, network: str, path: str) -> None:
    """Fig. 5: per photo, eq. 5 of Gatys's image against the iteration, the network's as a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from course_lib.plots import loss_curves

    fig, axes = plt.subplots(1, len(photos), figsize=(4 * len(photos), 3.2), squeeze=False)
    for ax, (name, p) in zip(axes[0], photos.items()):
        curve = [{"step": i, "total": loss} for i, loss in enumerate(p["gatys"], 1)]
        loss_curves({"Gatys et al., L-BFGS from noise": curve}, title=f"{name}, {p['shape'][1]}×{p['shape'][0]}",
                    x="step", ylabel="eq. 5", ax=ax)
        ax.axhline(p["network"], color="black", linestyle="--",
                   label=f"{network}: ≈ {p['equivalent_iterations'] or '> ' + str(len(curve))} iterations")
        ax.set_xlabel("L-BFGS iteration")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    main()
