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
import stat
import subprocess
import sys
import tempfile
import time
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

__all__ = ["CREATE_NOTEBOOK", "InitReport", "example_notebooks", "init_folder", "lab_hint",
           "open_server_log", "run_lab", "server_answers", "source_checkout", "split_lab_args",
           "start_server_hint"]

CREATE_NOTEBOOK = "create_a_workflow.ipynb"
CHECKOUT_SCRIPT = "run_notebooks.sh"
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
        lines.append(f"Next: {lab_hint(self.folder)}")
        return "\n".join(lines)


def source_checkout(package_dir: Path | str | None = None) -> Path | None:
    """The source checkout the toolkit runs from, or None for an installed package.

    A checkout keeps ``run_notebooks.sh`` in the folder that holds the package
    (``package_dir``, by default the imported ``infinity_workflows``).
    """
    if package_dir is None:
        package_dir = Path(__file__).resolve().parent
    root = Path(package_dir).parent
    return root if (root / CHECKOUT_SCRIPT).is_file() else None


def start_server_hint(package_dir: Path | str | None = None) -> str:
    """How to start the local server, in the words of this installation: the one place that
    decides it, for every hint (client errors, the notebooks' sentences, ``init``)."""
    checkout = source_checkout(package_dir)
    if checkout is not None:
        return (f"start it by running ./{CHECKOUT_SCRIPT} in {checkout} (or "
                "`.venv/bin/infinity-workflows serve` there for the server alone)")
    return ("start it in a terminal with `infinity-workflows serve` (or "
            "`infinity-workflows lab`, which starts it along with JupyterLab)")


def lab_hint(folder: Path, package_dir: Path | str | None = None) -> str:
    """The command that opens JupyterLab on ``folder`` in this installation."""
    checkout = source_checkout(package_dir)
    if checkout is not None:
        return f"{checkout / '.venv' / 'bin' / 'infinity-workflows'} lab {folder}"
    return f"infinity-workflows lab {folder}"


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


# Jupyter's options that take no value (``LabApp.flags``, JupyterLab 4): every other
# ``--name`` followed by a word takes that word as its value, never as the folder.
# tests/test_server_cli.py keeps this list a superset of the installed JupyterLab's.
JUPYTER_FLAGS = frozenset({
    "allow-root", "autoreload", "collaborative", "core-mode", "custom-css", "debug",
    "dev-mode", "expose-app-in-browser", "extensions-in-dev-mode", "generate-config", "help",
    "help-all", "no-browser", "no-mathjax", "no-script", "script", "show-config",
    "show-config-json", "skip-dev-build", "splice-source", "version", "watch", "y",
})


def split_lab_args(words: Sequence[str]) -> tuple[str | None, list[str]]:
    """``lab``'s folder and JupyterLab's arguments, from the words ``lab`` did not know.

    ``--port 18899`` and ``--port=18899`` are one option either way (handed on as
    ``--port=18899``); a word after an option that takes a value is that value. The folder
    is the one word that is no option's value; ConfigurationError for a second one.
    """
    folder: str | None = None
    passed: list[str] = []
    words = list(words)
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if word == "--":  # the rest is Jupyter's, as written
            passed += words[i:]
            break
        if not word.startswith("-") or word == "-":
            if folder is not None:
                raise ConfigurationError(
                    f"two folders given ({folder} and {word}); if {word} is the value of an "
                    "option, write it as --option=value")
            folder = word
            continue
        name = word.lstrip("-")
        takes_value = "=" not in name and name not in JUPYTER_FLAGS
        if takes_value and i < len(words) and not words[i].startswith("-"):
            passed.append(f"{word}={words[i]}")
            i += 1
        else:
            passed.append(word)
    return folder, passed


def open_server_log(port: int) -> tuple[int, Path]:
    """A new log file for the local server ``lab`` starts, and its path.

    It lives in the server's home (``logs/``, 0700), not in a shared temporary folder, and
    is created exclusively with mode 0600 (``mkstemp``), so nothing planted there, a
    symbolic link included, is followed or truncated; it then takes the name
    ``lab-server-<port>.log`` by a rename, which replaces a link rather than writing
    through it.
    """
    from .server_home import resolve_home

    logs = resolve_home().ensure().root / "logs"
    logs.mkdir(mode=0o700, exist_ok=True)
    info = os.lstat(logs)
    if not stat.S_ISDIR(info.st_mode) or (hasattr(os, "getuid") and
                                          info.st_uid != os.getuid()):
        raise ConfigurationError(f"{logs} is not a folder of yours; remove it and try again")
    os.chmod(logs, 0o700)  # server logs name batches and paths: the owner's only
    fd, tmp = tempfile.mkstemp(dir=logs, prefix=f".lab-server-{port}-", suffix=".log")
    final = logs / f"lab-server-{port}.log"
    try:
        os.replace(tmp, final)
    except OSError:
        os.close(fd)
        Path(tmp).unlink(missing_ok=True)
        raise
    return fd, final


@dataclass
class LocalServer:
    """The local server ``lab`` started: its process and the log it writes."""

    url: str
    proc: subprocess.Popen[bytes]
    log_path: Path


def _start_server(url: str) -> LocalServer:
    """The local server for ``url`` in the background, answering (or ConfigurationError)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    if host not in _LOOPBACK:
        raise ConfigurationError(f"no answer from {url}, and it is not a local address, so "
                                 "it cannot be started here; check INFINITY_SERVER_URL")
    fd, log_path = open_server_log(port)
    try:
        proc = subprocess.Popen([sys.executable, "-m", "infinity_workflows", "serve",
                                 "--host", host, "--port", str(port)],
                                stdout=fd, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    finally:
        os.close(fd)
    print(f"Starting the local server at {url} (pid {proc.pid}, log: {log_path}) ...",
          file=sys.stderr)

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
    return LocalServer(url, proc, log_path)


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


class ServerWatch:
    """``lab`` keeps an eye on its server while JupyterLab runs. One it started is restarted
    when it dies (at most ``restarts`` times, saying so each time); one that was already
    running is asked every ``every`` seconds and ``lab`` says when it stops or comes back
    answering (it is not ``lab``'s to restart)."""

    def __init__(self, url: str, local: LocalServer | None, restarts: int = 3,
                 every: float = 10.0) -> None:
        self.url, self.local, self.restarts_left, self.every = url, local, restarts, every
        self._answering = True
        self._next_ask = time.monotonic() + every

    def check(self) -> None:
        if self.local is not None:
            self._check_own()
        elif time.monotonic() >= self._next_ask:
            self._next_ask = time.monotonic() + self.every
            answering = server_answers(self.url)
            if answering != self._answering:
                self._answering = answering
                _say(f"the server at {self.url} " + (
                    "answers again." if answering else
                    f"no longer answers; notebooks cannot reach it until it is back "
                    f"({start_server_hint()})."))

    def _check_own(self) -> None:
        local = self.local
        assert local is not None
        code = local.proc.poll()
        if code is None:
            return
        if self.restarts_left <= 0:
            _say(f"the local server (pid {local.proc.pid}) stopped (exit code {code}) and "
                 f"will not be restarted again; see {local.log_path}. JupyterLab keeps "
                 f"running; {start_server_hint()}.")
            self.local = None
            self._answering = False
            return
        self.restarts_left -= 1
        _say(f"the local server (pid {local.proc.pid}) stopped (exit code {code}); see "
             f"{local.log_path}. Restarting it ...")
        try:
            self.local = _start_server(self.url)
        except ConfigurationError as exc:
            _say(f"the local server could not be restarted: {exc}")
            self.local = None
            self._answering = False
            return
        _say(f"the local server answers again at {self.url} (pid {self.local.proc.pid}).")

    def stop(self) -> None:
        if self.local is not None:
            _stop(self.local.proc, "the local server")


def _say(text: str) -> None:
    print(f"infinity-workflows lab: {text}", file=sys.stderr, flush=True)


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
            lab_args: Sequence[str] = (), watch_every: float = 10.0) -> int:
    """``init`` ``folder``, make sure ``server`` answers, run JupyterLab; its exit code
    (130 after Ctrl-C, 143 after SIGTERM). While it runs the server is watched
    (:class:`ServerWatch`); a server started here is stopped at the end."""
    report = init_folder(folder)
    for path in report.written:
        print(f"wrote {path}", file=sys.stderr)
    folder = report.folder
    root = Path(root_dir).absolute() if root_dir else folder
    command = _lab_command(folder, root, lab_args)
    watch: ServerWatch | None = None
    lab = None
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        if server_answers(server):
            print(f"Using the server already running at {server}", file=sys.stderr)
            watch = ServerWatch(server, None, every=watch_every)
        else:
            watch = ServerWatch(server, _start_server(server), every=watch_every)
        env = {**os.environ, "INFINITY_SERVER_URL": server}
        lab = subprocess.Popen(command, env=env)
        while True:
            try:
                return lab.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                watch.check()
    except KeyboardInterrupt:
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
        _stop(lab)
        if watch is not None:
            watch.stop()
