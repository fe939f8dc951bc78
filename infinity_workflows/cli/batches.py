"""``batch``: act on a submitted batch."""

from __future__ import annotations

import argparse

from . import Command, _user_error, register


def _batch_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="batch_action", required=True, metavar="ACTION")
    cancel = actions.add_parser(
        "cancel", help="cancel a batch: its queued jobs never run, its running ones stop "
                       "within seconds; finished jobs keep their results")
    cancel.add_argument("batch_id", metavar="ID", help="the batch's id")
    cancel.add_argument("--server", default=None,
                        help="the server's URL (default: $INFINITY_API_SERVER, else "
                             "$INFINITY_SERVER_URL, else the local server)")


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
            cancelled = api.cancel_batch(transport, batch_id)["cancelled"]
    except InfinityError as exc:
        return _user_error(f"batch {args.batch_action}", exc)
    print(f"Cancelled {cancelled} job(s) of batch {batch_id}; finished jobs keep their results."
          if cancelled else f"Nothing to cancel: every job of batch {batch_id} had finished.")
    return 0


register(Command("batch", "act on a submitted batch (cancel)", _batch_arguments, _batch))
