"""``batch``: act on a submitted batch (cancel it, delete it)."""

from __future__ import annotations

import argparse

from . import Command, _user_error, register

SERVER_HELP = ("the server's URL (default: $INFINITY_API_SERVER, else $INFINITY_SERVER_URL, "
               "else the local server)")


def _batch_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="batch_action", required=True, metavar="ACTION")
    cancel = actions.add_parser(
        "cancel", help="cancel a batch: its queued jobs never run, its running ones stop "
                       "within seconds; finished jobs keep their results")
    delete = actions.add_parser(
        "delete", help="delete a batch on the server: unfinished jobs are cancelled, then its "
                       "results are removed from the server's disk (downloads stay)")
    for action in (cancel, delete):
        action.add_argument("batch_id", metavar="ID", help="the batch's id")
        action.add_argument("--server", default=None, help=SERVER_HELP)


def human_bytes(n: int) -> str:
    """``1536`` -> ``1.5 KiB``: sizes as a person reads them."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def _batch(args: argparse.Namespace) -> int:
    from .. import api
    from ..errors import InfinityError, ValidationError
    from ..transport import open_transport
    from ..trust import parse_uuid
    from ..workflow import default_server

    try:
        batch_id = parse_uuid(args.batch_id.strip(), "batch id")
    except ValidationError as exc:
        return _user_error(f"batch {args.batch_action}",
                           f"{exc}; copy it from the Submit notebook, `infinity-workflows "
                           "records` or the portal")
    try:
        server = args.server or default_server()
        with open_transport(server) as transport:
            if args.batch_action == "delete":
                done = api.delete_batch(transport, batch_id)
            else:
                cancelled = api.cancel_batch(transport, batch_id)["cancelled"]
    except InfinityError as exc:
        return _user_error(f"batch {args.batch_action}", exc)
    if args.batch_action == "delete":
        cancelled_text = (f"cancelled {done['cancelled']} unfinished job(s), "
                          if done["cancelled"] else "")
        print(f"Deleted batch {batch_id}: {cancelled_text}removed {done['removed']} result(s), "
              f"{human_bytes(done['freed_bytes'])} freed on the server. Files you downloaded "
              "stay where they are.")
        return 0
    print(f"Cancelled {cancelled} job(s) of batch {batch_id}; finished jobs keep their results."
          if cancelled else f"Nothing to cancel: every job of batch {batch_id} had finished.")
    return 0


register(Command("batch", "act on a submitted batch (cancel, delete)", _batch_arguments,
                 _batch))
