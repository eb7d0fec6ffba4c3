"""The Gatys panel, driven without a browser: set sliders, click, look at the result."""

import pytest
from PIL import Image

from course_lib.widgets import StylePanel


@pytest.fixture
def panel(tmp_path, random_vgg):
    import numpy as np

    rng = np.random.default_rng(0)
    paths = {}
    for name in ("cat", "dog", "waves"):
        paths[name] = tmp_path / f"{name}.png"
        Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(paths[name])
    return StylePanel({"cat": paths["cat"], "dog": paths["dog"]}, {"waves": paths["waves"]},
                      loss_net=random_vgg, size=32, steps=3)


def test_click_runs_steps_and_updates_preview_and_plot(panel):
    before = panel.preview.value
    assert before and panel.plot.layout.display == "none"  # no broken-image icon before the first run
    panel.style_weight.value = 100.0
    panel.tv_weight.value = 1e-3
    panel.run_button.click()
    assert panel.log.outputs == ()  # nothing printed by the callback: no error, no warning
    assert len(panel.history) == 3
    assert panel.preview.value != before and bytes(panel.plot.value).startswith(b"\x89PNG")
    assert panel.plot.layout.display is None
    plot = panel.plot.value
    panel.steps.value = 2
    panel.run_button.click()
    assert [h["step"] for h in panel.history] == [1, 2, 3, 4, 5]
    assert panel.plot.value != plot


def test_weights_reach_the_objective(panel):
    panel.content_weight.value = 0.001
    panel.run_button.click()
    small = panel.history[-1]["content"]
    panel.reset_button.click()
    panel.content_weight.value = 1000.0
    panel.run_button.click()
    assert len(panel.history) == 3  # reset started over
    assert panel.history[-1]["content"] > small


def test_sliders_start_at_the_loss_networks_defaults(panel):
    from course_lib.objectives import style_weights

    d = style_weights(panel.loss_net)
    assert (panel.content_weight.value, panel.style_weight.value, panel.tv_weight.value) == \
        pytest.approx((d.content, d.style, d.tv))
    assert 10 ** panel.style_weight.min < d.style < 10 ** panel.style_weight.max


def test_changing_the_image_starts_over(panel):
    panel.run_button.click()
    panel.content.value = "dog"
    assert panel.history == [] and panel.image is None


def test_translation_panel_trains_with_the_sliders_weights(tmp_path):
    import numpy as np
    import torch

    from course_lib.architectures import build
    from course_lib.translation import PairedDataset
    from course_lib.widgets import TranslationPanel

    rng = np.random.default_rng(0)
    for i in range(2):
        Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(tmp_path / f"{i}.png")
    torch.manual_seed(0)
    model = build("pix2pix", width=4, depth=5, d_width=4)
    dataset = PairedDataset(sorted(tmp_path.glob("*.png")), crop=32, task="colorize")
    panel = TranslationPanel(model, dataset, dataset[(0, 0)][0].unsqueeze(0), steps=2, batch_size=2)
    before = panel.preview.value
    panel.gan.value = 0.5
    panel.run_button.click()
    assert len(panel.history) == 2 and "D" in panel.history[-1] and panel.preview.value != before
    assert panel.plot.layout.display is None
    panel.reset_button.click()
    assert panel.history == [] and panel.preview.value == before
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), panel.original.state_dict().values()))


def test_style_mixer_mixes_normalisation_parameters_not_pixels():
    import torch

    from course_lib.architectures import build
    from course_lib.widgets import StyleMixer

    torch.manual_seed(0)
    model = build("style", styles=3, width=4, blocks=1)
    with torch.no_grad():  # styles that differ: random (γ, β) per style
        for p in model.parameters():
            if p.dim() == 2:
                p.add_(torch.randn_like(p))
    photo = torch.rand(1, 3, 16, 16)
    mixer = StyleMixer(model, photo, ["a", "b", "c"])
    first = mixer.preview.value
    a, b = (model(photo, style=i).detach() for i in (0, 1))
    mixer.b.value = 1
    mixer.mix.value = 0.5
    assert mixer.log.outputs == () and mixer.preview.value != first
    half = mixer.render()
    assert torch.allclose(half, model(photo, style=torch.tensor([0.5, 0.5, 0.0])), atol=1e-6)
    assert not torch.allclose(half, (a + b) / 2, atol=1e-3)  # not a blend of the two pictures
    mixer.strength.value = 0.0
    plain = model(photo, style=2, strength=0.0)  # strength 0: the same for every style
    assert torch.allclose(mixer.render(), plain, atol=1e-6)
