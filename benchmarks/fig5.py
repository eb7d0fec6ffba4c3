"""The paper's Fig. 5 for a trained style network: how many Gatys iterations one pass is worth, as JSON.

    python benchmarks/fig5.py --model candy --style ../shared/data/styles/candy.jpg \
        --photos ../shared/data/content/amber.jpg SAMPLES/chelsea.png [--size 256 --iterations 200]
        [--reuse previous.json] [--plot fig5.png]
    python benchmarks/fig5.py --model multi --style-index 1 --style ../shared/data/styles/mosaic.jpg ...

What it computes: :mod:`course_lib.fig5` (eq. 5 exactly as the network was trained on it, on
its output and along Gatys et al.'s L-BFGS from noise; the equivalent iteration count; null
when not within ``--iterations``). ``--reuse`` takes the Gatys curves of an earlier output whose
settings are identical (the curves do not depend on the network), so that a later checkpoint
costs one pass per photo.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a shipped style model's name or a checkpoint")
    parser.add_argument("--style", required=True, help="the style image the network was trained on")
    parser.add_argument("--style-index", type=int, default=None,
                        help="for a network of several styles: the index of --style among them")
    parser.add_argument("--style-size", type=int, default=512, help="its train-style --style-size")
    parser.add_argument("--photos", nargs="+", required=True, help="held-out photos (never in the training data)")
    parser.add_argument("--size", type=int, default=256, help="longer side of each photo")
    parser.add_argument("--iterations", type=int, default=200, help="Gatys L-BFGS iterations")
    parser.add_argument("--reuse", default=None, help="an earlier output of this script: its matching curves")
    parser.add_argument("--plot", default=None, help="also draw the figure (one panel per photo) to this file")
    args = parser.parse_args()

    from course_lib import fig5

    try:
        result = fig5.score(args.model, args.style, args.photos, size=args.size, iterations=args.iterations,
                            style_size=args.style_size, style_index=args.style_index,
                            earlier=fig5.read(args.reuse) if args.reuse else None)
    except (ValueError, FileNotFoundError) as err:
        sys.exit(f"error: {err}")
    print(json.dumps(result))
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        name = Path(args.model).parent.name if Path(args.model).is_file() else args.model
        fig5.plot(result, f"{name}, step {result['steps']:,}").savefig(args.plot, dpi=100)


if __name__ == "__main__":
    main()
