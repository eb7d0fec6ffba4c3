"""ipywidgets panels: Gatys et al.'s style transfer with the weights of eq. 5 on log sliders
(notebook 3), pix2pix's two weights on a small pre-trained run (notebook 6), and a network of
several styles mixed and weakened by sliders (notebook 7, :class:`StyleMixer`).

The first two share :class:`Panel`: a "Run" button that computes a few more steps from where the
last run stopped and updates a preview and a loss plot in place, "Start over", and an output
area that shows a callback's errors (JupyterLab hides them otherwise).
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import ipywidgets as w
import torch
from PIL import Image

from .config import device_of
from .gatys import stylize
from .hparams import PIX2PIX, LossWeights, TranslationWeights
from .images import load_image, to_pil
from .objectives import style_weights
from .plots import loss_curves
from .vgg import VGGFeatures

LABELS = {"description_width": "150px"}  # wide enough for "content image", "steps per run"
LOG_SLIDER = dict(base=10, continuous_update=False, readout_format=".1e", style=LABELS, layout=w.Layout(width="420px"))


def _png(picture) -> bytes:
    """PNG bytes of a PIL image or a matplotlib figure."""
    buffer = io.BytesIO()
    if isinstance(picture, Image.Image):
        picture.save(buffer, format="png")
    else:
        picture.savefig(buffer, format="png", dpi=80)
    return buffer.getvalue()


def loss_figure(history: list[dict[str, float]], series: Mapping[str, str], title: str, ylabel: str = "loss"):
    """A small log-scale figure of ``history``'s ``series`` (key → label) against the step
    (:func:`course_lib.plots.loss_curves` on a figure of its own, outside pyplot's state)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4, 3))
    loss_curves({"": history}, series, title=title, ylabel=ylabel, ax=figure.subplots(), labels=series)
    figure.tight_layout()
    return figure


class Panel:
    """What both panels share: ``controls`` (rows of widgets) above a steps slider and the Run
    and Start over buttons, a preview and a loss plot. Subclasses define :meth:`run`,
    :meth:`reset`, and ``series``/``title``/``ylabel`` of the plot."""

    series: Mapping[str, str] = {"total": "total"}
    title, ylabel = "", "loss"

    def __init__(self, controls: list, steps: int, preview_width: int, run_label: str = "Run") -> None:
        self.steps = w.IntSlider(value=steps, min=1, max=200, description="steps per run",
                                 continuous_update=False, style=LABELS)
        self.run_button = w.Button(description=run_label, button_style="primary", icon="play")
        self.reset_button = w.Button(description="Start over", icon="undo")
        self.preview = w.Image(format="png", width=preview_width)
        self.plot = w.Image(format="png", layout=w.Layout(display="none"))  # shown after the first run
        self.log = w.Output()
        self.history: list[dict[str, float]] = []
        self.run_button.on_click(self.log.capture()(lambda _: self.run()))
        self.reset_button.on_click(self.log.capture()(lambda _: self.reset()))
        self.widget = w.VBox([*controls, w.HBox([self.steps, self.run_button, self.reset_button]),
                              w.HBox([self.preview, self.plot]), self.log])

    def run(self, steps: int | None = None) -> None:
        raise NotImplementedError

    def reset(self) -> None:
        raise NotImplementedError

    def _record(self, history: list[dict[str, float]]) -> None:
        """Append a run's history (its steps counted on from the last run's) and redraw the plot."""
        offset = len(self.history)
        self.history += [{**h, "step": h["step"] + offset} for h in history]
        self.plot.value = _png(loss_figure(self.history, self.series, self.title, self.ylabel))
        self.plot.layout.display = None

    def _clear(self) -> None:
        self.history = []
        self.plot.layout.display = "none"

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


class StylePanel(Panel):
    """Interactive Gatys optimisation: log sliders for λ_c, λ_s, λ_TV (starting at the loss
    network's :func:`course_lib.objectives.style_weights`), drop-downs for the images; changing
    an image starts over. Display it as the last expression of a cell."""

    series = {k: k for k in ("total", "content", "style", "tv")}
    title, ylabel = "Gatys objective (eq. 5)", "weighted loss"

    def __init__(self, contents: Mapping[str, Path], styles: Mapping[str, Path], loss_net: VGGFeatures,
                 size: int = 128, steps: int = 10, optimizer: str = "lbfgs") -> None:
        self.loss_net, self.size, self.optimizer = loss_net, size, optimizer
        self.paths = {"content": dict(contents), "style": dict(styles)}
        d = style_weights(loss_net)  # each slider spans 10⁻³…10³ times the network's default

        def slider(value: float, label: str) -> w.FloatLogSlider:
            exponent = round(math.log10(value))
            return w.FloatLogSlider(value=value, min=exponent - 3, max=exponent + 3, description=label, **LOG_SLIDER)
        self.content_weight = slider(d.content, "content λ_c")
        self.style_weight = slider(d.style, "style λ_s")
        self.tv_weight = slider(d.tv, "TV λ_TV")
        self.content = w.Dropdown(options=list(contents), description="content image", style=LABELS)
        self.style = w.Dropdown(options=list(styles), description="style image", style=LABELS)
        self.image: torch.Tensor | None = None
        super().__init__([w.HBox([w.VBox([self.content, self.style]),
                                  w.VBox([self.content_weight, self.style_weight, self.tv_weight])])],
                         steps, preview_width=size * 2)
        self.content.observe(lambda _: self.reset(), "value")
        self.style.observe(lambda _: self.reset(), "value")
        self.reset()

    def _load(self, kind: str, name: str) -> torch.Tensor:
        return load_image(self.paths[kind][name], size=self.size)

    def weights(self) -> LossWeights:
        """The weights the sliders show."""
        return LossWeights(content=self.content_weight.value, style=self.style_weight.value,
                           tv=self.tv_weight.value)

    def reset(self) -> None:
        """Forget the optimised image and its history; show the content image."""
        self.image = None
        self._clear()
        self.preview.value = _png(to_pil(self._load("content", self.content.value)))

    def run(self, steps: int | None = None) -> None:
        """Optimise ``steps`` (default: the slider) more steps with the current weights."""
        content = self._load("content", self.content.value)
        style = self._load("style", self.style.value)
        self.image, history = stylize(
            content, style, loss_net=self.loss_net, weights=self.weights(),
            steps=steps or self.steps.value, optimizer=self.optimizer,
            init=self.image if self.image is not None else "content", progress=False)
        self.preview.value = _png(to_pil(self.image))
        self._record(history)


class TranslationPanel(Panel):
    """pix2pix's two weights on a small pre-trained run (notebook 6): log sliders for λ_L1 and
    λ_GAN; "Train" runs a few more steps of the course's training loop from the current weights
    with those λ, then shows the translation of a held-out input and both players' losses."""

    series = {"generator_total": "generator", "D": "discriminator"}
    title = "both players"

    def __init__(self, model, dataset, test_input: torch.Tensor, steps: int = 10, batch_size: int = 4) -> None:
        import copy

        self.original, self.dataset, self.test_input = model, dataset, test_input
        self.model = copy.deepcopy(model)
        self.batch_size = batch_size
        self.l1 = w.FloatLogSlider(value=PIX2PIX.course.l1, min=-1, max=3, description="L1 λ_L1", **LOG_SLIDER)
        self.gan = w.FloatLogSlider(value=PIX2PIX.course.gan, min=-2, max=2, description="adversarial λ_GAN",
                                    **LOG_SLIDER)
        super().__init__([w.HBox([self.l1, self.gan])], steps, preview_width=256, run_label="Train")
        self.reset()

    def _show(self) -> None:
        device = device_of(self.model)
        with torch.no_grad():
            out = self.model.eval()(self.test_input.to(device)).float().cpu()
        self.preview.value = _png(to_pil(torch.cat([self.test_input.cpu(), out], dim=-1)))

    def reset(self) -> None:
        """Back to the pre-trained weights."""
        self.model.load_state_dict(self.original.state_dict())
        self._clear()
        self._show()

    def run(self, steps: int | None = None) -> None:
        """Train ``steps`` (default: the slider) more steps with the sliders' weights."""
        import tempfile

        from .runs import TrainConfig
        from .train import train
        from .translation import Pix2PixObjective

        objective = Pix2PixObjective(TranslationWeights(gan=self.gan.value, l1=self.l1.value))
        schedule = replace(PIX2PIX.course, steps=steps or self.steps.value, batch_size=self.batch_size)
        config = TrainConfig.of(schedule, log_every=1, checkpoint_every=10**9, num_workers=0, seed=len(self.history))
        with tempfile.TemporaryDirectory() as folder:
            history = train(self.model, objective, self.dataset, folder, config,
                            device=device_of(self.model))
        self._show()
        self._record(history)


class StyleMixer:
    """A network of several styles under two sliders (notebook 7; Dumoulin et al. 2017): styles A
    and B from drop-downs, "A → B" mixes their (γ, β) (0: A, 1: B; not a blend of pixels), and
    "strength" moves the mixture towards the identity normalisation (0: no style; see
    :func:`course_lib.networks.style_parameters`). One pass per change re-draws the preview."""

    def __init__(self, model: torch.nn.Module, photo: torch.Tensor, names: list[str], width: int = 320) -> None:
        self.model, self.photo = model.eval(), photo
        options = [(name, i) for i, name in enumerate(names)]
        self.a = w.Dropdown(options=options, value=0, description="style A", style=LABELS)
        self.b = w.Dropdown(options=options, value=min(1, len(names) - 1), description="style B", style=LABELS)
        slider = dict(min=0.0, max=1.0, step=0.05, continuous_update=False, style=LABELS)
        self.mix = w.FloatSlider(value=0.0, description="A → B", **slider)
        self.strength = w.FloatSlider(value=1.0, description="strength", **slider)
        self.preview = w.Image(format="png", width=width)
        self.log = w.Output()
        for control in (self.a, self.b, self.mix, self.strength):
            control.observe(self.log.capture()(lambda _: self.render()), names="value")
        self.widget = w.VBox([w.HBox([self.a, self.b]), self.mix, self.strength, self.preview, self.log])
        self.render()

    def weights(self) -> torch.Tensor:
        """The controls' weights over the styles (they sum to 1)."""
        mix = torch.zeros(len(self.a.options))
        mix[self.a.value] += 1 - self.mix.value
        mix[self.b.value] += self.mix.value
        return mix

    def render(self) -> torch.Tensor:
        """Stylise the photo with the controls' settings, show it, and return it."""
        with torch.no_grad():
            out = self.model(self.photo, style=self.weights().to(self.photo.device), strength=self.strength.value)
        self.preview.value = _png(to_pil(out.float().cpu()))
        return out

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
