"""The tracking plan over HTTP: which events have a plan, and how often each field broke it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from pertinent.api.auth import KeyRing, admin_key_dependency
from pertinent.app import System


class PlannedEvent(BaseModel):
    event: str
    mode: Literal["reject", "flag"]
    file: str


class ViolationCount(BaseModel):
    event: str
    field: str
    outcome: Literal["rejected", "flagged"]
    count: int
    first_seen: datetime
    last_seen: datetime


def build_router(system: System) -> APIRouter:
    router = APIRouter(
        prefix="/v1/tracking-plan",
        tags=["admin"],
        dependencies=[
            Depends(admin_key_dependency(KeyRing.from_settings(system.workspace.settings.keys)))
        ],
    )
    plan = system.ingestor.rules.plan

    @router.get("", response_model=list[PlannedEvent], summary="The events the plan names")
    def planned() -> list[PlannedEvent]:
        return [
            PlannedEvent(event=name, mode=p.mode, file=p.source.name)
            for name, p in sorted(plan.events.items())
        ]

    @router.get(
        "/violations",
        response_model=list[ViolationCount],
        summary="Violations per event name and field (a JSON pointer), the most frequent first",
    )
    def violations() -> list[ViolationCount]:
        return [
            ViolationCount(
                event=v.event,
                field=v.field,
                outcome="rejected" if v.rejected else "flagged",
                count=v.count,
                first_seen=v.first_seen,
                last_seen=v.last_seen,
            )
            for v in system.storage.reads.violations()
        ]

    return router
