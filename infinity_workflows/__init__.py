"""Infinity Workflows: craft batches of synthetic-data jobs, submit them, download results.

The public surface is small: :class:`Session` (one token, server and generator),
:class:`Batch` (a submitted batch: progress and download) and the exceptions of
:mod:`infinity_workflows.errors`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    DownloadError,
    InfinityError,
    JobTimeout,
    NotFoundError,
    ProtocolError,
    RecordError,
    RerunError,
    SchemaError,
    ServerError,
    ServerUnreachable,
    ValidationError,
)

if TYPE_CHECKING:
    from .batch import Batch, JobType
    from .session import Session

# The client is imported on first use: ``import infinity_workflows`` (what the CLI and the
# server pay at start-up) loads only the exception tree; ``infinity_workflows.Session``
# loads the client and the sampling engine, never the notebook machinery (nbformat,
# papermill), pandas, matplotlib or a generator's renderer.
_LAZY = {"Batch": ".batch", "JobType": ".batch", "Session": ".session"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value  # the next lookup is a plain attribute
        return value
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            value = version("infinity-workflows")
        except PackageNotFoundError:  # a source tree that is not installed
            value = "0+unknown"
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "Batch",
    "ConfigurationError",
    "ConflictError",
    "DownloadError",
    "InfinityError",
    "JobTimeout",
    "JobType",
    "NotFoundError",
    "ProtocolError",
    "RecordError",
    "RerunError",
    "SchemaError",
    "ServerError",
    "ServerUnreachable",
    "Session",
    "ValidationError",
    "__version__",
]
