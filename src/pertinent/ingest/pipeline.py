"""One batch in; accepted events appended, rejections named.

The limits are Segment's: 32 KB per event, 500 KB per batch request. A batch with some bad
events keeps the good ones. Duplicate message ids (a client retry) are accepted and dropped,
so retries are idempotent. When `ingest` returns, the accepted events are committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from pertinent.clock import Clock
from pertinent.events.model import Event
from pertinent.events.normalize import normalize
from pertinent.events.validate import EventRejected, parse_call
from pertinent.ingest.bots import is_bot
from pertinent.ingest.writer import LogWriter
from pertinent.storage.ports import Storage

MAX_EVENT_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024


@dataclass(frozen=True)
class Rejection:
    index: int
    field: str
    reason: str


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    duplicates: int
    rejections: list[Rejection] = field(default_factory=list)


def prepare(
    raw_events: Sequence[Any],
    *,
    received_at: datetime,
    batch_sent_at: datetime | None = None,
    default_type: str | None = None,
    context_defaults: dict[str, Any] | None = None,
    browser_key: bool = False,
) -> tuple[list[Event], list[Rejection]]:
    """Validate and normalize each raw event; no I/O. `browser_key`: they came with a
    browser write key (see `Event.browser_key`)."""
    events: list[Event] = []
    rejections: list[Rejection] = []
    for index, raw in enumerate(raw_events):
        if isinstance(raw, dict):
            if default_type is not None and "type" not in raw:
                raw = {**raw, "type": default_type}
            if context_defaults:
                ctx = raw.get("context")
                ctx = ctx if isinstance(ctx, dict) else {}
                raw = {**raw, "context": {**context_defaults, **ctx}}
            size = len(orjson.dumps(raw))
            if size > MAX_EVENT_BYTES:
                rejections.append(
                    Rejection(
                        index, "(event)", f"event is {size} bytes; the limit is 32 KB per event"
                    )
                )
                continue
        try:
            call = parse_call(raw)
        except EventRejected as exc:
            rejections.append(Rejection(index, exc.field, exc.reason))
            continue
        events.append(
            normalize(
                call,
                received_at=received_at,
                batch_sent_at=batch_sent_at,
                is_bot=is_bot(call.context),
                browser_key=browser_key,
            )
        )
    return events, rejections


class Ingestor:
    """Validates calls and appends the events to the log through the process's one writer."""

    def __init__(self, storage: Storage, clock: Clock):
        self._clock = clock
        self._writer = LogWriter(storage)

    def _prepare(
        self, raw_events: Sequence[Any], **options: Any
    ) -> tuple[list[Event], list[Rejection]]:
        return prepare(raw_events, received_at=self._clock.now(), **options)

    def ingest(
        self,
        raw_events: Sequence[Any],
        *,
        batch_sent_at: datetime | None = None,
        default_type: str | None = None,
        context_defaults: dict[str, Any] | None = None,
    ) -> IngestResult:
        """Validate and append; the accepted events are durable when it returns."""
        return self.append(
            *self._prepare(
                raw_events,
                batch_sent_at=batch_sent_at,
                default_type=default_type,
                context_defaults=context_defaults,
            )
        )

    async def ingest_async(
        self,
        raw_events: Sequence[Any],
        *,
        batch_sent_at: datetime | None = None,
        default_type: str | None = None,
        context_defaults: dict[str, Any] | None = None,
        browser_key: bool = False,
    ) -> IngestResult:
        """`ingest` for an event loop: validates on the loop (a few microseconds an event,
        less than a thread hand-off) and awaits the writer without blocking the loop."""
        events, rejections = self._prepare(
            raw_events,
            batch_sent_at=batch_sent_at,
            default_type=default_type,
            context_defaults=context_defaults,
            browser_key=browser_key,
        )
        if not events:
            return IngestResult(0, 0, rejections)
        result = await asyncio.wrap_future(self._writer.submit(events))
        return IngestResult(result.accepted, result.duplicates, rejections)

    def append(
        self, events: list[Event], rejections: list[Rejection] | None = None
    ) -> IngestResult:
        """Append already-normalized events (imports and system events come this way)."""
        if not events:
            return IngestResult(0, 0, rejections or [])
        result = self._writer.append(events)
        return IngestResult(result.accepted, result.duplicates, rejections or [])

    def close(self) -> None:
        self._writer.close()
