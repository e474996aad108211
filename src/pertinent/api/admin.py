"""The admin API (Bearer key): status, profiles, segments, erasure."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from pertinent.api.auth import admin_key_dependency
from pertinent.app import System
from pertinent.errors import NotFoundError
from pertinent.privacy.erase import erase_person
from pertinent.processor import CURSOR
from pertinent.profiles.computed import with_recency
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


class SegmentSize(BaseModel):
    key: str
    name: str
    size: int


class Member(BaseModel):
    profile_id: str
    entered_at: str


class Erased(BaseModel):
    user_id: str
    erased_events: int


def build_router(system: System) -> APIRouter:
    router = APIRouter(
        prefix="/v1",
        tags=["admin"],
        dependencies=[Depends(admin_key_dependency(system.workspace.settings.keys.admin))],
    )

    def find(tx: Any, user_id: str) -> str:
        pid = tx.profiles.resolve("user", user_id) or tx.profiles.resolve("anon", user_id)
        if pid is None:
            raise NotFoundError(f"no profile for {user_id!r}", where="user_id")
        return str(pid)

    @router.get("/status", response_model=Status)
    def status() -> Status:
        with system.storage.snapshot() as tx:
            log_seq = tx.log.last_seq()
            processed = tx.cursors.get(CURSOR)
            return Status(
                log_seq=log_seq,
                processed_seq=processed,
                lag=log_seq - processed,
                profiles=tx.profiles.count(),
                segments=tx.segments.sizes(),
                journeys=tx.journeys.counts(),
                outbox=tx.outbox.counts(),
            )

    @router.get("/profiles/{user_id}", response_model=Profile)
    def profile(user_id: str) -> Profile:
        with system.storage.snapshot() as tx:
            pid = find(tx, user_id)
            state = tx.profiles.load([pid])[pid]
            ids = tx.profiles.identities(pid)
            return Profile(
                user_id=None if is_anonymous(pid) else pid,
                profile_id=pid,
                anonymous_ids=sorted({v for k, v in ids if k == "anon"}),
                user_ids=sorted({v for k, v in ids if k == "user"}),
                traits=state.traits,
                computed=with_recency(state.computed, system.clock.now()),
                first_seen=state.first_seen.isoformat() if state.first_seen else None,
                last_seen=state.last_seen.isoformat() if state.last_seen else None,
                segments=tx.segments.segments_of(pid),
            )

    @router.get("/profiles/{user_id}/events", response_model=list[TimelineItem])
    def events(user_id: str, limit: int = Query(100, ge=1, le=1000)) -> list[TimelineItem]:
        with system.storage.snapshot() as tx:
            pid = find(tx, user_id)
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
                for e in tx.profiles.timeline(pid, limit)
            ]

    @router.delete("/profiles/{user_id}", response_model=Erased)
    async def erase(user_id: str) -> Erased:
        erased = await run_in_threadpool(
            erase_person, system.storage, system.recommendations, user_id
        )
        return Erased(user_id=user_id, erased_events=erased)

    @router.get("/segments", response_model=list[SegmentSize])
    def segments() -> list[SegmentSize]:
        with system.storage.snapshot() as tx:
            sizes = tx.segments.sizes()
        return [
            SegmentSize(key=s.key, name=s.name or s.key, size=sizes.get(s.key, 0))
            for s in system.segments.segments
        ]

    @router.get("/segments/{key}/members", response_model=list[Member])
    def members(
        key: str, limit: int = Query(100, ge=1, le=10_000), offset: int = Query(0, ge=0)
    ) -> list[Member]:
        if system.segments.by_key(key) is None:
            raise NotFoundError(f"no segment {key!r}", where="key")
        with system.storage.snapshot() as tx:
            return [
                Member(profile_id=p, entered_at=t.isoformat())
                for p, t in tx.segments.members(key, limit, offset)
            ]

    return router
