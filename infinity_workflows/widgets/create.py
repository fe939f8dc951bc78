"""The create-a-workflow interface: pick server, token, generator, then render a record.

The token field is a password box that is emptied as soon as it is read. A typed token is
saved to the credentials file only when asked; otherwise it lives on this Python object for
the listing calls and never in a widget trait, so it cannot reach saved widget state, an
output or a record (records read the token at run time from the env var or credentials file).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from .. import api
from ..credentials import normalise_server, resolve_token, save_token
from ..errors import (
    AuthenticationError,
    ConfigurationError,
    InfinityError,
    ServerUnreachable,
)
from ..session import DEFAULT_SERVER, Session
from ..user_folders import default_records_dir
from ._display import error_html, info_html, lab_link, show_markdown, success_html

__all__ = [
    "START_SERVER_HINT",
    "BatchChoice",
    "CreateWorkflowInterface",
    "GeneratorChoice",
    "create_workflow_interface",
    "default_server",
    "explain_error",
    "fetch_generators",
    "recent_batches",
    "take_token",
]

SERVER_ENV = "INFINITY_SERVER_URL"
START_SERVER_HINT = ("Start the local server in a terminal with `infinity-workflows serve` "
                     "(or run ./run_notebooks.sh, which starts it for you), then try again.")
# Short timeouts: a person is waiting on the button.
_TIMEOUT = (3.0, 30.0)


@dataclass(frozen=True)
class GeneratorChoice:
    name: str
    version: str
    description: str
    supports_preview: bool


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
    return os.environ.get(SERVER_ENV) or DEFAULT_SERVER


def take_token(field: widgets.Password) -> str | None:
    """The typed token (None when empty); the field is cleared before anything else runs."""
    value = field.value.strip()
    field.value = ""
    return value or None


def fetch_generators(server: str, token: str | None = None) -> list[GeneratorChoice]:
    """The generators the token may use, sorted by name."""
    return [GeneratorChoice(g["name"], str(g.get("version", "")), g.get("description") or "",
                            bool((g.get("options") or {}).get("preview")))
            for g in Session.list_generators(server, token, timeout=_TIMEOUT)]


def recent_batches(server: str, token: str | None = None, days: int = 30
                   ) -> list[BatchChoice]:
    """The token's batches of the last ``days`` days, newest first."""
    from ..batch import parse_time

    server = normalise_server(server)
    end = datetime.now().astimezone()
    start = end - timedelta(days=days)
    with api.Transport(server, resolve_token(token, server), timeout=_TIMEOUT) as t:
        rows = api.list_batches(t, start, end)
    choices = [BatchChoice(r["id"], r["name"], parse_time(r["created"]), int(r["num_jobs"]))
               for r in rows]
    return sorted(choices, key=lambda b: b.created, reverse=True)


def explain_error(exc: BaseException, server: str) -> str:
    """One message a person can act on, for anything the buttons may raise."""
    if isinstance(exc, ServerUnreachable):
        return f"Cannot reach the server at {server}. {START_SERVER_HINT}"
    if isinstance(exc, AuthenticationError):
        return (f"The server at {server} refused the token. Check it and type it again, or "
                "leave the field empty to use the saved credentials "
                "(INFINITY_API_TOKEN, then the credentials file).")
    if isinstance(exc, ConfigurationError):
        return str(exc)
    if isinstance(exc, InfinityError):
        return f"{type(exc).__name__}: {exc}"
    return f"Unexpected {type(exc).__name__}: {exc}"


class CreateWorkflowInterface:
    """Widgets of the create notebook; ``widget`` is the box to display."""

    def __init__(self, records_dir: Path | str | None = None,
                 notebook_dir: Path | str | None = None, server: str | None = None,
                 days: int = 30) -> None:
        self.records_dir = Path(records_dir or default_records_dir())
        self.notebook_dir = Path(notebook_dir or Path.cwd())
        self.days = days
        self._token: str | None = None  # a typed token that was not saved; never a trait
        self.generators: list[GeneratorChoice] = []
        self.batches: list[BatchChoice] = []
        self.created: list[Path] = []

        self.workflow = widgets.ToggleButtons(
            options=[("Submit Batch", "submit"), ("Download Batch", "download")],
            value="submit", description="Workflow:")
        self.server = widgets.Text(value=server or default_server(), description="Server:",
                                   layout=widgets.Layout(width="420px"))
        self.token = widgets.Password(value="", description="Token:",
                                      placeholder="empty: use saved credentials")
        self.remember = widgets.Checkbox(value=False, description="Remember typed token",
                                         indent=False)
        self.get_generators_button = widgets.Button(description="Get Generators",
                                                    button_style="info")
        self.generator = widgets.Dropdown(options=[], description="Generator:",
                                          layout=widgets.Layout(width="420px"))
        self.generator_help = widgets.HTML()
        self.batch = widgets.Dropdown(options=[], description="Batch:",
                                      layout=widgets.Layout(width="520px"))
        self.batch_id = widgets.Text(value="", description="or batch id:",
                                     placeholder="paste a batch id",
                                     layout=widgets.Layout(width="420px"))
        self.create_button = widgets.Button(description="Create Notebook",
                                            button_style="success", disabled=True)
        self.message = widgets.HTML()
        self.links = widgets.Output()
        self.batch_box = widgets.VBox([self.batch, self.batch_id])

        self.get_generators_button.on_click(self._on_get_generators)
        self.create_button.on_click(self._on_create)
        self.workflow.observe(self._on_workflow, names="value")
        self.generator.observe(self._on_generator, names="value")
        self._on_workflow()
        self.widget = widgets.VBox([
            self.workflow, self.server, widgets.HBox([self.token, self.remember]),
            self.get_generators_button, self.generator, self.generator_help, self.batch_box,
            self.create_button, self.message, self.links,
        ])

    # -- handlers: read fields, call the plain functions, show the result ------------------
    def _show(self, html: str) -> None:
        self.message.value = html

    def _guard(self, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except Exception as exc:  # noqa: BLE001 - every failure becomes a red message
            self._show(error_html(explain_error(exc, self.server.value)))
            return None

    def _on_workflow(self, _change: Any = None) -> None:
        self.batch_box.layout.display = "" if self.workflow.value == "download" else "none"

    def _on_generator(self, _change: Any = None) -> None:
        chosen = next((g for g in self.generators if g.name == self.generator.value), None)
        self.generator_help.value = info_html(chosen.description) if chosen else ""

    def _on_get_generators(self, _button: Any = None) -> list[GeneratorChoice] | None:
        typed = take_token(self.token)
        server = self.server.value.strip()
        self.create_button.disabled = True
        self.generator.options = []
        self.batch.options = []
        if typed:
            if self.remember.value:
                if self._guard(lambda: save_token(server, typed)) is None:
                    return None
                self._token = None
            else:
                self._token = typed
        found = self._guard(lambda: fetch_generators(server, self._token))
        if found is None:
            return None
        if not found:
            self._show(error_html(f"The token is valid on {server} but may use no "
                                  "generators. Ask the server's administrator for access."))
            return found
        self.generators = found
        self.generator.options = [(f"{g.name} ({g.version})", g.name) for g in found]
        self.generator.value = found[0].name
        self._on_generator()
        note = [f"{len(found)} generator(s) on {server}."]
        if self.workflow.value == "download":
            batches = self._guard(lambda: recent_batches(server, self._token, self.days))
            if batches is None:
                return None
            self.batches = batches
            self.batch.options = [(b.label, b.batch_id) for b in batches]
            note.append(f"{len(batches)} batch(es) in the last {self.days} days"
                        + ("." if batches else ": type a batch id instead."))
        if self._token:
            note.append("The typed token is not saved: the new notebook will read its token "
                        "from INFINITY_API_TOKEN or the credentials file, so tick 'Remember "
                        "typed token' if neither holds it.")
        self.create_button.disabled = False
        self._show(success_html(" ".join(note)))
        return found

    def _chosen_batch_id(self) -> str:
        typed = self.batch_id.value.strip()
        batch_id = typed or (self.batch.value or "")
        if not batch_id:
            raise ConfigurationError("choose a batch from the list or type its id")
        try:
            return str(uuid.UUID(batch_id))
        except ValueError:
            raise ConfigurationError(f"batch id {batch_id!r} is not a UUID; copy it from "
                                     "the Submit notebook or the portal") from None

    def _on_create(self, _button: Any = None) -> Path | None:
        kind = self.workflow.value
        if not self.generator.value:
            self._show(error_html("Click Get Generators and choose a generator first."))
            return None

        def create() -> Path:
            from ..records import create_workflow_notebook  # nbformat, papermill: on demand

            return create_workflow_notebook(
                kind, generator=self.generator.value, server=self.server.value.strip(),
                batch_id=self._chosen_batch_id() if kind == "download" else None,
                records_dir=self.records_dir)

        path = self._guard(create)
        if path is None:
            return None
        self.created.append(path)
        self._show(success_html(f"Created {path.name} in {path.parent}."))
        show_markdown(self.links, f"Open it: [{path.name}]({lab_link(path, self.notebook_dir)})")
        return path


def create_workflow_interface(records_dir: Path | str | None = None,
                              notebook_dir: Path | str | None = None,
                              server: str | None = None) -> CreateWorkflowInterface:
    """Build and display the interface; returns it so tests and users can reach its parts."""
    from IPython.display import display

    ui = CreateWorkflowInterface(records_dir=records_dir, notebook_dir=notebook_dir,
                                 server=server)
    display(ui.widget)
    return ui
