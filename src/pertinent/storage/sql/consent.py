"""Consent history on SQL."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import Connection, insert, select

from pertinent.privacy.consent import ConsentChange
from pertinent.storage.sql import tables

_C = tables.consent


class SqlConsentStore:
    def __init__(self, conn: Connection):
        self._conn = conn

    def record(self, changes: Sequence[ConsentChange]) -> None:
        if changes:
            self._conn.execute(insert(_C), [c.__dict__ for c in changes])

    def history(self, profile_ids: Collection[str]) -> list[ConsentChange]:
        if not profile_ids:
            return []
        rows = self._conn.execute(
            select(_C.c.profile_id, _C.c.topic, _C.c.status, _C.c.at, _C.c.source, _C.c.address)
            .where(_C.c.profile_id.in_(sorted(profile_ids)))
            .order_by(_C.c.id)
        )
        return [ConsentChange(*row) for row in rows]
