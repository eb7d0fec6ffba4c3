"""What defines a training run, and what may change when it resumes: the loop's settings
(:class:`TrainConfig`), the run's fingerprint (network, objective with its images' hashes, data,
settings) and the folder named by it, and the comparison that refuses to resume a checkpoint
made with other settings. (The lock that keeps a second process out is
:func:`course_lib.files.run_lock`.)
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from .architectures import ARCHITECTURES, build, config_of, defaults
from .hashing import text_sha256
from .hparams import STYLE, Schedule
from .objectives import Objective

AMP = ("auto", "bf16", "fp16", "off")
# TrainConfig fields that do not change what is learned: they may differ when a run resumes.
FREE_SETTINGS = ("steps", "checkpoint_every", "sample_every", "log_every", "num_workers",
                 "channels_last", "compile", "cudnn_benchmark")


@dataclass
class TrainConfig:
    """How to train; the defaults are the paper's style-transfer schedule (§4.1)."""

    steps: int = STYLE.paper.steps
    batch_size: int = STYLE.paper.batch_size
    lr: float = STYLE.paper.lr
    betas: tuple[float, float] = (STYLE.paper.beta1, 0.999)
    checkpoint_every: int = 1000
    sample_every: int = 1000
    log_every: int = 10
    seed: int = 0
    num_workers: int = 2
    amp: str = "auto"  # auto (bf16 where the hardware has it, fp16 on older GPUs, else fp32) | bf16 | fp16 | off
    channels_last: bool = True
    compile: bool = False
    cudnn_benchmark: bool = True
    max_bad_images: float = 0.05  # fraction of unreadable training images that stops training
    warmup: int = 0  # steps over which the learning rate rises linearly from lr/warmup to lr
    extra: dict = field(default_factory=dict)  # anything else that defines the run (for its fingerprint)


    @classmethod
    def of(cls, hp: Schedule, **loop) -> TrainConfig:
        """The settings of a task's hyper-parameters ``hp`` (steps, batch, Adam, warm-up), with
        the loop's own options (``checkpoint_every``, ``seed``, ...) from ``loop``."""
        return cls(steps=hp.steps, batch_size=hp.batch_size, lr=hp.lr, betas=(hp.beta1, 0.999), warmup=hp.warmup,
                   **loop)


def notebook_loop(steps: int) -> dict:
    """The loop options of the notebooks' runs: every step logged, about twenty checkpoints, no
    sample images, data-loading workers in ``full`` mode only."""
    from .config import mode

    return {"log_every": 1, "checkpoint_every": max(10, steps // 20), "sample_every": 10**9,
            "num_workers": 0 if mode() == "fast" else 4}


class RunMismatch(ValueError):
    """The checkpoint in the output folder was written with other settings."""


def model_identity(model: nn.Module) -> dict:
    """The network in a run's fingerprint: the options that rebuild it. A network whose modules
    are not what those options build (a student's layers put into it) or that :func:`build` did
    not make adds a hash of its structure (``repr``: its modules in order, with their sizes), so
    that changing it trains anew instead of resuming a run of another network."""
    built = config_of(model)
    if built is not None:
        with torch.random.fork_rng(devices=[]):  # building draws weights: the run's RNG stays as it was
            if repr(build(**built)) == repr(model):
                return built
    return {**(built or {"class": type(model).__name__}), "structure": text_sha256(repr(model))[:16]}


def fingerprint(model: nn.Module, objective: Objective, dataset, config: TrainConfig) -> dict:
    """Everything that defines a run: the network, the objective (with its images' hashes),
    the data and the training settings that change what is learned."""
    data = dataset.settings() if hasattr(dataset, "settings") else {"dataset": type(dataset).__name__,
                                                                      "examples": len(dataset)}
    train = {k: v for k, v in asdict(config).items() if k not in FREE_SETTINGS}
    train["betas"] = list(train["betas"])
    return json.loads(json.dumps({"model": model_identity(model),
                                  "objective": objective.settings(), "data": data, "train": train},
                                 sort_keys=True, default=str))


def run_folder(root: str | os.PathLike, name: str, model: nn.Module, objective: Objective, dataset,
               config: TrainConfig) -> Path:
    """``root/<name>-<hash>``: a folder per set of settings, so that changing the style image, a
    weight or the data never resumes a run made with the old ones."""
    key = json.dumps(fingerprint(model, objective, dataset, config), sort_keys=True)
    return Path(root) / f"{name}-{text_sha256(key)[:10]}"


def with_defaults(old: dict) -> dict:
    """A fingerprint written before a training setting existed, with that setting at its default
    (so that a course update that adds a setting does not refuse to resume older runs)."""
    if not isinstance(old, dict) or not isinstance(old.get("train"), dict):
        return old
    train = {k: v for k, v in asdict(TrainConfig()).items() if k not in FREE_SETTINGS}
    filled = {**old, "train": {**json.loads(json.dumps(train, default=str)), **old["train"]}}
    model = old.get("model")
    if isinstance(model, dict) and model.get("kind") in ARCHITECTURES:  # a network option added since
        filled["model"] = {**defaults(model["kind"]), **model}
    return filled


def differences(old: dict, new: dict, prefix: str = "") -> list[str]:
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}: {a} → {b}")
    return out


def cpu_has_bf16() -> bool:
    """True on CPUs with native bf16 arithmetic (AVX512-BF16 or AMX), where oneDNN runs bf16
    convolutions faster than fp32 ones."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def precision(amp: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype: ``auto`` is bf16 on a GPU that has it (fp16 with loss scaling on
    older ones) and on a CPU with native bf16, and full fp32 elsewhere."""
    if amp not in AMP:
        raise ValueError(f"amp must be one of {AMP}, got {amp!r}")
    if amp == "off":
        return None
    if amp == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.bfloat16 if device.type == "cpu" and cpu_has_bf16() else None
    return {"bf16": torch.bfloat16, "fp16": torch.float16}[amp]
