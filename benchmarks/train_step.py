"""Seconds per training step of feed-forward style transfer, printed as one JSON object.

    python benchmarks/train_step.py --size 128 --batch 4 --steps 10 --runs 3 [--baseline]

The course's step is ``course_lib.train.train`` itself: its loop, objective and settings (mixed
precision, channels_last and optional compile on a GPU; the content targets φ_relu2_2(x)
computed by a pass that stops at relu2_2).

``--baseline`` also times the step of the PyTorch examples' fast_neural_style
(``neural_style/neural_style.py``), computed as that example computes it: its network
(InstanceNorm2d(affine=True), nearest ×2 upsampling then a reflection-padded conv at full
resolution, no output non-linearity, images in 0-255), VGG-16 ``features[:23]`` with
``requires_grad=False`` run on the normalised output *and* input to relu4_3 (the input's pass
builds no graph), content = 1e5 · MSE at relu2_2, style = 1e10 · Σ MSE of the Gram matrices
(normalised by C·H·W) over relu1_2/2_2/3_3/4_3, Adam, and both losses' ``.item()`` every
step. fp32, NCHW, no compile.

Both sides draw their batches from the same in-memory random images through a DataLoader with
no workers, and both are timed the same way: wall time per iteration, batch fetch included.
VGG weights are random (speed does not depend on them). Each timed run is a child process (its
peak memory is its own); ``--runs`` pairs run interleaved (course, baseline, course, ...).

Output: per side, the median seconds per step of each run, their median and range, images/s
and peak memory (CUDA: max allocated; CPU: peak resident set); for the course also the
floating-point operations of one step (torch.utils.flop_counter), the rate achieved, the
rate of a large matrix product in the step's precision on the same threads (the practical
peak: a virtual machine does not say its clock) and the step's fraction of it, and the paper's
schedule (40,000 steps) projected in minutes; with --baseline the same rates for the example
(its operations counted the same way, its peak that of fp32, the precision it runs in) and the
ratio course/baseline of each pair, with their median and range. ``--data DIR`` makes the course's
loop decode random crops of real image files (with ``--workers``), to see whether the data
pipeline keeps up.
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

    def __init__(self, n: int, size: int, scale: float = 1.0) -> None:
        import torch

        self.images = torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(0)) * scale

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, key):
        return self.images[key[0] if isinstance(key, tuple) else key]


def _flops(loss) -> float:
    """Floating-point operations of one training step, forward and backward: ``loss()`` and its
    backward pass, counted by torch.utils.flop_counter (the same way for both sides)."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        loss().backward()
    return float(counter.get_total_flops())


def run_course(args, queue) -> None:
    import tempfile

    import torch

    from course_lib import config, data
    from course_lib.architectures import build
    from course_lib.objectives import PerceptualObjective
    from course_lib.runs import TrainConfig
    from course_lib.train import train
    from course_lib.vgg import VGGFeatures

    device = config.device()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loss_net = VGGFeatures(weights=args.vgg_weights).to(device)
    torch.manual_seed(0)
    objective = PerceptualObjective(loss_net, torch.rand(1, 3, args.size, args.size, device=device))
    dataset = data.CropDataset(data.list_images(Path(args.data)), crop=args.size, resize=args.size) \
        if args.data else InMemory(max(8, 2 * args.batch), args.size)
    batch = torch.rand(args.batch, 3, args.size, args.size, device=device)
    flops = _flops(lambda: objective.loss(build("style").to(device), batch)[0])  # a network of its own
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    cfg = TrainConfig(steps=args.warmup + args.steps, batch_size=args.batch, log_every=1,
                      checkpoint_every=10**9, num_workers=args.workers, compile=args.compile,
                      amp=args.amp, channels_last=not args.no_channels_last,
                      cudnn_benchmark=not args.no_cudnn_benchmark)
    with tempfile.TemporaryDirectory() as out:
        history = train(build("style"), objective, dataset, out, cfg, device=device)
    times = [b["seconds"] - a["seconds"] for a, b in zip(history, history[1:])][args.warmup - 1:]
    queue.put({**_result(times, args, device), "flops_per_step": flops})


def _example_network():
    """The course's network with the example's operations swapped back in: InstanceNorm2d
    (the course: GroupNorm, one group per channel), upsample-then-conv at full resolution (the
    course: NearestUpsampleConv at low resolution) and no output non-linearity (the example's
    last layer is the 9×9 conv). The same layers and the same function as its TransformerNet."""
    from torch import nn

    from course_lib.architectures import build
    from course_lib.networks import NearestUpsampleConv, ScaledTanh

    model = build("style")
    for parent in list(model.modules()):
        for name, child in parent.named_children():
            if isinstance(child, nn.GroupNorm) and child.num_groups == child.num_channels:
                setattr(parent, name, nn.InstanceNorm2d(child.num_channels, affine=True))
            elif isinstance(child, NearestUpsampleConv):
                setattr(parent, name, nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                                                    nn.ReflectionPad2d(1), child.conv))
            elif isinstance(child, ScaledTanh):
                setattr(parent, name, nn.Identity())

    class Example(nn.Module):  # no padding to a multiple of 4: the example has none
        def __init__(self):
            super().__init__()
            self.layers = model.layers

        def forward(self, x):
            return self.layers(x)
    return Example()


def run_baseline(args, queue) -> None:
    """The example's training step (see the module's docstring), fp32, NCHW, no compile."""
    import torch

    from course_lib import config
    from course_lib.vgg_weights import load_vgg

    device = config.device()
    torch.backends.cudnn.benchmark = False  # the example does not set it
    torch.manual_seed(0)
    transformer = _example_network().to(device).train()
    optimizer = torch.optim.Adam(transformer.parameters(), 1e-3)
    mse_loss = torch.nn.MSELoss()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        features = load_vgg("vgg16", args.vgg_weights)[0]
    slices = [features[a:b].to(device) for a, b in ((0, 4), (4, 9), (9, 16), (16, 23))]
    for s in slices:
        s.requires_grad_(False)

    def vgg(x):
        out = []
        for s in slices:
            x = s(x)
            out.append(x)
        return out  # relu1_2, relu2_2, relu3_3, relu4_3

    def normalize_batch(batch):
        mean = batch.new_tensor([0.485, 0.456, 0.406]).view(-1, 1, 1)
        std = batch.new_tensor([0.229, 0.224, 0.225]).view(-1, 1, 1)
        batch = batch.div_(255.0)
        return (batch - mean) / std

    def gram_matrix(y):
        b, ch, h, w = y.size()
        f = y.view(b, ch, w * h)
        return f.bmm(f.transpose(1, 2)) / (ch * h * w)

    style = torch.rand(1, 3, args.size, args.size, generator=torch.Generator().manual_seed(1)) * 255
    gram_style = [gram_matrix(f) for f in vgg(normalize_batch(style.repeat(args.batch, 1, 1, 1).to(device)))]
    loader = torch.utils.data.DataLoader(InMemory(max(8, 2 * args.batch), args.size, 255.0),
                                         batch_size=args.batch, shuffle=True, drop_last=True)
    def losses(x):
        n_batch = len(x)
        x = x.to(device)
        y = transformer(x)
        y, x = normalize_batch(y), normalize_batch(x)
        features_y, features_x = vgg(y), vgg(x)
        content_loss = 1e5 * mse_loss(features_y[1], features_x[1])
        style_loss = 0.0
        for ft_y, gm_s in zip(features_y, gram_style):
            style_loss += mse_loss(gram_matrix(ft_y), gm_s[:n_batch, :, :])
        return content_loss, style_loss * 1e10

    flops = _flops(lambda: sum(losses(next(iter(loader)))))
    times, batches = [], iter(())
    for _ in range(args.warmup + args.steps):
        began = time.perf_counter()
        x = next(batches, None)
        if x is None:
            batches = iter(loader)
            x = next(batches)
        optimizer.zero_grad()
        content_loss, style_loss = losses(x)
        (content_loss + style_loss).backward()
        optimizer.step()
        content_loss.item(), style_loss.item()  # the example accumulates both every step
        times.append(time.perf_counter() - began)
    queue.put({**_result(times[args.warmup:], args, device), "flops_per_step": flops})


def _result(times, args, device) -> dict:
    step = statistics.median(times)
    return {"step_s": step, "peak_mem_mb": round(_peak_mb(device), 1)}


def _in_child(target, args) -> dict:
    """``target``'s result, run in a fresh process; a child that dies without one (its traceback
    is printed above) ends the benchmark with an error instead of waiting for it forever."""
    import queue as queues

    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=target, args=(args, queue))
    process.start()
    while True:
        try:
            result = queue.get(timeout=1)
            break
        except queues.Empty:
            if not process.is_alive() and queue.empty():  # a result put just before it ended is still read
                sys.exit(f"error: the {target.__name__.removeprefix('run_')} run failed "
                         f"(exit code {process.exitcode}); its traceback is above")
    process.join()
    return result


def _gemm_peak(device, dtype, n: int = 4096, repeats: int = 5) -> float:
    """TFLOP/s of an n×n×n matrix product in ``dtype`` on ``device`` (median of ``repeats``): the
    rate the hardware reaches on the friendliest work there is, which stands for its peak where
    the clock it runs at is not known (a virtual machine's CPU)."""
    import torch

    a, b = (torch.randn(n, n, device=device).to(dtype) for _ in range(2))
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        torch.mm(a, b)
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return 2 * n**3 / statistics.median(times[1:]) / 1e12


def _summary(runs: list[dict], batch: int) -> dict:
    steps = [r["step_s"] for r in runs]
    median = statistics.median(steps)
    return {"step_s": round(median, 4), "step_s_range": [round(min(steps), 4), round(max(steps), 4)],
            "step_s_runs": [round(s, 4) for s in steps], "images_per_s": round(batch / median, 2),
            "peak_mem_mb": max(r["peak_mem_mb"] for r in runs)}


def _add_rate(side: dict, flops: float, device, dtype) -> None:
    """A side's operations per step, the rate it reaches, and its fraction of the practical peak
    of its own precision (the example runs in fp32; the course in what ``--amp`` picks)."""
    peak = _gemm_peak(device, dtype)
    rate = flops / side["step_s"] / 1e12
    side.update(gflop_per_step=round(flops / 1e9, 1), achieved_tflop_per_s=round(rate, 2),
                gemm_peak_tflop_per_s={"dtype": str(dtype).removeprefix("torch."), "value": round(peak, 2)},
                fraction_of_gemm_peak=round(rate / peak, 3))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--steps", type=int, default=20, help="timed steps per run (after --warmup)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3, help="runs per side, interleaved")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader workers of the course's loop")
    parser.add_argument("--data", default=None,
                        help="the course's loop reads random crops of these image files (decoding "
                             "included) instead of in-memory images")
    parser.add_argument("--amp", default="auto", help="the course's mixed precision: auto, bf16, fp16, off")
    parser.add_argument("--compile", action="store_true", help="torch.compile the course's network")
    parser.add_argument("--no-channels-last", action="store_true", help="the course's loop without channels_last")
    parser.add_argument("--no-cudnn-benchmark", action="store_true", help="the course's loop without cudnn.benchmark")
    parser.add_argument("--baseline", action="store_true", help="also time the fast_neural_style step")
    parser.add_argument("--vgg-weights", default="auto", help="the loss network's weights, for both sides (speed does "
                                                             "not depend on them; the JSON names them)")
    args = parser.parse_args()
    import torch

    from course_lib import config

    device = config.device()
    course, baseline = [], []
    for _ in range(args.runs):
        course.append(_in_child(run_course, args))
        if args.baseline:
            baseline.append(_in_child(run_baseline, args))
    result = {"size": args.size, "batch": args.batch, "steps": args.steps, "runs": args.runs,
              "device": str(device), "torch": torch.__version__, "vgg_weights": args.vgg_weights,
              "device_name": torch.cuda.get_device_name() if device.type == "cuda" else f"{os.cpu_count()} CPU cores",
              "threads": torch.get_num_threads(),
              "settings": {"amp": args.amp, "compile": args.compile, "channels_last": not args.no_channels_last,
                           "cudnn_benchmark": not args.no_cudnn_benchmark, "workers": args.workers},
              "course": _summary(course, args.batch)}
    from course_lib.runs import precision

    _add_rate(result["course"], course[0]["flops_per_step"], device, precision(args.amp, device) or torch.float32)
    result["course"]["paper_schedule_minutes"] = round(40_000 * result["course"]["step_s"] / 60, 1)
    if args.baseline:
        ratios = [c["step_s"] / b["step_s"] for c, b in zip(course, baseline)]
        result["baseline"] = _summary(baseline, args.batch)
        _add_rate(result["baseline"], baseline[0]["flops_per_step"], device, torch.float32)
        result["ratio_course_to_baseline"] = {"median": round(statistics.median(ratios), 3),
                                              "range": [round(min(ratios), 3), round(max(ratios), 3)],
                                              "runs": [round(r, 3) for r in ratios]}
        result["speedup"] = round(result["baseline"]["step_s"] / result["course"]["step_s"], 3)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
