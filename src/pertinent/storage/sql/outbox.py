"""The outbox and the suppression list on SQL."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, select, update

from pertinent.delivery.outbox import OutboxItem, PendingEmail
from pertinent.delivery.suppression import strongest
from pertinent.journeys.caps import SentRecord
from pertinent.storage.sql import tables
from pertinent.storage.sql.dialect import (
    execute_values,
    fetch,
    from_json,
    from_time,
    in_ids,
    insert_ignoring,
    is_postgresql,
    json_dumps,
    json_mark,
    mark,
    native_time,
    skip_locked,
)

_O = tables.outbox
_S = tables.suppressions

_ITEM_COLUMNS = (
    "idempotency_key",
    "message_id",
    "profile_id",
    "template",
    "to_address",
    "subject",
    "html",
    "text",
    "unsubscribe_url",
    "created_at",
    "journey_key",
    "meta",
)


def item_of(row: Any) -> OutboxItem:
    return OutboxItem(
        idempotency_key=row.idempotency_key,
        message_id=row.message_id,
        profile_id=row.profile_id,
        template=row.template,
        to_address=row.to_address,
        subject=row.subject,
        html=row.html,
        text=row.text,
        unsubscribe_url=row.unsubscribe_url,
        created_at=row.created_at,
        journey_key=row.journey_key,
        meta=row.meta,
        error=row.last_error if row.status == "failed" else None,
    )


class SqlOutbox:
    def __init__(self, conn: Connection):
        self._conn = conn

    def enqueue(self, items: Sequence[OutboxItem]) -> int:
        conn = self._conn
        m, j = mark(conn), json_mark(conn)
        marks = ", ".join(j if c == "meta" else m for c in _ITEM_COLUMNS)
        return execute_values(
            conn,
            f"INSERT INTO outbox ({', '.join(_ITEM_COLUMNS)}, status, attempts, next_attempt_at,"
            " last_error) VALUES ",
            f"({marks}, {m}, 0, {m}, {m})",
            [
                (
                    *(
                        native_time(conn, item.created_at)
                        if c == "created_at"
                        else json_dumps(item.meta)
                        if c == "meta"
                        else getattr(item, c)
                        for c in _ITEM_COLUMNS
                    ),
                    "failed" if item.error else "pending",
                    native_time(conn, item.created_at),
                    item.error,
                )
                for item in items
            ],
            " ON CONFLICT DO NOTHING",
        )

    def next_due(self) -> datetime | None:
        rows = fetch(
            self._conn,
            "SELECT min(next_attempt_at) FROM outbox WHERE status IN ('pending', 'sending')",
        )
        return from_time(rows[0][0]) if rows and rows[0][0] is not None else None

    def claim(self, now: datetime, lease: timedelta, limit: int, owner: str) -> list[PendingEmail]:
        """Take due rows: pending ones whose time has come, and claimed ones whose sender's
        lease ran out (it died mid-send)."""
        conn = self._conn
        m = mark(conn)
        ids = [
            int(r[0])
            for r in fetch(
                conn,
                "SELECT id FROM outbox WHERE status IN ('pending', 'sending') "
                f"AND next_attempt_at <= {m} ORDER BY next_attempt_at, id LIMIT {m}"
                f"{skip_locked(conn)}",
                (native_time(conn, now), limit),
            )
        ]
        if not ids:
            return []
        where, param = in_ids(conn, "id", ids)
        conn.exec_driver_sql(
            f"UPDATE outbox SET status = 'sending', next_attempt_at = {m}, lease_owner = {m} "
            f"WHERE {where}",
            (native_time(conn, now + lease), owner, param),
        )
        rows = conn.execute(
            select(_O).where(_O.c.id.in_(ids)).order_by(_O.c.next_attempt_at, _O.c.id)
        )
        by_id = {row.id: row for row in rows}
        return [PendingEmail(i, by_id[i].attempts, item_of(by_id[i])) for i in ids if i in by_id]

    def release(self, owner: str, now: datetime) -> int:
        return int(
            self._conn.execute(
                update(_O)
                .where(_O.c.status == "sending", _O.c.lease_owner == owner)
                .values(status="pending", next_attempt_at=now)
            ).rowcount
        )

    def _update(self, outbox_id: int, assignments: str, *params: object) -> None:
        """One row's outcome, as driver SQL (`{m}` marks a parameter): the sender writes one
        per email, and SQLAlchemy's expression language took 0.4 ms to build each."""
        m = mark(self._conn)
        self._conn.exec_driver_sql(
            f"UPDATE outbox SET {assignments.format(m=m)}, lease_owner = NULL WHERE id = {m}",
            (*params, outbox_id),
        )

    def mark_sent(self, outbox_id: int, at: datetime) -> None:
        self._update(
            outbox_id,
            "status = 'sent', sent_at = {m}, attempts = attempts + 1, last_error = NULL",
            native_time(self._conn, at),
        )

    def mark_retry(self, outbox_id: int, next_at: datetime, error: str) -> None:
        self._update(
            outbox_id,
            "status = 'pending', attempts = attempts + 1, next_attempt_at = {m}, last_error = {m}",
            native_time(self._conn, next_at),
            error,
        )

    def mark_failed(self, outbox_id: int, error: str) -> None:
        self._update(
            outbox_id, "status = 'failed', attempts = attempts + 1, last_error = {m}", error
        )

    def get(self, message_id: str) -> tuple[OutboxItem, str] | None:
        row = self._conn.execute(select(_O).where(_O.c.message_id == message_id)).first()
        return (item_of(row), row.status) if row is not None else None

    def defer(self, outbox_id: int, until: datetime) -> None:
        self._update(
            outbox_id, "status = 'pending', next_attempt_at = {m}", native_time(self._conn, until)
        )

    def latest_to(self, address: str) -> OutboxItem | None:
        row = self._conn.execute(
            select(_O)
            .where(_O.c.to_address == address)
            .order_by(_O.c.created_at.desc(), _O.c.id.desc())
            .limit(1)
        ).first()
        return item_of(row) if row is not None else None

    def history(self, profile_ids: Collection[str], since: datetime) -> list[SentRecord]:
        if not profile_ids:
            return []
        conn = self._conn
        where, param = in_ids(conn, "profile_id", profile_ids)
        text = "::text" if is_postgresql(conn) else ""
        rows = fetch(
            conn,
            f"SELECT profile_id, created_at, journey_key, meta{text} FROM outbox WHERE {where}"
            f" AND created_at > {mark(conn)} AND status <> 'failed' ORDER BY created_at, id",
            (param, native_time(conn, since)),
        )
        return [
            SentRecord.of(pid, from_time(at), journey, from_json(meta))
            for pid, at, journey, meta in rows
        ]


def normalized(address: str) -> str:
    return address.strip().lower()


class SqlSuppressions:
    def __init__(self, conn: Connection):
        self._conn = conn

    def add(self, address: str, profile_id: str | None, reason: str, at: datetime) -> None:
        insert_ignoring(
            self._conn,
            _S,
            [
                {
                    "address": normalized(address),
                    "profile_id": profile_id,
                    "reason": reason,
                    "created_at": at,
                }
            ],
        )

    def suppressed(self, addresses: Collection[str]) -> set[str]:
        return set(self.reasons(addresses))

    def reasons(self, addresses: Collection[str]) -> dict[str, str]:
        if not addresses:
            return {}
        by_normal: dict[str, list[str]] = {}
        for address in addresses:
            by_normal.setdefault(normalized(address), []).append(address)
        where, param = in_ids(self._conn, "address", by_normal)
        found = fetch(
            self._conn,
            f"SELECT address, created_at, reason FROM suppressions WHERE {where}",
            (param,),
        )
        held: dict[str, list[tuple[datetime, str]]] = {}
        for normal, at, reason in found:
            held.setdefault(normal, []).append((from_time(at), str(reason)))
        return {given: strongest(held[n]) for n in held for given in by_normal[n]}

    def lift(self, address: str, reason: str) -> bool:
        lifted = self._conn.execute(
            delete(_S).where(_S.c.address == normalized(address), _S.c.reason == reason)
        ).rowcount
        return bool(lifted)
