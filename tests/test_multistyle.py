"""One network, many styles (Dumoulin et al. 2017): conditional instance norm, its training
objective, interpolation and strength, and the command line."""

import pytest
import torch
from helpers import run_cli
from PIL import Image

from course_lib import checkpoints
from course_lib.architectures import build
from course_lib.cli.training import _initialise
from course_lib.networks import ConditionalInstanceNorm


def test_only_the_normalisation_differs_between_styles():
    single, multi = build("style"), build("style", styles=4)
    extra = sum(p.numel() for p in multi.parameters()) - sum(p.numel() for p in single.parameters())
    per_style = sum(2 * m.gamma.shape[1] for m in multi.modules() if isinstance(m, ConditionalInstanceNorm))
    assert extra == 4 * per_style - per_style  # one (γ, β) per style, in place of the single network's one
    assert per_style / sum(p.numel() for p in single.parameters()) < 0.01  # < 1 % of a network per style


def test_style_index_mix_and_strength():
    torch.manual_seed(0)
    model = build("style", width=8, styles=3).eval()
    for m in model.modules():
        if isinstance(m, ConditionalInstanceNorm):
            torch.nn.init.normal_(m.gamma, 1, 0.5)
            torch.nn.init.normal_(m.beta, 0, 0.5)
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        a, b = model(x, style=0), model(x, style=1)
        assert not torch.allclose(a, b)
        assert torch.allclose(model(x, style=[0, 1])[1], b[1], atol=1e-6)  # one style per image
        assert torch.allclose(model(x, style=torch.tensor([1.0, 0.0, 0.0])), a, atol=1e-6)
        half = model(x, style=torch.tensor([0.5, 0.5, 0.0]))
        assert not torch.allclose(half, (a + b) / 2, atol=1e-3)  # mixes (γ, β), not pixels
        none = model(x, style=0, strength=0.0)
        assert torch.allclose(none, model(x, style=2, strength=0.0), atol=1e-6)  # identity norm: no style left
    with pytest.raises(ValueError, match="pass style="):
        model(x)
    with pytest.raises(ValueError, match="index in 0..2"):
        model(x, style=3)


def test_a_one_style_network_starts_every_style_of_a_network_of_several(tmp_path):
    """``train-style --styles … --init candy``: each style starts as the one-style network."""
    torch.manual_seed(0)
    single = build("style", width=8).eval()
    for m in single.modules():
        if isinstance(m, torch.nn.GroupNorm):
            torch.nn.init.normal_(m.weight, 1, 0.5)
            torch.nn.init.normal_(m.bias, 0, 0.5)
    checkpoints.save(tmp_path / "one.pt", single, single.config, training={"steps": 7})
    multi = build("style", width=8, styles=3).eval()
    record = _initialise(multi, tmp_path / "one.pt")
    assert record["init"]["step"] == 7
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        for style in range(3):
            assert torch.allclose(multi(x, style=style), single(x), atol=1e-6)
    with pytest.raises(ValueError, match="one.pt: its weights do not fit"):
        _initialise(build("style", width=16, styles=3), tmp_path / "one.pt")


@pytest.mark.slow
def test_train_and_stylize_several_styles_from_the_command_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COURSE_VGG_WEIGHTS", "caffe")
    rng = torch.Generator().manual_seed(0)
    (tmp_path / "data").mkdir()
    for i in range(3):
        Image.fromarray((torch.rand(40, 40, 3, generator=rng) * 255).byte().numpy()).save(tmp_path / "data" / f"{i}.png")
        Image.fromarray((torch.rand(32, 32, 3, generator=rng) * 255).byte().numpy()).save(tmp_path / f"s{i}.png")
    styles = [tmp_path / f"s{i}.png" for i in range(3)]
    code, _, err = run_cli(capsys, "train-style", "--styles", *styles, "--data", tmp_path / "data", "--out",
                           tmp_path / "run", "--steps", "2", "--image-size", "32", "--style-size", "32", "--width",
                           "8", "--batch-size", "2", "--workers", "0")
    assert code == 0, err
    model = tmp_path / "run" / "checkpoint.pt"
    photo = tmp_path / "data" / "0.png"
    for style in ("1", "0.5,0.5,0"):
        code, _, err = run_cli(capsys, "stylize", "--model", model, "--input", photo, "--output",
                               tmp_path / f"out{style}.png", "--style", style, "--strength", "0.7")
        assert code == 0, err
    code, _, err = run_cli(capsys, "stylize", "--model", model, "--input", photo, "--output", tmp_path / "o.png")
    assert code == 1 and "holds 3 styles: pick one with --style 0..2 or a name (s0, s1, s2)" in err
    code, _, err = run_cli(capsys, "stylize", "--model", model, "--input", photo, "--output", tmp_path / "s2.png",
                           "--style", "s2")  # by its style image's name
    assert code == 0, err
    code, _, err = run_cli(capsys, "stylize", "--model", model, "--input", photo, "--output", tmp_path / "2.png",
                           "--style", "2")
    assert Image.open(tmp_path / "s2.png").tobytes() == Image.open(tmp_path / "2.png").tobytes()
    code, _, err = run_cli(capsys, "stylize", "--model", model, "--input", photo, "--output", tmp_path / "x.png",
                           "--style", "candy")
    assert code == 1 and "--style candy: an index 0..2, a name (s0, s1, s2), or 3 weights" in err
