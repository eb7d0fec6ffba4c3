"""The paper's Fig. 5 for a trained style network: how many of Gatys et al.'s L-BFGS iterations
one pass is worth.

For each held-out photo, eq. 5 exactly as the network was trained on it (the weights, layers,
loss network and style image of its record; the style image is checked against the record's
SHA-256) is evaluated on the network's output, and on Gatys et al.'s image after each L-BFGS
iteration from noise (§4.1: "we use L-BFGS ... initialised with white noise"). The equivalent
iteration count is the first iteration whose loss is at or below the network's (None: not
within the iterations run). The paper reports 50 to 100 iterations after 40,000 steps on COCO.
The Gatys curves do not depend on the network, so :func:`score` reuses those of an earlier
result whose settings are identical (``benchmarks/fig5/*.json``): a later checkpoint then costs
one pass per photo. ``benchmarks/fig5.py`` is the command line.
"""

from __future__ import annotations

import json
import os
import statistics
from pathlib import Path

import torch

from .checkpoints import Checkpoint
from .gatys import stylize
from .hashing import tensor_sha256
from .hparams import LossWeights
from .images import load_image
from .networks import Styled
from .objectives import PerceptualObjective
from .vgg import loss_network

STORED = Path(__file__).resolve().parents[1] / "benchmarks" / "fig5"  # the curves of RESULTS.md


def read(path: str | os.PathLike) -> dict:
    """The photos of an earlier :func:`score` result saved as JSON ({} if there is no such file)."""
    path = Path(path)
    return json.loads(path.read_text())["photos"] if path.is_file() else {}


def stored_curves(style: str) -> dict:
    """The Gatys curves stored with the course for a style (``benchmarks/fig5/STYLE.json``, made by
    ``benchmarks/fig5.py``; {} outside a clone of the course, where :func:`score` runs them)."""
    return read(STORED / f"{style}.json")


def score(model: str | os.PathLike, style: str | os.PathLike, photos: list[str | os.PathLike], size: int = 256,
          iterations: int = 200, style_size: int = 512, earlier: dict | None = None,
          style_index: int | None = None) -> dict:
    """Fig. 5 for ``model`` (a shipped name or a checkpoint) trained on ``style`` (read at its
    ``train-style --style-size``), on ``photos`` (longer side ``size``): per photo, the network's
    eq. 5, the Gatys curve and the equivalent iteration count, and their median. A network of
    several styles (Dumoulin et al. 2017) is scored for its style number ``style_index``, whose
    image ``style`` must be: eq. 5 is then the one-style objective that a single network of that
    style minimises."""
    stored = Checkpoint(model)
    seen = stored.fingerprint["objective"]
    network = stored.model("cpu", kinds=("style",)).float().eval()
    trained_on = seen["style_sha256"]
    if isinstance(trained_on, list) != (style_index is not None):
        raise ValueError(f"{model}: holds {len(trained_on) if isinstance(trained_on, list) else 1} style(s); "
                         "pass a style index exactly when it holds several")
    if style_index is not None:
        if not 0 <= style_index < len(trained_on):
            raise ValueError(f"{model}: style index {style_index} is not in 0..{len(trained_on) - 1}")
        trained_on, network = trained_on[style_index], Styled(network, style_index)
    net = loss_network(weights="caffe", device="cpu")
    if seen["loss_net"] != net.identity:
        raise ValueError(f"{model}: trained with loss network {seen['loss_net']}, not the paper's ({net.identity})")
    style_image = load_image(style, size=style_size)
    settings = {"weights": seen["weights"], "content_layers": seen["content_layers"],
                "style_layers": seen["style_layers"], "loss_net": net.identity,
                "style_sha256": tensor_sha256(style_image)}
    if settings["style_sha256"] != trained_on:
        raise ValueError(f"{style} at size {style_size} is not the style image {model} was trained on (SHA-256 "
                         f"{settings['style_sha256'][:12]}, the record's {trained_on[:12]})")
    weights = LossWeights(**seen["weights"])
    eq5 = PerceptualObjective(net, style_image, weights, seen["content_layers"], seen["style_layers"],
                              seen["style_layers"], content_layer_weights=seen["content_layers"])
    results = {}
    for path in photos:
        photo = load_image(path, size=size)
        key = {**settings, "photo_sha256": tensor_sha256(photo), "iterations": iterations}
        with torch.no_grad():
            ours = eq5(network(photo), eq5.targets(photo), photo)[0].item()
        old = (earlier or {}).get(Path(path).name, {})
        if old.get("settings") == key:
            curve = old["gatys"]
        else:
            _, history = stylize(photo, style_image, loss_net=net, weights=weights, steps=iterations, init="noise",
                                 content_layers=seen["content_layers"], style_layers=seen["style_layers"],
                                 style_layer_weights=seen["style_layers"], progress=False)
            curve = [h["total"] for h in history]
        reached = [i for i, loss in enumerate(curve, 1) if loss <= ours]
        results[Path(path).name] = {"settings": key, "shape": list(photo.shape[-2:]), "network": ours,
                                    "equivalent_iterations": reached[0] if reached else None, "gatys": curve}
    found = [p["equivalent_iterations"] for p in results.values()]
    return {"model": str(model), "style_index": style_index, "steps": stored.steps, "size": size,
            "median_equivalent_iterations": statistics.median(found) if None not in found else None,
            "photos": results}


def plot(result: dict, label: str, axes=None):
    """Fig. 5 from a :func:`score` result: per photo, eq. 5 of Gatys's image against the
    iteration, and the network's (called ``label``) as a dashed line. Returns the figure."""
    import matplotlib.pyplot as plt

    from .plots import loss_curves

    photos = result["photos"]
    if axes is None:
        _, axes = plt.subplots(1, len(photos), figsize=(4 * len(photos), 3.2), squeeze=False)
        axes = axes[0]
    for ax, (name, p) in zip(axes, photos.items()):
        curve = [{"step": i, "total": loss} for i, loss in enumerate(p["gatys"], 1)]
        loss_curves({"Gatys et al., L-BFGS from noise": curve}, title=f"{name}, {p['shape'][1]}×{p['shape'][0]}",
                    x="step", ylabel="eq. 5", ax=ax)
        ax.axhline(p["network"], color="black", linestyle="--",
                   label=f"{label}: ≈ {p['equivalent_iterations'] or '> ' + str(len(curve))} iterations")
        ax.set_xlabel("L-BFGS iteration")
        ax.legend(fontsize=8)
    ax.figure.tight_layout()
    return ax.figure
