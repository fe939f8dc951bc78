"""Rendering records: a template (package data) with a generator's cells and the
parameters injected by papermill, its lineage and summary, published without replacing
anything; the ``submissions.json`` sidecar that says which batch a Submit notebook made.

A record is a notebook in ``<records dir>/workflow_<stamp>/``: the Submit notebook the create
interface renders, and the Download notebook the Submit notebook renders beside itself once a
batch exists. Every record starts with a markdown summary of its parameters and origin, and
carries its lineage in ``metadata["infinity_workflows"]`` (kind, template, created, generator,
server, batch id, parent; ``rerun_of`` for a rerun of picked jobs). Templates are loaded
with :mod:`importlib.resources` and named in the lineage by their package-relative name;
the generator's cells for the kind (:mod:`infinity_workflows.snippets`) are put in before
rendering, and the record folder is
made only once the notebook rendered. A running notebook cannot safely rewrite its own file,
so the batch id a Submit notebook produces is recorded in the folder's sidecar first (before
anything else can fail), then in the Download notebook's lineage.

No token is ever written: templates resolve it at run time in the Session's usual order
(``INFINITY_API_TOKEN``, then the credentials file). Files appear atomically and never
replace one another: two records created in the same second get distinct names.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import nbformat

from ..errors import ConfigurationError, RecordError
from ..files import PendingFile, write_text_atomic
from ..trust import check_notebook_parameters
from ..user_folders import RECORD_FOLDER_RE, default_records_dir
from .snippets import apply_snippet

__all__ = [
    "KINDS",
    "METADATA_KEY",
    "SIDECAR",
    "create_workflow_notebook",
    "new_record_folder",
    "read_submissions",
    "complete_submission",
    "sidecar_unreadable",
    "record_submission",
    "render_download_notebook",
    "render_record",
    "stamp_for",
    "template_notebook",
]

KINDS: dict[str, str] = {"submit": "submit_batch", "download": "download_batch"}
METADATA_KEY = "infinity_workflows"
SIDECAR = "submissions.json"
SUMMARY_TAG = "record-summary"
TEMPLATES_PACKAGE = "infinity_workflows"
TEMPLATES_FOLDER = "notebooks"
RERUN_OF = "re-run of"  # how a record's summary names its parent
WRITTEN_BY = "written by"  # a Download record's parent is the Submit record that wrote it


def stamp_for(moment: datetime) -> str:
    """``2026_11_25_T_08_00_00``: sortable, and safe in file names on every OS."""
    return moment.strftime("%Y_%m_%d_T_%H_%M_%S")


def kind_prefix(kind: str) -> str:
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
    match = RECORD_FOLDER_RE.match(folder.name)
    return match.group(1) if match else stamp_for(datetime.now())


def publish_exclusive(nb: nbformat.NotebookNode, folder: Path, stem: str,
                      sign: bool = True) -> Path:
    """Write ``nb`` as ``<stem>.ipynb`` (or ``<stem>_2.ipynb``...) without replacing anything.

    Written to a temporary file first, then hard-linked into place: ``link`` fails when the
    name exists, so an existing record is never overwritten and no reader sees half a file.
    The file's mode follows the umask. When ``sign``, the record is signed as this user's
    (:mod:`.consent`), so ``rerun`` knows the toolkit wrote it.
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
            if sign:
                from .consent import sign_record

                sign_record(target)
            return target
        raise RecordError(f"too many notebooks named {stem}*.ipynb in {folder}")
    finally:
        pending.abort()


def _summary_markdown(lineage: Mapping[str, Any], parameters: Mapping[str, Any],
                      relation: str = RERUN_OF) -> str:
    title = {"submit": "Submit batch", "download": "Download batch"}[lineage["kind"]]
    lines = [
        f"# {title}: workflow record",
        "",
        f"Created {lineage['created']} from `{lineage['template']}`"
        + (f", {relation} `{lineage['parent']}`" if lineage.get("parent") else "") + ".",
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
    from ..generators import installed_generator

    name = f"{kind_prefix(kind)}.ipynb"
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


def build_record(kind: str, parameters: Mapping[str, Any], source: nbformat.NotebookNode,
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
    if parameters.get("RERUN_OF_BATCH"):  # a rerun of picked jobs (the curation gallery's)
        nb.metadata[METADATA_KEY]["rerun_of"] = {
            "batch_id": parameters["RERUN_OF_BATCH"],
            "job_ids": list(parameters.get("RERUN_JOB_IDS") or [])}
    return nb


def place_record(nb: nbformat.NotebookNode, parameters: Mapping[str, Any], folder: Path,
                 parent: Path | None, batch_id: str | None,
                 relation: str = RERUN_OF) -> nbformat.NotebookNode:
    """Finish the lineage for a record in ``folder`` and put the summary first; the
    summary names ``parent`` as what this record is (``relation``) of it."""
    lineage = nb.metadata[METADATA_KEY]
    lineage["parent"] = _relative(parent, folder)
    if batch_id is not None:
        lineage["batch_id"] = batch_id
    _set_summary(nb, _summary_markdown(lineage, parameters, relation))
    return nb


def render_record(kind: str, parameters: Mapping[str, Any], *, folder: Path, stamp: str,
                  template: Path | None = None, parent: Path | None = None,
                  batch_id: str | None = None, relation: str = RERUN_OF) -> Path:
    """Render the kind's template into ``folder`` as ``<prefix>_<stamp>.ipynb``."""
    nb = build_record(kind, parameters, *_source(kind, parameters, template))
    place_record(nb, parameters, folder, parent, batch_id, relation)
    return publish_exclusive(nb, folder, f"{kind_prefix(kind)}_{stamp}")


def create_workflow_notebook(kind: str, *, generator: str, server: str,
                             batch_id: str | None = None,
                             records_dir: Path | str | None = None,
                             extra_parameters: Mapping[str, Any] | None = None) -> Path:
    """A new record folder holding a fresh Submit or Download notebook; returns its path.

    The notebook is rendered before the folder is made, so a failure leaves no empty folder.
    """
    kind_prefix(kind)
    if kind == "download" and not batch_id:
        raise RecordError("a Download notebook needs a batch id: pick a batch or type its id")
    parameters: dict[str, Any] = {"GENERATOR": generator, "SERVER": server}
    if kind == "download":
        parameters["BATCH_ID"] = batch_id
    parameters.update(extra_parameters or {})
    nb = build_record(kind, parameters, *template_notebook(kind, generator))
    folder, stamp = new_record_folder(records_dir)
    place_record(nb, parameters, folder, None, None)
    return publish_exclusive(nb, folder, f"{kind_prefix(kind)}_{stamp}")


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
    return complete_submission(folder, batch_id=batch_id, generator=generator, server=server,
                               parent=parent_path)


def complete_submission(folder: Path, *, batch_id: str, generator: str, server: str,
                        parent: Path | None) -> Path:
    """Render the Download notebook of a submission already in ``folder``'s sidecar and
    name it there: the second half of :func:`render_download_notebook`, which ``rerun``
    also calls for a Submit record whose Download notebook was never written."""
    path = render_record(
        "download", {"GENERATOR": generator, "SERVER": server, "BATCH_ID": batch_id},
        folder=folder, stamp=_stamp_of_folder(folder), parent=parent, batch_id=batch_id,
        relation=WRITTEN_BY)
    _name_download_notebook(folder, batch_id, path.name)
    return path


_SIDECAR_TEXT_FIELDS = ("notebook", "batch_id", "batch_name", "download_notebook", "submitted")


def _sidecar_entries(folder: Path | str) -> list[dict[str, Any]] | None:
    """The sidecar's entries; [] when there is none; None when it is junk (not JSON, not
    ``{"submissions": [...]}``). Each entry keeps its known fields that are text or null:
    it is a file like any record, read as data, never trusted to have a shape."""
    path = Path(folder) / SIDECAR
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError, RecursionError):
        return None
    entries = data.get("submissions") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        return None
    return [{k: e.get(k) for k in _SIDECAR_TEXT_FIELDS
             if e.get(k) is None or isinstance(e.get(k), str)}
            for e in entries if isinstance(e, dict)]


def read_submissions(folder: Path | str) -> list[dict[str, Any]]:
    """The submissions recorded in ``folder``'s sidecar (none when it is missing or junk:
    a damaged sidecar must not hide the records around it)."""
    return _sidecar_entries(folder) or []


def sidecar_unreadable(folder: Path | str) -> bool:
    """True when ``folder`` has a sidecar that is not one (``records`` says so)."""
    return _sidecar_entries(folder) is None


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
    return write_submissions(folder, entries)


def _name_download_notebook(folder: Path, batch_id: str, name: str) -> None:
    """Complete the latest entry of ``batch_id`` that has no Download notebook yet."""
    entries = read_submissions(folder)
    for entry in reversed(entries):
        if entry.get("batch_id") == batch_id and not entry.get("download_notebook"):
            entry["download_notebook"] = name
            write_submissions(folder, entries)
            return


def write_submissions(folder: Path, entries: list[dict[str, Any]]) -> Path:
    return write_text_atomic(folder / SIDECAR,
                             json.dumps({"submissions": entries}, indent=2))


