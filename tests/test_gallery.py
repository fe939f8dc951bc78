"""The curation gallery: filters, sort and pages over a batch's label statistics; picking;
the rerun of a selection as videos, from a record or submitted now, against the real
server (the tiny generator, known to the client through its declared label summary)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infinity_workflows.errors import DataError, ValidationError
from infinity_workflows.workflow.curation import (
    CACHE_FOLDER,
    SELECTION_FILE,
    Curation,
    Filter,
    plan_rerun,
    read_selection,
    write_rerun_record,
)
from tests.support.server import LiveServer
from tests.support.tiny import TinyGenerator

COLOURS = ("red", "green", "blue")


def _tiny_folder(root: Path, n: int) -> Path:
    gen = TinyGenerator()
    for i in range(n):
        job = root / f"00000000-0000-4000-8000-{i:012d}"
        job.mkdir(parents=True)
        gen.run(gen.schema.complete({"color": COLOURS[i % 3], "scale": float(i % 5)}), True,
                job, seed=i)
    return root


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tiny_folder(tmp_path_factory.mktemp("gallery") / "batch", 60)


def test_filters_sort_and_pages(folder: Path) -> None:
    cur = Curation.load(folder, TinyGenerator())
    assert len(cur) == 60 and cur.columns()[:2] == ["num_frames", "avg_value"]
    occ = cur.frame["avg_percent_occlusion"]
    rows = cur.select_rows([Filter("avg_percent_occlusion", low=40.0, high=None)],
                           "avg_percent_occlusion", descending=True)
    ids = cur.ids_of(rows)
    assert set(ids) == set(occ[occ >= 40].index)
    assert list(occ[ids]) == sorted(occ[ids], reverse=True)
    both = cur.ids_of(cur.select_rows([Filter("avg_percent_occlusion", low=40.0),
                                       Filter("color", values=("red",))]))
    assert both and all(cur.value(j, "color") == "red" and occ[j] >= 40 for j in both)
    assert cur.ids_of(cur.select_rows([Filter("scale", low=1, high=2)], "scale")) == \
        list(cur.frame[cur.frame.scale.between(1, 2)].sort_values("scale", kind="stable").index)
    with pytest.raises(ValidationError, match="no column 'nope'"):
        cur.select_rows([Filter("nope", low=1)])
    with pytest.raises(ValidationError, match="not a number"):
        cur.select_rows([Filter("color", low=1)])
    assert cur.thumbnail(ids[0]).startswith(b"\xff\xd8")  # a JPEG


def test_the_table_and_thumbnails_are_made_once(folder: Path) -> None:
    Curation.load(folder, TinyGenerator())
    cache = folder / CACHE_FOLDER
    table, pack = cache / "table.json", cache / "thumbs128-jpeg.pack"
    index = json.loads((cache / "thumbs128-jpeg.json").read_text())
    assert len(index) == 60 and pack.stat().st_size == sum(n for _, n in index.values())
    stamps = (table.stat().st_mtime_ns, pack.stat().st_mtime_ns)
    again = Curation.load(folder, TinyGenerator())
    assert (table.stat().st_mtime_ns, pack.stat().st_mtime_ns) == stamps
    assert again.statistics == dict(TinyGenerator.label_statistics)
    assert again.frame["color"].tolist() == [COLOURS[i % 3] for i in range(60)]


def test_the_widget_filters_pages_and_picks(folder: Path) -> None:
    from infinity_workflows.widgets.gallery import CurationGallery

    g = CurationGallery(folder, generator=TinyGenerator(), per_page=8)
    assert "page 1 / 8" in g.page_label.value and g.prev_button.disabled
    g.add_filter(Filter("color", values=("green",)))
    assert len(g.shown_ids()) == 20 and "page 1 / 3" in g.page_label.value
    g.sort.value = "avg_percent_occlusion"
    g.descending.value = True
    shown = g.shown_ids()
    g.go_to_page(1)
    assert [t.job_id for t in g.tiles] == shown[8:16]
    assert "occlusion" in g.tiles[0].view.value and "data:image/jpeg;base64," in \
        g.tiles[0].view.value
    g.tiles[0].pick.value = True
    g.tiles[3].pick.value = True
    assert g.selected == [shown[8], shown[11]] and "2 selected" in g.count.value
    assert g.tiles[0].box.layout.border != g.tiles[1].box.layout.border
    g.go_to_page(2)  # the last page: four tiles shown, the rest hidden
    assert [t.box.layout.display for t in g.tiles].count("none") == 4
    g.select_shown()
    assert len(g.selected) == 20 and "20 selected" in g.count.value
    g.remove_filter("color")
    assert len(g.shown_ids()) == 60 and len(g.selected) == 20
    g.clear_selection()
    assert g.selected == [] and not any(t.pick.value for t in g.tiles)
    g.plan()  # without the previews batch: said, not raised
    assert "without its previews batch" in g.result.value


def test_an_empty_folder_waits_for_a_download(tmp_path: Path) -> None:
    from infinity_workflows.widgets.gallery import CurationGallery

    g = CurationGallery(tmp_path / "not-yet")
    assert "No downloaded jobs" in g.status.value and g.shown_ids() == []
    _tiny_folder(tmp_path / "not-yet", 3)
    g.generator = TinyGenerator()
    g.reload()
    assert len(g.shown_ids()) == 3


# -- against the server ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def previews(server: LiveServer, tmp_path_factory: pytest.TempPathFactory):
    """A downloaded tiny previews batch of 9 jobs on the shared server."""
    from infinity_workflows import Session
    from infinity_workflows.workflow import wait_and_download

    session = Session(generator="tiny-v1", server=server.url, token=server.token)
    jobs = [{"color": COLOURS[i % 3], "frames": 2} for i in range(9)]
    batch = session.submit(job_params=jobs, is_preview=True, batch_name="gallery-previews")
    folder = tmp_path_factory.mktemp("previews") / "batch"
    report = wait_and_download(batch, folder, polling_interval=0.1, timeout=300,
                               progress=False)
    assert report.failed == {} and len(report.downloaded) == 9
    return batch, folder


@pytest.mark.usefixtures("tiny_installed")
def test_a_selection_becomes_a_submit_record_and_reads_back(previews, tmp_path: Path,
                                                           server: LiveServer) -> None:
    from infinity_workflows.records import read_lineage, read_parameters
    from infinity_workflows.widgets.gallery import CurationGallery

    batch, folder = previews
    g = CurationGallery(folder, batch, records_dir=tmp_path / "records")
    assert g.curation is not None and "avg_percent_occlusion" in g.curation.statistics
    g.tiles[1].pick.value = g.tiles[4].pick.value = True
    chosen = g.selected
    g.overrides.value = '{"frames": 4}'
    plan = g.plan()
    assert plan is not None and plan.job_ids == chosen and plan.overrides == {"frames": 4}
    assert g.confirm_button.layout.display == "" and "2 preview job(s)" in g.result.value
    g._write_clicked()
    record = g.last_record
    assert record is not None and record.is_file(), g.result.value
    lineage = read_lineage(record)
    assert lineage["rerun_of"] == {"batch_id": batch.batch_id, "job_ids": chosen}
    params = read_parameters(record)
    assert params["RERUN_JOB_IDS"] == chosen and params["IS_PREVIEW"] is False
    assert params["OVERRIDES"] == {"frames": 4}
    saved = read_selection(record)
    assert saved["job_ids"] == chosen and saved["previews_batch_id"] == batch.batch_id
    for path in record.parent.iterdir():
        assert server.token not in path.read_text()
    g2 = CurationGallery(folder, batch)
    g2.load_selection(record.parent)
    assert g2.selected == chosen
    with pytest.raises(DataError, match=SELECTION_FILE):
        read_selection(tmp_path)


@pytest.mark.usefixtures("tiny_installed")
def test_bad_overrides_and_foreign_jobs_are_refused(previews) -> None:
    from infinity_workflows.widgets.gallery import CurationGallery

    batch, folder = previews
    g = CurationGallery(folder, batch)
    g.plan()
    assert "nothing is selected" in g.result.value
    g.tiles[0].pick.value = True
    g.overrides.value = '{"frames": 0}'
    assert g.plan() is None and "frames" in g.result.value
    g.overrides.value = "{frames: 2"
    assert g.plan() is None and "not JSON" in g.result.value
    g.overrides.value = '{"state": "x"}'
    assert g.plan() is None and "state" in g.result.value
    with pytest.raises(ValidationError, match="not in batch"):
        plan_rerun(batch, ["00000000-0000-4000-8000-000000000001"])


@pytest.mark.usefixtures("tiny_installed")
def test_confirm_submits_videos_from_the_same_seeds(previews, tmp_path: Path) -> None:
    from infinity_workflows.records import read_lineage
    from infinity_workflows.widgets.gallery import CurationGallery
    from infinity_workflows.workflow import wait_and_download

    batch, folder = previews
    g = CurationGallery(folder, batch, records_dir=tmp_path / "records")
    g.add_filter(Filter("color", values=("red",)))
    g.select_shown()
    chosen = g.selected
    assert len(chosen) == 3
    assert g.plan() is not None
    g._confirm_clicked()
    g._confirm_clicked()  # a second click submits nothing more
    videos = g.last_batch
    assert videos is not None, g.result.value
    assert videos.job_type == "video" and sorted(j["param_values"]["state"]
                                                 for j in videos.jobs) == sorted(chosen)
    downloads = sorted(g.last_record.parent.glob("download_batch_*.ipynb"))
    assert len(downloads) == 1 and read_lineage(downloads[0])["batch_id"] == videos.batch_id
    assert read_lineage(g.last_record)["rerun_of"]["job_ids"] == chosen
    out = tmp_path / "videos"
    wait_and_download(videos, out, polling_interval=0.1, timeout=300, progress=False)
    for job in videos.jobs:  # the same seed: the preview's first frame value comes back
        state = job["param_values"]["state"]
        video = json.loads((out / job["id"] / "labels.json").read_text())["frames"]
        preview = json.loads((folder / state / "labels.json").read_text())["frames"]
        assert len(video) == 2 and video[0] == preview[0]


def test_a_written_record_has_no_token(previews, tmp_path: Path, server: LiveServer) -> None:
    batch, _ = previews
    plan = plan_rerun(batch, [batch.jobs[0]["id"]])
    record = write_rerun_record(plan, tmp_path)
    text = "".join(p.read_text() for p in record.parent.iterdir())
    assert server.token not in text and batch.batch_id in text


def test_a_written_record_submits_the_videos_when_run(previews, kernel_env: LiveServer,
                                                      tmp_path: Path) -> None:
    from infinity_workflows import Session
    from infinity_workflows.records import read_lineage, rerun_record
    from infinity_workflows.workflow import open_batch

    batch, _ = previews
    chosen = [batch.jobs[2]["id"], batch.jobs[5]["id"]]
    record = write_rerun_record(plan_rerun(batch, chosen, {"frames": 3}), tmp_path / "records")
    ran = rerun_record(record, {"SUBMIT_NOW": True}, records_dir=tmp_path / "records")
    assert read_lineage(ran)["rerun_of"]["job_ids"] == chosen  # kept by the re-run
    (download,) = ran.parent.glob("download_batch_*.ipynb")
    videos_id = read_lineage(download)["batch_id"]
    session = Session(token=kernel_env.token, generator="tiny-v1", server=kernel_env.url)
    videos = open_batch(session, videos_id)
    assert videos.job_type == "video"
    assert sorted(j["param_values"]["state"] for j in videos.jobs) == sorted(chosen)
    assert {j["param_values"]["frames"] for j in videos.jobs} == {3}


def test_captions_skip_statistics_that_repeat_another(folder: Path) -> None:
    cur = Curation.load(folder, TinyGenerator())
    # Previews have one frame: num_frames never varies, max occlusion is the mean's copy.
    assert cur.varying() == ["avg_value", "avg_percent_occlusion"]
