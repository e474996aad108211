"""The event log and processor cursors on SQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, func, select, update

from pertinent.events.model import Event, LoggedEvent
from pertinent.storage.ports import AppendResult
from pertinent.storage.sql import tables
from pertinent.storage.sql.dialect import insert_ignoring

_E = tables.events


def event_row(event: Event) -> dict[str, Any]:
    return {
        "message_id": event.message_id,
        "type": event.type,
        "name": event.name,
        "user_id": event.user_id,
        "anonymous_id": event.anonymous_id,
        "previous_id": event.previous_id,
        "group_id": event.group_id,
        "timestamp": event.timestamp,
        "received_at": event.received_at,
        "properties": event.properties,
        "traits": event.traits,
        "context": event.context,
        "is_bot": event.is_bot,
    }


def row_event(row: Any) -> Event:
    return Event(
        message_id=row.message_id,
        type=row.type,
        name=row.name,
        user_id=row.user_id,
        anonymous_id=row.anonymous_id,
        previous_id=row.previous_id,
        group_id=row.group_id,
        timestamp=row.timestamp,
        received_at=row.received_at,
        properties=row.properties,
        traits=row.traits,
        context=row.context,
        is_bot=row.is_bot,
    )


class SqlEventLog:
    def __init__(self, conn: Connection):
        self._conn = conn

    def append(self, events: Sequence[Event]) -> AppendResult:
        unique: dict[str, Event] = {}
        for event in events:
            unique.setdefault(event.message_id, event)
        inserted = insert_ignoring(
            self._conn, _E, [event_row(e) for e in unique.values()], returning="seq"
        )
        last = max(inserted) if inserted else self.last_seq()
        return AppendResult(len(inserted), len(events) - len(inserted), last)

    def read_after(self, seq: int, limit: int) -> list[LoggedEvent]:
        rows = self._conn.execute(select(_E).where(_E.c.seq > seq).order_by(_E.c.seq).limit(limit))
        return [LoggedEvent(row.seq, row_event(row)) for row in rows]

    def last_seq(self) -> int:
        return int(self._conn.execute(select(func.coalesce(func.max(_E.c.seq), 0))).scalar_one())


class SqlCursors:
    def __init__(self, conn: Connection):
        self._conn = conn

    def get(self, name: str) -> int:
        seq = self._conn.execute(
            select(tables.cursors.c.seq).where(tables.cursors.c.name == name)
        ).scalar()
        return int(seq) if seq is not None else 0

    def set(self, name: str, seq: int) -> None:
        done = self._conn.execute(
            update(tables.cursors).where(tables.cursors.c.name == name).values(seq=seq)
        )
        if done.rowcount == 0:
            self._conn.execute(tables.cursors.insert().values(name=name, seq=seq))
