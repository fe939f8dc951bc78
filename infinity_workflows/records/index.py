"""Reading records: their lineage and parameters, the list of them with their batches, and
the live status of those batches (what ``infinity-workflows records`` shows)."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import nbformat

from ..errors import ConfigurationError, RecordError
from ..user_folders import RECORD_FOLDER_RE, default_records_dir
from .render import KINDS, METADATA_KEY, read_submissions

__all__ = [
    "RecordInfo",
    "batch_statuses",
    "list_records",
    "read_lineage",
    "read_parameters",
    "record_lineage",
]


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


def list_records(records_dir: Path | str | None = None) -> list[RecordInfo]:
    """Every record notebook under ``records_dir`` (default: the work folder's records),
    oldest folder first."""
    records_dir = Path(records_dir or default_records_dir())
    if not records_dir.is_dir():
        return []
    found: list[RecordInfo] = []
    for folder in sorted(p for p in records_dir.iterdir() if p.is_dir()):
        submissions = read_submissions(folder)
        for path in sorted(folder.glob("*.ipynb")):
            if path.name.startswith("."):
                continue  # being written, or a failed rerun's output: not a record
            try:
                lineage = record_lineage(path)
            except (ValueError, OSError):
                continue  # a notebook the user dropped in, or one being written
            batch_id = lineage.get("batch_id")
            batch_name = None
            if not batch_id:  # a Submit notebook: its batch lives in the sidecar
                mine = [s for s in submissions if s.get("notebook") == path.name]
                if mine:
                    batch_id, batch_name = mine[-1].get("batch_id"), mine[-1].get("batch_name")
            found.append(RecordInfo(
                folder=folder.name, notebook=path.name, kind=str(lineage.get("kind", "?")),
                created=str(lineage.get("created", "")),
                generator=str(lineage.get("generator") or ""),
                server=str(lineage.get("server") or ""), batch_id=batch_id,
                batch_name=batch_name, made_here=lineage["made_here"]))
    return found


def _status_text(summary: Mapping[str, Any]) -> str:
    jobs = summary.get("job_runs") or []
    counts: dict[str, int] = {}
    for job in jobs:
        status = str(job.get("status") or ("running" if job.get("in_progress") else "done"))
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
    """``NAME = <literal>`` lines of a parameters cell, as values (other lines are ignored)."""
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
            except ValueError:
                continue  # computed defaults are left to the notebook
    return values


def read_parameters(notebook: Path | str | nbformat.NotebookNode) -> dict[str, Any]:
    """The values a record ran with: its ``parameters`` cell overlaid by the injected one."""
    nb = notebook if isinstance(notebook, nbformat.NotebookNode) else nbformat.read(
        str(notebook), as_version=4)
    merged: dict[str, Any] = {}
    for tag in ("parameters", "injected-parameters"):
        for cell in nb.cells:
            if cell.cell_type == "code" and tag in cell.get("metadata", {}).get("tags", []):
                merged.update(_assignments(cell.source))
                break
    return merged


