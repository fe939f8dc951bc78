"""The ``infinity-workflows`` command: one subcommand per entry in :data:`COMMANDS`.

A subcommand is a :class:`Command`: a name, a help line, a function that adds its arguments
to an ``argparse`` parser, and a function that runs it and returns the exit code. Another
module adds one with :func:`register` (or by appending to ``COMMANDS`` before ``main`` runs).
The project's own subcommands live one module per group: :mod:`.serve`, :mod:`.tokens`,
:mod:`.records` (records and rerun), :mod:`.start` (init and lab), :mod:`.batches`
(batch cancel and delete) and :mod:`.storage` (storage and prune).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["COMMANDS", "Command", "build_parser", "main", "register"]

log = logging.getLogger("infinity_workflows")


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    # True: arguments it does not know are handed on (in ``args.passed_on``), not refused.
    passes_on: bool = False


COMMANDS: list[Command] = []


def register(command: Command) -> Command:
    COMMANDS.append(command)
    return command


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} must be greater than 0")
    return value


def _user_error(command: str, error: object) -> int:
    """A user's mistake (or a failed run) in one line on stderr, no traceback; exit 1."""
    first = (str(error).strip().splitlines() or [type(error).__name__])[0]
    print(f"infinity-workflows {command}: {first}", file=sys.stderr)
    return 1


def _add_home(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--home", default=None,
                        help="folder for the database and results (default: "
                             "$INFINITY_WORKFLOWS_HOME, else the user data folder)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="infinity-workflows",
        description="Craft, submit and review batches of synthetic-data jobs.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        sub = commands.add_parser(command.name, help=command.help, description=command.help)
        command.add_arguments(sub)
        sub.set_defaults(run=command.run, passes_on=command.passes_on)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown and not args.passes_on:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    args.passed_on = unknown
    try:
        return args.run(args)
    except KeyboardInterrupt:
        return 130


# Each module registers its subcommands when imported.
from . import batches, records, serve, start, storage, tokens  # noqa: E402, F401
