"""visionfit.utils.export on jobs rendered by the real VisionFit generator: the exported
dataset loads in pycocotools, its images are the jobs' frames, and no label is lost or
changed except for the ids it renumbers."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from visionfit.utils.export import ANNOTATIONS_FILE, export_coco
from visionfit.utils.vis import job_folders, read_frame


def _labels(job_dir: Path) -> dict:
    return json.loads((job_dir / "labels.json").read_text())


def test_export_is_one_coco_dataset_of_every_frame(vis_batch_folder: Path,
                                                    tmp_path: Path) -> None:
    path = export_coco(vis_batch_folder, tmp_path / "coco")
    assert path == tmp_path / "coco" / ANNOTATIONS_FILE
    coco = COCO(str(path))
    data = json.loads(path.read_text())
    jobs = job_folders(vis_batch_folder)
    assert [j["job_id"] for j in data["jobs"]] == [j.name for j in jobs]
    assert data["info"]["batch_id"] == (vis_batch_folder / "batch_id.txt").read_text().strip()
    assert [c["name"] for c in data["categories"]][0] == "person"

    total_images = total_anns = 0
    for job_dir in jobs:
        labels = _labels(job_dir)
        mine = [img for img in data["images"] if img["job_id"] == job_dir.name]
        assert len(mine) == len(labels["images"])
        total_images += len(mine)
        total_anns += len(labels["annotations"])
        name_of = {c["id"]: c["name"] for c in labels["categories"]}
        for old, new in zip(labels["images"], mine, strict=True):
            assert new["frame_number"] == old["frame_number"]
            assert new["file_name"] == f"images/{job_dir.name}/{old['frame_number']:06d}.png"
            assert new["rep_count_from_start"] == old["rep_count_from_start"]
            pixels = np.asarray(Image.open(path.parent / new["file_name"]).convert("RGB"))
            assert np.array_equal(pixels, read_frame(job_dir, old["frame_number"]))
            old_anns = [a for a in labels["annotations"] if a["image_id"] == old["id"]]
            new_anns = coco.loadAnns(coco.getAnnIds(imgIds=[new["id"]]))
            assert len(new_anns) == len(old_anns)
            for a, b in zip(old_anns, new_anns, strict=True):
                assert coco.cats[b["category_id"]]["name"] == name_of[a["category_id"]]
                changed = {"id", "image_id", "category_id"}
                assert {k: v for k, v in a.items() if k not in changed} == \
                    {k: v for k, v in b.items() if k not in changed}
                assert np.array_equal(coco.annToMask(b), mask_utils.decode(a["segmentation"]))
    assert len(coco.imgs) == total_images and len(coco.anns) == total_anns
    assert sorted(coco.imgs) == list(range(1, total_images + 1))  # unique, renumbered
    assert sorted(coco.anns) == list(range(1, total_anns + 1))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no staging left"


def test_every_nth_frame_keeps_frame_zero_and_its_labels_only(vis_batch_folder: Path,
                                                              tmp_path: Path) -> None:
    coco = COCO(str(export_coco(vis_batch_folder, tmp_path / "coco", every_nth=3)))
    assert {img["frame_number"] % 3 for img in coco.imgs.values()} == {0}
    for job_dir in job_folders(vis_batch_folder):
        labels = _labels(job_dir)
        kept = [i for i in labels["images"] if i["frame_number"] % 3 == 0]
        assert len([i for i in coco.imgs.values() if i["job_id"] == job_dir.name]) == len(kept)
    assert all(a["image_id"] in coco.imgs for a in coco.anns.values())
    assert len(list((tmp_path / "coco" / "images").rglob("*.png"))) == len(coco.imgs)


def test_refusals_say_what_to_do_and_keep_what_exists(vis_batch_folder: Path,
                                                      tmp_path: Path) -> None:
    out = tmp_path / "coco"
    export_coco(vis_batch_folder, out, every_nth=5)
    before = (out / ANNOTATIONS_FILE).read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        export_coco(vis_batch_folder, out)
    assert (out / ANNOTATIONS_FILE).read_bytes() == before
    with pytest.raises(ValueError, match="every_nth"):
        export_coco(vis_batch_folder, tmp_path / "other", every_nth=0)
    empty = tmp_path / "empty_batch"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="download the batch first"):
        export_coco(empty, tmp_path / "x")

    # A job whose video lost frames is refused, and the earlier export stays whole.
    broken = tmp_path / "broken"
    shutil.copytree(vis_batch_folder, broken)
    video_job = next(j for j in job_folders(broken) if (j / "video.mp4").is_file())
    labels = _labels(video_job)
    labels["images"].append({**labels["images"][-1], "id": 10_000,
                             "frame_number": len(labels["images"])})
    (video_job / "labels.json").write_text(json.dumps(labels))
    with pytest.raises(ValueError, match="download it again"):
        export_coco(broken, out, overwrite=True)
    assert (out / ANNOTATIONS_FILE).read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no staging left"

    export_coco(vis_batch_folder, out, overwrite=True)  # replaced whole
    assert json.loads((out / ANNOTATIONS_FILE).read_text())["info"]["every_nth_frame"] == 1


def test_export_carries_depth_maps_amodal_masks_and_quaternions(vf_generator,
                                                                tmp_path: Path) -> None:
    batch = tmp_path / "batch"
    small = dict(exercise="SQUAT-BODYWEIGHT", scene="LIVINGROOM_1", frame_rate=6,
                 image_width=128, image_height=128)
    for name, is_preview, depth in (("video-depth", False, True), ("preview-depth", True, True),
                                    ("video-plain", False, False)):
        (batch / name).mkdir(parents=True)
        vf_generator.run(vf_generator.schema.complete({**small, "enable_depth_maps": depth}),
                      is_preview, batch / name, 3)
    path = export_coco(batch, tmp_path / "coco", every_nth=2)
    coco = COCO(str(path))
    with zipfile.ZipFile(batch / "video-depth" / "depth.zip") as z:
        zipped = {n: z.read(n) for n in z.namelist()}
    for img in coco.imgs.values():
        job = img["job_id"]
        if job == "video-plain":
            assert "depth_file_name" not in img
            continue
        assert img["depth_file_name"] == f"depth/{job}/{img['frame_number']:06d}.png"
        data = (path.parent / img["depth_file_name"]).read_bytes()
        source = f"image.{img['frame_number']:06d}.depth.png"
        expected = zipped[source] if job == "video-depth" else (batch / job / source).read_bytes()
        assert data == expected
        assert np.asarray(Image.open(io.BytesIO(data))).dtype == np.uint16
    people = [a for a in coco.anns.values() if coco.cats[a["category_id"]]["name"] == "person"]
    assert len(people) == len(coco.imgs)
    for ann in people:
        assert len(ann["quaternions"]) == 26
        amodal = mask_utils.decode(ann["amodal_segmentation"]).astype(bool)
        assert not (coco.annToMask(ann).astype(bool) & ~amodal).any()
    assert len(list((tmp_path / "coco" / "depth").rglob("*.png"))) == sum(
        1 for img in coco.imgs.values() if img["job_id"] != "video-plain")


def test_export_of_the_batch_name_folder_the_readme_passes(vis_batch_folder: Path,
                                                           tmp_path: Path) -> None:
    """``export_coco("downloads/<batch name>")``: the Download notebook puts the batch in
    ``batch_ID_<id>/`` under that folder, so the one batch there is exported, beside it."""
    named = tmp_path / "downloads" / "gym previews"
    batch = named / "batch_ID_0b8e6c55-7c1f-4a43-9d0e-5a2f3f7f4c11"
    previews = [d for d in job_folders(vis_batch_folder)
                if not (d / "video.mp4").is_file()]
    for job_dir in previews:
        shutil.copytree(job_dir, batch / job_dir.name)
    annotations = export_coco(named)
    assert annotations == batch.with_name(f"{batch.name}_coco") / ANNOTATIONS_FILE
    dataset = json.loads(annotations.read_text())
    assert {j["job_id"] for j in dataset["jobs"]} == {d.name for d in previews}

    # Two batches of one name: which one is meant is the user's choice, named in the error.
    shutil.copytree(batch, named / "batch_ID_5d2c0a9e-95c4-4d0c-8a55-4c1f6f5a3b22")
    with pytest.raises(ValueError, match="holds 2 batches of that name.*pass one of them"):
        export_coco(named, overwrite=True)
