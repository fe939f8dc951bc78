"""Preview throughput through the server, against rendering the same previews in-process.

Samples ``--jobs`` VisionFit previews (the same ones every run: ``--seed``) and prints, in one
run:

* the in-process cost of a preview: CPU seconds (this process plus its children) of
  ``run_job_locally``, what a local pool worker runs for a job (render, zip, sync, rename,
  sync the folder), after a warm-up, over all the sampled previews; measured before and after
  the servers, and the mean of the two used;
* the ideal throughput, ``cores / cpu_s_per_preview`` previews per second;
* for each executor, a real ``infinity-workflows serve`` on a loopback port (the local pool
  with ``--workers 2``; Dask with a ``dask scheduler`` and two ``dask worker`` processes, one
  thread each): the time from submitting the previews as one batch over HTTP until the last
  one is recorded finished (its ``end_time``), as previews per second and as a **ratio to
  the ideal**; plus the CPU seconds the whole server side used meanwhile (server, workers,
  Dask scheduler and nannies) against the in-process cost of the same previews, which says
  how much of a shortfall is overhead and how much is idle time.

Every server is warmed up first (workers started, generators imported, the renderer's
compiled kernels loaded from the disk cache) with a small batch of other previews, until
every worker has run one. Targets (issue 16): local pool >= 0.8 of the ideal, Dask >= 0.6.

The ratio splits into CPU efficiency (the in-process CPU of the previews over the CPU the
server side used) times utilisation (that CPU over cores x wall time): the first is overhead,
the second idle workers or, on a shared machine, other people's processes. So that load can
be told apart, ``bare`` runs the same previews on a plain process pool with no server in
between, and ``--baseline DIR`` measures another source tree's servers right after this
tree's (before/after in one run); ``--rounds`` repeats everything, interleaved.

Run: ``.venv/bin/python benchmarks/bench_previews.py [--jobs 200] [--rounds 1]
[--executors bare local dask] [--baseline DIR] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from infinity_workflows.sampling import sample_inputs  # noqa: E402
from infinity_workflows.server.executors.base import JobTask  # noqa: E402
from infinity_workflows.server.executors.local import run_job_locally  # noqa: E402
from tests.support.server import free_port  # noqa: E402
from visionfit.generator import VisionFitGenerator  # noqa: E402

__all__ = ["main"]

GEN = VisionFitGenerator()
TIMEOUT_S = 30.0  # per HTTP request
START_TIMEOUT_S = 120.0  # a server or a cluster answering
BATCH_TIMEOUT_S = 1800.0  # a whole batch finishing


def sample_previews(n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` VisionFit parameter sets drawn from the generator's own distributions."""
    return sample_inputs(GEN.schema, n, rng=np.random.default_rng(seed))


def bare_pool(previews: list[dict[str, Any]], warm: list[dict[str, Any]], workers: int,
              folder: Path) -> dict[str, Any]:
    """Wall seconds for ``workers`` pool processes (started as the server's local pool starts
    them) to run ``run_job_locally`` on every preview, all handed out at once, after a
    warm-up: what the machine delivers now, with no server, database or HTTP in between."""
    from concurrent.futures import ProcessPoolExecutor, wait

    from infinity_workflows.server.executors.local import _mp_context

    results, work = folder / "results", folder / "work"
    results.mkdir(parents=True)
    work.mkdir()

    def tasks(items: list[dict[str, Any]], tag: str) -> list[JobTask]:
        return [JobTask(job_id=f"{tag}-{i:05d}", generator=GEN.name,
                        params=GEN.schema.complete(p), is_preview=True, seed=1000 + i)
                for i, p in enumerate(items)]

    with ProcessPoolExecutor(workers, mp_context=_mp_context()) as pool:
        for future in [pool.submit(run_job_locally, t, str(results), str(work))
                       for t in tasks(warm, "warm")]:
            future.result()
        children = [p.pid for p in psutil.Process().children()]
        load = os.getloadavg()[0]
        before = snapshot(children)
        started = time.perf_counter()
        futures = [pool.submit(run_job_locally, t, str(results), str(work))
                   for t in tasks(previews, "timed")]
        wait(futures)
        elapsed = time.perf_counter() - started
        cpu_used, busy = compare(before, snapshot(children), elapsed, workers)
        for future in futures:
            future.result()
    return {"executor": "bare", "wall_s": elapsed, "server_cpu_s": cpu_used, "busy": busy,
            "load": load}


def _cpu_self_and_children() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def in_process_cpu(previews: list[dict[str, Any]], folder: Path, warmup: int = 3) -> float:
    """CPU seconds per preview of ``run_job_locally`` (what a pool worker runs), warm."""
    results, work = folder / "results", folder / "work"
    results.mkdir(parents=True, exist_ok=True)
    work.mkdir(exist_ok=True)

    def run(i: int, params: dict[str, Any], tag: str) -> None:
        task = JobTask(job_id=f"{tag}-{i:05d}", generator=GEN.name,
                       params=GEN.schema.complete(params), is_preview=True, seed=1000 + i)
        run_job_locally(task, str(results), str(work))

    for i, params in enumerate(previews[:warmup]):
        run(i, params, "warm")
    started = _cpu_self_and_children()
    for i, params in enumerate(previews):
        run(i, params, "timed")
    spent = _cpu_self_and_children() - started
    shutil.rmtree(results, ignore_errors=True)
    return spent / len(previews)


Snapshot = dict[int, tuple[float, dict[int, int]]]  # pid -> (CPU s, {thread: busy ns})


def _thread_busy_ns(pid: int) -> dict[int, int]:
    """Per thread of ``pid``: nanoseconds on a CPU plus waiting for one (schedstat), i.e.
    the time it was not asleep; what load does not change, unlike its CPU share."""
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            on_cpu, waiting, _ = (task / "schedstat").read_text().split()
        except (OSError, ValueError):
            continue
        found[int(task.name)] = int(on_cpu) + int(waiting)
    return found


def snapshot(pids: list[int]) -> Snapshot:
    """CPU seconds and per-thread busy time of these processes and their descendants."""
    found: Snapshot = {}
    for pid in pids:
        try:
            root = psutil.Process(pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        for proc in procs:
            if proc.pid in found:
                continue
            try:
                times = proc.cpu_times()
                found[proc.pid] = (times.user + times.system, _thread_busy_ns(proc.pid))
            except (psutil.NoSuchProcess, FileNotFoundError):
                continue
    return found


def compare(before: Snapshot, after: Snapshot, wall: float, workers: int
            ) -> tuple[float, float]:
    """(CPU seconds used, mean busy share of the ``workers`` processes that used the most).

    A worker's busy share is its busiest thread's (the one running jobs) time running or
    waiting for a CPU over ``wall``: one minus the time it sat idle, waiting for work or for
    the disk, whatever other processes on the machine took."""
    used = {pid: cpu - before.get(pid, (0.0, {}))[0] for pid, (cpu, _) in after.items()}
    busy = []
    for pid in sorted(used, key=used.__getitem__, reverse=True)[:workers]:
        was = before.get(pid, (0.0, {}))[1]
        busy.append(max((ns - was.get(tid, 0) for tid, ns in after[pid][1].items()),
                        default=0) / 1e9 / wall)
    return sum(used.values()), statistics.mean(busy) if busy else 0.0


# -- processes ----------------------------------------------------------------------------------
def _env(folder: Path, tree: Path) -> dict[str, str]:
    """For a server, CLI or Dask process running the code in ``tree``."""
    env = dict(os.environ)
    env["INFINITY_WORKFLOWS_HOME"] = str(folder / "home")
    env["XDG_CONFIG_HOME"] = str(folder / "config")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tree), env.get("PYTHONPATH")]))
    env.pop("INFINITY_API_TOKEN", None)
    # Send a job only to a Dask worker with a free thread (the README's advice).
    env["DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION"] = "1.0"
    return env


def _spawn(args: list[str], folder: Path, log_name: str, tree: Path
           ) -> subprocess.Popen[bytes]:
    log = (folder / log_name).open("ab")
    return subprocess.Popen(args, env=_env(folder, tree), stdout=log,
                            stderr=subprocess.STDOUT, cwd=folder, start_new_session=True)


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def _logs(folder: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text()[-2000:]}"
                     for p in sorted(folder.glob("*.log")))


@contextmanager
def dask_cluster(folder: Path, workers: int, tree: Path) -> Iterator[tuple[str, list[int]]]:
    """A scheduler and ``workers`` one-thread workers on loopback: (address, their pids)."""
    from distributed import Client

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [_spawn([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host",
                     "127.0.0.1", "--port", str(port), "--no-dashboard"], folder,
                    "scheduler.log", tree)]
    for n in range(workers):
        scratch = folder / f"dask-worker-{n}"
        scratch.mkdir()
        procs.append(_spawn([sys.executable, "-m", "distributed.cli.dask_worker", address,
                             "--nworkers", "1", "--nthreads", "1", "--no-dashboard", "--host",
                             "127.0.0.1", "--local-directory", str(scratch), "--name",
                             f"w{n}"], folder, f"dask-worker-{n}.log", tree))
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                with Client(address, timeout=10, set_as_default=False) as client:
                    client.wait_for_workers(
                        workers, timeout=max(1.0, deadline - time.monotonic()))
                break
            except (OSError, TimeoutError) as exc:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the Dask cluster did not start: {exc}\n"
                                       + _logs(folder)) from None
                time.sleep(0.5)
        yield address, [p.pid for p in procs]
    finally:
        _stop(procs)


@contextmanager
def _cluster_for(executor: str, folder: Path, workers: int, tree: Path
                 ) -> Iterator[tuple[list[str], list[int]]]:
    """The serve options and extra processes an executor needs."""
    if executor == "local":
        yield [], []
        return
    with dask_cluster(folder, workers, tree) as (address, pids):
        yield ["--executor", "dask", "--scheduler", address], pids


class Server:
    """``infinity-workflows serve`` in a process group of its own, with a fresh token."""

    def __init__(self, folder: Path, args: list[str], tree: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        home = folder / "home"
        self.proc = _spawn([sys.executable, "-m", "infinity_workflows", "serve", "--host",
                            "127.0.0.1", "--port", str(self.port), "--home", str(home),
                            "--log-level", "warning", *args], folder, "server.log", tree)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("the server exited:\n" + _logs(folder))
            try:
                if requests.get(self.url + "api/schema/", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the server did not answer:\n" + _logs(folder))
            time.sleep(0.1)
        out = subprocess.run([sys.executable, "-m", "infinity_workflows", "token", "create",
                              "--home", str(home), "--name", "bench"], env=_env(folder, tree),
                             capture_output=True, text=True, check=True, timeout=120,
                             cwd=folder)
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Token {out.stdout.strip().splitlines()[-1]}"

    def submit(self, previews: list[dict[str, Any]], name: str) -> str:
        body = {"name": name, "job_runs": [{"name": GEN.name, "is_preview": True,
                                            "param_values": p} for p in previews]}
        created = self.http.post(self.url + "api/batch/", json=body, timeout=TIMEOUT_S)
        created.raise_for_status()
        return created.json()["id"]

    def wait(self, batch_id: str, poll: float) -> list[dict[str, Any]]:
        """Poll the batch's summary until no job is in progress."""
        deadline = time.monotonic() + BATCH_TIMEOUT_S
        while time.monotonic() < deadline:
            got = self.http.get(f"{self.url}api/batch/{batch_id}/summary/", timeout=TIMEOUT_S)
            got.raise_for_status()
            runs = got.json()["job_runs"]
            if not any(r["in_progress"] for r in runs):
                return runs
            time.sleep(poll)
        raise TimeoutError(f"batch {batch_id} did not finish in {BATCH_TIMEOUT_S:g}s")

    def jobs(self, batch_id: str) -> list[dict[str, Any]]:
        got = self.http.get(self.url + "api/job_previews/", timeout=TIMEOUT_S)
        got.raise_for_status()
        return [j for j in got.json() if j["batch_id"] == batch_id]

    def stop(self) -> None:
        _stop([self.proc])


def _warm_up(server: Server, previews: list[dict[str, Any]], workers: int, poll: float
             ) -> None:
    """Run small batches until every worker has run a job (kernels loaded, imports done)."""
    seen: set[str] = set()
    for attempt in range(5):
        runs = server.wait(server.submit(previews, f"warm-up-{attempt}"), poll)
        bad = [r for r in runs if r["status"] != "succeeded"]
        if bad:
            raise RuntimeError(f"a warm-up job failed: {bad[0]}")
        seen.update(r["worker"] for r in runs if r["worker"])
        if len(seen) >= workers:
            return
    raise RuntimeError(f"only {len(seen)} of {workers} workers ran a warm-up job")


def measure_server(executor: str, previews: list[dict[str, Any]], warm: list[dict[str, Any]],
                   *, workers: int, poll: float, tree: Path = ROOT) -> dict[str, Any]:
    """One server, warmed up, then the timed batch: wall seconds and server-side CPU."""
    with tempfile.TemporaryDirectory(prefix=f"bench-previews-{executor}-") as tmp:
        folder = Path(tmp)
        with _cluster_for(executor, folder, workers, tree) as (extra_args, extra_pids):
            server = Server(folder, ["--workers", str(workers), *extra_args], tree)
            try:
                _warm_up(server, warm, workers, poll)
                pids = [server.proc.pid, *extra_pids]
                load = os.getloadavg()[0]
                before = snapshot(pids)
                submitted = datetime.now(timezone.utc)
                batch = server.submit(previews, "timed")
                runs = server.wait(batch, poll)
                after = snapshot(pids)
                jobs = server.jobs(batch)
            finally:
                server.stop()
    failed = [r for r in runs if r["status"] != "succeeded"]
    if failed:
        raise RuntimeError(f"{len(failed)} preview(s) failed, the first: {failed[0]}")
    # Finished: when the last job was recorded (not when a poll noticed).
    wall = (max(datetime.fromisoformat(j["end_time"]) for j in jobs) - submitted
            ).total_seconds()
    cpu_used, busy = compare(before, after, wall, workers)
    return {"executor": executor, "wall_s": wall, "server_cpu_s": cpu_used, "busy": busy,
            "load": load}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200, help="previews in the timed batch")
    parser.add_argument("--seed", type=int, default=16, help="seed of the sampled previews")
    parser.add_argument("--workers", type=int, default=2,
                        help="local pool processes, and Dask workers (one thread each)")
    parser.add_argument("--cores", type=int, default=len(os.sched_getaffinity(0)),
                        help="cores the ideal is computed for (default: this machine's)")
    parser.add_argument("--executors", nargs="+", default=["bare", "local", "dask"],
                        choices=["bare", "local", "dask"],
                        help="bare: a process pool running the jobs with no server")
    parser.add_argument("--rounds", type=int, default=1,
                        help="times each is measured, interleaved")
    parser.add_argument("--poll", type=float, default=0.5,
                        help="seconds between the client's summary polls")
    parser.add_argument("--baseline", type=Path, metavar="DIR",
                        help="another source tree of this project (e.g. `git archive main | "
                             "tar -x -C DIR`): its servers and workers are measured too, "
                             "each right after this tree's, for before/after in one run")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    trees = [("this", ROOT)] + ([("baseline", args.baseline.resolve())] if args.baseline
                                else [])

    previews = sample_previews(args.jobs, args.seed)
    warm = sample_previews(2 * args.workers, args.seed + 1)
    report: dict[str, Any] = {"jobs": args.jobs, "cores": args.cores, "runs": []}
    with tempfile.TemporaryDirectory(prefix="bench-previews-") as tmp:
        cpu_runs = [in_process_cpu(previews, Path(tmp) / "cpu-before")]
        for n in range(args.rounds):
            for executor in args.executors:
                for code, tree in trees[:1] if executor == "bare" else trees:
                    if executor == "bare":
                        run = bare_pool(previews, warm, args.workers, Path(tmp) / f"bare-{n}")
                    else:
                        run = measure_server(executor, previews, warm, workers=args.workers,
                                             poll=args.poll, tree=tree)
                    run.update(round=n + 1, code=code)
                    report["runs"].append(run)
                    if not args.json:
                        print(f"  round {n + 1}, {executor} ({code}): {run['wall_s']:.2f} s "
                              f"(load {run['load']:.1f})", flush=True)
        cpu_runs.append(in_process_cpu(previews, Path(tmp) / "cpu-after"))
    cpu = statistics.mean(cpu_runs)
    ideal = args.cores / cpu
    report.update(cpu_s_per_preview=cpu, cpu_s_runs=cpu_runs, ideal_per_s=ideal)
    for run in report["runs"]:
        run["per_s"] = args.jobs / run["wall_s"]
        run["ratio"] = run["per_s"] / ideal
        # ratio = cpu_efficiency x utilisation
        run["cpu_efficiency"] = args.jobs * cpu / run["server_cpu_s"]
        run["utilisation"] = run["server_cpu_s"] / (args.cores * run["wall_s"])
        run["projected"] = run["cpu_efficiency"] * min(1.0, run["busy"])
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"{args.jobs} sampled VisionFit previews (seed {args.seed}); in-process "
          f"{1000 * cpu:.1f} ms CPU per preview (before {1000 * cpu_runs[0]:.1f}, after "
          f"{1000 * cpu_runs[1]:.1f}); ideal {args.cores} / {cpu:.4f} s = {ideal:.1f} "
          "previews/s")
    print("ratio = previews/s / ideal = CPU efficiency (in-process CPU / CPU used) x "
          "utilisation (CPU used / (cores x wall)).\nbusy: share of the wall time the "
          "workers' job threads were running or waiting for a CPU (not idle); projected: "
          "CPU efficiency x busy, the ratio on an otherwise idle machine")
    print(f"{'round':<6} {'executor':<9} {'code':<9} {'load':>5} {'wall s':>7} "
          f"{'previews/s':>10} {'ratio':>6} {'CPU used s':>10} {'CPU eff.':>8} {'utilis.':>7} "
          f"{'busy':>5} {'projected':>9}")
    for run in report["runs"]:
        print(f"{run['round']:<6} {run['executor']:<9} {run['code']:<9} {run['load']:>5.1f} "
              f"{run['wall_s']:>7.2f} {run['per_s']:>10.1f} {run['ratio']:>6.2f} "
              f"{run['server_cpu_s']:>10.1f} {run['cpu_efficiency']:>8.2f} "
              f"{run['utilisation']:>7.2f} {run['busy']:>5.2f} {run['projected']:>9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
