"""Journey instances, versions, numbers and schedules on SQL."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from pertinent.journeys.model import Instance
from pertinent.storage.ports import ConcurrentUpdate, Partition, StepNumber, partition_key
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
    partition_of,
    skip_locked,
    time_mark,
    upsert,
)

_J = tables.journey_instances
_V = tables.journey_versions
_S = tables.journey_schedules
_COLUMNS = (
    'instance_key, journey_key, profile_id, step, status, started_at, "trigger", wake_at,'
    " wait_event, ended_at, version, step_at, exit_reason, goal_at"
)


def _time(value: Any) -> datetime | None:
    return from_time(value) if value is not None else None


def _instance(row: Sequence[Any]) -> Instance:
    return Instance(
        key=row[0],
        journey_key=row[1],
        profile_id=row[2],
        step=str(row[3]),
        status=row[4],
        started_at=from_time(row[5]),
        trigger=from_json(row[6]),
        wake_at=_time(row[7]),
        wait_event=row[8],
        ended_at=_time(row[9]),
        version=int(row[10]),
        step_at=_time(row[11]),
        exit_reason=row[12],
        goal_at=_time(row[13]),
    )


class SqlJourneyStore:
    def __init__(self, conn: Connection):
        self._conn = conn

    def _select(self) -> str:
        # The trigger as text on PostgreSQL too, parsed once by orjson.
        columns = (
            _COLUMNS.replace('"trigger"', '"trigger"::text')
            if is_postgresql(self._conn)
            else _COLUMNS
        )
        return f"SELECT {columns} FROM journey_instances"

    def active(self, profile_ids: Collection[str]) -> list[Instance]:
        if not profile_ids:
            return []
        where, param = in_ids(self._conn, "profile_id", profile_ids)
        rows = fetch(
            self._conn,
            f"{self._select()} WHERE status = 'waiting' AND {where} ORDER BY id",
            (param,),
        )
        return [_instance(r) for r in rows]

    def of_person(self, profile_id: str) -> list[Instance]:
        """Every instance of the person, ended ones too, oldest first (their export)."""
        m = mark(self._conn)
        rows = fetch(
            self._conn, f"{self._select()} WHERE profile_id = {m} ORDER BY id", (profile_id,)
        )
        return [_instance(r) for r in rows]

    def last_entered(
        self, journey_keys: Collection[str], profile_ids: Collection[str]
    ) -> dict[tuple[str, str], datetime]:
        if not journey_keys or not profile_ids:
            return {}
        where, param = in_ids(self._conn, "profile_id", profile_ids)
        rows = fetch(
            self._conn,
            "SELECT journey_key, profile_id, max(started_at) FROM journey_instances"
            f" WHERE {where} GROUP BY journey_key, profile_id",
            (param,),
        )
        return {(str(j), str(p)): from_time(at) for j, p, at in rows if j in journey_keys}

    def ended_since(self, profile_ids: Collection[str], since: datetime) -> list[Instance]:
        if not profile_ids:
            return []
        where, param = in_ids(self._conn, "profile_id", profile_ids)
        m = mark(self._conn)
        rows = fetch(
            self._conn,
            f"{self._select()} WHERE status <> 'waiting' AND {where} AND started_at >= {m}"
            " ORDER BY id",
            (param, native_time(self._conn, since)),
        )
        return [_instance(r) for r in rows]

    def save(self, instances: Sequence[Instance]) -> None:
        conn = self._conn
        m, j, t = mark(conn), json_mark(conn), time_mark(conn)

        def when(at: datetime | None) -> Any:
            return native_time(conn, at) if at is not None else None

        execute_values(
            conn,
            f"INSERT INTO journey_instances ({_COLUMNS}, pkey) VALUES ",
            f"({m}, {m}, {m}, {m}, {m}, {t}, {j}, {t}, {m}, {t}, {m}, {t}, {m}, {t}, {m})",
            [
                (
                    i.key,
                    i.journey_key,
                    i.profile_id,
                    i.step,
                    i.status,
                    when(i.started_at),
                    json_dumps(i.trigger),
                    when(i.wake_at),
                    i.wait_event,
                    when(i.ended_at),
                    i.version,
                    when(i.step_at),
                    i.exit_reason,
                    when(i.goal_at),
                    partition_key(i.profile_id),
                )
                for i in instances
            ],
            " ON CONFLICT (instance_key) DO UPDATE SET step = excluded.step,"
            " status = excluded.status, wake_at = excluded.wake_at,"
            " wait_event = excluded.wait_event, ended_at = excluded.ended_at,"
            " version = excluded.version, step_at = excluded.step_at,"
            " exit_reason = excluded.exit_reason, goal_at = excluded.goal_at,"
            " profile_id = excluded.profile_id, pkey = excluded.pkey",
        )

    def next_due(self, partition: Partition) -> datetime | None:
        where = partition_of(self._conn, "pkey", partition.count, partition.index)
        # In wake order, so the index finds the first of the partition without a scan.
        rows = fetch(
            self._conn,
            "SELECT wake_at FROM journey_instances WHERE status = 'waiting' "
            f"AND wake_at IS NOT NULL AND {where} ORDER BY wake_at LIMIT 1",
        )
        return from_time(rows[0][0]) if rows else None

    def claim_due(self, now: datetime, limit: int, partition: Partition) -> list[Instance]:
        m = mark(self._conn)
        where = partition_of(self._conn, "pkey", partition.count, partition.index)
        rows = fetch(
            self._conn,
            f"{self._select()} WHERE status = 'waiting' AND wake_at <= {m} AND {where} "
            f"ORDER BY wake_at, id LIMIT {m}{skip_locked(self._conn)}",
            (native_time(self._conn, now), limit),
        )
        return [_instance(r) for r in rows]

    def versions(self) -> list[tuple[str, int, str, dict[str, Any]]]:
        rows = self._conn.execute(
            select(_V.c.journey_key, _V.c.version, _V.c.digest, _V.c.definition).order_by(
                _V.c.journey_key, _V.c.version
            )
        )
        return [(r[0], int(r[1]), r[2], from_json(r[3])) for r in rows]

    def add_version(
        self, journey_key: str, version: int, digest: str, definition: dict[str, Any], at: datetime
    ) -> None:
        row = {
            "journey_key": journey_key,
            "version": version,
            "digest": digest,
            "definition": definition,
            "created_at": at,
        }
        if not insert_ignoring(self._conn, _V, [row], returning="version"):
            raise ConcurrentUpdate(f"journey {journey_key} version {version} exists")

    def wake(
        self, journey_key: str, steps: Collection[str] | None, before_version: int, at: datetime
    ) -> int:
        query = update(_J).where(
            _J.c.journey_key == journey_key,
            _J.c.status == "waiting",
            _J.c.version < before_version,
        )
        if steps is not None:
            query = query.where(_J.c.step.in_(list(steps)))
        return int(self._conn.execute(query.values(wake_at=at)).rowcount)

    def count(self, counts: Mapping[tuple[str, int, str, str], int]) -> None:
        if not counts:
            return
        m = mark(self._conn)
        # In key order, so two processors adding to the same rows lock them in one order.
        execute_values(
            self._conn,
            "INSERT INTO journey_counts (journey_key, version, step, metric, n) VALUES ",
            f"({m}, {m}, {m}, {m}, {m})",
            [(*key, n) for key, n in sorted(counts.items()) if n],
            " ON CONFLICT (journey_key, version, step, metric)"
            " DO UPDATE SET n = journey_counts.n + excluded.n",
        )

    def schedules(self) -> dict[str, datetime]:
        rows = self._conn.execute(select(_S.c.journey_key, _S.c.next_at))
        return {str(key): at for key, at in rows}

    def set_schedule(self, journey_key: str, next_at: datetime | None) -> None:
        if next_at is None:
            self._conn.execute(delete(_S).where(_S.c.journey_key == journey_key))
        else:
            upsert(
                self._conn, _S, [{"journey_key": journey_key, "next_at": next_at}], ["journey_key"]
            )

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

    def numbers(self) -> list[StepNumber]:
        """The counted numbers and, per step, how many wait there now."""
        counted = fetch(
            self._conn,
            "SELECT journey_key, version, step, metric, n FROM journey_counts"
            " ORDER BY journey_key, version, step, metric",
        )
        waiting = fetch(
            self._conn,
            "SELECT journey_key, version, step, count(*) FROM journey_instances"
            " WHERE status = 'waiting' GROUP BY journey_key, version, step"
            " ORDER BY journey_key, version, step",
        )
        found = [
            StepNumber(str(k), int(v), str(s), str(metric), int(n))
            for k, v, s, metric, n in counted
        ]
        found += [StepNumber(str(k), int(v), str(s), "waiting", int(n)) for k, v, s, n in waiting]
        return found
