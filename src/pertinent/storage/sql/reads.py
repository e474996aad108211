"""What the API and the dashboard read, on SQL: each call in a snapshot of its own."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, case, func, not_, or_, select

from pertinent.events.model import LoggedEvent
from pertinent.journeys.broadcasts import Broadcast, BroadcastNumbers
from pertinent.journeys.webhooks import Delivery
from pertinent.storage.ports import (
    Member,
    PersonRecord,
    ProfileView,
    SentEmail,
    Status,
    StepNumber,
    TimelineEntry,
    ViolationCount,
)
from pertinent.storage.sql import tables
from pertinent.storage.sql.broadcasts import SqlBroadcasts, broadcast_numbers
from pertinent.storage.sql.consent import SqlConsentStore
from pertinent.storage.sql.database import Database
from pertinent.storage.sql.dialect import fetch, in_ids, is_postgresql, mark, partition_of
from pertinent.storage.sql.journeys import SqlJourneyStore
from pertinent.storage.sql.json_values import JsonValue
from pertinent.storage.sql.log import read_columns, row_event
from pertinent.storage.sql.outbox import item_of
from pertinent.storage.sql.profiles import SqlProfileStore, events_of
from pertinent.storage.sql.violations import SqlViolations
from pertinent.storage.sql.webhooks import SqlWebhooks

_M = tables.segment_membership
_O = tables.outbox
_P = tables.profiles
_PARTITION = re.compile(r"^processor/(\d+)of(\d+)$")
T = TypeVar("T")


def _lag(conn: Connection, cursors: dict[str, int]) -> tuple[int, int]:
    """(the lowest processor cursor, events after their cursors in their partitions)."""
    shares = {
        name: seq for name, seq in cursors.items() if name == "processor" or _PARTITION.match(name)
    }
    m = mark(conn)
    if not shares:
        total = fetch(conn, "SELECT count(*) FROM events")[0][0]
        return 0, int(total)
    lag = 0
    for name, seq in shares.items():
        found = _PARTITION.match(name)
        index, count = (int(found[1]), int(found[2])) if found else (0, 1)
        where = partition_of(conn, "pkey", count, index)
        lag += int(
            fetch(conn, f"SELECT count(*) FROM events WHERE seq > {m} AND {where}", (seq,))[0][0]
        )
    return min(shares.values()), lag


class SqlReadModel:
    def __init__(self, db: Database):
        self._db = db

    def _read(self, query: Callable[[Connection], T]) -> T:
        with self._db.read() as conn:
            return query(conn)

    def status(self) -> Status:
        def query(conn: Connection) -> Status:
            log_seq = int(
                conn.execute(select(func.coalesce(func.max(tables.events.c.seq), 0))).scalar_one()
            )
            cursors = {str(n): int(s) for n, s in fetch(conn, "SELECT name, seq FROM cursors")}
            processed, lag = _lag(conn, cursors)
            outbox = conn.execute(select(_O.c.status, func.count()).group_by(_O.c.status))
            return Status(
                log_seq=log_seq,
                processed_seq=processed,
                lag=lag,
                profiles=int(
                    conn.execute(select(func.count()).select_from(tables.profiles)).scalar_one()
                ),
                segments=_sizes(conn),
                journeys=SqlJourneyStore(conn).counts(),
                outbox={str(s): int(n) for s, n in outbox},
            )

        return self._read(query)

    def find(self, id_: str) -> str | None:
        def query(conn: Connection) -> str | None:
            profiles = SqlProfileStore(conn)
            return profiles.resolve("user", id_) or profiles.resolve("anon", id_)

        return self._read(query)

    def profile(self, profile_id: str) -> ProfileView | None:
        return self._read(lambda conn: self._profile(conn, profile_id))

    @staticmethod
    def _profile(conn: Connection, profile_id: str) -> ProfileView | None:
        profiles = SqlProfileStore(conn)
        state = profiles.load([profile_id]).get(profile_id)
        if state is None:
            return None
        segments = conn.execute(
            select(_M.c.segment_key)
            .where(_M.c.profile_id == profile_id, _M.c.exited_at.is_(None))
            .order_by(_M.c.segment_key)
        ).scalars()
        return ProfileView(state, profiles.identities(profile_id), list(segments))

    def profile_ids(self, limit: int, offset: int) -> list[str]:
        def query(conn: Connection) -> list[str]:
            p = tables.profiles.c.profile_id
            rows = conn.execute(select(p).order_by(p).limit(limit).offset(offset)).scalars()
            return [str(pid) for pid in rows]

        return self._read(query)

    def timeline(self, profile_id: str, limit: int) -> list[TimelineEntry]:
        def query(conn: Connection) -> list[TimelineEntry]:
            m = mark(conn)
            rows = fetch(
                conn,
                f"SELECT pe.seq, pe.action, {read_columns(conn, 'e')} FROM profile_events pe "
                f"JOIN events e ON e.seq = pe.seq WHERE pe.profile_id = {m} "
                f"ORDER BY pe.timestamp DESC, pe.seq DESC LIMIT {m}",
                (profile_id, limit),
            )
            out = []
            for row in rows:
                event = row_event(row[2:])
                out.append(
                    TimelineEntry(int(row[0]), row[1], event.timestamp, event.properties, event)
                )
            return out

        return self._read(query)

    def segment_sizes(self) -> dict[str, int]:
        return self._read(_sizes)

    def members(self, key: str, limit: int, offset: int) -> list[Member]:
        def query(conn: Connection) -> list[Member]:
            rows = conn.execute(
                select(_M.c.profile_id, _M.c.entered_at)
                .where(_M.c.segment_key == key, _M.c.exited_at.is_(None))
                .order_by(_M.c.entered_at, _M.c.profile_id)
                .limit(limit)
                .offset(offset)
            )
            return [Member(r.profile_id, r.entered_at) for r in rows]

        return self._read(query)

    def members_at(self, key: str, at: datetime, limit: int, offset: int) -> list[Member]:
        def query(conn: Connection) -> list[Member]:
            rows = conn.execute(
                select(_M.c.profile_id, _M.c.entered_at)
                .where(_M.c.segment_key == key, *_inside(at))
                .order_by(_M.c.entered_at, _M.c.profile_id)
                .limit(limit)
                .offset(offset)
            )
            return [Member(r.profile_id, r.entered_at) for r in rows]

        return self._read(query)

    def segment_history(self, key: str, points: Sequence[datetime]) -> list[int]:
        def query(conn: Connection) -> list[int]:
            count = select(func.count()).select_from(_M).where(_M.c.segment_key == key)
            return [int(conn.execute(count.where(*_inside(at))).scalar_one()) for at in points]

        return self._read(query)

    def emails(self, limit: int) -> list[SentEmail]:
        def query(conn: Connection) -> list[SentEmail]:
            rows = conn.execute(select(_O).order_by(_O.c.id.desc()).limit(limit))
            return [SentEmail(item_of(r), r.status, r.sent_at, r.last_error) for r in rows]

        return self._read(query)

    def journey_numbers(self) -> list[StepNumber]:
        return self._read(lambda conn: SqlJourneyStore(conn).numbers())

    def webhook_deliveries(self, journey_key: str | None, limit: int) -> list[Delivery]:
        return self._read(lambda conn: SqlWebhooks(conn).deliveries(journey_key, limit))

    def broadcasts(self, limit: int) -> list[Broadcast]:
        def query(conn: Connection) -> list[Broadcast]:
            b = tables.broadcasts
            ids = conn.execute(select(b.c.id).order_by(b.c.id.desc()).limit(limit)).scalars()
            found = SqlBroadcasts(conn).get(list(ids))
            return [found[i] for i in sorted(found, reverse=True)]

        return self._read(query)

    def broadcast_numbers(self, broadcast_id: int) -> BroadcastNumbers | None:
        return self._read(lambda conn: broadcast_numbers(conn, broadcast_id))

    def email(self, message_id: str) -> SentEmail | None:
        def query(conn: Connection) -> SentEmail | None:
            row = conn.execute(select(_O).where(_O.c.message_id == message_id)).first()
            return SentEmail(item_of(row), row.status, row.sent_at, row.last_error) if row else None

        return self._read(query)

    def count_lacking(self, paths: Sequence[tuple[str, ...]]) -> tuple[int, list[int]]:
        def query(conn: Connection) -> tuple[int, list[int]]:
            pg = is_postgresql(conn)
            columns = {"traits": _P.c.traits, "computed": _P.c.computed}
            lacking = []
            for root, *rest in paths:
                value = JsonValue(columns[root], ".".join(rest), pg)
                empty = or_(not_(value.present()), func.coalesce(value.string(), "x") == "")
                lacking.append(func.coalesce(func.sum(case((empty, 1), else_=0)), 0))
            row = conn.execute(select(func.count(), *lacking).select_from(_P)).one()
            return int(row[0]), [int(n) for n in row[1:]]

        return self._read(query)

    def person(self, profile_id: str) -> PersonRecord | None:
        def query(conn: Connection) -> PersonRecord | None:
            view = self._profile(conn, profile_id)
            if view is None:
                return None
            seqs = list(
                conn.execute(
                    select(tables.events.c.seq)
                    .where(events_of(profile_id, view.identities))
                    .order_by(tables.events.c.seq)
                ).scalars()
            )
            where, param = in_ids(conn, "seq", seqs)
            rows = fetch(
                conn,
                f"SELECT seq, {read_columns(conn)} FROM events WHERE {where} ORDER BY seq",
                (param,),
            )
            memberships = conn.execute(
                select(_M.c.segment_key, _M.c.entered_at, _M.c.exited_at)
                .where(_M.c.profile_id == profile_id)
                .order_by(_M.c.entered_at, _M.c.id)
            )
            emails = conn.execute(select(_O).where(_O.c.profile_id == profile_id).order_by(_O.c.id))
            s, p = tables.suppressions, tables.products
            return PersonRecord(
                profile=view,
                events=[LoggedEvent(int(r[0]), row_event(r[1:])) for r in rows],
                memberships=[(r.segment_key, r.entered_at, r.exited_at) for r in memberships],
                journeys=SqlJourneyStore(conn).of_person(profile_id),
                emails=[SentEmail(item_of(r), r.status, r.sent_at, r.last_error) for r in emails],
                consent=SqlConsentStore(conn).history([profile_id]),
                suppressed=sorted(
                    conn.execute(
                        select(s.c.address).where(s.c.profile_id == profile_id).distinct()
                    ).scalars()
                ),
                described=sorted(
                    conn.execute(
                        select(p.c.item_id).where(p.c.described_by == profile_id)
                    ).scalars()
                ),
            )

        return self._read(query)

    def violations(self) -> list[ViolationCount]:
        return self._read(lambda conn: SqlViolations(conn).counts())

    def recent_events(self, limit: int) -> list[LoggedEvent]:
        def query(conn: Connection) -> list[LoggedEvent]:
            m, columns = mark(conn), read_columns(conn)
            sql = f"SELECT seq, {columns} FROM events ORDER BY seq DESC LIMIT {m}"
            rows = fetch(conn, sql, (limit,))
            times: dict[Any, datetime] = {}
            return [LoggedEvent(int(r[0]), row_event(r[1:], times)) for r in rows]

        return self._read(query)

    def arrivals(self, edges: Sequence[datetime]) -> list[int]:
        if len(edges) < 2:
            return []

        def query(conn: Connection) -> list[int]:
            e = tables.events
            # The newest event that arrived before the first edge, found from the newest
            # back along the primary key: everything after it is what is counted, in SQL.
            before = conn.execute(
                select(e.c.seq).where(e.c.received_at < edges[0]).order_by(e.c.seq.desc()).limit(1)
            ).scalar()
            per_interval = [
                func.coalesce(func.sum(case((e.c.received_at < end, 1), else_=0)), 0)
                for end in edges[1:]
            ]
            row = conn.execute(
                select(*per_interval).where(
                    e.c.seq > (before or 0),
                    e.c.received_at >= edges[0],
                    e.c.received_at < edges[-1],
                )
            ).one()
            # Each sum counts the arrivals before its interval's end; differences split them.
            ends = [int(n) for n in row]
            return [b - a for a, b in zip([0, *ends], ends, strict=False)]

        return self._read(query)


def _inside(at: datetime) -> list[Any]:
    """A membership that had begun at `at` and not yet ended."""
    return [_M.c.entered_at <= at, or_(_M.c.exited_at.is_(None), _M.c.exited_at > at)]


def _sizes(conn: Connection) -> dict[str, int]:
    rows = conn.execute(
        select(_M.c.segment_key, func.count())
        .where(_M.c.exited_at.is_(None))
        .group_by(_M.c.segment_key)
    )
    return {str(key): int(n) for key, n in rows}
