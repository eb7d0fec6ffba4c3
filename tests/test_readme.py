import pytest

"""The README's command-line tour runs as written (in a temporary folder, offline)."""

import re
import shlex
import subprocess
import sys

from helpers import ROOT

README = (ROOT / "README.md").read_text()


def tour() -> list[str]:
    section = README.split("## The command line: a tour", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL).group(1)
    return [line for line in block.splitlines() if line.strip()]


@pytest.mark.slow
def test_the_tour_runs_as_written(tmp_path, offline):
    commands = tour()
    assert len(commands) >= 8 and all(c.startswith(".venv/bin/python -m course_lib ") for c in commands)
    env = {**__import__("os").environ, "COURSE_DEVICE": "cpu", "COURSE_VGG_WEIGHTS": "auto"}  # the paper's network
    env.pop("COURSE_DATA", None)
    for command in commands:
        args = shlex.split(command)
        result = subprocess.run([sys.executable, *args[1:]], cwd=tmp_path, env=env, capture_output=True, text=True,
                                timeout=600)
        assert result.returncode == 0, f"{command}\n{result.stderr[-2000:]}"
    assert (tmp_path / "out" / "chelsea-x4.png").exists() and (tmp_path / "out" / "coffee-from-edges.png").exists()
    assert len(list((tmp_path / "out" / "stylized").iterdir())) == 3
