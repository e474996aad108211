"""The HTTP application factory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from pertinent import __version__
from pertinent.api import admin, ingest, recommendations, tracking
from pertinent.api.errors import install_error_handlers
from pertinent.app import System
from pertinent.web import routes as web


def create_app(system: System, *, run_worker: bool = True, dashboard: bool = False) -> FastAPI:
    """The API; with `run_worker`, the processor/timers/sender loop runs alongside it.

    `dashboard` mounts the unauthenticated pages (overview, mail viewer listing every recipient
    and their tracking links): only the demo, on 127.0.0.1 with simulated people, turns it on.
    """

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task = asyncio.create_task(system.worker.run(stop)) if run_worker else None
        try:
            yield
        finally:
            stop.set()
            if task is not None:
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
    app.include_router(tracking.build_router(system))
    app.include_router(recommendations.build_router(system))
    if dashboard:
        app.include_router(web.build_router(system))

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
