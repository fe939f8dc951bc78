"""Shared fixtures: a real server process on a free loopback port, spoken to over HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]
TINY = "tests.support.tiny:TinyGenerator"
ARTIFACTS = ROOT / "tests" / "artifacts"


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


@dataclass
class LiveServer:
    """A server subprocess. ``url`` ends with '/'; ``token`` belongs to a fresh user."""

    home: Path
    config: Path
    extra_args: list[str] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    token: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def env(self) -> dict[str, str]:
        return cli_env(self.home, self.config)

    @property
    def log_path(self) -> Path:
        return self.home / "server-test.log"

    def new_token(self, name: str = "test", *extra_args: str) -> str:
        """A new token from ``token create``; ``extra_args`` such as ``--no-generators``."""
        return run_cli("token", "create", "--home", str(self.home), "--name", name,
                       *extra_args, env=self.env).stdout.strip().splitlines()[-1]

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Token {token or self.token}"}

    def get(self, path: str, token: str | None = None, **kw) -> requests.Response:
        return requests.get(self.url + path, headers=self.headers(token), timeout=30, **kw)

    def post(self, path: str, json_body=None, token: str | None = None, **kw
             ) -> requests.Response:
        return requests.post(self.url + path, json=json_body, headers=self.headers(token),
                             timeout=60, **kw)

    def start(self, timeout: float = 60) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "infinity_workflows", "serve", "--host", "127.0.0.1",
               "--port", str(self.port), "--home", str(self.home), "--generator", TINY,
               *self.extra_args]
        log = self.log_path.open("ab")
        # Own process group, so kill() takes the worker processes down with the server,
        # as a machine crash would.
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                     cwd=ROOT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n"
                                   + self.log_path.read_text()[-4000:])
            try:
                if requests.get(self.url + "api/schema/", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not answer in time:\n" + self.log_path.read_text()[-4000:])

    def stop(self) -> None:
        """Graceful stop (SIGTERM), as Ctrl-C would."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)

    def kill(self) -> None:
        """kill -9 of the server and its workers, as a crash would."""
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


def clear_generator_caches() -> None:
    """Forget the client's installed generators (they are looked up once per process)."""
    from infinity_workflows import generators

    generators.installed_generators.cache_clear()
    generators.installed_generator.cache_clear()


@pytest.fixture
def tiny_installed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The tiny generator known to the client too (INFINITY_WORKFLOWS_GENERATORS)."""
    monkeypatch.setenv("INFINITY_WORKFLOWS_GENERATORS", TINY)
    clear_generator_caches()
    yield
    monkeypatch.delenv("INFINITY_WORKFLOWS_GENERATORS")
    clear_generator_caches()


@pytest.fixture
def make_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """Factory: ``make_server("--workers", "1")`` starts a fresh server with a fresh token."""
    started: list[LiveServer] = []

    def make(*extra_args: str) -> LiveServer:
        srv = LiveServer.launch(tmp_path_factory.mktemp("server"), *extra_args)
        started.append(srv)
        return srv

    yield make
    for srv in started:
        srv.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server per test module, with the tiny generator and two workers."""
    srv = LiveServer.launch(tmp_path_factory.mktemp("server"), "--workers", "2")
    yield srv
    srv.stop()


@pytest.fixture
def scripted() -> Iterator:
    """A loopback HTTP server playing back planned answers (tests/support/scripted.py)."""
    from tests.support.scripted import Scripted

    srv = Scripted()
    srv.start()
    yield srv
    srv.stop()


def portal_login(url: str, token: str, browser: requests.Session | None = None
                 ) -> tuple[requests.Session, requests.Response]:
    """Log in to the portal at ``url`` as a browser does: fetch the form (and its CSRF
    value), then post it. Returns the session holding the cookies and the POST's answer."""
    import re

    browser = browser or requests.Session()
    form = browser.get(url + "portal/login/", timeout=30)
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    answer = browser.post(url + "portal/login/", timeout=30, allow_redirects=False,
                          data={"token": token, "csrf": csrf.group(1) if csrf else ""})
    return browser, answer


def wait_for(predicate, timeout: float = 60, interval: float = 0.1, what: str = "condition"):
    """Poll ``predicate`` until it returns something truthy; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
