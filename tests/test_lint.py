"""ruff over the library, the tests, the tools and the benchmarks: pyflakes' errors (unused
imports and names, undefined names), bugbear's likely bugs, and sorted imports; mypy over
the typed core of the library."""

import subprocess
import sys
from pathlib import Path

from helpers import ROOT


def test_ruff_finds_nothing():
    """Plain `ruff check`, as a developer runs it: the rules and files are pyproject.toml's [tool.ruff]."""
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert "course_lib/" in subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--show-files"],
                                           cwd=ROOT, capture_output=True, text=True, timeout=120).stdout
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing():
    """The type check of the modules pyproject.toml's [tool.mypy] lists. Its incremental cache
    lives in the running environment (the venv, never the home folder or the checkout), so a
    warm venv checks in seconds what a fresh one checks in half a minute."""
    cache = Path(sys.prefix) / ".mypy_cache"
    result = subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", str(cache)], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
