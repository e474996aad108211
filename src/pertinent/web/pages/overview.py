"""The overview (log position and lag, people, arrivals per minute, emails, the largest
segments) and the live events."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse

from pertinent.analytics.monitor import arrivals_per_minute
from pertinent.app import System
from pertinent.events.model import LoggedEvent
from pertinent.web.charts.columns import column_chart
from pertinent.web.login import Access
from pertinent.web.render import Chrome, PageRoute, page

TOP_SEGMENTS = 10
LIVE = 100  # events on the live page
REFRESH_SECONDS = 5


def person_link(user_id: str | None, anonymous_id: str | None) -> dict[str, str | None]:
    """Who an event is about, and the address of their profile page."""
    shown = user_id or anonymous_id
    return {"who": shown, "href": f"/profiles/{quote(shown, safe='')}" if shown else None}


def event_row(logged: LoggedEvent) -> dict[str, Any]:
    e = logged.event
    marks = (["bot"] if e.is_bot else []) + sorted({f.kind for f in e.flags})
    return {
        "seq": logged.seq,
        "received": f"{e.received_at:%Y-%m-%d %H:%M:%S}",
        "time": f"{e.timestamp:%Y-%m-%d %H:%M:%S}",
        "type": e.type,
        "name": e.name or "",
        "marks": ", ".join(marks),
        **person_link(e.user_id, e.anonymous_id),
    }


def build_router(system: System, access: Access) -> APIRouter:
    router = APIRouter(route_class=PageRoute)
    reads = system.storage.reads

    @router.get("/", response_class=HTMLResponse)
    def overview(chrome: Chrome = Depends(access)) -> HTMLResponse:
        status = reads.status()
        arrived = arrivals_per_minute(reads, system.clock.now())
        minutes = len(arrived.counts)
        columns = [(f"-{minutes - i}m", float(n)) for i, n in enumerate(arrived.counts)]
        names = {s.key: s.name or s.key for s in system.segments}
        largest = sorted(status.segments.items(), key=lambda kv: (-kv[1], kv[0]))
        return page(
            "overview",
            "Overview",
            chrome,
            section="/",
            status=asdict(status),
            per_minute=arrived.last_minute,
            chart=column_chart(columns, f"Events that arrived per minute, the last {minutes}"),
            minutes=[
                {"start": f"{s:%H:%M:%S}", "count": n}
                for s, n in zip(arrived.starts, arrived.counts, strict=True)
            ],
            outbox=sorted(status.outbox.items()),
            sent=status.outbox.get("sent", 0),
            failed=status.outbox.get("failed", 0),
            segments=[
                {"key": k, "name": names.get(k, k), "size": n} for k, n in largest[:TOP_SEGMENTS]
            ],
        )

    @router.get("/events", response_class=HTMLResponse)
    def live(
        chrome: Chrome = Depends(access),
        refresh: str = Query("on", pattern="^(on|off)$", description="reload every 5 s"),
    ) -> HTMLResponse:
        return page(
            "events",
            "Live events",
            chrome,
            section="/events",
            refresh=REFRESH_SECONDS if refresh == "on" else None,
            live=refresh == "on",
            seconds=REFRESH_SECONDS,
            events=[event_row(e) for e in reads.recent_events(LIVE)],
        )

    return router
