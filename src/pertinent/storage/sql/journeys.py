"""Journey instances on SQL."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from pertinent.journeys.model import Instance
from pertinent.storage.ports import Partition, partition_key
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
    partition_of,
    skip_locked,
)

_J = tables.journey_instances
_COLUMNS = (
    'instance_key, journey_key, profile_id, step, status, started_at, "trigger", wake_at,'
    " wait_event, ended_at"
)


def _instance(row: Sequence[Any]) -> Instance:
    return Instance(
        key=row[0],
        journey_key=row[1],
        profile_id=row[2],
        step=int(row[3]),
        status=row[4],
        started_at=from_time(row[5]),
        trigger=from_json(row[6]),
        wake_at=from_time(row[7]) if row[7] is not None else None,
        wait_event=row[8],
        ended_at=from_time(row[9]) if row[9] is not None else None,
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

    def entered(
        self, journey_keys: Collection[str], profile_ids: Collection[str]
    ) -> set[tuple[str, str]]:
        if not journey_keys or not profile_ids:
            return set()
        where, param = in_ids(self._conn, "profile_id", profile_ids)
        rows = fetch(
            self._conn,
            f"SELECT DISTINCT journey_key, profile_id FROM journey_instances WHERE {where}",
            (param,),
        )
        return {(str(j), str(p)) for j, p in rows if j in journey_keys}

    def save(self, instances: Sequence[Instance]) -> None:
        conn = self._conn
        m, j = mark(conn), json_mark(conn)

        def when(at: datetime | None) -> Any:
            return native_time(conn, at) if at is not None else None

        execute_values(
            conn,
            f"INSERT INTO journey_instances ({_COLUMNS}, pkey) VALUES ",
            f"({m}, {m}, {m}, {m}, {m}, {m}, {j}, {m}, {m}, {m}, {m})",
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
                    partition_key(i.profile_id),
                )
                for i in instances
            ],
            " ON CONFLICT (instance_key) DO UPDATE SET step = excluded.step,"
            " status = excluded.status, wake_at = excluded.wake_at,"
            " wait_event = excluded.wait_event, ended_at = excluded.ended_at,"
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
