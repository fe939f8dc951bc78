"""Where the compiled kernels are cached, and the one decorator that compiles them.

In ``NUMBA_CACHE_DIR`` if set, else the user's cache folder, else the temporary folder: an
installed package's own folder may be read-only, and nothing is written there. No
fast-math: results are the same run to run and process to process.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numba
from platformdirs import user_cache_dir

__all__ = ["CACHE_DIR", "jit"]


def _writable_cache_dir() -> str | None:
    """The first folder kernels can be cached in, or None (then they compile per process)."""
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    for folder in (Path(user_cache_dir("infinity-workflows")) / "numba",
                   Path(tempfile.gettempdir()) / f"infinity-workflows-numba-{uid}"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError:
            continue
        return str(folder)
    return None


if not numba.config.CACHE_DIR:
    numba.config.CACHE_DIR = _writable_cache_dir() or ""
CACHE_DIR: str = numba.config.CACHE_DIR
jit = numba.njit(cache=bool(CACHE_DIR), nogil=True, error_model="numpy")
