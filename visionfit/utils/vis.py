"""Look at VisionFit batches: the names a notebook imports, gathered from their modules.

* :mod:`~visionfit.utils.jobdata`: reading a job folder (frames, masks, labels as arrays);
* :mod:`~visionfit.utils.histograms`: job parameters as small multiples;
* :mod:`~visionfit.utils.summary`: a batch as a table and its histograms;
* :mod:`~visionfit.utils.frame_figure`: previews, one frame's labels, the job's video;
* :mod:`~visionfit.utils.label_video`: every label of a job as one video, a batch mosaic
  (panels in :mod:`~visionfit.utils.label_panels` and :mod:`~visionfit.utils.label_plots`,
  raster primitives in :mod:`~visionfit.utils.draw`);
* :mod:`~visionfit.utils.coverage`: what a batch covers (visibility, occlusion, camera).

Every function returns its figure, DataFrame or display object instead of showing it.
"""

from __future__ import annotations

from .coverage import label_coverage
from .frame_figure import display_video, view_previews, visualize_frame
from .histograms import visualize_job_params
from .jobdata import CUBOID_EDGES, job_folders, read_frame, video_frames
from .label_video import display_batch_results, visualize_all_labels
from .summary import (
    LABEL_STATS,
    summarize_batch_results_as_dataframe,
    visualize_batch_results,
)

__all__ = [
    "CUBOID_EDGES",
    "LABEL_STATS",
    "display_batch_results",
    "display_video",
    "job_folders",
    "label_coverage",
    "read_frame",
    "summarize_batch_results_as_dataframe",
    "video_frames",
    "view_previews",
    "visualize_all_labels",
    "visualize_batch_results",
    "visualize_frame",
    "visualize_job_params",
]
