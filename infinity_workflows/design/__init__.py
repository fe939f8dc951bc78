"""Batches designed to a target: choose job parameters whose label statistics match given
distributions or bounds, with cheap previews as measurements.

``design_batch(sesh, {"bbox_center_x": Uniform(0.2, 0.8), "wrist_hidden": AtLeast(0.3)},
n_videos=40, preview_budget=100, folder=...)`` returns a :class:`Design` whose
``job_params`` are the videos to submit, with the expected statistics against the targets
(``design.figure()``) before any video is rendered and the achieved ones after
(``design.achieved(folder)``). Works with any generator that declares label statistics
(``Generator.job_statistics``; per frame, the optional ``frame_statistics``).

Modules: :mod:`.targets` (targets and distances), :mod:`.coco` (a COCO file's statistics),
:mod:`.measure` (statistics of downloaded jobs), :mod:`.choose` (the model and the choice),
:mod:`.loop` (the design), :mod:`.figure`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

if TYPE_CHECKING:
    from .coco import COCO_STATISTICS, coco_statistics, match_coco, read_coco
    from .loop import Design, Outcome, design_batch
    from .measure import Measured, frame_statistics, measure_folder
    from .targets import AtLeast, AtMost, Empirical, Histogram, Target, Uniform, wasserstein

_MODULES = {
    **dict.fromkeys(("COCO_STATISTICS", "coco_statistics", "match_coco", "read_coco"),
                    ".coco"),
    **dict.fromkeys(("Design", "Outcome", "design_batch"), ".loop"),
    **dict.fromkeys(("Measured", "frame_statistics", "measure_folder"), ".measure"),
    **dict.fromkeys(("AtLeast", "AtMost", "Empirical", "Histogram", "Target", "Uniform",
                     "wasserstein"), ".targets"),
}

__getattr__, __dir__ = lazy_exports(__name__, _MODULES, globals())

__all__ = [
    "COCO_STATISTICS", "AtLeast", "AtMost", "Design", "Empirical", "Histogram", "Measured",
    "Outcome", "Target", "Uniform", "coco_statistics", "design_batch", "frame_statistics",
    "match_coco", "measure_folder", "read_coco", "wasserstein",
]
