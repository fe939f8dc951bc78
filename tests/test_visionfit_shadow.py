"""VisionFit shadows: cast away from the lamp, dark under the feet, RGB only.

The shadow model (visionfit/generator/shadow.py) is checked against its own geometry (a
single ball over the floor, where the shadow's centre and sharpness are known in closed
form) and on rendered jobs: the floor under the feet is darker than the same floor without
the person, a dark room stays black, and the labels are byte-for-byte what they are with the
shadow left out.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from visionfit.generator import VisionFitGenerator
from visionfit.generator.body import Primitives
from visionfit.generator.camera import aimed_camera
from visionfit.generator.job import Job
from visionfit.generator.shadow import LAMP_RADIUS, body_shadow

GEN = VisionFitGenerator()
LIGHT = np.array([0.0, -1.0, 2.5])


def ball(x: float, y: float, z: float, r: float) -> Primitives:
    """One frame holding a single ball (a capsule with both ends at one point)."""
    c = np.array([[[x, y, z]]])
    return Primitives(c, c.copy(), np.array([r]), np.ones((1, 3)), np.zeros((1, 0, 3)),
                      np.zeros((1, 0, 3, 3)), np.zeros((0, 3)))


@pytest.mark.parametrize("height, sharp", [(0.12, True), (1.4, False)])
def test_ball_shadow_lies_on_the_line_from_the_lamp(height: float, sharp: bool) -> None:
    cam = aimed_camera(256, 256, np.array([0.0, 1.0]), 0.0, 3.0, 3.0, 0.0, 0.0)
    r = 0.1
    sh = body_shadow(cam, ball(0.0, 1.0, height, r), LIGHT)
    assert sh is not None
    # Where the lamp's centre throws the ball's centre: beyond it, away from the lamp.
    m = LIGHT[2] / (LIGHT[2] - height)
    centre = LIGHT + (np.array([0.0, 1.0, height]) - LIGHT) * m
    u, v, _ = cam.project(np.array([centre[0], centre[1], 0.0]))
    ys, xs = sh.slices
    w = sh.direct / sh.direct.sum()  # the shadow's centroid on screen
    gy, gx = np.mgrid[ys, xs]
    assert abs((w * gy).sum() - v) <= 2.5 and abs((w * gx).sum() - u) <= 2.5
    assert centre[1] > 1.0  # the lamp is in front (y = -1), so the shadow falls behind
    top = sh.direct.max()
    # The hidden share of the lamp at the centre is min(1, rho / sigma) (1D overlap model).
    rho, sigma = r * m, LAMP_RADIUS * height / (LIGHT[2] - height)
    assert top == pytest.approx(min(1.0, rho / sigma), abs=0.05)
    if sharp:
        assert top > 0.95 and sh.ambient.max() > 0.2  # contact: lamp and sky both hidden
    else:
        assert top < 0.7 and sh.ambient.max() < 0.02  # high up: faint, no contact term
    assert np.isfinite(sh.direct).all() and (sh.direct >= 0).all()


def test_ball_above_the_floor_leaves_the_floor_near_it_lit_beyond_its_reach() -> None:
    cam = aimed_camera(192, 192, np.array([0.0, 1.0]), 0.0, 3.0, 3.0, 0.0, 0.0)
    sh = body_shadow(cam, ball(0.0, 1.0, 0.12, 0.1), LIGHT)
    assert sh is not None
    lit = np.ones((cam.height, cam.width), dtype=bool)
    lit[sh.slices] = sh.direct < 0.01
    assert lit.mean() > 0.9  # a 10 cm ball's shadow covers a small patch, not the image


def _compose_frame(params: dict, frame: float = 0.35):
    job = Job.build(GEN.schema.complete(params), False, 3)
    i = int(frame * (job.frames - 1))
    rgb, inst, _depth, layer, vis = job.compose(i)
    plain = job.static.rgb.copy()
    ys, xs = layer.slices
    plain[ys, xs][vis] = layer.rgb[vis]
    return job, i, rgb, plain, inst


def test_floor_under_the_feet_is_darker_than_without_the_person() -> None:
    job, i, rgb, plain, inst = _compose_frame(dict(
        scene="OFFICE_1", exercise="SQUAT-BODYWEIGHT", image_width=192, image_height=192,
        camera_height=2.2))
    st = job.static
    lum = np.array([0.299, 0.587, 0.114])
    darker = (plain.astype(float) - rgb.astype(float)) @ lum
    assert (darker >= 0).all()  # a shadow only ever darkens
    changed = darker > 0
    assert changed.any()
    assert (st.floor | ~changed).all()  # only floor pixels change
    assert not (changed & (inst == 1)).any()  # and never the person
    # Near the feet (the lowest person pixels) the floor is clearly darker.
    rows, cols = np.nonzero(inst == 1)
    low = rows.max()
    foot = (slice(max(low - 6, 0), low + 6), slice(cols[rows >= low - 3].min() - 4,
                                                    cols[rows >= low - 3].max() + 5))
    near = st.floor[foot] & (inst[foot] != 1)
    assert near.any() and darker[foot][near].max() > 15


def test_dark_room_stays_black() -> None:
    _job, _i, rgb, plain, _inst = _compose_frame(dict(
        scene="GYM_1", exercise="BURPEE_03", image_width=128, image_height=128,
        lighting_power=0.0))
    assert not rgb.any() and not plain.any()


def test_labels_and_masks_do_not_depend_on_the_shadow(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    params = GEN.schema.complete(dict(
        scene="LIVINGROOM_1", exercise="JUMPING_JACK", image_width=128, image_height=128,
        num_reps=1, frame_rate=6, camera_height=1.8))
    GEN.run(params, False, tmp_path / "shadow", 5)
    monkeypatch.setattr("visionfit.generator.job.shadowed_room",
                        lambda st, cam, prims, light: st.rgb.copy())
    GEN.run(params, False, tmp_path / "plain", 5)

    def labels(name: str) -> tuple[dict, list[float]]:
        lab = json.loads((tmp_path / name / "labels.json").read_text())
        bright = [im["metrics"].pop("mean_image_brightness") for im in lab["images"]]
        return lab, bright

    with_shadow, bright_shadow = labels("shadow")
    without, bright_plain = labels("plain")
    assert with_shadow == without
    assert (tmp_path / "shadow" / "segmentation.zip").read_bytes() == (
        tmp_path / "plain" / "segmentation.zip").read_bytes()
    # The shadow was there: every frame is a little darker overall, none brighter.
    assert all(s <= p for s, p in zip(bright_shadow, bright_plain, strict=True))
    assert sum(bright_shadow) < sum(bright_plain)
