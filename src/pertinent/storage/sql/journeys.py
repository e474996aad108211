"""Journey instances on SQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, exists, func, select, update

from pertinent.journeys.runtime import Instance
from pertinent.storage.sql import tables

_J = tables.journey_instances


def _instance(row: Any) -> Instance:
    return Instance(
        id=row.id,
        journey_key=row.journey_key,
        profile_id=row.profile_id,
        step=row.step,
        status=row.status,
        started_at=row.started_at,
        trigger=row.trigger,
        wake_at=row.wake_at,
        wait_event=row.wait_event,
        ended_at=row.ended_at,
    )


class SqlJourneyStore:
    def __init__(self, conn: Connection):
        self._conn = conn

    def active(self, profile_ids: set[str]) -> list[Instance]:
        if not profile_ids:
            return []
        found: list[Instance] = []
        ids = sorted(profile_ids)
        for start in range(0, len(ids), 500):
            rows = self._conn.execute(
                select(_J)
                .where(_J.c.status == "waiting", _J.c.profile_id.in_(ids[start : start + 500]))
                .order_by(_J.c.id)
            )
            found.extend(_instance(r) for r in rows)
        return found

    def has_entered(self, journey_key: str, profile_id: str) -> bool:
        return bool(
            self._conn.execute(
                select(
                    exists().where(_J.c.journey_key == journey_key, _J.c.profile_id == profile_id)
                )
            ).scalar()
        )

    def save(self, instance: Instance) -> Instance:
        values = {
            "journey_key": instance.journey_key,
            "profile_id": instance.profile_id,
            "step": instance.step,
            "status": instance.status,
            "wake_at": instance.wake_at,
            "wait_event": instance.wait_event,
            "trigger": instance.trigger,
            "started_at": instance.started_at,
            "ended_at": instance.ended_at,
        }
        if instance.id is None:
            new_id = self._conn.execute(
                _J.insert().values(**values).returning(_J.c.id)
            ).scalar_one()
            return replace(instance, id=int(new_id))
        self._conn.execute(update(_J).where(_J.c.id == instance.id).values(**values))
        return instance

    def due(self, now: datetime, limit: int) -> list[Instance]:
        rows = self._conn.execute(
            select(_J)
            .where(_J.c.status == "waiting", _J.c.wake_at <= now)
            .order_by(_J.c.wake_at, _J.c.id)
            .limit(limit)
        )
        return [_instance(r) for r in rows]

    def counts(self) -> dict[str, dict[str, int]]:
        """Instances per journey and status, for the status page."""
        out: dict[str, dict[str, int]] = {}
        rows = self._conn.execute(
            select(_J.c.journey_key, _J.c.status, func.count()).group_by(
                _J.c.journey_key, _J.c.status
            )
        )
        for key, status, n in rows:
            out.setdefault(key, {})[status] = int(n)
        return out
