"""Journeys over HTTP (admin key): numbers per version and step, and the webhook log."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from pertinent.api.auth import admin_key_dependency
from pertinent.app import System
from pertinent.errors import NotFoundError
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


def build_router(system: System) -> APIRouter:
    router = APIRouter(
        prefix="/v1/journeys",
        tags=["journeys"],
        dependencies=[Depends(admin_key_dependency(system.workspace.settings.keys.admin))],
    )
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

    return router
