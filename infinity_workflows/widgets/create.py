"""The create-a-workflow interface: pick server, token, generator, then render a record.

The steps are :mod:`infinity_workflows.workflow.create`; this module builds the widgets,
reads their fields and shows what those steps return.

The token field is a password box that is emptied as soon as it is read. A typed token is
saved to the credentials file only when asked; otherwise it lives on this Python object for
the listing calls and never in a widget trait, so it cannot reach saved widget state, an
output or a record (records read the token at run time from the env var or credentials file).
A typed token belongs to the server it was typed for: changing Server forgets it, so one
server's token is never sent to another.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from ..credentials import normalise_server, save_token
from ..errors import ConfigurationError
from ..user_folders import default_records_dir
from ..workflow.create import (
    BatchChoice,
    GeneratorChoice,
    ServerChoices,
    create_record,
    default_server,
    fetch_generators,
    list_choices,
    recent_batches,
)
from ..workflow.explain import explain_error
from ._display import error_html, info_html, lab_link, link_html, show_html, success_html

__all__ = [
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
# default_server, explain_error, fetch_generators, recent_batches and the two choices live
# in infinity_workflows.workflow; they are named here too for code written against this
# module before they moved.


def take_token(field: widgets.Password) -> str | None:
    """The typed token (None when empty); the field is cleared before anything else runs."""
    value = field.value.strip()
    field.value = ""
    return value or None


class CreateWorkflowInterface:
    """Widgets of the create notebook; ``widget`` is the box to display."""

    def __init__(self, records_dir: Path | str | None = None,
                 notebook_dir: Path | str | None = None, server: str | None = None,
                 days: int = 30) -> None:
        self.records_dir = Path(records_dir or default_records_dir())
        self.notebook_dir = Path(notebook_dir or Path.cwd())
        self.days = days
        # A typed token that was not saved, with the server it was typed for; never a trait.
        self._typed: tuple[str, str] | None = None
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
        self.server.observe(self._on_server, names="value")
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
        # An interrupt (the kernel's stop button) is said too, never a traceback.
        except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - a red message
            self._show(error_html(explain_error(exc, self.server.value)))
            self.links.outputs = ()  # an earlier "Open it:" link is not this answer
            return None

    @property
    def _token(self) -> str | None:
        """The typed token, only while Server is still the one it was typed for."""
        if self._typed is None:
            return None
        server, token = self._typed
        return token if _same_server(server, self.server.value) else None

    @_token.setter
    def _token(self, token: str | None) -> None:
        self._typed = (self.server.value, token) if token else None

    def _on_server(self, _change: Any = None) -> None:
        """Another server: forget the typed token and what the last one offered."""
        if self._typed is not None and not _same_server(self._typed[0], self.server.value):
            self._typed = None
        self.create_button.disabled = True
        self.generators, self.batches = [], []
        self.generator.options = []
        self.batch.options = []
        self.links.outputs = ()

    def _on_workflow(self, _change: Any = None) -> None:
        self.batch_box.layout.display = "" if self.workflow.value == "download" else "none"

    def _on_generator(self, _change: Any = None) -> None:
        chosen = next((g for g in self.generators if g.name == self.generator.value), None)
        self.generator_help.value = info_html(chosen.description) if chosen else ""

    def _on_get_generators(self, _button: Any = None) -> list[GeneratorChoice] | None:
        typed = take_token(self.token)
        server = self.server.value.strip()
        self.create_button.disabled = True
        self.links.outputs = ()
        self.generator.options = []
        self.batch.options = []
        if typed and self.remember.value:
            if self._guard(lambda: save_token(server, typed)) is None:
                return None
            self._token = None
        elif typed:
            self._token = typed
        choices: ServerChoices | None = self._guard(lambda: list_choices(
            server, self._token, with_batches=self.workflow.value == "download",
            days=self.days, token_unsaved=bool(self._token)))
        if choices is None:
            return None
        self.generators = choices.generators
        self.generator.options = [(g.label, g.name) for g in choices.generators]
        self.generator.value = choices.generators[0].name
        self._on_generator()
        self.batches = choices.batches or []
        self.batch.options = [(b.label, b.batch_id) for b in self.batches]
        self.create_button.disabled = False
        self._show(success_html(choices.describe()))
        return choices.generators

    def _on_create(self, _button: Any = None) -> Path | None:
        kind = self.workflow.value
        path = self._guard(lambda: create_record(
            kind, self.generator.value or "", self.server.value,
            batch_id=self.batch_id.value.strip() or self.batch.value,
            records_dir=self.records_dir))
        if path is None:
            return None
        self.created.append(path)
        self._show(success_html(f"Created {path.name} in {path.parent}."))
        show_html(self.links, "Open it: " + link_html(path.name,
                                                      lab_link(path, self.notebook_dir)))
        return path


def _same_server(a: str, b: str) -> bool:
    """Whether two spellings name one server (a trailing slash, case of the host)."""
    try:
        return normalise_server(a) == normalise_server(b)
    except ConfigurationError:  # a half-typed address: compared as typed
        return a.strip() == b.strip()


def create_workflow_interface(records_dir: Path | str | None = None,
                              notebook_dir: Path | str | None = None,
                              server: str | None = None) -> CreateWorkflowInterface:
    """Build and display the interface; returns it so tests and users can reach its parts."""
    from IPython.display import display

    ui = CreateWorkflowInterface(records_dir=records_dir, notebook_dir=notebook_dir,
                                 server=server)
    display(ui.widget)
    return ui
