"""Webhook calls and their attempts on SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from pertinent.journeys.webhooks import Attempt, Delivery, PendingCall, WebhookCall
from pertinent.storage.sql import tables
from pertinent.storage.sql.dialect import (
    execute_values,
    fetch,
    from_time,
    in_ids,
    json_dumps,
    json_mark,
    mark,
    native_time,
    skip_locked,
)

_C = tables.webhook_calls
_A = tables.webhook_attempts


def _call(row: Any) -> WebhookCall:
    return WebhookCall(
        idempotency_key=row.idempotency_key,
        journey_key=row.journey_key,
        step=row.step,
        profile_id=row.profile_id,
        url=row.url,
        body=row.body,
        created_at=row.created_at,
        headers=row.headers,
    )


class SqlWebhooks:
    def __init__(self, conn: Connection):
        self._conn = conn

    def enqueue(self, calls: Sequence[WebhookCall]) -> int:
        conn = self._conn
        m, j = mark(conn), json_mark(conn)
        return execute_values(
            conn,
            "INSERT INTO webhook_calls (idempotency_key, journey_key, step, profile_id, url,"
            " headers, body, status, attempts, next_attempt_at, created_at) VALUES ",
            f"({m}, {m}, {m}, {m}, {m}, {j}, {m}, 'pending', 0, {m}, {m})",
            [
                (
                    c.idempotency_key,
                    c.journey_key,
                    c.step,
                    c.profile_id,
                    c.url,
                    json_dumps(dict(c.headers)),
                    c.body,
                    native_time(conn, c.created_at),
                    native_time(conn, c.created_at),
                )
                for c in calls
            ],
            " ON CONFLICT DO NOTHING",
        )

    def next_due(self) -> datetime | None:
        rows = fetch(
            self._conn,
            "SELECT min(next_attempt_at) FROM webhook_calls WHERE status IN ('pending', 'sending')",
        )
        return from_time(rows[0][0]) if rows and rows[0][0] is not None else None

    def claim(self, now: datetime, lease: timedelta, limit: int, owner: str) -> list[PendingCall]:
        conn = self._conn
        m = mark(conn)
        ids = [
            int(r[0])
            for r in fetch(
                conn,
                "SELECT id FROM webhook_calls WHERE status IN ('pending', 'sending') "
                f"AND next_attempt_at <= {m} ORDER BY next_attempt_at, id LIMIT {m}"
                f"{skip_locked(conn)}",
                (native_time(conn, now), limit),
            )
        ]
        if not ids:
            return []
        where, param = in_ids(conn, "id", ids)
        conn.exec_driver_sql(
            f"UPDATE webhook_calls SET status = 'sending', next_attempt_at = {m},"
            f" lease_owner = {m} WHERE {where}",
            (native_time(conn, now + lease), owner, param),
        )
        rows = {r.id: r for r in conn.execute(select(_C).where(_C.c.id.in_(ids)))}
        return [PendingCall(i, rows[i].attempts, _call(rows[i])) for i in ids if i in rows]

    def record(self, attempt: Attempt, status: str, next_at: datetime | None) -> None:
        changed = self._conn.execute(
            update(_C)
            .where(_C.c.id == attempt.delivery_id)
            .values(
                status=status,
                attempts=attempt.number,
                lease_owner=None,
                **({"next_attempt_at": next_at} if next_at is not None else {}),
            )
        ).rowcount
        if changed:  # else its person was erased meanwhile
            self._conn.execute(
                insert(_A).values(
                    call_id=attempt.delivery_id,
                    attempt=attempt.number,
                    at=attempt.at,
                    status_code=attempt.status_code,
                    error=attempt.error,
                    duration_ms=attempt.duration_ms,
                )
            )

    def deliveries(self, journey_key: str | None, limit: int) -> list[Delivery]:
        query = select(_C).order_by(_C.c.id.desc()).limit(limit)
        if journey_key is not None:
            query = query.where(_C.c.journey_key == journey_key)
        calls = list(self._conn.execute(query))
        if not calls:
            return []
        attempts: dict[int, list[Attempt]] = {}
        rows = self._conn.execute(
            select(_A)
            .where(_A.c.call_id.in_([c.id for c in calls]))
            .order_by(_A.c.call_id, _A.c.attempt.desc())
        )
        for a in rows:
            attempts.setdefault(int(a.call_id), []).append(
                Attempt(int(a.call_id), a.attempt, a.at, a.status_code, a.error, a.duration_ms)
            )
        return [Delivery(c.id, _call(c), c.status, attempts.get(c.id, [])) for c in calls]
