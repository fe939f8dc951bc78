"""Infinity's demo notebook and its two templates, run with papermill against the local server.

The fixtures in tests/fixtures/infinity/ make the same calls, in the same order, as Infinity's
``submit_and_download_batch_demo.ipynb``, ``submit_batch_template.ipynb`` and
``download_batch_template.ipynb`` (cells marked *Fixture* stand in for a reader's clicks).
Each runs once with our ``Session`` and once with an infinity-core-shaped client
(``tests/support/core_client.py``); the templates are rendered as Infinity's create notebook
rendered them (TOKEN, GENERATOR, SERVER and BATCH_ID injected by papermill, no lineage), so
they are records "not made here" for ``infinity-workflows records`` and ``rerun``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import nbformat
import papermill
import pytest

from infinity_workflows.records import list_records, read_lineage
from tests.support.server import ROOT, LiveServer, run_cli

FIXTURES = ROOT / "tests" / "fixtures" / "infinity"
GENERATOR = "visionfit-flagship-v0.1.0"
STAMP = "2022_08_01_T_10_00_00"
# A cell whose reply never reaches the client (seen once on a machine loaded 4x over) fails
# the test instead of hanging it.
CELL_TIMEOUT = 300

pytestmark = pytest.mark.slow


def driver_output(path: Path) -> dict[str, Any]:
    nb = nbformat.read(str(path), as_version=4)
    for cell in reversed(nb.cells):
        for out in cell.get("outputs", []):
            for line in out.get("text", "").splitlines():
                if line.startswith("DRIVER:"):
                    return json.loads(line.removeprefix("DRIVER:"))
    raise AssertionError(f"no DRIVER output in {path}")


def images_in(path: Path) -> int:
    nb = nbformat.read(str(path), as_version=4)
    return sum(1 for c in nb.cells for o in c.get("outputs", [])
               if {"image/png", "image/gif"} & set(o.get("data", {})))


def render_as_infinity_did(name: str, folder: Path, parameters: dict[str, Any]) -> Path:
    """Infinity's create notebook: papermill injects the parameters into a copy of the
    template in ``workflow_records/workflow_<stamp>/``; nothing else is added."""
    folder.mkdir(parents=True, exist_ok=True)
    kind = name.removesuffix("_template")
    record = folder / f"{kind}_{folder.name.removeprefix('workflow_')}.ipynb"
    papermill.execute_notebook(str(FIXTURES / f"{name}.ipynb"), str(record),
                               parameters=parameters, prepare_only=True, progress_bar=False)
    return record


def run_in_place(record: Path) -> Path:
    """The user opens the record and runs every cell (its folder is the working folder)."""
    papermill.execute_notebook(str(record), str(record), cwd=str(record.parent),
                               progress_bar=False, kernel_name="python3",
                               execution_timeout=CELL_TIMEOUT)
    return record


@pytest.mark.parametrize("client", ["ours", "core"])
def test_demo_notebook_runs_unchanged(kernel_env: LiveServer, tmp_path: Path,
                                      client: str) -> None:
    out = tmp_path / f"demo-{client}.ipynb"
    papermill.execute_notebook(
        str(FIXTURES / "submit_and_download_demo.ipynb"), str(out), cwd=str(tmp_path),
        parameters={"CLIENT": client, "TOKEN": kernel_env.token, "SERVER": kernel_env.url,
                    "GENERATOR": GENERATOR, "OUT_DIR": str(tmp_path / "downloads"),
                    "NUM_JOBS": 200},
        progress_bar=False, kernel_name="python3", execution_timeout=CELL_TIMEOUT)
    seen = driver_output(out)
    assert seen["completed"] == seen["valid"] == 3 and seen["download_ok"]
    assert seen["batch_id"] in seen["listed"]
    assert seen["usage_status"] == 200 and "counts_by_generator" in seen["usage_range"]
    assert seen["rows"] <= 3 and "avg_percent_occlusion" in seen["columns"]
    assert images_in(out) >= 2  # the job-parameter plot and the batch results
    folder = tmp_path / "downloads" / "uppercut left demo" / f"batch_ID_{seen['batch_id']}"
    assert len(list(folder.glob("*/video_preview.png"))) == 3


@pytest.mark.parametrize("client, is_preview", [("ours", True), ("core", False)])
def test_templates_render_submit_and_download(kernel_env: LiveServer,
                                              tmp_path: Path, client: str,
                                              is_preview: bool) -> None:
    records = tmp_path / "workflow_records"
    folder = records / f"workflow_{STAMP}"
    common = {"TOKEN": kernel_env.token, "GENERATOR": GENERATOR, "SERVER": kernel_env.url,
              "CLIENT": client}
    submit = run_in_place(render_as_infinity_did(
        "submit_batch_template", folder, {**common, "IS_PREVIEW": is_preview}))
    seen = driver_output(submit)
    assert seen["ok"] and seen["batch_id"], seen["message"]
    batch_id = seen["batch_id"]

    # Our Submit interface wrote the Download notebook from our template, with lineage.
    ours = Path(seen["download_notebook"])
    assert ours.parent == folder
    lineage = read_lineage(ours)
    assert lineage["kind"] == "download" and lineage["batch_id"] == batch_id
    assert lineage["template"].endswith("download_batch.ipynb")
    assert kernel_env.token not in ours.read_text()

    # Their create notebook makes a new record folder for the Download notebook.
    download = run_in_place(render_as_infinity_did(
        "download_batch_template", records / "workflow_2022_08_01_T_10_05_00",
        {**common, "BATCH_ID": batch_id}))
    got = driver_output(download)
    assert got["downloaded"] == 4 and not got["failed"] and got["rows"] == 4
    assert got["preview"] is is_preview
    assert len(got["gifs"]) == (0 if is_preview else 1)
    assert images_in(download) >= 1  # the previews (a grid) or the video (a GIF)

    listed = {r.notebook: r for r in list_records(records)}
    assert not listed[submit.name].made_here and listed[ours.name].made_here
    assert listed[download.name].batch_id == batch_id
    table = run_cli("records", "--dir", str(records), env=dict(kernel_env.env)).stdout
    assert f"{download.name}  download, not made here" in table


def test_infinity_record_reruns_with_parameters(kernel_env: LiveServer,
                                                tmp_path: Path) -> None:
    """``infinity-workflows rerun`` on a Download record Infinity's toolkit rendered: -p
    picks another batch, and the token their record holds is not copied into ours."""
    from infinity_workflows import Session

    sesh = Session(generator=GENERATOR, server=kernel_env.url)
    batch = sesh.submit([{"image_width": 128, "image_height": 128}], is_preview=True,
                        batch_name="for rerun")
    folder = tmp_path / "workflow_records" / f"workflow_{STAMP}"
    record = render_as_infinity_did("download_batch_template", folder, {
        "TOKEN": kernel_env.token, "GENERATOR": GENERATOR, "SERVER": kernel_env.url,
        "CLIENT": "ours", "BATCH_ID": "00000000-0000-0000-0000-000000000000"})
    # Their record is not our template nor signed by this user: accepted with --trust.
    done = run_cli("rerun", str(record), "--trust", "-p", "BATCH_ID", batch.batch_id,
                   env=dict(os.environ), timeout=600, check=False)  # the token by env
    assert done.returncode == 0, done.stderr[-3000:]
    new = Path(done.stdout.strip().splitlines()[-1])
    assert new.is_file() and new.parent.parent == folder.parent
    assert driver_output(new)["downloaded"] == 1
    assert kernel_env.token not in new.read_text()
    lineage = read_lineage(new)
    assert lineage["batch_id"] == batch.batch_id and lineage["parent"].endswith(record.name)
