"""The Dask executor against a real cluster: a `dask scheduler` and `dask worker` processes on
loopback, the real server pointed at it with ``--executor dask --scheduler ...``."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytest.importorskip("distributed")
from distributed import Client  # noqa: E402

from tests.support.jobs import (  # noqa: E402
    archive_entries,
    cancel_stops_running_and_queued,
    kill_mid_batch_and_restart,
    submit,
    summary,
    wait_finished,
)
from tests.support.server import ROOT, free_port, portal_login  # noqa: E402
from tests.support.waiting import wait_for  # noqa: E402

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]

@dataclass
class DaskCluster:
    """A scheduler and its workers, each a process group of its own (so one can be killed)."""

    folder: Path
    port: int = field(default_factory=free_port)
    scheduler: subprocess.Popen[bytes] | None = None
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        # Workers import the tiny test generator; nothing else is shared with the server.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        # A task may lose 2 workers; a third death fails it (KilledWorker), which keeps the
        # poisonous-job test short.
        env["DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES"] = "2"
        # As the README advises: send a job only to a worker with a free thread. Dask's
        # default (1.1) lets a one-thread worker take two, so both jobs the server hands out
        # could queue on one worker while the other idles.
        env["DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION"] = "1.0"
        return env

    def _spawn(self, args: list[str], log_name: str) -> subprocess.Popen[bytes]:
        log = (self.folder / log_name).open("ab")
        return subprocess.Popen(args, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                cwd=self.folder, start_new_session=True)

    def start(self, workers: int = 2) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.start_scheduler()
        for _ in range(workers):
            self.add_worker()
        self.wait_workers(workers)

    def start_scheduler(self) -> None:
        self.scheduler = self._spawn(
            [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
             "--port", str(self.port), "--no-dashboard"], "scheduler.log")

    def add_worker(self) -> subprocess.Popen[bytes]:
        n = len(self.workers)
        scratch = self.folder / f"worker-{n}"
        scratch.mkdir(exist_ok=True)
        proc = self._spawn(
            [sys.executable, "-m", "distributed.cli.dask_worker", self.address,
             "--nworkers", "1", "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1",
             "--local-directory", str(scratch), "--name", f"w{n}"], f"worker-{n}.log")
        self.workers.append(proc)
        return proc

    def client(self) -> Client:
        return Client(self.address, timeout=30, set_as_default=False)

    def worker_addresses(self) -> dict[str, str]:
        """``{name: address}`` of the workers the scheduler knows now."""
        with self.client() as client:
            info = client.scheduler_info(n_workers=-1)["workers"]
        return {str(w["name"]): address for address, w in info.items()}

    def wait_workers(self, count: int, timeout: float = 180) -> dict[str, str]:
        def reached() -> dict[str, str] | None:
            try:
                found = self.worker_addresses()
            except OSError:
                return None
            return found if len(found) == count else None
        try:
            return wait_for(reached, timeout=timeout, interval=0.5,
                            what=f"the Dask cluster to reach {count} workers")
        except AssertionError as exc:
            logs = "\n".join(p.read_text()[-1500:] for p in sorted(self.folder.glob("*.log")))
            raise RuntimeError(f"{exc}:\n{logs}") from None

    def job_started(self, job_ids: list[str]) -> bool:
        """Whether each job has made its scratch folder on a worker (it is running there)."""
        return all(any(self.folder.rglob(f"job-{j}-*/{j}")) for j in job_ids)

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        """kill -9 of a worker's whole process group (nanny and worker), as a crash would."""
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def stop(self) -> None:
        for proc in [*self.workers, self.scheduler]:
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in [*self.workers, self.scheduler]:
            if proc is None:
                continue
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskCluster]:
    cluster = DaskCluster(tmp_path_factory.mktemp("dask"))
    try:
        cluster.start(workers=2)
        yield cluster
    finally:
        cluster.stop()


def _dask_server(make_server, cluster: DaskCluster):
    return make_server("--executor", "dask", "--scheduler", cluster.address)


def test_a_batch_of_previews_runs_on_both_workers(make_server, cluster: DaskCluster) -> None:
    srv = _dask_server(make_server, cluster)
    workers = set(cluster.wait_workers(2).values())
    batch = submit(srv, [{"sleep_s": 0.2, "color": c} for c in ["red", "green"] * 10],
                   preview=True)
    runs = wait_finished(srv, batch["id"], timeout=120)
    assert [r["status"] for r in runs] == ["succeeded"] * 20, runs
    used = {r["worker"] for r in runs}
    assert used == workers, f"jobs ran on {used}, the cluster's workers are {workers}"
    # The archive came back through Dask: the server's copy is whole and served as usual.
    results = srv.home / "results"
    assert sorted(p.name for p in results.iterdir()) == sorted(f"{r['id']}.zip" for r in runs)
    entries = archive_entries(runs[0]["result_url"])
    job_id = runs[0]["id"]
    assert set(entries) >= {f"{job_id}/job.json", f"{job_id}/labels.json",
                            f"{job_id}/payload.bin", f"{job_id}/video_preview.png"}
    # The worker is part of the job record: the single job endpoint and the portal show it.
    job = srv.get(f"api/job_previews/{job_id}/").json()
    assert job["worker"] == runs[0]["worker"]
    portal, _ = portal_login(srv.url, srv.token)
    page = portal.get(srv.url + f"portal/batch/{batch['id']}/", timeout=30).text
    assert all(address in page for address in workers)
    assert not list((srv.home / "work").iterdir()), "the server keeps no scratch of remote jobs"
    # Nothing to outlive the server: with Dask it starts no process of its own.
    assert not _children(srv.proc.pid)


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int(
                    (entry / "stat").read_bytes().rsplit(b")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


def test_killing_a_worker_mid_batch_still_finishes_every_job(make_server,
                                                            cluster: DaskCluster) -> None:
    srv = _dask_server(make_server, cluster)
    victim = cluster.add_worker()
    victim_address = cluster.wait_workers(3)[f"w{len(cluster.workers) - 1}"]
    batch = submit(srv, [{"sleep_s": 1.5, "frames": i + 1} for i in range(9)])

    with cluster.client() as client:
        def victim_busy() -> list[str]:
            keys = client.processing(workers=[victim_address]).get(victim_address, [])
            return [str(k) for k in keys]
        busy = wait_for(victim_busy, timeout=60, interval=0.05, what="a job on the victim")
    cluster.kill(victim)
    killed_jobs = {m.group(1) for k in busy
                   if (m := re.search(r"infinity-job-([0-9a-f-]{36})-", k))}
    assert killed_jobs, busy

    runs = wait_finished(srv, batch["id"], timeout=180)
    assert [r["status"] for r in runs] == ["succeeded"] * 9, runs
    by_id = {r["id"]: r for r in runs}
    for job_id in killed_jobs:
        assert by_id[job_id]["worker"] != victim_address, "the killed job was run again"
        assert by_id[job_id]["worker"] in cluster.worker_addresses().values()
    cluster.wait_workers(2)


def _contents(entries: dict[str, bytes], job_id: str) -> dict[str, bytes]:
    """Archive entries keyed by their path inside the job folder (job ids differ)."""
    prefix = f"{job_id}/"
    assert all(name.startswith(prefix) for name in entries)
    return {name[len(prefix):]: data for name, data in entries.items()}


def test_results_equal_the_local_executors_for_the_same_seeds(make_server,
                                                             cluster: DaskCluster) -> None:
    srv = make_server("--workers", "2")  # local first
    params = [{"frames": f, "payload_kb": 5, "color": c, "scale": s}
              for f, c, s in [(1, "red", 0.5), (4, "green", 2.0), (7, "blue", 9.5)]]
    seeds = submit(srv, params)  # these jobs' seeds are reused through `state`
    assert all(r["status"] == "succeeded" for r in wait_finished(srv, seeds["id"]))
    again = [{**p, "state": j["id"]} for p, j in zip(params, seeds["job_runs"], strict=True)]

    local = submit(srv, again)
    local_runs = wait_finished(srv, local["id"])
    srv.stop()
    srv.extra_args = ["--executor", "dask", "--scheduler", cluster.address]
    srv.start()
    remote = submit(srv, again)
    remote_runs = wait_finished(srv, remote["id"])

    addresses = set(cluster.worker_addresses().values())
    for lr, rr in zip(local_runs, remote_runs, strict=True):
        assert lr["status"] == rr["status"] == "succeeded"
        assert lr["worker"].startswith("local-pid-") and rr["worker"] in addresses
        local_files = _contents(archive_entries(lr["result_url"]), lr["id"])
        remote_files = _contents(archive_entries(rr["result_url"]), rr["id"])
        assert set(local_files) == {"", "job.json", "labels.json", "payload.bin",
                                    "video_preview.png"}
        assert remote_files == local_files  # byte for byte, every file


def test_a_server_killed_mid_batch_sends_unfinished_jobs_again(make_server,
                                                              cluster: DaskCluster) -> None:
    kill_mid_batch_and_restart(_dask_server(make_server, cluster), jobs=8, sleep_s=0.6)


def test_a_job_that_keeps_killing_its_workers_fails_with_a_clear_error(
        make_server, cluster: DaskCluster) -> None:
    srv = _dask_server(make_server, cluster)
    batch = submit(srv, [{"frames": 1}, {"crash": True}, {"frames": 2}])
    runs = wait_finished(srv, batch["id"], timeout=180)
    assert [r["status"] for r in runs] == ["succeeded", "failed", "succeeded"], runs
    error = runs[1]["error"]
    assert "Dask workers running this job died 3 times" in error, error
    assert "allowed-failures" in error and runs[1]["result_url"] is None
    cluster.wait_workers(2)  # the nannies started new worker processes


def test_a_lost_scheduler_loses_no_job(make_server, tmp_path: Path) -> None:
    """kill -9 of the scheduler mid-batch: the server keeps answering, its jobs in flight go
    back to the queue, and once a scheduler and workers are back every job succeeds once."""
    own = DaskCluster(tmp_path / "dask")  # not the shared cluster: this one is destroyed
    try:
        own.start(workers=2)
        srv = _dask_server(make_server, own)
        batch = submit(srv, [{"sleep_s": 1.0, "frames": i + 1} for i in range(6)])
        wait_for(lambda: any(r["status"] == "running" for r in summary(srv, batch["id"])),
                 timeout=60, interval=0.05, what="a job to start on the cluster")
        own.kill(own.scheduler)
        for worker in own.workers:  # they lost their scheduler; start afresh, as an operator
            own.kill(worker)
        own.workers.clear()
        # The server notices, and answers all the while.
        wait_for(lambda: srv.get(f"api/batch/{batch['id']}/summary/").status_code == 200
                 and any(words in srv.log_path.read_text() for words in (
                     "lost their worker", "could not ask the Dask scheduler")),
                 timeout=120, what="the server to notice the lost scheduler")

        own.start(workers=2)
        runs = wait_finished(srv, batch["id"], timeout=180)
        assert [r["status"] for r in runs] == ["succeeded"] * 6, runs
        archives = sorted(p.name for p in (srv.home / "results").iterdir())
        assert archives == sorted(f"{r['id']}.zip" for r in runs), "each stored exactly once"
        log = srv.log_path.read_text()
        assert "lost their worker" in log, log[-3000:]  # the kill did catch jobs in flight
    finally:
        own.stop()



def test_cancel_stops_jobs_running_on_dask_workers(make_server, cluster: DaskCluster) -> None:
    """The same scenario as on the local pool: two jobs running on the two workers are
    stopped (their workers restarted, as sleep() cannot be interrupted), and the workers take
    the next batch before the jobs' own sleep would have ended."""
    srv = _dask_server(make_server, cluster)
    cluster.wait_workers(2)
    cancel_stops_running_and_queued(srv, started=cluster.job_started)
