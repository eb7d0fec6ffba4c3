"""The notebooks' sources: jupytext pairs in sync, student versions fresh and free of solutions,
one set-up cell everywhere, every notebook built to the course's pattern, and a student's
saved work that no test or make target breaks or overwrites."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest
from helpers import ROOT
from make_student import MARKER, SETUP_CELL, is_stale, render

SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))


def test_there_are_notebooks():
    assert [p.stem for p in SOLUTIONS][:5] == ["01_per_pixel_loss", "02_loss_network", "03_gatys",
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
    assert student.exists() and not is_stale(student, render(path)), \
        "notebooks/ is stale: an instructor runs `make notebooks`"
    assert nbformat.read(student, as_version=4).metadata.get("kernelspec", {}).get("name") == "python3"  # opens as is
    solution_lines, other_lines, inside = set(), set(), False
    for cell in nbformat.read(path, as_version=4).cells:
        for line in cell.source.splitlines():
            match = MARKER.match(line)
            if match:
                inside = match.group(2) == "BEGIN"
            elif line.strip():
                (solution_lines if inside else other_lines).add(line.strip())
    student_text = "\n".join(c.source for c in nbformat.reads(render(path), as_version=4).cells)
    # lines that only a solution has (not generic ones like `with torch.no_grad():` used elsewhere too)
    leaked = (solution_lines - other_lines) & {line.strip() for line in student_text.splitlines()}
    assert not leaked and "### BEGIN" not in student_text and "BEGIN ANSWER" not in student_text


@pytest.mark.parametrize("path", SOLUTIONS + sorted((ROOT / "notebooks").glob("*.ipynb")),
                         ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_one_set_up_cell_in_every_notebook(path):
    """The first code cell is the one set-up cell, word for word, with its commands live (not
    commented out): a Colab badge then installs the course before anything imports it."""
    first = next(c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    assert first.source == SETUP_CELL, f"{path.name}: first code cell is not tools/make_student.py's SETUP_CELL"
    assert re.search(r"^    !git clone .* pip install", first.source, re.MULTILINE)


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_notebook_follows_the_course_pattern(path):
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0].source
    assert "colab-badge.svg" in first and f"notebooks/{path.name}" in first
    assert "Learning goals" in first
    assert any("course_lib.setup()" in c.source for c in nb.cells if c.cell_type == "code")
    for before, cell in zip(nb.cells, nb.cells[1:]):
        # a markdown cell says what and why before each code cell; only an exercise's check
        # cell may follow the exercise directly
        if cell.cell_type == "code" and before.cell_type == "code":
            assert re.search(r"^\w+ = check\(", cell.source, re.MULTILINE), \
                f"code cell without a markdown cell before it:\n{cell.source[:200]}"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "store solutions fully executed (`make notebooks`)"
    assert "widgets" not in nb.metadata, "widget state is stored: strip it"


@pytest.fixture
def clone(tmp_path):
    """A git clone of this checkout's committed state, with the working tree's tools, solutions
    and tests, and its student notebooks generated afresh from those solutions (never copied
    from this checkout's notebooks/, which may hold the tester's own answers): a student's copy
    of the course as the instructor published it."""
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("needs a git checkout")
    target = tmp_path / "course"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(ROOT), str(target)], check=True)
    for folder in ("tools", "solutions", "tests"):
        shutil.rmtree(target / folder, ignore_errors=True)
        shutil.copytree(ROOT / folder, target / folder, ignore=shutil.ignore_patterns("notebooks", "__pycache__"))
    shutil.rmtree(target / "notebooks")
    subprocess.run([sys.executable, str(target / "tools" / "make_student.py")], check=True, capture_output=True)
    git = ["git", "-C", str(target), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "working tree", "--allow-empty"], check=True)
    return target


def save_like_jupyterlab(path: Path, answer: str) -> None:
    """Edit and save a notebook through jupyter_server's contents manager, as JupyterLab does:
    kernelspec metadata added, an exercise answered, outputs and execution counts stored."""
    from jupyter_server.services.contents.filemanager import FileContentsManager

    manager = FileContentsManager(root_dir=str(path.parent))
    model = manager.get(path.name, content=True)
    notebook = model["content"]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                       "language": "python"}
    for exercise in (c for c in notebook.cells if "raise NotImplementedError()" in c.source):
        exercise.source = exercise.source.replace("raise NotImplementedError()", answer)  # every exercise
    exercise.outputs = [nbformat.v4.new_output("stream", text="PASS\n")]
    exercise.execution_count = 7
    manager.save({"type": "notebook", "format": "json", "content": notebook}, path.name)


@pytest.mark.parametrize("commit", [False, True], ids=["saved", "committed"])
@pytest.mark.slow
def test_a_students_saved_notebook_keeps_tests_green_and_is_never_overwritten(clone, commit):
    student = clone / "notebooks" / "01_per_pixel_loss.ipynb"
    save_like_jupyterlab(student, "return ((output - target) ** 2).mean()  # my answer")
    edited = student.read_text()
    if commit:  # what a student using git naturally does
        subprocess.run(["git", "-C", str(clone), "-c", "user.name=s", "-c", "user.email=s@s", "commit", "-q",
                        "-am", "my answers"], check=True)
    sys_path = [sys.executable, str(clone / "tools" / "make_student.py")]
    check = subprocess.run([*sys_path, "--check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr  # the staleness check stays green
    rebuild = subprocess.run(sys_path, capture_output=True, text=True)  # what `make notebooks` runs
    assert rebuild.returncode == 0 and "kept" in rebuild.stderr and "01_per_pixel_loss" in rebuild.stderr
    assert student.read_text() == edited  # the student's answer survives
    # the course's own tests of notebooks/, run in the student's clone, stay green
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_notebooks.py",
                            "-k", "not students_saved and not wheel"], cwd=clone, capture_output=True, text=True,
                           timeout=600)
    assert tests.returncode == 0, tests.stdout[-3000:]
    assert is_stale(clone / "notebooks" / "none.ipynb", render(SOLUTIONS[0]))


@pytest.mark.packaging
def test_the_wheel_carries_the_manifest_and_not_the_instructor_tools(tmp_path):
    source = tmp_path / "source"  # a copy, so that the build leaves nothing in the checkout
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".venv", ".git", "*.ipynb", "tests", "__pycache__"))
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                             "-w", str(tmp_path), str(source)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    import zipfile

    names = zipfile.ZipFile(next(tmp_path.glob("*.whl"))).namelist()
    assert "course_lib/manifest.json" in names
    assert not any("make_student" in name for name in names)
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "course_lib").rglob("*.py") if "__pycache__" not in p.parts}
    assert modules <= set(names), sorted(modules - set(names))  # every sub-package (cli/, translation/, …)
    assert {f"course_lib/models/{p.name}" for p in (ROOT / "course_lib" / "models").glob("*.pt")} <= set(names)
    output = result.stdout + result.stderr
    assert "is absent from the" not in output and "deprecated" not in output.lower(), output[-2000:]  # no warnings


def test_notebook_1s_stored_demo_shows_its_lesson():
    """Question 2 says the l_pixel CNN's PSNR is above bicubic's: its stored output must say so."""
    nb = nbformat.read(ROOT / "solutions" / "01_per_pixel_loss.ipynb", as_version=4)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    line = next(line for line in text.splitlines() if line.startswith("PSNR (dB):"))
    bicubic = float(re.search(r"bicubic ([\d.]+)", line).group(1))
    cnn = float(re.search(r"CNN, ℓ_pixel ([\d.]+)", line).group(1))
    assert cnn > bicubic, line


def test_notebook_5s_stored_student_run_stays_near_bicubic():
    """The student's l_feat run starts at bicubic and warms up: its stored PSNR must end within
    1 dB of bicubic's on the same blurred inputs, on every scored set (no collapse)."""
    nb = nbformat.read(ROOT / "solutions" / "05_super_resolution.ipynb", as_version=4)
    text = "".join(str(o.get("data", {}).get("text/markdown", "")) for c in nb.cells if c.cell_type == "code"
                   for o in c.get("outputs", []))
    rows = {name: [float(p) for p in re.findall(r"\| ([\d.]+) /", line)]
            for name in ("bicubic, blurred inputs", "your ℓ_feat network")
            for line in text.splitlines() if line.startswith(f"| {name} |")}
    bicubic, mine = rows["bicubic, blurred inputs"], rows["your ℓ_feat network"]
    assert bicubic and len(mine) == len(bicubic), rows
    assert all(m >= b - 1.0 for m, b in zip(mine, bicubic)), rows
