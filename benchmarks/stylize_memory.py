"""Peak memory and time of stylising one large image, whole and in tiles, printed as JSON.

    python benchmarks/stylize_memory.py --sizes 1024 2048 4096 [--tile 1024]

Each measurement runs in its own process (a fresh peak): CUDA reports the peak allocated
memory, a CPU the peak resident set of the process, from which the resident set after loading
torch and the network (measured the same way, with no image) is subtracted. The network is
the course's style network with random weights (memory and time do not depend on them).
Also reported: course_lib.tiling's estimate for the whole image, to check it against the
measurement.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def measure(size: int, tile: int | None, queue) -> None:
    import torch

    from course_lib import config
    from course_lib.architectures import build
    from course_lib.tiling import estimated_bytes, tiled

    device = config.device()
    torch.manual_seed(0)
    model = build("style").to(device).eval()
    image = torch.rand(1, 3, size, size) if size else None
    began = time.perf_counter()
    if image is not None:
        with torch.no_grad():
            output = tiled(model, image, tile) if tile else model(image.to(device)).cpu()
        assert output.shape == image.shape
        if device.type == "cuda":
            torch.cuda.synchronize()
    seconds = time.perf_counter() - began
    peak = torch.cuda.max_memory_allocated() if device.type == "cuda" else \
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    queue.put({"size": size, "tile": tile, "seconds": round(seconds, 2), "peak_mb": round(peak / 2**20),
               "estimate_mb": round(estimated_bytes(model, size, size) / 2**20), "device": str(device)})


def in_child(size: int, tile: int | None) -> dict:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=measure, args=(size, tile, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048, 4096])
    parser.add_argument("--tile", type=int, default=1024)
    parser.add_argument("--no-whole", action="store_true", help="only the tiled runs")
    args = parser.parse_args()
    base = in_child(0, None)
    rows = []
    for size in args.sizes:
        for tile in ([] if args.no_whole else [None]) + [args.tile]:
            row = in_child(size, tile)
            if row["device"] == "cpu":
                row["peak_mb"] -= base["peak_mb"]  # what the image adds to torch and the network
            rows.append(row)
    print(json.dumps({"baseline_process_mb": base["peak_mb"], "rows": rows}))


if __name__ == "__main__":
    main()
