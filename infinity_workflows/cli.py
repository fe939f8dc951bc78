"""The ``infinity-workflows`` command: one subcommand per entry in :data:`COMMANDS`.

A subcommand is a :class:`Command`: a name, a help line, a function that adds its arguments
to an ``argparse`` parser, and a function that runs it and returns the exit code. Another
module adds one with :func:`register` (or by appending to ``COMMANDS`` before ``main`` runs).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .server.store import Store

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


# -- serve --------------------------------------------------------------------------------------
def _serve_arguments(parser: argparse.ArgumentParser) -> None:
    from .server.backends import EXECUTORS

    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: loopback only)")
    parser.add_argument("--port", type=int, default=8765)
    _add_home(parser)
    parser.add_argument("--workers", type=_positive_int, default=os.cpu_count() or 1,
                        help="jobs run at once (default: one per core)")
    parser.add_argument("--generator", action="append", default=[], metavar="MODULE:ATTR",
                        help="load a generator by import path, besides installed ones "
                             "(repeatable)")
    parser.add_argument("--executor", default="local", choices=sorted(EXECUTORS),
                        help="where jobs run (default: local worker processes)")
    parser.add_argument("--scheduler", default=None, metavar="tcp://HOST:8786",
                        help="the Dask scheduler to send jobs to (with --executor dask)")
    parser.add_argument("--max-jobs-per-batch", type=_positive_int, default=10_000)
    parser.add_argument("--max-body-mb", type=_positive_float, default=32.0,
                        help="largest request body accepted, in MiB")
    parser.add_argument("--url-ttl-seconds", type=_positive_int, default=86_400,
                        help="how long a result download link stays valid")
    parser.add_argument("--max-attempts", type=_positive_int, default=3,
                        help="worker deaths a job may cause before it is marked failed")
    parser.add_argument("--public-url", default=None, metavar="URL",
                        help="the URL clients reach this server at, used in the result links "
                             "it hands out (default: http://HOST:PORT/ as bound)")
    parser.add_argument("--proxy-headers", action="store_true",
                        help="behind a reverse proxy that sets them: build links from "
                             "X-Forwarded-Proto/-Host/-Prefix (never trusted otherwise)")
    parser.add_argument("--log-level", default="info",
                        choices=["debug", "info", "warning", "error"])


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .credentials import normalise_server, save_token
    from .errors import ConfigurationError
    from .home import resolve_home
    from .server import Settings, create_app
    from .server.log_redaction import install_redaction
    from .server.store import Store

    if (args.executor == "dask") != bool(args.scheduler):
        print("infinity-workflows serve: --executor dask and --scheduler tcp://HOST:8786 go "
              "together (start a scheduler with `dask scheduler`)", file=sys.stderr)
        return 2
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_redaction()  # signed links' signatures and tokens never reach the log
    if args.public_url:
        try:
            args.public_url = normalise_server(args.public_url)
        except ConfigurationError as exc:
            print(f"infinity-workflows serve: --public-url: {exc}", file=sys.stderr)
            return 2
    home = resolve_home(args.home).ensure()
    if home.open_to_others():
        log.warning("the home folder %s can be read by others (mode %o): it holds the "
                    "database, the results and the secret that signs links; run "
                    "`chmod 700 %s`", home.root, home.root.stat().st_mode & 0o777, home.root)
    store = Store(home.database)
    if store.count_tokens() == 0:
        token = store.create_token("first user")
        path = save_token(f"http://{args.host}:{args.port}/", token)
        # The path, never the token: logs end up in places tokens must not.
        log.info("created the first API token and saved it in %s", path)
    store.close()
    settings = Settings(
        home=home, host=args.host, port=args.port, workers=args.workers,
        generator_specs=tuple(args.generator), executor=args.executor,
        max_jobs_per_batch=args.max_jobs_per_batch, max_body_mb=args.max_body_mb,
        url_ttl_seconds=args.url_ttl_seconds, max_attempts=args.max_attempts,
        scheduler=args.scheduler, public_url=args.public_url,
        proxy_headers=args.proxy_headers)
    app = create_app(settings)
    log.info("portal: http://%s:%d/portal/  API schema: http://%s:%d/api/schema/",
             args.host, args.port, args.host, args.port)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level,
                timeout_graceful_shutdown=5, log_config=None,
                proxy_headers=args.proxy_headers)
    return 0


# -- token --------------------------------------------------------------------------------------
def _grant_arguments(parser: argparse.ArgumentParser, default_help: str) -> None:
    # Checked in _generator_grant rather than by an argparse mutually exclusive group, so
    # the error can say what each flag means.
    parser.add_argument("--generator", action="append", default=None, metavar="NAME",
                        dest="generators",
                        help="let the token use only this generator (repeatable; "
                             f"{default_help})")
    parser.add_argument("--no-generators", action="store_true",
                        help="let the token use no generator (e.g. for a staging account "
                             "or a test)")


def _token_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="token_action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="make a new API token and print it")
    _add_home(create)
    create.add_argument("--name", default="user", help="who the token is for (shown in the "
                        "portal)")
    _grant_arguments(create, "default: every generator, including ones installed later")
    listing = actions.add_parser("list", help="list tokens: id, name, created, grant, revoked "
                                              "(never the tokens themselves)")
    _add_home(listing)
    grant = actions.add_parser("grant", help="change which generators a token may use")
    _add_home(grant)
    grant.add_argument("token_id", type=int, metavar="ID", help="the token's id (token list)")
    _grant_arguments(grant, "with neither this nor --no-generators: every generator")
    revoke = actions.add_parser("revoke", help="revoke a token: it authenticates nothing from "
                                               "now on and its result links stop working")
    _add_home(revoke)
    revoke.add_argument("token_id", type=int, metavar="ID", help="the token's id (token list)")


def _generator_grant(args: argparse.Namespace) -> list[str] | None:
    """The names the token may use (None: all), or ConfigurationError saying what to fix."""
    from .errors import ConfigurationError

    if args.no_generators and args.generators:
        raise ConfigurationError("--generator and --no-generators contradict each other; give "
                                 "--generator NAME (repeatable) to grant only those "
                                 "generators, --no-generators to grant none, or neither to "
                                 "grant all")
    if args.no_generators:
        return []
    if args.generators is None:
        return None
    names = [name.strip() for name in args.generators]
    if not all(names):
        raise ConfigurationError("--generator needs a generator name, e.g. --generator tiny-v1 "
                                 "(the names GET api/jobs/ lists)")
    return names


def _warn_unknown(grant: list[str] | None) -> None:
    """Name granted generators that are not installed: most often a typo. The grant stands,
    since a server started with --generator MODULE:ATTR, or a later install, may add them."""
    if not grant:
        return
    from .generators import GeneratorRegistry

    installed = GeneratorRegistry.discover().names()
    unknown = sorted(set(grant) - set(installed))
    if unknown:
        print(f"warning: no installed generator is named {', '.join(unknown)} (installed: "
              f"{', '.join(installed) or 'none'}); the grant stands for a generator a server "
              "loads with --generator or one installed later", file=sys.stderr)


def _scope(grant: list[str] | None) -> str:
    if grant is None:
        return "every generator"
    return "only " + ", ".join(sorted(set(grant))) if grant else "no generators"


def _no_live_token(action: str, token_id: int) -> int:
    print(f"infinity-workflows token {action}: no live token has id {token_id} (see "
          "`infinity-workflows token list`)", file=sys.stderr)
    return 2


def _token_create(store: Store, args: argparse.Namespace, grant: list[str] | None) -> int:
    _warn_unknown(grant)
    token = store.create_token(args.name, grant)
    print(f"New API token {args.name!r} for the server with home {store.path.parent}; it may "
          f"use {_scope(grant)}. It is shown only now (the server keeps a hash); store it like "
          "a password:")
    print(token)
    return 0


def _token_list(store: Store, args: argparse.Namespace, grant: list[str] | None) -> int:
    for t in store.tokens():
        state = f"revoked {t.revoked}" if t.revoked else "live"
        print(f"{t.id:>4}  {t.name!r}  created {t.created}  {state}  "
              f"may use {_scope(t.generators)}")
    return 0


def _token_grant(store: Store, args: argparse.Namespace, grant: list[str] | None) -> int:
    _warn_unknown(grant)
    if not store.set_token_generators(args.token_id, grant):
        return _no_live_token("grant", args.token_id)
    print(f"Token {args.token_id} may now use {_scope(grant)}.")
    return 0


def _token_revoke(store: Store, args: argparse.Namespace, grant: list[str] | None) -> int:
    if not store.revoke_token(args.token_id):
        return _no_live_token("revoke", args.token_id)
    print(f"Token {args.token_id} is revoked: its requests now get 401, its portal sessions "
          "and result links no longer work. Its batches stay on disk.")
    return 0


# action -> (what it runs, whether it takes --generator/--no-generators)
_TOKEN_ACTIONS = {"create": (_token_create, True), "list": (_token_list, False),
                  "grant": (_token_grant, True), "revoke": (_token_revoke, False)}


def _token(args: argparse.Namespace) -> int:
    from .errors import ConfigurationError
    from .home import resolve_home
    from .server.store import Store

    run, takes_grant = _TOKEN_ACTIONS[args.token_action]
    try:
        grant = _generator_grant(args) if takes_grant else None
    except ConfigurationError as exc:
        print(f"infinity-workflows token {args.token_action}: {exc}", file=sys.stderr)
        return 2
    store = Store(resolve_home(args.home).ensure().database)
    try:
        return run(store, args, grant)
    finally:
        store.close()


register(Command("serve", "run the local API server and its workers", _serve_arguments,
                 _serve))
register(Command("token", "manage API tokens", _token_arguments, _token))


# -- records and rerun (workflow records of the notebooks) ---------------------------------------
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
    from .paths import default_records_dir
    from .records import batch_statuses, list_records

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

    from .trust import notebook_value

    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
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
    from .errors import InfinityError
    from .records import RerunError, rerun_record

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


# -- init and lab (getting started from a folder of one's own) ---------------------------------
def _init_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", nargs="?", default=".",
                        help="the folder to work in (default: the current one)")


def _init(args: argparse.Namespace) -> int:
    from .getting_started import init_folder

    print(init_folder(args.dir).describe())
    return 0


def _lab_arguments(parser: argparse.ArgumentParser) -> None:
    _init_arguments(parser)
    parser.add_argument("--root-dir", default=None,
                        help="the folder JupyterLab shows (default: DIR; it must hold DIR)")
    parser.add_argument("--server", default=None,
                        help="the server (default: $INFINITY_SERVER_URL, else the local one, "
                             "started here when it does not answer)")
    parser.epilog = ("Other arguments go to `jupyter lab` (e.g. --no-browser --port=8899); "
                     "give DIR first.")


def _lab(args: argparse.Namespace) -> int:
    from .credentials import normalise_server
    from .errors import ConfigurationError
    from .getting_started import run_lab
    from .widgets.create import default_server

    try:
        return run_lab(args.dir, normalise_server(args.server or default_server()),
                       root_dir=args.root_dir, lab_args=args.passed_on)
    except ConfigurationError as exc:
        print(f"infinity-workflows lab: {exc}", file=sys.stderr)
        return 1


register(Command("init", "write the create notebook and the examples into a folder",
                 _init_arguments, _init))
register(Command("lab", "init a folder, make sure a server answers, open JupyterLab there",
                 _lab_arguments, _lab, passes_on=True))


# -- batch ------------------------------------------------------------------------------------
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
    import uuid

    from . import api
    from .credentials import environment_server, resolve_token
    from .errors import InfinityError

    batch_id = args.batch_id.strip()
    try:
        uuid.UUID(batch_id)
    except ValueError:
        return _user_error(f"batch {args.batch_action}",
                           f"{batch_id!r} is not a batch id (a UUID); copy it from the Submit "
                           "notebook, `infinity-workflows records` or the portal")
    try:
        server = args.server or environment_server()
        with api.Transport(server, resolve_token(None, server)) as transport:
            cancelled = api.cancel_batch(transport, batch_id)["cancelled"]
    except InfinityError as exc:
        return _user_error(f"batch {args.batch_action}", exc)
    print(f"Cancelled {cancelled} job(s) of batch {batch_id}; finished jobs keep their results."
          if cancelled else f"Nothing to cancel: every job of batch {batch_id} had finished.")
    return 0


register(Command("batch", "act on a submitted batch (cancel)", _batch_arguments, _batch))


# -- entry point --------------------------------------------------------------------------------
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


if __name__ == "__main__":
    sys.exit(main())
