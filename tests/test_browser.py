"""The whole workflow in a real browser: headless Chromium (Debian's, via Playwright) drives
JupyterLab started by the test, against a real local server.

Create notebook -> Get Generators -> Create Notebook -> Submit notebook (Previews, Submit,
Confirm) -> Download notebook (Wait and Download) -> preview images; the portal's Cancel and
a video playing on a job's row. Screenshots of every step go to tests/artifacts/browser/.
Without a ``chromium`` on PATH the test is skipped, unless ``IW_REQUIRE_BROWSER=1`` (set by
.ci/run), which makes a missing browser a failure.
"""

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

import nbformat
import pytest
import requests

from infinity_workflows.getting_started import init_folder
from tests.conftest import ARTIFACTS
from tests.support.server import LiveServer, cli_env, free_port
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow]

GENERATOR = "visionfit-flagship-v0.1.0"
SHOTS = ARTIFACTS / "browser"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]
WAIT_MS = 180_000  # kernels start slowly on a busy two-core machine
KERNEL_READY = """() => {
    const kernel = window.jupyterapp?.shell?.currentWidget?.sessionContext?.session?.kernel;
    return !!kernel && kernel.connectionStatus === "connected" && kernel.status === "idle";
}"""


def _chromium() -> str:
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


@pytest.fixture
def lab(server: LiveServer, tmp_path: Path):
    """JupyterLab rooted in a temporary copy of the notebooks, beside the session's server
    (VisionFit among its generators)."""
    chromium = _chromium()

    root = tmp_path / "lab"
    (root / "visionfit").mkdir(parents=True)
    init_folder(root / "visionfit")  # the create notebook, as `infinity-workflows init` writes it
    port, lab_token = free_port(), "browser-test-lab-token"
    env = {**cli_env(server.home, tmp_path / "config"),
           "INFINITY_SERVER_URL": server.url,
           "INFINITY_WORKFLOWS_DOWNLOADS": str(tmp_path / "downloads"),
           "JUPYTERLAB_SETTINGS_DIR": str(_settings(tmp_path / "lab-settings")),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "lab-workspaces"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
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
               "chromium": chromium, "downloads": tmp_path / "downloads"}
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


def test_create_submit_and_download_in_jupyterlab(lab) -> None:
    from playwright.sync_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("*.png"):
        old.unlink()
    token: str = lab["server"].token
    step = iter(range(1, 100))

    with chromium_page(lab) as page:

        def shot(name: str) -> None:
            page.screenshot(path=str(SHOTS / f"{next(step):02d}_{name}.png"))

        def panel():
            return page.locator(".jp-NotebookPanel:visible")

        def run_all() -> None:
            # "Run All" sent before this notebook's kernel is connected runs nothing, and
            # no element says so reliably: the status bar can still show the previous
            # tab's idle kernel and the toolbar's indicator reads idle before any kernel
            # exists. So ask the application itself (exposed by the fixture).
            page.wait_for_function(KERNEL_READY, timeout=WAIT_MS)
            page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Run$")).click()
            page.get_by_role("menuitem", name="Run All Cells", exact=True).click()

        def button(name: str):
            return panel().locator("button.widget-button", has_text=re.compile(f"^{name}$"))

        try:
            # 1. The create notebook.
            page.goto(f"{lab['url']}lab/tree/visionfit/create_a_workflow.ipynb"
                      f"?token={lab['lab_token']}")
            expect(panel().locator(".jp-Cell").first).to_be_visible()
            shot("create_notebook_opened")
            run_all()
            expect(button("Get Generators")).to_be_visible()
            shot("create_interface")

            panel().locator("input[type=password]").fill(token)
            panel().locator(".widget-checkbox input[type=checkbox]").check()
            button("Get Generators").click()
            generator_select = panel().locator(".widget-dropdown", has_text="Generator:") \
                .locator("select")
            expect(generator_select.locator("option", has_text=GENERATOR)).to_have_count(1)
            expect(panel().locator("input[type=password]")).to_have_value("")
            label = generator_select.locator("option", has_text=GENERATOR).inner_text()
            generator_select.select_option(label=label)
            shot("generators_listed")

            button("Create Notebook").click()
            submit_link = panel().locator(".jp-OutputArea a", has_text="submit_batch_")
            expect(submit_link).to_be_visible()
            shot("submit_notebook_created")

            # 2. The Submit notebook, opened from the link, inside the same JupyterLab.
            submit_link.click()
            expect(page.locator(".lm-TabBar-tab.lm-mod-current",
                                has_text="submit_batch_")).to_be_visible()
            expect(panel().locator(".jp-Cell").first).to_be_visible()
            run_all()
            expect(button("Confirm Submission")).to_be_visible()
            panel().locator("button.widget-toggle-button", has_text="Previews").click()
            name_field = panel().locator("input[placeholder='name this batch']")
            name_field.fill("browser-previews")
            name_field.press("Tab")
            shot("submit_interface")
            button("Submit").click()
            expect(panel().get_by_text("frame(s) estimated")).to_be_visible()
            shot("submit_checked")
            button("Confirm Submission").click()
            download_link = panel().locator(".jp-OutputArea a", has_text="download_batch_")
            expect(download_link).to_be_visible()
            expect(button("Confirm Submission")).to_be_disabled()
            shot("submitted")

            # 3. The Download notebook.
            download_link.click()
            expect(page.locator(".lm-TabBar-tab.lm-mod-current",
                                has_text="download_batch_")).to_be_visible()
            expect(panel().locator(".jp-Cell").first).to_be_visible()
            run_all()
            expect(button("Wait and Download")).to_be_visible()
            shot("download_interface")
            button("Wait and Download").click()
            expect(panel().get_by_text(re.compile(r"(\d+)/\1 jobs finished"))).to_be_visible()
            preview_image = panel().locator(".widget-output img").first
            expect(preview_image).to_be_visible()
            preview_image.scroll_into_view_if_needed()
            shot("previews_downloaded")

            # Save everything, as a user would before closing the browser.
            page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^File$")).click()
            page.get_by_role("menuitem", name="Save All", exact=True).click()
            expect(page.locator(".lm-TabBar-tab.jp-mod-dirty")).to_have_count(0)
            shot("saved")
        except Exception:
            shot("failure")
            raise

    records_dir = lab["root"] / "visionfit" / "workflow_records"
    (folder,) = list(records_dir.iterdir())
    notebooks = sorted(p.name for p in folder.glob("*.ipynb"))
    assert [n.split("_")[0] for n in notebooks] == ["download", "submit"]
    batch_dirs = list(lab["downloads"].glob("browser-previews/batch_ID_*"))
    assert len(batch_dirs) == 1
    assert len(list(batch_dirs[0].glob("*/video_preview.png"))) == 10
    saved = nbformat.read(str(folder / notebooks[1]), as_version=4)
    assert "application/vnd.jupyter.widget-state+json" in saved.metadata.get("widgets", {})
    for path in lab["root"].rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes(), f"token found in {path}"


LABEL_VIDEO_CELLS = [
    """from pathlib import Path
from visionfit.generator import VisionFitGenerator
from visionfit.utils.vis import visualize_all_labels

gen = VisionFitGenerator()
params = gen.schema.complete({"exercise": "SQUAT-BODYWEIGHT", "scene": "GYM_1", "num_reps": 1,
                              "frame_rate": 8, "image_width": 128, "image_height": 128})
job = Path("label-video-job")
job.mkdir(exist_ok=True)
gen.run(params, False, job, 5)""",
    "visualize_all_labels(job)",
]
VIDEO_PLAYING = """() => {
    const video = document.querySelector(".jp-OutputArea-output video");
    return !!video && video.readyState >= 2 && video.duration > 0 && video.currentTime > 0;
}"""


def test_label_video_plays_inline_in_jupyterlab(lab) -> None:
    """The label video's player, embedded in the notebook output, loads and plays in
    Chromium: the browser decodes the H.264 (yuv420p) file, not just shows a box."""
    from playwright.sync_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in LABEL_VIDEO_CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, str(lab["root"] / "label_video.ipynb"))
    with chromium_page(lab) as page:
        try:
            page.goto(f"{lab['url']}lab/tree/label_video.ipynb?token={lab['lab_token']}")
            cells = page.locator(".jp-NotebookPanel:visible .jp-Cell")
            expect(cells.first).to_be_visible()
            page.wait_for_function(KERNEL_READY, timeout=WAIT_MS)
            page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Run$")).click()
            page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
            video = page.locator(".jp-OutputArea-output video")
            expect(video).to_have_count(1)
            page.wait_for_function(VIDEO_PLAYING, timeout=WAIT_MS)
            state = video.evaluate("v => ({ready: v.readyState, duration: v.duration, "
                                   "width: v.videoWidth, height: v.videoHeight, "
                                   "loop: v.loop, muted: v.muted})")
            video.scroll_into_view_if_needed()
            page.screenshot(path=str(SHOTS / "label_video_playing.png"))
        except Exception:
            page.screenshot(path=str(SHOTS / "label_video_failure.png"))
            raise
    assert state["ready"] >= 2 and state["duration"] > 0
    assert (state["width"], state["height"]) == (4 * 256, 2 * 256)  # 128 px jobs shown 2x
    assert state["loop"] and state["muted"]


PORTAL_VIDEO_PLAYING = """() => {
    const video = document.querySelector("video.job");
    return !!video && video.readyState >= 2 && video.duration > 0 && video.currentTime > 0;
}"""


def test_portal_cancel_and_a_video_playing_on_its_row(server: LiveServer) -> None:
    """The portal in Chromium: a batch link asks to log in and returns to the batch, Cancel
    there stops its jobs, and a finished job's video plays on its row (decoded, not only a
    box), all without the token in any URL."""
    from playwright.sync_api import expect

    from tests.support.api import finished_summary, job, submit

    SHOTS.mkdir(parents=True, exist_ok=True)
    videos = submit(server, [{**job(frames=24), "name": "tiny-video-v1"}], name="videos").json()
    finished_summary(server, videos["id"])
    slow = submit(server, [job(sleep_s=30) for _ in range(3)], name="to cancel").json()
    with chromium_page({"chromium": _chromium()}) as page:
        try:
            page.goto(f"{server.url}portal/batch/{slow['id']}/")
            page.locator("input[type=password]").fill(server.token)
            page.get_by_role("button", name="Log in").click()
            expect(page.locator("h1")).to_have_text("to cancel")  # back where it was asked
            page.screenshot(path=str(SHOTS / "portal_batch_running.png"))
            page.get_by_role("button", name="Cancel unfinished jobs").click()
            expect(page.get_by_role("status")).to_contain_text("Cancelled 3 job(s)")
            expect(page.locator(".badge.cancelled").first).to_have_text("cancelled: 3")
            page.screenshot(path=str(SHOTS / "portal_batch_cancelled.png"))
            urls = [page.url]

            page.goto(f"{server.url}portal/batch/{videos['id']}/")
            video = page.locator("video.job")
            expect(video).to_have_count(1)
            video.scroll_into_view_if_needed()
            video.evaluate("v => v.play()")
            page.wait_for_function(PORTAL_VIDEO_PLAYING, timeout=WAIT_MS)
            state = video.evaluate("v => ({width: v.videoWidth, height: v.videoHeight, "
                                   "duration: v.duration})")
            page.screenshot(path=str(SHOTS / "portal_video_playing.png"))
            urls.append(page.url)
        except Exception:
            page.screenshot(path=str(SHOTS / "portal_failure.png"))
            raise
    statuses = {j["status"] for j in server.get(
        f"api/batch/{slow['id']}/summary/").json()["job_runs"]}
    assert statuses == {"cancelled"}
    assert (state["width"], state["height"]) == (32, 32) and state["duration"] > 2
    assert not any(server.token in url for url in urls)
