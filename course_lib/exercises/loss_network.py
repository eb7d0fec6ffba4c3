"""The exercises of notebook 2: the loss network's preprocessing, ℓ_feat, the Gram matrix, ℓ_style, ℓ_TV."""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from .. import losses
from ..caffe_vgg import MEAN_BGR
from .engine import Exercise, features, mean_square_mistakes


def _gram_mistakes():
    def scaled(factor: Callable[[torch.Tensor], float]):
        return lambda f: losses.gram_matrix(f) * factor(f)
    return [
        (scaled(lambda f: f.shape[1]), "your Gram matrix is C times too large: normalise by C·H·W (eq. 3), "
                                       "not only by H·W"),
        (scaled(lambda f: f.shape[1] * f.shape[2] * f.shape[3]),
         "your Gram matrix is not normalised: divide ψψᵀ by C·H·W (eq. 3), so that it does not grow "
         "with the image size"),
        (lambda f: torch.bmm(f.flatten(2).transpose(1, 2), f.flatten(2)) / f[0].numel(),
         "you computed ψᵀψ, an (H·W)×(H·W) matrix of positions; the Gram matrix is C×C: ψψᵀ, with ψ "
         "of shape C×(H·W)"),
    ]


def _tv_one_axis(images: torch.Tensor, dim: int) -> torch.Tensor:
    d = images.diff(dim=dim)
    return d.pow(2).sum(dim=(1, 2, 3)).mean()


def caffe_preprocess(images: torch.Tensor) -> torch.Tensor:
    """The paper's network's input (the Caffe VGG-16): RGB → BGR, values 0–255, the mean pixel
    (B, G, R) = (103.939, 116.779, 123.68) subtracted, no division by a standard deviation:
    what :class:`course_lib.vgg.VGGFeatures` does to every input with ``weights="caffe"``."""
    return images.flip(1) * 255 - images.new_tensor(MEAN_BGR).view(1, 3, 1, 1)


def _preprocess_mistakes():
    mean = torch.tensor(MEAN_BGR).view(1, 3, 1, 1)
    return [(lambda x: x, "the images are not preprocessed: the Caffe VGG-16 was trained on BGR values in 0-255 "
                          "minus the mean pixel, and its features are meaningless without it"),
            (lambda x: x * 255 - mean, "the channels are still in RGB order: flip them to BGR (x.flip(1)) first"),
            (lambda x: x.flip(1) - mean / 255, "the values stay in [0, 1]: the Caffe network saw 0-255, so multiply "
                                              "by 255 before subtracting the mean"),
            (lambda x: x.flip(1) * 255 - mean.flip(1), "the mean is in RGB order: (103.939, 116.779, 123.68) is "
                                                      "(B, G, R), the order of the flipped channels"),
            (lambda x: x.flip(1) * 255, "the mean pixel is not subtracted")]


def _style_inputs():
    feats = {"relu1_2": features(2, 4, 6, 6, seed=1), "relu2_2": features(2, 8, 3, 3, seed=2)}
    grams = {"relu1_2": features(1, 4, 4, seed=3), "relu2_2": features(1, 8, 8, seed=4)}
    return feats, grams



EXERCISES = {
    "feature_loss": Exercise(losses.feature_loss, lambda: (features(2, 8, 5, 5, seed=1), features(2, 8, 5, 5, seed=2)),
                             mean_square_mistakes("feature loss")),
    "gram_matrix": Exercise(losses.gram_matrix, lambda: (features(2, 4, 3, 5, seed=1),), _gram_mistakes()),
    "style_loss": Exercise(losses.style_loss, _style_inputs,
                           [(lambda f, g: sum(F.mse_loss(losses.gram_matrix(f[k]), g[k].expand(2, -1, -1))
                                              for k in g),
                             "you averaged the squared differences of the Gram matrices; ℓ_style is their squared "
                             "Frobenius norm: .sum() over the C×C entries, then the mean over the batch"),
                            (lambda f, g: sum((losses.gram_matrix(f[k]) - g[k]).norm(dim=(1, 2)).mean() for k in g),
                             "the Frobenius norm is squared in ℓ_style: ‖G(ŷ) − G(y)‖²_F, the sum of squared entries")]),
    "caffe_preprocess": Exercise(caffe_preprocess, lambda: (features(2, 3, 6, 6, seed=1).sigmoid(),),
                                 _preprocess_mistakes()),
    "tv_loss": Exercise(losses.tv_loss, lambda: (features(2, 3, 7, 9, seed=1),),
                        [(lambda x: _tv_one_axis(x, -1), "your TV has only the horizontal differences; add the "
                                                         "vertical ones, x[..., 1:, :] − x[..., :-1, :]"),
                         (lambda x: _tv_one_axis(x, -2), "your TV has only the vertical differences; add the "
                                                         "horizontal ones, x[..., :, 1:] − x[..., :, :-1]"),
                         (lambda x: (x.diff(dim=-1).abs().sum((1, 2, 3)) + x.diff(dim=-2).abs().sum((1, 2, 3))).mean(),
                          "the course's ℓ_TV squares the differences (absolute values give the ℓ1 TV)")]),
}
