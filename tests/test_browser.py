"""A student's path in a real browser: JupyterLab on 127.0.0.1, Chromium driven by Playwright,
a student notebook run to the end, and the Gatys panel rendered as widgets, clicked, updated.

Chromium comes from Debian (`apt-get install chromium`; .ci/run installs it when it is missing
and it runs as root); Playwright cannot download browsers here. Without Chromium or Playwright
the test is skipped, and says how to get them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from conftest import STUDENT_COPIES

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Playwright runs it headless, with a fresh profile of its own
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--no-first-run", "--disable-sync", "--disable-quic"]

pytestmark = [pytest.mark.browser, pytest.mark.skipif(
    CHROMIUM is None, reason="needs Chromium: `sudo apt-get install chromium` (Debian/Ubuntu); .ci/run installs it")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lab(tmp_path):
    """JupyterLab serving a copy of the student notebooks, with the news pop-up switched off."""
    root = tmp_path / "course"
    shutil.copytree(STUDENT_COPIES, root)
    settings = tmp_path / "lab-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false",
                                                                           "checkForUpdates": False}))
    port = free_port()
    # the smallest sizes the notebook accepts: this test checks the student's path through the
    # browser (the cells run, the widgets render and respond); nbval runs the notebook at fast size
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "lab-settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"),
               COURSE_PRESET="image_size=48,style_size=48,gatys_steps=4")
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
               "--ServerApp.token=", "--ServerApp.password=", "--LabApp.expose_app_in_browser=True",
               f"--ServerApp.root_dir={root}", "--allow-root"]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              start_new_session=True)
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            with direct.open(f"http://127.0.0.1:{port}/api/status", timeout=5):
                break
        except OSError:
            time.sleep(0.5)
    else:
        server.kill()
        pytest.fail(f"JupyterLab did not start: {server.stderr.read().decode()[-2000:]}")
    yield f"http://127.0.0.1:{port}", root
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)


def test_student_runs_notebook_3_and_the_panel_responds(lab, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api", reason="needs Playwright: pip install playwright")
    url, _ = lab
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(f"{url}/lab/tree/03_gatys.ipynb", timeout=120_000)
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
            page.wait_for_function("""() => {  // the notebook's kernel has started and is idle
                const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
                const kernel = panel && panel.sessionContext && panel.sessionContext.session
                               && panel.sessionContext.session.kernel;
                return kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle';
            }""", timeout=180_000, polling=500)
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            # done when every code cell has a number in its prompt and none is running ([*])
            page.wait_for_function("""() => {
                const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
                return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
            }""", timeout=600_000, polling=1000)
            errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']")
            assert errors.count() == 0, errors.first.inner_text()[:2000]
            assert "HBox(children" not in page.locator(".jp-Notebook").inner_text()  # widgets, not their repr
            run = page.locator(".jp-OutputArea .widget-button", has_text="Run")
            run.scroll_into_view_if_needed()
            assert run.is_visible()
            preview = page.locator(".jp-OutputArea .widget-image").first
            before = preview.get_attribute("src")
            run.click()
            page.wait_for_function("([el, old]) => el.getAttribute('src') !== old",
                                   arg=[preview.element_handle(), before], timeout=300_000, polling=1000)
            page.locator(".jp-OutputArea .widget-image").nth(1).wait_for(state="visible", timeout=60_000)
        finally:
            page.screenshot(path=str(tmp_path / "lab.png"), full_page=False)
            browser.close()
