"""Broadcasts and their recipients in memory."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from pertinent.journeys.broadcasts import Broadcast, BroadcastNumbers, Recipient
from pertinent.storage.memory.state import RecipientRow, State, utc
from pertinent.storage.ports import Partition, partition_key


class MemoryBroadcasts:
    def __init__(self, state: State):
        self._state = state

    def add(self, broadcast: Broadcast) -> int:
        new_id = self._state.next_id("broadcast")
        self._state.broadcasts[new_id] = replace(
            broadcast,
            id=new_id,
            send_at=utc(broadcast.send_at),
            created_at=utc(broadcast.created_at),
        )
        return new_id

    def get(self, broadcast_ids: Collection[int]) -> dict[int, Broadcast]:
        found = self._state.broadcasts
        return {i: found[i] for i in broadcast_ids if i in found}

    def due(self, now: datetime, early: timedelta) -> list[Broadcast]:
        return sorted(
            (
                b
                for b in self._state.broadcasts.values()
                if b.status == "scheduled"
                and (b.send_at <= now or (b.local_time and b.send_at <= now + early))
            ),
            key=lambda b: (b.send_at, b.id),
        )

    def target(self, broadcast_id: int, recipients: Sequence[Recipient]) -> None:
        rows = self._state.recipients
        added = 0
        for r in recipients:
            key = (r.broadcast_id, r.profile_id)
            if key not in rows:
                rows[key] = RecipientRow(utc(r.due_at), partition_key(r.profile_id))
                added += 1
        found = self._state.broadcasts[broadcast_id]
        self._state.broadcasts[broadcast_id] = replace(
            found, status="sending", targeted=found.targeted + added
        )

    def _pending(self, partition: Partition) -> list[Recipient]:
        return sorted(
            (
                Recipient(b, p, row.due_at)
                for (b, p), row in self._state.recipients.items()
                if row.status == "pending" and partition.owns(row.pkey)
            ),
            key=lambda r: (r.due_at, r.broadcast_id, r.profile_id),
        )

    def next_due(self, partition: Partition) -> datetime | None:
        pending = self._pending(partition)
        return pending[0].due_at if pending else None

    def claim_due(self, now: datetime, limit: int, partition: Partition) -> list[Recipient]:
        return [r for r in self._pending(partition) if r.due_at <= now][:limit]

    def delay(self, recipients: Sequence[Recipient]) -> None:
        for r in recipients:
            row = self._state.recipients.get((r.broadcast_id, r.profile_id))
            if row is not None:
                row.due_at = utc(r.due_at)

    def record(self, outcomes: Sequence[tuple[Recipient, str]]) -> None:
        for r, outcome in outcomes:
            row = self._state.recipients.get((r.broadcast_id, r.profile_id))
            if row is not None:
                row.status, row.outcome = "done", outcome[:200]

    def numbers(self, broadcast_id: int) -> BroadcastNumbers | None:
        found = self._state.broadcasts.get(broadcast_id)
        if found is None:
            return None
        numbers = BroadcastNumbers(found)
        for (b, _p), row in self._state.recipients.items():
            if b != broadcast_id:
                continue
            if row.status == "pending":
                numbers.pending += 1
            else:
                outcome = str(row.outcome)
                numbers.outcomes[outcome] = numbers.outcomes.get(outcome, 0) + 1
        engaged: dict[str, set[str]] = {"email_opened": set(), "email_clicked": set()}
        for seen in self._state.profile_events.values():
            if seen.action in engaged and str(seen.properties.get("broadcast")) == str(
                broadcast_id
            ):
                engaged[seen.action].add(seen.profile_id)
        numbers.opened = len(engaged["email_opened"])
        numbers.clicked = len(engaged["email_clicked"])
        return numbers
