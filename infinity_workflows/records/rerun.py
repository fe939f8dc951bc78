"""Re-running a record headless into a new record folder (``infinity-workflows rerun``)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import nbformat

from ..errors import RecordError, RerunError
from ..trust import check_notebook_parameters, checked_id
from ..user_folders import RECORD_FOLDER_RE, default_records_dir
from .consent import check_runnable
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
                 execution_timeout: float | None = 1800, trust: bool = False) -> Path:
    """Execute a saved record headless into a new record; returns the new notebook.

    Only code the user wrote or accepted runs (:mod:`.consent`): the record's code cells are
    its template's, or Jupyter's notary trusts it, or ``trust`` is given; otherwise
    RecordError names its first foreign cell. Its parameters cells must be plain values.

    papermill replaces the injected-parameters cell wholesale, so the saved values are read
    back first and merged with ``overrides``; the full set is injected. A Submit record runs
    in a new record folder (its Download notebook lands beside it); a Download record runs
    in its own folder, beside the Submit record that wrote it, unless ``records_dir`` says
    otherwise. The kernel's working directory is that folder. Raises :class:`RerunError`
    when the run fails (a cell error, a missing or dead kernel): nothing is then listed as a
    record; what ran is kept under hidden ``.failed-`` names.

    A Submit record whose batch was submitted but whose Download notebook was never written
    (the sidecar names the batch and no Download notebook) is completed instead, when no
    ``overrides`` are given: its Download notebook is rendered beside it and returned, and
    nothing is submitted again.
    """
    record = Path(record).resolve()
    lineage = record_lineage(record)
    kind = str(lineage.get("kind"))
    kind_prefix(kind)
    unfinished = _unfinished_submission(record) if kind == "submit" and not overrides else None
    if unfinished is not None:
        return complete_submission(
            record.parent, batch_id=unfinished, generator=str(lineage.get("generator") or ""),
            server=str(lineage.get("server") or ""), parent=record)
    source = nbformat.read(str(record), as_version=4)
    saved = read_parameters(source, strict=True)
    if not lineage["made_here"] and "TOKEN" in saved:
        # Infinity's toolkit wrote the token into its records; ours never carry one. The
        # new record's Session finds it in INFINITY_API_TOKEN or the credentials file.
        saved["TOKEN"] = None
    check_notebook_parameters(saved)
    overrides = dict(overrides or {})
    if "TOKEN" in overrides:
        raise RecordError("a token is never written into a record: set INFINITY_API_TOKEN (or "
                          "save it with the create notebook) instead of -p TOKEN")
    unknown = sorted(set(overrides) - set(saved))
    if unknown:
        raise RecordError(f"{record.name} has no parameter {', '.join(unknown)}; its "
                          f"parameters are: {', '.join(sorted(saved))}")
    check_runnable(record, source, _template_of(lineage), trust)
    parameters = {**saved, **overrides}
    in_record_folder = RECORD_FOLDER_RE.match(record.parent.name) is not None
    # A record made elsewhere is its own template.
    template = (str(lineage.get("template") or template_notebook(kind)[1])
                if lineage["made_here"] else record.name)
    nb = build_record(kind, parameters, source, template)
    if kind == "download" and records_dir is None and in_record_folder:
        # A Download rerun belongs beside the Submit record of its batch: no new folder.
        folder, stamp, made = record.parent, _folder_stamp(record.parent), False
    else:
        if records_dir is None:
            records_dir = record.parent.parent if in_record_folder else default_records_dir()
        (folder, stamp), made = new_record_folder(records_dir), True
    try:
        place_record(nb, parameters, folder, record, None)
        return _execute_rerun(nb, record, folder, f"{kind_prefix(kind)}_{stamp}",
                              kernel_name, execution_timeout, hide_all=made)
    finally:
        # A rerun that never produced a record leaves no folder behind to be listed.
        if made and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


def _template_of(lineage: Mapping[str, Any]) -> nbformat.NotebookNode | None:
    """The packaged template a record made here names, with its generator's cells: what its
    code must match to run unsigned. None for a record made elsewhere or from a template
    file (nothing to compare with)."""
    if not lineage.get("made_here"):
        return None
    generator = lineage.get("generator")
    try:
        nb, name = template_notebook(str(lineage.get("kind")), generator
                                     if isinstance(generator, str) and generator else None)
    except Exception:  # noqa: BLE001 - an unknown kind or a missing template alike
        return None
    return nb if lineage.get("template") == name else None


def _folder_stamp(folder: Path) -> str:
    match = RECORD_FOLDER_RE.match(folder.name)
    return match.group(1) if match else folder.name


def _execute_rerun(nb: nbformat.NotebookNode, record: Path, folder: Path, stem: str,
                   kernel_name: str | None, execution_timeout: float | None,
                   hide_all: bool) -> Path:
    """Run ``nb`` in ``folder``: the record on success; on any failure RerunError, with
    whatever ran kept under a hidden name that ``records`` does not list. ``hide_all`` (a
    folder made for this run): whatever else the run wrote there that ``records`` would
    list (a Download notebook, the sidecar) is hidden too."""
    import papermill  # slow to import: only once the request is known to be good

    # Hidden names while running: `records` and JupyterLab's file browser skip dot-files.
    prepared = _hidden_name(folder, ".rerun-input-")
    partial = _hidden_name(folder, ".rerun-output-")
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
    if failure is not None:
        hidden = _hide_what_the_run_wrote(folder) if hide_all else ""
        if not partial.exists() or partial.stat().st_size == 0:  # the kernel never started
            partial.unlink(missing_ok=True)
            raise RerunError(f"re-running {record.name} failed before any cell ran: {reason}"
                             f"{hidden}", None) from failure
    done = nbformat.read(str(partial), as_version=4)
    done.metadata.papermill["input_path"] = str(record)
    done.metadata.papermill.pop("output_path", None)
    final = publish_exclusive(done, folder, stem if failure is None else f".failed-{stem}",
                              sign=failure is None)
    partial.unlink()
    if failure is not None:
        raise RerunError(f"re-running {record.name} failed ({reason}); what ran is kept, not "
                         f"listed as a record, in {final}{hidden}", final) from failure
    _claim_submissions(folder, final.name)
    return final


def _hidden_name(folder: Path, prefix: str) -> Path:
    """A new, empty, hidden file in ``folder``: two reruns in one folder never share one."""
    fd, name = tempfile.mkstemp(dir=folder, prefix=prefix, suffix=".ipynb")
    os.close(fd)
    return Path(name)


def _hide_what_the_run_wrote(folder: Path) -> str:
    """Give every listed file of a failed run's own folder a hidden ``.failed-`` name; say
    which batch went out first, so the user can still follow it."""
    batches = [e["batch_id"] for e in read_submissions(folder) if e.get("batch_id")]
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or not (path.suffix == ".ipynb" or path.name == SIDECAR):
            continue
        try:
            os.rename(path, folder / f".failed-{path.name}")
        except OSError:
            path.unlink(missing_ok=True)
    if not batches:
        return ""
    return (f"; it had submitted batch {', '.join(batches)} (follow it with the create "
            "notebook's batch list, or its portal page)")


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
