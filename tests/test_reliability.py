"""Reliability and isolation of the real server: load, kills, a full disk, two tokens.

Faults are real: ``kill -9`` of the server and of a worker process, and a file system that
really runs out of space (a 4 MiB tmpfs when this process may mount one, else a file-size
limit on the server process). The download interrupted midway is covered by
tests/test_client_download.py::test_resume_after_a_killed_download.
"""

from __future__ import annotations

import json
import resource
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
import zipfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psutil
import pytest
import requests

from tests.support.jobs import kill_mid_batch_and_restart, submit, summary, wait_finished
from tests.support.server import ROOT, LiveServer, portal_login
from tests.support.waiting import wait_for

pytestmark = pytest.mark.timeout(300)


# -- load -------------------------------------------------------------------------------------
def test_short_load_has_no_failed_requests(server: LiveServer) -> None:
    """benchmarks/bench_load.py, shortened: 20 pollers and 4 submitters for 10 s.

    A submitter downloads once its batch of 10 has run, behind the pollers' 50 jobs (fair
    share gives each batch a turn), so the 10 s hold those ~50 jobs only if the workers are
    already up: a worker's first job pays for starting its process and importing the
    generator, which on a loaded machine took most of the window (and no download happened).
    The session's server has run jobs before; one more finished job here makes sure.
    """
    srv = server.tenant("load")  # its queue is cancelled at the end, not left to the module
    try:
        warm = submit(srv, [{}, {}], preview=True)
        assert [r["status"] for r in wait_finished(srv, warm["id"])] == ["succeeded"] * 2
        env = {**srv.env, "INFINITY_API_TOKEN": srv.token}
        out = subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / "bench_load.py"), "--url", srv.url,
             "--duration", "10", "--pollers", "20", "--submitters", "4", "--processes", "2",
             "--poll-batch-jobs", "50", "--json"],
            env=env, capture_output=True, text=True, timeout=180, cwd=ROOT)
    finally:
        srv.revoke_tokens_made()
    assert out.stdout, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    by_kind = report["by_kind"]
    print(f"\nload: {report['requests']} requests, {report['requests_per_s']:.0f}/s, "
          f"p50 {report['p50_ms']:.0f} ms, p99 {report['p99_ms']:.0f} ms, "
          f"failed {report['failed']}; "
          + ", ".join(f"{kind} {row['requests']}" for kind, row in by_kind.items()))
    assert report["failed"] == 0, report["failures"]
    assert by_kind["summary"]["requests"] > 200, by_kind
    assert by_kind.get("submit", {}).get("requests", 0) >= 4, by_kind
    assert by_kind.get("download", {}).get("requests", 0) >= 1, \
        f"no submitter's batch finished within the 10 s: {by_kind}"
    assert out.returncode == 0


# -- kill -9 of the server --------------------------------------------------------------------
def test_server_killed_mid_batch_loses_nothing_and_reruns_nothing_finished(make_server):
    kill_mid_batch_and_restart(make_server("--workers", "2"), jobs=12, sleep_s=0.4)


# -- kill -9 of a worker process --------------------------------------------------------------
def _pool_workers(server_pid: int) -> list[psutil.Process]:
    """The pool's worker processes: descendants of the server that it did not start itself
    (they are forked by the multiprocessing fork server, the server's child)."""
    server = psutil.Process(server_pid)
    return [p for p in server.children(recursive=True) if p.ppid() != server_pid]


def test_a_killed_worker_process_has_its_job_retried(make_server) -> None:
    srv = make_server("--workers", "2")
    batch = submit(srv, [{"sleep_s": 2.5, "color": c} for c in ("red", "blue")])
    wait_for(lambda: all(r["status"] == "running" for r in summary(srv, batch["id"])),
             timeout=60, what="both jobs running")
    workers = wait_for(lambda: len(_pool_workers(srv.proc.pid)) == 2
                       and _pool_workers(srv.proc.pid), timeout=30, what="two workers")
    victim = workers[0]
    killed_at = time.time()
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)

    runs = wait_finished(srv, batch["id"], timeout=120)
    assert [r["status"] for r in runs] == ["succeeded"] * 2, runs
    assert all(r["worker"] != f"local-pid-{victim.pid}" for r in runs)
    jobs = [srv.get(f"api/job_runs/{r['id']}/").json() for r in runs]
    assert any(datetime.fromisoformat(j["start_time"]).timestamp() > killed_at for j in jobs), \
        "a job in flight when its worker died was run again"
    with zipfile.ZipFile(srv.home / "results" / f"{runs[0]['id']}.zip") as zf:
        assert zf.testzip() is None


def test_a_job_that_keeps_killing_its_worker_fails_and_the_rest_go_on(make_server) -> None:
    srv = make_server("--workers", "2", "--max-attempts", "2")
    batch = submit(srv, [{"frames": 1}, {"crash": True}, {"frames": 2}, {"frames": 3}])
    runs = wait_finished(srv, batch["id"], timeout=180)
    assert [r["status"] for r in runs] == ["succeeded", "failed", "succeeded", "succeeded"]
    error = runs[1]["error"]
    assert runs[1]["result_url"] is None and not runs[1]["in_progress"]
    assert "died 2 times" in error and "--max-attempts" in error, error
    assert srv.get("api/jobs/").status_code == 200


# -- a database that cannot take a write --------------------------------------------------
def test_an_outcome_the_locked_database_refused_is_written_once_it_is_free(make_server):
    """A finished job whose outcome could not be stored (another process held the write
    lock past the server's 30 s busy timeout) is recorded once the lock goes, without a
    restart; reads go on meanwhile (WAL)."""
    srv = make_server("--workers", "1")
    batch = submit(srv, [{"sleep_s": 1.0}])
    wait_for(lambda: summary(srv, batch["id"])[0]["status"] == "running", timeout=30,
             what="the job to start")
    holder = sqlite3.connect(srv.home / "infinity.sqlite3", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        # The job finishes at once; its outcome waits out the 30 s busy timeout, then fails.
        wait_for(lambda: "dispatcher error" in srv.log_path.read_text(), timeout=180,
                 interval=0.5, what="the outcome's write to fail on the locked database")
        assert "database is locked" in srv.log_path.read_text()
        assert summary(srv, batch["id"])[0]["status"] == "running"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    (run,) = wait_finished(srv, batch["id"], timeout=30)
    assert run["status"] == "succeeded" and run["result_url"], run
    assert requests.get(run["result_url"], timeout=30).status_code == 200


# -- a full disk ------------------------------------------------------------------------------
DISK_BYTES = 4 * 1024 * 1024


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A folder on a 4 MiB file system: ``(folder, "tmpfs")``; where mounting is not
    allowed, ``(folder, "rlimit")`` and the server gets RLIMIT_FSIZE instead."""
    folder = tmp_path / "small"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES},mode=0700",
                              "tmpfs", str(folder)], capture_output=True).returncode == 0
    try:
        yield folder, "tmpfs" if mounted else "rlimit"
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_disk_fails_the_job_clearly_and_the_server_keeps_serving(
        small_disk, tmp_path: Path) -> None:
    folder, how = small_disk
    srv = LiveServer(home=folder / "home", config=tmp_path / "config",
                     extra_args=["--workers", "1"])
    srv.home.mkdir()
    srv.token = srv.new_token("disk")
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    if how == "rlimit":  # inherited by the server process started now, and its workers
        resource.setrlimit(resource.RLIMIT_FSIZE, (DISK_BYTES, hard))
    try:
        srv.start()
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    try:
        print(f"\nfull disk simulated with: {how}")
        big = submit(srv, [{"payload_kb": 6 * 1024}])  # 6 MiB on a 4 MiB disk
        polls = []

        def finished() -> list[dict] | None:  # the server answers all the while
            response = srv.get(f"api/batch/{big['id']}/summary/")
            polls.append(response.status_code)
            runs = response.json()["job_runs"]
            return None if runs[0]["in_progress"] else runs
        runs = wait_for(finished, timeout=180, interval=0.05, what="the big job to end")
        assert set(polls) == {200}
        error = runs[0]["error"]
        assert runs[0]["status"] == "failed", runs
        print(f"the job's error: {error}")
        assert "ran out of disk space" in error and "free some space" in error, error
        assert not list((srv.home / "results").iterdir()), "nothing half-written is visible"

        if how == "tmpfs":
            # Filled to the last byte: a submission cannot be stored, and says why.
            filler = srv.home / "filler.bin"
            with pytest.raises(OSError), filler.open("wb") as fh:
                while True:
                    fh.write(b"\0" * 65536)
            refused = srv.post("api/batch/", {"name": "while full", "job_runs": [
                {"name": "tiny-v1", "param_values": {"payload_kb": 1}}] * 200})
            assert refused.status_code == 507, refused.text
            assert "disk is full" in refused.json()["detail"]
            assert srv.get("api/batch/").status_code == 200  # reads go on
            filler.unlink()

        # Space is back once the failed job's scratch is gone: work goes on.
        small = submit(srv, [{"payload_kb": 256}, {}])
        assert [r["status"] for r in wait_finished(srv, small["id"])] == ["succeeded"] * 2
        assert srv.get("api/batch/").status_code == 200
        assert not list((srv.home / "work").iterdir())
    finally:
        srv.stop()


# -- isolation of tokens ----------------------------------------------------------------------
class _User:
    def __init__(self, srv, token: str, label: str) -> None:
        self.srv, self.token, self.label = srv, token, label
        self.marker = f"secret-{label}-{uuid.uuid4().hex[:8]}"
        videos = submit(srv, [{"frames": 2}, {"frames": 5}], name=f"{self.marker}-videos",
                        token=token)
        previews = submit(srv, [{"color": "blue"}], preview=True,
                          name=f"{self.marker}-previews", token=token)
        self.batches = [videos["id"], previews["id"]]
        self.runs = (wait_finished(srv, videos["id"], token=token)
                     + wait_finished(srv, previews["id"], token=token))
        assert all(r["status"] == "succeeded" for r in self.runs)
        self.videos = [r["id"] for r in self.runs[:2]]
        self.previews = [self.runs[2]["id"]]

    @property
    def secrets(self) -> list[str]:
        """Strings that must never appear in another token's responses."""
        return [self.marker, *self.batches, *self.videos, *self.previews]

    def get(self, path: str) -> requests.Response:
        return self.srv.get(path, token=self.token)

    def portal(self) -> requests.Session:
        return portal_login(self.srv.url, self.token)[0]


def _reveals(text: str, other: _User) -> list[str]:
    return [s for s in other.secrets if s in text]


def test_two_tokens_see_nothing_of_each_other(server: LiveServer) -> None:
    srv = server  # shared: both tokens are fresh, so their counts and lists start empty
    alice = _User(srv, srv.new_token("alice"), "alice")
    bob = _User(srv, srv.new_token("bob"), "bob")

    for me, other in ((alice, bob), (bob, alice)):
        # Lists, counts and my own records: only mine.
        for path in ("api/batch/", "api/job_runs/", "api/job_previews/", "api/job_runs/counts/",
                     *[f"api/batch/{b}/" for b in me.batches],
                     *[f"api/batch/{b}/summary/" for b in me.batches],
                     *[f"api/job_runs/{j}/" for j in me.videos],
                     *[f"api/job_previews/{j}/" for j in me.previews]):
            response = me.get(path)
            assert response.status_code == 200, path
            assert not _reveals(response.text, other), (me.label, path)
        assert {b["id"] for b in me.get("api/batch/").json()} == set(me.batches)
        counts = me.get("api/job_runs/counts/").json()["counts_by_generator"]
        assert counts == [{"generator": "tiny-v1", "preview_samples_rendered": 1,
                           "non_preview_samples_rendered": 7}]

        # The other's ids: 404, exactly as for ids that do not exist.
        missing = str(uuid.uuid4())
        for template, ids in (("api/batch/{}/", other.batches),
                              ("api/batch/{}/summary/", other.batches),
                              ("api/job_runs/{}/", other.videos),
                              ("api/job_previews/{}/", other.previews)):
            for ident in ids:
                theirs = me.get(template.format(ident))
                nobody = me.get(template.format(missing))
                assert theirs.status_code == nobody.status_code == 404
                assert theirs.json()["detail"].replace(ident, "X") == \
                    nobody.json()["detail"].replace(missing, "X")
                assert other.marker not in theirs.text
        refused = srv.post("api/batch/estimate/", {"name": "seed theft", "job_runs": [
            {"name": "tiny-v1", "param_values": {"state": other.videos[0]}}]}, token=me.token)
        assert refused.status_code == 400 and other.marker not in refused.text

        # Portal: my pages only; theirs are 404 and their thumbnails unreachable.
        portal = me.portal()
        page = portal.get(srv.url + "portal/", timeout=30)
        assert page.status_code == 200 and me.marker in page.text
        assert not _reveals(page.text, other)
        for b in me.batches:
            mine = portal.get(srv.url + f"portal/batch/{b}/", timeout=30)
            assert mine.status_code == 200 and not _reveals(mine.text, other)
        for b in other.batches:
            assert portal.get(srv.url + f"portal/batch/{b}/", timeout=30).status_code == 404
        thumb = portal.get(srv.url + f"portal/thumbnail/{me.previews[0]}/", timeout=30)
        assert thumb.status_code == 200 and thumb.content.startswith(b"\x89PNG")
        for j in other.videos + other.previews:
            response = portal.get(srv.url + f"portal/thumbnail/{j}/", timeout=30)
            assert response.status_code == 404 and not response.content.startswith(b"\x89PNG")

        # Result links: a link of mine cannot be bent to fetch theirs.
        link = next(r["result_url"] for r in me.runs)
        parts = urlsplit(link)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        for job in other.videos + other.previews:
            bent = requests.get(f"{parts.scheme}://{parts.netloc}/api/results/{job}/",
                                params=query, timeout=30)
            assert bent.status_code == 403 and not bent.content.startswith(b"PK")

    # One Idempotency-Key used by both: each gets a batch of its own, never the other's.
    key = {"Idempotency-Key": "shared-key-1"}
    body = {"name": "same key", "job_runs": [{"name": "tiny-v1", "param_values": {}}]}
    a = requests.post(srv.url + "api/batch/", json=body, timeout=30,
                      headers={**srv.headers(alice.token), **key})
    b = requests.post(srv.url + "api/batch/", json={**body, "name": "other body"}, timeout=30,
                      headers={**srv.headers(bob.token), **key})
    assert a.status_code == b.status_code == 201 and a.json()["id"] != b.json()["id"]
    assert a.json()["id"] not in b.text


def test_no_token_and_wrong_tokens_get_nothing(server) -> None:
    for path in ("api/jobs/", "api/batch/", "api/job_runs/", "api/job_previews/",
                 "api/job_runs/counts/", f"api/batch/{uuid.uuid4()}/"):
        for headers in ({}, {"Authorization": "Token nope"}, {"Authorization": server.token}):
            response = requests.get(server.url + path, headers=headers, timeout=30)
            assert response.status_code == 401, (path, headers)
            assert "token" in response.json()["detail"].lower()
    page = requests.get(server.url + "portal/", timeout=30, allow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].endswith("/portal/login/")
    forged = requests.get(server.url + "portal/", timeout=30, allow_redirects=False,
                          cookies={"infinity_portal_session": "1." + "0" * 64})
    assert forged.status_code == 303

