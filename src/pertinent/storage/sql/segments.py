"""Segment membership (with history), evaluation and window-edge timers on SQL."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    JSON,
    ColumnElement,
    Connection,
    Text,
    any_,
    bindparam,
    func,
    insert,
    literal,
    select,
    union_all,
    update,
)

from pertinent.segments.dates import parse_instant
from pertinent.segments.language import Condition
from pertinent.segments.timing import Clock
from pertinent.storage.ports import DefinitionVersion, Partition, partition_key
from pertinent.storage.sql import tables
from pertinent.storage.sql.conditions import ConditionCompiler
from pertinent.storage.sql.dialect import (
    execute_values,
    fetch,
    from_time,
    in_ids,
    is_postgresql,
    mark,
    native_time,
    partition_of,
    skip_locked,
)

# SELECTs per UNION ALL: well under SQLite's limit of 500.
_COMPOUND = 100
_M = tables.segment_membership
_T = tables.timers
_P = tables.profiles
_PE = tables.profile_events
_V = tables.segment_versions


def among_filter(conn: Connection, column: Any, ids: Collection[str]) -> ColumnElement[bool]:
    """`column` is one of `ids`, with the ids as one parameter (see `dialect.in_ids`)."""
    if is_postgresql(conn):
        return column == any_(bindparam(None, list(ids), type_=ARRAY(Text)))  # type: ignore[no-any-return]
    values = func.json_each(bindparam(None, list(ids), type_=JSON)).table_valued("value")
    return column.in_(select(values.c.value))  # type: ignore[no-any-return]


def _union(groups: Iterable[Collection[str] | None]) -> set[str] | None:
    """Everyone some group names (None: one of them is everyone)."""
    people: set[str] = set()
    for group in groups:
        if group is None:
            return None
        people.update(group)
    return people


class SqlSegmentStore:
    def __init__(self, conn: Connection):
        self._conn = conn

    def _compiler(self, segments: Mapping[str, Condition], everyone: bool) -> ConditionCompiler:
        return ConditionCompiler(segments, postgresql=is_postgresql(self._conn), everyone=everyone)

    def matching(
        self,
        segments: Mapping[str, Condition],
        wanted: Mapping[str, Collection[str] | None],
        now: datetime,
    ) -> dict[str, set[str]]:
        """One SELECT of the members per segment, each over its own people, in a UNION ALL:
        only members come back (a million rows of "no" would cost more than the queries)."""
        found: dict[str, set[str]] = {key: set() for key in wanted}
        keys = [key for key, among in wanted.items() if among is None or among]
        if not keys:
            return found
        everyone = all(wanted[key] is None for key in keys)
        compiler = self._compiler(segments, everyone)
        parts: list[Any] = []
        for index, key in enumerate(keys):
            part = select(literal(index), _P.c.profile_id).where(
                compiler.compile(segments[key], now)
            )
            among = wanted[key]
            if among is not None:
                part = part.where(among_filter(self._conn, _P.c.profile_id, among))
            parts.append(part)
        for start in range(0, len(parts), _COMPOUND):
            chunk = parts[start : start + _COMPOUND]
            query: Any = chunk[0] if len(chunk) == 1 else union_all(*chunk)
            for index, pid in self._conn.execute(query):
                found[keys[index]].add(pid)
        return found

    def anchors(
        self, clocks: Sequence[tuple[Clock, Collection[str] | None]], now: datetime
    ) -> list[tuple[int, str, datetime]]:
        if not clocks:
            return []
        compiler = self._compiler({}, everyone=False)
        found: list[tuple[int, str, datetime]] = []
        events: list[Any] = []
        for index, (clock, among) in enumerate(clocks):
            if among is not None and not among:
                continue
            if clock.part != "date":
                part = compiler.event_anchor(index, clock, now)
                column = part.selected_columns[1]
                if among is not None:
                    part = part.where(among_filter(self._conn, column, among))
                events.append(part)
                continue
            dated = compiler.date_anchor(index, clock)
            if among is not None:
                dated = dated.where(among_filter(self._conn, _P.c.profile_id, among))
            for _, pid, text in self._conn.execute(dated):
                at = parse_instant(text)
                if at is not None:
                    found.append((index, str(pid), at))
        if events:
            query: Any = events[0] if len(events) == 1 else union_all(*events)
            found += [(int(i), str(pid), from_time(at)) for i, pid, at in self._conn.execute(query)]
        return found

    def current(self, among: Collection[str] | None) -> dict[str, set[str]]:
        sql = "SELECT segment_key, profile_id FROM segment_membership WHERE exited_at IS NULL"
        params: tuple[Any, ...] = ()
        if among is not None:
            if not among:
                return {}
            where, param = in_ids(self._conn, "profile_id", among)
            sql += f" AND {where}"
            params = (param,)
        out: dict[str, set[str]] = {}
        for key, pid in fetch(self._conn, sql, params):
            out.setdefault(key, set()).add(pid)
        return out

    def enter(self, key: str, profile_ids: Collection[str], at: datetime) -> None:
        m = mark(self._conn)
        execute_values(
            self._conn,
            "INSERT INTO segment_membership (segment_key, profile_id, entered_at) VALUES ",
            f"({m}, {m}, {m})",
            [(key, pid, native_time(self._conn, at)) for pid in sorted(profile_ids)],
        )

    def exit(self, key: str, profile_ids: Collection[str], at: datetime) -> None:
        if not profile_ids:
            return
        where, param = in_ids(self._conn, "profile_id", profile_ids)
        m = mark(self._conn)
        self._conn.exec_driver_sql(
            f"UPDATE segment_membership SET exited_at = {m} "
            f"WHERE segment_key = {m} AND exited_at IS NULL AND {where}",
            (native_time(self._conn, at), key, param),
        )

    def set_timers(self, key: str, due: Mapping[str, datetime], clear: Collection[str]) -> None:
        gone = set(clear) - set(due)
        m = mark(self._conn)
        if gone:
            where, param = in_ids(self._conn, "profile_id", gone)
            self._conn.exec_driver_sql(
                f"DELETE FROM timers WHERE segment_key = {m} AND {where}", (key, param)
            )
        execute_values(
            self._conn,
            "INSERT INTO timers (segment_key, profile_id, due_at, pkey) VALUES ",
            f"({m}, {m}, {m}, {m})",
            [
                (key, pid, native_time(self._conn, at), partition_key(pid))
                for pid, at in sorted(due.items())
            ],
            " ON CONFLICT (segment_key, profile_id) DO UPDATE SET due_at = excluded.due_at",
        )

    def next_due(self, partition: Partition) -> datetime | None:
        where = partition_of(self._conn, "pkey", partition.count, partition.index)
        # In due order, so the index finds the first of the partition without a scan.
        rows = fetch(self._conn, f"SELECT due_at FROM timers WHERE {where} ORDER BY due_at LIMIT 1")
        return from_time(rows[0][0]) if rows else None

    def claim_due(self, now: datetime, limit: int, partition: Partition) -> dict[str, set[str]]:
        m = mark(self._conn)
        where = partition_of(self._conn, "pkey", partition.count, partition.index)
        rows = fetch(
            self._conn,
            f"SELECT segment_key, profile_id FROM timers WHERE due_at <= {m} AND {where} "
            f"ORDER BY due_at LIMIT {m}{skip_locked(self._conn)}",
            (native_time(self._conn, now), limit),
        )
        execute_values(
            self._conn,
            "DELETE FROM timers WHERE (segment_key, profile_id) IN (VALUES ",
            f"({m}, {m})",
            [(key, pid) for key, pid in rows],
            ")",
        )
        out: dict[str, set[str]] = {}
        for key, pid in rows:
            out.setdefault(key, set()).add(pid)
        return out

    def history(self, key: str) -> list[tuple[str, datetime, datetime | None]]:
        rows = self._conn.execute(
            select(_M.c.profile_id, _M.c.entered_at, _M.c.exited_at)
            .where(_M.c.segment_key == key)
            .order_by(_M.c.entered_at, _M.c.id)
        )
        return [(r.profile_id, r.entered_at, r.exited_at) for r in rows]

    def definitions(self) -> dict[str, DefinitionVersion]:
        newest = (
            select(_V.c.segment_key, func.max(_V.c.version).label("version"))
            .group_by(_V.c.segment_key)
            .subquery()
        )
        rows = self._conn.execute(
            select(_V).join(
                newest,
                (newest.c.segment_key == _V.c.segment_key) & (newest.c.version == _V.c.version),
            )
        )
        return {r.segment_key: _version(r) for r in rows if r.removed_at is None}

    def save_definition(self, key: str, definition: Mapping[str, Any], at: datetime) -> int:
        last = self._conn.execute(
            select(func.coalesce(func.max(_V.c.version), 0)).where(_V.c.segment_key == key)
        ).scalar_one()
        number = int(last) + 1
        self._conn.execute(
            insert(_V).values(
                segment_key=key, version=number, definition=dict(definition), saved_at=at
            )
        )
        return number

    def remove_definition(self, key: str, at: datetime) -> None:
        last = select(func.max(_V.c.version)).where(_V.c.segment_key == key).scalar_subquery()
        self._conn.execute(
            update(_V)
            .where(_V.c.segment_key == key, _V.c.version == last, _V.c.removed_at.is_(None))
            .values(removed_at=at)
        )

    def versions(self, key: str) -> list[DefinitionVersion]:
        rows = self._conn.execute(select(_V).where(_V.c.segment_key == key).order_by(_V.c.version))
        return [_version(r) for r in rows]


def _version(row: Any) -> DefinitionVersion:
    return DefinitionVersion(
        row.segment_key, int(row.version), row.definition, row.saved_at, row.removed_at
    )
