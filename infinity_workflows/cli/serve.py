"""``serve``: the local API server and its workers."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys

from . import Command, _add_home, _positive_float, _positive_int, log, register


def _serve_arguments(parser: argparse.ArgumentParser) -> None:
    from ..server.executors import EXECUTORS

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
    parser.add_argument("--request-timeout", type=_positive_float, default=60.0,
                        metavar="SECONDS",
                        help="a connection must deliver a whole request (headers and body) "
                             "within this long, or it is closed (default: 60)")
    parser.add_argument("--max-connections", type=_positive_int, default=1000,
                        help="open connections beyond this are answered 503 (default: 1000)")
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

    from ..credentials import normalise_server, save_token
    from ..errors import ConfigurationError
    from ..server import Settings, create_app
    from ..server.connections import guarded_protocol
    from ..server.log_redaction import install_redaction
    from ..server.store import Store
    from ..server_home import resolve_home

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
    if store.tokens.count() == 0:
        token = store.tokens.create("first user")
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
    log.info("portal: http://%s:%d/portal/ (log in with the token `infinity-workflows token "
             "show` prints)  API schema: http://%s:%d/api/schema/",
             args.host, args.port, args.host, args.port)
    # uvicorn stops gracefully on SIGTERM, then raises the signal again; with the default
    # action the process would die there, before exit handlers run (multiprocessing's among
    # them: its semaphores would be reported leaked). Exit 143, as after SIGTERM, instead.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level,
                timeout_graceful_shutdown=5, log_config=None,
                proxy_headers=args.proxy_headers,
                http=guarded_protocol(args.request_timeout),  # type: ignore[arg-type]
                limit_concurrency=args.max_connections, timeout_keep_alive=5)
    return 0


register(Command("serve", "run the local API server and its workers", _serve_arguments,
                 _serve))
