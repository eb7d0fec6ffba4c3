"""The notebooks' sources: jupytext pairs in sync, student versions fresh and free of
solutions, and every notebook built to the course's pattern."""

import re
from pathlib import Path

import jupytext
import nbformat
import pytest

from course_lib.make_student import MARKER, render

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))


def test_there_are_notebooks():
    assert [p.stem for p in SOLUTIONS] == ["01_per_pixel_loss", "02_loss_network", "03_gatys",
                                           "04_fast_style_transfer", "05_super_resolution"]


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_jupytext_pair_in_sync(path):
    """Compared by content, not timestamps (a git checkout makes those meaningless)."""
    script = path.with_suffix(".py")
    assert script.exists(), f"{script.name} missing: run `jupytext --sync {path}`"
    expected = jupytext.writes(jupytext.read(path), fmt="py:percent")
    assert script.read_text() == expected, f"{path.name} and {script.name} differ: run `jupytext --sync`"


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_student_notebook_is_fresh_and_has_no_solutions(path):
    student = ROOT / "notebooks" / path.name
    assert student.exists() and student.read_text() == render(path), \
        "notebooks/ is stale: run `python -m course_lib.make_student`"
    solution_lines, inside = set(), False
    for cell in nbformat.read(path, as_version=4).cells:
        for line in cell.source.splitlines():
            match = MARKER.match(line)
            if match:
                inside = match.group(2) == "BEGIN"
            elif inside and line.strip():
                solution_lines.add(line.strip())
    student_text = "\n".join(c.source for c in nbformat.read(student, as_version=4).cells)
    leaked = solution_lines & {line.strip() for line in student_text.splitlines()}
    assert not leaked and "### BEGIN" not in student_text


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_notebook_follows_the_course_pattern(path):
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0].source
    assert "colab-badge.svg" in first and f"notebooks/{path.name}" in first
    assert "Learning goals" in first
    assert any("config.describe()" in c.source for c in nb.cells if c.cell_type == "code")
    for before, cell in zip(nb.cells, nb.cells[1:]):
        # a markdown cell says what and why before each code cell; only an exercise's check
        # cell may follow the exercise directly
        if cell.cell_type == "code" and before.cell_type == "code":
            assert re.search(r"^\w+ = check\(", cell.source, re.MULTILINE), \
                f"code cell without a markdown cell before it:\n{cell.source[:200]}"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "store solutions fully executed (`make notebooks`)"
    assert "widgets" not in nb.metadata, "widget state is stored: strip it"
