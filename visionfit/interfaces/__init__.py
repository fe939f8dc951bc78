"""Infinity's widget names as thin wrappers over :mod:`infinity_workflows.widgets`.

Notebooks made with Infinity's toolkit call ``SubmitInterface(sesh, job_params)``,
``BatchDownloadInterface(batch, batch_path)`` and ``WorkflowInterface(...)``, which display
themselves. Here each is our widget (same buttons, checks, records and lineage: a Submit
notebook made from Infinity's template still writes its Download notebook from our
template), shown on construction, and accepting infinity-core's ``Session`` and ``Batch``
as well as ours (:mod:`infinity_workflows.compat.interop`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from infinity_workflows.compat.interop import as_batch, as_session
from infinity_workflows.session import DEFAULT_GENERATOR
from infinity_workflows.widgets import CreateWorkflowInterface, DownloadInterface
from infinity_workflows.widgets import SubmitInterface as _OurSubmitInterface
from infinity_workflows.workflow import only_generator

__all__ = ["BatchDownloadInterface", "SubmitInterface", "WorkflowInterface"]


def _show(widget: Any) -> None:
    from IPython.display import display

    display(widget)


class SubmitInterface(_OurSubmitInterface):
    """Our submit interface for ``sesh`` (ours or infinity-core's), displayed at once."""

    def __init__(self, sesh: Any, job_params: Sequence[Mapping[str, Any]],
                 **kwargs: Any) -> None:
        super().__init__(as_session(sesh), job_params, **kwargs)
        _show(self.widget)


class BatchDownloadInterface(DownloadInterface):
    """Our download interface for ``batch`` (ours or infinity-core's) into ``batch_path``,
    displayed at once."""

    def __init__(self, batch: Any, batch_path: str | Path, **kwargs: Any) -> None:
        super().__init__(as_batch(batch), batch_path, **kwargs)
        _show(self.widget)


class WorkflowInterface(CreateWorkflowInterface):
    """Our create interface with Infinity's switches: ``enable_server_selection=False``
    fixes the server to ``default_server`` (by default the environment's, as
    :func:`infinity_workflows.workflow.default_server` reads it);
    ``enable_generator_selection=False`` offers only ``default_generator``. Displayed at
    once."""

    def __init__(self, enable_generator_selection: bool = True,
                 enable_server_selection: bool = False,
                 default_generator: str = DEFAULT_GENERATOR,
                 default_server: str | None = None, **kwargs: Any) -> None:
        self.enable_generator_selection = enable_generator_selection
        self.default_generator = default_generator
        super().__init__(server=default_server, **kwargs)
        self.server.disabled = not enable_server_selection
        _show(self.widget)

    def _on_get_generators(self, _button: Any = None) -> Any:
        found = super()._on_get_generators(_button)
        if found and not self.enable_generator_selection:
            mine = self._guard(lambda: only_generator(found, self.default_generator,
                                                      self.server.value))
            if mine is None:
                self.create_button.disabled = True
                self.generator.options = []
                return []
            self.generator.options = [(g.label, g.name) for g in mine]
            self.generator.value = self.default_generator
            self.generator.disabled = True
        return found
