"""``init`` and ``lab``: how an installed user starts, from a folder of their own.

``init DIR`` writes the create notebook (package data) into DIR, and each installed
generator's example notebooks into ``DIR/examples/``; a file already there is kept, never
overwritten. ``lab DIR`` does that, makes sure a server answers (starting the local one in
the background when the server URL is a loopback address that does not answer, stopping it
again afterwards), then runs JupyterLab opened at the create notebook. Everything the user
makes lands in DIR: records in ``DIR/workflow_records/``, downloads in ``DIR/downloads/``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .errors import ConfigurationError
from .files import write_bytes_atomic
from .polling import poll

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

__all__ = ["CREATE_NOTEBOOK", "InitReport", "example_notebooks", "init_folder", "run_lab",
           "server_answers"]

CREATE_NOTEBOOK = "create_a_workflow.ipynb"
EXAMPLES_FOLDER = "examples"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass
class InitReport:
    folder: Path
    written: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)

    def describe(self) -> str:
        lines = [f"wrote {p}" for p in self.written] + \
                [f"kept {p} (already there)" for p in self.kept]
        lines.append(f"Next: infinity-workflows lab {self.folder}")
        return "\n".join(lines)


def create_notebook() -> Traversable:
    return resources.files("infinity_workflows").joinpath("notebooks", CREATE_NOTEBOOK)


def example_notebooks() -> Iterator[Traversable]:
    """Every installed generator's example notebooks (``Generator.examples``)."""
    from .generators import installed_generators

    for generator in installed_generators():
        if not generator.examples:
            continue
        package, _, folder = generator.examples.partition(":")
        root = resources.files(package).joinpath(folder) if folder else \
            resources.files(package)
        yield from sorted((t for t in root.iterdir() if t.name.endswith(".ipynb")),
                          key=lambda t: t.name)


def init_folder(folder: Path | str) -> InitReport:
    """Write the create notebook and the examples into ``folder`` (kept when present)."""
    folder = Path(folder).absolute()
    folder.mkdir(parents=True, exist_ok=True)
    report = InitReport(folder)
    wanted = [(create_notebook(), folder / CREATE_NOTEBOOK)]
    wanted += [(t, folder / EXAMPLES_FOLDER / t.name) for t in example_notebooks()]
    for source, target in wanted:
        if target.exists():
            report.kept.append(target)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        report.written.append(write_bytes_atomic(target, source.read_bytes()))
    return report


def server_answers(url: str, timeout: float = 2.0) -> bool:
    import requests

    try:
        return requests.get(url + "api/schema/", timeout=timeout).status_code == 200
    except requests.RequestException:
        return False


def _start_server(url: str) -> subprocess.Popen[bytes]:
    """The local server for ``url`` in the background, answering (or ConfigurationError)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    if host not in _LOOPBACK:
        raise ConfigurationError(f"no answer from {url}, and it is not a local address, so "
                                 "it cannot be started here; check INFINITY_SERVER_URL")
    log_path = Path(tempfile.gettempdir()) / f"infinity-workflows-server-{port}.log"
    print(f"Starting the local server at {url} (log: {log_path}) ...", file=sys.stderr)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "infinity_workflows", "serve",
                                 "--host", host, "--port", str(port)],
                                stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)

    def answers() -> bool | None:
        if server_answers(url):
            return True
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace").splitlines()[-20:]
            raise ConfigurationError("the local server exited; its log ends with:\n"
                                     + "\n".join(tail))
        return None

    def timed_out() -> ConfigurationError:
        _stop(proc)
        return ConfigurationError(f"the local server did not answer within a minute; "
                                  f"see {log_path}")

    poll(answers, 60, 0.2, "the local server", timed_out=timed_out)
    return proc


def _stop(proc: subprocess.Popen[bytes] | None, what: str = "") -> None:
    if proc is None or proc.poll() is not None:
        return
    if what:
        print(f"Stopping {what} (pid {proc.pid}) ...", file=sys.stderr)
    proc.terminate()  # SIGTERM: the server's and JupyterLab's clean shutdown, no prompt
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _lab_command(folder: Path, root_dir: Path, lab_args: Sequence[str]) -> list[str]:
    try:
        start = (folder / CREATE_NOTEBOOK).relative_to(root_dir).as_posix()
    except ValueError:
        raise ConfigurationError(f"{folder} is not inside the lab's root folder "
                                 f"{root_dir}") from None
    command = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={root_dir}",
               f"--LabApp.default_url=/lab/tree/{start}", *lab_args]
    # JupyterLab refuses to run as root without --allow-root; in a container or a root
    # shell that is the usual case, so say it for the user instead of failing.
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in lab_args:
        command.append("--allow-root")
    return command


def run_lab(folder: Path | str, server: str, root_dir: Path | str | None = None,
            lab_args: Sequence[str] = ()) -> int:
    """``init`` ``folder``, make sure ``server`` answers, run JupyterLab; its exit code
    (130 after Ctrl-C, 143 after SIGTERM). A server started here is stopped at the end."""
    report = init_folder(folder)
    for path in report.written:
        print(f"wrote {path}", file=sys.stderr)
    folder = report.folder
    root = Path(root_dir).absolute() if root_dir else folder
    command = _lab_command(folder, root, lab_args)
    server_proc = lab = None
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        if server_answers(server):
            print(f"Using the server already running at {server}", file=sys.stderr)
        else:
            server_proc = _start_server(server)
        env = {**os.environ, "INFINITY_SERVER_URL": server}
        lab = subprocess.Popen(command, env=env)
        return lab.wait()
    except KeyboardInterrupt:
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
        _stop(lab)
        _stop(server_proc, "the local server")
