"""Where the client finds a token, and the file that remembers tokens per server.

Order: the ``token`` argument, else ``INFINITY_API_TOKEN``, else the credentials file
``$XDG_CONFIG_HOME/infinity-workflows/credentials.json`` (``~/.config/...`` by default):
a JSON map of server URL to token, mode 0600 in a 0700 folder.

A token belongs to one server. The environment's token is for the environment's server
(``INFINITY_API_SERVER``, else ``INFINITY_SERVER_URL``, else the local default), and is
never sent anywhere else: a record notebook naming another server (one someone mailed you,
say) gets that server's entry from the credentials file, or "no token for <server>".
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .errors import ConfigurationError
from .files import write_text_atomic

__all__ = [
    "LOCAL_SERVER",
    "SERVER_ENVS",
    "TOKEN_ENV",
    "environment_server",
    "credentials_path",
    "forget_token",
    "normalise_server",
    "resolve_token",
    "saved_token",
    "save_token",
]

TOKEN_ENV = "INFINITY_API_TOKEN"
SERVER_ENVS = ("INFINITY_API_SERVER", "INFINITY_SERVER_URL")
LOCAL_SERVER = "http://127.0.0.1:8765/"


def normalise_server(server: str) -> str:
    """``http://host:port`` -> ``http://host:port/``; refuses what is not an http(s) URL."""
    server = server.strip()
    if not server.startswith(("http://", "https://")):
        raise ConfigurationError(
            f"server {server!r} must be an http:// or https:// URL, "
            "for example http://127.0.0.1:8765/"
        )
    return server.rstrip("/") + "/"


def credentials_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "infinity-workflows" / "credentials.json"


def _load(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigurationError(
            f"credentials file {path} cannot be read ({exc}); fix or delete it"
        ) from exc
    if not isinstance(data, dict):
        raise ConfigurationError(f"credentials file {path} must hold a JSON object; delete it")
    return {str(k): str(v) for k, v in data.items()}


def saved_token(server: str) -> str | None:
    return _load(credentials_path()).get(normalise_server(server))


def _write(path: Path, data: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path.parent, 0o700)
    # Never a half-written file, never a moment of wider mode.
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True), permissions=0o600)


def save_token(server: str, token: str) -> Path:
    """Remember ``token`` for ``server``; returns the file written."""
    path = credentials_path()
    data = _load(path)
    data[normalise_server(server)] = token
    _write(path, data)
    return path


def forget_token(server: str) -> None:
    path = credentials_path()
    data = _load(path)
    if data.pop(normalise_server(server), None) is not None:
        _write(path, data)


def environment_server() -> str:
    """The one server ``INFINITY_API_TOKEN`` is for."""
    for name in SERVER_ENVS:
        if os.environ.get(name, "").strip():
            return normalise_server(os.environ[name])
    return LOCAL_SERVER


def resolve_token(token: str | None, server: str) -> str:
    """The token to use for ``server``, or a ConfigurationError naming the three sources."""
    if token:
        return token
    server = normalise_server(server)
    env = os.environ.get(TOKEN_ENV)
    if env and server == environment_server():
        return env
    saved = saved_token(server)
    if saved:
        return saved
    elsewhere = (f" ({TOKEN_ENV} is set, but for {environment_server()}: it goes to no other "
                 f"server; set {SERVER_ENVS[0]}={server} if it is really this one's)"
                 if env else "")
    raise ConfigurationError(
        f"no token for {server}{elsewhere}: pass token=..., set the environment variable "
        f"{TOKEN_ENV} (with {SERVER_ENVS[0]} naming the server), or save one in "
        f"{credentials_path()} (the local server saves one there the first time it starts; "
        "`infinity-workflows token create` makes another)"
    )
