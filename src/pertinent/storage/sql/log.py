"""The event log and processor cursors on SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, func, select

from pertinent.events.model import Event, Flag, LoggedEvent
from pertinent.storage.ports import EVERYTHING, AppendResult, Partition, event_partition_key
from pertinent.storage.sql import tables
from pertinent.storage.sql.dialect import (
    bulk_insert_ignoring,
    fetch,
    from_time,
    is_postgresql,
    json_dumps,
    lock_log,
    mark,
    native_time,
    partition_of,
)

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
    "flags",
    "browser_key",
    "pkey",
)
# What a reader gets back, in this order, after the seq.
_READ = ", ".join(c for c in _COLUMNS if c != "pkey")


def encode_flags(flags: tuple[Flag, ...]) -> str:
    """An event's flags as the JSON list the `flags` column keeps."""
    if not flags:
        return "[]"
    return json_dumps([{"kind": f.kind, "field": f.field, "reason": f.reason} for f in flags])


def decode_flags(text: str) -> tuple[Flag, ...]:
    if text == "[]":
        return ()
    return tuple(Flag(f["kind"], f["field"], f["reason"]) for f in orjson.loads(text))


def encode_events(backend: str, events: Sequence[Event]) -> list[tuple[Any, ...]]:
    """Driver rows for the events not repeated in the call (by message id), in order."""
    unique: dict[str, Event] = {}
    for event in events:
        unique.setdefault(event.message_id, event)
    # Events of one call share their arrival time; convert it once.
    received: dict[datetime, Any] = {}
    rows = []
    for e in unique.values():
        if e.received_at not in received:
            received[e.received_at] = native_time(backend, e.received_at)
        rows.append(
            (
                e.message_id,
                e.type,
                e.name,
                e.user_id,
                e.anonymous_id,
                e.previous_id,
                e.group_id,
                native_time(backend, e.timestamp),
                received[e.received_at],
                json_dumps(e.properties),
                json_dumps(e.traits),
                json_dumps(e.context),
                e.is_bot,
                encode_flags(e.flags),
                e.browser_key,
                event_partition_key(e),
            )
        )
    return rows


def insert_events(conn: Connection, rows: Sequence[tuple[Any, ...]], given: int) -> AppendResult:
    """Append encoded rows (of `given` events in the call) and say what happened."""
    if not rows:
        return AppendResult(0, given)
    lock_log(conn)
    inserted = bulk_insert_ignoring(conn, _E, _COLUMNS, rows)
    return AppendResult(inserted, given - inserted)


def row_event(row: Sequence[Any], times: dict[Any, datetime] | None = None) -> Event:
    """An event from a driver row of `_READ` columns (after whatever comes first); `times`
    remembers parsed arrival times, which the events of one request share."""
    received = row[8]
    known = times.get(received) if times is not None else None
    arrived = known if known is not None else from_time(received)
    if times is not None:
        times[received] = arrived
    # Positional, in the field order of `Event`: the processor builds one per event, and
    # keywords cost a fifth more. JSON comes as text from both backends (see `read_columns`).
    return Event(
        row[0],
        row[1],
        from_time(row[7]),
        arrived,
        row[3],
        row[4],
        row[2],
        row[5],
        row[6],
        orjson.loads(row[9]),
        orjson.loads(row[10]),
        orjson.loads(row[11]),
        bool(row[12]),
        decode_flags(row[13]),
        bool(row[14]),
    )


def read_columns(conn: Connection, alias: str = "") -> str:
    """The columns `row_event` reads, optionally qualified by a table alias."""
    prefix = f"{alias}." if alias else ""
    columns = [f"{prefix}{c}" for c in _READ.split(", ")]
    if is_postgresql(conn):
        # Text, parsed once by orjson, instead of psycopg's own JSON parsing.
        columns = [
            c + "::text" if c.endswith(("properties", "traits", "context", "flags")) else c
            for c in columns
        ]
    return ", ".join(columns)


class SqlEventLog:
    def __init__(self, conn: Connection):
        self._conn = conn

    def append(self, events: Sequence[Event]) -> AppendResult:
        rows = encode_events(self._conn.dialect.name, events)
        return insert_events(self._conn, rows, len(events))

    def read_after(
        self, seq: int, limit: int, partition: Partition = EVERYTHING
    ) -> list[LoggedEvent]:
        m = mark(self._conn)
        where = partition_of(self._conn, "pkey", partition.count, partition.index)
        rows = fetch(
            self._conn,
            f"SELECT seq, {read_columns(self._conn)} FROM events "
            f"WHERE seq > {m} AND {where} ORDER BY seq LIMIT {m}",
            (seq, limit),
        )
        times: dict[Any, datetime] = {}
        return [LoggedEvent(int(row[0]), row_event(row[1:], times)) for row in rows]

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
        rows = fetch(
            self._conn, f"SELECT seq FROM cursors WHERE name = {mark(self._conn)}", (name,)
        )
        return int(rows[0][0]) if rows else 0

    def take(self, name: str) -> int:
        m = mark(self._conn)
        # Create it if new, then read it under a row lock (PostgreSQL; SQLite's write
        # transaction already excludes every other writer).
        self._conn.exec_driver_sql(
            f"INSERT INTO cursors (name, seq) VALUES ({m}, 0) ON CONFLICT DO NOTHING", (name,)
        )
        lock = " FOR UPDATE" if is_postgresql(self._conn) else ""
        rows = fetch(self._conn, f"SELECT seq FROM cursors WHERE name = {m}{lock}", (name,))
        return int(rows[0][0])

    def set(self, name: str, seq: int) -> None:
        m = mark(self._conn)
        self._conn.exec_driver_sql(
            f"INSERT INTO cursors (name, seq) VALUES ({m}, {m}) "
            "ON CONFLICT (name) DO UPDATE SET seq = excluded.seq",
            (name, seq),
        )

    def drop(self, name: str) -> None:
        self._conn.exec_driver_sql(f"DELETE FROM cursors WHERE name = {mark(self._conn)}", (name,))

    def all(self) -> dict[str, int]:
        return {str(n): int(s) for n, s in fetch(self._conn, "SELECT name, seq FROM cursors")}
