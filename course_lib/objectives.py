"""The objectives the course optimises, one class per idea.

:class:`PerceptualObjective` is the paper's eq. 5 with the losses of §3,

    λ_c Σ_j ℓ_feat^{φ,j}(ŷ, y_c) + λ_s ℓ_style^{φ}(ŷ, y_s) + λ_TV ℓ_TV(ŷ)  [+ λ_p ℓ_pixel(ŷ, y)],

and serves all three uses: Gatys et al.'s optimisation of one image (:mod:`course_lib.gatys`),
training the style transfer network (§4.1, content target y_c = the input x) and training the
super-resolution network (§4.2: ℓ_feat at relu2_2 against the HR image, or ℓ_pixel alone).
The style image's Gram matrices are computed once and held as buffers, so they move with
``.to(device/dtype)``; the VGG pass stops at the deepest layer a non-zero weight needs.

:class:`Objective` is what :func:`course_lib.train.train` drives: ``losses(model, batch)`` yields
one (optimiser group, loss, parts) per optimiser step, so that one loop also trains the two
players of a GAN (:mod:`course_lib.translation`).
"""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Iterable, Iterator, Mapping

import torch
from torch import nn

from .config import device_of
from .hashing import function_sha256, tensor_sha256
from .hparams import SR_WEIGHTS, STYLE_WEIGHTS, TRANSLATION_VGG_SCALE, LossWeights
from .losses import feature_loss, gram_matrix, pixel_loss, style_loss, tv_loss
from .vgg import CONTENT_LAYERS, STYLE_LAYERS

Parts = dict[str, torch.Tensor]


def _family(loss_net: nn.Module | str | None) -> str:
    name = loss_net if isinstance(loss_net, str) or loss_net is None else loss_net.preprocessing
    return "caffe" if name == "caffe" else "imagenet"


def style_weights(loss_net: nn.Module | str | None) -> LossWeights:
    """The default λ of eq. 5 for style transfer with ``loss_net`` (or its family's name): those
    calibrated to it when it comes from :mod:`course_lib.loss_networks`, else its family's."""
    calibrated = getattr(loss_net, "style_weights", None)
    return calibrated if isinstance(calibrated, LossWeights) else STYLE_WEIGHTS[_family(loss_net)]


def translation_vgg_scale(loss_net: nn.Module | str | None) -> float:
    """What pix2pixHD's λ_VGG is multiplied by for ``loss_net``'s family (see
    :data:`course_lib.hparams.TRANSLATION_VGG_SCALE`)."""
    return TRANSLATION_VGG_SCALE[_family(loss_net)]


def sr_weights(loss: str, loss_net: nn.Module | str | None = None) -> LossWeights:
    """The default λ for super-resolution with ``loss`` (``pixel`` or ``feat``) and ``loss_net``
    (for a network of :mod:`course_lib.loss_networks`, its calibrated λ_c and λ_TV, no style)."""
    if loss not in SR_WEIGHTS:
        raise ValueError(f"loss must be one of {', '.join(SR_WEIGHTS)}, got {loss!r}")
    weights = SR_WEIGHTS[loss]
    calibrated = getattr(loss_net, "style_weights", None)
    if isinstance(weights, LossWeights) or not isinstance(calibrated, LossWeights):
        return weights if isinstance(weights, LossWeights) else weights[_family(loss_net)]
    return replace(calibrated, style=0.0)


class Objective(nn.Module):
    """A training objective for :func:`course_lib.train.train`: one optimiser over the whole
    model by default. Subclasses define :meth:`loss`, or :meth:`groups` and :meth:`losses`
    for several optimisers (a GAN's generator and discriminator)."""

    def groups(self, model: nn.Module) -> dict[str, Iterable[nn.Parameter]]:
        """Optimiser name → the parameters it updates."""
        return {"model": model.parameters()}

    def losses(self, model: nn.Module, batch) -> Iterator[tuple[str, torch.Tensor, Parts]]:
        """Yield (group, loss, weighted parts); the loop backpropagates the loss and steps that
        group's optimiser before asking for the next."""
        loss, parts = self.loss(model, batch)
        yield "model", loss, parts

    def loss(self, model: nn.Module, batch) -> tuple[torch.Tensor, Parts]:
        raise NotImplementedError

    def settings(self) -> dict:
        """What defines the objective, for a run's fingerprint (weights, layers, images' hashes)."""
        return {"objective": type(self).__name__}


class FunctionObjective(Objective):
    """A plain function ``fn(model, batch) → (loss, parts)`` as a training objective, such as a
    student's own; its code and what it uses (:func:`course_lib.hashing.function_sha256`), and
    any ``settings``, are part of the run's fingerprint."""

    def __init__(self, fn, **settings) -> None:
        super().__init__()
        self.fn, self._settings = fn, settings

    def loss(self, model: nn.Module, batch) -> tuple[torch.Tensor, Parts]:
        return self.fn(model, batch)

    def settings(self) -> dict:
        return {"objective": getattr(self.fn, "__qualname__", type(self.fn).__name__),
                "function_sha256": function_sha256(self.fn), **self._settings}


class PerceptualObjective(Objective):
    """Eq. 5 (see the module's docstring). ``loss_net`` may be None when only ℓ_pixel and ℓ_TV
    have weight; ``style`` (1×3×H×W), or its Gram matrices ``style_grams``, are needed when
    λ_s ≠ 0. ``style_layer_weights`` and ``content_layer_weights``: layer → w_j inside ℓ_style
    and inside the content term (default 1 each).

    ``objective(output, targets, reference)`` gives (total, weighted parts) for an image or a
    batch, with ``targets = objective.targets(y)`` the content activations of y (no gradient);
    :meth:`loss` applies it to a network: the input is x and the reference is x itself (style
    transfer); or the batch is the reference y and the input is ``input_transform(y)`` (the
    super-resolution degradation), or the batch is an (input, reference) pair.
    """

    def __init__(self, loss_net: nn.Module | None = None, style: torch.Tensor | None = None,
                 weights: LossWeights | None = None, content_layers: Iterable[str] = CONTENT_LAYERS,
                 style_layers: Iterable[str] = STYLE_LAYERS,
                 style_layer_weights: Mapping[str, float] | None = None,
                 input_transform: nn.Module | None = None,
                 style_grams: Mapping[str, torch.Tensor] | None = None,
                 content_layer_weights: Mapping[str, float] | None = None) -> None:
        super().__init__()
        weights = style_weights(loss_net) if weights is None else weights
        self.weights, self.input_transform = weights, input_transform
        self.content_layers = tuple(content_layers) if weights.content else ()
        self.content_layer_weights = {layer: float((content_layer_weights or {}).get(layer, 1.0))
                                      for layer in self.content_layers}
        self.style_layer_weights = {layer: float((style_layer_weights or {}).get(layer, 1.0))
                                    for layer in style_layers} if weights.style else {}
        self.style_layers = tuple(k for k, w in self.style_layer_weights.items() if w)
        needed = set(self.content_layers) | set(self.style_layers)
        if needed and loss_net is None:
            raise ValueError(f"layers {sorted(needed)} need a loss network; pass loss_net=")
        if loss_net is not None and not needed <= set(loss_net.layers):
            raise ValueError(f"the loss network does not compute layers {sorted(needed - set(loss_net.layers))}")
        self.loss_net = loss_net
        self.style_sha256 = None
        if self.style_layers:
            if style_grams is None:
                if style is None:
                    raise ValueError("a style weight needs a style image; pass style=")
                device = device_of(loss_net)
                with torch.no_grad():
                    feats = loss_net(style.to(device), self.style_layers)
                style_grams = {layer: gram_matrix(feats[layer]) for layer in self.style_layers}
            # the image's pixels when given (the same on every machine; Gram matrices differ in
            # their last bits between CPUs, which would refuse to resume a run elsewhere)
            self.style_sha256 = tensor_sha256(style) if style is not None else \
                tensor_sha256(torch.cat([style_grams[k].flatten() for k in self.style_layers]))
            for layer in self.style_layers:  # buffers: they follow .to(device/dtype)
                self.register_buffer(f"gram_{layer}", style_grams[layer])

    @property
    def grams(self) -> dict[str, torch.Tensor]:
        """Layer → G_j(y_s), the style image's Gram matrices."""
        return {layer: getattr(self, f"gram_{layer}") for layer in self.style_layers}

    def targets(self, reference: torch.Tensor) -> dict[str, torch.Tensor]:
        """φ_j(y) at the content layers, without gradients; the pass stops at the deepest."""
        if not self.content_layers:
            return {}
        with torch.no_grad():
            return self.loss_net(reference, self.content_layers)

    def forward(self, output: torch.Tensor, targets: Mapping[str, torch.Tensor] | None = None,
                reference: torch.Tensor | None = None) -> tuple[torch.Tensor, Parts]:
        w = self.weights
        parts: Parts = {}
        layers = self.content_layers + tuple(k for k in self.style_layers if k not in self.content_layers)
        feats = self.loss_net(output, layers) if layers else {}
        if self.content_layers:
            if targets is None:
                raise ValueError("the content term needs targets=objective.targets(y)")
            parts["content"] = w.content * sum(self.content_layer_weights[k] * feature_loss(feats[k], targets[k])
                                               for k in self.content_layers)
        if self.style_layers:
            parts["style"] = w.style * style_loss(feats, self.grams, self.style_layer_weights)
        if w.pixel:
            if reference is None:
                raise ValueError("the pixel term needs reference=y")
            parts["pixel"] = w.pixel * pixel_loss(output.float(), reference.float())
        if w.tv:
            parts["tv"] = w.tv * tv_loss(output.float())
        if not parts:
            raise ValueError(f"every weight is zero: {w}")
        return sum(parts.values()), parts

    def loss(self, model: nn.Module, batch) -> tuple[torch.Tensor, Parts]:
        if isinstance(batch, (tuple, list)):
            inputs, reference = batch
        else:
            reference = batch
            inputs = batch if self.input_transform is None else self.input_transform(batch)
        targets = self.targets(reference)
        return self(model(inputs), targets, reference)

    def settings(self) -> dict:
        return {"objective": "perceptual", "weights": asdict(self.weights),
                "content_layers": self.content_layer_weights,
                "style_layers": self.style_layer_weights, "style_sha256": self.style_sha256,
                "loss_net": None if self.loss_net is None else self.loss_net.identity,
                "input_transform": None if self.input_transform is None else self.input_transform.settings()}


class MultiStyleObjective(Objective):
    """Eq. 5 for one network of several styles (Dumoulin et al. 2017): each image of a batch is
    given a style drawn at random (from torch's generator, so a resumed run draws the same), the
    network renders it with that style's (γ, β), and ℓ_style compares with that style's Gram
    matrices. Content and TV terms as in :class:`PerceptualObjective`."""

    def __init__(self, loss_net: nn.Module, styles: list[torch.Tensor], weights: LossWeights | None = None,
                 content_layers: Iterable[str] = CONTENT_LAYERS, style_layers: Iterable[str] = STYLE_LAYERS) -> None:
        super().__init__()
        if len(styles) < 2:
            raise ValueError("a multi-style objective needs at least two style images")
        self.each = nn.ModuleList(PerceptualObjective(loss_net, style, weights, content_layers, style_layers)
                                  for style in styles)
        self.eq5 = self.each[0]
        for layer in self.eq5.style_layers:  # S×C×C: one Gram matrix per style, picked per image
            self.register_buffer(f"grams_{layer}", torch.cat([o.grams[layer] for o in self.each]))

    def loss(self, model: nn.Module, batch: torch.Tensor) -> tuple[torch.Tensor, Parts]:
        index = torch.randint(len(self.each), (batch.shape[0],)).to(batch.device)
        eq5, w = self.eq5, self.eq5.weights
        targets = eq5.targets(batch)
        output = model(batch, style=index)
        feats = eq5.loss_net(output, eq5.content_layers + tuple(k for k in eq5.style_layers
                                                                 if k not in eq5.content_layers))
        grams = {layer: getattr(self, f"grams_{layer}")[index] for layer in eq5.style_layers}
        parts = {"content": w.content * sum(eq5.content_layer_weights[k] * feature_loss(feats[k], targets[k])
                                            for k in eq5.content_layers),
                 "style": w.style * style_loss(feats, grams, eq5.style_layer_weights)}
        if w.tv:
            parts["tv"] = w.tv * tv_loss(output.float())
        return sum(parts.values()), parts

    def settings(self) -> dict:
        return {**self.eq5.settings(), "objective": "multi-style",
                "style_sha256": [o.style_sha256 for o in self.each]}
