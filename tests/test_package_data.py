"""Package data and the user's folder: templates from the package, generator snippets,
records and downloads where the user works, init, and no half-written state."""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path

import nbformat
import pytest
from papermill.translators import PythonTranslator

from infinity_workflows import records
from infinity_workflows.errors import ConfigurationError, RecordError
from infinity_workflows.files import atomic_write, write_text_atomic
from infinity_workflows.getting_started import CREATE_NOTEBOOK, init_folder
from infinity_workflows.paths import default_downloads_dir, default_records_dir, work_folder
from infinity_workflows.records import (
    create_workflow_notebook,
    list_records,
    read_lineage,
    read_parameters,
    render_download_notebook,
    template_notebook,
)
from infinity_workflows.records.snippets import parse_cells
from infinity_workflows.snippets import SNIPPET_TAG
from tests.support.server import ROOT

SERVER = "http://127.0.0.1:9/"
VISIONFIT = "visionfit-flagship-v0.1.0"
BATCH = "0b0c3f5e-8d3a-4c61-9a53-2f1d6f7f2a10"


def code(nb: nbformat.NotebookNode) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "code")


# -- templates and snippets ---------------------------------------------------------------------
def test_the_core_templates_name_no_generator_package() -> None:
    for kind in records.KINDS:
        nb, name = template_notebook(kind)  # no generator: the generic cells
        assert name == f"infinity_workflows/notebooks/{records.KINDS[kind]}.ipynb"
        assert "visionfit" not in code(nb)
    assert "visionfit" not in (ROOT / "infinity_workflows" / "notebooks" /
                               CREATE_NOTEBOOK).read_text()


def test_each_generator_gets_its_own_cells_and_parameters(tiny_installed) -> None:
    vf_submit, _ = template_notebook("submit", VISIONFIT)
    assert "IMAGE_SIZE = 256" in vf_submit.cells[1].source  # the parameters cell
    assert "visualize_job_params(job_params)" in code(vf_submit)
    vf_download, _ = template_notebook("download", VISIONFIT)
    assert "EXPORT_COCO = False" in vf_download.cells[1].source
    assert "export_coco(folder" in code(vf_download)
    tiny_submit, _ = template_notebook("submit", "tiny-v1")
    assert 'COLOR = "cool"' in tiny_submit.cells[1].source
    assert "visionfit" not in code(tiny_submit)
    generic, _ = template_notebook("submit", "a-generator-not-installed-here")
    assert "job_params = [sample_input(sesh, rng=rng) for _ in range(NUM_JOBS)]" in code(generic)
    # The snippet replaced the generic block, once, where the block was.
    generic_tags = [SNIPPET_TAG in c.metadata.get("tags", []) for c in generic.cells]
    tiny_tags = [SNIPPET_TAG in c.metadata.get("tags", []) for c in tiny_submit.cells]
    assert generic_tags.index(True) == tiny_tags.index(True)


def test_percent_format_cells() -> None:
    cells = parse_cells("# %% [markdown]\n# ## Title\n#\n# text\n\n# %%\nx = 1\n\n# %%\ny = 2\n")
    assert [c.cell_type for c in cells] == ["markdown", "code", "code"]
    assert cells[0].source == "## Title\n\ntext"
    assert cells[1].source == "x = 1" and cells[2].source == "y = 2"
    with pytest.raises(ConfigurationError, match="before its first"):
        parse_cells("x = 1\n# %%\ny = 2")


def test_every_parameters_line_parses_and_renders_without_warnings(
        tmp_path: Path, tiny_installed, caplog: pytest.LogCaptureFixture) -> None:
    sources = [template_notebook(kind, generator)[0] for kind in records.KINDS
               for generator in (None, VISIONFIT, "tiny-v1")]
    sources += [nbformat.read(str(p), as_version=4)
                for p in (ROOT / "visionfit" / "examples").glob("*.ipynb")]
    for nb in sources:
        (cell,) = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        lines = [line for line in cell.source.splitlines() if line.strip()]
        assert len(PythonTranslator.inspect(cell)) == len(lines), cell.source
    caplog.set_level(logging.WARNING, logger="papermill")
    for generator in (VISIONFIT, "tiny-v1"):
        submit = create_workflow_notebook("submit", generator=generator, server=SERVER,
                                          records_dir=tmp_path,
                                          extra_parameters={"BATCH_NAME": "named"})
        render_download_notebook(batch_id=BATCH, batch_name="b", generator=generator,
                                 server=SERVER, folder=submit.parent, parent=submit)
    assert [r.getMessage() for r in caplog.records] == []


# -- no half states -----------------------------------------------------------------------------
def test_a_missing_template_leaves_no_record_folder(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(records.render, "TEMPLATES_FOLDER", "no-such-folder")
    with pytest.raises(ConfigurationError, match="missing from this installation"):
        create_workflow_notebook("submit", generator=VISIONFIT, server=SERVER,
                                 records_dir=tmp_path / "records")
    assert not (tmp_path / "records").exists() or not any((tmp_path / "records").iterdir())
    with pytest.raises(RecordError, match="not one of"):
        create_workflow_notebook("review", generator=VISIONFIT, server=SERVER,
                                 records_dir=tmp_path / "records")


def test_a_submission_is_recorded_before_its_download_notebook(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    submit = create_workflow_notebook("submit", generator=VISIONFIT, server=SERVER,
                                      records_dir=tmp_path)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(records.render, "render_record", broken)
    with pytest.raises(OSError, match="disk full"):
        render_download_notebook(batch_id=BATCH, batch_name="b", generator=VISIONFIT,
                                 server=SERVER, folder=submit.parent, parent=submit)
    (entry,) = list_records(tmp_path)
    assert entry.notebook == submit.name and entry.batch_id == BATCH
    monkeypatch.undo()
    # Rendering it later completes the same entry.
    path = render_download_notebook(batch_id=BATCH, batch_name="b", generator=VISIONFIT,
                                    server=SERVER, folder=submit.parent, parent=submit)
    sidecar = json.loads((submit.parent / records.SIDECAR).read_text())["submissions"]
    assert [(s["batch_id"], s["download_notebook"]) for s in sidecar] == \
        [(BATCH, None), (BATCH, path.name)]


def test_an_atomic_write_that_fails_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    write_text_atomic(target, "old", permissions=0o600)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    with pytest.raises(RuntimeError), atomic_write(target) as fh:
        fh.write("half of the new")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


# -- the user's folder --------------------------------------------------------------------------
def test_records_and_downloads_live_in_the_work_folder(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INFINITY_WORKFLOWS_RECORDS", raising=False)
    monkeypatch.delenv("INFINITY_WORKFLOWS_DOWNLOADS", raising=False)
    monkeypatch.chdir(tmp_path)
    assert default_records_dir() == tmp_path / "workflow_records"
    assert default_downloads_dir() == tmp_path / "downloads"
    record_folder = tmp_path / "workflow_records" / "workflow_2026_11_25_T_08_00_00_2"
    assert work_folder(record_folder) == tmp_path
    assert default_downloads_dir(record_folder) == tmp_path / "downloads"
    path = create_workflow_notebook("submit", generator=VISIONFIT, server=SERVER)
    assert path.parent.parent == tmp_path / "workflow_records"
    monkeypatch.setenv("INFINITY_WORKFLOWS_RECORDS", str(tmp_path / "r"))
    monkeypatch.setenv("INFINITY_WORKFLOWS_DOWNLOADS", str(tmp_path / "d"))
    assert default_records_dir() == tmp_path / "r"
    assert default_downloads_dir(record_folder) == tmp_path / "d"


def test_init_writes_the_create_notebook_and_examples_and_keeps_what_is_there(
        tmp_path: Path) -> None:
    report = init_folder(tmp_path / "work")
    names = sorted(p.relative_to(tmp_path / "work").as_posix() for p in report.written)
    assert names == ["create_a_workflow.ipynb", "examples/parameter_sweep_demo.ipynb",
                     "examples/submit_and_download_batch_demo.ipynb"]
    assert "infinity-workflows lab" in report.describe()
    create = tmp_path / "work" / CREATE_NOTEBOOK
    create.write_text("my own edits")
    again = init_folder(tmp_path / "work")
    assert again.written == [] and create in again.kept
    assert create.read_text() == "my own edits"


def test_a_record_names_its_template_by_package_name_never_a_path(tmp_path: Path) -> None:
    path = create_workflow_notebook("download", generator=VISIONFIT, server=SERVER,
                                    batch_id=BATCH, records_dir=tmp_path)
    text = path.read_text()
    assert str(ROOT) not in text and os.sep + "site-packages" not in text
    assert read_lineage(path)["template"] == "infinity_workflows/notebooks/download_batch.ipynb"
    assert read_parameters(path)["BATCH_ID"] == BATCH


# -- file modes: never wider than the umask, private where results live (issue 19, item 11) -
_MODES_SCRIPT = r"""
import json, os, stat, sys
from pathlib import Path

os.umask(int(sys.argv[2], 8))
work = Path(sys.argv[1])
from infinity_workflows import records
from infinity_workflows.download import claim_folder
from infinity_workflows.getting_started import init_folder
from infinity_workflows.server.gallery import Gallery
from tests.support.tiny import TinyGalleryGenerator

init_folder(work / "init")
record = records.create_workflow_notebook("submit", generator="g", server="http://x/",
                                          records_dir=work / "records")
records.record_submission(record.parent, notebook=record.name,
                          batch_id="0b0c3f5e-8d3a-4c61-9a53-2f1d6f7f2a10", batch_name="b",
                          download_notebook=None)
(work / "dl").mkdir()
claim_folder(work / "dl", "0b0c3f5e-8d3a-4c61-9a53-2f1d6f7f2a10")
(work / "home").mkdir(mode=0o700)
gallery = Gallery(work / "home" / "gallery", work / "home")
image = gallery.image(TinyGalleryGenerator(), "red")
mode = lambda p: oct(stat.S_IMODE(p.stat().st_mode))
print(json.dumps({
    "init notebook": mode(work / "init" / "create_a_workflow.ipynb"),
    "record": mode(record),
    "submissions.json": mode(record.parent / "submissions.json"),
    "batch_id.txt": mode(work / "dl" / "batch_id.txt"),
    "gallery folders": sorted({mode(p) for p in (work / "home").rglob("*") if p.is_dir()}),
    "gallery image": mode(image),
}))
"""


@pytest.mark.parametrize("umask", ["077", "000"])
def test_file_modes_never_exceed_the_umask_nor_0700_0600_where_results_live(
        tmp_path: Path, umask: str) -> None:
    import subprocess
    import sys

    from tests.support.server import cli_env

    env = {**cli_env(tmp_path / "srv", tmp_path / "config"), "HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", _MODES_SCRIPT, str(tmp_path), umask],
                         env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    modes = json.loads(out.stdout.strip().splitlines()[-1])
    if umask == "077":  # the user's choice: nothing of theirs is opened to others
        assert {k: v for k, v in modes.items() if k != "gallery folders"} == dict.fromkeys(
            ["init notebook", "record", "submissions.json", "batch_id.txt", "gallery image"],
            "0o600"), modes
        assert modes["gallery folders"] == ["0o700"]
    else:  # umask 000: files as open() makes them, but the server's results stay private
        assert modes["gallery folders"] == ["0o700"], modes
        assert modes["gallery image"] == "0o600", modes
        assert modes["record"] == modes["init notebook"] == "0o666", modes
