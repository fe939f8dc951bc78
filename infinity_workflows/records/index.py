"""Reading records: their lineage and parameters, the list of them with their batches, and
the live status of those batches (what ``infinity-workflows records`` shows)."""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import nbformat

from ..errors import ConfigurationError, RecordError
from ..user_folders import RECORD_FOLDER_RE, default_records_dir
from .render import KINDS, METADATA_KEY, SIDECAR, read_submissions

__all__ = [
    "UNREADABLE",
    "RecordInfo",
    "batch_statuses",
    "list_records",
    "read_lineage",
    "read_parameters",
    "record_batch_id",
    "record_lineage",
]


_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


@dataclass(frozen=True)
class RecordInfo:
    """One record notebook as :func:`list_records` sees it."""

    folder: str
    notebook: str
    kind: str
    created: str
    generator: str
    server: str
    batch_id: str | None
    batch_name: str | None = None
    made_here: bool = True  # False: a notebook Infinity's own toolkit rendered (no lineage)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_lineage(notebook: Path | str | nbformat.NotebookNode) -> dict[str, Any]:
    nb = notebook if isinstance(notebook, nbformat.NotebookNode) else nbformat.read(
        str(notebook), as_version=4)
    lineage = nb.metadata.get(METADATA_KEY)
    if not isinstance(lineage, Mapping):
        raise RecordError(f"{notebook} is not a workflow record (no {METADATA_KEY} metadata)")
    return dict(lineage)


def record_lineage(notebook: Path | str) -> dict[str, Any]:
    """The lineage of a record; for one Infinity's toolkit rendered (same folder and file
    names, no lineage metadata) what its name and injected parameters tell, with
    ``made_here`` False. RecordError for a notebook that is neither."""
    try:
        return {**read_lineage(notebook), "made_here": True}
    except ValueError:
        name = Path(notebook).name
        kind = next((k for k, prefix in KINDS.items() if name.startswith(prefix + "_")), None)
        if kind is None:
            raise RecordError(f"{notebook} is not a workflow record: it has no {METADATA_KEY} "
                              "metadata and its name does not start with "
                              + " or ".join(f"{p}_" for p in KINDS.values())) from None
    params = read_parameters(notebook)
    text = {k: v if isinstance(v, str) and v else None
            for k, v in ((k, params.get(k)) for k in ("GENERATOR", "SERVER", "BATCH_ID"))}
    match = RECORD_FOLDER_RE.match(Path(notebook).parent.name)
    return {"kind": kind, "template": None, "created": match.group(1) if match else "",
            "generator": text["GENERATOR"], "server": text["SERVER"],
            "batch_id": text["BATCH_ID"], "parent": None, "made_here": False}


UNREADABLE = "unreadable record"


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _record_info(path: Path, submissions: list[dict[str, Any]]) -> RecordInfo:
    """One notebook as a listing row; RecordError when it is not a record, any other error
    when it is junk."""
    lineage = record_lineage(path)
    batch_id = lineage.get("batch_id")
    if batch_id is not None and not isinstance(batch_id, str):
        raise TypeError("its batch id is not text")
    batch_name = None
    if not batch_id:  # a Submit notebook: its batch lives in the sidecar
        mine = [s for s in submissions if s.get("notebook") == path.name]
        if mine:
            batch_id, batch_name = mine[-1].get("batch_id"), mine[-1].get("batch_name")
    return RecordInfo(
        folder=path.parent.name, notebook=path.name, kind=_text(lineage.get("kind")) or "?",
        created=_text(lineage.get("created")), generator=_text(lineage.get("generator")),
        server=_text(lineage.get("server")), batch_id=batch_id or None,
        batch_name=batch_name, made_here=bool(lineage.get("made_here")))


def _unreadable(folder: Path, name: str) -> RecordInfo:
    return RecordInfo(folder=folder.name, notebook=name, kind=UNREADABLE, created="",
                      generator="", server="", batch_id=None)


def _named_as_record(name: str) -> bool:
    return any(name.startswith(prefix + "_") for prefix in KINDS.values())


def list_records(records_dir: Path | str | None = None) -> list[RecordInfo]:
    """Every record notebook under ``records_dir`` (default: the work folder's records),
    oldest folder first. A file that should be a record (a record's name, or the sidecar)
    but is junk is one row of kind ``unreadable record``, never an exception."""
    from .render import sidecar_unreadable

    records_dir = Path(records_dir or default_records_dir())
    if not records_dir.is_dir():
        return []
    found: list[RecordInfo] = []
    for folder in sorted(p for p in records_dir.iterdir() if p.is_dir()):
        submissions = read_submissions(folder)
        if sidecar_unreadable(folder):
            found.append(_unreadable(folder, SIDECAR))
        for path in sorted(folder.glob("*.ipynb")):
            if path.name.startswith("."):
                continue  # being written, or a failed rerun's output: not a record
            try:
                found.append(_record_info(path, submissions))
            except RecordError:
                continue  # a notebook the user dropped in
            except Exception:  # noqa: BLE001 - junk in a file is data, not a crash
                if _named_as_record(path.name):
                    found.append(_unreadable(folder, path.name))
    return found


def _status_text(summary: object) -> str:
    """A batch summary as ``complete 3/3 (3 succeeded)``; a server's answer is data, so one
    that is not the summary's shape is ``unreadable summary``, never an exception."""
    jobs = summary.get("job_runs") if isinstance(summary, Mapping) else None
    if not isinstance(jobs, list) or not all(isinstance(j, Mapping) for j in jobs):
        return "unreadable summary"
    counts: dict[str, int] = {}
    for job in jobs:
        status = job.get("status")
        status = status if isinstance(status, str) and status else (
            "running" if job.get("in_progress") else "done")
        counts[status] = counts.get(status, 0) + 1
    finished = sum(1 for j in jobs if not j.get("in_progress"))
    detail = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    state = "complete" if finished == len(jobs) else "in progress"
    return f"{state} {finished}/{len(jobs)} ({detail})"


def batch_statuses(found: list[RecordInfo], timeout: float = 5.0) -> dict[str, str]:
    """Live status of each record's batch, by batch id: ``complete 3/3 (3 succeeded)``.

    One request per batch with a short timeout and no retries; a server that does not
    answer gives ``unreachable``, a missing token ``no token``, an unknown batch ``not
    found``, so a listing never hangs or fails because one server is down.
    """
    from .. import api
    from ..errors import (
        AuthenticationError,
        InfinityError,
        NotFoundError,
        ServerUnreachable,
    )
    from ..transport import open_transport

    statuses: dict[str, str] = {}
    transports: dict[str, api.Transport | str] = {}
    try:
        for record in found:
            if not record.batch_id or record.batch_id in statuses:
                continue
            if not _UUID.fullmatch(record.batch_id):  # a record is data: never a path part
                statuses[record.batch_id] = "not a batch id"
                continue
            server = record.server
            if server not in transports:
                try:
                    transports[server] = open_transport(server, timeout=(timeout, timeout),
                                                        retries=0)
                except ConfigurationError:
                    transports[server] = "no token"
            transport = transports[server]
            if isinstance(transport, str):
                statuses[record.batch_id] = transport
                continue
            try:
                summary = api.get_batch_summary(transport, record.batch_id)
                statuses[record.batch_id] = _status_text(summary)
            except ServerUnreachable:
                statuses[record.batch_id] = "unreachable"
                transports[server] = "unreachable"  # do not wait on it again
            except AuthenticationError:
                statuses[record.batch_id] = "token refused"
            except NotFoundError:
                statuses[record.batch_id] = "not found"
            except InfinityError as exc:
                statuses[record.batch_id] = f"error: {type(exc).__name__}"
    finally:
        for transport in transports.values():
            if not isinstance(transport, str):
                transport.close()
    return statuses



def _assignments(source: str) -> dict[str, Any]:
    """``NAME = <literal>`` lines of a parameters cell, as values (other lines are ignored:
    what a listing needs; a rerun reads with :func:`.consent.literal_assignments`)."""
    values: dict[str, Any] = {}
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise RecordError(f"the parameters cell is not valid Python: {exc}") from exc
    for node in tree.body:
        target = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        if isinstance(target, ast.Name):
            try:
                values[target.id] = ast.literal_eval(value)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                continue  # computed defaults are left to the notebook
    return values


def read_parameters(notebook: Path | str | nbformat.NotebookNode,
                    strict: bool = False) -> dict[str, Any]:
    """The values a record ran with: its ``parameters`` cell overlaid by the injected one
    (the first cell of each tag, as papermill finds them). ``strict``: a parameter whose
    value is not a literal is refused (RecordError), not skipped, since it would run."""
    from .consent import literal_assignments

    nb = notebook if isinstance(notebook, nbformat.NotebookNode) else nbformat.read(
        str(notebook), as_version=4)
    merged: dict[str, Any] = {}
    for tag in ("parameters", "injected-parameters"):
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "code" and tag in cell.get("metadata", {}).get("tags", []):
                # The template's cell may hold code beside its values (Infinity's imports);
                # that code runs only once the record is accepted (consent.check_runnable).
                # The injected cell is papermill's: values only.
                merged.update(literal_assignments(cell.source, f"cell {index + 1} ({tag})",
                                                  statements=tag == "parameters")
                              if strict else _assignments(cell.source))
                break
    return merged


def record_batch_id(notebook: Path | str) -> str | None:
    """The batch a record is about: its lineage's, else (a Submit record) the last one the
    sidecar says it submitted; None when it names none."""
    notebook = Path(notebook)
    batch_id = read_lineage(notebook).get("batch_id")
    if isinstance(batch_id, str) and batch_id:
        return batch_id
    mine = [s for s in read_submissions(notebook.parent) if s.get("notebook") == notebook.name]
    return mine[-1].get("batch_id") if mine else None
