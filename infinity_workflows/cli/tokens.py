"""``token``: create, list, grant and revoke API tokens; show the one saved for a server."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..server.store import Store

from . import Command, _add_home, register


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
    show = actions.add_parser(
        "show", help="print the token this computer uses for a server (from "
                     "$INFINITY_API_TOKEN or the credentials file), e.g. to log in to the "
                     "portal")
    show.add_argument("--server", default=None,
                      help="the server's URL (default: $INFINITY_API_SERVER, else "
                           "$INFINITY_SERVER_URL, else the local server)")


def _generator_grant(args: argparse.Namespace) -> list[str] | None:
    """The names the token may use (None: all), or ConfigurationError saying what to fix."""
    from ..errors import ConfigurationError

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
    from ..generators import GeneratorRegistry

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
    token = store.tokens.create(args.name, grant)
    print(f"New API token {args.name!r} for the server with home {store.path.parent}; it may "
          f"use {_scope(grant)}. It is shown only now (the server keeps a hash); store it like "
          "a password:")
    print(token)
    return 0


def _token_list(store: Store, args: argparse.Namespace, grant: list[str] | None) -> int:
    for t in store.tokens.all():
        state = f"revoked {t.revoked}" if t.revoked else "live"
        print(f"{t.id:>4}  {t.name!r}  created {t.created}  {state}  "
              f"may use {_scope(t.generators)}")
    return 0


def _token_grant(store: Store, args: argparse.Namespace, grant: list[str] | None) -> int:
    _warn_unknown(grant)
    if not store.tokens.set_generators(args.token_id, grant):
        return _no_live_token("grant", args.token_id)
    print(f"Token {args.token_id} may now use {_scope(grant)}.")
    return 0


def _token_revoke(store: Store, args: argparse.Namespace, grant: list[str] | None) -> int:
    if not store.tokens.revoke(args.token_id):
        return _no_live_token("revoke", args.token_id)
    print(f"Token {args.token_id} is revoked: its requests now get 401, its portal sessions "
          "and result links no longer work. Its batches stay on disk.")
    return 0


# action -> (what it runs, whether it takes --generator/--no-generators)
_TOKEN_ACTIONS = {"create": (_token_create, True), "list": (_token_list, False),
                  "grant": (_token_grant, True), "revoke": (_token_revoke, False)}


def _token_show(args: argparse.Namespace) -> int:
    """The token on stdout alone (for a script or a paste); where it came from on stderr.
    The server keeps only hashes, so the token can come only from this computer."""
    from ..credentials import (
        TOKEN_ENV,
        credentials_path,
        environment_server,
        normalise_server,
        saved_token,
    )
    from ..errors import ConfigurationError
    from ..workflow import default_server

    try:
        server = normalise_server(args.server or default_server())
        env = os.environ.get(TOKEN_ENV, "").strip()
        if env and server == environment_server():
            token, source = env, f"${TOKEN_ENV}"
        else:
            token, source = saved_token(server), str(credentials_path())
    except ConfigurationError as exc:
        print(f"infinity-workflows token show: {exc}", file=sys.stderr)
        return 2
    if not token:
        print(f"infinity-workflows token show: no token for {server} on this computer (not in "
              f"${TOKEN_ENV}, not in {credentials_path()}). The local server saves its first "
              "token there when it first starts; otherwise ask the server's administrator "
              "for one (`infinity-workflows token create`).", file=sys.stderr)
        return 1
    print(f"The token for {server} (from {source}); paste it into {server}portal/login/ "
          "and keep it like a password:", file=sys.stderr)
    print(token)
    return 0


def _token(args: argparse.Namespace) -> int:
    from ..errors import ConfigurationError

    if args.token_action == "show":  # reads this computer's credentials, not a database
        return _token_show(args)
    from ..server.store import Store
    from ..server_home import resolve_home

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


register(Command("token", "manage API tokens", _token_arguments, _token))
