"""Tracking-plan violation counts on SQL."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, case, select

from pertinent.storage.ports import Violation, ViolationCount, tally
from pertinent.storage.sql import tables
from pertinent.storage.sql.dialect import insert_for

_T = tables.tracking_plan_violations


class SqlViolations:
    def __init__(self, conn: Connection):
        self._conn = conn

    def add(self, violations: Sequence[Violation]) -> None:
        rows = [
            {
                "event": event,
                "field": field,
                "rejected": rejected,
                "count": count,
                "first_seen": first,
                "last_seen": last,
            }
            for (event, field, rejected), (count, first, last) in sorted(tally(violations).items())
        ]
        if not rows:
            return
        stmt = insert_for(self._conn, _T)
        new = stmt.excluded
        self._conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["event", "field", "rejected"],
                set_={
                    "count": _T.c.count + new.count,
                    "last_seen": case(
                        (new.last_seen > _T.c.last_seen, new.last_seen), else_=_T.c.last_seen
                    ),
                },
            ),
            rows,
        )

    def counts(self) -> list[ViolationCount]:
        # Columns named, and rows unpacked: a Row's `.count` is tuple.count.
        query = select(
            _T.c.event, _T.c.field, _T.c.rejected, _T.c.count, _T.c.first_seen, _T.c.last_seen
        ).order_by(_T.c.count.desc(), _T.c.event, _T.c.field, _T.c.rejected)
        return [ViolationCount(*row) for row in self._conn.execute(query)]
