"""Driving JupyterLab in a real browser for the tests: a JupyterLab started beside a test
server, a page of the machine's own headless Chromium (Debian's, through Playwright), and the
steps every browser test takes (Run All once the notebook's kernel is connected)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from infinity_workflows.getting_started import init_folder
from tests.support.server import LiveServer, cli_env, free_port
from tests.support.waiting import wait_for

__all__ = ["CHROMIUM_ARGS", "KERNEL_READY", "WAIT_MS", "chromium_page", "chromium_path",
           "run_all_cells", "running_lab"]

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]
WAIT_MS = 180_000  # kernels start slowly on a busy two-core machine
KERNEL_READY = """() => {
    const kernel = window.jupyterapp?.shell?.currentWidget?.sessionContext?.session?.kernel;
    return !!kernel && kernel.connectionStatus === "connected" && kernel.status === "idle";
}"""


def chromium_path() -> str:
    path = shutil.which("chromium")
    if path:
        return path
    reason = ("Debian's chromium is not on PATH (apt-get install chromium; .ci/run does it), "
              "so the browser test cannot run")
    if os.environ.get("IW_REQUIRE_BROWSER") == "1":
        pytest.fail(reason + " and IW_REQUIRE_BROWSER=1 requires it")
    pytest.skip(reason)


def _settings(folder: Path) -> Path:
    """JupyterLab user settings: no windowed rendering (every cell is in the DOM), no news
    or update checks, and widget state saved with the notebook, so the test can prove the
    token never reaches it."""
    files = {
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
            "fetchNews": "false", "checkForUpdates": False},
        "@jupyter-widgets/jupyterlab-manager/plugin.jupyterlab-settings": {"saveState": True},
    }
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data))
    return folder


@contextmanager
def running_lab(server: LiveServer, tmp_path: Path, **extra_env: str) -> Iterator[dict]:
    """JupyterLab rooted in a temporary copy of the notebooks, beside ``server``; its kernels
    see ``extra_env`` too."""
    chromium = chromium_path()

    root = tmp_path / "lab"
    (root / "visionfit").mkdir(parents=True)
    init_folder(root / "visionfit")  # the create notebook, as `infinity-workflows init` writes it
    port, lab_token = free_port(), "browser-test-lab-token"
    env = {**cli_env(server.home, tmp_path / "config"),
           "INFINITY_SERVER_URL": server.url,
           # Inside the folder JupyterLab serves, as the README asks: review links files.
           "INFINITY_WORKFLOWS_DOWNLOADS": str(root / "downloads"),
           "JUPYTERLAB_SETTINGS_DIR": str(_settings(tmp_path / "lab-settings")),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "lab-workspaces"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), **extra_env}
    log = (tmp_path / "jupyterlab.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}",
         "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={lab_token}",
         f"--ServerApp.root_dir={root}", "--allow-root", "--LabApp.expose_app_in_browser=True"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"

    def answers() -> bool:
        try:
            return requests.get(url + "api/status", timeout=2,
                                headers={"Authorization": f"token {lab_token}"}).ok
        except requests.RequestException:
            return False

    try:
        wait_for(lambda: answers() or proc.poll() is not None, timeout=120, what="JupyterLab")
        assert proc.poll() is None, (tmp_path / "jupyterlab.log").read_text()[-3000:]
        yield {"url": url, "lab_token": lab_token, "root": root, "server": server,
               "chromium": chromium, "downloads": root / "downloads"}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def chromium_page(lab) -> Iterator[Any]:
    """A page of a headless Chromium (the machine's own), closed afterwards."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=lab["chromium"], headless=True,
                                    args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.set_default_timeout(WAIT_MS)
            expect.set_options(timeout=WAIT_MS)
            yield page
        finally:
            browser.close()


def run_all_cells(page: Any) -> None:
    """Run All in the notebook shown. "Run All" sent before this notebook's kernel is
    connected runs nothing, and no element says so reliably (the status bar can still show
    the previous tab's idle kernel), so the application itself is asked first."""
    page.wait_for_function(KERNEL_READY, timeout=WAIT_MS)
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Run$")).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
