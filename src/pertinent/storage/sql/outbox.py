"""The outbox and the suppression list on SQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select, update

from pertinent.delivery.outbox import OutboxItem, PendingEmail
from pertinent.storage.sql import tables
from pertinent.storage.sql.dialect import insert_ignoring

_O = tables.outbox
_S = tables.suppressions


def _item(row: Any) -> OutboxItem:
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
    )


class SqlOutbox:
    def __init__(self, conn: Connection):
        self._conn = conn

    def enqueue(self, item: OutboxItem) -> bool:
        row = {
            **{
                k: getattr(item, k)
                for k in (
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
            },
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": item.created_at,
        }
        return bool(insert_ignoring(self._conn, _O, [row], returning="id"))

    def claim(self, now: datetime, lease: timedelta, limit: int) -> list[PendingEmail]:
        """Take due rows for sending, so no other sender takes them until the lease ends.

        A row whose sender died mid-send becomes due again when its lease runs out.
        """
        rows = list(
            self._conn.execute(
                select(_O)
                .where(_O.c.status.in_(("pending", "sending")), _O.c.next_attempt_at <= now)
                .order_by(_O.c.next_attempt_at, _O.c.id)
                .limit(limit)
            )
        )
        claimed = []
        for row in rows:
            taken = self._conn.execute(
                update(_O)
                .where(
                    _O.c.id == row.id,
                    _O.c.status == row.status,
                    _O.c.next_attempt_at == row.next_attempt_at,
                )
                .values(status="sending", next_attempt_at=now + lease)
            ).rowcount
            if taken:
                claimed.append(PendingEmail(row.id, row.attempts, _item(row)))
        return claimed

    def mark_sent(self, outbox_id: int, at: datetime) -> None:
        self._conn.execute(
            update(_O)
            .where(_O.c.id == outbox_id)
            .values(status="sent", sent_at=at, attempts=_O.c.attempts + 1, last_error=None)
        )

    def mark_retry(self, outbox_id: int, next_at: datetime, error: str) -> None:
        self._conn.execute(
            update(_O)
            .where(_O.c.id == outbox_id)
            .values(
                status="pending",
                attempts=_O.c.attempts + 1,
                next_attempt_at=next_at,
                last_error=error,
            )
        )

    def mark_failed(self, outbox_id: int, error: str) -> None:
        self._conn.execute(
            update(_O)
            .where(_O.c.id == outbox_id)
            .values(status="failed", attempts=_O.c.attempts + 1, last_error=error)
        )

    def get(self, message_id: str) -> tuple[OutboxItem, str] | None:
        row = self._conn.execute(select(_O).where(_O.c.message_id == message_id)).first()
        return (_item(row), row.status) if row is not None else None

    def recent(self, limit: int) -> list[tuple[OutboxItem, str, datetime | None]]:
        rows = self._conn.execute(select(_O).order_by(_O.c.id.desc()).limit(limit))
        return [(_item(r), r.status, r.sent_at) for r in rows]

    def counts(self) -> dict[str, int]:
        rows = self._conn.execute(select(_O.c.status, func.count()).group_by(_O.c.status))
        return {status: int(n) for status, n in rows}


class SqlSuppressions:
    def __init__(self, conn: Connection):
        self._conn = conn

    def add(self, address: str, profile_id: str | None, reason: str, at: datetime) -> None:
        insert_ignoring(
            self._conn,
            _S,
            [
                {
                    "address": address.strip().lower(),
                    "profile_id": profile_id,
                    "reason": reason,
                    "created_at": at,
                }
            ],
        )

    def is_suppressed(self, address: str) -> bool:
        return (
            self._conn.execute(
                select(_S.c.address).where(_S.c.address == address.strip().lower())
            ).first()
            is not None
        )
