"""The portal: server-rendered pages to log in, follow, cancel and delete batches, and read
generator documentation.

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
portal route that checks the session cookie (:mod:`.portal_media`), so no token or signed
link is put in a page for them; what the portal's routers share is :mod:`.portal_common`.
After logging in, the browser returns to the page it asked for (``next``: a path of the
portal only, so the login page cannot be made into an open redirect).
"""

from __future__ import annotations

import hmac
import json
import math
import secrets
from typing import Annotated, Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ...schema import Param
from ..config import Settings
from ..dependencies import DispatcherDep, ResultLinks, SettingsDep, StoreDep
from ..gallery import Gallery
from ..housekeeping import delete_batch, one_batch_usage
from ..rows import ACTIVE_STATUSES, STATUSES
from .portal_common import (
    COOKIE_NAME,
    CSRF_COOKIE,
    HOME,
    FormRefused,
    LoginRequired,
    PortalGallery,
    PortalGenerators,
    PortalNotFound,
    PortalUser,
    checked_form,
    cookie_options,
    local_next,
    render_page,
    same_origin,
    user_page,
    uuid_or_404,
    uuid_or_none,
    video_name,
)

__all__ = ["COOKIE_NAME", "CSRF_COOKIE", "install_portal", "router", "shown_value"]

SESSION_TTL_SECONDS = 12 * 3600
REFRESH_SECONDS = 3
JOBS_PER_PAGE = 500

router = APIRouter(prefix="/portal", include_in_schema=False)


# -- login ------------------------------------------------------------------------------------
def _login_page(request: Request, settings: Settings, next_page: str, error: str | None = None,
                status: int = 200) -> Response:
    """The form with a fresh CSRF value, also set as a cookie the form must match."""
    csrf = secrets.token_urlsafe(24)
    response = render_page("login.html", status=status, error=error, csrf=csrf,
                           next=next_page, server_url=settings.base_url_for(request.headers))
    response.set_cookie(CSRF_COOKIE, csrf, max_age=3600, **cookie_options(request))
    return response


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
    if (not same_origin(request) or not cookie_csrf
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
                        **cookie_options(request))
    response.delete_cookie(CSRF_COOKIE, **cookie_options(request))
    return response


@router.post("/logout/")
def logout(request: Request, store: StoreDep):
    value = request.cookies.get(COOKIE_NAME)
    if value and same_origin(request):
        store.sessions.end(value)  # the cookie is worthless from now on, wherever it is
    response = RedirectResponse("/portal/login/", status_code=303)
    response.delete_cookie(COOKIE_NAME, **cookie_options(request))
    return response


# -- batches ----------------------------------------------------------------------------------
@router.get("/")
def batches_page(request: Request, store: StoreDep, token_id: PortalUser,
                 deleted: str | None = None):
    counts = store.batches.status_counts(token_id)
    batches = [{**b._asdict(), "counts": {s: counts.get(b.id, {}).get(s, 0) for s in STATUSES}}
               for b in reversed(store.batches.of_token(token_id))]  # newest first
    return user_page("batches.html", request, store, token_id, batches=batches,
                     statuses=STATUSES, deleted=uuid_or_none(deleted))


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


@router.get("/batch/{batch_id}/")
def batch_page(request: Request, batch_id: str, store: StoreDep, settings: SettingsDep,
               token_id: PortalUser, generators: PortalGenerators, link: ResultLinks,
               page: int = 1, cancelled: int | None = None):
    batch = store.batches.get(token_id, uuid_or_404(batch_id))
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
        has_video = succeeded and not batch.is_preview and video_name(
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
    return user_page("batch.html", request, store, token_id, batch=batch, jobs=jobs,
                     counts=counts, statuses=STATUSES, page=page, pages=pages,
                     in_progress=in_progress, cancelled=cancelled,
                     refresh=REFRESH_SECONDS if in_progress else None)


@router.post("/batch/{batch_id}/cancel/")
async def cancel_batch(request: Request, batch_id: str, store: StoreDep,
                       dispatcher: DispatcherDep, token_id: PortalUser):
    """Cancel the batch's unfinished jobs (as ``POST api/batch/<id>/cancel/``)."""
    await checked_form(request)
    batch_id = uuid_or_404(batch_id)

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
    batch = store.batches.get(token_id, uuid_or_404(batch_id))
    if batch is None:
        raise PortalNotFound(f"batch {batch_id}")
    usage = one_batch_usage(store, settings.home.results, batch)
    counts = store.batches.counts(batch.id)
    return user_page("delete.html", request, store, token_id, batch=batch, usage=usage,
                     unfinished=sum(counts.get(s, 0) for s in ACTIVE_STATUSES))


@router.post("/batch/{batch_id}/delete/")
async def delete(request: Request, batch_id: str, store: StoreDep, settings: SettingsDep,
                 dispatcher: DispatcherDep, token_id: PortalUser):
    """Delete the batch (as ``DELETE api/batch/<id>/``), then show the batch list."""
    await checked_form(request)
    done = await run_in_threadpool(delete_batch, store, settings.home.results, token_id,
                                   uuid_or_404(batch_id))
    if done is None:
        raise PortalNotFound(f"batch {batch_id}")
    dispatcher.wake()
    return RedirectResponse(f"/portal/?deleted={done.id}", status_code=303)


# -- generators -------------------------------------------------------------------------------
@router.get("/generators/")
def generators_page(request: Request, store: StoreDep, token_id: PortalUser,
                    generators: PortalGenerators):
    return user_page("generators.html", request, store, token_id,
                     generators=list(generators),
                     restricted=store.tokens.generators(token_id) is not None)


@router.get("/generators/{name}/")
def generator_page(request: Request, name: str, store: StoreDep, token_id: PortalUser,
                   generators: PortalGenerators, gallery: PortalGallery):
    generator = generators.get(name)
    if generator is None:
        raise PortalNotFound(f"generator {name}")
    return user_page("generator.html", request, store, token_id, generator=generator,
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
        return render_page("refused.html", status=403)

    @app.exception_handler(PortalNotFound)
    async def _not_found(_: Request, exc: PortalNotFound) -> Response:
        return render_page("not_found.html", status=404, what=exc.what)
