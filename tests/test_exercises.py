"""The check helper and the student-notebook generator."""

import nbformat
import pytest
import torch

from course_lib.exercises import check, relative_error
from course_lib.losses import gram_matrix
from make_student import strip_answers, strip_source, student_version


def test_check_pass_fail_and_fallback(capsys):
    x = torch.randn(2, 3, 4, 4)
    good = lambda f: gram_matrix(f) * 1.0  # noqa: E731
    assert check("gram", good, gram_matrix, x) is good
    assert "gram: PASS" in capsys.readouterr().out
    wrong = lambda f: gram_matrix(f) * 2  # noqa: E731
    assert check("gram", wrong, gram_matrix, x) is gram_matrix
    assert "FAIL, relative error" in capsys.readouterr().out

    def todo(f):
        raise NotImplementedError()
    assert check("gram", todo, gram_matrix, x) is gram_matrix
    assert "not implemented yet" in capsys.readouterr().out
    assert check("gram", lambda f: f.sum(), gram_matrix, x) is gram_matrix
    assert "shape ()" in capsys.readouterr().out
    assert check("gram", lambda f: 1 / 0, gram_matrix, x) is gram_matrix
    assert "ZeroDivisionError" in capsys.readouterr().out


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
