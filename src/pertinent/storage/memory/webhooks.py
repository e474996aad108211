"""Webhook calls and their attempts in memory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from pertinent.journeys.webhooks import Attempt, Delivery, PendingCall, WebhookCall
from pertinent.storage.memory.state import State, WebhookRow, stored_call, utc


class MemoryWebhooks:
    def __init__(self, state: State):
        self._state = state

    def enqueue(self, calls: Sequence[WebhookCall]) -> int:
        rows = self._state.webhook_calls
        taken = {row.call.idempotency_key for row in rows.values()}
        added = 0
        for call in calls:
            if call.idempotency_key in taken:
                continue
            row_id = self._state.next_id("webhook")
            rows[row_id] = WebhookRow(row_id, stored_call(call), "pending", 0, utc(call.created_at))
            taken.add(call.idempotency_key)
            added += 1
        return added

    def _open(self) -> list[WebhookRow]:
        return [r for r in self._state.webhook_calls.values() if r.status in ("pending", "sending")]

    def next_due(self) -> datetime | None:
        return min((row.next_attempt_at for row in self._open()), default=None)

    def claim(self, now: datetime, lease: timedelta, limit: int, owner: str) -> list[PendingCall]:
        due = sorted(
            (row for row in self._open() if row.next_attempt_at <= now),
            key=lambda row: (row.next_attempt_at, row.id),
        )[:limit]
        for row in due:
            row.status = "sending"
            row.next_attempt_at = utc(now + lease)
            row.lease_owner = owner
        return [PendingCall(row.id, row.attempts, stored_call(row.call)) for row in due]

    def record(self, attempt: Attempt, status: str, next_at: datetime | None) -> None:
        row = self._state.webhook_calls.get(attempt.delivery_id)
        if row is None:  # its person was erased meanwhile
            return
        row.log.append(replace(attempt, at=utc(attempt.at)))
        row.attempts = attempt.number
        row.status = status
        row.lease_owner = None
        if next_at is not None:
            row.next_attempt_at = utc(next_at)

    def deliveries(self, journey_key: str | None, limit: int) -> list[Delivery]:
        rows = [
            row
            for row in sorted(self._state.webhook_calls.values(), key=lambda r: -r.id)
            if journey_key is None or row.call.journey_key == journey_key
        ][:limit]
        return [
            Delivery(row.id, stored_call(row.call), row.status, list(reversed(row.log)))
            for row in rows
        ]
