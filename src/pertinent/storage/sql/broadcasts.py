"""Broadcasts and their recipients on SQL."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from pertinent.journeys.broadcasts import Broadcast, BroadcastNumbers, Recipient
from pertinent.storage.ports import Partition, partition_key
from pertinent.storage.sql import tables
from pertinent.storage.sql.dialect import (
    execute_values,
    fetch,
    from_time,
    in_ids,
    json_text,
    mark,
    native_time,
    partition_of,
    skip_locked,
)

_B = tables.broadcasts
_R = tables.broadcast_recipients


def _broadcast(row: Any) -> Broadcast:
    return Broadcast(
        id=int(row.id),
        name=row.name,
        template=row.template,
        segment=row.segment,
        send_at=row.send_at,
        local_time=bool(row.local_time),
        per_hour=row.per_hour,
        status=row.status,
        created_at=row.created_at,
        targeted=int(row.targeted),
    )


class SqlBroadcasts:
    def __init__(self, conn: Connection):
        self._conn = conn

    def add(self, broadcast: Broadcast) -> int:
        values = {k: v for k, v in broadcast.__dict__.items() if k != "id"}
        return int(self._conn.execute(insert(_B).values(**values).returning(_B.c.id)).scalar_one())

    def get(self, broadcast_ids: Collection[int]) -> dict[int, Broadcast]:
        if not broadcast_ids:
            return {}
        rows = self._conn.execute(select(_B).where(_B.c.id.in_(list(broadcast_ids))))
        return {int(r.id): _broadcast(r) for r in rows}

    def due(self, now: datetime, early: timedelta) -> list[Broadcast]:
        rows = self._conn.execute(
            select(_B)
            .where(
                _B.c.status == "scheduled",
                (_B.c.send_at <= now) | (_B.c.local_time & (_B.c.send_at <= now + early)),
            )
            .order_by(_B.c.send_at, _B.c.id)
        )
        return [_broadcast(r) for r in rows]

    def target(self, broadcast_id: int, recipients: Sequence[Recipient]) -> None:
        conn = self._conn
        m = mark(conn)
        added = execute_values(
            conn,
            "INSERT INTO broadcast_recipients (broadcast_id, profile_id, pkey, due_at, status)"
            " VALUES ",
            f"({m}, {m}, {m}, {m}, 'pending')",
            [
                (
                    r.broadcast_id,
                    r.profile_id,
                    partition_key(r.profile_id),
                    native_time(conn, r.due_at),
                )
                for r in recipients
            ],
            " ON CONFLICT DO NOTHING",
        )
        conn.execute(
            update(_B)
            .where(_B.c.id == broadcast_id)
            .values(status="sending", targeted=_B.c.targeted + added)
        )

    def next_due(self, partition: Partition) -> datetime | None:
        where = partition_of(self._conn, "pkey", partition.count, partition.index)
        rows = fetch(
            self._conn,
            f"SELECT due_at FROM broadcast_recipients WHERE status = 'pending' AND {where}"
            " ORDER BY due_at LIMIT 1",
        )
        return from_time(rows[0][0]) if rows else None

    def claim_due(self, now: datetime, limit: int, partition: Partition) -> list[Recipient]:
        m = mark(self._conn)
        where = partition_of(self._conn, "pkey", partition.count, partition.index)
        rows = fetch(
            self._conn,
            "SELECT broadcast_id, profile_id, due_at FROM broadcast_recipients"
            f" WHERE status = 'pending' AND due_at <= {m} AND {where}"
            f" ORDER BY due_at, broadcast_id, profile_id LIMIT {m}{skip_locked(self._conn)}",
            (native_time(self._conn, now), limit),
        )
        return [Recipient(int(b), str(p), from_time(at)) for b, p, at in rows]

    def delay(self, recipients: Sequence[Recipient]) -> None:
        for r in recipients:
            self._conn.execute(
                update(_R)
                .where(_R.c.broadcast_id == r.broadcast_id, _R.c.profile_id == r.profile_id)
                .values(due_at=r.due_at)
            )

    def record(self, outcomes: Sequence[tuple[Recipient, str]]) -> None:
        """One statement per broadcast and outcome (there are a handful of outcomes)."""
        conn = self._conn
        m = mark(conn)
        grouped: dict[tuple[int, str], list[str]] = {}
        for r, outcome in outcomes:
            grouped.setdefault((r.broadcast_id, outcome[:200]), []).append(r.profile_id)
        for (broadcast_id, outcome), people in grouped.items():
            where, param = in_ids(conn, "profile_id", people)
            conn.exec_driver_sql(
                f"UPDATE broadcast_recipients SET status = 'done', outcome = {m}"
                f" WHERE broadcast_id = {m} AND {where}",
                (outcome, broadcast_id, param),
            )


def broadcast_numbers(conn: Connection, broadcast_id: int) -> BroadcastNumbers | None:
    found = SqlBroadcasts(conn).get([broadcast_id]).get(broadcast_id)
    if found is None:
        return None
    numbers = BroadcastNumbers(found)
    m = mark(conn)
    rows = fetch(
        conn,
        "SELECT status, outcome, count(*) FROM broadcast_recipients WHERE broadcast_id = "
        f"{m} GROUP BY status, outcome",
        (broadcast_id,),
    )
    for status, outcome, n in rows:
        if status == "pending":
            numbers.pending += int(n)
        else:
            numbers.outcomes[str(outcome)] = numbers.outcomes.get(str(outcome), 0) + int(n)
    engaged = fetch(
        conn,
        "SELECT action, count(DISTINCT profile_id) FROM profile_events"
        " WHERE action IN ('email_opened', 'email_clicked')"
        f" AND {json_text(conn, 'properties', 'broadcast')} = {m} GROUP BY action",
        (str(broadcast_id),),
    )
    for action, n in engaged:
        if action == "email_opened":
            numbers.opened = int(n)
        else:
            numbers.clicked = int(n)
    return numbers
