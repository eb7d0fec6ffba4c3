"""One training loop for every network of the course: style transfer (§4.1), super-resolution
(§4.2), SRCNN and the GANs of notebook 6.

Adam (lr 1e-3, as in the paper), one optimiser per group of the objective (a GAN has two);
mixed precision where the hardware has it (bf16 on recent GPUs and on CPUs with AVX512-BF16 or
AMX, fp16 with loss scaling on older GPUs), channels_last, cudnn.benchmark and optional
torch.compile; a DataLoader with workers and pinned memory over random crops; progress
with the losses.

Nothing is lost: checkpoints are written atomically and resume exactly (also after ``kill
-9``); Ctrl-C and SIGTERM save one after the step under way; a lock keeps a second run out of
the folder; a run resumed with other settings is refused (its fingerprint differs), and
``restart`` starts over keeping the old checkpoint; a step with non-finite gradients is
skipped, several in a row stop training, and no non-finite tensor is ever saved; a loss that
jumps keeps the checkpoint from before it; an unreadable training image is skipped and listed in
``skipped.txt``.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import torch
from torch import nn

from . import checkpoints
from .architectures import config_of
from .batches import ResumableSampler, SkipUnreadable, to_device
from .checkpoints import CHECKPOINT, RESUME_KEYS
from .config import progress, say, short_path
from .files import remove_stale_temps, run_lock
from .objectives import Objective
from .reports import save_sample, say_projection
from .runs import RunMismatch, TrainConfig, differences, fingerprint, precision, with_defaults
from .stopping import Interrupted, signals_as_interrupt, worker_ignores_stop_signals
from .watch import checkpoint_warnings

SKIPPED = "skipped.txt"
MIN_BAD_IMAGES = 2  # unreadable training images always tolerated, however small the folder
MAX_BAD_STEPS = 5  # consecutive steps with non-finite gradients before training stops


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
          restart: bool = False, step_fn=None, record: dict | None = None) -> list[dict[str, float]]:
    """Train ``model`` to minimise ``objective`` over random batches of ``dataset``.

    ``dataset[(index, seed)]`` must return one (deterministic) example. Checkpoints go to
    ``out_dir/checkpoint.pt`` every ``config.checkpoint_every`` steps and at the end. An
    existing checkpoint is continued exactly (``resume``) if it was made with the same settings
    (:func:`course_lib.runs.fingerprint`), and refused with the list of differences otherwise;
    ``restart`` moves it aside and starts over. A finished run is reused and says so.
    ``sample_input`` is passed through the model every ``config.sample_every`` steps and saved to
    ``out_dir/samples/``. Ctrl-C or SIGTERM ends the step under way, saves a checkpoint and raises
    :class:`course_lib.stopping.Interrupted`; a second one stops at once.
    ``step_fn``: a function like :func:`step` (a student's own) that then makes each update, in
    full precision; for objectives with one optimiser. ``record``: what else the checkpoint
    keeps about the run (its hyper-parameters), outside the fingerprint. Returns the loss
    history (one dict every ``config.log_every`` steps).
    """
    out_dir = Path(out_dir)
    with run_lock(out_dir):
        trainer = Trainer(model, objective, dataset, out_dir, config or TrainConfig(), torch.device(device),
                          sample_input, step_fn, record or {})
        if not trainer.start(resume, restart):
            return trainer.history
        return trainer.run()


class Trainer:
    """The loop of :func:`train`, one method per phase: :meth:`start` (resume or restart),
    :meth:`run` (the loop), :meth:`step` (one update per optimiser group), :meth:`log` and
    :meth:`save`."""

    def __init__(self, model: nn.Module, objective: Objective, dataset, out_dir: Path, config: TrainConfig,
                 device: torch.device, sample_input, step_fn, record: dict) -> None:
        self.model, self.objective, self.dataset, self.out_dir = model, objective, dataset, out_dir
        self.config, self.device, self.sample_input, self.step_fn, self.record = (config, device, sample_input,
                                                                                   step_fn, record)
        self.path = out_dir / CHECKPOINT
        remove_stale_temps(self.path)
        self.identity = fingerprint(model, objective, dataset, config)
        self.dtype = None if step_fn is not None else precision(config.amp, device)
        self.memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
        model.to(device).to(memory_format=self.memory_format).train()
        objective.to(device).to(memory_format=self.memory_format)
        self.groups = {name: list(params) for name, params in objective.groups(model).items()}
        # fused Adam: one kernel per step; it also skips a step flagged non-finite without a host sync (see step)
        self.optimizers = {name: torch.optim.Adam(params, lr=config.lr, betas=config.betas, fused=True)
                           for name, params in self.groups.items()}
        self.scaler = torch.amp.GradScaler(device.type, enabled=self.dtype == torch.float16)
        if step_fn is not None and list(self.optimizers) != ["model"]:
            raise ValueError("step_fn works with objectives that have one optimiser")
        self.history: list[dict[str, float]] = []
        self.steps_done, self.elapsed, self.saved_rng = 0, 0.0, None
        self.began = time.perf_counter()

    def start(self, resume: bool, restart: bool) -> bool:
        """Restart (keeping the old checkpoint) or resume from it; False if the run is finished."""
        if self.path.exists() and restart:
            stamp, n = time.strftime('%Y%m%d-%H%M%S'), 1
            kept = self.path.with_name(f"checkpoint-replaced-{stamp}.pt")
            while kept.exists():  # two restarts within a second: never overwrite a kept file
                n += 1
                kept = self.path.with_name(f"checkpoint-replaced-{stamp}-{n}.pt")
            os.link(self.path, kept)  # fails rather than replace an existing file
            self.path.unlink()
            say(f"Starting over; the previous checkpoint is kept as {kept}.")
        elif self.path.exists() and resume:
            state = checkpoints.read(self.path, self.device)
            missing = [key for key in RESUME_KEYS if key not in state]
            if missing:
                raise ValueError(f"{self.path}: cannot resume: it has no {', '.join(missing)} (written by another "
                                 f"version of the course?); --restart keeps it and starts over")
            changed = differences(with_defaults(state.get("fingerprint", {})), self.identity)
            if changed:
                raise RunMismatch(f"{self.path} was trained with other settings ({'; '.join(changed)}); use "
                                  f"another output folder, or restart (--restart) to start over and keep the old "
                                  f"checkpoint under another name")
            self.model.load_state_dict(state["model"])
            for name, optimizer in self.optimizers.items():
                optimizer.load_state_dict(state["optimizers"][name])
            self.scaler.load_state_dict(state["scaler"])
            self.steps_done, self.history, self.elapsed = state["step"], state["history"], state["seconds"]
            self.saved_rng = state["rng"]
            if self.steps_done >= self.config.steps:
                say(f"Reusing the finished run in {short_path(self.out_dir)} ({self.steps_done} steps, "
                    f"{self.elapsed / 60:.1f} min of training); nothing to train. Change a setting or the folder "
                    f"to train anew.")
                return False
            say(f"Resuming from {short_path(self.path)} at step {self.steps_done}.")
        return True

    def batches(self) -> Iterator:
        """The batches from the step reached on, exactly those an unbroken run would see."""
        config, device = self.config, self.device
        self.examples = SkipUnreadable(self.dataset, self.out_dir / SKIPPED)
        loader = torch.utils.data.DataLoader(
            self.examples, batch_size=config.batch_size, num_workers=config.num_workers,
            sampler=ResumableSampler(len(self.dataset), config.seed, start=self.steps_done * config.batch_size),
            pin_memory=device.type == "cuda", drop_last=True, worker_init_fn=worker_ignores_stop_signals,
            persistent_workers=False, prefetch_factor=4 if config.num_workers else None)
        batches = iter(loader)  # draws its workers' base seed from the RNG: before the RNG is restored
        if self.saved_rng is not None:  # the random numbers continue where the checkpoint left them (dropout, ...)
            torch.set_rng_state(self.saved_rng["torch"].cpu())
            if device.type == "cuda" and self.saved_rng.get("cuda"):
                torch.cuda.set_rng_state_all([s.cpu() for s in self.saved_rng["cuda"]])
        return batches

    def run(self) -> list[dict[str, float]]:
        config, device = self.config, self.device
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = config.cudnn_benchmark
        forward = torch.compile(self.model) if config.compile else self.model
        batches = self.batches()
        self.began = time.perf_counter()
        bar = progress(total=config.steps, initial=self.steps_done, desc="training", unit="step")
        bad_run = torch.zeros((), device=device)  # consecutive non-finite steps, counted on the device
        first_step, mark = self.steps_done, 0.0
        try:
            with signals_as_interrupt() as stop:
                while self.steps_done < config.steps:
                    self.check_images()
                    losses, parts, bad = self.step(forward, to_device(next(batches), device, self.memory_format))
                    self.steps_done += 1
                    bad_run = (bad_run + bad) * bad
                    last = self.steps_done == config.steps
                    checkpoint_due = self.steps_done % config.checkpoint_every == 0 or last
                    if self.steps_done % config.log_every == 0 or checkpoint_due:  # the loop's only host syncs
                        self.log(losses, parts, bad_run, bar)
                    if self.sample_input is not None and (self.steps_done % config.sample_every == 0 or last):
                        save_sample(self.model, self.sample_input,
                                     self.out_dir / "samples" / f"step_{self.steps_done:06d}.jpg", device)
                    if checkpoint_due:
                        self.save()
                    bar.update(1)
                    if self.steps_done - first_step in (5, 25):  # time steps 6-25 (after warm-up) to project the rest
                        if device.type == "cuda":
                            torch.cuda.synchronize(device)
                        if self.steps_done - first_step == 25:
                            say_projection((time.perf_counter() - mark) / 20, config.steps - self.steps_done, device)
                        mark = time.perf_counter()
                    if stop.signal is not None:
                        raise Interrupted(stop.signal)
        except KeyboardInterrupt as err:
            self.save()
            say(f"Interrupted at step {self.steps_done}; checkpoint saved in {self.path}. Run the same command "
                f"again to resume.")
            raise err if isinstance(err, Interrupted) else Interrupted(signal.SIGINT) from None
        finally:
            bar.close()
        return self.history

    def check_images(self) -> None:
        """Stop when more training images are unreadable than the settings tolerate."""
        count, limit = self.examples.count(), self.config.max_bad_images
        if count > max(limit * len(self.dataset), MIN_BAD_IMAGES):
            raise ValueError(f"{count} of {len(self.dataset)} training images are unreadable (more than {limit:.0%} "
                             f"and more than {MIN_BAD_IMAGES}); see {self.out_dir / SKIPPED}")

    def step(self, forward, batch) -> tuple[dict, dict, torch.Tensor]:
        """One update of each optimiser group; returns the losses, their parts, and whether a
        loss or gradient was non-finite (that group's update is then skipped)."""
        losses, parts = {}, {}
        bad = torch.zeros((), dtype=torch.bool, device=self.device)
        if self.step_fn is not None:
            loss, parts = self.step_fn(forward, self.objective.loss, self.optimizers["model"], batch)
            losses["model"] = loss.detach()
            return losses, parts, ~torch.isfinite(losses["model"])
        stream = self.objective.losses(forward, batch)
        while True:
            with torch.autocast(self.device.type, dtype=self.dtype or torch.float32, enabled=self.dtype is not None):
                item = next(stream, None)
            if item is None:
                break
            group, loss, group_parts = item
            optimizer = self.optimizers[group]
            if self.config.warmup:  # a function of the step alone: resumes exactly
                for param_group in optimizer.param_groups:
                    param_group["lr"] = self.config.lr * min(1.0, (self.steps_done + 1) / self.config.warmup)
            optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            if self.scaler.is_enabled():  # fp16: the scaler skips steps with inf gradients itself
                self.scaler.step(optimizer)
                bad = bad | ~torch.isfinite(loss.detach())
            else:
                grads = [p.grad for p in self.groups[group] if p.grad is not None]
                norm = torch.nn.utils.get_total_norm(grads) if grads else loss.new_zeros(())
                skip = ~(torch.isfinite(norm) & torch.isfinite(loss.detach()))
                # The fused optimisers' AMP hook (torch.optim.Optimizer._step_supports_amp_scaling,
                # what GradScaler.step uses): with found_inf = 1 the kernel leaves weights and
                # moments untouched, decided on the device, so no host sync per step.
                vars(optimizer).update(grad_scale=None, found_inf=skip.float())
                optimizer.step()
                bad = bad | skip
            losses[group], parts = loss.detach(), {**parts, **group_parts}
        self.scaler.update()
        return losses, parts, bad

    def log(self, losses: dict, parts: dict, bad_run: torch.Tensor, bar) -> None:
        """Record the losses (a host sync), and stop after too many non-finite steps in a row."""
        if bad_run.item() >= MAX_BAD_STEPS:
            kept = f"the last good checkpoint {self.path} is kept" if self.path.exists() else \
                "no checkpoint was written yet"
            raise FloatingPointError(f"loss or gradients non-finite for {int(bad_run.item())} steps in a row (up to "
                                     f"step {self.steps_done}; those steps were skipped); {kept}. Lower the "
                                     f"learning rate or the loss weights.")
        values = {k: v.item() for k, v in parts.items()}
        values.update({"total": sum(v.item() for v in losses.values())} if len(losses) == 1
                      else {f"{g}_total": v.item() for g, v in losses.items()})
        self.history.append({"step": self.steps_done, **values, "seconds": self.seconds()})
        bar.set_postfix({k: f"{v:.3g}" for k, v in values.items()}, refresh=False)

    def seconds(self) -> float:
        return self.elapsed + time.perf_counter() - self.began

    def save(self) -> None:
        """An atomic checkpoint that resumes exactly; non-finite weights are never written."""
        snapshot = {"model": self.model.state_dict(),
                    "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()}}
        if not _finite(snapshot):
            raise FloatingPointError(f"refusing to save non-finite weights at step {self.steps_done}; "
                                     f"{self.path} is kept as it was")
        rng = {"torch": torch.get_rng_state(),
               "cuda": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else []}
        extra = {"hyper_parameters": self.record} if self.record else {}
        sample = None if self.sample_input is None else self.sample_input.to(self.device)
        for warning in checkpoint_warnings(self.path, self.history, self.config.checkpoint_every, self.steps_done,
                                           self.model, sample):
            say(warning)
        checkpoints.save(self.path, snapshot["model"], config_of(self.model), optimizers=snapshot["optimizers"],
                         scaler=self.scaler.state_dict(), step=self.steps_done, history=self.history,
                         seconds=self.seconds(), rng=rng, fingerprint=self.identity,
                         train_config=asdict(self.config), **extra)
