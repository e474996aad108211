"""The admin API (Bearer key): status, profiles, erasure (segments: `api/segments.py`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from pertinent.api.auth import KeyRing, admin_key_dependency
from pertinent.app import System
from pertinent.errors import NotFoundError
from pertinent.privacy.erase import erase_person
from pertinent.profiles.computed import with_recency
from pertinent.profiles.custom import custom_values
from pertinent.profiles.state import is_anonymous


class Status(BaseModel):
    log_seq: int
    processed_seq: int
    lag: int
    profiles: int
    segments: dict[str, int]
    journeys: dict[str, dict[str, int]]
    outbox: dict[str, int]


class Profile(BaseModel):
    user_id: str | None
    profile_id: str
    anonymous_ids: list[str]
    user_ids: list[str]
    traits: dict[str, Any]
    computed: dict[str, Any]
    first_seen: str | None
    last_seen: str | None
    segments: list[str]


class TimelineItem(BaseModel):
    seq: int
    type: str
    action: str | None
    name: str | None
    timestamp: str
    properties: dict[str, Any]
    traits: dict[str, Any]


class Erased(BaseModel):
    user_id: str
    erased_events: int


def build_router(system: System) -> APIRouter:
    router = APIRouter(
        prefix="/v1",
        tags=["admin"],
        dependencies=[
            Depends(admin_key_dependency(KeyRing.from_settings(system.workspace.settings.keys)))
        ],
    )
    reads = system.storage.reads

    def find(user_id: str) -> str:
        pid = reads.find(user_id)
        if pid is None:
            raise NotFoundError(f"no profile for {user_id!r}", where="user_id")
        return pid

    @router.get("/status", response_model=Status)
    def status() -> Status:
        now = reads.status()
        return Status(**now.__dict__)

    @router.get("/profiles/{user_id}", response_model=Profile)
    def profile(user_id: str) -> Profile:
        pid = find(user_id)
        view = reads.profile(pid)
        if view is None:
            raise NotFoundError(f"no profile for {user_id!r}", where="user_id")
        state, ids = view.state, view.identities
        settings, now = system.workspace.settings.profiles, system.clock.now()
        with system.storage.snapshot() as tx:
            custom = custom_values(settings.computed, tx.profiles, [pid], now)[pid]
        return Profile(
            user_id=None if is_anonymous(pid) else pid,
            profile_id=pid,
            anonymous_ids=sorted({v for k, v in ids if k == "anon"}),
            user_ids=sorted({v for k, v in ids if k == "user"}),
            traits=state.traits,
            computed=with_recency({**state.computed, **custom}, now, settings.engagement),
            first_seen=state.first_seen.isoformat() if state.first_seen else None,
            last_seen=state.last_seen.isoformat() if state.last_seen else None,
            segments=view.segments,
        )

    @router.get("/profiles/{user_id}/events", response_model=list[TimelineItem])
    def events(user_id: str, limit: int = Query(100, ge=1, le=1000)) -> list[TimelineItem]:
        return [
            TimelineItem(
                seq=e.seq,
                type=e.event.type,
                action=e.action,
                name=e.event.name,
                timestamp=e.timestamp.isoformat(),
                properties=e.event.properties,
                traits=e.event.traits,
            )
            for e in reads.timeline(find(user_id), limit)
        ]

    @router.delete("/profiles/{user_id}", response_model=Erased)
    async def erase(user_id: str) -> Erased:
        erased = await run_in_threadpool(
            erase_person,
            system.storage,
            system.recommendations,
            system.models,
            user_id,
            system.clock.now(),
        )
        return Erased(user_id=user_id, erased_events=erased)

    return router
