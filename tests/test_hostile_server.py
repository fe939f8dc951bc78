"""What a server (or a record naming one) sends is data: a hostile server on a real loopback
socket cannot turn its ids into paths, nor collect a token meant for another server."""

from __future__ import annotations

import io
import os
import shutil
import time
import uuid
import zipfile
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from infinity_workflows import Batch, Session
from infinity_workflows.credentials import SERVER_ENVS, TOKEN_ENV, save_token
from infinity_workflows.download import LIMITS_ENV, DownloadLimits
from infinity_workflows.errors import (
    ConfigurationError,
    DownloadError,
    JobTimeout,
    ProtocolError,
    ValidationError,
)
from infinity_workflows.records import batch_statuses, create_workflow_notebook, list_records
from infinity_workflows.trust import checked_id, folder_name
from infinity_workflows.workflow import download_folder
from tests.support.hostile import (
    HostileResults,
    craft_zip,
    endless,
    many_entries,
    serve_bytes,
    trickle,
    trickle_headers,
    zip_bomb,
)
from tests.support.scripted import Scripted

SECRET = "tok-meant-for-my-own-server-0123456789"
GENERATOR = {"name": "tiny-v1", "version": "1", "description": "", "options": {"preview": True},
             "params": [{"name": "frames", "type": "int", "default_value": 1,
                         "options": {"min": 1, "max": 10}, "description": ""}]}


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for name in (TOKEN_ENV, LIMITS_ENV, *SERVER_ENVS):
        monkeypatch.delenv(name, raising=False)


def _zip_of(root_name: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr(f"{root_name}/job.json", b"{}")
    return out.getvalue()


@pytest.mark.parametrize("evil", ["../../../victim", "/ABSOLUTE/victim", "victim"])
def test_job_ids_that_are_paths_never_become_files(scripted: Scripted, tmp_path: Path,
                                                   evil: str) -> None:
    victim = tmp_path / "victim.zip"
    victim.write_bytes(b"precious")
    evil = evil.replace("/ABSOLUTE", str(tmp_path))
    root = tmp_path / "a" / "b" / "c" / "downloads"
    batch_id = str(uuid.uuid4())
    scripted.plan = [
        (200, GENERATOR, 0.0),
        (200, {"id": batch_id, "name": "b", "created": "2026-01-01T00:00:00+00:00",
               "job_runs": [{"id": evil, "name": "tiny-v1", "is_preview": False,
                             "param_values": {}}]}, 0.0),
        (200, {"id": batch_id, "job_runs": [{"id": evil, "in_progress": False,
                                             "status": "succeeded", "error": None,
                                             "result_url": scripted.url + "r"}]}, 0.0),
        (200, _zip_of(evil), 0.0),
    ]
    sesh = Session(token=SECRET, generator="tiny-v1", server=scripted.url)
    with pytest.raises(ProtocolError, match="not a UUID") as info:
        sesh.batch_from_api(batch_id).download(root, progress=False)
    assert "nothing was written" in str(info.value)
    assert victim.read_bytes() == b"precious"
    assert not (tmp_path / "a").exists()
    assert [r["path"] for r in scripted.seen] == ["/api/jobs/tiny-v1/",
                                                  f"/api/batch/{batch_id}/"]


def test_a_batch_id_that_is_a_path_is_refused(scripted: Scripted) -> None:
    scripted.plan = [(200, GENERATOR, 0.0),
                     (200, {"id": "../..", "name": "x", "job_runs": []}, 0.0)]
    sesh = Session(token=SECRET, generator="tiny-v1", server=scripted.url)
    with pytest.raises(ProtocolError, match="batch id '../..'"):
        sesh.submit([{}])


def test_batch_names_become_one_harmless_folder(tmp_path: Path) -> None:
    for name in ("../../etc", "..", "/abs/path", "a/../../b", "x" * 300, "\u202e\x00evil"):
        folder = folder_name(name)
        assert folder not in ("", ".", "..") and "/" not in folder and "\\" not in folder
        assert len(folder) <= 100 and not folder.startswith(".")

    class Named:  # what download_folder reads of a batch
        name = "../../../outside"
        batch_id = str(uuid.uuid4())

    path = download_folder(Named(), tmp_path / "downloads")  # type: ignore[arg-type]
    assert path.resolve().is_relative_to((tmp_path / "downloads").resolve())
    with pytest.raises(ProtocolError):
        checked_id("abc", "a job id")


def test_the_environment_token_goes_only_to_its_own_server(
        scripted: Scripted, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A record someone mailed you names their server: `records` must not send it your
    token (nor may a Session made from that record)."""
    monkeypatch.setenv(TOKEN_ENV, SECRET)  # meant for the default local server
    create_workflow_notebook("download", generator="tiny-v1", server=scripted.url,
                             batch_id=str(uuid.uuid4()), records_dir=tmp_path / "records")
    found = list_records(tmp_path / "records")
    assert [r.server for r in found] == [scripted.url]
    statuses = batch_statuses(found, timeout=2)
    assert list(statuses.values()) == ["no token"]
    with pytest.raises(ConfigurationError, match=f"no token for {scripted.url}"):
        Session(generator="tiny-v1", server=scripted.url)
    assert scripted.seen == []  # not one request, so no token left the machine

    # Tied to it by INFINITY_API_SERVER, or saved for it, the server gets its own token.
    scripted.plan = [(200, GENERATOR, 0.0)]
    monkeypatch.setenv("INFINITY_API_SERVER", scripted.url)
    Session(generator="tiny-v1", server=scripted.url)
    monkeypatch.delenv("INFINITY_API_SERVER")
    save_token(scripted.url, "its-own-token")
    scripted.plan = [(200, GENERATOR, 0.0)]
    Session(generator="tiny-v1", server=scripted.url)
    sent = [r["headers"].get("Authorization") for r in scripted.seen]
    assert sent == [f"Token {SECRET}", "Token its-own-token"]


# -- downloads from a hostile server: limits, and a deadline however the bytes arrive --------
@pytest.fixture
def hostile() -> Iterator[HostileResults]:
    srv = HostileResults().start()
    yield srv
    srv.stop()


def _finished_batch(scripted: Scripted, results: list[str], *, summaries: int = 4
                    ) -> tuple[Batch, list[str]]:
    """A batch (played by ``scripted``) of finished jobs whose results are at ``results``."""
    batch_id = str(uuid.uuid4())
    job_ids = [str(uuid.uuid4()) for _ in results]
    scripted.plan = [
        (200, GENERATOR, 0.0),
        (200, {"id": batch_id, "name": "b", "created": "2026-01-01T00:00:00+00:00",
               "job_runs": [{"id": j, "name": "tiny-v1", "is_preview": False,
                             "param_values": {}} for j in job_ids]}, 0.0),
    ]
    batch = Session(token=SECRET, generator="tiny-v1", server=scripted.url
                    ).batch_from_api(batch_id)
    summary = {"id": batch_id, "job_runs": [
        {"id": j, "in_progress": False, "status": "succeeded", "error": None,
         "result_url": url} for j, url in zip(job_ids, results, strict=True)]}
    scripted.plan = [(200, summary, 0.0)] * summaries
    return batch, job_ids


def _left_in(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def _bytes_under(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _job_zip(job_id: str, payload: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr(f"{job_id}/job.json", b"{}")
        zf.writestr(f"{job_id}/payload.bin", payload)
    return out.getvalue()


@pytest.mark.parametrize("shape", ["one member of 1 GiB", "1,200 members of 1 MiB"])
def test_a_zip_bomb_is_refused_before_anything_is_extracted(
        scripted: Scripted, hostile: HostileResults, tmp_path: Path, shape: str) -> None:
    """About 1 MB that expands to 1 GiB or more: refused from its directory, at once."""
    batch, (job,) = _finished_batch(scripted, [hostile.url("bomb")])
    bomb = (zip_bomb(job) if shape.startswith("one")
            else zip_bomb(job, size=1 << 20, members=1200))
    assert len(bomb) < 2 << 20
    hostile.routes["/bomb"] = serve_bytes(bomb)
    root = tmp_path / "out"
    started = time.perf_counter()
    with pytest.raises(DownloadError) as info:
        batch.download(root, progress=False)
    elapsed = time.perf_counter() - started
    why = info.value.failed[job]
    assert "ratio" in why and "expands" in why and LIMITS_ENV in why, why
    assert job in str(info.value)
    assert _left_in(root) == ["batch_id.txt"]  # no .partial, no staging, no job folder
    assert _bytes_under(tmp_path) < 4096
    assert elapsed < 15, f"refusing a 1 MB archive took {elapsed:.1f} s"


@pytest.mark.parametrize("claimed", [None, 1], ids=["told", "claiming one"])
def test_an_archive_of_too_many_entries_is_refused(scripted: Scripted,
                                                   hostile: HostileResults,
                                                   tmp_path: Path, claimed: int | None
                                                   ) -> None:
    """100,001 entries, refused by counting the directory's headers (not by trusting its
    end record, nor by parsing it all first)."""
    batch, (job,) = _finished_batch(scripted, [hostile.url("many")])
    hostile.routes["/many"] = serve_bytes(many_entries(job, 100_001, claimed))
    root = tmp_path / "out"
    with pytest.raises(DownloadError) as info:
        batch.download(root, progress=False)
    assert "more than 100,000 entries" in info.value.failed[job]
    assert "entries=100000" in info.value.failed[job]
    assert _left_in(root) == ["batch_id.txt"]


def test_an_entry_of_bloated_headers_is_refused(scripted: Scripted, hostile: HostileResults,
                                                tmp_path: Path) -> None:
    batch, (job,) = _finished_batch(scripted, [hostile.url("long")])
    hostile.routes["/long"] = serve_bytes(
        craft_zip([(f"{job}/{'a' * 60_000}", b"", 0, zlib.crc32(b""), 0)]))
    with pytest.raises(DownloadError, match="no file name is that long"):
        batch.download(tmp_path / "out", progress=False)
    assert _left_in(tmp_path / "out") == ["batch_id.txt"]


def test_an_endless_body_stops_at_the_archive_limit(scripted: Scripted,
                                                    hostile: HostileResults,
                                                    tmp_path: Path) -> None:
    batch, (job,) = _finished_batch(scripted, [hostile.url("endless")])
    hostile.routes["/endless"] = endless()
    root = tmp_path / "out"
    with pytest.raises(DownloadError) as info:
        batch.download(root, progress=False, limits={"archive_bytes": "16M"})
    assert "archive_bytes=16 MiB" in info.value.failed[job]
    assert _left_in(root) == ["batch_id.txt"]
    # What the server got into the socket before the client hung up: the limit plus what
    # the kernel's buffers held.
    assert hostile.sent["/endless"] < (16 + 16) << 20


def test_what_a_result_claims_is_checked_before_its_body(scripted: Scripted,
                                                         hostile: HostileResults,
                                                         tmp_path: Path) -> None:
    batch, jobs = _finished_batch(scripted, [hostile.url("big"), hostile.url("gzip")])
    hostile.routes["/big"] = serve_bytes(_job_zip(jobs[0], os.urandom(3 << 20)))
    hostile.routes["/gzip"] = serve_bytes(_job_zip(jobs[1], b"x"),
                                          headers={"Content-Encoding": "gzip"})
    with pytest.raises(DownloadError) as info:
        batch.download(tmp_path / "out", progress=False, limits={"archive_bytes": "1M"})
    assert "Content-Length" in info.value.failed[jobs[0]]
    assert "Content-Encoding: gzip" in info.value.failed[jobs[1]]
    assert _left_in(tmp_path / "out") == ["batch_id.txt"]


@pytest.mark.parametrize("how", ["body, a byte every 5 s", "headers, a byte every 5 s",
                                 "503 with Retry-After: 3600", "summary after 30 s"])
def test_the_timeout_holds_however_slowly_the_server_sends(
        scripted: Scripted, hostile: HostileResults, tmp_path: Path, how: str) -> None:
    batch, (job,) = _finished_batch(scripted, [hostile.url("slow")])
    if how.startswith("body"):
        hostile.routes["/slow"] = trickle(5.0)
    elif how.startswith("headers"):
        hostile.routes["/slow"] = trickle_headers(5.0)
    elif how.startswith("503"):
        hostile.routes["/slow"] = serve_bytes(b"busy", {"Retry-After": "3600"}, status=503)
    else:
        scripted.plan[0] = (200, scripted.plan[0][1], 30.0)
    root = tmp_path / "out"
    timeout = 3.0

    def download() -> float:
        started = time.perf_counter()
        with pytest.raises(JobTimeout, match="download\\(\\) again"):
            batch.download(root, wait=True, polling_interval=0.1, timeout=timeout,
                           progress=False)
        return time.perf_counter() - started

    # In a thread of its own, so that a download that hangs fails the test; stopping the
    # hostile server (the fixture) then ends it.
    pool = ThreadPoolExecutor(1)
    try:
        elapsed = pool.submit(download).result(timeout=25)
    finally:
        pool.shutdown(wait=False)
    assert elapsed < timeout + 3, f"{how}: download(timeout={timeout}) took {elapsed:.1f} s"
    assert _left_in(root) == ["batch_id.txt"]


def test_limits_are_the_users_to_state(scripted: Scripted, hostile: HostileResults,
                                       tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                       ) -> None:
    """20 MiB of zeros in a 20 KB archive: refused by default; let through by a limit
    raised for one call or in the environment."""
    batch, (job,) = _finished_batch(scripted, [hostile.url("zeros")], summaries=8)
    hostile.routes["/zeros"] = serve_bytes(zip_bomb(job, size=20 << 20))
    root = tmp_path / "out"
    with pytest.raises(DownloadError, match="ratio=100"):
        batch.download(root, progress=False)
    (folder,) = batch.download(root, progress=False, limits={"ratio": None})
    assert _bytes_under(folder) == 20 << 20
    monkeypatch.setenv(LIMITS_ENV, "ratio=none, job_bytes=10M")
    with pytest.raises(DownloadError, match="job_bytes=10 MiB"):
        batch.download(root, overwrite=True, progress=False)
    monkeypatch.setenv(LIMITS_ENV, "ratio=none,job_bytes=1G")
    assert batch.download(root, overwrite=True, progress=False) == [folder]
    assert DownloadLimits.from_env().job_bytes == 1 << 30
    monkeypatch.setenv(LIMITS_ENV, "ratio")
    with pytest.raises(ConfigurationError, match=LIMITS_ENV):
        DownloadLimits.from_env()
    monkeypatch.setenv(LIMITS_ENV, "max_size=1G")
    with pytest.raises(ConfigurationError, match="archive_bytes, archive_seconds"):
        batch.download(root, progress=False)
    with pytest.raises(ValidationError, match="entries"):
        DownloadLimits(entries=-1)


def test_a_batch_stops_at_its_limit_and_at_the_disks_reserve(
        scripted: Scripted, hostile: HostileResults, tmp_path: Path) -> None:
    batch, jobs = _finished_batch(scripted, [hostile.url("a"), hostile.url("b")],
                                  summaries=8)
    hostile.routes["/a"] = serve_bytes(_job_zip(jobs[0], os.urandom(1 << 20)))
    hostile.routes["/b"] = serve_bytes(_job_zip(jobs[1], os.urandom(1 << 20)))
    root = tmp_path / "out"
    with pytest.raises(DownloadError) as info:
        batch.download(root, progress=False, limits={"batch_bytes": "1.5M"})
    (refused,) = info.value.failed
    assert "batch_bytes=1.5 MiB" in info.value.failed[refused]
    assert sorted(p.name for p in root.iterdir()) == sorted(
        ["batch_id.txt", *(set(jobs) - {refused})])
    with pytest.raises(DownloadError) as info:
        batch.download(root, progress=False, limits={"keep_free_bytes": 1 << 60})
    assert "free on the disk" in info.value.failed[refused]


def test_endless_bodies_stop_before_the_disks_reserve(scripted: Scripted,
                                                      hostile: HostileResults,
                                                      tmp_path: Path) -> None:
    """Parallel endless bodies, each under archive_bytes, still leave the disk its reserve."""
    batch, jobs = _finished_batch(scripted, [hostile.url("e1"), hostile.url("e2")])
    hostile.routes["/e1"] = hostile.routes["/e2"] = endless()
    reserve = shutil.disk_usage(tmp_path).free - (256 << 20)
    with pytest.raises(DownloadError) as info:
        batch.download(tmp_path / "out", progress=False,
                       limits={"keep_free_bytes": reserve, "archive_bytes": None})
    assert set(info.value.failed) == set(jobs)
    assert all("keep_free_bytes" in why and "the archive" in why
               for why in info.value.failed.values())
    assert _left_in(tmp_path / "out") == ["batch_id.txt"]


@pytest.mark.parametrize("name", ["CON", "nul", "COM1", "aux.txt", "LPT9", "com9.tar.gz",
                                  "Prn ", "AUX.", "CONIN$", "COM\u00b9", "lpt\u00b3.log",
                                  "CLOCK$"])
def test_reserved_device_names_become_safe_folder_names(name: str) -> None:
    folder = folder_name(name)
    stem = folder.split(".")[0].strip().upper()
    assert stem not in {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$",
                        *(f"COM{i}" for i in "0123456789\u00b9\u00b2\u00b3"),
                        *(f"LPT{i}" for i in "0123456789\u00b9\u00b2\u00b3")}
    assert folder and folder == folder.strip(" .") and not folder.startswith(".")
    assert folder_name(folder) == folder  # a safe name stays as it is
    for fine in ("CONSOLE", "console-1", "COM10", "nully", "my aux run"):
        assert folder_name(fine) == fine


def test_a_retry_after_of_hours_waits_seconds() -> None:
    """What urllib3 would sleep for a server's ``Retry-After`` (6 hours by its default)."""
    from urllib3 import HTTPResponse

    from infinity_workflows.transport import MAX_RETRY_AFTER, CutOff, _retry

    answer = HTTPResponse(body=b"", headers={"Retry-After": "3600"}, status=503)
    retry = _retry(4, 0.25)
    assert retry.get_retry_after(answer) == MAX_RETRY_AFTER == 30
    with CutOff(time.monotonic() + 2):
        assert retry.get_retry_after(answer) <= 2
