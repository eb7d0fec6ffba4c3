"""Optimisation-based style transfer converges and behaves."""

import pytest
import torch

from course_lib.gatys import stylize


def pair(size=48):
    g = torch.Generator().manual_seed(1)  # not the seed of init="noise"
    content = torch.rand(1, 3, size, size, generator=g)
    style = torch.rand(1, 3, size, size, generator=g) ** 2  # different statistics
    return content, style


@pytest.mark.parametrize("optimizer, fraction", [("lbfgs", 0.5), ("adam", 0.3)])
def test_total_loss_falls(random_vgg, optimizer, fraction):
    content, style = pair()
    image, history = stylize(content, style, loss_net=random_vgg, steps=30, optimizer=optimizer,
                             init="noise", progress=False)
    assert len(history) == 30 and image.shape == content.shape
    assert 0 <= image.min() and image.max() <= 1
    first, last = history[0]["total"], history[-1]["total"]
    assert last <= (1 - fraction) * first, (first, last)  # fell by at least `fraction`
    assert history[-1]["seconds"] > history[0]["seconds"]


def test_content_init_starts_at_zero_content_loss_and_continue(random_vgg):
    content, style = pair(32)
    calls = []
    image, history = stylize(content, style, loss_net=random_vgg, steps=5, optimizer="adam",
                             callback=lambda step, img, parts: calls.append(step), callback_every=2,
                             progress=False)
    assert calls == [2, 4, 5]
    assert history[0]["content"] == 0.0 and history[-1]["content"] > 0  # starts at the content
    again, more = stylize(content, style, loss_net=random_vgg, steps=3, optimizer="adam", init=image,
                          progress=False)
    assert more[0]["total"] <= history[-1]["total"] * 1.5  # continues, does not restart


def test_bad_arguments(random_vgg):
    content, style = pair(32)
    with pytest.raises(ValueError, match="optimizer"):
        stylize(content, style, loss_net=random_vgg, steps=1, optimizer="sgd", progress=False)
    with pytest.raises(ValueError, match="init"):
        stylize(content, style, loss_net=random_vgg, steps=1, init="zeros", progress=False)
    with pytest.raises(ValueError, match="relu5_1"):
        stylize(content, style, loss_net=random_vgg, steps=1, style_layers=("relu5_1",), progress=False)


def test_non_finite_loss_is_reported(random_vgg):
    content, style = pair(32)
    with pytest.raises(FloatingPointError, match="step 1.*style inf"):
        stylize(content, style, loss_net=random_vgg, steps=3, style_weight=float("inf"), progress=False)
