"""Eq. 5 is computed once (course_lib.objectives) and shared by Gatys, training and super-resolution."""

import pytest
import torch

from course_lib.gatys import stylize
from course_lib.losses import feature_loss, gram_matrix, pixel_loss, style_loss, tv_loss
from course_lib.objectives import SR_WEIGHTS, LossWeights, PerceptualObjective, sr_weights


def images(seed=0, size=32, n=1):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, size, size, generator=g)


def test_known_answer_from_the_losses(random_vgg):
    content, style, output = images(1), images(2), images(3)
    weights = LossWeights(content=2.0, style=3.0, tv=1e-3)
    objective = PerceptualObjective(random_vgg, style, weights)
    total, parts = objective(output, objective.targets(content))
    with torch.no_grad():
        f_out, f_c, f_s = random_vgg(output), random_vgg(content), random_vgg(style)
    expected = {"content": 2.0 * feature_loss(f_out["relu2_2"], f_c["relu2_2"]),
                "style": 3.0 * style_loss(f_out, {k: gram_matrix(v) for k, v in f_s.items()}),
                "tv": 1e-3 * tv_loss(output)}
    assert set(parts) == set(expected)
    for key, value in expected.items():
        assert parts[key].item() == pytest.approx(value.item(), rel=1e-5), key
    assert total.item() == pytest.approx(sum(v.item() for v in expected.values()), rel=1e-5)


def test_gatys_and_training_compute_the_same_loss(random_vgg):
    """The same image, content and style: Gatys's first recorded loss equals the training
    objective's loss for a 'network' that outputs that image."""
    content, style, start = images(1), images(2), images(3)
    objective = PerceptualObjective(random_vgg, style)
    _, history = stylize(content, style, loss_net=random_vgg, steps=1, optimizer="adam", lr=1e-12,
                         init=start, progress=False)
    network = lambda x: start  # noqa: E731  (training maps the batch x = content to this output)
    total, parts = objective.loss(network, content)
    assert history[0]["total"] == pytest.approx(total.item(), rel=1e-5)
    for key in parts:
        assert history[0][key] == pytest.approx(parts[key].item(), rel=1e-5), key


def test_super_resolution_objectives():
    lr, hr = images(1, 8, 2), images(2, 32, 2)
    upsample = lambda x: torch.nn.functional.interpolate(x, scale_factor=4)  # noqa: E731
    objective = PerceptualObjective(weights=SR_WEIGHTS["pixel"])  # needs no loss network
    total, parts = objective.loss(upsample, (lr, hr))
    assert set(parts) == {"pixel", "tv"}
    assert parts["pixel"].item() == pytest.approx(pixel_loss(upsample(lr), hr).item())
    with pytest.raises(ValueError, match="need a loss network"):
        PerceptualObjective(weights=sr_weights("feat", "caffe"))


def test_style_grams_are_buffers_that_follow_to(random_vgg):
    objective = PerceptualObjective(random_vgg, images(2))
    assert set(dict(objective.named_buffers())) >= {f"gram_{k}" for k in ("relu1_2", "relu2_2", "relu3_3", "relu4_3")}
    moved = objective.to(torch.float64)
    assert all(g.dtype == torch.float64 for g in moved.grams.values())
    objective.to(torch.float32)


def test_only_needed_layers_are_computed(random_vgg, monkeypatch):
    """Zero style weight: the VGG pass stops at relu2_2 (the content layer)."""
    seen = []
    original = type(random_vgg).forward
    monkeypatch.setattr(type(random_vgg), "forward",
                        lambda self, x, layers=None: seen.append(tuple(layers or self.layers)) or original(self, x, layers))
    objective = PerceptualObjective(random_vgg, weights=LossWeights(content=1.0, style=0.0, tv=0.0))
    objective(images(3), objective.targets(images(1)))
    assert seen and all(layers == ("relu2_2",) for layers in seen)
    per_layer = PerceptualObjective(random_vgg, images(2), LossWeights(content=0, style=1, tv=0),
                                    style_layer_weights={"relu1_2": 1.0, "relu2_2": 0, "relu3_3": 0, "relu4_3": 0})
    seen.clear()
    per_layer(images(3))
    assert seen[-1] == ("relu1_2",) and list(per_layer.grams) == ["relu1_2"]


def test_settings_name_the_style_image(random_vgg):
    a = PerceptualObjective(random_vgg, images(2)).settings()
    b = PerceptualObjective(random_vgg, images(4)).settings()
    assert a["style_sha256"] != b["style_sha256"] and a["weights"] == {"content": 1.0, "style": 5.0,
                                                                       "tv": 1e-5, "pixel": 0.0}


def _make_objective(weight, image):
    def objective(model, batch):
        return _helper(model(batch), image) * weight
    return objective


def _helper(output, image):
    return (output - image).pow(2).mean()


def test_a_students_objective_is_fingerprinted_with_what_it_uses(monkeypatch):
    """function_sha256: the code, the closed-over values (numbers, tensors) and the module's own
    helper functions it calls; stable from call to call."""
    import sys

    from course_lib.hashing import function_sha256

    image = torch.zeros(1, 3, 4, 4)
    base = function_sha256(_make_objective(1.0, image))
    assert function_sha256(_make_objective(1.0, image.clone())) == base  # same values, another object
    assert function_sha256(_make_objective(2.0, image)) != base  # another weight
    assert function_sha256(_make_objective(1.0, image + 1)) != base  # another image
    module = sys.modules[__name__]
    monkeypatch.setattr(module, "_helper", lambda output, image: (output - image).abs().mean())
    assert function_sha256(_make_objective(1.0, image)) != base  # the helper it calls changed
    assert function_sha256(_make_objective(1.0, object())) == function_sha256(_make_objective(1.0, object()))
