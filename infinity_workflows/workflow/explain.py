"""Any failure, said in one sentence a person can act on: what happened, what to do.

A button, a notebook cell or a command ends in a result or in one of the client's errors
(the tree in :mod:`infinity_workflows.errors`); a traceback names neither the cause in the
reader's terms nor the next step. :func:`explain_error` is the one place that turns each
error class, and an interrupt, into that sentence, so every interface says the same thing
for the same failure. Starting a local server that does not answer depends on how the
toolkit was installed: :func:`~infinity_workflows.getting_started.start_server_hint` says
it, here as in every other hint.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from .. import errors
from ..getting_started import source_checkout, start_server_hint

__all__ = ["StepFailed", "explain_error", "explained", "source_checkout", "start_server_hint"]

_LOOPBACK = ("localhost", "::1")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_LONGEST_DETAIL = 300
_PLAIN_WORD = re.compile(r"[a-z]+(?=[\s,:;]|$)")


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


class StepFailed(errors.InfinityError):
    """A notebook step that failed, already said in one sentence.

    IPython shows an exception's ``_render_traceback_`` instead of its traceback, so a cell
    that raises this shows the sentence alone, while still failing: Run All stops there and
    a papermill run is marked failed, as for any error.
    """

    def __init__(self, sentence: str) -> None:
        super().__init__(sentence)
        self.sentence = sentence

    def _render_traceback_(self) -> list[str]:
        return [self.sentence]


@contextmanager
def explained(server: str) -> Iterator[None]:
    """Turn any failure (or an interrupt) inside the block into :class:`StepFailed` with its
    sentence from :func:`explain_error`: a notebook cell's one line instead of a traceback."""
    try:
        yield
    except StepFailed:
        raise
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - said, then raised again
        raise StepFailed(explain_error(exc, server)) from None


# The first class ``exc`` is an instance of gives its sentence, filled in by _fields: the
# ``server``; ``detail``, the message on one line (``Detail`` with a capital); ``head``, its
# part before any advice of its own; the HTTP ``status``; the class's ``name``.
_SENTENCES: tuple[tuple[type[BaseException], str], ...] = (
    (KeyboardInterrupt, "Interrupted before it finished: what was done is kept (downloaded "
                        "jobs stay on disk, a submitted batch keeps running on the server), so "
                        "run it again to carry on."),
    (errors.ServerUnreachable, "Cannot reach the server at {server}: {start}, then try again."),
    (errors.ConfigurationError, "{Detail}"),  # our own words, already saying what to do
    (errors.AuthenticationError,
     "The server at {server} refused the token: type it again, or leave the Token field empty "
     "to use the saved one (INFINITY_API_TOKEN, then the credentials file); "
     "`infinity-workflows token create` makes a new one."),
    (errors.BadRequestError, "The server at {server} refused the request ({detail}): fix the "
                             "job parameters and try again."),
    (errors.NotFoundError, "The server at {server} has no such item for this token ({detail}): "
                           "check the id, the server, and that the token is the one that made "
                           "it."),
    (errors.ConflictError, "The server at {server} refused a request that clashes with what it "
                           "holds ({detail}): look at the current state (the portal shows it) "
                           "and try again."),
    (errors.ServerError, "The server at {server} failed (HTTP {status}): try again in a minute; "
                         "if it keeps failing, the server's log says why."),
    (errors.APIError, "The server at {server} answered HTTP {status} ({detail}): check the "
                      "server's address and try again."),
    (errors.ValidationError, "{Detail}: fix {subject} and try again."),
    (errors.ProtocolError, "The server at {server} sent an answer this toolkit cannot trust "
                           "({detail}): check that the address is an Infinity API server."),
    (errors.JobTimeout, "Stopped waiting ({head}): the jobs keep running on the server, so "
                        "wait and download again to fetch the rest."),
    (errors.DownloadError, "{detail}; the others are on disk, and downloading again retries "
                           "what can still be fetched."),
    (errors.SchemaError, "A generator's parameter schema is malformed ({detail}): tell whoever "
                         "maintains the generator or the server."),
    (errors.MissingDataError, "A downloaded file is not there ({head}): download the batch "
                              "into that folder first, or pass the folder it was downloaded "
                              "to."),
    (errors.OutputExistsError, "The output is already there ({head}): choose another folder, "
                               "or pass overwrite=True to replace it."),
    (errors.DataError, "The downloaded data cannot serve this ({detail}): download the batch "
                       "again once its jobs have finished, or choose jobs that have the "
                       "data."),
    (errors.RecordError, "The record cannot be used as asked ({detail}): check its path and "
                         "parameters (`infinity-workflows records` lists the records)."),
    (errors.RerunError, "The re-run failed ({head}): {where}fix it and run it again."),
    (errors.InfinityError, "{Detail} ({name}): try again, and report it if it persists."),
    (OSError, "A file could not be read or written ({detail}): check that the folder exists "
              "and is writable and that the disk has room, then try again."),
    (BaseException, "Unexpected {name} ({detail}): try again, and report it with the notebook "
                    "if it happens again."),
)


def _fields(exc: BaseException, server: str) -> dict[str, object]:
    """What the sentences name, with the classes that say more than their message."""
    limit = 3 * _LONGEST_DETAIL if isinstance(exc, errors.ConfigurationError) \
        else _LONGEST_DETAIL
    detail, subject, where = _detail(exc, limit), "that value", ""
    if isinstance(exc, errors.BadRequestError) and exc.errors \
            and isinstance(exc.errors[0], dict) and exc.errors[0].get("message"):
        named = exc.errors[0]
        job = f"job {named['job_index']}: " if named.get("job_index") is not None else ""
        detail = f"{job}{named['message']}"
    elif isinstance(exc, errors.ValidationError) and any(exc.errors):
        broken = [(i, e) for i, e in enumerate(exc.errors) if e]
        index, first = broken[0]
        detail = (f"{len(broken)} job(s) broke the generator's rules (first, job {index}: "
                  f"{_detail(Exception(first))})")
        subject = "job_params"
    elif isinstance(exc, errors.DownloadError) and exc.failed:
        job, why = next(iter(exc.failed.items()))
        detail = (f"{len(exc.failed)} job(s) did not download (first, job {job}: "
                  f"{_detail(Exception(why))})")
    elif isinstance(exc, errors.RerunError) and exc.record:
        where = f"open {exc.record} to see the cell that failed, "
    start = ""
    if isinstance(exc, errors.ServerUnreachable):
        start = start_server_hint() if _is_local(server) else (
            "check the address and the network, or ask its administrator whether it is up")
    return {"server": server, "detail": detail, "Detail": _capital(detail),
            "head": _head(detail), "status": getattr(exc, "status", ""),
            "name": type(exc).__name__, "subject": subject, "where": where, "start": start}


def explain_error(exc: BaseException, server: str) -> str:
    """One line for ``exc`` met while talking to ``server``: what happened, what to do.

    Covers every class of :mod:`infinity_workflows.errors` and ``KeyboardInterrupt``; any
    other exception is named as unexpected. The line holds no traceback and never a token.
    """
    if isinstance(exc, StepFailed):
        return exc.sentence  # said already
    server = " ".join(str(server).split()) or "(no server given)"
    sentence = next(text for cls, text in _SENTENCES if isinstance(exc, cls))
    said = sentence.format(**_fields(exc, server))
    return said if said.endswith(".") else f"{said}."
