"""Journeys over HTTP (admin key): numbers per version and step, the webhook log, and the
workspace's definitions planned and applied without a restart."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from pertinent.api.auth import KeyRing, admin_key_dependency
from pertinent.app import System
from pertinent.errors import NotFoundError
from pertinent.journeys.plan import Plan, plan_files
from pertinent.journeys.stats import JourneyReport, report


class StepNumbers(BaseModel):
    id: str
    type: str
    numbers: dict[str, int]
    exits: dict[str, int]


class VersionNumbers(BaseModel):
    version: int
    live: bool
    totals: dict[str, int]
    steps: list[StepNumbers]


class JourneyNumbers(BaseModel):
    key: str
    name: str
    trigger: str
    live_version: int | None
    versions: list[VersionNumbers]


class Attempt(BaseModel):
    attempt: int
    at: str
    status_code: int | None
    error: str | None
    duration_ms: int


class WebhookDelivery(BaseModel):
    id: int
    journey: str
    step: str
    profile_id: str
    url: str
    status: str
    created_at: str
    body: dict[str, Any]
    attempts: list[Attempt]


def _shaped(found: JourneyReport) -> JourneyNumbers:
    return JourneyNumbers(
        key=found.key,
        name=found.name,
        trigger=found.trigger,
        live_version=found.live_version,
        versions=[
            VersionNumbers(
                version=v.version,
                live=v.live,
                totals=v.totals,
                steps=[
                    StepNumbers(id=s.id, type=s.type, numbers=s.numbers, exits=s.exits)
                    for s in v.steps
                ],
            )
            for v in found.versions
        ],
    )


class Definitions(BaseModel):
    """A workspace's definition files by path (`segments/x.yaml`, `journeys/y.yaml`,
    `templates/z/subject.liquid` ...): all of them; what is not sent is removed."""

    files: dict[str, str]


class PlanOut(BaseModel):
    changes: int
    segments: list[dict[str, Any]]
    journeys: list[dict[str, Any]]
    templates: list[dict[str, Any]]


def _plan(plan: Plan) -> PlanOut:
    return PlanOut(
        changes=plan.changes,
        segments=[asdict(p) for p in plan.segments],
        journeys=[asdict(p) for p in plan.journeys],
        templates=[asdict(p) for p in plan.templates],
    )


def build_router(system: System) -> APIRouter:
    guard = [Depends(admin_key_dependency(KeyRing.from_settings(system.workspace.settings.keys)))]
    router = APIRouter(prefix="/v1/journeys", tags=["journeys"], dependencies=guard)
    workspace = APIRouter(prefix="/v1/workspace", tags=["workspace"], dependencies=guard)

    @workspace.post("/plan", response_model=PlanOut)
    def plan(body: Definitions) -> PlanOut:
        """What these definitions would change on the running system; nothing is changed."""
        return _plan(
            plan_files(
                system.storage,
                system.workspace,
                system.processor.pipeline.journeys,
                body.files,
                system.clock.now(),
            )
        )

    @workspace.post("/apply", response_model=PlanOut)
    def apply(body: Definitions) -> PlanOut:
        """Put these definitions live in every process, without a restart."""
        return _plan(system.apply_definitions(body.files))

    reads = system.storage.reads

    def reports() -> list[JourneyReport]:
        return report(system.processor.pipeline.journeys, reads.journey_numbers())

    @router.get("", response_model=list[JourneyNumbers])
    def journeys() -> list[JourneyNumbers]:
        """Every journey with its numbers per version and step."""
        return [_shaped(r) for r in reports()]

    @router.get("/{key}", response_model=JourneyNumbers)
    def journey(key: str) -> JourneyNumbers:
        found = next((r for r in reports() if r.key == key), None)
        if found is None:
            raise NotFoundError(f"no journey {key!r}", where="key")
        return _shaped(found)

    @router.get("/{key}/webhooks", response_model=list[WebhookDelivery])
    def webhooks(key: str, limit: int = Query(100, ge=1, le=1000)) -> list[WebhookDelivery]:
        """The journey's webhook calls, newest first, each with every attempt."""
        return [
            WebhookDelivery(
                id=d.id,
                journey=d.call.journey_key,
                step=d.call.step,
                profile_id=d.call.profile_id,
                url=d.call.url,
                status=d.status,
                created_at=d.call.created_at.isoformat(),
                body=orjson.loads(d.call.body),
                attempts=[
                    Attempt(
                        attempt=a.number,
                        at=a.at.isoformat(),
                        status_code=a.status_code,
                        error=a.error,
                        duration_ms=a.duration_ms,
                    )
                    for a in d.attempts
                ],
            )
            for d in reads.webhook_deliveries(key, limit)
        ]

    both = APIRouter()
    both.include_router(router)
    both.include_router(workspace)
    return both
