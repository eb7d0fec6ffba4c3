"""Check cells for the notebooks' exercises, with hints for the usual mistakes.

Each exercise is followed by ``f = check("name", f)``. The check runs the student's function
and course_lib's on fresh inputs, compares them (CS231n's relative error,
max|x − y| / max(1e-8, |x| + |y|)), and prints PASS, or FAIL with a targeted hint when the
answer matches a known mistake (a Gram matrix normalised by H·W, a summed loss, TV along one
axis, a missing ImageNet normalisation, a transposed Gram matrix, an in-place operation that
breaks autograd, …). It returns the function the rest of the notebook should use: the
student's when it passes, otherwise course_lib's, so that an unfinished exercise never breaks
the cells after it.

The engine is :mod:`.engine`; each notebook has its catalogue (:mod:`.per_pixel`,
:mod:`.loss_network`, :mod:`.gatys`, :mod:`.style`, :mod:`.super_resolution`, :mod:`.translation`, :mod:`.beyond`),
whose references are the library's own functions wherever the library has one.
"""

from __future__ import annotations

from ..caffe_vgg import MEAN_BGR
from . import beyond, loss_network, per_pixel, translation
from .engine import EXERCISES, Exercise, check, loss_and_parts, register, relative_error
from .gatys import closure_exercise, gatys_objective_exercise
from .loss_network import caffe_preprocess
from .style import network_exercise, residual_exercise, train_step_exercise, training_objective_exercise
from .super_resolution import degrade_exercise, sr_network_exercise, sr_objective_exercise, srcnn_exercise

for _catalogue in (per_pixel, loss_network, translation, beyond):
    EXERCISES.update(_catalogue.EXERCISES)

__all__ = ["MEAN_BGR", "EXERCISES", "Exercise", "check", "loss_and_parts", "register", "relative_error",
           "closure_exercise", "network_exercise", "gatys_objective_exercise", "caffe_preprocess", "residual_exercise",
           "train_step_exercise", "training_objective_exercise", "degrade_exercise", "sr_objective_exercise",
           "srcnn_exercise", "sr_network_exercise"]
