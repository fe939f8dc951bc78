"""Driving notebooks headless: driver cells appended to a notebook click its buttons as a
user would and print what they saw as one ``DRIVER:`` JSON line, which the test reads back."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from papermill.iorw import load_notebook_node
from papermill.parameterize import parameterize_notebook

from infinity_workflows.records import read_parameters

__all__ = ["assert_no_token", "driver_cell", "driver_output", "execute", "outputs_of",
           "report", "with_parameters"]


def driver_cell(*parts: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("\n".join(textwrap.dedent(p).strip() for p in parts))
    cell.metadata["tags"] = ["test-driver"]
    return cell


def report(expr: str) -> str:
    """Driver code printing ``expr`` (a dict) as the DRIVER line."""
    return f"import json as _json\nprint('DRIVER:' + _json.dumps({expr}, default=str))"


# A cell whose reply never reaches the client (seen on a machine loaded several times over:
# the kernel idle, the client waiting) fails the test with a CellTimeoutError, well inside
# pytest's own 600 s limit, rather than hanging it until that limit.
CELL_TIMEOUT = 300


def execute(nb: nbformat.NotebookNode, cwd: Path, timeout: int = CELL_TIMEOUT
            ) -> nbformat.NotebookNode:
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


def driver_output(nb: nbformat.NotebookNode) -> dict[str, Any]:
    for cell in reversed(nb.cells):
        for out in cell.get("outputs", []):
            for line in out.get("text", "").splitlines():
                if line.startswith("DRIVER:"):
                    return json.loads(line.removeprefix("DRIVER:"))
    raise AssertionError("no DRIVER output in the executed notebook")


def outputs_of(nb: nbformat.NotebookNode, mime: str) -> int:
    return sum(1 for c in nb.cells for o in c.get("outputs", []) if mime in o.get("data", {}))


def with_parameters(path: Path, parameters: dict[str, Any]) -> nbformat.NotebookNode:
    """The notebook with its saved parameters plus ``parameters`` injected (as a rerun does)."""
    nb = load_notebook_node(str(path))  # papermill's reader adds the metadata it expects
    return parameterize_notebook(nb, {**read_parameters(nb), **parameters})


def assert_no_token(root: Path, token: str) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes(), f"token found in {path}"
