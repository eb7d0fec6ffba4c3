"""Check cells for the notebooks' exercises, with hints for the usual mistakes.

Each exercise is followed by ``f = check("name", f)``. The check runs the student's function
and course_lib's on fresh inputs, compares them (CS231n's relative error,
max|x − y| / max(1e-8, |x| + |y|)), and prints PASS, or FAIL with a targeted hint when the
answer matches a known mistake (a Gram matrix normalised by H·W, a summed loss, TV along one
axis, a missing ImageNet normalisation, a transposed Gram matrix, an in-place operation that
breaks autograd, …). It returns the function the rest of the notebook should use: the
student's when it passes, otherwise course_lib's, so that an unfinished exercise never breaks
the cells after it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

import torch
import torch.nn.functional as F

from . import losses
from .caffe_vgg import MEAN_BGR

Fn = TypeVar("Fn", bound=Callable)


def relative_error(x: torch.Tensor, y: torch.Tensor) -> float:
    x = torch.as_tensor(x).detach().to(torch.float64)
    y = torch.as_tensor(y).detach().to(torch.float64)
    return float(((x - y).abs() / (x.abs() + y.abs()).clamp_min(1e-8)).max())


@dataclass
class Exercise:
    """What ``check`` knows about one exercise: the reference, how to make inputs, and known
    mistakes as (what the mistaken code returns, the hint to print)."""

    reference: Callable
    inputs: Callable[[], tuple] = tuple
    mistakes: list[tuple[Callable, str]] = field(default_factory=list)
    threshold: float = 1e-5
    compare: Callable[[Any], Any] = lambda result: result  # what of the result to compare
    run: Callable[[Callable], Any] | None = None  # for functions that need a harness (closures, steps)


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _features(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(*shape, generator=_gen(seed))


def _gram_mistakes():
    def scaled(factor: Callable[[torch.Tensor], float]):
        return lambda f: losses.gram_matrix(f) * factor(f)
    return [
        (scaled(lambda f: f.shape[1]), "your Gram matrix is C times too large: normalise by C·H·W (eq. 3), "
                                       "not only by H·W"),
        (scaled(lambda f: f.shape[1] * f.shape[2] * f.shape[3]),
         "your Gram matrix is not normalised: divide ψψᵀ by C·H·W (eq. 3), so that it does not grow "
         "with the image size"),
        (lambda f: torch.bmm(f.flatten(2).transpose(1, 2), f.flatten(2)) / f[0].numel(),
         "you computed ψᵀψ, an (H·W)×(H·W) matrix of positions; the Gram matrix is C×C: ψψᵀ, with ψ "
         "of shape C×(H·W)"),
    ]


def _mean_sq_mistakes(name: str):
    return [(lambda a, b: ((a - b) ** 2).sum(), f"your {name} sums the squared differences; the paper "
                                               f"divides by C·H·W (and the course averages over the batch): "
                                               f"use .mean()"),
            (lambda a, b: ((a - b) ** 2).sum() / a.shape[0], f"your {name} is the sum per image; divide by "
                                                             f"C·H·W as well: .mean() over every element"),
            (lambda a, b: (a - b).abs().mean(), f"your {name} uses absolute differences (ℓ1); the paper's "
                                                f"is squared (ℓ2)")]


def _tv_one_axis(images: torch.Tensor, dim: int) -> torch.Tensor:
    d = images.diff(dim=dim)
    return d.pow(2).sum(dim=(1, 2, 3)).mean()


def caffe_preprocess(images: torch.Tensor) -> torch.Tensor:
    """The paper's network's input (the Caffe VGG-16): RGB → BGR, values 0–255, the mean pixel
    (B, G, R) = (103.939, 116.779, 123.68) subtracted, no division by a standard deviation:
    what :class:`course_lib.vgg.VGGFeatures` does to every input with ``weights="caffe"``."""
    return images.flip(1) * 255 - images.new_tensor(MEAN_BGR).view(1, 3, 1, 1)


def _preprocess_mistakes():
    mean = torch.tensor(MEAN_BGR).view(1, 3, 1, 1)
    return [(lambda x: x, "the images are not preprocessed: the Caffe VGG-16 was trained on BGR values in 0-255 "
                          "minus the mean pixel, and its features are meaningless without it"),
            (lambda x: x * 255 - mean, "the channels are still in RGB order: flip them to BGR (x.flip(1)) first"),
            (lambda x: x.flip(1) - mean / 255, "the values stay in [0, 1]: the Caffe network saw 0-255, so multiply "
                                              "by 255 before subtracting the mean"),
            (lambda x: x.flip(1) * 255 - mean.flip(1), "the mean is in RGB order: (103.939, 116.779, 123.68) is "
                                                      "(B, G, R), the order of the flipped channels"),
            (lambda x: x.flip(1) * 255, "the mean pixel is not subtracted")]


def _style_inputs():
    feats = {"relu1_2": _features(2, 4, 6, 6, seed=1), "relu2_2": _features(2, 8, 3, 3, seed=2)}
    grams = {"relu1_2": _features(1, 4, 4, seed=3), "relu2_2": _features(1, 8, 8, seed=4)}
    return feats, grams


def _psnr_reference(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return 10 * torch.log10(255.0 ** 2 / F.mse_loss(a.double(), b.double()))


EXERCISES: dict[str, Exercise] = {
    "pixel_loss": Exercise(losses.pixel_loss, lambda: (_features(2, 3, 8, 8, seed=1), _features(2, 3, 8, 8, seed=2)),
                           _mean_sq_mistakes("pixel loss")),
    "psnr": Exercise(_psnr_reference, lambda: (_features(20, 20, seed=1) * 255, _features(20, 20, seed=2) * 255),
                     [(lambda a, b: 20 * torch.log10(255.0 ** 2 / F.mse_loss(a, b)),
                       "20·log10 is for amplitudes; PSNR with the squared peak 255² over the MSE takes 10·log10"),
                      (lambda a, b: 10 * torch.log10(1.0 / F.mse_loss(a, b)),
                       "the images are in 0–255 here: the peak is 255, so the ratio is 255² / MSE")],
                     threshold=1e-4),
    "feature_loss": Exercise(losses.feature_loss, lambda: (_features(2, 8, 5, 5, seed=1), _features(2, 8, 5, 5, seed=2)),
                             _mean_sq_mistakes("feature loss")),
    "gram_matrix": Exercise(losses.gram_matrix, lambda: (_features(2, 4, 3, 5, seed=1),), _gram_mistakes()),
    "style_loss": Exercise(losses.style_loss, _style_inputs,
                           [(lambda f, g: sum(F.mse_loss(losses.gram_matrix(f[k]), g[k].expand(2, -1, -1))
                                              for k in g),
                             "you averaged the squared differences of the Gram matrices; ℓ_style is their squared "
                             "Frobenius norm: .sum() over the C×C entries, then the mean over the batch"),
                            (lambda f, g: sum((losses.gram_matrix(f[k]) - g[k]).norm(dim=(1, 2)).mean() for k in g),
                             "the Frobenius norm is squared in ℓ_style: ‖G(ŷ) − G(y)‖²_F, the sum of squared entries")]),
    "caffe_preprocess": Exercise(caffe_preprocess, lambda: (_features(2, 3, 6, 6, seed=1).sigmoid(),),
                                 _preprocess_mistakes()),
    "tv_loss": Exercise(losses.tv_loss, lambda: (_features(2, 3, 7, 9, seed=1),),
                        [(lambda x: _tv_one_axis(x, -1), "your TV has only the horizontal differences; add the "
                                                         "vertical ones, x[..., 1:, :] − x[..., :-1, :]"),
                         (lambda x: _tv_one_axis(x, -2), "your TV has only the vertical differences; add the "
                                                         "horizontal ones, x[..., :, 1:] − x[..., :, :-1]"),
                         (lambda x: (x.diff(dim=-1).abs().sum((1, 2, 3)) + x.diff(dim=-2).abs().sum((1, 2, 3))).mean(),
                          "the course's ℓ_TV squares the differences (absolute values give the ℓ1 TV)")]),
}


def register(name: str, exercise: Exercise) -> None:
    """Add an exercise (for a notebook's own objects, e.g. a network block)."""
    EXERCISES[name] = exercise


def _outcome(function: Callable, inputs: tuple):
    """(result, error message) of ``function(*inputs)``, with autograd exercised: tensor inputs
    that can require gradients do, and the result is backpropagated."""
    try:
        result = function(*inputs)
        if isinstance(result, torch.Tensor) and result.requires_grad:
            result.sum().backward()
        return result, None
    except NotImplementedError:
        raise
    except RuntimeError as err:
        text = str(err)
        if "inplace" in text or "in-place" in text:
            return None, ("an in-place operation (x -= …, x += …, x.add_(…), x[...] = …) changed a tensor that "
                          "autograd needs for the backward pass; write a new tensor instead: x = x - …")
        return None, f"it raised RuntimeError: {text.splitlines()[0]}"
    except Exception as err:  # a student's bug must not stop the notebook
        return None, f"it raised {type(err).__name__}: {err}"


def _with_grad(inputs: tuple) -> tuple:
    def prepare(x):
        if isinstance(x, torch.Tensor) and x.is_floating_point():
            return x.clone().requires_grad_(True)
        if isinstance(x, dict):
            return {k: prepare(v) for k, v in x.items()}
        return x
    return tuple(prepare(x) for x in inputs)


def _snapshot(inputs: tuple) -> list[torch.Tensor]:
    out = []
    for x in inputs:
        if isinstance(x, torch.Tensor):
            out.append(x.detach().clone())
        elif isinstance(x, dict):
            out += [v.detach().clone() for v in x.values() if isinstance(v, torch.Tensor)]
    return out


def loss_and_parts(result) -> dict[str, torch.Tensor]:
    """An objective's (total, parts) as ``{"total": …, "<part>": …}``, so that a check compares
    every weighted term by its name, not only the sum; a wrong structure is named."""
    if not (isinstance(result, (tuple, list)) and len(result) == 2 and isinstance(result[1], dict)):
        raise ValueError(f"expected (total, parts) with parts a dict of named terms, got a {type(result).__name__}")
    total, parts = result
    if not isinstance(total, torch.Tensor) or total.numel() != 1:
        raise ValueError(f"the total must be a one-number tensor (to backpropagate), got {type(total).__name__}")
    return {"total": total, **{str(k): v for k, v in parts.items()}}


def _same(got, want, threshold: float) -> bool:
    if isinstance(want, dict):
        return isinstance(got, dict) and set(got) == set(want) and \
            all(_same(got[k], want[k], threshold) for k in want)
    got_t, want_t = torch.as_tensor(got), torch.as_tensor(want)
    return got_t.shape == want_t.shape and relative_error(got_t, want_t) <= threshold


def _detached(result):
    return result.detach() if isinstance(result, torch.Tensor) else result


def _verdict(name: str, got, exercise: Exercise, outcome_of: Callable[[Callable], Any]) -> bool:
    """Print PASS, or FAIL with the hint of the mistake ``got`` matches; True on PASS. (Not under
    no_grad: a harness may train.)"""
    want = _detached(exercise.compare(outcome_of(exercise.reference)))
    got = _detached(exercise.compare(got))
    if _same(got, want, exercise.threshold):
        error = max(float(relative_error(got[k], want[k])) for k in want) if isinstance(want, dict) else \
            float(relative_error(got, want))
        print(f"{name}: PASS (relative error {error:.1e})")
        return True
    for mistake, hint in exercise.mistakes:
        try:
            if _same(got, _detached(exercise.compare(outcome_of(mistake))), 1e-4):
                print(f"{name}: FAIL, {hint}. Using course_lib's version.")
                return False
        except Exception:
            continue
    if isinstance(want, dict):
        if not isinstance(got, dict) or set(got) != set(want):
            print(f"{name}: FAIL, the parts are named {sorted(got) if isinstance(got, dict) else got!r} but "
                  f"expected {sorted(want)}. Using course_lib's version.")
        else:
            worst = max(want, key=lambda k: float(relative_error(torch.as_tensor(got[k]), torch.as_tensor(want[k]))))
            print(f"{name}: FAIL, {worst!r} is {float(got[worst]):.6g} but expected {float(want[worst]):.6g} "
                  f"(relative error {float(relative_error(got[worst], want[worst])):.1e}). Using course_lib's version.")
        return False
    got_t, want_t = torch.as_tensor(got), torch.as_tensor(want)
    if got_t.shape != want_t.shape:
        print(f"{name}: FAIL, shape {tuple(got_t.shape)} but expected {tuple(want_t.shape)}. "
              f"Using course_lib's version.")
    else:
        print(f"{name}: FAIL, relative error {relative_error(got_t, want_t):.1e} > {exercise.threshold:.0e}. "
              f"Using course_lib's version.")
    return False


def check(name: str, candidate: Fn, *inputs, exercise: Exercise | None = None) -> Fn:
    """Run ``candidate`` and the reference of exercise ``name`` (or ``exercise``) the same way;
    print the verdict and a hint; return the function the notebook should use from here on."""
    exercise = exercise or EXERCISES[name]
    try:
        if exercise.run is not None:
            got, problem = _outcome(exercise.run, (candidate,))
            outcome_of = exercise.run
        else:
            inputs = inputs or exercise.inputs()
            mine = _with_grad(inputs)
            before = _snapshot(mine)
            got, problem = _outcome(candidate, mine)
            if problem is None and any(not torch.equal(a, b) for a, b in zip(before, _snapshot(mine))):
                problem = ("it changed its input in place; compute a new tensor and leave the input as it was "
                           "(the loss network and the optimiser still need it)")

            def outcome_of(function: Callable):
                return function(*inputs)
    except NotImplementedError:
        print(f"{name}: not implemented yet. The notebook goes on with course_lib's version.")
        return exercise.reference
    if problem is not None:
        print(f"{name}: FAIL, {problem}. Using course_lib's version.")
        return exercise.reference
    return candidate if _verdict(name, got, exercise, outcome_of) else exercise.reference


# Exercises on the notebooks' own objects: each returns an Exercise for check(..., exercise=...).

def _small_problem(seed: int = 0):
    g = _gen(seed)
    return torch.rand(1, 3, 8, 8, generator=g), torch.rand(1, 3, 8, 8, generator=g)


def closure_exercise() -> Exercise:
    """``make_closure(optimizer, image, loss_fn)`` for L-BFGS (notebook 3), run for three
    L-BFGS steps on a small problem; the resulting image is compared."""
    from .gatys import make_closure

    def run(factory):
        start, target = _small_problem()
        image = start.clone().requires_grad_(True)
        optimizer = torch.optim.LBFGS([image], max_iter=1)
        closure = factory(optimizer, image, lambda img: (((img - target) ** 2).sum() + img.pow(4).sum(), {}))
        for _ in range(3):
            optimizer.step(closure)
        return image.detach()

    def no_zero_grad(optimizer, image, loss_fn):
        def closure():
            total, _ = loss_fn(image)
            total.backward()
            return total
        return closure
    return Exercise(make_closure, run=run, mistakes=[
        (no_zero_grad, "the gradients accumulate from call to call: call optimizer.zero_grad() at the start of "
                       "the closure")])


def gatys_objective_exercise(loss_net) -> Exercise:
    """``gatys_objective(image, loss_net, content_targets, style_grams, weights)`` → (total,
    parts): eq. 5 (notebook 3), compared on a small image with ``loss_net``."""
    from .objectives import LossWeights, PerceptualObjective

    device = next(loss_net.buffers()).device

    def inputs():
        g = _gen(5)
        content, style, image = (torch.rand(1, 3, 32, 32, generator=g).to(device) for _ in range(3))
        weights = LossWeights(content=2.0, style=30.0, tv=1e-3)
        eq5 = PerceptualObjective(loss_net, style, weights)
        return image, loss_net, eq5.targets(content), eq5.grams, weights

    def reference(image, net, targets, grams, weights):
        return PerceptualObjective(net, weights=weights, style_grams=grams)(image, targets)

    def without(term):
        def mistake(image, net, targets, grams, weights):
            from dataclasses import replace
            return reference(image, net, targets, grams, replace(weights, **{term: 0.0}))
        return mistake
    return Exercise(reference, inputs, compare=loss_and_parts, threshold=1e-4, mistakes=[
        (without("tv"), "the TV term λ_TV·ℓ_TV(ŷ) is missing"),
        (without("style"), "the style term λ_s·ℓ_style is missing"),
        (without("content"), "the content term λ_c·ℓ_feat is missing")])


def residual_exercise() -> Exercise:
    """``residual_forward(block, x)`` for a :class:`course_lib.networks.ResidualBlock` (notebook 4)."""
    from .networks import ResidualBlock

    def inputs():
        torch.manual_seed(0)
        return ResidualBlock(8).eval(), _features(2, 8, 6, 6, seed=1)
    return Exercise(lambda block, x: block(x), inputs, mistakes=[
        (lambda block, x: block.body(x), "the identity is missing: a residual block returns x + F(x)"),
        (lambda block, x: torch.relu(x + block.body(x)), "no ReLU after the addition in the paper's residual "
                                                         "block (its supplementary Fig. 1): return x + F(x)")])


def training_objective_exercise(loss_net) -> Exercise:
    """``make_objective(loss_net, style, weights)`` → ``objective(model, x)`` → (total, parts),
    the feed-forward training objective (notebook 4); its total on a small network and batch is
    compared, and computing the style Gram matrices at every call is caught."""
    from .networks import TransformerNet
    from .objectives import LossWeights, PerceptualObjective

    device = next(loss_net.buffers()).device
    style = torch.rand(1, 3, 40, 40, generator=_gen(7)).to(device)
    weights = LossWeights(content=1.0, style=20.0, tv=1e-2)
    style_passes = []

    class Counting(torch.nn.Module):
        """The loss network, counting the passes it makes over the style image."""

        def __init__(self):
            super().__init__()
            self.net, self.layers = loss_net, loss_net.layers

        def forward(self, images, layers=None):
            style_passes.append(images.shape[-1] == 40)
            return self.net(images, layers)

    def run(factory):
        style_passes.clear()
        torch.manual_seed(0)
        model = TransformerNet(width=4).to(device)
        batch = torch.rand(2, 3, 32, 32, generator=_gen(8)).to(device)
        objective = factory(Counting(), style, weights)
        totals = [objective(model, batch) for _ in range(2)]
        if sum(style_passes) > 1:
            raise ValueError("it runs the loss network on the style image at every call: compute the style "
                             "image's Gram matrices once, in make_objective, outside the objective")
        return loss_and_parts(totals[0])

    def reference(net, style_image, w):
        return PerceptualObjective(net, style_image, w).loss

    def no_tv(net, style_image, w):
        from dataclasses import replace
        return reference(net, style_image, replace(w, tv=0.0))
    return Exercise(reference, run=run, threshold=1e-4, mistakes=[(no_tv, "the TV term is missing")])


def train_step_exercise() -> Exercise:
    """``train_step(model, loss_fn, optimizer, batch)`` → (loss, parts) (notebook 4), run for
    three steps on copies of one small model; the weights after them are compared."""
    from .train import step

    def run(step_fn):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(4, 3, 1))
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
        batch = torch.rand(2, 3, 8, 8, generator=_gen(2))

        def loss_fn(m, x):
            loss = (m(x) - x.flip(-1)).pow(2).mean()
            return loss, {"pixel": loss}
        for _ in range(3):
            returned = step_fn(model, loss_fn, optimizer, batch)
            loss_and_parts(returned)  # the loop logs what the step returns: (loss, parts), as loss_fn gave them
        return torch.cat([p.detach().flatten() for p in model.parameters()])

    def no_zero_grad(model, loss_fn, optimizer, batch):
        loss, parts = loss_fn(model, batch)
        loss.backward()
        optimizer.step()
        return loss, parts

    def step_first(model, loss_fn, optimizer, batch):
        optimizer.zero_grad()
        optimizer.step()
        loss, parts = loss_fn(model, batch)
        loss.backward()
        return loss, parts
    return Exercise(step, run=run, threshold=1e-5, mistakes=[
        (no_zero_grad, "gradients from the previous steps are added to this one's: call optimizer.zero_grad() "
                       "before loss.backward()"),
        (step_first, "optimizer.step() uses the gradients: call it after loss.backward(), not before")])


def degrade_exercise() -> Exercise:
    """``degrade(hr, scale, blur)``: the paper's LR input (notebook 5)."""
    from torchvision.transforms import functional as TF

    from .images import resize
    from .sr import degrade

    def inputs():
        coarse = torch.rand(1, 3, 16, 16, generator=_gen(3))
        return resize(coarse, (64, 64), "bicubic"), 4, 1.0
    return Exercise(degrade, inputs, threshold=1e-3, mistakes=[
        (lambda hr, s, b: degrade(hr, s, 0.0), "the Gaussian blur (σ = 1) before the downsampling is missing"),
        (lambda hr, s, b: TF.gaussian_blur(resize(hr, (hr.shape[-2] // s, hr.shape[-1] // s), "bicubic"), 7, b),
         "blur first, then downsample: the blur stands for the camera's optics, before the sampling"),
        (lambda hr, s, b: resize(TF.gaussian_blur(hr, 7, b), (hr.shape[-2] // s, hr.shape[-1] // s), "bilinear"),
         "the paper downsamples with bicubic interpolation, not bilinear")])


def sr_objective_exercise(loss_net) -> Exercise:
    """``make_sr_objective(loss_net, degrade_fn, tv_weight)`` → ``objective(model, hr)`` →
    (total, parts): ℓ_feat at relu2_2 plus TV for super-resolution (notebook 5)."""
    from .networks import SuperResolutionNet
    from .objectives import LossWeights, PerceptualObjective
    from .sr import Degradation, degrade

    device = next(loss_net.buffers()).device

    def run(factory):
        torch.manual_seed(0)
        model = SuperResolutionNet(4, channels=8, blocks=1).to(device)
        hr = torch.rand(2, 3, 32, 32, generator=_gen(4)).to(device)
        return loss_and_parts(factory(loss_net, lambda x: degrade(x, 4, 1.0), 1e-4)(model, hr))

    def reference(net, degrade_fn, tv_weight):
        return PerceptualObjective(net, weights=LossWeights(content=1.0, style=0.0, tv=tv_weight),
                                   input_transform=Degradation(4, 1.0)).loss

    def pixel_instead(net, degrade_fn, tv_weight):
        return PerceptualObjective(weights=LossWeights(content=0.0, style=0.0, tv=tv_weight, pixel=1.0),
                                   input_transform=Degradation(4, 1.0)).loss
    return Exercise(reference, run=run, threshold=1e-4, mistakes=[
        (pixel_instead, "that is ℓ_pixel: compare φ_relu2_2 of the output with φ_relu2_2 of the HR image")])


def srcnn_exercise() -> Exercise:
    """``srcnn_forward(net, lr)``: SRCNN's forward pass (notebook 5)."""
    from .images import resize
    from .networks import SRCNN

    def inputs():
        torch.manual_seed(0)
        return SRCNN(4, filters=(8, 4)).eval(), _features(1, 3, 10, 12, seed=2)

    def enlarge(mode):
        return lambda net, x: net.layers(resize(x, (x.shape[-2] * 4, x.shape[-1] * 4), mode))
    return Exercise(lambda net, x: net(x), inputs, mistakes=[
        (lambda net, x: net.layers(x), "SRCNN works on the enlarged image: resize the input ×scale with bicubic "
                                       "interpolation first, then apply the three convolutions"),
        (enlarge("nearest"), "enlarge with bicubic interpolation, as SRCNN does, not nearest neighbour"),
        (enlarge("bilinear"), "enlarge with bicubic interpolation, as SRCNN does, not bilinear")])


def _translation_exercises() -> dict[str, Exercise]:
    from .translation import TranslationWeights, cycle_loss, gan_loss, layer_receptive_field

    def g_reference(prediction, fake, target, weights):
        parts = {"G_GAN": weights.gan * gan_loss(prediction, True), "G_L1": weights.l1 * F.l1_loss(fake, target)}
        return sum(parts.values()), parts

    def g_inputs():
        g = _gen(9)
        return (torch.randn(2, 1, 6, 6, generator=g), torch.rand(2, 3, 8, 8, generator=g),
                torch.rand(2, 3, 8, 8, generator=g), TranslationWeights(gan=2.0, l1=3.0))

    def d_inputs():
        g = _gen(10)
        return torch.randn(2, 1, 6, 6, generator=g), torch.randn(2, 1, 6, 6, generator=g)

    def no_jumps(layers):
        return 1 + sum(k - 1 for k, _ in layers)

    def own_stride(layers):
        field, jump = 1, 1
        for k, s in layers:
            jump *= s
            field += (k - 1) * jump
        return field
    return {
        "receptive_field": Exercise(layer_receptive_field, lambda: ([(3, 1), (4, 2), (4, 2), (3, 1), (5, 2)],), [
            (no_jumps, "each layer's kernel spans pixels of its own input, which are the product of the earlier "
                       "strides apart in the image: multiply (k − 1) by that product"),
            (own_stride, "a layer's own stride does not widen its own window: multiply (k − 1) by the strides of "
                         "the layers *before* it")]),
        "generator_loss": Exercise(g_reference, g_inputs, compare=loss_and_parts, threshold=1e-4, mistakes=[
            (lambda p, f, t, w: (w.gan * gan_loss(p, False) + w.l1 * F.l1_loss(f, t), {}),
             "the generator wants the discriminator to call its output *real*: use the label True (1)"),
            (lambda p, f, t, w: (w.gan * gan_loss(p, True) + w.l1 * F.mse_loss(f, t), {}),
             "pix2pix uses the L1 distance (mean absolute difference), not L2: L1 blurs less"),
            (lambda p, f, t, w: (gan_loss(p, True) + F.l1_loss(f, t), {}), "weight the terms: λ_GAN·cGAN + λ_L1·L1 (pix2pix: λ_L1 = 100)"),
            (lambda p, f, t, w: (w.l1 * F.l1_loss(f, t), {}), "the adversarial term λ_GAN·cGAN is missing")]),
        "discriminator_loss": Exercise(lambda r, f: 0.5 * (gan_loss(r, True) + gan_loss(f, False)), d_inputs, mistakes=[
            (lambda r, f: gan_loss(r, True) + gan_loss(f, False),
             "pix2pix halves the discriminator's loss, so that it learns more slowly than the generator"),
            (lambda r, f: 0.5 * (gan_loss(r, False) + gan_loss(f, True)),
             "the labels are swapped: real pairs are 1 (True), generated pairs 0 (False)")]),
        "cycle_loss": Exercise(cycle_loss, lambda: (_features(2, 3, 8, 8, seed=11), _features(2, 3, 8, 8, seed=12)), [
            (lambda a, b: F.mse_loss(b, a), "CycleGAN's cycle loss is L1 (mean absolute difference), not L2"),
            (lambda a, b: (a - b).abs().sum(), "average the absolute differences (.mean()), do not sum them")]),
    }


EXERCISES.update(_translation_exercises())
