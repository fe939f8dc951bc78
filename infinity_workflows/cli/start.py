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
    # DIR is picked out of the words argparse does not know (split_lab_args), so that the
    # value of a Jupyter option (`--port 18899`) is never taken for the folder.
    parser.allow_abbrev = False  # --se is not --server: Jupyter options pass unchanged
    parser.usage = "%(prog)s [DIR] [--root-dir R] [--server URL] [jupyter lab options]"
    parser.add_argument("--root-dir", default=None,
                        help="the folder JupyterLab shows (default: DIR; it must hold DIR)")
    parser.add_argument("--server", default=None,
                        help="the server (default: $INFINITY_API_SERVER, else "
                             "$INFINITY_SERVER_URL, else the local one, started here when it "
                             "does not answer, and restarted when it dies)")
    parser.epilog = ("DIR: the folder to work in (default: the current one). Other options "
                     "go to `jupyter lab`, in either spelling: --port 8899 or --port=8899, "
                     "--no-browser ...; a word after an option that takes a value is that "
                     "value, never DIR.")


def _lab(args: argparse.Namespace) -> int:
    from ..credentials import normalise_server
    from ..errors import ConfigurationError
    from ..getting_started import run_lab, split_lab_args
    from ..workflow import default_server

    try:
        folder, lab_args = split_lab_args(args.passed_on)
        return run_lab(folder or ".", normalise_server(args.server or default_server()),
                       root_dir=args.root_dir, lab_args=lab_args)
    except ConfigurationError as exc:
        print(f"infinity-workflows lab: {exc}", file=sys.stderr)
        return 1


register(Command("init", "write the create notebook and the examples into a folder",
                 _init_arguments, _init))
register(Command("lab", "init a folder, make sure a server answers, open JupyterLab there",
                 _lab_arguments, _lab, passes_on=True))
