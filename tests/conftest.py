"""Shared fixtures, a hermetic home for the whole session, and the student notebooks nbval runs.

Before collection (``pytest_configure``):
- HOME, the course cache, TORCH_HOME, and the Jupyter, IPython, matplotlib and XDG folders
  point into one temporary folder, so the suite writes nothing into the user's home and
  reuses nothing from an earlier run. The notebooks' kernels inherit these variables.
- The student notebooks are generated afresh from ``solutions/`` into ``tests/notebooks/``
  (ignored by git) and nbval runs those: a student's edited copy in ``notebooks/`` is never
  executed or touched by the tests. A run that deselects them (``-m "not notebooks"``, or
  ``make test-fast``) neither generates nor collects them.

``make test`` runs the suite in parallel (pytest-xdist, ``-n 2 --dist loadscope``: each test
file, and each notebook's cells, stay on one worker). The controller makes the student copies
before the workers start; each worker has its own hermetic home, and shares the cores with the
others (``OMP_NUM_THREADS``, unless set, is the CPU count over the worker count; the notebooks'
kernels inherit it), so that two workers on two cores do not fight over them.

Tiers (markers, all run by ``make test``): ``notebooks`` (nbval over the student copies),
``browser`` (JupyterLab in Chromium), ``packaging`` (a fresh install of the wheel) and ``slow``
(these three, and any test marked so); ``make test-fast`` runs ``-m "not slow"``.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import tempfile
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STUDENT_COPIES = ROOT / "tests" / "notebooks"


def pytest_configure(config):
    home = Path(tempfile.mkdtemp(prefix="course-tests-"))
    config._course_home = home
    os.environ["HOME"] = str(home)
    os.environ["COURSE_CACHE"] = str(home / "course_cache")
    for variable, folder in [("TORCH_HOME", "torch"), ("MPLCONFIGDIR", "matplotlib"),
                             ("IPYTHONDIR", "ipython"), ("JUPYTER_CONFIG_DIR", "jupyter/config"),
                             ("JUPYTER_DATA_DIR", "jupyter/data"), ("JUPYTER_RUNTIME_DIR", "jupyter/runtime"),
                             ("XDG_CACHE_HOME", "xdg/cache"), ("XDG_CONFIG_HOME", "xdg/config"),
                             ("XDG_DATA_HOME", "xdg/data")]:
        os.environ[variable] = str(home / folder)
    sys.path.insert(0, str(ROOT / "tools"))
    if os.environ.get("PYTEST_XDIST_WORKER"):  # a worker of ``make test``'s ``-n``: see the docstring
        workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
        os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // workers)))
        return
    shutil.rmtree(STUDENT_COPIES, ignore_errors=True)
    if _selects_notebooks(config.option.markexpr):
        from make_student import render

        STUDENT_COPIES.mkdir()
        for solution in sorted((ROOT / "solutions").glob("*.ipynb")):
            (STUDENT_COPIES / solution.name).write_text(render(solution))


def pytest_collection_modifyitems(config, items):
    """nbval's items get the ``notebooks`` marker; every item of a long tier is also ``slow``."""
    for item in items:
        if Path(str(item.fspath)).suffix == ".ipynb":
            item.add_marker(pytest.mark.notebooks)
        if any(item.get_closest_marker(tier) for tier in ("notebooks", "browser", "packaging")):
            item.add_marker(pytest.mark.slow)


def _selects_notebooks(markexpr: str) -> bool:
    """Whether ``-m`` keeps nbval's items (marked notebooks and slow): only then are copies made."""
    from _pytest.mark.expression import Expression  # pytest's own parser of -m expressions

    return not markexpr or Expression.compile(markexpr).evaluate(lambda mark, **_: mark in ("notebooks", "slow"))


def pytest_unconfigure(config):
    home = getattr(config, "_course_home", None)
    if home is not None:
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty course cache folder, with COURSE_DATA unset."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("COURSE_CACHE", str(folder))
    monkeypatch.delenv("COURSE_DATA", raising=False)
    return folder


@pytest.fixture
def offline(monkeypatch):
    """Route HTTP(S) through a proxy port nobody listens on, so downloads fail fast even on a
    machine that has internet (urllib honours these variables)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(var, f"http://127.0.0.1:{port}")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    # urlopen caches an opener with the proxies of its first call: keep this one out of later tests
    monkeypatch.setattr(urllib.request, "_opener", None)


@pytest.fixture(scope="session")
def random_vgg():
    """The paper's loss network with seeded random weights, for the tests of mechanics (the
    training loop, resume, the objectives' arithmetic, the CLI's checks), whose outcome does not
    depend on what the weights learned, and whose loss weights suit this network's activation
    scale. What the real network does is tested with it: test_caffe_vgg.py, the README tour and
    the notebooks run the paper's VGG-16."""
    from course_lib.vgg import VGGFeatures
    from course_lib.vgg_weights import RandomWeightsWarning

    with pytest.warns(RandomWeightsWarning):
        return VGGFeatures(weights=None)

