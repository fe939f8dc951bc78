"""Small helpers the server-level suites share: submit a batch, wait for it, read results."""

from __future__ import annotations

import io
import time
import zipfile
from typing import Any

import requests

__all__ = ["archive_entries", "submit", "summary", "wait_finished"]

TINY = "tiny-v1"


def submit(srv, params: list[dict[str, Any]], *, preview: bool = False, name: str = "suite",
           token: str | None = None) -> dict[str, Any]:
    """POST a batch of tiny jobs; the 201 body."""
    body = {"name": name, "job_runs": [{"name": TINY, "is_preview": preview,
                                        "param_values": p} for p in params]}
    response = srv.post("api/batch/", body, token=token)
    assert response.status_code == 201, response.text
    return response.json()


def summary(srv, batch_id: str, token: str | None = None) -> list[dict[str, Any]]:
    response = srv.get(f"api/batch/{batch_id}/summary/", token=token)
    assert response.status_code == 200, response.text
    return response.json()["job_runs"]


def wait_finished(srv, batch_id: str, timeout: float = 120, token: str | None = None
                  ) -> list[dict[str, Any]]:
    """Poll summary/ until no job is in progress; its job_runs then."""
    deadline = time.monotonic() + timeout
    while True:
        runs = summary(srv, batch_id, token)
        if not any(r["in_progress"] for r in runs):
            return runs
        if time.monotonic() > deadline:
            states = [r["status"] for r in runs]
            raise AssertionError(f"batch {batch_id} still running after {timeout}s: {states}")
        time.sleep(0.2)


def archive_entries(result_url: str) -> dict[str, bytes]:
    """Download a result (no auth header: the signed link is the credential) and unzip it
    in memory: ``{entry name: bytes}``."""
    response = requests.get(result_url, timeout=60)
    assert response.status_code == 200, response.text
    with zipfile.ZipFile(io.BytesIO(response.content)) as zf:
        assert zf.testzip() is None
        return {name: zf.read(name) for name in zf.namelist()}
