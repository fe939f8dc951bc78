"""A real server process on a free loopback port, spoken to over HTTP, and its tokens.

Tokens are made in this process through the server's own store (what ``token create`` runs),
so a test pays for no CLI subprocess. One server can be shared: :meth:`LiveServer.tenant`
gives a view of it with a token of its own, and the server keeps tokens apart (one token
never sees another's batches, jobs or counts).
"""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.support.waiting import wait_for

__all__ = ["ROOT", "TINY", "LiveServer", "cli_env", "free_port", "portal_login", "run_cli"]

ROOT = Path(__file__).resolve().parents[2]
TINY = "tests.support.tiny:TinyGenerator"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli_env(home: Path, config: Path) -> dict[str, str]:
    """Environment for a CLI or server subprocess: isolated home and credentials file."""
    env = dict(os.environ)
    env["INFINITY_WORKFLOWS_HOME"] = str(home)
    env["XDG_CONFIG_HOME"] = str(config)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("INFINITY_API_TOKEN", None)
    return env


def run_cli(*args: str, env: dict[str, str], check: bool = True, timeout: float = 120,
            ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "infinity_workflows", *args], env=env,
                          capture_output=True, text=True, check=check, timeout=timeout,
                          cwd=ROOT)


def _store(home: Path):
    """The server's store for ``home``, opened as ``token create`` opens it."""
    from infinity_workflows.home import resolve_home
    from infinity_workflows.server.store import Store

    return Store(resolve_home(home).ensure().database)


@dataclass
class LiveServer:
    """A server subprocess. ``url`` ends with '/'; ``token`` belongs to a fresh user.

    A *tenant* (:meth:`tenant`) is the same server seen with another token; it cannot stop,
    kill or restart the server it shares.
    """

    home: Path
    config: Path
    extra_args: list[str] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    token: str = ""
    shared: bool = False
    tokens_made: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def env(self) -> dict[str, str]:
        return cli_env(self.home, self.config)

    @property
    def log_path(self) -> Path:
        return self.home / "server-test.log"

    def new_token(self, name: str = "test", generators: Iterable[str] | None = None) -> str:
        """A new token, made in process as ``token create`` makes one. ``generators``: the
        names it may use (None: every generator; empty: none, as ``--no-generators``)."""
        if isinstance(generators, str):  # a name, or a CLI flag, where a list belongs
            raise TypeError(f"generators must be a list of names, not {generators!r}")
        store = _store(self.home)
        try:
            token = store.tokens.create(name, None if generators is None else list(generators))
        finally:
            store.close()
        self.tokens_made.append(token)
        return token

    def revoke_tokens_made(self) -> None:
        """Revoke every token :meth:`new_token` made here: their unfinished jobs are
        cancelled (so the next user of a shared server finds the workers free)."""
        store = _store(self.home)
        try:
            for token in self.tokens_made:
                token_id = store.tokens.id_for(token)
                if token_id is not None:
                    store.tokens.revoke(token_id)
        finally:
            store.close()
        self.tokens_made.clear()

    def tenant(self, name: str) -> LiveServer:
        """This server seen by a new user ``name``: its own token, the same process."""
        view = dataclasses.replace(self, shared=True, tokens_made=[], extra_args=[
            *self.extra_args])
        view.token = view.new_token(name)
        return view

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Token {token or self.token}"}

    def get(self, path: str, token: str | None = None, **kw) -> requests.Response:
        return requests.get(self.url + path, headers=self.headers(token), timeout=30, **kw)

    def post(self, path: str, json_body=None, token: str | None = None, **kw
             ) -> requests.Response:
        return requests.post(self.url + path, json=json_body, headers=self.headers(token),
                             timeout=60, **kw)

    def _own(self, action: str) -> None:
        if self.shared:
            raise RuntimeError(f"cannot {action} a server shared by the whole session; take "
                               "one of your own from make_server")

    def start(self, timeout: float = 120) -> None:
        self._own("start")
        self.home.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "infinity_workflows", "serve", "--host", "127.0.0.1",
               "--port", str(self.port), "--home", str(self.home), "--generator", TINY,
               *self.extra_args]
        log = self.log_path.open("ab")
        # Own process group, so kill() takes the worker processes down with the server,
        # as a machine crash would.
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                     cwd=ROOT, start_new_session=True)
        proc = self.proc

        def answers() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}:\n"
                                   + self.log_path.read_text()[-4000:])
            try:
                return requests.get(self.url + "api/schema/", timeout=2).status_code == 200
            except requests.RequestException:
                return False
        try:
            wait_for(answers, timeout=timeout, interval=0.05, what="the server to answer")
        except AssertionError:
            raise RuntimeError("server did not answer in time:\n"
                               + self.log_path.read_text()[-4000:]) from None

    def stop(self) -> None:
        """Graceful stop (SIGTERM), as Ctrl-C would."""
        self._own("stop")
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)

    def kill(self) -> None:
        """kill -9 of the server and its workers, as a crash would."""
        self._own("kill")
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def restart(self) -> None:
        self.stop()
        self.start()

    @classmethod
    def launch(cls, base: Path, *serve_args: str, token_name: str = "owner") -> LiveServer:
        """A started server with its home and credentials under ``base`` and a fresh token."""
        srv = cls(home=base / "home", config=base / "config", extra_args=list(serve_args))
        srv.home.mkdir(parents=True)
        srv.token = srv.new_token(token_name)
        srv.start()
        return srv


def portal_login(url: str, token: str, browser: requests.Session | None = None
                 ) -> tuple[requests.Session, requests.Response]:
    """Log in to the portal at ``url`` as a browser does: fetch the form (and its CSRF
    value), then post it. Returns the session holding the cookies and the POST's answer."""
    browser = browser or requests.Session()
    form = browser.get(url + "portal/login/", timeout=30)
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    answer = browser.post(url + "portal/login/", timeout=30, allow_redirects=False,
                          data={"token": token, "csrf": csrf.group(1) if csrf else ""})
    return browser, answer
