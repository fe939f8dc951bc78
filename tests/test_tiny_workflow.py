"""A second generator through the whole notebook workflow, with no VisionFit code involved:
create -> submit -> download -> review, in real kernels, against a real server."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from infinity_workflows.generators import EXTRA_GENERATORS_ENV
from infinity_workflows.getting_started import CREATE_NOTEBOOK, init_folder
from infinity_workflows.records import list_records, read_lineage, read_parameters
from tests.support import notebooks as nbs
from tests.support.server import TINY, LiveServer, cli_env

pytestmark = pytest.mark.slow

# What a kernel reports of itself: no module of the VisionFit package was ever imported.
NO_VISIONFIT = ('"visionfit": sorted(m for m in __import__("sys").modules '
                'if m.startswith("visionfit"))')


def test_the_tiny_generator_goes_from_create_to_review(server: LiveServer, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in cli_env(server.home, tmp_path / "config").items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("INFINITY_API_TOKEN", server.token)
    monkeypatch.setenv("INFINITY_SERVER_URL", server.url)
    monkeypatch.setenv(EXTRA_GENERATORS_ENV, TINY)  # the client knows the tiny plug-in
    for name in ("JPY_SESSION_NAME", "INFINITY_WORKFLOWS_RECORDS",
                 "INFINITY_WORKFLOWS_DOWNLOADS"):
        monkeypatch.delenv(name, raising=False)
    work = tmp_path / "work"
    init_folder(work)

    # Create: pick the tiny generator, render its Submit notebook.
    nb = nbformat.read(str(work / CREATE_NOTEBOOK), as_version=4)
    nb.cells.append(nbs.driver_cell("""
        create_ui.get_generators_button.click()
        create_ui.generator.value = "tiny-v1"
        create_ui.create_button.click()
    """, nbs.report('{"created": [str(p) for p in create_ui.created], ' + NO_VISIONFIT + '}')))
    seen = nbs.driver_output(nbs.execute(nb, work))
    assert seen["visionfit"] == []
    (submit_path,) = map(Path, seen["created"])
    assert submit_path.parent.parent == work / "workflow_records"
    assert read_parameters(submit_path)["COLOR"] == "cool"  # the tiny snippet's parameter

    # Submit, headless: the tiny snippet crafts the jobs from its own table and categories.
    nb = nbs.with_parameters(submit_path, {"NUM_JOBS": 3, "SEED": 5, "COLOR": "warm",
                                       "IS_PREVIEW": False, "SUBMIT_NOW": True,
                                       "BATCH_NAME": "tiny batch"})
    nb.cells.append(nbs.driver_cell(nbs.report(
        '{"batch_id": batch.batch_id, "jobs": job_params, ' + NO_VISIONFIT + '}')))
    seen = nbs.driver_output(nbs.execute(nb, submit_path.parent))
    assert seen["visionfit"] == []
    assert [j["color"] for j in seen["jobs"]] == ["red"] * 3  # "warm" stands for red
    assert all(2 <= j["frames"] <= 4 and not j["fail"] for j in seen["jobs"])
    batch_id = seen["batch_id"]
    listed = {r.notebook: r.batch_id for r in list_records(work / "workflow_records")}
    (download_name,) = [n for n in listed if n.startswith("download_batch_")]
    assert listed == {submit_path.name: batch_id, download_name: batch_id}
    download_path = submit_path.parent / download_name
    assert read_lineage(download_path)["generator"] == "tiny-v1"

    # Download and review: the generic cells, downloads beside the records.
    nb = nbs.with_parameters(download_path, {"DOWNLOAD_NOW": True, "POLLING_INTERVAL": 0.2})
    nb.cells.append(nbs.driver_cell(nbs.report(
        '{"folder": str(folder), "report": report.describe(), "frame": '
        'downloaded_jobs_frame(batch, folder)[["downloaded", "files", "frames"]]'
        '.to_dict("records"), ' + NO_VISIONFIT + '}')))
    nb = nbs.execute(nb, download_path.parent)
    seen = nbs.driver_output(nb)
    assert seen["visionfit"] == []
    assert Path(seen["folder"]) == work / "downloads" / "tiny batch" / f"batch_ID_{batch_id}"
    assert "3/3 jobs finished, 3 downloaded, 0 failed" in seen["report"], seen["report"]
    assert [(r["downloaded"], r["files"]) for r in seen["frame"]] == [(True, 4)] * 3
    previews = [o["data"]["text/html"] for c in nb.cells for o in c.get("outputs", [])
                if "<img" in o.get("data", {}).get("text/html", "")]
    assert previews and previews[-1].count("<img") == 3
    assert nbs.outputs_of(nb, "text/html") >= 3  # metadata, downloaded jobs, previews
    written = {p for p in tmp_path.rglob("*") if p.is_file()} - \
        {p for p in (tmp_path / "config").rglob("*")}
    assert all(p.is_relative_to(work) for p in written), sorted(written)
