"""``Batch``: a submitted batch; follows its jobs and downloads their results.

A batch is what its session's server says it is: its ids are checked once, here, before any
of them can name a file. Waiting polls the batch's summary (:mod:`.polling`); downloading
(archive checks, extraction, claiming the folder, resuming) is :mod:`.download`'s work.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any, Protocol

from tqdm.auto import tqdm

from . import api
from .download import BATCH_ID_FILE, PARTIAL_DIR, DownloadLimits, download_batch
from .errors import JobTimeout, NotFoundError, ProtocolError
from .files import replace_folder
from .polling import check_interval, poll
from .trust import parse_uuid

# BATCH_ID_FILE and PARTIAL_DIR live in .download, replace_folder in .files; named here too,
# where code written before the move imports them.
__all__ = ["BATCH_ID_FILE", "PARTIAL_DIR", "Batch", "JobType", "parse_time", "replace_folder"]


class JobType(str, Enum):
    """What a batch renders. A ``str`` enum, so ``batch.job_type == "preview"`` and
    infinity-core's ``batch.job_type == JobType.PREVIEW`` both hold. ``STANDARD`` is
    infinity-core's name for ``VIDEO``."""

    PREVIEW = "preview"
    VIDEO = "video"
    STANDARD = "video"  # the same member as VIDEO (an alias), under infinity-core's name

    def __str__(self) -> str:
        return self.value

    __format__ = str.__format__


def parse_time(value: str | datetime) -> datetime:
    """An API time (ISO 8601 with offset) as an aware datetime."""
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


class BatchSession(Protocol):
    """What a Batch needs of its session (a :class:`~infinity_workflows.Session` has it):
    declared here so that batch.py does not import session.py, which imports it."""

    server: str
    transport: api.Transport

    def portal_url(self, batch_id: str) -> str: ...


class Batch:
    """A batch on the server, as seen by the token of ``session``."""

    def __init__(self, session: BatchSession, data: dict[str, Any]) -> None:
        self.session = session
        self._set(data)

    @classmethod
    def from_api(cls, token: str | None, batch_id: str, server: str) -> Batch:
        """The batch ``batch_id`` fetched with ``token`` from ``server`` (infinity-core's
        form); its generator is the one its jobs name, so this opens a Session for it."""
        # Through the package, which loads session.py on first use: session.py imports this
        # module (a Session makes Batches), never the other way round.
        from . import Session

        return Session.for_batch(batch_id, token=token, server=server)

    def _set(self, data: dict[str, Any]) -> None:
        # Ids name files and folders of a download: checked here, the one way in.
        server = self.session.server
        self.batch_id: str = parse_uuid(data.get("id"), "batch id", sent_by=server)
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
            parse_uuid(job["id"], "job id", sent_by=server)

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
        """``JobType.PREVIEW`` (``"preview"``) or ``JobType.VIDEO`` (``"video"``, infinity-core's
        ``STANDARD``): a batch is never a mix."""
        return JobType.PREVIEW if self.jobs and self.jobs[0].get("is_preview") \
            else JobType.VIDEO

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
        raise NotFoundError(f"job {job_id} is not part of batch {self.batch_id}")

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

    def delete(self) -> dict[str, Any]:
        """Delete the batch on the server: unfinished jobs are cancelled, then its results
        are removed from the server's disk (files already downloaded stay). Returns
        ``{id, cancelled, removed, freed_bytes}``; the batch is then gone, so asking the
        server about it again raises NotFound."""
        return api.delete_batch(self._t, self.batch_id)

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
        check_interval(polling_interval)
        last: list[dict[str, Any]] = []  # the summary of the latest look

        def finished() -> list[dict[str, Any]] | None:
            nonlocal last
            last = self.job_summaries()
            done = sum(1 for j in last if not j["in_progress"])
            bar.update(done - bar.n)
            bar.set_postfix(failed=sum(1 for j in last if j.get("status") == "failed"),
                            refresh=False)
            return last if done == len(last) else None

        def timed_out() -> JobTimeout:
            still = sum(1 for j in last if j["in_progress"])
            return JobTimeout(
                f"batch {self.batch_id}: {still} of {len(last)} jobs still in progress after "
                f"{timeout:g} s; they keep running on the server, call await_completion() "
                "again to keep waiting")

        with tqdm(total=self.num_jobs, desc=f"batch {self.name or self.batch_id}",
                  unit="job", disable=not progress) as bar:
            return poll(finished, timeout, polling_interval, f"batch {self.batch_id}",
                        timed_out=timed_out)

    # -- download ------------------------------------------------------------------------
    def download(self, path: str | os.PathLike[str], overwrite: bool = False,
                 quiet: bool = False, *, wait: bool = False, polling_interval: float = 5,
                 timeout: float | None = None, max_workers: int = 4,
                 progress: bool | None = None,
                 limits: DownloadLimits | Mapping[str, Any] | None = None) -> list[Path]:
        """Download every finished job into ``path/<job_id>/``; returns the job folders.

        Jobs already on disk are skipped unless ``overwrite``. ``quiet`` (infinity-core's
        name) hides the progress bar, as ``progress=False`` does. With ``wait`` the call keeps
        polling and downloads jobs as they finish until none is in progress; without it, jobs
        still in progress are left for a later call. ``timeout`` ends the whole call however
        slowly the server sends (:class:`JobTimeout`, keeping every job already whole).
        Raises :class:`DownloadError` naming every job that failed on the server or could
        not be downloaded, after keeping all the others. A job folder is always whole; an
        interrupted download resumes (:mod:`.download`).

        ``limits`` bounds what the server may make this call write or wait for (archive and
        extracted bytes, entries, compression ratio, seconds per archive, bytes in all):
        a :class:`~infinity_workflows.download.DownloadLimits`, or a dict of the fields to
        change (``{"job_bytes": "8G"}``); by default its defaults, as the environment
        variable ``INFINITY_DOWNLOAD_LIMITS`` changes them. A refused job leaves nothing.
        """
        return download_batch(self, self._t, path, overwrite=overwrite, wait=wait,
                              polling_interval=polling_interval, timeout=timeout,
                              max_workers=max_workers,
                              progress=not quiet if progress is None else progress,
                              limits=limits)
