"""The notebooks, executed headless against a real local server with the VisionFit generator.

Driver cells appended (or inserted) into the notebooks click the buttons as a user would and
print what they saw as one ``DRIVER:`` JSON line; the tests then check the files written, the
DataFrames, the downloaded data, and that the token is in no file under the records folder.
Jobs stay tiny (1 rep, 6 fps, 128 px) so the whole module takes well under a minute of
rendering.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.sign import NotebookNotary
from papermill.iorw import load_notebook_node
from papermill.parameterize import parameterize_notebook

from infinity_workflows.getting_started import init_folder
from infinity_workflows.records import (
    list_records,
    read_lineage,
    read_parameters,
    rerun_record,
)
from tests.support.notebooks import (
    assert_no_token,
    driver_cell,
    driver_output,
    execute,
    outputs_of,
    report,
    with_parameters,
)
from tests.support.server import ROOT, LiveServer, cli_env

GENERATOR = "visionfit-flagship-v0.1.0"
TINY_JOBS = {"IMAGE_SIZE": 128, "FRAME_RATE": 6}

pytestmark = pytest.mark.slow


def test_create_submit_download_and_rerun_a_workflow(kernel_env: LiveServer,
                                                    tmp_path: Path) -> None:
    token = kernel_env.token
    visionfit = tmp_path / "visionfit"
    visionfit.mkdir()
    init_folder(visionfit)  # the create notebook, as `infinity-workflows init` writes it
    records_dir = visionfit / "workflow_records"

    # 1. The create notebook: Get Generators, pick VisionFit, Create Notebook.
    nb = nbformat.read(str(visionfit / "create_a_workflow.ipynb"), as_version=4)
    nb.cells.append(driver_cell(f"""
        create_ui.get_generators_button.click()
        names = [value for _label, value in create_ui.generator.options]
        create_ui.generator.value = "{GENERATOR}"
        create_ui.create_button.click()
    """, report('{"names": names, "created": [str(p) for p in create_ui.created], '
                '"message": create_ui.message.value, "server": create_ui.server.value}')))
    seen = driver_output(execute(nb, visionfit))
    assert GENERATOR in seen["names"] and "tiny-v1" in seen["names"]
    assert seen["names"] == sorted(seen["names"])
    assert seen["server"] == kernel_env.url
    (submit_path,) = map(Path, seen["created"])
    assert submit_path.parent.parent == records_dir
    assert read_lineage(submit_path)["kind"] == "submit"

    # 2. The Submit notebook: small videos, Submit, Confirm (twice).
    nb = with_parameters(submit_path, {"NUM_JOBS": 2, "MAX_REPS": 1, "SEED": 3, **TINY_JOBS})
    nb.cells.append(driver_cell("""
        submit_ui.job_type.value = False
        submit_ui.batch_name.value = "nb-videos"
        submit_ui.submit_button.click()
        assert submit_ui.check.ok, submit_ui.message.value
        submit_ui.confirm_button.click()
        submit_ui.confirm_button.click()
    """, report('{"batch_id": submit_ui.batch.batch_id, "frames": submit_ui.check.frames, '
                '"download": str(submit_ui.download_notebook), '
                '"shape": list(job_params_df.shape), "columns": list(job_params_df.columns), '
                '"batches": len(sesh.get_batches_last_n_days(1))}')))
    nb = execute(nb, submit_path.parent)
    nbformat.write(nb, str(submit_path))  # as JupyterLab would save it
    seen = driver_output(nb)
    assert seen["batches"] == 1  # the second Confirm did not submit again
    assert seen["shape"][0] == 2 and {"scene", "exercise", "image_width"} <= set(
        seen["columns"])
    assert seen["frames"] >= 2
    assert outputs_of(nb, "image/png") >= 1  # visualize_job_params
    batch_id = seen["batch_id"]
    download_path = Path(seen["download"])
    assert download_path.parent == submit_path.parent
    assert read_lineage(download_path)["batch_id"] == batch_id
    assert read_lineage(download_path)["parent"] == submit_path.name
    listed = {r.notebook: r.batch_id for r in list_records(records_dir)}
    assert listed == {submit_path.name: batch_id, download_path.name: batch_id}

    # 3. The Download notebook: Download, then Wait and Download, then the analysis cells.
    downloads = tmp_path / "downloads"
    nb = with_parameters(download_path, {"DOWNLOAD_ROOT": str(downloads),
                                         "POLLING_INTERVAL": 0.5})
    at = next(i for i, c in enumerate(nb.cells) if "download_interface(" in c.source)
    nb.cells.insert(at + 1, driver_cell("""
        download_ui.download_button.click()
        download_ui.join()  # the buttons work in a thread beside the kernel
        download_ui.wait_button.click()
        download_ui.join()
        assert download_ui.report.finished == download_ui.report.total, download_ui.message.value
    """))
    nb.cells.append(driver_cell(report(
        '{"report": download_ui.report.describe(), "downloaded": '
        '[str(p) for p in download_ui.report.downloaded], "summary_shape": '
        'list(summary_df.shape), "summary_columns": list(summary_df.columns), '
        '"metadata_rows": len(metadata_df), "folder": str(folder)}')))
    nb = execute(nb, download_path.parent)
    nbformat.write(nb, str(download_path))
    NotebookNotary().sign(nb)  # JupyterLab signs what the user saves: the driver cells are theirs
    seen = driver_output(nb)
    folder = Path(seen["folder"])
    assert folder == downloads / "nb-videos" / f"batch_ID_{batch_id}"
    assert "2/2 jobs finished" in seen["report"] and "0 failed" in seen["report"]
    assert len(seen["downloaded"]) == 2 and seen["metadata_rows"] == 2
    for job in seen["downloaded"]:
        assert (Path(job) / "video.mp4").is_file() and (Path(job) / "labels.json").is_file()
    assert seen["summary_shape"][0] == 2
    assert {"num_frames", "job_path", "avg_percent_in_fov", "avg_percent_occlusion",
            "scene"} <= set(seen["summary_columns"])
    assert outputs_of(nb, "text/html") >= 2  # tables and the linked videos
    # Pictures are files linked from the record (histograms, coverage), none embedded; the
    # previews were shown under the buttons, so the Previews section only points there.
    assert outputs_of(nb, "image/png") == 0
    assert (folder / "review" / "histograms.png").is_file()
    assert not (folder / "review" / "previews.png").exists()
    players = [o["data"]["text/html"] for c in nb.cells for o in c.get("outputs", [])
               if "<video" in o.get("data", {}).get("text/html", "")]
    assert len(players) == 3  # the job's video, its label video, the batch mosaic
    assert (folder / "review" / "label_mosaic.mp4").is_file()
    assert len((folder / "review" / "summary.jsonl").read_text().splitlines()) == 2
    assert all((Path(job) / "label_video.mp4").is_file() for job in seen["downloaded"])
    assert any("review/coverage.png" in o.get("data", {}).get("text/html", "")
               for c in nb.cells if "label_coverage(" in c.source for o in c.get("outputs", []))

    # 4. Re-run the Download record headless into a new record, overriding one parameter.
    again = rerun_record(download_path, {"DOWNLOAD_ROOT": str(tmp_path / "downloads2"),
                                         "DOWNLOAD_NOW": True, "EXPORT_COCO": True})
    # A Download rerun stays beside the Submit record of its batch: no new record folder.
    assert again.parent == download_path.parent and again != download_path
    assert "re-run of" in again.read_text() and "written by" in download_path.read_text()
    assert read_parameters(again)["BATCH_ID"] == batch_id  # kept from the saved record
    assert read_lineage(again)["parent"].endswith(download_path.name)
    assert len(list((tmp_path / "downloads2" / "nb-videos" / f"batch_ID_{batch_id}")
                    .glob("*/video.mp4"))) == 2
    exported = tmp_path / "downloads2" / "nb-videos" / f"batch_ID_{batch_id}_coco"
    dataset = json.loads((exported / "annotations.json").read_text())
    assert {j["job_id"] for j in dataset["jobs"]} == {Path(j).name for j in seen["downloaded"]}
    assert len(list(exported.glob("images/*/*.png"))) == len(dataset["images"]) > 2

    assert_no_token(records_dir, token)


def test_download_notebook_says_clearly_when_the_batch_does_not_exist(
        kernel_env: LiveServer, tmp_path: Path) -> None:
    from infinity_workflows.records import create_workflow_notebook

    missing = "5b2c7a53-3f4e-4c7e-9d0a-0c8e5d9b7a11"
    path = create_workflow_notebook("download", generator=GENERATOR, server=kernel_env.url,
                                    batch_id=missing, records_dir=tmp_path / "records")
    nb = nbformat.read(str(path), as_version=4)
    with pytest.raises(Exception, match=f"Batch {missing} does not exist on") as info:
        execute(nb, path.parent)
    assert "Traceback" not in str(info.value)  # the sentence alone


@pytest.mark.parametrize("name, parameters", [
    ("submit_and_download_batch_demo.ipynb", {"NUM_JOBS": 2}),
    ("parameter_sweep_demo.ipynb", {"NUM_PREVIEWS": 3, "NUM_PICKED": 1,
                                    "SWEEP_VALUES": [50.0, 1500.0]}),
])
def test_examples_run_top_to_bottom(kernel_env: LiveServer, tmp_path: Path, name: str,
                                    parameters: dict[str, Any]) -> None:
    source = ROOT / "visionfit" / "examples" / name
    nb = load_notebook_node(str(source))
    nb = parameterize_notebook(nb, {**read_parameters(nb), "SERVER": kernel_env.url,
                                    "DOWNLOAD_ROOT": str(tmp_path / "downloads"),
                                    **TINY_JOBS, **parameters})
    sweep = name.startswith("parameter_sweep")
    frame = "sweep_df" if sweep else "summary_df"
    nb.cells.append(driver_cell(report(f'{{"rows": len({frame}), "columns": '
                                       f'list({frame}.columns)}}')))
    nb = execute(nb, tmp_path)
    seen = driver_output(nb)
    assert seen["rows"] == 2  # demo: 2 jobs; sweep: 1 picked preview x 2 values
    assert "num_frames" in seen["columns"]
    assert outputs_of(nb, "image/png") >= 2
    videos = list((tmp_path / "downloads").rglob("video.mp4"))
    assert len(videos) == 2
    if sweep:
        assert len(list((tmp_path / "downloads").rglob("video_preview.png"))) == 3 + 2


# -- ./run_notebooks.sh -------------------------------------------------------------------------
def test_run_notebooks_sh_starts_server_and_lab_and_ctrl_c_stops_both(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import time

    import requests

    from tests.support.server import free_port
    from tests.support.waiting import wait_for

    api_port, lab_port, lab_token = free_port(), free_port(), "lab-test-token"
    server_url = f"http://127.0.0.1:{api_port}/"
    env = {**cli_env(tmp_path / "home", tmp_path / "config"),
           "INFINITY_SERVER_URL": server_url, "TMPDIR": str(tmp_path),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    log = (tmp_path / "run_notebooks.log").open("wb")
    started = time.monotonic()
    proc = subprocess.Popen(
        [str(ROOT / "run_notebooks.sh"), "--no-browser", f"--port={lab_port}",
         # No --allow-root: run as root (as in CI), the script must add it by itself.
         "--ServerApp.ip=127.0.0.1", f"--ServerApp.token={lab_token}"],
        env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True)
    lab = f"http://127.0.0.1:{lab_port}/"
    headers = {"Authorization": f"token {lab_token}"}

    def lab_answers() -> bool:
        try:
            return requests.get(lab + "api/contents/visionfit/create_a_workflow.ipynb",
                                headers=headers, timeout=2).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_for(lambda: lab_answers() or proc.poll() is not None, timeout=120,
                 what="JupyterLab from run_notebooks.sh")
        assert proc.poll() is None, (tmp_path / "run_notebooks.log").read_text()
        startup = time.monotonic() - started
        assert requests.get(server_url + "api/schema/", timeout=5).status_code == 200
        specs = requests.get(lab + "api/kernelspecs", headers=headers, timeout=5).json()
        assert "python3" in specs["kernelspecs"]
        # The first start of the local server saved a token for the notebooks to find.
        credentials = json.loads((tmp_path / "config" / "infinity-workflows" /
                                  "credentials.json").read_text())
        assert server_url in credentials
        print(f"run_notebooks.sh: JupyterLab and server answering after {startup:.1f} s")
    finally:
        os.kill(proc.pid, signal.SIGINT)  # Ctrl-C reaches the script
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    assert proc.returncode == 130

    def down(url: str) -> bool:
        try:
            requests.get(url, timeout=1)
        except requests.ConnectionError:
            return True
        return False

    wait_for(lambda: down(server_url) and down(lab), timeout=30, what="both to stop")


def test_download_notebook_of_previews_shows_coverage_and_the_rerun_line(
        kernel_env: LiveServer, tmp_path: Path) -> None:
    """A previews batch's Download notebook shows the label stills, the mosaic, the coverage
    report and a line of code that, run as printed, submits the chosen previews as videos
    with the same seeds."""
    from infinity_workflows import Session
    from infinity_workflows.records import create_workflow_notebook
    from visionfit.utils.sampling import sample_input

    sesh = Session(generator=GENERATOR, server=kernel_env.url)
    jobs = [sample_input(sesh, rng=i, image_width=128, image_height=128, num_reps=1,
                         frame_rate=6) for i in range(3)]
    batch = sesh.submit(jobs, is_preview=True, batch_name="nb-previews")
    batch.await_completion(polling_interval=0.5, timeout=300)
    path = create_workflow_notebook("download", generator=GENERATOR, server=kernel_env.url,
                                    batch_id=batch.batch_id, records_dir=tmp_path / "records")
    nb = with_parameters(path, {"DOWNLOAD_ROOT": str(tmp_path / "downloads"),
                                "DOWNLOAD_NOW": True, "POLLING_INTERVAL": 0.5})
    nb = execute(nb, path.parent)
    folder = tmp_path / "downloads" / "nb-previews" / f"batch_ID_{batch.batch_id}"
    assert (folder / "review" / "label_mosaic.png").is_file()
    assert len(list(folder.glob("*/label_still.png"))) == 3
    coverage = next(c for c in nb.cells if "label_coverage(" in c.source)
    assert any("review/coverage.png" in o.get("data", {}).get("text/html", "")
               for o in coverage.outputs)
    assert (folder / "review" / "coverage.png").is_file()
    printed = "".join(o.get("text", "") for o in coverage.outputs)
    code = printed[printed.index("from visionfit"):]
    assert "submit_rerun_batch_with_overrides_videos(sesh, batch, {}, job_ids=" in code

    batch.get_batch_data()  # as the notebook's own batch would be by now
    scope = {"sesh": sesh, "batch": batch}
    exec(code, scope)  # noqa: S102 - the line the notebook tells the user to run
    videos = scope["videos"]
    assert videos.job_type == "video" and videos.num_jobs == 3
    by_state = {j["param_values"]["state"]: j["param_values"] for j in videos.jobs}
    assert set(by_state) == set(batch.job_ids)
    for job in batch.jobs:
        assert {k: v for k, v in by_state[job["id"]].items() if k != "state"} == \
            {k: v for k, v in job["param_values"].items() if k != "state"}


RECORD_LIMIT = 1_000_000  # bytes: a Download record is kept, copied and diffed


def test_download_record_of_20_videos_stays_under_a_megabyte(kernel_env: LiveServer,
                                                            tmp_path: Path) -> None:
    """A 20-video batch's Download record, executed top to bottom (download, table, previews,
    one job's video and label video, the mosaic, histograms, coverage), is at most 1 MB:
    every video and large figure is a file in the batch's review/ folder (or its job
    folder), linked by a URL relative to the record's folder; the table, histograms and
    coverage read one summary index."""
    import re
    from urllib.parse import unquote

    from infinity_workflows import Session
    from infinity_workflows.records import create_workflow_notebook
    from visionfit.utils.sampling import sample_input

    sesh = Session(generator=GENERATOR, server=kernel_env.url)
    jobs = [sample_input(sesh, rng=i, image_width=128, image_height=128, num_reps=1,
                         frame_rate=6) for i in range(20)]
    batch = sesh.submit(jobs, is_preview=False, batch_name="twenty videos")
    path = create_workflow_notebook("download", generator=GENERATOR, server=kernel_env.url,
                                    batch_id=batch.batch_id, records_dir=tmp_path / "records")
    downloads = tmp_path / "downloads"
    nb = with_parameters(path, {"DOWNLOAD_ROOT": str(downloads), "DOWNLOAD_NOW": True,
                                "POLLING_INTERVAL": 0.5})
    nb = execute(nb, path.parent)
    nbformat.write(nb, str(path))  # as JupyterLab would save it

    size = path.stat().st_size
    assert size <= RECORD_LIMIT, f"the record is {size} bytes"
    folder = downloads / "twenty videos" / f"batch_ID_{batch.batch_id}"
    assert len(list(folder.glob("*/video.mp4"))) == 20
    index = (folder / "review" / "summary.jsonl").read_text().splitlines()
    assert len(index) == 20
    text = path.read_text()
    assert "base64" not in text and "data:image" not in text
    links = [unquote(u) for u in re.findall(r'(?:src)=\\"([^"\\]+)\\"', text)]
    videos = [u for u in links if u.endswith(".mp4")]
    assert len(videos) == 3, links  # the job's video, its label video, the mosaic
    assert any(u.endswith("review/label_mosaic.mp4") for u in videos)
    for name in ("previews.png", "histograms.png", "coverage.png"):
        assert any(u.endswith(f"review/{name}") for u in links), (name, links)
    for url in links:  # every link resolves from the record's folder to a file
        assert (path.parent / url).resolve().is_file(), url
