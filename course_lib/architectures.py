"""Every network of the course by name, above both families (:mod:`course_lib.networks`, the
paper's; :mod:`course_lib.translation`, notebook 6's), and the one protocol they share: a
network made by :func:`build` carries ``.config``, the options that rebuild it, which
checkpoints store as ``model_config`` and run fingerprints hash.
"""

from __future__ import annotations

import inspect

from torch import nn

from .networks import SRCNN, SuperResolutionNet, TransformerNet
from .translation.networks import CycleGAN, Pix2Pix

ARCHITECTURES: dict[str, type[nn.Module]] = {"style": TransformerNet, "sr": SuperResolutionNet, "srcnn": SRCNN,
                                             "pix2pix": Pix2Pix, "cyclegan": CycleGAN}
MAY_BE_ZERO = ("pool",)  # CycleGAN without an image history


def architecture(kind: str) -> type[nn.Module]:
    """The network class of ``kind`` (a key of :data:`ARCHITECTURES`)."""
    if kind not in ARCHITECTURES:
        raise ValueError(f"kind must be one of {sorted(ARCHITECTURES)}, got {kind!r}")
    return ARCHITECTURES[kind]


def defaults(kind: str) -> dict:
    """``kind``'s constructor defaults, as a config records them (tuples as lists)."""
    parameters = inspect.signature(architecture(kind)).parameters.values()
    return {p.name: list(p.default) if isinstance(p.default, tuple) else p.default for p in parameters
            if p.default is not inspect.Parameter.empty}


def build(kind: str, **options) -> nn.Module:
    """A network by name (``"style"``, ``"sr"``, ``"srcnn"``, ``"pix2pix"``, ``"cyclegan"``) with
    its options. All its constructor's arguments, defaults included, are recorded in
    ``.config`` (see :func:`config_of`), so that a checkpoint can rebuild it and equal networks
    have equal configs however they were asked for."""
    cls = architecture(kind)
    bound = inspect.signature(cls).bind(**options)
    bound.apply_defaults()
    for name, value in bound.arguments.items():
        if isinstance(value, int) and not isinstance(value, bool) and value < (name not in MAY_BE_ZERO):
            raise ValueError(f"build({kind!r}): {name}={value}; it must be a whole number ≥ {int(name not in MAY_BE_ZERO)}")
    model = cls(**bound.arguments)
    config = {"kind": kind, **{k: list(v) if isinstance(v, tuple) else v for k, v in bound.arguments.items()}}
    vars(model)["config"] = config  # a plain attribute, outside nn.Module's bookkeeping of parameters
    return model


def config_of(model: nn.Module) -> dict | None:
    """The options that rebuild ``model`` (``build(**config_of(model))``), or None for a network
    not made by :func:`build` (a student's own, which a checkpoint then cannot rebuild)."""
    return getattr(model, "config", None)
