"""``records`` and ``rerun``: the workflow records of the notebooks."""

from __future__ import annotations

import argparse

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
    rows += [(r.folder, r.notebook, r.kind if r.made_here else f"{r.kind}, not made here",
              r.created, r.generator, r.batch_id or "-",
              statuses.get(r.batch_id or "", "not submitted")) for r in found]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


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


def _rerun(args: argparse.Namespace) -> int:
    from ..errors import InfinityError
    from ..records import RerunError, rerun_record

    try:
        overrides = {name: _parameter_value(name, value) for name, value in args.parameter}
        path = rerun_record(args.record, overrides, records_dir=args.dir,
                            kernel_name=args.kernel)
    except (InfinityError, RerunError, ValueError, OSError) as exc:
        return _user_error("rerun", exc)  # the failed run's notebook holds the details
    print(path)
    return 0


register(Command("records", "list workflow records with the live status of their batches",
                 _records_arguments, _records))
register(Command("rerun", "execute a saved record headless into a new record",
                 _rerun_arguments, _rerun))
