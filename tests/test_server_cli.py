"""The command line: ``token create``, the first ``serve`` on a fresh home, home resolution."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import platformdirs
import pytest
import requests

from infinity_workflows.home import HOME_ENV, resolve_home
from tests.support.server import LiveServer, run_cli


def test_token_create_prints_a_working_token_and_stores_only_its_hash(server: LiveServer
                                                                      ) -> None:
    out = run_cli("token", "create", "--home", str(server.home), "--name", "cli-user",
                  env=server.env).stdout
    token = out.strip().splitlines()[-1]
    assert len(token) >= 40 and " " not in token
    assert requests.get(server.url + "api/jobs/", headers=server.headers(token),
                        timeout=10).status_code == 200
    raw = b"".join(p.read_bytes() for p in server.home.glob("infinity.sqlite3*"))
    assert token.encode() not in raw  # a copied database reveals no token


@pytest.mark.slow
def test_first_serve_creates_and_saves_a_token_without_logging_it(tmp_path: Path) -> None:
    srv = LiveServer(home=tmp_path / "home", config=tmp_path / "config",
                     extra_args=["--workers", "1"])
    srv.start()
    try:
        creds = srv.config / "infinity-workflows" / "credentials.json"
        token = json.loads(creds.read_text())[srv.url]
        assert stat.S_IMODE(creds.stat().st_mode) == 0o600
        assert stat.S_IMODE(creds.parent.stat().st_mode) == 0o700
        assert requests.get(srv.url + "api/jobs/", headers=srv.headers(token),
                            timeout=10).status_code == 200
        log = srv.log_path.read_text()
        assert str(creds) in log and token not in log
        secret = srv.home / "secret.key"
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600
        assert (srv.home / "infinity.sqlite3").exists() and (srv.home / "results").is_dir()
        # A second start keeps the token: no new one is made when one exists.
        srv.stop()
        srv.start()
        assert json.loads(creds.read_text()) == {srv.url: token}
    finally:
        srv.stop()


def test_serve_help_lists_its_options(tmp_path: Path) -> None:
    env = LiveServer(home=tmp_path / "h", config=tmp_path / "c").env
    text = run_cli("serve", "--help", env=env).stdout
    for option in ("--host", "--port", "--home", "--workers", "--generator", "--executor",
                   "--max-jobs-per-batch", "--max-body-mb", "--url-ttl-seconds",
                   "--max-attempts"):
        assert option in text
    bad = run_cli("serve", "--workers", "0", env=env, check=False)
    assert bad.returncode == 2 and "at least 1" in bad.stderr


def test_home_comes_from_argument_then_environment_then_user_data_dir(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "from-env"))
    assert resolve_home(tmp_path / "explicit").root == tmp_path / "explicit"
    assert resolve_home().root == tmp_path / "from-env"
    monkeypatch.delenv(HOME_ENV)
    expected = Path(platformdirs.user_data_dir("infinity-workflows")).resolve()
    assert resolve_home().root == expected
    home = resolve_home(tmp_path / "made").ensure()
    assert home.results.is_dir() and home.work.is_dir() and home.gallery.is_dir()
    assert home.database == tmp_path / "made" / "infinity.sqlite3"
