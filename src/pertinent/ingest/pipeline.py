"""One batch in; accepted events appended, rejections and flags named.

The limits are Segment's: 32 KB per event, 500 KB per batch request. A batch with some bad
events keeps the good ones: every check is per event (shape, fields, dates, tracking plan),
and whatever an event holds, its failure is a rejection of that event, never of the request.
Duplicate message ids (a client retry) are accepted and dropped, so retries are idempotent.
When `ingest` returns, the accepted events are committed, with the tracking-plan violations
counted in the same transaction.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from pydantic import TypeAdapter, ValidationError

from pertinent.clock import Clock
from pertinent.config import Workspace
from pertinent.events.model import Event
from pertinent.events.normalize import normalize
from pertinent.events.validate import MAX_EVENT_BYTES, EventRejected, check_raw, parse_call
from pertinent.ingest.bots import is_bot
from pertinent.ingest.tracking_plan import NO_PLAN, TrackingPlan, load_tracking_plan
from pertinent.ingest.writer import LogWriter
from pertinent.storage.ports import AppendResult, Storage, Violation

__all__ = ["MAX_BATCH_BYTES", "MAX_EVENT_BYTES", "IngestResult", "Ingestor", "Rules", "prepare"]

MAX_BATCH_BYTES = 500 * 1024
_TIME = TypeAdapter(datetime)
BOT_FLAG = ("bot", "/context/userAgent", "the user agent is a known crawler or bot")


@dataclass(frozen=True)
class Rules:
    """What events are held to beyond the Segment spec: how far ahead of its arrival an
    event's time may be, and the workspace's tracking plan."""

    max_ahead: timedelta = timedelta(hours=24)
    plan: TrackingPlan = NO_PLAN

    @classmethod
    def of(cls, workspace: Workspace) -> Rules:
        hours = workspace.settings.ingest.future_tolerance_hours
        return cls(timedelta(hours=hours), load_tracking_plan(workspace.root))


@dataclass(frozen=True)
class Rejection:
    index: int
    field: str
    reason: str


@dataclass(frozen=True)
class Flagged:
    """An accepted event's flag: `kind` is "bot" or an `events.model.FlagKind`."""

    index: int
    kind: str
    field: str
    reason: str


@dataclass
class Prepared:
    events: list[Event] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    flagged: list[Flagged] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)

    @property
    def writes(self) -> bool:
        """Whether there is anything to write: events, or violations to count."""
        return bool(self.events or self.violations)

    def result(self, appended: AppendResult | None) -> IngestResult:
        accepted, duplicates = (appended.accepted, appended.duplicates) if appended else (0, 0)
        return IngestResult(accepted, duplicates, self.rejections, self.flagged)


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    duplicates: int
    rejections: list[Rejection] = field(default_factory=list)
    flagged: list[Flagged] = field(default_factory=list)

    def flag_counts(self) -> dict[str, int]:
        return dict(Counter(f.kind for f in self.flagged))


@dataclass(frozen=True)
class _Batch:
    """What a batch request says for all its events."""

    received_at: datetime
    sent_at: datetime | None
    sent_at_error: EventRejected | None
    default_type: str | None
    context_defaults: dict[str, Any] | None
    browser_key: bool = False  # sent with a browser write key (see `Event.browser_key`)


def _batch_sent_at(value: object) -> tuple[datetime | None, EventRejected | None]:
    """The batch's `sentAt`, or the rejection of each event whose time it would correct."""
    if value is None:
        return None, None
    try:
        return _TIME.validate_python(value), None
    except ValidationError as exc:
        reason = exc.errors(include_url=False)[0]["msg"]
        return None, EventRejected("sentAt", f"the batch's sentAt: {reason}")


def _event(raw: Any, batch: _Batch, rules: Rules) -> Event:
    """The normalized event; raises `EventRejected` for anything wrong with it."""
    if isinstance(raw, dict):
        if batch.default_type is not None and "type" not in raw:
            raw = {**raw, "type": batch.default_type}
        if batch.context_defaults:
            ctx = raw.get("context")
            ctx = ctx if isinstance(ctx, dict) else {}
            raw = {**raw, "context": {**batch.context_defaults, **ctx}}
        check_raw(raw)
    call = parse_call(raw)
    timed = call.timestamp is not None or call.originalTimestamp is not None
    if call.sentAt is None and timed and batch.sent_at_error is not None:
        raise batch.sent_at_error
    return normalize(
        call,
        received_at=batch.received_at,
        batch_sent_at=batch.sent_at,
        is_bot=is_bot(call.context),
        max_ahead=rules.max_ahead,
        browser_key=batch.browser_key,
    )


def prepare(
    raw_events: Sequence[Any],
    *,
    received_at: datetime,
    rules: Rules = Rules(),
    batch_sent_at: object = None,
    default_type: str | None = None,
    context_defaults: dict[str, Any] | None = None,
    browser_key: bool = False,
) -> Prepared:
    """Validate, normalize and check each raw event; no I/O. `batch_sent_at` is the batch's
    `sentAt` as sent; `browser_key`: they came with a browser write key."""
    sent_at, sent_at_error = _batch_sent_at(batch_sent_at)
    batch = _Batch(received_at, sent_at, sent_at_error, default_type, context_defaults, browser_key)
    out = Prepared()
    for index, raw in enumerate(raw_events):
        try:
            event = _event(raw, batch, rules)
        except EventRejected as exc:
            out.rejections.append(Rejection(index, exc.field, exc.reason))
            continue
        verdict = rules.plan.check(event)
        if verdict.breaches:
            name = event.name or ""
            out.violations.extend(
                Violation(name, b.field, verdict.reject, received_at) for b in verdict.breaches
            )
            if verdict.reject:
                first, more = verdict.breaches[0], len(verdict.breaches) - 1
                also = f" (and {more} more)" if more else ""
                reason = f"breaks the tracking plan: {first.reason}{also}"
                out.rejections.append(Rejection(index, first.field, reason))
                continue
            event = replace(event, flags=event.flags + verdict.breaches)
        if event.is_bot:
            out.flagged.append(Flagged(index, *BOT_FLAG))
        if event.flags:
            out.flagged.extend(Flagged(index, f.kind, f.field, f.reason) for f in event.flags)
        out.events.append(event)
    return out


class Ingestor:
    """Validates calls and appends the events to the log through the process's one writer."""

    def __init__(self, storage: Storage, clock: Clock, rules: Rules = Rules()):
        self._clock = clock
        self._rules = rules
        self._writer = LogWriter(storage)

    @property
    def rules(self) -> Rules:
        return self._rules

    def _prepare(self, raw_events: Sequence[Any], **options: Any) -> Prepared:
        return prepare(raw_events, received_at=self._clock.now(), rules=self._rules, **options)

    def ingest(
        self,
        raw_events: Sequence[Any],
        *,
        batch_sent_at: object = None,
        default_type: str | None = None,
        context_defaults: dict[str, Any] | None = None,
        browser_key: bool = False,
    ) -> IngestResult:
        """Validate and append; the accepted events are durable when it returns."""
        prepared = self._prepare(
            raw_events,
            batch_sent_at=batch_sent_at,
            default_type=default_type,
            context_defaults=context_defaults,
            browser_key=browser_key,
        )
        if not prepared.writes:
            return prepared.result(None)
        return prepared.result(self._writer.append(prepared.events, prepared.violations))

    async def ingest_async(
        self,
        raw_events: Sequence[Any],
        *,
        batch_sent_at: object = None,
        default_type: str | None = None,
        context_defaults: dict[str, Any] | None = None,
        browser_key: bool = False,
    ) -> IngestResult:
        """`ingest` for an event loop: validates on the loop (a few microseconds an event,
        less than a thread hand-off) and awaits the writer without blocking the loop."""
        prepared = self._prepare(
            raw_events,
            batch_sent_at=batch_sent_at,
            default_type=default_type,
            context_defaults=context_defaults,
            browser_key=browser_key,
        )
        if not prepared.writes:
            return prepared.result(None)
        future = self._writer.submit(prepared.events, prepared.violations)
        appended: AppendResult = await asyncio.wrap_future(future)
        return prepared.result(appended)

    def append(self, events: list[Event]) -> IngestResult:
        """Append already-normalized events (system events come this way)."""
        if not events:
            return IngestResult(0, 0)
        result = self._writer.append(events)
        return IngestResult(result.accepted, result.duplicates)

    def close(self) -> None:
        self._writer.close()
