"""The installed distribution's version, read once from its metadata when first asked for."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__ = version("infinity-workflows")
except PackageNotFoundError:  # a source tree that is not installed
    __version__ = "0+unknown"
