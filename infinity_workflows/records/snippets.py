"""Placing a generator's :class:`~infinity_workflows.snippets.NotebookSnippet` into a
template: its percent-format text becomes notebook cells that replace the template's block
tagged ``generator-snippet``, and its parameter lines extend the ``parameters`` cell."""

from __future__ import annotations

import re

import nbformat

from ..errors import ConfigurationError
from ..snippets import SNIPPET_TAG, NotebookSnippet

__all__ = ["apply_snippet", "parse_cells"]

_MARKER = re.compile(r"^# %%(?:\s*\[(?P<kind>\w+)\])?\s*$")


def _markdown(lines: list[str]) -> str:
    return "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#")
                     for line in lines)


def parse_cells(text: str) -> list[nbformat.NotebookNode]:
    """Notebook cells from percent-format ``text``, each tagged as a snippet cell."""
    cells: list[nbformat.NotebookNode] = []
    kind: str | None = None
    lines: list[str] = []

    def flush() -> None:
        if kind is None:
            if any(line.strip() for line in lines):
                raise ConfigurationError("snippet text before its first '# %%' marker")
            return
        source = (_markdown(lines) if kind == "markdown" else "\n".join(lines)).strip("\n")
        cell = (nbformat.v4.new_markdown_cell(source) if kind == "markdown"
                else nbformat.v4.new_code_cell(source))
        cell.metadata["tags"] = [SNIPPET_TAG]
        cells.append(cell)

    for line in text.splitlines():
        match = _MARKER.match(line)
        if match:
            flush()
            kind, lines = (match.group("kind") or "code"), []
        else:
            lines.append(line)
    flush()
    return cells


def apply_snippet(nb: nbformat.NotebookNode, snippet: NotebookSnippet) -> None:
    """Replace ``nb``'s snippet block with ``snippet``'s cells and extend its parameters."""
    tagged = [i for i, c in enumerate(nb.cells)
              if SNIPPET_TAG in c.get("metadata", {}).get("tags", [])]
    if not tagged:
        raise ConfigurationError(f"the template has no cell tagged {SNIPPET_TAG!r}")
    first = tagged[0]
    kept = [c for i, c in enumerate(nb.cells) if i not in tagged]
    nb.cells = kept[:first] + parse_cells(snippet.cells) + kept[first:]
    if snippet.parameters.strip():
        params = next((c for c in nb.cells if c.cell_type == "code"
                       and "parameters" in c.get("metadata", {}).get("tags", [])), None)
        if params is None:
            raise ConfigurationError("the template has no cell tagged 'parameters'")
        params.source = params.source.rstrip("\n") + "\n" + snippet.parameters.strip("\n")
