"""Check cells for the notebooks' exercises.

Each exercise is followed by ``f = check("name", f, reference, *inputs)``: it compares the
student's function with the library's on fixed inputs, prints PASS or FAIL with the relative
error (CS231n style: max|x − y| / max(1e-8, |x| + |y|)), and returns the function the rest of
the notebook should use: the student's when it passes, otherwise the library's, so that an
unfinished exercise never breaks the cells after it.
"""

from __future__ import annotations

from typing import Callable, TypeVar

import torch

F = TypeVar("F", bound=Callable)


def relative_error(x: torch.Tensor, y: torch.Tensor) -> float:
    x = torch.as_tensor(x).detach().to(torch.float64)
    y = torch.as_tensor(y).detach().to(torch.float64)
    return float(((x - y).abs() / (x.abs() + y.abs()).clamp_min(1e-8)).max())


def check(name: str, candidate: F, reference: F, *inputs, threshold: float = 1e-5) -> F:
    """Run ``candidate`` and ``reference`` on ``inputs``; print the verdict; return the function
    to use from here on."""
    try:
        got = candidate(*inputs)
    except NotImplementedError:
        print(f"{name}: not implemented yet. The notebook goes on with course_lib's version.")
        return reference
    except Exception as err:  # a student's bug must not stop the notebook
        print(f"{name}: FAIL, it raised {type(err).__name__}: {err}. Using course_lib's version.")
        return reference
    want = reference(*inputs)
    got_t = torch.as_tensor(got)
    if got_t.shape != torch.as_tensor(want).shape:
        print(f"{name}: FAIL, shape {tuple(got_t.shape)} but expected {tuple(torch.as_tensor(want).shape)}. "
              f"Using course_lib's version.")
        return reference
    error = relative_error(got, want)
    if error <= threshold:
        print(f"{name}: PASS (relative error {error:.1e})")
        return candidate
    print(f"{name}: FAIL, relative error {error:.1e} > {threshold:.0e}. Using course_lib's version.")
    return reference
