"""Tracking endpoints: open pixel, click redirect, the email in a browser (unsubscribe pages
are the person's, in `web/preferences.py`).

Every token is sealed (`tracking/tokens.py`); a click only redirects to the URL sealed into
its token, which the link rules allowed when the email was made, so the endpoint cannot be
used as an open redirect. Clicks, opens and the browser view work for `content.link_days`
after the email was made (a link that old answers 410 and records nothing). What happened
goes into the log as an event, marked when a machine did it (`tracking.machine_opens`).
"""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from pertinent.api.errors import problem
from pertinent.api.ingest import PIXEL_GIF
from pertinent.app import System
from pertinent.tracking.handlers import record_click, record_open
from pertinent.tracking.machine_opens import MachineDetector, Seen
from pertinent.tracking.tokens import Claims, InvalidToken


def build_router(system: System) -> APIRouter:
    router = APIRouter(prefix="/t", tags=["tracking"])
    machines = MachineDetector(system.workspace.settings.engagement)
    tokens = system.tokens
    valid_days = system.workspace.settings.content.link_days

    def expired(claims: Claims) -> bool:
        return claims.expired(system.clock.now(), valid_days)

    def seen(request: Request) -> Seen:
        return Seen(
            ip=request.client.host if request.client else None,
            user_agent=request.headers.get("user-agent"),
        )

    @router.get("/o/{token}.gif", summary="Open pixel")
    async def opened(token: str, request: Request) -> Response:
        try:
            claims = tokens.open("open", token)
        except InvalidToken:
            return Response(PIXEL_GIF, media_type="image/gif")
        if not expired(claims):
            await run_in_threadpool(
                record_open,
                system.storage,
                system.ingestor,
                machines,
                claims.message_id,
                seen(request),
                system.clock.now(),
            )
        return Response(PIXEL_GIF, media_type="image/gif", headers={"Cache-Control": "no-store"})

    @router.get("/c/{token}", summary="Click redirect")
    async def clicked(token: str, request: Request) -> Response:
        try:
            claims = tokens.open("click", token)
        except InvalidToken:
            return problem(404, "this link is not valid; it may have been altered")
        if claims.url is None:
            return problem(404, "this link is not valid; it may have been altered")
        if expired(claims):
            return _page(410, "This link has expired", "It was in an email sent long ago.")
        await run_in_threadpool(
            record_click,
            system.storage,
            system.ingestor,
            machines,
            claims.message_id,
            claims.url,
            seen(request),
            system.clock.now(),
        )
        return RedirectResponse(claims.url, status_code=302)

    @router.get("/v/{token}", summary="The email in a browser", response_class=HTMLResponse)
    async def view(token: str) -> Response:
        try:
            claims = tokens.open("view", token)
        except InvalidToken:
            return problem(404, "this link is not valid; it may have been altered")
        if expired(claims):
            return _page(410, "This email has expired", "It was sent long ago.")
        found = await run_in_threadpool(system.storage.reads.email, claims.message_id)
        if found is None:
            return _page(404, "This email is no longer here", "It may have been deleted.")
        # The email's own HTML, from this host: nothing in it may run.
        return HTMLResponse(
            found.item.html, headers={"Content-Security-Policy": "script-src 'none'"}
        )

    return router


def _page(status: int, title: str, text: str) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><title>{escape(title)}</title><body style='font-family:sans-serif'>"
        f"<h1>{escape(title)}</h1><p>{escape(text)}</p></body>",
        status_code=status,
    )
