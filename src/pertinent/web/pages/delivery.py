"""What went out and what came in wrong: the outbox (recent emails with their status and
reason, and the built-in mail viewer) and data quality (tracking-plan violations, flagged
events, bots)."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse

from pertinent.analytics.monitor import data_quality
from pertinent.app import System
from pertinent.errors import NotFoundError
from pertinent.storage.ports import SentEmail
from pertinent.web.login import Access
from pertinent.web.pages.people import profile_href
from pertinent.web.render import Chrome, PageRoute, email_html, page

OUTBOX = 200
STATUSES = ("any", "pending", "sent", "failed")


def _email(e: SentEmail) -> dict[str, str | None]:
    item = e.item
    return {
        "to": item.to_address,
        "subject": item.subject,
        "template": item.template,
        "journey": item.journey_key or "",
        "profile": item.profile_id,
        "profile_href": profile_href(item.profile_id),
        "status": e.status,
        "reason": e.last_error or None,
        "message_id": item.message_id,
        "created": f"{item.created_at:%Y-%m-%d %H:%M}",
        "sent": f"{e.sent_at:%Y-%m-%d %H:%M}" if e.sent_at else "",
    }


def build_router(system: System, access: Access) -> APIRouter:
    router = APIRouter(route_class=PageRoute)
    reads = system.storage.reads

    def stored(message_id: str) -> SentEmail:
        found = reads.email(message_id)
        if found is None:
            raise NotFoundError(
                f"no email {message_id!r} in the outbox",
                where="message_id",
                hint="the Outbox page lists the newest emails; an erased person's are gone",
            )
        return found

    @router.get("/emails", response_class=HTMLResponse)
    def outbox(
        chrome: Chrome = Depends(access),
        status: str = Query("any", pattern="^(any|pending|sent|failed)$"),
    ) -> HTMLResponse:
        emails = [_email(e) for e in reads.emails(OUTBOX) if status == "any" or e.status == status]
        return page(
            "emails",
            "Outbox",
            chrome,
            section="/emails",
            emails=emails,
            status=status,
            statuses=STATUSES,
            newest=OUTBOX,
        )

    @router.get("/emails/{message_id}", response_class=HTMLResponse)
    def email(message_id: str, chrome: Chrome = Depends(access)) -> HTMLResponse:
        found = stored(message_id)
        title = found.item.subject
        return page("email", title, chrome, section="/emails", email=_email(found))

    @router.get("/emails/{message_id}/html", response_class=HTMLResponse)
    def email_body(message_id: str, _chrome: Chrome = Depends(access)) -> HTMLResponse:
        return email_html(stored(message_id).item.html, images=False)

    @router.get("/quality", response_class=HTMLResponse)
    def quality(chrome: Chrome = Depends(access)) -> HTMLResponse:
        found = data_quality(reads)
        plan = system.ingestor.rules.plan
        return page(
            "quality",
            "Data quality",
            chrome,
            section="/quality",
            quality={
                **asdict(found),
                "violations": [
                    {
                        "event": v.event,
                        "field": v.field,
                        "outcome": "rejected" if v.rejected else "flagged",
                        "count": v.count,
                        "first": f"{v.first_seen:%Y-%m-%d %H:%M}",
                        "last": f"{v.last_seen:%Y-%m-%d %H:%M}",
                    }
                    for v in found.violations
                ],
            },
            planned=[
                {"event": name, "mode": p.mode, "file": p.source.name}
                for name, p in sorted(plan.events.items())
            ],
        )

    return router
