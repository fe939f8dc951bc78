"""Small display helpers shared by the interfaces: coloured messages and notebook links.

Every text here may hold what a server sent (batch names, ids, error messages), so every
helper escapes it: a server's string is shown as text, never run as markup. Links are built
as HTML from escaped parts, never as Markdown (whose inline HTML a name could carry).
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from urllib.parse import quote, urlsplit

import ipywidgets as widgets

__all__ = ["error_html", "info_html", "lab_link", "link_html", "show_html", "success_html",
           "warning_html"]

OUTCOME_COLOURS = {"error": "#c62828", "success": "#2e7d32", "warning": "#e65100",
                   "info": "inherit"}


def _box(text: str, colour: str) -> str:
    body = html.escape(text).replace("\n", "<br>")
    return f'<div style="color:{colour}; white-space:normal">{body}</div>'


def error_html(text: str) -> str:
    return _box(text, OUTCOME_COLOURS["error"])


def success_html(text: str) -> str:
    return _box(text, OUTCOME_COLOURS["success"])


def warning_html(text: str) -> str:
    return _box(text, OUTCOME_COLOURS["warning"])


def info_html(text: str) -> str:
    return _box(text, OUTCOME_COLOURS["info"])


def lab_link(target: Path | str, start: Path | str) -> str:
    """A relative URL from ``start`` (the notebook's folder) to ``target``.

    JupyterLab resolves relative links in rendered output against the notebook's folder and
    opens the file in a new tab of the same JupyterLab, so no server root or host is needed.
    """
    rel = os.path.relpath(Path(target).resolve(), Path(start).resolve())
    return "/".join(quote(part) for part in Path(rel).parts)


def link_html(label: str, href: str) -> str:
    """``<a>`` with ``label`` as text; ``href`` a relative path or an http(s) URL (anything
    else, such as ``javascript:``, becomes no link at all)."""
    scheme = urlsplit(href).scheme.lower()
    if scheme not in ("", "http", "https"):
        return html.escape(label)
    target = ' target="_blank" rel="noopener"' if scheme else ""
    return f'<a href="{html.escape(href, quote=True)}"{target}>{html.escape(label)}</a>'


def show_html(output: widgets.Output, markup: str, clear: bool = True) -> None:
    """Show ``markup`` (built from escaped parts) in an Output widget, where JupyterLab
    resolves its relative links; safe from any thread (no capture of the cell's output)."""
    from IPython.display import HTML

    if clear:
        output.outputs = ()
    output.append_display_data(HTML(markup))
