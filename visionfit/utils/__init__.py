"""Notebook helpers for VisionFit batches.

* :mod:`visionfit.utils.sampling`: draw job parameters (``sample_input``), reruns from seeds;
* :mod:`visionfit.utils.vis`: plots of job parameters and results, previews, label overlays,
  inline videos.

The submodules are imported on use, so sampling does not pay for matplotlib.
"""

__all__ = ["sampling", "vis"]
