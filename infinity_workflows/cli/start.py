"""``init`` and ``lab``: getting started from a folder of one's own."""

from __future__ import annotations

import argparse
import sys

from . import Command, register


def _init_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", nargs="?", default=".",
                        help="the folder to work in (default: the current one)")


def _init(args: argparse.Namespace) -> int:
    from ..getting_started import init_folder

    print(init_folder(args.dir).describe())
    return 0


def _lab_arguments(parser: argparse.ArgumentParser) -> None:
    _init_arguments(parser)
    parser.add_argument("--root-dir", default=None,
                        help="the folder JupyterLab shows (default: DIR; it must hold DIR)")
    parser.add_argument("--server", default=None,
                        help="the server (default: $INFINITY_API_SERVER, else "
                             "$INFINITY_SERVER_URL, else the local one, started here when it "
                             "does not answer)")
    parser.epilog = ("Other arguments go to `jupyter lab` (e.g. --no-browser --port=8899); "
                     "give DIR first.")


def _lab(args: argparse.Namespace) -> int:
    from ..credentials import normalise_server
    from ..errors import ConfigurationError
    from ..getting_started import run_lab
    from ..workflow import default_server

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
