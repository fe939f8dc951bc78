"""Notebook snippets: the cells a generator adds to the record notebooks made for it.

The Submit and Download templates know no generator. Each holds a block of cells tagged
``generator-snippet`` (a generic default: sample every parameter from the schema; list the
downloaded files) that a generator's :class:`NotebookSnippet` replaces, and a parameters
cell that the snippet's ``parameters`` lines extend, so papermill and ``rerun -p`` treat them
like any other parameter.

Cells are written in the percent format: ``# %%`` starts a code cell, ``# %% [markdown]`` a
markdown cell whose lines are comments (``# ## Title``).

A snippet is plain data (two strings), so loading a generator plug-in costs nothing of the
notebook machinery: the cells are parsed and placed only when a record is rendered
(:mod:`infinity_workflows.records.snippets`).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SNIPPET_TAG", "NotebookSnippet"]

SNIPPET_TAG = "generator-snippet"


@dataclass(frozen=True)
class NotebookSnippet:
    """Cells (percent format) and extra ``NAME = value  # comment`` parameter lines."""

    cells: str
    parameters: str = ""
