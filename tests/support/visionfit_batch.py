"""A folder shaped like a downloaded VisionFit batch, rendered by the real generator: what
tests/test_vis.py and tests/test_export.py read (rendered once per session, read only)."""

from __future__ import annotations

import random
import uuid
from pathlib import Path
from typing import Any

__all__ = ["JOBS", "render_batch"]

# Small, short jobs: a few frames at the lowest frame rate keep rendering quick.
JOBS: list[dict[str, Any]] = [
    dict(is_preview=False, scene="GYM_1", exercise="BURPEE", image_width=160, image_height=128,
         add_wall_art=True),
    dict(is_preview=False, scene="LIVINGROOM_1", exercise="SQUAT-BODYWEIGHT", image_width=128,
         image_height=128),
    dict(is_preview=True, scene="OFFICE_1", exercise="PUSHUP", image_width=256,
         image_height=256),
    dict(is_preview=True, scene="BEDROOM_4", exercise="JUMPING_JACK", image_width=192,
         image_height=192),
]


def render_batch(generator: Any, root: Path) -> Path:
    """One ``<job_id>/`` per job of :data:`JOBS` under ``root``, plus the leftovers of an
    interrupted download that the helpers must skip."""
    from visionfit.utils.sampling import sample_input

    rng = random.Random(4)
    for spec in JOBS:
        spec = dict(spec)
        is_preview = spec.pop("is_preview")
        params = generator.schema.complete(sample_input(
            generator.schema, rng=rng, num_reps=1, frame_rate=6, rel_baseline_speed=2.0,
            inter_rep_delay_avg=0.0, add_pauses=False, camera_distance=4.0, **spec))
        job_dir = root / str(uuid.uuid4())
        job_dir.mkdir()
        generator.run(params, is_preview, job_dir, rng.getrandbits(63))
    (root / ".partial").mkdir()
    (root / ".extract-abc").mkdir()
    (root / "batch_id.txt").write_text(str(uuid.uuid4()))
    return root
