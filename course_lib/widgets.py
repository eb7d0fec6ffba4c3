"""An ipywidgets panel for Gatys et al. style transfer (notebook 03).

Log-scale sliders set the content, style and TV weights λ_c, λ_s, λ_TV of eq. 5 (starting at
:func:`course_lib.objectives.style_weights`); drop-downs pick the content and style images;
"Run" optimises a few more steps from the current image and updates the preview and the loss
plot in place. Changing an image starts over.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Mapping

import ipywidgets as w
import torch
from PIL import Image

from .gatys import stylize
from .images import load_image, to_pil
from .objectives import LossWeights, style_weights
from .vgg import VGGFeatures

LABELS = {"description_width": "150px"}  # wide enough for "content image", "steps per run"


def _png(picture) -> bytes:
    """PNG bytes of a PIL image or a matplotlib figure."""
    buffer = io.BytesIO()
    if isinstance(picture, Image.Image):
        picture.save(buffer, format="png")
    else:
        picture.savefig(buffer, format="png", dpi=80)
    return buffer.getvalue()


def loss_figure(history: list[dict[str, float]], series: dict[str, str], title: str, ylabel: str = "loss"):
    """A small log-scale figure of ``history``'s ``series`` (key → label) against the step."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4, 3))
    ax = figure.subplots()
    steps = [h["step"] for h in history]
    for key, label in series.items():
        ax.plot(steps, [max(h.get(key, 0.0), 1e-12) for h in history], label=label)
    ax.set(yscale="log", xlabel="step", ylabel=ylabel, title=title)
    ax.legend(fontsize=8)
    figure.tight_layout()
    return figure


class StylePanel:
    """Interactive Gatys optimisation. Display it as the last expression of a cell."""

    def __init__(self, contents: Mapping[str, Path], styles: Mapping[str, Path], loss_net: VGGFeatures,
                 size: int = 128, steps: int = 10, optimizer: str = "lbfgs") -> None:
        self.loss_net, self.size, self.optimizer = loss_net, size, optimizer
        self.paths = {"content": dict(contents), "style": dict(styles)}
        log_slider = dict(base=10, continuous_update=False, readout_format=".1e", style=LABELS,
                          layout=w.Layout(width="420px"))
        d = style_weights(loss_net)  # each slider spans 10⁻³…10³ times the network's default

        def slider(value: float, label: str) -> w.FloatLogSlider:
            exponent = round(math.log10(value))
            return w.FloatLogSlider(value=value, min=exponent - 3, max=exponent + 3, description=label, **log_slider)
        self.content_weight = slider(d.content, "content λ_c")
        self.style_weight = slider(d.style, "style λ_s")
        self.tv_weight = slider(d.tv, "TV λ_TV")
        self.content = w.Dropdown(options=list(contents), description="content image", style=LABELS)
        self.style = w.Dropdown(options=list(styles), description="style image", style=LABELS)
        self.steps = w.IntSlider(value=steps, min=1, max=200, description="steps per run",
                                 continuous_update=False, style=LABELS)
        self.run_button = w.Button(description="Run", button_style="primary", icon="play")
        self.reset_button = w.Button(description="Start over", icon="undo")
        self.preview = w.Image(format="png", width=size * 2)
        self.plot = w.Image(format="png", layout=w.Layout(display="none"))  # shown after the first run
        self.log = w.Output()
        self.image: torch.Tensor | None = None
        self.history: list[dict[str, float]] = []
        self.run_button.on_click(self.log.capture()(lambda _: self.run()))
        self.reset_button.on_click(self.log.capture()(lambda _: self.reset()))
        self.content.observe(lambda _: self.reset(), "value")
        self.style.observe(lambda _: self.reset(), "value")
        self.widget = w.VBox([
            w.HBox([w.VBox([self.content, self.style]),
                    w.VBox([self.content_weight, self.style_weight, self.tv_weight])]),
            w.HBox([self.steps, self.run_button, self.reset_button]),
            w.HBox([self.preview, self.plot]), self.log])
        self.reset()

    def _load(self, kind: str, name: str) -> torch.Tensor:
        return load_image(self.paths[kind][name], size=self.size)

    def weights(self) -> LossWeights:
        """The weights the sliders show."""
        return LossWeights(content=self.content_weight.value, style=self.style_weight.value,
                           tv=self.tv_weight.value)

    def reset(self) -> None:
        """Forget the optimised image and its history; show the content image."""
        self.image, self.history = None, []
        self.preview.value = _png(to_pil(self._load("content", self.content.value)))
        self.plot.layout.display = "none"

    def run(self, steps: int | None = None) -> None:
        """Optimise ``steps`` (default: the slider) more steps with the current weights."""
        content = self._load("content", self.content.value)
        style = self._load("style", self.style.value)
        self.image, history = stylize(
            content, style, loss_net=self.loss_net, weights=self.weights(),
            steps=steps or self.steps.value, optimizer=self.optimizer,
            init=self.image if self.image is not None else "content", progress=False)
        offset = len(self.history)
        self.history += [{**h, "step": h["step"] + offset} for h in history]
        self.preview.value = _png(to_pil(self.image))
        self.plot.value = _png(self._loss_figure())
        self.plot.layout.display = None

    def _loss_figure(self):
        return loss_figure(self.history, {k: k for k in ("total", "content", "style", "tv")},
                           "Gatys objective (eq. 5)", "weighted loss")

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


class TranslationPanel:
    """pix2pix's two weights on a small pre-trained run (notebook 6): log sliders for λ_L1 and
    λ_GAN; "Train" runs a few more steps of the course's training loop from the current weights
    with those λ, then shows the translation of a held-out input and both players' losses."""

    def __init__(self, model, dataset, test_input: torch.Tensor, steps: int = 10, batch_size: int = 4) -> None:
        import copy

        from .translation import PIX2PIX

        self.original, self.dataset, self.test_input = model, dataset, test_input
        self.model = copy.deepcopy(model)
        self.batch_size = batch_size
        log_slider = dict(base=10, continuous_update=False, readout_format=".1e", style=LABELS,
                          layout=w.Layout(width="420px"))
        self.l1 = w.FloatLogSlider(value=PIX2PIX.l1, min=-1, max=3, description="L1 λ_L1", **log_slider)
        self.gan = w.FloatLogSlider(value=PIX2PIX.gan, min=-2, max=2, description="adversarial λ_GAN", **log_slider)
        self.steps = w.IntSlider(value=steps, min=1, max=200, description="steps per run",
                                 continuous_update=False, style=LABELS)
        self.run_button = w.Button(description="Train", button_style="primary", icon="play")
        self.reset_button = w.Button(description="Start over", icon="undo")
        self.preview = w.Image(format="png", width=256)
        self.plot = w.Image(format="png", layout=w.Layout(display="none"))
        self.log = w.Output()
        self.history: list[dict[str, float]] = []
        self.run_button.on_click(self.log.capture()(lambda _: self.run()))
        self.reset_button.on_click(self.log.capture()(lambda _: self.reset()))
        self.widget = w.VBox([w.HBox([self.l1, self.gan]), w.HBox([self.steps, self.run_button, self.reset_button]),
                              w.HBox([self.preview, self.plot]), self.log])
        self.reset()

    def _show(self) -> None:
        device = next(self.model.parameters()).device
        with torch.no_grad():
            out = self.model.eval()(self.test_input.to(device)).float().cpu()
        self.preview.value = _png(to_pil(torch.cat([self.test_input.cpu(), out], dim=-1)))

    def reset(self) -> None:
        """Back to the pre-trained weights."""
        self.model.load_state_dict(self.original.state_dict())
        self.history = []
        self._show()
        self.plot.layout.display = "none"

    def run(self, steps: int | None = None) -> None:
        """Train ``steps`` (default: the slider) more steps with the sliders' weights."""
        import tempfile

        from .train import TrainConfig, train
        from .translation import Pix2PixObjective, TranslationWeights

        objective = Pix2PixObjective(TranslationWeights(gan=self.gan.value, l1=self.l1.value))
        config = TrainConfig(steps=steps or self.steps.value, batch_size=self.batch_size, lr=2e-4,
                             betas=(0.5, 0.999), log_every=1, checkpoint_every=10**9, num_workers=0,
                             seed=len(self.history))
        with tempfile.TemporaryDirectory() as folder:
            history = train(self.model, objective, self.dataset, folder, config,
                            device=next(self.model.parameters()).device)
        offset = len(self.history)
        self.history += [{**h, "step": h["step"] + offset} for h in history]
        self._show()
        self.plot.value = _png(self._loss_figure())
        self.plot.layout.display = None

    def _loss_figure(self):
        return loss_figure(self.history, {"generator_total": "generator", "D": "discriminator"}, "both players")

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
