"""A job recorded as succeeded survives a power cut: its archive is synced, renamed into
place and its folder synced before the outcome is committed, with SQLite's synchronous=FULL.

The order of system calls is observed on a real render into real folders: ``os.fsync`` and
``os.replace`` are wrapped to note each call and then do it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from infinity_workflows.server.executors.archive import store_archive_bytes
from infinity_workflows.server.executors.base import JobTask
from infinity_workflows.server.executors.local import run_job_locally
from infinity_workflows.server.store import Store

TINY = "tests.support.tiny:TinyGenerator"


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        kind = "folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file"
        seen.append(("fsync", f"{kind}:{os.readlink(f'/proc/self/fd/{fd}')}"))
        real_fsync(fd)

    def replace(src, dst) -> None:
        seen.append(("replace", str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return seen


def _order_is_durable(calls: list[tuple[str, str]], target: Path) -> None:
    rename = calls.index(("replace", str(target)))
    before, after = calls[:rename], calls[rename + 1:]
    assert any(c[0] == "fsync" and c[1].startswith("file:") for c in before), calls
    assert ("fsync", f"folder:{target.parent}") in after, calls


def test_a_local_job_is_synced_renamed_and_its_folder_synced(tmp_path: Path, calls) -> None:
    results, work = tmp_path / "results", tmp_path / "work"
    results.mkdir()
    work.mkdir()
    task = JobTask(job_id="6a1f2c3e-0000-4000-8000-000000000001", generator="tiny-v1",
                   params={"frames": 2, "color": "red", "scale": 1.0, "flag": False,
                           "sleep_s": 0.0, "payload_kb": 1, "fail": False, "crash": False,
                           "state": None},
                   is_preview=False, seed=7, generator_specs=(TINY,))
    run_job_locally(task, str(results), str(work))
    target = results / f"{task.job_id}.zip"
    assert target.is_file()
    _order_is_durable(calls, target)


def test_a_remote_archive_is_stored_durably(tmp_path: Path, calls) -> None:
    results = tmp_path / "results"
    results.mkdir()
    target = store_archive_bytes(b"PK\x05\x06" + b"\0" * 18, results, "j")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    _order_is_durable(calls, target)


def test_the_database_commits_with_synchronous_full(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3")
    assert store.db.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert store.db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
