"""Small builders for events, outbox emails and processors in tests."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from pertinent.clock import Clock
from pertinent.content.links import SystemUrls
from pertinent.content.render import Renderer
from pertinent.content.templates import TemplateLibrary
from pertinent.delivery.outbox import OutboxItem
from pertinent.events.model import Event
from pertinent.journeys.caps import SendPolicy
from pertinent.journeys.timing import UTC_ZONE
from pertinent.journeys.versions import JourneySet
from pertinent.processor.batch import Pipeline, Processor
from pertinent.processor.compose import Composer
from pertinent.segments.definitions import SegmentSet
from pertinent.segments.language import SegmentDefinition
from pertinent.storage.ports import Storage
from pertinent.tracking.tokens import TrackingTokens


def track(
    name: str,
    at: datetime,
    *,
    user: str | None = None,
    anon: str | None = None,
    message_id: str | None = None,
    **props: Any,
) -> Event:
    return Event(
        message_id=message_id or uuid.uuid4().hex,
        type="track",
        name=name,
        timestamp=at,
        received_at=at,
        user_id=user,
        anonymous_id=anon,
        properties=props,
    )


def identify(
    at: datetime,
    *,
    user: str | None = None,
    anon: str | None = None,
    message_id: str | None = None,
    **traits: Any,
) -> Event:
    return Event(
        message_id=message_id or uuid.uuid4().hex,
        type="identify",
        timestamp=at,
        received_at=at,
        user_id=user,
        anonymous_id=anon,
        traits=traits,
    )


def alias(at: datetime, *, previous: str, user: str, message_id: str | None = None) -> Event:
    return Event(
        message_id=message_id or uuid.uuid4().hex,
        type="alias",
        timestamp=at,
        received_at=at,
        user_id=user,
        previous_id=previous,
    )


def outbox_item(key: str, message_id: str, at: datetime, **fields: Any) -> OutboxItem:
    """An email as a send step enqueues it: to u1 at a@example.com unless `fields` say else."""
    defaults: dict[str, Any] = {
        "profile_id": "u1",
        "template": "t",
        "to_address": "a@example.com",
        "subject": "s",
        "html": "<p>h</p>",
        "text": "h",
        "unsubscribe_url": "http://x/u",
    }
    return OutboxItem(
        idempotency_key=key, message_id=message_id, created_at=at, **{**defaults, **fields}
    )


def processor(
    storage: Storage,
    clock: Clock,
    segments: Sequence[SegmentDefinition] = (),
    *,
    batch_size: int = 1000,
    partitions: int = 1,
) -> Processor:
    """A processor with these segments and no journeys (so it never renders an email)."""
    urls = SystemUrls("http://x", TrackingTokens("s" * 16))
    renderer = Renderer(TemplateLibrary(Path("no-templates")), urls)
    pipeline = Pipeline(
        SegmentSet(list(segments)),
        JourneySet.of([]),
        Composer(renderer, "s" * 16),
        SendPolicy((), None, UTC_ZONE, lambda _template: "marketing"),
    )
    return Processor(storage, clock, pipeline, batch_size=batch_size, partitions=partitions)
