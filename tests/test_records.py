"""Workflow records: rendering, names that never collide, lineage, listing and re-runs."""

from __future__ import annotations

import json
import re
import threading
from datetime import datetime
from pathlib import Path

import nbformat
import pytest

from infinity_workflows import records
from infinity_workflows.errors import InfinityError
from infinity_workflows.records import (
    METADATA_KEY,
    create_workflow_notebook,
    list_records,
    new_record_folder,
    read_lineage,
    read_parameters,
    render_download_notebook,
    rerun_record,
)
from tests.support.records import probe_record

SERVER = "http://127.0.0.1:9/"
GENERATOR = "visionfit-flagship-v0.1.0"
BATCH = "0b0c3f5e-8d3a-4c61-9a53-2f1d6f7f2a10"
STAMP_RE = r"\d{4}_\d{2}_\d{2}_T_\d{2}_\d{2}_\d{2}(_\d+)?"


def cells_tagged(nb: nbformat.NotebookNode, tag: str) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if tag in c.metadata.get("tags", [])]


def test_folders_created_in_the_same_second_never_collide(tmp_path: Path) -> None:
    moment = datetime(2026, 11, 25, 8, 0, 0)
    made: list[tuple[Path, str]] = []
    lock = threading.Lock()

    def make() -> None:
        result = new_record_folder(tmp_path, now=moment)
        with lock:
            made.append(result)

    threads = [threading.Thread(target=make) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    folders = sorted(p.name for p, _ in made)
    assert len(set(folders)) == 8
    assert "workflow_2026_11_25_T_08_00_00" in folders
    assert "workflow_2026_11_25_T_08_00_00_8" in folders
    for folder, stamp in made:
        assert folder.name == f"workflow_{stamp}" and folder.is_dir()


def test_submit_record_has_parameters_summary_and_lineage_but_no_token(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "tok_do_not_write_me_1234567890"
    monkeypatch.setenv("INFINITY_API_TOKEN", secret)
    path = create_workflow_notebook("submit", generator=GENERATOR, server=SERVER,
                                    records_dir=tmp_path)
    assert re.fullmatch(f"submit_batch_{STAMP_RE}.ipynb", path.name)
    assert path.parent.name == "workflow_" + path.stem.removeprefix("submit_batch_")
    assert path.parent.parent == tmp_path

    nb = nbformat.read(str(path), as_version=4)
    assert nb.cells[0].cell_type == "markdown"
    assert GENERATOR in nb.cells[0].source and SERVER in nb.cells[0].source
    assert "infinity_workflows/notebooks/submit_batch.ipynb" in nb.cells[0].source
    (injected,) = cells_tagged(nb, "injected-parameters")
    assert f'GENERATOR = "{GENERATOR}"' in injected.source
    assert read_parameters(nb)["SERVER"] == SERVER
    assert read_parameters(nb)["NUM_JOBS"] == 10  # the template's own default is kept
    lineage = read_lineage(path)
    assert lineage["kind"] == "submit"
    assert lineage["template"] == "infinity_workflows/notebooks/submit_batch.ipynb"
    assert lineage["generator"] == GENERATOR and lineage["server"] == SERVER
    assert lineage["batch_id"] is None and lineage["parent"] is None
    datetime.fromisoformat(lineage["created"])
    assert secret not in path.read_text()
    assert not any(p.name.startswith(".") for p in path.parent.iterdir())  # no temp left


def test_two_creations_in_one_second_make_two_records(tmp_path: Path) -> None:
    paths = [create_workflow_notebook("submit", generator=GENERATOR, server=SERVER,
                                      records_dir=tmp_path) for _ in range(3)]
    assert len({p.parent for p in paths}) == 3
    assert all(p.is_file() for p in paths)


def test_bad_kind_and_missing_batch_id_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not one of"):
        create_workflow_notebook("review", generator=GENERATOR, server=SERVER,
                                 records_dir=tmp_path)
    with pytest.raises(ValueError, match="needs a batch id"):
        create_workflow_notebook("download", generator=GENERATOR, server=SERVER,
                                 records_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_download_beside_submit_records_batch_in_lineage_and_sidecar(tmp_path: Path) -> None:
    submit = create_workflow_notebook("submit", generator=GENERATOR, server=SERVER,
                                      records_dir=tmp_path)
    folder = submit.parent
    first = render_download_notebook(batch_id=BATCH, batch_name="my batch",
                                     generator=GENERATOR, server=SERVER, folder=folder,
                                     parent=submit)
    second = render_download_notebook(batch_id=BATCH, batch_name="my batch",
                                      generator=GENERATOR, server=SERVER, folder=folder,
                                      parent=submit)
    stamp = submit.stem.removeprefix("submit_batch_")
    assert first.name == f"download_batch_{stamp}.ipynb"
    assert second.name == f"download_batch_{stamp}_2.ipynb"  # never overwritten
    lineage = read_lineage(first)
    assert lineage["batch_id"] == BATCH and lineage["parent"] == submit.name
    assert read_parameters(first)["BATCH_ID"] == BATCH
    (summary,) = cells_tagged(nbformat.read(str(first), as_version=4), "record-summary")
    assert f"written by `{submit.name}`" in summary.source  # not a re-run of it
    assert "re-run of" not in summary.source

    sidecar = json.loads((folder / records.SIDECAR).read_text())["submissions"]
    assert [s["batch_id"] for s in sidecar] == [BATCH, BATCH]
    assert sidecar[0]["notebook"] == submit.name

    listed = {r.notebook: r for r in list_records(tmp_path)}
    assert listed[submit.name].kind == "submit"
    assert listed[submit.name].batch_id == BATCH  # from the sidecar
    assert listed[submit.name].batch_name == "my batch"
    assert listed[first.name].kind == "download" and listed[first.name].batch_id == BATCH
    assert listed[first.name].generator == GENERATOR


def test_list_records_skips_foreign_notebooks_and_missing_dir(tmp_path: Path) -> None:
    assert list_records(tmp_path / "nowhere") == []
    folder = tmp_path / "workflow_2026_01_01_T_00_00_00"
    folder.mkdir()
    nbformat.write(nbformat.v4.new_notebook(), str(folder / "scratch.ipynb"))
    assert list_records(tmp_path) == []
    (folder / records.SIDECAR).write_text("{broken")
    (unreadable,) = list_records(tmp_path)  # a broken sidecar is said, in one row
    assert (unreadable.notebook, unreadable.kind) == (records.SIDECAR, "unreadable record")


def test_rerun_keeps_saved_parameters_and_overrides_only_those_given(tmp_path: Path) -> None:
    record = probe_record(tmp_path)
    rerun = rerun_record(record, {"LABEL": "override"})
    assert rerun.parent != record.parent
    assert rerun.parent.parent == record.parent.parent
    assert re.fullmatch(f"submit_batch_{STAMP_RE}.ipynb", rerun.name)
    probe = json.loads((rerun.parent / "probe.json").read_text())
    assert probe == {"NUM_JOBS": 3, "LABEL": "override", "cwd": str(rerun.parent)}
    assert read_parameters(rerun) == {"GENERATOR": "g", "SERVER": "http://x/",
                                      "NUM_JOBS": 3, "LABEL": "override"}
    lineage = read_lineage(rerun)
    assert lineage["parent"] == f"../{record.parent.name}/{record.name}"
    assert "override" in nbformat.read(str(rerun), as_version=4).cells[0].source
    assert sorted(p.name for p in rerun.parent.iterdir()) == sorted([rerun.name, "probe.json"])
    # The source record is untouched.
    assert read_parameters(record)["LABEL"] == "saved"


def test_rerun_refuses_unknown_parameters(tmp_path: Path) -> None:
    record = probe_record(tmp_path)
    with pytest.raises(ValueError, match=r"no parameter NUM_JBOS.*NUM_JOBS"):
        rerun_record(record, {"NUM_JBOS": 2})
    with pytest.raises(ValueError, match="not a workflow record"):
        rerun_record(tmp_path / "probe_template.ipynb")


def test_metadata_key_is_stable() -> None:
    # Other tools (and the records command) read this key; renaming it orphans old records.
    assert METADATA_KEY == "infinity_workflows"


# -- the command line ----------------------------------------------------------------------
def test_records_command_lists_records_with_live_batch_status(server, tmp_path: Path) -> None:
    from infinity_workflows import Session
    from tests.support.server import cli_env, free_port, run_cli
    from tests.support.waiting import wait_for

    sesh = Session(token=server.token, generator="tiny-v1", server=server.url)
    batch = sesh.submit([{"frames": 1}, {"frames": 2}], batch_name="cli-listed")
    records_dir = tmp_path / "records"
    submit = create_workflow_notebook("submit", generator="tiny-v1", server=server.url,
                                      records_dir=records_dir)
    render_download_notebook(batch_id=batch.batch_id, batch_name=batch.name,
                             generator="tiny-v1", server=server.url, folder=submit.parent,
                             parent=submit)
    down = f"http://127.0.0.1:{free_port()}/"
    create_workflow_notebook("download", generator="tiny-v1", server=down, batch_id=BATCH,
                             records_dir=records_dir)
    create_workflow_notebook("submit", generator="tiny-v1", server=server.url,
                             records_dir=records_dir)
    env = {**cli_env(server.home, server.config), "INFINITY_API_TOKEN": server.token,
           "INFINITY_API_SERVER": server.url}
    batch.await_completion(polling_interval=0.1, timeout=60, progress=False)

    out = wait_for(lambda: (r := run_cli("records", "--dir", str(records_dir), "--timeout", "2",
                                         env=env).stdout) and "complete" in r and r,
                   timeout=30, what="records output")
    lines = out.splitlines()
    assert lines[0].split() == ["FOLDER", "NOTEBOOK", "KIND", "CREATED", "GENERATOR", "BATCH",
                                "ID", "STATUS"]
    with_batch = [line for line in lines if batch.batch_id in line]
    assert len(with_batch) == 2  # the Submit notebook (sidecar) and its Download notebook
    assert all("complete 2/2 (2 succeeded)" in line for line in with_batch)
    assert any("submit" in line for line in with_batch)
    # The environment's token is for server.url alone: the other server is never asked.
    assert any(BATCH in line and "no token" in line for line in lines)
    assert sum("not submitted" in line for line in lines) == 1
    assert server.token not in out


def test_rerun_command_overrides_given_parameters_only(tmp_path: Path) -> None:
    from tests.support.server import cli_env, run_cli

    record = probe_record(tmp_path)
    env = cli_env(tmp_path / "home", tmp_path / "config")
    result = run_cli("rerun", str(record), "-p", "LABEL", "from cli", "-p", "NUM_JOBS", "4",
                     env=env)
    new = Path(result.stdout.strip().splitlines()[-1])
    assert new.is_file() and new.parent.parent == record.parent.parent
    probe = json.loads((new.parent / "probe.json").read_text())
    assert probe["LABEL"] == "from cli" and probe["NUM_JOBS"] == 4

    bad = run_cli("rerun", str(record), "-p", "NOPE", "1", env=env, check=False)
    assert bad.returncode == 1 and "has no parameter NOPE" in bad.stderr
    missing = run_cli("rerun", str(tmp_path / "none.ipynb"), env=env, check=False)
    assert missing.returncode == 1 and "none.ipynb" in missing.stderr
    for result in (bad, missing):
        assert len(result.stderr.strip().splitlines()) == 1  # one line, no traceback


def test_rerun_of_a_failing_record_keeps_it_unlisted_and_says_where(tmp_path: Path) -> None:
    record = probe_record(tmp_path)
    nb = nbformat.read(str(record), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("raise RuntimeError('cell failed on purpose')"))
    nbformat.write(nb, str(record))
    with pytest.raises(records.RerunError, match="cell failed on purpose") as info:
        rerun_record(record, trust=True)  # the added cell is not the template's
    assert info.value.record is not None and info.value.record.is_file()
    assert info.value.record.name.startswith(".failed-")
    assert "cell failed on purpose" in info.value.record.read_text()
    assert [r.notebook for r in list_records(record.parent.parent)] == [record.name]


def test_rerun_completes_a_submit_record_whose_download_notebook_was_never_written(
        tmp_path: Path) -> None:
    """The batch was submitted (the sidecar says so) and writing the Download notebook then
    failed: `rerun` renders it beside the Submit record and submits nothing again."""
    from tests.support.server import cli_env, run_cli

    submit = create_workflow_notebook("submit", generator=GENERATOR, server=SERVER,
                                      records_dir=tmp_path)
    folder = submit.parent
    records.record_submission(folder, notebook=submit.name, batch_id=BATCH,
                              batch_name="half done", download_notebook=None)
    assert {r.notebook: r for r in list_records(tmp_path)}[submit.name].batch_id == BATCH

    env = cli_env(tmp_path / "home", tmp_path / "config")
    result = run_cli("rerun", str(submit), env=env)  # SERVER answers nothing: no request made
    said, path = result.stdout.strip().splitlines()
    made = Path(path)
    assert said == f"batch {BATCH}"  # the batch id, then the path
    assert made.parent == folder and made.name.startswith("download_batch_")
    assert read_parameters(made)["BATCH_ID"] == BATCH
    assert read_lineage(made)["parent"] == submit.name
    sidecar = json.loads((folder / records.SIDECAR).read_text())["submissions"]
    assert [(s["batch_id"], s["download_notebook"]) for s in sidecar] == [(BATCH, made.name)]
    assert sorted(p.name for p in tmp_path.iterdir()) == [folder.name]  # no new record folder


def test_rerun_refuses_a_sidecar_batch_id_that_is_not_a_uuid(tmp_path: Path) -> None:
    submit = create_workflow_notebook("submit", generator=GENERATOR, server=SERVER,
                                      records_dir=tmp_path)
    records.record_submission(submit.parent, notebook=submit.name, batch_id="../../etc",
                              batch_name="forged", download_notebook=None)
    before = sorted(p.name for p in submit.parent.iterdir())
    with pytest.raises(InfinityError, match="not a UUID"):
        rerun_record(submit)
    assert sorted(p.name for p in submit.parent.iterdir()) == before
