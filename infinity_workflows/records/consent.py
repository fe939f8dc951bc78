"""Whether a record's code may run: ``rerun`` executes only code the user wrote or accepted.

A record is a file, and files travel: a mailed or downloaded record could hold any code.
Jupyter already has a convention for "this notebook is mine": its notary signs a notebook
with a secret in the user's Jupyter data folder (JupyterLab signs on every save of a notebook
the user ran or edited, ``jupyter trust FILE`` signs one by hand). So a record runs when

* its code cells are its template's (the packaged template its lineage names, with its
  generator's cells), in order, some perhaps deleted: the toolkit wrote that code; or
* the notary trusts it: the user saved it in JupyterLab, or said ``jupyter trust``; or
* the user says so for this run (``rerun --trust``).

Anything else is refused naming its first foreign cell. The records the toolkit writes are
signed (:func:`sign_record`), so a record stays runnable until someone else edits it. A
parameter's value is never code, trusted or not (:func:`literal_assignments`).
"""

from __future__ import annotations

import ast
import base64
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nbformat

from ..errors import RecordError

__all__ = ["check_runnable", "literal_assignments", "sign_record", "signed"]

log = logging.getLogger(__name__)

PARAMETER_TAGS = ("parameters", "injected-parameters")
_SHOWN = 60


SECRET_NAME = "notebook_secret"  # where Jupyter's notary keeps the user's signing key


def _secret(data_dir: Path) -> Path:
    """The notary's secret, made first when missing: the Jupyter data folder 0700 and the
    secret 0600 from its first byte (created exclusively, no link followed). Jupyter's own
    notary would write it readable by others for a moment, and fails without the folder."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    secret = data_dir / SECRET_NAME
    try:
        fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                     | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except FileExistsError:
        return secret
    with os.fdopen(fd, "wb") as fh:
        fh.write(base64.encodebytes(os.urandom(1024)))  # the form Jupyter writes
    return secret


@contextmanager
def _notary() -> Iterator[Any]:
    """This user's notary: the secret and the signature store in the Jupyter data folder
    (``jupyter trust`` and JupyterLab use the same), closed after use."""
    from jupyter_core.paths import jupyter_data_dir
    from nbformat.sign import NotebookNotary  # its import pulls in jupyter_core's app

    data_dir = Path(jupyter_data_dir())
    notary = NotebookNotary(data_dir=str(data_dir), secret_file=str(_secret(data_dir)))
    try:
        yield notary
    finally:
        close = getattr(notary, "close", None) or getattr(notary.store, "close", None)
        if close is not None:
            close()


def sign_record(path: Path | str) -> None:
    """Sign the record at ``path`` as this user's, as ``jupyter trust`` would. Signing is a
    convenience: a record that cannot be signed (no writable Jupyter data folder) is still
    written, and still runs while its code is its template's."""
    try:
        nb = nbformat.read(str(path), as_version=4)
        with _notary() as notary:
            notary.sign(nb)
    except Exception as exc:  # noqa: BLE001 - any failure of the signature store alike
        log.warning("could not sign %s as yours (%s); `jupyter trust %s` signs it",
                    path, exc, path)


def signed(nb: nbformat.NotebookNode) -> bool:
    """True when this user's Jupyter notary trusts ``nb`` (its signature is on record)."""
    try:
        with _notary() as notary:
            return bool(notary.check_signature(nb))
    except Exception:  # noqa: BLE001 - no readable store means no signature
        return False


def literal_assignments(source: str, where: str, statements: bool = False) -> dict[str, Any]:
    """A parameters cell's values: every ``NAME = value`` must have a literal value.

    A computed value (a call, ``JOB = (f(), 0)[1]``) is refused, never skipped: papermill
    would run the cell as it stands, and the value could not be handed on as data. Other
    statements (an import, ``pd.options.x = 1``) are code, not parameters: refused unless
    ``statements`` (a cell that runs only once the record's code is accepted as a whole).
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise RecordError(f"{where} is not valid Python: {exc.msg} (line {exc.lineno})"
                          ) from None
    values: dict[str, Any] = {}
    for node in tree.body:
        target = value = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        line = _shown(ast.get_source_segment(source, node) or "")
        if not isinstance(target, ast.Name) or value is None:
            if statements:
                continue
            raise RecordError(f"{where}, line {node.lineno}: `{line}` is not `NAME = value`; "
                              "this cell holds plain values only")
        try:
            values[target.id] = ast.literal_eval(value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            raise RecordError(f"{where}, line {node.lineno}: {target.id} is not a plain value "
                              f"(`{line}`); a parameter must be a literal such as 3, 'text', "
                              "[1, 2] or None") from None
    return values


def _shown(source: str) -> str:
    text = " ".join(source.split())
    return text if len(text) <= _SHOWN else text[:_SHOWN - 1] + "…"


def _first_tagged(nb: nbformat.NotebookNode, tag: str) -> int | None:
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and tag in cell.get("metadata", {}).get("tags", []):
            return index
    return None


def _checked_code(nb: nbformat.NotebookNode) -> list[tuple[int, str]]:
    """(index, source) of every code cell papermill would run as it stands: all but the
    first injected-parameters cell, which a rerun replaces."""
    replaced = _first_tagged(nb, "injected-parameters")
    return [(i, c.source) for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and i != replaced]


def first_foreign_cell(nb: nbformat.NotebookNode, template: nbformat.NotebookNode
                       ) -> tuple[int, str] | None:
    """The first code cell of ``nb`` that is not the template's next one, or None when the
    record's code is the template's in order (a deleted cell adds no code)."""
    expected = [source.strip() for _, source in _checked_code(template)]
    at = 0
    for index, source in _checked_code(nb):
        text = source.strip()
        while at < len(expected) and expected[at] != text:
            at += 1
        if at == len(expected):
            return index, source
        at += 1
    return None


def check_runnable(record: Path, nb: nbformat.NotebookNode,
                   template: nbformat.NotebookNode | None, trust: bool = False) -> str:
    """Why ``record`` (read as ``nb``) may run: "template" (its code is ``template``'s, the
    packaged template its lineage names, None when it names none), "signed" or "trusted"
    (``trust``); RecordError naming its first foreign cell and how to accept it otherwise."""
    if trust:
        return "trusted"
    foreign = first_foreign_cell(nb, template) if template is not None else None
    if template is not None and foreign is None:
        return "template"
    if signed(nb):
        return "signed"
    if foreign is None:  # nothing to compare with: the first code cell is the one to judge
        foreign = next(iter(_checked_code(nb)), (0, ""))
        why = "it is not from a packaged template and not signed as yours"
    else:
        why = "its template has no such cell and the notebook is not signed as yours"
    index, source = foreign
    raise RecordError(
        f"{record.name} was not run: cell {index + 1} (`{_shown(source)}`) is not code you "
        f"wrote or accepted ({why}); if you trust it, run `jupyter trust {record}` or "
        "`infinity-workflows rerun --trust`")
