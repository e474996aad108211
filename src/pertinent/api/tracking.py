"""Tracking endpoints: open pixel and click redirect (unsubscribe pages are the person's,
in `web/preferences.py`).

Every token is signed; a click only redirects to the URL signed into its token, so the
endpoint cannot be used as an open redirect. What happened goes into the log as an event,
marked when a machine did it (`tracking.machine_opens`).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from pertinent.api.errors import problem
from pertinent.api.ingest import PIXEL_GIF
from pertinent.app import System
from pertinent.tracking.handlers import record_click, record_open
from pertinent.tracking.machine_opens import MachineDetector, Seen
from pertinent.tracking.tokens import InvalidToken


def build_router(system: System) -> APIRouter:
    router = APIRouter(prefix="/t", tags=["tracking"])
    machines = MachineDetector(system.workspace.settings.engagement)

    def seen(request: Request) -> Seen:
        return Seen(
            ip=request.client.host if request.client else None,
            user_agent=request.headers.get("user-agent"),
        )

    @router.get("/o/{token}.gif", summary="Open pixel")
    async def opened(token: str, request: Request) -> Response:
        try:
            claims = system.signer.verify("open", token)
        except InvalidToken:
            return Response(PIXEL_GIF, media_type="image/gif")
        await run_in_threadpool(
            record_open,
            system.storage,
            system.ingestor,
            machines,
            claims["m"],
            seen(request),
            system.clock.now(),
        )
        return Response(PIXEL_GIF, media_type="image/gif", headers={"Cache-Control": "no-store"})

    @router.get("/c/{token}", summary="Click redirect")
    async def clicked(token: str, request: Request) -> Response:
        try:
            claims = system.signer.verify("click", token)
        except InvalidToken:
            return problem(404, "this link is not valid; it may have been altered")
        await run_in_threadpool(
            record_click,
            system.storage,
            system.ingestor,
            machines,
            claims["m"],
            claims["u"],
            seen(request),
            system.clock.now(),
        )
        return RedirectResponse(claims["u"], status_code=302)

    return router
