"""The event log and processor cursors on SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, update

from pertinent.events.model import Event, LoggedEvent
from pertinent.storage.ports import AppendResult
from pertinent.storage.sql import tables
from pertinent.storage.sql.dialect import bulk_insert_ignoring, json_dumps, native_time

_E = tables.events


_COLUMNS = (
    "message_id",
    "type",
    "name",
    "user_id",
    "anonymous_id",
    "previous_id",
    "group_id",
    "timestamp",
    "received_at",
    "properties",
    "traits",
    "context",
    "is_bot",
)


def _event_values(conn: Connection, event: Event, received: Any) -> tuple[Any, ...]:
    return (
        event.message_id,
        event.type,
        event.name,
        event.user_id,
        event.anonymous_id,
        event.previous_id,
        event.group_id,
        native_time(conn, event.timestamp),
        received,
        json_dumps(event.properties),
        json_dumps(event.traits),
        json_dumps(event.context),
        event.is_bot,
    )


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
        # Events of one call share their arrival time; convert it once.
        received: dict[datetime, Any] = {}
        rows = []
        for e in unique.values():
            if e.received_at not in received:
                received[e.received_at] = native_time(self._conn, e.received_at)
            rows.append(_event_values(self._conn, e, received[e.received_at]))
        inserted = bulk_insert_ignoring(self._conn, _E, _COLUMNS, rows)
        return AppendResult(inserted, len(events) - inserted)

    def read_after(self, seq: int, limit: int) -> list[LoggedEvent]:
        rows = self._conn.execute(select(_E).where(_E.c.seq > seq).order_by(_E.c.seq).limit(limit))
        return [LoggedEvent(row.seq, row_event(row)) for row in rows]

    def last_seq(self) -> int:
        return int(self._conn.execute(select(func.coalesce(func.max(_E.c.seq), 0))).scalar_one())

    def received_after(self, seq: int) -> datetime | None:
        at = self._conn.execute(
            select(_E.c.received_at).where(_E.c.seq > seq).order_by(_E.c.seq).limit(1)
        ).scalar()
        return at if isinstance(at, datetime) else None


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
