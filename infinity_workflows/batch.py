"""``Batch``: a submitted batch; follows its jobs and downloads their results.

A download is made to survive interruption and never to show a half-written job:

* each job's zip streams to ``<path>/.partial/<job_id>.zip``, is checked, extracted into a
  temporary folder inside ``<path>`` and only then renamed to ``<path>/<job_id>/``, so a job
  folder that exists is complete and a later call skips it (resume);
* an archive entry that is absolute, contains ``..`` or is not under ``<job_id>/`` refuses
  the whole job before anything of it is written (zip-slip);
* ``<path>/batch_id.txt`` records the batch, and a folder holding another batch is refused
  before anything is downloaded;
* result URLs are signed and may expire, so fresh ones are read from ``summary/`` right
  before each round of downloads, and a refused link is fetched again once with a new URL.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import warnings
import zipfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import datetime
from enum import Enum
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar, Protocol

from tqdm.auto import tqdm

from . import api
from .errors import (
    APIError,
    ConfigurationError,
    DownloadError,
    InfinityError,
    JobTimeout,
    NotFoundError,
    ProtocolError,
    ServerUnreachable,
    ValidationError,
)
from .files import replace_folder, write_text_atomic
from .trust import checked_id

__all__ = ["BATCH_ID_FILE", "PARTIAL_DIR", "Batch", "JobType", "parse_time"]

BATCH_ID_FILE = "batch_id.txt"
PARTIAL_DIR = ".partial"
_EXTRACT_PREFIX = ".extract-"


class JobType(str, Enum):
    """What a batch renders. A ``str`` enum, so ``batch.job_type == "preview"`` and
    infinity-core's ``batch.job_type == JobType.PREVIEW`` both hold."""

    PREVIEW = "preview"
    STANDARD = "video"

    def __str__(self) -> str:
        return self.value

    __format__ = str.__format__


# A signed link refused with one of these was most likely expired: fetch a fresh one.
_STALE_LINK_STATUSES = (401, 403, 404, 410)
_LINK_ATTEMPTS = 3


def parse_time(value: str | datetime) -> datetime:
    """An API time (ISO 8601 with offset) as an aware datetime."""
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


class _UnsafeArchive(InfinityError):
    """A result archive holds an entry that would land outside its job folder."""


def _check_members(archive: zipfile.ZipFile, job_id: str
                   ) -> list[tuple[zipfile.ZipInfo, tuple[str, ...]]]:
    """Every entry with its path parts, provided each stays inside ``<job_id>/``.

    Raises before anything is written, so a hostile archive leaves no trace.
    """
    members = []
    for info in archive.infolist():
        name = info.filename
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if (name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":")
                or ".." in parts or not parts or parts[0] != job_id
                or (len(parts) == 1 and not info.is_dir())):
            raise _UnsafeArchive(
                f"refused: archive entry {name!r} is not inside the job folder {job_id}/ "
                "(absolute, '..' or foreign path); nothing of this job was written")
        members.append((info, parts))
    return members


def _extract(archive_path: Path, job_id: str, root: Path) -> Path:
    """Extract a checked archive into a temporary folder, then rename it into place."""
    with zipfile.ZipFile(archive_path) as archive:
        members = _check_members(archive, job_id)
        staging = Path(tempfile.mkdtemp(prefix=f"{_EXTRACT_PREFIX}{job_id}-", dir=root))
        try:
            job_dir = staging / job_id
            job_dir.mkdir()
            for info, parts in members:
                target = staging.joinpath(*parts)
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                # Reading to the end checks the CRC, so a corrupt member raises here.
                with archive.open(info) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
            final = root / job_id
            replace_folder(job_dir, final, aside_prefix=f"{_EXTRACT_PREFIX}old-")
            return final
        finally:
            shutil.rmtree(staging, ignore_errors=True)


class BatchSession(Protocol):
    """What a Batch needs of its session (a :class:`~infinity_workflows.Session` has it):
    declared here so that batch.py does not import session.py, which imports it."""

    transport: api.Transport

    def portal_url(self, batch_id: str) -> str: ...


class Batch:
    """A batch on the server, as seen by the token of ``session``."""

    def __init__(self, session: BatchSession, data: dict[str, Any]) -> None:
        self.session = session
        self._set(data)

    # The Session class, set by session.py (which imports this module, not the other way
    # round), so that Batch.from_api can open a session for the batch's generator.
    session_class: ClassVar[Any] = None

    @classmethod
    def from_api(cls, token: str | None, batch_id: str, server: str) -> Batch:
        """The batch ``batch_id`` fetched with ``token`` from ``server`` (infinity-core's
        form); its generator is the one its jobs name."""
        return cls.session_class.for_batch(batch_id, token=token, server=server)

    def _set(self, data: dict[str, Any]) -> None:
        # Ids name files and folders of a download: checked here, the one way in.
        server = self.session.server
        self.batch_id: str = checked_id(data.get("id"), "a batch id", server)
        self.name: str = str(data.get("name") or "")
        self.created: datetime | None = parse_time(data["created"]) if data.get("created") \
            else None
        runs = data.get("job_runs")
        if not isinstance(runs, list) or not all(isinstance(job, dict) for job in runs):
            raise ProtocolError(f"{server} sent batch {self.batch_id} without a list of jobs "
                                "(job_runs); is it really an Infinity API server?")
        self.jobs: list[dict[str, Any]] = [
            {k: job.get(k) for k in ("id", "name", "is_preview", "param_values")}
            for job in runs
        ]
        for job in self.jobs:
            checked_id(job["id"], "a job id", server)

    def __repr__(self) -> str:
        return (f"Batch(batch_id={self.batch_id!r}, name={self.name!r}, "
                f"num_jobs={self.num_jobs}, job_type={self.job_type!r})")

    @property
    def _t(self) -> api.Transport:
        return self.session.transport

    # -- what was submitted --------------------------------------------------------------
    @property
    def job_ids(self) -> list[str]:
        return [j["id"] for j in self.jobs]

    @property
    def job_params(self) -> list[dict[str, Any]]:
        """The complete parameters of each job (defaults filled in by the server)."""
        return [j["param_values"] for j in self.jobs]

    @property
    def num_jobs(self) -> int:
        return len(self.jobs)

    @property
    def job_type(self) -> JobType:
        """``JobType.PREVIEW`` (``"preview"``) or ``JobType.STANDARD`` (``"video"``): a batch
        is never a mix."""
        return JobType.PREVIEW if self.jobs and self.jobs[0].get("is_preview") \
            else JobType.STANDARD

    def get_job_params_seeded_for_rerun(self) -> list[dict[str, Any]]:
        """Each job's parameters with ``state`` set to the job's id (when the generator has
        a ``state`` parameter), so submitting them renders the same jobs again."""
        return [{**j["param_values"], "state": j["id"]} if "state" in j["param_values"]
                else dict(j["param_values"]) for j in self.jobs]

    @property
    def portal_url(self) -> str:
        return self.session.portal_url(self.batch_id)

    def get_batch_data(self) -> dict[str, Any]:
        """GET api/batch/{id}/ (and refresh this object from it)."""
        data = api.get_batch(self._t, self.batch_id)
        self._set(data)
        return data

    # -- how it is going -----------------------------------------------------------------
    def get_batch_summary_data(self) -> dict[str, Any]:
        """GET api/batch/{id}/summary/: ``{id, name, job_runs: [{id, name, in_progress,
        status, result_url, error, ...}]}``."""
        return api.get_batch_summary(self._t, self.batch_id)

    def job_summaries(self) -> list[dict[str, Any]]:
        """The summary of each job, in the batch's order (``job_runs`` of the summary)."""
        return self.get_batch_summary_data()["job_runs"]

    def get_job_summary_data(self, job_id: str) -> dict[str, Any]:
        """The summary of one job of this batch; NotFoundError for a job of another batch."""
        for job in self.job_summaries():
            if job["id"] == job_id:
                return job
        raise NotFoundError(f"job {job_id} is not part of batch {self.batch_id}", 404)

    def get_num_jobs_remaining(self) -> int:
        return sum(1 for j in self.job_summaries() if j["in_progress"])

    def get_completed_jobs(self) -> list[dict[str, Any]]:
        """Jobs that finished, whether they succeeded or failed."""
        return [j for j in self.job_summaries() if not j["in_progress"]]

    def get_valid_completed_jobs(self) -> list[dict[str, Any]]:
        """Jobs that succeeded and have a result to download."""
        return [j for j in self.job_summaries()
                if j.get("status") == "succeeded" and j.get("result_url")]

    def cancel(self) -> int:
        """Cancel every job still queued and stop every job running (within seconds); jobs
        that finished keep their results. Returns how many jobs were cancelled: 0 for a
        batch that had finished, which is not an error."""
        return int(api.cancel_batch(self._t, self.batch_id)["cancelled"])

    def get_cancelled_jobs(self) -> list[dict[str, Any]]:
        """Jobs that were cancelled (by their owner, or by revoking their token)."""
        return [j for j in self.job_summaries() if j.get("status") == "cancelled"]

    def get_failed_jobs(self) -> list[dict[str, Any]]:
        """Jobs that ended ``failed``; each has a human-readable ``error``."""
        return [j for j in self.job_summaries() if j.get("status") == "failed"]

    def await_completion(self, polling_interval: float = 5, timeout: float | None = None,
                         progress: bool = True) -> list[dict[str, Any]]:
        """Wait until no job is in progress; returns the final summary.

        Raises :class:`JobTimeout` after ``timeout`` seconds (jobs keep running on the
        server; call again to keep waiting).
        """
        if polling_interval <= 0:
            raise ValidationError("polling_interval must be > 0 seconds")
        deadline = None if timeout is None else time.monotonic() + timeout
        with tqdm(total=self.num_jobs, desc=f"batch {self.name or self.batch_id}",
                  unit="job", disable=not progress) as bar:
            while True:
                summary = self.job_summaries()
                finished = sum(1 for j in summary if not j["in_progress"])
                failed = sum(1 for j in summary if j.get("status") == "failed")
                bar.update(finished - bar.n)
                bar.set_postfix(failed=failed, refresh=False)
                if finished == len(summary):
                    return summary
                if deadline is not None and time.monotonic() >= deadline:
                    raise JobTimeout(
                        f"batch {self.batch_id}: {len(summary) - finished} of {len(summary)} "
                        f"jobs still in progress after {timeout:g} s; they keep running on "
                        "the server, call await_completion() again to keep waiting")
                pause = polling_interval
                if deadline is not None:
                    pause = max(0.0, min(pause, deadline - time.monotonic()))
                time.sleep(pause)

    # -- download ------------------------------------------------------------------------
    def _claim(self, root: Path) -> None:
        """Refuse a folder of another batch; otherwise mark it as this batch's."""
        marker = root / BATCH_ID_FILE
        if marker.exists():
            other = marker.read_text().strip()
            if other != self.batch_id:
                raise ConfigurationError(
                    f"{root} already holds batch {other} (see {marker}); download batch "
                    f"{self.batch_id} into another folder so the two are not mixed")
            return
        write_text_atomic(marker, self.batch_id + "\n")

    def _fetch(self, url: str, job_id: str, root: Path) -> Path:
        partial = root / PARTIAL_DIR / f"{job_id}.zip"
        try:
            with open(partial, "wb") as out:  # a stale file of an interrupted run is replaced
                api.download_result(self._t, url, out)
            return _extract(partial, job_id, root)
        except zipfile.BadZipFile as exc:
            raise _UnsafeArchive(f"the result archive is corrupt ({exc})") from None
        finally:
            partial.unlink(missing_ok=True)

    def download(self, path: str | os.PathLike[str], overwrite: bool = False,
                 quiet: bool = False, *, wait: bool = False, polling_interval: float = 5,
                 timeout: float | None = None, max_workers: int = 4,
                 progress: bool | None = None) -> list[Path]:
        """Download every finished job into ``path/<job_id>/``; returns the job folders.

        Jobs already on disk are skipped unless ``overwrite``. ``quiet`` (infinity-core's
        name) hides the progress bar, as ``progress=False`` does. With ``wait`` the call keeps
        polling and downloads jobs as they finish until none is in progress (raising
        :class:`JobTimeout` after ``timeout`` seconds); without it, jobs still in progress
        are left for a later call. Raises :class:`DownloadError` naming every job that
        failed on the server or could not be downloaded, after keeping all the others.
        """
        if progress is None:
            progress = not quiet
        if max_workers < 1:
            raise ValidationError("max_workers must be at least 1")
        if polling_interval <= 0:
            raise ValidationError("polling_interval must be > 0 seconds")
        root = Path(path).expanduser()
        if root.exists() and not root.is_dir():
            raise ConfigurationError(f"{root} is a file; download into a folder")
        root.mkdir(parents=True, exist_ok=True)
        self._claim(root)
        # Left by an interrupted run: never complete, so never trusted. (Two downloads into
        # one folder at the same time are not supported.)
        for stale in root.glob(f"{_EXTRACT_PREFIX}*"):
            shutil.rmtree(stale, ignore_errors=True)
        shutil.rmtree(root / PARTIAL_DIR, ignore_errors=True)
        (root / PARTIAL_DIR).mkdir()

        done: dict[str, Path] = {}
        if not overwrite:
            done = {j: root / j for j in self.job_ids if (root / j).is_dir()}
        pending = [j for j in self.job_ids if j not in done]
        failed: dict[str, str] = {}
        attempts: dict[str, int] = {}
        deadline = None if timeout is None else time.monotonic() + timeout
        in_progress = 0
        cancelled: set[str] = set()

        pool = ThreadPoolExecutor(max_workers=max_workers)
        bar = tqdm(total=self.num_jobs, initial=len(done), unit="job",
                   desc=f"download {self.name or self.batch_id}", disable=not progress)
        try:
            while pending:
                summary = {j["id"]: j for j in self.job_summaries()}
                ready: dict[str, str] = {}
                in_progress = 0
                for job_id in pending:
                    job = summary.get(job_id)
                    if job is None:
                        failed[job_id] = "missing from the server's summary of the batch"
                    elif job.get("status") == "cancelled":
                        cancelled.add(job_id)  # not a failure: nothing to fetch, by request
                    elif job.get("status") == "failed":
                        reason = job.get("error") or "no reason given"
                        failed[job_id] = f"failed on the server: {reason}"
                    elif job["in_progress"]:
                        in_progress += 1
                    elif job.get("result_url"):
                        ready[job_id] = job["result_url"]
                    else:
                        failed[job_id] = "finished without a result to download"
                retry = self._download_round(pool, ready, root, done, failed, attempts, bar)
                pending = [j for j in pending
                           if j not in done and j not in failed and j not in cancelled]
                bar.set_postfix(failed=len(failed), waiting=in_progress, refresh=True)
                if retry:
                    continue  # fresh links for refused ones, straight away
                if not pending or not wait:
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    raise JobTimeout(
                        f"batch {self.batch_id}: {len(pending)} jobs not finished after "
                        f"{timeout:g} s; {len(done)} are downloaded in {root}"
                        + (f", {len(failed)} failed" if failed else "")
                        + "; call download() again to fetch the rest")
                if not ready:
                    pause = polling_interval
                    if deadline is not None:
                        pause = max(0.0, min(pause, deadline - time.monotonic()))
                    time.sleep(pause)
        finally:
            # On Ctrl-C, drop queued jobs instead of downloading them all first.
            pool.shutdown(wait=True, cancel_futures=True)
            bar.close()
            partial_dir = root / PARTIAL_DIR
            if partial_dir.is_dir() and not any(partial_dir.iterdir()):
                partial_dir.rmdir()

        if failed:
            listed = "\n".join(f"  {j}: {why}" for j, why in list(failed.items())[:20])
            more = f"\n  ... and {len(failed) - 20} more" if len(failed) > 20 else ""
            raise DownloadError(
                f"{len(failed)} of {self.num_jobs} jobs of batch {self.batch_id} were not "
                f"downloaded ({len(done)} are in {root}):\n{listed}{more}", failed)
        if cancelled:
            warnings.warn(f"{len(cancelled)} of {self.num_jobs} jobs of batch {self.batch_id} "
                          "were cancelled and have nothing to download", stacklevel=2)
        if in_progress and not wait:
            warnings.warn(
                f"{in_progress} of {self.num_jobs} jobs of batch {self.batch_id} are still in "
                "progress and were not downloaded; call download() again later or pass "
                "wait=True", stacklevel=2)
        return [done[j] for j in self.job_ids if j in done]

    def _download_round(self, pool: ThreadPoolExecutor, ready: dict[str, str], root: Path,
                        done: dict[str, Path], failed: dict[str, str],
                        attempts: dict[str, int], bar: Any) -> bool:
        """Fetch ``ready`` in parallel; True when some link was refused and may be retried."""
        futures = {pool.submit(self._fetch, url, job_id, root): job_id
                   for job_id, url in ready.items()}
        retry = False
        for future in as_completed(futures):
            job_id = futures[future]
            try:
                done[job_id] = future.result()
                bar.update(1)
            except APIError as exc:
                attempts[job_id] = attempts.get(job_id, 0) + 1
                if exc.status in _STALE_LINK_STATUSES and attempts[job_id] < _LINK_ATTEMPTS:
                    retry = True
                else:
                    failed[job_id] = str(exc)
            except (ServerUnreachable, _UnsafeArchive, OSError) as exc:
                failed[job_id] = str(exc)
        return retry

