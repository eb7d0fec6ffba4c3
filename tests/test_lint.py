"""ruff over the library, the tests, the tools and the benchmarks: pyflakes' errors (unused
imports and names, undefined names), bugbear's likely bugs, and sorted imports; mypy over
the typed core of the library."""

import subprocess
import sys

from helpers import ROOT


def test_ruff_finds_nothing():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--select", "F,B,E9,I",
                             "--ignore", "B905", "--line-length", "120", "course_lib", "tests", "tools", "benchmarks"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing():
    """The type check of the modules pyproject.toml's [tool.mypy] lists (no cache is written)."""
    result = subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", "/dev/null"], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
