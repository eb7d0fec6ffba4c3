"""Make the student notebooks in ``notebooks/`` from the instructor notebooks in ``solutions/``.

    python tools/make_student.py [--check] [--force] [--out DIR]

In code cells (nbgrader's convention):
- lines between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` become ``# YOUR CODE HERE`` and
  ``raise NotImplementedError()`` at the marker's indentation; text after ``BEGIN SOLUTION``
  (e.g. ``### BEGIN SOLUTION hint: use torch.bmm``) is kept as a ``# Hint:`` line; a second part
  after ``||`` (``hint: the idea || the code``) becomes a folded markdown cell before the exercise;
- lines between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` are removed;
- cells tagged ``solution`` are dropped.
In markdown cells, the instructor's answers between ``<!-- BEGIN ANSWER -->`` and
``<!-- END ANSWER -->`` become "*Your answer:*".
Outputs are cleared (students run the notebooks themselves), and with them the
``# NBVAL_CHECK_OUTPUT`` markers, which would compare against outputs no longer stored.
The first code cell of every notebook is :data:`SETUP_CELL`, the same everywhere.

Students' work is never overwritten: a notebook in ``notebooks/`` that is not the one this
tool last generated there (a student's answers, saved or committed, or JupyterLab's metadata)
is kept, and reported, unless ``--force``. ``--check`` exits 1 when a notebook in ``notebooks/`` is stale, that is
when it is still exactly what this tool last generated (see ``RECORD``) but the solutions now
generate other cells (compared by cells, ignoring metadata and outputs). A notebook edited
since it was generated, saved or committed, is a student's and never stale.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
MARKER = re.compile(r"^(\s*)### (BEGIN|END) (SOLUTION|HIDDEN TESTS)\b(.*)$")
ANSWER = re.compile(r"^\s*<!-- (BEGIN|END) ANSWER -->\s*$")
# The one Colab/local set-up cell: the first code cell of every notebook. Elsewhere `make lab`
# has installed the course; on Colab this fetches it and makes it importable in this kernel.
SETUP_CELL = """\
# Set-up. Locally, `make lab` has installed the course; on Colab this cell fetches it first.
import sys
if "google.colab" in sys.modules:
    !git clone -q --depth 1 https://github.com/perceptual-losses-course/course.git /content/course && {sys.executable} -m pip install -q -e /content/course
    sys.path.insert(0, "/content/course")"""


def strip_source(source: str, where: str = "cell") -> str:
    """Apply the solution and hidden-test rules to one code cell's source."""
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
                hint = rest.strip().removeprefix("hint:").split(SECOND_HINT)[0].strip()
                more = " (a second, more concrete hint is folded above this cell)" if SECOND_HINT in rest else ""
                out += ([f"{indent}# Hint: {hint}{more}"] if hint else []) + \
                       [f"{indent}# YOUR CODE HERE", f"{indent}raise NotImplementedError()"]
        else:
            if region != kind:
                raise ValueError(f"{where}, line {number}: END {kind} without its BEGIN")
            region = None
    if region is not None:
        raise ValueError(f"{where}: {region} region is not closed")
    return "\n".join(out)


SECOND_HINT = "||"  # "### BEGIN SOLUTION hint: the idea || the code": the second part is folded away


def second_hints(source: str) -> list[str]:
    """The second, code-level hints of a code cell's solutions (after ``||`` in the marker)."""
    found = []
    for line in source.splitlines():
        match = MARKER.match(line)
        if match and match.group(2) == "BEGIN" and match.group(3) == "SOLUTION" and SECOND_HINT in match.group(4):
            found.append(match.group(4).split(SECOND_HINT, 1)[1].strip())
    return found


def strip_answers(source: str, where: str = "cell") -> str:
    """Replace the instructor's answers in a markdown cell by a prompt for the student's."""
    out: list[str] = []
    inside = False
    for line in source.splitlines():
        match = ANSWER.match(line)
        if match and match.group(1) == "BEGIN":
            if inside:
                raise ValueError(f"{where}: BEGIN ANSWER inside an open answer")
            inside = True
            out.append("*Your answer:*")
        elif match:
            if not inside:
                raise ValueError(f"{where}: END ANSWER without its BEGIN")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{where}: ANSWER region is not closed")
    return "\n".join(out)


NBVAL_IGNORE = "# NBVAL_IGNORE_OUTPUT"
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def student_version(notebook: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """A copy of ``notebook`` with solutions stubbed, answers and hidden tests removed, no outputs."""
    # The kernel named, so that JupyterLab and Colab open it without asking (and log no
    # "No exact match found for python3").
    metadata = {k: v for k, v in notebook.metadata.items() if k == "language_info"}
    student = nbformat.v4.new_notebook(metadata={**metadata, "kernelspec": KERNELSPEC})
    for index, cell in enumerate(notebook.cells):
        if "solution" in cell.get("metadata", {}).get("tags", []):
            continue
        where = f"{name} cell {index}"
        if cell.cell_type == "code":
            for more in second_hints(cell.source):  # folded: a student opens it only when stuck
                student.cells.append(nbformat.v4.new_markdown_cell(
                    f"<details><summary>Stuck? A second hint, closer to the code</summary>\n\n{more}\n\n</details>"))
                student.cells[-1].pop("id", None)
            source, metadata = strip_source(cell.source, where), dict(cell.metadata)
            if NBVAL_IGNORE in source.splitlines():  # nbval's tag instead of a comment students would read
                source = "\n".join(line for line in source.splitlines() if line != NBVAL_IGNORE)
                metadata["tags"] = [*metadata.get("tags", []), "nbval-ignore-output"]
            new = nbformat.v4.new_code_cell(source, metadata=metadata)
        elif cell.cell_type == "markdown":
            new = nbformat.v4.new_markdown_cell(strip_answers(cell.source, where), metadata=dict(cell.metadata))
        else:
            new = nbformat.v4.new_raw_cell(cell.source, metadata=dict(cell.metadata))
        new.pop("id", None)
        student.cells.append(new)
    return student


def render(path: Path) -> str:
    """The student notebook of the solution notebook ``path``, as text."""
    notebook = nbformat.read(path, as_version=4)
    student = student_version(notebook, path.name)
    for index, cell in enumerate(student.cells):  # stable ids keep the diff small
        cell["id"] = f"{path.stem[:40]}-{index}"
    return nbformat.writes(student) + "\n"


def cells(text: str) -> list[tuple[str, str, tuple]]:
    """A notebook's cells as (type, source, tags): what matters for staleness; metadata such as
    JupyterLab's kernelspec, outputs and execution counts do not count."""
    notebook = nbformat.reads(text, as_version=4)
    return [(c.cell_type, c.source, tuple(c.get("metadata", {}).get("tags", []))) for c in notebook.cells]


def committed(path: Path) -> str | None:
    """``path`` as committed in git's HEAD, or None (no git, or not committed)."""
    try:
        relative = path.resolve().relative_to(ROOT)
        result = subprocess.run(["git", "-C", str(ROOT), "show", f"HEAD:{relative.as_posix()}"],
                                capture_output=True, text=True, timeout=30)
    except (ValueError, OSError, subprocess.SubprocessError):
        return None
    return result.stdout if result.returncode == 0 else None


RECORD = ".generated.json"  # in the student folder: the SHA-256 of each notebook as last generated


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def has_local_edits(target: Path) -> bool:
    """True when ``target`` exists and is not the notebook this tool last wrote there (its
    SHA-256 is in :data:`RECORD`): someone, a student, has edited it since, whether the edit is
    saved only or committed too. Without a record of it: when it differs from its committed version."""
    if not target.exists():
        return False
    text = target.read_text()
    record = target.parent / RECORD
    generated = json.loads(record.read_text()).get(target.name) if record.exists() else None
    if generated is None:
        return text != committed(target)
    return _sha(text) != generated


def is_stale(target: Path, text: str) -> bool:
    """True when ``target`` is missing, or is untouched since this tool generated it and its
    cells differ from those of ``text`` (the instructor changed ``solutions/`` and did not run
    `make notebooks`). A notebook someone edited since, saved or committed, is theirs: never
    stale, so a student's work never turns the tests red."""
    if not target.exists():
        return True
    if has_local_edits(target):
        return False
    try:
        return cells(target.read_text()) != cells(text)
    except Exception:  # a broken copy is a student's business, not staleness
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Make the student notebooks from the solution notebooks.")
    parser.add_argument("--check", action="store_true", help="only report stale student notebooks")
    parser.add_argument("--force", action="store_true", help="overwrite notebooks that have local edits")
    parser.add_argument("--solutions", type=Path, default=ROOT / "solutions")
    parser.add_argument("--out", type=Path, default=ROOT / "notebooks")
    args = parser.parse_args(argv)
    stale, kept = [], []
    args.out.mkdir(parents=True, exist_ok=True)
    for path in sorted(args.solutions.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        setup = next(c for c in notebook.cells if c.cell_type == "code")
        if not args.check and ("widgets" in notebook.metadata or setup.source != SETUP_CELL):
            notebook.metadata.pop("widgets", None)  # saved widget state
            setup.source = SETUP_CELL  # the one set-up cell
            nbformat.write(notebook, path)
        text, target = render(path), args.out / path.name
        if args.check:
            if is_stale(target, text):
                stale.append(target)
            continue
        if target.exists() and target.read_text() == text:
            continue
        if has_local_edits(target) and not args.force:
            kept.append(target)
            continue
        target.write_text(text)
        record = args.out / RECORD
        written = json.loads(record.read_text()) if record.exists() else {}
        record.write_text(json.dumps({**written, target.name: _sha(text)}, indent=1, sort_keys=True) + "\n")
        print(f"wrote {target}")
    extra = sorted({p.name for p in args.out.glob("*.ipynb")} - {p.name for p in args.solutions.glob("*.ipynb")})
    for name in extra:
        print(f"{args.out / name} has no solution notebook", file=sys.stderr)
    for target in kept:
        print(f"kept {target}: it was edited after it was generated (a student's work?). Move it, "
              f"or pass --force to replace it.", file=sys.stderr)
    if args.check and (stale or extra):
        print("stale student notebooks (an instructor runs `make notebooks`): "
              + ", ".join(map(str, stale)), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
