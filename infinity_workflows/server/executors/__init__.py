"""Executors by name: ``serve --executor NAME`` looks the backend up here.

Each entry names its class by import path and is imported only when chosen, so the server
runs without the optional ``distributed`` package, and no backend module imports another
(each imports only the contract in :mod:`.base` and a worker's steps in :mod:`.archive`).
The table itself imports nothing, so ``serve --help`` lists the choices without loading any
of them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .base import Executor, ExecutorConfig

__all__ = ["EXECUTORS", "build_executor"]

EXECUTORS: dict[str, str] = {
    "local": "infinity_workflows.server.executors.local:LocalProcessExecutor",
    "dask": "infinity_workflows.server.executors.dask:DaskExecutor",
}
# What to install when a backend's module cannot be imported.
_EXTRAS = {"dask": "pip install 'infinity-workflows[dask]'"}


def build_executor(name: str, config: ExecutorConfig) -> Executor:
    """The executor registered as ``name``, built for ``config``."""
    try:
        module_name, _, attr = EXECUTORS[name].partition(":")
    except KeyError:
        raise ValueError(f"unknown executor {name!r}; choose one of "
                         + ", ".join(sorted(EXECUTORS))) from None
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        hint = _EXTRAS.get(name, "install its dependencies")
        raise RuntimeError(f"--executor {name} cannot be loaded ({exc}); {hint}") from None
    return getattr(module, attr)(config)
