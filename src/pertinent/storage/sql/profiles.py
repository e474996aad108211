"""Profiles, identities and per-person event attribution on SQL."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from pertinent.profiles.state import ProfileState
from pertinent.storage.ports import TimelineEntry
from pertinent.storage.sql import tables
from pertinent.storage.sql.dialect import upsert
from pertinent.storage.sql.log import row_event

_P = tables.profiles
_I = tables.identities
_PE = tables.profile_events
_CHUNK = 500  # ids per IN (...) list, well under SQLite's bound-parameter limit

# Tables whose rows belong to a person and follow them through a merge.
_FOLLOW_MERGE = (
    tables.journey_instances,
    tables.outbox,
    tables.suppressions,
)


class SqlProfileStore:
    def __init__(self, conn: Connection):
        self._conn = conn

    def load(self, profile_ids: Iterable[str]) -> dict[str, ProfileState]:
        ids = sorted(set(profile_ids))
        rows = [
            row
            for start in range(0, len(ids), _CHUNK)
            for row in self._conn.execute(
                select(_P).where(_P.c.profile_id.in_(ids[start : start + _CHUNK]))
            )
        ]
        return {
            row.profile_id: ProfileState(
                profile_id=row.profile_id,
                traits=dict(row.traits),
                trait_times=dict(row.trait_times),
                computed=dict(row.computed),
                first_seen=row.first_seen,
                last_seen=row.last_seen,
            )
            for row in rows
        }

    def save(self, states: Iterable[ProfileState]) -> None:
        rows = [
            {
                "profile_id": s.profile_id,
                "traits": s.traits,
                "trait_times": s.trait_times,
                "computed": s.computed,
                "first_seen": s.first_seen,
                "last_seen": s.last_seen,
            }
            for s in states
        ]
        upsert(self._conn, _P, rows, keys=["profile_id"])

    def count(self) -> int:
        return int(self._conn.execute(select(func.count()).select_from(_P)).scalar_one())

    def resolve_many(self, kind: str, values: Iterable[str]) -> dict[str, str]:
        wanted = sorted(set(values))
        found: dict[str, str] = {}
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            rows = self._conn.execute(
                select(_I.c.value, _I.c.profile_id).where(_I.c.kind == kind, _I.c.value.in_(chunk))
            )
            found.update((row.value, row.profile_id) for row in rows)
        return found

    def resolve(self, kind: str, value: str) -> str | None:
        found = self._conn.execute(
            select(_I.c.profile_id).where(_I.c.kind == kind, _I.c.value == value)
        ).scalar()
        return str(found) if found is not None else None

    def link(self, links: Iterable[tuple[str, str, str]]) -> None:
        rows = [{"kind": k, "value": v, "profile_id": p} for k, v, p in links]
        if rows:
            upsert(self._conn, _I, rows, keys=["kind", "value"])

    def identities(self, profile_id: str) -> list[tuple[str, str]]:
        rows = self._conn.execute(
            select(_I.c.kind, _I.c.value)
            .where(_I.c.profile_id == profile_id)
            .order_by(_I.c.kind, _I.c.value)
        )
        return [(r.kind, r.value) for r in rows]

    def record(self, rows: Sequence[tuple[int, str, str | None, datetime, dict[str, Any]]]) -> None:
        if rows:
            self._conn.execute(
                _PE.insert(),
                [
                    {
                        "seq": seq,
                        "profile_id": pid,
                        "action": action,
                        "timestamp": ts,
                        "properties": props,
                    }
                    for seq, pid, action, ts, props in rows
                ],
            )

    def merge(self, loser: str, winner: str) -> None:
        for table in (_I, _PE, *_FOLLOW_MERGE):
            self._conn.execute(
                update(table).where(table.c.profile_id == loser).values(profile_id=winner)
            )
        self._conn.execute(delete(tables.timers).where(tables.timers.c.profile_id == loser))
        self._conn.execute(delete(_P).where(_P.c.profile_id == loser))

    def actions(self, names: Sequence[str]) -> list[tuple[str, str, datetime, dict[str, Any]]]:
        rows = self._conn.execute(
            select(_PE.c.profile_id, _PE.c.action, _PE.c.timestamp, _PE.c.properties)
            .where(_PE.c.action.in_(list(names)))
            .order_by(_PE.c.seq)
        )
        return [(r.profile_id, r.action, r.timestamp, r.properties) for r in rows]

    def timeline(self, profile_id: str, limit: int) -> list[TimelineEntry]:
        e = tables.events
        rows = self._conn.execute(
            select(_PE.c.seq, _PE.c.action, e)
            .join(e, e.c.seq == _PE.c.seq)
            .where(_PE.c.profile_id == profile_id)
            .order_by(_PE.c.timestamp.desc(), _PE.c.seq.desc())
            .limit(limit)
        )
        return [
            TimelineEntry(r.seq, r.action, r.timestamp, r.properties, row_event(r)) for r in rows
        ]

    def erase(self, profile_id: str) -> int:
        """Everything about the person goes, including log events never attributed to them
        (bot-flagged, or not processed yet), found by their ids. Their suppression stays, no
        longer tied to a profile: an address that unsubscribed must not be mailed again when
        it is re-imported."""
        e = tables.events
        ids = sorted({profile_id, *(value for _kind, value in self.identities(profile_id))})
        attributed = select(_PE.c.seq).where(_PE.c.profile_id == profile_id).scalar_subquery()
        erased = self._conn.execute(
            delete(e).where(
                e.c.seq.in_(attributed)
                | e.c.user_id.in_(ids)
                | e.c.anonymous_id.in_(ids)
                | e.c.previous_id.in_(ids)
            )
        ).rowcount
        self._conn.execute(
            update(tables.suppressions)
            .where(tables.suppressions.c.profile_id == profile_id)
            .values(profile_id=None)
        )
        for table in (
            _PE,
            _I,
            tables.segment_membership,
            tables.timers,
            tables.journey_instances,
            tables.outbox,
            _P,
        ):
            self._conn.execute(delete(table).where(table.c.profile_id == profile_id))
        return int(erased)
