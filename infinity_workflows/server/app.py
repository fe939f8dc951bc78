"""The FastAPI application factory: wires settings, store, signer, executor and routers."""

from __future__ import annotations

import logging
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from ..generators import GeneratorRegistry
from .auth import AuthenticateFirst
from .config import Settings
from .context import ServerContext
from .dispatcher import Dispatcher
from .executors import EXECUTORS, build_executor
from .executors.base import ExecutorConfig
from .gallery import Gallery
from .http_errors import BodySizeLimit, install_error_handlers
from .routers import batches, generators, jobs, portal, portal_media, results
from .signing import Signer, load_or_create_secret
from .store import Store

__all__ = ["create_app"]

log = logging.getLogger(__name__)


def _clear_scratch(settings: Settings) -> None:
    """Scratch folders of jobs cut short by a crash are never finished: drop them."""
    for entry in settings.home.work.iterdir():
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def create_app(settings: Settings) -> FastAPI:
    """The server for ``settings``; its workers start with the app and stop with it."""
    home = settings.home.ensure()
    if settings.executor not in EXECUTORS:
        raise ValueError(f"unknown executor {settings.executor!r}; choose one of "
                         + ", ".join(sorted(EXECUTORS)))
    registry = GeneratorRegistry.discover(list(settings.generator_specs))
    if not registry.names():
        log.warning("no generators found: install one or pass --generator MODULE:ATTR")
    store = Store(home.database)
    signer = Signer(load_or_create_secret(home.secret_key), settings.url_ttl_seconds)
    config = ExecutorConfig(workers=settings.workers, generator_specs=settings.generator_specs,
                            results_dir=home.results, work_dir=home.work,
                            socket_dir=home.root / "pool",
                            options={"scheduler": settings.scheduler} if settings.scheduler
                            else {})

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        _clear_scratch(settings)
        # Built here, not above, so that merely creating the app starts no processes.
        executor = build_executor(settings.executor, config)
        dispatcher = Dispatcher(store, executor, generator_specs=settings.generator_specs,
                                results_dir=home.results, work_dir=home.work,
                                max_attempts=settings.max_attempts)
        app.state.ctx.dispatcher = dispatcher
        dispatcher.start()
        log.info("serving generators %s with %d %s worker(s); home %s",
                 ", ".join(registry.names()) or "(none)", settings.workers, settings.executor,
                 home.root)
        try:
            yield
        finally:
            log.info("stopping: no new jobs start; unfinished jobs stay queued")
            dispatcher.stop()

    app = FastAPI(
        title="Infinity Workflows API",
        version=_package_version(),
        description="Submit batches of synthetic-data jobs to generators and download the "
                    "results. Authenticate with `Authorization: Token <token>`.",
        openapi_url="/api/schema/",
        docs_url="/api/docs/",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.ctx = ServerContext(settings=settings, registry=registry, store=store,
                                  signer=signer, dispatcher=_NotStarted())  # type: ignore[arg-type]
    install_error_handlers(app)
    for routes in (generators, batches, jobs, results, portal, portal_media):
        app.include_router(routes.router)
    portal.install_portal(app, Gallery(home.gallery, home.work))
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes,
                       max_values=settings.max_body_values,
                       max_containers=settings.max_body_containers)
    # Added last, so it runs first: no body is read for a request without a known token.
    app.add_middleware(AuthenticateFirst, token_id=store.tokens.id_for)
    return app


class _NotStarted:
    """Stands in for the dispatcher before the lifespan starts it (e.g. in-process tests)."""

    def wake(self) -> None:
        pass


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("infinity-workflows")
    except PackageNotFoundError:
        return "0"
