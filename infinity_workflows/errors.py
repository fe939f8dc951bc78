"""Every exception the client raises, in one tree.

::

    InfinityError                  base of everything below
    ├── ConfigurationError         no token found, bad server URL, bad local settings
    ├── ValidationError            job parameters broke the generator's schema (client side);
    │                              ``.errors`` holds one message (or None) per job
    ├── ServerUnreachable          no answer from the server (refused, DNS, timeout);
    │                              the message says how to start the local server
    ├── APIError                   the server answered with an error status;
    │   │                          ``.status``, ``.body`` (parsed JSON or text)
    │   ├── BadRequestError        400: the server refused the request; ``.errors`` lists
    │   │                          ``{job_index, param, rule, message}`` when it names them
    │   ├── AuthenticationError    401: missing or unknown token
    │   ├── NotFoundError          404: no such id for this token (``.status`` None when
    │   │                          the client itself found no such thing, e.g. a job id
    │   │                          that is not part of the batch)
    │   ├── ConflictError          409: the request clashes with existing state
    │   └── ServerError            5xx
    ├── ProtocolError              the server's answer broke the API's contract (e.g. an id
    │                              that is not a UUID); refused before anything was written
    ├── JobTimeout                 ``Batch.await_completion`` gave up waiting
    ├── DownloadError              some jobs did not download; ``.failed`` maps job id to reason,
    │                              every job that did succeed is kept on disk
    ├── SchemaError                a generator's parameter schema is malformed (a plug-in's, or
    │                              one a server sent)
    ├── DataError                  downloaded data cannot serve the review or export asked of
    │                              it (no jobs yet, a video shorter than its labels)
    ├── MissingDataError           a downloaded file or folder a review or export needs is
    │                              not there (also a ``FileNotFoundError``)
    ├── OutputExistsError          an export's folder is already there and ``overwrite`` was
    │                              not given (also a ``FileExistsError``)
    ├── RecordError                a workflow record cannot be made, read or re-run as asked
    │                              (unknown kind, no batch id, not a record, unknown parameter)
    └── RerunError                 a re-run ran and failed; ``.record`` is the notebook that
                                   shows the error (None when no cell ran)

``ValidationError`` (also a bad argument to a review helper), ``SchemaError``, ``DataError``
and ``RecordError`` are also ``ValueError`` (a bad value given), so code that catches
``ValueError`` keeps working (and ``MissingDataError`` is a ``FileNotFoundError``). Errors
raised for a programming mistake (a wrong argument type: ``TypeError``; a frame index out
of range: ``IndexError``) stay Python's own.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "DataError",
    "DownloadError",
    "InfinityError",
    "JobTimeout",
    "MissingDataError",
    "NotFoundError",
    "OutputExistsError",
    "ProtocolError",
    "RecordError",
    "RerunError",
    "SchemaError",
    "ServerError",
    "ServerUnreachable",
    "ValidationError",
]


class InfinityError(Exception):
    """Base class of every error raised by infinity_workflows."""


class ConfigurationError(InfinityError):
    """Local settings are missing or wrong (token, server URL, credentials file)."""


class ValidationError(InfinityError, ValueError):
    """Job parameters do not satisfy the generator's schema (also a ValueError: a bad
    value, so code catching ValueError keeps working)."""

    def __init__(self, message: str, errors: list[str | None] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


class ServerUnreachable(InfinityError):
    """The server did not answer (connection refused, name not found, or timeout)."""


class APIError(InfinityError):
    """The server answered with an error status (``status`` None: a subclass raised for the
    client's own finding, never a made-up HTTP status)."""

    def __init__(self, message: str, status: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class BadRequestError(APIError):
    """400: the server refused the request; ``errors`` names job, parameter and rule."""

    @property
    def errors(self) -> list[dict[str, Any]]:
        if isinstance(self.body, dict) and isinstance(self.body.get("errors"), list):
            return self.body["errors"]
        return []


class AuthenticationError(APIError):
    """401: the token is missing or unknown to this server."""


class NotFoundError(APIError):
    """404: no such resource for this token; also raised, with ``status`` None, when the
    client finds no such thing in what the server sent (a job that is not in the batch)."""


class ConflictError(APIError):
    """409: the request clashes with state on the server."""


class ServerError(APIError):
    """5xx: the server failed."""


class ProtocolError(InfinityError):
    """The server answered something the API never sends (e.g. an id that is not a UUID)."""


class JobTimeout(InfinityError):
    """Waiting for a batch took longer than the timeout given."""


class DownloadError(InfinityError):
    """Some jobs failed to download; the ones that succeeded are kept."""

    def __init__(self, message: str, failed: dict[str, str]) -> None:
        super().__init__(message)
        self.failed = failed

    @property
    def failed_job_ids(self) -> list[str]:
        return list(self.failed)


class SchemaError(InfinityError, ValueError):
    """A generator's parameter schema is malformed (a plug-in's, or one a server sent)."""


class DataError(InfinityError, ValueError):
    """Downloaded data cannot serve the review or export asked of it; the message says
    what to download again."""


class MissingDataError(InfinityError, FileNotFoundError):
    """A downloaded file or folder that a review or export needs is not there."""


class OutputExistsError(InfinityError, FileExistsError):
    """An output (an export's folder) is already there and may not be replaced."""


class RecordError(InfinityError, ValueError):
    """A workflow record cannot be made, read or re-run as asked."""


class RerunError(InfinityError):
    """A re-run failed; ``record`` is the new record showing the error (None if no cell ran)."""

    def __init__(self, message: str, record: Any = None) -> None:
        super().__init__(message)
        self.record = record
