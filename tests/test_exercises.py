"""The check cells: verdicts, fallbacks, and every targeted hint, each tested with the wrong
implementation it is meant to catch; and the student-notebook generator."""

import re

import nbformat
import pytest
import torch
from make_student import strip_answers, strip_source, student_version

from course_lib import exercises, losses
from course_lib.exercises import check, relative_error


def test_check_pass_fail_and_fallback(capsys):
    good = lambda f: losses.gram_matrix(f) * 1.0  # noqa: E731
    assert check("gram_matrix", good) is good
    assert "gram_matrix: PASS" in capsys.readouterr().out
    assert check("gram_matrix", lambda f: losses.gram_matrix(f) * 3) is losses.gram_matrix
    assert "gram_matrix: FAIL, at index" in capsys.readouterr().out

    def todo(f):
        raise NotImplementedError()
    assert check("gram_matrix", todo) is losses.gram_matrix
    assert "not implemented yet" in capsys.readouterr().out
    assert check("gram_matrix", lambda f: f.sum()) is losses.gram_matrix
    assert "shape ()" in capsys.readouterr().out
    assert check("gram_matrix", lambda f: 1 / 0) is losses.gram_matrix
    assert "ZeroDivisionError" in capsys.readouterr().out


def gram_hw(f):
    b, c, h, w = f.shape
    psi = f.reshape(b, c, h * w)
    return torch.bmm(psi, psi.transpose(1, 2)) / (h * w)


def gram_raw(f):
    psi = f.flatten(2)
    return torch.bmm(psi, psi.transpose(1, 2))


def gram_transposed(f):
    psi = f.flatten(2)
    return torch.bmm(psi.transpose(1, 2), psi) / f[0].numel()


def tv_inplace(x):
    x[..., 1:, :] -= x[..., :-1, :].clone()  # autograd refuses: x is a leaf that requires grad
    return x.pow(2).sum()


def preprocess_inplace(x):
    x.mul_(255)
    return x.flip(1) - torch.tensor(exercises.MEAN_BGR).view(1, 3, 1, 1)


WRONG = [
    ("gram_matrix", gram_hw, "normalise by C·H·W (eq. 3), not only by H·W"),
    ("gram_matrix", gram_raw, "is not normalised: divide ψψᵀ by C·H·W"),
    ("gram_matrix", gram_transposed, "you computed ψᵀψ"),
    ("feature_loss", lambda a, b: ((a - b) ** 2).sum(), "sums the squared differences"),
    ("pixel_loss", lambda a, b: ((a - b) ** 2).sum(), "sums the squared differences"),
    ("feature_loss", lambda a, b: (a - b).abs().mean(), "absolute differences (ℓ1)"),
    ("tv_loss", lambda x: x.diff(dim=-1).pow(2).sum((1, 2, 3)).mean(), "only the horizontal differences"),
    ("tv_loss", lambda x: x.diff(dim=-2).pow(2).sum((1, 2, 3)).mean(), "only the vertical differences"),
    ("tv_loss", tv_inplace, "an in-place operation"),
    ("caffe_preprocess", lambda x: x, "are not preprocessed"),
    ("caffe_preprocess", lambda x: x * 255 - torch.tensor(exercises.MEAN_BGR).view(1, 3, 1, 1), "RGB order"),
    ("caffe_preprocess", lambda x: x.flip(1) * 255, "mean pixel is not subtracted"),
    ("caffe_preprocess", preprocess_inplace, "in-place operation"),
    ("style_loss", lambda f, g: sum(torch.nn.functional.mse_loss(losses.gram_matrix(f[k]), g[k].expand(2, -1, -1))
                                    for k in g), "you averaged the squared differences of the Gram matrices"),
    ("psnr", lambda a, b: 20 * torch.log10(255.0 ** 2 / ((a - b) ** 2).mean()), "takes 10·log10"),
]


@pytest.mark.parametrize("name, wrong, hint", WRONG, ids=[f"{w[0]}-{i}" for i, w in enumerate(WRONG)])
def test_each_hint_catches_its_mistake(name, wrong, hint, capsys):
    assert check(name, wrong) is exercises.EXERCISES[name].reference
    out = capsys.readouterr().out
    assert f"{name}: FAIL" in out and hint in out, out


def test_changing_an_input_in_place_is_caught(capsys):
    def sneaky(a, b):
        a.data.mul_(1.0001)  # no autograd error, but the caller's tensor changed
        return losses.pixel_loss(a, b)
    check("pixel_loss", sneaky)
    assert "changed its input in place" in capsys.readouterr().out


def test_every_exercise_passes_its_reference(capsys):
    for name, exercise in exercises.EXERCISES.items():
        assert check(name, exercise.reference) is exercise.reference, name
    assert capsys.readouterr().out.count("PASS") == len(exercises.EXERCISES)


def test_relative_error():
    assert relative_error(torch.tensor([1.0]), torch.tensor([1.0])) == 0
    assert relative_error(torch.tensor([1.0]), torch.tensor([3.0])) == pytest.approx(0.5)


SOLUTION = """def f(x):
    y = x + 1
    ### BEGIN SOLUTION hint: square it
    z = y ** 2
    ### END SOLUTION
    return z
# NBVAL_CHECK_OUTPUT
check()
### BEGIN HIDDEN TESTS
assert f(1) == 4
### END HIDDEN TESTS"""


def test_strip_source_stubs_solutions_and_drops_hidden_tests():
    assert strip_source(SOLUTION) == """def f(x):
    y = x + 1
    # Hint: square it
    # YOUR CODE HERE
    raise NotImplementedError()
    return z
check()"""


@pytest.mark.parametrize("source, problem", [
    ("### BEGIN SOLUTION\nx = 1", "not closed"),
    ("### END SOLUTION", "without its BEGIN"),
    ("### BEGIN SOLUTION\n### BEGIN HIDDEN TESTS", "inside an open SOLUTION"),
])
def test_unbalanced_markers_are_errors(source, problem):
    with pytest.raises(ValueError, match=problem):
        strip_source(source, "nb cell 3")


def test_student_version_drops_solution_cells_and_outputs():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Title"),
                nbformat.v4.new_code_cell(SOLUTION, outputs=[nbformat.v4.new_output("stream", text="PASS")],
                                          execution_count=1),
                nbformat.v4.new_code_cell("secret = 42", metadata={"tags": ["solution"]})]
    student = student_version(nb)
    assert [c.cell_type for c in student.cells] == ["markdown", "code"]
    assert student.cells[1].outputs == [] and student.cells[1].execution_count is None
    assert "z = y ** 2" not in student.cells[1].source


def test_answers_become_a_prompt():
    source = "### Question 1\nWhy?\n<!-- BEGIN ANSWER -->\nBecause.\n<!-- END ANSWER -->\nMore."
    assert strip_answers(source) == "### Question 1\nWhy?\n*Your answer:*\nMore."
    with pytest.raises(ValueError, match="not closed"):
        strip_answers("<!-- BEGIN ANSWER -->\nx")


def harness_exercises(vgg):
    return {"closure": exercises.closure_exercise(), "gatys_objective": exercises.gatys_objective_exercise(vgg),
            "residual": exercises.residual_exercise(), "objective": exercises.training_objective_exercise(vgg),
            "train_step": exercises.train_step_exercise(), "degrade": exercises.degrade_exercise(),
            "sr_objective": exercises.sr_objective_exercise(vgg), "srcnn": exercises.srcnn_exercise(),
            "transformation_layers": exercises.network_exercise(), "sr_layers": exercises.sr_network_exercise()}


def test_harness_exercises_pass_their_references_and_catch_their_mistakes(random_vgg, capsys):
    for name, exercise in harness_exercises(random_vgg).items():
        assert check(name, exercise.reference, exercise=exercise) is exercise.reference, name
        assert f"{name}: PASS" in capsys.readouterr().out
        for mistake, hint in exercise.mistakes:
            assert check(name, mistake, exercise=exercise) is exercise.reference
            out = capsys.readouterr().out
            assert f"{name}: FAIL, {hint}" in out, (name, out)


def test_style_grams_recomputed_at_every_call_are_caught(random_vgg, capsys):
    from course_lib.losses import gram_matrix
    from course_lib.objectives import PerceptualObjective

    def wasteful(loss_net, style, weights):
        def objective(model, x):
            grams = {k: gram_matrix(v) for k, v in loss_net(style).items()}  # every call
            return PerceptualObjective(loss_net, weights=weights, style_grams=grams).loss(model, x)
        return objective
    exercise = exercises.training_objective_exercise(random_vgg)
    check("objective", wasteful, exercise=exercise)
    assert "compute the style image's Gram matrices once" in capsys.readouterr().out


def test_a_closure_that_returns_nothing_is_reported(capsys):
    def silent(optimizer, image, loss_fn):
        def closure():
            optimizer.zero_grad()
            loss_fn(image)[0].backward()
        return closure
    check("closure", silent, exercise=exercises.closure_exercise())
    assert "closure: FAIL, it raised" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["receptive_field", "generator_loss", "discriminator_loss", "cycle_loss"])
def test_translation_exercises_catch_their_mistakes(name, capsys):
    exercise = exercises.EXERCISES[name]
    assert check(name, exercise.reference) is exercise.reference
    for mistake, hint in exercise.mistakes:
        check(name, mistake)
        assert f"{name}: FAIL, {hint}" in capsys.readouterr().out


def unweighted_parts(image, net, targets, grams, weights):
    """The right total, but parts that are not the weighted terms."""
    from course_lib.objectives import PerceptualObjective

    total, parts = PerceptualObjective(net, weights=weights, style_grams=grams)(image, targets)
    return total, {k: v / getattr(weights, k) for k, v in parts.items()}


def mislabelled_parts(image, net, targets, grams, weights):
    from course_lib.objectives import PerceptualObjective

    total, parts = PerceptualObjective(net, weights=weights, style_grams=grams)(image, targets)
    return total, {"feature": parts["content"], "style": parts["style"], "tv": parts["tv"]}


@pytest.mark.parametrize("wrong, message", [(unweighted_parts, r"FAIL, '(content|style|tv)' is"),
                                            (mislabelled_parts, r"FAIL, the parts are named \['feature'")])
def test_an_objective_with_the_right_total_but_wrong_parts_fails(wrong, message, random_vgg, capsys):
    import re

    exercise = exercises.gatys_objective_exercise(random_vgg)
    assert check("gatys_objective", wrong, exercise=exercise) is exercise.reference
    assert re.search(message, capsys.readouterr().out)


def test_a_training_objective_with_unweighted_parts_fails(random_vgg, capsys):
    from course_lib.objectives import PerceptualObjective

    def unweighted(loss_net, style, weights):
        reference = PerceptualObjective(loss_net, style, weights)

        def objective(model, x):
            total, parts = reference.loss(model, x)
            return total, {k: v / getattr(weights, k) for k, v in parts.items()}
        return objective
    exercise = exercises.training_objective_exercise(random_vgg)
    assert check("make_objective", unweighted, exercise=exercise) is exercise.reference
    assert "make_objective: FAIL, " in capsys.readouterr().out


def test_a_step_that_returns_a_number_fails_its_check(capsys):
    def returns_item(model, loss_fn, optimizer, batch):
        optimizer.zero_grad()
        loss, parts = loss_fn(model, batch)
        loss.backward()
        optimizer.step()
        return loss.item()
    exercise = exercises.train_step_exercise()
    assert check("train_step", returns_item, exercise=exercise) is exercise.reference
    assert "train_step: FAIL, it raised ValueError: expected (total, parts)" in capsys.readouterr().out


def test_a_second_hint_is_folded_into_a_markdown_cell_before_the_exercise():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("Exercise."),
                nbformat.v4.new_code_cell("def f(x):\n    ### BEGIN SOLUTION hint: the idea || `x + 1`\n"
                                          "    return x + 1\n    ### END SOLUTION")]
    student = student_version(nb)
    assert [c.cell_type for c in student.cells] == ["markdown", "markdown", "code"]
    assert "<details>" in student.cells[1].source and "`x + 1`" in student.cells[1].source
    code = student.cells[2].source
    assert "# Hint: the idea (a second, more concrete hint is folded above this cell)" in code
    assert "x + 1" not in code and "||" not in code


def test_a_wrong_answer_that_is_no_known_mistake_says_what_was_expected(capsys):
    check("pixel_loss", lambda a, b: ((a - b) ** 2).mean() * 1.3)  # no known mistake is off by 30 %
    assert re.search(r"pixel_loss: FAIL, got [\d.]+, expected [\d.]+ \(relative error", capsys.readouterr().out)
    check("gram_matrix", lambda f: losses.gram_matrix(f) + 0.01)
    out = capsys.readouterr().out
    assert re.search(r"gram_matrix: FAIL, at index \(\d+, \d+, \d+\) got [\d.]+, expected [\d.]+; over all 32 values "
                     r"the mean is [\d.]+, expected [\d.]+", out), out


def test_a_network_of_another_architecture_fails_naming_the_first_difference(capsys):
    from course_lib.networks import conv
    from course_lib.plain import plain_layers

    def first_conv_3x3(width=32, blocks=5):  # c3s1 instead of c9s1
        layers = plain_layers(width, blocks)
        layers[0] = conv(3, width, 3)
        return layers
    exercise = exercises.network_exercise()
    assert check("transformation_layers", first_conv_3x3, exercise=exercise) is exercise.reference
    assert "the first that differs is number 0: yours (8, 3, 3, 3), expected (8, 3, 9, 9)" in capsys.readouterr().out
    assert check("transformation_layers", lambda width=32, blocks=5: plain_layers(width, blocks - 1),
                 exercise=exercise) is exercise.reference
    assert "your network has 30 weight tensors" in capsys.readouterr().out  # a residual block missing


def test_a_super_resolution_network_must_start_as_bicubic_and_have_log2_scale_stages(capsys):
    from course_lib.plain import plain_sr_layers

    def random_last_conv(scale=4, channels=64, blocks=4):
        layers = plain_sr_layers(scale, channels, blocks)
        torch.nn.init.normal_(layers[-1][1].weight)
        return layers
    exercise = exercises.sr_network_exercise()
    assert check("sr_layers", random_last_conv, exercise=exercise) is exercise.reference
    assert "the last convolution must start at zero" in capsys.readouterr().out
    assert check("sr_layers", lambda scale=4, channels=64, blocks=4: plain_sr_layers(2 * scale, channels, blocks),
                 exercise=exercise) is exercise.reference
    assert "your network has 34 weight tensors (8,115 parameters), the table's 30" in capsys.readouterr().out
