"""The portal: server-rendered pages to follow batches and read generator documentation.

The token is asked for once, on ``portal/login/``, in a POSTed form (never in a URL). The
cookie that follows is not the token but a random session id (HttpOnly, SameSite=Strict)
that the server maps to the token for 12 hours; logging out deletes it on the server, so a
copied cookie dies with the session, and a leaked one cannot call the API. The login form
carries a CSRF token (a random value in a SameSite=Strict cookie and in the form, which must
match) and a cross-origin ``Origin`` is refused, so no other site can log a browser in.
Pages show only the logged-in token's batches and the generators it may use; another
token's ids, and generators outside the grant, answer 404 as on the API.
"""

from __future__ import annotations

import hmac
import json
import secrets
import uuid
import zipfile
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from ...generators import GeneratorRegistry
from ..dependencies import Ctx, ResultLinks, SettingsDep, StoreDep
from ..gallery import Gallery
from ..rows import ACTIVE_STATUSES, STATUSES
from ..store import Store

__all__ = ["COOKIE_NAME", "install_portal", "router"]

COOKIE_NAME = "infinity_portal_session"
CSRF_COOKIE = "infinity_portal_csrf"
SESSION_TTL_SECONDS = 12 * 3600
REFRESH_SECONDS = 3
JOBS_PER_PAGE = 500
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


# -- login ------------------------------------------------------------------------------------
def _cookie_options(request: Request) -> dict[str, Any]:
    return {"httponly": True, "samesite": "strict", "path": "/",
            "secure": request.url.scheme == "https"}


def _login_page(request: Request, error: str | None = None, status: int = 200) -> Response:
    """The form with a fresh CSRF value, also set as a cookie the form must match."""
    csrf = secrets.token_urlsafe(24)
    response = _page("login.html", status=status, error=error, csrf=csrf)
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
def login_form(request: Request):
    return _login_page(request)


@router.post("/login/")
async def login(request: Request, store: StoreDep):
    # A plain urlencoded form: parsed here rather than pulling in a multipart library.
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    sent_csrf = (form.get("csrf") or [""])[0]
    cookie_csrf = request.cookies.get(CSRF_COOKIE) or ""
    if (not _same_origin(request) or not cookie_csrf
            or not hmac.compare_digest(sent_csrf.encode(), cookie_csrf.encode())):
        return _login_page(request, status=403,
                           error="This login form expired or was sent from another site. "
                                 "Paste your token into this fresh form.")
    token = (form.get("token") or [""])[0].strip()
    # The body is read on the event loop; the database is not (it would block every request).
    token_id = await run_in_threadpool(store.tokens.id_for, token) if token else None
    if token_id is None:
        return _login_page(request, status=401,
                           error="That token is not known to this server. Paste the token "
                                 "printed by `infinity-workflows token create` (or saved in "
                                 "your credentials file).")
    response = RedirectResponse("/portal/", status_code=303)
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
def batches_page(store: StoreDep, token_id: PortalUser):
    counts = store.batches.status_counts(token_id)
    batches = [{**b._asdict(), "counts": {s: counts.get(b.id, {}).get(s, 0) for s in STATUSES}}
               for b in reversed(store.batches.of_token(token_id))]  # newest first
    return _page("batches.html", user=_user_name(store, token_id), batches=batches,
                 statuses=STATUSES)


@router.get("/batch/{batch_id}/")
def batch_page(batch_id: str, store: StoreDep, token_id: PortalUser,
               generators: PortalGenerators, link: ResultLinks, page: int = 1):
    batch = store.batches.get(token_id, _uuid_or_404(batch_id))
    if batch is None:
        raise PortalNotFound(f"batch {batch_id}")
    generator = generators.get(batch.generator)
    defaults = generator.schema.defaults() if generator else {}
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
        jobs.append({
            **job, "index": index,
            "changed": {k: v for k, v in params.items() if defaults.get(k, object()) != v},
            "params": params,
            "result_url": link(job["id"]) if job["status"] == "succeeded" else None,
        })
    in_progress = any(counts[s] for s in ACTIVE_STATUSES)
    return _page("batch.html", user=_user_name(store, token_id), batch=batch, jobs=jobs,
                 counts=counts, statuses=STATUSES, page=page, pages=pages,
                 refresh=REFRESH_SECONDS if in_progress else None)


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


# -- generators -------------------------------------------------------------------------------
@router.get("/generators/")
def generators_page(store: StoreDep, token_id: PortalUser, generators: PortalGenerators):
    return _page("generators.html", user=_user_name(store, token_id),
                 generators=list(generators),
                 restricted=store.tokens.generators(token_id) is not None)


@router.get("/generators/{name}/")
def generator_page(name: str, store: StoreDep, token_id: PortalUser,
                   generators: PortalGenerators, gallery: PortalGallery):
    generator = generators.get(name)
    if generator is None:
        raise PortalNotFound(f"generator {name}")
    return _page("generator.html", user=_user_name(store, token_id), generator=generator,
                 params=list(generator.schema), gallery_choices=gallery.choices(generator))


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


def install_portal(app: FastAPI, gallery: Gallery) -> None:
    """What the portal needs of the application besides its router: the gallery, a redirect
    from ``/``, and the answers to LoginRequired and PortalNotFound."""
    app.state.gallery = gallery

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/portal/", status_code=303)

    @app.exception_handler(LoginRequired)
    async def _login(_: Request, __: LoginRequired) -> Response:
        return RedirectResponse("/portal/login/", status_code=303)

    @app.exception_handler(PortalNotFound)
    async def _not_found(_: Request, exc: PortalNotFound) -> Response:
        return _page("not_found.html", status=404, what=exc.what)
