"""Broadcasts over HTTP (admin key): schedule one, list them, read one's numbers."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from pertinent.api.auth import KeyRing, admin_key_dependency
from pertinent.app import System
from pertinent.errors import NotFoundError
from pertinent.journeys.broadcasts import Broadcast, BroadcastRequest, create


class BroadcastOut(BaseModel):
    id: int
    name: str
    template: str
    segment: str
    send_at: str
    local_time: bool
    per_hour: int | None
    status: str


class BroadcastNumbersOut(BroadcastOut):
    targeted: int
    pending: int
    sent: int
    capped: int
    suppressed: int
    failed: int
    outcomes: dict[str, int]
    opens: int
    clicks: int


def _out(b: Broadcast, status: str | None = None) -> BroadcastOut:
    return BroadcastOut(
        id=b.id,
        name=b.name,
        template=b.template,
        segment=b.segment,
        send_at=b.send_at.isoformat(),
        local_time=b.local_time,
        per_hour=b.per_hour,
        status=status or b.status,
    )


def build_router(system: System) -> APIRouter:
    router = APIRouter(
        prefix="/v1/broadcasts",
        tags=["broadcasts"],
        dependencies=[
            Depends(admin_key_dependency(KeyRing.from_settings(system.workspace.settings.keys)))
        ],
    )
    reads = system.storage.reads

    @router.post("", response_model=BroadcastOut, status_code=201)
    async def schedule(request: BroadcastRequest) -> BroadcastOut:
        """Send `template` to everyone in `segment` at `send_at` (default now; with
        `local_time`, at that wall-clock time in each person's zone), `per_hour` at most."""
        segments = [s.key for s in system.processor.pipeline.segments]
        created = await run_in_threadpool(
            create,
            system.storage,
            request,
            segments,
            system.templates.names(),
            system.clock.now(),
        )
        return _out(created)

    @router.get("", response_model=list[BroadcastOut])
    def broadcasts(limit: int = Query(100, ge=1, le=1000)) -> list[BroadcastOut]:
        return [_out(b) for b in reads.broadcasts(limit)]

    @router.get("/{broadcast_id}", response_model=BroadcastNumbersOut)
    def numbers(broadcast_id: int) -> BroadcastNumbersOut:
        found = reads.broadcast_numbers(broadcast_id)
        if found is None:
            raise NotFoundError(f"no broadcast {broadcast_id}", where="broadcast_id")
        outcomes = found.outcomes
        sent = outcomes.get("sent", 0)
        return BroadcastNumbersOut(
            **_out(found.broadcast, found.status).model_dump(),
            targeted=found.broadcast.targeted,
            pending=found.pending,
            sent=sent,
            capped=outcomes.get("capped", 0),
            suppressed=outcomes.get("suppressed", 0),
            failed=outcomes.get("failed", 0),
            outcomes=outcomes,
            opens=found.opened,
            clicks=found.clicked,
        )

    return router
