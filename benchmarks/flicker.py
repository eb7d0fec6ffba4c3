"""Flicker of feed-forward style models on test sequences with known motion, as one JSON object.

    python benchmarks/flicker.py --models candy runs/candy-temporal/checkpoint.pt \
        --photos ../shared/data/content/amber.jpg ... [--frames 8 --size 256]

Each photo (held out of training) becomes a sequence of ``--frames`` frames with a panning,
zooming and turning camera (:func:`course_lib.video.camera`), and each model stylises it frame
by frame. Per model: the warping error (:func:`course_lib.video.warping_error`, the mean over
photos; lower is steadier) and the style loss ℓ_style of its frames (§3.2, unweighted, the
paper's VGG-16) against ``--style``, the image the models were trained on: what steadiness costs
in style. Also the input frames' own warping error: what interpolation alone leaves.
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
    parser.add_argument("--models", nargs="+", required=True, help="shipped style models' names or checkpoints")
    parser.add_argument("--photos", nargs="+", required=True, help="held-out photos, one sequence each")
    parser.add_argument("--style", required=True, help="the style image, for the style loss of the frames")
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--size", type=int, default=256, help="frame side")
    args = parser.parse_args()

    import torch

    from course_lib import video
    from course_lib.checkpoints import load_model
    from course_lib.images import load_image
    from course_lib.losses import gram_matrix, style_loss
    from course_lib.vgg import loss_network

    thetas = video.camera(args.frames)
    sequences = [video.sequence(load_image(p, size=2 * args.size), thetas, args.size) for p in args.photos]
    net = loss_network(weights="caffe", device="cpu")
    with torch.no_grad():
        grams = {k: gram_matrix(v) for k, v in net(load_image(args.style, size=512)).items()}
    result = {"frames": args.frames, "size": args.size, "photos": [Path(p).name for p in args.photos],
              "inputs_warping_error": statistics.mean(video.warping_error(s, thetas) for s in sequences),
              "models": {}}
    for name in args.models:
        model = load_model(name, "cpu", kinds=("style",))
        errors, styles = [], []
        for frames in sequences:
            with torch.no_grad():
                outputs = model(frames).float().clamp(0, 1)
                errors.append(video.warping_error(outputs, thetas))
                styles.append(style_loss(net(outputs), grams).item())
        result["models"][str(name)] = {"warping_error": statistics.mean(errors), "style_loss": statistics.mean(styles)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
