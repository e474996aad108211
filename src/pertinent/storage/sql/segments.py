"""Segment membership history and window-edge timers on SQL."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, delete, func, select, update

from pertinent.storage.sql import tables
from pertinent.storage.sql.dialect import upsert

_M = tables.segment_membership
_T = tables.timers
_P = tables.profiles

# Keeps IN lists within every backend's parameter limit.
_CHUNK = 500


def _chunks(ids: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


class SqlSegmentStore:
    def __init__(self, conn: Connection):
        self._conn = conn

    def matching(self, predicate: ColumnElement[bool], among: set[str] | None) -> set[str]:
        query = select(_P.c.profile_id).where(predicate)
        if among is None:
            return set(self._conn.execute(query).scalars())
        found: set[str] = set()
        for chunk in _chunks(sorted(among)):
            found.update(self._conn.execute(query.where(_P.c.profile_id.in_(chunk))).scalars())
        return found

    def current(self, key: str, among: set[str] | None) -> set[str]:
        query = select(_M.c.profile_id).where(_M.c.segment_key == key, _M.c.exited_at.is_(None))
        if among is None:
            return set(self._conn.execute(query).scalars())
        found: set[str] = set()
        for chunk in _chunks(sorted(among)):
            found.update(self._conn.execute(query.where(_M.c.profile_id.in_(chunk))).scalars())
        return found

    def enter(self, key: str, profile_ids: Iterable[str], at: datetime) -> None:
        rows = [
            {"segment_key": key, "profile_id": p, "entered_at": at} for p in sorted(profile_ids)
        ]
        if rows:
            self._conn.execute(_M.insert(), rows)

    def exit(self, key: str, profile_ids: Iterable[str], at: datetime) -> None:
        for chunk in _chunks(sorted(profile_ids)):
            self._conn.execute(
                update(_M)
                .where(
                    _M.c.segment_key == key, _M.c.exited_at.is_(None), _M.c.profile_id.in_(chunk)
                )
                .values(exited_at=at)
            )

    def exit_all(self, profile_id: str, at: datetime) -> list[str]:
        """Close every open membership of a person; return the segments they left."""
        keys = list(
            self._conn.execute(
                select(_M.c.segment_key).where(
                    _M.c.profile_id == profile_id, _M.c.exited_at.is_(None)
                )
            ).scalars()
        )
        self._conn.execute(
            update(_M)
            .where(_M.c.profile_id == profile_id, _M.c.exited_at.is_(None))
            .values(exited_at=at)
        )
        return keys

    def sizes(self) -> dict[str, int]:
        rows = self._conn.execute(
            select(_M.c.segment_key, func.count())
            .where(_M.c.exited_at.is_(None))
            .group_by(_M.c.segment_key)
        )
        return {key: int(n) for key, n in rows}

    def members(self, key: str, limit: int, offset: int) -> list[tuple[str, datetime]]:
        rows = self._conn.execute(
            select(_M.c.profile_id, _M.c.entered_at)
            .where(_M.c.segment_key == key, _M.c.exited_at.is_(None))
            .order_by(_M.c.entered_at, _M.c.profile_id)
            .limit(limit)
            .offset(offset)
        )
        return [(r.profile_id, r.entered_at) for r in rows]

    def segments_of(self, profile_id: str) -> list[str]:
        return sorted(
            self._conn.execute(
                select(_M.c.segment_key).where(
                    _M.c.profile_id == profile_id, _M.c.exited_at.is_(None)
                )
            ).scalars()
        )

    def edges(self, query: Select[Any], among: set[str] | None) -> list[tuple[str, datetime]]:
        """Run a window-edge query (see `segments.compile`), optionally for some people only."""
        pe = tables.profile_events
        if among is None:
            return [(r[0], r[1]) for r in self._conn.execute(query)]
        out: list[tuple[str, datetime]] = []
        for chunk in _chunks(sorted(among)):
            out.extend(
                (r[0], r[1]) for r in self._conn.execute(query.where(pe.c.profile_id.in_(chunk)))
            )
        return out

    def set_timers(self, key: str, due: dict[str, datetime], clear: Iterable[str]) -> None:
        """Schedule each person's next re-evaluation; drop timers of people in `clear`."""
        for chunk in _chunks(sorted(set(clear) - set(due))):
            self._conn.execute(
                delete(_T).where(_T.c.segment_key == key, _T.c.profile_id.in_(chunk))
            )
        upsert(
            self._conn,
            _T,
            [{"segment_key": key, "profile_id": p, "due_at": t} for p, t in due.items()],
            keys=["segment_key", "profile_id"],
        )

    def due_timers(self, now: datetime, limit: int) -> dict[str, set[str]]:
        """People whose window edge has passed, by segment; their timers are removed."""
        rows = list(
            self._conn.execute(
                select(_T.c.segment_key, _T.c.profile_id)
                .where(_T.c.due_at <= now)
                .order_by(_T.c.due_at)
                .limit(limit)
            )
        )
        out: dict[str, set[str]] = {}
        for key, pid in rows:
            out.setdefault(key, set()).add(pid)
        for key, pids in out.items():
            for chunk in _chunks(sorted(pids)):
                self._conn.execute(
                    delete(_T).where(and_(_T.c.segment_key == key, _T.c.profile_id.in_(chunk)))
                )
        return out

    def history(self, key: str) -> list[tuple[str, datetime, datetime | None]]:
        rows = self._conn.execute(
            select(_M.c.profile_id, _M.c.entered_at, _M.c.exited_at)
            .where(_M.c.segment_key == key)
            .order_by(_M.c.entered_at, _M.c.id)
        )
        return [(r.profile_id, r.entered_at, r.exited_at) for r in rows]
