"""Notebook helpers for VisionFit batches.

* :mod:`visionfit.utils.sampling`: draw job parameters (``sample_input``), reruns from seeds
  (the names notebooks import; the engine is :mod:`infinity_workflows.sampling`);
* :mod:`visionfit.utils.vis`: everything for looking at a batch (summary table, histograms,
  previews, the label video and mosaic, the coverage report), gathered from its modules;
* :mod:`visionfit.utils.export`: a downloaded batch as one COCO dataset.

The submodules are imported on use, so sampling does not pay for matplotlib.
"""

__all__ = ["export", "sampling", "vis"]
