"""A tiny generator for tests and benchmarks: fast, deterministic, with knobs for failure.

It declares its own sampling table, categories and Submit snippet, so a test can take it
through create -> submit -> download -> review with no VisionFit code involved.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from pathlib import Path
from typing import Any

from infinity_workflows.generators import Generator
from infinity_workflows.sampling import Choice, Constant, Uniform
from infinity_workflows.schema import Param, Schema
from infinity_workflows.snippets import NotebookSnippet

_SUBMIT = NotebookSnippet(parameters='COLOR = "cool"       # a colour, or a category: warm, cool',
                          cells="""\
# %% [markdown]
# ## Craft the jobs
#
# A few frames per job; `color="warm"` or `"cool"` is a category of the tiny generator.

# %%
import random

from infinity_workflows.sampling import sample_input

rng = random.Random(SEED)
job_params = [sample_input(sesh, rng=rng, color=COLOR) for _ in range(NUM_JOBS)]
print(f"{len(job_params)} tiny jobs crafted")
""")


class TinyGenerator(Generator):
    name = "tiny-v1"
    version = "1.0.0"
    description = "Writes a few deterministic files; knobs make it slow, fail or crash."
    supports_preview = True
    schema = Schema([
        Param("frames", "int", 3, "Frames a video job renders.", min=1, max=1000),
        Param("color", "str", "red", "Colour of the frames.", choices=("red", "green", "blue")),
        Param("scale", "float", 1.0, "A float knob.", min=0.0, max=10.0),
        Param("flag", "bool", False, "A boolean knob."),
        Param("sleep_s", "float", 0.0, "Seconds the job sleeps before writing.", min=0.0,
              max=60.0),
        Param("payload_kb", "int", 1, "Size of payload.bin in KiB.", min=0, max=1_000_000),
        Param("fail", "bool", False, "Raise an error instead of writing files."),
        Param("crash", "bool", False, "Kill the worker process (os._exit) mid-job."),
        Param("state", "uuid", None, "An earlier job whose seed this job reuses."),
    ])
    distributions = {
        "frames": Uniform(2, 4),
        "scale": Choice((0.5, 2.0)),
        "sleep_s": Constant(0.0),
        "payload_kb": Uniform(1, 4),
        "fail": Constant(False),
        "crash": Constant(False),
    }
    categories = {"color": {"warm": ("red",), "cool": ("green", "blue")}}
    notebook_snippets = {"submit": _SUBMIT}  # its Download notebook is the generic one
    label_statistics = {
        "num_frames": "frames in the job",
        "avg_value": "mean of the frames' values, 0-1",
        "avg_percent_occlusion": "mean of the frames' made-up occlusion, 0-100",
        "max_percent_occlusion": "largest made-up occlusion of any frame",
    }

    def estimate(self, params: dict[str, Any], is_preview: bool) -> int:
        return 1 if is_preview else int(params["frames"])

    def job_statistics(self, job_folder: Path) -> dict[str, float]:
        path = Path(job_folder) / "labels.json"
        if not path.is_file():
            return {}
        frames = json.loads(path.read_text())["frames"]
        values = [f["value"] for f in frames]
        occlusion = [f.get("percent_occlusion", math.nan) for f in frames]
        return {"num_frames": float(len(frames)),
                "avg_value": sum(values) / len(values) if values else math.nan,
                "avg_percent_occlusion": sum(occlusion) / len(occlusion) if occlusion
                else math.nan,
                "max_percent_occlusion": max(occlusion, default=math.nan)}

    def frame_statistics(self, job_folder: Path) -> dict[str, list[float]]:
        """Per frame: its value, and the value times the job's ``scale`` (a statistic a
        parameter moves, for design to a target)."""
        path = Path(job_folder) / "labels.json"
        if not path.is_file():
            return {}
        values = [f["value"] for f in json.loads(path.read_text())["frames"]]
        scale = json.loads((Path(job_folder) / "job.json").read_text())["params"]["scale"]
        return {"value": values, "scaled_value": [v * scale for v in values]}

    def run(self, params: dict[str, Any], is_preview: bool, out_dir: Path, seed: int) -> None:
        if params["sleep_s"]:
            time.sleep(params["sleep_s"])
        if params["crash"]:
            os._exit(3)
        if params["fail"]:
            raise RuntimeError("tiny generator asked to fail (fail=True)")
        rng = random.Random(seed)
        out_dir = Path(out_dir)
        frames = self.estimate(params, is_preview)
        (out_dir / "job.json").write_text(json.dumps(
            {"name": self.name, "version": self.version, "seed": seed, "params": params},
            sort_keys=True))
        # A second stream for the made-up occlusion, so the other files' bytes are as before.
        occluder = random.Random(seed ^ 0x0CC1)
        (out_dir / "labels.json").write_text(json.dumps(
            {"frames": [{"frame": i, "value": rng.random(),
                         "percent_occlusion": round(100 * occluder.random(), 3)}
                        for i in range(frames)]}))
        (out_dir / "payload.bin").write_bytes(rng.randbytes(params["payload_kb"] * 1024))
        # A tiny valid PNG so the portal has a thumbnail to show.
        (out_dir / "video_preview.png").write_bytes(_PNG_1x1)


_PNG_1x1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108020000009077"
    "53de0000000c4944415408d763f8cfc0000003010100c9fe92ef0000000049454e44ae426082"
)


class TinyGalleryGenerator(TinyGenerator):
    """The tiny generator with a gallery of colours (the portal shows one image per colour);
    the session's shared server loads it beside tiny-v1."""

    name = "tiny-gallery-v1"
    gallery_param = "color"


class NoPreviewGenerator(TinyGenerator):
    """A generator without previews (loaded by the strict server)."""

    name = "tiny-nopreview-v1"
    supports_preview = False


class TinyVideoGenerator(TinyGenerator):
    """The tiny generator that also writes a real video (H.264, ``frames`` frames of 32x32
    at 8 fps, a colour fading in) for video jobs, so the portal has one to play; the
    session's shared server loads it beside tiny-v1."""

    name = "tiny-video-v1"

    def run(self, params: dict[str, Any], is_preview: bool, out_dir: Path, seed: int) -> None:
        super().run(params, is_preview, out_dir, seed)
        if is_preview:
            return
        import imageio_ffmpeg

        rgb = {"red": (1, 0, 0), "green": (0, 1, 0), "blue": (0, 0, 1)}[params["color"]]
        frames = self.estimate(params, is_preview)
        writer = imageio_ffmpeg.write_frames(
            str(Path(out_dir) / "video.mp4"), (32, 32), fps=8, codec="libx264",
            pix_fmt_out="yuv420p", macro_block_size=1, ffmpeg_log_level="error",
            output_params=["-movflags", "+faststart"])
        writer.send(None)
        for i in range(frames):
            level = int(255 * (i + 1) / frames)
            writer.send(bytes(c * level for c in rgb) * (32 * 32))
        writer.close()
