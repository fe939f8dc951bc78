"""Batch.download: parallel, resumable, atomic per job, refusing hostile archives."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import requests

from infinity_workflows import Batch, ConfigurationError, DownloadError, JobTimeout, Session
from infinity_workflows.batch import BATCH_ID_FILE, PARTIAL_DIR
from tests.support.api import refused_once_expired
from tests.support.server import ROOT
from tests.support.tiny import TinyGenerator
from tests.support.waiting import wait_for


@pytest.fixture(scope="module")
def session(server) -> Session:
    return Session(token=server.token, generator="tiny-v1", server=server.url)


def assert_job_intact(job_dir: Path, is_preview: bool = False) -> None:
    """Regenerate the job locally from its recorded seed: every file must match exactly."""
    record = json.loads((job_dir / "job.json").read_text())
    expected = job_dir.parent / f".expected-{job_dir.name}"
    expected.mkdir()
    try:
        TinyGenerator().run(record["params"], is_preview, expected, record["seed"])
        want = {p.name: p.read_bytes() for p in expected.iterdir()}
        have = {p.name: p.read_bytes() for p in job_dir.iterdir()}
        assert have == want, f"{job_dir} differs from a fresh render of the same job"
    finally:
        for p in expected.iterdir():
            p.unlink()
        expected.rmdir()


def stamps(root: Path) -> dict[str, tuple[int, int]]:
    """Inode and mtime (ns) of every job's job.json: unchanged means not fetched again."""
    return {d.name: (os.stat(d / "job.json").st_ino, os.stat(d / "job.json").st_mtime_ns)
            for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")}


def test_download_writes_every_job_atomically(session: Session, tmp_path: Path) -> None:
    batch = session.submit([{"frames": 2, "payload_kb": 64}, {"color": "blue"}, {"flag": True}])
    batch.await_completion(polling_interval=0.1, timeout=60, progress=False)
    root = tmp_path / "out"
    folders = batch.download(root, max_workers=2, progress=False)
    assert folders == [root / j for j in batch.job_ids]
    for folder, params in zip(folders, batch.job_params, strict=True):
        assert_job_intact(folder)
        assert json.loads((folder / "job.json").read_text())["params"] == params
    assert (root / BATCH_ID_FILE).read_text().strip() == batch.batch_id
    leftovers = {p.name for p in root.iterdir()} - set(batch.job_ids) - {BATCH_ID_FILE}
    assert leftovers == set()  # no .partial, no staging folders

    before = stamps(root)
    assert batch.download(root, progress=False) == folders  # a second call fetches nothing
    assert stamps(root) == before
    batch.download(root, overwrite=True, progress=False)
    after = stamps(root)
    assert all(after[j] != before[j] for j in batch.job_ids)
    for folder in folders:
        assert_job_intact(folder)


def test_previews_download_too(session: Session, tmp_path: Path) -> None:
    batch = session.submit([{"frames": 50}], is_preview=True)
    (folder,) = batch.download(tmp_path / "p", wait=True, polling_interval=0.1, timeout=60,
                               progress=False)
    assert_job_intact(folder, is_preview=True)
    assert len(json.loads((folder / "labels.json").read_text())["frames"]) == 1


def test_failed_jobs_are_listed_and_the_rest_kept(session: Session, tmp_path: Path) -> None:
    batch = session.submit([{}, {"fail": True}, {"color": "green"}, {"fail": True}])
    root = tmp_path / "out"
    with pytest.raises(DownloadError) as info:
        batch.download(root, wait=True, polling_interval=0.1, timeout=60, progress=False)
    failed_ids = {batch.job_ids[1], batch.job_ids[3]}
    assert set(info.value.failed) == failed_ids
    assert all("fail=True" in why for why in info.value.failed.values())
    assert all(j in str(info.value) for j in failed_ids)
    for j in (batch.job_ids[0], batch.job_ids[2]):
        assert_job_intact(root / j)
    assert not any((root / j).exists() for j in failed_ids)


@pytest.mark.slow
def test_wait_downloads_jobs_as_they_finish(session: Session, tmp_path: Path) -> None:
    batch = session.submit([{"sleep_s": 0.3 * i} for i in range(5)])
    folders = batch.download(tmp_path / "w", wait=True, polling_interval=0.1, timeout=60,
                             progress=False)
    assert len(folders) == 5
    for folder in folders:
        assert_job_intact(folder)


@pytest.mark.slow
def test_without_wait_unfinished_jobs_are_left_for_later(session: Session,
                                                         tmp_path: Path) -> None:
    batch = session.submit([{}, {"sleep_s": 5.0}])
    wait_for(lambda: batch.get_valid_completed_jobs(), timeout=30, what="first job")
    root = tmp_path / "later"
    with pytest.warns(UserWarning, match="still in progress"):
        first = batch.download(root, progress=False)
    assert first == [root / batch.job_ids[0]]
    batch.await_completion(polling_interval=0.1, timeout=60, progress=False)
    assert batch.download(root, progress=False) == [root / j for j in batch.job_ids]


def test_a_folder_of_another_batch_is_refused(session: Session, tmp_path: Path) -> None:
    a = session.submit([{}])
    b = session.submit([{}])
    root = tmp_path / "shared"
    a.download(root, wait=True, polling_interval=0.1, timeout=60, progress=False)
    before = sorted(p.name for p in root.iterdir())
    b.await_completion(polling_interval=0.1, timeout=60, progress=False)
    with pytest.raises(ConfigurationError) as info:
        b.download(root, progress=False)
    assert a.batch_id in str(info.value) and "another folder" in str(info.value)
    assert sorted(p.name for p in root.iterdir()) == before  # nothing of b was written
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(ConfigurationError, match="is a file"):
        a.download(a_file, progress=False)


def test_resume_replaces_stale_partials_and_skips_finished_jobs(session: Session,
                                                                tmp_path: Path) -> None:
    batch = session.submit([{"payload_kb": 256, "color": c} for c in ("red", "green", "blue")])
    root = tmp_path / "resume"
    batch.download(root, wait=True, polling_interval=0.1, timeout=60, progress=False)
    kept = stamps(root)
    lost = batch.job_ids[1]
    # As an interrupted run leaves it: one job never renamed into place, a truncated
    # archive in .partial and a staging folder half-filled.
    for p in sorted((root / lost).rglob("*"), reverse=True):
        p.unlink() if p.is_file() else p.rmdir()
    (root / lost).rmdir()
    (root / PARTIAL_DIR).mkdir()
    (root / PARTIAL_DIR / f"{lost}.zip").write_bytes(b"PK\x03\x04 truncated")
    # Killed between the rename into place and the removal of the archive:
    (root / PARTIAL_DIR / f"{batch.job_ids[0]}.zip").write_bytes(b"PK\x03\x04")
    (root / f".extract-{lost}-stale" / lost).mkdir(parents=True)
    (root / f".extract-{lost}-stale" / lost / "job.json").write_text("{")
    folders = batch.download(root, progress=False)
    assert len(folders) == 3
    assert_job_intact(root / lost)
    after = stamps(root)
    for j in batch.job_ids:
        if j != lost:
            assert after[j] == kept[j], "a finished job was fetched again"
    assert sorted(p.name for p in root.iterdir()) == sorted([*batch.job_ids, BATCH_ID_FILE])


_DOWNLOADER = """
import sys
from infinity_workflows import Session
s = Session(token=sys.argv[1], generator="tiny-v1", server=sys.argv[2])
s.batch_from_api(sys.argv[3]).download(sys.argv[4], max_workers=1, progress=False)
"""


def test_resume_after_a_killed_download(session: Session, server, tmp_path: Path) -> None:
    batch = session.submit([{"payload_kb": 12_000, "frames": i + 1} for i in range(5)])
    batch.await_completion(polling_interval=0.2, timeout=120, progress=False)
    root = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", _DOWNLOADER, server.token, server.url,
                             batch.batch_id, str(root)], env=env, cwd=ROOT)

    def midway() -> bool:
        done = [j for j in batch.job_ids if (root / j).is_dir()]
        partial = root / PARTIAL_DIR
        streaming = partial.is_dir() and any(p.stat().st_size > 0 for p in partial.iterdir())
        return bool(done) and streaming

    try:
        wait_for(midway, timeout=60, interval=0.002, what="a download in the middle")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finished = stamps(root)
    assert 1 <= len(finished) < 5, "the kill should land midway through the batch"
    for j in finished:
        assert_job_intact(root / j)  # whatever is visible is complete

    folders = batch.download(root, progress=False)
    assert folders == [root / j for j in batch.job_ids]
    after = stamps(root)
    assert {j: after[j] for j in finished} == finished  # not fetched again
    for folder in folders:
        assert_job_intact(folder)
    assert not (root / PARTIAL_DIR).exists()


def _craft(path: Path, entries: dict[str, bytes]) -> None:
    tmp = path.with_suffix(".crafted")
    with zipfile.ZipFile(tmp, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    os.replace(tmp, path)


def test_zip_slip_is_refused_and_nothing_is_written(session: Session, server,
                                                    tmp_path: Path) -> None:
    batch = session.submit([{}, {}, {}, {}, {}])
    batch.await_completion(polling_interval=0.1, timeout=60, progress=False)
    results = server.home / "results"
    good, *evil = batch.job_ids
    hostile = {
        evil[0]: {f"{evil[0]}/ok.txt": b"fine", "../escape.txt": b"pwned"},
        evil[1]: {f"{evil[1]}/ok.txt": b"fine", f"{evil[1]}/../../escape2.txt": b"pwned"},
        evil[2]: {f"{evil[2]}/ok.txt": b"fine", str(tmp_path / "absolute.txt"): b"pwned"},
        evil[3]: {f"{evil[3]}/ok.txt": b"fine", "someone-else/x.txt": b"pwned"},
    }
    for job_id, entries in hostile.items():
        assert (results / f"{job_id}.zip").is_file(), "server layout: results/<job_id>.zip"
        _craft(results / f"{job_id}.zip", entries)

    root = tmp_path / "a" / "b" / "out"
    with pytest.raises(DownloadError) as info:
        batch.download(root, progress=False)
    assert set(info.value.failed) == set(evil)
    assert all("refused" in why for why in info.value.failed.values())
    assert_job_intact(root / good)
    assert sorted(p.name for p in root.iterdir()) == sorted([good, BATCH_ID_FILE])
    written = {p.name for p in tmp_path.rglob("*")}
    assert not written & {"escape.txt", "escape2.txt", "absolute.txt", "x.txt", "ok.txt"}


@pytest.mark.slow
def test_download_wait_gives_up_after_timeout(session: Session, tmp_path: Path) -> None:
    batch = session.submit([{}, {"sleep_s": 5.0}])
    wait_for(lambda: batch.get_valid_completed_jobs(), timeout=30, what="the quick job")
    root = tmp_path / "t"
    with pytest.raises(JobTimeout, match="download\\(\\) again"):
        batch.download(root, wait=True, polling_interval=0.1, timeout=1.0, progress=False)
    assert_job_intact(root / batch.job_ids[0])  # what finished in time is kept
    assert not (root / batch.job_ids[1]).exists()
    batch.await_completion(polling_interval=0.2, timeout=60, progress=False)


class _SummaryTakenEarlier(Batch):
    """A batch whose first summary is one read long ago, as after a long wait in a queue."""

    early: list[dict] | None = None

    def job_summaries(self) -> list[dict]:
        if self.early is not None:
            early, self.early = self.early, None
            return early
        return super().job_summaries()


def test_expired_links_are_refreshed(strict_server, tmp_path: Path) -> None:
    srv = strict_server  # its links live a few seconds
    sesh = Session(token=srv.token, generator="tiny-v1", server=srv.url)
    submitted = sesh.submit([{}, {"color": "blue"}])
    submitted.await_completion(polling_interval=0.1, timeout=120, progress=False)
    old = submitted.job_summaries()
    refused = refused_once_expired(old[0]["result_url"])
    assert requests.get(old[1]["result_url"], timeout=30).status_code == 403
    assert refused.status_code == 403 and "expired" in refused.json()["detail"]

    batch = _SummaryTakenEarlier(sesh, submitted.get_batch_data())
    batch.early = old
    folders = batch.download(tmp_path / "fresh", progress=False)
    assert folders == [tmp_path / "fresh" / j for j in batch.job_ids]
    for folder in folders:
        assert_job_intact(folder)


def test_a_job_over_a_stated_limit_leaves_nothing_and_passes_once_raised(
        session: Session, tmp_path: Path) -> None:
    """The real server's archive of a 2 MiB job, against a 1 MiB limit: refused with the
    job, the limit and how to raise it named; nothing on disk; the defaults let it in."""
    batch = session.submit([{"payload_kb": 2048}, {}])
    batch.await_completion(polling_interval=0.1, timeout=60, progress=False)
    big, small = batch.job_ids
    root = tmp_path / "limited"
    with pytest.raises(DownloadError) as info:
        batch.download(root, progress=False, limits={"job_bytes": "1M"})
    assert list(info.value.failed) == [big]
    why = info.value.failed[big]
    assert "job_bytes=1 MiB" in why and "INFINITY_DOWNLOAD_LIMITS='job_bytes=" in why
    assert big in str(info.value)
    assert sorted(p.name for p in root.iterdir()) == sorted([BATCH_ID_FILE, small])
    assert batch.download(root, progress=False) == [root / big, root / small]
    assert_job_intact(root / big)


def test_timeout_bounds_a_download_without_wait_too(session: Session, tmp_path: Path) -> None:
    batch = session.submit([{}])
    batch.await_completion(polling_interval=0.1, timeout=60, progress=False)
    with pytest.raises(JobTimeout, match="download\\(\\) again"):
        batch.download(tmp_path / "none", progress=False, timeout=0)
    assert sorted(p.name for p in (tmp_path / "none").iterdir()) == [BATCH_ID_FILE]
