"""Small display helpers shared by the interfaces: coloured messages and notebook links."""

from __future__ import annotations

import html
import os
from pathlib import Path
from urllib.parse import quote

import ipywidgets as widgets

__all__ = ["error_html", "info_html", "lab_link", "show_markdown", "success_html"]


def _box(text: str, colour: str) -> str:
    body = html.escape(text).replace("\n", "<br>")
    return f'<div style="color:{colour}; white-space:normal">{body}</div>'


def error_html(text: str) -> str:
    return _box(text, "#c62828")


def success_html(text: str) -> str:
    return _box(text, "#2e7d32")


def info_html(text: str) -> str:
    return _box(text, "inherit")


def lab_link(target: Path | str, start: Path | str) -> str:
    """A relative URL from ``start`` (the notebook's folder) to ``target``.

    JupyterLab resolves relative links in rendered output against the notebook's folder and
    opens the file in a new tab of the same JupyterLab, so no server root or host is needed.
    """
    rel = os.path.relpath(Path(target).resolve(), Path(start).resolve())
    return "/".join(quote(part) for part in Path(rel).parts)


def show_markdown(output: widgets.Output, markdown: str, clear: bool = True) -> None:
    """Render markdown inside an Output widget (so JupyterLab handles its links)."""
    from IPython.display import Markdown, display

    if clear:
        output.clear_output()
    with output:
        display(Markdown(markdown))
