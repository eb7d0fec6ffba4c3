"""Make the student notebooks in ``notebooks/`` from the instructor notebooks in ``solutions/``.

    python -m course_lib.make_student [--check]

In code cells (nbgrader's convention):
- lines between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` become ``# YOUR CODE HERE`` and
  ``raise NotImplementedError()`` at the marker's indentation; text after ``BEGIN SOLUTION``
  (e.g. ``### BEGIN SOLUTION hint: use torch.bmm``) is kept as a ``# Hint:`` line;
- lines between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` are removed;
- cells tagged ``solution`` are dropped.
Outputs are cleared (students run the notebooks themselves), and with them the
``# NBVAL_CHECK_OUTPUT`` markers, which would compare against outputs no longer stored.
Saved widget state (progress bars, sliders) is stripped from the solution notebooks too. ``--check`` exits 1 when
``notebooks/`` differs from what would be generated.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
MARKER = re.compile(r"^(\s*)### (BEGIN|END) (SOLUTION|HIDDEN TESTS)\b(.*)$")


def strip_source(source: str, where: str = "cell") -> str:
    """Apply the solution and hidden-test rules to one cell's source."""
    out: list[str] = []
    region: str | None = None
    for number, line in enumerate(source.splitlines(), start=1):
        if line.strip() == "# NBVAL_CHECK_OUTPUT":
            continue
        match = MARKER.match(line)
        if not match:
            if region is None:
                out.append(line)
            continue
        indent, edge, kind, rest = match.groups()
        if edge == "BEGIN":
            if region is not None:
                raise ValueError(f"{where}, line {number}: BEGIN {kind} inside an open {region} region")
            region = kind
            if kind == "SOLUTION":
                hint = rest.strip().removeprefix("hint:").strip()
                out += ([f"{indent}# Hint: {hint}"] if hint else []) + \
                       [f"{indent}# YOUR CODE HERE", f"{indent}raise NotImplementedError()"]
        else:
            if region != kind:
                raise ValueError(f"{where}, line {number}: END {kind} without its BEGIN")
            region = None
    if region is not None:
        raise ValueError(f"{where}: {region} region is not closed")
    return "\n".join(out)


def student_version(notebook: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """A copy of ``notebook`` with solutions stubbed, hidden tests and outputs removed."""
    student = nbformat.v4.new_notebook(metadata={k: v for k, v in notebook.metadata.items()
                                                 if k in ("kernelspec", "language_info")})
    for index, cell in enumerate(notebook.cells):
        if "solution" in cell.get("metadata", {}).get("tags", []):
            continue
        if cell.cell_type == "code":
            source = strip_source(cell.source, f"{name} cell {index}")
            new = nbformat.v4.new_code_cell(source, metadata=dict(cell.metadata))
        elif cell.cell_type == "markdown":
            new = nbformat.v4.new_markdown_cell(cell.source, metadata=dict(cell.metadata))
        else:
            new = nbformat.v4.new_raw_cell(cell.source, metadata=dict(cell.metadata))
        new.pop("id", None)
        student.cells.append(new)
    return student


def render(path: Path) -> str:
    notebook = nbformat.read(path, as_version=4)
    student = student_version(notebook, path.name)
    for index, cell in enumerate(student.cells):  # stable ids keep the diff small
        cell["id"] = f"{path.stem[:40]}-{index}"
    return nbformat.writes(student) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--check", action="store_true", help="only report stale student notebooks")
    parser.add_argument("--solutions", type=Path, default=ROOT / "solutions")
    parser.add_argument("--out", type=Path, default=ROOT / "notebooks")
    args = parser.parse_args(argv)
    stale = []
    args.out.mkdir(exist_ok=True)
    for path in sorted(args.solutions.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        if "widgets" in notebook.metadata:
            stale.append(path)
            if not args.check:
                del notebook.metadata["widgets"]
                nbformat.write(notebook, path)
        text, target = render(path), args.out / path.name
        if target.exists() and target.read_text() == text:
            continue
        stale.append(target)
        if not args.check:
            target.write_text(text)
    extra = sorted({p.name for p in args.out.glob("*.ipynb")} - {p.name for p in args.solutions.glob("*.ipynb")})
    for name in extra:
        print(f"{args.out / name} has no solution notebook", file=sys.stderr)
    if args.check and (stale or extra):
        print("stale notebooks (run python -m course_lib.make_student): "
              + ", ".join(map(str, stale)), file=sys.stderr)
        return 1
    for target in stale:
        print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
