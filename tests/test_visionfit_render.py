"""The VisionFit renderer's compiled loops: exact against closed forms, their by-products
(amodal person mask, first-hit depth), and their on-disk cache in a fresh process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from visionfit.generator import VisionFitGenerator
from visionfit.generator.body import Primitives
from visionfit.generator.camera import Camera
from visionfit.generator.job import Job
from visionfit.generator.kernels import cache
from visionfit.generator.raster import (
    first_hit_depth,
    mean_colours,
    person_coverage,
    render_body,
)

GEN = VisionFitGenerator()
CAM = Camera(65, 49, 60.0, np.zeros(3), np.eye(3), 0.0, 0.0)  # camera space = world space


def prims(caps=(), ells=()) -> Primitives:
    """One frame of capsules (a, b, r) and ellipsoids (centre, semi-axes matrix)."""
    a = np.array([[c[0] for c in caps]], dtype=float).reshape(1, -1, 3)
    b = np.array([[c[1] for c in caps]], dtype=float).reshape(1, -1, 3)
    r = np.array([c[2] for c in caps], dtype=float)
    ec = np.array([[e[0] for e in ells]], dtype=float).reshape(1, -1, 3)
    em = np.array([[e[1] for e in ells]], dtype=float).reshape(1, -1, 3, 3)
    return Primitives(a, b, r, np.full((len(r), 3), 0.5), ec, em, np.full((len(ells), 3), 0.5))


def full_depth(layer) -> np.ndarray:
    depth = np.full((CAM.height, CAM.width), np.inf)
    depth[layer.slices] = layer.depth
    return depth


def rays() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    dx, dy = CAM.ray_steps(0, CAM.width, 0, CAM.height)
    gx, gy = np.meshgrid(dx, dy)
    return gx, gy, np.ones_like(gx)


def sphere_depth(c: np.ndarray, r: float) -> np.ndarray:
    """Closed form: the first root of |t d - c| = r for rays d = (dx, dy, 1)."""
    gx, gy, gz = rays()
    dd = gx * gx + gy * gy + gz * gz
    dc = gx * c[0] + gy * c[1] + gz * c[2]
    disc = dc * dc - dd * (c @ c - r * r)
    with np.errstate(invalid="ignore"):
        return np.where(disc >= 0, (dc - np.sqrt(disc)) / dd, np.inf)


def test_ball_and_ellipsoid_depths_match_closed_forms() -> None:
    c = np.array([0.2, -0.1, 3.0])
    layer = render_body(CAM, prims(caps=[(c, c, 0.5)]), np.array([0.0, -2.0, 0.0]), 100.0)
    assert np.array_equal(np.isfinite(full_depth(layer)), np.isfinite(sphere_depth(c, 0.5)))
    hit = np.isfinite(full_depth(layer))
    assert np.allclose(full_depth(layer)[hit], sphere_depth(c, 0.5)[hit], rtol=0, atol=1e-12)
    # A ball is also an ellipsoid with equal semi-axes: the same silhouette and depths.
    ell = render_body(CAM, prims(ells=[(c, 0.5 * np.eye(3))]), np.zeros(3), 100.0)
    assert np.array_equal(np.isfinite(full_depth(ell)), hit)
    assert np.allclose(full_depth(ell)[hit], full_depth(layer)[hit], atol=1e-9)
    # Shading: lit from the camera's side, every hit pixel is brighter than black.
    assert (layer.rgb[np.isfinite(layer.depth)] > 0).all()


def test_capsule_side_and_nearer_primitive_wins() -> None:
    # A horizontal capsule at z = 3: along its middle the first hit is 3 - r straight ahead.
    cap = ((-0.6, 0.0, 3.0), (0.6, 0.0, 3.0), 0.2)
    ball = ((0.0, 0.0, 2.0), (0.0, 0.0, 2.0), 0.1)  # in front of the capsule's middle
    layer = render_body(CAM, prims(caps=[cap, ball]), np.zeros(3), 100.0)
    depth = full_depth(layer)
    r0, c0 = int(CAM.cy), int(CAM.cx)
    assert depth[r0, c0] == pytest.approx(1.9, abs=1e-12)
    pid = np.full(depth.shape, -1)
    pid[layer.slices] = layer.pid
    assert pid[r0, c0] == 1 and pid[r0, c0 + 12] == 0
    # Beside the ball, on the capsule's axis line: ray (dx, 0, 1) meets the cylinder where
    # its distance to the axis (y = 0, z = 3) is r, i.e. z = 3 - r exactly.
    assert depth[r0, c0 + 12] == pytest.approx(2.8, abs=1e-12)


def occluded_job() -> Job:
    return Job.build(GEN.schema.complete(dict(
        scene="LIVINGROOM_1", exercise="SQUAT-BODYWEIGHT", frame_rate=6, image_width=128,
        image_height=128, camera_height=0.5, relative_avatar_angle_deg=35.0)), False, 20240611)


def test_amodal_mask_and_first_hit_depth_are_by_products_of_the_depth_test() -> None:
    job = occluded_job()
    st = job.static
    hidden_somewhere = False
    for i in range(0, job.frames, 3):
        _rgb, inst, body_depth, layer, _vis = job.compose(i)
        amodal = person_coverage(layer, inst.shape)
        depth = first_hit_depth(st, layer)
        assert np.array_equal(amodal, np.isfinite(body_depth))
        assert (amodal | (inst != 1)).all()  # the visible person lies inside the amodal mask
        behind = amodal & (inst != 1)  # hidden person pixels: the room is nearer there
        assert (st.depth[behind] <= body_depth[behind]).all()
        hidden_somewhere |= bool(behind.any())
        assert np.array_equal(depth, np.minimum(st.depth.astype(np.float64), body_depth))
        assert np.array_equal(depth[inst == 1], body_depth[inst == 1])
        assert np.isfinite(depth).all()  # every ray meets the room or the person
    assert hidden_somewhere  # furniture hides part of the person in this job


def test_mean_colours_are_the_means_of_the_frame_and_of_the_visible_body() -> None:
    job = occluded_job()
    for i in (0, job.frames // 2):
        rgb, inst, _depth, layer, vis = job.compose(i)
        frame, body = mean_colours(rgb, layer, vis)
        assert np.array_equal(frame, rgb.reshape(-1, 3).mean(axis=0))
        assert np.array_equal(body, rgb[inst == 1].mean(axis=0))
    _rgb, _inst, _depth, layer, _vis = job.compose(0)
    nobody = np.zeros_like(layer.depth, dtype=bool)
    assert mean_colours(_rgb, layer, nobody)[1] is None


def test_cache_falls_back_to_the_temporary_folder(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the user's cache folder would be")
    monkeypatch.setattr(cache, "user_cache_dir", lambda name: str(blocker / name))
    monkeypatch.setattr(cache.tempfile, "gettempdir", lambda: str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    chosen = cache._writable_cache_dir()
    assert chosen is not None and Path(chosen).parent == tmp_path / "tmp"
    assert Path(chosen).is_dir()


_FRESH = """
import json, sys, tempfile
from pathlib import Path
from visionfit.generator import VisionFitGenerator, kernels
gen = VisionFitGenerator()
params = gen.schema.complete(dict(scene="GYM_1", exercise="BURPEE_03", image_width=96,
                                  image_height=96, frame_rate=6, num_reps=1))
with tempfile.TemporaryDirectory() as out:
    gen.run(params, False, Path(out), 3)
stats = {name: getattr(kernels, name).stats for name in kernels.__all__ if name != "CACHE_DIR"}
print(json.dumps({"dir": kernels.CACHE_DIR,
                  "hits": {k: sum(s.cache_hits.values()) for k, s in stats.items()},
                  "misses": {k: sum(s.cache_misses.values()) for k, s in stats.items()}}))
"""


@pytest.mark.slow
def test_a_fresh_process_loads_the_kernels_from_the_disk_cache(tmp_path: Path) -> None:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}

    def fresh() -> dict:
        done = subprocess.run([sys.executable, "-c", _FRESH], env=env, capture_output=True,
                              text=True, timeout=300, check=True)
        return json.loads(done.stdout.strip().splitlines()[-1])

    first = fresh()
    assert first["dir"] == str(tmp_path / "cache")
    assert all(n > 0 for n in first["misses"].values())  # compiled and written
    second = fresh()
    assert all(n == 0 for n in second["misses"].values()), second  # nothing compiled again
    assert all(n > 0 for n in second["hits"].values()), second
