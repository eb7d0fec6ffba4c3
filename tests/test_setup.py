"""The project's two commands: the README's lab command really serves JupyterLab, and the
test command is what CI runs."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1, never a proxy


def readme_command(purpose):
    """The command in the README's set-up block that is commented with ``purpose``."""
    match = re.search(rf"^(\S.*?)\s+#\s*{purpose}", README, re.MULTILINE)
    assert match, f"README shows no command for {purpose!r}"
    return match.group(1)


def test_readme_has_exactly_the_two_commands_and_ci_runs_the_test_one():
    assert readme_command("open the course") == "make lab"
    assert readme_command("run all tests") == "make test"
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.MULTILINE)


def test_environment_yml_uses_the_same_pins():
    env = (ROOT / "environment.yml").read_text()
    assert "python=3.11" in env and "-r requirements.txt" in env and "-e ." in env


def test_import_and_cli():
    out = subprocess.run([sys.executable, "-m", "course_lib", "info"], capture_output=True,
                         text=True, check=True, cwd=ROOT).stdout
    for setting in ("COURSE_DEVICE", "COURSE_MODE", "COURSE_DATA", "COURSE_CACHE", "COURSE_VGG_WEIGHTS",
                    "COURSE_PROGRESS", "COURSE_PRESET"):
        assert setting in out
    from course_lib.caffe_vgg import SHA256

    assert "caffe: the paper's VGG-16 (Simonyan & Zisserman), from " in out and SHA256 in out  # its source and hash


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_lab_command_serves_jupyterlab(tmp_path):
    port, token = free_port(), "course-test-token"
    env = dict(os.environ, JUPYTER_TOKEN=token, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
               JUPYTER_CONFIG_DIR=str(tmp_path / "config"))
    command = readme_command("open the course").split() + [f"PORT={port}", "LAB_ARGS=--no-browser"]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline, status = time.time() + 180, None
        while time.time() < deadline and proc.poll() is None:
            try:
                with DIRECT.open(f"http://127.0.0.1:{port}/api/status?token={token}",
                                            timeout=5) as response:
                    status = response.status
                    break
            except OSError:
                time.sleep(1)
        if status != 200:
            log = proc.stdout.read().decode() if proc.poll() is not None else "(still starting)"
            pytest.fail(f"`make lab` did not serve JupyterLab within 180 s:\n{log[-3000:]}")
        with DIRECT.open(f"http://127.0.0.1:{port}/lab?token={token}", timeout=10) as response:
            page = response.read().decode()
        assert "JupyterLab" in page
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    with pytest.raises(OSError):  # stopped: nothing answers any more
        DIRECT.open(f"http://127.0.0.1:{port}/api/status", timeout=2)


def test_make_passes_data_folders_as_absolute_paths():
    """Kernels run in the notebook's folder, so `COURSE_DATA=../shared/data make notebooks`
    must hand them an absolute path."""
    env = dict(os.environ, COURSE_DATA="../shared/data", COURSE_CACHE="cache-here")
    out = subprocess.run(["make", "-p", "-n", "clean"], cwd=ROOT, env=env, capture_output=True,
                         text=True, check=True).stdout
    assert f"COURSE_DATA := {os.path.normpath(ROOT / '../shared/data')}" in out
    assert f"COURSE_CACHE := {ROOT / 'cache-here'}" in out
