"""Shared fixtures: hermetic caches and a dead proxy that makes any download fail at once."""

from __future__ import annotations

import socket

import pytest


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


@pytest.fixture(scope="session")
def random_vgg():
    """The paper's loss network with seeded random weights (no ImageNet weights in tests)."""
    from course_lib.vgg import RandomWeightsWarning, VGGFeatures

    with pytest.warns(RandomWeightsWarning):
        return VGGFeatures(weights=None)
