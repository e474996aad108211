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

_ENV = Environment(autoescape=True)


def _page(name: str, title: str, **data: Any) -> HTMLResponse:
    folder = resources.files("pertinent.web") / "templates"
    body = _ENV.from_string((folder / f"{name}.liquid").read_text()).render(**data)
    layout = _ENV.from_string((folder / "layout.liquid").read_text())
    return HTMLResponse(layout.render(title=title, content=Markup(body)))


def build_router(system: System) -> APIRouter:
    router = APIRouter(tags=["dashboard"], include_in_schema=False)
    reads = system.storage.reads

    @router.get("/", response_class=HTMLResponse)
    def overview() -> HTMLResponse:
        now = reads.status()
        status = {
            "log_seq": now.log_seq,
            "processed_seq": now.processed_seq,
            "profiles": now.profiles,
            "outbox": sorted(now.outbox.items()),
        }
        segments = [
            {"key": s.key, "name": s.name or s.key, "size": now.segments.get(s.key, 0)}
            for s in system.segments
        ]
        return _page("overview", "Overview", status=status, segments=segments)

    @router.get("/emails", response_class=HTMLResponse)
    def emails() -> HTMLResponse:
        listed = [
            {
                "to": e.item.to_address,
                "subject": e.item.subject,
                "template": e.item.template,
                "journey": e.item.journey_key or "",
                "status": e.status,
                "message_id": e.item.message_id,
                "sent_at": e.sent_at.strftime("%Y-%m-%d %H:%M") if e.sent_at else "",
            }
            for e in reads.emails(500)
        ]
        return _page("emails", "Emails", emails=listed)

    @router.get("/emails/{message_id}", response_class=HTMLResponse)
    def email(message_id: str) -> HTMLResponse:
        found = reads.email(message_id)
        if found is None:
            raise NotFoundError(f"no email {message_id!r}", where="message_id")
        return HTMLResponse(found.item.html)

    return router
