"""Profiles, identities and per-person event attribution on SQL."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, delete, select, update

from pertinent.profiles.rfm import RFM_SCORE, Customer
from pertinent.profiles.state import ProfileState
from pertinent.segments.evaluate import PersonEvent
from pertinent.storage.ports import AttributedEvent, ConcurrentUpdate, partition_key
from pertinent.storage.sql import tables
from pertinent.storage.sql.dialect import (
    execute_values,
    fetch,
    from_json,
    from_time,
    in_ids,
    is_postgresql,
    json_dumps,
    json_mark,
    mark,
    native_time,
    time_mark,
)
from pertinent.storage.sql.json_values import JsonValue

_P = tables.profiles
_I = tables.identities
_PE = tables.profile_events

# Tables whose rows belong to a person and follow them through a merge.
_FOLLOW_MERGE = (
    tables.journey_instances,
    tables.outbox,
    tables.suppressions,
    tables.webhook_calls,
    tables.broadcast_recipients,
    tables.consent,
)


def events_of(profile_id: str, identities: Iterable[tuple[str, str]]) -> ColumnElement[bool]:
    """The person's log events: those attributed to them, and those naming one of their ids
    (bot-flagged, or not processed yet). What an erasure deletes and an export hands over."""
    e = tables.events
    ids = sorted({profile_id, *(value for _kind, value in identities)})
    attributed = select(_PE.c.seq).where(_PE.c.profile_id == profile_id).scalar_subquery()
    return (
        e.c.seq.in_(attributed)
        | e.c.user_id.in_(ids)
        | e.c.anonymous_id.in_(ids)
        | e.c.previous_id.in_(ids)
    )


class SqlProfileStore:
    def __init__(self, conn: Connection):
        self._conn = conn

    def load(self, profile_ids: Iterable[str]) -> dict[str, ProfileState]:
        ids = set(profile_ids)
        if not ids:
            return {}
        where, param = in_ids(self._conn, "profile_id", ids)
        text = "::text" if is_postgresql(self._conn) else ""
        rows = fetch(
            self._conn,
            f"SELECT profile_id, traits{text}, trait_times{text}, computed{text}, first_seen,"
            f" last_seen, version FROM profiles WHERE {where}",
            (param,),
        )
        return {
            row[0]: ProfileState(
                profile_id=row[0],
                traits=from_json(row[1]),
                trait_times=from_json(row[2]),
                computed=from_json(row[3]),
                first_seen=from_time(row[4]) if row[4] is not None else None,
                last_seen=from_time(row[5]) if row[5] is not None else None,
                version=int(row[6]),
            )
            for row in rows
        }

    def save(self, states: Iterable[ProfileState]) -> None:
        states = list(states)
        conn = self._conn
        m, j = mark(conn), json_mark(conn)

        def values(s: ProfileState) -> tuple[Any, ...]:
            return (
                json_dumps(s.traits),
                json_dumps(s.trait_times),
                json_dumps(s.computed),
                native_time(conn, s.first_seen) if s.first_seen else None,
                native_time(conn, s.last_seen) if s.last_seen else None,
            )

        new = [s for s in states if s.version == 0]
        stored = [s for s in states if s.version > 0]
        inserted = execute_values(
            conn,
            "INSERT INTO profiles (profile_id, traits, trait_times, computed, first_seen,"
            " last_seen, version) VALUES ",
            f"({m}, {j}, {j}, {j}, {m}, {m}, 1)",
            [(s.profile_id, *values(s)) for s in new],
            " ON CONFLICT DO NOTHING",
        )
        # A stored state updates its row only from the version it was loaded at, and only if
        # the row is still there (an erasure in between must not bring the person back).
        # (A statement that starts with WITH would lose its row count in Python's sqlite3.)
        t = time_mark(conn)
        updated = execute_values(
            conn,
            "UPDATE profiles SET traits = saved.column2, trait_times = saved.column3,"
            " computed = saved.column4, first_seen = saved.column5, last_seen = saved.column6,"
            " version = profiles.version + 1 FROM (VALUES ",
            f"({m}, {j}, {j}, {j}, {t}, {t}, {m})",
            [(s.profile_id, *values(s), s.version) for s in stored],
            ") AS saved WHERE profiles.profile_id = saved.column1"
            " AND profiles.version = saved.column7",
        )
        if inserted != len(new) or updated != len(stored):
            raise ConcurrentUpdate("a profile was saved by another writer since it was loaded")
        for s in states:
            s.version += 1

    def touch(self, profile_ids: Collection[str]) -> None:
        if profile_ids:
            where, param = in_ids(self._conn, "profile_id", profile_ids)
            self._conn.exec_driver_sql(
                f"UPDATE profiles SET version = version + 1 WHERE {where}", (param,)
            )

    def resolve_many(self, kind: str, values: Iterable[str]) -> dict[str, str]:
        wanted = set(values)
        if not wanted:
            return {}
        where, param = in_ids(self._conn, "value", wanted)
        rows = fetch(
            self._conn,
            f"SELECT value, profile_id FROM identities WHERE kind = {mark(self._conn)} AND {where}",
            (kind, param),
        )
        return {str(v): str(p) for v, p in rows}

    def resolve(self, kind: str, value: str) -> str | None:
        return self.resolve_many(kind, [value]).get(value)

    def link(self, links: Iterable[tuple[str, str, str]]) -> None:
        rows = list(links)
        m = mark(self._conn)
        added = execute_values(
            self._conn,
            "INSERT INTO identities (kind, value, profile_id) VALUES ",
            f"({m}, {m}, {m})",
            rows,
            " ON CONFLICT DO NOTHING",
        )
        if added != len(rows):
            raise ConcurrentUpdate("an identity was linked by another writer first")

    def identities(self, profile_id: str) -> list[tuple[str, str]]:
        rows = self._conn.execute(
            select(_I.c.kind, _I.c.value)
            .where(_I.c.profile_id == profile_id)
            .order_by(_I.c.kind, _I.c.value)
        )
        return [(r.kind, r.value) for r in rows]

    def record(self, rows: Sequence[AttributedEvent]) -> None:
        """Time and properties are copied from the log row in SQL, not encoded again. An event
        gone from the log (its person erased since it was read) is a race lost."""
        m = mark(self._conn)
        recorded = execute_values(
            self._conn,
            "INSERT INTO profile_events (seq, profile_id, action, timestamp, properties)"
            " SELECT e.seq, a.column2, a.column3, e.timestamp, e.properties FROM (VALUES ",
            f"({m}, {m}, {m})",
            [(seq, pid, action) for seq, pid, action, _ts, _props in rows],
            ") AS a JOIN events e ON e.seq = a.column1",
        )
        if recorded != len(rows):
            raise ConcurrentUpdate("an event was erased from the log since it was read")

    def merge(self, loser: str, winner: str, loser_version: int) -> None:
        if loser_version:
            gone = self._conn.execute(
                delete(_P).where(_P.c.profile_id == loser, _P.c.version == loser_version)
            ).rowcount
            if gone != 1:
                raise ConcurrentUpdate(f"profile {loser!r} changed before it could merge")
        # One row per person and broadcast: the loser's goes where the winner has one.
        r = tables.broadcast_recipients
        winner_has = select(r.c.broadcast_id).where(r.c.profile_id == winner)
        self._conn.execute(
            delete(r).where(r.c.profile_id == loser, r.c.broadcast_id.in_(winner_has))
        )
        for table in (_I, _PE, *_FOLLOW_MERGE):
            values: dict[str, Any] = {"profile_id": winner}
            if "pkey" in table.c:
                values["pkey"] = partition_key(winner)  # the instance moves partition too
            self._conn.execute(update(table).where(table.c.profile_id == loser).values(**values))
        self._conn.execute(delete(tables.timers).where(tables.timers.c.profile_id == loser))
        products = tables.products
        self._conn.execute(
            update(products).where(products.c.described_by == loser).values(described_by=winner)
        )

    def actions(self, names: Sequence[str]) -> list[tuple[str, str, datetime, dict[str, Any]]]:
        rows = self._conn.execute(
            select(_PE.c.profile_id, _PE.c.action, _PE.c.timestamp, _PE.c.properties)
            .where(_PE.c.action.in_(list(names)))
            .order_by(_PE.c.seq)
        )
        return [(r.profile_id, r.action, r.timestamp, r.properties) for r in rows]

    def events_of(
        self, profile_ids: Collection[str], actions: Collection[str]
    ) -> dict[str, list[PersonEvent]]:
        if not profile_ids or not actions:
            return {}
        conn = self._conn
        people, pids = in_ids(conn, "profile_id", profile_ids)
        names, wanted = in_ids(conn, "action", list(actions))
        text = "::text" if is_postgresql(conn) else ""
        rows = fetch(
            conn,
            f"SELECT profile_id, action, timestamp, properties{text} FROM profile_events"
            f" WHERE {people} AND {names} ORDER BY timestamp, seq",
            (pids, wanted),
        )
        found: dict[str, list[PersonEvent]] = {}
        for pid, action, at, props in rows:
            found.setdefault(pid, []).append(PersonEvent(action, from_time(at), from_json(props)))
        return found

    def ids_after(self, after: str | None, limit: int) -> list[str]:
        query = select(_P.c.profile_id).order_by(_P.c.profile_id).limit(limit)
        if after is not None:
            query = query.where(_P.c.profile_id > after)
        return [str(pid) for pid in self._conn.execute(query).scalars()]

    def customers(self, after: str | None, limit: int) -> list[Customer]:
        pg = is_postgresql(self._conn)
        last, orders, revenue, score = (
            JsonValue(_P.c.computed, key, pg)
            for key in ("last_order_at", "orders", "revenue", RFM_SCORE)
        )
        query = (
            select(
                _P.c.profile_id, last.string(), orders.number(), revenue.number(), score.string()
            )
            .where(orders.number() > 0, last.is_string())
            .order_by(_P.c.profile_id)
            .limit(limit)
        )
        if after is not None:
            query = query.where(_P.c.profile_id > after)
        return [
            Customer(str(pid), datetime.fromisoformat(at), int(n), float(total or 0), given)
            for pid, at, n, total, given in self._conn.execute(query)
        ]

    def erase(self, profile_id: str) -> int:
        """Everything about the person goes, including log events never attributed to them
        (bot-flagged, or not processed yet), found by their ids. Their suppression stays, no
        longer tied to a profile: an address that unsubscribed must not be mailed again when
        it is re-imported."""
        erased = self._conn.execute(
            delete(tables.events).where(events_of(profile_id, self.identities(profile_id)))
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
            tables.webhook_calls,
            tables.broadcast_recipients,
            tables.consent,
            _P,
        ):
            self._conn.execute(delete(table).where(table.c.profile_id == profile_id))
        # What their events wrote into the shared catalogue goes with them.
        products = tables.products
        self._conn.execute(delete(products).where(products.c.described_by == profile_id))
        return int(erased)
