"""What several test modules share: where the course's real images are, and the CLI in-process."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# COURSE_DATA when set (as .ci/run does), else the images beside the project
SHARED = Path(os.environ.get("COURSE_DATA") or ROOT.parent / "shared" / "data")
needs_shared = pytest.mark.skipif(not (SHARED / "sr" / "Set5").is_dir(),
                                  reason=f"needs the course's real images (styles, content, train photos and the "
                                         f"Set5/Set14/BSD100 benchmarks; looked in {SHARED}): set COURSE_DATA to a "
                                         f"folder laid out as README.md's Images section says, or fetch them with "
                                         f"`python -m course_lib download`")


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    """``python -m course_lib ARGS`` in this process: (exit code, stdout, stderr)."""
    from course_lib.cli import main

    try:
        code = main([str(a) for a in args])
    except SystemExit as stop:  # argparse
        code = stop.code
    out = capsys.readouterr()
    return code, out.out, out.err


def cli_process(*args, env: dict | None = None, **kwargs):
    """``python -m course_lib ARGS`` as a child process (CPU; the environment plus ``env``)."""
    import subprocess
    import sys

    return subprocess.Popen([sys.executable, "-m", "course_lib", *map(str, args)], cwd=ROOT,
                            env={**os.environ, "COURSE_DEVICE": "cpu", **(env or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def wait_for(path: Path, proc, timeout: float = 300) -> None:
    """Until ``path`` exists, ``proc`` ends, or ``timeout`` seconds pass."""
    import time

    deadline = time.time() + timeout
    while not path.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.01)


def kill_and_resume(args: list, out: Path, steps: int, env: dict | None = None):
    """The shared kill-and-resume: a run of ``args`` + ``--out out`` started with far more steps
    than ``steps``, so that it cannot end before it is killed, SIGKILLed as soon as its first
    checkpoint exists, then resumed to ``steps``. Returns (the step it was killed at, the resumed
    run's stderr)."""
    import signal

    from course_lib.checkpoints import read

    checkpoint = out / "checkpoint.pt"
    victim = cli_process(*args, "--out", out, "--steps", 100 * steps, env=env)
    wait_for(checkpoint, victim)
    victim.send_signal(signal.SIGKILL)
    assert victim.wait(timeout=60) == -signal.SIGKILL, victim.stderr.read()
    killed_at = read(checkpoint)["step"]
    assert 0 < killed_at < steps, f"killed at step {killed_at}, not before {steps}: checkpoint more often"
    resumed = cli_process(*args, "--out", out, "--steps", steps, env=env)
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    return killed_at, err
