"""The VisionFit generator: ``visionfit-flagship-v0.1.0``.

Modules by concern: params (schema), distributions (its sampling table and categories),
snippets (the cells its Submit and Download notebooks start from), identity (name and version),
catalog (rooms, exercises, outfits as data), body (skeleton and primitives), motion (timing
and animation), scene (room layout and materials), camera, raster (the renderer), shadow
(shadows on the floor), kernels (the renderer's per-pixel loops, compiled and cached on
disk), labels (COCO), encode (files), job (pipeline), plugin (the Generator class).
"""

from .plugin import VisionFitGenerator

__all__ = ["VisionFitGenerator"]
