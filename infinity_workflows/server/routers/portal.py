"""The portal: server-rendered pages to follow, cancel and delete batches, watch their videos,
and read generator documentation.

The token is asked for once, on ``portal/login/``, in a POSTed form (never in a URL). The
cookie that follows is not the token but a random session id (HttpOnly, SameSite=Strict)
that the server maps to the token for 12 hours; logging out deletes it on the server, so a
copied cookie dies with the session, and a leaked one cannot call the API. The login form
carries a CSRF token (a random value in a SameSite=Strict cookie and in the form, which must
match) and a cross-origin ``Origin`` is refused, so no other site can log a browser in.
The forms of logged-in pages (Cancel, Delete, Log out) carry a value derived from the
session id (a hash of it, which only a page this server rendered for that session holds),
compared in constant time, and a cross-origin ``Origin`` is refused there too.

Pages show only the logged-in token's batches and the generators it may use; another
token's ids, and generators outside the grant, answer 404 as on the API. Videos play from a
portal route that checks the session cookie, so no token or signed link is put in a page for
them. After logging in, the browser returns to the page it asked for (``next``: a path of
the portal only, so the login page cannot be made into an open redirect).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import math
import secrets
import struct
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from ...generators import GeneratorRegistry
from ...schema import Param
from ..config import Settings
from ..dependencies import Ctx, DispatcherDep, ResultLinks, SettingsDep, StoreDep
from ..gallery import Gallery
from ..housekeeping import delete_batch, one_batch_usage
from ..rows import ACTIVE_STATUSES, STATUSES
from ..store import Store

__all__ = ["COOKIE_NAME", "install_portal", "router", "shown_value"]

COOKIE_NAME = "infinity_portal_session"
CSRF_COOKIE = "infinity_portal_csrf"
SESSION_TTL_SECONDS = 12 * 3600
REFRESH_SECONDS = 3
JOBS_PER_PAGE = 500
HOME = "/portal/"
# Video files a job's folder may hold, and what the browser is told they are.
VIDEO_TYPES = {".mp4": "video/mp4", ".webm": "video/webm"}
# The most one answer to a range request carries: a browser asks again for the rest, so a
# long video is never read into memory whole.
VIDEO_CHUNK = 4 * 1024 * 1024
TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent.parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True, lstrip_blocks=True,
)

router = APIRouter(prefix="/portal", include_in_schema=False)


class LoginRequired(Exception):
    """No valid session cookie: send the browser to the login form."""


class PortalNotFound(Exception):
    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


class FormRefused(Exception):
    """A logged-in form without its session's form value, or from another site."""


def _page(name: str, status: int = 200, **values: Any) -> HTMLResponse:
    html = TEMPLATES.get_template(name).render(**values)
    return HTMLResponse(html, status_code=status,
                        headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"})


def portal_user(request: Request, store: StoreDep) -> int:
    """The token the session cookie stands for; else the browser is sent to log in."""
    value = request.cookies.get(COOKIE_NAME)
    token_id = store.sessions.token_id(value) if value else None
    if token_id is None:
        raise LoginRequired()
    return token_id


PortalUser = Annotated[int, Depends(portal_user)]


def portal_generators(ctx: Ctx, token_id: PortalUser) -> GeneratorRegistry:
    """The generators the logged-in token may use (see ServerContext.generators_for)."""
    return ctx.generators_for(token_id)


PortalGenerators = Annotated[GeneratorRegistry, Depends(portal_generators)]


async def portal_gallery(request: Request) -> Gallery:
    """The gallery install_portal put on the application."""
    return request.app.state.gallery


PortalGallery = Annotated[Gallery, Depends(portal_gallery)]


def _user_name(store: Store, token_id: int) -> str:
    return store.tokens.name(token_id) or f"token {token_id}"


def _form_value(request: Request) -> str:
    """The value every form of a logged-in page carries: a hash of the session id. Another
    site can neither read the cookie nor the page, so it cannot know it; the hash does not
    give the session id away."""
    session = request.cookies.get(COOKIE_NAME) or ""
    return hashlib.sha256(b"portal form:" + session.encode()).hexdigest()


def _user_page(name: str, request: Request, store: Store, token_id: int, status: int = 200,
               **values: Any) -> HTMLResponse:
    """A page of a logged-in user: their name and the value their forms carry."""
    return _page(name, status=status, user=_user_name(store, token_id),
                 form_value=_form_value(request), **values)


async def _checked_form(request: Request) -> dict[str, list[str]]:
    """A logged-in form's fields, after checking it came from a page of this session."""
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    sent = (form.get("csrf") or [""])[0]
    if (not request.cookies.get(COOKIE_NAME) or not _same_origin(request)
            or not hmac.compare_digest(sent.encode(), _form_value(request).encode())):
        raise FormRefused()
    return form


# -- login ------------------------------------------------------------------------------------
def _cookie_options(request: Request) -> dict[str, Any]:
    return {"httponly": True, "samesite": "strict", "path": "/",
            "secure": request.url.scheme == "https"}


def local_next(value: str | None) -> str:
    """Where to go after logging in: ``value`` when it is a page of this portal (a path, no
    scheme or host, printable ASCII), else the batch list. Nothing else can be a target, so
    a link to the login page cannot send a browser to another site."""
    if not value or len(value) > 2000 or not value.startswith(HOME):
        return HOME
    if any(not 0x21 <= ord(c) <= 0x7E for c in value) or "\\" in value:
        return HOME
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or ".." in parts.path.split("/"):
        return HOME
    if parts.path.startswith(("/portal/login/", "/portal/logout/")):
        return HOME
    return value


def _login_page(request: Request, settings: Settings, next_page: str, error: str | None = None,
                status: int = 200) -> Response:
    """The form with a fresh CSRF value, also set as a cookie the form must match."""
    csrf = secrets.token_urlsafe(24)
    response = _page("login.html", status=status, error=error, csrf=csrf, next=next_page,
                     server_url=settings.base_url_for(request.headers))
    response.set_cookie(CSRF_COOKIE, csrf, max_age=3600, **_cookie_options(request))
    return response


def _same_origin(request: Request) -> bool:
    """Whether a browser says this POST comes from a page of this server. Browsers send
    ``Origin`` on every cross-site POST; scripts that send none are not browsers."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    host = request.headers.get("host", "")
    return origin in (f"http://{host}", f"https://{host}")


@router.get("/login/")
def login_form(request: Request, settings: SettingsDep,
               next_page: Annotated[str | None, Query(alias="next")] = None):
    return _login_page(request, settings, local_next(next_page))


@router.post("/login/")
async def login(request: Request, store: StoreDep, settings: SettingsDep):
    # A plain urlencoded form: parsed here rather than pulling in a multipart library.
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    next_page = local_next((form.get("next") or [""])[0])
    sent_csrf = (form.get("csrf") or [""])[0]
    cookie_csrf = request.cookies.get(CSRF_COOKIE) or ""
    if (not _same_origin(request) or not cookie_csrf
            or not hmac.compare_digest(sent_csrf.encode(), cookie_csrf.encode())):
        return _login_page(request, settings, next_page, status=403,
                           error="This login form expired or was sent from another site. "
                                 "Paste your token into this fresh form.")
    token = (form.get("token") or [""])[0].strip()
    # The body is read on the event loop; the database is not (it would block every request).
    token_id = await run_in_threadpool(store.tokens.id_for, token) if token else None
    if token_id is None:
        return _login_page(request, settings, next_page, status=401,
                           error="That token is not known to this server. Paste the token "
                                 "that `infinity-workflows token show` prints (or that "
                                 "`infinity-workflows token create` printed).")
    response = RedirectResponse(next_page, status_code=303)
    session = await run_in_threadpool(store.sessions.create, token_id, SESSION_TTL_SECONDS)
    response.set_cookie(COOKIE_NAME, session, max_age=SESSION_TTL_SECONDS,
                        **_cookie_options(request))
    response.delete_cookie(CSRF_COOKIE, **_cookie_options(request))
    return response


@router.post("/logout/")
def logout(request: Request, store: StoreDep):
    value = request.cookies.get(COOKIE_NAME)
    if value and _same_origin(request):
        store.sessions.end(value)  # the cookie is worthless from now on, wherever it is
    response = RedirectResponse("/portal/login/", status_code=303)
    response.delete_cookie(COOKIE_NAME, **_cookie_options(request))
    return response


# -- batches ----------------------------------------------------------------------------------
@router.get("/")
def batches_page(request: Request, store: StoreDep, token_id: PortalUser,
                 deleted: str | None = None):
    counts = store.batches.status_counts(token_id)
    batches = [{**b._asdict(), "counts": {s: counts.get(b.id, {}).get(s, 0) for s in STATUSES}}
               for b in reversed(store.batches.of_token(token_id))]  # newest first
    return _user_page("batches.html", request, store, token_id, batches=batches,
                      statuses=STATUSES, deleted=_uuid_or_none(deleted))


def shown_value(param: Param | None, value: Any) -> str:
    """A parameter's value as a person reads it: an int parameter as an int, a float to the
    digits its range can tell apart (a ten-thousandth of the range; five significant digits
    without one), trailing zeros dropped. The page keeps the exact value in a tooltip."""
    if value is None:
        return "null"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    kind = param.type if param is not None else ("int" if isinstance(value, int) else "float")
    if kind == "int" and float(value).is_integer():
        return str(int(value))
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    low = param.min if param is not None else None
    high = param.max if param is not None else None
    if low is not None and high is not None and high > low:
        decimals = min(12, max(0, math.ceil(-math.log10((high - low) / 10_000))))
        text = f"{value:.{decimals}f}"
        text = text.rstrip("0").rstrip(".") if "." in text else text
        return "0" if text in ("-0", "") else text
    return f"{value:.5g}"


def _shown_params(params: dict[str, Any], schema: dict[str, Param]) -> dict[str, str]:
    return {k: shown_value(schema.get(k), v) for k, v in params.items()}


@functools.lru_cache(maxsize=8192)
def _video_name(archive: str, job_id: str) -> str | None:
    """The video file in a job's archive (``video.mp4`` first), or None. A finished job's
    archive never changes, so the answer is remembered."""
    prefix = f"{job_id}/"
    try:
        with zipfile.ZipFile(archive) as zf:
            names = [n for n in zf.namelist() if n.startswith(prefix)
                     and "/" not in n[len(prefix):]
                     and Path(n).suffix.lower() in VIDEO_TYPES]
    except (OSError, zipfile.BadZipFile):
        return None
    if not names:
        return None
    return min(names, key=lambda n: (n != f"{prefix}video.mp4", n))


@router.get("/batch/{batch_id}/")
def batch_page(request: Request, batch_id: str, store: StoreDep, settings: SettingsDep,
               token_id: PortalUser, generators: PortalGenerators, link: ResultLinks,
               page: int = 1, cancelled: int | None = None):
    batch = store.batches.get(token_id, _uuid_or_404(batch_id))
    if batch is None:
        raise PortalNotFound(f"batch {batch_id}")
    generator = generators.get(batch.generator)
    defaults = generator.schema.defaults() if generator else {}
    schema = {p.name: p for p in generator.schema} if generator else {}
    stored = store.batches.counts(batch.id)
    counts = {s: stored.get(s, 0) for s in STATUSES}
    # Big batches are shown a page at a time, so a page that refreshes itself stays cheap.
    pages = max(1, -(-batch.num_jobs // JOBS_PER_PAGE))
    page = min(max(page, 1), pages)
    first = (page - 1) * JOBS_PER_PAGE
    jobs = []
    for index, row in enumerate(store.batches.jobs(batch.id, JOBS_PER_PAGE, first),
                                start=first):
        job = row._asdict()
        params = json.loads(row.params)
        succeeded = job["status"] == "succeeded"
        has_video = succeeded and not batch.is_preview and _video_name(
            str(settings.home.results / f"{row.id}.zip"), row.id) is not None
        jobs.append({
            **job, "index": index,
            "changed": _shown_params(
                {k: v for k, v in params.items() if defaults.get(k, object()) != v}, schema),
            "params": _shown_params(params, schema),
            "exact": params,
            "result_url": link(job["id"]) if succeeded else None,
            "video_url": f"/portal/video/{row.id}/" if has_video else None,
        })
    in_progress = any(counts[s] for s in ACTIVE_STATUSES)
    return _user_page("batch.html", request, store, token_id, batch=batch, jobs=jobs,
                      counts=counts, statuses=STATUSES, page=page, pages=pages,
                      in_progress=in_progress, cancelled=cancelled,
                      refresh=REFRESH_SECONDS if in_progress else None)


@router.post("/batch/{batch_id}/cancel/")
async def cancel_batch(request: Request, batch_id: str, store: StoreDep,
                       dispatcher: DispatcherDep, token_id: PortalUser):
    """Cancel the batch's unfinished jobs (as ``POST api/batch/<id>/cancel/``)."""
    await _checked_form(request)
    batch_id = _uuid_or_404(batch_id)

    def cancel() -> int | None:  # the database, off the event loop
        if store.batches.get(token_id, batch_id) is None:
            return None
        return store.queue.cancel(token_id, batch_id=batch_id)
    cancelled = await run_in_threadpool(cancel)
    if cancelled is None:
        raise PortalNotFound(f"batch {batch_id}")
    dispatcher.wake()
    return RedirectResponse(f"/portal/batch/{batch_id}/?cancelled={cancelled}",
                            status_code=303)


@router.get("/batch/{batch_id}/delete/")
def delete_confirm(request: Request, batch_id: str, store: StoreDep, settings: SettingsDep,
                   token_id: PortalUser):
    """The confirm step: what deleting will remove, and the button that does it."""
    batch = store.batches.get(token_id, _uuid_or_404(batch_id))
    if batch is None:
        raise PortalNotFound(f"batch {batch_id}")
    usage = one_batch_usage(store, settings.home.results, batch)
    counts = store.batches.counts(batch.id)
    return _user_page("delete.html", request, store, token_id, batch=batch, usage=usage,
                      unfinished=sum(counts.get(s, 0) for s in ACTIVE_STATUSES))


@router.post("/batch/{batch_id}/delete/")
async def delete(request: Request, batch_id: str, store: StoreDep, settings: SettingsDep,
                 dispatcher: DispatcherDep, token_id: PortalUser):
    """Delete the batch (as ``DELETE api/batch/<id>/``), then show the batch list."""
    await _checked_form(request)
    done = await run_in_threadpool(delete_batch, store, settings.home.results, token_id,
                                   _uuid_or_404(batch_id))
    if done is None:
        raise PortalNotFound(f"batch {batch_id}")
    dispatcher.wake()
    return RedirectResponse(f"/portal/?deleted={done.id}", status_code=303)


@router.get("/thumbnail/{job_id}/")
def thumbnail(job_id: str, store: StoreDep, settings: SettingsDep, token_id: PortalUser):
    """The job's ``video_preview.png``, read from its result archive."""
    job_id = _uuid_or_404(job_id)
    row = store.batches.job(token_id, job_id)
    if row is None or row.status != "succeeded":
        raise PortalNotFound(f"thumbnail of job {job_id}")
    try:
        with zipfile.ZipFile(settings.home.results / f"{job_id}.zip") as zf:
            data = zf.read(f"{job_id}/video_preview.png")
    except (OSError, KeyError, zipfile.BadZipFile):
        raise PortalNotFound(f"thumbnail of job {job_id}") from None
    return Response(data, media_type="image/png",
                    headers={"Cache-Control": "private, max-age=3600"})


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(start, end)`` inclusive of one ``Range: bytes=...`` header; None for the whole
    file (no header, or several ranges); ValueError when it cannot be satisfied."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first, _, last = header[len("bytes="):].strip().partition("-")
    if not first:  # the last N bytes
        n = int(last)
        if n <= 0:
            raise ValueError(header)
        return max(0, size - n), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size or end < start:
        raise ValueError(header)
    return start, min(end, size - 1)


def _read_member(archive: Path, info: zipfile.ZipInfo, zf: zipfile.ZipFile, start: int,
                 length: int) -> bytes:
    """``length`` bytes of a member from ``start``: read in place for a stored member (a
    video is stored, not deflated), else by decompressing up to there."""
    if info.compress_type == zipfile.ZIP_STORED:
        with archive.open("rb") as fh:
            fh.seek(info.header_offset)
            local = fh.read(30)
            if len(local) == 30 and local[:4] == b"PK\x03\x04":
                name_len, extra_len = struct.unpack("<HH", local[26:30])
                fh.seek(info.header_offset + 30 + name_len + extra_len + start)
                return fh.read(length)
    with zf.open(info) as member:
        member.seek(start)
        return member.read(length)


@router.get("/video/{job_id}/")
def video(request: Request, job_id: str, store: StoreDep, settings: SettingsDep,
          token_id: PortalUser):
    """A finished job's video, for the player on its row; answers range requests, so a
    browser can seek and fetch a long video in parts."""
    job_id = _uuid_or_404(job_id)
    row = store.batches.job(token_id, job_id)
    archive = settings.home.results / f"{job_id}.zip"
    name = _video_name(str(archive), job_id) if row and row.status == "succeeded" else None
    if name is None:
        raise PortalNotFound(f"video of job {job_id}")
    try:
        with zipfile.ZipFile(archive) as zf:
            info = zf.getinfo(name)
            size = info.file_size
            try:
                wanted = _byte_range(request.headers.get("range"), size)
            except ValueError:
                return Response(status_code=416, headers={"Content-Range": f"bytes */{size}"})
            if wanted is not None:
                start, end = wanted[0], min(wanted[1], wanted[0] + VIDEO_CHUNK - 1)
                data = _read_member(archive, info, zf, start, end - start + 1)
    except (OSError, KeyError, zipfile.BadZipFile):
        raise PortalNotFound(f"video of job {job_id}") from None
    media_type = VIDEO_TYPES[Path(name).suffix.lower()]
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, max-age=3600"}
    if wanted is None:  # the whole file, streamed a part at a time
        headers["Content-Length"] = str(size)
        return StreamingResponse(_member_parts(archive, name), headers=headers,
                                 media_type=media_type)
    headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return Response(data, status_code=206, headers=headers, media_type=media_type)


def _member_parts(archive: Path, name: str) -> Iterator[bytes]:
    with zipfile.ZipFile(archive) as zf, zf.open(name) as member:
        while part := member.read(VIDEO_CHUNK):
            yield part


# -- generators -------------------------------------------------------------------------------
@router.get("/generators/")
def generators_page(request: Request, store: StoreDep, token_id: PortalUser,
                    generators: PortalGenerators):
    return _user_page("generators.html", request, store, token_id,
                      generators=list(generators),
                      restricted=store.tokens.generators(token_id) is not None)


@router.get("/generators/{name}/")
def generator_page(request: Request, name: str, store: StoreDep, token_id: PortalUser,
                   generators: PortalGenerators, gallery: PortalGallery):
    generator = generators.get(name)
    if generator is None:
        raise PortalNotFound(f"generator {name}")
    return _user_page("generator.html", request, store, token_id, generator=generator,
                      params=list(generator.schema),
                      gallery_choices=gallery.choices(generator))


@router.get("/generators/{name}/gallery/{index}/")
def gallery_image(name: str, index: int, generators: PortalGenerators,
                  gallery: PortalGallery):
    generator = generators.get(name)
    choices = gallery.choices(generator) if generator else []
    if not 0 <= index < len(choices):
        raise PortalNotFound(f"gallery image {index} of {name}")
    path = gallery.image(generator, choices[index])
    if path is None:
        raise PortalNotFound(f"gallery image {index} of {name} (its render failed; see the "
                             "server log)")
    return Response(path.read_bytes(), media_type="image/png",
                    headers={"Cache-Control": "private, max-age=86400"})


def _uuid_or_404(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise PortalNotFound(value) from None


def _uuid_or_none(value: str | None) -> str | None:
    try:
        return str(uuid.UUID(value)) if value else None
    except ValueError:
        return None


def install_portal(app: FastAPI, gallery: Gallery) -> None:
    """What the portal needs of the application besides its router: the gallery, a redirect
    from ``/``, and the answers to LoginRequired and PortalNotFound."""
    app.state.gallery = gallery

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/portal/", status_code=303)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, __: LoginRequired) -> Response:
        # Back to the page asked for once logged in (a page, not a form's POST).
        wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        target = local_next(wanted) if request.method == "GET" else HOME
        query = "" if target == HOME else f"?next={quote(target, safe='/')}"
        return RedirectResponse(f"/portal/login/{query}", status_code=303)

    @app.exception_handler(FormRefused)
    async def _refused(request: Request, __: FormRefused) -> Response:
        return _page("refused.html", status=403)

    @app.exception_handler(PortalNotFound)
    async def _not_found(_: Request, exc: PortalNotFound) -> Response:
        return _page("not_found.html", status=404, what=exc.what)
