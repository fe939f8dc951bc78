"""``storage`` and ``prune``: what your batches take on the server's disk, and freeing it.

Both ask the server over the API, for the batches of the token in use, rather than reading
the server's home folder: a user thinks in their own batches, the same command then works
for a remote server as for the local one, and it never shows (or deletes) another token's
batches. ``serve``'s administrator sees the whole folder with ``du`` anyway.
"""

from __future__ import annotations

import argparse
import re
from datetime import datetime, timedelta, timezone

from . import Command, _user_error, register
from .batches import SERVER_HELP, human_bytes

_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1),
          "w": timedelta(weeks=1)}


def age(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m``, ``2w`` -> a timedelta (argparse's type for --older-than)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([mhdw])\s*", text.lower())
    if not match:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an age; write a number and a unit: 90m, 12h, 30d or 2w")
    return float(match.group(1)) * _UNITS[match.group(2)]


def _storage_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", default=None, help=SERVER_HELP)


def _prune_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--older-than", type=age, required=True, metavar="AGE",
                        help="delete batches created longer ago than this: 90m, 12h, 30d, 2w")
    parser.add_argument("--yes", action="store_true",
                        help="delete them; without it, only list what would be deleted")
    parser.add_argument("--server", default=None, help=SERVER_HELP)


def _usage(server: str | None) -> tuple[str, dict]:
    from .. import api
    from ..transport import open_transport
    from ..workflow import default_server

    server = server or default_server()
    with open_transport(server) as transport:
        return server, api.get_storage(transport)


def _row(batch: dict) -> str:
    return (f"{batch['id']}  {batch['created'][:19].replace('T', ' ')}  "
            f"{batch['results']:>5}/{batch['num_jobs']:<5}  {human_bytes(batch['bytes']):>10}  "
            f"{batch['name']}")


def _storage(args: argparse.Namespace) -> int:
    from ..errors import InfinityError

    try:
        server, usage = _usage(args.server)
    except InfinityError as exc:
        return _user_error("storage", exc)
    batches = usage["batches"]
    if not batches:
        print(f"No batches of this token on {server}.")
        return 0
    print(f"{'batch':36}  {'created (UTC)':19}  {'results':>11}  {'on disk':>10}  name")
    for batch in batches:
        print(_row(batch))
    print(f"In all: {human_bytes(usage['total_bytes'])} in {len(batches)} batch(es) on "
          f"{server}. Free it with `infinity-workflows batch delete ID` or `infinity-workflows "
          "prune --older-than 30d`.")
    return 0


def _prune(args: argparse.Namespace) -> int:
    from .. import api
    from ..errors import InfinityError, NotFoundError
    from ..transport import open_transport

    cutoff = datetime.now(timezone.utc) - args.older_than
    try:
        server, usage = _usage(args.server)
        old = [b for b in usage["batches"]
               if datetime.fromisoformat(b["created"].replace("Z", "+00:00")) < cutoff]
        if not old:
            print(f"No batch on {server} was created before {cutoff:%Y-%m-%d %H:%M} UTC.")
            return 0
        total = sum(b["bytes"] for b in old)
        if not args.yes:
            print(f"{len(old)} batch(es) created before {cutoff:%Y-%m-%d %H:%M} UTC would be "
                  f"deleted, freeing {human_bytes(total)}:")
            for batch in old:
                print("  " + _row(batch))
            print("Nothing was deleted; run again with --yes to delete them.")
            return 0
        freed = deleted = 0
        with open_transport(server) as transport:
            for batch in old:
                try:
                    freed += api.delete_batch(transport, batch["id"])["freed_bytes"]
                except NotFoundError:  # deleted meanwhile (the portal, another prune)
                    continue
                deleted += 1
                print(f"deleted {_row(batch)}")
    except InfinityError as exc:
        return _user_error("prune", exc)
    print(f"Deleted {deleted} batch(es), {human_bytes(freed)} freed on {server}.")
    return 0


register(Command("storage", "the server's disk your batches take, per batch and in all",
                 _storage_arguments, _storage))
register(Command("prune", "delete your batches older than an age (lists them first; --yes "
                 "deletes)", _prune_arguments, _prune))
