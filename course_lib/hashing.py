"""Every SHA-256 the course takes: of files (downloads and weights, checked before use), of
text (a run's settings), of a function's source (a student's objective in a run's fingerprint),
of tensors (a style image, a network's weights)."""

from __future__ import annotations

import hashlib
import inspect
import os
from collections.abc import Mapping

import torch


def file_sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of a file's bytes, read in 1 MB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def source_sha256(fn) -> str:
    """SHA-256 of a function's source code (of its compiled code where there is no source)."""
    try:
        code = inspect.getsource(fn)
    except (OSError, TypeError):
        code = repr(getattr(fn, "__code__", fn))
    return text_sha256(code)


def function_sha256(fn, _seen: frozenset = frozenset()) -> str:
    """SHA-256 of a function's source and of what it uses: the values it closes over (tensors by
    value, networks by their weights or ``identity``, numbers and settings by ``repr``) and the
    functions among them or among the globals it names that come from its own module (a
    notebook's other functions), followed in turn. So a student's objective fingerprints its run
    with its code, its loss weights, its style image and the helpers it calls: changing any of
    them trains anew instead of resuming the old run."""
    fn = inspect.unwrap(fn)
    if not inspect.isfunction(fn) or id(fn) in _seen:
        return source_sha256(fn)
    try:
        uses = inspect.getclosurevars(fn)
    except ValueError:  # a closure cell not yet filled
        return source_sha256(fn)
    helpers = [value for value in uses.globals.values()
               if inspect.isfunction(value) and value.__module__ == fn.__module__]
    return text_sha256(source_sha256(fn) + "".join(_value_sha256(value, _seen | {id(fn)})
                                                   for value in [*uses.nonlocals.values(), *helpers]))


def _value_sha256(value, seen: frozenset) -> str:
    if callable(value) and inspect.isfunction(inspect.unwrap(value)):
        return function_sha256(value, seen)
    if isinstance(value, torch.Tensor):
        return tensor_sha256(value)
    if isinstance(value, torch.nn.Module):
        identity = getattr(value, "identity", None)
        return text_sha256(identity) if isinstance(identity, str) else weights_sha256(value.state_dict())
    text = repr(value)  # an object without a repr of its own: its type (an address would differ every run)
    return text_sha256(type(value).__qualname__ if " at 0x" in text else text)


def tensor_sha256(tensor: torch.Tensor) -> str:
    """SHA-256 of a tensor's values (for a style image in a run's fingerprint)."""
    return hashlib.sha256(tensor.detach().float().cpu().contiguous().numpy().tobytes()).hexdigest()


def weights_sha256(weights: Mapping[str, torch.Tensor]) -> str:
    """One SHA-256 over a state dict: its names and each tensor's values."""
    return text_sha256("".join(f"{k}:{tensor_sha256(v)}" for k, v in sorted(weights.items())))
