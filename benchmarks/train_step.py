"""Seconds per training step of feed-forward style transfer, printed as one JSON line.

    python benchmarks/train_step.py --size 128 --batch 4 --steps 20 [--baseline]

The course's step is course_lib.train.train itself (its loop, objective and settings: mixed
precision, channels_last, optional compile on a GPU). ``--baseline`` also runs the same
computation the plain way the PyTorch examples' fast_neural_style does: fp32, NCHW, no
compile, InstanceNorm2d, upsampling then convolving at full resolution, and full VGG passes
for the output and for the content targets. Each variant runs in its
own process so that its peak memory is its own. Both use the same network, loss network and
in-memory batches; VGG weights are random (speed does not depend on them).

Output keys: step_s (median seconds per step after warm-up), images_per_s, peak_mem_mb (CUDA:
max allocated; CPU: peak resident set of the process), and with --baseline a "baseline" object
with the same keys and "speedup" = baseline step_s / course step_s.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _peak_mb(device) -> float:
    import torch

    if device.type == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class InMemory:
    """The dataset interface train() expects, over pre-made random images (no disk in the timing)."""

    def __init__(self, n: int, size: int) -> None:
        import torch

        self.images = torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(0))

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, key):
        return self.images[key[0] if isinstance(key, tuple) else key]


def _setup(args, device):
    import torch

    from course_lib.networks import build
    from course_lib.train import StyleTransferObjective
    from course_lib.vgg import VGGFeatures

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loss_net = VGGFeatures(weights=None).to(device)
    torch.manual_seed(0)
    style = torch.rand(1, 3, args.size, args.size, device=device)
    objective = StyleTransferObjective(loss_net, style)
    return build("style"), objective, InMemory(max(8, 2 * args.batch), args.size)


def run_course(args, queue) -> None:
    import tempfile

    from course_lib import config
    from course_lib.train import TrainConfig, train

    device = config.device()
    model, objective, dataset = _setup(args, device)
    cfg = TrainConfig(steps=args.warmup + args.steps, batch_size=args.batch, log_every=1,
                      checkpoint_every=10**9, num_workers=0, compile=args.compile)
    with tempfile.TemporaryDirectory() as out:
        history = train(model, objective, dataset, out, cfg, device=device)
    times = [b["seconds"] - a["seconds"] for a, b in zip(history, history[1:])][args.warmup - 1:]
    queue.put(_result(times, args, device))


def run_baseline(args, queue) -> None:
    """fast_neural_style's step: fp32, NCHW, no compile, VGG to relu4_3 for output and input."""
    import torch

    from course_lib import config
    from course_lib.losses import feature_loss, style_loss

    device = config.device()
    model, objective, dataset = _setup(args, device)
    _as_in_the_example(model)
    model.to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_net, grams = objective.loss_net, objective.style_grams
    loader = torch.utils.data.DataLoader(dataset, batch_size=args.batch, shuffle=True, drop_last=True)
    times, batches = [], iter(())
    for _ in range(args.warmup + args.steps):
        x = next(batches, None)
        if x is None:
            batches = iter(loader)
            x = next(batches)
        began = time.perf_counter()
        x = x.to(device)
        y = model(x)
        features_y, features_x = loss_net(y), loss_net(x)
        loss = feature_loss(features_y["relu2_2"], features_x["relu2_2"]) + 5.0 * style_loss(features_y, grams)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        loss.item()  # as the example does when it logs; also a sync for honest GPU timing
        times.append(time.perf_counter() - began)
    queue.put(_result(times[args.warmup:], args, device))


def _as_in_the_example(model) -> None:
    """Swap the course's faster equivalents back to what the example computes: InstanceNorm2d
    (the course: GroupNorm, one group per channel) and upsample-then-conv at full resolution
    (the course: NearestUpsampleConv at low resolution). Same weights, same function."""
    from torch import nn

    from course_lib.networks import NearestUpsampleConv

    for parent in model.modules():
        for name, child in parent.named_children():
            if isinstance(child, nn.GroupNorm) and child.num_groups == child.num_channels:
                setattr(parent, name, nn.InstanceNorm2d(child.num_channels, affine=True))
            elif isinstance(child, NearestUpsampleConv):
                setattr(parent, name, nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                                                    nn.ReflectionPad2d(1), child.conv))


def _result(times, args, device) -> dict:
    step = statistics.median(times)
    return {"step_s": round(step, 4), "images_per_s": round(args.batch / step, 2),
            "peak_mem_mb": round(_peak_mb(device), 1)}


def _in_child(target, args) -> dict:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=target, args=(args, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--steps", type=int, default=20, help="timed steps (after --warmup)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--compile", action="store_true", help="torch.compile the course's network")
    parser.add_argument("--baseline", action="store_true", help="also time the plain baseline")
    args = parser.parse_args()
    import torch

    from course_lib import config

    device = config.device()
    result = {"size": args.size, "batch": args.batch, "steps": args.steps, "device": str(device),
              "device_name": torch.cuda.get_device_name() if device.type == "cuda" else f"{os.cpu_count()} CPU cores",
              "threads": torch.get_num_threads(), "torch": torch.__version__,
              **_in_child(run_course, args)}
    if args.baseline:
        result["baseline"] = _in_child(run_baseline, args)
        result["speedup"] = round(result["baseline"]["step_s"] / result["step_s"], 3)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
