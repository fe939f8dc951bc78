"""The VisionFit generator through the real server: schema, a video job, a preview, a rerun,
and the downloaded job folders' layout (amodal masks and depth maps included).

The generator is found by its installed entry point (no --generator needed).
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import requests

from infinity_workflows import Session
from tests.support.server import LiveServer
from tests.support.waiting import wait_for

NAME = "visionfit-flagship-v0.1.0"
SMALL = {"exercise": "JUMPING_JACK", "scene": "LIVINGROOM_2", "frame_rate": 6,
         "image_width": 128, "image_height": 128, "num_reps": 2, "max_rel_speed_change": 0.6,
         "inter_rep_delay_avg": 0.5, "inter_rep_delay_var": 0.3, "add_wall_art": True,
         "enable_depth_maps": True}


def finished(srv: LiveServer, batch_id: str) -> list[dict]:
    def done():
        body = srv.get(f"api/batch/{batch_id}/summary/").json()
        return body["job_runs"] if not any(j["in_progress"] for j in body["job_runs"]) else None
    return wait_for(done, timeout=180, what="VisionFit batch to finish")


def result_files(run: dict) -> dict[str, bytes]:
    assert run["result_url"], run
    resp = requests.get(run["result_url"], timeout=60)
    resp.raise_for_status()
    with zipfile.ZipFile(io.BytesIO(resp.content)) as z:
        return {n: z.read(n) for n in z.namelist()}


def test_visionfit_jobs_run_on_the_server(server: LiveServer, tmp_path: Path) -> None:
    srv = server
    detail = srv.get(f"api/jobs/{NAME}/").json()
    assert detail["name"] == NAME and detail["options"]["preview"] is True
    params = {p["name"]: p for p in detail["params"]}
    assert len(params) == 32 and all(p["description"] for p in params.values())
    assert params["scene"]["options"]["choices"][0] == "GYM_1"
    assert params["frame_rate"]["options"]["choices"] == [30, 24, 12, 8, 6]

    estimate = srv.post("api/batch/estimate/", {"name": "e", "job_runs": [
        {"name": NAME, "is_preview": False, "param_values": SMALL}]})
    assert estimate.status_code == 200, estimate.text

    runs, batch_ids = {}, {}
    for is_preview in (False, True):  # a batch is all videos or all previews
        batch = srv.post("api/batch/", {"name": "vf", "job_runs": [
            {"name": NAME, "is_preview": is_preview, "param_values": SMALL}]})
        assert batch.status_code in (200, 201), batch.text
        batch_ids[is_preview] = batch.json()["id"]
        runs[is_preview] = finished(srv, batch_ids[is_preview])[0]
    video = result_files(runs[False])
    job_id = runs[False]["id"]
    assert {f"{job_id}/{n}" for n in ("job.json", "labels.json", "video.mp4",
                                      "video_preview.png", "segmentation.zip")} <= set(video)
    labels = json.loads(video[f"{job_id}/labels.json"])
    job_json = json.loads(video[f"{job_id}/job.json"])
    assert job_json["name"] == NAME and job_json["params"]["exercise"] == "JUMPING_JACK"
    n_frames = len(labels["images"])
    assert estimate.json() == [n_frames]  # estimate() is exact

    preview = result_files(runs[True])
    pid = runs[True]["id"]
    assert {f"{pid}/image.000000.iseg.png", f"{pid}/image.000000.cseg.png",
            f"{pid}/video_preview.png", f"{pid}/labels.json"} <= set(preview)

    # Downloaded through the client, each job folder holds the documented layout.
    session = Session(token=srv.token, generator=NAME, server=srv.url)
    (video_dir,) = session.batch_from_api(batch_ids[False]).download(tmp_path / "v",
                                                                    progress=False)
    (preview_dir,) = session.batch_from_api(batch_ids[True]).download(tmp_path / "p",
                                                                     progress=False)
    person_ids = [a["id"] for a in labels["annotations"] if a["category_id"] == 1]
    with zipfile.ZipFile(video_dir / "segmentation.zip") as z:
        assert {f"image.{f:06d}.iseg.{a}.png" for f, a in enumerate(person_ids)} <= set(
            z.namelist())
    with zipfile.ZipFile(video_dir / "depth.zip") as z:
        assert sorted(z.namelist()) == [f"image.{f:06d}.depth.png" for f in range(n_frames)]
    assert {"timing.json", "labels.json", "video.mp4"} <= {p.name for p in video_dir.iterdir()}
    assert {"image.000000.iseg.1.png", "image.000000.depth.png", "timing.json"} <= {
        p.name for p in preview_dir.iterdir()}

    # A rerun with `state` keeps the seed, so timing and furniture stay; the camera moves.
    rerun = srv.post("api/batch/", {"name": "vf-rerun", "job_runs": [
        {"name": NAME, "is_preview": False,
         "param_values": {**SMALL, "camera_distance": 4.0, "state": job_id}}]})
    assert rerun.status_code in (200, 201), rerun.text
    run2 = finished(srv, rerun.json()["id"])[0]
    files2 = result_files(run2)
    labels2 = json.loads(files2[f"{run2['id']}/labels.json"])
    assert json.loads(files2[f"{run2['id']}/job.json"])["seed"] == job_json["seed"]
    assert ([im["rep_count_from_start"] for im in labels2["images"]]
            == [im["rep_count_from_start"] for im in labels["images"]])
    assert labels2["info"]["camera_location"] != labels["info"]["camera_location"]

    def furniture(lab: dict) -> set[tuple[str, str]]:
        return {(a["instance_name"], json.dumps(a["color"])) for a in lab["annotations"]
                if a["category_id"] != 1}
    assert furniture(labels2) & furniture(labels)
