"""The one checkpoint format of the course, written by training and by ``tools/ship_model.py``,
read by resuming, ``--init``, and every command that takes ``--model``.

A checkpoint is a dict of tensors and plain values (``torch.save``, read with
``weights_only=True``: no code is ever unpickled):

- ``model``: the network's ``state_dict``; ``model_config``: the options that rebuild it
  (:func:`course_lib.architectures.build`), its kind included;
- a training checkpoint adds what resumes it exactly (:data:`RESUME_KEYS`), the training
  settings and ``hyper_parameters`` (which variant, which options were given);
- a shipped model (``course_lib/models/NAME.pt``) adds a ``training`` record instead: steps,
  time, device, the command that produced it.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from .files import atomic_write, holds_code

CHECKPOINT = "checkpoint.pt"
RESUME_KEYS = ("optimizers", "scaler", "step", "history", "seconds", "rng", "fingerprint")
# the types of the entries a checkpoint may hold besides its weights
ENTRY_TYPES = (("fingerprint", dict), ("training", dict), ("train_config", dict), ("history", list),
               ("optimizers", dict), ("step", int), ("hyper_parameters", dict))


def save(path: str | os.PathLike, model: nn.Module | dict, model_config: dict | None, **entries) -> None:
    """Write a checkpoint atomically: ``model`` (a network or its state dict), the ``model_config``
    that rebuilds it, and ``entries`` (resume state, or a shipped model's ``training`` record)."""
    weights = model.state_dict() if isinstance(model, nn.Module) else model
    with atomic_write(Path(path)) as tmp:
        torch.save({"model": weights, "model_config": model_config, **entries}, tmp)


def read(path: str | os.PathLike, device: torch.device | str = "cpu") -> dict:
    """A checkpoint's contents, checked to be one: a clear ``ValueError`` naming the file for an
    empty, foreign, truncated or code-carrying file."""
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
    for key, kind in ENTRY_TYPES:
        if key in state and not isinstance(state[key], kind):
            raise ValueError(f"{path}: malformed checkpoint: its {key!r} is a {type(state[key]).__name__}, "
                             f"not a {kind.__name__}")
    return state


def shipped_models() -> dict[str, Path]:
    """The trained models that come with the course (``course_lib/models/*.pt``), by name."""
    folder = Path(__file__).resolve().parent / "models"
    return {p.stem: p for p in sorted(folder.glob("*.pt"))}


def shipped_names(kinds: tuple[str, ...]) -> list[str]:
    """The names of the shipped models of ``kinds`` (for the ``--model`` options' help)."""
    return [name for name, path in shipped_models().items()
            if torch.load(path, mmap=True, weights_only=True)["model_config"].get("kind") in kinds]


def resolve(name_or_path: str | os.PathLike) -> Path:
    """A checkpoint path, or the name of a shipped model (``sr4-pixel``) as its path."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    shipped = shipped_models()
    if str(name_or_path) in shipped:
        return shipped[str(name_or_path)]
    raise FileNotFoundError(f"{name_or_path}: no such checkpoint file, and no shipped model of that "
                            f"name (shipped: {', '.join(shipped) or 'none'})")


class Checkpoint:
    """One checkpoint or shipped model, read once: its network, its kind, its record."""

    def __init__(self, name_or_path: str | os.PathLike, device: torch.device | str = "cpu") -> None:
        self.path = resolve(name_or_path)
        self.state = read(self.path, device)

    @property
    def kind(self) -> str | None:
        return self.state["model_config"].get("kind")

    @property
    def fingerprint(self) -> dict:
        """What the run trained on (data, model, objective, loop): a checkpoint's own, or a shipped
        model's record's."""
        return self.state.get("fingerprint") or self.state.get("training", {}).get("fingerprint") or {}

    @property
    def steps(self) -> int:
        """Training steps behind the weights: a checkpoint's step, or a shipped model's total."""
        return self.state["step"] if "step" in self.state else self.training_record()["total_steps"]

    @property
    def style_names(self) -> list[str]:
        """A network of several styles: its styles' names in index order (the style images' file
        names, as ``train-style --styles`` recorded them; [] where none were recorded)."""
        hyper = self.state.get("hyper_parameters") or self.state.get("training", {}).get("hyper_parameters") or {}
        return list(hyper.get("styles", []))

    @property
    def data(self) -> dict:
        """The training data's settings (see :attr:`fingerprint`)."""
        return self.fingerprint.get("data", {})

    @property
    def task(self) -> str | None:
        """The pix2pix input task (``edges``...) the network was trained on, if any."""
        return self.data.get("task")

    @property
    def photo_side(self) -> int | None:
        """The shorter side its training photos were scaled to before cropping (``--resize``), if any."""
        return self.data.get("resize")

    def model(self, device: torch.device | str = "cpu", kinds: tuple[str, ...] | None = None) -> nn.Module:
        """The network, in eval mode. ``kinds``: those the caller accepts; another is refused."""
        if kinds is not None and self.kind not in kinds:
            raise ValueError(f"{self.path} holds a {self.kind!r} network; this command needs one of "
                             f"{', '.join(kinds)}")
        from .architectures import build  # (above this module: the loss network reads load_weights here)

        weights, config = self.state["model"], self.state["model_config"]
        _check_finite(weights, self.path)
        try:
            with torch.device("meta"):  # the shapes the config asks for, before any memory is allocated
                skeleton = build(**config)
            wanted = {k: tuple(v.shape) for k, v in skeleton.state_dict().items()}
            stored = {k: tuple(v.shape) for k, v in weights.items() if isinstance(v, torch.Tensor)}
            if wanted != stored:
                differ = sorted(k for k in set(wanted) | set(stored) if wanted.get(k) != stored.get(k))
                raise ValueError(f"{len(differ)} tensor(s) differ, e.g. {differ[0]}: stored "
                                 f"{stored.get(differ[0])}, configured {wanted.get(differ[0])}")
            model = build(**config)
        except (TypeError, ValueError, RuntimeError, KeyError) as err:
            raise ValueError(f"{self.path}: its weights do not fit its model_config "
                             f"({' '.join(str(err).split())})") from None
        load_weights(model, weights, self.path, "its model_config")
        return model.to(device).eval()

    def training_record(self) -> dict:
        """How a shipped model was trained (see ``tools/ship_model.py``), with ``total_steps`` and
        ``total_seconds`` counting every run a fine-tuned model started from (``init``, nested
        once per fine-tuning)."""
        record = self.state["training"]
        totals, stage = {"total_steps": 0, "total_seconds": 0}, record
        while stage is not None:
            totals["total_steps"] += stage["steps"]
            totals["total_seconds"] += stage["seconds"]
            stage = stage.get("init")
        return {**record, **totals}


def load_model(name_or_path: str | os.PathLike, device: torch.device | str = "cpu",
               kinds: tuple[str, ...] | None = None) -> nn.Module:
    """The trained network of a checkpoint or shipped model, in eval mode (see :class:`Checkpoint`)."""
    return Checkpoint(name_or_path, device).model(device, kinds)


def training_record(name_or_path: str | os.PathLike) -> dict:
    """How a shipped model was trained (see :meth:`Checkpoint.training_record`)."""
    return Checkpoint(name_or_path).training_record()


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
    except (RuntimeError, KeyError, TypeError, AttributeError) as err:
        raise ValueError(f"{path}: its weights do not fit {what} ({' '.join(str(err).split())})") from None
