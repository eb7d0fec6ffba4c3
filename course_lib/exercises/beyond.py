"""The exercises of notebook 7: keeping the content's colours."""

from __future__ import annotations

from .. import color
from .engine import Exercise, features


def _unclamped(stylized, content):
    yiq = color.to_yiq(content)
    yiq[:, 0] = color.to_yiq(stylized)[:, 0]
    return color.from_yiq(yiq)


EXERCISES = {
    "luminance_only": Exercise(
        color.luminance_transfer, lambda: (features(1, 3, 12, 12, seed=1), features(1, 3, 12, 12, seed=2)),
        [(lambda stylized, content: color.luminance_transfer(content, stylized),
          "you kept the photo's luminance and the result's colours, the other way round: the strokes and "
          "textures of the style live in Y, so keep the stylised Y and put back the photo's I and Q"),
         (_unclamped, "some values leave [0, 1] after the conversion back to RGB: clamp the result to [0, 1]")]),
}
