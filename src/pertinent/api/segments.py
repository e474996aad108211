"""The segments API (Bearer admin key): sizes with the small-segment guard, members now or
at an instant, size over time, saved versions, and a preview of a condition before saving."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from pertinent.api.auth import KeyRing, admin_key_dependency
from pertinent.app import System
from pertinent.errors import InputError, NotFoundError
from pertinent.segments.guard import segments_in_use
from pertinent.segments.language import Condition, parse_duration
from pertinent.segments.preview import preview

MAX_POINTS = 1000


class SegmentSize(BaseModel):
    key: str
    name: str
    size: int
    version: int
    used_by: list[str]
    warning: str | None = None


class Member(BaseModel):
    profile_id: str
    entered_at: str


class Point(BaseModel):
    at: str
    size: int


class Version(BaseModel):
    version: int
    definition: dict[str, Any]
    saved_at: str
    removed_at: str | None


class PreviewRequest(BaseModel):
    condition: Condition


class PreviewAnswer(BaseModel):
    size: int
    sample: list[dict[str, Any]] = Field(description="up to 20 people, by profile id")
    warning: str | None = None


def _aware(at: datetime) -> datetime:
    """A time without a zone is UTC, as everywhere in Pertinent."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def build_router(system: System) -> APIRouter:
    router = APIRouter(
        prefix="/v1/segments",
        tags=["segments"],
        dependencies=[
            Depends(admin_key_dependency(KeyRing.from_settings(system.workspace.settings.keys)))
        ],
    )
    reads = system.storage.reads
    minimum = system.workspace.settings.segments.min_size

    def known(key: str) -> None:
        if system.segments.by_key(key) is None:
            raise NotFoundError(f"no segment {key!r}", where="key")

    @router.get("", response_model=list[SegmentSize])
    def segments() -> list[SegmentSize]:
        sizes = reads.segment_sizes()
        in_use = segments_in_use((f"journey {j.key}", j) for j in system.workspace.journeys)
        warnings = {w.segment: str(w) for w in system.size_warnings()}
        with system.storage.snapshot() as tx:
            versions = tx.segments.definitions()
        return [
            SegmentSize(
                key=s.key,
                name=s.name or s.key,
                size=sizes.get(s.key, 0),
                version=versions[s.key].version if s.key in versions else 0,
                used_by=in_use.get(s.key, []),
                warning=warnings.get(s.key),
            )
            for s in system.segments
        ]

    @router.get("/{key}/members", response_model=list[Member])
    def members(
        key: str,
        at: datetime | None = Query(None, description="who was in at this instant (ISO-8601)"),
        limit: int = Query(100, ge=1, le=10_000),
        offset: int = Query(0, ge=0),
    ) -> list[Member]:
        known(key)
        found = (
            reads.members(key, limit, offset)
            if at is None
            else reads.members_at(key, _aware(at), limit, offset)
        )
        return [Member(profile_id=m.profile_id, entered_at=m.entered_at.isoformat()) for m in found]

    @router.get("/{key}/history", response_model=list[Point])
    def history(
        key: str,
        start: datetime | None = Query(None, alias="from"),
        end: datetime | None = Query(None, alias="to"),
        step: str = Query("1d", description="a duration: 1h, 1d, 1w"),
    ) -> list[Point]:
        known(key)
        try:
            every = parse_duration(step)
        except ValueError as exc:
            raise InputError(str(exc), where="step") from None
        until = _aware(end) if end else system.clock.now()
        since = _aware(start) if start else until - timedelta(days=7)
        if since > until:
            raise InputError("'from' is after 'to'", where="from")
        count = int((until - since) / every) + 1
        if count > MAX_POINTS:
            raise InputError(
                f"{count} points asked for; at most {MAX_POINTS}",
                where="step",
                hint="a longer step",
            )
        points = [since + i * every for i in range(count)]
        sizes = reads.segment_history(key, points)
        return [Point(at=p.isoformat(), size=n) for p, n in zip(points, sizes, strict=True)]

    @router.get("/{key}/versions", response_model=list[Version])
    def versions(key: str) -> list[Version]:
        with system.storage.snapshot() as tx:
            saved = tx.segments.versions(key)
        if not saved:
            raise NotFoundError(f"no saved versions of segment {key!r}", where="key")
        return [
            Version(
                version=v.version,
                definition=v.definition,
                saved_at=v.saved_at.isoformat(),
                removed_at=v.removed_at.isoformat() if v.removed_at else None,
            )
            for v in saved
        ]

    @router.post("/preview", response_model=PreviewAnswer)
    async def preview_condition(request: PreviewRequest) -> PreviewAnswer:
        found = await run_in_threadpool(
            preview, system.storage, system.segments, request.condition, system.clock.now()
        )
        warning = (
            f"{found.size} people, fewer than {minimum}: results over so few people mean little"
            if found.size < minimum
            else None
        )
        return PreviewAnswer(size=found.size, sample=found.sample, warning=warning)

    return router
