"""Any failure, said in one sentence a person can act on: what happened, what to do.

A button, a notebook cell or a command ends in a result or in one of the client's errors
(the tree in :mod:`infinity_workflows.errors`); a traceback names neither the cause in the
reader's terms nor the next step. :func:`explain_error` is the one place that turns each
error class, and an interrupt, into that sentence, so every interface says the same thing
for the same failure. Starting a local server that does not answer depends on how the
toolkit was installed, so that hint names the command that exists here.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    DataError,
    DownloadError,
    InfinityError,
    JobTimeout,
    MissingDataError,
    NotFoundError,
    OutputExistsError,
    ProtocolError,
    RecordError,
    RerunError,
    SchemaError,
    ServerError,
    ServerUnreachable,
    ValidationError,
)

__all__ = ["explain_error", "source_checkout", "start_server_hint"]

CHECKOUT_SCRIPT = "run_notebooks.sh"
_LOOPBACK = ("localhost", "::1")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_LONGEST_DETAIL = 300
_PLAIN_WORD = re.compile(r"[a-z]+(?=[\s,:;]|$)")


def source_checkout(package_dir: Path | str | None = None) -> Path | None:
    """The source checkout the toolkit runs from, or None for an installed package.

    A checkout keeps ``run_notebooks.sh`` in the folder that holds the package
    (``package_dir``, by default the imported ``infinity_workflows``).
    """
    if package_dir is None:
        import infinity_workflows

        package_dir = Path(infinity_workflows.__file__).resolve().parent
    root = Path(package_dir).parent
    return root if (root / CHECKOUT_SCRIPT).is_file() else None


def start_server_hint(package_dir: Path | str | None = None) -> str:
    """How to start the local server, in the words of this installation."""
    checkout = source_checkout(package_dir)
    if checkout is not None:
        return (f"start it by running ./{CHECKOUT_SCRIPT} in {checkout} (or "
                "`.venv/bin/infinity-workflows serve` there for the server alone)")
    return ("start it in a terminal with `infinity-workflows serve` (or "
            "`infinity-workflows lab`, which starts it along with JupyterLab)")


def _is_local(server: str) -> bool:
    host = urlsplit(server.strip()).hostname or ""
    return host in _LOOPBACK or host.startswith("127.")


def _detail(exc: BaseException, limit: int = _LONGEST_DETAIL) -> str:
    """The message of ``exc`` on one line: a traceback inside it gives its last line (the
    error), colour codes and runs of white space go, and a message over ``limit`` is cut."""
    text = _ANSI.sub("", str(exc))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    line = lines[-1] if "Traceback (most recent call last)" in text else lines[0]
    line = " ".join(line.split()).rstrip(":;, ")
    if line.endswith(".") and not line.endswith("..."):  # the sentence adds its own stop
        line = line[:-1]
    if len(line) > limit:
        line = line[:limit - 1].rstrip() + "…"
    return line


def _head(detail: str) -> str:
    """The part of a message before its advice (which the sentence gives instead)."""
    return detail.split(";", 1)[0].strip()


def _capital(text: str) -> str:
    """``text`` starting with a capital, unless its first word is a name (``nope-v9``,
    ``job_params``), which keeps its spelling."""
    return text[:1].upper() + text[1:] if _PLAIN_WORD.match(text) else text


def _api(exc: APIError, server: str, detail: str) -> str:
    if isinstance(exc, AuthenticationError):
        return (f"The server at {server} refused the token: type it again, or leave the Token "
                "field empty to use the saved one (INFINITY_API_TOKEN, then the credentials "
                "file); `infinity-workflows token create` makes a new one.")
    if isinstance(exc, BadRequestError):
        named = exc.errors[0] if exc.errors else {}
        if isinstance(named, dict) and named.get("message"):
            where = f"job {named['job_index']}: " if named.get("job_index") is not None else ""
            detail = f"{where}{named['message']}"
        return (f"The server at {server} refused the request ({detail}): fix the job "
                "parameters and try again.")
    if isinstance(exc, NotFoundError):
        return (f"The server at {server} has no such item for this token ({detail}): check "
                "the id, the server, and that the token is the one that made it.")
    if isinstance(exc, ConflictError):
        return (f"The server at {server} refused a request that clashes with what it holds "
                f"({detail}): look at the current state (the portal shows it) and try again.")
    if isinstance(exc, ServerError):
        return (f"The server at {server} failed (HTTP {exc.status}): try again in a minute; "
                "if it keeps failing, the server's log says why.")
    return (f"The server at {server} answered HTTP {exc.status} ({detail}): check the "
            "server's address and try again.")


def _client(exc: InfinityError, server: str, detail: str) -> str:
    if isinstance(exc, ValidationError):
        errors = [(i, e) for i, e in enumerate(exc.errors) if e]
        if errors:
            index, first = errors[0]
            return (f"{len(errors)} job(s) broke the generator's rules (first, job {index}: "
                    f"{_detail(Exception(first))}): fix job_params and try again.")
        return f"{_capital(detail)}: fix that value and try again."
    if isinstance(exc, ProtocolError):
        return (f"The server at {server} sent an answer this toolkit cannot trust ({detail}): "
                "check that the address is an Infinity API server.")
    if isinstance(exc, JobTimeout):
        return (f"Stopped waiting ({_head(detail)}): the jobs keep running on the server, "
                "so wait and download again to fetch the rest.")
    if isinstance(exc, DownloadError):
        job, why = next(iter(exc.failed.items()), ("?", detail))
        return (f"{len(exc.failed)} job(s) did not download (first, job {job}: "
                f"{_detail(Exception(why))}); the others are on disk, and downloading again "
                "retries what can still be fetched.")
    if isinstance(exc, SchemaError):
        return (f"A generator's parameter schema is malformed ({detail}): tell whoever "
                "maintains the generator or the server.")
    if isinstance(exc, MissingDataError):
        return (f"A downloaded file is not there ({_head(detail)}): download the batch into "
                "that folder first, or pass the folder it was downloaded to.")
    if isinstance(exc, OutputExistsError):
        return (f"The output is already there ({_head(detail)}): choose another folder, or "
                "pass overwrite=True to replace it.")
    if isinstance(exc, DataError):
        return (f"The downloaded data cannot serve this ({detail}): download the batch again "
                "once its jobs have finished, or choose jobs that have the data.")
    if isinstance(exc, RecordError):
        return (f"The record cannot be used as asked ({detail}): check its path and "
                "parameters (`infinity-workflows records` lists the records).")
    if isinstance(exc, RerunError):
        where = f"open {exc.record} to see the cell that failed, " if exc.record else ""
        return f"The re-run failed ({_head(detail)}): {where}fix it and run it again."
    return f"{_capital(detail)} ({type(exc).__name__}): try again, and report it if it persists."


def explain_error(exc: BaseException, server: str) -> str:
    """One line for ``exc`` met while talking to ``server``: what happened, what to do.

    Covers every class of :mod:`infinity_workflows.errors` and ``KeyboardInterrupt``; any
    other exception is named as unexpected. The line holds no traceback and never a token.
    """
    server = " ".join(str(server).split()) or "(no server given)"
    if isinstance(exc, KeyboardInterrupt):
        return ("Interrupted before it finished: what was done is kept (downloaded jobs stay "
                "on disk, a submitted batch keeps running on the server), so run it again to "
                "carry on.")
    detail = _detail(exc)
    if isinstance(exc, ServerUnreachable):
        todo = start_server_hint() if _is_local(server) else (
            "check the address and the network, or ask its administrator whether it is up")
        return f"Cannot reach the server at {server}: {todo}, then try again."
    if isinstance(exc, ConfigurationError):  # our own words, already saying what to do
        said = _capital(_detail(exc, limit=3 * _LONGEST_DETAIL))
        return said if said.endswith(".") else f"{said}."
    if isinstance(exc, APIError):
        return _api(exc, server, detail)
    if isinstance(exc, InfinityError):
        return _client(exc, server, detail)
    if isinstance(exc, OSError):
        return (f"A file could not be read or written ({detail}): check that the folder "
                "exists and is writable and that the disk has room, then try again.")
    return (f"Unexpected {type(exc).__name__} ({detail}): try again, and report it with the "
            "notebook if it happens again.")
