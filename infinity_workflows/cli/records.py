"""``records`` and ``rerun``: the workflow records of the notebooks."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from . import Command, _positive_float, _user_error, register


def _records_arguments(parser: argparse.ArgumentParser) -> None:
    # No import of .records here: every subcommand's arguments are built on each run, and
    # records loads the notebook libraries (over a second), which `serve` and `token` skip.
    parser.add_argument("--dir", default=None,
                        help="the records folder (default: $INFINITY_WORKFLOWS_RECORDS, else "
                             "./workflow_records; in this repository's checkout "
                             "visionfit/workflow_records)")
    parser.add_argument("--timeout", type=_positive_float, default=5.0,
                        help="seconds to wait for each server's answer about a batch")


def _records(args: argparse.Namespace) -> int:
    from ..records import batch_statuses, list_records
    from ..user_folders import default_records_dir

    args.dir = args.dir or str(default_records_dir())
    found = list_records(args.dir)
    if not found:
        print(f"No workflow records in {args.dir}.")
        return 0
    statuses = batch_statuses(found, timeout=args.timeout)
    rows = [("FOLDER", "NOTEBOOK", "KIND", "CREATED", "GENERATOR", "BATCH ID", "STATUS")]
    rows += [(r.folder, r.notebook, _kind(r), r.created or "-", r.generator or "-",
              r.batch_id or "-", _status(r, statuses)) for r in found]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


def _kind(record: RecordInfo) -> str:
    from ..records.index import UNREADABLE

    if record.kind == UNREADABLE or record.made_here:
        return record.kind
    return f"{record.kind}, not made here"


def _status(record: RecordInfo, statuses: dict[str, str]) -> str:
    from ..records.index import UNREADABLE

    if record.kind == UNREADABLE:
        return "-"
    return statuses.get(record.batch_id or "", "not submitted")


def _parameter_value(name: str, text: str):
    """``-p`` values: a literal when one parses (3, 0.5, True, None, [1, 2], {"a": 1}), else
    the text itself; literals that are not JSON-like (tuples, sets) are refused."""
    import ast
    import sys

    from ..errors import ValidationError
    from ..trust import notebook_value

    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError) as exc:
        if "integer string conversion" in str(exc):  # a number, too long to read: never text
            raise ValidationError(
                f"parameter {name}: a number of more than {sys.get_int_max_str_digits():,} "
                "digits is more than Python reads; quote it to pass it as text") from None
        return text
    return notebook_value(name, value)


def _rerun_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("record", help="a saved record notebook (.ipynb)")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                        metavar=("NAME", "VALUE"),
                        help="override one saved parameter (repeatable); the others keep "
                             "their saved values")
    parser.add_argument("--dir", default=None,
                        help="records folder for the new record (default: the one holding "
                             "RECORD)")
    parser.add_argument("--kernel", default=None, help="Jupyter kernel name (default: the "
                        "notebook's)")
    parser.add_argument("--trust", action="store_true",
                        help="run RECORD although its code is neither its template's nor "
                             "signed as yours (as `jupyter trust RECORD` would accept it); "
                             "only for a record whose every cell you have read")
    parser.epilog = ("A record runs when its code cells are its template's or Jupyter trusts "
                     "it (JupyterLab signs a notebook you save; `jupyter trust FILE` signs one "
                     "by hand). Prints the batch id (when the record has one) and the new "
                     "record's path, last.")


def _rerun(args: argparse.Namespace) -> int:
    from ..errors import InfinityError
    from ..records import RerunError, record_batch_id, rerun_record

    try:
        overrides = {name: _parameter_value(name, value) for name, value in args.parameter}
        path = rerun_record(args.record, overrides, records_dir=args.dir,
                            kernel_name=args.kernel, trust=args.trust)
    except (InfinityError, RerunError, ValueError, OSError) as exc:
        return _user_error("rerun", exc)  # the failed run's notebook holds the details
    try:
        batch_id = record_batch_id(path)
    except (ValueError, OSError):
        batch_id = None
    if batch_id:
        print(f"batch {batch_id}")
    print(path)
    return 0


if TYPE_CHECKING:
    from ..records import RecordInfo

register(Command("records", "list workflow records with the live status of their batches",
                 _records_arguments, _records))
register(Command("rerun", "execute a saved record headless into a new record",
                 _rerun_arguments, _rerun))
