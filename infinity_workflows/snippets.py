"""Notebook snippets: the cells a generator adds to the record notebooks made for it.

The Submit and Download templates know no generator. Each holds a block of cells tagged
``generator-snippet`` (a generic default: sample every parameter from the schema; list the
downloaded files) that a generator's :class:`NotebookSnippet` replaces, and a parameters
cell that the snippet's ``parameters`` lines extend, so papermill and ``rerun -p`` treat them
like any other parameter.

Cells are written in the percent format: ``# %%`` starts a code cell, ``# %% [markdown]`` a
markdown cell whose lines are comments (``# ## Title``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import nbformat

from .errors import ConfigurationError

__all__ = ["SNIPPET_TAG", "NotebookSnippet", "apply_snippet", "parse_cells"]

SNIPPET_TAG = "generator-snippet"
_MARKER = re.compile(r"^# %%(?:\s*\[(?P<kind>\w+)\])?\s*$")


@dataclass(frozen=True)
class NotebookSnippet:
    """Cells (percent format) and extra ``NAME = value  # comment`` parameter lines."""

    cells: str
    parameters: str = ""


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
