"""One training loop for feed-forward style transfer (§4) and super-resolution (§5).

Adam (lr 1e-3, as in the paper); on a GPU mixed precision (bf16, or fp16 with loss scaling),
channels_last, cudnn.benchmark and optional torch.compile; a DataLoader with workers and
pinned memory over random crops; tqdm progress with the losses; atomic checkpoints that
resume exactly; a non-finite loss stops training and keeps the last good checkpoint.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator, Protocol

import torch
from torch import nn
from tqdm.auto import tqdm

from .gatys import CONTENT_LAYERS, STYLE_LAYERS
from .files import atomic_write
from .images import save_image
from .losses import feature_loss, gram_matrix, style_loss, tv_loss
from .networks import build
from .vgg import VGGFeatures

CHECKPOINT = "checkpoint.pt"


@dataclass
class TrainConfig:
    """How to train; the defaults are the paper's style-transfer schedule (§4.1)."""

    steps: int = 40_000
    batch_size: int = 4
    lr: float = 1e-3
    checkpoint_every: int = 1000
    sample_every: int = 1000
    log_every: int = 10
    seed: int = 0
    num_workers: int = 2
    amp: str = "auto"  # auto (bf16/fp16 on CUDA, off on CPU) | bf16 | fp16 | off
    channels_last: bool = True
    compile: bool = False


class Objective(Protocol):
    """``objective(model, batch)`` → (loss, {name: weighted loss term}) for one batch."""

    def __call__(self, model: nn.Module, batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]: ...


class StyleTransferObjective(nn.Module):
    """λ_c ℓ_feat(f_W(x), x) + λ_s ℓ_style(f_W(x), y_s) + λ_TV ℓ_TV(f_W(x)) (paper eq. 5, §4.1).

    The style image's Gram matrices are computed once; the content targets φ(x) under no_grad,
    with a VGG pass that stops at the content layer.
    """

    def __init__(self, loss_net: VGGFeatures, style: torch.Tensor, *, content_weight: float = 1.0,
                 style_weight: float = 5.0, tv_weight: float = 1e-5,
                 content_layer: str = CONTENT_LAYERS[0], style_layers=STYLE_LAYERS) -> None:
        super().__init__()
        self.loss_net, self.content_layer, self.style_layers = loss_net, content_layer, tuple(style_layers)
        self.weights = (content_weight, style_weight, tv_weight)
        with torch.no_grad():
            feats = loss_net(style, self.style_layers)
        self.style_grams = {k: gram_matrix(v) for k, v in feats.items()}

    def forward(self, model: nn.Module, batch: torch.Tensor):
        wc, ws, wtv = self.weights
        with torch.no_grad():
            target = self.loss_net(batch, (self.content_layer,))[self.content_layer]
        output = model(batch)
        feats = self.loss_net(output, self.style_layers + (self.content_layer,))
        parts = {"content": wc * feature_loss(feats[self.content_layer], target),
                 "style": ws * style_loss(feats, self.style_grams),
                 "tv": wtv * tv_loss(output.float())}
        return sum(parts.values()), parts


class ResumableSampler(torch.utils.data.Sampler):
    """An endless shuffled stream of (index, crop seed) keys, reproducible from ``start``.

    Sample k comes from epoch k // n, shuffled with ``seed + epoch``, and gets crop seed
    ``seed * 1_000_003 + k``: a run resumed at sample k sees exactly what an unbroken run saw.
    """

    def __init__(self, n: int, seed: int, start: int = 0) -> None:
        self.n, self.seed, self.start = n, seed, start

    def __iter__(self) -> Iterator[tuple[int, int]]:
        k = self.start
        while True:
            epoch, first = divmod(k, self.n)
            order = torch.randperm(self.n, generator=torch.Generator().manual_seed(self.seed + epoch))
            for index in order[first:].tolist():
                yield index, self.seed * 1_000_003 + k
                k += 1


def _precision(amp: str, device: torch.device) -> torch.dtype | None:
    if amp == "off" or (amp == "auto" and device.type != "cuda"):
        return None
    if amp == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return {"bf16": torch.bfloat16, "fp16": torch.float16}[amp]


def load_checkpoint(path: Path, device: torch.device | str = "cpu") -> dict:
    """Read a checkpoint written by :func:`train` (``weights_only=True``: no code is unpickled)."""
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as err:
        raise ValueError(f"{path}: not a readable course checkpoint ({err})") from err


def load_model(path: str | os.PathLike, device: torch.device | str = "cpu") -> nn.Module:
    """The trained network stored in a checkpoint, in eval mode."""
    state = load_checkpoint(Path(path), device)
    if "model_config" not in state:
        raise ValueError(f"{path}: no model_config in it; was it written by course_lib.train?")
    model = build(**state["model_config"])
    model.load_state_dict(state["model"])
    return model.to(device).eval()


def train(model: nn.Module, objective: Objective, dataset: torch.utils.data.Dataset, out_dir: str | os.PathLike,
          config: TrainConfig | None = None, device: torch.device | str = "cpu",
          sample_input: torch.Tensor | None = None, resume: bool = True) -> list[dict[str, float]]:
    """Train ``model`` to minimise ``objective`` over random batches of ``dataset``.

    ``dataset[(index, seed)]`` must return one (deterministic) example. Checkpoints go to
    ``out_dir/checkpoint.pt`` every ``config.checkpoint_every`` steps and at the end; with
    ``resume`` an existing one is continued exactly. ``sample_input`` is passed through the
    model every ``config.sample_every`` steps and saved to ``out_dir/samples/``. Ctrl-C saves a
    checkpoint and returns. Returns the loss history (one dict every ``config.log_every`` steps).
    """
    config = config or TrainConfig()
    device = torch.device(device)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    checkpoint_path = out_dir / CHECKPOINT
    dtype = _precision(config.amp, device)
    memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
    model.to(device, memory_format=memory_format).train()
    if isinstance(objective, nn.Module):
        objective.to(device, memory_format=memory_format)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    step, history, elapsed = 0, [], 0.0

    if resume and checkpoint_path.exists():
        state = load_checkpoint(checkpoint_path, device)
        if state["model_config"] != getattr(model, "config", None) or state["batch_size"] != config.batch_size:
            raise ValueError(f"{checkpoint_path} was written for another model or batch size "
                             f"({state['model_config']}, batch {state['batch_size']}); use a new --out")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scaler.load_state_dict(state["scaler"])
        step, history, elapsed = state["step"], state["history"], state["seconds"]
        torch.set_rng_state(state["rng"]["torch"].cpu())
        if device.type == "cuda" and state["rng"].get("cuda"):
            torch.cuda.set_rng_state_all([s.cpu() for s in state["rng"]["cuda"]])
        print(f"Resuming from {checkpoint_path} at step {step}.")

    def save(at: int) -> None:
        rng = {"torch": torch.get_rng_state(),
               "cuda": torch.cuda.get_rng_state_all() if device.type == "cuda" else []}
        with atomic_write(checkpoint_path) as tmp:
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                        "scaler": scaler.state_dict(), "step": at, "history": history,
                        "seconds": elapsed + time.perf_counter() - began, "rng": rng,
                        "batch_size": config.batch_size, "train_config": asdict(config),
                        "model_config": getattr(model, "config", None)}, tmp)

    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    forward = torch.compile(model) if config.compile else model
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=config.batch_size, num_workers=config.num_workers,
        sampler=ResumableSampler(len(dataset), config.seed, start=step * config.batch_size),
        pin_memory=device.type == "cuda", drop_last=True,
        persistent_workers=False, prefetch_factor=4 if config.num_workers else None)
    batches = iter(loader)
    began = time.perf_counter()
    bar = tqdm(total=config.steps, initial=step, desc="training", unit="step")
    try:
        while step < config.steps:
            batch = _to(next(batches), device, memory_format)
            with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
                loss, parts = objective(forward, batch)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            step += 1
            last = step == config.steps
            checkpoint_due = step % config.checkpoint_every == 0 or last
            if step % config.log_every == 0 or checkpoint_due:
                values = {k: v.item() for k, v in parts.items()}
                values["total"] = loss.item()
                if not all(math.isfinite(v) for v in values.values()):
                    kept = f"the last good checkpoint {checkpoint_path} is kept" if checkpoint_path.exists() \
                        else "no checkpoint was written yet"
                    raise FloatingPointError(f"loss became non-finite at step {step} ({values}); {kept}. "
                                             f"Lower the learning rate or the loss weights.")
                history.append({"step": step, **values, "seconds": elapsed + time.perf_counter() - began})
                bar.set_postfix({k: f"{v:.3g}" for k, v in values.items()})
            if sample_input is not None and (step % config.sample_every == 0 or last):
                _save_sample(model, sample_input, out_dir / "samples" / f"step_{step:06d}.jpg", device)
            if checkpoint_due:
                save(step)
            bar.update(1)
    except KeyboardInterrupt:
        save(step)
        print(f"Interrupted at step {step}; checkpoint saved. Run again with the same --out to resume.")
    finally:
        bar.close()
    return history


def _to(batch, device: torch.device, memory_format: torch.memory_format):
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to(b, device, memory_format) for b in batch)
    return batch.to(device, non_blocking=True, memory_format=memory_format)


@torch.no_grad()
def _save_sample(model: nn.Module, sample: torch.Tensor, path: Path, device: torch.device) -> None:
    was_training = model.training
    model.eval()
    save_image(model(sample.to(device)).float().cpu(), path)
    model.train(was_training)
