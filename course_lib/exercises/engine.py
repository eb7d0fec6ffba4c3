"""The check engine: ``f = check("name", f)`` runs a student's function and the reference on
fresh inputs, compares them (CS231n's relative error), and prints PASS, or FAIL with the hint of
the known mistake the answer matches; it returns the function the rest of the notebook uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

import torch

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


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def features(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(*shape, generator=gen(seed))


def mean_square_mistakes(name: str):
    return [(lambda a, b: ((a - b) ** 2).sum(), f"your {name} sums the squared differences; the paper "
                                               f"divides by C·H·W (and the course averages over the batch): "
                                               f"use .mean()"),
            (lambda a, b: ((a - b) ** 2).sum() / a.shape[0], f"your {name} is the sum per image; divide by "
                                                             f"C·H·W as well: .mean() over every element"),
            (lambda a, b: (a - b).abs().mean(), f"your {name} uses absolute differences (ℓ1); the paper's "
                                                f"is squared (ℓ2)")]



# Every exercise with fixed inputs, by the name its check cell uses (the catalogues add theirs).
EXERCISES: dict[str, "Exercise"] = {}


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
            print(f"{name}: FAIL, {worst!r} is {float(_detached(got[worst])):.6g} but expected "
                  f"{float(_detached(want[worst])):.6g} "
                  f"(relative error {float(relative_error(got[worst], want[worst])):.1e}). Using course_lib's version.")
        return False
    got_t, want_t = torch.as_tensor(got), torch.as_tensor(want)
    if got_t.shape != want_t.shape:
        print(f"{name}: FAIL, shape {tuple(got_t.shape)} but expected {tuple(want_t.shape)}. "
              f"Using course_lib's version.")
    else:
        print(f"{name}: FAIL, {_where_it_differs(got_t, want_t)} (relative error "
              f"{relative_error(got_t, want_t):.1e} > {exercise.threshold:.0e}). Using course_lib's version.")
    return False


def _where_it_differs(got: torch.Tensor, want: torch.Tensor) -> str:
    """What was expected against what came back, where they differ most, and on the whole."""
    if want.numel() == 1:
        return f"got {float(got):.6g}, expected {float(want):.6g}"
    g, w = got.detach().double(), want.detach().double()
    flat = int(((g - w).abs() / (g.abs() + w.abs()).clamp_min(1e-8)).argmax())
    index = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), w.shape))
    return (f"at index {index} got {float(g[index]):.6g}, expected {float(w[index]):.6g}; over all "
            f"{w.numel()} values the mean is {float(g.mean()):.6g}, expected {float(w.mean()):.6g}")


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



def same_function(reference: torch.nn.Module, layers: torch.nn.Module, x: torch.Tensor, sizes: str) -> torch.Tensor:
    """For an architecture exercise: ``layers``' output on ``x`` after every weight tensor was
    copied from ``reference`` (plus a little noise, so that no zero or one hides a layer). Equal
    outputs mean the same architecture computing the same function; different weight shapes are
    named at the first that differs (``sizes`` says what the network was asked for)."""
    wanted = [tuple(p.shape) for p in reference.parameters()]
    given = [tuple(p.shape) for p in layers.parameters()]
    if given != wanted:
        first = next((i for i, (a, b) in enumerate(zip(given, wanted)) if a != b), min(len(given), len(wanted)))
        def count(shapes: list[tuple[int, ...]]) -> int:
            return sum(int(torch.Size(shape).numel()) for shape in shapes)
        raise ValueError(f"{sizes} your network has {len(given)} weight tensors ({count(given):,} parameters), "
                         f"the table's {len(wanted)} ({count(wanted):,}); the first that differs is number {first}: "
                         f"yours {given[first] if first < len(given) else 'missing'}, expected "
                         f"{wanted[first] if first < len(wanted) else 'none'}")
    with torch.no_grad():
        for mine, theirs in zip(layers.parameters(), reference.parameters()):
            mine.copy_(theirs + 0.1 * torch.randn(theirs.shape, generator=gen(len(mine.shape))))
    return layers.eval()(x).detach()


def swapped(factory: Callable[..., torch.nn.Module], old: type, new: Callable[[torch.nn.Module], torch.nn.Module]):
    """``factory`` with every ``old`` layer replaced by ``new(layer)``: a known architecture mistake."""
    def make(*args, **kwargs):
        layers = factory(*args, **kwargs)
        for parent in layers.modules():
            for name, child in parent.named_children():
                if isinstance(child, old):
                    setattr(parent, name, new(child))
        return layers
    return make


def small_problem(seed: int = 0):
    g = gen(seed)
    return torch.rand(1, 3, 8, 8, generator=g), torch.rand(1, 3, 8, 8, generator=g)
