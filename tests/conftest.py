"""Shared fixtures: real server processes on free loopback ports, spoken to over HTTP.

One server runs for the whole session (``server``: each test module gets its own token on
it, revoked when the module ends, so what a module leaves queued or running is cancelled
before the next one starts). A test that restarts, kills or starts a server with flags of its
own takes one from ``make_server``. ``strict_server`` is a second shared server with small
limits and short-lived result links, for the tests about those.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

# Re-exported: the benchmarks launch servers with the suite's launcher.
from tests.support.server import (  # noqa: F401
    ROOT,
    TINY,
    LiveServer,
    cli_env,
    free_port,
    portal_login,
    run_cli,
)
from tests.support.waiting import wait_for  # noqa: F401

ARTIFACTS = ROOT / "tests" / "artifacts"
GALLERY = "tests.support.tiny:TinyGalleryGenerator"
NO_PREVIEW = "tests.support.tiny:NoPreviewGenerator"
VIDEO = "tests.support.tiny:TinyVideoGenerator"

# The strict server's limits, which its tests name in their assertions.
STRICT_MAX_JOBS = 3
STRICT_MAX_BODY_MB = 0.05
STRICT_URL_TTL_S = 2


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
    """Factory: ``make_server("--workers", "1")`` starts a fresh server of the test's own
    (to restart, kill, or run with flags of its own) with a fresh token."""
    started: list[LiveServer] = []

    def make(*extra_args: str) -> LiveServer:
        srv = LiveServer.launch(tmp_path_factory.mktemp("server"), *extra_args)
        started.append(srv)
        return srv

    yield make
    for srv in started:
        srv.stop()


def _session_server(base: Path, *serve_args: str) -> Iterator[LiveServer]:
    srv = LiveServer.launch(base, *serve_args, token_name="session")
    try:
        yield srv
    finally:
        srv.stop()


def _tenant(shared: LiveServer, request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    tenant = shared.tenant(request.module.__name__.rsplit(".", 1)[-1])
    yield tenant
    tenant.revoke_tokens_made()


@pytest.fixture(scope="session")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The session's server: tiny-v1, tiny-gallery-v1, tiny-video-v1 and VisionFit, two
    workers."""
    yield from _session_server(tmp_path_factory.mktemp("shared"), "--workers", "2",
                               "--generator", GALLERY, "--generator", VIDEO)


@pytest.fixture(scope="module")
def server(shared_server: LiveServer, request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    """The shared server with a token of this module's own."""
    yield from _tenant(shared_server, request)


@pytest.fixture(scope="session")
def strict_shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Small limits (STRICT_*), links that expire in seconds, one worker, and a generator
    without previews beside tiny-v1."""
    yield from _session_server(
        tmp_path_factory.mktemp("strict"), "--workers", "1",
        "--max-jobs-per-batch", str(STRICT_MAX_JOBS), "--max-body-mb", str(STRICT_MAX_BODY_MB),
        "--url-ttl-seconds", str(STRICT_URL_TTL_S), "--generator", NO_PREVIEW)


@pytest.fixture(scope="module")
def strict_server(strict_shared_server: LiveServer, request: pytest.FixtureRequest
                  ) -> Iterator[LiveServer]:
    """The strict server with a token of this module's own."""
    yield from _tenant(strict_shared_server, request)


@pytest.fixture
def kernel_env(server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
               ) -> LiveServer:
    """The environment a notebook kernel inherits: the module's token by env var, the
    server's URL, no saved credentials of the machine's user."""
    for key, value in cli_env(server.home, tmp_path / "config").items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("INFINITY_API_TOKEN", server.token)
    monkeypatch.setenv("INFINITY_SERVER_URL", server.url)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    return server


@pytest.fixture(scope="session")
def vf_generator():
    """The real VisionFit generator, in this process."""
    from visionfit.generator import VisionFitGenerator

    return VisionFitGenerator()


@pytest.fixture(scope="session")
def vis_batch_folder(vf_generator, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A downloaded-batch folder of real VisionFit jobs (tests/support/visionfit_batch.py),
    rendered once for the session; tests read it and never change it."""
    from tests.support.visionfit_batch import render_batch

    return render_batch(vf_generator, tmp_path_factory.mktemp("vis-batch"))


@pytest.fixture
def scripted() -> Iterator:
    """A loopback HTTP server playing back planned answers (tests/support/scripted.py)."""
    from tests.support.scripted import Scripted

    srv = Scripted()
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No token or server in the environment, an empty credentials folder of our own."""
    for name in ("INFINITY_API_TOKEN", "INFINITY_API_SERVER", "INFINITY_SERVER_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path


@pytest.fixture
def tiny_session(server: LiveServer, clean_env: Path, monkeypatch: pytest.MonkeyPatch):
    """A Session of the tiny generator on the shared server, its token in the environment."""
    from infinity_workflows import Session

    monkeypatch.setenv("INFINITY_API_TOKEN", server.token)
    monkeypatch.setenv("INFINITY_API_SERVER", server.url)
    return Session(generator="tiny-v1", server=server.url)


@pytest.fixture
def lab(server: LiveServer, tmp_path: Path) -> Iterator[dict]:
    """JupyterLab beside the session's server (VisionFit among its generators), for the
    browser tests (tests/support/browser.py)."""
    from tests.support.browser import running_lab

    with running_lab(server, tmp_path) as started:
        yield started
