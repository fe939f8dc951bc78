"""Helpers of the REST API and portal suites: raw submissions (the test reads the answer
itself), waiting for a batch to finish, checking a refusal's shape, logging in."""

from __future__ import annotations

import requests

from tests.support.server import LiveServer, portal_login
from tests.support.waiting import wait_for

__all__ = ["TINY", "assert_error", "finished_summary", "job", "login", "refused_once_expired",
           "submit"]

TINY = "tiny-v1"


def job(is_preview: bool = False, **params) -> dict:
    return {"name": TINY, "is_preview": is_preview, "param_values": params}


def submit(srv: LiveServer, runs: list[dict], name: str = "batch", token: str | None = None,
           headers: dict[str, str] | None = None) -> requests.Response:
    """POST a batch of ``runs``; the answer, whatever it is."""
    return requests.post(srv.url + "api/batch/", json={"name": name, "job_runs": runs},
                         headers={**srv.headers(token), **(headers or {})}, timeout=60)


def finished_summary(srv: LiveServer, batch_id: str, token: str | None = None,
                     timeout: float = 120) -> dict:
    """The batch's summary once no job of it is in progress."""
    def done():
        body = srv.get(f"api/batch/{batch_id}/summary/", token=token).json()
        return body if not any(j["in_progress"] for j in body["job_runs"]) else None
    return wait_for(done, timeout=timeout, interval=0.1, what=f"batch {batch_id} to finish")


def assert_error(resp: requests.Response, status: int, rule: str | None = None) -> dict:
    """A refusal with ``status``: JSON with a ``detail`` sentence and an ``errors`` list
    (holding ``rule`` when given); its body."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert isinstance(body["detail"], str) and len(body["detail"]) > 20
    assert isinstance(body["errors"], list)
    if rule is not None:
        assert rule in {e["rule"] for e in body["errors"]}, body
    return body


def login(srv: LiveServer, token: str | None = None) -> requests.Session:
    """A browser logged in to the portal with ``token`` (default: the server's), after
    checking the session cookie's attributes."""
    browser, resp = portal_login(srv.url, token or srv.token)
    assert resp.status_code == 303 and resp.headers["location"] == "/portal/"
    cookie = resp.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert "Path=/" in cookie
    assert (token or srv.token) not in cookie  # the cookie is a session, not the token
    return browser


def refused_once_expired(link: str, timeout: float = 60) -> requests.Response:
    """Fetch the signed ``link`` until the server stops serving it (its lifetime is over);
    that refusal. Polling ends as soon as it expires, however long that takes."""
    def refused() -> list[requests.Response]:  # a Response is falsy when it is an error
        answer = requests.get(link, timeout=30)
        return [answer] if answer.status_code != 200 else []
    return wait_for(refused, timeout=timeout, interval=0.2, what=f"{link} to expire")[0]
