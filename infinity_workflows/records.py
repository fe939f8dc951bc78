"""Workflow records: notebooks rendered from templates, with their lineage, listed and re-run.

A record is a notebook in ``<records dir>/workflow_<stamp>/``: the Submit notebook the create
interface renders, and the Download notebook the Submit notebook renders beside itself once a
batch exists. Every record starts with a markdown summary of its parameters and origin, and
carries its lineage in ``metadata["infinity_workflows"]`` (kind, template, created, generator,
server, batch id, parent). Templates are package data, loaded with :mod:`importlib.resources`
and named in the lineage by their package-relative name; the generator's cells for the kind
(:mod:`infinity_workflows.snippets`) are put in before rendering. A running notebook cannot
safely rewrite its own file, so the batch id a Submit notebook produces is recorded in the
Download notebook's lineage and in the folder's ``submissions.json`` sidecar (first, before
anything else can fail); :func:`list_records` reads both.

No token is ever written: templates resolve it at run time in the Session's usual order
(``INFINITY_API_TOKEN``, then the credentials file). Files appear atomically and never
replace one another: two records created in the same second get distinct names.
"""

from __future__ import annotations

import ast
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import nbformat

from .errors import ConfigurationError, RecordError, RerunError
from .files import PendingFile, write_text_atomic
from .paths import RECORD_FOLDER_RE, default_records_dir
from .snippets import apply_snippet
from .trust import check_notebook_parameters

__all__ = [
    "KINDS",
    "METADATA_KEY",
    "SIDECAR",
    "RecordInfo",
    "RerunError",
    "batch_statuses",
    "create_workflow_notebook",
    "list_records",
    "new_record_folder",
    "read_lineage",
    "read_parameters",
    "read_submissions",
    "record_lineage",
    "record_submission",
    "render_download_notebook",
    "render_record",
    "rerun_record",
    "stamp_for",
    "template_notebook",
]

# kind -> file prefix and template name
KINDS: dict[str, str] = {"submit": "submit_batch", "download": "download_batch"}
METADATA_KEY = "infinity_workflows"
SIDECAR = "submissions.json"
SUMMARY_TAG = "record-summary"
TEMPLATES_PACKAGE = "infinity_workflows"
TEMPLATES_FOLDER = "notebooks"
_FOLDER_RE = RECORD_FOLDER_RE


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


def stamp_for(moment: datetime) -> str:
    """``2026_11_25_T_08_00_00``: sortable, and safe in file names on every OS."""
    return moment.strftime("%Y_%m_%d_T_%H_%M_%S")


def _kind_prefix(kind: str) -> str:
    try:
        return KINDS[kind]
    except KeyError:
        raise RecordError(f"workflow kind {kind!r} is not one of {sorted(KINDS)}") from None


def new_record_folder(records_dir: Path | str | None = None,
                      now: datetime | None = None) -> tuple[Path, str]:
    """Create ``workflow_<stamp>`` (``_2``, ``_3``... on a clash); returns (folder, stamp).

    ``mkdir(exist_ok=False)`` is the lock: two clicks in the same second, or two processes,
    can never end up sharing (and overwriting) one folder.
    """
    records_dir = Path(records_dir or default_records_dir())
    records_dir.mkdir(parents=True, exist_ok=True)
    base = stamp_for(now or datetime.now())
    for n in range(1, 10_000):
        stamp = base if n == 1 else f"{base}_{n}"
        folder = records_dir / f"workflow_{stamp}"
        try:
            folder.mkdir(exist_ok=False)
        except FileExistsError:
            continue
        return folder, stamp
    raise RecordError(f"could not create a new record folder in {records_dir}: 10,000 "
                      "already exist for this second")


def _stamp_of_folder(folder: Path) -> str:
    match = _FOLDER_RE.match(folder.name)
    return match.group(1) if match else stamp_for(datetime.now())


def _publish_exclusive(nb: nbformat.NotebookNode, folder: Path, stem: str) -> Path:
    """Write ``nb`` as ``<stem>.ipynb`` (or ``<stem>_2.ipynb``...) without replacing anything.

    Written to a temporary file first, then hard-linked into place: ``link`` fails when the
    name exists, so an existing record is never overwritten and no reader sees half a file.
    """
    pending = PendingFile(folder / f"{stem}.ipynb")
    try:
        with open(pending.tmp, "w", encoding="utf-8") as fh:
            nbformat.write(nb, fh)
        for n in range(1, 10_000):
            target = folder / (f"{stem}.ipynb" if n == 1 else f"{stem}_{n}.ipynb")
            try:
                os.link(pending.tmp, target)
            except FileExistsError:
                continue
            return target
        raise RecordError(f"too many notebooks named {stem}*.ipynb in {folder}")
    finally:
        pending.abort()


def _summary_markdown(lineage: Mapping[str, Any], parameters: Mapping[str, Any]) -> str:
    title = {"submit": "Submit batch", "download": "Download batch"}[lineage["kind"]]
    lines = [
        f"# {title}: workflow record",
        "",
        f"Created {lineage['created']} from `{lineage['template']}`"
        + (f", re-run of `{lineage['parent']}`" if lineage.get("parent") else "") + ".",
        "",
        "| parameter | value |",
        "|---|---|",
    ]
    lines += [f"| `{name}` | `{value!r}` |" for name, value in parameters.items()]
    lines += [
        "",
        "The API token is not stored here: the notebook reads it from `INFINITY_API_TOKEN` "
        "or the credentials file when it runs.",
    ]
    return "\n".join(lines)


def _set_summary(nb: nbformat.NotebookNode, markdown: str) -> None:
    """Put the summary cell first, replacing the one a re-run record inherited."""
    nb.cells = [c for c in nb.cells if SUMMARY_TAG not in c.get("metadata", {}).get("tags", [])]
    cell = nbformat.v4.new_markdown_cell(markdown)
    cell.metadata["tags"] = [SUMMARY_TAG]
    nb.cells.insert(0, cell)


def _relative(path: Path | None, start: Path) -> str | None:
    if path is None:
        return None
    try:
        return os.path.relpath(Path(path).resolve(), start.resolve())
    except ValueError:  # another drive on Windows
        return str(path)


def template_notebook(kind: str, generator: str | None = None
                      ) -> tuple[nbformat.NotebookNode, str]:
    """The kind's packaged template, with ``generator``'s snippet for it when that generator
    is installed here, and the template's package-relative name (for lineage)."""
    from .generators import installed_generator

    name = f"{_kind_prefix(kind)}.ipynb"
    resource = resources.files(TEMPLATES_PACKAGE).joinpath(TEMPLATES_FOLDER, name)
    try:
        nb = nbformat.reads(resource.read_text(encoding="utf-8"), as_version=4)
    except FileNotFoundError:
        raise ConfigurationError(f"the {kind} template {name} is missing from this "
                                 "installation of infinity-workflows; reinstall it") from None
    plugin = installed_generator(generator) if generator else None
    snippet = plugin.notebook_snippets.get(kind) if plugin is not None else None
    if snippet is not None:
        apply_snippet(nb, snippet)
    return nb, f"{TEMPLATES_PACKAGE}/{TEMPLATES_FOLDER}/{name}"


def _prepare(source: nbformat.NotebookNode, source_name: str,
             parameters: Mapping[str, Any]) -> nbformat.NotebookNode:
    """The notebook with ``parameters`` injected by papermill, not executed."""
    import papermill

    # papermill writes values it does not know (a tuple, say) into the cell unescaped.
    check_notebook_parameters(parameters)
    nb = papermill.execute_notebook(source, None, parameters=dict(parameters),
                                    prepare_only=True, progress_bar=False)
    nb.metadata.papermill["input_path"] = source_name
    nb.metadata.papermill.pop("output_path", None)
    return nb


def _source(kind: str, parameters: Mapping[str, Any], template: Path | None
            ) -> tuple[nbformat.NotebookNode, str]:
    """The notebook a new record starts from and its name: the kind's packaged template, or
    the notebook ``template`` (named relative to the working folder)."""
    if template is None:
        return template_notebook(kind, parameters.get("GENERATOR"))
    template = Path(template)
    if not template.is_file():
        raise RecordError(f"template {template} does not exist")
    return nbformat.read(str(template), as_version=4), _relative(template, Path.cwd())


def _build_record(kind: str, parameters: Mapping[str, Any], source: nbformat.NotebookNode,
                  template_name: str) -> nbformat.NotebookNode:
    """``source`` with parameters injected, and lineage without its folder-relative parts."""
    nb = _prepare(source, template_name, parameters)
    nb.metadata[METADATA_KEY] = {
        "kind": kind,
        "template": template_name,
        "created": datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds"),
        "generator": parameters.get("GENERATOR"),
        "server": parameters.get("SERVER"),
        "batch_id": parameters.get("BATCH_ID") or None,
        "parent": None,
    }
    return nb


def _place(nb: nbformat.NotebookNode, parameters: Mapping[str, Any], folder: Path,
           parent: Path | None, batch_id: str | None) -> nbformat.NotebookNode:
    """Finish the lineage for a record in ``folder`` and put the summary first."""
    lineage = nb.metadata[METADATA_KEY]
    lineage["parent"] = _relative(parent, folder)
    if batch_id is not None:
        lineage["batch_id"] = batch_id
    _set_summary(nb, _summary_markdown(lineage, parameters))
    return nb


def render_record(kind: str, parameters: Mapping[str, Any], *, folder: Path, stamp: str,
                  template: Path | None = None, parent: Path | None = None,
                  batch_id: str | None = None) -> Path:
    """Render the kind's template into ``folder`` as ``<prefix>_<stamp>.ipynb``."""
    nb = _build_record(kind, parameters, *_source(kind, parameters, template))
    _place(nb, parameters, folder, parent, batch_id)
    return _publish_exclusive(nb, folder, f"{_kind_prefix(kind)}_{stamp}")


def create_workflow_notebook(kind: str, *, generator: str, server: str,
                             batch_id: str | None = None,
                             records_dir: Path | str | None = None,
                             extra_parameters: Mapping[str, Any] | None = None) -> Path:
    """A new record folder holding a fresh Submit or Download notebook; returns its path.

    The notebook is rendered before the folder is made, so a failure leaves no empty folder.
    """
    _kind_prefix(kind)
    if kind == "download" and not batch_id:
        raise RecordError("a Download notebook needs a batch id: pick a batch or type its id")
    parameters: dict[str, Any] = {"GENERATOR": generator, "SERVER": server}
    if kind == "download":
        parameters["BATCH_ID"] = batch_id
    parameters.update(extra_parameters or {})
    nb = _build_record(kind, parameters, *template_notebook(kind, generator))
    folder, stamp = new_record_folder(records_dir)
    _place(nb, parameters, folder, None, None)
    return _publish_exclusive(nb, folder, f"{_kind_prefix(kind)}_{stamp}")


def render_download_notebook(*, batch_id: str, batch_name: str | None, generator: str,
                             server: str, folder: Path | str,
                             parent: Path | str | None = None) -> Path:
    """The Download notebook for a just-submitted batch, beside the notebook that submitted it.

    The submission is recorded in the folder's sidecar first, so ``records`` knows the Submit
    notebook's batch (whose own file is never rewritten) even if rendering then fails; the
    sidecar entry names the Download notebook once it exists.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    parent_path = Path(parent) if parent else None
    notebook = parent_path.name if parent_path else None
    record_submission(folder, notebook=notebook, batch_id=batch_id, batch_name=batch_name,
                      download_notebook=None)
    path = render_record(
        "download", {"GENERATOR": generator, "SERVER": server, "BATCH_ID": batch_id},
        folder=folder, stamp=_stamp_of_folder(folder), parent=parent_path, batch_id=batch_id)
    _name_download_notebook(folder, batch_id, path.name)
    return path


def read_submissions(folder: Path | str) -> list[dict[str, Any]]:
    path = Path(folder) / SIDECAR
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return []
    except (OSError, ValueError):
        return []  # a damaged sidecar must not hide the records around it
    return [s for s in data.get("submissions", []) if isinstance(s, dict)]


def record_submission(folder: Path | str, *, notebook: str | None, batch_id: str,
                      batch_name: str | None, download_notebook: str | None) -> Path:
    """Append one submission to ``submissions.json`` (rewritten atomically)."""
    folder = Path(folder)
    entries = read_submissions(folder)
    entries.append({
        "notebook": notebook, "batch_id": batch_id, "batch_name": batch_name,
        "download_notebook": download_notebook,
        "submitted": datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds"),
    })
    return _write_submissions(folder, entries)


def _name_download_notebook(folder: Path, batch_id: str, name: str) -> None:
    """Complete the latest entry of ``batch_id`` that has no Download notebook yet."""
    entries = read_submissions(folder)
    for entry in reversed(entries):
        if entry.get("batch_id") == batch_id and not entry.get("download_notebook"):
            entry["download_notebook"] = name
            _write_submissions(folder, entries)
            return


def _write_submissions(folder: Path, entries: list[dict[str, Any]]) -> Path:
    return write_text_atomic(folder / SIDECAR,
                             json.dumps({"submissions": entries}, indent=2))


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
    match = _FOLDER_RE.match(Path(notebook).parent.name)
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
    from . import api
    from .credentials import resolve_token
    from .errors import (
        AuthenticationError,
        InfinityError,
        NotFoundError,
        ServerUnreachable,
    )

    statuses: dict[str, str] = {}
    transports: dict[str, api.Transport | str] = {}
    try:
        for record in found:
            if not record.batch_id or record.batch_id in statuses:
                continue
            server = record.server
            if server not in transports:
                try:
                    transports[server] = api.Transport(
                        server, resolve_token(None, server), timeout=(timeout, timeout),
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


# -- parameters and re-runs ---------------------------------------------------------------
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


def rerun_record(record: Path | str, overrides: Mapping[str, Any] | None = None, *,
                 records_dir: Path | str | None = None, kernel_name: str | None = None,
                 execution_timeout: float | None = 1800) -> Path:
    """Execute a saved record headless into a new record folder; returns the new notebook.

    papermill replaces the injected-parameters cell wholesale, so the saved values are read
    back first and merged with ``overrides``; the full set is injected. The kernel's working
    directory is the new folder, so a Submit notebook's Download notebook lands beside it.
    Raises :class:`RerunError` when the run fails (a cell error, a missing or dead kernel):
    nothing is then listed as a record; what ran is kept under a hidden ``.failed-`` name.
    """
    record = Path(record).resolve()
    lineage = record_lineage(record)
    kind = str(lineage.get("kind"))
    saved = read_parameters(record)
    if not lineage["made_here"] and "TOKEN" in saved:
        # Infinity's toolkit wrote the token into its records; ours never carry one. The
        # new record's Session finds it in INFINITY_API_TOKEN or the credentials file.
        saved["TOKEN"] = None
    overrides = dict(overrides or {})
    if "TOKEN" in overrides:
        raise RecordError("a token is never written into a record: set INFINITY_API_TOKEN (or "
                          "save it with the create notebook) instead of -p TOKEN")
    unknown = sorted(set(overrides) - set(saved))
    if unknown:
        raise RecordError(f"{record.name} has no parameter {', '.join(unknown)}; its "
                          f"parameters are: {', '.join(sorted(saved))}")
    parameters = {**saved, **overrides}
    if records_dir is None:
        records_dir = (record.parent.parent if _FOLDER_RE.match(record.parent.name)
                       else default_records_dir())
    # A record made elsewhere is its own template.
    template = (str(lineage.get("template") or template_notebook(kind)[1])
                if lineage["made_here"] else record.name)
    nb = _build_record(kind, parameters, nbformat.read(str(record), as_version=4), template)
    folder, stamp = new_record_folder(records_dir)
    try:
        _place(nb, parameters, folder, record, None)
        return _execute_rerun(nb, record, folder, f"{_kind_prefix(kind)}_{stamp}",
                              kernel_name, execution_timeout)
    finally:
        # A rerun that never produced a record leaves no folder behind to be listed.
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


def _execute_rerun(nb: nbformat.NotebookNode, record: Path, folder: Path, stem: str,
                   kernel_name: str | None, execution_timeout: float | None) -> Path:
    """Run ``nb`` in ``folder``: the record on success; on any failure RerunError, with
    whatever ran kept under a hidden name that ``records`` does not list."""
    import papermill  # slow to import: only once the request is known to be good

    # Hidden names while running: `records` and JupyterLab's file browser skip dot-files.
    prepared = folder / ".rerun-input.ipynb"
    partial = folder / ".rerun-output.ipynb"
    nbformat.write(nb, str(prepared))
    failure: Exception | None = None
    try:
        papermill.execute_notebook(
            str(prepared), str(partial), kernel_name=kernel_name, cwd=str(folder),
            progress_bar=False, execution_timeout=execution_timeout)
    except Exception as exc:  # noqa: BLE001 - a cell error, a missing or dead kernel alike
        failure = exc
    finally:
        prepared.unlink(missing_ok=True)
    reason = _one_line(failure)
    if not partial.exists():  # the kernel never started: nothing to keep
        raise RerunError(f"re-running {record.name} failed before any cell ran: {reason}",
                         None) from failure
    done = nbformat.read(str(partial), as_version=4)
    done.metadata.papermill["input_path"] = str(record)
    done.metadata.papermill.pop("output_path", None)
    final = _publish_exclusive(done, folder, stem if failure is None else f".failed-{stem}")
    partial.unlink()
    if failure is not None:
        raise RerunError(f"re-running {record.name} failed ({reason}); what ran is kept, not "
                         f"listed as a record, in {final}", final) from failure
    _claim_submissions(folder, final.name)
    return final


def _one_line(exc: BaseException | None) -> str:
    """An error as one line: a cell's exception name and value, or the error's first line."""
    if exc is None:
        return ""
    ename, evalue = getattr(exc, "ename", None), getattr(exc, "evalue", None)
    text = f"{ename}: {evalue}" if ename else (str(exc).strip().splitlines() or [""])[0]
    return text or type(exc).__name__


def _claim_submissions(folder: Path, notebook: str) -> None:
    """A re-run Submit notebook ran under a hidden name: name it in the sidecar."""
    entries = read_submissions(folder)
    if not any(e.get("notebook") is None for e in entries):
        return
    _write_submissions(folder, [{**e, "notebook": e.get("notebook") or notebook}
                                for e in entries])
