"""Segments: sizes with the small-segment guard's warnings, and a segment's page with its
size over time (a chart and its table), its members and its definition."""

from __future__ import annotations

from datetime import timedelta

import orjson
from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse

from pertinent.app import System
from pertinent.errors import NotFoundError
from pertinent.segments.guard import segments_in_use
from pertinent.web.charts.line import line_chart, when
from pertinent.web.login import Access
from pertinent.web.pages.people import profile_href
from pertinent.web.render import Chrome, PageRoute, page

MEMBERS = 50
# The spans a segment's chart offers, each with the step between its points.
RANGES = {
    "1d": (timedelta(days=1), timedelta(hours=1)),
    "7d": (timedelta(days=7), timedelta(hours=6)),
    "30d": (timedelta(days=30), timedelta(days=1)),
    "90d": (timedelta(days=90), timedelta(days=1)),
}


def build_router(system: System, access: Access) -> APIRouter:
    router = APIRouter(route_class=PageRoute)
    reads = system.storage.reads

    def users() -> dict[str, list[str]]:
        return segments_in_use((f"journey {j.key}", j) for j in system.workspace.journeys)

    @router.get("/segments", response_class=HTMLResponse)
    def segments(chrome: Chrome = Depends(access)) -> HTMLResponse:
        sizes = reads.segment_sizes()
        in_use = users()
        warnings = {w.segment: str(w) for w in system.size_warnings()}
        with system.storage.snapshot() as tx:
            versions = tx.segments.definitions()
        listed = [
            {
                "key": s.key,
                "name": s.name or s.key,
                "size": sizes.get(s.key, 0),
                "version": versions[s.key].version if s.key in versions else 0,
                "used_by": ", ".join(in_use.get(s.key, [])),
                "warning": warnings.get(s.key, ""),
            }
            for s in system.segments
        ]
        return page(
            "segments",
            "Segments",
            chrome,
            section="/segments",
            segments=listed,
            warned=len(warnings),
            minimum=system.workspace.settings.segments.min_size,
        )

    @router.get("/segments/{key}", response_class=HTMLResponse)
    def segment(
        key: str,
        chrome: Chrome = Depends(access),
        span: str = Query("7d", alias="range", pattern="^(1d|7d|30d|90d)$"),
        number: int = Query(1, alias="page", ge=1, le=1_000_000),
    ) -> HTMLResponse:
        definition = system.segments.by_key(key)
        if definition is None:
            raise NotFoundError(
                f"no segment {key!r} in the workspace",
                where="key",
                hint="the Segments page lists every segment",
            )
        length, step = RANGES[span]
        until = system.clock.now()
        points = [until - length + i * step for i in range(int(length / step) + 1)]
        sizes = reads.segment_history(key, points)
        name = definition.name or key
        members = reads.members(key, MEMBERS, (number - 1) * MEMBERS)
        warning = next((str(w) for w in system.size_warnings() if w.segment == key), None)
        condition = definition.condition.model_dump(mode="json", exclude_defaults=True)
        return page(
            "segment",
            f"Segment {name}",
            chrome,
            section="/segments",
            key=key,
            name=name,
            description=definition.description or None,
            size=reads.segment_sizes().get(key, 0),
            used_by=", ".join(users().get(key, [])) or None,
            warning=warning,
            span=span,
            ranges=list(RANGES),
            chart=line_chart(
                list(zip(points, map(float, sizes), strict=True)),
                f"Members of segment {name} over the last {span}",
            ),
            history=[
                {"at": when(p, length), "size": n} for p, n in zip(points, sizes, strict=True)
            ],
            members=[
                {
                    "id": m.profile_id,
                    "href": profile_href(m.profile_id),
                    "entered": f"{m.entered_at:%Y-%m-%d %H:%M}",
                }
                for m in members
            ],
            page=number,
            more=len(members) == MEMBERS,
            condition=orjson.dumps(condition, option=orjson.OPT_INDENT_2).decode(),
        )

    return router
