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


def tensor_sha256(tensor: torch.Tensor) -> str:
    """SHA-256 of a tensor's values (for a style image in a run's fingerprint)."""
    return hashlib.sha256(tensor.detach().float().cpu().contiguous().numpy().tobytes()).hexdigest()


def weights_sha256(weights: Mapping[str, torch.Tensor]) -> str:
    """One SHA-256 over a state dict: its names and each tensor's values."""
    return text_sha256("".join(f"{k}:{tensor_sha256(v)}" for k, v in sorted(weights.items())))
