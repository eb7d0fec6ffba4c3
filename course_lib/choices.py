"""The paper's choices against the course's, side by side (in the spirit of pystiche_papers'
``impl_params``): one switch, ``choices("paper")`` or ``choices("course")``.

| choice | the paper (Johnson et al. 2016) | the course (later practice) |
|---|---|---|
| normalisation in the style network | batch norm | instance norm (Ulyanov et al. 2016) |
| ×2 upsampling | stride-½ transposed conv | nearest neighbour, then a 3×3 conv (Odena et al. 2016) |
| content layer | relu2_2 | relu2_2 (the authors' Lua code: relu3_3) |
| Gatys baseline | L-BFGS projected to [0, 1] after every iteration | L-BFGS, clipped once at the end |
| super-resolution network | batch norm, transposed convs, output through a scaled tanh | batch norm, nearest + conv, output added to the bicubic enlargement (a global skip) |
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Choices:
    """One set of choices; ``style_network()`` and ``sr_network()`` give ``networks.build``'s options."""

    name: str
    norm: str
    upsampling: str
    content_layers: tuple[str, ...]
    project: bool
    sr_residual: bool

    def style_network(self) -> dict:
        return {"norm": self.norm, "upsampling": self.upsampling}

    def sr_network(self) -> dict:
        return {"norm": "batch", "upsampling": self.upsampling, "residual": self.sr_residual}


PAPER = Choices("paper", norm="batch", upsampling="transpose", content_layers=("relu2_2",), project=True,
                sr_residual=False)
COURSE = Choices("course", norm="instance", upsampling="nearest", content_layers=("relu2_2",), project=False,
                 sr_residual=True)
CHOICES = {c.name: c for c in (PAPER, COURSE)}


def choices(name: str = "course") -> Choices:
    """The paper's (``"paper"``) or the course's (``"course"``) choices."""
    if name not in CHOICES:
        raise ValueError(f"choices are {', '.join(CHOICES)}, got {name!r}")
    return CHOICES[name]
