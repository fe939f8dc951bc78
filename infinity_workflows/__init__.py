"""Infinity Workflows: craft batches of synthetic-data jobs, submit them, download results.

The public surface is small: :class:`Session` (one token, server and generator),
:class:`Batch` (a submitted batch: progress and download) and the exceptions of
:mod:`infinity_workflows.errors`.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .batch import Batch, JobType
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
from .session import Session

try:
    __version__ = version("infinity-workflows")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

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
