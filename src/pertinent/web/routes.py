"""Dashboard pages: an overview and the built-in mail viewer.

Pages are Liquid templates (the same engine emails use, so there is one template language in
the project); the data comes from the storage snapshot, no logic lives here.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from liquid import Environment
from markupsafe import Markup

from pertinent.app import System
from pertinent.errors import NotFoundError
from pertinent.processor import CURSOR

_ENV = Environment(autoescape=True)


def _page(name: str, title: str, **data: Any) -> HTMLResponse:
    folder = resources.files("pertinent.web") / "templates"
    body = _ENV.from_string((folder / f"{name}.liquid").read_text()).render(**data)
    layout = _ENV.from_string((folder / "layout.liquid").read_text())
    return HTMLResponse(layout.render(title=title, content=Markup(body)))


def build_router(system: System) -> APIRouter:
    router = APIRouter(tags=["dashboard"], include_in_schema=False)

    @router.get("/", response_class=HTMLResponse)
    def overview() -> HTMLResponse:
        with system.storage.snapshot() as tx:
            sizes = tx.segments.sizes()
            status = {
                "log_seq": tx.log.last_seq(),
                "processed_seq": tx.cursors.get(CURSOR),
                "profiles": tx.profiles.count(),
                "outbox": sorted(tx.outbox.counts().items()),
            }
        segments = [
            {"key": s.key, "name": s.name or s.key, "size": sizes.get(s.key, 0)}
            for s in system.segments.segments
        ]
        return _page("overview", "Overview", status=status, segments=segments)

    @router.get("/emails", response_class=HTMLResponse)
    def emails() -> HTMLResponse:
        with system.storage.snapshot() as tx:
            rows = tx.outbox.recent(500)
        listed = [
            {
                "to": item.to_address,
                "subject": item.subject,
                "template": item.template,
                "journey": item.journey_key or "",
                "status": status,
                "message_id": item.message_id,
                "sent_at": sent_at.strftime("%Y-%m-%d %H:%M") if sent_at else "",
            }
            for item, status, sent_at in rows
        ]
        return _page("emails", "Emails", emails=listed)

    @router.get("/emails/{message_id}", response_class=HTMLResponse)
    def email(message_id: str) -> HTMLResponse:
        with system.storage.snapshot() as tx:
            found = tx.outbox.get(message_id)
        if found is None:
            raise NotFoundError(f"no email {message_id!r}", where="message_id")
        return HTMLResponse(found[0].html)

    return router
