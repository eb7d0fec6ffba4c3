"""One training loop for every network of the course: style transfer (§4.1), super-resolution
(§4.2), SRCNN and the GANs of notebook 6.

Adam (lr 1e-3, as in the paper), one optimiser per group of the objective (a GAN has two);
mixed precision where the hardware has it (bf16 on recent GPUs and on CPUs with AVX512-BF16 or
AMX, fp16 with loss scaling on older GPUs), channels_last, cudnn.benchmark and optional
torch.compile; a DataLoader with workers and pinned memory over random crops; progress
with the losses.

Nothing is lost: checkpoints are written atomically and resume exactly (also after ``kill
-9``); Ctrl-C and SIGTERM save one; a lock keeps a second run out of the folder; a run resumed
with other settings is refused (its fingerprint differs), and ``restart`` starts over keeping
the old checkpoint; a step with non-finite gradients is skipped, several in a row stop
training, and no non-finite tensor is ever saved; an unreadable training image is skipped and
listed in ``skipped.txt``.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import signal
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator

import torch
from torch import nn

from .config import PAPER, progress, say, short_path
from .files import atomic_write, holds_code, remove_stale_temps, run_lock
from .images import save_image
from .networks import ARCHITECTURES, architecture, build
from .objectives import Objective

CHECKPOINT = "checkpoint.pt"
SKIPPED = "skipped.txt"
AMP = ("auto", "bf16", "fp16", "off")
# TrainConfig fields that do not change what is learned: they may differ when a run resumes.
FREE_SETTINGS = ("steps", "checkpoint_every", "sample_every", "log_every", "num_workers",
                 "channels_last", "compile", "cudnn_benchmark")
MIN_BAD_IMAGES = 2  # unreadable training images always tolerated, however small the folder
MAX_BAD_STEPS = 5  # consecutive steps with non-finite gradients before training stops


@dataclass
class TrainConfig:
    """How to train; the defaults are the paper's style-transfer schedule (§4.1)."""

    steps: int = PAPER.train_steps
    batch_size: int = PAPER.batch_size
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
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


def notebook_config(steps: int, batch_size: int, lr: float = 1e-3,
                    betas: tuple[float, float] = (0.9, 0.999), warmup: int = 0) -> TrainConfig:
    """The training settings of the notebooks' runs: ``steps`` of ``batch_size``, every step
    logged, about twenty checkpoints, no sample images, data-loading workers in ``full`` mode."""
    from .config import mode

    return TrainConfig(steps=steps, batch_size=batch_size, lr=lr, betas=betas, warmup=warmup, log_every=1,
                       checkpoint_every=max(10, steps // 20), sample_every=10**9,
                       num_workers=0 if mode() == "fast" else 4)


class RunMismatch(ValueError):
    """The checkpoint in the output folder was written with other settings."""


class Interrupted(KeyboardInterrupt):
    """Training stopped by Ctrl-C or SIGTERM after saving a checkpoint; ``signal`` is its number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signal = signum


def fingerprint(model: nn.Module, objective: Objective, dataset, config: TrainConfig) -> dict:
    """Everything that defines a run: the network, the objective (with its images' hashes),
    the data and the training settings that change what is learned."""
    data = dataset.settings() if hasattr(dataset, "settings") else {"dataset": type(dataset).__name__,
                                                                      "examples": len(dataset)}
    train = {k: v for k, v in asdict(config).items() if k not in FREE_SETTINGS}
    train["betas"] = list(train["betas"])
    return json.loads(json.dumps({"model": getattr(model, "config", type(model).__name__),
                                  "objective": objective.settings(), "data": data, "train": train},
                                 sort_keys=True, default=str))


def run_folder(root: str | os.PathLike, name: str, model: nn.Module, objective: Objective, dataset,
               config: TrainConfig) -> Path:
    """``root/<name>-<hash>``: a folder per set of settings, so that changing the style image, a
    weight or the data never resumes a run made with the old ones."""
    key = json.dumps(fingerprint(model, objective, dataset, config), sort_keys=True)
    return Path(root) / f"{name}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def _with_defaults(old: dict) -> dict:
    """A fingerprint written before a training setting existed, with that setting at its default
    (so that a course update that adds a setting does not refuse to resume older runs)."""
    if not isinstance(old, dict) or not isinstance(old.get("train"), dict):
        return old
    defaults = {k: v for k, v in asdict(TrainConfig()).items() if k not in FREE_SETTINGS}
    defaults = json.loads(json.dumps(defaults, default=str))
    filled = {**old, "train": {**defaults, **old["train"]}}
    model = old.get("model")
    if isinstance(model, dict) and model.get("kind") in ARCHITECTURES:  # a network option added since
        parameters = inspect.signature(architecture(model["kind"])).parameters.values()
        network = {p.name: list(p.default) if isinstance(p.default, tuple) else p.default for p in parameters
                   if p.default is not inspect.Parameter.empty}
        filled["model"] = {**network, **model}
    return filled


def _differences(old: dict, new: dict, prefix: str = "") -> list[str]:
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}: {a} → {b}")
    return out


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


class SkipUnreadable(torch.utils.data.Dataset):
    """``dataset`` keyed by (index, seed), where an example that raises ``ValueError`` (an
    unreadable image, named in the message) is replaced by the next readable one, the same on
    every run, and listed once in ``log``."""

    def __init__(self, dataset, log: Path) -> None:
        self.dataset, self.log, self.bad = dataset, Path(log), set()

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: tuple[int, int]):
        index, seed = key
        for offset in range(len(self)):
            i = (index + offset) % len(self)
            try:
                return self.dataset[(i, seed)]
            except ValueError as err:
                if i not in self.bad:
                    self.bad.add(i)
                    listed = self.log.read_text().splitlines() if self.log.exists() else []
                    if str(err) not in listed:  # each image once, whichever worker meets it first
                        say(f"Skipping an unreadable training image: {err}")
                        with open(self.log, "a") as f:
                            f.write(f"{err}\n")
        raise ValueError("no training image can be read; see " + str(self.log))

    def count(self) -> int:
        """How many distinct unreadable images all workers have listed so far."""
        return len(set(self.log.read_text().splitlines())) if self.log.exists() else 0


def cpu_has_bf16() -> bool:
    """True on CPUs with native bf16 arithmetic (AVX512-BF16 or AMX), where oneDNN runs bf16
    convolutions faster than fp32 ones."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def _precision(amp: str, device: torch.device) -> torch.dtype | None:
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


def load_checkpoint(path: str | os.PathLike, device: torch.device | str = "cpu") -> dict:
    """Read a checkpoint written by :func:`train` (``weights_only=True``: no code is unpickled)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint")
    if path.stat().st_size == 0:
        raise ValueError(f"{path}: empty file (0 bytes), not a checkpoint")
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as err:
        text = str(err)
        if holds_code(err):
            raise ValueError(f"{path}: it holds Python objects or code, not only tensors, so it was not "
                             f"loaded (a course checkpoint never does; do not load it another way)") from None
        raise ValueError(f"{path}: not a readable course checkpoint "
                         f"({' '.join(text.split()) if text else type(err).__name__})") from None
    if not isinstance(state, dict) or not isinstance(state.get("model"), dict) \
            or not isinstance(state.get("model_config"), dict):
        raise ValueError(f"{path}: not a course checkpoint (no model weights and model_config in it); "
                         f"was it written by course_lib's training?")
    for key, kind in (("fingerprint", dict), ("training", dict), ("train_config", dict), ("history", list),
                      ("optimizers", dict), ("step", int)):
        if key in state and not isinstance(state[key], kind):
            raise ValueError(f"{path}: malformed checkpoint: its {key!r} is a {type(state[key]).__name__}, "
                             f"not a {kind.__name__}")
    return state


RESUME_KEYS = ("optimizers", "scaler", "step", "history", "seconds", "rng", "fingerprint")


def shipped_models() -> dict[str, Path]:
    """The trained models that come with the course (``course_lib/models/*.pt``), by name."""
    folder = Path(__file__).resolve().parent / "models"
    return {p.stem: p for p in sorted(folder.glob("*.pt"))}


def resolve_model(name_or_path: str | os.PathLike) -> Path:
    """A checkpoint path, or the name of a shipped model (``sr4-pixel``) as its path."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    shipped = shipped_models()
    if str(name_or_path) in shipped:
        return shipped[str(name_or_path)]
    raise FileNotFoundError(f"{name_or_path}: no such checkpoint file, and no shipped model of that "
                            f"name (shipped: {', '.join(shipped) or 'none'})")


def training_record(name_or_path: str | os.PathLike) -> dict:
    """How a shipped model was trained (its ``training`` record, see ``tools/ship_model.py``),
    with ``total_steps`` and ``total_seconds`` counting the run a fine-tuned model started from."""
    record = load_checkpoint(resolve_model(name_or_path))["training"]
    first = record.get("init", {"steps": 0, "seconds": 0})
    return {**record, "total_steps": first["steps"] + record["steps"],
            "total_seconds": first["seconds"] + record["seconds"]}


def load_model(path: str | os.PathLike, device: torch.device | str = "cpu",
               kinds: tuple[str, ...] | None = None) -> nn.Module:
    """The trained network stored in a checkpoint (or a shipped model's name), in eval mode.
    ``kinds``: the network kinds the caller accepts; another kind is refused naming both."""
    path = resolve_model(path)
    state = load_checkpoint(path, device)
    kind = state["model_config"].get("kind")
    if kinds is not None and kind not in kinds:
        raise ValueError(f"{path} holds a {kind!r} network; this command needs one of {', '.join(kinds)}")
    weights = state["model"]
    _check_finite(weights, path)
    try:
        with torch.device("meta"):  # the shapes the config asks for, before any memory is allocated
            skeleton = build(**state["model_config"])
        wanted = {k: tuple(v.shape) for k, v in skeleton.state_dict().items()}
        stored = {k: tuple(v.shape) for k, v in weights.items() if isinstance(v, torch.Tensor)}
        if wanted != stored:
            differ = sorted(k for k in set(wanted) | set(stored) if wanted.get(k) != stored.get(k))
            raise ValueError(f"{len(differ)} tensor(s) differ, e.g. {differ[0]}: stored "
                             f"{stored.get(differ[0])}, configured {wanted.get(differ[0])}")
        model = build(**state["model_config"])
    except (TypeError, ValueError, RuntimeError, KeyError) as err:
        raise ValueError(f"{path}: its weights do not fit its model_config "
                         f"({' '.join(str(err).split())})") from None
    load_weights(model, weights, path, "its model_config")
    return model.to(device).eval()


def _check_finite(weights: dict, path: Path) -> None:
    bad = next((k for k, v in weights.items() if isinstance(v, torch.Tensor) and v.is_floating_point()
                and not torch.isfinite(v).all()), None)
    if bad is not None:
        raise ValueError(f"{path}: its weights are not finite (NaN or inf in {bad}); it would draw black images")


def load_weights(model: nn.Module, weights: dict, path: str | os.PathLike, what: str = "this network") -> None:
    """``model.load_state_dict(weights)`` for weights read from ``path``, after checking they are
    finite; a mismatch is a ``ValueError`` naming the file and every difference torch lists."""
    _check_finite(weights, Path(path))
    try:
        model.load_state_dict(weights)
    except (RuntimeError, KeyError, TypeError) as err:
        raise ValueError(f"{path}: its weights do not fit {what} ({' '.join(str(err).split())})") from None


@contextmanager
def _signals_as_interrupt() -> Iterator[None]:
    """SIGTERM and SIGINT raise :class:`Interrupted` while training, so that a checkpoint is
    saved (also where SIGINT was ignored, as in a background job)."""
    def handler(signum, frame):
        raise Interrupted(signum)
    try:
        previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    except ValueError:  # not the main thread: leave the signals alone
        yield
        return
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


def _worker_ignores_stop_signals(worker_id: int) -> None:
    """Data-loading workers leave SIGINT and SIGTERM to the main process, which saves a
    checkpoint and stops them; a signal sent to the whole process group (Ctrl-C in a terminal,
    ``timeout``, a job scheduler) would otherwise kill them first and lose the checkpoint."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _finite(tree) -> bool:
    if isinstance(tree, torch.Tensor):
        return not tree.is_floating_point() or bool(torch.isfinite(tree).all())
    if isinstance(tree, dict):
        return all(_finite(v) for v in tree.values())
    if isinstance(tree, (list, tuple)):
        return all(_finite(v) for v in tree)
    return True


def step(model: nn.Module, loss_fn, optimizer: torch.optim.Optimizer, batch) -> tuple[torch.Tensor, dict]:
    """One training step in its plainest form: zero the gradients, compute the loss of the
    batch, backpropagate, update the weights. (:func:`train`'s own step does the same with
    mixed precision, and skips an update whose gradients are not finite.)"""
    optimizer.zero_grad()
    loss, parts = loss_fn(model, batch)
    loss.backward()
    optimizer.step()
    return loss, parts


def train(model: nn.Module, objective: Objective, dataset: torch.utils.data.Dataset, out_dir: str | os.PathLike,
          config: TrainConfig | None = None, device: torch.device | str = "cpu",
          sample_input: torch.Tensor | None = None, resume: bool = True,
          restart: bool = False, step_fn=None) -> list[dict[str, float]]:
    """Train ``model`` to minimise ``objective`` over random batches of ``dataset``.

    ``dataset[(index, seed)]`` must return one (deterministic) example. Checkpoints go to
    ``out_dir/checkpoint.pt`` every ``config.checkpoint_every`` steps and at the end. An
    existing checkpoint is continued exactly (``resume``) if it was made with the same settings
    (:func:`fingerprint`), and refused with the list of differences otherwise; ``restart`` moves
    it aside and starts over. A finished run is reused and says so. ``sample_input`` is passed
    through the model every ``config.sample_every`` steps and saved to ``out_dir/samples/``.
    Ctrl-C or SIGTERM saves a checkpoint and raises :class:`Interrupted`. ``step_fn``: a
    function like :func:`step` (a student's own) that then makes each update, in full precision;
    for objectives with one optimiser. Returns the loss history (one dict every
    ``config.log_every`` steps).
    """
    config = config or TrainConfig()
    device = torch.device(device)
    out_dir = Path(out_dir)
    with run_lock(out_dir):
        return _train(model, objective, dataset, out_dir, config, device, sample_input, resume, restart, step_fn)


def _train(model, objective, dataset, out_dir: Path, config: TrainConfig, device: torch.device,
           sample_input, resume: bool, restart: bool, step_fn) -> list[dict[str, float]]:
    checkpoint_path = out_dir / CHECKPOINT
    remove_stale_temps(checkpoint_path)
    identity = fingerprint(model, objective, dataset, config)
    dtype = None if step_fn is not None else _precision(config.amp, device)
    memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
    model.to(device, memory_format=memory_format).train()
    objective.to(device, memory_format=memory_format)
    groups = {name: list(params) for name, params in objective.groups(model).items()}
    # fused Adam: one kernel per step, and it skips a step flagged non-finite without a host sync
    optimizers = {name: torch.optim.Adam(params, lr=config.lr, betas=config.betas, fused=True)
                  for name, params in groups.items()}
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    if step_fn is not None and list(optimizers) != ["model"]:
        raise ValueError("step_fn works with objectives that have one optimiser")
    step, history, elapsed, saved_rng = 0, [], 0.0, None

    if checkpoint_path.exists() and restart:
        stamp, n = time.strftime('%Y%m%d-%H%M%S'), 1
        kept = checkpoint_path.with_name(f"checkpoint-replaced-{stamp}.pt")
        while kept.exists():  # two restarts within a second: never overwrite a kept file
            n += 1
            kept = checkpoint_path.with_name(f"checkpoint-replaced-{stamp}-{n}.pt")
        os.link(checkpoint_path, kept)  # fails rather than replace an existing file
        checkpoint_path.unlink()
        say(f"Starting over; the previous checkpoint is kept as {kept}.")
    elif checkpoint_path.exists() and resume:
        state = load_checkpoint(checkpoint_path, device)
        missing = [key for key in RESUME_KEYS if key not in state]
        if missing:
            raise ValueError(f"{checkpoint_path}: cannot resume: it has no {', '.join(missing)} (written by "
                             f"another version of the course?); --restart keeps it and starts over")
        changed = _differences(_with_defaults(state.get("fingerprint", {})), identity)
        if changed:
            raise RunMismatch(f"{checkpoint_path} was trained with other settings ({'; '.join(changed)}); "
                              f"use another output folder, or restart (--restart) to start over and keep "
                              f"the old checkpoint under another name")
        model.load_state_dict(state["model"])
        for name, optimizer in optimizers.items():
            optimizer.load_state_dict(state["optimizers"][name])
        scaler.load_state_dict(state["scaler"])
        step, history, elapsed = state["step"], state["history"], state["seconds"]
        saved_rng = state["rng"]
        if step >= config.steps:
            say(f"Reusing the finished run in {short_path(out_dir)} ({step} steps, {elapsed / 60:.1f} min of "
                f"training); nothing to train. Change a setting or the folder to train anew.")
            return history
        say(f"Resuming from {short_path(checkpoint_path)} at step {step}.")

    def save(at: int) -> None:
        snapshot = {"model": model.state_dict(),
                    "optimizers": {k: o.state_dict() for k, o in optimizers.items()}}
        if not _finite(snapshot):
            raise FloatingPointError(f"refusing to save non-finite weights at step {at}; "
                                     f"{checkpoint_path} is kept as it was")
        rng = {"torch": torch.get_rng_state(),
               "cuda": torch.cuda.get_rng_state_all() if device.type == "cuda" else []}
        with atomic_write(checkpoint_path) as tmp:
            torch.save({**snapshot, "scaler": scaler.state_dict(), "step": at, "history": history,
                        "seconds": elapsed + time.perf_counter() - began, "rng": rng,
                        "fingerprint": identity, "train_config": asdict(config),
                        "model_config": getattr(model, "config", None)}, tmp)

    if device.type == "cuda":
        torch.backends.cudnn.benchmark = config.cudnn_benchmark
    forward = torch.compile(model) if config.compile else model
    examples = SkipUnreadable(dataset, out_dir / SKIPPED)
    loader = torch.utils.data.DataLoader(
        examples, batch_size=config.batch_size, num_workers=config.num_workers,
        sampler=ResumableSampler(len(dataset), config.seed, start=step * config.batch_size),
        pin_memory=device.type == "cuda", drop_last=True, worker_init_fn=_worker_ignores_stop_signals,
        persistent_workers=False, prefetch_factor=4 if config.num_workers else None)
    batches = iter(loader)  # draws its workers' base seed from the RNG: before the RNG is restored
    if saved_rng is not None:  # the random numbers continue where the checkpoint left them (dropout, ...)
        torch.set_rng_state(saved_rng["torch"].cpu())
        if device.type == "cuda" and saved_rng.get("cuda"):
            torch.cuda.set_rng_state_all([s.cpu() for s in saved_rng["cuda"]])
    began = time.perf_counter()
    bar = progress(total=config.steps, initial=step, desc="training", unit="step")
    bad_run = torch.zeros((), device=device)  # consecutive non-finite steps, counted on the device
    first_step, mark = step, 0.0
    try:
        with _signals_as_interrupt():
            while step < config.steps:
                batch = _to(next(batches), device, memory_format)
                if examples.count() > max(config.max_bad_images * len(dataset), MIN_BAD_IMAGES):
                    raise ValueError(f"{examples.count()} of {len(dataset)} training images are unreadable "
                                     f"(more than {config.max_bad_images:.0%} and more than {MIN_BAD_IMAGES}); "
                                     f"see {out_dir / SKIPPED}")
                losses, parts = {}, {}
                bad = torch.zeros((), dtype=torch.bool, device=device)
                stream = objective.losses(forward, batch) if step_fn is None else iter(())
                if step_fn is not None:
                    loss, parts = step_fn(forward, objective.loss, optimizers["model"], batch)
                    losses["model"] = loss.detach()
                    bad = ~torch.isfinite(losses["model"])
                while True:
                    with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
                        item = next(stream, None)
                    if item is None:
                        break
                    group, loss, group_parts = item
                    optimizer = optimizers[group]
                    if config.warmup:  # a function of the step alone: resumes exactly
                        for param_group in optimizer.param_groups:
                            param_group["lr"] = config.lr * min(1.0, (step + 1) / config.warmup)
                    optimizer.zero_grad(set_to_none=True)
                    scaler.scale(loss).backward()
                    if scaler.is_enabled():  # fp16: the scaler skips steps with inf gradients itself
                        scaler.step(optimizer)
                        bad = bad | ~torch.isfinite(loss.detach())
                    else:
                        grads = [p.grad for p in groups[group] if p.grad is not None]
                        norm = torch.nn.utils.get_total_norm(grads) if grads else loss.new_zeros(())
                        skip = ~(torch.isfinite(norm) & torch.isfinite(loss.detach()))
                        optimizer.grad_scale, optimizer.found_inf = None, skip.float()
                        optimizer.step()
                        bad = bad | skip
                    losses[group], parts = loss.detach(), {**parts, **group_parts}
                scaler.update()
                step += 1
                bad_run = (bad_run + bad) * bad
                last = step == config.steps
                checkpoint_due = step % config.checkpoint_every == 0 or last
                if step % config.log_every == 0 or checkpoint_due:  # the only host syncs of the loop
                    if bad_run.item() >= MAX_BAD_STEPS:
                        kept = f"the last good checkpoint {checkpoint_path} is kept" if checkpoint_path.exists() \
                            else "no checkpoint was written yet"
                        raise FloatingPointError(f"loss or gradients non-finite for {int(bad_run.item())} steps "
                                                 f"in a row (up to step {step}; those steps were skipped); "
                                                 f"{kept}. Lower the learning rate or the loss weights.")
                    values = {k: v.item() for k, v in parts.items()}
                    values.update({"total": sum(v.item() for v in losses.values())} if len(losses) == 1
                                  else {f"{g}_total": v.item() for g, v in losses.items()})
                    history.append({"step": step, **values, "seconds": elapsed + time.perf_counter() - began})
                    bar.set_postfix({k: f"{v:.3g}" for k, v in values.items()}, refresh=False)
                if sample_input is not None and (step % config.sample_every == 0 or last):
                    _save_sample(model, sample_input, out_dir / "samples" / f"step_{step:06d}.jpg", device)
                if checkpoint_due:
                    save(step)
                bar.update(1)
                if step - first_step in (5, 25):  # time steps 6-25 (after warm-up) to project the rest
                    if device.type == "cuda":
                        torch.cuda.synchronize(device)
                    if step - first_step == 25:
                        _say_projection((time.perf_counter() - mark) / 20, config.steps - step, device)
                    mark = time.perf_counter()
    except KeyboardInterrupt as err:
        save(step)
        say(f"Interrupted at step {step}; checkpoint saved in {checkpoint_path}. Run the same command "
            f"again to resume.")
        raise err if isinstance(err, Interrupted) else Interrupted(signal.SIGINT) from None
    finally:
        bar.close()
    return history


def _say_projection(step_seconds: float, remaining: int, device: torch.device) -> None:
    """After the first steps: how long the rest will take, and on a CPU the fast settings."""
    minutes = step_seconds * remaining / 60
    text = f"{minutes / 60:.1f} h" if minutes >= 90 else f"{minutes:.0f} min" if minutes >= 1 else \
        f"{minutes * 60:.0f} s"
    message = f"Projected: about {text} for the remaining {remaining:,} steps ({step_seconds:.3f} s/step on {device})."
    if device.type == "cpu" and minutes > 30:
        message += (" That is long for a CPU: try the fast settings (--image-size 96 --batch-size 2 "
                    "--steps 2000), or a GPU.")
    say(message)


def _to(batch, device: torch.device, memory_format: torch.memory_format):
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to(b, device, memory_format) for b in batch)
    return batch.to(device, non_blocking=True, memory_format=memory_format)


@torch.no_grad()
def _save_sample(model: nn.Module, sample: torch.Tensor, path: Path, device: torch.device) -> None:
    was_training = model.training
    model.eval()
    sample = sample.to(device)
    styles = getattr(model, "styles", 1)
    if styles > 1:  # one network of several styles: the sample in each of them, side by side
        output = torch.cat([model(sample, style=s) for s in range(styles)], dim=-1)
    else:
        output = model(sample)
    save_image(output.float().clamp(0, 1).cpu(), path)
    model.train(was_training)
