"""Notebook helpers for VisionFit batches.

* :mod:`visionfit.utils.sampling`: draw job parameters (``sample_input``), reruns from seeds
  (the names notebooks import; the engine is :mod:`infinity_workflows.sampling`);
* :mod:`visionfit.utils.vis`: plots of job parameters and results, previews, label overlays,
  inline videos.

The submodules are imported on use, so sampling does not pay for matplotlib.
"""

__all__ = ["sampling", "vis"]
