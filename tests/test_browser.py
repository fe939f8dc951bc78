"""The whole workflow in a real browser: headless Chromium (Debian's, via Playwright) drives
JupyterLab started by the test, against a real local server.

Create notebook -> Get Generators -> Create Notebook -> Submit notebook (Previews, Submit,
Confirm) -> Download notebook (Wait and Download) -> preview images; the portal's Cancel and
a video playing on a job's row. Screenshots of every step go to tests/artifacts/browser/.
Without a ``chromium`` on PATH the test is skipped, unless ``IW_REQUIRE_BROWSER=1`` (set by
.ci/run), which makes a missing browser a failure.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import nbformat
import pytest

from tests.conftest import ARTIFACTS
from tests.support.browser import (
    KERNEL_READY,
    WAIT_MS,
    chromium_page,
    chromium_path,
    run_all_cells,
    running_lab,
)
from tests.support.server import LiveServer
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow]

GENERATOR = "visionfit-flagship-v0.1.0"
SHOTS = ARTIFACTS / "browser"


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

        def open_and_run_all(link: Any, tab: str) -> None:
            """Open a notebook from its link, in the same JupyterLab, and Run All."""
            link.click()
            expect(page.locator(".lm-TabBar-tab.lm-mod-current", has_text=tab)).to_be_visible()
            expect(panel().locator(".jp-Cell").first).to_be_visible()
            run_all_cells(page)

        def button(name: str):
            return panel().locator("button.widget-button", has_text=re.compile(f"^{name}$"))

        try:
            # 1. The create notebook.
            page.goto(f"{lab['url']}lab/tree/visionfit/create_a_workflow.ipynb"
                      f"?token={lab['lab_token']}")
            expect(panel().locator(".jp-Cell").first).to_be_visible()
            shot("create_notebook_opened")
            run_all_cells(page)
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
            open_and_run_all(submit_link, "submit_batch_")
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
            open_and_run_all(download_link, "download_batch_")
            expect(button("Wait and Download")).to_be_visible()
            shot("download_interface")
            button("Wait and Download").click()
            expect(panel().get_by_text(re.compile(r"(\d+)/\1 jobs finished"))).to_be_visible()
            preview_image = panel().locator(".widget-output img").first
            expect(preview_image).to_be_visible()
            # Linked from its file (not embedded): the browser fetched and decoded it.
            page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                                   arg=preview_image.element_handle(), timeout=WAIT_MS)
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
job = Path("../my downloads/label-video-job")  # beside the notebook's folder, as downloads are
job.mkdir(parents=True, exist_ok=True)
gen.run(params, False, job, 5)""",
    "visualize_all_labels(job)",
]
VIDEO_PLAYING = """() => {
    const video = document.querySelector(".jp-OutputArea-output video");
    return !!video && video.readyState >= 2 && video.duration > 0 && video.currentTime > 0;
}"""
LINKED_SRC = "../my%20downloads/label-video-job/label_video.mp4"


def test_label_video_plays_inline_in_jupyterlab(lab) -> None:
    """The label video's player, linked from the notebook output by a URL relative to the
    notebook's folder (up a level, through a folder name with a space), loads and plays in
    Chromium: JupyterLab resolves the URL to the file, the browser decodes the H.264
    (yuv420p) file, not just shows a box; and the saved notebook holds the link, not the
    video."""
    from playwright.sync_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in LABEL_VIDEO_CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    (lab["root"] / "records").mkdir()
    nbformat.write(nb, str(lab["root"] / "records" / "label_video.ipynb"))
    with chromium_page(lab) as page:
        try:
            page.goto(f"{lab['url']}lab/tree/records/label_video.ipynb"
                      f"?token={lab['lab_token']}")
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
                                   "loop: v.loop, muted: v.muted, "
                                   "url: v.currentSrc})")
            page.keyboard.press("Control+s")
            wait_for(lambda: "label_video.mp4" in (lab["root"] / "records" /
                                                   "label_video.ipynb").read_text(),
                     timeout=60, what="the notebook saved with its output")
            video.scroll_into_view_if_needed()
            page.screenshot(path=str(SHOTS / "label_video_playing.png"))
        except Exception:
            page.screenshot(path=str(SHOTS / "label_video_failure.png"))
            raise
    assert state["ready"] >= 2 and state["duration"] > 0
    assert (state["width"], state["height"]) == (4 * 256, 2 * 256)  # 128 px jobs shown 2x
    assert state["loop"] and state["muted"]

    # The output holds the relative URL; JupyterLab resolved it to the file it serves.
    assert "/files/my%20downloads/label-video-job/label_video.mp4?" in state["url"], state
    saved = (lab["root"] / "records" / "label_video.ipynb").read_text()
    assert f'src=\\"{LINKED_SRC}\\"' in saved
    assert len(saved) < 20_000, f"the saved notebook is {len(saved)} bytes: video embedded?"


# -- the Download interface in a real JupyterLab: errors as sentences, a free kernel --------
RUN_ALL_DONE = """() => {
    const panel = window.jupyterapp?.shell?.currentWidget;
    const kernel = panel?.sessionContext?.session?.kernel;
    return !!kernel && kernel.status === "idle" && panel.content.widgets.every(
        c => c.model.type !== "code" || c.model.executionCount !== null);
}"""
# Every error or stderr message the notebook's kernel sends from now on, whichever cell or
# button it belongs to (what the Log Console would show, and more).
LISTEN_FOR_ERRORS = """() => {
    const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
    window.iwKernelErrors = [];
    kernel.iopubMessage.connect((_kernel, msg) => {
        const kind = msg.header.msg_type;
        if (kind === "error" || (kind === "stream" && msg.content.name === "stderr")) {
            window.iwKernelErrors.push(kind + ": " + JSON.stringify(msg.content).slice(0, 800));
        }
    });
}"""
# Click a button and time, in the page, until the panel shows ``text``.
CLICK_AND_TIME = """async ([name, text]) => {
    const panel = window.jupyterapp.shell.currentWidget.node;
    const button = [...panel.querySelectorAll("button.widget-button")]
        .find(b => b.textContent.trim() === name);
    const started = performance.now();
    button.click();
    while (!panel.innerText.includes(text)) {
        if (performance.now() - started > 60000) return -1;
        await new Promise(resolve => setTimeout(resolve, 5));
    }
    return (performance.now() - started) / 1000;
}"""


def _download_record(lab: dict, batch_id: str, extra_cells: tuple[str, ...] = ()) -> str:
    """A Download record of ``batch_id`` in the lab's folder (as the Submit notebook writes
    one), with ``extra_cells`` at its end; its path relative to the lab's root."""
    from infinity_workflows.records import create_workflow_notebook

    path = create_workflow_notebook("download", generator="tiny-v1", server=lab["server"].url,
                                    batch_id=batch_id, records_dir=lab["root"] / "records",
                                    extra_parameters={"POLLING_INTERVAL": 0.5})
    if extra_cells:
        nb = nbformat.read(str(path), as_version=4)
        nb.cells.extend(nbformat.v4.new_code_cell(source) for source in extra_cells)
        nbformat.write(nb, str(path))
    return str(path.relative_to(lab["root"]))


def _open_and_run_all(page: Any, lab: dict, relative: str) -> Any:
    """Open the notebook, Run All, wait until every cell ran; its panel."""
    from playwright.sync_api import expect

    page.goto(f"{lab['url']}lab/tree/{relative}?token={lab['lab_token']}")
    panel = page.locator(".jp-NotebookPanel:visible")
    expect(panel.locator(".jp-Cell").first).to_be_visible()
    page.wait_for_function(KERNEL_READY, timeout=WAIT_MS)
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Run$")).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    page.wait_for_function(RUN_ALL_DONE, timeout=WAIT_MS)
    return panel


def _widget_button(panel: Any, name: str) -> Any:
    return panel.locator("button.widget-button", has_text=re.compile(f"^{name}$"))


def _log_console_entries(page: Any, relative: str) -> int:
    """Open the notebook's Log Console; the number of entries it shows."""
    page.evaluate("path => window.jupyterapp.commands.execute('logconsole:open', "
                  "{source: path})", relative)
    page.locator(".jp-LogConsolePanel").first.wait_for(state="attached")
    entries = page.locator(".jp-LogConsolePanel .jp-OutputArea-child").count()
    if not entries:  # an empty console says so: the panel looked at is the right one
        page.locator(".jp-LogConsoleListPlaceholder", has_text="No log messages").wait_for()
    return entries


@pytest.mark.usefixtures("tiny_installed")
def test_a_server_stopped_mid_session_is_one_sentence_in_jupyterlab(
        make_server, tmp_path: Path) -> None:
    """Download, Wait and Download and Cancel after the server stopped: each shows one red
    sentence; no traceback in the notebook, nothing in the kernel's error stream or the
    Log Console."""
    from playwright.sync_api import expect

    from infinity_workflows import Session

    SHOTS.mkdir(parents=True, exist_ok=True)
    srv = make_server("--workers", "1")
    batch = Session(token=srv.token, generator="tiny-v1", server=srv.url).submit(
        [{"frames": 1}], batch_name="server goes away")
    with running_lab(srv, tmp_path, INFINITY_API_TOKEN=srv.token,
                     INFINITY_API_SERVER=srv.url) as lab, chromium_page(lab) as page:
        try:
            relative = _download_record(lab, batch.batch_id)
            panel = _open_and_run_all(page, lab, relative)
            expect(_widget_button(panel, "Wait and Download")).to_be_visible()
            page.evaluate(LISTEN_FOR_ERRORS)
            srv.stop()
            for name in ("Download", "Wait and Download", "Cancel"):
                _widget_button(panel, name).click()
                sentence = panel.locator(".widget-html", has_text="Cannot reach the server")
                expect(sentence).to_have_count(1)
                expect(_widget_button(panel, "Download")).to_be_enabled()
            page.screenshot(path=str(SHOTS / "server_stopped_sentence.png"))
            text = panel.inner_text()
            errors = page.evaluate("window.iwKernelErrors")
            stderr_outputs = panel.locator(
                ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
            assert stderr_outputs.count() == 0
            entries = _log_console_entries(page, relative)
            page.screenshot(path=str(SHOTS / "server_stopped_log_console.png"))
        except Exception:
            page.screenshot(path=str(SHOTS / "server_stopped_failure.png"))
            raise
    assert "Traceback" not in text and "Error" not in text, text
    assert errors == [] and entries == 0, (errors, entries)
    assert text.count(f"Cannot reach the server at {srv.url}") == 1


@pytest.mark.usefixtures("tiny_installed")
def test_cancel_during_wait_and_download_in_jupyterlab(server: LiveServer,
                                                       tmp_path: Path) -> None:
    """Wait and Download leaves the kernel free (another cell runs while it waits); Cancel
    shows its sentence within a second and the counts say what happened."""
    from playwright.sync_api import expect

    from infinity_workflows import Session

    SHOTS.mkdir(parents=True, exist_ok=True)
    srv = server
    sesh = Session(token=srv.token, generator="tiny-v1", server=srv.url)
    # Eight minute-long jobs on two workers: four minutes of waiting, unless cancelled.
    batch = sesh.submit([{"frames": 1}] + [{"sleep_s": 60.0}] * 8,
                        batch_name="cancel while waiting")
    meanwhile = "print('meanwhile, waiting:', download_ui.running)"
    try:
        with running_lab(srv, tmp_path, INFINITY_API_TOKEN=srv.token,
                         INFINITY_API_SERVER=srv.url) as lab, chromium_page(lab) as page:
            try:
                relative = _download_record(lab, batch.batch_id, (meanwhile,))
                panel = _open_and_run_all(page, lab, relative)
                page.evaluate(LISTEN_FOR_ERRORS)
                _widget_button(panel, "Wait and Download").click()
                status = panel.locator(".widget-html", has_text="1 downloaded")
                expect(status).to_have_count(1)
                expect(status).to_contain_text("8 in progress")
                # Another cell runs while the wait goes on.
                page.evaluate("""() => {
                    const panel = window.jupyterapp.shell.currentWidget;
                    panel.content.activeCellIndex = panel.content.widgets.length - 1;
                    return window.jupyterapp.commands.execute("notebook:run-cell");
                }""")
                expect(panel.get_by_text("meanwhile, waiting: True")).to_be_visible()
                expect(_widget_button(panel, "Wait and Download")).to_be_disabled()
                page.screenshot(path=str(SHOTS / "cancel_meanwhile.png"))

                said = page.evaluate(CLICK_AND_TIME, ["Cancel", "queued or running job(s)"])
                counts = panel.locator(".widget-html", has_text=re.compile(
                    r"9/9 finished: 1 downloaded, 0 failed, 8 cancelled, 0 in progress"))
                expect(counts).to_have_count(1)
                expect(_widget_button(panel, "Wait and Download")).to_be_enabled()
                page.screenshot(path=str(SHOTS / "cancel_counts.png"))
                message = panel.locator(".widget-html", has_text="Cancelled 8").inner_text()
                bar = panel.locator(".progress .progress-bar").first
                bar_class = bar.get_attribute("class") or ""
                errors = page.evaluate("window.iwKernelErrors")
                text = panel.inner_text()
            except Exception:
                page.screenshot(path=str(SHOTS / "cancel_failure.png"))
                raise
    finally:
        batch.cancel()
    print(f"Cancel's sentence shown {said:.3f} s after the click")
    assert 0 <= said <= 1.0, said
    assert {j["status"] for j in batch.job_summaries()[1:]} == {"cancelled"}
    assert "9/9 jobs finished" in message and message.index("Cancelled 8") < \
        message.index("9/9 jobs finished")
    assert "warning" in bar_class, bar_class
    assert errors == [] and "Traceback" not in text, errors


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
    with chromium_page({"chromium": chromium_path()}) as page:
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
