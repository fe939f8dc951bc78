"""Creating a record: which server, its generators and recent batches, and the Submit or
Download notebook rendered for the choice.

These are the create notebook's steps as plain functions, so that its interface, the CLI,
Infinity-style interfaces and tests all take the same path, and each can be run without a
widget in sight. Nothing here imports the notebook machinery until a record is rendered.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from .. import api
from ..credentials import SERVER_ENVS, environment_server, normalise_server
from ..errors import ConfigurationError, ValidationError
from ..session import Session
from ..transport import open_transport
from ..trust import parse_uuid

__all__ = [
    "BatchChoice",
    "GeneratorChoice",
    "ServerChoices",
    "checked_batch_id",
    "create_record",
    "default_server",
    "fetch_generators",
    "list_choices",
    "only_generator",
    "recent_batches",
]

# Short timeouts: a person is waiting on the answer.
TIMEOUT = (3.0, 30.0)


@dataclass(frozen=True)
class GeneratorChoice:
    name: str
    version: str
    description: str
    supports_preview: bool

    @property
    def label(self) -> str:
        return f"{self.name} ({self.version})"


@dataclass(frozen=True)
class BatchChoice:
    batch_id: str
    name: str
    created: datetime
    num_jobs: int

    @property
    def label(self) -> str:
        return f"{self.name} · {self.created:%Y-%m-%d %H:%M} · {self.num_jobs} jobs"


def default_server() -> str:
    """The server a new record, the create interface and ``infinity-workflows lab`` start
    with: ``INFINITY_API_SERVER``, else ``INFINITY_SERVER_URL``, else the local server.

    The one order that also ties ``INFINITY_API_TOKEN`` to its server
    (:func:`~infinity_workflows.credentials.environment_server`), so the token in the
    environment goes to the server shown. A value that is not a URL is returned as written,
    for the first call that uses it to explain.
    """
    try:
        return environment_server()
    except ConfigurationError:
        return next(os.environ[name].strip() for name in SERVER_ENVS
                    if os.environ.get(name, "").strip())


def fetch_generators(server: str, token: str | None = None) -> list[GeneratorChoice]:
    """The generators the token may use on ``server``, sorted by name."""
    return [GeneratorChoice(g["name"], str(g.get("version", "")), g.get("description") or "",
                            bool((g.get("options") or {}).get("preview")))
            for g in Session.list_generators(server, token, timeout=TIMEOUT)]


def only_generator(found: list[GeneratorChoice], name: str,
                   server: str) -> list[GeneratorChoice]:
    """``found`` narrowed to the generator ``name``; a ConfigurationError naming the ones
    the token may use when ``name`` is not among them."""
    mine = [g for g in found if g.name == name]
    if not mine:
        raise ConfigurationError(f"{name} is not offered by {server}; your token may use: "
                                 + (", ".join(g.name for g in found) or "none"))
    return mine


def recent_batches(server: str, token: str | None = None, days: int = 30
                   ) -> list[BatchChoice]:
    """The token's batches of the last ``days`` days, newest first."""
    from ..batch import parse_time

    server = normalise_server(server)
    end = datetime.now().astimezone()
    start = end - timedelta(days=days)
    with open_transport(server, token, timeout=TIMEOUT) as t:
        rows = api.list_batches(t, start, end)
    choices = [BatchChoice(r["id"], r["name"], parse_time(r["created"]), int(r["num_jobs"]))
               for r in rows]
    return sorted(choices, key=lambda b: b.created, reverse=True)


@dataclass
class ServerChoices:
    """What a server offers a token: its generators and, for a Download record, its
    recent batches."""

    server: str
    generators: list[GeneratorChoice]
    batches: list[BatchChoice] | None = None
    days: int = 30
    token_unsaved: bool = False

    def describe(self) -> str:
        text = [f"{len(self.generators)} generator(s) on {self.server}."]
        if self.batches is not None:
            text.append(f"{len(self.batches)} batch(es) in the last {self.days} days"
                        + ("." if self.batches else ": type a batch id instead."))
        if self.token_unsaved:
            text.append("The typed token is not saved: the new notebook will read its token "
                        "from INFINITY_API_TOKEN or the credentials file, so tick 'Remember "
                        "typed token' if neither holds it.")
        return " ".join(text)


def list_choices(server: str, token: str | None = None, *, with_batches: bool = False,
                 days: int = 30, token_unsaved: bool = False) -> ServerChoices:
    """The generators (and, ``with_batches``, the recent batches) ``token`` may use on
    ``server``; a ConfigurationError when the token may use no generator at all."""
    generators = fetch_generators(server, token)
    if not generators:
        raise ConfigurationError(f"the token is valid on {server} but may use no generators: "
                                 "ask the server's administrator for access")
    batches = recent_batches(server, token, days) if with_batches else None
    return ServerChoices(server, generators, batches, days, token_unsaved)


def checked_batch_id(batch_id: str | None) -> str:
    """``batch_id`` as a canonical UUID, or a ConfigurationError saying what to give."""
    batch_id = (batch_id or "").strip()
    if not batch_id:
        raise ConfigurationError("choose a batch from the list or type its id")
    try:
        return parse_uuid(batch_id, "batch id")
    except ValidationError:
        raise ConfigurationError(f"batch id {batch_id!r} is not a UUID; copy it from the "
                                 "Submit notebook or the portal") from None


def create_record(kind: str, generator: str, server: str, *, batch_id: str | None = None,
                  records_dir: Path | str | None = None) -> Path:
    """Render a Submit (``kind="submit"``) or Download (``"download"``, for ``batch_id``)
    notebook into a new record folder; returns its path."""
    if not generator:
        raise ConfigurationError("choose a generator first (Get Generators lists them)")
    from ..records import create_workflow_notebook  # nbformat, papermill: on demand

    return create_workflow_notebook(
        kind, generator=generator, server=server.strip(),
        batch_id=checked_batch_id(batch_id) if kind == "download" else None,
        records_dir=records_dir)
