"""The registry of loss networks (notebook 7): building by name, SWAG's smoothing, and the
calibration of λ to the paper's network."""

import pytest
import torch
from torch import nn

from course_lib import loss_networks
from course_lib.efficientnet import EfficientNetFeatures
from course_lib.objectives import style_weights


class Scaled(nn.Module):
    """A loss network whose activations are ``factor`` times another's."""

    def __init__(self, net, factor):
        super().__init__()
        self.net, self.factor = net, factor
        self.layers, self.preprocessing, self.identity = net.layers, net.preprocessing, "scaled"

    def forward(self, images, layers=None):
        return {k: self.factor * v for k, v in self.net(images, layers).items()}


def test_an_unknown_name_lists_the_registry():
    with pytest.raises(ValueError, match="unknown loss network 'resnet50'; choose from vgg16-caffe, vgg16, "):
        loss_networks.build("resnet50")


def test_efficientnet_gives_its_stages_and_stops_at_the_deepest_asked():
    net = loss_networks.build("efficientnet-lite0")
    assert isinstance(net, EfficientNetFeatures) and not net.training
    assert style_weights(net) == loss_networks.WEIGHTS["efficientnet-lite0"]
    out = net(torch.rand(2, 3, 64, 64))
    assert {k: tuple(v.shape) for k, v in out.items()} == {
        "stage1": (2, 16, 32, 32), "stage2": (2, 24, 16, 16), "stage3": (2, 40, 8, 8), "stage4": (2, 80, 4, 4)}
    assert list(net(torch.rand(1, 3, 64, 64), ("stage2",))) == ["stage2"]
    with pytest.raises(ValueError, match="unknown EfficientNet-Lite0 layer.*relu2_2.*choose from stage1"):
        EfficientNetFeatures(("relu2_2",))


def test_swag_is_a_softmax_over_each_channels_positions_and_ignores_the_networks_scale(random_vgg):
    images = torch.rand(2, 3, 32, 32)
    smoothed = loss_networks.Smoothed(random_vgg, temperature=4.0)
    out = smoothed(images, ("relu1_2", "relu2_2"))
    for layer, a in out.items():
        positions = a.shape[-2] * a.shape[-1]
        torch.testing.assert_close(a.flatten(2).mean(dim=2), torch.ones(a.shape[:2]))  # mean 1 per channel
        raw = random_vgg(images, (layer,))[layer].flatten(2)
        expected = (raw / (4.0 * raw.std(dim=2, keepdim=True).clamp_min(1e-12))).softmax(dim=2) * positions  # dead: flat
        torch.testing.assert_close(a.flatten(2), expected)
    bigger = loss_networks.Smoothed(Scaled(random_vgg, 100.0), temperature=4.0)(images, ("relu2_2",))["relu2_2"]
    torch.testing.assert_close(bigger, out["relu2_2"], rtol=1e-4, atol=1e-5)
    assert "SWAG per channel, T=4·std" in smoothed.identity and smoothed.layers == random_vgg.layers
    assert loss_networks.Smoothed(random_vgg).temperature == loss_networks.SWAG_TEMPERATURE


def test_entropy_is_one_for_a_constant_map_and_near_zero_for_a_spike():
    assert loss_networks.entropy(torch.ones(1, 4, 8, 8)) == pytest.approx(1)
    spike = torch.zeros(1, 4, 64, 64)
    spike[0, 0, 0, 0] = 1e4
    assert loss_networks.entropy(spike) < 0.01
    assert 0.5 < loss_networks.entropy(torch.randn(1, 4, 64, 64, generator=torch.Generator().manual_seed(0))) < 1


def test_calibration_undoes_a_networks_scale(random_vgg):
    """λ_c scales with the square of the activations (ℓ_feat is a squared distance), λ_s with
    their fourth power (squared distance of Gram matrices, themselves products of two maps)."""
    spec = loss_networks.entry("vgg16-random")
    content, style = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    itself = loss_networks.calibrate(random_vgg, spec, content, style, random_vgg)
    assert itself == loss_networks.STYLE_WEIGHTS["caffe"]
    scaled = loss_networks.calibrate(Scaled(random_vgg, 10.0), spec, content, style, random_vgg)
    assert scaled.content == pytest.approx(itself.content / 100, rel=1e-3)
    assert scaled.style == pytest.approx(itself.style / 1e4, rel=1e-3)
    assert scaled.tv == itself.tv


def test_the_registry_is_the_one_the_command_line_offers():
    from course_lib.hparams import LOSS_NETWORKS

    assert tuple(loss_networks.NETWORKS) == LOSS_NETWORKS


def test_train_style_with_another_loss_network_uses_its_layers_and_weights(tmp_path, capsys):
    import numpy as np
    from helpers import run_cli
    from PIL import Image

    from course_lib.checkpoints import read as load_checkpoint

    images = tmp_path / "images"
    images.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a.png", "b.png", "style.png"):
        Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(images / name)
    code, _, err = run_cli(capsys, "train-style", "--style", images / "style.png", "--data", images, "--out",
                           tmp_path / "r", "--loss-network", "efficientnet-lite0+swag", "--steps", "2",
                           "--image-size", "32", "--batch-size", "2", "--style-size", "32", "--width", "8")
    assert code == 0, err
    objective = load_checkpoint(tmp_path / "r" / "checkpoint.pt")["fingerprint"]["objective"]
    assert objective["loss_net"].startswith("efficientnet-lite0 sha256") and "SWAG" in objective["loss_net"]
    assert list(objective["content_layers"]) == ["stage1"]
    assert list(objective["style_layers"]) == ["stage1", "stage2", "stage3", "stage4"]
    expected = loss_networks.WEIGHTS["efficientnet-lite0+swag"]
    assert objective["weights"]["style"] == expected.style and objective["weights"]["content"] == expected.content
