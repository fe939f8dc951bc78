"""What the portal's routers share (this module is no router): the session cookie and the
user it stands for, the pages' templates, the checks on a logged-in form, and the errors
``install_portal`` answers (log in, not found, refused)."""

from __future__ import annotations

import functools
import hashlib
import hmac
import uuid
import zipfile
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from ...generators import GeneratorRegistry
from ..dependencies import Ctx, StoreDep
from ..gallery import Gallery
from ..store import Store

__all__ = [
    "COOKIE_NAME",
    "CSRF_COOKIE",
    "HOME",
    "VIDEO_TYPES",
    "FormRefused",
    "LoginRequired",
    "PortalGallery",
    "PortalGenerators",
    "PortalNotFound",
    "PortalUser",
    "checked_form",
    "cookie_options",
    "form_value",
    "local_next",
    "render_page",
    "same_origin",
    "user_page",
    "uuid_or_404",
    "uuid_or_none",
    "video_name",
]

COOKIE_NAME = "infinity_portal_session"
CSRF_COOKIE = "infinity_portal_csrf"
HOME = "/portal/"
# Video files a job's folder may hold, and what the browser is told they are.
VIDEO_TYPES = {".mp4": "video/mp4", ".webm": "video/webm"}
TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent.parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True, lstrip_blocks=True,
)


class LoginRequired(Exception):
    """No valid session cookie: send the browser to the login form."""


class PortalNotFound(Exception):
    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


class FormRefused(Exception):
    """A logged-in form without its session's form value, or from another site."""


def render_page(name: str, status: int = 200, **values: Any) -> HTMLResponse:
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


def user_name(store: Store, token_id: int) -> str:
    return store.tokens.name(token_id) or f"token {token_id}"


def form_value(request: Request) -> str:
    """The value every form of a logged-in page carries: a hash of the session id. Another
    site can neither read the cookie nor the page, so it cannot know it; the hash does not
    give the session id away."""
    session = request.cookies.get(COOKIE_NAME) or ""
    return hashlib.sha256(b"portal form:" + session.encode()).hexdigest()


def user_page(name: str, request: Request, store: Store, token_id: int, status: int = 200,
              **values: Any) -> HTMLResponse:
    """A page of a logged-in user: their name and the value their forms carry."""
    return render_page(name, status=status, user=user_name(store, token_id),
                       form_value=form_value(request), **values)


async def checked_form(request: Request) -> dict[str, list[str]]:
    """A logged-in form's fields, after checking it came from a page of this session."""
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    sent = (form.get("csrf") or [""])[0]
    if (not request.cookies.get(COOKIE_NAME) or not same_origin(request)
            or not hmac.compare_digest(sent.encode(), form_value(request).encode())):
        raise FormRefused()
    return form


def cookie_options(request: Request) -> dict[str, Any]:
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


def same_origin(request: Request) -> bool:
    """Whether a browser says this POST comes from a page of this server. Browsers send
    ``Origin`` on every cross-site POST; scripts that send none are not browsers."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    host = request.headers.get("host", "")
    return origin in (f"http://{host}", f"https://{host}")


@functools.lru_cache(maxsize=8192)
def video_name(archive: str, job_id: str) -> str | None:
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


def uuid_or_404(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise PortalNotFound(value) from None


def uuid_or_none(value: str | None) -> str | None:
    try:
        return str(uuid.UUID(value)) if value else None
    except ValueError:
        return None
