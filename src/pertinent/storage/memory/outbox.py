"""The outbox and the suppression list in memory."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from pertinent.delivery.outbox import OutboxItem, PendingEmail
from pertinent.delivery.suppression import strongest
from pertinent.journeys.caps import SentRecord
from pertinent.storage.memory.state import OutboxRow, State, Suppression, stored_item, utc


def item_of(row: OutboxRow) -> OutboxItem:
    """The email as stored; its `error` is the row's last error only while it is failed, as
    the SQL adapter reads it back."""
    return replace(stored_item(row.item), error=row.last_error if row.status == "failed" else None)


def row_of(state: State, message_id: str) -> OutboxRow | None:
    """The row of the email with this Message-ID (unique, as in SQL)."""
    return next((r for r in state.outbox.values() if r.item.message_id == message_id), None)


class MemoryOutbox:
    def __init__(self, state: State):
        self._state = state

    def enqueue(self, items: Sequence[OutboxItem]) -> int:
        """An item is skipped when its idempotency key or its Message-ID is taken, as both
        are unique in SQL."""
        rows = self._state.outbox
        taken = {row.item.idempotency_key for row in rows.values()}
        message_ids = {row.item.message_id for row in rows.values()}
        added = 0
        for item in items:
            if item.idempotency_key in taken or item.message_id in message_ids:
                continue
            row_id = self._state.next_id("outbox")
            rows[row_id] = OutboxRow(
                id=row_id,
                item=stored_item(item),
                status="failed" if item.error else "pending",
                attempts=0,
                next_attempt_at=utc(item.created_at),
                last_error=item.error,
            )
            taken.add(item.idempotency_key)
            message_ids.add(item.message_id)
            added += 1
        return added

    def next_due(self) -> datetime | None:
        waiting = [
            row.next_attempt_at
            for row in self._state.outbox.values()
            if row.status in ("pending", "sending")
        ]
        return min(waiting, default=None)

    def claim(self, now: datetime, lease: timedelta, limit: int, owner: str) -> list[PendingEmail]:
        """Take due rows: pending ones whose time has come, and claimed ones whose sender's
        lease ran out (it died mid-send)."""
        due = sorted(
            (
                row
                for row in self._state.outbox.values()
                if row.status in ("pending", "sending") and row.next_attempt_at <= now
            ),
            key=lambda row: (row.next_attempt_at, row.id),
        )[:limit]
        for row in due:
            row.status = "sending"
            row.next_attempt_at = utc(now + lease)
            row.lease_owner = owner
        return [PendingEmail(row.id, row.attempts, item_of(row)) for row in due]

    def release(self, owner: str, now: datetime) -> int:
        """The owner stays on the row, as in SQL; the next claim sets it anew."""
        released = 0
        for row in self._state.outbox.values():
            if row.status == "sending" and row.lease_owner == owner:
                row.status = "pending"
                row.next_attempt_at = utc(now)
                released += 1
        return released

    def mark_sent(self, outbox_id: int, at: datetime) -> None:
        row = self._state.outbox.get(outbox_id)
        if row is not None:
            row.status = "sent"
            row.sent_at = utc(at)
            row.attempts += 1
            row.last_error = None
            row.lease_owner = None

    def mark_retry(self, outbox_id: int, next_at: datetime, error: str) -> None:
        row = self._state.outbox.get(outbox_id)
        if row is not None:
            row.status = "pending"
            row.next_attempt_at = utc(next_at)
            row.attempts += 1
            row.last_error = error
            row.lease_owner = None

    def mark_failed(self, outbox_id: int, error: str) -> None:
        row = self._state.outbox.get(outbox_id)
        if row is not None:
            row.status = "failed"
            row.attempts += 1
            row.last_error = error
            row.lease_owner = None

    def get(self, message_id: str) -> tuple[OutboxItem, str] | None:
        row = row_of(self._state, message_id)
        return (item_of(row), row.status) if row is not None else None

    def defer(self, outbox_id: int, until: datetime) -> None:
        row = self._state.outbox.get(outbox_id)
        if row is not None:
            row.status = "pending"
            row.next_attempt_at = utc(until)
            row.lease_owner = None

    def latest_to(self, address: str) -> OutboxItem | None:
        """The newest by creation time, then by id, as the SQL adapter orders them."""
        rows = [r for r in self._state.outbox.values() if r.item.to_address == address]
        newest = max(rows, key=lambda r: (r.item.created_at, r.id), default=None)
        return item_of(newest) if newest is not None else None

    def history(self, profile_ids: Collection[str], since: datetime) -> list[SentRecord]:
        wanted = set(profile_ids)
        return [
            SentRecord.of(
                row.item.profile_id, utc(row.item.created_at), row.item.journey_key, row.item.meta
            )
            for row in self._state.outbox.values()
            if row.item.profile_id in wanted
            and row.item.created_at > since
            and row.status != "failed"
        ]


def _normalized(address: str) -> str:
    return address.strip().lower()


class MemorySuppressions:
    def __init__(self, state: State):
        self._state = state

    def add(self, address: str, profile_id: str | None, reason: str, at: datetime) -> None:
        self._state.suppressions.setdefault(
            (_normalized(address), reason), Suppression(profile_id, reason, utc(at))
        )

    def suppressed(self, addresses: Collection[str]) -> set[str]:
        return set(self.reasons(addresses))

    def reasons(self, addresses: Collection[str]) -> dict[str, str]:
        held: dict[str, list[tuple[datetime, str]]] = {}
        for (address, reason), row in self._state.suppressions.items():
            held.setdefault(address, []).append((row.created_at, reason))
        return {a: strongest(held[_normalized(a)]) for a in addresses if _normalized(a) in held}

    def lift(self, address: str, reason: str) -> bool:
        return self._state.suppressions.pop((_normalized(address), reason), None) is not None
