"""``timing.json``: where a job's time went, per stage and per frame.

A :class:`Stopwatch` charges the wall time since its last mark to a named stage, so timing
a pipeline costs one clock read per stage boundary; the job's CPU time (this process, not
the ffmpeg encoder it feeds) is recorded beside the wall time.
"""

from __future__ import annotations

import time
from typing import Any

__all__ = ["Stopwatch"]


class Stopwatch:
    """Accumulates seconds per stage between :meth:`mark` calls, and seconds per frame."""

    def __init__(self) -> None:
        self.stages: dict[str, float] = {}
        self.frame_seconds: list[float] = []
        self._start = self._last = time.perf_counter()
        self._cpu_start = time.process_time()
        self._frame_start = self._start

    def mark(self, stage: str) -> None:
        """Charge the time since the previous mark to ``stage``."""
        now = time.perf_counter()
        self.stages[stage] = self.stages.get(stage, 0.0) + (now - self._last)
        self._last = now

    def frame_begins(self) -> None:
        self._frame_start = self._last

    def frame_ends(self) -> None:
        self.frame_seconds.append(self._last - self._frame_start)

    def report(self, frames: int, renders: int) -> dict[str, Any]:
        """The content of timing.json; per-frame figures are for the final render pass."""
        total = time.perf_counter() - self._start
        loop = sum(self.frame_seconds)
        return {
            "units": "seconds (wall clock); cpu_seconds counts this process only, not the "
                     "ffmpeg encoder",
            "total_seconds": round(total, 6),
            "cpu_seconds": round(time.process_time() - self._cpu_start, 6),
            "stages": {name: round(s, 6) for name, s in self.stages.items()},
            "frames": frames,
            "render_passes": renders,
            "seconds_per_frame": round(loop / len(self.frame_seconds), 6)
            if self.frame_seconds else 0.0,
            "frame_seconds": [round(s, 6) for s in self.frame_seconds],
        }
