"""``api/results/<job id>/``: a job's result as a zip, for whoever holds its signed link.

The link is the credential (handed out in a batch's summary), so these routes take no token.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from ..dependencies import SettingsDep, SignerDep, StoreDep
from ..http_errors import ErrorBody, RequestRefused
from ..signing import LinkExpired, LinkInvalid

__all__ = ["router"]

# No 401 is documented: the link carries its own credential.
router = APIRouter(prefix="/api", tags=["results"], responses={
    400: {"model": ErrorBody, "description": "Malformed link parameters."}})


class _ArchiveResponse(FileResponse):
    # Starlette reads files in 64 KiB chunks, one thread hop each; results are megabytes,
    # and 1 MiB chunks more than double what one download stream carries on loopback.
    chunk_size = 1024 * 1024


@router.get("/results/{job_id}/", response_class=FileResponse,
            responses={200: {"content": {"application/zip": {}},
                             "description": "The job's folder as a zip."},
                       403: {"model": ErrorBody, "description": "Altered or expired link."},
                       404: {"model": ErrorBody, "description": "No result for this job."}})
def download_result(job_id: uuid.UUID, settings: SettingsDep, signer: SignerDep,
                    store: StoreDep,
                    expires: Annotated[int, Query(description="Unix time the link expires")],
                    signature: Annotated[str, Query(max_length=128)]) -> FileResponse:
    """A job's result; the signed link is the credential (no Authorization header)."""
    job = str(job_id)
    try:
        signer.check_link(job, expires, signature)
    except LinkInvalid:
        raise RequestRefused(403, "this download link is not valid (it was altered or belongs "
                             "to another server); take result_url unchanged from the batch's "
                             "summary/") from None
    except LinkExpired:
        when = datetime.fromtimestamp(expires, timezone.utc).isoformat()
        raise RequestRefused(403, f"this download link expired at {when}; fetch a fresh "
                             "result_url from GET api/batch/<batch id>/summary/") from None
    path = settings.home.results / f"{job}.zip"
    if store.batches.job_status(job) != "succeeded" or not path.is_file():
        raise RequestRefused(404, f"job {job} has no result to download; check its status in "
                             "the batch's summary/")
    return _ArchiveResponse(path, media_type="application/zip", filename=f"{job}.zip",
                            headers={"Cache-Control": "private, max-age=60"})
