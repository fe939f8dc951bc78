"""Infinity Workflows: craft batches of synthetic-data jobs, submit them, download results.

The public surface is small: :class:`Session` (one token, server and generator),
:class:`Batch` (a submitted batch: progress and download) and the exceptions of
:mod:`infinity_workflows.errors`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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
from .lazy import lazy_exports

if TYPE_CHECKING:
    from .batch import Batch, JobType
    from .session import Session

# The client is imported on first use: ``import infinity_workflows`` (what the CLI and the
# server pay at start-up) loads only the exception tree; ``infinity_workflows.Session``
# loads the client and the sampling engine, never the notebook machinery (nbformat,
# papermill), pandas, matplotlib or a generator's renderer.
__getattr__, __dir__ = lazy_exports(__name__, {
    "Batch": ".batch", "JobType": ".batch", "Session": ".session", "__version__": ".version",
}, globals())

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
