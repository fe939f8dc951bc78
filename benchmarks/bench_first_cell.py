"""The create notebook's first impression: seconds from a warm kernel to its widgets.

Starts JupyterLab (the project's venv, a temporary folder set up as ``infinity-workflows
init`` does) and drives it with the machine's Chromium through Playwright, as a user would:
open ``create_a_workflow.ipynb``, wait until its kernel is connected and idle (a warm
kernel), run the first code cell, and time until the **Get Generators** button shows.
Each round restarts the kernel first, so every round pays the toolkit's imports afresh.
Target: within 3 s.

    .venv/bin/python benchmarks/bench_first_cell.py [--rounds 5] [--hog]

``--hog`` runs a CPU hog (one busy process per core) beside it, as a loaded machine would.
Needs Debian's ``chromium`` on PATH (``apt-get install chromium``).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]
KERNEL_READY = """() => {
    const kernel = window.jupyterapp?.shell?.currentWidget?.sessionContext?.session?.kernel;
    return !!kernel && kernel.connectionStatus === "connected" && kernel.status === "idle";
}"""
# A fresh kernel process (the imports are paid again) and no output left from the round.
RESTART_KERNEL = """async () => {
    await window.jupyterapp.commands.execute("notebook:clear-all-cell-outputs");
    await window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart();
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _hog() -> None:
    deadline = time.monotonic() + 3600  # ends by itself even if orphaned
    while time.monotonic() < deadline:
        pass


def _start_lab(folder: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    from infinity_workflows.getting_started import init_folder

    init_folder(folder / "work")
    settings = folder / "settings" / "@jupyterlab/notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    port, token = _free_port(), "bench-first-cell"
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(folder / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(folder / "workspaces"),
           "JUPYTER_RUNTIME_DIR": str(folder / "runtime")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}",
         "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={folder / 'work'}", "--allow-root",
         "--LabApp.expose_app_in_browser=True"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=folder,
        start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "api/status", timeout=2,
                            headers={"Authorization": f"token {token}"}).ok:
                return proc, url, token
        except requests.RequestException:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("JupyterLab did not answer within 180 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--hog", action="store_true", help="a busy process per core beside it")
    args = parser.parse_args()
    chromium = shutil.which("chromium")
    if not chromium:
        sys.exit("Debian's chromium is not on PATH: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    hogs = [multiprocessing.Process(target=_hog, daemon=True)
            for _ in range(os.cpu_count() or 1)] if args.hog else []
    for hog in hogs:
        hog.start()
    seconds: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        proc, url, token = _start_lab(Path(tmp))
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.set_default_timeout(300_000)
                page.goto(f"{url}lab/tree/create_a_workflow.ipynb?token={token}")
                panel = page.locator(".jp-NotebookPanel:visible")
                cell = panel.locator(".jp-CodeCell").first
                button = panel.locator("button.widget-button", has_text="Get Generators")
                for round_ in range(args.rounds + 1):  # round 0 warms the file cache
                    page.wait_for_function(KERNEL_READY, timeout=300_000)
                    cell.click()
                    started = time.perf_counter()
                    page.keyboard.press("Control+Enter")
                    button.wait_for(state="visible")
                    if round_:
                        seconds.append(time.perf_counter() - started)
                    page.evaluate(RESTART_KERNEL)
                    button.wait_for(state="detached")
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=60)
            for hog in hogs:
                hog.terminate()
    load = os.getloadavg()[0]
    print(f"first cell to widgets, warm kernel, {args.rounds} rounds"
          f"{' with a CPU hog per core' if args.hog else ''} (load average {load:.1f}): "
          f"median {statistics.median(seconds):.2f} s, max {max(seconds):.2f} s "
          f"(target <= 3 s); all: {', '.join(f'{s:.2f}' for s in seconds)}")


if __name__ == "__main__":
    main()
