"""Re-running a record headless into a new record folder (``infinity-workflows rerun``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import nbformat

from ..errors import RecordError, RerunError
from ..trust import checked_id
from ..user_folders import RECORD_FOLDER_RE, default_records_dir
from .index import read_parameters, record_lineage
from .render import (
    SIDECAR,
    build_record,
    complete_submission,
    kind_prefix,
    new_record_folder,
    place_record,
    publish_exclusive,
    read_submissions,
    template_notebook,
    write_submissions,
)

__all__ = ["rerun_record"]


def rerun_record(record: Path | str, overrides: Mapping[str, Any] | None = None, *,
                 records_dir: Path | str | None = None, kernel_name: str | None = None,
                 execution_timeout: float | None = 1800) -> Path:
    """Execute a saved record headless into a new record folder; returns the new notebook.

    papermill replaces the injected-parameters cell wholesale, so the saved values are read
    back first and merged with ``overrides``; the full set is injected. The kernel's working
    directory is the new folder, so a Submit notebook's Download notebook lands beside it.
    Raises :class:`RerunError` when the run fails (a cell error, a missing or dead kernel):
    nothing is then listed as a record; what ran is kept under a hidden ``.failed-`` name.

    A Submit record whose batch was submitted but whose Download notebook was never written
    (the sidecar names the batch and no Download notebook) is completed instead, when no
    ``overrides`` are given: its Download notebook is rendered beside it and returned, and
    nothing is submitted again.
    """
    record = Path(record).resolve()
    lineage = record_lineage(record)
    kind = str(lineage.get("kind"))
    unfinished = _unfinished_submission(record) if kind == "submit" and not overrides else None
    if unfinished is not None:
        return complete_submission(
            record.parent, batch_id=unfinished, generator=str(lineage.get("generator") or ""),
            server=str(lineage.get("server") or ""), parent=record)
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
        records_dir = (record.parent.parent if RECORD_FOLDER_RE.match(record.parent.name)
                       else default_records_dir())
    # A record made elsewhere is its own template.
    template = (str(lineage.get("template") or template_notebook(kind)[1])
                if lineage["made_here"] else record.name)
    nb = build_record(kind, parameters, nbformat.read(str(record), as_version=4), template)
    folder, stamp = new_record_folder(records_dir)
    try:
        place_record(nb, parameters, folder, record, None)
        return _execute_rerun(nb, record, folder, f"{kind_prefix(kind)}_{stamp}",
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
    final = publish_exclusive(done, folder, stem if failure is None else f".failed-{stem}")
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
    write_submissions(folder, [{**e, "notebook": e.get("notebook") or notebook}
                                for e in entries])


def _unfinished_submission(record: Path) -> str | None:
    """The batch id ``record`` submitted whose Download notebook is missing, if any. The
    sidecar is a file like any record: its id must be a UUID before it goes further."""
    for entry in reversed(read_submissions(record.parent)):
        if entry.get("notebook") == record.name and entry.get("batch_id"):
            if entry.get("download_notebook"):
                return None
            return checked_id(entry["batch_id"], "a batch id", f"{SIDECAR} of {record.name}")
    return None
