"""Optimisation-based style transfer converges and behaves."""

import pytest
import torch

from course_lib.gatys import make_closure, stylize
from course_lib.objectives import LossWeights


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


def test_projected_lbfgs_stays_in_range(random_vgg, monkeypatch):
    """The paper's baseline clips to [0, 1] after every iteration: every image the objective
    sees after the first step is in range."""
    content, style = pair(32)
    seen = []

    def objective(image):
        seen.append((image.min().item(), image.max().item()))
        return (image - 2.0).pow(2).mean(), {}  # pulls the image above 1
    stylize(content, style, loss_net=random_vgg, steps=4, project=True, objective=objective, progress=False)
    assert all(0.0 <= lo and hi <= 1.0 for lo, hi in seen)


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


def test_a_custom_closure_and_objective_drive_the_optimisation(random_vgg):
    content, style = pair(32)
    made = []

    seen = []

    def closure(optimizer, image, loss_fn):
        made.append(image)
        return make_closure(optimizer, image, loss_fn)

    def objective(image):  # a student's own: only the distance to a grey image
        seen.append(image.detach().clone())
        loss = ((image - 0.5) ** 2).mean()
        return loss, {"grey": loss}
    result, history = stylize(content, style, loss_net=random_vgg, steps=5, closure=closure, objective=objective,
                              progress=False)
    assert len(made) == 1 and made[0].requires_grad
    assert len(seen) >= 5 and all("grey" in h for h in history)  # the objective given is the one optimised
    assert ((result - 0.5) ** 2).mean() < ((content - 0.5) ** 2).mean()


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
    with pytest.raises(FloatingPointError, match="step 1.*style=inf"):
        stylize(content, style, loss_net=random_vgg, steps=3, weights=LossWeights(style=float("inf")),
                progress=False)
