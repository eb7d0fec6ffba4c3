"""The exercises of notebook 7: keeping the content's colours; mixing styles in one network."""

from __future__ import annotations

import torch

from .. import color
from ..networks import style_parameters
from .engine import Exercise, features, gen


def _unclamped(stylized, content):
    yiq = color.to_yiq(content)
    yiq[:, 0] = color.to_yiq(stylized)[:, 0]
    return color.from_yiq(yiq)


def _style_inputs() -> tuple:
    """γ and β of 4 styles over 6 channels, and 3 images' weights over the styles (rows sum to 1)."""
    mix = torch.softmax(torch.randn(3, 4, generator=gen(3)), dim=1)
    return 0.5 + features(4, 6, seed=1), features(4, 6, seed=2) - 0.5, mix, 0.6


def _as_dict(result) -> dict:
    gamma, beta = result
    return {"gamma": gamma, "beta": beta}


EXERCISES = {
    "luminance_only": Exercise(
        color.luminance_transfer, lambda: (features(1, 3, 12, 12, seed=1), features(1, 3, 12, 12, seed=2)),
        [(lambda stylized, content: color.luminance_transfer(content, stylized),
          "you kept the photo's luminance and the result's colours, the other way round: the strokes and "
          "textures of the style live in Y, so keep the stylised Y and put back the photo's I and Q"),
         (_unclamped, "some values leave [0, 1] after the conversion back to RGB: clamp the result to [0, 1]")]),
    "style_parameters": Exercise(
        style_parameters, _style_inputs,
        [(lambda gamma, beta, mix, strength: (strength * (mix @ gamma), strength * (mix @ beta)),
          "at strength 0 your γ is 0, which wipes the features out; the strength must move γ towards 1 "
          "and β towards 0, the identity normalisation: γ' = 1 + strength·(mixed γ − 1)"),
         (lambda gamma, beta, mix, strength: (mix @ gamma, mix @ beta),
          "your (γ, β) ignore the strength: at strength s they move a fraction 1 − s of the way to γ = 1, β = 0"),
         (lambda gamma, beta, mix, strength: (1 + strength * (mix @ gamma - 1), mix @ beta),
          "your γ follows the strength but β does not: β must shrink towards 0 as well"),
         (lambda gamma, beta, mix, strength: (1 + strength * (mix.mean(0) @ gamma - 1).expand(3, -1),
                                              strength * (mix.mean(0) @ beta).expand(3, -1)),
          "you averaged the images' weights: each image (row of mix) has its own mixture of styles")],
        compare=_as_dict),
}
