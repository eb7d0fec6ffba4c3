"""An ipywidgets panel for Gatys et al. style transfer (notebook 03).

Log-scale sliders set the content, style and TV weights λ_c, λ_s, λ_TV of eq. 5; drop-downs pick
the content and style images; "Run" optimises a few more steps from the current image and
updates the preview and the loss plot in place. Changing an image starts over.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Mapping

import ipywidgets as w
import torch
from PIL import Image

from .gatys import stylize
from .images import load_image, to_pil
from .vgg import VGGFeatures


def _png(picture) -> bytes:
    """PNG bytes of a PIL image or a matplotlib figure."""
    buffer = io.BytesIO()
    if isinstance(picture, Image.Image):
        picture.save(buffer, format="png")
    else:
        picture.savefig(buffer, format="png", dpi=80)
    return buffer.getvalue()


class StylePanel:
    """Interactive Gatys optimisation. Display it as the last expression of a cell."""

    def __init__(self, contents: Mapping[str, Path], styles: Mapping[str, Path], loss_net: VGGFeatures,
                 size: int = 128, steps: int = 10, optimizer: str = "lbfgs") -> None:
        self.loss_net, self.size, self.optimizer = loss_net, size, optimizer
        self.paths = {"content": dict(contents), "style": dict(styles)}
        log_slider = dict(base=10, continuous_update=False, readout_format=".1e",
                          style={"description_width": "110px"})
        self.content_weight = w.FloatLogSlider(value=1.0, min=-3, max=3, description="content λ_c", **log_slider)
        self.style_weight = w.FloatLogSlider(value=5.0, min=-2, max=5, description="style λ_s", **log_slider)
        self.tv_weight = w.FloatLogSlider(value=1e-5, min=-8, max=0, description="TV λ_TV", **log_slider)
        self.content = w.Dropdown(options=list(contents), description="content image")
        self.style = w.Dropdown(options=list(styles), description="style image")
        self.steps = w.IntSlider(value=steps, min=1, max=200, description="steps per run",
                                 continuous_update=False)
        self.run_button = w.Button(description="Run", button_style="primary", icon="play")
        self.reset_button = w.Button(description="Start over", icon="undo")
        self.preview = w.Image(format="png", width=size * 2)
        self.plot = w.Image(format="png")
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

    def reset(self) -> None:
        """Forget the optimised image and its history; show the content image."""
        self.image, self.history = None, []
        self.preview.value = _png(to_pil(self._load("content", self.content.value)))
        self.plot.value = b""

    def run(self, steps: int | None = None) -> None:
        """Optimise ``steps`` (default: the slider) more steps with the current weights."""
        content = self._load("content", self.content.value)
        style = self._load("style", self.style.value)
        self.image, history = stylize(
            content, style, loss_net=self.loss_net, content_weight=self.content_weight.value,
            style_weight=self.style_weight.value, tv_weight=self.tv_weight.value,
            steps=steps or self.steps.value, optimizer=self.optimizer,
            init=self.image if self.image is not None else "content", progress=False)
        offset = len(self.history)
        self.history += [{**h, "step": h["step"] + offset} for h in history]
        self.preview.value = _png(to_pil(self.image))
        self.plot.value = _png(self._loss_figure())

    def _loss_figure(self):
        from matplotlib.figure import Figure

        figure = Figure(figsize=(4, 3))
        ax = figure.subplots()
        steps = [h["step"] for h in self.history]
        for key in ("total", "content", "style", "tv"):
            ax.plot(steps, [max(h[key], 1e-12) for h in self.history], label=key)
        ax.set(yscale="log", xlabel="step", ylabel="weighted loss")
        ax.legend(fontsize=8)
        figure.tight_layout()
        return figure

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
