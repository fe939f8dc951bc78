"""The client's HTTP layer: auth, retries, timeouts and error mapping.

Flaky-network cases (503 then success, a silent server) use a small real HTTP server from
the standard library, since the project's server never answers 503 on purpose; everything
else talks to the real project server.
"""

from __future__ import annotations

import io
import json
import logging
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests

from infinity_workflows import Session, api
from infinity_workflows.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    NotFoundError,
    ServerError,
    ServerUnreachable,
)
from tests.conftest import STRICT_MAX_JOBS
from tests.support.scripted import Scripted
from tests.support.server import free_port

SECRET = "s3cret-token-value"


def test_token_auth_hides_the_token() -> None:
    auth = api.TokenAuth(SECRET)
    assert SECRET not in repr(auth)
    t = api.Transport("http://127.0.0.1:1", SECRET)
    assert SECRET not in repr(t) and SECRET not in repr(t.http.auth)
    with pytest.raises(ConfigurationError):
        api.TokenAuth("two words")


def test_token_goes_in_the_header_and_netrc_cannot_replace_it(
        scripted: Scripted, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine 127.0.0.1 login someone password netrc-password\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("HOME", str(tmp_path))
    scripted.plan = [(200, [{"name": "g"}], 0.0)]
    assert api.list_generators(api.Transport(scripted.url, SECRET)) == [{"name": "g"}]
    (request,) = scripted.seen
    assert request["path"] == "/api/jobs/"
    assert request["headers"]["Authorization"] == f"Token {SECRET}"
    assert SECRET not in request["path"]


def test_get_is_retried_on_503_then_succeeds(scripted: Scripted) -> None:
    scripted.plan = [(503, {"detail": "busy"}, 0.0), (502, b"bad gateway", 0.0),
                     (200, [{"name": "tiny-v1"}], 0.0)]
    t = api.Transport(scripted.url, SECRET, backoff=0.01)
    assert api.list_generators(t) == [{"name": "tiny-v1"}]
    assert [r["method"] for r in scripted.seen] == ["GET"] * 3


def test_submit_retry_reuses_one_idempotency_key(scripted: Scripted) -> None:
    scripted.plan = [(503, {"detail": "busy"}, 0.0), (201, {"id": "b"}, 0.0)]
    t = api.Transport(scripted.url, SECRET, backoff=0.01)
    out = api.submit_batch(t, name="n", generator="tiny-v1", job_params=[{"frames": 2}],
                           is_preview=False, idempotency_key="key-1")
    assert out == {"id": "b"}
    keys = [r["headers"]["Idempotency-Key"] for r in scripted.seen]
    assert keys == ["key-1", "key-1"]
    body = json.loads(scripted.seen[0]["body"])
    assert body == {"name": "n", "job_runs": [
        {"name": "tiny-v1", "is_preview": False, "param_values": {"frames": 2}}]}


def test_persistent_503_becomes_server_error_with_detail(scripted: Scripted) -> None:
    scripted.plan = [(503, {"detail": "the queue is full"}, 0.0)] * 3
    t = api.Transport(scripted.url, SECRET, retries=2, backoff=0.01)
    with pytest.raises(ServerError) as info:
        api.list_generators(t)
    assert info.value.status == 503 and "the queue is full" in str(info.value)
    assert len(scripted.seen) == 3


def test_closed_port_is_server_unreachable_with_a_hint() -> None:
    t = api.Transport(f"http://127.0.0.1:{free_port()}/", SECRET, retries=1, backoff=0.01)
    with pytest.raises(ServerUnreachable) as info:
        api.list_generators(t)
    text = str(info.value)
    assert "infinity-workflows serve" in text and "run_notebooks.sh" in text
    assert t.server in text and SECRET not in text


def test_silent_server_times_out_as_unreachable(scripted: Scripted) -> None:
    scripted.plan = [(200, [], 2.0)] * 2
    t = api.Transport(scripted.url, SECRET, timeout=(1.0, 0.3), retries=0)
    started = time.monotonic()
    with pytest.raises(ServerUnreachable, match="no answer within 0.3 s"):
        api.list_generators(t)
    assert time.monotonic() - started < 2.0


def test_result_links_are_fetched_without_the_token(scripted: Scripted) -> None:
    scripted.plan = [(200, b"zip-bytes", 0.0)]
    t = api.Transport(scripted.url, SECRET)
    out = io.BytesIO()
    assert api.download_result(t, scripted.url + "results/x/?sig=abc", out) == 9
    assert out.getvalue() == b"zip-bytes"
    assert "Authorization" not in scripted.seen[0]["headers"]


def test_errors_from_the_real_server_are_typed(server) -> None:
    t = api.Transport(server.url, server.token)
    with pytest.raises(NotFoundError, match="404"):
        api.get_generator(t, "no-such-generator")
    with pytest.raises(NotFoundError):
        api.get_batch(t, "00000000-0000-4000-8000-000000000000")
    with pytest.raises(AuthenticationError) as info:
        api.list_generators(api.Transport(server.url, SECRET))
    assert info.value.status == 401 and SECRET not in str(info.value)
    with pytest.raises(BadRequestError) as bad:
        api.submit_batch(t, name="bad", generator="tiny-v1",
                         job_params=[{"frames": 2}, {"frames": 5000}, {"colour": "red"}],
                         is_preview=False, idempotency_key="bad-key")
    rules = {(e["job_index"], e["param"], e["rule"]) for e in bad.value.errors}
    assert (1, "frames", "max") in rules and (2, "colour", "unknown_parameter") in rules
    assert "frames" in str(bad.value) and "5000" in str(bad.value)


def test_no_request_carries_the_token_in_its_url(server) -> None:
    """Every URL the client builds is token-free (the token travels only in the header)."""
    seen: list[str] = []
    t = api.Transport(server.url, server.token)
    t.http.hooks["response"].append(lambda r, *a, **k: seen.append(r.url))
    api.list_generators(t)
    api.get_generator(t, "tiny-v1")
    assert seen and all(server.token not in url for url in seen)
    assert all(requests.utils.urlparse(u).path.endswith("/") for u in seen)


def test_server_limits_reach_the_user_with_the_servers_words(strict_server) -> None:
    srv = strict_server  # at most STRICT_MAX_JOBS jobs and 0.05 MB per request
    t = api.Transport(srv.url, srv.token)
    with pytest.raises(BadRequestError) as too_many:
        api.submit_batch(t, name="big", generator="tiny-v1",
                         job_params=[{}] * (STRICT_MAX_JOBS + 1), is_preview=False,
                         idempotency_key="k1")
    assert str(STRICT_MAX_JOBS) in str(too_many.value)
    with pytest.raises(APIError) as too_big:
        api.submit_batch(t, name="x" * (2 << 20), generator="tiny-v1", job_params=[{}],
                         is_preview=False, idempotency_key="k2")
    assert too_big.value.status == 413 and type(too_big.value) is APIError
    assert api.list_batches(t, *_window()) == []  # nothing was created


def _window() -> tuple[datetime, datetime]:
    now = datetime.now(timezone.utc)
    return now - timedelta(days=1), now + timedelta(minutes=1)


def test_the_token_never_reaches_a_log_line(server, caplog, tmp_path: Path) -> None:
    caplog.set_level(logging.DEBUG)
    session = Session(token=server.token, generator="tiny-v1", server=server.url)
    batch = session.submit([{}])
    batch.download(tmp_path / "d", wait=True, polling_interval=0.1, timeout=60, progress=False)
    with pytest.raises(AuthenticationError) as info:
        Session(token="wrong-" + server.token, generator="tiny-v1", server=server.url)
    assert caplog.records, "debug logging should have recorded the requests"
    assert all(server.token not in r.getMessage() for r in caplog.records)
    assert server.token not in str(info.value)
