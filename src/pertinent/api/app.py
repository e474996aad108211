"""The HTTP application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from pertinent import __version__
from pertinent.api import (
    admin,
    broadcasts,
    experiments,
    ingest,
    journeys,
    privacy,
    recommendations,
    segments,
    templates,
    tracking,
    tracking_plan,
    webhooks,
)
from pertinent.api.errors import install_error_handlers
from pertinent.app import System
from pertinent.web import preferences
from pertinent.web import routes as web

MODEL_POLL_SECONDS = 2.0
log = logging.getLogger("pertinent.api")


async def _follow_models(system: System, stop: asyncio.Event) -> None:
    """Serve the newest model the processor (or anyone) published, and forget the erased."""
    while not stop.is_set():
        try:
            await asyncio.to_thread(system.models.poll)
        except Exception:
            log.exception("could not load the newest recommendation model; still serving the last")
        try:
            await asyncio.to_thread(system.follow_definitions)
        except Exception:
            log.exception("could not load the newest applied definitions; still running the last")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), MODEL_POLL_SECONDS)


def create_app(system: System) -> FastAPI:
    """The API: it validates and appends, and reads through the read model; the processing
    happens in other processes (`pertinent serve` runs them). The dashboard is served beside
    it under `/`, behind a sign-in with an admin key (docs/dashboard.md)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task = asyncio.create_task(_follow_models(system, stop))
        try:
            yield
        finally:
            stop.set()
            await task

    app = FastAPI(
        title="Pertinent",
        version=__version__,
        description="Segment-compatible ingestion, admin and tracking API.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    ingest.install(app, system)
    app.include_router(admin.build_router(system))
    app.include_router(segments.build_router(system))
    app.include_router(tracking.build_router(system))
    app.include_router(recommendations.build_router(system))
    app.include_router(privacy.build_router(system))
    app.include_router(preferences.build_router(system))
    app.include_router(experiments.build_router(system))
    app.include_router(tracking_plan.build_router(system))
    app.include_router(journeys.build_router(system))
    app.include_router(broadcasts.build_router(system))
    app.include_router(templates.build_router(system))
    app.include_router(webhooks.build_router(system))
    app.include_router(web.build_router(system))

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
