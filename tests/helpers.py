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
    from course_lib.__main__ import main

    try:
        code = main([str(a) for a in args])
    except SystemExit as stop:  # argparse
        code = stop.code
    out = capsys.readouterr()
    return code, out.out, out.err
