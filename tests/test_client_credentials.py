"""Where the client finds its token, and the credentials file it reads."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from infinity_workflows import AuthenticationError, ConfigurationError, Session
from infinity_workflows.credentials import (
    SERVER_ENVS,
    TOKEN_ENV,
    credentials_path,
    forget_token,
    resolve_token,
    save_token,
)

SERVER = "http://127.0.0.1:9/"


@pytest.fixture(autouse=True)
def isolated_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    for name in SERVER_ENVS:
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "config"


def test_argument_beats_environment_beats_file(monkeypatch: pytest.MonkeyPatch) -> None:
    save_token(SERVER, "from-file")
    assert resolve_token(None, SERVER) == "from-file"
    monkeypatch.setenv(TOKEN_ENV, "from-env")
    monkeypatch.setenv("INFINITY_API_SERVER", SERVER)
    assert resolve_token(None, SERVER) == "from-env"
    assert resolve_token("from-arg", SERVER) == "from-arg"


def test_file_entries_are_per_server() -> None:
    save_token("http://127.0.0.1:9", "nine")  # saved without the slash, found with it
    save_token("http://127.0.0.1:10/", "ten")
    assert resolve_token(None, "http://127.0.0.1:9/") == "nine"
    assert resolve_token(None, "http://127.0.0.1:10") == "ten"
    forget_token("http://127.0.0.1:9/")
    with pytest.raises(ConfigurationError):
        resolve_token(None, "http://127.0.0.1:9/")


def test_missing_token_names_all_three_sources() -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve_token(None, SERVER)
    text = str(info.value)
    assert "token=" in text and TOKEN_ENV in text and str(credentials_path()) in text
    # The session reports it before any network call (nothing listens on port 9).
    with pytest.raises(ConfigurationError, match=TOKEN_ENV):
        Session(server=SERVER, generator="tiny-v1")


def test_credentials_file_is_private(isolated_config: Path) -> None:
    path = save_token(SERVER, "tok")
    assert path == isolated_config / "infinity-workflows" / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert json.loads(path.read_text()) == {SERVER: "tok"}
    save_token("http://other:1/", "tok2")  # rewriting keeps the mode
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_broken_credentials_file_is_a_clear_error(isolated_config: Path) -> None:
    path = credentials_path()
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with pytest.raises(ConfigurationError, match="fix or delete it"):
        resolve_token(None, SERVER)


def test_session_uses_each_source_against_the_real_server(
        server, monkeypatch: pytest.MonkeyPatch) -> None:
    save_token(server.url, server.token)
    assert Session(server=server.url, generator="tiny-v1").generator == "tiny-v1"
    monkeypatch.setenv(TOKEN_ENV, "not-a-known-token")
    monkeypatch.setenv("INFINITY_API_SERVER", server.url)
    with pytest.raises(AuthenticationError) as info:  # the environment wins over the file
        Session(server=server.url, generator="tiny-v1")
    assert "not-a-known-token" not in str(info.value)
    session = Session(token=server.token, server=server.url, generator="tiny-v1")
    assert server.token not in repr(session) and server.token not in repr(session.transport)
