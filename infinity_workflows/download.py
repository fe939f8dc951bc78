"""Downloading a batch's results: resumable, one whole job folder at a time, hostile-proof.

A download is made to survive interruption and never to show a half-written job:

* each job's zip streams to ``<path>/.partial/<job_id>.zip``, is checked, extracted into a
  temporary folder inside ``<path>`` and only then renamed to ``<path>/<job_id>/``, so a job
  folder that exists is complete and a later call skips it (resume);
* an archive entry that is absolute, contains ``..`` or is not under ``<job_id>/`` refuses
  the whole job before anything of it is written (zip-slip);
* ``<path>/batch_id.txt`` claims the folder for the batch, and a folder holding another batch
  is refused before anything is downloaded;
* result URLs are signed and may expire, so fresh ones are read from ``summary/`` right
  before each round of downloads, and a refused link is fetched again with a new URL;
* a server is not trusted to be reasonable either:
  :class:`~infinity_workflows.download_limits.DownloadLimits` bounds what one
  archive may weigh as it arrives and once extracted, how many entries it holds, how much
  it may expand, how long it may take, and what one download may write in all. A refused
  archive leaves nothing behind, and the error names the job, the limit and how to raise it
  (the checks: :mod:`~infinity_workflows.download_archive`).

:meth:`Batch.download <infinity_workflows.batch.Batch.download>` is the way in; this module
needs of a batch only its ids, name and summaries (:class:`Downloadable`).
"""

from __future__ import annotations

import os
import shutil
import time
import warnings
import zipfile
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Protocol

from tqdm.auto import tqdm

from . import api
from .cut_off import CutOff
from .download_archive import EXTRACT_PREFIX, extract_job
from .download_limits import (
    LIMITS_ENV,
    ArchiveRefused,
    BudgetedWriter,
    DownloadBudget,
    DownloadLimits,
    over_limit,
)
from .errors import (
    APIError,
    ConfigurationError,
    DownloadError,
    InfinityError,
    JobTimeout,
    ProtocolError,
    ServerUnreachable,
    ValidationError,
)
from .files import write_text_atomic
from .polling import Deadline, check_interval

__all__ = [
    "BATCH_ID_FILE",
    "LIMITS_ENV",
    "PARTIAL_DIR",
    "DownloadLimits",
    "Downloadable",
    "claim_folder",
    "download_batch",
]

BATCH_ID_FILE = "batch_id.txt"
PARTIAL_DIR = ".partial"
# A signed link refused with one of these was most likely expired: fetch a fresh one.
_STALE_LINK_STATUSES = (401, 403, 404, 410)
_LINK_ATTEMPTS = 3


class Downloadable(Protocol):
    """What a download needs of a batch (a :class:`~infinity_workflows.Batch` has it)."""

    batch_id: str
    name: str

    @property
    def job_ids(self) -> list[str]: ...

    def job_summaries(self) -> list[dict[str, Any]]: ...


class _OutOfTime(InfinityError):
    """The download's own timeout ended while an archive was still arriving."""


# -- one job: its archive fetched, then checked and extracted (download_archive) ------------
def _fetch(t: api.Transport, url: str, job_id: str, root: Path, limits: DownloadLimits,
           budget: DownloadBudget, ends_at: float | None) -> Path:
    """One job: its archive streamed into ``.partial``, checked, extracted into place.

    ``ends_at`` (:func:`time.monotonic`) is the end of the whole download; the archive's
    own ``archive_seconds`` may end it sooner. Whatever refuses it, the ``.partial`` file
    and the staging folder are gone before this returns.
    """
    budget.check_open()
    own_end = (None if limits.archive_seconds is None
               else time.monotonic() + limits.archive_seconds)
    ends = [e for e in (ends_at, own_end) if e is not None]
    partial = root / PARTIAL_DIR / f"{job_id}.zip"
    try:
        with open(partial, "wb") as file:  # a stale file of an interrupted run is replaced
            out = BudgetedWriter(file, budget)
            try:
                api.download_result(t, url, out,  # type: ignore[arg-type]
                                    max_bytes=limits.archive_bytes,
                                    deadline=min(ends) if ends else None)
            except api.ResultTooLarge as exc:
                raise over_limit(limits, "archive_bytes", exc.found) from None
            except ProtocolError as exc:
                raise ArchiveRefused(f"refused: {exc}; nothing of this job was kept") from None
            except JobTimeout:
                if ends_at is not None and time.monotonic() >= ends_at:
                    raise _OutOfTime(f"{out.size:,} bytes of its archive had arrived when "
                                     "the download's time ran out") from None
                raise over_limit(limits, "archive_seconds", "the archive was still arriving, "
                            f"{out.size:,} bytes in") from None
        return extract_job(partial, job_id, root, limits, budget)
    except zipfile.BadZipFile as exc:
        raise ArchiveRefused(f"the result archive is corrupt ({exc})") from None
    finally:
        partial.unlink(missing_ok=True)


# -- the folder: claimed for one batch, cleared of what an interrupted run left -------------
def claim_folder(root: Path, batch_id: str) -> None:
    """Refuse a folder of another batch; otherwise mark it as ``batch_id``'s."""
    marker = root / BATCH_ID_FILE
    if marker.exists():
        other = marker.read_text().strip()
        if other != batch_id:
            raise ConfigurationError(
                f"{root} already holds batch {other} (see {marker}); download batch "
                f"{batch_id} into another folder so the two are not mixed")
        return
    write_text_atomic(marker, batch_id + "\n")


def _prepare(root: Path, batch_id: str) -> None:
    if root.exists() and not root.is_dir():
        raise ConfigurationError(f"{root} is a file; download into a folder")
    root.mkdir(parents=True, exist_ok=True)
    claim_folder(root, batch_id)
    # Left by an interrupted run: never complete, so never trusted. (Two downloads into
    # one folder at the same time are not supported.)
    for stale in root.glob(f"{EXTRACT_PREFIX}*"):
        shutil.rmtree(stale, ignore_errors=True)
    shutil.rmtree(root / PARTIAL_DIR, ignore_errors=True)
    (root / PARTIAL_DIR).mkdir()


# -- the batch: rounds of fetching until nothing is left (or, without wait, once) ------------
class _Progress:
    """Where each job of one download stands."""

    def __init__(self, done: dict[str, Path], pending: list[str]) -> None:
        self.done = done
        self.pending = pending
        self.failed: dict[str, str] = {}
        self.cancelled: set[str] = set()
        self.out_of_time: dict[str, str] = {}
        self.attempts: dict[str, int] = {}
        self.in_progress = 0

    def sort(self, summaries: list[dict[str, Any]]) -> dict[str, str]:
        """Read the batch's summary: the pending jobs ready to fetch, ``{job id: url}``."""
        summary = {j["id"]: j for j in summaries}
        ready: dict[str, str] = {}
        self.in_progress = 0
        for job_id in self.pending:
            job = summary.get(job_id)
            if job is None:
                self.failed[job_id] = "missing from the server's summary of the batch"
            elif job.get("status") == "cancelled":
                self.cancelled.add(job_id)  # not a failure: nothing to fetch, by request
            elif job.get("status") == "failed":
                reason = job.get("error") or "no reason given"
                self.failed[job_id] = f"failed on the server: {reason}"
            elif job["in_progress"]:
                self.in_progress += 1
            elif job.get("result_url"):
                ready[job_id] = job["result_url"]
            else:
                self.failed[job_id] = "finished without a result to download"
        return ready

    def settle(self) -> None:
        self.pending = [j for j in self.pending if j not in self.done
                        and j not in self.failed and j not in self.cancelled]

    def refused(self, job_id: str, exc: APIError) -> bool:
        """Whether a refused link is worth a fresh one (else the job has failed)."""
        self.attempts[job_id] = self.attempts.get(job_id, 0) + 1
        if exc.status in _STALE_LINK_STATUSES and self.attempts[job_id] < _LINK_ATTEMPTS:
            return True
        self.failed[job_id] = str(exc)
        return False


def _round(pool: ThreadPoolExecutor, t: api.Transport, ready: dict[str, str], root: Path,
           state: _Progress, bar: Any, limits: DownloadLimits, budget: DownloadBudget,
           ends_at: float | None) -> bool:
    """Fetch ``ready`` in parallel; True when some link was refused and may be retried."""
    futures = {pool.submit(_fetch, t, url, job_id, root, limits, budget, ends_at): job_id
               for job_id, url in ready.items()}
    retry = False
    for future in as_completed(futures):
        job_id = futures[future]
        try:
            state.done[job_id] = future.result()
            bar.update(1)
        except APIError as exc:
            retry = state.refused(job_id, exc) or retry
        except _OutOfTime as exc:
            state.out_of_time[job_id] = str(exc)  # still pending: a later call may fetch it
        except (ServerUnreachable, ArchiveRefused, OSError) as exc:
            state.failed[job_id] = str(exc)
    return retry


def _summaries(batch: Downloadable, ends_at: float | None) -> list[dict[str, Any]]:
    """The batch's summaries, read before the download's end however slowly they come."""
    with CutOff(ends_at) as cut_off:
        try:
            return batch.job_summaries()
        except ServerUnreachable:
            if cut_off.fired:
                raise _OutOfTime("the batch's summary was still arriving") from None
            raise


def download_batch(batch: Downloadable, t: api.Transport, path: str | os.PathLike[str], *,
                   overwrite: bool = False, wait: bool = False, polling_interval: float = 5,
                   timeout: float | None = None, max_workers: int = 4,
                   progress: bool = True,
                   limits: DownloadLimits | Mapping[str, Any] | None = None) -> list[Path]:
    """Download every finished job of ``batch`` into ``path/<job_id>/``; the job folders.

    What :meth:`Batch.download <infinity_workflows.batch.Batch.download>` documents; its
    warnings name the caller of ``Batch.download``.
    """
    if max_workers < 1:
        raise ValidationError("max_workers must be at least 1")
    check_interval(polling_interval)
    limits = DownloadLimits.of(limits)
    root = Path(path).expanduser()
    deadline = Deadline(timeout)
    ends_at = None if timeout is None else time.monotonic() + timeout
    _prepare(root, batch.batch_id)
    job_ids = batch.job_ids
    done = {} if overwrite else {j: root / j for j in job_ids if (root / j).is_dir()}
    state = _Progress(done, [j for j in job_ids if j not in done])
    budget = DownloadBudget(limits, root)
    pool = ThreadPoolExecutor(max_workers=max_workers)
    bar = tqdm(total=len(job_ids), initial=len(state.done), unit="job",
               desc=f"download {batch.name or batch.batch_id}", disable=not progress)
    try:
        while state.pending:
            try:
                ready = state.sort(_summaries(batch, ends_at))
            except _OutOfTime:
                raise _timed_out(batch.batch_id, timeout, root, state) from None
            retry = _round(pool, t, ready, root, state, bar, limits, budget, ends_at)
            state.settle()
            bar.set_postfix(failed=len(state.failed), waiting=state.in_progress, refresh=True)
            if state.out_of_time:
                raise _timed_out(batch.batch_id, timeout, root, state)
            if retry:
                continue  # fresh links for refused ones, straight away
            if not state.pending or not wait:
                break
            if deadline.expired():
                raise _timed_out(batch.batch_id, timeout, root, state)
            if not ready:
                deadline.sleep(polling_interval)
    finally:
        # On Ctrl-C, drop queued jobs instead of downloading them all first.
        pool.shutdown(wait=True, cancel_futures=True)
        bar.close()
        partial_dir = root / PARTIAL_DIR
        if partial_dir.is_dir() and not any(partial_dir.iterdir()):
            partial_dir.rmdir()
    _report(batch.batch_id, len(job_ids), root, state, wait)
    return [state.done[j] for j in job_ids if j in state.done]


def _timed_out(batch_id: str, timeout: float | None, root: Path, state: _Progress
               ) -> JobTimeout:
    arriving = (f" ({len(state.out_of_time)} were still arriving: "
                f"{next(iter(state.out_of_time.values()))})" if state.out_of_time else "")
    return JobTimeout(
        f"batch {batch_id}: {len(state.pending)} jobs not downloaded after {timeout or 0:g} s"
        f"{arriving}; {len(state.done)} are downloaded in {root}"
        + (f", {len(state.failed)} failed" if state.failed else "")
        + "; call download() again to fetch the rest")


def _report(batch_id: str, num_jobs: int, root: Path, state: _Progress, wait: bool) -> None:
    """DownloadError naming every job that failed; warnings for the ones left out."""
    failed = state.failed
    if failed:
        listed = "\n".join(f"  {j}: {why}" for j, why in list(failed.items())[:20])
        more = f"\n  ... and {len(failed) - 20} more" if len(failed) > 20 else ""
        raise DownloadError(
            f"{len(failed)} of {num_jobs} jobs of batch {batch_id} were not "
            f"downloaded ({len(state.done)} are in {root}):\n{listed}{more}", failed)
    # stacklevel 4: _report, download_batch, Batch.download, then its caller.
    if state.cancelled:
        warnings.warn(f"{len(state.cancelled)} of {num_jobs} jobs of batch {batch_id} "
                      "were cancelled and have nothing to download", stacklevel=4)
    if state.in_progress and not wait:
        warnings.warn(
            f"{state.in_progress} of {num_jobs} jobs of batch {batch_id} are still in "
            "progress and were not downloaded; call download() again later or pass "
            "wait=True", stacklevel=4)
