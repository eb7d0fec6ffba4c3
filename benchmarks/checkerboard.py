"""How much of an image's energy sits on a regular grid, against a reference photo, as JSON.

    python benchmarks/checkerboard.py --image out/coffee-from-edges.png --reference images/content/coffee.png

Stride-2 transposed convolutions (pix2pix's U-Net decoder) can leave a periodic pattern of the
strides' periods (Odena, Dumoulin & Olah 2016, "Deconvolution and Checkerboard Artifacts"). For
each period P, the share of the image's spectral energy (grey levels, mean removed) at the
frequencies of a P-pixel grid (multiples of 1/P in both directions, the constant excluded); the
reference, resized to the image's size, shows what a photo has there.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from PIL import Image


def grid_shares(grey: np.ndarray, periods: tuple[int, ...]) -> dict[int, float]:
    """``{P: share of the energy on the P-pixel grid's frequencies}`` of a 2-D array whose sides
    are multiples of every P."""
    power = np.abs(np.fft.fft2(grey - grey.mean())) ** 2
    h, w = power.shape
    shares = {}
    for p in periods:
        lattice = np.zeros_like(power, dtype=bool)
        lattice[:: h // p, :: w // p] = True
        lattice[0, 0] = False
        shares[p] = float(power[lattice].sum() / power.sum())
    return shares


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", required=True)
    parser.add_argument("--reference", required=True, help="a photo, resized to the image's size")
    parser.add_argument("--periods", type=int, nargs="+", default=[2, 4, 8, 16])
    args = parser.parse_args()
    image = Image.open(args.image).convert("L")
    reference = Image.open(args.reference).convert("L").resize(image.size, Image.BICUBIC)
    step = int(np.lcm.reduce(args.periods))
    w, h = image.size[0] // step * step, image.size[1] // step * step
    grey = {name: np.asarray(im, dtype=np.float64)[:h, :w] for name, im in (("image", image), ("reference", reference))}
    print(json.dumps({"size": [w, h], **{name: {str(p): round(s, 5) for p, s in grid_shares(g, tuple(args.periods)).items()}
                                        for name, g in grey.items()}}, indent=1))


if __name__ == "__main__":
    main()
